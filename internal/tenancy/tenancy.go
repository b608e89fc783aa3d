// Package tenancy says who acts and what they may see and change: the actor
// recorded in every history, and the scope that enforces DESIGN.md's
// invariant 4 (an operator's people never see or change another operator's
// data) inside every domain service, plus what a suspended operator's people
// may still do. It holds no data of its own and imports no domain.
package tenancy

import (
	"errors"
	"fmt"
	"fuju/internal/audit"
	"slices"

	"fuju/internal/valid"
)

// Scope is what a caller may see and change: the tenancy rule (DESIGN.md,
// invariant 4) enforced inside services, not only in handlers. The zero Scope
// sees nothing.
type Scope struct {
	// Platform is the city's administrator: every operator.
	Platform bool
	// OperatorID limits the caller to one operator's data.
	OperatorID string
	// StationIDs, when not nil, further limits staff to these stations of
	// the operator.
	StationIDs []string
	// Suspended says the platform suspended the operator: its people may
	// only take devices back and read (see MayChange). Filled where a
	// session or an API token is authenticated (stations.Service.Standing).
	Suspended bool
}

// ErrSuspended means the caller's operator is suspended and the change is not
// one a suspended operator may still make.
var ErrSuspended = errors.New("operator suspended")

// Changes a suspended operator's people may still make: taking devices back
// and closing the money of leases that are already out. Everything else they
// may only read.
const (
	ChangeCheckin Change = "checkin"
	ChangeSettle  Change = "settle"
	ChangeFound   Change = "found"
	ChangeRefund  Change = "refund"
	// ChangeOther is every other change.
	ChangeOther Change = ""
)

// Change names a change a service is about to make, for MayChange.
type Change string

// MayChange is the one rule of what a suspended operator's people may do:
// a change named by one of the Change… constants above (check-in, settle,
// found, refund), nothing else. Every service method that writes asks it
// with what it is about to do (ChangeOther for most); reads never ask.
// The platform is never suspended.
func (s Scope) MayChange(change Change) error {
	if !s.Suspended || s.Platform {
		return nil
	}
	switch change {
	case ChangeCheckin, ChangeSettle, ChangeFound, ChangeRefund:
		return nil
	}
	return fmt.Errorf("tenancy: operator %s is suspended: %w", s.OperatorID,
		valid.Because(ErrSuspended, "operator_suspended"))
}

// PlatformScope sees everything.
var PlatformScope = Scope{Platform: true}

// OperatorScope sees all of one operator.
func OperatorScope(operatorID string) Scope { return Scope{OperatorID: operatorID} }

// StaffScope sees one operator's listed stations.
func StaffScope(operatorID string, stationIDs []string) Scope {
	if stationIDs == nil {
		stationIDs = []string{}
	}
	return Scope{OperatorID: operatorID, StationIDs: stationIDs}
}

// Operator reports whether the scope covers the operator's data.
func (s Scope) Operator(operatorID string) bool {
	return s.Platform || s.OperatorID != "" && s.OperatorID == operatorID
}

// Manages reports whether the scope may manage (create, change) the records of
// operator op: the platform, or an operator-wide scope of op. Staff scopes,
// limited to some stations, only read.
func (s Scope) Manages(op string) bool {
	return s.Platform || op != "" && s.OperatorID == op && s.StationIDs == nil
}

// Station reports whether the scope covers station st (of operator op).
func (s Scope) Station(op, st string) bool {
	if !s.Operator(op) {
		return false
	}
	return s.Platform || s.StationIDs == nil || slices.Contains(s.StationIDs, st)
}

// Actor is who made a change, as recorded in histories.
type Actor struct {
	ID   string `json:"id" bson:"id"`
	Name string `json:"name" bson:"name"`
	Role string `json:"role" bson:"role"`
}

// System is the actor for changes made by the service itself (jobs, seeding,
// the reconciler).
var System = Actor{ID: "system", Name: "Fuju", Role: "system"}

// AuditActor is who acted, as the audit log keeps it: id and role, never the
// name.
func AuditActor(by Actor) audit.Actor { return audit.Actor{ID: by.ID, Role: by.Role} }
