package accounts

import (
	"context"
	"errors"
	"fuju/internal/tenancy"
	"testing"
)

// What each administrator may make and manage, decided in one place for both
// consoles.
func TestAccountRules(t *testing.T) {
	ctx := context.Background()
	s := newService(t)
	platform := Manager{ID: "u-city", Role: PlatformAdmin, Scope: tenancy.PlatformScope}
	opA := Manager{ID: "u-admin-a", Role: OperatorAdmin, Scope: tenancy.OperatorScope("op-a")}
	suspended := opA
	suspended.Scope.Suspended = true
	staff := func(name, phone, op string) NewUser {
		return NewUser{Name: name, Phone: phone, Role: Staff, OperatorID: op, StationIDs: []string{"north"}}
	}
	for _, tc := range []struct {
		name  string
		by    Manager
		n     NewUser
		field string
		err   error
	}{
		{"operator admin makes an operator admin", opA, NewUser{Name: "x", Phone: "13800000011", Role: OperatorAdmin, OperatorID: "op-a"}, "role", nil},
		{"operator admin makes a platform admin", opA, NewUser{Name: "x", Phone: "13800000012", Role: PlatformAdmin}, "role", nil},
		{"operator admin makes staff of another operator", opA, staff("x", "13800000013", "op-b"), "operator_id", nil},
		{"platform makes a renter", platform, NewUser{Name: "x", Phone: "13800000014", Role: Renter}, "role", nil},
		{"suspended operator admin makes staff", suspended, staff("x", "13800000015", "op-a"), "", tenancy.ErrSuspended},
	} {
		if _, _, err := s.CreateAccount(ctx, tc.by, tc.n); tc.field != "" && fieldOf(err, tc.field) == "" || tc.err != nil && !errors.Is(err, tc.err) {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
	li, pw, err := s.CreateAccount(ctx, opA, staff("小李", "13800000016", "op-a"))
	if err != nil || pw == "" || !li.MustChangePassword || li.OperatorID != "op-a" {
		t.Fatalf("operator admin makes staff: %+v %q %v", li, pw, err)
	}
	other, _, err := s.CreateAccount(ctx, platform, staff("小王", "13800000017", "op-b"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.ManagedAccount(ctx, opA, other.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("op-a's admin sees op-b's staff: %v", err)
	}
	off := Disabled
	if _, _, err := s.UpdateAccount(ctx, opA, other.ID, UserUpdate{Status: &off}); !errors.Is(err, ErrNotFound) {
		t.Errorf("op-a's admin disables op-b's staff: %v", err)
	}
	if _, _, err := s.UpdateAccount(ctx, suspended, li.ID, UserUpdate{Status: &off}); !errors.Is(err, tenancy.ErrSuspended) {
		t.Errorf("a suspended operator disables its staff: %v", err)
	}
	if _, _, err := s.UpdateAccount(ctx, platform, platform.ID, UserUpdate{Status: &off}); fieldOf(err, "status") != "self_disable" {
		t.Errorf("self-disable: %v", err)
	}
	if _, _, err := s.ResetAccountPassword(ctx, opA, opA.ID); fieldOf(err, "id") != "own_password" {
		t.Errorf("own password reset: %v", err)
	}
	before, after, err := s.UpdateAccount(ctx, opA, li.ID, UserUpdate{Status: &off})
	if err != nil || before.Status != Active || after.Status != Disabled {
		t.Errorf("op-a's admin disables its staff: %v → %v (%v)", before.Status, after.Status, err)
	}
}
