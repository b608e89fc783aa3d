package web

// The platform admin's actions, shared by the admin API (admin_api.go) and the
// admin console pages (admin_pages.go, admin_policy.go): each checks its input
// completely before the first write, writes through the domain services, and
// records an audit entry.

import (
	"errors"
	"fmt"
	"strings"

	"github.com/gin-gonic/gin"

	"fuju/internal/valid"
	"fuju/stations"
	"fuju/web/auth"
)

// adminRoles are the roles the platform admin hands out. Renters make their
// own accounts (sign-up) or get one at a station desk.
var adminRoles = []auth.Role{auth.Staff, auth.OperatorAdmin, auth.PlatformAdmin}

// operatorInput is a new operator. ID is optional: a readable slug such as
// "jz-kangfu" when the city wants one, otherwise one is made.
type operatorInput struct {
	ID    string
	Name  stations.Text
	Phone string
}

func (s *Server) createOperator(c *gin.Context, in operatorInput) (stations.Operator, error) {
	in.ID = strings.TrimSpace(in.ID)
	o := stations.Operator{ID: in.ID, Name: trimText(in.Name), Phone: strings.TrimSpace(in.Phone), Status: stations.OperatorActive}
	e := &valid.Error{}
	if o.ID != "" && !stations.ValidID(o.ID) {
		e.Add("id", "slug", "must be 2-63 lowercase letters, digits or dashes, starting with a letter or digit")
	}
	if err := o.Validate(); err != nil {
		f, _ := valid.Fields(err)
		for k, p := range f {
			e.Put(k, p)
		}
	}
	if err := e.Err(); err != nil {
		return stations.Operator{}, fmt.Errorf("web: new operator: %w", err)
	}
	o, err := s.stations.CreateOperator(c.Request.Context(), o)
	if err != nil {
		return stations.Operator{}, err
	}
	s.audit(c, o.ID, "operator.create", "operator/"+o.ID, nil, o)
	return o, nil
}

// operatorPatch changes an operator; nil fields stay.
type operatorPatch struct {
	Name   *stations.Text
	Phone  *string
	Status *string
	// Reason is why the operator is suspended (required to suspend).
	Reason *string
}

// updateOperator renames an operator and/or suspends or resumes it. Every
// field is checked before anything is written, so a bad status does not
// leave a half-applied rename.
func (s *Server) updateOperator(c *gin.Context, id string, p operatorPatch) (stations.Operator, error) {
	ctx := c.Request.Context()
	old, err := s.stations.Operator(ctx, id)
	if err != nil {
		return stations.Operator{}, err
	}
	next := old
	if p.Name != nil {
		next.Name = trimText(*p.Name)
	}
	if p.Phone != nil {
		next.Phone = strings.TrimSpace(*p.Phone)
	}
	if p.Status != nil {
		next.Status = *p.Status
	}
	if err := next.Validate(); err != nil {
		return stations.Operator{}, fmt.Errorf("web: operator %s: %w", id, err)
	}
	if next.Status == stations.OperatorSuspended && old.Status != stations.OperatorSuspended && (p.Reason == nil || strings.TrimSpace(*p.Reason) == "") {
		return stations.Operator{}, fmt.Errorf("web: operator %s: %w", id, valid.Field("reason", "required", "say why the operator is suspended; its people will read it"))
	}
	cur := old
	if next.Name != old.Name || next.Phone != old.Phone {
		renamed := next
		renamed.Status = old.Status
		if cur, err = s.stations.UpdateOperator(ctx, renamed); err != nil {
			return stations.Operator{}, err
		}
		s.audit(c, id, "operator.update", "operator/"+id, old, cur)
	}
	if next.Status != old.Status {
		before := cur
		reason := ""
		if p.Reason != nil {
			reason = *p.Reason
		}
		if cur, err = s.stations.SetOperatorStatus(ctx, id, next.Status, reason); err != nil {
			return stations.Operator{}, err
		}
		action := "operator.resume"
		if cur.Status == stations.OperatorSuspended {
			action = "operator.suspend"
		}
		s.audit(c, id, action, "operator/"+id, before, cur)
	}
	return cur, nil
}

func trimText(t stations.Text) stations.Text {
	return stations.Text{Zh: strings.TrimSpace(t.Zh), En: strings.TrimSpace(t.En)}
}

// userInput is an account the platform admin creates. An empty Password
// makes a one-time password.
type userInput struct {
	Role       auth.Role
	Name       string
	Phone      string
	Email      string
	Password   string
	OperatorID string
	StationIDs []string
}

// createUser makes an account and returns it with the one-time password when
// one was generated (shown once, never stored in clear or logged). Accounts
// made by an administrator always start with "must change password": the
// person using the account should be the only one who knows its password.
func (s *Server) createUser(c *gin.Context, in userInput) (auth.User, string, error) {
	ctx := c.Request.Context()
	e := &valid.Error{}
	known := false
	for _, r := range adminRoles {
		known = known || in.Role == r
	}
	if !known {
		e.Add("role", "oneof", "must be one of: staff, operator_admin, platform_admin")
	}
	in.OperatorID = strings.TrimSpace(in.OperatorID)
	if in.OperatorID != "" && (in.Role == auth.Staff || in.Role == auth.OperatorAdmin) {
		if _, err := s.stations.Operator(ctx, in.OperatorID); errors.Is(err, stations.ErrNotFound) {
			e.Add("operator_id", "not_found", "is not an operator")
		} else if err != nil {
			return auth.User{}, "", err
		}
	}
	if err := e.Err(); err != nil {
		return auth.User{}, "", fmt.Errorf("web: new user: %w", err)
	}
	oneTime := ""
	if in.Password == "" {
		oneTime = auth.OneTimePassword()
		in.Password = oneTime
	}
	u, err := s.auth.CreateUser(ctx, auth.NewUser{Name: in.Name, Phone: in.Phone, Email: in.Email, Password: in.Password,
		Role: in.Role, OperatorID: in.OperatorID, StationIDs: in.StationIDs, MustChangePassword: true})
	if err != nil {
		return auth.User{}, "", err
	}
	type withPassword struct {
		auth.User
		Password string `json:"password"`
	}
	s.audit(c, u.OperatorID, "user.create", "user/"+u.ID, nil, withPassword{User: u, Password: "set"}, "password")
	return u, oneTime, nil
}

// userPatch changes an account; nil fields stay.
type userPatch struct {
	Name       *string
	Status     *string
	StationIDs []string
}

// updateUser changes an account. Platform admins cannot disable themselves,
// so the city is never locked out of its own console by a slip.
func (s *Server) updateUser(c *gin.Context, id string, p userPatch) (auth.User, error) {
	ctx := c.Request.Context()
	me, _ := userOf(c)
	if p.Status != nil && *p.Status != auth.Active && id == me.ID {
		return auth.User{}, fmt.Errorf("web: %w", valid.Field("status", "self_disable", "you cannot disable your own account"))
	}
	before, err := s.auth.User(ctx, id)
	if err != nil {
		return auth.User{}, err
	}
	after, err := s.auth.UpdateUser(ctx, "", id, auth.UserUpdate{Name: p.Name, Status: p.Status, StationIDs: p.StationIDs})
	if err != nil {
		return auth.User{}, err
	}
	action := "user.update"
	switch {
	case before.Status != after.Status && after.Status == auth.Disabled:
		action = "user.disable"
	case before.Status != after.Status:
		action = "user.enable"
	}
	s.audit(c, after.OperatorID, action, "user/"+id, before, after)
	return after, nil
}

// resetPassword gives an account a new one-time password and ends its
// sessions. Admins change their own password on /account instead, where the
// current one is asked for.
func (s *Server) resetPassword(c *gin.Context, id string) (auth.User, string, error) {
	ctx := c.Request.Context()
	if me, _ := userOf(c); me.ID == id {
		return auth.User{}, "", fmt.Errorf("web: %w", valid.Field("id", "own_password", "change your own password on /account"))
	}
	u, err := s.auth.User(ctx, id)
	if err != nil {
		return auth.User{}, "", err
	}
	pw, err := s.auth.ResetPassword(ctx, id)
	if err != nil {
		return auth.User{}, "", err
	}
	type pwState struct {
		Password           string `json:"password"`
		MustChangePassword bool   `json:"must_change_password"`
	}
	s.audit(c, u.OperatorID, "user.reset_password", "user/"+id,
		pwState{"old", u.MustChangePassword}, pwState{"new", true}, "password")
	u.MustChangePassword = true
	return u, pw, nil
}
