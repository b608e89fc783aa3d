package main

import (
	"context"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// stopServing ends hs, which serves on ln (Serve's result arrives on
// served), without losing a request a client has sent: http.Server.Shutdown
// alone closes the listener, resetting the connections queued in its backlog,
// and drops any request it reads after it began, even the first one of a
// connection accepted a moment before. So the listener is closed first
// (its backlog drained into the server), keep-alives are turned off so every
// connection ends after its current request, and Shutdown runs when no
// connection is left, after quiet at most (a connection that sent nothing by
// then is idle, as Shutdown itself judges), or when ctx ends. Connections
// arriving after the listener closed are refused, which a load balancer
// retries on another instance.
func stopServing(ctx context.Context, hs *http.Server, ln *drainingListener, conns *connCount, served <-chan error) error {
	const quiet = 5 * time.Second
	hs.SetKeepAlivesEnabled(false) // also closes idle connections
	_ = ln.Close()
	// Serve returns once it has taken every drained connection in hand.
	select {
	case <-served:
	case <-ctx.Done():
	}
	for end := time.Now().Add(quiet); conns.open() > 0 && ctx.Err() == nil && time.Now().Before(end); {
		select {
		case <-ctx.Done():
		case <-time.After(10 * time.Millisecond):
		}
	}
	return hs.Shutdown(ctx)
}

// cutGrace is how long a graceful stop whose timeout ran out waits, after
// cancelling the requests still running, for them to send their answer
// before the database closes.
const cutGrace = 2 * time.Second

// connCount counts a server's open connections (its ConnState hook).
type connCount struct{ n atomic.Int64 }

func (c *connCount) track(_ net.Conn, s http.ConnState) {
	switch s {
	case http.StateNew:
		c.n.Add(1)
	case http.StateClosed, http.StateHijacked:
		c.n.Add(-1)
	}
}

func (c *connCount) open() int64 { return c.n.Load() }

// drainingListener hands the server, when closed, the connections the kernel
// already accepted: closing a listening socket resets the connections still
// queued in its backlog, and a client would see a request it had sent
// answered by a reset. Close first accepts what is queued and what arrives
// in the next drainWait, then closes the socket; Accept returns the
// drained connections before it reports the listener closed.
type drainingListener struct {
	*net.TCPListener
	closing   atomic.Bool
	queued    chan net.Conn
	closeOnce sync.Once
	closeErr  error
}

// drainWait is how long Close keeps accepting, in all: a bound, as under
// steady load new connections never stop arriving, and a listener that
// kept draining them would never close.
const drainWait = 50 * time.Millisecond

func newDrainingListener(l *net.TCPListener) *drainingListener {
	// Room for a full backlog (net.core.somaxconn is 4096 by default).
	return &drainingListener{TCPListener: l, queued: make(chan net.Conn, 4096)}
}

// Accept returns the next connection; once closing, the ones Close drained.
func (l *drainingListener) Accept() (net.Conn, error) {
	if !l.closing.Load() {
		c, err := l.TCPListener.Accept()
		if err == nil || !l.closing.Load() {
			return c, err
		}
		// Close's deadline woke this Accept.
	}
	if c, ok := <-l.queued; ok {
		return c, nil
	}
	return nil, net.ErrClosed
}

// Close drains the backlog for Accept, then closes the socket. It does not
// wait for the server's loop, which may call it holding the server's lock.
func (l *drainingListener) Close() error {
	l.closeOnce.Do(func() {
		l.closing.Store(true)
		// The deadline also wakes an Accept blocked in the server's loop.
		err := l.TCPListener.SetDeadline(time.Now().Add(drainWait))
		for err == nil && len(l.queued) < cap(l.queued) {
			var c net.Conn
			if c, err = l.TCPListener.Accept(); err == nil {
				l.queued <- c
			}
		}
		close(l.queued)
		l.closeErr = l.TCPListener.Close()
	})
	return l.closeErr
}
