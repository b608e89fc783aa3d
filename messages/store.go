package messages

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

// writeAttempts bounds retries of a write the embedded engine refused because
// SQLite's writer lock stayed busy (see db.Retry).
const writeAttempts = 8

// msgDoc is a message in the archive, as enqueued; never updated.
type msgDoc struct {
	ID         string    `bson:"_id"`
	Event      string    `bson:"event"`
	Kind       Kind      `bson:"kind"`
	Recipient  string    `bson:"recipient"`
	Phone      string    `bson:"phone"`
	Lang       Lang      `bson:"lang"`
	Text       string    `bson:"text"`
	OperatorID string    `bson:"operator_id,omitempty"`
	StationID  string    `bson:"station_id,omitempty"`
	CreatedAt  time.Time `bson:"created_at"`
	SendAt     time.Time `bson:"send_at"`
	SendBy     time.Time `bson:"send_by,omitempty"`
}

// dueDoc is a message waiting in the outbox: everything a worker needs to
// send it, and when it may go next. It is a projection of the message's log
// (Seq is the event it reflects) and is deleted when the message is final.
type dueDoc struct {
	ID        string    `bson:"_id"`
	Due       time.Time `bson:"due"`
	Seq       int64     `bson:"seq"`
	Attempts  int       `bson:"attempts"`
	Error     string    `bson:"error,omitempty"`
	Kind      Kind      `bson:"kind"`
	Recipient string    `bson:"recipient"`
	Phone     string    `bson:"phone"`
	Lang      Lang      `bson:"lang"`
	Text      string    `bson:"text"`
	SendBy    time.Time `bson:"send_by,omitempty"`
}

func (m msgDoc) due() dueDoc {
	return dueDoc{ID: m.ID, Due: sendTime(m.Kind, m.SendAt), Kind: m.Kind, Recipient: m.Recipient,
		Phone: m.Phone, Lang: m.Lang, Text: m.Text, SendBy: m.SendBy}
}

// outcomeDoc is how a message ended; written once, after its final event.
type outcomeDoc struct {
	ID       string    `bson:"_id"`
	State    State     `bson:"state"`
	At       time.Time `bson:"at"`
	Attempts int       `bson:"attempts"`
	Error    string    `bson:"error,omitempty"`
}

// indexDoc lists a message in a list (an inbox, a station's log) at a
// sequence number; the newest entry has the highest.
type indexDoc struct {
	ID      string    `bson:"_id"` // <list>/<seq>
	List    string    `bson:"list"`
	Seq     int64     `bson:"seq"`
	Message string    `bson:"message"`
	At      time.Time `bson:"at"`
}

// prefDoc is a recipient's choices.
type prefDoc struct {
	ID           string `bson:"_id"` // recipient key
	RemindersOff bool   `bson:"reminders_off"`
	// Lang is the language the person last used with us ("" until known).
	Lang Lang      `bson:"lang,omitempty"`
	At   time.Time `bson:"at"`
}

type store struct {
	msgs     *mongo.Collection
	due      *mongo.Collection
	outcomes *mongo.Collection
	index    *mongo.Collection
	prefs    *mongo.Collection
}

func newStore(d *mongo.Database) *store {
	return &store{
		msgs:     d.Collection("messages"),
		due:      d.Collection("outbox_due"),
		outcomes: d.Collection("message_outcomes"),
		index:    d.Collection("message_index"),
		prefs:    d.Collection("message_prefs"),
	}
}

func (s *store) init(ctx context.Context) error {
	if err := db.EnsureCollections(ctx, s.msgs, s.due, s.outcomes, s.index, s.prefs); err != nil {
		return err
	}
	// The unique key lists a message once per list, however many writers
	// (an enqueue and the reconciler) try. Every entry has both fields.
	_, err := s.index.Indexes().CreateOne(ctx, mongo.IndexModel{
		Keys:    bson.D{{Key: "list", Value: 1}, {Key: "message", Value: 1}},
		Options: options.Index().SetUnique(true).SetName("list_message"),
	})
	if err != nil {
		return fmt.Errorf("index message_index: %w", err)
	}
	// Used by MongoDB; the embedded engine scans outbox_due, which stays small.
	_, err = s.due.Indexes().CreateOne(ctx, mongo.IndexModel{Keys: bson.D{{Key: "due", Value: 1}}, Options: options.Index().SetName("due")})
	if err != nil {
		return fmt.Errorf("index outbox_due: %w", err)
	}
	return nil
}

func byID(id string) bson.D { return bson.D{{Key: "_id", Value: id}} }

func translate(err error, what string) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, mongo.ErrNoDocuments):
		return fmt.Errorf("messages: %s: %w", what, ErrNotFound)
	case mongo.IsDuplicateKeyError(err):
		return fmt.Errorf("messages: %s already exists: %w", what, ErrConflict)
	}
	return fmt.Errorf("messages: %s: %w", what, err)
}

func insert(ctx context.Context, c *mongo.Collection, doc any) error {
	return db.Retry(ctx, writeAttempts, func() error { _, err := c.InsertOne(ctx, doc); return err })
}

func findByID[T any](ctx context.Context, c *mongo.Collection, id string) (T, bool, error) {
	var d T
	err := c.FindOne(ctx, byID(id)).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return d, false, nil
	}
	if err != nil {
		return d, false, translate(err, c.Name()+" "+id)
	}
	return d, true, nil
}

// insertMessage archives m; ErrConflict when its id is already there.
func (s *store) insertMessage(ctx context.Context, m msgDoc) error {
	return translate(insert(ctx, s.msgs, m), "message "+m.ID)
}

func (s *store) message(ctx context.Context, id string) (msgDoc, bool, error) {
	return findByID[msgDoc](ctx, s.msgs, id)
}

// queue puts d in the outbox unless it is there already.
func (s *store) queue(ctx context.Context, d dueDoc) error {
	err := insert(ctx, s.due, d)
	if mongo.IsDuplicateKeyError(err) {
		return nil
	}
	return translate(err, "queue "+d.ID)
}

func (s *store) dueOne(ctx context.Context, id string) (dueDoc, bool, error) {
	return findByID[dueDoc](ctx, s.due, id)
}

// reschedule moves a waiting message to its next time. The filter is exactly
// {_id}, the only one the embedded engine answers from an index (a filter
// with more than _id scans the collection even in an update: 200 ms at 2,000
// documents against 4 ms). Writers racing here may leave an older time or
// sequence behind; decisions read the message's log, so that costs at most
// an extra look.
func (s *store) reschedule(ctx context.Context, id string, seq int64, due time.Time, attempts int, errMsg string) error {
	set := bson.D{{Key: "due", Value: due}, {Key: "seq", Value: seq}, {Key: "attempts", Value: attempts}, {Key: "error", Value: errMsg}}
	err := db.Retry(ctx, writeAttempts, func() error {
		_, err := s.due.UpdateOne(ctx, byID(id), bson.D{{Key: "$set", Value: set}})
		return err
	})
	return translate(err, "reschedule "+id)
}

func (s *store) unqueue(ctx context.Context, id string) error {
	err := db.Retry(ctx, writeAttempts, func() error { _, err := s.due.DeleteOne(ctx, byID(id)); return err })
	return translate(err, "unqueue "+id)
}

// dueBy returns up to limit waiting messages whose time has come, earliest
// first. It scans outbox_due, which holds only unfinished messages.
func (s *store) dueBy(ctx context.Context, now time.Time, limit int) ([]dueDoc, error) {
	cur, err := s.due.Find(ctx, bson.D{{Key: "due", Value: bson.D{{Key: "$lte", Value: now}}}},
		options.Find().SetSort(bson.D{{Key: "due", Value: 1}}).SetLimit(int64(limit)))
	if err != nil {
		return nil, translate(err, "list due messages")
	}
	var out []dueDoc
	if err := cur.All(ctx, &out); err != nil {
		return nil, translate(err, "list due messages")
	}
	return out, nil
}

// finish records a final state; a second writer finds it there.
func (s *store) finish(ctx context.Context, o outcomeDoc) error {
	err := insert(ctx, s.outcomes, o)
	if mongo.IsDuplicateKeyError(err) {
		return nil
	}
	return translate(err, "outcome "+o.ID)
}

func (s *store) outcome(ctx context.Context, id string) (outcomeDoc, bool, error) {
	return findByID[outcomeDoc](ctx, s.outcomes, id)
}

func indexID(list string, seq int64) string { return fmt.Sprintf("%s/%010d", list, seq) }

func (s *store) entry(ctx context.Context, list string, seq int64) (indexDoc, bool, error) {
	return findByID[indexDoc](ctx, s.index, indexID(list, seq))
}

// addEntry inserts an index entry; ErrConflict when its sequence is taken or
// the message is already in the list.
func (s *store) addEntry(ctx context.Context, d indexDoc) error {
	return translate(insert(ctx, s.index, d), "index entry "+d.ID)
}

func (s *store) pref(ctx context.Context, key string) (prefDoc, bool, error) {
	return findByID[prefDoc](ctx, s.prefs, key)
}

// setPref sets one choice of the recipient with key and leaves the others:
// reminders and the language are chosen on different pages and may be
// chosen at the same moment.
func (s *store) setPref(ctx context.Context, key, field string, value any, at time.Time) error {
	set := bson.D{{Key: "$set", Value: bson.D{{Key: field, Value: value}, {Key: "at", Value: at}}}}
	err := db.Retry(ctx, writeAttempts, func() error {
		_, err := s.prefs.UpdateOne(ctx, byID(key), set, options.UpdateOne().SetUpsert(true))
		if mongo.IsDuplicateKeyError(err) {
			// Two first choices raced to create the document; the
			// other one exists now, so this update finds it.
			_, err = s.prefs.UpdateOne(ctx, byID(key), set)
		}
		return err
	})
	return translate(err, "preferences of "+key)
}
