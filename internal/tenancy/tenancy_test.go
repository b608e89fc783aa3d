package tenancy

import (
	"errors"
	"testing"
)

func TestScope(t *testing.T) {
	tests := []struct {
		name   string
		s      Scope
		op, st string
		opOK   bool
		stOK   bool
	}{
		{"zero sees nothing", Scope{}, "a", "s1", false, false},
		{"platform", PlatformScope, "a", "s1", true, true},
		{"operator own", OperatorScope("a"), "a", "s1", true, true},
		{"operator other", OperatorScope("a"), "b", "s1", false, false},
		{"staff own station", StaffScope("a", []string{"s1"}), "a", "s1", true, true},
		{"staff other station", StaffScope("a", []string{"s1"}), "a", "s2", true, false},
		{"staff no stations", StaffScope("a", nil), "a", "s1", true, false},
		{"staff other operator", StaffScope("a", []string{"s1"}), "b", "s1", false, false},
	}
	for _, tt := range tests {
		if got := tt.s.Operator(tt.op); got != tt.opOK {
			t.Errorf("%s: Operator = %v", tt.name, got)
		}
		if got := tt.s.Station(tt.op, tt.st); got != tt.stOK {
			t.Errorf("%s: Station = %v", tt.name, got)
		}
	}
}

// Only the platform and an operator-wide scope of the operator manage its
// records; staff limited to stations, and everyone else, only read.
func TestManages(t *testing.T) {
	for _, tt := range []struct {
		name string
		s    Scope
		op   string
		want bool
	}{
		{"platform", PlatformScope, "a", true},
		{"operator own", OperatorScope("a"), "a", true},
		{"operator other", OperatorScope("a"), "b", false},
		{"operator, no operator named", OperatorScope("a"), "", false},
		{"staff of the operator", StaffScope("a", []string{"s1"}), "a", false},
		{"zero", Scope{}, "", false},
	} {
		if got := tt.s.Manages(tt.op); got != tt.want {
			t.Errorf("%s: Manages(%q) = %v", tt.name, tt.op, got)
		}
	}
}

// A suspended operator's people may take devices back and settle them, and
// nothing else; the platform is never suspended.
func TestMayChange(t *testing.T) {
	sus := Scope{OperatorID: "a", Suspended: true}
	for _, c := range []Change{ChangeCheckin, ChangeSettle, ChangeFound, ChangeRefund} {
		if err := sus.MayChange(c); err != nil {
			t.Errorf("suspended %q: %v", c, err)
		}
	}
	if err := sus.MayChange(ChangeOther); !errors.Is(err, ErrSuspended) {
		t.Errorf("suspended, other change: %v", err)
	}
	if err := OperatorScope("a").MayChange(ChangeOther); err != nil {
		t.Errorf("in good standing: %v", err)
	}
	if err := (Scope{Platform: true, Suspended: true}).MayChange(ChangeOther); err != nil {
		t.Errorf("platform: %v", err)
	}
}
