package reports

import (
	"context"
	"errors"
	"fmt"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"fuju/internal/db"
)

// rollHead says how far an operator's roll-up goes: every day from First
// to Through is stored in rollups (`rollup/<operator>/<day>`); before
// First the operator had no history. One small document per operator, the
// only roll-up document that is ever updated, and only forward.
type rollHead struct {
	ID      string `bson:"_id"` // the operator
	First   string `bson:"first"`
	Through string `bson:"through"`
}

type rollStore struct {
	days  *mongo.Collection
	heads *mongo.Collection
}

func newRollStore(d *mongo.Database) *rollStore {
	return &rollStore{days: d.Collection("rollups"), heads: d.Collection("rollup_heads")}
}

func (s *rollStore) init(ctx context.Context) error {
	if err := db.EnsureCollections(ctx, s.days, s.heads); err != nil {
		return fmt.Errorf("reports: %w", err)
	}
	return nil
}

// head returns the operator's head, or a zero one when nothing is rolled.
func (s *rollStore) head(ctx context.Context, operatorID string) (rollHead, error) {
	var h rollHead
	err := s.heads.FindOne(ctx, bson.D{{Key: "_id", Value: operatorID}}).Decode(&h)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return rollHead{ID: operatorID}, nil
	}
	if err != nil {
		return rollHead{}, fmt.Errorf("reports: roll-up head of %s: %w", operatorID, err)
	}
	return h, nil
}

// putHead moves the head forward to h; it never moves it back (another
// instance may have gone further).
func (s *rollStore) putHead(ctx context.Context, h rollHead) error {
	cur, err := s.head(ctx, h.ID)
	if err != nil {
		return err
	}
	if cur.Through >= h.Through && cur.First != "" && cur.First <= h.First {
		return nil
	}
	// Another instance may have gone further: keep the widest span.
	h.Through = max(h.Through, cur.Through)
	if cur.First != "" {
		h.First = min(h.First, cur.First)
	}
	_, err = s.heads.ReplaceOne(ctx, bson.D{{Key: "_id", Value: h.ID}}, h, options.Replace().SetUpsert(true))
	if mongo.IsDuplicateKeyError(err) {
		return nil // two first writers raced with the same figures
	}
	if err != nil {
		return fmt.Errorf("reports: roll-up head of %s: %w", h.ID, err)
	}
	return nil
}

// day reads one stored day; ok is false when it is not stored.
func (s *rollStore) day(ctx context.Context, operatorID, day string) (rollDay, bool, error) {
	var d rollDay
	err := s.days.FindOne(ctx, bson.D{{Key: "_id", Value: rollID(operatorID, day)}}).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return rollDay{}, false, nil
	}
	if err != nil {
		return rollDay{}, false, fmt.Errorf("reports: roll-up %s/%s: %w", operatorID, day, err)
	}
	return d, true, nil
}

// save stores a day: inserted when it is not stored (cheap on every
// engine), left alone when stored with the same figures, replaced when
// stored with others (a crash or a late write left it wrong). It reports
// what it did.
func (s *rollStore) save(ctx context.Context, d rollDay) (saved, error) {
	cur, ok, err := s.day(ctx, d.OperatorID, d.Day)
	if err != nil {
		return kept, err
	}
	if !ok {
		_, err := s.days.InsertOne(ctx, d)
		if err == nil {
			return inserted, nil
		}
		if !mongo.IsDuplicateKeyError(err) {
			return kept, fmt.Errorf("reports: store roll-up %s: %w", d.ID, err)
		}
		// Another instance stored it meanwhile: compare with theirs.
		if cur, _, err = s.day(ctx, d.OperatorID, d.Day); err != nil {
			return kept, err
		}
	}
	if same, err := sameDay(cur, d); err != nil || same {
		return kept, err
	}
	if _, err := s.days.ReplaceOne(ctx, bson.D{{Key: "_id", Value: d.ID}}, d); err != nil {
		return kept, fmt.Errorf("reports: store roll-up %s: %w", d.ID, err)
	}
	return replaced, nil
}

// saved is what save did with a day.
type saved int

const (
	kept     saved = iota // stored already, with the same figures
	inserted              // stored for the first time
	replaced              // stored with other figures, now corrected
)

// sameDay compares two days by their stored form.
func sameDay(a, b rollDay) (bool, error) {
	x, err := bson.Marshal(a)
	if err != nil {
		return false, fmt.Errorf("reports: roll-up %s: %w", a.ID, err)
	}
	y, err := bson.Marshal(b)
	if err != nil {
		return false, fmt.Errorf("reports: roll-up %s: %w", b.ID, err)
	}
	return string(x) == string(y), nil
}
