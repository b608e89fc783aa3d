package rentals

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"fuju/internal/audit"
	"fuju/internal/eventlog"
	"fuju/internal/ids"
	"fuju/internal/tenancy"
	"fuju/internal/valid"
)

// Waivers (docs/pricing.md, rule 12). Forgiving part of what a renter owes is
// a waiver: an amount, a reason from WaiverReasons and, for "other", a note.
// Staff may waive up to the operator's limit per lease (Settings,
// DefaultWaiverLimitFen unless the operator set another) at once; above it
// the waiver is a request an operator admin approves or rejects from the
// console's queue. An operator admin's own waiver needs no approval. Every
// waiver is a "waiver" ledger entry (reason in the note, the waiver's id as
// reference) written by a lease event that carries the waiver, and a line
// in the operator's waiver report (Waivers).
//
// A request's own log ("waiver", entity = waiver id) holds its decision:
// requested → approved | rejected; two admins deciding at once append the
// same sequence number and one gets 409. An approved request is applied to
// the lease under a pending marker naming it, so a crash after the approval
// is finished by the reconciler; if nothing is owed any more by then, the
// request lapses.

// Waiver reasons staff choose from.
var WaiverReasons = []string{"hardship", "station_closed", "device_fault", "staff_error", "goodwill", "other"}

// Waiver states.
const (
	WaiverPending  = "pending"  // above the staff limit: waits for an operator admin
	WaiverApplied  = "applied"  // in the ledger
	WaiverRejected = "rejected" // an operator admin said no
	WaiverLapsed   = "lapsed"   // approved when nothing was owed any more
)

// ApproverRole is the role (tenancy.Actor.Role) that waives any amount and
// approves waivers above the staff limit: an operator admin.
const ApproverRole = "operator_admin"

// DefaultWaiverLimitFen is what staff may waive per lease when the operator
// set no limit: ¥50.
const DefaultWaiverLimitFen = 5000

// ErrForbidden means the caller sees the record but may not do this (a
// staff member approving a waiver).
var ErrForbidden = errors.New("not allowed")

// Waiver is one amount forgiven on a lease, or a request to forgive it.
type Waiver struct {
	ID         string `json:"id" bson:"id"`
	LeaseID    string `json:"lease_id" bson:"lease_id"`
	OperatorID string `json:"operator_id" bson:"operator_id"`
	StationID  string `json:"station_id" bson:"station_id"`
	UnitTag    string `json:"unit_tag" bson:"unit_tag"`
	// AmountFen is what was asked; AppliedFen what went into the ledger
	// (less when less was owed by the time it was approved).
	AmountFen  int64  `json:"amount_fen" bson:"amount_fen"`
	AppliedFen int64  `json:"applied_fen" bson:"applied_fen"`
	Reason     string `json:"reason" bson:"reason"`
	Note       string `json:"note,omitempty" bson:"note,omitempty"`
	State      string `json:"state" bson:"state"`
	// Auto is set for a waiver within the staff limit, applied without
	// approval.
	Auto         bool          `json:"auto" bson:"auto"`
	RequestedBy  tenancy.Actor `json:"requested_by" bson:"requested_by"`
	RequestedAt  time.Time     `json:"requested_at" bson:"requested_at"`
	DecidedBy    tenancy.Actor `json:"decided_by,omitzero" bson:"decided_by,omitempty"`
	DecidedAt    time.Time     `json:"decided_at,omitzero" bson:"decided_at,omitempty"`
	DecisionNote string        `json:"decision_note,omitempty" bson:"decision_note,omitempty"`
}

// WaiverRequest is what the desk asks to forgive on a lease.
type WaiverRequest struct {
	AmountFen int64  `json:"amount_fen"`
	Reason    string `json:"reason"`
	Note      string `json:"note"`
}

// Settings are an operator's own money rules.
type Settings struct {
	OperatorID string `json:"operator_id" bson:"operator_id"`
	// WaiverLimitFen is what staff may waive on one lease without an
	// operator admin's approval.
	WaiverLimitFen int64         `json:"waiver_limit_fen" bson:"waiver_limit_fen"`
	UpdatedAt      time.Time     `json:"updated_at,omitzero" bson:"updated_at"`
	UpdatedBy      tenancy.Actor `json:"updated_by,omitzero" bson:"updated_by"`
}

// Validate checks settings.
func (st Settings) Validate() error {
	if st.WaiverLimitFen < 0 || st.WaiverLimitFen > MaxPaymentFen {
		return valid.Field("waiver_limit_fen", "amount_range", fmt.Sprintf("must be between 0 and %d fen", MaxPaymentFen),
			"min_fen", 0, "max_fen", MaxPaymentFen)
	}
	return nil
}

type waiverEvent struct {
	Kind   string        `bson:"kind"` // requested, approved, rejected, lapsed
	Waiver Waiver        `bson:"waiver"`
	By     tenancy.Actor `bson:"by"`
}

// waiverMarker names a waiver in a lease's pending marker.
const waiverMarker = "waiver:"

// mayApprove reports whether by, acting in scope, approves waivers of
// operator op: an operator admin of that operator.
func mayApprove(scope tenancy.Scope, by tenancy.Actor, op string) bool {
	return by.Role == ApproverRole && !scope.Platform && scope.StationIDs == nil && scope.OperatorID == op
}

// OperatorSettings returns operator op's settings, with the defaults when
// the operator never saved any. scope must cover the operator.
func (s *Service) OperatorSettings(ctx context.Context, scope tenancy.Scope, op string) (Settings, error) {
	if op == "" || !scope.Operator(op) {
		return Settings{}, fmt.Errorf("rentals: settings of %s: %w", op, ErrNotFound)
	}
	return s.settingsOf(ctx, op)
}

func (s *Service) settingsOf(ctx context.Context, op string) (Settings, error) {
	st, ok, err := s.reports.operatorSettings(ctx, op)
	if err != nil {
		return Settings{}, err
	}
	if !ok {
		st = Settings{OperatorID: op, WaiverLimitFen: DefaultWaiverLimitFen}
	}
	return st, nil
}

// PutSettings saves an operator's settings; only its operator admins may.
func (s *Service) PutSettings(ctx context.Context, scope tenancy.Scope, in Settings, by tenancy.Actor) (Settings, error) {
	if err := scope.MayChange(tenancy.ChangeOther); err != nil {
		return Settings{}, err
	}
	if in.OperatorID == "" || !scope.Operator(in.OperatorID) {
		return Settings{}, fmt.Errorf("rentals: settings of %s: %w", in.OperatorID, ErrNotFound)
	}
	if !mayApprove(scope, by, in.OperatorID) {
		return Settings{}, fmt.Errorf("rentals: only the operator's admins change its settings: %w", ErrForbidden)
	}
	if err := in.Validate(); err != nil {
		return Settings{}, fmt.Errorf("rentals: settings: %w", err)
	}
	before, _ := s.OperatorSettings(ctx, scope, in.OperatorID)
	in.UpdatedAt, in.UpdatedBy = s.now(), by
	if err := s.reports.putSettings(ctx, in); err != nil {
		return Settings{}, err
	}
	s.writeAudit(ctx, by, in.OperatorID, "operator.settings", "settings/"+in.OperatorID,
		audit.Diff(map[string]any{"waiver_limit_fen": before.WaiverLimitFen}, map[string]any{"waiver_limit_fen": in.WaiverLimitFen}))
	return in, nil
}

func (r *WaiverRequest) validate() error {
	e := &valid.Error{}
	r.Reason, r.Note = strings.TrimSpace(r.Reason), strings.TrimSpace(r.Note)
	if r.AmountFen <= 0 || r.AmountFen > MaxPaymentFen {
		e.Add("amount_fen", "amount_range", fmt.Sprintf("must be more than 0 and at most %d fen", MaxPaymentFen),
			"min_fen", 1, "max_fen", MaxPaymentFen)
	}
	if !slices.Contains(WaiverReasons, r.Reason) {
		e.Add("reason", "oneof", "must be one of: "+strings.Join(WaiverReasons, ", "))
	}
	if r.Reason == "other" && r.Note == "" {
		e.Add("note", "required", "say why the amount is forgiven")
	}
	e.Text("note", r.Note, valid.MaxText)
	return e.Err()
}

// Waive forgives req.AmountFen of what lease leaseID owes. Within the
// operator's staff limit for the lease (what was waived on it before
// included), or when an operator admin asks, it is applied at once (state
// applied); above it, it becomes a request for an operator admin (state
// pending) and the ledger does not change until it is approved.
func (s *Service) Waive(ctx context.Context, scope tenancy.Scope, leaseID string, req WaiverRequest, by tenancy.Actor) (Waiver, Lease, error) {
	if err := scope.MayChange(tenancy.ChangeOther); err != nil {
		return Waiver{}, Lease{}, err
	}
	if err := req.validate(); err != nil {
		return Waiver{}, Lease{}, fmt.Errorf("rentals: waiver: %w", err)
	}
	l, head, err := s.stable(ctx, scope, leaseID)
	if err != nil {
		return Waiver{}, Lease{}, err
	}
	if l.BalanceFen <= 0 {
		return Waiver{}, Lease{}, fmt.Errorf("rentals: lease %s owes nothing to waive: %w", l.ID, ErrConflict)
	}
	if req.AmountFen > l.BalanceFen {
		return Waiver{}, Lease{}, fmt.Errorf("rentals: waiver: %w", valid.Field("amount_fen", "owed",
			fmt.Sprintf("at most the %d fen (¥%s) owed", l.BalanceFen, yuan(l.BalanceFen)), "owed_fen", l.BalanceFen))
	}
	set, err := s.settingsOf(ctx, l.OperatorID)
	if err != nil {
		return Waiver{}, Lease{}, err
	}
	now, today := s.today()
	w := Waiver{ID: ids.New("w"), LeaseID: l.ID, OperatorID: l.OperatorID, StationID: l.StationID, UnitTag: l.UnitTag,
		AmountFen: req.AmountFen, Reason: req.Reason, Note: req.Note, RequestedBy: by, RequestedAt: now}
	if l.Return != nil {
		w.StationID = l.Return.StationID
	}
	approver := mayApprove(scope, by, l.OperatorID)
	if !approver && l.WaivedFen+req.AmountFen > set.WaiverLimitFen {
		w.State = WaiverPending
		if err := s.requestWaiver(ctx, w); err != nil {
			return Waiver{}, Lease{}, err
		}
		s.auditWaiver(ctx, by, "waiver.request", "", w)
		return w, l, nil
	}
	w.State, w.AppliedFen, w.Auto = WaiverApplied, req.AmountFen, !approver
	if approver {
		w.DecidedBy, w.DecidedAt = by, now
	}
	got, err := s.runFlow(ctx, "waive", head, waivedEvent(l, w, today, by), nil)
	if err != nil {
		return Waiver{}, Lease{}, err
	}
	s.auditWaiver(ctx, by, "lease.waiver", "", w)
	return w, got, nil
}

// waivedEvent is the lease event applying waiver w.
func waivedEvent(l Lease, w Waiver, today string, by tenancy.Actor) leaseEvent {
	x := entryBase(l, today, by)
	x.Kind, x.AmountFen, x.Note, x.Reference = EntryWaiver, w.AppliedFen, w.Reason, w.ID
	next := l
	next.WaivedFen += w.AppliedFen
	next.BalanceFen = l.BalanceFen - w.AppliedFen
	next.LedgerSeq = l.LedgerSeq + 1
	return leaseEvent{Kind: kindWaived, From: l.State, Lease: next, By: by, Why: w.Reason,
		LedgerFrom: l.LedgerSeq + 1, Ledger: []LedgerEntry{x}, Waiver: &w}
}

// requestWaiver records a pending waiver: the first event of its log,
// under a pending marker, then its report line.
func (s *Service) requestWaiver(ctx context.Context, w Waiver) error {
	marker, err := s.waiverLg.Begin(ctx, w.ID)
	if err != nil {
		return fmt.Errorf("rentals: %w", err)
	}
	if _, err := s.waiverLg.Append(ctx, w.ID, 1, waiverEvent{Kind: "requested", Waiver: w, By: w.RequestedBy}); err != nil {
		return fmt.Errorf("rentals: %w", err)
	}
	if err := s.crashPoint("request:event"); err != nil {
		return err
	}
	if err := s.reports.putWaiver(ctx, waiverDoc{ID: w.ID, Seq: 1, Waiver: w}); err != nil {
		return err
	}
	_ = s.waiverLg.Done(ctx, marker)
	return nil
}

// Waivers lists the waivers of scope's operator (every operator's for the
// platform; staff see those of their stations), newest first: state ""
// lists all, otherwise only that state (WaiverPending is the approval
// queue). leaseID, when set, narrows the list to one lease.
func (s *Service) Waivers(ctx context.Context, scope tenancy.Scope, state, leaseID string) ([]Waiver, error) {
	if !scope.Platform && scope.OperatorID == "" {
		return []Waiver{}, nil
	}
	docs, err := s.reports.listWaivers(ctx, scope.OperatorID, leaseID)
	if err != nil {
		return nil, err
	}
	out := []Waiver{}
	for _, d := range docs {
		w := d.Waiver
		if !scope.Station(w.OperatorID, w.StationID) || state != "" && w.State != state {
			continue
		}
		out = append(out, w)
	}
	return out, nil
}

// Waiver returns one waiver scope may see.
func (s *Service) Waiver(ctx context.Context, scope tenancy.Scope, id string) (Waiver, error) {
	d, ok, err := s.reports.waiver(ctx, id)
	if err != nil {
		return Waiver{}, err
	}
	if !ok || !scope.Station(d.Waiver.OperatorID, d.Waiver.StationID) {
		return Waiver{}, fmt.Errorf("rentals: waiver %s: %w", id, ErrNotFound)
	}
	return d.Waiver, nil
}

// DecideWaiver approves or rejects a pending waiver; only an operator admin
// of its operator may. An approved waiver is applied to the lease at once,
// capped at what is owed then (lapsed when nothing is).
func (s *Service) DecideWaiver(ctx context.Context, scope tenancy.Scope, id string, approve bool, note string, by tenancy.Actor) (Waiver, error) {
	if err := scope.MayChange(tenancy.ChangeOther); err != nil {
		return Waiver{}, err
	}
	note = strings.TrimSpace(note)
	if err := (&valid.Error{}).Text("decision_note", note, valid.MaxText).Err(); err != nil {
		return Waiver{}, fmt.Errorf("rentals: waiver: %w", err)
	}
	head, err := s.waiverLg.Head(ctx, id, 0)
	if err != nil {
		return Waiver{}, fmt.Errorf("rentals: %w", err)
	}
	w := head.Event.Waiver
	if head.Seq == 0 || !scope.Operator(w.OperatorID) {
		return Waiver{}, fmt.Errorf("rentals: waiver %s: %w", id, ErrNotFound)
	}
	if !mayApprove(scope, by, w.OperatorID) {
		return Waiver{}, fmt.Errorf("rentals: only an operator admin decides waivers above the staff limit: %w", ErrForbidden)
	}
	if head.Event.Kind != "requested" {
		return Waiver{}, fmt.Errorf("rentals: waiver %s was already decided (%s): %w", id, head.Event.Kind, ErrConflict)
	}
	w.DecidedBy, w.DecidedAt, w.DecisionNote = by, s.now(), note
	if !approve {
		w.State = WaiverRejected
		if _, err := s.waiverLg.Append(ctx, id, 2, waiverEvent{Kind: "rejected", Waiver: w, By: by}); errors.Is(err, eventlog.ErrTaken) {
			return Waiver{}, fmt.Errorf("rentals: waiver %s was decided by someone else just now: %w", id, ErrConflict)
		} else if err != nil {
			return Waiver{}, fmt.Errorf("rentals: %w", err)
		}
		// The decision is the log's event; the projection follows it.
		s.auditWaiver(ctx, by, "waiver.reject", WaiverPending, w)
		return w, s.reports.putWaiver(ctx, waiverDoc{ID: id, Seq: 2, Waiver: w})
	}
	marker, err := s.leaseLg.BeginMany(ctx, w.LeaseID, []string{waiverMarker + id})
	if err != nil {
		return Waiver{}, fmt.Errorf("rentals: %w", err)
	}
	if _, err := s.waiverLg.Append(ctx, id, 2, waiverEvent{Kind: "approved", Waiver: w, By: by}); errors.Is(err, eventlog.ErrTaken) {
		_ = s.leaseLg.Done(ctx, marker)
		return Waiver{}, fmt.Errorf("rentals: waiver %s was decided by someone else just now: %w", id, ErrConflict)
	} else if err != nil {
		return Waiver{}, fmt.Errorf("rentals: %w", err)
	}
	if err := s.crashPoint("approve:decided"); err != nil {
		return Waiver{}, err
	}
	got, err := s.applyApproved(ctx, w)
	if err != nil {
		return Waiver{}, err
	}
	if err := s.crashPoint("approve:applied"); err != nil {
		return Waiver{}, err
	}
	_ = s.leaseLg.Done(ctx, marker)
	s.auditWaiver(ctx, by, "waiver.approve", WaiverPending, got)
	return got, nil
}

// applyApproved puts approved waiver w into its lease's ledger, once: a
// lease event already carrying it means it was applied (by the approver or
// the reconciler); with nothing owed any more it lapses.
func (s *Service) applyApproved(ctx context.Context, w Waiver) (Waiver, error) {
	for range 10 {
		l, head, err := s.advance(ctx, w.LeaseID, modeInline)
		if err != nil {
			return Waiver{}, err
		}
		hist, err := s.leaseLg.History(ctx, w.LeaseID, head.Seq)
		if err != nil {
			return Waiver{}, fmt.Errorf("rentals: %w", err)
		}
		for _, e := range hist {
			if e.Event.Kind == kindWaived && e.Event.Waiver != nil && e.Event.Waiver.ID == w.ID {
				return *e.Event.Waiver, nil
			}
		}
		if l.BalanceFen <= 0 {
			w.State = WaiverLapsed
			if _, err := s.waiverLg.Append(ctx, w.ID, 3, waiverEvent{Kind: "lapsed", Waiver: w, By: tenancy.System}); err != nil && !errors.Is(err, eventlog.ErrTaken) {
				return Waiver{}, fmt.Errorf("rentals: %w", err)
			}
			return w, s.reports.putWaiver(ctx, waiverDoc{ID: w.ID, Seq: 3, Waiver: w})
		}
		w.State, w.AppliedFen = WaiverApplied, min(w.AmountFen, l.BalanceFen)
		_, today := s.today()
		if _, err := s.appendLease(ctx, head, waivedEvent(l, w, today, w.DecidedBy)); errors.Is(err, eventlog.ErrTaken) {
			continue
		} else if err != nil {
			return Waiver{}, err
		}
		if _, _, err := s.advance(ctx, w.LeaseID, modeInline); err != nil {
			return Waiver{}, err
		}
		return w, nil
	}
	return Waiver{}, fmt.Errorf("rentals: lease %s is being changed by others; try again: %w", w.LeaseID, ErrConflict)
}

// reconcileWaivers finishes the approvals named in a lease's pending
// marker: an approved waiver not yet in the ledger is applied (or lapses).
func (s *Service) reconcileWaivers(ctx context.Context, entities []string) error {
	for _, ent := range entities {
		id, ok := strings.CutPrefix(ent, waiverMarker)
		if !ok {
			continue
		}
		head, err := s.waiverLg.Head(ctx, id, 0)
		if err != nil {
			return fmt.Errorf("rentals: %w", err)
		}
		if head.Event.Kind != "approved" {
			continue
		}
		if _, err := s.applyApproved(ctx, head.Event.Waiver); err != nil {
			return err
		}
	}
	return nil
}

// reconcileRequest writes the report line of a waiver request whose writer
// stopped after its event.
func (s *Service) reconcileRequest(ctx context.Context, p eventlog.Pending) error {
	head, err := s.waiverLg.Head(ctx, p.Entity, 0)
	if err != nil {
		return fmt.Errorf("rentals: %w", err)
	}
	if head.Seq == 0 {
		return nil // never recorded: nothing to finish
	}
	return s.reports.putWaiver(ctx, waiverDoc{ID: p.Entity, Seq: head.Seq, Waiver: head.Event.Waiver})
}

// recordWaiver writes the report line of a waiver applied by lease event e.
func (s *Service) recordWaiver(ctx context.Context, ev leaseEvent) error {
	if ev.Kind != kindWaived || ev.Waiver == nil {
		return nil
	}
	return s.reports.putWaiver(ctx, waiverDoc{ID: ev.Waiver.ID, Seq: 3, Waiver: *ev.Waiver})
}
