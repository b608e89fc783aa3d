package rentals

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"fuju/internal/tenancy"
	"fuju/internal/valid"
	"fuju/stations"
)

// Lost devices (docs/pricing.md, rules 13 and 14). A lease whose unit has not
// come back LostAfterDays after its due date can be declared lost: the
// renter is charged what the tier's rule of the day says (the deposit, the
// tier's share of the replacement value, or nothing), settled from the
// deposit held, and the operator's loss (replacement value less that
// charge) is recorded for reports and statements. A lost unit that comes
// back is "found" at a desk: the lost charge is cancelled (a recovered
// credit), the late fees and damage the policy allows are charged (never
// more, together, than the lost charge, so bringing a device back never
// costs more than keeping it), what is left is refunded, and the unit goes
// to inspection like a return. A unit never found is written off (retired).

// Loss is what a lease's loss cost, recorded when it was declared.
type Loss struct {
	Day  string     `json:"day" bson:"day"`
	Tier Tier       `json:"tier" bson:"tier"`
	Rule LostCharge `json:"rule" bson:"rule"`
	// ReplacementFen is the product's value; ChargedFen what the renter was
	// charged; OperatorLossFen the rest, which the operator bears.
	ReplacementFen  int64 `json:"replacement_fen" bson:"replacement_fen"`
	ChargedFen      int64 `json:"charged_fen" bson:"charged_fen"`
	OperatorLossFen int64 `json:"operator_loss_fen" bson:"operator_loss_fen"`
	// FoundOn is the day the device came back, when it did: the operator
	// then lost nothing.
	FoundOn string `json:"found_on,omitempty" bson:"found_on,omitempty"`
}

// LossReport is one lost device in an operator's report.
type LossReport struct {
	LeaseID    string `json:"lease_id"`
	OperatorID string `json:"operator_id"`
	StationID  string `json:"station_id"`
	UnitTag    string `json:"unit_tag"`
	ProductID  string `json:"product_id"`
	Loss       Loss   `json:"loss"`
}

// DeclareLost ends a lease whose unit has not come back LostAfterDays (the
// lease's policy) after its due date. The renter is charged what the rule
// of their tier on the day says (rule 13), settled from the deposit held; the
// unit becomes lost. At balance zero the lease closes; otherwise it stays
// lost until the rest is paid (or refunded, when the deposit held was more).
func (s *Service) DeclareLost(ctx context.Context, scope tenancy.Scope, leaseID string, by tenancy.Actor) (Lease, error) {
	if err := scope.MayChange(tenancy.ChangeOther); err != nil {
		return Lease{}, err
	}
	l, head, err := s.stable(ctx, scope, leaseID)
	if err != nil {
		return Lease{}, err
	}
	now, today := s.today()
	if !l.State.Out() {
		return Lease{}, fmt.Errorf("rentals: lease %s is %s, not out: %w", l.ID, l.State, leaseState(l.State))
	}
	if late := l.DaysOverdue(now); late < l.LostAfterDays {
		return Lease{}, fmt.Errorf("rentals: lease %s is %d days overdue; a unit can be declared lost after %d: %w", l.ID, late, l.LostAfterDays,
			valid.Because(ErrConflict, "lost_too_early", "after", l.LostAfterDays))
	}
	u, err := s.units.Unit(ctx, l.UnitTag)
	if err != nil {
		return Lease{}, fmt.Errorf("rentals: %w", err)
	}
	if u.State != stations.Rented || u.LeaseID != l.ID {
		return Lease{}, fmt.Errorf("rentals: unit %s is %s: %w", l.UnitTag, u.State, unitState(l.UnitTag, u.State))
	}
	tier, pol, err := s.dayRules(ctx, l, now)
	if err != nil {
		return Lease{}, err
	}
	rule := pol.Rule(tier)
	charge, operatorLoss := lossCharge(rule, l.Rate)
	eb := entryBase(l, today, by)
	eb.Tier = tier
	var entries []LedgerEntry
	if l.DepositFen > 0 {
		x := eb
		x.Kind, x.AmountFen = EntryDepositReturn, l.DepositFen
		entries = append(entries, x)
	}
	if charge > 0 {
		x := eb
		x.Kind, x.AmountFen, x.Note = EntryLost, charge, string(rule.LostCharge)
		entries = append(entries, x)
	}
	next := l
	next.State, next.DepositFen, next.EndReason = LeaseLost, 0, "lost"
	next.Loss = &Loss{Day: today, Tier: tier, Rule: rule.LostCharge, ReplacementFen: l.Rate.Replacement(),
		ChargedFen: charge, OperatorLossFen: operatorLoss}
	next.BalanceFen = l.BalanceFen + Balance(entries)
	next.LedgerSeq = l.LedgerSeq + int64(len(entries))
	ev := leaseEvent{Kind: kindLost, From: l.State, Lease: next, By: by, Why: "not returned",
		LedgerFrom: l.LedgerSeq + 1, Ledger: entries, UnitSeq: u.Seq, UnitTo: stations.Lost}
	got, err := s.runFlow(ctx, "lost", head, ev, nil)
	if err == nil {
		s.auditLease(ctx, by, "lease.lost", &l, got)
	}
	return got, err
}

// FoundResult is what Found did: the unit, and the lease it was lost on
// (nil for a unit lost without a lease, for example missing at a
// stocktake).
type FoundResult struct {
	Unit  stations.Unit `json:"unit"`
	Lease *Lease        `json:"lease,omitempty"`
}

// Found takes back at the desk's station (any of the unit's operator's) a
// unit that was lost, with its inspection. When it was lost on a lease, the
// loss is closed on that lease: the lost charge is cancelled, late fees (at
// the renter's tier that day) and damage are charged up to the lost charge,
// the rest is refunded (RefundMethod) or, when the lost charge was not paid,
// owed; the unit goes through returned to cleaning or repair. A unit lost
// without a lease goes straight to cleaning or repair.
func (s *Service) Found(ctx context.Context, scope tenancy.Scope, req CheckinRequest, by tenancy.Actor) (FoundResult, error) {
	if err := scope.MayChange(tenancy.ChangeFound); err != nil {
		return FoundResult{}, err
	}
	now, today := s.today()
	req, tag, err := checkCheckin(req)
	if err != nil {
		return FoundResult{}, err
	}
	st, err := s.deskStation(ctx, scope, req.StationID)
	if err != nil {
		return FoundResult{}, err
	}
	u, err := s.deskUnit(ctx, st, tag)
	if err != nil {
		return FoundResult{}, err
	}
	if u.State != stations.Lost {
		return FoundResult{}, fmt.Errorf("rentals: unit %s is %s, not lost: %w", tag, u.State, stations.ErrUnavailable)
	}
	leaseID, err := s.lostOn(ctx, tag)
	if err != nil {
		return FoundResult{}, err
	}
	if leaseID == "" {
		return s.foundWithoutLease(ctx, st, u, req, by)
	}
	l, head, err := s.advance(ctx, leaseID, modeInline)
	if err != nil {
		return FoundResult{}, err
	}
	if l.OperatorID != st.OperatorID || l.EndReason != "lost" || l.State != LeaseClosed && l.State != LeaseLost {
		return FoundResult{}, fmt.Errorf("rentals: lease %s of unit %s is %s (%s), not lost: %w", l.ID, tag, l.State, l.EndReason, ErrConflict)
	}
	lostFen, err := s.lostCharge(ctx, l)
	if err != nil {
		return FoundResult{}, err
	}
	late, err := s.lateFees(ctx, l, now)
	if err != nil {
		return FoundResult{}, err
	}
	// Together the late fee and damage never exceed the lost charge.
	lateFen := min(late.FeeFen, lostFen)
	damageFen := min(req.DamageFen, lostFen-lateFen)
	ret := &Return{At: now, Day: today, StationID: st.ID, Outcome: req.Outcome, Notes: req.Notes, DamageFen: damageFen,
		LateDays: late.Days, LateFeeFen: lateFen, Tier: late.Tier, By: by}
	eb := entryBase(l, today, by)
	eb.Tier = late.Tier
	var entries []LedgerEntry
	add := func(kind EntryKind, fen int64, note, method, ref string) {
		if fen > 0 {
			x := eb
			x.Kind, x.AmountFen, x.Note, x.Method, x.Reference = kind, fen, note, method, ref
			entries = append(entries, x)
		}
	}
	add(EntryRecovered, lostFen, "device found", "", "")
	capped := ""
	if lateFen < late.FeeFen || damageFen < req.DamageFen {
		capped = "; capped at the lost charge"
	}
	add(EntryLateFee, lateFen, fmt.Sprintf("%d late days%s", late.Days, capped), "", "")
	add(EntryDamage, damageFen, req.Notes+capped, "", "")
	owed := l.BalanceFen + Balance(entries)
	if err := checkMoney(req, owed, 0); err != nil {
		return FoundResult{}, fmt.Errorf("rentals: found: %w", err)
	}
	if owed < 0 {
		add(EntryRefund, -owed, "", req.RefundMethod, strings.TrimSpace(req.RefundReference))
	} else {
		entries = append(entries, paymentEntries(eb, req.Payments)...)
	}
	next := l
	next.State, next.Return, next.EndReason = LeaseReturned, ret, "found"
	loss := Loss{}
	if l.Loss != nil {
		loss = *l.Loss
	}
	loss.ChargedFen, loss.FoundOn = lostFen, today
	next.Loss = &loss
	next.Payments = append(append([]Payment(nil), l.Payments...), req.Payments...)
	next.BalanceFen = l.BalanceFen + Balance(entries)
	next.LedgerSeq = l.LedgerSeq + int64(len(entries))
	ev := leaseEvent{Kind: kindFound, From: l.State, Lease: next, By: by, Why: string(req.Outcome),
		LedgerFrom: l.LedgerSeq + 1, Ledger: entries, UnitSeq: u.Seq, UnitTo: req.Outcome.UnitState()}
	got, err := s.runFlow(ctx, "found", head, ev, nil)
	if err != nil {
		return FoundResult{}, err
	}
	if u, err = s.units.Unit(ctx, tag); err != nil {
		return FoundResult{}, fmt.Errorf("rentals: %w", err)
	}
	s.auditFound(ctx, by, FoundResult{Unit: u, Lease: &got})
	return FoundResult{Unit: u, Lease: &got}, nil
}

// foundWithoutLease sends a unit lost off any lease to cleaning or repair
// in one move, recording the inspection.
func (s *Service) foundWithoutLease(ctx context.Context, st stations.Station, u stations.Unit, req CheckinRequest, by tenancy.Actor) (FoundResult, error) {
	if req.DamageFen > 0 || len(req.Payments) > 0 {
		return FoundResult{}, fmt.Errorf("rentals: found: %w", valid.Field("damage_fen", "no_lease", "the unit was lost on no lease: there is nobody to charge"))
	}
	m := stations.Move{To: req.Outcome.UnitState(), Kind: "found", StationID: st.ID, By: by, Why: "found at " + st.ID,
		Details: map[string]string{"outcome": string(req.Outcome)},
		Check: func(cur stations.Unit) error {
			if cur.Seq != u.Seq {
				return fmt.Errorf("rentals: unit %s was changed just now: %w", u.Tag, stations.ErrUnavailable)
			}
			return nil
		}}
	if req.Notes != "" {
		notes := req.Notes
		m.Condition = &notes
	}
	got, err := s.units.Move(ctx, u.Tag, m)
	if err != nil {
		return FoundResult{}, fmt.Errorf("rentals: %w", err)
	}
	s.auditFound(ctx, by, FoundResult{Unit: got})
	return FoundResult{Unit: got}, nil
}

// lostOn returns the lease a lost unit was lost on: the lease named by its
// latest move to lost, "" when it was lost off any lease.
func (s *Service) lostOn(ctx context.Context, tag string) (string, error) {
	hist, err := s.units.History(ctx, tag)
	if err != nil {
		return "", fmt.Errorf("rentals: %w", err)
	}
	for i := len(hist) - 1; i >= 0; i-- {
		if hist[i].To == stations.Lost {
			return hist[i].Details["lease"], nil
		}
	}
	return "", nil
}

// lostCharge is what lease l was charged for its loss: recorded on the
// lease, or, for a lease lost before losses were recorded, its lost entries.
func (s *Service) lostCharge(ctx context.Context, l Lease) (int64, error) {
	if l.Loss != nil {
		return l.Loss.ChargedFen, nil
	}
	lg, err := s.readLedger(ctx, l)
	if err != nil {
		return 0, err
	}
	var fen int64
	for _, e := range lg.Entries {
		if e.Kind == EntryLost {
			fen += e.AmountFen
		}
	}
	return fen, nil
}

// recordLoss writes the losses report's document of lease l as of event
// seq.
func (s *Service) recordLoss(ctx context.Context, l Lease, seq int64) error {
	if l.Loss == nil {
		return nil
	}
	return s.reports.putLoss(ctx, lossDoc{ID: l.ID, Seq: seq, OperatorID: l.OperatorID, StationID: l.StationID,
		UnitTag: l.UnitTag, ProductID: l.ProductID, Loss: *l.Loss})
}

// Losses lists the lost devices of scope's operator (every operator's for
// the platform), most recent first, each with what the renter was charged,
// the operator's loss, and whether the device was found.
func (s *Service) Losses(ctx context.Context, scope tenancy.Scope) ([]LossReport, error) {
	if !scope.Platform && scope.OperatorID == "" {
		return []LossReport{}, nil
	}
	docs, err := s.reports.listLosses(ctx, scope.OperatorID)
	if err != nil {
		return nil, err
	}
	out := []LossReport{}
	for _, d := range docs {
		if scope.Operator(d.OperatorID) {
			out = append(out, d.toReport())
		}
	}
	return out, nil
}

// RefundLease pays back what a lost (or returned) lease owes the renter
// (a negative balance: the deposit held was more than the lost charge), by
// cash or offline_mobile with the transfer's reference; the lease closes.
func (s *Service) RefundLease(ctx context.Context, scope tenancy.Scope, leaseID, method, reference string, by tenancy.Actor) (Lease, error) {
	if err := scope.MayChange(tenancy.ChangeRefund); err != nil {
		return Lease{}, err
	}
	l, head, err := s.stable(ctx, scope, leaseID)
	if err != nil {
		return Lease{}, err
	}
	if l.State != LeaseReturned && l.State != LeaseLost || l.BalanceFen >= 0 {
		return Lease{}, fmt.Errorf("rentals: lease %s is %s and owes the renter nothing: %w", l.ID, l.State, ErrConflict)
	}
	reference = strings.TrimSpace(reference)
	refund := -l.BalanceFen
	switch {
	case method != PayCash && method != PayOfflineMobile:
		return Lease{}, fmt.Errorf("rentals: refund: %w", valid.Field("refund_method", "refund_method",
			fmt.Sprintf("the renter gets %d fen (¥%s) back: refund by cash or offline_mobile", refund, yuan(refund)), "refund_fen", refund))
	case method == PayOfflineMobile && reference == "":
		return Lease{}, fmt.Errorf("rentals: refund: %w", valid.Field("refund_reference", "reference", "an offline_mobile refund needs the transfer's reference"))
	case textLen(reference) > valid.MaxReference:
		return Lease{}, fmt.Errorf("rentals: refund: %w", valid.Field("refund_reference", "reference_length",
			fmt.Sprintf("a reference must be at most %d characters", valid.MaxReference), "max", valid.MaxReference))
	}
	_, today := s.today()
	x := entryBase(l, today, by)
	x.Kind, x.AmountFen, x.Method, x.Reference = EntryRefund, -l.BalanceFen, method, reference
	next := l
	next.BalanceFen, next.LedgerSeq = 0, l.LedgerSeq+1
	ev := leaseEvent{Kind: kindPayment, From: l.State, Lease: next, By: by, Why: "refund", LedgerFrom: l.LedgerSeq + 1, Ledger: []LedgerEntry{x}}
	got, err := s.runFlow(ctx, "settle", head, ev, nil)
	if err == nil {
		s.auditLease(ctx, by, "lease.refund", &l, got)
	}
	return got, err
}

// LostWith returns the lease a lost unit of scope's operator was lost on,
// for the desk's "found" screen; nil when the unit was lost off any lease
// or is not lost.
func (s *Service) LostWith(ctx context.Context, scope tenancy.Scope, tag string) (*Lease, error) {
	tag = stations.NormalizeTag(tag)
	u, err := s.units.Unit(ctx, tag)
	if errors.Is(err, stations.ErrNotFound) || err == nil && !scope.Operator(u.OperatorID) {
		return nil, fmt.Errorf("rentals: unit %s: %w", tag, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("rentals: %w", err)
	}
	if u.State != stations.Lost {
		return nil, nil
	}
	id, err := s.lostOn(ctx, tag)
	if err != nil || id == "" {
		return nil, err
	}
	l, err := s.Lease(ctx, scope, id)
	if err != nil {
		return nil, err
	}
	return &l, nil
}
