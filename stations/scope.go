package stations

import "slices"

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
