package web

import (
	"context"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"fuju/internal/throttle"
)

// Throttles (docs/access.md, "Throttles"). Every attempt is counted before
// the work it guards (a password hash), so a burst of parallel attempts is
// counted whole; a login that succeeds is refunded, so only failures and
// refusals use a window up. The counts live in the database
// (internal/throttle), shared by every instance: nothing here is kept in
// memory that could let more through with several instances.
const (
	// LoginsPerAccount is how many login attempts one account (by its
	// normalised login name, known or not) may fail per LoginWindow.
	LoginsPerAccount = 5
	// LoginsPerIP is how many login attempts one client IP address (IPv6:
	// its /64) may fail per LoginWindow, whichever accounts it tries.
	LoginsPerIP = 20
	LoginWindow = 15 * time.Minute
	// SignupsPerIP is how many sign-ups one client IP may attempt per hour,
	// SignupsPerLogin how many may be attempted per day for one phone number
	// or e-mail address. A form with a mistake is not counted.
	SignupsPerIP    = 10
	SignupsPerLogin = 5
	// PayLinksPerIP is how many times one client IP may press "pay" on
	// payment links per 10 minutes (each asks Stripe for a page).
	PayLinksPerIP = 30
)

// busyRetry is the Retry-After sent with a 503 when every password-hashing
// slot and its queue were taken: the queue drains in about a second.
const busyRetry = 2 * time.Second

// limiter throttles attempts per key (an account, a client IP, a phone
// number): at most Max per fixed Window, counted in the database.
type limiter struct {
	*throttle.Limit
}

// take counts an attempt of key. When the key has used up its window it sets
// Retry-After and returns errTooManyAttempts, having counted nothing.
func (l limiter) take(c *gin.Context, key string) (throttle.Attempt, error) {
	a, err := l.Take(c.Request.Context(), key)
	if err != nil {
		return a, err
	}
	if !a.OK {
		c.Header("Retry-After", strconv.Itoa(int(a.Wait.Seconds())+1))
		return a, errTooManyAttempts
	}
	return a, nil
}

// giveBack takes back attempts that should not count (a good login, a request
// refused as busy before any password was checked). It runs even when the
// client has gone, and a failure only leaves the count stricter, so it is
// logged rather than returned.
func (s *Server) giveBack(c *gin.Context, l limiter, a throttle.Attempt) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(c.Request.Context()), 5*time.Second)
	defer cancel()
	if err := l.Refund(ctx, a); err != nil {
		s.logger.WarnContext(ctx, "throttle refund", "limit", l.Name, "err", err, "request_id", requestID(c))
	}
}
