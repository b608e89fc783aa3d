package rentals

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"fuju/internal/eventlog"
	"fuju/internal/tenancy"
	"fuju/stations"
)

// Tenancy of leases: any scope of the lease's operator may read it (a unit
// may come back at any of the operator's stations); changing it needs a scope
// covering the station it was checked out at or returned to (Checkin needs
// the desk's station, of the same operator). Another operator's lease is not
// found.

// Lease returns a lease as its log says it is now.
func (s *Service) Lease(ctx context.Context, scope tenancy.Scope, id string) (Lease, error) {
	l, _, err := s.readLease(ctx, scope, id)
	return l, err
}

func (s *Service) readLease(ctx context.Context, scope tenancy.Scope, id string) (Lease, eventlog.Entry[leaseEvent], error) {
	stored, _, err := s.leaseDB.lease(ctx, id)
	if err != nil {
		return Lease{}, eventlog.Entry[leaseEvent]{}, err
	}
	head, err := s.leaseLg.Head(ctx, id, stored.Seq)
	if err != nil {
		return Lease{}, head, fmt.Errorf("rentals: %w", err)
	}
	l := leaseOf(head)
	if head.Seq == 0 || !l.Listed || !scope.Operator(l.OperatorID) {
		return Lease{}, head, fmt.Errorf("rentals: lease %s: %w", id, ErrNotFound)
	}
	return l, head, nil
}

// LeaseOfUnit returns the lease a rented unit is out on: what the desk shows
// after scanning a tag.
func (s *Service) LeaseOfUnit(ctx context.Context, scope tenancy.Scope, tag string) (Lease, error) {
	tag = stations.NormalizeTag(tag)
	u, err := s.units.Unit(ctx, tag)
	if errors.Is(err, stations.ErrNotFound) || err == nil && !scope.Operator(u.OperatorID) {
		return Lease{}, fmt.Errorf("rentals: unit %s: %w", tag, ErrNotFound)
	}
	if err != nil {
		return Lease{}, fmt.Errorf("rentals: %w", err)
	}
	if u.LeaseID == "" {
		return Lease{}, fmt.Errorf("rentals: unit %s is %s, on no lease: %w", tag, u.State, ErrNotFound)
	}
	return s.Lease(ctx, scope, u.LeaseID)
}

// LeaseHistory returns every change of a lease, oldest first: who, when,
// from-state, to-state, why.
func (s *Service) LeaseHistory(ctx context.Context, scope tenancy.Scope, id string) ([]LeaseChange, error) {
	_, head, err := s.readLease(ctx, scope, id)
	if err != nil {
		return nil, err
	}
	entries, err := s.leaseLg.History(ctx, id, head.Seq)
	if err != nil {
		return nil, fmt.Errorf("rentals: %w", err)
	}
	out := make([]LeaseChange, len(entries))
	for i, e := range entries {
		out[i] = LeaseChange{Seq: e.Seq, At: e.At, Kind: e.Event.Kind, From: e.Event.From, To: e.Event.Lease.State, By: e.Event.By, Why: e.Event.Why}
	}
	return out, nil
}

// Ledger returns a lease's entries and balance as written. Complete is false
// while entries a desk operation planned are not all written yet.
func (s *Service) Ledger(ctx context.Context, scope tenancy.Scope, leaseID string) (Ledger, error) {
	l, err := s.Lease(ctx, scope, leaseID)
	if err != nil {
		return Ledger{}, err
	}
	return s.readLedger(ctx, l)
}

func (s *Service) readLedger(ctx context.Context, l Lease) (Ledger, error) {
	var entries []LedgerEntry
	complete := true
	for seq := int64(1); seq <= l.LedgerSeq; seq++ {
		e, ok, err := s.ledger.Get(ctx, l.ID, seq)
		if err != nil {
			return Ledger{}, fmt.Errorf("rentals: %w", err)
		}
		if !ok {
			complete = false
			continue
		}
		x := e.Event
		x.Seq = e.Seq
		entries = append(entries, x)
	}
	return newLedger(l.ID, entries, complete), nil
}

func (s *Service) openIn(ctx context.Context, scope tenancy.Scope, stationID string) ([]OpenLease, error) {
	if !scope.Platform && scope.OperatorID == "" {
		return []OpenLease{}, nil
	}
	docs, err := s.leaseDB.listOpen(ctx, scope.OperatorID, "")
	if err != nil {
		return nil, err
	}
	out := []OpenLease{}
	for _, d := range docs {
		at := d.StationID == stationID || d.ReturnStationID == stationID
		if stationID != "" && !at {
			continue
		}
		if !scope.Station(d.OperatorID, d.StationID) && !(d.ReturnStationID != "" && scope.Station(d.OperatorID, d.ReturnStationID)) {
			continue
		}
		out = append(out, d.toOpenLease())
	}
	return out, nil
}

// OpenLeases lists the open leases of scope, only those checked out at or
// returned to stationID when it is not empty.
func (s *Service) OpenLeases(ctx context.Context, scope tenancy.Scope, stationID string) ([]OpenLease, error) {
	return s.openIn(ctx, scope, stationID)
}

// overdueOn reports whether an open lease is overdue on day (marked or not
// yet marked by the job), with its days overdue.
func overdueOn(o OpenLease, day string) (int, bool) {
	if o.State != LeaseOverdue && o.State != LeaseActive {
		return 0, false
	}
	late := daysBetween(o.DueOn, day)
	return max(late, 0), o.State == LeaseOverdue || late > 0
}

// Overdue lists the overdue leases of scope with the renter's name and
// phone, most overdue first.
func (s *Service) Overdue(ctx context.Context, scope tenancy.Scope) ([]OpenLease, error) {
	open, err := s.openIn(ctx, scope, "")
	if err != nil {
		return nil, err
	}
	_, today := s.today()
	out := []OpenLease{}
	for _, o := range open {
		if late, ok := overdueOn(o, today); ok {
			o.DaysOverdue = late
			out = append(out, o)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].DaysOverdue > out[j].DaysOverdue })
	return out, nil
}

// MarkOverdue is the job that moves active leases past their due date (city
// date of now) to overdue. Each move is a lease event at the next sequence
// number, so instances running it at once mark each lease once. It returns
// how many leases it marked.
func (s *Service) MarkOverdue(ctx context.Context, now time.Time) (int, error) {
	docs, err := s.leaseDB.listOpen(ctx, "", "")
	if err != nil {
		return 0, err
	}
	today := Date(now)
	marked := 0
	for _, d := range docs {
		if d.State != LeaseActive || d.DueOn >= today {
			continue
		}
		head, err := s.leaseLg.Head(ctx, d.ID, d.Seq)
		if err != nil {
			return marked, fmt.Errorf("rentals: %w", err)
		}
		l := leaseOf(head)
		if l.State != LeaseActive || l.DueOn >= today {
			continue
		}
		ok, err := s.markOverdue(ctx, head)
		if err != nil {
			return marked, err
		}
		if ok {
			marked++
		}
	}
	return marked, nil
}

// markOverdue appends the overdue event after head under a pending marker,
// like every other flow, so a crash between the event and the projections
// is found and finished by the reconciler (and lists never keep showing an
// overdue lease as active). ok is false when another instance or a desk got
// there first.
func (s *Service) markOverdue(ctx context.Context, head eventlog.Entry[leaseEvent]) (bool, error) {
	l := leaseOf(head)
	marker, err := s.leaseLg.Begin(ctx, l.ID)
	if err != nil {
		return false, fmt.Errorf("rentals: %w", err)
	}
	if err := s.crashPoint("overdue:marked"); err != nil {
		return false, err
	}
	next := l
	next.State = LeaseOverdue
	_, err = s.appendLease(ctx, head, leaseEvent{Kind: kindOverdue, From: l.State, Lease: next, By: tenancy.System, Why: "due " + l.DueOn})
	if errors.Is(err, eventlog.ErrTaken) {
		_ = s.leaseLg.Done(ctx, marker)
		return false, nil // another instance, or a desk, got there first
	}
	if err != nil {
		return false, err
	}
	if err := s.crashPoint("overdue:event"); err != nil {
		return false, err
	}
	if _, _, err := s.advance(ctx, l.ID, modeInline); err != nil && !errors.Is(err, ErrConflict) {
		return true, err
	}
	if err := s.crashPoint("overdue:projected"); err != nil {
		return true, err
	}
	_ = s.leaseLg.Done(ctx, marker)
	return true, nil
}

// Queues returns a station desk's work on the day of now: reservations to
// hand over, leases due today and overdue (with the renter's name and phone),
// returned leases still owing, and the units waiting for cleaning, repair or
// inspection and travelling to or from the station.
func (s *Service) Queues(ctx context.Context, scope tenancy.Scope, stationID string, now time.Time) (Queues, error) {
	st, err := s.deskStation(ctx, scope, stationID)
	if err != nil {
		return Queues{}, err
	}
	day := Date(now)
	q := Queues{StationID: st.ID, Day: day, Pickups: []OpenLease{}, DueToday: []OpenLease{}, Overdue: []OpenLease{},
		Unsettled: []OpenLease{}, Returned: []stations.Unit{}, Cleaning: []stations.Unit{}, Repair: []stations.Unit{},
		InTransitIn: []stations.Unit{}, InTransitOut: []stations.Unit{}}
	open, err := s.openIn(ctx, scope, st.ID)
	if err != nil {
		return Queues{}, err
	}
	for _, o := range open {
		switch {
		case o.State == LeaseReserved && o.StationID == st.ID:
			q.Pickups = append(q.Pickups, o)
		case o.State == LeaseReturned || o.State == LeaseLost:
			q.Unsettled = append(q.Unsettled, o)
		case o.StationID != st.ID:
		default:
			if late, ok := overdueOn(o, day); ok {
				o.DaysOverdue = late
				q.Overdue = append(q.Overdue, o)
			} else if o.DueOn == day {
				q.DueToday = append(q.DueToday, o)
			}
		}
	}
	sort.SliceStable(q.Overdue, func(i, j int) bool { return q.Overdue[i].DaysOverdue > q.Overdue[j].DaysOverdue })
	units, err := s.units.UnitsAt(ctx, st.ID)
	if err != nil {
		return Queues{}, fmt.Errorf("rentals: %w", err)
	}
	for _, u := range units {
		if u.OperatorID != st.OperatorID {
			continue
		}
		switch {
		case u.State == stations.InTransit && u.ToStation == st.ID:
			q.InTransitIn = append(q.InTransitIn, u)
		case u.StationID != st.ID:
		case u.State == stations.InTransit:
			q.InTransitOut = append(q.InTransitOut, u)
		case u.State == stations.Returned:
			q.Returned = append(q.Returned, u)
		case u.State == stations.Cleaning:
			q.Cleaning = append(q.Cleaning, u)
		case u.State == stations.Repair:
			q.Repair = append(q.Repair, u)
		}
	}
	return q, nil
}
