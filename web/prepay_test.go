package web

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"fuju/internal/tenancy"
	"fuju/rentals"
)

// A standard-tier family prepays a reservation online: with prepayment off,
// or the operator not connected, the answer is "pay at the station"; once
// the station offers it and the operator can take charges, two tabs asking
// at once get one Checkout Session (destination charge to the operator,
// 1% application fee, the renter's share plus the deposit); Stripe's success
// webhook 20 times at once records the payment once; the family's page says
// "已付"; the desk's check-out form asks for nothing more and the lease's
// ledger gets one paid_online entry with a zero balance. A second
// reservation, paid and then cancelled, is refunded in full exactly once.
func TestPrepayReservation(t *testing.T) {
	ctx := context.Background()
	w := newRulesWorld(t)
	ws := stripeOf(t, w.s)
	r := registerRenter(t, w.desk, "13912348811")
	if _, err := w.s.rentals.LinkUser(ctx, r.ID, walkUserID(t, w), tenancy.System); err != nil {
		t.Fatal(err)
	}
	fam := func(method, target string, body any) *httptest.ResponseRecorder {
		return w.call(t, w.renter, method, target, body)
	}
	reserve := func(station string) rentals.Reservation {
		t.Helper()
		rec := fam("POST", "/api/v1/me/reservations", map[string]any{"renter_id": r.ID, "product_id": "wc", "station_id": station, "mode": "pickup", "slot": walkSlot(w)})
		if rec.Code != http.StatusCreated {
			t.Fatalf("reserve at %s: %d %s", station, rec.Code, rec.Body)
		}
		return decode[rentals.Reservation](t, rec)
	}
	x := reserve("north")
	// 30 days of the wheelchair (¥90) and its deposit (¥300).
	const amount, deposit = 39000, 30000
	if x.Quote.RenterFen+x.Quote.DepositFen != amount || x.Quote.DepositFen != deposit {
		t.Fatalf("quote %+v", x.Quote)
	}
	pay := map[string]any{"reservation_id": x.ID}
	wantBody(t, fam("POST", "/api/v1/me/payments", pay), http.StatusConflict, "prepay off", `"pay_at_station"`)
	wantField(t, fam("POST", "/api/v1/me/payments", map[string]any{}), http.StatusBadRequest, "reservation_id", "no reservation")
	wantField(t, w.call(t, w.adminA, "PUT", "/api/v1/operator/stations/north/prepay", map[string]any{"prepay": "sometimes"}), http.StatusBadRequest, "prepay", "bad mode")
	wantStatus(t, w.call(t, w.adminB, "PUT", "/api/v1/operator/stations/north/prepay", map[string]any{"prepay": "optional"}), http.StatusNotFound, "B sets A's station")
	for _, st := range []string{"north", "south"} {
		wantBody(t, w.call(t, w.adminA, "PUT", "/api/v1/operator/stations/"+st+"/prepay", map[string]any{"prepay": "optional"}), http.StatusOK, "prepay optional", `"prepay":"optional"`)
	}
	// Not connected yet: pay at the station, and the page says so.
	wantBody(t, fam("POST", "/api/v1/me/payments", pay), http.StatusConflict, "not connected", `"pay_at_station"`)
	wantBody(t, w.page(t, w.renter, "/account/reservations/"+x.ID), http.StatusOK, "page before", `data-prepay="station"`, "本站暂不能在线收款")
	if len(ws.created()) != 0 {
		t.Fatal("a session was created for an amount paid at the station")
	}

	// The operator finishes Stripe's onboarding.
	ws.charges.Store(true)
	acct := wantBody(t, w.call(t, w.adminA, "POST", "/api/v1/operator/payments/account", nil), http.StatusOK, "connect", `"can_take_charges":true`)
	acctID := between(acct, `"stripe_id":"`, `"`)
	wantBody(t, w.page(t, w.renter, "/account/reservations/"+x.ID), http.StatusOK, "page offers", `data-prepay="offered"`, `action="/account/reservations/`+x.ID+`/pay"`, "立即支付 ¥390<")

	// Two tabs at once: one session, the same page for both.
	var wg sync.WaitGroup
	urls := make([]string, 2)
	for i := range urls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rec := fam("POST", "/api/v1/me/payments", pay)
			if rec.Code != http.StatusCreated {
				t.Errorf("pay %d: %d %s", i, rec.Code, rec.Body)
				return
			}
			urls[i] = decode[payResponse](t, rec).URL
		}()
	}
	wg.Wait()
	sessions := ws.created()
	if len(sessions) != 1 || urls[0] == "" || urls[0] != urls[1] {
		t.Fatalf("two tabs: %d sessions, pages %q", len(sessions), urls)
	}
	var sid string
	for id, f := range sessions {
		sid = id
		if got := f.Get("line_items[0][price_data][unit_amount]"); got != "39000" {
			t.Errorf("amount %s", got)
		}
		if got := f.Get("payment_intent_data[transfer_data][destination]"); got != acctID || acctID == "" {
			t.Errorf("destination %q, account %q", got, acctID)
		}
		if got := f.Get("payment_intent_data[application_fee_amount]"); got != "390" {
			t.Errorf("application fee %s", got)
		}
		if got := f.Get("currency"); got == "" && f.Get("line_items[0][price_data][currency]") != "cny" {
			t.Errorf("currency %v", f)
		}
	}
	// The button goes to the same page.
	if rec := w.form(t, w.renter, "/account/reservations/"+x.ID+"/pay", url.Values{}); rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != urls[0] {
		t.Errorf("pay button: %d %q", rec.Code, rec.Header().Get("Location"))
	}

	// The family pays; Stripe's webhook arrives 20 times at once.
	ws.pay(sid)
	body, sig := stripeEvent(t, "evt_prepay_1", "checkout.session.completed", "checkout.session", sid, "2023-10-16", testWebhookSecret, time.Now())
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if rec := postWebhook(w.s, body, sig); rec.Code != http.StatusOK {
				t.Errorf("webhook: %d %s", rec.Code, rec.Body)
			}
		}()
	}
	wg.Wait()
	tab, err := w.s.payments.Tab(ctx, tenancy.OperatorScope("op-a"), x.ID)
	if err != nil || len(tab.Payments) != 1 || tab.PaidFen() != amount {
		t.Fatalf("tab %+v %v", tab, err)
	}
	wantBody(t, w.page(t, w.renter, "/account/reservations/"+x.ID), http.StatusOK, "page paid", `data-prepay="paid"`, "已付 ¥390，其中押金 ¥300")
	wantBody(t, fam("POST", "/api/v1/me/payments", pay), http.StatusConflict, "paid again", `"already_paid"`)

	// The desk: nothing more to collect; the lease carries the payment.
	w.clock = walkSlot(w).Add(10 * time.Minute)
	desk := wantBody(t, w.page(t, w.staffA, "/staff/reservations/"+x.ID), http.StatusOK, "desk page", `data-prepay="paid"`)
	if got := between(desk, `name="pay_amount"`, `>`); !strings.Contains(got, `value="0"`) {
		t.Errorf("desk prefill is not zero: %s", got)
	}
	rec := w.desk.call("POST", "/api/v1/staff/reservations/"+x.ID+"/fulfil", map[string]any{"payments": []map[string]any{}, "terms_version": "2026-01", "accepted_name": "家属"})
	if rec.Code != http.StatusCreated {
		t.Fatalf("fulfil: %d %s", rec.Code, rec.Body)
	}
	l := decode[fulfilResult](t, rec).Lease
	if l.BalanceFen != 0 || l.PaidOnlineFen != amount {
		t.Errorf("lease after fulfil: balance %d, paid online %d", l.BalanceFen, l.PaidOnlineFen)
	}
	led, err := w.s.rentals.Ledger(ctx, tenancy.OperatorScope("op-a"), l.ID)
	if err != nil {
		t.Fatal(err)
	}
	entries := led.Entries
	n := 0
	for _, e := range entries {
		if e.Kind == rentals.EntryPaidOnline {
			n++
			if e.AmountFen != amount {
				t.Errorf("paid_online %d", e.AmountFen)
			}
		}
	}
	if n != 1 {
		t.Errorf("%d paid_online entries: %+v", n, entries)
	}
	// The webhook once more after the fulfilment: still one entry.
	again, againSig := stripeEvent(t, "evt_prepay_2", "checkout.session.completed", "checkout.session", sid, "2023-10-16", testWebhookSecret, time.Now())
	wantStatus(t, postWebhook(w.s, again, againSig), http.StatusOK, "late repeat")
	if l2, err := w.s.rentals.Lease(ctx, tenancy.OperatorScope("op-a"), l.ID); err != nil || l2.PaidOnlineFen != amount || l2.BalanceFen != 0 {
		t.Errorf("after a late repeat: %+v %v", l2, err)
	}

	// The operator's settings page sets the mode too.
	rec = w.form(t, w.adminA, "/operator/stations/south/reservations", url.Values{"capacity": {"4"}, "grace_minutes": {"120"}, "fee": {"0"}, "prepay": {"required"}})
	if rec.Code != http.StatusSeeOther {
		t.Fatalf("settings form: %d %s", rec.Code, rec.Body)
	}
	wantBody(t, w.page(t, w.adminA, "/operator/stations/south/reservations"), http.StatusOK, "settings page", `value="required" checked`)
	// A second reservation, paid, then cancelled: refunded in full, once.
	w.clock = w.clock.Add(-10 * time.Minute)
	y := reserve("south")
	wantStatus(t, fam("POST", "/api/v1/me/payments", map[string]any{"reservation_id": y.ID}), http.StatusCreated, "pay the second")
	var sid2 string
	for id := range ws.created() {
		if id != sid {
			sid2 = id
		}
	}
	ws.pay(sid2)
	b2, s2 := stripeEvent(t, "evt_prepay_3", "checkout.session.completed", "checkout.session", sid2, "2023-10-16", testWebhookSecret, time.Now())
	wantStatus(t, postWebhook(w.s, b2, s2), http.StatusOK, "second paid")
	wantStatus(t, fam("POST", "/api/v1/me/reservations/"+y.ID+"/cancel", nil), http.StatusOK, "cancel")
	wantStatus(t, fam("POST", "/api/v1/me/reservations/"+y.ID+"/cancel", nil), http.StatusConflict, "cancel again")
	if _, err := w.s.reserve.Reconcile(ctx, 0); err != nil {
		t.Fatal(err)
	}
	refunds := ws.refundForms()
	if len(refunds) != 1 || refunds[0].Get("amount") != "39000" || refunds[0].Get("payment_intent") == "" {
		t.Fatalf("refunds %v", refunds)
	}
	tab2, err := w.s.payments.Tab(ctx, tenancy.OperatorScope("op-a"), y.ID)
	if err != nil || tab2.RefundedFen() != amount || tab2.Refundable() != 0 {
		t.Errorf("second tab: refunded %d, refundable %d, %v", tab2.RefundedFen(), tab2.Refundable(), err)
	}
	// Operator B sees none of A's prepayments.
	if _, err := w.s.payments.Tab(ctx, tenancy.OperatorScope("op-b"), y.ID); err == nil {
		t.Error("operator B reads A's tab")
	}
}
