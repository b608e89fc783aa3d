// Package accounts is Fuju's identity: users and their roles, passwords, server-side
// sessions, operators' API tokens, what each role may grant, linking an account to
// a desk renter, and the audit log. Like the other domain packages it owns its
// types, its Mongo store and its rules, and never sees a Gin context; the web
// layer authenticates requests through it.
//
// Lookups on every request are by _id (DESIGN.md): a session's _id is the
// SHA-256 of its cookie value, an API token's _id the SHA-256 of the token, and
// a login name (phone or e-mail) is claimed in the logins collection under
// _id "phone:…" or "email:…".
package accounts

import (
	"errors"
	"regexp"
	"slices"
	"strings"
	"time"

	"fuju/internal/input"
	"fuju/internal/tenancy"
)

// Errors returned by this package.
var (
	ErrNotFound = errors.New("not found")
	ErrConflict = errors.New("conflict")
	// ErrBadCredentials is returned for an unknown login, a wrong password
	// and a disabled account alike, so a caller cannot tell them apart.
	ErrBadCredentials = errors.New("wrong login or password")
	// ErrSessionEnded means the session expired, was ended, or its user was
	// disabled.
	ErrSessionEnded = errors.New("session ended")
	// ErrTokenExpired means an API token was right but has expired.
	ErrTokenExpired = errors.New("token expired")
)

// Role is what a user may do.
type Role string

// Roles.
const (
	Renter        Role = "renter"
	Staff         Role = "staff"
	OperatorAdmin Role = "operator_admin"
	PlatformAdmin Role = "platform_admin"
)

// Roles lists every role.
var Roles = []Role{Renter, Staff, OperatorAdmin, PlatformAdmin}

// Valid reports whether r is a known role.
func (r Role) Valid() bool { return slices.Contains(Roles, r) }

// User statuses.
const (
	Active   = "active"
	Disabled = "disabled"
	// pending marks a user whose login names are not all claimed yet; it
	// cannot log in and is invisible to lists.
	pending = "pending"
)

// User is someone who can log in.
type User struct {
	ID         string   `json:"id"`
	Name       string   `json:"name"`
	Phone      string   `json:"phone,omitempty"`
	Email      string   `json:"email,omitempty"`
	Role       Role     `json:"role"`
	OperatorID string   `json:"operator_id,omitempty"`
	StationIDs []string `json:"station_ids,omitempty"`
	Status     string   `json:"status"`
	// DisabledByPlatform says the platform admin disabled the account; only
	// the platform admin can enable it again.
	DisabledByPlatform bool `json:"disabled_by_platform,omitempty"`
	// MustChangePassword is set on accounts created with a one-time
	// password; the pages send such a user to change it first.
	MustChangePassword bool      `json:"must_change_password"`
	CreatedAt          time.Time `json:"created_at"`
	UpdatedAt          time.Time `json:"updated_at"`
}

// Scope is what the user may see and change (tenancy, DESIGN.md invariant 4).
func (u User) Scope() tenancy.Scope {
	switch u.Role {
	case PlatformAdmin:
		return tenancy.PlatformScope
	case OperatorAdmin:
		return tenancy.OperatorScope(u.OperatorID)
	case Staff:
		return tenancy.StaffScope(u.OperatorID, u.StationIDs)
	}
	return tenancy.Scope{}
}

// Actor is how the user appears in histories and the audit log.
func (u User) Actor() tenancy.Actor {
	return tenancy.Actor{ID: u.ID, Name: u.Name, Role: string(u.Role)}
}

// Login returns the name the user logs in with.
func (u User) Login() string {
	if u.Phone != "" {
		return u.Phone
	}
	return u.Email
}

var (
	phoneRe = regexp.MustCompile(`^1[3-9]\d{9}$`)
	emailRe = regexp.MustCompile(`^[^\s@]{1,64}@[^\s@]+\.[^\s@]{2,}$`)
)

// NormalizePhone returns a mainland mobile number as 11 digits, accepting
// spaces, dashes and a +86 or 0086 prefix, or "" when it is not one.
func NormalizePhone(s string) string {
	s = input.Normalize(input.Phone, s)
	if !phoneRe.MatchString(s) {
		return ""
	}
	return s
}

// NormalizeEmail returns a lower-cased e-mail address, or "" when s is not one.
func NormalizeEmail(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	if len(s) > 254 || !emailRe.MatchString(s) {
		return ""
	}
	return s
}

// LoginKey is the _id of the claim on a login name: "phone:…" or "email:…";
// "" when login is neither.
func LoginKey(login string) string {
	if strings.Contains(login, "@") {
		if e := NormalizeEmail(login); e != "" {
			return "email:" + e
		}
		return ""
	}
	if p := NormalizePhone(login); p != "" {
		return "phone:" + p
	}
	return ""
}
