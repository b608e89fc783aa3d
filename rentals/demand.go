package rentals

import (
	"context"
	"slices"
	"time"

	"fuju/internal/tenancy"
)

// Demand: what the dashboards read of reservations and the waitlist. The
// reservation and waitlist logs are the truth; DemandLog flattens them
// into the few steps the figures count, so reports never reads this
// package's storage.

// DemandKind is one step the demand figures count.
type DemandKind string

// Demand steps. A reservation counts once made (its first hold), then one
// outcome; a waitlist place counts its join, its first offer (with the
// wait since the join), and how it ended.
const (
	DemandReserved  DemandKind = "reserved"  // a family's hold was made
	DemandFulfilled DemandKind = "fulfilled" // the desk lent it
	DemandCancelled DemandKind = "cancelled" // by the family or staff
	DemandNoShow    DemandKind = "no_show"   // expired unclaimed (a pickup or delivery)
	DemandJoined    DemandKind = "joined"    // a place on a waitlist
	DemandOffered   DemandKind = "offered"   // a place's first offer (JoinedAt says since when)
	DemandWaiting   DemandKind = "waiting"   // a place back to waiting (its offer never held a unit)
	DemandServed    DemandKind = "served"    // the offer was lent
	DemandLeft      DemandKind = "left"      // the family left the queue
	DemandLapsed    DemandKind = "lapsed"    // the offer ran out unanswered
)

// DemandEvent is one step of a reservation or a waitlist place. A
// reservation carries its operator and station; a waitlist place its
// station (a station's queue) or its district (a district's queue), and
// the operator who may serve it: the station's, or, for a district's
// queue, the product's (only its units can be offered).
type DemandEvent struct {
	Kind       DemandKind
	At         time.Time
	Entity     string // the reservation or waitlist place
	OperatorID string
	StationID  string
	District   string
	ProductID  string
	// Offer marks a reservation made from the waitlist: it counts on the
	// waitlist's side (offered, served, lapsed), not as a family's
	// reservation.
	Offer bool
	// JoinedAt is the place's join time (waitlist steps).
	JoinedAt time.Time
}

// DemandLog returns the steps of every reservation and waitlist place
// before before that scope may see, oldest first; a step's time is the
// service's clock when it was made (the event's UpdatedAt). It scans both logs (the embedded engine
// scans whatever the filter), so callers read it once per roll or request.
func (r *Reservations) DemandLog(ctx context.Context, scope tenancy.Scope, before time.Time) ([]DemandEvent, error) {
	if !scope.Platform && scope.OperatorID == "" {
		return []DemandEvent{}, nil
	}
	res, err := r.store.reservationSteps(ctx)
	if err != nil {
		return nil, err
	}
	var out []DemandEvent
	made := map[string]bool{}
	for _, rec := range res {
		x := rec.Event.Res
		if !scope.Station(x.OperatorID, x.StationID) || !x.UpdatedAt.Before(before) {
			continue
		}
		ev := DemandEvent{At: x.UpdatedAt, Entity: rec.Entity, OperatorID: x.OperatorID, StationID: x.StationID, ProductID: x.ProductID, Offer: x.Offer}
		switch rec.Event.Kind {
		case resHeld:
			if made[rec.Entity] {
				continue // a substitution or a fulfilment undone: still one reservation
			}
			made[rec.Entity] = true
			ev.Kind = DemandReserved
		case resFulfilled:
			ev.Kind = DemandFulfilled
		case resClosed:
			if !made[rec.Entity] {
				continue // never held a unit: no reservation was made
			}
			switch {
			case x.State == ResCancelled:
				ev.Kind = DemandCancelled
			case x.State == ResExpired && x.NoShow:
				ev.Kind = DemandNoShow
			default:
				continue // an offer that lapsed counts on the waitlist's side
			}
		default:
			continue
		}
		out = append(out, ev)
	}
	wait, err := r.store.waitSteps(ctx)
	if err != nil {
		return nil, err
	}
	owner := map[string]string{} // station → operator, "product:" + id → operator
	offered := map[string]bool{}
	for _, rec := range wait {
		w := rec.Event.Entry
		if !w.UpdatedAt.Before(before) {
			continue
		}
		ev := DemandEvent{At: w.UpdatedAt, Entity: rec.Entity, StationID: w.StationID, District: w.District, ProductID: w.ProductID, JoinedAt: w.JoinedAt}
		k := w.StationID
		if k == "" {
			k = "product:" + w.ProductID
		}
		op, ok := owner[k]
		if !ok {
			if w.StationID != "" {
				if st, err := r.s.units.Station(ctx, w.StationID); err == nil {
					op = st.OperatorID
				}
			} else if p, ok := r.s.products.Lookup(w.ProductID); ok {
				op = p.OperatorID
			}
			owner[k] = op
		}
		if op == "" || !scope.Operator(op) || w.StationID != "" && !scope.Station(op, w.StationID) {
			continue
		}
		ev.OperatorID = op
		switch w.State {
		case WaitWaiting:
			ev.Kind = DemandJoined
			if rec.Seq > 1 {
				ev.Kind = DemandWaiting
			}
		case WaitOffered:
			if offered[rec.Entity] {
				continue
			}
			offered[rec.Entity] = true
			ev.Kind = DemandOffered
		case WaitServed:
			ev.Kind = DemandServed
		case WaitLeft:
			ev.Kind = DemandLeft
		case WaitLapsed:
			ev.Kind = DemandLapsed
		default:
			continue
		}
		out = append(out, ev)
	}
	slices.SortStableFunc(out, func(a, b DemandEvent) int { return a.At.Compare(b.At) })
	return out, nil
}
