package reports

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"fuju/internal/db"
)

// statementDoc is the projection of a statement's log that lists read: one
// small document per operator and month that was ever submitted. It carries
// the log sequence it reflects and only moves forward; lists check the log
// for newer events, so a projection a crash left behind is corrected on
// read.
type statementDoc struct {
	ID          string    `bson:"_id"` // <operator>/<yyyy-mm>
	OperatorID  string    `bson:"operator_id"`
	Month       string    `bson:"month"`
	Status      Status    `bson:"status"`
	Seq         int64     `bson:"seq"`
	Hash        string    `bson:"hash"`
	Lines       int       `bson:"lines"`
	SubsidyFen  int64     `bson:"subsidy_fen"`
	SubmittedAt time.Time `bson:"submitted_at,omitempty"`
}

type store struct {
	statements *mongo.Collection
}

func newStore(d *mongo.Database) *store {
	return &store{statements: d.Collection("statements")}
}

func (s *store) init(ctx context.Context) error {
	if err := db.EnsureCollections(ctx, s.statements); err != nil {
		return fmt.Errorf("reports: %w", err)
	}
	return nil
}

// put writes d unless the stored document reflects as late an event.
func (s *store) put(ctx context.Context, d statementDoc) error {
	var cur statementDoc
	err := s.statements.FindOne(ctx, bson.D{{Key: "_id", Value: d.ID}}).Decode(&cur)
	switch {
	case err == nil && cur.Seq >= d.Seq:
		return nil
	case err != nil && !errors.Is(err, mongo.ErrNoDocuments):
		return fmt.Errorf("reports: statement %s: %w", d.ID, err)
	}
	_, err = s.statements.ReplaceOne(ctx, bson.D{{Key: "_id", Value: d.ID}}, d, options.Replace().SetUpsert(true))
	if mongo.IsDuplicateKeyError(err) {
		return nil // two first writers raced; the log decides on the next read
	}
	if err != nil {
		return fmt.Errorf("reports: project statement %s: %w", d.ID, err)
	}
	return nil
}

// list returns the statements of one operator ("" for all), newest month
// first. The collection holds one small document per submitted month.
func (s *store) list(ctx context.Context, operatorID string) ([]statementDoc, error) {
	filter := bson.D{}
	if operatorID != "" {
		filter = bson.D{{Key: "operator_id", Value: operatorID}}
	}
	cur, err := s.statements.Find(ctx, filter, options.Find().SetSort(bson.D{{Key: "month", Value: -1}, {Key: "_id", Value: 1}}))
	if err != nil {
		return nil, fmt.Errorf("reports: list statements: %w", err)
	}
	var out []statementDoc
	if err := cur.All(ctx, &out); err != nil {
		return nil, fmt.Errorf("reports: list statements: %w", err)
	}
	return out, nil
}
