package payments

import (
	"context"
	"errors"
	"slices"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"
)

var errCrash = errors.New("injected crash")

// crashAt makes the service stop at point, once, as if the process died
// there; it reports whether the point was reached.
func (h *harness) crashAt(point string) *bool {
	hit := new(bool)
	h.svc.crash = func(p string) error {
		if p == point && !*hit {
			*hit = true
			return errCrash
		}
		return nil
	}
	return hit
}

func (h *harness) pending(kind string) int64 {
	h.t.Helper()
	n, err := h.db.Collection("pending_transitions").CountDocuments(context.Background(), bson.D{{Key: "kind", Value: kind}})
	if err != nil {
		h.t.Fatal(err)
	}
	return n
}

// settle runs the reconciler until nothing is pending, as every instance
// would every 30 s, and checks that a further run has nothing to do.
func (h *harness) settleAll() {
	h.t.Helper()
	h.reconcile()
	h.reconcile()
	for _, kind := range []string{"payment", "payment_webhook", "payment_account"} {
		if n := h.pending(kind); n != 0 {
			h.t.Fatalf("%d %s markers left", n, kind)
		}
	}
}

// Invariant 3 for starting a payment: a crash between any two writes —
// including between recording the key and calling Stripe, and between
// Stripe's answer and recording it — ends, after the reconciler, with one
// Checkout Session made under one key, and the family's next request and
// payment go through once.
func TestStartCrashPoints(t *testing.T) {
	for _, point := range []string{"start:marked", "start:requested", "start:stripe", "start:opened"} {
		t.Run(point, func(t *testing.T) {
			h := newHarness(t)
			h.connect("op-a")
			ref := "reservation/r-1/prepay"
			hit := h.crashAt(point)
			_, err := h.svc.StartCheckout(h.ctx, family, request(ref, "l-1", "op-a", 39000))
			h.svc.crash = nil
			if !*hit || !errors.Is(err, errCrash) {
				t.Fatalf("crash at %s: reached %v, err %v", point, *hit, err)
			}
			if h.pending("payment") != 1 {
				t.Fatalf("no marker left by the crash")
			}
			h.settleAll()
			tab, err := h.svc.head(h.ctx, "l-1")
			if err != nil {
				t.Fatal(err)
			}
			if point == "start:marked" {
				if tab.Seq != 0 {
					t.Fatalf("nothing was recorded, yet the tab is %+v", tab)
				}
			} else if p := tab.Payments[0]; len(p.Attempts) != 1 || p.State != Open || p.Attempts[0].SessionID == "" {
				t.Fatalf("after reconcile: %+v", p)
			}
			// The family asks again and pays.
			page := h.checkout(ref, "l-1", "op-a", 39000)
			sid := h.sessionOf("l-1", ref)
			h.w.pay(sid)
			h.mustDeliver("checkout.session.completed", "checkout.session", sid)
			h.settleAll()
			if ids := h.w.createdIDs("cs_"); len(ids) != 1 || ids[0] != sid || page.URL != "https://checkout.stripe.com/c/pay/"+sid {
				t.Fatalf("Stripe made sessions %v; paid %s", ids, sid)
			}
			for _, c := range h.w.posts("/v1/checkout/sessions") {
				if c.Key != ref+"/1" {
					t.Fatalf("session call with key %q", c.Key)
				}
			}
			tab = h.tab("l-1")
			if len(tab.Payments) != 1 || tab.Payments[0].State != Paid || len(tab.Payments[0].Attempts) != 1 {
				t.Fatalf("payment %+v", tab.Payments)
			}
			if got := h.ledger.entries(); !slices.Equal(got, []string{"paid " + ref + " 39000"}) {
				t.Fatalf("ledger %v", got)
			}
			if p, err := h.svc.Payment(h.ctx, scopeA, ref); err != nil || p.State != Paid {
				t.Fatalf("projection %+v, %v", p, err)
			}
		})
	}
}

// Invariant 2 and 3 for refunds: a crash anywhere in a refund ends with one
// Stripe refund under the part's key, recorded, delivered to the ledger
// once, and the refundable amount right.
func TestRefundCrashPoints(t *testing.T) {
	for _, point := range []string{"refund:marked", "refund:requested", "refund:stripe", "refund:recorded"} {
		t.Run(point, func(t *testing.T) {
			h := newHarness(t)
			h.connect("op-a")
			pi := h.paid("reservation/r-1/prepay", "l-1", "op-a", 39000)
			hit := h.crashAt(point)
			req := RefundRequest{Ref: "lease/l-1/deposit-return", LeaseID: "l-1", AmountFen: 30000}
			_, err := h.svc.Refund(h.ctx, scopeA, adminA, req)
			h.svc.crash = nil
			if !*hit || !errors.Is(err, errCrash) {
				t.Fatalf("crash at %s: reached %v, err %v", point, *hit, err)
			}
			h.settleAll()
			tab := h.tab("l-1")
			if point == "refund:marked" {
				if len(tab.Refunds) != 0 || tab.Refundable() != 39000 || len(h.w.posts("/v1/refunds")) != 0 {
					t.Fatalf("nothing was decided, yet %+v", tab.Refunds)
				}
				return
			}
			if len(tab.Refunds) != 1 || tab.Refunds[0].State() != RefundSucceeded || tab.Refundable() != 9000 {
				t.Fatalf("refunds %+v, refundable %d", tab.Refunds, tab.Refundable())
			}
			calls := h.w.posts("/v1/refunds")
			for _, c := range calls {
				if c.Key != req.Ref+"/1" || c.Form.Get("payment_intent") != pi || c.Form.Get("amount") != "30000" {
					t.Fatalf("refund call %+v", c)
				}
			}
			if ids := h.w.createdIDs("re_"); len(ids) != 1 || ids[0] != tab.Refunds[0].Parts[0].StripeID {
				t.Fatalf("Stripe made refunds %v, recorded %s", ids, tab.Refunds[0].Parts[0].StripeID)
			}
			// The desk asks again: nothing more is refunded.
			if _, err := h.svc.Refund(h.ctx, scopeA, adminA, req); err != nil {
				t.Fatal(err)
			}
			if ids := h.w.createdIDs("re_"); len(ids) != 1 {
				t.Fatalf("asking again refunded again: %v", ids)
			}
			if n := h.ledger.deliveries(req.Ref + "/1"); n < 1 || len(h.ledger.entries()) != 2 {
				t.Fatalf("ledger %v", h.ledger.entries())
			}
		})
	}
}

// A crash between claiming a webhook event and applying it (or between
// applying and projecting): Stripe's next delivery is acknowledged as a
// duplicate, and the reconciler applies the claim.
func TestWebhookCrashPoints(t *testing.T) {
	for _, point := range []string{"webhook:claimed", "webhook:applied"} {
		t.Run(point, func(t *testing.T) {
			h := newHarness(t)
			h.connect("op-a")
			ref := "reservation/r-1/prepay"
			h.checkout(ref, "l-1", "op-a", 39000)
			sid := h.sessionOf("l-1", ref)
			h.w.pay(sid)
			payload, sig := h.event("evt_crash", "checkout.session.completed", "checkout.session", sid, h.clock.now(), nil)
			hit := h.crashAt(point)
			err := h.svc.HandleWebhook(h.ctx, payload, sig)
			h.svc.crash = nil
			if !*hit || !errors.Is(err, errCrash) {
				t.Fatalf("crash at %s: reached %v, err %v", point, *hit, err)
			}
			if err := h.svc.HandleWebhook(h.ctx, payload, sig); err != nil {
				t.Fatalf("redelivery: %v", err)
			}
			h.settleAll()
			if p, err := h.svc.Payment(h.ctx, scopeA, ref); err != nil || p.State != Paid {
				t.Fatalf("payment %+v, %v", p, err)
			}
			if got := h.ledger.entries(); !slices.Equal(got, []string{"paid " + ref + " 39000"}) {
				t.Fatalf("ledger %v", got)
			}
		})
	}
}

// A crash while creating a connected account ends with one account.
func TestAccountCrashPoints(t *testing.T) {
	for _, point := range []string{"account:requested", "account:stripe"} {
		t.Run(point, func(t *testing.T) {
			h := newHarness(t)
			hit := h.crashAt(point)
			_, err := h.svc.ConnectAccount(h.ctx, scopeA, adminA, "op-a")
			h.svc.crash = nil
			if !*hit || !errors.Is(err, errCrash) {
				t.Fatalf("crash at %s: reached %v, err %v", point, *hit, err)
			}
			h.settleAll()
			a, err := h.svc.AccountStatus(h.ctx, scopeA, "op-a")
			if err != nil || a.StripeID == "" || a.Status != AccountOnboarding {
				t.Fatalf("account %+v, %v", a, err)
			}
			again, err := h.svc.ConnectAccount(h.ctx, scopeA, adminA, "op-a")
			if err != nil || again.StripeID != a.StripeID {
				t.Fatalf("again %+v, %v", again, err)
			}
			if ids := h.w.createdIDs("acct_"); len(ids) != 1 {
				t.Fatalf("Stripe made accounts %v", ids)
			}
		})
	}
}

// Stripe unreachable: the payment is recorded with its key and nothing
// else; the family's retry (or the reconciler) makes it with the same key.
func TestStripeUnavailable(t *testing.T) {
	h := newHarness(t)
	h.connect("op-a")
	ref := "lease/l-1/balance/1"
	h.w.down.Store(true)
	_, err := h.svc.StartCheckout(h.ctx, family, request(ref, "l-1", "op-a", 8000))
	h.w.down.Store(false)
	if !errors.Is(err, ErrStripeUnavailable) {
		t.Fatalf("Stripe down: %v", err)
	}
	if p, _ := h.svc.Payment(h.ctx, scopeA, ref); p.State != Requested {
		t.Fatalf("payment %+v", p)
	}
	h.reconcile()
	if p, _ := h.svc.Payment(h.ctx, scopeA, ref); p.State != Open {
		t.Fatalf("after reconcile %+v", p)
	}
	page := h.checkout(ref, "l-1", "op-a", 8000)
	if ids := h.w.createdIDs("cs_"); len(ids) != 1 || page.URL == "" {
		t.Fatalf("sessions %v", ids)
	}
	keys := map[string]bool{}
	for _, c := range h.w.posts("/v1/checkout/sessions") {
		keys[c.Key] = true
	}
	if len(keys) != 1 || !keys[ref+"/1"] {
		t.Fatalf("keys %v", keys)
	}
}

// The reconciler settles from Stripe's answer what webhooks never told:
// a page paid or expired, a refund the bank failed, an intent left unpaid
// for a day (canceled, so it cannot be paid next to a newer attempt).
func TestReconcilerSettlesFromStripe(t *testing.T) {
	h := newHarness(t)
	h.connect("op-a")
	h.checkout("reservation/r-1/prepay", "l-1", "op-a", 10000)
	h.w.pay(h.sessionOf("l-1", "reservation/r-1/prepay"))
	h.checkout("reservation/r-2/prepay", "l-2", "op-a", 10000)
	h.w.set(h.sessionOf("l-2", "reservation/r-2/prepay"), map[string]any{"status": "expired"})
	mi, err := h.svc.StartIntent(h.ctx, family, request("reservation/r-3/prepay", "l-3", "op-a", 10000))
	if err != nil {
		t.Fatal(err)
	}
	h.paid("reservation/r-4/prepay", "l-4", "op-a", 10000)
	h.w.refundStatus = "pending"
	r, err := h.svc.Refund(h.ctx, scopeA, adminA, RefundRequest{Ref: "lease/l-4/deposit-return", LeaseID: "l-4", AmountFen: 10000})
	if err != nil || r.State() != RefundPending {
		t.Fatalf("refund %+v, %v", r, err)
	}
	h.w.set(r.Parts[0].StripeID, map[string]any{"status": "succeeded"}) // the webhook never comes
	// Nothing is older than 30 minutes yet: nothing is asked.
	reads := h.w.count("GET", "/v1/")
	if _, err := h.svc.Reconcile(h.ctx, -1, 30*60e9); err != nil {
		t.Fatal(err)
	}
	if h.w.count("GET", "/v1/") != reads {
		t.Fatal("the reconciler asked Stripe about young payments")
	}
	h.clock.add(25 * 60 * 60e9) // a day and an hour later
	h.reconcile()
	for lease, want := range map[string]State{"l-1": Paid, "l-2": Ended, "l-3": Ended} {
		if p := h.tab(lease).Payments[0]; p.State != want {
			t.Errorf("%s: %s, want %s", lease, p.State, want)
		}
	}
	if r := h.tab("l-4").Refunds[0]; r.State() != RefundSucceeded {
		t.Errorf("pending refund after reconcile: %+v", r)
	}
	if c := h.w.posts("/v1/payment_intents/" + mi.IntentID + "/cancel"); len(c) != 1 {
		t.Fatalf("stale intent not canceled: %d calls", len(c))
	}
	want := []string{"paid reservation/r-4/prepay 10000", "paid reservation/r-1/prepay 10000", "refunded lease/l-4/deposit-return/1 10000"}
	if got := h.ledger.entries(); !slices.Equal(got, want) {
		t.Fatalf("ledger %v, want %v", got, want)
	}
	if n := h.countDocs("payment_open"); n != 0 {
		t.Fatalf("%d tabs still waiting", n)
	}
}
