package stations

import (
	"context"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

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
