package accounts

import (
	"context"
	"fuju/internal/tenancy"

	"fuju/internal/audit"
)

// Account operations write their audit entries here, into the log this
// service keeps, after the change succeeded (audit.Write: a failure is
// logged, the change stands). An account's name, phone and e-mail are
// personal: an entry says they changed, never to what; a password only that
// it was set.

// accountPersonal are the fields of a User recorded without their values.
var accountPersonal = []string{"name", "phone", "email"}

// auditAccount records action on account after (before is nil when it was
// made) by actor by.
func (s *Service) auditAccount(ctx context.Context, by audit.Actor, action string, before *User, after User, also ...string) {
	var b any
	if before != nil {
		b = *before
	}
	changes := append(audit.Diff(b, after, accountPersonal...), audit.Fields(also...)...)
	audit.Write(ctx, s, s.logger, audit.Entry{Actor: by, OperatorID: after.OperatorID, Action: action,
		Target: "user/" + after.ID, Changes: changes})
}

// accountAction names an administrator's action on an account: an operator
// admin's (on its staff) are "staff.…", the platform admin's "user.…".
func accountAction(m Manager, verb string) string {
	if m.Role == OperatorAdmin {
		return "staff." + verb
	}
	return "user." + verb
}

func managerActor(m Manager) audit.Actor { return audit.Actor{ID: m.ID, Role: string(m.Role)} }

func selfActor(u User) audit.Actor { return audit.Actor{ID: u.ID, Role: string(u.Role)} }

// SignUp makes the account a person asks for on the sign-up page or API, and
// records it, by that person, in the audit log.
func (s *Service) SignUp(ctx context.Context, n NewUser) (User, error) {
	u, err := s.CreateUser(ctx, n)
	if err != nil {
		return User{}, err
	}
	s.auditAccount(ctx, selfActor(u), "account.signup", nil, u, "password")
	return u, nil
}

// auditToken records action on token t.
func (s *Service) auditToken(ctx context.Context, by tenancy.Actor, action string, before *Token, after Token) {
	var b any
	if before != nil {
		b = *before
	}
	audit.Write(ctx, s, s.logger, audit.Entry{Actor: tenancy.AuditActor(by), OperatorID: after.OperatorID, Action: action,
		Target: "token/" + after.ID, Changes: audit.Diff(b, after, "created_by.name")})
}
