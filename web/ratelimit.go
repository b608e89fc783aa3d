package web

import (
	"sync"
	"time"
)

// limiter throttles failed logins per key (an account, a client IP) with
// growing lockouts that lift by themselves: after Free failures within Window,
// each further failure locks the key for Base × 2^(extra failures), capped at
// Max. State is per instance (in memory); with several instances an attacker
// gets at most that many times the attempts, still bounded.
type limiter struct {
	Free   int
	Window time.Duration
	Base   time.Duration
	Max    time.Duration
	now    func() time.Time

	mu   sync.Mutex
	keys map[string]*limitState
}

type limitState struct {
	failures []time.Time
	until    time.Time
}

func newLimiter(free int, window, base, max time.Duration) *limiter {
	return &limiter{Free: free, Window: window, Base: base, Max: max, now: time.Now, keys: map[string]*limitState{}}
}

// Blocked reports whether key is locked out, and for how long.
func (l *limiter) Blocked(key string) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	st := l.keys[key]
	if st == nil {
		return false, 0
	}
	if wait := st.until.Sub(l.now()); wait > 0 {
		return true, wait
	}
	return false, 0
}

// Fail records a failure and returns the lockout it causes (0 for none).
func (l *limiter) Fail(key string) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	st := l.keys[key]
	if st == nil {
		st = &limitState{}
		l.keys[key] = st
	}
	kept := st.failures[:0]
	for _, f := range st.failures {
		if now.Sub(f) < l.Window {
			kept = append(kept, f)
		}
	}
	st.failures = append(kept, now)
	extra := len(st.failures) - l.Free
	if extra <= 0 {
		return 0
	}
	lock := l.Base << min(extra-1, 20)
	if lock > l.Max || lock <= 0 {
		lock = l.Max
	}
	st.until = now.Add(lock)
	l.gcLocked(now)
	return lock
}

// Reset forgets a key (after a successful login).
func (l *limiter) Reset(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.keys, key)
}

// gcLocked drops keys with nothing recent, so memory stays bounded.
func (l *limiter) gcLocked(now time.Time) {
	if len(l.keys) < 10000 {
		return
	}
	for k, st := range l.keys {
		if now.After(st.until) && (len(st.failures) == 0 || now.Sub(st.failures[len(st.failures)-1]) > l.Window) {
			delete(l.keys, k)
		}
	}
}

// rate allows at most N events per key within Window, a sliding window: the
// renter look-ups of one desk person or token. Like limiter it is per
// instance (in memory); with several instances an actor gets at most that
// many times N.
type rate struct {
	N      int
	Window time.Duration
	now    func() time.Time

	mu   sync.Mutex
	keys map[string][]time.Time
}

func newRate(n int, window time.Duration) *rate {
	return &rate{N: n, Window: window, now: time.Now, keys: map[string][]time.Time{}}
}

// Take counts an event for key when fewer than N happened within Window; when
// not, it reports how long until one may.
func (r *rate) Take(key string) (bool, time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now()
	kept := r.keys[key][:0]
	for _, at := range r.keys[key] {
		if now.Sub(at) < r.Window {
			kept = append(kept, at)
		}
	}
	if len(kept) >= r.N {
		r.keys[key] = kept
		return false, kept[0].Add(r.Window).Sub(now)
	}
	r.keys[key] = append(kept, now)
	if len(r.keys) > 10000 {
		for k, ts := range r.keys {
			if len(ts) == 0 || now.Sub(ts[len(ts)-1]) >= r.Window {
				delete(r.keys, k)
			}
		}
	}
	return true, 0
}
