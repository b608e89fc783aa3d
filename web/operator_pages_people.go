package web

import (
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/gin-gonic/gin"

	"fuju/accounts"
	"fuju/internal/l10n"
	"fuju/stations"
)

// The console's staff accounts, API tokens and audit log.

// Staff.

type opStaffPage struct {
	opConsole
	Staff    []accounts.User
	stations map[string]stations.VersionedStation
}

// StationNames names a staff member's stations.
func (p *opStaffPage) StationNames(ids []string) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = id
		if st, ok := p.stations[id]; ok {
			out[i] = p.Tx(st.Name)
		}
	}
	return out
}

func (s *Server) showOpStaffList(c *gin.Context) error {
	p := opStaffPage{opConsole: s.opConsole(c, "op.staff.title", "staff"), stations: map[string]stations.VersionedStation{}}
	var err error
	if p.Staff, err = s.opStaff(c); err != nil {
		return err
	}
	sts, err := s.stations.StationsIn(c.Request.Context(), scopeOf(c))
	if err != nil {
		return err
	}
	for _, st := range sts {
		p.stations[st.ID] = st
	}
	return s.render(c, http.StatusOK, "operator_staff", &p)
}

type opStaffFormPage struct {
	opConsole
	Form       form
	Member     *accounts.User
	stationSet []stations.VersionedStation
}

// StationBoxes are the station checkboxes: the operator's stations (all of
// them for the platform, grouped by operator in the labels).
func (p *opStaffFormPage) StationBoxes() opChoiceField {
	var opts []opChoice
	for _, st := range p.stationSet {
		if p.Member != nil && st.OperatorID != p.Member.OperatorID {
			continue
		}
		label := p.Tx(st.Name)
		if p.Platform {
			label = p.OperatorName(st.OperatorID) + " · " + label
		}
		opts = append(opts, opChoice{Value: st.ID, Label: label})
	}
	return p.Checks(p.Form, "station_ids", opts)
}

// Statuses are the account status choices.
func (p *opStaffFormPage) Statuses() []opChoice {
	return []opChoice{{Value: accounts.Active, Label: p.T("op.staff.active")}, {Value: accounts.Disabled, Label: p.T("op.staff.disabled")}}
}

func (s *Server) staffFormPage(c *gin.Context, status int, name, title string, p *opStaffFormPage) error {
	p.opConsole = s.opConsole(c, title, "staff")
	var err error
	if p.stationSet, err = s.stations.StationsIn(c.Request.Context(), scopeOf(c)); err != nil {
		return err
	}
	return s.render(c, status, name, p)
}

var staffFormOrder = []string{"operator_id", "name", "phone", "email", "station_ids", "status"}

func (s *Server) newOpStaffPage(c *gin.Context) error {
	return s.staffFormPage(c, http.StatusOK, "operator_staff_new", "op.staff.new", &opStaffFormPage{Form: form{Values: url.Values{}}})
}

func (s *Server) createOpStaffPage(c *gin.Context) error {
	f := newForm(c)
	u, pw, err := s.opCreateStaff(c, staffInput{OperatorID: f.Get("operator_id"), Name: f.Get("name"), Phone: f.Get("phone"),
		Email: f.Get("email"), StationIDs: f.Values["station_ids"]})
	if err != nil {
		if f.fail(err, staffFormOrder...) {
			return s.staffFormPage(c, http.StatusBadRequest, "operator_staff_new", "op.staff.new", &opStaffFormPage{Form: f})
		}
		return err
	}
	// The one-time password is shown on the next page only.
	path := "/operator/staff/" + u.ID + "/password"
	s.reveal(c, path, pw)
	c.Redirect(http.StatusSeeOther, path)
	return nil
}

func (s *Server) editOpStaffPage(c *gin.Context) error {
	u, err := s.opStaffMember(c, c.Param("id"))
	if err != nil {
		return err
	}
	f := form{Values: url.Values{"name": {u.Name}, "status": {u.Status}, "station_ids": u.StationIDs}}
	return s.staffFormPage(c, http.StatusOK, "operator_staff_edit", "op.staff.edit", &opStaffFormPage{Form: f, Member: &u})
}

func (s *Server) updateOpStaffPage(c *gin.Context) error {
	u, err := s.opStaffMember(c, c.Param("id"))
	if err != nil {
		return err
	}
	f := newForm(c)
	name, status := f.Get("name"), f.Get("status")
	ids := f.Values["station_ids"]
	if ids == nil {
		ids = []string{} // no box ticked: a choice, checked as such
	}
	_, err = s.updateUser(c, u.ID, accounts.UserUpdate{Name: &name, StationIDs: ids, Status: &status})
	if err != nil {
		if f.fail(err, staffFormOrder...) {
			return s.staffFormPage(c, http.StatusBadRequest, "operator_staff_edit", "op.staff.edit", &opStaffFormPage{Form: f, Member: &u})
		}
		return err
	}
	s.flash(c, "op.flash.saved")
	c.Redirect(http.StatusSeeOther, "/operator/staff")
	return nil
}

func (s *Server) resetOpStaffPasswordPage(c *gin.Context) error {
	if _, err := s.opStaffMember(c, c.Param("id")); err != nil {
		return err
	}
	u, pw, err := s.resetPassword(c, c.Param("id"))
	if err != nil {
		return err
	}
	path := "/operator/staff/" + u.ID + "/password"
	s.reveal(c, path, pw)
	c.Redirect(http.StatusSeeOther, path)
	return nil
}

// opSecretPage shows a one-time secret: a password or an API token.
type opSecretPage struct {
	opConsole
	// Kind is "password" or "token".
	Kind   string
	Secret string
	Whom   string
	Back   string
}

func (s *Server) showOpStaffPassword(c *gin.Context) error {
	u, err := s.opStaffMember(c, c.Param("id"))
	if err != nil {
		return err
	}
	p := opSecretPage{opConsole: s.opConsole(c, "op.secret.password", "staff"), Kind: "password", Whom: u.Name + " (" + u.Login() + ")", Back: "/operator/staff"}
	p.Secret, _ = s.takeReveal(c)
	c.Header("Cache-Control", "no-store")
	return s.render(c, http.StatusOK, "operator_secret", &p)
}

// Tokens.

type opTokensPage struct {
	opConsole
	Tokens []accounts.Token
	Form   form
	now    time.Time
}

// Expired reports whether t no longer works because it expired.
func (p *opTokensPage) Expired(t accounts.Token) bool { return t.Expired(p.now) }

// LastDay is the last day t works, Beijing time.
func (p *opTokensPage) LastDay(t accounts.Token) string {
	return t.ExpiresAt.In(l10n.Local).AddDate(0, 0, -1).Format(time.DateOnly)
}

// ScopeBoxes are the scope checkboxes of the new-token form.
func (p *opTokensPage) ScopeBoxes() opChoiceField {
	var opts []opChoice
	for _, sc := range accounts.TokenScopes {
		opts = append(opts, opChoice{Value: sc, Label: p.T("op.scope." + tokenScopeKey(sc))})
	}
	return p.Checks(p.Form, "scopes", opts)
}

// ScopeName is a token scope in words.
func (p *opTokensPage) ScopeName(sc string) string { return p.T("op.scope." + tokenScopeKey(sc)) }

// tokenScopeKey makes a scope a message key ("inventory:read" → "inventory_read").
func tokenScopeKey(sc string) string {
	b := []byte(sc)
	for i := range b {
		if b[i] == ':' {
			b[i] = '_'
		}
	}
	return string(b)
}

func (s *Server) tokensPage(c *gin.Context, status int, f form) error {
	p := opTokensPage{opConsole: s.opConsole(c, "op.tokens.title", "tokens"), Form: f, now: s.now()}
	var err error
	if p.Tokens, err = s.opTokens(c); err != nil {
		return err
	}
	return s.render(c, status, "operator_tokens", &p)
}

func (s *Server) showOpTokens(c *gin.Context) error {
	// A year is offered; the admin may pick another day or clear it.
	year := s.now().In(l10n.Local).AddDate(1, 0, 0).Format(time.DateOnly)
	return s.tokensPage(c, http.StatusOK, form{Values: url.Values{"scopes": {accounts.ScopeInventoryRead}, "expires_on": {year}}})
}

func (s *Server) createOpTokenPage(c *gin.Context) error {
	f := newForm(c)
	t, secret, err := s.opCreateToken(c, tokenInput{OperatorID: f.Get("operator_id"), Name: f.Get("name"), Scopes: f.Values["scopes"],
		ExpiresOn: f.Get("expires_on")})
	if err != nil {
		if f.fail(err, "operator_id", "name", "scopes", "expires_on") {
			return s.tokensPage(c, http.StatusBadRequest, f)
		}
		return err
	}
	path := "/operator/tokens/" + t.ID + "/secret"
	s.reveal(c, path, secret)
	c.Redirect(http.StatusSeeOther, path)
	return nil
}

func (s *Server) showOpTokenSecret(c *gin.Context) error {
	all, err := s.opTokens(c)
	if err != nil {
		return err
	}
	i := slices.IndexFunc(all, func(t accounts.Token) bool { return t.ID == c.Param("id") })
	if i < 0 {
		return errNotFound
	}
	p := opSecretPage{opConsole: s.opConsole(c, "op.secret.token", "tokens"), Kind: "token", Whom: all[i].Name, Back: "/operator/tokens"}
	p.Secret, _ = s.takeReveal(c)
	c.Header("Cache-Control", "no-store")
	return s.render(c, http.StatusOK, "operator_secret", &p)
}

func (s *Server) revokeOpTokenPage(c *gin.Context) error {
	if _, err := s.opRevokeToken(c, c.Param("id")); err != nil {
		return err
	}
	s.flash(c, "op.flash.token_revoked")
	c.Redirect(http.StatusSeeOther, "/operator/tokens")
	return nil
}

// Audit log.

type opAuditPage struct {
	opConsole
	Rows  []auditRow
	Pager opPager
}

func (s *Server) showOpAudit(c *gin.Context) error {
	p := opAuditPage{opConsole: s.opConsole(c, "op.audit.title", "audit")}
	q := newParams(c)
	page, perPage := pageParams(q, 50, 200)
	if err := q.err(); err != nil {
		return err
	}
	entries, total, err := s.opAudit(c, page, perPage)
	if err != nil {
		return err
	}
	var names map[string]l10n.Text
	if p.Platform {
		if ops, err := s.stations.Operators(c.Request.Context()); err == nil {
			names = operatorNames(ops)
		}
	}
	p.Rows = s.auditRows(c, &p.base, entries, names)
	p.Pager = newOpPager("/operator/audit", c.Request.URL.Query(), page, perPage, total)
	return s.render(c, http.StatusOK, "operator_audit", &p)
}
