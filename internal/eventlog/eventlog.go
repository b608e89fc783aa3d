// Package eventlog is the one implementation of the transition pattern of
// docs/transitions.md: every entity whose changes must not happen twice (a unit,
// a lease, a payment) has an append-only log whose event ids are
// "<entity>/<sequence zero-padded>". A writer reads the head, decides from it,
// and inserts the next event; two writers that saw the same head insert the same
// id and exactly one wins, on MongoDB and on embedded FerretDB alike, because it
// rests on the unique _id and never on an update filter.
package eventlog

import (
	"context"
	"crypto/rand"
	"encoding/hex"
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

// ErrTaken means another writer appended the same sequence number first.
var ErrTaken = errors.New("eventlog: sequence already taken")

// SeqWidth is the zero-padded width of sequence numbers in event ids, so ids of
// one entity sort in order.
const SeqWidth = 10

// Entry is one recorded event.
type Entry[E any] struct {
	Seq   int64
	At    time.Time
	Event E
}

type record[E any] struct {
	ID     string    `bson:"_id"`
	Entity string    `bson:"entity"`
	Seq    int64     `bson:"seq"`
	At     time.Time `bson:"at"`
	Event  E         `bson:"e"`
}

// Log is the append-only log of one kind of entity.
type Log[E any] struct {
	kind    string
	events  *mongo.Collection
	pending *mongo.Collection
	now     func() time.Time
}

// New returns the log of kind (for example "unit") stored in the collection
// "<kind>_events". Pending-transition markers of every kind share the
// "pending_transitions" collection, which stays small.
func New[E any](db *mongo.Database, kind string) *Log[E] {
	return &Log[E]{
		kind:    kind,
		events:  db.Collection(kind + "_events"),
		pending: db.Collection("pending_transitions"),
		now:     func() time.Time { return time.Now().UTC() },
	}
}

// SetClock replaces the clock that stamps events (tests and the demo
// city's history, which happen on other days than today).
func (l *Log[E]) SetClock(now func() time.Time) { l.now = now }

// Init creates the log's collections if they do not exist yet, so they exist
// (and can be indexed, see db.Tune) before the first event.
func (l *Log[E]) Init(ctx context.Context) error {
	if err := db.EnsureCollections(ctx, l.events, l.pending); err != nil {
		return fmt.Errorf("eventlog: %w", err)
	}
	return nil
}

// ID returns the event id of entity's event number seq.
func ID(entity string, seq int64) string {
	return fmt.Sprintf("%s/%0*d", entity, SeqWidth, seq)
}

// Get returns event seq of entity, or ok=false when it does not exist.
func (l *Log[E]) Get(ctx context.Context, entity string, seq int64) (Entry[E], bool, error) {
	var r record[E]
	err := l.events.FindOne(ctx, bson.D{{Key: "_id", Value: ID(entity, seq)}}).Decode(&r)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return Entry[E]{}, false, nil
	}
	if err != nil {
		return Entry[E]{}, false, fmt.Errorf("eventlog: read %s %s/%d: %w", l.kind, entity, seq, err)
	}
	return Entry[E]{Seq: r.Seq, At: r.At, Event: r.Event}, true, nil
}

// Head returns the latest event of entity, starting from known, the sequence a
// projection last recorded (0 when none). It probes known, known+1, … by _id, so
// it costs one lookup more than the number of events the projection missed. An
// entity without events has a zero Entry (Seq 0).
func (l *Log[E]) Head(ctx context.Context, entity string, known int64) (Entry[E], error) {
	var head Entry[E]
	seq := known
	if seq < 1 {
		seq = 1
	}
	for {
		e, ok, err := l.Get(ctx, entity, seq)
		if err != nil {
			return Entry[E]{}, err
		}
		if !ok {
			if seq == known && known > 1 {
				// The projection claims an event the log lacks: only possible
				// when data was lost. Fall back to a scan from the start.
				return l.Head(ctx, entity, 0)
			}
			return head, nil
		}
		head = e
		seq++
	}
}

// After returns the latest event of entity after known, or ok=false when
// known is the head. It is Head for a caller that already holds event
// known's content (a projection written from it): it probes known+1, … by
// _id and so costs one lookup when nothing is newer. A projection is only
// ever written after its event, so it does not check that event known
// exists; callers whose projection may precede its first event (a unit
// inserted before its creation event) use Head for known < 2.
func (l *Log[E]) After(ctx context.Context, entity string, known int64) (Entry[E], bool, error) {
	var head Entry[E]
	newer := false
	for seq := known + 1; ; seq++ {
		e, ok, err := l.Get(ctx, entity, seq)
		if err != nil {
			return Entry[E]{}, false, err
		}
		if !ok {
			return head, newer, nil
		}
		head, newer = e, true
	}
}

// Append records ev as event seq of entity. It returns ErrTaken when that
// sequence number is already used: the caller decided from a stale head.
func (l *Log[E]) Append(ctx context.Context, entity string, seq int64, ev E) (Entry[E], error) {
	if seq < 1 {
		return Entry[E]{}, fmt.Errorf("eventlog: %s %s: sequence %d < 1", l.kind, entity, seq)
	}
	r := record[E]{ID: ID(entity, seq), Entity: entity, Seq: seq, At: l.now(), Event: ev}
	err := db.Retry(ctx, writeAttempts, func() error {
		_, err := l.events.InsertOne(ctx, r)
		return err
	})
	if mongo.IsDuplicateKeyError(err) {
		return Entry[E]{}, fmt.Errorf("eventlog: %s %s event %d: %w", l.kind, entity, seq, ErrTaken)
	}
	if err != nil {
		return Entry[E]{}, fmt.Errorf("eventlog: append %s %s/%d: %w", l.kind, entity, seq, err)
	}
	return Entry[E]{Seq: seq, At: r.At, Event: ev}, nil
}

// History returns events 1..head of entity in order.
func (l *Log[E]) History(ctx context.Context, entity string, head int64) ([]Entry[E], error) {
	out := make([]Entry[E], 0, head)
	for seq := int64(1); seq <= head; seq++ {
		e, ok, err := l.Get(ctx, entity, seq)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, fmt.Errorf("eventlog: %s %s has no event %d below head %d", l.kind, entity, seq, head)
		}
		out = append(out, e)
	}
	return out, nil
}

// Pending marks that a transition of entity is in flight: the writer calls Begin
// before appending and Done after its projections are written. A marker that
// outlives a crash is what the reconciler finds (Stale) and repairs, so it never
// has to scan a large log.
type Pending struct {
	ID     string    `bson:"_id"`
	Kind   string    `bson:"kind"`
	Entity string    `bson:"entity"`
	At     time.Time `bson:"at"`
	// Entities lists every entity of a batch (BeginMany); Entity is then the
	// batch's name.
	Entities []string `bson:"entities,omitempty"`
}

// Begin records that a transition of entity is starting.
func (l *Log[E]) Begin(ctx context.Context, entity string) (Pending, error) {
	var b [8]byte
	_, _ = rand.Read(b[:])
	p := Pending{ID: l.kind + "/" + entity + "/" + hex.EncodeToString(b[:]), Kind: l.kind, Entity: entity, At: l.now()}
	if err := db.Retry(ctx, writeAttempts, func() error { _, err := l.pending.InsertOne(ctx, p); return err }); err != nil {
		return Pending{}, fmt.Errorf("eventlog: mark %s %s pending: %w", l.kind, entity, err)
	}
	return p, nil
}

// BeginMany records that a batch of transitions is starting, one marker for
// all of them.
func (l *Log[E]) BeginMany(ctx context.Context, batch string, entities []string) (Pending, error) {
	var b [8]byte
	_, _ = rand.Read(b[:])
	p := Pending{ID: l.kind + "/" + batch + "/" + hex.EncodeToString(b[:]), Kind: l.kind, Entity: batch, At: l.now(), Entities: entities}
	if err := db.Retry(ctx, writeAttempts, func() error { _, err := l.pending.InsertOne(ctx, p); return err }); err != nil {
		return Pending{}, fmt.Errorf("eventlog: mark %s batch %s pending: %w", l.kind, batch, err)
	}
	return p, nil
}

// Item is one event of AppendMany.
type Item[E any] struct {
	Entity string
	Seq    int64
	Event  E
	// At is when it happened; zero is now (an import of history sets it).
	At time.Time
}

// AppendMany inserts many events in one round trip, for bulk imports. The
// result has one error per item: nil, ErrTaken, or another failure. The
// second return is for failures of the whole call.
func (l *Log[E]) AppendMany(ctx context.Context, items []Item[E]) ([]error, error) {
	errs := make([]error, len(items))
	if len(items) == 0 {
		return errs, nil
	}
	docs := make([]any, len(items))
	at := l.now()
	for i, it := range items {
		when := at
		if !it.At.IsZero() {
			when = it.At.UTC()
		}
		docs[i] = record[E]{ID: ID(it.Entity, it.Seq), Entity: it.Entity, Seq: it.Seq, At: when, Event: it.Event}
	}
	err := db.Retry(ctx, writeAttempts, func() error {
		_, err := l.events.InsertMany(ctx, docs, options.InsertMany().SetOrdered(false))
		return err
	})
	if err == nil {
		return errs, nil
	}
	var bwe mongo.BulkWriteException
	if !errors.As(err, &bwe) || len(bwe.WriteErrors) == 0 {
		return nil, fmt.Errorf("eventlog: append %d %s events: %w", len(items), l.kind, err)
	}
	for _, we := range bwe.WriteErrors {
		if we.Index < 0 || we.Index >= len(items) {
			continue
		}
		if we.Code == 11000 {
			errs[we.Index] = fmt.Errorf("eventlog: %s %s event %d: %w", l.kind, items[we.Index].Entity, items[we.Index].Seq, ErrTaken)
		} else {
			errs[we.Index] = fmt.Errorf("eventlog: append %s %s: %s", l.kind, items[we.Index].Entity, we.Message)
		}
	}
	return errs, nil
}

// Done removes a pending marker once the transition's projections are written
// (or the transition was refused). A failure here only leaves work for the
// reconciler, so it is not reported to the caller's user.
func (l *Log[E]) Done(ctx context.Context, p Pending) error {
	if p.ID == "" {
		return nil
	}
	ctx = context.WithoutCancel(ctx)
	err := db.Retry(ctx, writeAttempts, func() error {
		_, err := l.pending.DeleteOne(ctx, bson.D{{Key: "_id", Value: p.ID}})
		return err
	})
	if err != nil {
		return fmt.Errorf("eventlog: clear pending %s: %w", p.ID, err)
	}
	return nil
}

// Stale returns this kind's pending markers older than age: transitions whose
// writer crashed or gave up between writes.
func (l *Log[E]) Stale(ctx context.Context, age time.Duration) ([]Pending, error) {
	cur, err := l.pending.Find(ctx, bson.D{
		{Key: "kind", Value: l.kind},
		{Key: "at", Value: bson.D{{Key: "$lt", Value: l.now().Add(-age)}}},
	})
	if err != nil {
		return nil, fmt.Errorf("eventlog: list pending %s: %w", l.kind, err)
	}
	var out []Pending
	if err := cur.All(ctx, &out); err != nil {
		return nil, fmt.Errorf("eventlog: list pending %s: %w", l.kind, err)
	}
	return out, nil
}
