package reports

import (
	"slices"
	"strings"
	"sync"
	"time"

	"fuju/internal/tenancy"
)

// todayCache keeps today's figures, as a dashboard computed them, for a
// short while (fresh): every earlier day is read from the roll-up, but
// today is computed from the logs, which reads every ledger entry and
// reservation step of the scope. Within the window the dashboards of one
// scope (fleet, money, demand, care, their CSVs, a page reloaded, several
// people looking) share one computation instead of reading the logs on
// every request; their AsOf says when it was made. Concurrent requests
// for the same figures wait for the one computing them.
type todayCache struct {
	fresh time.Duration
	mu    sync.Mutex
	byKey map[string]*todayEntry
}

type todayEntry struct {
	ready chan struct{}
	day   string
	at    time.Time
	days  []rollDay
	err   error
}

func newTodayCache(fresh time.Duration) *todayCache {
	return &todayCache{fresh: fresh, byKey: map[string]*todayEntry{}}
}

// todayKey names the figures of operators as scope reads them.
func todayKey(scope tenancy.Scope, operators []string) string {
	who := "op:" + scope.OperatorID
	if scope.Platform {
		who = "city"
	}
	return who + "|" + strings.Join(operators, ",")
}

// get returns the figures of day for key made within the window before
// now, or makes them with compute (at now) and keeps them. The days
// returned are the caller's own to change.
func (c *todayCache) get(key, day string, now time.Time, compute func() ([]rollDay, error)) ([]rollDay, time.Time, error) {
	if c == nil || c.fresh <= 0 {
		days, err := compute()
		return days, now, err
	}
	c.mu.Lock()
	e := c.byKey[key]
	if e != nil && e.day == day && !e.at.After(now) && now.Sub(e.at) < c.fresh {
		c.mu.Unlock()
		<-e.ready
		if e.err == nil {
			return cloneDays(e.days), e.at, nil
		}
		c.mu.Lock()
	}
	// Figures of another day, or older than the window: made anew. A
	// failed computation is not kept.
	e = &todayEntry{ready: make(chan struct{}), day: day, at: now}
	c.byKey[key] = e
	for k, old := range c.byKey {
		if old.day != day {
			delete(c.byKey, k)
		}
	}
	c.mu.Unlock()
	e.days, e.err = compute()
	close(e.ready)
	if e.err != nil {
		c.mu.Lock()
		if c.byKey[key] == e {
			delete(c.byKey, key)
		}
		c.mu.Unlock()
		return nil, now, e.err
	}
	return cloneDays(e.days), now, nil
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
