package payments

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// A Checkout Session is a destination charge to the operator's account with
// the platform's fee, in CNY, by card, Alipay or WeChat Pay, created under
// the payment's own key; asking again returns the same page; the webhook
// records the payment and tells the ledger once.
func TestCheckoutSessionWithDestinationAndFee(t *testing.T) {
	h := newHarness(t)
	acct := h.connect("op-a")
	page := h.checkout("reservation/r-1/prepay", "l-1", "op-a", 39000)
	calls := h.w.posts("/v1/checkout/sessions")
	if len(calls) != 1 {
		t.Fatalf("%d session calls", len(calls))
	}
	f := calls[0].Form
	for k, want := range map[string]string{
		"mode":                                            "payment",
		"line_items[0][price_data][currency]":             "cny",
		"line_items[0][price_data][unit_amount]":          "39000",
		"line_items[0][quantity]":                         "1",
		"payment_intent_data[application_fee_amount]":     "975",
		"payment_intent_data[transfer_data][destination]": acct.StripeID,
		"payment_intent_data[metadata][fuju_payment]":     "reservation/r-1/prepay",
		"payment_intent_data[metadata][fuju_lease]":       "l-1",
		"metadata[fuju_operator]":                         "op-a",
		"payment_method_options[wechat_pay][client]":      "web",
		"success_url":                                     "https://fuju.example/pay/done",
		"locale":                                          "zh",
		"expires_at":                                      strconv.FormatInt(h.clock.now().Add(time.Hour).Unix(), 10),
	} {
		if got := f.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	if m := f["payment_method_types[]"]; !slices.Equal(m, Methods) && !slices.Equal([]string{f.Get("payment_method_types[0]"), f.Get("payment_method_types[1]"), f.Get("payment_method_types[2]")}, Methods) {
		t.Errorf("payment methods %v", f)
	}
	if calls[0].Key != "reservation/r-1/prepay/1" {
		t.Errorf("idempotency key %q", calls[0].Key)
	}
	sid := h.sessionOf("l-1", "reservation/r-1/prepay")
	if page.URL != "https://checkout.stripe.com/c/pay/"+sid || page.PaymentID != "reservation/r-1/prepay" {
		t.Fatalf("page %+v for session %s", page, sid)
	}
	again := h.checkout("reservation/r-1/prepay", "l-1", "op-a", 39000)
	if again.URL != page.URL || len(h.w.posts("/v1/checkout/sessions")) != 1 {
		t.Fatalf("asking again made another session: %+v", again)
	}
	p, err := h.svc.Payment(h.ctx, scopeA, "reservation/r-1/prepay")
	if err != nil || p.State != Open || p.FeeFen != 975 || p.Destination != acct.StripeID {
		t.Fatalf("stored payment %+v, %v", p, err)
	}

	pi := h.w.pay(sid)
	h.mustDeliver("checkout.session.completed", "checkout.session", sid)
	p, _ = h.svc.Payment(h.ctx, scopeA, "reservation/r-1/prepay")
	if p.State != Paid || p.PaidFen != 39000 || p.PaidFeeFen != 975 || p.IntentID != pi || p.ChargeID == "" {
		t.Fatalf("paid payment %+v", p)
	}
	if got := h.ledger.entries(); !slices.Equal(got, []string{"paid reservation/r-1/prepay 39000"}) {
		t.Fatalf("ledger %v", got)
	}
	if o := h.ledger.got["reservation/r-1/prepay"]; o.FeeFen != 975 || o.StripeRef != pi || o.LeaseID != "l-1" || o.OperatorID != "op-a" {
		t.Fatalf("outcome %+v", o)
	}
	if _, err := h.svc.StartCheckout(h.ctx, family, request("reservation/r-1/prepay", "l-1", "op-a", 39000)); !errors.Is(err, ErrAlreadyPaid) {
		t.Fatalf("paying twice: %v", err)
	}
	if acts := h.audit.actions(); count(acts, "payments.start") != 1 {
		t.Fatalf("audit %v", acts)
	}
	if tab := h.tab("l-1"); tab.PaidFen() != 39000 || tab.Refundable() != 39000 {
		t.Fatalf("tab paid %d refundable %d", tab.PaidFen(), tab.Refundable())
	}
}

// Amounts of zero or below Stripe's minimum, and operators who cannot take
// charges, are never sent to Stripe: ErrPayAtStation.
func TestPayAtTheStation(t *testing.T) {
	h := newHarness(t)
	for _, amount := range []int64{0, 1, MinChargeFen - 1} {
		_, err := h.svc.StartCheckout(h.ctx, family, request("lease/l-1/balance/"+strconv.FormatInt(amount, 10), "l-1", "op-a", amount))
		if !errors.Is(err, ErrBelowMinimum) || !errors.Is(err, ErrPayAtStation) {
			t.Fatalf("%d fen: %v", amount, err)
		}
	}
	if _, err := h.svc.StartCheckout(h.ctx, family, request("lease/l-1/balance", "l-1", "op-a", 5000)); !errors.Is(err, ErrNotConnected) || !errors.Is(err, ErrPayAtStation) {
		t.Fatalf("no account: %v", err)
	}
	if n := h.w.count("POST", "/v1/checkout") + h.w.count("POST", "/v1/payment_intents"); n != 0 {
		t.Fatalf("%d payment calls reached Stripe", n)
	}
	h.connect("op-a")
	if _, err := h.svc.StartIntent(h.ctx, family, request("lease/l-1/balance", "l-1", "op-a", MinChargeFen)); err != nil {
		t.Fatalf("the minimum itself: %v", err)
	}
}

// Mobile clients get a PaymentIntent and its client secret; the secret is
// never listed.
func TestPaymentIntentForMobile(t *testing.T) {
	h := newHarness(t)
	acct := h.connect("op-a")
	r := request("lease/l-2/extension/1", "l-2", "op-a", 9000)
	r.Purpose = Extension
	mi, err := h.svc.StartIntent(h.ctx, family, r)
	if err != nil || mi.ClientSecret == "" || mi.IntentID == "" {
		t.Fatalf("intent %+v, %v", mi, err)
	}
	calls := h.w.posts("/v1/payment_intents")
	if len(calls) != 1 {
		t.Fatalf("%d intent calls", len(calls))
	}
	f := calls[0].Form
	for k, want := range map[string]string{"amount": "9000", "currency": "cny", "application_fee_amount": "225",
		"transfer_data[destination]": acct.StripeID, "metadata[fuju_payment]": "lease/l-2/extension/1"} {
		if f.Get(k) != want {
			t.Errorf("%s = %q, want %q", k, f.Get(k), want)
		}
	}
	if calls[0].Key != "lease/l-2/extension/1/1" {
		t.Errorf("key %q", calls[0].Key)
	}
	again, _ := h.svc.StartIntent(h.ctx, family, r)
	if again.ClientSecret != mi.ClientSecret || len(h.w.posts("/v1/payment_intents")) != 1 {
		t.Fatalf("second ask made a new intent")
	}
	list, total, err := h.svc.Payments(h.ctx, scopeA, PaymentFilter{})
	b, _ := json.Marshal(list)
	if err != nil || total != 1 || strings.Contains(string(b), mi.ClientSecret) {
		t.Fatalf("list %s, %v", b, err)
	}
	if p, _, _ := h.svc.store.payment(h.ctx, r.Ref); p.Payment.Attempts[0].ClientSecret != "" {
		t.Fatal("client secret stored in the payments list")
	}
	h.w.payIntent(mi.IntentID)
	h.mustDeliver("payment_intent.succeeded", "payment_intent", mi.IntentID)
	if p, _ := h.svc.Payment(h.ctx, scopeA, r.Ref); p.State != Paid || p.PaidFen != 9000 || p.PaidFeeFen != 225 {
		t.Fatalf("paid intent %+v", p)
	}
}

// A page that expired gives way to a new attempt with its own key; a family
// switching from the page to the app closes the page at Stripe first.
func TestNewAttempts(t *testing.T) {
	h := newHarness(t)
	h.connect("op-a")
	ref := "lease/l-3/balance/1"
	first := h.checkout(ref, "l-3", "op-a", 12000)
	sid := h.sessionOf("l-3", ref)
	h.w.set(sid, map[string]any{"status": "expired"})
	h.mustDeliver("checkout.session.expired", "checkout.session", sid)
	if p, _ := h.svc.Payment(h.ctx, scopeA, ref); p.State != Ended || p.Attempts[0].EndReason != "expired" {
		t.Fatalf("expired payment %+v", p)
	}
	second := h.checkout(ref, "l-3", "op-a", 12000)
	calls := h.w.posts("/v1/checkout/sessions")
	if second.URL == first.URL || len(calls) != 2 || calls[1].Key != ref+"/2" {
		t.Fatalf("second page %+v, calls %d", second, len(calls))
	}
	// The family opens the app instead: the page is expired at Stripe
	// before the intent is made.
	mi, err := h.svc.StartIntent(h.ctx, family, request(ref, "l-3", "op-a", 12000))
	if err != nil {
		t.Fatal(err)
	}
	exp := h.w.posts("/v1/checkout/sessions/" + h.tab("l-3").Payments[0].Attempts[1].SessionID + "/expire")
	if len(exp) != 1 || exp[0].Key != ref+"/2/close" {
		t.Fatalf("expire calls %+v", exp)
	}
	p, _ := h.svc.Payment(h.ctx, scopeA, ref)
	if len(p.Attempts) != 3 || p.Attempts[1].State != Ended || p.Attempts[2].Channel != Intent || p.Attempts[2].IntentID != mi.IntentID {
		t.Fatalf("attempts %+v", p.Attempts)
	}
	// The same ref with another amount is another payment: refused.
	if _, err := h.svc.StartCheckout(h.ctx, family, request(ref, "l-3", "op-a", 12001)); !errors.Is(err, ErrConflict) {
		t.Fatalf("other amount: %v", err)
	}
	// A lease belongs to one operator.
	h.connect("op-b")
	if _, err := h.svc.StartCheckout(h.ctx, family, request("lease/l-3/other", "l-3", "op-b", 5000)); !errors.Is(err, ErrConflict) {
		t.Fatalf("another operator's payment on the lease: %v", err)
	}
}

// Two (here ten) requests for the same purpose at once end with one
// Checkout Session: the payment's log decides who creates it, the others
// wait for its answer (or make the same call with the same key, which
// Stripe answers with the same session) and get the winner's page.
func TestConcurrentCheckoutsMakeOneSession(t *testing.T) {
	h := newHarness(t)
	h.connect("op-a")
	for round := range 3 {
		ref := fmt.Sprintf("reservation/r-%d/prepay", round)
		lease := fmt.Sprintf("l-c%d", round)
		var wg sync.WaitGroup
		pages := make([]Page, 10)
		errs := make([]error, 10)
		start := make(chan struct{})
		for i := range pages {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				pages[i], errs[i] = h.svc.StartCheckout(h.ctx, family, request(ref, lease, "op-a", 20000))
			}()
		}
		close(start)
		wg.Wait()
		for i := range pages {
			if errs[i] != nil || pages[i].URL != pages[0].URL {
				t.Fatalf("round %d caller %d: %+v, %v (first %s)", round, i, pages[i], errs[i], pages[0].URL)
			}
		}
		tab := h.tab(lease)
		if len(tab.Payments) != 1 || len(tab.Payments[0].Attempts) != 1 {
			t.Fatalf("round %d: %+v", round, tab.Payments)
		}
	}
	for _, c := range h.w.posts("/v1/checkout/sessions") {
		if c.Key[len(c.Key)-2:] != "/1" {
			t.Fatalf("a second attempt's key %q", c.Key)
		}
	}
	if ids := h.w.createdIDs("cs_"); len(ids) != 3 {
		t.Fatalf("Stripe made sessions %v, want one per purpose", ids)
	}
	if n := count(h.audit.actions(), "payments.start"); n != 3 {
		t.Fatalf("%d payments.start audit entries, want one per purpose: %v", n, h.audit.actions())
	}
}

func count(list []string, s string) int {
	n := 0
	for _, x := range list {
		if x == s {
			n++
		}
	}
	return n
}
