package stations

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"fuju/internal/tenancy"
	"fuju/internal/valid"
)

// The station desk's care of units: cleaning, repair, retirement and
// transfers between an operator's stations. Each is one Move, so each is
// checked against the unit's true state and recorded in its history.

// UnitInScope returns the unit with tag if scope covers its operator. Staff may
// look up any unit of their operator (a renter may return a device to any
// station of it); acting on a unit where it stands needs its station in scope.
// Another operator's unit is not found, never forbidden, to hide it exists.
func (s *Service) UnitInScope(ctx context.Context, scope tenancy.Scope, tag string) (Unit, error) {
	tag = NormalizeTag(tag)
	if !ValidTag(tag) {
		return Unit{}, fmt.Errorf("stations: %w", valid.Field("unit", "tag", "must look like JZ-WC-0001"))
	}
	u, err := s.Unit(ctx, tag)
	if err != nil {
		return Unit{}, err
	}
	if !scope.Operator(u.OperatorID) {
		return Unit{}, fmt.Errorf("stations: unit %s: %w", tag, ErrNotFound)
	}
	return u, nil
}

// atStation checks that the unit stands at a station the scope covers.
func atStation(scope tenancy.Scope, u Unit) error {
	if !scope.Station(u.OperatorID, u.StationID) {
		return fmt.Errorf("stations: unit %s is at station %s, which is not yours: %w", u.Tag, u.StationID,
			valid.Because(ErrForbidden, "unit_not_here", "tag", u.Tag))
	}
	return nil
}

// ErrForbidden means the caller may see the record but not act on it (a unit
// at another station of the same operator).
var ErrForbidden = fmt.Errorf("not allowed")

// CleaningMethods are how a device may be cleaned.
var CleaningMethods = []string{"wipe_disinfect", "steam", "uv", "ozone", "wash"}

// Checklists says which checks cleaning a unit of a product takes: the
// parts a device of its category has. The catalog, which knows each
// product's category, answers (cmd wires it with UseChecklists).
type Checklists interface {
	CleaningChecklistOf(productID string) []string
}

// DefaultChecklist is asked before UseChecklists wired the catalog.
var DefaultChecklist = []string{"frame", "moving_parts", "labels"}

// UseChecklists sets where the cleaning checklists come from.
func (s *Service) UseChecklists(c Checklists) { s.checklists = c }

// CleaningChecklist returns the checks a cleaner confirms for a unit of
// product before it is lent again.
func (s *Service) CleaningChecklist(productID string) []string {
	if s.checklists == nil {
		return DefaultChecklist
	}
	return s.checklists.CleaningChecklistOf(productID)
}

// CleaningRecord is what a cleaner records when a device is ready to lend
// again.
type CleaningRecord struct {
	Method    string   `json:"method"`
	Checklist []string `json:"checklist"`
	Notes     string   `json:"notes"`
}

// Clean marks a unit in cleaning as cleaned: it becomes available. Every item
// of the checklist of the unit's product (CleaningChecklist) must be
// confirmed.
func (s *Service) Clean(ctx context.Context, scope tenancy.Scope, tag string, c CleaningRecord, by tenancy.Actor) (Unit, error) {
	if err := scope.MayChange(tenancy.ChangeOther); err != nil {
		return Unit{}, err
	}
	u, err := s.UnitInScope(ctx, scope, tag)
	if err != nil {
		return Unit{}, err
	}
	e := &valid.Error{}
	if !slices.Contains(CleaningMethods, c.Method) {
		e.Add("method", "oneof", "must be one of: "+strings.Join(CleaningMethods, ", "))
	}
	e.List("checklist", len(c.Checklist), valid.MaxChecklist)
	checks := s.CleaningChecklist(u.ProductID)
	for _, item := range checks {
		if !slices.Contains(c.Checklist, item) {
			e.Add("checklist", "incomplete", "confirm every check: "+strings.Join(checks, ", "))
			break
		}
	}
	for _, item := range c.Checklist {
		if !slices.Contains(checks, item) {
			e.Add("checklist", "unknown", "is not a check of this device: "+item)
			break
		}
	}
	e.Text("notes", c.Notes, valid.MaxNote)
	if err := e.Err(); err != nil {
		return Unit{}, fmt.Errorf("stations: cleaning: %w", err)
	}
	cleaned, err := s.deskMoveFrom(ctx, scope, u, Move{To: Available, Kind: "cleaned", By: by, Why: c.Notes,
		Details: map[string]string{"method": c.Method, "checklist": strings.Join(c.Checklist, ",")}}, Cleaning)
	return s.auditedUnit(ctx, by, "unit.clean", &u, cleaned, err)
}

// SendToRepair takes a unit out of service for repair, with what is wrong.
func (s *Service) SendToRepair(ctx context.Context, scope tenancy.Scope, tag, issue string, by tenancy.Actor) (Unit, error) {
	if err := scope.MayChange(tenancy.ChangeOther); err != nil {
		return Unit{}, err
	}
	issue = strings.TrimSpace(issue)
	if n := utf8.RuneCountInString(issue); n == 0 || n > valid.MaxNote {
		return Unit{}, fmt.Errorf("stations: repair: %w", valid.Field("issue", "length", fmt.Sprintf("say what is wrong (at most %d characters)", valid.MaxNote), "min", 1, "max", valid.MaxNote))
	}
	before, _ := s.UnitInScope(ctx, scope, tag)
	sent, err := s.deskMove(ctx, scope, tag, Move{To: Repair, Kind: "repair", By: by, Why: issue, Condition: &issue}, "")
	return s.auditedUnit(ctx, by, "unit.repair", &before, sent, err)
}

// Repaired records a finished repair and its cost; the unit goes to cleaning,
// never straight back to lending.
func (s *Service) Repaired(ctx context.Context, scope tenancy.Scope, tag, notes string, costFen int64, by tenancy.Actor) (Unit, error) {
	if err := scope.MayChange(tenancy.ChangeOther); err != nil {
		return Unit{}, err
	}
	e := &valid.Error{}
	if costFen < 0 || costFen > 100_000_000 {
		e.Add("cost_fen", "amount_max", "must be between 0 and 100000000", "max_fen", 100_000_000)
	}
	e.Text("notes", notes, valid.MaxNote)
	if err := e.Err(); err != nil {
		return Unit{}, fmt.Errorf("stations: repair: %w", err)
	}
	cleared := ""
	before, _ := s.UnitInScope(ctx, scope, tag)
	fixed, err := s.deskMove(ctx, scope, tag, Move{To: Cleaning, Kind: "repaired", By: by, Why: notes, Condition: &cleared,
		Details: map[string]string{"cost_fen": strconv.FormatInt(costFen, 10)}}, Repair)
	return s.auditedUnit(ctx, by, "unit.repaired", &before, fixed, err)
}

// RetireUnit takes a unit out of service for good, with the reason. A lost
// unit retired is written off (its history says so).
func (s *Service) RetireUnit(ctx context.Context, scope tenancy.Scope, tag, reason string, by tenancy.Actor) (Unit, error) {
	if err := scope.MayChange(tenancy.ChangeOther); err != nil {
		return Unit{}, err
	}
	reason = strings.TrimSpace(reason)
	if err := checkRetireReason(reason); err != nil {
		return Unit{}, err
	}
	u, err := s.UnitInScope(ctx, scope, tag)
	if err != nil {
		return Unit{}, err
	}
	kind := "retired"
	if u.State == Lost {
		kind = "written_off"
	}
	retired, err := s.deskMoveFrom(ctx, scope, u, Move{To: Retired, Kind: kind, By: by, Why: reason}, "")
	return s.auditedUnit(ctx, by, "unit.retire", &u, retired, err)
}

// Transfer sends an available unit to another active station of the same
// operator; it is in transit until received there.
func (s *Service) Transfer(ctx context.Context, scope tenancy.Scope, tag, to, reason string, by tenancy.Actor) (Unit, error) {
	if err := scope.MayChange(tenancy.ChangeOther); err != nil {
		return Unit{}, err
	}
	if err := (&valid.Error{}).Text("reason", reason, valid.MaxNote).Err(); err != nil {
		return Unit{}, fmt.Errorf("stations: transfer: %w", err)
	}
	u, err := s.UnitInScope(ctx, scope, tag)
	if err != nil {
		return Unit{}, err
	}
	dest, err := s.store.station(ctx, to)
	if err != nil || dest.OperatorID != u.OperatorID || !dest.Active {
		return Unit{}, fmt.Errorf("stations: transfer: %w", valid.Field("to_station", "not_found", "must be another active station of the same operator"))
	}
	if dest.ID == u.StationID {
		return Unit{}, fmt.Errorf("stations: transfer: %w", valid.Field("to_station", "same_station", "the unit is already at this station"))
	}
	sent, err := s.deskMoveFrom(ctx, scope, u, Move{To: InTransit, Kind: "transfer", By: by, Why: reason, ToStation: dest.ID}, Available)
	return s.auditedUnit(ctx, by, "unit.transfer", &u, sent, err)
}

// Receive records a transferred unit's arrival at its destination, which must
// be the receiving desk's station.
func (s *Service) Receive(ctx context.Context, scope tenancy.Scope, tag, station string, by tenancy.Actor) (Unit, error) {
	if err := scope.MayChange(tenancy.ChangeOther); err != nil {
		return Unit{}, err
	}
	u, err := s.UnitInScope(ctx, scope, tag)
	if err != nil {
		return Unit{}, err
	}
	if !scope.Station(u.OperatorID, station) {
		return Unit{}, fmt.Errorf("stations: station %s: %w", station, valid.Because(ErrForbidden, "not_your_station"))
	}
	received, err := s.MoveFrom(ctx, u, Move{To: Available, Kind: "received", By: by, StationID: station,
		Check: func(cur Unit) error {
			if cur.State != InTransit || cur.ToStation != station {
				return fmt.Errorf("stations: unit %s is not on its way to %s: %w", tag, station, valid.Because(ErrUnavailable, "unit_not_coming", "tag", tag))
			}
			return nil
		}})
	return s.auditedUnit(ctx, by, "unit.receive", &u, received, err)
}

// deskMove moves a unit standing at a station in scope; from, when set, is
// the only state the move is allowed from (cleaned only from cleaning…).
func (s *Service) deskMove(ctx context.Context, scope tenancy.Scope, tag string, m Move, from State) (Unit, error) {
	u, err := s.UnitInScope(ctx, scope, tag)
	if err != nil {
		return Unit{}, err
	}
	return s.deskMoveFrom(ctx, scope, u, m, from)
}

// deskMoveFrom is deskMove of a unit the caller has just read with
// UnitInScope: the unit is read once per desk action, and the move is
// recorded only if nothing happened to it since (MoveFrom).
func (s *Service) deskMoveFrom(ctx context.Context, scope tenancy.Scope, u Unit, m Move, from State) (Unit, error) {
	tag := u.Tag
	if err := atStation(scope, u); err != nil {
		return Unit{}, err
	}
	m.Check = func(cur Unit) error {
		if from != "" && cur.State != from {
			return fmt.Errorf("stations: unit %s is %s, not %s: %w", tag, cur.State, from,
				valid.Because(ErrUnavailable, "unit_state", "tag", tag, "state", string(cur.State)))
		}
		if !scope.Station(cur.OperatorID, cur.StationID) {
			return fmt.Errorf("stations: unit %s moved to another station: %w", tag, valid.Because(ErrUnavailable, "unit_changed", "tag", tag))
		}
		return nil
	}
	return s.MoveFrom(ctx, u, m)
}
