package stations

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"fuju/internal/eventlog"
	"fuju/internal/tenancy"
)

// Reads for the operators' and the city's dashboards (package reports): the
// whole history of every unit of an operator, from which a dashboard tells
// where each unit was on any day (owned, rented, in repair), how long a
// returned unit took to be available again, and which models go to repair.

// UnitTrail is one unit's history, oldest event first.
type UnitTrail struct {
	Tag    string         `json:"tag"`
	Events []HistoryEntry `json:"events"`
}

// unitEventRecord is a unit event as stored (eventlog "unit").
type unitEventRecord struct {
	Entity string    `bson:"entity"`
	Seq    int64     `bson:"seq"`
	At     time.Time `bson:"at"`
	Event  UnitEvent `bson:"e"`
}

// UnitTrails returns the histories of scope's units (every operator's for
// the platform; staff see their stations' units) with events before before
// (every event when zero). One read of the operator's unit events.
func (s *Service) UnitTrails(ctx context.Context, scope tenancy.Scope, before time.Time) ([]UnitTrail, error) {
	if !scope.Platform && scope.OperatorID == "" {
		return []UnitTrail{}, nil
	}
	filter := bson.D{}
	if !scope.Platform {
		filter = append(filter, bson.E{Key: "e.operator_id", Value: scope.OperatorID})
	}
	if !before.IsZero() {
		filter = append(filter, bson.E{Key: "at", Value: bson.D{{Key: "$lt", Value: before}}})
	}
	cur, err := s.unitEvents().Find(ctx, filter, options.Find().SetSort(bson.D{{Key: "entity", Value: 1}, {Key: "seq", Value: 1}}))
	if err != nil {
		return nil, translate(err, "list unit events")
	}
	var recs []unitEventRecord
	if err := cur.All(ctx, &recs); err != nil {
		return nil, translate(err, "list unit events")
	}
	out := []UnitTrail{}
	for _, r := range recs {
		if n := len(out); n == 0 || out[n-1].Tag != r.Entity {
			out = append(out, UnitTrail{Tag: r.Entity})
		}
		t := &out[len(out)-1]
		t.Events = append(t.Events, HistoryEntry{Seq: r.Seq, At: r.At, UnitEvent: r.Event})
	}
	// A staff scope sees only the units whose latest station is theirs.
	kept := out[:0]
	for _, t := range out {
		last := t.Events[len(t.Events)-1].UnitEvent
		if scope.Station(last.OperatorID, last.StationID) {
			kept = append(kept, t)
		}
	}
	return kept, nil
}

func (s *Service) unitEvents() *mongo.Collection {
	return s.store.units.Database().Collection("unit_events")
}

// EnsureDashboardIndexes creates the index the dashboards' unit read uses
// (an operator's unit events), so with MongoDB a dashboard reads only its
// operator's events.
func (s *Service) EnsureDashboardIndexes(ctx context.Context) error {
	if _, err := s.unitEvents().Indexes().CreateOne(ctx, mongo.IndexModel{Keys: bson.D{{Key: "e.operator_id", Value: 1}, {Key: "at", Value: 1}}}); err != nil {
		return fmt.Errorf("stations: index unit events: %w", err)
	}
	return nil
}

// unitHeads lists the projections of operatorID's units ("" for every
// operator's): one find, of far fewer documents than their events.
func (s *store) unitHeads(ctx context.Context, operatorID string) ([]Unit, error) {
	filter := bson.D{}
	if operatorID != "" {
		filter = append(filter, bson.E{Key: "operator_id", Value: operatorID})
	}
	cur, err := s.units.Find(ctx, filter)
	if err != nil {
		return nil, translate(err, "list unit heads")
	}
	var docs []unitDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, translate(err, "list unit heads")
	}
	out := make([]Unit, len(docs))
	for i, d := range docs {
		out[i] = d.toUnit()
	}
	return out, nil
}

// trailReaders bounds the units whose logs TrailEnds reads at once.
const trailReaders = 8

// trailSkew is how far a unit's event times may run against their order
// (instances' clocks disagree; the roll-up's RollGrace allows as much):
// TrailEnds reads a unit's log back past its last event before from until
// an event this much before from, and reads the whole trails when the
// times it sees run backwards.
const trailSkew = time.Hour

// TrailEnds returns what UnitTrails(scope, before) returns, cut to the
// part that decides the figures of the day starting at from (before is
// that day's end): each unit's last event before from, every event since,
// and, when the unit became available again in that day, the events back
// to the one that started its turnaround (a return) or made it moot.
// The units come from their projections (one find); a unit whose log has
// nothing newer than its projection, written before from, is its
// projection; the others' events are read from their logs by _id: the
// newer events after the projection's sequence, then backwards. The reads grow with the units and the day's events, not
// with the history. ok is false when a unit's log could make the ends
// differ from the whole trails (events out of time order, an event of
// another operator, an event at or after before): the caller then reads
// UnitTrails. A scope limited to some stations is not served (ok false).
func (s *Service) TrailEnds(ctx context.Context, scope tenancy.Scope, from, before time.Time) ([]UnitTrail, bool, error) {
	if !scope.Platform && scope.OperatorID == "" {
		return []UnitTrail{}, true, nil
	}
	if !scope.Platform && scope.StationIDs != nil {
		return nil, false, nil
	}
	op := ""
	if !scope.Platform {
		op = scope.OperatorID
	}
	units, err := s.store.unitHeads(ctx, op)
	if err != nil {
		return nil, false, err
	}
	trails := make([]UnitTrail, len(units))
	fine := make([]bool, len(units))
	errs := make([]error, len(units))
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(trailReaders, len(units)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				trails[i], fine[i], errs[i] = s.trailEnd(ctx, units[i], op, from, before)
			}
		}()
	}
	for i := range units {
		next <- i
	}
	close(next)
	wg.Wait()
	out := []UnitTrail{}
	for i := range units {
		if errs[i] != nil {
			return nil, false, errs[i]
		}
		if !fine[i] {
			return nil, false, nil
		}
		if len(trails[i].Events) > 0 {
			out = append(out, trails[i])
		}
	}
	slices.SortFunc(out, func(a, b UnitTrail) int { return strings.Compare(a.Tag, b.Tag) })
	return out, true, nil
}

// trailEnd is TrailEnds for one unit u (its tag and known sequence).
func (s *Service) trailEnd(ctx context.Context, u Unit, op string, from, before time.Time) (UnitTrail, bool, error) {
	t := UnitTrail{Tag: u.Tag}
	var head eventlog.Entry[UnitEvent]
	if u.Seq < 2 {
		// The projection may have been inserted before its creation event.
		h, err := s.log.Head(ctx, u.Tag, 0)
		if err != nil {
			return t, false, fmt.Errorf("stations: %w", err)
		}
		head = h
	} else {
		h, newer, err := s.log.After(ctx, u.Tag, u.Seq)
		if err != nil {
			return t, false, fmt.Errorf("stations: %w", err)
		}
		if !newer && u.UpdatedAt.Before(from.Add(-trailSkew)) {
			// Unchanged since before from: the projection holds the whole
			// state of its event (applyEvent), which is all the day needs
			// of the unit's last event before it.
			t.Events = []HistoryEntry{{Seq: u.Seq, At: u.UpdatedAt, UnitEvent: UnitEvent{To: u.State, ProductID: u.ProductID,
				OperatorID: u.OperatorID, StationID: u.StationID, ToStation: u.ToStation, LeaseID: u.LeaseID, Condition: u.Condition,
				AcquiredOn: u.AcquiredOn}}}
			if u.OperatorID == "" || (op != "" && u.OperatorID != op) {
				return t, false, nil
			}
			return t, true, nil
		}
		if !newer {
			e, ok, err := s.log.Get(ctx, u.Tag, u.Seq)
			if err != nil {
				return t, false, fmt.Errorf("stations: %w", err)
			}
			if !ok {
				return t, false, nil // a projection ahead of its log
			}
			h = e
		}
		head = h
	}
	if head.Seq == 0 {
		return t, true, nil // no events: no trail, as in UnitTrails
	}
	// Newest first, back to the last event before from (and trailSkew
	// further), then on while a turnaround that ends in the day may have
	// started earlier.
	var back []eventlog.Entry[UnitEvent]
	availableToday := false
	e := head
	for {
		if e.Event.OperatorID == "" || (op != "" && e.Event.OperatorID != op) || !e.At.Before(before) {
			return t, false, nil
		}
		if len(back) > 0 && e.At.After(back[len(back)-1].At) {
			return t, false, nil
		}
		back = append(back, e)
		if e.At.Before(from.Add(-trailSkew)) {
			to := e.Event.To
			if !availableToday || to == Returned || to == Available || to == Lost || to == Retired {
				break
			}
		} else if !e.At.Before(from) && e.Event.To == Available {
			availableToday = true
		}
		if e.Seq <= 1 {
			break
		}
		prev, ok, err := s.log.Get(ctx, u.Tag, e.Seq-1)
		if err != nil {
			return t, false, fmt.Errorf("stations: %w", err)
		}
		if !ok {
			return t, false, nil // a gap in the log
		}
		e = prev
	}
	for i := len(back) - 1; i >= 0; i-- {
		t.Events = append(t.Events, HistoryEntry{Seq: back[i].Seq, At: back[i].At, UnitEvent: back[i].Event})
	}
	return t, true, nil
}
