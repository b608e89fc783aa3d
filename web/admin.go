package web

// The platform admin's actions, shared by the admin API (admin_api.go) and the
// admin console pages (admin_pages.go, admin_policy.go): each checks its input
// completely before the first write, writes through the domain services, and
// records an audit entry.

import (
	"fmt"
	"strings"

	"github.com/gin-gonic/gin"

	"fuju/accounts"
	"fuju/internal/l10n"
	"fuju/internal/valid"
	"fuju/stations"
)

// operatorInput is a new operator. ID is optional: a readable slug such as
// "jz-kangfu" when the city wants one, otherwise one is made.
type operatorInput struct {
	ID    string
	Name  l10n.Text
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
	return s.stations.CreateOperator(c.Request.Context(), o, actorOf(c))
}

// operatorPatch changes an operator; nil fields stay.
type operatorPatch struct {
	Name   *l10n.Text
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
		if cur, err = s.stations.UpdateOperator(ctx, renamed, actorOf(c)); err != nil {
			return stations.Operator{}, err
		}
	}
	if next.Status != old.Status {
		reason := ""
		if p.Reason != nil {
			reason = *p.Reason
		}
		if cur, err = s.stations.SetOperatorStatus(ctx, id, next.Status, reason, actorOf(c)); err != nil {
			return stations.Operator{}, err
		}
	}
	return cur, nil
}

// userInput is an account the platform admin creates. An empty Password
// makes a one-time password.
type userInput struct {
	Role       accounts.Role
	Name       string
	Phone      string
	Email      string
	Password   string
	OperatorID string
	StationIDs []string
}

// createUser makes an account for the caller, in either console, and returns it with the
// one-time password when one was generated (shown once). What the caller's
// role may grant is auth's rule (accounts.CreateAccount).
func (s *Server) createUser(c *gin.Context, in userInput) (accounts.User, string, error) {
	return s.auth.CreateAccount(c.Request.Context(), managerOf(c), accounts.NewUser{Name: in.Name, Phone: in.Phone,
		Email: in.Email, Password: in.Password, Role: in.Role, OperatorID: in.OperatorID, StationIDs: in.StationIDs})
}

// updateUser changes an account the caller manages, in either console;
// disabling ends its sessions at once.
func (s *Server) updateUser(c *gin.Context, id string, up accounts.UserUpdate) (accounts.User, error) {
	_, after, err := s.auth.UpdateAccount(c.Request.Context(), managerOf(c), id, up)
	return after, err
}

// resetPassword gives an account the caller manages a new one-time password
// and ends its sessions, in either console.
func (s *Server) resetPassword(c *gin.Context, id string) (accounts.User, string, error) {
	u, pw, err := s.auth.ResetAccountPassword(c.Request.Context(), managerOf(c), id)
	if err != nil {
		return accounts.User{}, "", err
	}
	u.MustChangePassword = true
	return u, pw, nil
}
