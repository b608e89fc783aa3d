package payments

import (
	"errors"
	"slices"
	"testing"
)

// No purpose is charged twice: if an old page is paid after a newer one (a
// late asynchronous payment), the second payment is refunded in full at
// once, and the ledger only ever hears of one.
func TestSecondPaymentOfAPurposeIsRefunded(t *testing.T) {
	h := newHarness(t)
	h.connect("op-a")
	ref := "reservation/r-1/prepay"
	h.checkout(ref, "l-1", "op-a", 20000)
	s1 := h.sessionOf("l-1", ref)
	h.w.set(s1, map[string]any{"status": "expired"})
	h.mustDeliver("checkout.session.expired", "checkout.session", s1)
	h.checkout(ref, "l-1", "op-a", 20000)
	s2 := h.sessionOf("l-1", ref)
	pi2 := h.w.pay(s2)
	h.mustDeliver("checkout.session.completed", "checkout.session", s2)
	pi1 := h.w.pay(s1) // Stripe says the old page was paid after all
	h.mustDeliver("checkout.session.completed", "checkout.session", s1)

	tab := h.tab("l-1")
	if p := tab.Payments[0]; p.IntentID != pi2 || p.PaidFen != 20000 {
		t.Fatalf("payment %+v", p)
	}
	calls := h.w.posts("/v1/refunds")
	if len(calls) != 1 || calls[0].Form.Get("payment_intent") != pi1 || calls[0].Form.Get("amount") != "20000" ||
		calls[0].Form.Get("reason") != "duplicate" || calls[0].Key != ref+"/duplicate/1/1" {
		t.Fatalf("duplicate refund calls %+v", calls)
	}
	if len(tab.Refunds) != 1 || !tab.Refunds[0].Duplicate || tab.Refunds[0].State() != RefundSucceeded || tab.Refundable() != 20000 {
		t.Fatalf("refunds %+v, refundable %d", tab.Refunds, tab.Refundable())
	}
	if got := h.ledger.entries(); !slices.Equal(got, []string{"paid " + ref + " 20000"}) {
		t.Fatalf("ledger %v", got)
	}
}

// A family who paid on the page and then opens the app finds the payment
// made: closing the page at Stripe fails because it is paid, and what Stripe
// says is recorded instead of a second attempt.
func TestSwitchingAfterPayingFindsThePayment(t *testing.T) {
	h := newHarness(t)
	h.connect("op-a")
	ref := "reservation/r-2/prepay"
	h.checkout(ref, "l-2", "op-a", 15000)
	h.w.pay(h.sessionOf("l-2", ref)) // no webhook yet
	if _, err := h.svc.StartIntent(h.ctx, family, request(ref, "l-2", "op-a", 15000)); !errors.Is(err, ErrAlreadyPaid) {
		t.Fatalf("switching after paying: %v", err)
	}
	if n := len(h.w.posts("/v1/payment_intents")); n != 0 {
		t.Fatalf("%d intents made for a paid purpose", n)
	}
	if got := h.ledger.entries(); !slices.Equal(got, []string{"paid " + ref + " 15000"}) {
		t.Fatalf("ledger %v", got)
	}
}

// A refund Stripe refuses (here: part of the money was refunded in the
// dashboard, and the webhook has not come yet) is recorded as failed with
// Stripe's code, queued for the operator and told to the ledger; the
// dashboard refund, once its event arrives, is counted.
func TestRefundStripeRefuses(t *testing.T) {
	h := newHarness(t)
	h.connect("op-a")
	pi := h.paid("reservation/r-3/prepay", "l-3", "op-a", 20000)
	re := h.w.newObject("re", map[string]any{"amount": 15000, "payment_intent": pi, "status": "succeeded", "currency": "cny", "metadata": map[string]any{}})
	_, err := h.svc.Refund(h.ctx, scopeA, adminA, RefundRequest{Ref: "lease/l-3/deposit-return", LeaseID: "l-3", AmountFen: 10000})
	if !errors.Is(err, ErrStripeRefused) {
		t.Fatalf("refused refund: %v", err)
	}
	tab := h.tab("l-3")
	if part := tab.Refunds[0].Parts[0]; part.State != RefundFailed || part.FailureReason != "amount_too_large" {
		t.Fatalf("part %+v", part)
	}
	if q, _ := h.svc.Queue(h.ctx, scopeA); len(q) != 1 || q[0].Reason != "amount_too_large" {
		t.Fatalf("queue %+v", q)
	}
	if _, ok := h.ledger.got["lease/l-3/deposit-return/1/failed"]; !ok {
		t.Fatalf("ledger %v", h.ledger.entries())
	}
	h.mustDeliver("refund.created", "refund", re)
	if tab := h.tab("l-3"); tab.Refundable() != 5000 || tab.RefundedFen() != 15000 {
		t.Fatalf("after the dashboard refund: refundable %d refunded %d", tab.Refundable(), tab.RefundedFen())
	}
	if _, err := h.svc.Refund(h.ctx, scopeA, adminA, RefundRequest{Ref: "lease/l-3/rest", LeaseID: "l-3", Full: true}); err != nil {
		t.Fatal(err)
	}
	if tab := h.tab("l-3"); tab.Refundable() != 0 || tab.RefundedFen() != 20000 {
		t.Fatalf("after the rest: refundable %d refunded %d", tab.Refundable(), tab.RefundedFen())
	}
}

// When the ledger cannot take an outcome, the webhook answers with an error
// (Stripe delivers again), the claim's marker stays, and the reconciler
// delivers the outcome once the ledger is back.
func TestLedgerOutageIsDeliveredLater(t *testing.T) {
	h := newHarness(t)
	h.connect("op-a")
	ref := "reservation/r-4/prepay"
	h.checkout(ref, "l-4", "op-a", 12000)
	sid := h.sessionOf("l-4", ref)
	h.w.pay(sid)
	h.ledger.fail = errors.New("ledger unavailable")
	payload, sig := h.event("evt_ledger", "checkout.session.completed", "checkout.session", sid, h.clock.now(), nil)
	if err := h.svc.HandleWebhook(h.ctx, payload, sig); err == nil {
		t.Fatal("an undelivered outcome was acknowledged")
	}
	if err := h.svc.HandleWebhook(h.ctx, payload, sig); err != nil {
		t.Fatalf("Stripe's redelivery: %v", err)
	}
	if _, err := h.svc.Reconcile(h.ctx, -1, -1); err == nil {
		t.Fatal("reconcile delivered to a failing ledger")
	}
	h.ledger.fail = nil
	h.settleAll()
	if got := h.ledger.entries(); !slices.Equal(got, []string{"paid " + ref + " 12000"}) {
		t.Fatalf("ledger %v", got)
	}
}
