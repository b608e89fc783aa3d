package payments

import (
	"context"
	"fmt"
	"fuju/internal/tenancy"
)

// Refund sends money paid online for a lease back: r.AmountFen, or with
// r.Full everything still refundable. It never returns more than was paid
// minus what was already refunded or is being refunded: the decision reads
// the tab's head and is appended as its next event, so two refunds at once
// cannot both spend the same money. Each Stripe refund is keyed by our
// ledger entry id ("<ref>/<n>", n for each payment it draws on), recorded
// before the call. A refund Stripe refuses at once, or fails later, becomes a
// queue item for the operator and a RefundFailed outcome.
func (s *Service) Refund(ctx context.Context, scope tenancy.Scope, by tenancy.Actor, r RefundRequest) (Refund, error) {
	if err := r.validate(); err != nil {
		return Refund{}, err
	}
	cur, err := s.head(ctx, r.LeaseID)
	if err != nil {
		return Refund{}, err
	}
	if cur.Seq == 0 || !scope.Operator(cur.OperatorID) {
		return Refund{}, fmt.Errorf("payments: nothing was paid online for lease %s: %w", r.LeaseID, ErrNotFound)
	}
	mark, err := s.tabs.Begin(ctx, r.LeaseID)
	if err != nil {
		return Refund{}, fmt.Errorf("payments: %w", err)
	}
	if err := s.crashed("refund:marked"); err != nil {
		return Refund{}, err
	}
	next, mine, err := s.update(ctx, r.LeaseID, tabEvent{Kind: "refund_requested", Ref: r.Ref, By: by, Why: r.Reason}, "refund:requested", func(t *Tab) (bool, error) {
		if k := t.refund(r.Ref); k >= 0 {
			if x := t.Refunds[k]; !r.Full && x.AmountFen != r.AmountFen || x.External || x.Duplicate {
				return false, fmt.Errorf("payments: refund %s was asked for %d fen; a new amount needs a new ref: %w", r.Ref, x.AmountFen, ErrConflict)
			}
			return false, nil // asked again: finish it
		}
		ref, err := t.allocate(r.Ref, r.AmountFen, r.Full, r.Reason, s.now())
		if err != nil {
			return false, err
		}
		t.Refunds = append(t.Refunds, ref)
		return true, nil
	})
	if err != nil {
		if settled(err) {
			done(ctx, s, s.tabs, mark)
		}
		return Refund{}, err
	}
	k := next.refund(r.Ref)
	if mine {
		x := next.Refunds[k]
		s.record(ctx, by, next.OperatorID, "payments.refund", "lease/"+r.LeaseID, map[string]any{
			"refund": r.Ref, "amount_fen": x.AmountFen, "parts": len(x.Parts), "reason": r.Reason})
	}
	if err := s.driveRefund(ctx, r.LeaseID, r.Ref); err != nil {
		if settled(err) {
			done(ctx, s, s.tabs, mark)
		}
		return Refund{}, err
	}
	done(ctx, s, s.tabs, mark)
	t, err := s.head(ctx, r.LeaseID)
	if err != nil {
		return Refund{}, err
	}
	return t.Refunds[t.refund(r.Ref)], nil
}

// driveRefund makes at Stripe every part of refund id that has no Stripe
// refund yet, with the part's key, and records each answer. A part Stripe
// refuses is recorded failed (with Stripe's code as the reason) and the
// refusal returned; when Stripe is unreachable the part stays requested and
// the reconciler makes it later with the same key.
func (s *Service) driveRefund(ctx context.Context, leaseID, id string) error {
	t, err := s.head(ctx, leaseID)
	if err != nil {
		return err
	}
	k := t.refund(id)
	if k < 0 {
		return fmt.Errorf("payments: refund %s: %w", id, ErrNotFound)
	}
	ref := t.Refunds[k]
	var refused error
	for _, part := range ref.Parts {
		if part.State != RefundRequested || part.StripeID != "" {
			continue
		}
		info, err := s.gw.createRefund(ctx, t, ref, part)
		if code, ok := refusalCode(err); ok {
			info = refundInfo{ID: "", Status: "failed", FailureReason: code}
			refused = err
		} else if err != nil {
			return err
		}
		if err := s.crashed("refund:stripe"); err != nil {
			return err
		}
		if info.Metadata == nil {
			info.Metadata = map[string]string{}
		}
		info.Metadata[mdPart] = part.Key // we know whose answer this is
		_, _, err = s.update(ctx, leaseID, tabEvent{Kind: "refund", Ref: id, By: tenancy.System, Why: "refund " + info.Status}, "refund:recorded", func(t *Tab) (bool, error) {
			if info.ID == "" {
				return t.failPart(part.Key, info.FailureReason, s.now()), nil
			}
			_, changed := t.applyRefund(info, s.now())
			return changed, nil
		})
		if err != nil {
			return err
		}
	}
	return refused
}

// Queue lists the failed refunds and disputes of the operators within scope,
// newest first.
func (s *Service) Queue(ctx context.Context, scope tenancy.Scope) ([]QueueItem, error) {
	op := scope.OperatorID
	if !scope.Platform && op == "" {
		return []QueueItem{}, nil
	}
	if scope.Platform {
		op = ""
	}
	docs, _, err := list[queueDoc](ctx, s.store.queue, operatorFilter(op), "at", 0, 0)
	if err != nil {
		return nil, err
	}
	out := make([]QueueItem, 0, len(docs))
	for _, d := range docs {
		out = append(out, d.item())
	}
	return out, nil
}

// Acknowledge clears queue item id once the operator dealt with it (paid the
// family at the desk, answered the dispute). The refund or dispute itself
// stays as it is; a dispute that changes again comes back.
func (s *Service) Acknowledge(ctx context.Context, scope tenancy.Scope, by tenancy.Actor, id string) error {
	var d queueDoc
	ok, err := get(ctx, s.store.queue, id, &d)
	if err != nil {
		return err
	}
	if !ok || !scope.Operator(d.OperatorID) {
		return fmt.Errorf("payments: queue item %s: %w", id, ErrNotFound)
	}
	mark, err := s.tabs.Begin(ctx, d.LeaseID)
	if err != nil {
		return fmt.Errorf("payments: %w", err)
	}
	_, changed, err := s.update(ctx, d.LeaseID, tabEvent{Kind: "acknowledged", Ref: id, By: by}, "", func(t *Tab) (bool, error) {
		return t.acknowledge(id), nil
	})
	if settled(err) {
		done(ctx, s, s.tabs, mark)
	}
	if err != nil {
		return err
	}
	if changed {
		s.record(ctx, by, d.OperatorID, "payments.queue_acknowledge", "lease/"+d.LeaseID, map[string]any{
			"item": id, "kind": d.Kind, "amount_fen": d.AmountFen, "reason": d.Reason})
	}
	return nil
}
