// Package changefeed tells every instance of the service which entities changed,
// so in-process read models (DESIGN.md, "Reads that must be fast") converge
// within a poll interval without rescanning collections. A change is an event in
// a sequenced log (package eventlog): publishing appends at the head, following
// probes the next event id by _id. Applying a change means re-reading the entity
// by _id, so seeing a change twice is harmless.
package changefeed

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"go.mongodb.org/mongo-driver/v2/mongo"

	"fuju/internal/eventlog"
)

// Change names one changed entity. An event of the feed's log is one
// change, and carries in More the changes published with it (see Publish).
type Change struct {
	Kind string   `bson:"kind"` // "product", "station", "unit", "policy", …
	ID   string   `bson:"id"`
	More []Change `bson:"more,omitempty"`
}

// all returns the changes an event carries, in the order they were published.
func (c Change) all() []Change {
	return append([]Change{{Kind: c.Kind, ID: c.ID}}, c.More...)
}

// batch is the changes one event of the log will carry, and the publishers
// waiting for it to be written.
type batch struct {
	changes []Change
	seen    map[[2]string]bool
	done    chan struct{}
	err     error
}

// Handler applies a change to a read model. It re-reads the entity itself.
type Handler func(ctx context.Context, id string) error

// Feed is one named stream of changes, shared by all instances using the same
// database.
type Feed struct {
	name   string
	log    *eventlog.Log[Change]
	logger *slog.Logger

	mu       sync.Mutex
	seq      int64 // last sequence applied locally
	hint     int64 // highest sequence known to exist, where Publish probes from
	handlers map[string][]Handler
	kick     chan struct{}

	// pmu guards the publishing queue: the batch being filled and whether a
	// publisher is writing one.
	pmu     sync.Mutex
	open    *batch
	writing bool
}

// New returns the feed called name in db.
func New(db *mongo.Database, name string, logger *slog.Logger) *Feed {
	if logger == nil {
		logger = slog.Default()
	}
	return &Feed{
		name:     name,
		log:      eventlog.New[Change](db, "changes"),
		logger:   logger,
		handlers: map[string][]Handler{},
		kick:     make(chan struct{}, 1),
	}
}

// Handle registers h for changes of kind. Register before Run.
func (f *Feed) Handle(kind string, h Handler) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.handlers[kind] = append(f.handlers[kind], h)
}

// Mark records the feed's current head as applied. Call it before building read
// models from scratch, so changes written during the build are applied after.
func (f *Feed) Mark(ctx context.Context) error {
	if err := f.log.Init(ctx); err != nil {
		return fmt.Errorf("changefeed: %w", err)
	}
	f.mu.Lock()
	known := f.seq
	f.mu.Unlock()
	head, err := f.log.Head(ctx, f.name, known)
	if err != nil {
		return fmt.Errorf("changefeed: %w", err)
	}
	f.mu.Lock()
	if head.Seq > f.seq {
		f.seq = head.Seq
	}
	f.mu.Unlock()
	return nil
}

// Publish records that kind/id changed and returns once the change is in
// the log. Writers call it after writing the entity. It also wakes the local
// follower so this instance applies the change at once.
//
// Every publisher of the city appends to the one log, so publishing one
// event per change made concurrent writers race for the same sequence
// number: the losers probed and tried again, and the log's inserts
// serialised every desk behind each other. Publishers of an instance
// therefore commit as a group: the first one writes an event carrying every
// change published until it starts writing, the ones arriving meanwhile
// wait and are written together in the next event, by one of them. Each
// caller still returns only when an event holding its change is written, so
// a writer that clears its pending marker after Publish has announced its
// change (the reconciler's guarantee is unchanged).
func (f *Feed) Publish(ctx context.Context, kind, id string) error {
	c := Change{Kind: kind, ID: id}
	f.pmu.Lock()
	b := f.open
	if b == nil {
		b = &batch{seen: map[[2]string]bool{}, done: make(chan struct{})}
		f.open = b
	}
	if key := [2]string{kind, id}; !b.seen[key] {
		b.seen[key] = true
		b.changes = append(b.changes, c)
	}
	lead := !f.writing
	if lead {
		f.writing = true
	}
	f.pmu.Unlock()
	if lead {
		f.write(context.WithoutCancel(ctx))
	}
	select {
	case <-b.done:
		return b.err
	case <-ctx.Done():
		return fmt.Errorf("changefeed: publish %s %s: %w", kind, id, ctx.Err())
	}
}

// write writes the open batch, which holds the leader's own change, then
// hands the next open batch, if any, to a goroutine of its own so the leader
// returns to its caller after one write.
func (f *Feed) write(ctx context.Context) {
	f.pmu.Lock()
	b := f.open
	f.open = nil
	f.pmu.Unlock()
	b.err = f.append(ctx, b.changes)
	close(b.done)
	f.pmu.Lock()
	next := f.open != nil
	if !next {
		f.writing = false
	}
	f.pmu.Unlock()
	if next {
		go f.write(ctx)
	}
}

// append writes changes as the next event of the log; racing instances
// retry at the next sequence number.
func (f *Feed) append(ctx context.Context, changes []Change) error {
	ev := changes[0]
	ev.More = changes[1:]
	f.mu.Lock()
	known := max(f.seq, f.hint)
	f.mu.Unlock()
	for attempt := 0; attempt < 100; attempt++ {
		seq, err := f.head(ctx, known)
		if err != nil {
			return fmt.Errorf("changefeed: %w", err)
		}
		_, err = f.log.Append(ctx, f.name, seq+1, ev)
		if errors.Is(err, eventlog.ErrTaken) {
			known = seq + 1
			continue
		}
		if err != nil {
			return fmt.Errorf("changefeed: %w", err)
		}
		f.mu.Lock()
		f.hint = max(f.hint, seq+1)
		f.mu.Unlock()
		select {
		case f.kick <- struct{}{}:
		default:
		}
		return nil
	}
	return fmt.Errorf("changefeed: publish %d changes: too much contention", len(changes))
}

// head returns the log's last sequence number, probing from known, which
// this instance has seen written (so one lookup when nothing is newer).
func (f *Feed) head(ctx context.Context, known int64) (int64, error) {
	if known < 1 {
		h, err := f.log.Head(ctx, f.name, 0)
		return h.Seq, err
	}
	h, newer, err := f.log.After(ctx, f.name, known)
	if err != nil || !newer {
		return known, err
	}
	return h.Seq, nil
}

// Sync applies every change published since the last one applied.
func (f *Feed) Sync(ctx context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for {
		e, ok, err := f.log.Get(ctx, f.name, f.seq+1)
		if err != nil {
			return fmt.Errorf("changefeed: %w", err)
		}
		if !ok {
			return nil
		}
		for _, c := range e.Event.all() {
			for _, h := range f.handlers[c.Kind] {
				if err := h(ctx, c.ID); err != nil {
					return fmt.Errorf("changefeed: apply %s %s: %w", c.Kind, c.ID, err)
				}
			}
		}
		f.seq = e.Seq
	}
}

// Run follows the feed until ctx ends: it syncs every interval and whenever this
// instance publishes.
func (f *Feed) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-f.kick:
		}
		if err := f.Sync(ctx); err != nil && ctx.Err() == nil {
			f.logger.Warn("change feed sync failed", "feed", f.name, "err", err)
		}
	}
}
