package messages

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"fuju/internal/eventlog"
)

// event is one entry of a message's log ("message_events", entity = message
// id). The log starts empty (queued); each send is a claim followed by its
// outcome.
type event struct {
	Type string `bson:"type"`
	// At is when it happened, by the service's clock.
	At time.Time `bson:"at"`
	// Attempt counts sends tried so far, the one claimed included.
	Attempt int `bson:"attempt"`
	// Worker is the instance that claimed the message.
	Worker string `bson:"worker,omitempty"`
	// Until is when a claim runs out: a worker that crashed after claiming
	// stops holding the message then.
	Until time.Time `bson:"until,omitempty"`
	// Next is when a failed send is tried again.
	Next   time.Time `bson:"next,omitempty"`
	Status int       `bson:"status,omitempty"`
	// Error is what went wrong, numbers masked.
	Error string `bson:"error,omitempty"`
}

// Message log event types.
const (
	evClaim      = "claim"
	evSent       = "sent"
	evRetry      = "retry"
	evFailed     = "failed"
	evSuppressed = "suppressed"
	evExpired    = "expired"
	evCancelled  = "cancelled"
)

// state is the message's state after e (the zero event: queued).
func (e event) state() State {
	switch e.Type {
	case evClaim:
		return Sending
	case evRetry:
		return Retrying
	case evSent:
		return Sent
	case evFailed:
		return Failed
	case evSuppressed:
		return Suppressed
	case evExpired:
		return Expired
	case evCancelled:
		return Cancelled
	}
	return Queued
}

// errStopped is what a test's crash hook returns.
var errStopped = errors.New("messages: stopped")

// Run is the delivery job: it sends due messages until ctx ends, looking
// every Poll interval, at once after a local Enqueue, and again without
// waiting while full batches keep coming. Every instance runs it; claims in
// the messages' logs keep them from sending a message twice.
func (s *Service) Run(ctx context.Context) {
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-s.wake:
		}
		p, err := s.pass(ctx)
		if err != nil && ctx.Err() == nil {
			s.logger.WarnContext(ctx, "messages: delivery pass", "err", err)
		}
		wait := s.poll
		if err == nil && p.looked >= s.batch && p.acted > 0 {
			wait = 0
		}
		t.Reset(wait)
	}
}

// Deliver makes one pass over the messages due now: up to Batch of them,
// Workers at a time. It returns how many it acted on (sent, tried, ended or
// held); messages another worker is sending are left to it.
func (s *Service) Deliver(ctx context.Context) (int, error) {
	p, err := s.pass(ctx)
	return p.acted, err
}

type pass struct{ looked, acted int }

func (s *Service) pass(ctx context.Context) (pass, error) {
	due, err := s.store.dueBy(ctx, s.now(), s.batch)
	if err != nil {
		return pass{}, err
	}
	// Instances that list the same messages start at different ones.
	rand.Shuffle(len(due), func(i, j int) { due[i], due[j] = due[j], due[i] })
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
		acted int
		next  = make(chan dueDoc)
	)
	for range min(s.workers, len(due)) {
		wg.Go(func() {
			for d := range next {
				did, err := s.deliver(ctx, d)
				mu.Lock()
				if did {
					acted++
				}
				if err != nil && !errors.Is(err, errStopped) && first == nil {
					first = err
				}
				mu.Unlock()
			}
		})
	}
	for _, d := range due {
		if ctx.Err() != nil {
			break
		}
		next <- d
	}
	close(next)
	wg.Wait()
	return pass{looked: len(due), acted: acted}, first
}

// deliver decides what to do with one due message from its log's head, and
// does it: nothing (another worker holds it), repair its projections, end it
// (gave up, expired, reminders off), hold it (quiet hours), or claim and send.
//
// It reports whether it changed anything; a message another worker holds is
// left alone, and looked at again on a later pass.
func (s *Service) deliver(ctx context.Context, d dueDoc) (bool, error) {
	now := s.now()
	head, err := s.log.Head(ctx, d.ID, d.Seq)
	if err != nil {
		return false, fmt.Errorf("messages: %w", err)
	}
	ev := head.Event
	if head.Seq > 0 {
		switch {
		case ev.state().Final() && now.Sub(ev.At) < s.claimTTL/4:
			return false, nil // just ended: its worker is writing the projections
		case ev.state().Final():
			// A worker ended it but stopped before its projections.
			return true, s.project(ctx, d.ID, head)
		case ev.Type == evClaim && now.Before(ev.Until):
			return false, nil // another worker is sending it
		case ev.Type == evRetry && now.Before(ev.Next):
			// The outbox entry missed the retry's time; catch it up.
			return true, s.store.reschedule(ctx, d.ID, head.Seq, ev.Next, ev.Attempt, ev.Error)
		}
	}
	// Queued, due for a retry, or claimed by a worker that never reported
	// back: that attempt counts, so a message that crashes its sender is
	// given up in the end.
	attempts := ev.Attempt
	switch {
	case attempts >= s.retry.Attempts:
		msg := fmt.Sprintf("messages: gave up after %d attempts", attempts)
		if ev.Error != "" {
			msg += "; last: " + ev.Error
		}
		return true, s.end(ctx, d.ID, head, event{Type: evFailed, Attempt: attempts, Error: msg})
	case !d.SendBy.IsZero() && now.After(d.SendBy):
		return true, s.end(ctx, d.ID, head, event{Type: evExpired, Attempt: attempts, Error: ev.Error})
	case d.Kind.Class() == ClassReminder:
		p, _, err := s.store.pref(ctx, d.Recipient)
		if err != nil {
			return false, err
		}
		if p.RemindersOff {
			return true, s.end(ctx, d.ID, head, event{Type: evSuppressed, Attempt: attempts})
		}
	}
	if at := sendTime(d.Kind, now); at.After(now) {
		return true, s.store.reschedule(ctx, d.ID, head.Seq, at, attempts, ev.Error)
	}

	claim := event{Type: evClaim, Attempt: attempts + 1, Worker: s.worker, Until: now.Add(s.claimTTL)}
	claimed, err := s.append(ctx, d.ID, head.Seq+1, claim)
	if errors.Is(err, eventlog.ErrTaken) {
		return false, nil // another worker decided first
	}
	if err != nil {
		return false, fmt.Errorf("messages: %w", err)
	}
	if err := s.crashPoint("claimed"); err != nil {
		return true, err
	}
	sctx, cancel := context.WithTimeout(ctx, s.claimTTL/2)
	sendErr := s.sender.Send(sctx, Outgoing{ID: d.ID, To: d.Phone, Text: d.Text, Lang: d.Lang})
	cancel()
	if err := s.crashPoint("sent"); err != nil {
		return true, err
	}
	// Record the outcome even when the instance is stopping: a message that
	// went out must not be sent again for want of a line in its log.
	rctx, cancelRecord := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancelRecord()
	return true, s.finishSend(rctx, d, claimed, sendErr, ctx.Err() != nil)
}

// finishSend appends the outcome of the send claimed at claimed.
func (s *Service) finishSend(ctx context.Context, d dueDoc, claimed eventlog.Entry[event], sendErr error, stopping bool) error {
	attempt := claimed.Event.Attempt
	after := s.now()
	if sendErr == nil {
		s.logger.InfoContext(ctx, "message sent", "id", d.ID, "kind", d.Kind, "to", MaskPhone(d.Phone), "attempt", attempt)
		return s.end(ctx, d.ID, claimed, event{Type: evSent, Attempt: attempt})
	}
	var se *SendError
	if !errors.As(sendErr, &se) {
		se = &SendError{Msg: sendErr.Error()}
	}
	msg := scrub(se.Msg)
	log := s.logger.With("id", d.ID, "kind", d.Kind, "to", MaskPhone(d.Phone), "attempt", attempt, "status", se.Status, "err", msg)
	switch {
	case se.Permanent:
		log.WarnContext(ctx, "message refused by the gateway")
		return s.end(ctx, d.ID, claimed, event{Type: evFailed, Attempt: attempt, Status: se.Status, Error: msg})
	case attempt >= s.retry.Attempts && !stopping:
		log.WarnContext(ctx, "message failed; no attempts left")
		return s.end(ctx, d.ID, claimed, event{Type: evFailed, Attempt: attempt, Status: se.Status, Error: msg})
	}
	next := after.Add(s.retry.delay(attempt, s.jitter()))
	if stopping {
		next = after // interrupted by shutdown: the next instance up may try at once
	}
	if se.RetryAfter > 0 && after.Add(se.RetryAfter).After(next) {
		next = after.Add(se.RetryAfter)
	}
	next = sendTime(d.Kind, next)
	if !d.SendBy.IsZero() && next.After(d.SendBy) {
		log.InfoContext(ctx, "message expired before it could be retried")
		return s.end(ctx, d.ID, claimed, event{Type: evExpired, Attempt: attempt, Status: se.Status, Error: msg})
	}
	log.InfoContext(ctx, "message send failed; will retry", "next", next)
	e, err := s.append(ctx, d.ID, claimed.Seq+1, event{Type: evRetry, Attempt: attempt, Next: next, Status: se.Status, Error: msg})
	if errors.Is(err, eventlog.ErrTaken) {
		return nil // our claim ran out and another worker took the message over
	}
	if err != nil {
		return fmt.Errorf("messages: %w", err)
	}
	return s.store.reschedule(ctx, d.ID, e.Seq, next, attempt, msg)
}

// end appends a final event after head and writes the projections.
func (s *Service) end(ctx context.Context, id string, head eventlog.Entry[event], ev event) error {
	e, err := s.append(ctx, id, head.Seq+1, ev)
	if errors.Is(err, eventlog.ErrTaken) {
		// Another worker moved first (or took over after our claim ran out);
		// it writes the projections.
		if ev.Type == evSent {
			s.logger.WarnContext(ctx, "messages: sent after the claim ran out; the gateway may see it twice", "id", id)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("messages: %w", err)
	}
	if err := s.crashPoint("ended"); err != nil {
		return err
	}
	return s.project(ctx, id, e)
}

// project writes the projections of a final event: the outcome, then the
// message leaves the outbox. Both steps may be repeated.
func (s *Service) project(ctx context.Context, id string, e eventlog.Entry[event]) error {
	o := outcomeDoc{ID: id, State: e.Event.state(), At: e.Event.At, Attempts: e.Event.Attempt, Error: e.Event.Error}
	if err := s.store.finish(ctx, o); err != nil {
		return err
	}
	return s.store.unqueue(ctx, id)
}

// append records ev as event seq of message id, stamped with the service's
// clock; eventlog.ErrTaken when another writer got there first.
func (s *Service) append(ctx context.Context, id string, seq int64, ev event) (eventlog.Entry[event], error) {
	ev.At = s.now()
	return s.log.Append(ctx, id, seq, ev)
}
