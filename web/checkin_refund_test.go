package web

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"fuju/internal/tenancy"
	"fuju/rentals"
	"fuju/stations"
)

// prepaidLease is a standard-tier family's wheelchair reservation at north,
// prepaid online (¥90 rent and ¥300 deposit through a Checkout Session
// against stripe-mock, the success webhook signed as Stripe signs it) and
// fulfilled at the desk: the lease on JZ-WC-0001 holds a deposit paid
// online.
func prepaidLease(t *testing.T, w *rulesWorld, ws *webStripe) rentals.Lease {
	t.Helper()
	ctx := context.Background()
	r := registerRenter(t, w.desk, "13912348821")
	if _, err := w.s.rentals.LinkUser(ctx, r.ID, walkUserID(t, w), tenancy.System); err != nil {
		t.Fatal(err)
	}
	wantStatus(t, w.call(t, w.adminA, "PUT", "/api/v1/operator/stations/north/prepay", map[string]any{"prepay": "optional"}), http.StatusOK, "prepay optional")
	ws.charges.Store(true)
	wantStatus(t, w.call(t, w.adminA, "POST", "/api/v1/operator/payments/account", nil), http.StatusOK, "connect")
	rec := w.call(t, w.renter, "POST", "/api/v1/me/reservations", map[string]any{"renter_id": r.ID, "product_id": "wc", "station_id": "north", "mode": "pickup", "slot": walkSlot(w)})
	if rec.Code != http.StatusCreated {
		t.Fatalf("reserve: %d %s", rec.Code, rec.Body)
	}
	x := decode[rentals.Reservation](t, rec)
	wantStatus(t, w.call(t, w.renter, "POST", "/api/v1/me/payments", map[string]any{"reservation_id": x.ID}), http.StatusCreated, "pay")
	var sid string
	for id := range ws.created() {
		sid = id
	}
	ws.pay(sid)
	body, sig := stripeEvent(t, "evt_checkin_paid", "checkout.session.completed", "checkout.session", sid, "2023-10-16", testWebhookSecret, time.Now())
	wantStatus(t, postWebhook(w.s, body, sig), http.StatusOK, "paid webhook")
	w.clock = walkSlot(w).Add(10 * time.Minute)
	rec = w.desk.call("POST", "/api/v1/staff/reservations/"+x.ID+"/fulfil", map[string]any{"payments": []map[string]any{}, "terms_version": "2026-01", "accepted_name": "家属"})
	if rec.Code != http.StatusCreated {
		t.Fatalf("fulfil: %d %s", rec.Code, rec.Body)
	}
	l := decode[fulfilResult](t, rec).Lease
	if l.PaidOnlineFen != 39000 || l.DepositFen != 30000 || l.BalanceFen != 0 || l.UnitTag != "JZ-WC-0001" {
		t.Fatalf("prepaid lease %+v", l)
	}
	return l
}

// checkinForm is the check-in's second step as the page posts it.
func checkinForm(outcome, notes, damage string, expectOwed int64, extra ...string) url.Values {
	v := url.Values{"unit": {"JZ-WC-0001"}, "station_id": {"north"}, "outcome": {outcome}, "notes": {notes}, "damage": {damage},
		"expect_owed": {itoa(expectOwed)}}
	for i := 0; i+1 < len(extra); i += 2 {
		v.Set(extra[i], extra[i+1])
	}
	return v
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// flashOf is the message key a redirect carries to the next page.
func flashOf(rec interface{ Result() *http.Response }) string {
	for _, c := range rec.Result().Cookies() {
		if c.Name == flashCookie {
			return c.Value
		}
	}
	return ""
}

// A deposit paid online goes back through Stripe at check-in, to the
// method it was paid with: in full for a good return (the ledger ends at 0
// and the lease closes), minus the damage agreed at the desk, not at all
// when the damage exceeds it (the rest is collected at the desk), and when
// Stripe refuses, the check-in still completes, the unit goes to
// inspection and the refusal is in the operator's queue.
func TestCheckinRefundsOnlineDeposit(t *testing.T) {
	ctx := context.Background()
	scope := tenancy.OperatorScope("op-a")
	ledger := func(t *testing.T, w *rulesWorld, id string) (n int, fen int64) {
		t.Helper()
		led, err := w.s.rentals.Ledger(ctx, scope, id)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range led.Entries {
			if e.Kind == rentals.EntryRefundOnline {
				n, fen = n+1, fen+e.AmountFen
			}
			if e.Kind == rentals.EntryRefund {
				t.Errorf("a desk refund entry for a deposit paid online: %+v", e)
			}
		}
		return n, fen
	}
	unitState := func(t *testing.T, w *rulesWorld) stations.State {
		t.Helper()
		u, err := w.s.stations.Unit(ctx, "JZ-WC-0001")
		if err != nil {
			t.Fatal(err)
		}
		return u.State
	}

	t.Run("good return: the whole deposit through Stripe", func(t *testing.T) {
		w := newRulesWorld(t)
		ws := stripeOf(t, w.s)
		l := prepaidLease(t, w, ws)
		review := wantBody(t, w.page(t, w.staffA, "/staff/checkin?unit=JZ-WC-0001&station_id=north&outcome=ok&review=1"), http.StatusOK, "review",
			`data-refund-online="30000"`, "经 Stripe 原路退回", "¥300")
		if strings.Contains(review, `name="refund_method"`) {
			t.Error("the desk is asked how to refund a deposit Stripe returns")
		}
		rec := w.form(t, w.staffA, "/staff/checkin", checkinForm("ok", "", "", -30000))
		if rec.Code != http.StatusSeeOther || flashOf(rec) != "staff.done.checkin.refunded" {
			t.Fatalf("check-in: %d %q %s", rec.Code, flashOf(rec), rec.Body)
		}
		refunds := ws.refundForms()
		if len(refunds) != 1 || refunds[0].Get("amount") != "30000" || refunds[0].Get("payment_intent") == "" ||
			refunds[0].Get("reverse_transfer") != "true" {
			t.Fatalf("Stripe refunds %v", refunds)
		}
		got, err := w.s.rentals.Lease(ctx, scope, l.ID)
		if err != nil || got.BalanceFen != 0 || got.State != rentals.LeaseClosed || got.RefundedOnlineFen != 30000 ||
			got.Return == nil || got.Return.RefundOnlineRef != "lease/"+l.ID+"/deposit" {
			t.Fatalf("lease after check-in: %+v %v", got, err)
		}
		if n, fen := ledger(t, w, l.ID); n != 1 || fen != 30000 {
			t.Errorf("%d refund_online entries, %d fen", n, fen)
		}
		// Asked again (a retry after a crash): the same refund, nothing new.
		if err := (testPrepaid{w.s.payments}).RefundDeposit(ctx, rentals.DepositRefund{LeaseID: l.ID, TabID: got.OnlineTab, OperatorID: "op-a",
			Ref: got.Return.RefundOnlineRef, AmountFen: 30000}); err != nil {
			t.Fatal(err)
		}
		if n := len(ws.refundForms()); n != 1 {
			t.Errorf("asking again made %d Stripe refunds", n)
		}
		if n, _ := ledger(t, w, l.ID); n != 1 {
			t.Errorf("asking again: %d refund_online entries", n)
		}
		if s := unitState(t, w); s != stations.Cleaning {
			t.Errorf("unit %s", s)
		}
	})

	t.Run("¥30 damage: the deposit minus ¥30", func(t *testing.T) {
		w := newRulesWorld(t)
		ws := stripeOf(t, w.s)
		l := prepaidLease(t, w, ws)
		wantBody(t, w.page(t, w.staffA, "/staff/checkin?unit=JZ-WC-0001&station_id=north&outcome=damaged&notes=%E5%88%B9%E8%BD%A6&damage=30&review=1"),
			http.StatusOK, "review", `data-refund-online="27000"`, "¥270")
		rec := w.form(t, w.staffA, "/staff/checkin", checkinForm("damaged", "刹车松了", "30", -27000))
		if rec.Code != http.StatusSeeOther || flashOf(rec) != "staff.done.checkin.refunded" {
			t.Fatalf("check-in: %d %q %s", rec.Code, flashOf(rec), rec.Body)
		}
		if refunds := ws.refundForms(); len(refunds) != 1 || refunds[0].Get("amount") != "27000" {
			t.Fatalf("Stripe refunds %v", refunds)
		}
		got, err := w.s.rentals.Lease(ctx, scope, l.ID)
		if err != nil || got.BalanceFen != 0 || got.State != rentals.LeaseClosed || got.RefundedOnlineFen != 27000 {
			t.Fatalf("lease: %+v %v", got, err)
		}
		if n, fen := ledger(t, w, l.ID); n != 1 || fen != 27000 {
			t.Errorf("%d refund_online entries, %d fen", n, fen)
		}
		if s := unitState(t, w); s != stations.Repair {
			t.Errorf("unit %s", s)
		}
	})

	t.Run("damage beyond the deposit: no refund, the rest at the desk", func(t *testing.T) {
		w := newRulesWorld(t)
		ws := stripeOf(t, w.s)
		l := prepaidLease(t, w, ws)
		review := wantBody(t, w.page(t, w.staffA, "/staff/checkin?unit=JZ-WC-0001&station_id=north&outcome=damaged&notes=%E8%BD%AE%E5%AD%90&damage=400&review=1"),
			http.StatusOK, "review", `name="pay_amount"`)
		if strings.Contains(review, "data-refund-online") {
			t.Error("a refund through Stripe is shown when the damage exceeds the deposit")
		}
		rec := w.form(t, w.staffA, "/staff/checkin", checkinForm("damaged", "轮子断了", "400", 10000, "pay_method", "cash", "pay_amount", "100"))
		if rec.Code != http.StatusSeeOther || flashOf(rec) != "staff.done.checkin" {
			t.Fatalf("check-in: %d %q %s", rec.Code, flashOf(rec), rec.Body)
		}
		if refunds := ws.refundForms(); len(refunds) != 0 {
			t.Fatalf("Stripe refunds %v", refunds)
		}
		got, err := w.s.rentals.Lease(ctx, scope, l.ID)
		if err != nil || got.BalanceFen != 0 || got.State != rentals.LeaseClosed || got.RefundedOnlineFen != 0 {
			t.Fatalf("lease: %+v %v", got, err)
		}
	})

	// Stripe cannot be reached when staff confirm: the check-in stands,
	// the refund waits with its key, and the payments reconciler makes it
	// once Stripe answers again; asking again later makes no second one.
	t.Run("Stripe unreachable: the reconciler refunds once", func(t *testing.T) {
		w := newRulesWorld(t)
		ws := stripeOf(t, w.s)
		l := prepaidLease(t, w, ws)
		ws.down.Store(true)
		rec := w.form(t, w.staffA, "/staff/checkin", checkinForm("ok", "", "", -30000))
		if rec.Code != http.StatusSeeOther || !strings.HasPrefix(flashOf(rec), "staff.done.checkin") {
			t.Fatalf("check-in: %d %q %s", rec.Code, flashOf(rec), rec.Body)
		}
		got, err := w.s.rentals.Lease(ctx, scope, l.ID)
		if err != nil || got.State != rentals.LeaseReturned || got.BalanceFen != -30000 || got.RefundedOnlineFen != 0 {
			t.Fatalf("lease with Stripe down: %+v %v", got, err)
		}
		if s := unitState(t, w); s != stations.Cleaning {
			t.Errorf("unit %s", s)
		}
		if refunds := ws.refundForms(); len(refunds) != 0 {
			t.Fatalf("Stripe refunds while down %v", refunds)
		}
		ws.down.Store(false)
		for range 2 {
			if _, err := w.s.payments.Reconcile(ctx, 0, 0); err != nil {
				t.Fatal(err)
			}
			if _, err := w.s.rentals.Reconcile(ctx, 0); err != nil {
				t.Fatal(err)
			}
		}
		if refunds := ws.refundForms(); len(refunds) != 1 || refunds[0].Get("amount") != "30000" {
			t.Fatalf("Stripe refunds after the reconcilers %v", refunds)
		}
		got, err = w.s.rentals.Lease(ctx, scope, l.ID)
		if err != nil || got.State != rentals.LeaseClosed || got.BalanceFen != 0 || got.RefundedOnlineFen != 30000 {
			t.Fatalf("lease after the reconcilers: %+v %v", got, err)
		}
		if n, fen := ledger(t, w, l.ID); n != 1 || fen != 30000 {
			t.Errorf("%d refund_online entries of %d fen, want one of 30000", n, fen)
		}
	})

	t.Run("Stripe refuses: queued, the check-in stands", func(t *testing.T) {
		w := newRulesWorld(t)
		ws := stripeOf(t, w.s)
		l := prepaidLease(t, w, ws)
		ws.refuseRefunds.Store(true)
		rec := w.form(t, w.staffA, "/staff/checkin", checkinForm("ok", "", "", -30000))
		if rec.Code != http.StatusSeeOther || flashOf(rec) != "staff.done.checkin.refund_failed" {
			t.Fatalf("check-in: %d %q %s", rec.Code, flashOf(rec), rec.Body)
		}
		got, err := w.s.rentals.Lease(ctx, scope, l.ID)
		if err != nil || got.State != rentals.LeaseReturned || got.Return == nil || got.BalanceFen != -30000 || got.RefundedOnlineFen != 0 {
			t.Fatalf("lease: %+v %v", got, err)
		}
		if s := unitState(t, w); s != stations.Cleaning {
			t.Errorf("unit %s", s)
		}
		if n, _ := ledger(t, w, l.ID); n != 0 {
			t.Errorf("%d refund_online entries for a refused refund", n)
		}
		q, err := w.s.payments.Queue(ctx, scope)
		if err != nil || len(q) != 1 || !strings.Contains(q[0].Reason, "charge_disputed") || q[0].AmountFen != 30000 {
			t.Fatalf("queue %+v %v", q, err)
		}
		wantBody(t, w.page(t, w.adminA, "/operator/payments"), http.StatusOK, "queue page", "charge_disputed")
		tab, err := w.s.payments.Tab(ctx, scope, got.OnlineTab)
		if err != nil || tab.Refundable() != 39000 {
			t.Errorf("refundable after the refusal: %d %v", tab.Refundable(), err)
		}
	})
}
