package payments

import (
	"context"
	"errors"
	"fmt"

	"fuju/internal/eventlog"
	"fuju/internal/tenancy"
)

// handled are the Stripe event types applied; every other type is
// acknowledged and ignored.
var handled = map[string]bool{
	"checkout.session.completed":               true,
	"checkout.session.async_payment_succeeded": true,
	"checkout.session.async_payment_failed":    true,
	"checkout.session.expired":                 true,
	"payment_intent.succeeded":                 true,
	"payment_intent.processing":                true,
	"payment_intent.payment_failed":            true,
	"payment_intent.canceled":                  true,
	"refund.created":                           true,
	"refund.updated":                           true,
	"charge.refund.updated":                    true,
	"charge.dispute.created":                   true,
	"charge.dispute.updated":                   true,
	"charge.dispute.closed":                    true,
	"account.updated":                          true,
}

// HandledEvents lists the event types the webhook endpoint should send.
func HandledEvents() []string {
	out := make([]string, 0, len(handled))
	for t := range handled {
		out = append(out, t)
	}
	return out
}

// Why a webhook's object is left alone.
var (
	errNotOurs    = errors.New("not one of our objects")
	errForeign    = errors.New("belongs to another operator or account")
	errNotPaidYet = errors.New("its payment is not recorded as paid yet")
)

// HandleWebhook applies one Stripe webhook request. The signature is checked
// against the configured secrets and tolerance and the event's API version
// against stripe-go's (ErrBadWebhook otherwise: the handler answers 400).
// The event id is then claimed under a unique _id, so however often and
// however concurrently Stripe delivers it, one delivery applies it and the
// others are acknowledged. The object is read again from Stripe and applied
// through its tab's log, so duplicates and events out of order change
// nothing twice: the tab moves to what Stripe says now. Unknown event types,
// unknown objects and other operators' objects are acknowledged and ignored
// (logged by id, without personal data). An error means the event was not
// applied yet; the reconciler finishes claimed events.
func (s *Service) HandleWebhook(ctx context.Context, payload []byte, signature string) error {
	ev, err := verify(payload, signature, s.cfg.WebhookSecrets, s.cfg.WebhookTolerance)
	if err != nil {
		var we *webhookError
		switch {
		case errors.As(err, &we) && we.reason == "api_version":
			s.logger.ErrorContext(ctx, "payments: Stripe webhook refused: the endpoint sends events of API version "+we.apiVersion+
				"; set its API version to "+apiVersion+" in Stripe's dashboard", "api_version", we.apiVersion, "want", apiVersion)
		case errors.As(err, &we):
			s.logger.WarnContext(ctx, "payments: Stripe webhook refused", "reason", we.reason)
		}
		return err
	}
	if !handled[ev.Type] {
		s.logger.DebugContext(ctx, "payments: webhook event type not used", "event", ev.ID, "type", ev.Type)
		return nil
	}
	if _, seen, err := s.hooks.Get(ctx, ev.ID, 1); err != nil {
		return fmt.Errorf("payments: %w", err)
	} else if seen {
		return nil
	}
	mark, err := s.hooks.Begin(ctx, ev.ID)
	if err != nil {
		return fmt.Errorf("payments: %w", err)
	}
	h := hookEvent{ID: ev.ID, Type: ev.Type, ObjectID: ev.ObjectID, ObjectType: ev.ObjectType, Account: ev.Account, Created: ev.Created}
	if _, err := s.hooks.Append(ctx, ev.ID, 1, h); errors.Is(err, eventlog.ErrTaken) {
		done(ctx, s, s.hooks, mark)
		return nil // another delivery claimed it
	} else if err != nil {
		return fmt.Errorf("payments: %w", err)
	}
	if err := s.crashed("webhook:claimed"); err != nil {
		return err
	}
	if err := s.apply(ctx, h, false); err != nil {
		return err // the marker stays: the reconciler applies the claim
	}
	done(ctx, s, s.hooks, mark)
	return nil
}

// apply reads the event's object from Stripe and applies it. full is the
// reconciler's repair: every projection is rewritten and every outcome
// delivered again.
func (s *Service) apply(ctx context.Context, h hookEvent, full bool) error {
	if h.Account != "" && h.ObjectType != "account" {
		// Destination charges live on the platform; an object on a
		// connected account is the operator's own business.
		s.ignore(ctx, h, "object of a connected account")
		return nil
	}
	var err error
	switch h.ObjectType {
	case "checkout.session":
		err = s.onSession(ctx, h, full)
	case "payment_intent":
		err = s.onIntent(ctx, h, h.ObjectID, full)
	case "refund":
		err = s.onRefund(ctx, h, full)
	case "dispute":
		err = s.onDispute(ctx, h, full)
	case "account":
		err = s.onAccount(ctx, h)
	default:
		s.ignore(ctx, h, "object type not used")
	}
	if code, ok := refusalCode(err); ok && code == "resource_missing" {
		s.ignore(ctx, h, "Stripe does not know the object")
		return nil
	}
	return err
}

// ignore logs an event left alone: ids only.
func (s *Service) ignore(ctx context.Context, h hookEvent, why string) {
	s.logger.InfoContext(ctx, "payments: webhook event ignored", "event", h.ID, "type", h.Type, "object", h.ObjectID, "why", why)
}

// locate finds the tab a Stripe object belongs to: through the index of the
// ids we recorded, else through the metadata we put on every object we
// create (an object whose id a crash kept us from recording).
func (s *Service) locate(ctx context.Context, ids []string, md map[string]string) (string, error) {
	for _, id := range ids {
		if id == "" {
			continue
		}
		d, ok, err := s.store.object(ctx, id)
		if err != nil {
			return "", err
		}
		if ok && d.Kind == "tab" {
			return d.LeaseID, nil
		}
	}
	return md[mdLease], nil
}

// owns checks that an object says it belongs to payment i of t: the
// operator and payment in its metadata, and the connected account its money
// goes to.
func owns(t Tab, i int, md map[string]string, destination string) error {
	p := t.Payments[i]
	if op := md[mdOperator]; op != "" && op != t.OperatorID {
		return errForeign
	}
	if pid := md[mdPayment]; pid != "" && pid != p.ID {
		return errForeign
	}
	if destination != "" && destination != p.Destination {
		return errForeign
	}
	return nil
}

// settle applies f to the tab of lease as the event's change, and handles
// what follows: objects that are not ours are ignored, a duplicate payment's
// refund is made, and with full everything is written again.
func (s *Service) settle(ctx context.Context, h hookEvent, lease, kind, objectID string, full bool, f func(t *Tab) (bool, error)) error {
	if lease == "" {
		s.ignore(ctx, h, "unknown object")
		return nil
	}
	ev := tabEvent{Kind: kind, Ref: objectID, By: tenancy.System, Why: h.Type + " " + h.ID}
	next, _, err := s.update(ctx, lease, ev, "webhook:applied", f)
	switch {
	case errors.Is(err, errNotOurs):
		s.ignore(ctx, h, "unknown object")
		return nil
	case errors.Is(err, errForeign):
		s.ignore(ctx, h, "object of another operator")
		return nil
	case err != nil:
		return err
	}
	if full {
		if err := s.finish(ctx, Tab{}, next, true); err != nil {
			return err
		}
	}
	for _, r := range next.Refunds {
		if r.Duplicate && r.State() == RefundPending && r.Parts[0].StripeID == "" {
			if err := s.driveRefund(ctx, lease, r.ID); err != nil {
				return err
			}
		}
	}
	return nil
}

func (s *Service) onSession(ctx context.Context, h hookEvent, full bool) error {
	si, err := s.gw.session(ctx, h.ObjectID)
	if err != nil {
		return err
	}
	lease, err := s.locate(ctx, []string{si.ID, si.IntentID}, si.Metadata)
	if err != nil {
		return err
	}
	dest := ""
	if si.Intent != nil {
		dest = si.Intent.Destination
	}
	return s.settle(ctx, h, lease, "session", si.ID, full, func(t *Tab) (bool, error) {
		i := t.payment(si.Metadata[mdPayment])
		for k := range t.Payments {
			if i < 0 && t.Payments[k].attemptFor(si.ID, "", nil) >= 0 {
				i = k
			}
		}
		if i < 0 {
			return false, errNotOurs
		}
		if err := owns(*t, i, si.Metadata, dest); err != nil {
			return false, err
		}
		return t.applySession(i, si, s.now()), nil
	})
}

func (s *Service) onIntent(ctx context.Context, h hookEvent, id string, full bool) error {
	pi, err := s.gw.intent(ctx, id)
	if err != nil {
		return err
	}
	lease, err := s.locate(ctx, []string{pi.ID}, pi.Metadata)
	if err != nil {
		return err
	}
	return s.settle(ctx, h, lease, "intent", pi.ID, full, func(t *Tab) (bool, error) {
		i := t.payment(pi.Metadata[mdPayment])
		if i < 0 {
			i = t.paymentByIntent(pi.ID)
		}
		if i < 0 {
			return false, errNotOurs
		}
		if err := owns(*t, i, pi.Metadata, pi.Destination); err != nil {
			return false, err
		}
		return t.applyIntent(i, pi, s.now()), nil
	})
}

func (s *Service) onRefund(ctx context.Context, h hookEvent, full bool) error {
	re, err := s.gw.refund(ctx, h.ObjectID)
	if err != nil {
		return err
	}
	apply := func() error {
		lease, err := s.locate(ctx, []string{re.ID, re.IntentID, re.ChargeID}, re.Metadata)
		if err != nil {
			return err
		}
		return s.settle(ctx, h, lease, "refund", re.ID, full, func(t *Tab) (bool, error) {
			if op := re.Metadata[mdOperator]; op != "" && op != t.OperatorID {
				return false, errForeign
			}
			placed, changed := t.applyRefund(re, s.now())
			if placed {
				return changed, nil
			}
			i := t.paymentByIntent(re.IntentID)
			if i < 0 || re.IntentID == "" {
				return false, errNotOurs
			}
			if t.Payments[i].State != Paid {
				return false, errNotPaidYet
			}
			return t.addExternal(i, re, s.now()), nil
		})
	}
	err = apply()
	if errors.Is(err, errNotPaidYet) || err == nil && re.IntentID != "" && !s.known(ctx, re.ID) {
		// A refund of a payment whose success we have not recorded yet
		// (events out of order): record the payment first.
		if err := s.onIntent(ctx, h, re.IntentID, full); err != nil {
			return err
		}
		return apply()
	}
	return err
}

// known reports whether a Stripe object id is in the index.
func (s *Service) known(ctx context.Context, id string) bool {
	_, ok, err := s.store.object(ctx, id)
	return ok && err == nil
}

func (s *Service) onDispute(ctx context.Context, h hookEvent, full bool) error {
	d, err := s.gw.dispute(ctx, h.ObjectID)
	if err != nil {
		return err
	}
	if d.IntentID == "" && d.ChargeID != "" {
		if d.IntentID, err = s.gw.chargeIntent(ctx, d.ChargeID); err != nil {
			return err
		}
	}
	if d.IntentID == "" {
		s.ignore(ctx, h, "dispute without a payment intent")
		return nil
	}
	// Record the payment first when its success is not recorded yet
	// (a dispute that overtook it); applying a paid payment again changes
	// nothing.
	if err := s.onIntent(ctx, h, d.IntentID, false); err != nil {
		return err
	}
	lease, err := s.locate(ctx, []string{d.IntentID, d.ChargeID}, nil)
	if err != nil {
		return err
	}
	return s.settle(ctx, h, lease, "dispute", d.ID, full, func(t *Tab) (bool, error) {
		i := t.paymentByIntent(d.IntentID)
		if i < 0 {
			return false, errNotOurs
		}
		return t.applyDispute(i, d, s.now()), nil
	})
}

func (s *Service) onAccount(ctx context.Context, h hookEvent) error {
	info, err := s.gw.account(ctx, h.ObjectID)
	if err != nil {
		return err
	}
	if h.Account != "" && h.Account != info.ID {
		s.ignore(ctx, h, "object of another account")
		return nil
	}
	op := info.Metadata[mdOperator]
	if d, ok, err := s.store.object(ctx, info.ID); err != nil {
		return err
	} else if ok && d.Kind == "account" {
		if op != "" && op != d.OperatorID {
			s.ignore(ctx, h, "object of another operator")
			return nil
		}
		op = d.OperatorID
	}
	if op == "" {
		s.ignore(ctx, h, "unknown object")
		return nil
	}
	cur, err := s.accountHead(ctx, op)
	if err != nil {
		return err
	}
	switch {
	case cur.Seq == 0:
		s.ignore(ctx, h, "unknown object")
		return nil
	case cur.StripeID != "" && cur.StripeID != info.ID:
		s.ignore(ctx, h, "object of another operator")
		return nil
	}
	_, err = s.applyAccount(ctx, op, info, tenancy.System, "updated")
	return err
}
