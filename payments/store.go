package payments

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

// writeAttempts bounds retries of a projection write the embedded engine
// refused while SQLite's writer lock was busy; every write here is safe to
// repeat.
const writeAttempts = 8

// Documents of the projections. Every one carries the log sequence it
// reflects, so projections only move forward.
type (
	tabDoc struct {
		ID         string `bson:"_id"`
		Seq        int64  `bson:"seq"`
		OperatorID string `bson:"operator_id"`
		Tab        Tab    `bson:"tab"`
	}
	paymentDoc struct {
		ID         string    `bson:"_id"`
		Seq        int64     `bson:"seq"`
		LeaseID    string    `bson:"lease_id"`
		OperatorID string    `bson:"operator_id"`
		CreatedAt  time.Time `bson:"created_at"`
		Payment    Payment   `bson:"payment"`
	}
	// openDoc lists a tab waiting for Stripe; the reconciler scans these
	// (few) instead of every payment.
	openDoc struct {
		ID         string    `bson:"_id"`
		Seq        int64     `bson:"seq"`
		OperatorID string    `bson:"operator_id"`
		Since      time.Time `bson:"since"`
		CheckedAt  time.Time `bson:"checked_at"`
	}
	// objectDoc maps a Stripe object id to the tab (or the operator's
	// account) it belongs to.
	objectDoc struct {
		ID         string `bson:"_id"`
		Kind       string `bson:"kind"` // tab or account
		LeaseID    string `bson:"lease_id,omitempty"`
		OperatorID string `bson:"operator_id"`
	}
	queueDoc struct {
		ID         string    `bson:"_id"`
		Kind       string    `bson:"kind"`
		OperatorID string    `bson:"operator_id"`
		LeaseID    string    `bson:"lease_id"`
		PaymentID  string    `bson:"payment_id"`
		RefundID   string    `bson:"refund_id"`
		AmountFen  int64     `bson:"amount_fen"`
		Reason     string    `bson:"reason"`
		At         time.Time `bson:"at"`
	}
	accountDoc struct {
		ID      string  `bson:"_id"`
		Seq     int64   `bson:"seq"`
		Account Account `bson:"account"`
	}
)

type store struct {
	tabs, payments, open, objects, queue, accounts *mongo.Collection
}

func newStore(d *mongo.Database) *store {
	return &store{
		tabs: d.Collection("payment_tabs"), payments: d.Collection("payments"), open: d.Collection("payment_open"),
		objects: d.Collection("payment_objects"), queue: d.Collection("payment_queue"), accounts: d.Collection("payment_accounts"),
	}
}

func (s *store) collections() []*mongo.Collection {
	return []*mongo.Collection{s.tabs, s.payments, s.open, s.objects, s.queue, s.accounts}
}

func byID(id string) bson.D { return bson.D{{Key: "_id", Value: id}} }

func translate(err error, what string) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, mongo.ErrNoDocuments):
		return fmt.Errorf("payments: %s: %w", what, ErrNotFound)
	case mongo.IsDuplicateKeyError(err):
		return fmt.Errorf("payments: %s already exists: %w", what, ErrConflict)
	}
	return fmt.Errorf("payments: %s: %w", what, err)
}

// retry runs an idempotent write, again while the embedded engine is busy.
func retry(ctx context.Context, write func() error) error {
	return db.Retry(ctx, writeAttempts, write)
}

// get reads the document with _id id into v; ok is false when there is none.
func get(ctx context.Context, c *mongo.Collection, id string, v any) (bool, error) {
	err := c.FindOne(ctx, byID(id)).Decode(v)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return false, nil
	}
	if err != nil {
		return false, translate(err, c.Name()+" "+id)
	}
	return true, nil
}

// put replaces (or inserts) the document with _id id; two upserts of a new
// document racing end with one of them, which the callers' re-reads settle.
func put(ctx context.Context, c *mongo.Collection, id string, v any) error {
	err := retry(ctx, func() error {
		_, err := c.ReplaceOne(ctx, byID(id), v, options.Replace().SetUpsert(true))
		if mongo.IsDuplicateKeyError(err) {
			return nil
		}
		return err
	})
	return translate(err, "write "+c.Name()+" "+id)
}

// insert adds a document whose _id may exist already (then nothing changes).
func insert(ctx context.Context, c *mongo.Collection, v any) error {
	err := retry(ctx, func() error {
		_, err := c.InsertOne(ctx, v)
		if mongo.IsDuplicateKeyError(err) {
			return nil
		}
		return err
	})
	return translate(err, "insert into "+c.Name())
}

func remove(ctx context.Context, c *mongo.Collection, id string) error {
	err := retry(ctx, func() error {
		_, err := c.DeleteOne(ctx, byID(id))
		return err
	})
	return translate(err, "delete "+c.Name()+" "+id)
}

// tabSeq returns the sequence the tab's projection reflects (0 if none).
func (s *store) tabSeq(ctx context.Context, leaseID string) (int64, error) {
	var d tabDoc
	ok, err := get(ctx, s.tabs, leaseID, &d)
	if !ok || err != nil {
		return 0, err
	}
	return d.Seq, nil
}

func (s *store) payment(ctx context.Context, id string) (paymentDoc, bool, error) {
	var d paymentDoc
	ok, err := get(ctx, s.payments, id, &d)
	return d, ok, err
}

func (s *store) object(ctx context.Context, id string) (objectDoc, bool, error) {
	var d objectDoc
	ok, err := get(ctx, s.objects, id, &d)
	return d, ok, err
}

func (s *store) account(ctx context.Context, operatorID string) (accountDoc, bool, error) {
	var d accountDoc
	ok, err := get(ctx, s.accounts, operatorID, &d)
	return d, ok, err
}

// list reads the documents matching filter, newest first, a page at a time,
// with the total.
func list[T any](ctx context.Context, c *mongo.Collection, filter bson.D, sortKey string, limit, skip int64) ([]T, int64, error) {
	total, err := c.CountDocuments(ctx, filter)
	if err != nil {
		return nil, 0, translate(err, "count "+c.Name())
	}
	opts := options.Find().SetSort(bson.D{{Key: sortKey, Value: -1}, {Key: "_id", Value: 1}})
	if limit > 0 {
		opts.SetLimit(limit).SetSkip(skip)
	}
	cur, err := c.Find(ctx, filter, opts)
	if err != nil {
		return nil, 0, translate(err, "list "+c.Name())
	}
	var out []T
	if err := cur.All(ctx, &out); err != nil {
		return nil, 0, translate(err, "list "+c.Name())
	}
	return out, total, nil
}

// operatorFilter selects one operator's documents, or every operator's.
func operatorFilter(operatorID string) bson.D {
	if operatorID == "" {
		return bson.D{}
	}
	return bson.D{{Key: "operator_id", Value: operatorID}}
}

// listOpen lists a tab as waiting on Stripe since since, keeping when the
// reconciler last asked about it.
func (s *store) listOpen(ctx context.Context, leaseID, operatorID string, seq int64, since time.Time) error {
	err := retry(ctx, func() error {
		_, err := s.open.UpdateOne(ctx, byID(leaseID), bson.D{{Key: "$set", Value: bson.D{
			{Key: "seq", Value: seq}, {Key: "operator_id", Value: operatorID}, {Key: "since", Value: since},
		}}}, options.UpdateOne().SetUpsert(true))
		if mongo.IsDuplicateKeyError(err) {
			return nil
		}
		return err
	})
	return translate(err, "list open tab "+leaseID)
}

// openTabs returns every tab waiting on Stripe, newest first by when it
// began waiting. The collection holds only tabs still waiting, so it stays
// small.
func (s *store) openTabs(ctx context.Context) ([]openDoc, error) {
	docs, _, err := list[openDoc](ctx, s.open, bson.D{}, "since", 0, 0)
	return docs, err
}

// checked records that the reconciler asked Stripe about a tab at.
func (s *store) checked(ctx context.Context, leaseID string, at time.Time) error {
	err := retry(ctx, func() error {
		_, err := s.open.UpdateOne(ctx, byID(leaseID), bson.D{{Key: "$set", Value: bson.D{{Key: "checked_at", Value: at}}}})
		return err
	})
	return translate(err, "mark open tab "+leaseID+" checked")
}

func toQueueDoc(q QueueItem) queueDoc { return queueDoc(q) }

func (d queueDoc) item() QueueItem { return QueueItem(d) }
