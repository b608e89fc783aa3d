package payments

import (
	"context"
	"errors"
	"fmt"
	"fuju/internal/tenancy"
	"time"
)

// Page is where a family pays on Stripe's hosted Checkout.
type Page struct {
	PaymentID string    `json:"payment_id"`
	URL       string    `json:"url"`
	ExpiresAt time.Time `json:"expires_at"`
}

// MobileIntent lets a mobile client pay with Stripe's SDK.
type MobileIntent struct {
	PaymentID    string `json:"payment_id"`
	IntentID     string `json:"intent_id"`
	ClientSecret string `json:"client_secret"`
}

const (
	// inflightFor: an attempt requested this recently by someone else is
	// another request's Stripe call in flight; wait for its answer rather
	// than make the same call.
	inflightFor = 10 * time.Second
	// inflightWait bounds that wait; then the call is made again with the
	// same key, which Stripe answers with the same object.
	inflightWait = 5 * time.Second
	// minLeft: a Checkout page expiring sooner is replaced, not handed out.
	minLeft = 5 * time.Minute
	// intentTTL: a PaymentIntent nobody paid is canceled after this long,
	// so a forgotten one cannot be paid next to a newer attempt.
	intentTTL = 24 * time.Hour
)

// StartCheckout returns the Checkout page for payment r.Ref, creating it at
// Stripe if needed: a destination charge to the operator's connected account
// with the platform's application fee, payable by card, Alipay or WeChat
// Pay. Asking again for the same Ref returns the same open page; two requests
// at once get the same page (the payment's log decides who creates it). An
// amount below MinChargeFen is ErrBelowMinimum, an operator who cannot take
// charges ErrNotConnected (both ErrPayAtStation); a paid Ref is
// ErrAlreadyPaid; the same Ref with another amount, lease or purpose is
// ErrConflict.
func (s *Service) StartCheckout(ctx context.Context, by tenancy.Actor, r PaymentRequest) (Page, error) {
	a, err := s.start(ctx, by, r, Checkout)
	if err != nil {
		return Page{}, err
	}
	return Page{PaymentID: r.Ref, URL: a.URL, ExpiresAt: a.ExpiresAt}, nil
}

// StartIntent is StartCheckout for mobile clients: a PaymentIntent and its
// client secret. Switching between the two closes the other attempt at
// Stripe first, so a purpose is never payable twice.
func (s *Service) StartIntent(ctx context.Context, by tenancy.Actor, r PaymentRequest) (MobileIntent, error) {
	a, err := s.start(ctx, by, r, Intent)
	if err != nil {
		return MobileIntent{}, err
	}
	return MobileIntent{PaymentID: r.Ref, IntentID: a.IntentID, ClientSecret: a.ClientSecret}, nil
}

func (s *Service) start(ctx context.Context, by tenancy.Actor, r PaymentRequest, ch Channel) (Attempt, error) {
	if err := r.validate(ch); err != nil {
		return Attempt{}, err
	}
	acct, err := s.accountHead(ctx, r.OperatorID)
	if err != nil {
		return Attempt{}, err
	}
	if !acct.CanTakeCharges() {
		return Attempt{}, fmt.Errorf("payments: operator %s: %w", r.OperatorID, ErrNotConnected)
	}
	mark, err := s.tabs.Begin(ctx, r.LeaseID)
	if err != nil {
		return Attempt{}, fmt.Errorf("payments: %w", err)
	}
	if err := s.crashPoint("start:marked"); err != nil {
		return Attempt{}, err
	}
	a, mine, err := s.startLoop(ctx, by, r, ch, acct.StripeID)
	if settled(err) {
		done(ctx, s, s.tabs, mark)
	}
	if mine {
		s.record(ctx, by, r.OperatorID, "payments.start", "lease/"+r.LeaseID, map[string]any{
			"payment": r.Ref, "purpose": r.Purpose, "amount_fen": r.AmountFen, "channel": ch, "attempt": a.N})
	}
	return a, err
}

// errCrashed wraps a test's injected crash, so the flow stops writing there
// and leaves its marker behind.
var errCrashed = errors.New("payments: crashed")

func (s *Service) crashed(point string) error {
	if err := s.crashPoint(point); err != nil {
		return fmt.Errorf("%w at %s: %w", errCrashed, point, err)
	}
	return nil
}

// startLoop brings payment r.Ref to an open attempt of channel ch and
// returns it; mine reports whether this call started an attempt.
func (s *Service) startLoop(ctx context.Context, by tenancy.Actor, r PaymentRequest, ch Channel, dest string) (Attempt, bool, error) {
	fee := ApplicationFee(r.AmountFen, s.cfg.FeeBP)
	mine := false
	waitUntil := time.Now().Add(inflightWait) // real time, whatever the service clock says
	for range 60 {
		cur, err := s.head(ctx, r.LeaseID)
		if err != nil {
			return Attempt{}, mine, err
		}
		if cur.OperatorID != "" && cur.OperatorID != r.OperatorID {
			return Attempt{}, mine, fmt.Errorf("payments: lease %s belongs to another operator: %w", r.LeaseID, ErrConflict)
		}
		i := cur.payment(r.Ref)
		if i < 0 {
			_, changed, err := s.update(ctx, r.LeaseID, tabEvent{Kind: "requested", Ref: r.Ref, By: by}, "start:requested", func(t *Tab) (bool, error) {
				if t.payment(r.Ref) >= 0 {
					return false, nil // another request started it: read it again
				}
				if t.OperatorID != "" && t.OperatorID != r.OperatorID {
					return false, fmt.Errorf("payments: lease %s belongs to another operator: %w", r.LeaseID, ErrConflict)
				}
				*t = t.startPayment(r, ch, fee, dest, s.now(), s.cfg.SessionTTL)
				return true, nil
			})
			mine = mine || changed
			if err != nil {
				return Attempt{}, mine, err
			}
			continue
		}
		p := cur.Payments[i]
		if !p.same(r) {
			return Attempt{}, mine, fmt.Errorf("payments: %s was asked for %d fen (%s, lease %s); a new amount needs a new ref: %w",
				p.ID, p.AmountFen, p.Purpose, p.LeaseID, ErrConflict)
		}
		if p.State == Paid {
			return Attempt{}, mine, fmt.Errorf("payments: %s: %w", p.ID, ErrAlreadyPaid)
		}
		a := *p.current()
		switch a.State {
		case Processing:
			return a, mine, fmt.Errorf("payments: %s is being confirmed by the payment method: %w", p.ID, ErrConflict)
		case Requested:
			if !mine && s.now().Sub(a.RequestedAt) < inflightFor && time.Now().Before(waitUntil) {
				select {
				case <-ctx.Done():
					return Attempt{}, mine, ctx.Err()
				case <-time.After(50 * time.Millisecond):
				}
				continue
			}
			err := s.create(ctx, by, cur, i, a)
			if errors.Is(err, ErrStripeRefused) && s.now().Sub(a.RequestedAt) >= inflightFor {
				continue // an old attempt Stripe would not make now is ended: start a fresh one
			}
			if err != nil {
				return Attempt{}, mine, err
			}
		case Open:
			if a.Channel == ch && (ch == Intent || a.ExpiresAt.Sub(s.now()) > minLeft) {
				return a, mine, nil
			}
			closed, err := s.closeAttempt(ctx, cur, i, a)
			if err != nil {
				return Attempt{}, mine, err
			}
			if !closed {
				return Attempt{}, mine, fmt.Errorf("payments: %s: Stripe did not close the open attempt; try again: %w", p.ID, ErrConflict)
			}
		case Ended:
			_, changed, err := s.update(ctx, r.LeaseID, tabEvent{Kind: "retried", Ref: r.Ref, By: by}, "start:requested", func(t *Tab) (bool, error) {
				k := t.payment(r.Ref)
				if c := t.Payments[k].current(); c.N != a.N || c.State != Ended {
					return false, nil
				}
				*t = t.retry(k, ch, r, s.now(), s.cfg.SessionTTL)
				return true, nil
			})
			mine = mine || changed
			if err != nil {
				return Attempt{}, mine, err
			}
		}
	}
	return Attempt{}, mine, fmt.Errorf("payments: %s is being changed by others; try again: %w", r.Ref, ErrConflict)
}

// update applies f to a copy of the tab's head and, when f reports a
// change, appends it as ev and finishes it (projections, Ledger). point
// names the crash point right after the append.
func (s *Service) update(ctx context.Context, leaseID string, ev tabEvent, point string, f func(t *Tab) (bool, error)) (Tab, bool, error) {
	prev, next, changed, err := s.change(ctx, leaseID, func(cur Tab) (tabEvent, error) {
		t := cur.clone()
		ok, err := f(&t)
		if err != nil {
			return tabEvent{}, err
		}
		if !ok {
			return tabEvent{}, errUnchanged
		}
		e := ev
		e.Tab = t
		return e, nil
	})
	if err != nil || !changed {
		return next, false, err
	}
	if point != "" {
		if err := s.crashed(point); err != nil {
			return next, true, err
		}
	}
	return next, true, s.finish(ctx, prev, next, false)
}

// create makes attempt a of payment i at Stripe, with the attempt's key,
// and records the answer. Made again after a crash, the call returns the
// object Stripe made the first time (for 24 hours); if Stripe never made it
// and its fixed parameters are no longer acceptable (a Checkout expiry less
// than 30 minutes ahead), Stripe refuses and the attempt is ended. A Checkout
// attempt past its expiry is ended without asking: nobody holds its page.
func (s *Service) create(ctx context.Context, by tenancy.Actor, cur Tab, i int, a Attempt) error {
	p := cur.Payments[i]
	if a.Channel == Checkout && !s.now().Before(a.ExpiresAt) {
		return s.endAttempt(ctx, cur.LeaseID, p.ID, a.N, "abandoned")
	}
	var o opened
	var err error
	if a.Channel == Checkout {
		var si sessionInfo
		si, err = s.gw.createSession(ctx, p, a)
		o = opened{SessionID: si.ID, URL: si.URL}
	} else {
		var pi intentInfo
		pi, err = s.gw.createIntent(ctx, p, a)
		o = opened{IntentID: pi.ID, ClientSecret: pi.ClientSecret}
	}
	if err != nil {
		if code, ok := refusalCode(err); ok {
			if e := s.endAttempt(ctx, cur.LeaseID, p.ID, a.N, "refused: "+code); e != nil {
				return e
			}
		} else if errors.Is(err, ErrBelowMinimum) {
			if e := s.endAttempt(ctx, cur.LeaseID, p.ID, a.N, "amount_too_small"); e != nil {
				return e
			}
		}
		return err
	}
	if err := s.crashed("start:stripe"); err != nil {
		return err
	}
	_, _, err = s.update(ctx, cur.LeaseID, tabEvent{Kind: "opened", Ref: p.ID, By: by}, "start:opened", func(t *Tab) (bool, error) {
		k := t.payment(p.ID)
		return t.open(k, a.N, o, s.now()), nil
	})
	return err
}

// endAttempt ends attempt n of payment pid unpaid.
func (s *Service) endAttempt(ctx context.Context, leaseID, pid string, n int, reason string) error {
	_, _, err := s.update(ctx, leaseID, tabEvent{Kind: "ended", Ref: pid, By: tenancy.System, Why: reason}, "", func(t *Tab) (bool, error) {
		return t.end(t.payment(pid), n, reason, s.now()), nil
	})
	return err
}

// closeAttempt closes an open attempt at Stripe (expires the session,
// cancels the intent) before a new one opens, and records what Stripe says:
// if the family paid just now, the payment is paid instead. closed is false
// when Stripe's answer changed nothing.
func (s *Service) closeAttempt(ctx context.Context, cur Tab, i int, a Attempt) (closed bool, err error) {
	p := cur.Payments[i]
	key := a.Key + "/close"
	if a.Channel == Checkout {
		si, err := s.gw.expireSession(ctx, a.SessionID, key)
		if errors.Is(err, ErrStripeRefused) { // no longer open: read what it is
			si, err = s.gw.session(ctx, a.SessionID)
		}
		if err != nil {
			return false, err
		}
		return s.settleSessionOf(ctx, cur.LeaseID, p.ID, si)
	}
	pi, err := s.gw.cancelIntent(ctx, a.IntentID, key)
	if errors.Is(err, ErrStripeRefused) {
		pi, err = s.gw.intent(ctx, a.IntentID)
	}
	if err != nil {
		return false, err
	}
	return s.settleIntentOf(ctx, cur.LeaseID, p.ID, pi)
}

// settleSessionOf records a Checkout Session of payment pid as Stripe
// reports it.
func (s *Service) settleSessionOf(ctx context.Context, leaseID, pid string, si sessionInfo) (bool, error) {
	_, changed, err := s.update(ctx, leaseID, tabEvent{Kind: "session", Ref: pid, By: tenancy.System, Why: "checkout session " + si.Status}, "", func(t *Tab) (bool, error) {
		return t.applySession(t.payment(pid), si, s.now()), nil
	})
	return changed, err
}

// settleIntentOf records a PaymentIntent of payment pid as Stripe reports it.
func (s *Service) settleIntentOf(ctx context.Context, leaseID, pid string, pi intentInfo) (bool, error) {
	_, changed, err := s.update(ctx, leaseID, tabEvent{Kind: "intent", Ref: pid, By: tenancy.System, Why: "payment intent " + pi.Status}, "", func(t *Tab) (bool, error) {
		return t.applyIntent(t.payment(pid), pi, s.now()), nil
	})
	return changed, err
}

// Withdraw closes the open attempt of payment ref on tab tabID at Stripe
// (expires its Checkout Session, cancels its PaymentIntent), so a page a
// family still holds can no longer pay an amount that is no longer owed:
// the caller asks for the new amount under a new ref. If the family paid
// just now, the payment is recorded paid (and the Ledger told) and the
// answer is ErrAlreadyPaid. A payment without an open attempt, or unknown,
// is left as it is.
func (s *Service) Withdraw(ctx context.Context, tabID, ref string) error {
	mark, err := s.tabs.Begin(ctx, tabID)
	if err != nil {
		return fmt.Errorf("payments: %w", err)
	}
	err = s.withdraw(ctx, tabID, ref)
	if settled(err) {
		done(ctx, s, s.tabs, mark)
	}
	return err
}

func (s *Service) withdraw(ctx context.Context, tabID, ref string) error {
	cur, err := s.head(ctx, tabID)
	if err != nil {
		return err
	}
	i := cur.payment(ref)
	if i < 0 {
		return nil
	}
	if p := cur.Payments[i]; p.State == Paid {
		return fmt.Errorf("payments: %s: %w", ref, ErrAlreadyPaid)
	}
	a := *cur.Payments[i].current()
	if a.State != Open {
		return nil
	}
	if _, err := s.closeAttempt(ctx, cur, i, a); err != nil {
		return err
	}
	after, err := s.head(ctx, tabID)
	if err != nil {
		return err
	}
	if k := after.payment(ref); k >= 0 && after.Payments[k].State == Paid {
		return fmt.Errorf("payments: %s was paid as it was withdrawn: %w", ref, ErrAlreadyPaid)
	}
	return nil
}
