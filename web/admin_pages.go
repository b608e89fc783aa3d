package web

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"fuju/accounts"
	"fuju/internal/l10n"
	"fuju/internal/tenancy"
	"fuju/internal/valid"
	"fuju/rentals"
	"fuju/stations"
)

// The platform admin console (/admin): pages that post, redirect with a
// flash on success, and re-render with the typed values and the problems
// next to their fields otherwise.

// adminBase is what every console page carries: the page basics and which
// section of the console it is.
type adminBase struct {
	base
	Section string
}

func (s *Server) adminBase(c *gin.Context, title, section string) adminBase {
	return adminBase{base: s.base(c, title, "console"), Section: section}
}

type adminLink struct {
	URL, Label string
	Current    bool
}

// AdminNav lists the console's sections.
func (b *adminBase) AdminNav() []adminLink {
	links := []adminLink{
		{URL: "/admin", Label: b.T("admin.nav.home")},
		{URL: "/admin/operators", Label: b.T("admin.nav.operators")},
		{URL: "/admin/users", Label: b.T("admin.nav.users")},
		{URL: "/admin/tier-policy", Label: b.T("admin.nav.policy")},
		{URL: "/admin/statements", Label: b.T("admin.nav.statements")},
		{URL: "/admin/reports", Label: b.T("admin.nav.reports")},
		{URL: "/admin/payments", Label: b.T("admin.nav.payments")},
		{URL: "/admin/audit", Label: b.T("admin.nav.audit")},
	}
	sections := []string{"home", "operators", "users", "policy", "statements", "reports", "payments", "audit"}
	for i := range links {
		links[i].Current = sections[i] == b.Section
	}
	return links
}

// RoleName is a role in the page's language.
func (b *adminBase) RoleName(r accounts.Role) string { return b.T("role." + string(r)) }

// Form field names of the console. They carry the area's prefix so their
// labels (field.<name>) cannot clash with another area's messages; name,
// phone, email and password share the account pages' labels.
const (
	fOpID       = "adm_op_id"
	fOpNameZh   = "adm_op_name_zh"
	fOpNameEn   = "adm_op_name_en"
	fOpPhone    = "adm_op_phone"
	fRole       = "adm_role"
	fOperator   = "adm_operator"
	fStationIDs = "adm_stations"
)

var operatorFields = map[string]string{"id": fOpID, "name.zh": fOpNameZh, "name.en": fOpNameEn, "phone": fOpPhone}

var userFields = map[string]string{"role": fRole, "operator_id": fOperator, "station_ids": fStationIDs}

// Dashboard.

type roleCount struct {
	Role accounts.Role
	N    int
}

type adminHomePage struct {
	adminBase
	Operators, Suspended int
	Roles                []roleCount
	Policy               rentals.Policy
	Recent               []auditRow
}

func (s *Server) showAdminHome(c *gin.Context) error {
	ctx := c.Request.Context()
	p := adminHomePage{adminBase: s.adminBase(c, "admin.home.title", "home"), Policy: s.policies.Current()}
	ops, err := s.stations.Operators(ctx)
	if err != nil {
		return err
	}
	for _, o := range ops {
		p.Operators++
		if o.Status == stations.OperatorSuspended {
			p.Suspended++
		}
	}
	// One count per role (a few lookups each, however many there are).
	for _, r := range accounts.Grantable(accounts.PlatformAdmin) {
		us, err := s.auth.ListUsers(ctx, accounts.UserFilter{Role: r}, 1, 1)
		if err != nil {
			return err
		}
		p.Roles = append(p.Roles, roleCount{Role: r, N: us.Total})
	}
	entries, _, err := s.auth.Audit(ctx, accounts.AuditFilter{Limit: 10})
	if err != nil {
		return err
	}
	p.Recent = s.auditRows(c, &p.base, entries, operatorNames(ops))
	return s.render(c, http.StatusOK, "admin_home", &p)
}

// Operators.

type operatorRow struct {
	stations.Operator
	Stations int
}

type adminOperatorsPage struct {
	adminBase
	Operators []operatorRow
	Form      form
}

func (s *Server) operatorsPage(c *gin.Context, status int, f form) error {
	ctx := c.Request.Context()
	p := adminOperatorsPage{adminBase: s.adminBase(c, "admin.operators.title", "operators"), Form: f}
	ops, err := s.stations.Operators(ctx)
	if err != nil {
		return err
	}
	sts, err := s.stations.Stations(ctx, "")
	if err != nil {
		return err
	}
	n := map[string]int{}
	for _, st := range sts {
		n[st.OperatorID]++
	}
	for _, o := range ops {
		p.Operators = append(p.Operators, operatorRow{Operator: o, Stations: n[o.ID]})
	}
	return s.render(c, status, "admin_operators", &p)
}

func (s *Server) showAdminOperators(c *gin.Context) error {
	return s.operatorsPage(c, http.StatusOK, form{})
}

func (s *Server) createAdminOperator(c *gin.Context) error {
	f := newForm(c)
	o, err := s.createOperator(c, operatorInput{ID: f.Get(fOpID), Name: l10n.Text{Zh: f.Get(fOpNameZh), En: f.Get(fOpNameEn)},
		Phone: f.Get(fOpPhone)})
	if errors.Is(err, stations.ErrConflict) {
		err = valid.Field(fOpID, "adm_taken", "is already the id of another operator")
	}
	if err != nil {
		if f.fail(remap(err, operatorFields), fOpNameZh, fOpNameEn, fOpPhone, fOpID) {
			return s.operatorsPage(c, http.StatusBadRequest, f)
		}
		return err
	}
	s.flash(c, "admin.flash.operator_created")
	c.Redirect(http.StatusSeeOther, "/admin/operators/"+url.PathEscape(o.ID))
	return nil
}

type adminOperatorPage struct {
	adminBase
	Operator stations.Operator
	Stations []stations.Station
	Users    []accounts.User
	Form     form
}

func (s *Server) operatorPage(c *gin.Context, status int, f form) error {
	ctx := c.Request.Context()
	o, err := s.stations.Operator(ctx, c.Param("id"))
	if err != nil {
		return err
	}
	p := adminOperatorPage{adminBase: s.adminBase(c, "admin.operator.title", "operators"), Operator: o, Form: f}
	p.Title = p.Tx(o.Name)
	if p.Form.Values == nil {
		p.Form.Values = url.Values{fOpNameZh: {o.Name.Zh}, fOpNameEn: {o.Name.En}, fOpPhone: {o.Phone}}
	}
	if p.Stations, err = s.stations.Stations(ctx, o.ID); err != nil {
		return err
	}
	if p.Users, err = s.auth.Users(ctx, accounts.UserFilter{OperatorID: o.ID}); err != nil {
		return err
	}
	return s.render(c, status, "admin_operator", &p)
}

func (s *Server) showAdminOperator(c *gin.Context) error {
	return s.operatorPage(c, http.StatusOK, form{})
}

func (s *Server) updateAdminOperator(c *gin.Context) error {
	f := newForm(c)
	name, phone := l10n.Text{Zh: f.Get(fOpNameZh), En: f.Get(fOpNameEn)}, f.Get(fOpPhone)
	_, err := s.updateOperator(c, c.Param("id"), operatorPatch{Name: &name, Phone: &phone})
	if err != nil {
		if f.fail(remap(err, operatorFields), fOpNameZh, fOpNameEn, fOpPhone) {
			return s.operatorPage(c, http.StatusBadRequest, f)
		}
		return err
	}
	s.flash(c, "flash.saved")
	c.Redirect(http.StatusSeeOther, "/admin/operators/"+url.PathEscape(c.Param("id")))
	return nil
}

type operatorStatusPage struct {
	adminBase
	Operator stations.Operator
	// To is the status the admin is asked to confirm.
	To       string
	Stations int
	Products int
	// Form is the reason form after a failed post.
	Form form
}

// confirmOperatorStatus asks before suspending or resuming: a form button
// would do it in one slip, and the pages work without JavaScript, so the
// question is a page of its own.
func (s *Server) confirmOperatorStatus(c *gin.Context) error {
	return s.operatorStatusPage(c, http.StatusOK, c.Query("to"), form{})
}

func (s *Server) operatorStatusPage(c *gin.Context, status int, to string, f form) error {
	ctx := c.Request.Context()
	o, err := s.stations.Operator(ctx, c.Param("id"))
	if err != nil {
		return err
	}
	p := operatorStatusPage{adminBase: s.adminBase(c, "admin.status.title", "operators"), Operator: o, To: to, Form: f}
	if p.To != stations.OperatorActive && p.To != stations.OperatorSuspended {
		p.To = stations.OperatorSuspended
		if o.Status == stations.OperatorSuspended {
			p.To = stations.OperatorActive
		}
	}
	sts, err := s.stations.Stations(ctx, o.ID)
	if err != nil {
		return err
	}
	p.Stations = len(sts)
	prods, err := s.catalog.List(ctx, tenancy.OperatorScope(o.ID))
	if err != nil {
		return err
	}
	p.Products = len(prods)
	if p.To == stations.OperatorSuspended {
		p.Title = p.T("admin.status.suspend.heading", p.Tx(o.Name))
	} else {
		p.Title = p.T("admin.status.resume.heading", p.Tx(o.Name))
	}
	return s.render(c, status, "admin_operator_status", &p)
}

func (s *Server) setAdminOperatorStatus(c *gin.Context) error {
	f := newForm(c)
	to, reason := f.Get("status"), f.Get("reason")
	o, err := s.updateOperator(c, c.Param("id"), operatorPatch{Status: &to, Reason: &reason})
	if err != nil {
		if f.fail(err, "reason") {
			return s.operatorStatusPage(c, http.StatusBadRequest, to, f)
		}
		return err
	}
	if o.Status == stations.OperatorSuspended {
		s.flash(c, "admin.flash.operator_suspended")
	} else {
		s.flash(c, "admin.flash.operator_resumed")
	}
	c.Redirect(http.StatusSeeOther, "/admin/operators/"+url.PathEscape(o.ID))
	return nil
}

// Users.

type adminUsersPage struct {
	adminBase
	Q, Role, Operator string
	Roles             []accounts.Role
	Operators         []stations.Operator
	OpNames           map[string]l10n.Text
	Users             []accounts.User
	Total             int
	Pages             []pageLink
	Prev, Next        string
}

const adminPerPage = 50

func (s *Server) showAdminUsers(c *gin.Context) error {
	ctx := c.Request.Context()
	prm := newParams(c)
	p := adminUsersPage{adminBase: s.adminBase(c, "admin.users.title", "users"), Roles: accounts.Roles,
		Q: prm.str("q", 100), Role: prm.str("role", 20), Operator: prm.str("operator", 64)}
	if p.Role != "" && !accounts.Role(p.Role).Valid() {
		prm.errs.Add("role", "oneof", "is not a role")
	}
	page := 1
	if n, ok := prm.integer("page", 1, 100_000); ok {
		page = int(n)
	}
	if err := prm.err(); err != nil {
		return err
	}
	ops, err := s.stations.Operators(ctx)
	if err != nil {
		return err
	}
	p.Operators, p.OpNames = ops, operatorNames(ops)
	res, err := s.auth.ListUsers(ctx, accounts.UserFilter{Text: p.Q, Role: accounts.Role(p.Role), OperatorID: p.Operator}, page, adminPerPage)
	if err != nil {
		return err
	}
	p.Users, p.Total = res.Items, res.Total
	p.Pages, p.Prev, p.Next = pager(res.Total, page, adminPerPage, func(n int) string {
		q := url.Values{"q": {p.Q}, "role": {p.Role}, "operator": {p.Operator}, "page": {strconv.Itoa(n)}}
		return "/admin/users?" + q.Encode()
	})
	return s.render(c, http.StatusOK, "admin_users", &p)
}

// stationChoice is a station offered as a checkbox.
type stationChoice struct {
	stations.Station
	OperatorName string
	Checked      bool
}

func (s *Server) stationChoices(c *gin.Context, b *base, operatorID string, checked []string, ops []stations.Operator) ([]stationChoice, error) {
	sts, err := s.stations.Stations(c.Request.Context(), operatorID)
	if err != nil {
		return nil, err
	}
	names := map[string]string{}
	for _, o := range ops {
		names[o.ID] = b.Tx(o.Name)
	}
	out := make([]stationChoice, len(sts))
	for i, st := range sts {
		out[i] = stationChoice{Station: st, OperatorName: names[st.OperatorID], Checked: slices.Contains(checked, st.ID)}
	}
	return out, nil
}

type newUserPage struct {
	adminBase
	Form      form
	Roles     []accounts.Role
	Operators []stations.Operator
	Stations  []stationChoice
}

func (s *Server) newUserPage(c *gin.Context, status int, f form) error {
	p := newUserPage{adminBase: s.adminBase(c, "admin.newuser.title", "users"), Form: f, Roles: accounts.Grantable(accounts.PlatformAdmin)}
	var err error
	if p.Operators, err = s.stations.Operators(c.Request.Context()); err != nil {
		return err
	}
	if p.Stations, err = s.stationChoices(c, &p.base, "", f.Values[fStationIDs], p.Operators); err != nil {
		return err
	}
	return s.render(c, status, "admin_user_new", &p)
}

// showNewAdminUser offers the form, prefilled from ?role= and ?operator= (the
// operator page links here to add that operator's admin).
func (s *Server) showNewAdminUser(c *gin.Context) error {
	f := form{Values: url.Values{}}
	if r := c.Query("role"); r != "" {
		f.Values.Set(fRole, r)
	}
	if o := c.Query("operator"); o != "" {
		f.Values.Set(fOperator, o)
	}
	return s.newUserPage(c, http.StatusOK, f)
}

func (s *Server) createAdminUser(c *gin.Context) error {
	f := newForm(c)
	in := userInput{Role: accounts.Role(f.Get(fRole)), Name: f.Get("name"), Phone: f.Get("phone"), Email: f.Get("email"),
		Password: f.Values.Get("password"), OperatorID: f.Get(fOperator), StationIDs: f.Values[fStationIDs]}
	if in.Role != accounts.Staff {
		// The form shows every station; only staff are assigned any.
		in.StationIDs = nil
	}
	if in.Role == accounts.PlatformAdmin {
		in.OperatorID = ""
	}
	u, pw, err := s.createUser(c, in)
	if err != nil {
		if f.fail(remap(err, userFields), fRole, "name", "phone", "email", "password", fOperator, fStationIDs) {
			return s.newUserPage(c, http.StatusBadRequest, f)
		}
		return err
	}
	if pw != "" {
		s.reveal(c, userPath(u.ID), pw)
	}
	s.flash(c, "admin.flash.user_created")
	c.Redirect(http.StatusSeeOther, userPath(u.ID))
	return nil
}

type adminUserPage struct {
	adminBase
	Account  accounts.User
	Operator *stations.Operator
	// OneTime is a password just made for the account, shown this once.
	OneTime  string
	Self     bool
	Form     form
	Stations []stationChoice
}

func (s *Server) userPage(c *gin.Context, status int, f form) error {
	ctx := c.Request.Context()
	u, err := s.auth.User(ctx, c.Param("id"))
	if err != nil {
		return err
	}
	me, _ := userOf(c)
	p := adminUserPage{adminBase: s.adminBase(c, "admin.user.title", "users"), Account: u, Form: f, Self: me.ID == u.ID}
	p.Title = u.Name
	if u.OperatorID != "" {
		o, err := s.stations.Operator(ctx, u.OperatorID)
		if err != nil {
			return err
		}
		p.Operator = &o
	}
	if p.Form.Values == nil {
		p.Form.Values = url.Values{"name": {u.Name}, fStationIDs: u.StationIDs}
	}
	if u.Role == accounts.Staff {
		var ops []stations.Operator
		if p.Operator != nil {
			ops = []stations.Operator{*p.Operator}
		}
		if p.Stations, err = s.stationChoices(c, &p.base, u.OperatorID, p.Form.Values[fStationIDs], ops); err != nil {
			return err
		}
	}
	if p.OneTime, _ = s.takeReveal(c); p.OneTime != "" {
		c.Writer = noStore{c.Writer}
	}
	return s.render(c, status, "admin_user", &p)
}

func (s *Server) showAdminUser(c *gin.Context) error {
	return s.userPage(c, http.StatusOK, form{})
}

func (s *Server) updateAdminUser(c *gin.Context) error {
	ctx := c.Request.Context()
	u, err := s.auth.User(ctx, c.Param("id"))
	if err != nil {
		return err
	}
	f := newForm(c)
	name := f.Get("name")
	patch := accounts.UserUpdate{Name: &name}
	if u.Role == accounts.Staff {
		patch.StationIDs = f.Values[fStationIDs]
		if patch.StationIDs == nil {
			// No box ticked: an empty, not a missing, list, so the service
			// says staff need a station.
			patch.StationIDs = []string{}
		}
	}
	if _, err := s.updateUser(c, u.ID, patch); err != nil {
		if f.fail(remap(err, userFields), "name", fStationIDs) {
			return s.userPage(c, http.StatusBadRequest, f)
		}
		return err
	}
	s.flash(c, "flash.saved")
	c.Redirect(http.StatusSeeOther, userPath(u.ID))
	return nil
}

func (s *Server) setAdminUserStatus(c *gin.Context) error {
	to := c.PostForm("status")
	u, err := s.updateUser(c, c.Param("id"), accounts.UserUpdate{Status: &to})
	if err != nil {
		return err
	}
	if u.Status == accounts.Disabled {
		s.flash(c, "admin.flash.user_disabled")
	} else {
		s.flash(c, "admin.flash.user_enabled")
	}
	c.Redirect(http.StatusSeeOther, userPath(u.ID))
	return nil
}

func (s *Server) resetAdminUserPassword(c *gin.Context) error {
	u, pw, err := s.resetPassword(c, c.Param("id"))
	if err != nil {
		return err
	}
	s.reveal(c, userPath(u.ID), pw)
	s.flash(c, "admin.flash.password_reset")
	c.Redirect(http.StatusSeeOther, userPath(u.ID))
	return nil
}

// Audit log.

type adminAuditPage struct {
	adminBase
	Rows       []auditRow
	Operators  []stations.Operator
	Operator   string
	Total      int
	Pages      []pageLink
	Prev, Next string
}

func (s *Server) showAdminAudit(c *gin.Context) error {
	ctx := c.Request.Context()
	prm := newParams(c)
	p := adminAuditPage{adminBase: s.adminBase(c, "admin.audit.title", "audit"), Operator: prm.str("operator", 64)}
	page := 1
	if n, ok := prm.integer("page", 1, 100_000); ok {
		page = int(n)
	}
	if err := prm.err(); err != nil {
		return err
	}
	ops, err := s.stations.Operators(ctx)
	if err != nil {
		return err
	}
	p.Operators = ops
	entries, total, err := s.auth.Audit(ctx, accounts.AuditFilter{OperatorID: p.Operator, Limit: adminPerPage,
		Skip: int64((page - 1) * adminPerPage)})
	if err != nil {
		return err
	}
	p.Rows, p.Total = s.auditRows(c, &p.base, entries, operatorNames(ops)), int(total)
	p.Pages, p.Prev, p.Next = pager(p.Total, page, adminPerPage, func(n int) string {
		q := url.Values{"page": {strconv.Itoa(n)}}
		if p.Operator != "" {
			q.Set("operator", p.Operator)
		}
		return "/admin/audit?" + q.Encode()
	})
	return s.render(c, http.StatusOK, "admin_audit", &p)
}

// pager links to the pages around the current one.
func pager(total, page, perPage int, link func(int) string) (links []pageLink, prev, next string) {
	pages := (total + perPage - 1) / perPage
	if pages <= 1 {
		return nil, "", ""
	}
	for n := max(1, page-4); n <= min(pages, page+4); n++ {
		links = append(links, pageLink{N: n, URL: link(n), Current: n == page})
	}
	if page > 1 && page <= pages {
		prev = link(page - 1)
	}
	if page < pages {
		next = link(page + 1)
	}
	return links, prev, next
}

// FieldError is the translated problem with field name of f, or "".
func (b *adminBase) FieldError(f form, name string) string {
	code, bad := f.Errors[name]
	if !bad {
		return ""
	}
	return b.ErrorText(code, f.Messages[name])
}

// Zone is the city's time zone, for showing times.
func (b *adminBase) Zone() *time.Location { return l10n.Local }

// Percent shows basis points as a percentage.
func (b *adminBase) Percent(bp int) string { return bpToPercent(bp) + "%" }

// YesNo shows a flag in words.
func (b *adminBase) YesNo(v bool) string {
	if v {
		return b.T("admin.yes")
	}
	return b.T("admin.no")
}

// TierOrder lists the tiers most supported first, the order the policy is read in.
func (b *adminBase) TierOrder() []rentals.Tier { return rentals.Tiers }
