// Package throttle counts attempts (logins, sign-ups, look-ups) per key in
// fixed time windows, in the database, so every instance behind a load
// balancer counts against the same limit.
//
// Each counted attempt is an inserted document whose _id is
// "<limit>/<key hash>/<window>/a/<n>": the n-th attempt of that key in that
// window. Two attempts (on any instances) that pick the same n insert the
// same _id and exactly one wins; the loser moves to n+1. So a count is exact
// on MongoDB and on the embedded FerretDB alike, and rests on the unique _id,
// never on an update (measured on the embedded engine: 50 concurrent $inc
// upserts of one document counted 29 to 36, and updates scan the
// collection). A refund (an attempt that should not count, such as a login
// that succeeded) is a credit document ".../c/<m>" in the same way. Documents
// of ended windows are removed by Purge, a job every instance runs.
//
// What an instance keeps in memory only makes counting cheaper and can never
// let more attempts through than the database allows:
//   - the last attempt and credit numbers it saw per key and window, where
//     probing starts: counts only grow within a window, so the true next
//     number is never below them;
//   - that a key went over its limit in a window: attempts are never removed
//     within a window and credits only come from attempts already counted,
//     so the key stays refused (at worst stricter than another instance that
//     has seen a later credit) until the window ends;
//   - a lock per key stripe, so one instance's parallel attempts on a key
//     take numbers in turn instead of colliding on the same _id (measured: 50
//     uncoordinated parallel inserts of the next number of one key made 1,275
//     insert attempts; in turn, 50).
package throttle

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/maphash"
	"sync"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"fuju/internal/db"
)

// writeAttempts bounds retries of an insert the embedded engine refused
// because SQLite's writer stayed busy (db.Retry).
const writeAttempts = 8

// maxHints bounds the in-memory hints; past it, hints of ended windows are
// dropped, and if that is not enough, all of them (they only save lookups).
const maxHints = 20000

// Store keeps the counters of every limit in the collection "throttle".
type Store struct {
	c   *mongo.Collection
	key []byte
	// Now is the clock; tests set it. Defaults to time.Now.
	Now func() time.Time

	seed    maphash.Seed
	stripes [64]sync.Mutex
	mu      sync.Mutex
	hints   map[string]*hint
}

// hint is what this instance last saw of one key in one window.
type hint struct {
	attempts, credits int
	over              bool
	until             time.Time
}

// NewStore returns the counters stored in db. secret keys the hash that
// turns a key (a phone number, an IP address) into the documents' _id, so the
// collection holds no personal data; every instance must use the same one.
func NewStore(db *mongo.Database, secret []byte) *Store {
	return &Store{c: db.Collection("throttle"), key: secret, Now: time.Now, seed: maphash.MakeSeed(), hints: map[string]*hint{}}
}

// Init creates the collection, so the embedded engine's _id index (db.Tune)
// covers it before the first attempt.
func (s *Store) Init(ctx context.Context) error {
	if err := db.EnsureCollections(ctx, s.c); err != nil {
		return fmt.Errorf("throttle: %w", err)
	}
	return nil
}

// Limit allows at most Max attempts per key in each window of length Window
// (aligned to the Unix epoch, so every instance agrees where windows start).
// Like every fixed window, a key may make Max attempts at the end of one
// window and Max more at the start of the next.
type Limit struct {
	s      *Store
	Name   string
	Max    int
	Window time.Duration
}

// Limit returns the limit called name (a part of the _id: letters, digits
// and dashes).
func (s *Store) Limit(name string, max int, window time.Duration) *Limit {
	if max < 1 || window < time.Second {
		panic(fmt.Sprintf("throttle: limit %s: max %d per %s", name, max, window))
	}
	return &Limit{s: s, Name: name, Max: max, Window: window}
}

// Attempt is the outcome of Take.
type Attempt struct {
	// OK is false when the key had used up its window: nothing was counted.
	OK bool
	// Wait is how long until the key's window ends.
	Wait time.Duration
	// N is the attempt's number in its window (the first is 1).
	N int

	prefix string
	until  time.Time
}

type doc struct {
	ID string `bson:"_id"`
	// Until is the end of the window, when Purge may remove the document.
	Until time.Time `bson:"until"`
}

func (l *Limit) window(key string) (prefix string, until time.Time, wait time.Duration) {
	now := l.s.Now()
	w := int64(l.Window / time.Second)
	idx := now.Unix() / w
	until = time.Unix((idx+1)*w, 0).UTC()
	m := hmac.New(sha256.New, l.s.key)
	m.Write([]byte(key))
	return fmt.Sprintf("%s/%s/%d", l.Name, hex.EncodeToString(m.Sum(nil)[:16]), idx), until, until.Sub(now)
}

func (s *Store) stripe(prefix string) *sync.Mutex {
	return &s.stripes[maphash.String(s.seed, prefix)%uint64(len(s.stripes))]
}

func (s *Store) hint(prefix string, until time.Time) *hint {
	s.mu.Lock()
	defer s.mu.Unlock()
	h := s.hints[prefix]
	if h == nil {
		if len(s.hints) >= maxHints {
			now := s.Now()
			for k, v := range s.hints {
				if !v.until.After(now) {
					delete(s.hints, k)
				}
			}
			if len(s.hints) >= maxHints {
				clear(s.hints)
			}
		}
		h = &hint{until: until}
		s.hints[prefix] = h
	}
	return h
}

func seqID(prefix, kind string, n int) string { return fmt.Sprintf("%s/%s/%04d", prefix, kind, n) }

// Take counts an attempt of key, unless the key has already made Max
// attempts (less its refunds) in the current window: then Attempt.OK is
// false and nothing is counted.
func (l *Limit) Take(ctx context.Context, key string) (Attempt, error) {
	prefix, until, wait := l.window(key)
	mu := l.s.stripe(prefix)
	mu.Lock()
	defer mu.Unlock()
	h := l.s.hint(prefix, until)
	a := Attempt{Wait: wait, prefix: prefix, until: until}
	if h.over {
		return a, nil
	}
	n := h.attempts + 1
	for {
		if n-h.credits > l.Max {
			// Refunds made elsewhere may leave room: look once.
			c, err := l.s.probe(ctx, prefix, "c", h.credits)
			if err != nil {
				return Attempt{}, fmt.Errorf("throttle: %s: %w", l.Name, err)
			}
			h.credits = c
			if n-h.credits > l.Max {
				h.over = true
				return a, nil
			}
		}
		err := l.s.insert(ctx, doc{ID: seqID(prefix, "a", n), Until: until})
		if err == nil {
			h.attempts = n
			a.OK, a.N = true, n
			return a, nil
		}
		if !mongo.IsDuplicateKeyError(err) {
			return Attempt{}, fmt.Errorf("throttle: %s: count: %w", l.Name, err)
		}
		// Another instance took this number.
		h.attempts = n
		n++
	}
}

// Refund takes back a counted attempt (a login that turned out right, a
// request the server could not serve), so that it does not count against the
// key. Refunding an attempt that was not counted does nothing.
func (l *Limit) Refund(ctx context.Context, a Attempt) error {
	if !a.OK || a.prefix == "" || !a.until.After(l.s.Now()) {
		return nil
	}
	mu := l.s.stripe(a.prefix)
	mu.Lock()
	defer mu.Unlock()
	h := l.s.hint(a.prefix, a.until)
	for m := h.credits + 1; ; m++ {
		err := l.s.insert(ctx, doc{ID: seqID(a.prefix, "c", m), Until: a.until})
		if err == nil {
			h.credits, h.over = m, false
			return nil
		}
		if !mongo.IsDuplicateKeyError(err) {
			return fmt.Errorf("throttle: %s: refund: %w", l.Name, err)
		}
		h.credits = m
	}
}

// probe returns the highest number of kind ("a" or "c") that exists under
// prefix, looking by _id from after known.
func (s *Store) probe(ctx context.Context, prefix, kind string, known int) (int, error) {
	for n := known + 1; ; n++ {
		err := s.c.FindOne(ctx, bson.D{{Key: "_id", Value: seqID(prefix, kind, n)}}).Err()
		if errors.Is(err, mongo.ErrNoDocuments) {
			return n - 1, nil
		}
		if err != nil {
			return known, err
		}
	}
}

func (s *Store) insert(ctx context.Context, d doc) error {
	return db.Retry(ctx, writeAttempts, func() error {
		_, err := s.c.InsertOne(ctx, d)
		return err
	})
}

// Purge removes the documents of windows that have ended. Every instance
// may run it at any time.
func (s *Store) Purge(ctx context.Context) (int64, error) {
	res, err := s.c.DeleteMany(ctx, bson.D{{Key: "until", Value: bson.D{{Key: "$lte", Value: s.Now()}}}})
	if err != nil {
		return 0, fmt.Errorf("throttle: purge: %w", err)
	}
	s.mu.Lock()
	now := s.Now()
	for k, v := range s.hints {
		if !v.until.After(now) {
			delete(s.hints, k)
		}
	}
	s.mu.Unlock()
	return res.DeletedCount, nil
}
