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

// Change names one changed entity.
type Change struct {
	Kind string `bson:"kind"` // "product", "station", "unit", "policy", …
	ID   string `bson:"id"`
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

// Publish records that kind/id changed. Writers call it after writing the
// entity; racing publishers retry at the next sequence number. It also wakes the
// local follower so this instance applies the change at once.
func (f *Feed) Publish(ctx context.Context, kind, id string) error {
	f.mu.Lock()
	known := max(f.seq, f.hint)
	f.mu.Unlock()
	for attempt := 0; attempt < 100; attempt++ {
		head, err := f.log.Head(ctx, f.name, known)
		if err != nil {
			return fmt.Errorf("changefeed: %w", err)
		}
		_, err = f.log.Append(ctx, f.name, head.Seq+1, Change{Kind: kind, ID: id})
		if errors.Is(err, eventlog.ErrTaken) {
			known = head.Seq + 1
			continue
		}
		if err != nil {
			return fmt.Errorf("changefeed: %w", err)
		}
		f.mu.Lock()
		f.hint = max(f.hint, head.Seq+1)
		f.mu.Unlock()
		select {
		case f.kick <- struct{}{}:
		default:
		}
		return nil
	}
	return fmt.Errorf("changefeed: publish %s %s: too much contention", kind, id)
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
		for _, h := range f.handlers[e.Event.Kind] {
			if err := h(ctx, e.Event.ID); err != nil {
				return fmt.Errorf("changefeed: apply %s %s: %w", e.Event.Kind, e.Event.ID, err)
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
