package messages

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Quiet hours, city time: reminders and notices that fall between QuietFrom
// and QuietTo wait until QuietTo. Phone codes go out at any hour.
const (
	QuietFrom = 21 // 21:00
	QuietTo   = 8  // 08:00
)

// quietEnd reports whether t falls in quiet hours and, if so, when they end.
func quietEnd(t time.Time) (time.Time, bool) {
	l := t.In(Local)
	h := l.Hour()
	if h >= QuietTo && h < QuietFrom {
		return t, false
	}
	end := time.Date(l.Year(), l.Month(), l.Day(), QuietTo, 0, 0, 0, Local)
	if h >= QuietFrom {
		end = end.AddDate(0, 0, 1)
	}
	return end, true
}

// sendTime returns the earliest time at or after t when a message of kind k
// may go out.
func sendTime(k Kind, t time.Time) time.Time {
	if !k.HeldByQuietHours() {
		return t
	}
	end, quiet := quietEnd(t)
	if quiet {
		return end
	}
	return t
}

// Retry is how failed sends are retried: exponential backoff from Base,
// doubling per attempt up to Max, with jitter, at most Attempts sends in
// all; then the message fails.
type Retry struct {
	Base     time.Duration
	Max      time.Duration
	Attempts int
}

// DefaultRetry retries after about 30 s, 1 min, 2 min, … up to 30 min between
// sends, 8 sends in all (up to about an hour of trying).
var DefaultRetry = Retry{Base: 30 * time.Second, Max: 30 * time.Minute, Attempts: 8}

// MaxRetryAfter bounds how long a gateway's Retry-After may hold a message.
const MaxRetryAfter = 6 * time.Hour

// delay is how long to wait after send number attempt (1 for the first)
// failed. jitter in [0, 1) spreads retries of many messages ("equal
// jitter"): the wait is between half and all of the exponential step, so
// instances that failed together do not retry together.
func (r Retry) delay(attempt int, jitter float64) time.Duration {
	d := r.Base
	for i := 1; i < attempt && d < r.Max; i++ {
		d *= 2
	}
	if d > r.Max {
		d = r.Max
	}
	half := d / 2
	return half + time.Duration(jitter*float64(d-half))
}

// retryAfter reads a Retry-After header (seconds or an HTTP date) as a
// duration from now; 0 when absent or unreadable.
func retryAfter(h string, now time.Time) time.Duration {
	h = strings.TrimSpace(h)
	if h == "" {
		return 0
	}
	var d time.Duration
	if secs, err := strconv.Atoi(h); err == nil {
		d = time.Duration(secs) * time.Second
	} else if at, err := http.ParseTime(h); err == nil {
		d = at.Sub(now)
	}
	if d < 0 {
		return 0
	}
	if d > MaxRetryAfter {
		return MaxRetryAfter
	}
	return d
}
