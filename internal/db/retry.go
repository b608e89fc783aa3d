package db

import (
	"context"
	"errors"
	"math/rand/v2"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/mongo"
)

// Overloaded reports whether err is the database not answering in time: no
// pooled connection came free (see embeddedPoolWait), or the operation or
// its caller's deadline ran out. What was asked may or may not have been
// done, as for any interrupted request; the transition pattern makes trying
// again safe, so the answer is "busy, try again" (503), never a verdict such
// as "unavailable". A caller that gave up (its context cancelled) is not
// overloaded.
func Overloaded(err error) bool {
	return err != nil && mongo.IsTimeout(err) && !errors.Is(err, context.Canceled)
}

// Busy reports whether err is the embedded engine saying SQLite's single
// writer lock was not free within its busy timeout: nothing was written, and
// the same write may simply be tried again.
func Busy(err error) bool {
	if err == nil {
		return false
	}
	msg := err.Error()
	return strings.Contains(msg, "SQLITE_BUSY") || strings.Contains(msg, "database is locked")
}

// Retry runs write until it succeeds, fails with something other than Busy,
// or has been tried attempts times, waiting a little longer (with jitter)
// between tries. Only writes that are safe to repeat when they failed may be
// retried; a busy SQLite write failed as a whole.
func Retry(ctx context.Context, attempts int, write func() error) error {
	var err error
	for i := 0; i < attempts; i++ {
		if err = write(); !Busy(err) {
			return err
		}
		wait := time.Duration(20+rand.IntN(80)*(i+1)) * time.Millisecond
		select {
		case <-ctx.Done():
			return err
		case <-time.After(wait):
		}
	}
	return err
}
