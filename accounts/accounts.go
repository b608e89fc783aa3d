package accounts

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"fuju/internal/tenancy"
	"fuju/internal/valid"
)

// Accounts made and managed by administrators. Both consoles (the platform
// admin's and an operator admin's) call these, so what a role may grant, whose
// accounts it manages and what a suspended operator may no longer do are
// decided here once.

// Manager is an administrator acting on accounts and tokens: who they are,
// the role they act with and the scope that role gives them (its Suspended
// filled where the session was authenticated).
type Manager struct {
	ID    string
	Role  Role
	Scope tenancy.Scope
}

// Grantable returns the roles an administrator of role by may give a new
// account: the platform admin every role but renter (renters sign up
// themselves), an operator admin only staff of its own operator.
func Grantable(by Role) []Role {
	switch by {
	case PlatformAdmin:
		return []Role{Staff, OperatorAdmin, PlatformAdmin}
	case OperatorAdmin:
		return []Role{Staff}
	}
	return nil
}

// Grants reports whether an administrator of role by may create, change and
// reset accounts of role r.
func Grants(by, r Role) bool { return slices.Contains(Grantable(by), r) }

// CreateAccount makes the account n for manager m. An empty password makes a
// one-time password, returned once (never stored in clear or logged); every
// account an administrator makes starts with "must change password", so the
// person using it is the only one who knows its password.
func (s *Service) CreateAccount(ctx context.Context, m Manager, n NewUser) (User, string, error) {
	if err := m.Scope.MayChange(tenancy.ChangeOther); err != nil {
		return User{}, "", err
	}
	n.OperatorID = strings.TrimSpace(n.OperatorID)
	if !Grants(m.Role, n.Role) {
		names := make([]string, 0, 3)
		for _, r := range Grantable(m.Role) {
			names = append(names, string(r))
		}
		return User{}, "", fmt.Errorf("auth: new user: %w", valid.Field("role", "oneof", "must be one of: "+strings.Join(names, ", ")))
	}
	if n.OperatorID != "" && !m.Scope.Operator(n.OperatorID) {
		return User{}, "", fmt.Errorf("auth: new user: %w", valid.Field("operator_id", "not_found", "is not an operator"))
	}
	if n.OperatorID != "" && s.OperatorExists != nil {
		if err := s.OperatorExists(ctx, n.OperatorID); err != nil {
			return User{}, "", fmt.Errorf("auth: new user: %w", valid.Field("operator_id", "not_found", "is not an operator"))
		}
	}
	oneTime := ""
	if n.Password == "" {
		oneTime = OneTimePassword()
		n.Password = oneTime
	}
	n.MustChangePassword = true
	u, err := s.CreateUser(ctx, n)
	if err != nil {
		return User{}, "", err
	}
	s.auditAccount(ctx, managerActor(m), accountAction(m, "create"), nil, u, "password")
	return u, oneTime, nil
}

// ManagedAccount returns account id when manager m manages it: the platform
// admin every account, an operator admin its own operator's staff. Any other
// account is ErrNotFound, so its existence is not revealed.
func (s *Service) ManagedAccount(ctx context.Context, m Manager, id string) (User, error) {
	u, err := s.User(ctx, id)
	if err != nil {
		return User{}, err
	}
	if !m.Scope.Platform && (!Grants(m.Role, u.Role) || !m.Scope.Operator(u.OperatorID)) {
		return User{}, fmt.Errorf("auth: user %s: %w", id, ErrNotFound)
	}
	return u, nil
}

// UpdateAccount changes an account manager m manages and returns it as it
// was and as it is. Nobody disables their own account (the city is never
// locked out of its console by a slip); the platform's disabling wins over
// an operator's enabling (see UpdateUser).
func (s *Service) UpdateAccount(ctx context.Context, m Manager, id string, up UserUpdate) (before, after User, err error) {
	if err := m.Scope.MayChange(tenancy.ChangeOther); err != nil {
		return User{}, User{}, err
	}
	if up.Status != nil && *up.Status != Active && id == m.ID {
		return User{}, User{}, fmt.Errorf("auth: %w", valid.Field("status", "self_disable", "you cannot disable your own account"))
	}
	before, err = s.ManagedAccount(ctx, m, id)
	if err != nil {
		return User{}, User{}, err
	}
	operatorID := ""
	if !m.Scope.Platform {
		operatorID = before.OperatorID
	}
	after, err = s.UpdateUser(ctx, operatorID, id, up)
	if err != nil {
		return before, after, err
	}
	verb := "update"
	if before.Status != after.Status && after.Status == Disabled {
		verb = "disable"
	} else if before.Status != after.Status {
		verb = "enable"
	}
	s.auditAccount(ctx, managerActor(m), accountAction(m, verb), &before, after)
	return before, after, nil
}

// ResetAccountPassword gives an account manager m manages a new one-time
// password, returned once, and ends its sessions. Administrators change
// their own password on their account page, where the current one is asked.
func (s *Service) ResetAccountPassword(ctx context.Context, m Manager, id string) (User, string, error) {
	if err := m.Scope.MayChange(tenancy.ChangeOther); err != nil {
		return User{}, "", err
	}
	if id == m.ID {
		return User{}, "", fmt.Errorf("auth: %w", valid.Field("id", "own_password", "change your own password on /account"))
	}
	u, err := s.ManagedAccount(ctx, m, id)
	if err != nil {
		return User{}, "", err
	}
	pw, err := s.ResetPassword(ctx, id)
	if err != nil {
		return User{}, "", err
	}
	after := u
	after.MustChangePassword = true
	s.auditAccount(ctx, managerActor(m), accountAction(m, "reset_password"), &u, after, "password")
	return u, pw, nil
}
