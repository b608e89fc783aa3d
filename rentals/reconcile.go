package rentals

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"fuju/internal/eventlog"
	"fuju/internal/tenancy"
	"fuju/stations"
)

// Crash points, in the order of the writes they separate (tests inject a
// crash at each one; the reconciler must repair every one):
//
//	register:  marked · person · claimed · event · projected
//	checkout:  marked · subsidy · opened · unit · activated · ledger · projected
//	overdue:   marked · event · projected
//	checkin:   marked · event · unit-returned · unit-inspected · ledger · closed · projected · refund (a deposit paid online)
//	extend:    marked · subsidy · event · ledger · projected
//	settle:    marked · event · ledger · closed · projected
//	lost:      marked · event · unit · ledger · closed · projected
//	found:     marked · event · unit-returned · unit-inspected · ledger · closed · projected
//	waive:     marked · event · ledger · closed · projected
//	approve:   decided · (the waive steps) · applied
//	request:   event
//
// Reconcile's rules, for each pending marker older than age:
//
//   - registration: if the renter's log has no event, the reconciler writes an
//     "abandoned" event at sequence 1 (so a writer that was only slow cannot
//     register afterwards) and releases the person and phone claims;
//     otherwise it writes the projection, keeps the person's claim and
//     writes the renter's search keys.
//   - a lease with no event: the reconciler writes "cancelled" at sequence 1
//     for the same reason; the lease is listed nowhere.
//   - a checkout (lease "opened"): completed when the unit was moved to rented
//     for this lease ("activated", which carries the ledger plan, then the
//     entries); otherwise cancelled, and the subsidy grant released. A writer
//     that moves the unit after the reconciler cancelled finds the lease's
//     next sequence number taken and stops; if it was past that check when
//     it stalled, its move may still win, but its activation loses, so it
//     writes no entry, and the unit is put back through returned to
//     cleaning.
//   - a check-in, loss or find: always completed (the decision is in the
//     log): the unit moves by its sequence numbers, the ledger entries, the
//     loss report line, the closing event when the balance is zero.
//   - a waiver approval (the lease's marker names the waiver): an approved
//     waiver no lease event carries is applied, or lapses when nothing is
//     owed; a waiver request's report line is written from its log.
//   - every lease touched: every ledger plan in its log is written again
//     (taken sequence numbers are skipped, so nothing is duplicated), the
//     projections (leases, open_leases) are rewritten from the log's head,
//     and a subsidy grant no lease event refers to (the writer died between
//     the grant and its lease event) is released after fencing the lease's
//     next sequence number.
//
// Every step is idempotent, so several instances may reconcile at once.

// Reconcile finishes or undoes renter registrations and desk flows abandoned
// for longer than age, and returns how many it repaired.
func (s *Service) Reconcile(ctx context.Context, age time.Duration) (int, error) {
	fixed := 0
	stale, err := s.renterLg.Stale(ctx, age)
	if err != nil {
		return 0, fmt.Errorf("rentals: %w", err)
	}
	for _, p := range stale {
		if err := s.reconcileRenter(ctx, p); err != nil {
			return fixed, err
		}
		if err := s.renterLg.Done(ctx, p); err != nil {
			return fixed, fmt.Errorf("rentals: %w", err)
		}
		fixed++
	}
	stale, err = s.waiverLg.Stale(ctx, age)
	if err != nil {
		return fixed, fmt.Errorf("rentals: %w", err)
	}
	for _, p := range stale {
		if err := s.reconcileRequest(ctx, p); err != nil {
			return fixed, err
		}
		if err := s.waiverLg.Done(ctx, p); err != nil {
			return fixed, fmt.Errorf("rentals: %w", err)
		}
		fixed++
	}
	stale, err = s.leaseLg.Stale(ctx, age)
	if err != nil {
		return fixed, fmt.Errorf("rentals: %w", err)
	}
	for _, p := range stale {
		if err := s.reconcileLease(ctx, p); err != nil {
			return fixed, err
		}
		if err := s.leaseLg.Done(ctx, p); err != nil {
			return fixed, fmt.Errorf("rentals: %w", err)
		}
		fixed++
	}
	return fixed, nil
}

func (s *Service) reconcileRenter(ctx context.Context, p eventlog.Pending) error {
	id := p.Entity
	for range 5 {
		head, err := s.renterLg.Head(ctx, id, 0)
		if err != nil {
			return fmt.Errorf("rentals: %w", err)
		}
		switch {
		case head.Seq == 0:
			_, err := s.renterLg.Append(ctx, id, 1, renterEvent{Kind: "abandoned", Renter: renterDoc{ID: id}, By: tenancy.System, Why: "registration did not finish"})
			if err != nil && !errors.Is(err, eventlog.ErrTaken) {
				return fmt.Errorf("rentals: %w", err)
			}
			continue
		case head.Seq == 1 && head.Event.Kind == "abandoned":
			return s.releaseClaims(ctx, id, p.Entities)
		}
		d := head.Event.Renter
		d.Seq = head.Seq
		if err := s.renters.put(ctx, d); err != nil {
			return err
		}
		if err := s.keepPerson(ctx, d); err != nil {
			return err
		}
		return s.indexRenter(ctx, d.HomeOperatorID, d)
	}
	return fmt.Errorf("rentals: renter %s: reconcile did not settle: %w", id, ErrConflict)
}

// releaseClaims lets go of the claims an abandoned registration of renter id
// made (its marker's entities: "phone:…", "person:…").
func (s *Service) releaseClaims(ctx context.Context, id string, entities []string) error {
	for _, ent := range entities {
		if phone, ok := strings.CutPrefix(ent, "phone:"); ok {
			if err := unclaim(ctx, s.renters.phones, phone, id); err != nil {
				return err
			}
		}
		if person, ok := strings.CutPrefix(ent, personMarker); ok {
			if err := s.releasePerson(ctx, person, id, "registration abandoned"); err != nil {
				return err
			}
		}
	}
	return nil
}

func (s *Service) reconcileLease(ctx context.Context, p eventlog.Pending) error {
	id := p.Entity
	for range 5 {
		head, err := s.leaseLg.Head(ctx, id, 0)
		if err != nil {
			return fmt.Errorf("rentals: %w", err)
		}
		if head.Seq == 0 {
			l := Lease{ID: id, State: LeaseCancelled, EndReason: "abandoned", ClosedAt: s.now()}
			_, err := s.leaseLg.Append(ctx, id, 1, leaseEvent{Kind: kindCancelled, Lease: l, By: tenancy.System, Why: "abandoned"})
			if err != nil && !errors.Is(err, eventlog.ErrTaken) {
				return fmt.Errorf("rentals: %w", err)
			}
		}
		l, head, err := s.advance(ctx, id, modeRepair)
		if err != nil && !errors.Is(err, stations.ErrUnavailable) {
			return err
		}
		hist, err := s.leaseLg.History(ctx, id, head.Seq)
		if err != nil {
			return fmt.Errorf("rentals: %w", err)
		}
		for _, e := range hist {
			// An opened checkout's plan is skipped by writeLedger: only
			// its activation writes it, so a cancelled one has none.
			if err := s.writeLedger(ctx, e.Event); err != nil {
				return err
			}
			if err := s.recordLoss(ctx, leaseOf(e), e.Seq); err != nil {
				return err
			}
			if err := s.recordWaiver(ctx, e.Event); err != nil {
				return err
			}
		}
		if err := s.reconcileWaivers(ctx, p.Entities); err != nil {
			return err
		}
		// A check-in's online deposit refund is asked for again: payments
		// finishes the same refund by its ledger entry id.
		if err := s.refundDepositOnline(ctx, l); err != nil {
			return err
		}
		orphans, err := s.orphanGrants(ctx, id, p.Entities, l)
		if err != nil {
			return err
		}
		if len(orphans) == 0 {
			return nil
		}
		// Take the sequence number the grant's writer would have used, so it
		// cannot record the extension after its grant is released.
		fence := l
		_, err = s.appendLease(ctx, head, leaseEvent{Kind: kindFenced, From: l.State, Lease: fence, By: tenancy.System, Why: "abandoned subsidy grant released"})
		if errors.Is(err, eventlog.ErrTaken) {
			continue
		}
		if err != nil {
			return err
		}
		for _, g := range orphans {
			if err := s.releaseGrant(ctx, id, g); err != nil {
				return err
			}
		}
		if _, _, err := s.advance(ctx, id, modeRepair); err != nil && !errors.Is(err, stations.ErrUnavailable) {
			return err
		}
		return nil
	}
	return fmt.Errorf("rentals: lease %s: reconcile did not settle: %w", id, ErrConflict)
}
