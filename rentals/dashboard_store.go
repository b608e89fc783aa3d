package rentals

import (
	"context"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// ledgerRecord is an entry of the ledger logs as stored (eventlog "ledger").
type ledgerRecord struct {
	Entity string      `bson:"entity"`
	Seq    int64       `bson:"seq"`
	At     time.Time   `bson:"at"`
	Event  LedgerEntry `bson:"e"`
}

// ledgerEntries reads the ledger entries of one operator (every operator's
// for "") whose day is before before (all when empty), oldest first. With
// MongoDB the filter uses the index on e.operator_id and e.day
// (EnsureDashboardIndexes); the embedded engine scans the collection.
func (s *reportStore) ledgerEntries(ctx context.Context, operatorID, before string) ([]ledgerRecord, error) {
	filter := bson.D{}
	if operatorID != "" {
		filter = append(filter, bson.E{Key: "e.operator_id", Value: operatorID})
	}
	if before != "" {
		filter = append(filter, bson.E{Key: "e.day", Value: bson.D{{Key: "$lt", Value: before}}})
	}
	c := s.subsidy.Database().Collection("ledger_events")
	cur, err := c.Find(ctx, filter, options.Find().SetSort(bson.D{{Key: "at", Value: 1}, {Key: "_id", Value: 1}}))
	if err != nil {
		return nil, translate(err, "list ledger entries")
	}
	var out []ledgerRecord
	if err := cur.All(ctx, &out); err != nil {
		return nil, translate(err, "list ledger entries")
	}
	return out, nil
}

// EnsureDashboardIndexes creates the index the dashboards' ledger read
// uses (an operator's entries by day), so with MongoDB a dashboard reads
// only its operator's entries.
func (s *Service) EnsureDashboardIndexes(ctx context.Context) error {
	c := s.reports.subsidy.Database().Collection("ledger_events")
	_, err := c.Indexes().CreateOne(ctx, mongo.IndexModel{Keys: bson.D{{Key: "e.operator_id", Value: 1}, {Key: "e.day", Value: 1}}})
	return translate(err, "index ledger entries")
}
