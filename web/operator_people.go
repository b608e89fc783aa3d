package web

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"fuju/accounts"
	"fuju/internal/l10n"
	"fuju/internal/valid"
	"fuju/stations"
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

// managerOf is the caller as an administrator of accounts and tokens.
func managerOf(c *gin.Context) accounts.Manager {
	u, _ := userOf(c)
	return accounts.Manager{ID: u.ID, Role: u.Role, Scope: scopeOf(c)}
}

// opStaffMember returns a staff account the caller manages. Other accounts,
// other operators' staff included, are not found.
func (s *Server) opStaffMember(c *gin.Context, id string) (accounts.User, error) {
	u, err := s.auth.ManagedAccount(c.Request.Context(), managerOf(c), id)
	if err != nil {
		return accounts.User{}, err
	}
	if u.Role != accounts.Staff {
		return accounts.User{}, fmt.Errorf("web: staff %s: %w", id, errNotFound)
	}
	return u, nil
}

// opCreateStaff creates a staff account with a one-time password, which is
// returned once and must be changed at the first login.
func (s *Server) opCreateStaff(c *gin.Context, in staffInput) (accounts.User, string, error) {
	op, err := opOperator(c, in.OperatorID)
	if err != nil {
		return accounts.User{}, "", err
	}
	return s.createUser(c, userInput{Role: accounts.Staff, Name: in.Name, Phone: in.Phone, Email: in.Email,
		OperatorID: op, StationIDs: in.StationIDs})
}

// opStaff lists the staff the caller manages.
func (s *Server) opStaff(c *gin.Context) ([]accounts.User, error) {
	sc := scopeOf(c)
	f := accounts.UserFilter{Role: accounts.Staff, OperatorID: sc.OperatorID}
	if !sc.Platform && sc.OperatorID == "" {
		return []accounts.User{}, nil
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
	User     accounts.User `json:"user"`
	Password string        `json:"password"`
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
	page, perPage := pageParams(p, 50, 200)
	if err := p.err(); err != nil {
		return err
	}
	all, err := s.opStaff(c)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, pageOf(all, page, perPage))
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
	u, err := s.updateUser(c, c.Param("id"), accounts.UserUpdate{Name: in.Name, StationIDs: in.StationIDs, Status: in.Status})
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, u)
	return nil
}

func (s *Server) resetOpStaffPassword(c *gin.Context) error {
	if _, err := s.opStaffMember(c, c.Param("id")); err != nil {
		return err
	}
	u, pw, err := s.resetPassword(c, c.Param("id"))
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
	t, err := time.ParseInLocation(time.DateOnly, d, l10n.Local)
	if err != nil {
		return time.Time{}, valid.Field("expires_on", "date", "must be a date like 2026-12-31")
	}
	return t.AddDate(0, 0, 1), nil
}

// tokenCreated carries the token's secret, shown this once.
type tokenCreated struct {
	Token  accounts.Token `json:"token"`
	Secret string         `json:"secret"`
}

// opTokens lists the tokens the caller manages: its operator's, or for the
// platform every operator's.
func (s *Server) opTokens(c *gin.Context) ([]accounts.Token, error) {
	ctx, sc := c.Request.Context(), scopeOf(c)
	if !sc.Platform {
		if sc.OperatorID == "" {
			return []accounts.Token{}, nil
		}
		return s.auth.Tokens(ctx, sc.OperatorID)
	}
	ops, err := s.stations.Operators(ctx)
	if err != nil {
		return nil, err
	}
	out := []accounts.Token{}
	for _, o := range ops {
		ts, err := s.auth.Tokens(ctx, o.ID)
		if err != nil {
			return nil, err
		}
		out = append(out, ts...)
	}
	slices.SortStableFunc(out, func(a, b accounts.Token) int { return b.CreatedAt.Compare(a.CreatedAt) })
	return out, nil
}

func (s *Server) opCreateToken(c *gin.Context, in tokenInput) (accounts.Token, string, error) {
	op, err := opOperator(c, in.OperatorID)
	if err != nil {
		return accounts.Token{}, "", err
	}
	if _, err := s.stations.Operator(c.Request.Context(), op); err != nil {
		return accounts.Token{}, "", fmt.Errorf("web: token: %w", valid.Field("operator_id", "not_found", "is not an operator"))
	}
	exp, err := tokenExpiry(in.ExpiresOn)
	if err != nil {
		return accounts.Token{}, "", fmt.Errorf("web: token: %w", err)
	}
	secret, t, err := s.auth.IssueToken(c.Request.Context(), scopeOf(c), accounts.NewToken{OperatorID: op, Name: in.Name, Scopes: in.Scopes, ExpiresAt: exp}, actorOf(c))
	return t, secret, err
}

func (s *Server) opRevokeToken(c *gin.Context, id string) (accounts.Token, error) {
	all, err := s.opTokens(c)
	if err != nil {
		return accounts.Token{}, err
	}
	for _, t := range all {
		if t.ID != id {
			continue
		}
		return s.auth.RevokeToken(c.Request.Context(), scopeOf(c), t.OperatorID, id, actorOf(c))
	}
	return accounts.Token{}, fmt.Errorf("web: token %s: %w", id, errNotFound)
}

func (s *Server) listOpTokens(c *gin.Context) error {
	p := newParams(c)
	p.only("page", "per_page")
	page, perPage := pageParams(p, 50, 200)
	if err := p.err(); err != nil {
		return err
	}
	all, err := s.opTokens(c)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, pageOf(all, page, perPage))
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
func (s *Server) opAudit(c *gin.Context, page, perPage int) ([]accounts.Entry, int64, error) {
	sc := scopeOf(c)
	f := accounts.AuditFilter{OperatorID: sc.OperatorID, Limit: int64(perPage), Skip: int64((page - 1) * perPage)}
	if !sc.Platform && sc.OperatorID == "" {
		return []accounts.Entry{}, 0, nil
	}
	if sc.Platform {
		f.OperatorID = ""
	}
	return s.auth.Audit(c.Request.Context(), f)
}

func (s *Server) listOpAudit(c *gin.Context) error {
	p := newParams(c)
	p.only("page", "per_page")
	page, perPage := pageParams(p, 50, 200)
	if err := p.err(); err != nil {
		return err
	}
	entries, total, err := s.opAudit(c, page, perPage)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, list[accounts.Entry]{Items: entries, Total: int(total), Page: page, PerPage: perPage})
	return nil
}
