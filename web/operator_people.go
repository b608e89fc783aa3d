package web

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"fuju/internal/valid"
	"fuju/stations"
	"fuju/web/auth"
)

// An operator's people and machines: staff accounts, API tokens, and the audit
// log of what they did. These routes take a logged-in operator admin (or the
// platform): an API token may not mint tokens or accounts, or it could grant
// itself more than it was given.

// opOperator is the operator the caller acts for: its own, or for the
// platform the one named (required when creating).
func opOperator(c *gin.Context, named string) (string, error) {
	if sc := scopeOf(c); !sc.Platform {
		return sc.OperatorID, nil
	}
	if strings.TrimSpace(named) == "" {
		return "", fmt.Errorf("web: %w", valid.Field("operator_id", "required", "is required: the operator this is for"))
	}
	return strings.TrimSpace(named), nil
}

// opStaffMember returns a staff account the caller manages. Other accounts,
// other operators' staff included, are not found.
func (s *Server) opStaffMember(c *gin.Context, id string) (auth.User, error) {
	u, err := s.auth.User(c.Request.Context(), id)
	if err != nil {
		return auth.User{}, err
	}
	if sc := scopeOf(c); u.Role != auth.Staff || !sc.Platform && u.OperatorID != sc.OperatorID {
		return auth.User{}, fmt.Errorf("web: staff %s: %w", id, errNotFound)
	}
	return u, nil
}

// checkStaffStations checks that each station is one of operator op's that the
// caller sees.
func (s *Server) checkStaffStations(c *gin.Context, op string, ids []string) error {
	if len(ids) == 0 {
		return fmt.Errorf("web: staff: %w", valid.Field("station_ids", "required", "choose at least one station"))
	}
	for _, id := range ids {
		st, err := s.stations.StationIn(c.Request.Context(), scopeOf(c), id)
		if err != nil || st.OperatorID != op {
			return fmt.Errorf("web: staff: %w", valid.Field("station_ids", "not_found", "station "+id+" is not one of the operator's stations"))
		}
	}
	return nil
}

// opCreateStaff creates a staff account with a one-time password, which is
// returned once and must be changed at the first login.
func (s *Server) opCreateStaff(c *gin.Context, in staffInput) (auth.User, string, error) {
	op, err := opOperator(c, in.OperatorID)
	if err != nil {
		return auth.User{}, "", err
	}
	if sc := scopeOf(c); sc.Platform {
		if _, err := s.stations.Operator(c.Request.Context(), op); err != nil {
			return auth.User{}, "", fmt.Errorf("web: staff: %w", valid.Field("operator_id", "not_found", "is not an operator"))
		}
	}
	// Every wrong field at once: the account's own fields are checked here
	// too, since the identity service only sees them once the stations are
	// known to be right.
	ve := &valid.Error{}
	if n := utf8.RuneCountInString(strings.TrimSpace(in.Name)); n == 0 || n > 60 {
		ve.Add("name", "length", "is required (at most 60 characters)", "min", 1, "max", 60)
	}
	phone, email := strings.TrimSpace(in.Phone), strings.TrimSpace(in.Email)
	switch {
	case phone == "" && email == "":
		ve.Add("phone", "phone_or_email", "a mobile number or an e-mail address is required")
	case phone != "" && auth.NormalizePhone(phone) == "":
		ve.Add("phone", "mobile", "must be a mainland mobile number such as 13812345678")
	}
	if email != "" && auth.NormalizeEmail(email) == "" {
		ve.Add("email", "email", "must be an e-mail address")
	}
	if err := s.checkStaffStations(c, op, in.StationIDs); err != nil {
		probs, _ := valid.Fields(err)
		for k, p := range probs {
			ve.Put(k, p)
		}
	}
	if err := ve.Err(); err != nil {
		return auth.User{}, "", fmt.Errorf("web: staff: %w", err)
	}
	pw := auth.OneTimePassword()
	u, err := s.auth.CreateUser(c.Request.Context(), auth.NewUser{Name: in.Name, Phone: in.Phone, Email: in.Email,
		Password: pw, Role: auth.Staff, OperatorID: op, StationIDs: in.StationIDs, MustChangePassword: true})
	if err != nil {
		return auth.User{}, "", err
	}
	s.audit(c, op, "staff.create", "user/"+u.ID, nil, u)
	return u, pw, nil
}

// opUpdateStaff changes a staff account's name, stations or status;
// disabling ends its sessions at once.
func (s *Server) opUpdateStaff(c *gin.Context, id string, up auth.UserUpdate) (auth.User, error) {
	before, err := s.opStaffMember(c, id)
	if err != nil {
		return auth.User{}, err
	}
	if up.StationIDs != nil {
		if err := s.checkStaffStations(c, before.OperatorID, up.StationIDs); err != nil {
			return auth.User{}, err
		}
	}
	after, err := s.auth.UpdateUser(c.Request.Context(), before.OperatorID, id, up)
	if err != nil {
		return auth.User{}, err
	}
	action := "staff.update"
	switch {
	case before.Status != after.Status && after.Status == auth.Disabled:
		action = "staff.disable"
	case before.Status != after.Status:
		action = "staff.enable"
	}
	s.audit(c, after.OperatorID, action, "user/"+id, before, after)
	return after, nil
}

// opResetStaffPassword gives a staff member a new one-time password and ends
// their sessions.
func (s *Server) opResetStaffPassword(c *gin.Context, id string) (auth.User, string, error) {
	u, err := s.opStaffMember(c, id)
	if err != nil {
		return auth.User{}, "", err
	}
	pw, err := s.auth.ResetPassword(c.Request.Context(), id)
	if err != nil {
		return auth.User{}, "", err
	}
	s.audit(c, u.OperatorID, "staff.reset_password", "user/"+id,
		map[string]string{"password": "old"}, map[string]string{"password": "new"}, "password")
	return u, pw, nil
}

// opStaff lists the staff the caller manages.
func (s *Server) opStaff(c *gin.Context) ([]auth.User, error) {
	sc := scopeOf(c)
	f := auth.UserFilter{Role: auth.Staff, OperatorID: sc.OperatorID}
	if !sc.Platform && sc.OperatorID == "" {
		return []auth.User{}, nil
	}
	return s.auth.Users(c.Request.Context(), f)
}

// staffInput is a new staff account.
type staffInput struct {
	OperatorID string   `json:"operator_id,omitempty" binding:"limit=id"`
	Name       string   `json:"name" binding:"required,limit=person_name"`
	Phone      string   `json:"phone" binding:"limit=phone"`
	Email      string   `json:"email" binding:"limit=email"`
	StationIDs []string `json:"station_ids" binding:"required,min=1,limit=station_ids,dive,limit=id"`
}

// staffCreated carries the one-time password, shown this once.
type staffCreated struct {
	User     auth.User `json:"user"`
	Password string    `json:"password"`
}

// staffPatch changes an account; absent fields stay.
type staffPatch struct {
	Name       *string  `json:"name" binding:"omitempty,limit=person_name"`
	StationIDs []string `json:"station_ids" binding:"omitempty,limit=station_ids,dive,limit=id"`
	Status     *string  `json:"status" binding:"omitempty,oneof=active disabled"`
}

func (s *Server) listOpStaff(c *gin.Context) error {
	p := newParams(c)
	p.only("page", "per_page")
	page, perPage := opPageParams(p, 50)
	if err := p.err(); err != nil {
		return err
	}
	all, err := s.opStaff(c)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, paged(all, page, perPage))
	return nil
}

func (s *Server) createOpStaff(c *gin.Context) error {
	var in staffInput
	if err := bindJSON(c, &in); err != nil {
		return err
	}
	u, pw, err := s.opCreateStaff(c, in)
	if err != nil {
		return err
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusCreated, staffCreated{User: u, Password: pw})
	return nil
}

func (s *Server) showOpStaff(c *gin.Context) error {
	u, err := s.opStaffMember(c, c.Param("id"))
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, u)
	return nil
}

func (s *Server) patchOpStaff(c *gin.Context) error {
	if _, err := s.opStaffMember(c, c.Param("id")); err != nil {
		return err
	}
	var in staffPatch
	if err := bindJSON(c, &in); err != nil {
		return err
	}
	u, err := s.opUpdateStaff(c, c.Param("id"), auth.UserUpdate{Name: in.Name, StationIDs: in.StationIDs, Status: in.Status})
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, u)
	return nil
}

func (s *Server) resetOpStaffPassword(c *gin.Context) error {
	u, pw, err := s.opResetStaffPassword(c, c.Param("id"))
	if err != nil {
		return err
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, staffCreated{User: u, Password: pw})
	return nil
}

// API tokens.

// tokenInput is a new API token.
type tokenInput struct {
	OperatorID string   `json:"operator_id,omitempty" binding:"limit=id"`
	Name       string   `json:"name" binding:"required,limit=person_name"`
	Scopes     []string `json:"scopes" binding:"required,min=1,limit=scopes,dive,max=32"`
	// ExpiresOn is the last day the token works (Beijing time), as
	// 2026-12-31; empty never expires.
	ExpiresOn string `json:"expires_on,omitempty" binding:"max=32"`
}

// tokenExpiry reads the last day a token works: it stops at the end of that
// day in the city's time zone. Empty is no expiry.
func tokenExpiry(day string) (time.Time, error) {
	day = strings.TrimSpace(day)
	if day == "" {
		return time.Time{}, nil
	}
	d, ok := stations.ImportDate(day)
	if !ok || d == "" {
		return time.Time{}, valid.Field("expires_on", "date", "must be a date like 2026-12-31")
	}
	t, err := time.ParseInLocation(time.DateOnly, d, stations.Local)
	if err != nil {
		return time.Time{}, valid.Field("expires_on", "date", "must be a date like 2026-12-31")
	}
	return t.AddDate(0, 0, 1), nil
}

// tokenCreated carries the token's secret, shown this once.
type tokenCreated struct {
	Token  auth.Token `json:"token"`
	Secret string     `json:"secret"`
}

// opTokens lists the tokens the caller manages: its operator's, or for the
// platform every operator's.
func (s *Server) opTokens(c *gin.Context) ([]auth.Token, error) {
	ctx, sc := c.Request.Context(), scopeOf(c)
	if !sc.Platform {
		if sc.OperatorID == "" {
			return []auth.Token{}, nil
		}
		return s.auth.Tokens(ctx, sc.OperatorID)
	}
	ops, err := s.stations.Operators(ctx)
	if err != nil {
		return nil, err
	}
	out := []auth.Token{}
	for _, o := range ops {
		ts, err := s.auth.Tokens(ctx, o.ID)
		if err != nil {
			return nil, err
		}
		out = append(out, ts...)
	}
	slices.SortStableFunc(out, func(a, b auth.Token) int { return b.CreatedAt.Compare(a.CreatedAt) })
	return out, nil
}

func (s *Server) opCreateToken(c *gin.Context, in tokenInput) (auth.Token, string, error) {
	op, err := opOperator(c, in.OperatorID)
	if err != nil {
		return auth.Token{}, "", err
	}
	if _, err := s.stations.Operator(c.Request.Context(), op); err != nil {
		return auth.Token{}, "", fmt.Errorf("web: token: %w", valid.Field("operator_id", "not_found", "is not an operator"))
	}
	exp, err := tokenExpiry(in.ExpiresOn)
	if err != nil {
		return auth.Token{}, "", fmt.Errorf("web: token: %w", err)
	}
	secret, t, err := s.auth.IssueToken(c.Request.Context(), auth.NewToken{OperatorID: op, Name: in.Name, Scopes: in.Scopes, ExpiresAt: exp}, actorOf(c))
	if err != nil {
		return auth.Token{}, "", err
	}
	s.audit(c, op, "token.create", "token/"+t.ID, nil, t)
	return t, secret, nil
}

func (s *Server) opRevokeToken(c *gin.Context, id string) (auth.Token, error) {
	all, err := s.opTokens(c)
	if err != nil {
		return auth.Token{}, err
	}
	for _, t := range all {
		if t.ID != id {
			continue
		}
		after, err := s.auth.RevokeToken(c.Request.Context(), t.OperatorID, id)
		if err != nil {
			return auth.Token{}, err
		}
		if t.RevokedAt == nil {
			s.audit(c, t.OperatorID, "token.revoke", "token/"+id, t, after)
		}
		return after, nil
	}
	return auth.Token{}, fmt.Errorf("web: token %s: %w", id, errNotFound)
}

func (s *Server) listOpTokens(c *gin.Context) error {
	p := newParams(c)
	p.only("page", "per_page")
	page, perPage := opPageParams(p, 50)
	if err := p.err(); err != nil {
		return err
	}
	all, err := s.opTokens(c)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, paged(all, page, perPage))
	return nil
}

func (s *Server) createOpToken(c *gin.Context) error {
	var in tokenInput
	if err := bindJSON(c, &in); err != nil {
		return err
	}
	t, secret, err := s.opCreateToken(c, in)
	if err != nil {
		return err
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusCreated, tokenCreated{Token: t, Secret: secret})
	return nil
}

func (s *Server) revokeOpToken(c *gin.Context) error {
	t, err := s.opRevokeToken(c, c.Param("id"))
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, t)
	return nil
}

// Audit log.

// opAudit returns a page of the audit log the caller may read: its
// operator's entries, or for the platform everyone's.
func (s *Server) opAudit(c *gin.Context, page, perPage int) ([]auth.Entry, int64, error) {
	sc := scopeOf(c)
	f := auth.AuditFilter{OperatorID: sc.OperatorID, Limit: int64(perPage), Skip: int64((page - 1) * perPage)}
	if !sc.Platform && sc.OperatorID == "" {
		return []auth.Entry{}, 0, nil
	}
	if sc.Platform {
		f.OperatorID = ""
	}
	return s.auth.Audit(c.Request.Context(), f)
}

func (s *Server) listOpAudit(c *gin.Context) error {
	p := newParams(c)
	p.only("page", "per_page")
	page, perPage := opPageParams(p, 50)
	if err := p.err(); err != nil {
		return err
	}
	entries, total, err := s.opAudit(c, page, perPage)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, list[auth.Entry]{Items: entries, Total: int(total), Page: page, PerPage: perPage})
	return nil
}
