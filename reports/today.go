package reports

import (
	"slices"
	"strings"
	"sync"
	"time"

	"fuju/internal/tenancy"
	"fuju/rentals"
)

// keptFor keeps what a report computed from the logs for a short while
// (fresh), per key: today's dashboard figures of a scope (every earlier
// day is read from the roll-up, but today is computed from every ledger
// entry and reservation step of the scope), and an operator's subsidy
// moves, which statement drafts are made from. Within the window the
// requests of one scope (fleet, money, demand, care, their CSVs, a page
// reloaded, several people looking, the statements list and a draft)
// share one computation instead of reading the logs each; they say when
// it was made. Concurrent requests for the same key wait for the one
// computing it. Each instance keeps its own.
type keptFor[T any] struct {
	fresh time.Duration
	clone func(T) T
	mu    sync.Mutex
	byKey map[string]*keptEntry[T]
}

type keptEntry[T any] struct {
	ready chan struct{}
	tag   string // what else must match (today's date)
	at    time.Time
	val   T
	err   error
}

func newKept[T any](fresh time.Duration, clone func(T) T) *keptFor[T] {
	return &keptFor[T]{fresh: fresh, clone: clone, byKey: map[string]*keptEntry[T]{}}
}

// get returns the value for key and tag made within the window before
// now, or makes it with compute (at now) and keeps it. The value returned
// is the caller's own to change.
func (c *keptFor[T]) get(key, tag string, now time.Time, compute func() (T, error)) (T, time.Time, error) {
	if c == nil || c.fresh <= 0 {
		v, err := compute()
		return v, now, err
	}
	c.mu.Lock()
	e := c.byKey[key]
	if e != nil && e.tag == tag && !e.at.After(now) && now.Sub(e.at) < c.fresh {
		c.mu.Unlock()
		<-e.ready
		if e.err == nil {
			return c.clone(e.val), e.at, nil
		}
		c.mu.Lock()
	}
	// Another tag, or older than the window: made anew. A failed
	// computation is not kept.
	e = &keptEntry[T]{ready: make(chan struct{}), tag: tag, at: now}
	c.byKey[key] = e
	for k, old := range c.byKey {
		if old.tag != tag || now.Sub(old.at) >= c.fresh {
			if k != key {
				delete(c.byKey, k)
			}
		}
	}
	c.mu.Unlock()
	e.val, e.err = compute()
	close(e.ready)
	if e.err != nil {
		c.mu.Lock()
		if c.byKey[key] == e {
			delete(c.byKey, key)
		}
		c.mu.Unlock()
		var zero T
		return zero, now, e.err
	}
	return c.clone(e.val), now, nil
}

// todayKey names the figures of operators as scope reads them.
func todayKey(scope tenancy.Scope, operators []string) string {
	who := "op:" + scope.OperatorID
	if scope.Platform {
		who = "city"
	}
	return who + "|" + strings.Join(operators, ",")
}

// cloneDays copies days down to their cells' slices.
func cloneDays(days []rollDay) []rollDay {
	out := slices.Clone(days)
	for i := range out {
		d := &out[i]
		d.Units = slices.Clone(d.Units)
		for j := range d.Units {
			d.Units[j].Turnaround = slices.Clone(d.Units[j].Turnaround)
		}
		d.Money, d.Held = slices.Clone(d.Money), slices.Clone(d.Held)
		d.Demand = slices.Clone(d.Demand)
		for j := range d.Demand {
			d.Demand[j].Waits = slices.Clone(d.Demand[j].Waits)
		}
	}
	return out
}

func cloneMoves(ms []rentals.SubsidyMove) []rentals.SubsidyMove { return slices.Clone(ms) }
