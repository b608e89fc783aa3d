package stations

import (
	"context"
	"errors"
	"fmt"
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
	// session or an API token is authenticated (Service.Standing).
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
	return fmt.Errorf("stations: operator %s is suspended: %w", s.OperatorID,
		valid.Because(ErrSuspended, "operator_suspended"))
}

// Standing returns sc with the standing of its operator filled in: whether
// the platform suspended it. It reads the operator by _id, not the read
// model, so a suspension binds every instance at its next request.
func (s *Service) Standing(ctx context.Context, sc Scope) Scope {
	sc.Suspended = false
	if sc.Platform || sc.OperatorID == "" {
		return sc
	}
	o, err := s.store.operator(ctx, sc.OperatorID)
	switch {
	case err == nil:
		sc.Suspended = o.Status == OperatorSuspended
	case !errors.Is(err, ErrNotFound):
		// The database did not answer: the read model's answer is the
		// best there is, and the write that follows will likely fail too.
		s.logger.Warn("read operator standing", "operator", sc.OperatorID, "err", err)
		sc.Suspended = s.index.OperatorSuspended(sc.OperatorID)
	}
	return sc
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

// Station reports whether the scope covers station st (of operator op).
func (s Scope) Station(op, st string) bool {
	if !s.Operator(op) {
		return false
	}
	return s.Platform || s.StationIDs == nil || slices.Contains(s.StationIDs, st)
}
