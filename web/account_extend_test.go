package web

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"fuju/internal/tenancy"
	"fuju/rentals"
	"fuju/stations"
)

// familyRental checks tag (made at north if new) out at north for 30 days to a new renter of tier
// (standard when empty) linked to the walk family's account, or not
// linked when linked is false.
func familyRental(t *testing.T, w *rulesWorld, tag, phone string, tier rentals.Tier, linked bool) rentals.Lease {
	t.Helper()
	ctx := context.Background()
	if _, err := w.s.stations.Unit(ctx, tag); err != nil {
		if _, err := w.s.stations.CreateUnit(ctx, stations.Unit{Tag: tag, ProductID: "wc", StationID: "north"}, tenancy.System); err != nil {
			t.Fatal(err)
		}
	}
	r := registerRenter(t, w.desk, phone)
	due := int64(39000)
	if tier != "" {
		if _, err := w.s.rentals.VerifyTier(ctx, tenancy.OperatorScope("op-a"), r.ID, rentals.TierProof{Tier: tier,
			ProofType: rentals.ProofDibaoCard, ProofNumber: "DB-1", ProofPhotoKey: "p/proof.jpg", ExpiresOn: "2028-12-31"}, tenancy.System); err != nil {
			t.Fatal(err)
		}
		q, err := w.s.rentals.QuoteFor(ctx, tenancy.OperatorScope("op-a"), rentals.QuoteRequest{RenterID: r.ID, ProductID: "wc", Days: 30})
		if err != nil {
			t.Fatal(err)
		}
		due = q.DueNowFen
	}
	if linked {
		if _, err := w.s.rentals.LinkUser(ctx, r.ID, walkUserID(t, w), tenancy.System); err != nil {
			t.Fatal(err)
		}
	}
	rec := w.desk.call("POST", "/api/v1/staff/checkouts", checkoutBody(tag, r.ID, due))
	if rec.Code != http.StatusCreated {
		t.Fatalf("checkout %s: %d %s", tag, rec.Code, rec.Body)
	}
	return decode[rentals.Lease](t, rec)
}

// paySession plays the family paying Checkout Session sid and Stripe
// sending the signed success webhook as event evt.
func paySession(t *testing.T, w *rulesWorld, ws *webStripe, sid, evt string) {
	t.Helper()
	ws.pay(sid)
	body, sig := stripeEvent(t, evt, "checkout.session.completed", "checkout.session", sid, "2023-10-16", testWebhookSecret, time.Now())
	wantStatus(t, postWebhook(w.s, body, sig), http.StatusOK, "paid webhook "+evt)
}

// checkoutSessionOf is the Checkout Session id a 303 to Stripe names.
func checkoutSessionOf(t *testing.T, rec interface{ Result() *http.Response }) string {
	t.Helper()
	loc := rec.Result().Header.Get("Location")
	id, ok := strings.CutPrefix(loc, "https://checkout.stripe.com/c/pay/")
	if rec.Result().StatusCode != http.StatusSeeOther || !ok {
		t.Fatalf("not sent to Stripe's Checkout: %d %q", rec.Result().StatusCode, loc)
	}
	return id
}

func ledgerKinds(t *testing.T, w *rulesWorld, id string) []string {
	t.Helper()
	led, err := w.s.rentals.Ledger(context.Background(), tenancy.OperatorScope("op-a"), id)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range led.Entries {
		out = append(out, string(e.Kind)+" "+itoa(e.AmountFen))
	}
	return out
}

// A family extends a rental from the account page and pays online: the
// page shows the desk's quote (a GET changes nothing), the form as the
// browser sends it goes to Stripe's Checkout (twice: one session), and the
// signed success webhook applies the extension with its paid_online credit:
// due date moved, balance 0; the webhook again, or another event for the
// same session, extends nothing more.
func TestExtendOnlineFromAccount(t *testing.T) {
	ctx := context.Background()
	w := newRulesWorld(t)
	ws := stripeOf(t, w.s)
	l := familyRental(t, w, "JZ-WC-0001", "13912348831", "", true) // ¥90 for 30 days, due 12-26
	other := familyRental(t, w, "JZ-WC-0003", "13912348832", "", false)

	page := wantBody(t, w.page(t, w.renter, "/account"), http.StatusOK, "account", `href="/account/rentals/`+l.ID+`/extend"`)
	if strings.Contains(page, `/account/rentals/`+other.ID+`/extend`) {
		t.Error("another family's rental is offered for extension")
	}
	// Before the operator can take charges: only at the station, and why.
	wantBody(t, w.page(t, w.renter, "/account/rentals/"+l.ID+"/extend?days=10"), http.StatusOK, "quote, operator offline",
		`data-extend="station"`, "¥50", "暂不能在线收款")
	rec := w.form(t, w.renter, "/account/rentals/"+l.ID+"/extend", url.Values{"days": {"10"}, "expect_fen": {"5000"}})
	wantStatus(t, rec, http.StatusConflict, "pay online while the operator cannot take charges")

	ws.charges.Store(true)
	wantStatus(t, w.call(t, w.adminA, "POST", "/api/v1/operator/payments/account", nil), http.StatusOK, "connect")
	// 40 days are a ¥90 block and 10 days: ¥50 more, all the renter's.
	quote := wantBody(t, w.page(t, w.renter, "/account/rentals/"+l.ID+"/extend?days=10"), http.StatusOK, "quote",
		`data-extend="online"`, `name="expect_fen" value="5000"`, `name="_csrf"`, "2027-01-05", "¥50")
	_ = quote
	wantBody(t, w.page(t, w.renter, "/account/rentals/"+l.ID+"/extend?days=0"), http.StatusBadRequest, "zero days", `id="e-days"`)
	wantStatus(t, w.page(t, w.renter, "/account/rentals/"+other.ID+"/extend?days=10"), http.StatusNotFound, "another family's rental")
	if got := leaseOf(t, w.s, l.ID); got.Days != 30 || got.DueOn != l.DueOn || len(ws.created()) != 0 {
		t.Fatalf("looking at the quote changed something: %+v, %d sessions", got, len(ws.created()))
	}

	// The API: the same quote, bad input names the field, others' rentals 404.
	rec = w.call(t, w.renter, "GET", "/api/v1/me/rentals/"+l.ID+"/extension-quote?days=10", nil)
	if o := decode[extendOffer](t, rec); rec.Code != http.StatusOK || o.AmountFen != 5000 || o.Action != extendOnline || o.NewDueOn != "2027-01-05" {
		t.Fatalf("quote API: %d %s", rec.Code, rec.Body)
	}
	wantBody(t, w.call(t, w.renter, "GET", "/api/v1/me/rentals/"+l.ID+"/extension-quote?days=400", nil), http.StatusBadRequest, "400 days", `"days"`)
	wantStatus(t, w.call(t, w.renter, "GET", "/api/v1/me/rentals/"+other.ID+"/extension-quote?days=10", nil), http.StatusNotFound, "another family's quote")
	wantBody(t, w.call(t, w.renter, "POST", "/api/v1/me/payments", map[string]any{"lease_id": l.ID, "days": 10}), http.StatusBadRequest, "no purpose", `"purpose"`)
	wantBody(t, w.call(t, w.renter, "POST", "/api/v1/me/payments", map[string]any{"lease_id": l.ID, "purpose": "extension"}), http.StatusBadRequest, "no days", `"days"`)
	wantStatus(t, w.call(t, w.renter, "POST", "/api/v1/me/payments", map[string]any{"lease_id": other.ID, "purpose": "extension", "days": 10}), http.StatusNotFound, "pay another family's extension")
	wantBody(t, w.call(t, w.renter, "POST", "/api/v1/me/rentals/"+l.ID+"/extensions", map[string]any{"days": 10}), http.StatusConflict, "free extension that costs", "¥50", "pay it online first")

	// A price the family did not see is not charged: the page shows the new one.
	wantBody(t, w.form(t, w.renter, "/account/rentals/"+l.ID+"/extend", url.Values{"days": {"10"}, "expect_fen": {"4000"}}), http.StatusConflict, "stale price",
		`name="expect_fen" value="5000"`)
	if n := len(ws.created()); n != 0 {
		t.Fatalf("%d sessions for a stale price", n)
	}
	// Confirm (twice, and through the API): one Checkout Session.
	sid := checkoutSessionOf(t, w.form(t, w.renter, "/account/rentals/"+l.ID+"/extend", url.Values{"days": {"10"}, "expect_fen": {"5000"}}))
	if again := checkoutSessionOf(t, w.form(t, w.renter, "/account/rentals/"+l.ID+"/extend", url.Values{"days": {"10"}, "expect_fen": {"5000"}})); again != sid {
		t.Fatalf("pressed twice: sessions %s and %s", sid, again)
	}
	rec = w.call(t, w.renter, "POST", "/api/v1/me/payments", map[string]any{"lease_id": l.ID, "purpose": "extension", "days": 10, "expect_fen": 5000})
	if p := decode[extensionPayResponse](t, rec); rec.Code != http.StatusCreated || !strings.HasSuffix(p.URL, sid) || p.AmountFen != 5000 {
		t.Fatalf("API payment: %d %s", rec.Code, rec.Body)
	}
	form := ws.created()[sid]
	if len(ws.created()) != 1 || form.Get("line_items[0][price_data][unit_amount]") != "5000" ||
		!strings.HasSuffix(form.Get("success_url"), "/account/rentals/"+l.ID+"/extend?paid=1") ||
		form.Get("metadata[fuju_payment]") != rentals.ExtensionRef(l.ID, l.LedgerSeq, 10, 5000) {
		t.Fatalf("sessions %v", ws.created())
	}
	if got := leaseOf(t, w.s, l.ID); got.Days != 30 {
		t.Fatalf("extended before the money arrived: %+v", got)
	}

	paySession(t, w, ws, sid, "evt_extend_paid")
	paySession(t, w, ws, sid, "evt_extend_paid")   // delivered again
	paySession(t, w, ws, sid, "evt_extend_paid_2") // another event, same payment
	got := leaseOf(t, w.s, l.ID)
	if got.Days != 40 || got.Extensions != 1 || got.DueOn != "2027-01-05" || got.BalanceFen != 0 || got.PaidOnlineFen != 5000 || len(got.Unapplied) != 0 {
		t.Fatalf("after the payment: %+v", got)
	}
	if kinds := ledgerKinds(t, w, l.ID); !slices.Equal(kinds[3:], []string{"extension 5000", "paid_online 5000", "platform_fee 50"}) {
		t.Fatalf("ledger %v", kinds)
	}
	// The quote is for the extended rental now: a new payment, not the old one.
	rec = w.call(t, w.renter, "GET", "/api/v1/me/rentals/"+l.ID+"/extension-quote?days=10", nil)
	if o := decode[extendOffer](t, rec); o.DueOn != "2027-01-05" || o.NewDueOn != "2027-01-15" {
		t.Fatalf("quote after: %s", rec.Body)
	}
	if _, err := w.s.rentals.Reconcile(ctx, 0); err != nil {
		t.Fatal(err)
	}
	if again := leaseOf(t, w.s, l.ID); again.Days != 40 || again.Extensions != 1 {
		t.Fatalf("after the reconciler: %+v", again)
	}
}

// The rental changed between Checkout and the payment (extended at the
// desk): the money arrives, no extension is applied that the family did not
// pay for as quoted, and the money stays on the rental as a credit the
// desk sees.
func TestExtendOnlineQuoteChanged(t *testing.T) {
	w := newRulesWorld(t)
	ws := stripeOf(t, w.s)
	l := familyRental(t, w, "JZ-WC-0001", "13912348841", "", true)
	ws.charges.Store(true)
	wantStatus(t, w.call(t, w.adminA, "POST", "/api/v1/operator/payments/account", nil), http.StatusOK, "connect")
	sid := checkoutSessionOf(t, w.form(t, w.renter, "/account/rentals/"+l.ID+"/extend", url.Values{"days": {"10"}, "expect_fen": {"5000"}}))
	rec := w.desk.call("POST", "/api/v1/staff/leases/"+l.ID+"/extend", map[string]any{"days": 5, "payments": []map[string]any{{"method": "cash", "amount_fen": 2500}}})
	wantStatus(t, rec, http.StatusOK, "desk extension")
	paySession(t, w, ws, sid, "evt_extend_late")
	got := leaseOf(t, w.s, l.ID)
	if got.Days != 35 || got.Extensions != 1 || got.BalanceFen != -5000 || got.PaidOnlineFen != 5000 {
		t.Fatalf("after a payment for a stale quote: %+v", got)
	}
	if len(got.Unapplied) != 1 || got.Unapplied[0].Reason != rentals.UnappliedChanged || got.Unapplied[0].AmountFen != 5000 {
		t.Fatalf("unapplied %+v", got.Unapplied)
	}
	// The desk's API shows the credit and why.
	wantBody(t, w.desk.call("GET", "/api/v1/staff/leases/"+l.ID, nil), http.StatusOK, "desk lease", `"unapplied_extensions"`, `"lease_changed"`)
	wantBody(t, w.page(t, w.staffA, "/staff/leases/"+l.ID), http.StatusOK, "desk lease page", `data-unapplied="lease_changed"`, "¥50")
	wantBody(t, w.page(t, w.renter, "/account/rentals/"+l.ID+"/extend?paid=1"), http.StatusOK, "family's page back from Stripe",
		`data-extend-paid`, `data-unapplied="lease_changed"`, "¥50")
}

// An extension that costs the family nothing (subsistence tier) is applied
// at once from the account page, with the desk's ledger; one below
// Stripe's minimum is for the station.
func TestExtendFreeFromAccount(t *testing.T) {
	w := newRulesWorld(t)
	ws := stripeOf(t, w.s)
	ws.charges.Store(true)
	wantStatus(t, w.call(t, w.adminA, "POST", "/api/v1/operator/payments/account", nil), http.StatusOK, "connect")
	l := familyRental(t, w, "JZ-WC-0001", "13912348851", rentals.Subsistence, true)
	wantBody(t, w.page(t, w.renter, "/account/rentals/"+l.ID+"/extend?days=10"), http.StatusOK, "free quote", `data-extend="free"`, `data-amount="0"`)
	rec := w.form(t, w.renter, "/account/rentals/"+l.ID+"/extend", url.Values{"days": {"10"}, "expect_fen": {"0"}})
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/account#current" || flashOf(rec) != "flash.extended" {
		t.Fatalf("free extension: %d %q %s", rec.Code, rec.Header().Get("Location"), rec.Body)
	}
	got := leaseOf(t, w.s, l.ID)
	if got.Days != 40 || got.Extensions != 1 || got.DueOn != "2027-01-05" || got.BalanceFen != 0 || len(ws.created()) != 0 {
		t.Fatalf("after the free extension: %+v", got)
	}
	if kinds := ledgerKinds(t, w, l.ID); !slices.Equal(kinds[len(kinds)-2:], []string{"extension 5000", "subsidy 5000"}) {
		t.Fatalf("ledger %v", kinds)
	}
	// Through the API too; asking to pay for it is refused.
	wantBody(t, w.call(t, w.renter, "POST", "/api/v1/me/payments", map[string]any{"lease_id": l.ID, "purpose": "extension", "days": 5}), http.StatusConflict, "pay a free extension", "costs nothing")
	rec = w.call(t, w.renter, "POST", "/api/v1/me/rentals/"+l.ID+"/extensions", map[string]any{"days": 5})
	if ext := decode[rentals.Lease](t, rec); rec.Code != http.StatusOK || ext.Days != 45 || ext.Extensions != 2 {
		t.Fatalf("API free extension: %d %s", rec.Code, rec.Body)
	}

	// Low income, one day: ¥1, below Stripe's minimum: at the station.
	low := familyRental(t, w, "JZ-WC-0003", "13912348852", rentals.LowIncome, true)
	wantBody(t, w.page(t, w.renter, "/account/rentals/"+low.ID+"/extend?days=1"), http.StatusOK, "small quote", `data-extend="station"`, "¥1", "低于在线支付的最低额")
	wantStatus(t, w.call(t, w.renter, "POST", "/api/v1/me/payments", map[string]any{"lease_id": low.ID, "purpose": "extension", "days": 1}), http.StatusConflict, "pay below the minimum")

	// A suspended operator's rentals are not extended (its desks may not either).
	if _, err := w.s.stations.SetOperatorStatus(context.Background(), "op-a", stations.OperatorSuspended, "审计", tenancy.System); err != nil {
		t.Fatal(err)
	}
	wantBody(t, w.call(t, w.renter, "POST", "/api/v1/me/rentals/"+l.ID+"/extensions", map[string]any{"days": 5}), http.StatusConflict, "suspended operator", "suspended")
	wantBody(t, w.page(t, w.renter, "/account/rentals/"+l.ID+"/extend?days=5"), http.StatusConflict, "suspended operator page", "暂停")
	if got := leaseOf(t, w.s, l.ID); got.Days != 45 {
		t.Fatalf("extended while suspended: %+v", got)
	}
}
