package payments

import (
	"context"
	"errors"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76/webhook"
	"go.mongodb.org/mongo-driver/v2/bson"
)

func (h *harness) countDocs(coll string) int64 {
	h.t.Helper()
	n, err := h.db.Collection(coll).CountDocuments(context.Background(), bson.D{})
	if err != nil {
		h.t.Fatal(err)
	}
	return n
}

// Only genuine, fresh events of API version 2023-10-16 get through; the
// others are ErrBadWebhook (400) and write nothing.
func TestWebhookVerification(t *testing.T) {
	h := newHarness(t)
	h.connect("op-a")
	h.checkout("reservation/r-1/prepay", "l-1", "op-a", 5000)
	sid := h.sessionOf("l-1", "reservation/r-1/prepay")
	now := time.Now()
	payload, sig := h.event("evt_ok", "checkout.session.expired", "checkout.session", sid, now, nil)
	forged := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: payload, Secret: "whsec_attacker", Timestamp: now})
	oldPayload, oldSig := h.event("evt_old", "checkout.session.expired", "checkout.session", sid, now.Add(-10*time.Minute), nil)
	verPayload, verSig := h.event("evt_ver", "checkout.session.expired", "checkout.session", sid, now, func(ev map[string]any) { ev["api_version"] = "2020-08-27" })
	for name, c := range map[string]struct {
		payload []byte
		sig     string
		reason  string
	}{
		"forged signature":  {payload, forged.Header, "signature"},
		"tampered body":     {[]byte(strings.Replace(string(payload), "expired", "completed", 1)), sig, "signature"},
		"outside tolerance": {oldPayload, oldSig, "timestamp"},
		"no signature":      {payload, "", "header"},
		"wrong api version": {verPayload, verSig, "api_version"},
	} {
		err := h.svc.HandleWebhook(h.ctx, c.payload, c.sig)
		var we *webhookError
		if !errors.Is(err, ErrBadWebhook) || !errors.As(err, &we) || we.reason != c.reason {
			t.Errorf("%s: %v, want ErrBadWebhook (%s)", name, err, c.reason)
		}
	}
	if n := h.countDocs("payment_webhook_events"); n != 0 {
		t.Fatalf("%d refused events were recorded", n)
	}
	logs := h.logs.String()
	if !strings.Contains(logs, "API version 2020-08-27") || !strings.Contains(logs, "set its API version to 2023-10-16") {
		t.Fatalf("no clear log line for the API version:\n%s", logs)
	}
	// The genuine one is applied; it was signed with the second secret.
	h.w.set(sid, map[string]any{"status": "expired"})
	if err := h.svc.HandleWebhook(h.ctx, payload, sig); err != nil {
		t.Fatal(err)
	}
	if p, _ := h.svc.Payment(h.ctx, scopeA, "reservation/r-1/prepay"); p.State != Ended {
		t.Fatalf("valid event not applied: %+v", p)
	}
	// Types we do not use are acknowledged without a trace.
	payload, sig = h.event("evt_cust", "customer.created", "customer", "cus_1", now, nil)
	if err := h.svc.HandleWebhook(h.ctx, payload, sig); err != nil {
		t.Fatal(err)
	}
	if n := h.countDocs("payment_webhook_events"); n != 1 {
		t.Fatalf("%d events recorded, want only the one applied", n)
	}
}

// The same event delivered 20 times at once is applied once: one read of
// the object at Stripe, one event in the tab's log, one ledger delivery.
func TestSameEventTwentyTimesAppliedOnce(t *testing.T) {
	h := newHarness(t)
	h.connect("op-a")
	h.checkout("reservation/r-2/prepay", "l-2", "op-a", 39000)
	sid := h.sessionOf("l-2", "reservation/r-2/prepay")
	h.w.pay(sid)
	before := h.tab("l-2").Seq
	reads := h.w.count("GET", "/v1/checkout/sessions/")
	payload, sig := h.event("evt_twenty", "checkout.session.completed", "checkout.session", sid, time.Now(), nil)
	var wg sync.WaitGroup
	errs := make([]error, 20)
	start := make(chan struct{})
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			errs[i] = h.svc.HandleWebhook(h.ctx, payload, sig)
		}()
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("delivery %d: %v", i, err)
		}
	}
	if after := h.tab("l-2"); after.Seq != before+1 || after.Payments[0].State != Paid {
		t.Fatalf("tab went %d → %d (%s)", before, after.Seq, after.Payments[0].State)
	}
	if n := h.w.count("GET", "/v1/checkout/sessions/") - reads; n != 1 {
		t.Fatalf("the session was read %d times", n)
	}
	if n := h.ledger.deliveries("reservation/r-2/prepay"); n != 1 {
		t.Fatalf("ledger heard of the payment %d times", n)
	}
	// Another event about the same object (Stripe sends several) changes
	// nothing either.
	h.mustDeliver("payment_intent.succeeded", "payment_intent", h.tab("l-2").Payments[0].IntentID)
	if after := h.tab("l-2"); after.Seq != before+1 || h.ledger.deliveries("reservation/r-2/prepay") != 1 {
		t.Fatalf("second event about the payment changed the tab to %d", after.Seq)
	}
}

// Events out of order: whatever arrives first, the tab ends as Stripe says
// and the ledger hears each outcome once.
func TestEventsOutOfOrder(t *testing.T) {
	h := newHarness(t)
	h.connect("op-a")

	// A refund (made in Stripe's dashboard) arrives before the payment's
	// success.
	h.checkout("reservation/r-3/prepay", "l-3", "op-a", 20000)
	sid := h.sessionOf("l-3", "reservation/r-3/prepay")
	pi := h.w.pay(sid)
	re := h.w.newObject("re", map[string]any{"amount": 5000, "payment_intent": pi, "status": "succeeded", "currency": "cny", "metadata": map[string]any{}})
	h.mustDeliver("refund.created", "refund", re)
	tab := h.tab("l-3")
	if tab.Payments[0].State != Paid || len(tab.Refunds) != 1 || !tab.Refunds[0].External || tab.Refundable() != 15000 {
		t.Fatalf("refund before success: %+v %+v", tab.Payments[0], tab.Refunds)
	}
	h.mustDeliver("checkout.session.completed", "checkout.session", sid)
	h.mustDeliver("refund.created", "refund", re)
	if got := h.ledger.entries(); !slices.Equal(got, []string{"paid reservation/r-3/prepay 20000", "refunded stripe/" + re + " 5000"}) {
		t.Fatalf("ledger %v", got)
	}

	// A failure and an expiry after success change nothing.
	seq := h.tab("l-3").Seq
	h.w.set(pi, map[string]any{"last_payment_error": map[string]any{"code": "card_declined", "type": "card_error"}})
	h.mustDeliver("payment_intent.payment_failed", "payment_intent", pi)
	h.mustDeliver("checkout.session.expired", "checkout.session", sid)
	if tab := h.tab("l-3"); tab.Seq != seq || tab.Payments[0].State != Paid {
		t.Fatalf("late failure changed the tab: %d → %d, %s", seq, tab.Seq, tab.Payments[0].State)
	}

	// A dispute arrives before the payment's success.
	h.checkout("reservation/r-4/prepay", "l-4", "op-a", 30000)
	sid4 := h.sessionOf("l-4", "reservation/r-4/prepay")
	pi4 := h.w.pay(sid4)
	dp := h.w.newObject("dp", map[string]any{"payment_intent": pi4, "amount": 30000, "status": "needs_response", "reason": "fraudulent", "currency": "cny"})
	h.mustDeliver("charge.dispute.created", "dispute", dp)
	tab = h.tab("l-4")
	if p := tab.Payments[0]; p.State != Paid || !p.Disputed || len(tab.Disputes) != 1 || tab.Refundable() != 0 {
		t.Fatalf("dispute before success: %+v, %+v", p, tab.Disputes)
	}
	q, _ := h.svc.Queue(h.ctx, scopeA)
	if len(q) != 1 || q[0].Kind != QueueDispute || q[0].AmountFen != 30000 {
		t.Fatalf("queue %+v", q)
	}
	if _, err := h.svc.Refund(h.ctx, scopeA, adminA, RefundRequest{Ref: "lease/l-4/r", LeaseID: "l-4", AmountFen: 100}); !errors.Is(err, ErrRefundTooLarge) {
		t.Fatalf("refund of a disputed payment: %v", err)
	}
	h.mustDeliver("checkout.session.completed", "checkout.session", sid4)
	h.w.set(dp, map[string]any{"status": "lost"})
	h.mustDeliver("charge.dispute.closed", "dispute", dp)
	want := []string{"paid reservation/r-4/prepay 30000", "disputed " + dp + "/needs_response 30000", "disputed " + dp + "/lost 30000"}
	if got := h.ledger.entries()[2:]; !slices.Equal(got, want) {
		t.Fatalf("ledger %v, want %v", got, want)
	}
}

// A dispute that names only the charge is traced to its payment through
// the charge's PaymentIntent.
func TestDisputeByCharge(t *testing.T) {
	h := newHarness(t)
	h.connect("op-a")
	pi := h.paid("reservation/r-6/prepay", "l-6", "op-a", 25000)
	ch := h.tab("l-6").Payments[0].ChargeID
	dp := h.w.newObject("dp", map[string]any{"payment_intent": nil, "charge": ch, "amount": 25000, "status": "warning_needs_response", "reason": "general"})
	h.mustDeliver("charge.dispute.created", "dispute", dp)
	tab := h.tab("l-6")
	if len(tab.Disputes) != 1 || !tab.Payments[0].Disputed || tab.Payments[0].IntentID != pi || h.w.count("GET", "/v1/charges/"+ch) != 1 {
		t.Fatalf("dispute by charge: %+v", tab.Disputes)
	}
	if o, ok := h.ledger.got[dp+"/warning_needs_response"]; !ok || o.Ref != "reservation/r-6/prepay" || o.AmountFen != 25000 {
		t.Fatalf("ledger %v", h.ledger.entries())
	}
}

// Events about objects that are not ours, or are another operator's, are
// acknowledged, ignored and logged by id only.
func TestForeignAndUnknownObjects(t *testing.T) {
	h := newHarness(t)
	h.connect("op-a")
	h.connect("op-b")
	h.checkout("reservation/r-a/prepay", "l-a", "op-a", 10000)
	seq := h.tab("l-a").Seq

	// A session Stripe knows nothing of ours about (no metadata, no id).
	h.mustDeliver("checkout.session.completed", "checkout.session", "cs_test_not_ours")
	// A session whose metadata names A's payment but operator B.
	forged := h.w.newObject("cs", map[string]any{"status": "complete", "payment_status": "paid", "payment_intent": nil,
		"metadata": map[string]any{mdPayment: "reservation/r-a/prepay", mdLease: "l-a", mdOperator: "op-b"}})
	h.mustDeliver("checkout.session.completed", "checkout.session", forged)
	// An intent naming A's payment whose money goes to B's account.
	acctB, _ := h.svc.AccountStatus(h.ctx, scopeB, "op-b")
	pi := h.w.newObject("pi", map[string]any{"status": "succeeded", "amount": 10000, "amount_received": 10000, "currency": "cny",
		"metadata":      map[string]any{mdPayment: "reservation/r-a/prepay", mdLease: "l-a", mdOperator: "op-a", mdAttempt: "reservation/r-a/prepay/1"},
		"transfer_data": map[string]any{"destination": acctB.StripeID}})
	h.mustDeliver("payment_intent.succeeded", "payment_intent", pi)
	// An event of a connected account's own object.
	payload, sig := h.event("evt_connect", "payment_intent.succeeded", "payment_intent", pi, time.Now(), func(ev map[string]any) { ev["account"] = acctB.StripeID })
	if err := h.svc.HandleWebhook(h.ctx, payload, sig); err != nil {
		t.Fatal(err)
	}
	// An account.updated for B's account claiming to be A's.
	h.w.set(acctB.StripeID, map[string]any{"metadata": map[string]any{mdOperator: "op-a"}})
	h.mustDeliver("account.updated", "account", acctB.StripeID)

	if tab := h.tab("l-a"); tab.Seq != seq || tab.Payments[0].State != Open {
		t.Fatalf("foreign events changed A's payment: %d → %d, %s", seq, tab.Seq, tab.Payments[0].State)
	}
	if len(h.ledger.entries()) != 0 {
		t.Fatalf("ledger %v", h.ledger.entries())
	}
	logs := h.logs.String()
	for _, want := range []string{"object=cs_test_not_ours why=\"unknown object\"", "object=" + forged + " why=\"object of another operator\"",
		"object=" + pi + " why=\"object of another operator\"", "why=\"object of a connected account\"", "object=" + acctB.StripeID + " why=\"object of another operator\""} {
		if !strings.Contains(logs, want) {
			t.Errorf("log lacks %q", want)
		}
	}
	for _, personal := range []string{family.Name, adminA.Name} {
		if strings.Contains(logs, personal) {
			t.Errorf("log has personal data %q", personal)
		}
	}
}

// The README and docs/payments.md list every event type the endpoint must
// send, so a Stripe endpoint set up from them misses none.
func TestDocsListWebhookEvents(t *testing.T) {
	for _, doc := range []string{"../README.md", "../docs/payments.md"} {
		b, err := os.ReadFile(doc)
		if err != nil {
			t.Fatal(err)
		}
		for _, typ := range HandledEvents() {
			if !strings.Contains(string(b), "`"+typ+"`") {
				t.Errorf("%s does not list %s", doc, typ)
			}
		}
	}
}
