package web

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"fuju/accounts"
	"fuju/internal/tenancy"
	"fuju/messages"
	"fuju/rentals"
)

// owingLease lends JZ-WC-0001 at north for 30 days (paid at the desk) to a
// new renter with phone, linked to the family account w.renter when link is
// set, and takes it back damaged for ¥damage with nothing paid: the lease
// is returned with a balance of damage − the ¥300 deposit.
func owingLease(t *testing.T, w *rulesWorld, phone, damage string, link bool) rentals.Lease {
	t.Helper()
	ctx := context.Background()
	l := w.lease(t, "JZ-WC-0001", phone, 0)
	if link {
		if _, err := w.s.rentals.LinkUser(ctx, l.RenterID, walkUserID(t, w), tenancy.System); err != nil {
			t.Fatal(err)
		}
	}
	rec := w.form(t, w.staffA, "/staff/checkin", url.Values{"unit": {"JZ-WC-0001"}, "station_id": {"north"}, "outcome": {"damaged"},
		"notes": {"轮子断了"}, "damage": {damage}})
	if rec.Code != http.StatusSeeOther {
		t.Fatalf("check-in: %d %.1500s", rec.Code, rec.Body)
	}
	got, err := w.s.rentals.Lease(ctx, tenancy.OperatorScope("op-a"), l.ID)
	if err != nil || got.State != rentals.LeaseReturned || got.BalanceFen <= 0 {
		t.Fatalf("lease after check-in: %+v %v", got, err)
	}
	return got
}

// connect makes operator A's Stripe account able to take charges.
func connect(t *testing.T, w *rulesWorld) {
	t.Helper()
	stripeOf(t, w.s).charges.Store(true)
	wantBody(t, w.call(t, w.adminA, "POST", "/api/v1/operator/payments/account", nil), http.StatusOK, "connect", `"can_take_charges":true`)
}

var postForm = regexp.MustCompile(`(?s)<form method="post" action="([^"]+)"[^>]*>(.*?)</form>`)
var hiddenInput = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`)

// submitForm posts the page's form whose action is action with the fields
// the page put in it (the CSRF token among them), as a browser does.
func submitForm(t *testing.T, w *rulesWorld, c opCaller, page, action string) *httptest.ResponseRecorder {
	t.Helper()
	for _, m := range postForm.FindAllStringSubmatch(page, -1) {
		if m[1] != action {
			continue
		}
		vals := url.Values{}
		for _, in := range hiddenInput.FindAllStringSubmatch(m[2], -1) {
			vals.Add(in[1], in[2])
		}
		if vals.Get("_csrf") == "" {
			t.Fatalf("the form %s carries no CSRF token", action)
		}
		req := httptest.NewRequest(http.MethodPost, action, strings.NewReader(vals.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Sec-Fetch-Site", "same-origin")
		req.AddCookie(c.cookie)
		rec := httptest.NewRecorder()
		w.s.ServeHTTP(rec, req)
		return rec
	}
	t.Fatalf("the page has no form posting to %s", action)
	return nil
}

// otherFamily is a second family account with a session.
func otherFamily(t *testing.T, w *rulesWorld) opCaller {
	t.Helper()
	ctx := context.Background()
	u, err := w.s.auth.CreateUser(ctx, accounts.NewUser{Name: "另一家", Phone: "13812349999", Password: pw, Role: accounts.Renter})
	if err != nil {
		t.Fatal(err)
	}
	tok, sess, err := w.s.auth.NewSession(ctx, u, false, "127.0.0.1", "test")
	if err != nil {
		t.Fatal(err)
	}
	return opCaller{name: "other family", cookie: &http.Cookie{Name: sessionCookie, Value: tok}, csrf: w.s.mac("session:" + sess.ID)}
}

// payThroughStripe plays the family paying session sid and Stripe's signed
// success webhook.
func payThroughStripe(t *testing.T, w *rulesWorld, sid, event string) {
	t.Helper()
	stripeOf(t, w.s).pay(sid)
	body, sig := stripeEvent(t, event, "checkout.session.completed", "checkout.session", sid, "2023-10-16", testWebhookSecret, time.Now())
	wantStatus(t, postWebhook(w.s, body, sig), http.StatusOK, "paid webhook")
}

// A returned lease that owes ¥100 (¥400 damage against the ¥300 deposit) is
// paid online from the family's rental page: "pay at the station" while the
// operator cannot take charges; then the page's form, posted as the browser
// sends it, goes 303 to Stripe's Checkout, twice to the same session (one
// at Stripe, ¥100 to the operator's account, the payment's id derived from
// the ledger); the API gives the same page; another family gets 404 and bad
// input names the field. Stripe's signed success webhook writes one
// paid_online of ¥100: the balance is 0 and the lease closes.
func TestPayBalanceOnline(t *testing.T) {
	ctx := context.Background()
	w := newRulesWorld(t)
	ws := stripeOf(t, w.s)
	l := w.lease(t, "JZ-WC-0001", "13912348831", 0)
	if _, err := w.s.rentals.LinkUser(ctx, l.RenterID, walkUserID(t, w), tenancy.System); err != nil {
		t.Fatal(err)
	}
	fam := func(body any) *httptest.ResponseRecorder {
		return w.call(t, w.renter, "POST", "/api/v1/me/payments", body)
	}
	pay := map[string]any{"lease_id": l.ID, "purpose": "balance"}
	// The device is still out: nothing to pay online.
	wantBody(t, fam(pay), http.StatusConflict, "lease out", `"nothing_owed"`)

	rec := w.form(t, w.staffA, "/staff/checkin", url.Values{"unit": {"JZ-WC-0001"}, "station_id": {"north"}, "outcome": {"damaged"},
		"notes": {"轮子断了"}, "damage": {"400"}})
	if rec.Code != http.StatusSeeOther {
		t.Fatalf("check-in: %d %.1500s", rec.Code, rec.Body)
	}
	l, err := w.s.rentals.Lease(ctx, tenancy.OperatorScope("op-a"), l.ID)
	if err != nil || l.State != rentals.LeaseReturned || l.BalanceFen != 10000 {
		t.Fatalf("returned lease %+v %v", l, err)
	}
	ref := fmt.Sprintf("lease/%s/balance/%d", l.ID, l.LedgerSeq)

	// Not connected: the page says pay at the station, the API 409.
	rental := "/account/rentals/" + l.ID
	page := wantBody(t, w.page(t, w.renter, rental), http.StatusOK, "rental page before", `data-balance="offline"`, "请到站点支付 ¥100")
	if strings.Contains(page, `action="`+rental+`/pay"`) {
		t.Error("a pay button while the operator cannot take charges")
	}
	wantBody(t, fam(pay), http.StatusConflict, "not connected", `"pay_at_station"`)
	if n := len(ws.created()); n != 0 {
		t.Fatalf("%d sessions for a balance paid at the station", n)
	}

	connect(t, w)
	wantBody(t, w.page(t, w.renter, "/account"), http.StatusOK, "account page", rental+"#balance-h")
	page = wantBody(t, w.page(t, w.renter, rental), http.StatusOK, "rental page", `data-balance="offered"`, "在线支付 ¥100<")
	first := submitForm(t, w, w.renter, page, rental+"/pay")
	checkout := wantRedirect(t, first, "https://checkout.stripe.com/", "pay button")
	again := submitForm(t, w, w.renter, page, rental+"/pay")
	if loc := wantRedirect(t, again, "https://checkout.stripe.com/", "pay button again"); loc != checkout {
		t.Errorf("the second press went to %s, the first to %s", loc, checkout)
	}
	apiRec := fam(pay)
	wantBody(t, apiRec, http.StatusCreated, "api", `"balance"`)
	api := decode[payResponse](t, apiRec)
	if api.URL != checkout || api.PaymentID != ref || api.AmountFen != 10000 {
		t.Errorf("api: %+v, want %s for %s", api, checkout, ref)
	}
	sessions := ws.created()
	if len(sessions) != 1 {
		t.Fatalf("%d sessions for one balance", len(sessions))
	}
	var sid string
	for id, f := range sessions {
		sid = id
		if f.Get("line_items[0][price_data][unit_amount]") != "10000" || f.Get("payment_intent_data[transfer_data][destination]") == "" ||
			!strings.Contains(f.Encode(), url.QueryEscape(ref)) {
			t.Errorf("session form %v", f)
		}
	}

	// Another family's lease, and bad input.
	other := otherFamily(t, w)
	wantStatus(t, w.form(t, other, rental+"/pay", url.Values{}), http.StatusNotFound, "another family's button")
	wantStatus(t, w.call(t, other, "POST", "/api/v1/me/payments", pay), http.StatusNotFound, "another family's lease")
	wantField(t, fam(map[string]any{}), http.StatusBadRequest, "reservation_id", "nothing named")
	wantField(t, fam(map[string]any{"lease_id": l.ID, "reservation_id": "r-1", "purpose": "balance"}), http.StatusBadRequest, "lease_id", "both")
	wantField(t, fam(map[string]any{"lease_id": l.ID}), http.StatusBadRequest, "purpose", "no purpose")
	wantField(t, fam(map[string]any{"lease_id": l.ID, "purpose": "first_period"}), http.StatusBadRequest, "purpose", "wrong purpose")
	wantField(t, fam(map[string]any{"lease_id": l.ID, "purpose": "extension"}), http.StatusBadRequest, "days", "an extension without days")

	// The family pays; the ledger hears it once and the lease closes.
	payThroughStripe(t, w, sid, "evt_balance_1")
	got, err := w.s.rentals.Lease(ctx, tenancy.OperatorScope("op-a"), l.ID)
	if err != nil || got.BalanceFen != 0 || got.State != rentals.LeaseClosed || got.PaidOnlineFen != 10000 {
		t.Fatalf("lease after the webhook: %+v %v", got, err)
	}
	led, err := w.s.rentals.Ledger(ctx, tenancy.OperatorScope("op-a"), l.ID)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range led.Entries {
		if e.Kind == rentals.EntryPaidOnline {
			n++
			if e.AmountFen != 10000 || e.Note != ref {
				t.Errorf("paid_online %+v", e)
			}
		}
	}
	if n != 1 || led.BalanceFen != 0 {
		t.Errorf("%d paid_online entries, balance %d", n, led.BalanceFen)
	}
	page = wantBody(t, w.page(t, w.renter, rental), http.StatusOK, "rental page paid")
	if strings.Contains(page, "data-balance") {
		t.Error("the paid rental still offers to pay")
	}
	wantBody(t, fam(pay), http.StatusConflict, "paid", `"nothing_owed"`)
}

// Staff send a payment link for a returned lease's ¥100: one text message
// to the renter's phone with a link of ours, however often they press; the
// link leads to the same Checkout Session the family's own button opens; a
// forged token is 404; once paid the link says so. Another operator's
// desk gets 404, a suspended operator's staff 403, and the audit entry
// holds no phone number.
func TestPaymentLink(t *testing.T) {
	ctx := context.Background()
	w := newRulesWorld(t)
	ws := stripeOf(t, w.s)
	const phone = "13912348841"
	l := owingLease(t, w, phone, "400", true)
	target := "/api/v1/staff/leases/" + l.ID + "/payment-link"
	lease := "/staff/leases/" + l.ID
	wantBody(t, w.page(t, w.staffA, lease), http.StatusOK, "lease page before", `data-paylink="offline"`)
	wantBody(t, w.desk.call("POST", target, nil), http.StatusConflict, "not connected", `"pay_at_station"`)

	connect(t, w)
	page := wantBody(t, w.page(t, w.staffA, lease), http.StatusOK, "lease page", `data-paylink="offered"`, "发送付款链接")
	first := submitForm(t, w, w.staffA, page, lease+"/payment-link")
	wantRedirect(t, first, lease, "send")
	if f := flashOf(first); f != "staff.done.paylink" {
		t.Errorf("flash %q", f)
	}
	second := submitForm(t, w, w.staffA, page, lease+"/payment-link")
	wantRedirect(t, second, lease, "send again")
	if f := flashOf(second); f != "staff.done.paylink.again" {
		t.Errorf("second flash %q", f)
	}
	res := decode[payLinkResult](t, w.desk.call("POST", target, nil))
	if res.Sent || res.Recipient != "renter" || res.AmountFen != 10000 || !strings.Contains(res.URL, "/pay/") {
		t.Errorf("third press: %+v", res)
	}
	inbox, _, err := w.s.messages.Inbox(ctx, messages.RenterKey(l.RenterID), 0, 50)
	if err != nil {
		t.Fatal(err)
	}
	var links []messages.Message
	for _, m := range inbox {
		if m.Kind == messages.PaymentLink {
			links = append(links, m)
		}
	}
	if len(links) != 1 || links[0].ID != res.MessageID || !strings.Contains(links[0].Text, res.URL) || !strings.Contains(links[0].Text, "100元") {
		t.Fatalf("payment link messages %+v (want one, id %s, with %s)", links, res.MessageID, res.URL)
	}
	if links[0].Phone != messages.MaskPhone(phone) {
		t.Errorf("sent to %s", links[0].Phone)
	}

	// The link, the family's button and the API are one session.
	// Opening the link (as a phone previewing it would) shows the balance
	// and asks nothing of Stripe; its button, as the browser posts it,
	// opens the page.
	token := strings.TrimPrefix(res.URL[strings.Index(res.URL, "/pay/"):], "/pay/")
	before := len(ws.created())
	follow := w.page(t, opCaller{}, "/pay/"+token)
	linkPage := wantBody(t, follow, http.StatusOK, "open the link", `data-paylink="ready"`, "¥100", `action="/pay/`+token+`"`)
	if cc := follow.Header().Get("Cache-Control"); cc != "no-store" {
		t.Errorf("the link's page may be kept: Cache-Control %q", cc)
	}
	if n := len(ws.created()); n != before {
		t.Errorf("opening the link made %d Checkout Sessions", n-before)
	}
	anon := opCaller{name: "link reader"}
	for _, ck := range follow.Result().Cookies() {
		if ck.Name == anonCookie {
			anon.cookie = ck
		}
	}
	if anon.cookie == nil {
		t.Fatal("the link page set no form cookie")
	}
	checkout := wantRedirect(t, submitForm(t, w, anon, linkPage, "/pay/"+token), "https://checkout.stripe.com/", "press pay")
	if loc := wantRedirect(t, submitForm(t, w, anon, linkPage, "/pay/"+token), "https://checkout.stripe.com/", "press again"); loc != checkout {
		t.Errorf("the link led to %s, then %s", checkout, loc)
	}
	// A post without the page's form token is refused.
	req := httptest.NewRequest(http.MethodPost, "/pay/"+token, strings.NewReader(""))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	cross := httptest.NewRecorder()
	w.s.ServeHTTP(cross, req)
	if cross.Code != http.StatusForbidden {
		t.Errorf("a cross-site post to the link: %d", cross.Code)
	}
	fam := decode[payResponse](t, w.call(t, w.renter, "POST", "/api/v1/me/payments", map[string]any{"lease_id": l.ID, "purpose": "balance"}))
	if fam.URL != checkout {
		t.Errorf("the family's page %s, the link's %s", fam.URL, checkout)
	}
	sessions := ws.created()
	if len(sessions) != 1 {
		t.Fatalf("%d sessions for one balance", len(sessions))
	}
	// Forged and altered tokens.
	payload, sig, _ := strings.Cut(token, ".")
	flip := map[byte]byte{'0': '1'}
	forged := []byte(sig)
	if b, ok := flip[forged[0]]; ok {
		forged[0] = b
	} else {
		forged[0] = '0'
	}
	for _, bad := range []string{payload + "." + string(forged), "bGVhc2UvMQ." + sig, payload, "x"} {
		wantStatus(t, w.page(t, opCaller{}, "/pay/"+bad), http.StatusNotFound, "forged token "+bad)
	}

	// Tenancy: another operator's staff, then a suspended operator's.
	wantStatus(t, w.call(t, w.staffB, "POST", target, nil), http.StatusNotFound, "operator B's staff")

	// The audit names the lease, the payment and the recipient's key, not the number.
	entries := w.auditFor(t, "lease/"+l.ID)
	sent := 0
	for _, e := range entries {
		if e.Action == "lease.payment_link" {
			sent++
		}
		raw, _ := json.Marshal(e)
		if strings.Contains(string(raw), phone) {
			t.Errorf("the audit holds the phone number: %s", raw)
		}
	}
	if sent != 1 {
		t.Errorf("%d lease.payment_link entries, want 1", sent)
	}

	// The balance changes (a ¥10 waiver): the old link says so, the old
	// Checkout page is closed at Stripe, and a new link is a new payment.
	var old string
	for id := range sessions {
		old = id
	}
	if rec := w.desk.call("POST", "/api/v1/staff/leases/"+l.ID+"/waivers", map[string]any{"amount_fen": 1000, "reason": "hardship"}); rec.Code/100 != 2 {
		t.Fatalf("waiver: %d %s", rec.Code, rec.Body)
	}
	wantBody(t, w.page(t, opCaller{}, "/pay/"+token), http.StatusOK, "old link", `data-paylink="changed"`, "¥90")
	res2 := decode[payLinkResult](t, w.desk.call("POST", target, nil))
	if !res2.Sent || res2.PaymentID == res.PaymentID || res2.AmountFen != 9000 || res2.URL == res.URL {
		t.Errorf("link for the new balance: %+v (first %+v)", res2, res)
	}
	if !ws.isExpired(old) {
		t.Error("the Checkout page of the old amount is still open")
	}
	var sid string
	for id := range ws.created() {
		if id != old {
			sid = id
		}
	}
	if n := len(ws.created()); n != 2 || sid == "" {
		t.Fatalf("%d sessions after the balance changed", n)
	}
	newLink := strings.TrimPrefix(res2.URL, "http://example.com")
	newPage := wantBody(t, w.page(t, anon, newLink), http.StatusOK, "new link", `data-paylink="ready"`, "¥90")
	if loc := wantRedirect(t, submitForm(t, w, anon, newPage, newLink), "https://checkout.stripe.com/", "new link's button"); !strings.HasSuffix(loc, sid) {
		t.Errorf("the new link leads to %s, want session %s", loc, sid)
	}

	// Paid through the link: the balance is 0, the lease closed, the link says so.
	payThroughStripe(t, w, sid, "evt_link_paid")
	got, err := w.s.rentals.Lease(ctx, tenancy.OperatorScope("op-a"), l.ID)
	if err != nil || got.BalanceFen != 0 || got.State != rentals.LeaseClosed {
		t.Fatalf("lease after paying through the link: %+v %v", got, err)
	}
	wantBody(t, w.page(t, opCaller{}, "/pay/"+token), http.StatusOK, "link after paying", `data-paylink="paid"`, "已经付清")
	wantBody(t, w.desk.call("POST", target, nil), http.StatusConflict, "link for a paid lease", `"nothing_owed"`)

	wantStatus(t, w.call(t, w.platform, "PATCH", "/api/v1/admin/operators/op-a", map[string]any{"status": "suspended", "reason": "合同到期"}),
		http.StatusOK, "suspend")
	wantBody(t, w.call(t, w.staffA, "POST", target, nil), http.StatusForbidden, "suspended staff", `"operator_suspended"`)
}

// A balance below Stripe's minimum (¥3) is paid at the station: the
// family's page and the desk's say so, and neither the API nor a payment
// link reaches Stripe.
func TestPayBalanceBelowMinimum(t *testing.T) {
	w := newRulesWorld(t)
	ws := stripeOf(t, w.s)
	l := owingLease(t, w, "13912348851", "303", true)
	if l.BalanceFen != 300 {
		t.Fatalf("balance %d", l.BalanceFen)
	}
	connect(t, w)
	wantBody(t, w.page(t, w.renter, "/account/rentals/"+l.ID), http.StatusOK, "rental page", `data-balance="small"`, "¥3 金额太小")
	wantBody(t, w.page(t, w.staffA, "/staff/leases/"+l.ID), http.StatusOK, "lease page", `data-paylink="small"`)
	wantBody(t, w.call(t, w.renter, "POST", "/api/v1/me/payments", map[string]any{"lease_id": l.ID, "purpose": "balance"}),
		http.StatusConflict, "api", `"pay_at_station"`)
	wantBody(t, w.desk.call("POST", "/api/v1/staff/leases/"+l.ID+"/payment-link", nil), http.StatusConflict, "link", `"pay_at_station"`)
	wantStatus(t, w.form(t, w.renter, "/account/rentals/"+l.ID+"/pay", url.Values{}), http.StatusConflict, "button")
	if n := len(ws.created()); n != 0 {
		t.Errorf("%d sessions for ¥3", n)
	}
}

// A prepaid lease keeps its online money on the reservation's tab: its
// balance (¥400 damage against the ¥300 deposit paid online) is paid on
// that tab, and the webhook's outcome reaches the lease through the
// reservation, which closes at 0 with two paid_online entries.
func TestPayBalanceOfPrepaidLease(t *testing.T) {
	ctx := context.Background()
	w := newRulesWorld(t)
	ws := stripeOf(t, w.s)
	l := prepaidLease(t, w, ws)
	rec := w.form(t, w.staffA, "/staff/checkin", checkinForm("damaged", "轮子断了", "400", 10000))
	if rec.Code != http.StatusSeeOther {
		t.Fatalf("check-in: %d %.1500s", rec.Code, rec.Body)
	}
	l, err := w.s.rentals.Lease(ctx, tenancy.OperatorScope("op-a"), l.ID)
	if err != nil || l.OnlineTab == "" || l.OnlineTab == l.ID || l.BalanceFen != 10000 {
		t.Fatalf("returned prepaid lease %+v %v", l, err)
	}
	before := ws.created()
	rec = w.call(t, w.renter, "POST", "/api/v1/me/payments", map[string]any{"lease_id": l.ID, "purpose": "balance"})
	wantStatus(t, rec, http.StatusCreated, "pay the balance")
	var sid string
	for id := range ws.created() {
		if before[id] == nil {
			sid = id
		}
	}
	if sid == "" {
		t.Fatal("no new session for the balance")
	}
	tab, err := w.s.payments.Tab(ctx, tenancy.OperatorScope("op-a"), l.OnlineTab)
	if err != nil || len(tab.Payments) != 2 || tab.Payments[1].ID != decode[payResponse](t, rec).PaymentID {
		t.Fatalf("the reservation's tab %+v %v", tab, err)
	}
	payThroughStripe(t, w, sid, "evt_prepaid_balance")
	got, err := w.s.rentals.Lease(ctx, tenancy.OperatorScope("op-a"), l.ID)
	if err != nil || got.BalanceFen != 0 || got.State != rentals.LeaseClosed || got.PaidOnlineFen != 49000 {
		t.Fatalf("lease after paying its balance: %+v %v", got, err)
	}
}

// A payment link is written in the language of texts of the family looking
// after the renter (the renter never chose one).
func TestPaymentLinkInFamilysLanguage(t *testing.T) {
	ctx := context.Background()
	w := newRulesWorld(t)
	l := owingLease(t, w, "13912348842", "400", true)
	if err := w.s.messages.SetLang(ctx, messages.UserKey(walkUserID(t, w)), messages.English); err != nil {
		t.Fatal(err)
	}
	connect(t, w)
	res := decode[payLinkResult](t, w.desk.call("POST", "/api/v1/staff/leases/"+l.ID+"/payment-link", nil))
	m, err := w.s.messages.Message(ctx, res.MessageID)
	if err != nil {
		t.Fatal(err)
	}
	if m.Lang != messages.English || !strings.HasPrefix(m.Text, "Please pay ¥100") {
		t.Errorf("payment link in %s: %q", m.Lang, m.Text)
	}
}

// A mobile client asks for the same payment as a PaymentIntent: the answer
// carries its client secret and no page; asking for the page afterwards
// gives one (the intent is closed at Stripe first), and a channel we do not
// know is refused naming the field.
func TestPayBalanceWithPaymentIntent(t *testing.T) {
	w := newRulesWorld(t)
	l := owingLease(t, w, "13912348843", "400", true)
	connect(t, w)
	pay := func(channel string) *httptest.ResponseRecorder {
		return w.call(t, w.renter, "POST", "/api/v1/me/payments", map[string]any{"lease_id": l.ID, "purpose": "balance", "channel": channel})
	}
	wantBody(t, pay("sms"), http.StatusBadRequest, "unknown channel", `"channel"`)
	rec := pay("intent")
	if rec.Code != http.StatusCreated {
		t.Fatalf("intent: %d %s", rec.Code, rec.Body)
	}
	mi := decode[payResponse](t, rec)
	if !strings.HasPrefix(mi.IntentID, "pi_") || !strings.Contains(mi.ClientSecret, "_secret_") || mi.URL != "" || mi.AmountFen != 10000 ||
		!strings.HasPrefix(mi.PaymentID, "lease/"+l.ID+"/balance/") {
		t.Fatalf("intent answer %+v", mi)
	}
	again := decode[payResponse](t, pay("intent"))
	if again.IntentID != mi.IntentID {
		t.Errorf("asking again made intent %s after %s", again.IntentID, mi.IntentID)
	}
	rec = pay("checkout")
	if rec.Code != http.StatusCreated {
		t.Fatalf("the page after the intent: %d %s", rec.Code, rec.Body)
	}
	page := decode[payResponse](t, rec)
	if page.URL == "" || page.ClientSecret != "" || page.PaymentID != mi.PaymentID {
		t.Errorf("the page after the intent: %+v", page)
	}
}
