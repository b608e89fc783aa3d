package rentals

import (
	"context"
	"errors"
	"fmt"

	"fuju/internal/eventlog"
	"fuju/internal/tenancy"
	"fuju/internal/valid"
	"fuju/stations"
)

// leaseEvent is one entry of a lease's log: what happened, the lease as it
// is after, and what the later steps of the flow need, so any process can
// finish them: the ledger entries and the sequence number of the first, the
// unit's sequence number when the move was decided and where it goes, the
// subsidy grant.
type leaseEvent struct {
	Kind       string         `bson:"kind"`
	From       LeaseState     `bson:"from"`
	Lease      Lease          `bson:"lease"`
	By         tenancy.Actor  `bson:"by"`
	Why        string         `bson:"why,omitempty"`
	LedgerFrom int64          `bson:"ledger_from,omitempty"`
	Ledger     []LedgerEntry  `bson:"ledger,omitempty"`
	UnitSeq    int64          `bson:"unit_seq,omitempty"`
	UnitTo     stations.State `bson:"unit_to,omitempty"`
	// Waiver is the waiver a "waived" event applies.
	Waiver *Waiver `bson:"waiver,omitempty"`
}

// Lease event kinds.
const (
	kindOpened    = "opened"    // checkout decided; the unit has not moved yet
	kindActivated = "activated" // the unit is out: the lease is real
	kindCancelled = "cancelled" // the checkout did not happen
	kindExtended  = "extended"
	kindOverdue   = "overdue"
	kindCheckin   = "checkin" // decided; the unit's moves may follow
	kindPayment   = "payment"
	kindWaived    = "waived" // a waiver applied (its ledger entry may follow)
	kindLost      = "lost"   // decided; the unit's move may follow
	kindFound     = "found"  // a lost unit back: decided; its moves may follow
	kindClosed    = "closed"
	kindFenced    = "fenced" // the reconciler closed a sequence number an abandoned writer held
	// kindOnline (online.go) applies one outcome of online money.
)

// How advance may act on a lease whose flow is unfinished.
const (
	// modeWriter is the flow's own writer: it performs a checkout's unit move.
	modeWriter = iota
	// modeInline is another desk operation that found the lease: it finishes
	// what was decided but never starts a checkout's unit move nor cancels a
	// young checkout.
	modeInline
	// modeRepair is the reconciler: like inline, but a checkout whose unit did
	// not move is cancelled.
	modeRepair
)

func leaseOf(e eventlog.Entry[leaseEvent]) Lease {
	l := e.Event.Lease
	l.Seq = e.Seq
	return l
}

// appendLease records ev as the event after head. Before that it makes sure
// head's ledger entries are written, so plans are always written in order and
// a later event never sits on top of an unwritten plan. (An opened
// checkout's plan is written by its activation, never before cancelling it:
// see writeLedger.)
func (s *Service) appendLease(ctx context.Context, head eventlog.Entry[leaseEvent], ev leaseEvent) (eventlog.Entry[leaseEvent], error) {
	if err := s.writeLedger(ctx, head.Event); err != nil {
		return eventlog.Entry[leaseEvent]{}, err
	}
	return s.appendNext(ctx, head, ev)
}

// appendNext is appendLease for a head whose ledger entries the caller has
// written: a head advance returned (advance writes the plan of every event
// it ends at) or one whose plan it has just written. It saves rewriting the
// plan, which on the embedded engine is a write like any other.
func (s *Service) appendNext(ctx context.Context, head eventlog.Entry[leaseEvent], ev leaseEvent) (eventlog.Entry[leaseEvent], error) {
	ev.Lease.UpdatedAt = s.now()
	e, err := s.leaseLg.Append(ctx, ev.Lease.ID, head.Seq+1, ev)
	if err != nil && !errors.Is(err, eventlog.ErrTaken) {
		return e, fmt.Errorf("rentals: %w", err)
	}
	if err != nil {
		return e, err
	}
	return asStored(e)
}

// writeLedger writes an event's planned entries at their fixed sequence
// numbers; numbers already taken were written by an earlier try. An opened
// checkout's plan is never written from the opened event: its activation
// carries it (see advance).
func (s *Service) writeLedger(ctx context.Context, ev leaseEvent) error {
	if len(ev.Ledger) == 0 || ev.Kind == kindOpened {
		return nil
	}
	items := make([]eventlog.Item[LedgerEntry], len(ev.Ledger))
	for i, e := range ev.Ledger {
		items[i] = eventlog.Item[LedgerEntry]{Entity: ev.Lease.ID, Seq: ev.LedgerFrom + int64(i), Event: e}
	}
	errs, err := s.ledger.AppendMany(ctx, items)
	if err != nil {
		return fmt.Errorf("rentals: ledger: %w", err)
	}
	for _, e := range errs {
		if e != nil && !errors.Is(e, eventlog.ErrTaken) {
			return fmt.Errorf("rentals: ledger: %w", e)
		}
	}
	return nil
}

// advance brings a lease to a stable state from its log: it performs the
// steps its latest event still needs (unit moves, ledger entries, the closing
// event), projects it, and returns it with the head it ended at. Every step
// is idempotent, so the writer, another desk and the reconciler may run it at
// once. A checkout that lost its unit ends cancelled and advance returns the
// unit's error (wrapping stations.ErrUnavailable).
func (s *Service) advance(ctx context.Context, id string, mode int) (Lease, eventlog.Entry[leaseEvent], error) {
	return s.advanceWith(ctx, id, mode, nil)
}

// advanceWith is advance for a caller that has just read the lease's unit
// (unit, nil when not): the first unit move is made from it instead of
// reading it again. A stale unit only makes that move lose (its event id is
// taken), exactly as if the unit had been read again.
func (s *Service) advanceWith(ctx context.Context, id string, mode int, unit *stations.Unit) (Lease, eventlog.Entry[leaseEvent], error) {
	var known int64
	stored, listed, err := s.leaseDB.lease(ctx, id)
	if err != nil {
		return Lease{}, eventlog.Entry[leaseEvent]{}, err
	} else if listed {
		known = stored.Seq
	}
	var unitErr error
	// held is the event this advance has just appended, as the log holds
	// it: the next turn starts from it and probes only what follows.
	var held *eventlog.Entry[leaseEvent]
	for range 30 {
		// The caller's unit is used by the first turn only.
		hint := unit
		unit = nil
		head, err := s.turnHead(ctx, id, known, held)
		held = nil
		if err != nil {
			return Lease{}, head, fmt.Errorf("rentals: %w", err)
		}
		if head.Seq == 0 {
			return Lease{}, head, fmt.Errorf("rentals: lease %s: %w", id, ErrNotFound)
		}
		known = head.Seq
		ev, l := head.Event, leaseOf(head)
		switch ev.Kind {
		case kindOpened:
			moved, err := s.checkoutUnit(ctx, head, mode, hint)
			if err != nil && !errors.Is(err, stations.ErrUnavailable) {
				return l, head, err
			}
			if !moved {
				unitErr = err
				reason := "unit_unavailable"
				if err == nil {
					reason = "abandoned"
				}
				next := l
				next.State, next.EndReason, next.ClosedAt = LeaseCancelled, reason, s.now()
				if _, err := s.appendLease(ctx, head, leaseEvent{Kind: kindCancelled, From: l.State, Lease: next, By: ev.By, Why: reason}); err != nil && !errors.Is(err, eventlog.ErrTaken) {
					return l, head, err
				}
				continue
			}
			if err := s.crashPoint("checkout:unit"); err != nil {
				return l, head, err
			}
			// The checkout's entries are written only by the activation
			// that wins the lease's next sequence number: a writer that
			// stalled while the reconciler cancelled the checkout loses
			// this append and writes nothing (the next turn puts its unit
			// back). So the activation carries the plan.
			next := l
			next.State, next.Listed = LeaseActive, true
			act := leaseEvent{Kind: kindActivated, From: l.State, Lease: next, By: ev.By, LedgerFrom: ev.LedgerFrom, Ledger: ev.Ledger}
			e, err := s.appendLease(ctx, head, act)
			if err != nil && !errors.Is(err, eventlog.ErrTaken) {
				return l, head, err
			} else if err == nil {
				held = &e
			}
			if err := s.crashPoint("checkout:activated"); err != nil {
				return l, head, err
			}
			continue

		case kindCancelled:
			for _, g := range l.Grants {
				if err := s.releaseGrant(ctx, id, g); err != nil {
					return l, head, err
				}
			}
			if err := s.revertCheckout(ctx, l); err != nil {
				return l, head, err
			}

		case kindCheckin, kindLost, kindFound:
			flow := ev.Kind
			if err := s.returnUnit(ctx, head, flow, hint); err != nil {
				return l, head, err
			}
			if err := s.writeLedger(ctx, ev); err != nil {
				return l, head, err
			}
			if err := s.recordLoss(ctx, l, head.Seq); err != nil {
				return l, head, err
			}
			if err := s.crashPoint(flow + ":ledger"); err != nil {
				return l, head, err
			}
			if l.BalanceFen == 0 {
				closed, err := s.close(ctx, head)
				if err != nil {
					return l, head, err
				}
				held = closed
				if err := s.crashPoint(flow + ":closed"); err != nil {
					return l, head, err
				}
				continue
			}

		case kindPayment, kindWaived, kindOnline:
			flow := "settle"
			switch ev.Kind {
			case kindWaived:
				flow = "waive"
			case kindOnline:
				flow = "online"
			}
			if err := s.writeLedger(ctx, ev); err != nil {
				return l, head, err
			}
			if err := s.recordWaiver(ctx, ev); err != nil {
				return l, head, err
			}
			if err := s.crashPoint(flow + ":ledger"); err != nil {
				return l, head, err
			}
			if l.BalanceFen == 0 && (l.State == LeaseReturned || l.State == LeaseLost) {
				closed, err := s.close(ctx, head)
				if err != nil {
					return l, head, err
				}
				held = closed
				if err := s.crashPoint(flow + ":closed"); err != nil {
					return l, head, err
				}
				continue
			}

		default: // activated, extended, overdue, closed, fenced
			if err := s.writeLedger(ctx, ev); err != nil {
				return l, head, err
			}
			switch ev.Kind {
			case kindExtended:
				if err := s.crashPoint("extend:ledger"); err != nil {
					return l, head, err
				}
			case kindActivated:
				if err := s.crashPoint("checkout:ledger"); err != nil {
					return l, head, err
				}
			}
		}
		seq := stored.Seq
		if mode == modeRepair {
			// The reconciler writes both projections again: a crash may
			// have left open_leases behind leases.
			seq = 0
		}
		projected, err := s.project(ctx, id, head, listed, seq)
		if err != nil {
			return l, head, err
		}
		if projected.State == LeaseCancelled && unitErr != nil {
			return projected, head, unitErr
		}
		return projected, head, nil
	}
	return Lease{}, eventlog.Entry[leaseEvent]{}, fmt.Errorf("rentals: lease %s is being changed by others; try again: %w", id, valid.Because(ErrConflict, "busy"))
}

// close appends the closing event after a return or loss whose balance is
// zero and returns it (nil when another writer moved the lease first). The
// caller (advance) has just written head's ledger entries.
func (s *Service) close(ctx context.Context, head eventlog.Entry[leaseEvent]) (*eventlog.Entry[leaseEvent], error) {
	l := leaseOf(head)
	next := l
	next.State, next.ClosedAt = LeaseClosed, s.now()
	if next.EndReason == "" {
		next.EndReason = "returned"
	}
	e, err := s.appendNext(ctx, head, leaseEvent{Kind: kindClosed, From: l.State, Lease: next, By: head.Event.By, Why: next.EndReason})
	if errors.Is(err, eventlog.ErrTaken) {
		return nil, nil // someone else closed it or moved on; the caller re-reads
	}
	if err != nil {
		return nil, err
	}
	return &e, nil
}

// turnHead is the lease's latest event for a turn of advance: probed from
// known, or, when the previous turn appended held, held unless something
// follows it (one lookup instead of re-reading held).
func (s *Service) turnHead(ctx context.Context, id string, known int64, held *eventlog.Entry[leaseEvent]) (eventlog.Entry[leaseEvent], error) {
	if held == nil {
		return s.leaseLg.Head(ctx, id, known)
	}
	next, newer, err := s.leaseLg.After(ctx, id, held.Seq)
	if err != nil || newer {
		return next, err
	}
	return *held, nil
}

// checkoutUnit makes sure the unit of an opened lease is rented to it. It
// reports moved=false when the checkout must be cancelled: the unit moved on
// for someone else (err wraps stations.ErrUnavailable), or the reconciler
// found it never moved (err nil). unit, when not nil, is the unit as the
// caller has just read it.
func (s *Service) checkoutUnit(ctx context.Context, head eventlog.Entry[leaseEvent], mode int, unit *stations.Unit) (bool, error) {
	ev, l := head.Event, leaseOf(head)
	u, err := s.leaseUnit(ctx, l, unit)
	if err != nil {
		return false, err
	}
	if u.State == stations.Rented && u.LeaseID == l.ID {
		return true, nil
	}
	if u.Seq != ev.UnitSeq {
		return false, fmt.Errorf("rentals: unit %s is %s now: %w", l.UnitTag, u.State, unitState(l.UnitTag, u.State))
	}
	switch mode {
	case modeRepair:
		return false, nil
	case modeInline:
		return false, fmt.Errorf("rentals: lease %s is being checked out at a desk; try again in a minute: %w", l.ID, valid.Because(ErrConflict, "busy"))
	}
	_, err = s.units.MoveFrom(ctx, u, stations.Move{
		To: stations.Rented, Kind: "checkout", LeaseID: l.ID, By: ev.By, Why: "lease " + l.ID,
		Details: map[string]string{"lease": l.ID},
		Check: func(cur stations.Unit) error {
			if cur.Seq != ev.UnitSeq {
				return fmt.Errorf("rentals: unit %s was changed just now: %w", l.UnitTag, valid.Because(stations.ErrUnavailable, "unit_changed", "tag", l.UnitTag))
			}
			// The reconciler cancels an abandoned checkout by taking the
			// lease's next sequence number; a writer that slow stops here.
			// A failed read is no such verdict: it must not cancel a
			// checkout that may be winning (the error goes up unchanged).
			_, taken, err := s.leaseLg.Get(ctx, l.ID, head.Seq+1)
			if err != nil {
				return fmt.Errorf("rentals: checkout %s: %w", l.ID, err)
			}
			if taken {
				return fmt.Errorf("rentals: checkout %s was abandoned; try again: %w", l.ID, valid.Because(stations.ErrUnavailable, "abandoned"))
			}
			// Tests stall the writer here, between its check and its move.
			return s.crashPoint("checkout:unit-checked")
		},
	})
	if err != nil {
		if errors.Is(err, stations.ErrUnavailable) {
			return false, err
		}
		return false, fmt.Errorf("rentals: %w", err)
	}
	return true, nil
}

// revertCheckout puts back a unit rented to a lease that ended cancelled:
// only possible when a writer's unit move won against the reconciler's
// cancellation. The unit goes through returned to cleaning, never straight
// back to available.
func (s *Service) revertCheckout(ctx context.Context, l Lease) error {
	if l.UnitTag == "" {
		return nil // the reconciler's cancellation of a checkout never written
	}
	u, err := s.units.Unit(ctx, l.UnitTag)
	if err != nil {
		return fmt.Errorf("rentals: %w", err)
	}
	if u.State != stations.Rented || u.LeaseID != l.ID {
		return nil
	}
	seq := u.Seq
	u, err = s.units.Move(ctx, l.UnitTag, stations.Move{To: stations.Returned, Kind: "checkout_reverted", By: tenancy.System,
		Why: "lease " + l.ID + " was cancelled", Details: map[string]string{"lease": l.ID},
		Check: func(cur stations.Unit) error {
			if cur.Seq != seq {
				return fmt.Errorf("rentals: unit %s changed: %w", l.UnitTag, stations.ErrUnavailable)
			}
			return nil
		}})
	if err != nil {
		return fmt.Errorf("rentals: %w", err)
	}
	_, err = s.units.Move(ctx, l.UnitTag, stations.Move{To: stations.Cleaning, By: tenancy.System, Why: "lease " + l.ID + " was cancelled"})
	if err != nil && !errors.Is(err, stations.ErrUnavailable) {
		return fmt.Errorf("rentals: %w", err)
	}
	return nil
}

// returnUnit performs the unit moves a check-in, loss or find decided, by
// the unit's sequence numbers: event UnitSeq+1 takes the unit off the lease
// (returned, or lost) or out of lost (found: returned), event UnitSeq+2
// sends a returned unit to cleaning or repair. A move whose sequence number
// is already used was done. flow names the crash points; unit, when not
// nil, is the unit as the caller has just read it.
func (s *Service) returnUnit(ctx context.Context, head eventlog.Entry[leaseEvent], flow string, unit *stations.Unit) error {
	ev, l := head.Event, leaseOf(head)
	at := func(seq int64) func(stations.Unit) error {
		return func(cur stations.Unit) error {
			if cur.Seq != seq {
				return fmt.Errorf("rentals: unit %s changed: %w", l.UnitTag, stations.ErrUnavailable)
			}
			return nil
		}
	}
	u, err := s.leaseUnit(ctx, l, unit)
	if err != nil {
		return err
	}
	first := u.Seq == ev.UnitSeq && (u.State == stations.Rented && u.LeaseID == l.ID || ev.Kind == kindFound && u.State == stations.Lost)
	if first {
		m := stations.Move{Kind: "checkin", To: stations.Returned, By: ev.By, Why: "lease " + l.ID,
			Details: map[string]string{"lease": l.ID}, Check: at(ev.UnitSeq)}
		switch {
		case ev.Kind == kindLost:
			m.Kind, m.To, m.Why = "lost", stations.Lost, "lease "+l.ID+" declared lost"
		case ev.Kind == kindFound:
			m.Kind, m.Why = "found", "lost on lease "+l.ID+", found"
		}
		if ev.Kind != kindLost && l.Return != nil {
			m.StationID = l.Return.StationID
			m.Details["outcome"] = string(l.Return.Outcome)
		}
		moved, err := s.units.MoveFrom(ctx, u, m)
		switch {
		case err == nil:
			u = moved
		case errors.Is(err, stations.ErrUnavailable):
			// Someone else made a move first: see where the unit is.
			if u, err = s.units.Unit(ctx, l.UnitTag); err != nil {
				return fmt.Errorf("rentals: %w", err)
			}
		default:
			return fmt.Errorf("rentals: %w", err)
		}
	}
	if ev.Kind == kindLost {
		return s.crashPoint("lost:unit")
	}
	if err := s.crashPoint(flow + ":unit-returned"); err != nil {
		return err
	}
	if u.Seq == ev.UnitSeq+1 && u.State == stations.Returned {
		m := stations.Move{Kind: "inspected", To: ev.UnitTo, By: ev.By, Why: "check-in of lease " + l.ID,
			Details: map[string]string{"lease": l.ID}, Check: at(ev.UnitSeq + 1)}
		if l.Return != nil {
			m.Details["outcome"] = string(l.Return.Outcome)
			if l.Return.Notes != "" {
				notes := l.Return.Notes
				m.Condition = &notes
			}
		}
		if _, err := s.units.MoveFrom(ctx, u, m); err != nil && !errors.Is(err, stations.ErrUnavailable) {
			return fmt.Errorf("rentals: %w", err)
		}
	}
	return s.crashPoint(flow + ":unit-inspected")
}

// leaseUnit returns the lease's unit: unit when the caller has just read it,
// else as its log says it is now.
func (s *Service) leaseUnit(ctx context.Context, l Lease, unit *stations.Unit) (stations.Unit, error) {
	if unit != nil && unit.Tag == l.UnitTag {
		return *unit, nil
	}
	u, err := s.units.Unit(ctx, l.UnitTag)
	if err != nil {
		return stations.Unit{}, fmt.Errorf("rentals: %w", err)
	}
	return u, nil
}

// project writes the leases and open_leases projections of the lease's log
// head; listed and seq say what advance found in leases when it started.
// Like stations' projection it re-reads the log after writing, so when two
// writers project different events, whoever finishes last writes the latest
// one, and a closed lease never stays in open_leases. A projection already
// at head is not written again: a lease whose flow is finished costs no
// write and one lookup (the log's next event). Otherwise both projections
// are written without reading them first: such a read would not make the
// write conditional (another writer may write in between), the probe after
// writing is what brings them to the head.
func (s *Service) project(ctx context.Context, id string, head eventlog.Entry[leaseEvent], listed bool, seq int64) (Lease, error) {
	for range 10 {
		l := leaseOf(head)
		if l.Listed && (!listed || seq < l.Seq) {
			if !listed {
				// The renter's lease index first: a lease is never listed
				// without it (family.go).
				if err := s.indexLease(ctx, l.RenterID, l.ID, false); err != nil {
					return l, err
				}
			}
			if err := s.leaseDB.putLease(ctx, l); err != nil {
				return l, err
			}
			if l.State.Open() {
				if err := s.leaseDB.putOpen(ctx, l); err != nil {
					return l, err
				}
			} else if err := s.leaseDB.deleteOpen(ctx, id); err != nil {
				// Only a listed lease ever had an open_leases document.
				return l, err
			}
			listed, seq = true, l.Seq
		}
		next, newer, err := s.leaseLg.After(ctx, id, head.Seq)
		if err != nil {
			return l, fmt.Errorf("rentals: %w", err)
		}
		if !newer {
			return l, nil
		}
		head = next
	}
	return leaseOf(head), nil
}
