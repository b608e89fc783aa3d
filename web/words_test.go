package web

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"fuju/accounts"
	"fuju/internal/l10n"
	"fuju/internal/tenancy"
	"fuju/internal/testenv"
	"fuju/rentals"
)

// session returns a logged-in caller of user u.
func session(t *testing.T, s *Server, u accounts.User) opCaller {
	t.Helper()
	tok, sess, err := s.auth.NewSession(context.Background(), u, false, "127.0.0.1", "test")
	if err != nil {
		t.Fatal(err)
	}
	return opCaller{name: u.Name, cookie: &http.Cookie{Name: sessionCookie, Value: tok}, csrf: s.mac("session:" + sess.ID)}
}

// staffOf creates a staff member of op-a at stations.
func staffOf(t *testing.T, s *Server, phone string, sts ...string) opCaller {
	t.Helper()
	s.auth.StationOf = func(ctx context.Context, id string) (string, error) {
		st, err := s.stations.Station(ctx, id)
		return st.OperatorID, err
	}
	u, err := s.auth.CreateUser(context.Background(), accounts.NewUser{Name: "李敏", Phone: phone, Password: pw, Role: accounts.Staff,
		OperatorID: "op-a", StationIDs: sts})
	if err != nil {
		t.Fatal(err)
	}
	return session(t, s, u)
}

// send posts a form as c's browser would, with the headers given.
func send(t *testing.T, s *Server, c opCaller, method, target string, vals url.Values, header ...string) *httptest.ResponseRecorder {
	t.Helper()
	vals.Set(csrfField, c.csrf)
	req := httptest.NewRequest(method, target, strings.NewReader(vals.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	(&opWorld{s: s}).auth(req, c)
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, req)
	return rec
}

// The desk API finds renters with a POST (the query never in a URL) by a
// phone number typed any way, by the ID number's last four characters and by
// name; names come back masked; look-ups are throttled per actor with a
// clear 429 and logged without what was searched for.
func TestRenterSearchAPI(t *testing.T) {
	s := newTestServer(t)
	var logs testenv.Buffer
	s.logger = slog.New(slog.NewJSONHandler(&logs, nil))
	d := desk{t: t, s: s, token: apiToken(t, s, "desk")}
	// An ID number ending in X, to find by "002x".
	rec := d.call("POST", "/api/v1/staff/renters", map[string]any{"name": "赵大爷", "phone": "13912345670", "id_number": "11010519491231002X", "station_id": "north"})
	if rec.Code != http.StatusCreated {
		t.Fatalf("register renter: %d %s", rec.Code, rec.Body)
	}
	zhang := decode[rentals.Renter](t, rec)
	search := func(q string, header ...string) *httptest.ResponseRecorder {
		t.Helper()
		req := httptest.NewRequest("POST", "/api/v1/staff/renters/search", strings.NewReader(`{"query":`+strconv.Quote(q)+`}`))
		req.Header.Set("Authorization", "Bearer "+d.token)
		req.Header.Set("Content-Type", "application/json")
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		return rec
	}
	for _, tt := range []struct{ query, by, name string }{
		{"１３９ １２３４ ５６７０", rentals.SearchPhone, "赵大爷"},
		{"+86 139-1234-5670", rentals.SearchPhone, "赵大爷"},
		{"002x", rentals.SearchIDTail, "赵**"},
		{"赵大", rentals.SearchName, "赵**"},
	} {
		rec := search(tt.query)
		if rec.Code != http.StatusOK {
			t.Fatalf("%q: %d %s", tt.query, rec.Code, rec.Body)
		}
		res := decode[renterSearchList](t, rec)
		if res.By != tt.by || res.Total != 1 || res.Items[0].ID != zhang.ID || res.Items[0].Name != tt.name {
			t.Errorf("%q: %+v", tt.query, res)
		}
	}
	if rec := search("张"); rec.Code != http.StatusBadRequest || decode[apiError](t, rec).Error.Problems["query"].Code != "query_short" {
		t.Errorf("one character: %d %s", rec.Code, rec.Body)
	}
	if rec := search("张", "Accept-Language", "zh-CN,zh;q=0.9"); !strings.Contains(decode[apiError](t, rec).Error.Message, "请至少输入 2 个字") {
		t.Errorf("a Chinese client's message: %s", rec.Body)
	}
	// The old GET with the phone number in the URL is gone.
	if rec := d.call("GET", "/api/v1/staff/renters?phone=13912345670", nil); rec.Code == http.StatusOK {
		t.Errorf("GET lookup still answers: %d", rec.Code)
	}

	// The limit: the next look-up of this token waits, with Retry-After.
	s.renterLookups = limiter{s.cfg.Throttle.Limit("renter-lookups-test", 2, time.Minute)}
	search("赵大")
	search("赵大")
	rec = search("赵大")
	after, _ := strconv.Atoi(rec.Header().Get("Retry-After"))
	if rec.Code != http.StatusTooManyRequests || after < 1 || decode[apiError](t, rec).Error.Code != "rate_limited" {
		t.Fatalf("over the limit: %d %q %s", rec.Code, rec.Header().Get("Retry-After"), rec.Body)
	}
	// Another desk is not held up by this one.
	other := desk{t: t, s: s, token: apiToken(t, s, "desk")}
	req := httptest.NewRequest("POST", "/api/v1/staff/renters/search", strings.NewReader(`{"query":"赵大"}`))
	req.Header.Set("Authorization", "Bearer "+other.token)
	req.Header.Set("Content-Type", "application/json")
	rec = httptest.NewRecorder()
	s.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		t.Errorf("another token: %d", rec.Code)
	}

	// Every look-up is logged, and nothing of what was searched for.
	log := logs.String()
	if n := strings.Count(log, `"msg":"renter lookup"`); n != 7 {
		t.Errorf("%d look-ups logged, want 7:\n%s", n, log)
	}
	if !strings.Contains(log, `"msg":"renter lookup refused"`) {
		t.Error("the refused look-up is not logged")
	}
	for _, secret := range []string{"13912345670", "1234 5670", "002X", "002x", "赵", "5670"} {
		if strings.Contains(log, secret) {
			t.Errorf("the log holds %q:\n%s", secret, log)
		}
	}
}

// 4xx answers say what is wrong in words from the catalogue, never an error's
// internal text: a desk or console of operator B provoking every refusal it
// can on operator A's things reads none of A's identifiers, and neither does
// A's staff member refused at a station that is not theirs.
func TestErrorsShowNoForeignIDs(t *testing.T) {
	w := newOpWorld(t)
	s := w.s
	ctx := context.Background()
	d := desk{t: t, s: s, token: apiToken(t, s, "desk")}
	r := registerRenter(t, d, "13912345601")
	lrec := d.call("POST", "/api/v1/staff/checkouts", checkoutBody("JZ-WC-0001", r.ID, 39000))
	if lrec.Code != http.StatusCreated {
		t.Fatalf("checkout: %d %s", lrec.Code, lrec.Body)
	}
	lease := decode[rentals.Lease](t, lrec)
	secretB, _, err := s.auth.CreateToken(ctx, "op-b", "B desk", []string{accounts.ScopeDesk}, tenancy.System)
	if err != nil {
		t.Fatal(err)
	}
	deskB := opCaller{name: "B desk token", bearer: secretB}
	staffNorth := staffOf(t, s, "13800009901", "north")
	foreign := []string{"op-a", `"north"`, "north ", "south", "北站", "南站", "轻便轮椅", "Light wheelchair", r.ID, lease.ID, "赵大爷", "13912345601", idNumberFor("13912345601")}
	for _, tt := range []struct {
		who         opCaller
		method, url string
		body        any
	}{
		{w.staffB, "GET", "/api/v1/staff/units/JZ-WC-0002", nil},
		{w.staffB, "POST", "/api/v1/staff/units/JZ-WK-0001/clean", map[string]any{"method": "uv", "checklist": w.s.stations.CleaningChecklist("walker")}},
		{w.staffB, "POST", "/api/v1/staff/units/JZ-WC-0002/transfer", map[string]any{"to_station": "b-one"}},
		{deskB, "POST", "/api/v1/staff/checkouts", checkoutBody("JZ-WC-0002", r.ID, 39000)},
		{deskB, "POST", "/api/v1/staff/checkins", map[string]any{"unit": "JZ-WC-0001", "outcome": "ok", "station_id": "b-one", "refund_method": "cash"}},
		{deskB, "GET", "/api/v1/staff/leases/" + lease.ID, nil},
		{deskB, "POST", "/api/v1/staff/leases/" + lease.ID + "/extend", map[string]any{"days": 3}},
		{deskB, "GET", "/api/v1/staff/renters/" + r.ID, nil},
		{deskB, "POST", "/api/v1/staff/renters/" + r.ID + "/link", map[string]any{"phone": "13912345601", "code": "12345678"}},
		{deskB, "GET", "/api/v1/staff/quote?unit=JZ-WC-0002&days=3&renter=" + r.ID, nil},
		{w.adminB, "POST", "/api/v1/operator/units", map[string]any{"tag": "JZ-WC-0002", "product_id": "wc-b", "station_id": "b-one"}},
		{w.adminB, "PATCH", "/api/v1/operator/units/JZ-WC-0002", map[string]any{"version": 1, "condition": "x"}},
		{w.adminB, "POST", "/api/v1/operator/units", map[string]any{"tag": "JZ-WB-0009", "product_id": "wc", "station_id": "north"}},
		{w.writeB, "GET", "/api/v1/operator/units/JZ-WC-0002", nil},
		// A's staff at north, at a unit standing at south.
		{staffNorth, "POST", "/api/v1/staff/units/JZ-WC-0002/repair", map[string]any{"issue": "brake"}},
		{staffNorth, "POST", "/api/v1/staff/units/JZ-WC-0002/retire", map[string]any{"reason": "old"}},
	} {
		rec := w.call(t, tt.who, tt.method, tt.url, tt.body)
		if rec.Code < 400 || rec.Code >= 500 {
			t.Errorf("%s %s %s: %d %s", tt.who.name, tt.method, tt.url, rec.Code, rec.Body)
			continue
		}
		body := rec.Body.String()
		for _, id := range foreign {
			if strings.Contains(body, id) {
				t.Errorf("%s %s %s: %d reveals %q: %s", tt.who.name, tt.method, tt.url, rec.Code, id, body)
			}
		}
		if e := decode[apiError](t, rec).Error; e.Message == "" || strings.Contains(e.Message, "stations:") || strings.Contains(e.Message, "rentals:") {
			t.Errorf("%s %s: message %q", tt.method, tt.url, e.Message)
		}
	}
	// The same on pages, and in an import's report of rows.
	for _, tt := range []struct {
		who    opCaller
		target string
		form   url.Values
	}{
		{w.staffB, "/staff/units/JZ-WC-0002", nil},
		{w.staffB, "/staff/units/JZ-WC-0002/transfer", url.Values{"to_station": {"b-one"}}},
		{staffNorth, "/staff/units/JZ-WC-0002/repair", url.Values{"issue": {"brake"}}},
		{w.staffB, "/staff/checkin?unit=JZ-WC-0001", nil},
	} {
		var rec *httptest.ResponseRecorder
		if tt.form == nil {
			rec = w.page(t, tt.who, tt.target)
		} else {
			rec = w.form(t, tt.who, tt.target, tt.form)
		}
		if rec.Code < 400 {
			t.Errorf("page %s: %d", tt.target, rec.Code)
		}
		for _, id := range foreign {
			if strings.Contains(rec.Body.String(), id) {
				t.Errorf("page %s reveals %q", tt.target, id)
			}
		}
	}
	rec := w.call(t, w.writeB, "POST", "/api/v1/operator/units/import", "tag,product_id,station_id\nJZ-WC-0002,wc-b,b-one\nJZ-WB-0010,wc,north\nJZ-WB-0011,wc-b,south\n", "text/csv")
	if rec.Code != http.StatusOK {
		t.Fatalf("import: %d %s", rec.Code, rec.Body)
	}
	res := decode[importResponse](t, rec)
	if len(res.Failed) != 3 {
		t.Fatalf("import report %+v", res.Failed)
	}
	for _, id := range foreign {
		if strings.Contains(rec.Body.String(), id) {
			t.Errorf("the import report reveals %q: %s", id, rec.Body)
		}
	}
}

// The unit's history reads as sentences in the reader's language: who the
// device went to (masked), for how long, where and by whom; outcomes, costs
// and the demo seeder in words; no lease ids or field names.
func TestUnitTimelineInWords(t *testing.T) {
	s := newTestServer(t)
	d := desk{t: t, s: s, token: apiToken(t, s, "desk")}
	r := registerRenter(t, d, "13912345602")
	out := d.call("POST", "/api/v1/staff/checkouts", checkoutBody("JZ-WC-0001", r.ID, 39000))
	if out.Code != http.StatusCreated {
		t.Fatalf("checkout: %d %s", out.Code, out.Body)
	}
	lease := decode[rentals.Lease](t, out)
	if rec := d.call("POST", "/api/v1/staff/checkins", map[string]any{"unit": "JZ-WC-0001", "outcome": "damaged", "notes": "扶手裂了",
		"damage_fen": 5000, "station_id": "north", "payments": []map[string]any{}, "refund_method": "cash"}); rec.Code != http.StatusOK {
		t.Fatalf("checkin: %d %s", rec.Code, rec.Body)
	}
	if rec := d.call("POST", "/api/v1/staff/units/JZ-WC-0001/repaired", map[string]any{"notes": "换了扶手", "cost_fen": 3550}); rec.Code != http.StatusOK {
		t.Fatalf("repaired: %d %s", rec.Code, rec.Body)
	}
	staff := staffOf(t, s, "13800009902", "north", "south")
	page := func(lang string) string {
		req := httptest.NewRequest("GET", "/staff/units/JZ-WC-0001", nil)
		req.AddCookie(staff.cookie)
		if lang != "" {
			req.AddCookie(&http.Cookie{Name: "lang", Value: lang})
		}
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			t.Fatalf("unit page: %d", rec.Code)
		}
		b := rec.Body.String()
		i := strings.Index(b, `id="hist-h"`)
		if i < 0 {
			t.Fatal("no history on the unit page")
		}
		return b[i:]
	}
	zh := page("")
	// Times are the city's (Asia/Shanghai), to the minute.
	if now := time.Now().In(l10n.Local); !strings.Contains(zh, now.Format("2006-01-02 15:04")) && !strings.Contains(zh, now.Add(-time.Minute).Format("2006-01-02 15:04")) {
		t.Errorf("no event at %s, city time:\n%s", now.Format("2006-01-02 15:04"), zh)
	}
	for _, want := range []string{"入库，可借", "借出给 赵** · 30 天 · 北站", "归还，检查结果：损坏", "验收检查后送去维修中", "维修完成，费用 ¥35.50：换了扶手"} {
		if !strings.Contains(zh, want) {
			t.Errorf("the timeline lacks %q:\n%s", want, zh)
		}
	}
	en := page("en")
	for _, want := range []string{"Lent to 赵** · 30 days · North", "Returned; inspection: Damaged", "Repaired, cost ¥35.50"} {
		if !strings.Contains(en, want) {
			t.Errorf("the English timeline lacks %q:\n%s", want, en)
		}
	}
	// The lease's own history says the outcome in words too.
	req := httptest.NewRequest("GET", "/staff/leases/"+lease.ID, nil)
	req.AddCookie(staff.cookie)
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, req)
	if body := rec.Body.String(); rec.Code != http.StatusOK || !strings.Contains(body, "· 损坏") || strings.Contains(body, "· damaged") {
		t.Errorf("the lease history: %d\n%.4000s", rec.Code, body)
	}
	for _, raw := range []string{"lease l-", "outcome:", "cost_fen", "Demo data", "赵大爷", ">l-"} {
		if strings.Contains(zh, raw) || strings.Contains(en, raw) {
			t.Errorf("the timeline shows %q", raw)
		}
	}

	// The operator console's unit page tells the same history the same way.
	au, err := s.auth.CreateUser(context.Background(), accounts.NewUser{Name: "王管理", Phone: "13800009912", Password: pw, Role: accounts.OperatorAdmin, OperatorID: "op-a"})
	if err != nil {
		t.Fatal(err)
	}
	admin := session(t, s, au)
	for lang, wants := range map[string][]string{"": {"借出给 赵** · 30 天 · 北站", "归还，检查结果：损坏", "维修完成，费用 ¥35.50：换了扶手"},
		"en": {"Lent to 赵** · 30 days · North", "Returned; inspection: Damaged", "Repaired, cost ¥35.50"}} {
		req := httptest.NewRequest("GET", "/operator/units/JZ-WC-0001", nil)
		req.AddCookie(admin.cookie)
		if lang != "" {
			req.AddCookie(&http.Cookie{Name: "lang", Value: lang})
		}
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		body := rec.Body.String()
		i := strings.Index(body, `id="hist-h"`)
		if rec.Code != http.StatusOK || i < 0 {
			t.Fatalf("operator unit page: %d\n%.2000s", rec.Code, body)
		}
		hist := body[i:]
		for _, want := range wants {
			if !strings.Contains(hist, want) {
				t.Errorf("the operator's unit history (%s) lacks %q:\n%s", lang, want, hist)
			}
		}
		for _, raw := range []string{"lease: l-", "lease l-", "outcome:", "cost_fen", "Demo data", "赵大爷", ">checkout<", ">repaired<"} {
			if strings.Contains(hist, raw) {
				t.Errorf("the operator's unit history (%s) shows %q", lang, raw)
			}
		}
	}
}

// Forms forgive how people type: a full-width phone number finds the renter,
// a registration with a spaced ID number and a +86 number goes through, and a
// wrong amount is answered in the reader's words, in yuan.
func TestDeskFormsForgiveInput(t *testing.T) {
	s := newTestServer(t)
	d := desk{t: t, s: s, token: apiToken(t, s, "desk")}
	r := registerRenter(t, d, "13912345603")
	staff := staffOf(t, s, "13800009903", "north")
	found := send(t, s, staff, "POST", "/staff/renters/find", url.Values{"find": {"１３９ １２３４ ５６０３"}})
	if found.Code != http.StatusOK || !strings.Contains(found.Body.String(), "/staff/renters/"+r.ID) {
		t.Fatalf("full-width phone: %d\n%.3000s", found.Code, found.Body)
	}
	byName := send(t, s, staff, "POST", "/staff/renters/find", url.Values{"find": {"赵大"}}).Body.String()
	if !strings.Contains(byName, "赵**") || strings.Contains(byName, "赵大爷") && !strings.Contains(byName, `value="赵大"`) {
		t.Errorf("a name search does not show masked names:\n%.3000s", byName)
	}
	reg := send(t, s, staff, "POST", "/staff/renters", url.Values{"name": {" 钱德明 "}, "phone": {"+86 139-1234-5604"},
		"id_number": {"410802 19450715 0018"}, "age": {"７７岁"}})
	if reg.Code != http.StatusSeeOther {
		t.Fatalf("registration typed loosely: %d\n%.3000s", reg.Code, reg.Body)
	}
	rs, err := s.rentals.SearchRenters(context.Background(), tenancy.OperatorScope("op-a"), "13912345604", tenancy.System)
	if err != nil || len(rs.Items) != 1 || rs.Items[0].Age != 77 || rs.Items[0].IDTail != "0018" {
		t.Fatalf("registered %+v %v", rs, err)
	}
	// Check-out with too little money: the message says how much, in yuan.
	for lang, want := range map[string]string{"zh": "应收 ¥390，现在填的是 ¥20.50", "en": "¥390 is due; you entered ¥20.50"} {
		vals := url.Values{"unit": {"JZ-WC-0001"}, "renter_id": {r.ID}, "days": {"30"}, "pay_method": {"cash"},
			"pay_amount": {"２０．５"}, "accept": {"1"}, "accepted_name": {"赵大爷"}}
		rec := send(t, s, staff, "POST", "/staff/checkout", vals, "Cookie", "lang="+lang)
		if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), want) {
			t.Errorf("%s: %d, want %q:\n%.4000s", lang, rec.Code, want, rec.Body)
		}
	}
	// Dates as people write them: the due date is read, so what is left
	// wrong is only the money (28 days cost less than 30).
	vals := url.Values{"unit": {"JZ-WC-0001"}, "renter_id": {r.ID}, "due_on": {"2026年12月24日"}, "pay_method": {"cash"},
		"pay_amount": {fmt.Sprint(1)}, "accept": {"1"}, "accepted_name": {"赵大爷"}}
	rec := send(t, s, staff, "POST", "/staff/checkout", vals)
	if body := rec.Body.String(); rec.Code != http.StatusBadRequest || !strings.Contains(body, "应收") || strings.Contains(body, "请输入日期") {
		t.Errorf("2026年12月24日 was not read as a date: %d\n%.3000s", rec.Code, body)
	}
}

// JSON bodies are read like forms: a phone number and an ID number typed
// with full-width digits, spaces and +86, a due date with slashes.
func TestJSONIsNormalised(t *testing.T) {
	s := newTestServer(t)
	d := desk{t: t, s: s, token: apiToken(t, s, "desk")}
	rec := d.call("POST", "/api/v1/staff/renters", map[string]any{"name": "　孙桂兰 ", "phone": "＋８６ １３９-１２３４-５６９９",
		"id_number": "110101 19500101 0009", "station_id": "north", "emergency_contact": map[string]string{"name": "女儿", "phone": "138 0000 0000"}})
	if rec.Code != http.StatusCreated {
		t.Fatalf("register: %d %s", rec.Code, rec.Body)
	}
	r := decode[rentals.Renter](t, rec)
	if r.Name != "孙桂兰" || r.Phone != "13912345699" || r.EmergencyContact.Phone != "13800000000" || !strings.HasSuffix(r.IDMasked, "0009") {
		t.Errorf("registered %+v", r)
	}
	body := checkoutBody("ｊｚ－ｗｃ－０００１", r.ID, 1)
	delete(body, "days")
	body["due_on"] = "2026/12/24"
	rec = d.call("POST", "/api/v1/staff/checkouts", body)
	e := decode[apiError](t, rec).Error
	if rec.Code != http.StatusBadRequest || e.Problems["payments"].Code != "total_exact" || len(e.Problems) != 1 {
		t.Errorf("a due date with slashes and a full-width tag were not read: %d %s", rec.Code, rec.Body)
	}
}

// The demo city's records were made by its seeder: the printable agreement
// and the unit's history name it in the reader's language, never as the
// seeder's marker text.
func TestDemoMarkerInWords(t *testing.T) {
	s := newTestServer(t)
	d := desk{t: t, s: s, token: apiToken(t, s, "desk")}
	r := registerRenter(t, d, "13912345609")
	seed := tenancy.Actor{ID: "seed", Name: "Demo data", Role: "system"}
	lease, err := s.rentals.Checkout(context.Background(), tenancy.OperatorScope("op-a"), rentals.CheckoutRequest{UnitTag: "JZ-WC-0001", RenterID: r.ID,
		Days: 30, StationID: "north", Payments: []rentals.Payment{{Method: "cash", AmountFen: 39000}}, TermsVersion: TermsVersion, AcceptedName: "赵大爷"}, seed)
	if err != nil {
		t.Fatal(err)
	}
	staff := staffOf(t, s, "13800009909", "north")
	for lang, want := range map[string]string{"": "示例数据", "en": "demo data"} {
		for _, path := range []string{"/staff/leases/" + lease.ID + "/receipt", "/staff/units/JZ-WC-0001"} {
			req := httptest.NewRequest("GET", path, nil)
			req.AddCookie(staff.cookie)
			if lang != "" {
				req.AddCookie(&http.Cookie{Name: "lang", Value: lang})
			}
			rec := httptest.NewRecorder()
			s.ServeHTTP(rec, req)
			body := rec.Body.String()
			if rec.Code != http.StatusOK || !strings.Contains(body, want) || strings.Contains(body, "Demo data") {
				t.Errorf("%s (%s): %d, want %q and not the marker text:\n%.4000s", path, lang, rec.Code, want, body)
			}
		}
	}
}
