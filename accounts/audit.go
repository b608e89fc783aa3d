package accounts

import (
	"context"
	"fmt"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"fuju/internal/audit"
	"fuju/internal/ids"
)

// Change and Entry are the audit log's shapes, kept in internal/audit so
// every domain can record without importing this package.
type (
	Change = audit.Change
	Entry  = audit.Entry
)

// Record appends an entry to the audit log; the Service is the audit.Recorder
// every domain is given.
func (s *Service) Record(ctx context.Context, e Entry) error {
	e.ID = ids.New("aud")
	if e.At.IsZero() {
		e.At = s.now()
	}
	if _, err := s.store.audit.InsertOne(context.WithoutCancel(ctx), e); err != nil {
		return fmt.Errorf("auth: audit: %w", err)
	}
	return nil
}

// AuditFilter selects audit entries; OperatorID "" means every operator (the
// platform admin's view).
type AuditFilter struct {
	OperatorID string
	Limit      int64
	Skip       int64
}

// Audit returns entries newest first, with the total count.
func (s *Service) Audit(ctx context.Context, f AuditFilter) ([]Entry, int64, error) {
	filter := bson.D{}
	if f.OperatorID != "" {
		filter = bson.D{{Key: "operator_id", Value: f.OperatorID}}
	}
	total, err := s.store.audit.CountDocuments(ctx, filter)
	if err != nil {
		return nil, 0, translate(err, "audit")
	}
	if f.Limit <= 0 || f.Limit > 200 {
		f.Limit = 50
	}
	cur, err := s.store.audit.Find(ctx, filter, options.Find().SetSort(bson.D{{Key: "at", Value: -1}}).SetSkip(f.Skip).SetLimit(f.Limit))
	if err != nil {
		return nil, 0, translate(err, "audit")
	}
	out := []Entry{}
	if err := cur.All(ctx, &out); err != nil {
		return nil, 0, translate(err, "audit")
	}
	return out, total, nil
}
