package web

import (
	"bytes"
	"context"
	"image/color"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"fuju/accounts"
	"fuju/catalog"
	"fuju/internal/l10n"
	"fuju/internal/tenancy"
	"fuju/rentals"
	"fuju/stations"
)

// staffAt logs a new staff member of operator A, working at stationIDs, in
// through the login page.
func staffAt(t *testing.T, s *Server, phone string, stationIDs ...string) *client {
	t.Helper()
	if _, err := s.auth.CreateUser(context.Background(), accounts.NewUser{Name: "张敏", Phone: phone, Password: pw,
		Role: accounts.Staff, OperatorID: "op-a", StationIDs: stationIDs}); err != nil {
		t.Fatal(err)
	}
	cl := newClient(t, s)
	if rec := cl.post("/login", url.Values{"login": {phone}, "password": {pw}}, "/login"); rec.Code != http.StatusSeeOther {
		t.Fatalf("staff login: %d %s", rec.Code, rec.Body)
	}
	return cl
}

// form posts a desk form with the token of the page it came from.
func (cl *client) form(path string, vals url.Values, from string) *httptest.ResponseRecorder {
	cl.t.Helper()
	return cl.post(path, vals, from)
}

// multipartForm posts vals (and a photo in proof_photo when photo is set) as
// a browser posts a multipart form, with the token of page from.
func (cl *client) multipartForm(path string, vals url.Values, photo []byte, from string) *httptest.ResponseRecorder {
	cl.t.Helper()
	vals.Set("_csrf", cl.token(from))
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	for k, vs := range vals {
		for _, v := range vs {
			_ = mw.WriteField(k, v)
		}
	}
	fw, _ := mw.CreateFormFile("proof_photo", "proof.jpg")
	_, _ = fw.Write(photo)
	mw.Close()
	req := httptest.NewRequest("POST", cl.url(path), &b)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	return cl.do(req)
}

func mustStatus(t *testing.T, rec *httptest.ResponseRecorder, want int, what string) string {
	t.Helper()
	if rec.Code != want {
		t.Fatalf("%s: %d, want %d\n%.3000s", what, rec.Code, want, rec.Body)
	}
	return rec.Body.String()
}

func leaseOf(t *testing.T, s *Server, id string) rentals.Lease {
	t.Helper()
	l, err := s.rentals.Lease(context.Background(), tenancy.PlatformScope, id)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// A station asked for, by the API or a form, that is not one of the caller's
// is not found: it is never swapped for the caller's first station, so
// nothing lands at a station nobody chose.
func TestDeskStationIsNeverSwapped(t *testing.T) {
	s := newTestServer(t)
	ctx := context.Background()
	if _, err := s.stations.CreateOperator(ctx, stations.Operator{ID: "op-b", Name: l10n.Text{Zh: "乙", En: "B"}}, tenancy.System); err != nil {
		t.Fatal(err)
	}
	if _, err := s.stations.CreateStation(ctx, stations.Station{ID: "b-one", OperatorID: "op-b", Name: l10n.Text{Zh: "乙站", En: "B"},
		Address: l10n.Text{Zh: "路", En: "Rd"}, District: "macun", Lat: 35.25, Lng: 113.32, Hours: stations.StandardHours(), Active: true}); err != nil {
		t.Fatal(err)
	}
	d := desk{t: t, s: s, token: apiToken(t, s, "desk")}
	for _, station := range []string{"b-one", "nowhere"} {
		body := map[string]any{"name": "赵大爷", "phone": "13912345600", "id_number": "11010519491231002X", "station_id": station}
		if rec := d.call("POST", "/api/v1/staff/renters", body); rec.Code != http.StatusNotFound {
			t.Errorf("renter registered at %s: %d %s", station, rec.Code, rec.Body)
		}
	}
	r := registerRenter(t, d, "13912345601")
	body := checkoutBody("JZ-WC-0001", r.ID, 39000)
	body["station_id"] = "b-one"
	if rec := d.call("POST", "/api/v1/staff/checkouts", body); rec.Code != http.StatusNotFound {
		t.Errorf("check-out at another operator's station: %d %s", rec.Code, rec.Body)
	}
	if u, _ := s.stations.Unit(ctx, "JZ-WC-0001"); u.State != stations.Available {
		t.Fatalf("unit lent anyway: %+v", u)
	}
	l := decode[rentals.Lease](t, d.call("POST", "/api/v1/staff/checkouts", checkoutBody("JZ-WC-0001", r.ID, 39000)))
	for _, path := range []string{"/api/v1/staff/checkins", "/api/v1/staff/checkins/preview"} {
		rec := d.call("POST", path, map[string]any{"unit": "JZ-WC-0001", "outcome": "ok", "refund_method": "cash", "station_id": "b-one"})
		if rec.Code != http.StatusNotFound {
			t.Errorf("%s at another operator's station: %d %s", path, rec.Code, rec.Body)
		}
	}

	// A staff member of the north station only: the south station is the
	// same operator's, but not theirs.
	cl := staffAt(t, s, "13900000011", "north")
	form := url.Values{"unit": {"JZ-WC-0001"}, "station_id": {"south"}, "outcome": {"ok"}, "refund_method": {"cash"}}
	mustStatus(t, cl.form("/staff/checkin", form, "/staff"), http.StatusNotFound, "check-in form at a station not theirs")
	mustStatus(t, cl.get("/staff/checkin?unit=JZ-WC-0001&station_id=south&review=1&outcome=ok"), http.StatusNotFound, "check-in review at a station not theirs")
	reg := url.Values{"name": {"钱奶奶"}, "phone": {"13912345602"}, "id_number": {"11010519491231002X"}, "station_id": {"south"}}
	mustStatus(t, cl.form("/staff/renters", reg, "/staff/renters"), http.StatusNotFound, "registration at a station not theirs")
	if got := leaseOf(t, s, l.ID); got.State != rentals.LeaseActive {
		t.Fatalf("lease checked in anyway: %s", got.State)
	}
	// Their own station works, named or not.
	reg.Set("station_id", "north")
	if rec := cl.form("/staff/renters", reg, "/staff/renters"); rec.Code != http.StatusSeeOther {
		t.Fatalf("registration at their station: %d %s", rec.Code, rec.Body)
	}
	form.Set("station_id", "north")
	if rec := cl.form("/staff/checkin", form, "/staff"); rec.Code != http.StatusSeeOther {
		t.Fatalf("check-in at their station: %d %s", rec.Code, rec.Body)
	}
	if got := leaseOf(t, s, l.ID); got.State != rentals.LeaseClosed || got.Return.StationID != "north" {
		t.Fatalf("after the check-in at north: %s at %+v", got.State, got.Return)
	}
}

// Every desk form has a payment row, sent even when it is folded away or
// nothing is owed. An empty or zero row is no payment: check-out of a renter
// who owes nothing, an extension free of charge, a plain return with no
// deposit, a deposit refund, a return leaving a balance; settling needs an
// amount. The API treats an item without an amount the same way.
func TestEmptyPaymentRowIsNoPayment(t *testing.T) {
	s := newTestServer(t)
	ctx := context.Background()
	d := desk{t: t, s: s, token: apiToken(t, s, "desk")}
	cl := staffAt(t, s, "13900000012", "north", "south")
	std := registerRenter(t, d, "13912345610")
	sub := registerRenter(t, d, "13912345611")
	if _, err := s.rentals.VerifyTier(ctx, tenancy.OperatorScope("op-a"), sub.ID, rentals.TierProof{Tier: rentals.Subsistence,
		ProofType: rentals.ProofDibaoCard, ProofNumber: "DB-1", ProofPhotoKey: "p/proof.jpg", ExpiresOn: time.Now().AddDate(1, 0, 0).Format(time.DateOnly)},
		tenancy.System); err != nil {
		t.Fatal(err)
	}
	co := func(renter string) url.Values {
		return url.Values{"unit": {"JZ-WC-0001"}, "renter_id": {renter}, "station_id": {"north"}, "days": {"30"},
			"pay_method": {"cash"}, "pay_amount": {"0"}, "pay_reference": {""}, "accept": {"1"}, "accepted_name": {"赵大爷"}}
	}
	from := "/staff/checkout?unit=JZ-WC-0001&renter=" + sub.ID
	rec := cl.form("/staff/checkout", co(sub.ID), from)
	mustStatus(t, rec, http.StatusSeeOther, "check-out of a renter who owes nothing, zero row")
	leaseID := strings.TrimSuffix(strings.TrimPrefix(rec.Header().Get("Location"), "/staff/leases/"), "/receipt")
	ext := url.Values{"days": {"10"}, "pay_method": {"cash"}, "pay_amount": {""}, "pay_reference": {""}}
	mustStatus(t, cl.form("/staff/leases/"+leaseID+"/extend", ext, "/staff/leases/"+leaseID), http.StatusSeeOther, "free extension, empty row")
	// The check-in form as the browser sent it before the review step: the
	// folded payment row (cash, 0) and the refund method.
	in := url.Values{"unit": {"JZ-WC-0001"}, "station_id": {"north"}, "outcome": {"ok"}, "notes": {""}, "damage": {"0"},
		"pay_method": {"cash"}, "pay_amount": {"0"}, "pay_reference": {""}, "refund_method": {"cash"}, "refund_reference": {""}}
	mustStatus(t, cl.form("/staff/checkin", in, "/staff"), http.StatusSeeOther, "plain return of a no-deposit renter")
	if l := leaseOf(t, s, leaseID); l.State != rentals.LeaseClosed || len(l.Payments) != 0 {
		t.Fatalf("no-deposit return: %s, payments %+v", l.State, l.Payments)
	}
	clean := func() {
		t.Helper()
		if u, err := s.stations.Clean(ctx, tenancy.OperatorScope("op-a"), "JZ-WC-0001", stations.CleaningRecord{Method: "uv",
			Checklist: catalog.CleaningChecklist("manual_wheelchair")}, tenancy.System); err != nil || u.State != stations.Available {
			t.Fatalf("clean: %v", err)
		}
	}
	clean()
	// Deposit refund with the amount cleared.
	rec = d.call("POST", "/api/v1/staff/checkouts", map[string]any{"unit": "JZ-WC-0001", "renter_id": std.ID, "days": 30, "station_id": "north",
		"payments": []map[string]any{{"method": "cash", "amount_fen": 39000}, {"method": "offline_mobile", "amount_fen": 0}}, "terms_version": TermsVersion, "accepted_name": "x"})
	l := decode[rentals.Lease](t, rec)
	if rec.Code != http.StatusCreated || len(l.Payments) != 1 {
		t.Fatalf("API check-out with a zero item: %d %s", rec.Code, rec.Body)
	}
	in.Set("pay_amount", "")
	mustStatus(t, cl.form("/staff/checkin", in, "/staff"), http.StatusSeeOther, "deposit refund, amount cleared")
	lg := decode[leaseView](t, d.call("GET", "/api/v1/staff/leases/"+l.ID, nil))
	if lg.State != rentals.LeaseClosed || lg.Ledger.Entries[len(lg.Ledger.Entries)-1].Kind != rentals.EntryRefund || lg.Ledger.BalanceFen != 0 {
		t.Fatalf("after the refund: %s %+v", lg.State, lg.Ledger)
	}
	// Damage beyond the deposit, paid later: the return leaves a balance.
	clean()
	l = decode[rentals.Lease](t, d.call("POST", "/api/v1/staff/checkouts", checkoutBody("JZ-WC-0001", std.ID, 39000)))
	in.Set("outcome", "damaged")
	in.Set("damage", "400")
	in.Set("notes", "车架弯了")
	mustStatus(t, cl.form("/staff/checkin", in, "/staff"), http.StatusSeeOther, "damage beyond the deposit, amount cleared")
	if got := leaseOf(t, s, l.ID); got.State != rentals.LeaseReturned || got.BalanceFen != 10000 {
		t.Fatalf("after the damaged return: %s owing %d", got.State, got.BalanceFen)
	}
	settle := url.Values{"pay_method": {"cash"}, "pay_amount": {""}, "pay_reference": {""}}
	body := mustStatus(t, cl.form("/staff/leases/"+l.ID+"/settle", settle, "/staff/leases/"+l.ID), http.StatusBadRequest, "settle without an amount")
	if !strings.Contains(body, `id="e-payments"`) {
		t.Errorf("settling without an amount does not say so")
	}
	settle.Set("pay_amount", "100")
	mustStatus(t, cl.form("/staff/leases/"+l.ID+"/settle", settle, "/staff/leases/"+l.ID), http.StatusSeeOther, "settle")
	if got := leaseOf(t, s, l.ID); got.State != rentals.LeaseClosed {
		t.Fatalf("after settling: %s", got.State)
	}
}

// The check-in shows the settlement before it is confirmed: the API preview
// is what the check-in then writes, and a check-in confirmed against another
// settlement than the one now due is refused.
func TestCheckinPreviewAPI(t *testing.T) {
	s := newTestServer(t)
	d := desk{t: t, s: s, token: apiToken(t, s, "desk")}
	r := registerRenter(t, d, "13912345620")
	l := decode[rentals.Lease](t, d.call("POST", "/api/v1/staff/checkouts", checkoutBody("JZ-WC-0001", r.ID, 39000)))
	req := map[string]any{"unit": "JZ-WC-0001", "station_id": "north", "outcome": "missing_parts", "damage_fen": 45000, "notes": "脚踏丢了"}
	rec := d.call("POST", "/api/v1/staff/checkins/preview", req)
	set := decode[rentals.Settlement](t, rec)
	if rec.Code != http.StatusOK || set.DamageFen != 45000 || set.DepositFen != 30000 || set.OwedFen != 15000 || len(set.Entries) != 2 {
		t.Fatalf("preview: %d %s", rec.Code, rec.Body)
	}
	if rec := d.call("POST", "/api/v1/staff/checkins/preview", map[string]any{"unit": "JZ-WC-0001", "station_id": "north", "outcome": "ok", "damage_fen": 100}); rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), `"damage_fen"`) {
		t.Errorf("preview of damage on a fine unit: %d %s", rec.Code, rec.Body)
	}
	req["payments"] = []map[string]any{{"method": "cash", "amount_fen": 15000}}
	req["expect_owed_fen"] = 14000
	if rec := d.call("POST", "/api/v1/staff/checkins", req); rec.Code != http.StatusConflict {
		t.Fatalf("check-in against another settlement: %d %s", rec.Code, rec.Body)
	}
	req["expect_owed_fen"] = set.OwedFen
	rec = d.call("POST", "/api/v1/staff/checkins", req)
	if rec.Code != http.StatusOK {
		t.Fatalf("check-in: %d %s", rec.Code, rec.Body)
	}
	v := decode[leaseView](t, d.call("GET", "/api/v1/staff/leases/"+l.ID, nil))
	written := v.Ledger.Entries[len(v.Ledger.Entries)-3:]
	for i, e := range set.Entries {
		if written[i].Kind != e.Kind || written[i].AmountFen != e.AmountFen {
			t.Errorf("entry %d: previewed %s %d, written %s %d", i, e.Kind, e.AmountFen, written[i].Kind, written[i].AmountFen)
		}
	}
	if v.State != rentals.LeaseClosed {
		t.Errorf("after paying what the preview said: %s", v.State)
	}
}

// The check-in pages: the inspection, then the settlement to confirm; "refund
// the deposit" only where there is one; what was entered survives errors.
func TestCheckinPages(t *testing.T) {
	s := newTestServer(t)
	d := desk{t: t, s: s, token: apiToken(t, s, "desk")}
	cl := staffAt(t, s, "13900000013", "north", "south")
	r := registerRenter(t, d, "13912345630")
	if rec := d.call("POST", "/api/v1/staff/checkouts", checkoutBody("JZ-WC-0001", r.ID, 39000)); rec.Code != http.StatusCreated {
		t.Fatalf("checkout: %d %s", rec.Code, rec.Body)
	}
	body := mustStatus(t, cl.get("/staff/checkin?unit=JZ-WC-0001"), http.StatusOK, "inspection step")
	if !strings.Contains(body, "如果今天完好归还") || !strings.Contains(body, "退还租借人") || !strings.Contains(body, "¥300") {
		t.Errorf("the inspection step does not show the plain return's settlement")
	}
	body = mustStatus(t, cl.get("/staff/checkin?unit=JZ-WC-0001&station_id=north&review=1&outcome=damaged&damage=20"), http.StatusBadRequest, "damage without notes")
	if !strings.Contains(body, `id="e-notes"`) || !strings.Contains(body, `value="20"`) || !regexp.MustCompile(`value="damaged"[^>]*checked`).MatchString(body) {
		t.Errorf("damage without notes: the error or what was entered is missing")
	}
	body = mustStatus(t, cl.get("/staff/checkin?unit=JZ-WC-0001&station_id=north&review=1&outcome=damaged&damage=20&notes=scratch"), http.StatusOK, "review")
	for _, want := range []string{"退还押金 ¥280", `name="expect_owed" value="-28000"`, `name="damage" value="20"`, `name="outcome" value="damaged"`, "设备送去维修"} {
		if !strings.Contains(body, want) {
			t.Errorf("the review lacks %s", want)
		}
	}
	if strings.Contains(body, `id="f-pay_amount"`) {
		t.Error("a refund asks for a payment")
	}
	// A stale settlement is shown again, not written.
	conf := url.Values{"unit": {"JZ-WC-0001"}, "station_id": {"north"}, "outcome": {"damaged"}, "notes": {"scratch"}, "damage": {"20"},
		"expect_owed": {"-29000"}, "refund_method": {"cash"}}
	body = mustStatus(t, cl.form("/staff/checkin", conf, "/staff"), http.StatusConflict, "confirm a stale settlement")
	if !strings.Contains(body, "结算金额已经变化") || !strings.Contains(body, `name="expect_owed" value="-28000"`) {
		t.Errorf("a changed settlement is not shown again to confirm")
	}
	conf.Set("expect_owed", "-28000")
	mustStatus(t, cl.form("/staff/checkin", conf, "/staff"), http.StatusSeeOther, "confirm")
}

// The cleaning checklist is the device's own: a walker has no seat or
// brakes to check. A refused cleaning keeps the boxes ticked.
func TestCleaningChecklistPerCategory(t *testing.T) {
	s := newTestServer(t)
	d := desk{t: t, s: s, token: apiToken(t, s, "desk")}
	cl := staffAt(t, s, "13900000014", "north")
	body := mustStatus(t, cl.get("/staff/units/JZ-WK-0001"), http.StatusOK, "walker in cleaning")
	if !strings.Contains(body, "防滑脚垫") || strings.Contains(body, `value="seat"`) || strings.Contains(body, `value="wheels_brakes"`) {
		t.Errorf("the walker's checklist asks for other parts:\n%.2000s", body)
	}
	body = mustStatus(t, cl.form("/staff/units/JZ-WK-0001/clean", url.Values{"checklist": {"frame", "handgrips"}}, "/staff/units/JZ-WK-0001"),
		http.StatusBadRequest, "cleaning without a method, checklist incomplete")
	if !regexp.MustCompile(`value="frame"[^>]*checked`).MatchString(body) || !regexp.MustCompile(`value="handgrips"[^>]*checked`).MatchString(body) ||
		regexp.MustCompile(`value="labels"[^>]*checked`).MatchString(body) {
		t.Error("a refused cleaning lost the ticked boxes (or ticked others)")
	}
	if rec := d.call("POST", "/api/v1/staff/units/JZ-WK-0001/clean", map[string]any{"method": "uv", "checklist": catalog.CleaningChecklist("manual_wheelchair")}); rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), `"checklist"`) {
		t.Errorf("a wheelchair's checklist for a walker: %d %s", rec.Code, rec.Body)
	}
	if rec := d.call("POST", "/api/v1/staff/units/JZ-WK-0001/clean", map[string]any{"method": "uv", "checklist": catalog.CleaningChecklist("walker")}); rec.Code != http.StatusOK {
		t.Errorf("the walker's checklist: %d %s", rec.Code, rec.Body)
	}
}

// The check-out is one form: a new quote and the inline tier verification
// come back with every box still ticked and every value typed; the tier
// defaults to the renter's own (or none); it ends on the receipt.
func TestCheckoutStaysOneFlow(t *testing.T) {
	s := newTestServer(t)
	d := desk{t: t, s: s, token: apiToken(t, s, "desk")}
	cl := staffAt(t, s, "13900000015", "north")
	r := registerRenter(t, d, "13912345640")
	page := "/staff/checkout?unit=JZ-WC-0001&renter=" + r.ID
	body := mustStatus(t, cl.get(page), http.StatusOK, "check-out")
	tierSelect := regexp.MustCompile(`(?s)<select id="f-tier".*?</select>`)
	if sel := tierSelect.FindString(body); sel == "" || strings.Contains(sel, "selected") || strings.Contains(sel, `value="standard"`) {
		t.Errorf("the tier form of a standard renter: %s", sel)
	}
	vals := url.Values{"unit": {"JZ-WC-0001"}, "renter_id": {r.ID}, "station_id": {"north"}, "days": {"10"},
		"pay_method": {"cash"}, "pay_amount": {"390"}, "accept": {"1"}, "accepted_name": {"赵大爷"}}
	body = mustStatus(t, cl.form("/staff/checkout/quote", vals, page), http.StatusOK, "quote again")
	for _, want := range []string{"10 天", `value="赵大爷"`, `id="f-pay_amount" name="pay_amount" type="text" value="350"`} {
		if !strings.Contains(body, want) {
			t.Errorf("the new quote lacks %s", want)
		}
	}
	ticked := regexp.MustCompile(`id="f-accept" name="accept" value="1" checked`)
	if !ticked.MatchString(body) {
		t.Error("the new quote lost the ticked terms box")
	}
	vals.Set("pay_amount", "350")
	tier := url.Values{"tier": {"low_income"}, "proof_type": {"low_income_certificate"}, "proof_number": {"LI-9"},
		"expires_on": {time.Now().AddDate(1, 0, 0).Format(time.DateOnly)}}
	for k, v := range tier {
		vals[k] = v
	}
	body = mustStatus(t, cl.multipartForm("/staff/checkout/tier", vals, nil, page), http.StatusBadRequest, "verification without a photo")
	if !ticked.MatchString(body) || !strings.Contains(body, `id="e-proof_photo"`) || !strings.Contains(body, `<details class="more panel" open>`) ||
		!strings.Contains(body, `value="LI-9"`) || !regexp.MustCompile(`value="low_income" selected`).MatchString(body) {
		t.Error("a refused inline verification lost what was entered or is not shown open")
	}
	body = mustStatus(t, cl.multipartForm("/staff/checkout/tier", vals, testJPEG(t, 400, 300, color.RGBA{10, 20, 200, 255}), page), http.StatusOK, "verification")
	if !ticked.MatchString(body) || !strings.Contains(body, `value="赵大爷"`) || !strings.Contains(body, "免押金") ||
		!strings.Contains(body, `id="f-pay_amount" name="pay_amount" type="text" value="10"`) || !regexp.MustCompile(`value="low_income" selected`).MatchString(body) {
		t.Errorf("after the inline verification: not the same check-out quoted for the new tier:\n%.6000s", body)
	}
	vals.Set("pay_amount", "10")
	vals.Del("accepted_name")
	body = mustStatus(t, cl.form("/staff/checkout", vals, page), http.StatusBadRequest, "lend without a signature")
	if !ticked.MatchString(body) || !strings.Contains(body, `id="e-accepted_name"`) {
		t.Error("a refused check-out lost the ticked terms box")
	}
	vals.Set("accepted_name", "赵大爷")
	rec := cl.form("/staff/checkout", vals, page)
	mustStatus(t, rec, http.StatusSeeOther, "lend")
	loc := rec.Header().Get("Location")
	if !strings.HasSuffix(loc, "/receipt") {
		t.Fatalf("the check-out ends at %s, not the receipt", loc)
	}
	body = mustStatus(t, cl.get(loc), http.StatusOK, "receipt")
	l := leaseOf(t, s, strings.TrimSuffix(strings.TrimPrefix(loc, "/staff/leases/"), "/receipt"))
	for _, want := range []string{"借出完成", "0391-3561234", l.DueOn, "¥10", "¥40", "政府补贴", "赵大爷 已于"} {
		if !strings.Contains(body, want) {
			t.Errorf("the receipt lacks %s", want)
		}
	}
}
