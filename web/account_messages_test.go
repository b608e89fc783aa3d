package web

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"fuju/accounts"
	"fuju/internal/l10n"
	"fuju/internal/tenancy"
	"fuju/messages"
	"fuju/rentals"
	"fuju/stations"
)

// loginAs makes an account and logs it in through the login page.
func loginAs(t *testing.T, s *Server, n accounts.NewUser) (*client, accounts.User) {
	t.Helper()
	n.Password = pw
	u, err := s.auth.CreateUser(context.Background(), n)
	if err != nil {
		t.Fatal(err)
	}
	cl := newClient(t, s)
	if rec := cl.post("/login", url.Values{"login": {n.Phone}, "password": {pw}}, "/login"); rec.Code != http.StatusSeeOther {
		t.Fatalf("login: %d %s", rec.Code, rec.Body)
	}
	return cl, u
}

// sendJSON sends a state-changing JSON request with the session's CSRF token.
func (cl *client) sendJSON(method, path string, body string) *httptest.ResponseRecorder {
	cl.t.Helper()
	var me meResponse
	if err := json.Unmarshal(cl.get("/api/v1/me").Body.Bytes(), &me); err != nil {
		cl.t.Fatal(err)
	}
	req := httptest.NewRequest(method, cl.url(path), strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-CSRF-Token", me.CSRFToken)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	return cl.do(req)
}

func enqueue(t *testing.T, s *Server, n messages.NewMessage) messages.Message {
	t.Helper()
	m, err := s.messages.Enqueue(context.Background(), n)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// A family's inbox lists what went to the account and to the elder it looks
// after, newest first, page by page, with numbers masked and never a phone
// code; turning reminders off is audited without a number and sticks.
func TestInboxAndReminderPreference(t *testing.T) {
	s := newTestServer(t)
	ctx := context.Background()
	fam, u := loginAs(t, s, accounts.NewUser{Name: "李女士", Phone: "13700000101", Role: accounts.Renter})
	r, err := s.rentals.RegisterRenter(ctx, tenancy.OperatorScope("op-a"), rentals.Renter{Name: "李大爷", Phone: "13900000102",
		IDNumber: idNumberFor("13900000102"), HomeStationID: "north"}, tenancy.System)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.rentals.LinkUser(ctx, r.ID, u.ID, tenancy.System); err != nil {
		t.Fatal(err)
	}
	walker := messages.Text{Zh: "助行架", En: "Walker"}
	north := messages.Text{Zh: "北站", En: "North"}
	now := s.now()
	enqueue(t, s, messages.NewMessage{Event: "login/att-9", Kind: messages.PhoneCode,
		To: messages.Recipient{Key: messages.UserKey(u.ID), Phone: "13700000101"}, Params: messages.Params{Code: "246810", Minutes: 10}})
	enqueue(t, s, messages.NewMessage{Event: "reservation/rs-1/confirmed", Kind: messages.ReservationConfirmed,
		To: messages.Recipient{Key: messages.UserKey(u.ID), Phone: "13700000101"}, OperatorID: "op-a", StationID: "north",
		Params: messages.Params{Product: walker, Station: north, From: now.Add(24 * time.Hour), To: now.Add(24*time.Hour + 30*time.Minute)}})
	s.cfg.Now = func() time.Time { return now.Add(time.Minute) }
	enqueue(t, s, messages.NewMessage{Event: "lease/l-1/due-3d", Kind: messages.LeaseDueSoon,
		To: messages.Recipient{Key: messages.RenterKey(r.ID), Phone: "13900000102"}, OperatorID: "op-a", StationID: "north",
		Params: messages.Params{Product: walker, Date: "2026-11-29", Days: 3}})
	// Someone else's message never shows.
	enqueue(t, s, messages.NewMessage{Event: "lease/l-2/due-3d", Kind: messages.LeaseDueSoon,
		To: messages.Recipient{Key: messages.UserKey("u-other"), Phone: "13700000999"}, Params: messages.Params{Product: walker, Date: "2026-11-29", Days: 3}})

	rec := fam.get("/api/v1/me/messages")
	if rec.Code != http.StatusOK {
		t.Fatalf("inbox: %d %s", rec.Code, rec.Body)
	}
	got := decode[list[messages.Message]](t, rec)
	if got.Total != 2 || len(got.Items) != 2 {
		t.Fatalf("inbox has %d (total %d), want the confirmation and the reminder: %s", len(got.Items), got.Total, rec.Body)
	}
	if got.Items[0].Kind != messages.LeaseDueSoon || got.Items[1].Kind != messages.ReservationConfirmed {
		t.Errorf("order %s, %s; want newest first", got.Items[0].Kind, got.Items[1].Kind)
	}
	body := rec.Body.String()
	for _, secret := range []string{"246810", "13700000101", "13900000102", "13700000999"} {
		if strings.Contains(body, secret) {
			t.Errorf("the inbox shows %s: %s", secret, body)
		}
	}
	if got.Items[0].Phone != "139****0102" {
		t.Errorf("phone %q, want masked", got.Items[0].Phone)
	}
	page2 := decode[list[messages.Message]](t, fam.get("/api/v1/me/messages?page=2&per_page=1"))
	if len(page2.Items) != 1 || page2.Items[0].Kind != messages.ReservationConfirmed || page2.Total != 2 {
		t.Errorf("page 2 of 1: %+v", page2)
	}
	if rec := fam.get("/api/v1/me/messages?page=0"); rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), `"page"`) {
		t.Errorf("page=0: %d %s", rec.Code, rec.Body)
	}
	if rec := get(t, s, "/api/v1/me/messages"); rec.Code != http.StatusUnauthorized {
		t.Errorf("anonymous inbox: %d", rec.Code)
	}

	page := fam.get("/account/messages")
	if page.Code != http.StatusOK || !strings.Contains(page.Body.String(), "助行架") || !strings.Contains(page.Body.String(), "139****0102") ||
		strings.Contains(page.Body.String(), "246810") {
		t.Fatalf("inbox page: %d %s", page.Code, page.Body)
	}

	// Reminders off, through the API: the account and the elder it looks after.
	if rec := fam.sendJSON("PUT", "/api/v1/me/preferences", `{}`); rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), `"reminders"`) {
		t.Errorf("no reminders field: %d %s", rec.Code, rec.Body)
	}
	if rec := fam.sendJSON("PUT", "/api/v1/me/preferences", `{"reminders": false}`); rec.Code != http.StatusOK {
		t.Fatalf("reminders off: %d %s", rec.Code, rec.Body)
	}
	for _, key := range []string{messages.UserKey(u.ID), messages.RenterKey(r.ID)} {
		if p, err := s.messages.Preferences(ctx, key); err != nil || p.Reminders {
			t.Errorf("%s reminders %v (%v), want off", key, p.Reminders, err)
		}
	}
	if p := decode[messages.Preferences](t, fam.get("/api/v1/me/preferences")); p.Reminders {
		t.Error("the API still says reminders are on")
	}
	entries, _, err := s.auth.Audit(ctx, accounts.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	offs := 0
	for _, e := range entries {
		if e.Action == "messages.reminders_off" && e.Actor.ID == u.ID {
			offs++
		}
		if b, _ := json.Marshal(e); strings.Contains(string(b), "1370000010") || strings.Contains(string(b), "1390000010") {
			t.Errorf("audit entry holds a number: %s", b)
		}
	}
	if offs != 1 {
		t.Errorf("%d reminders_off entries by the family, want 1", offs)
	}
	// And on again, through the page's form, as the browser posts it.
	if rec := fam.post("/account/preferences", url.Values{"reminders": {"on"}}, "/account/messages"); rec.Code != http.StatusSeeOther {
		t.Fatalf("reminders on: %d %s", rec.Code, rec.Body)
	}
	if p, _ := s.messages.Preferences(ctx, messages.RenterKey(r.ID)); !p.Reminders {
		t.Error("the form did not turn reminders back on")
	}
	if rec := fam.post("/account/preferences", url.Values{"reminders": {"maybe"}}, "/account/messages"); rec.Code != http.StatusBadRequest {
		t.Errorf("reminders=maybe: %d", rec.Code)
	}
}

// A station's message log: its staff and its operator's admin read it with
// numbers masked and codes without text; operator B's admin, and staff of
// another station, cannot read operator A's.
func TestStationMessageLogTenancy(t *testing.T) {
	s := newTestServer(t)
	ctx := context.Background()
	if _, err := s.stations.CreateOperator(ctx, stations.Operator{ID: "op-b", Name: l10n.Text{Zh: "乙", En: "B"}}, tenancy.System); err != nil {
		t.Fatal(err)
	}
	if _, err := s.stations.CreateStation(ctx, stations.Station{ID: "east", OperatorID: "op-b", Name: l10n.Text{Zh: "东站", En: "East"},
		Address: l10n.Text{Zh: "路", En: "Road"}, District: "shanyang", Hours: stations.StandardHours(), Active: true, Lat: 35.2, Lng: 113.3}); err != nil {
		t.Fatal(err)
	}
	enqueue(t, s, messages.NewMessage{Event: "lease/l-1/overdue-1d", Kind: messages.LeaseOverdue,
		To: messages.Recipient{Key: messages.RenterKey("r-1"), Phone: "13900000201"}, OperatorID: "op-a", StationID: "north",
		Params: messages.Params{Product: messages.Text{Zh: "助行架"}, Date: "2026-11-25", Days: 1}})
	enqueue(t, s, messages.NewMessage{Event: "link/att-1", Kind: messages.PhoneCode, OperatorID: "op-a", StationID: "north",
		To: messages.Recipient{Key: messages.RenterKey("r-1"), Phone: "13900000201"}, Params: messages.Params{Code: "135790", Minutes: 10}})

	staffNorth := staffAt(t, s, "13600000201", "north")
	staffSouth := staffAt(t, s, "13600000202", "south")
	adminA, _ := loginAs(t, s, accounts.NewUser{Name: "甲管理", Phone: "13600000203", Role: accounts.OperatorAdmin, OperatorID: "op-a"})
	adminB, _ := loginAs(t, s, accounts.NewUser{Name: "乙管理", Phone: "13600000204", Role: accounts.OperatorAdmin, OperatorID: "op-b"})

	check := func(who string, rec *httptest.ResponseRecorder) {
		t.Helper()
		if rec.Code != http.StatusOK {
			t.Fatalf("%s: %d %s", who, rec.Code, rec.Body)
		}
		b := rec.Body.String()
		if !strings.Contains(b, "139****0201") || strings.Contains(b, "13900000201") || strings.Contains(b, "135790") {
			t.Errorf("%s: numbers must be masked and codes hidden: %s", who, b)
		}
	}
	rec := staffNorth.get("/api/v1/staff/messages?station=north")
	check("north staff, API", rec)
	if l := decode[list[messages.Message]](t, rec); l.Total != 2 || l.Items[0].Kind != messages.PhoneCode || l.Items[0].Text != "" {
		t.Errorf("north's log: %+v", l)
	}
	check("north staff, page", staffNorth.get("/staff/messages"))
	check("operator A, API", adminA.get("/api/v1/operator/stations/north/messages"))
	check("operator A, page", adminA.get("/operator/stations/north/messages"))

	for who, rec := range map[string]*httptest.ResponseRecorder{
		"operator B, API":        adminB.get("/api/v1/operator/stations/north/messages"),
		"operator B, page":       adminB.get("/operator/stations/north/messages"),
		"south staff asks north": staffSouth.get("/api/v1/staff/messages?station=north"),
		"no such station":        adminA.get("/api/v1/operator/stations/nowhere/messages"),
	} {
		if rec.Code != http.StatusNotFound || strings.Contains(rec.Body.String(), "0201") {
			t.Errorf("%s: %d %s", who, rec.Code, rec.Body)
		}
	}
	// South's own log is empty, not north's.
	if l := decode[list[messages.Message]](t, staffSouth.get("/api/v1/staff/messages")); l.Total != 0 {
		t.Errorf("south's log shows %d messages", l.Total)
	}
	if rec := adminA.get("/api/v1/operator/stations/north/messages?per_page=500"); rec.Code != http.StatusBadRequest {
		t.Errorf("per_page=500: %d", rec.Code)
	}
}

// The language of a family's texts is the one they signed in with until
// they choose one on the inbox page (form or API); a later sign-in in
// another language does not change it, and a language we do not write is
// refused naming the field.
func TestLanguageOfTexts(t *testing.T) {
	s := newTestServer(t)
	ctx := context.Background()
	lang := func(u accounts.User) messages.Lang {
		t.Helper()
		p, err := s.messages.Preferences(ctx, messages.UserKey(u.ID))
		if err != nil {
			t.Fatal(err)
		}
		return p.Lang
	}
	zh, uzh := loginAs(t, s, accounts.NewUser{Name: "李女士", Phone: "13700000301", Role: accounts.Renter})
	if got := lang(uzh); got != messages.Chinese {
		t.Errorf("a family signed in on a Chinese page: texts in %q, want zh-CN", got)
	}
	ue, err := s.auth.CreateUser(ctx, accounts.NewUser{Name: "Ms Li", Phone: "13700000302", Role: accounts.Renter, Password: pw})
	if err != nil {
		t.Fatal(err)
	}
	en := newClient(t, s)
	en.get("/lang/en?next=/")
	if rec := en.post("/login", url.Values{"login": {ue.Phone}, "password": {pw}}, "/login"); rec.Code != http.StatusSeeOther {
		t.Fatalf("login: %d %s", rec.Code, rec.Body)
	}
	if got := lang(ue); got != messages.English {
		t.Fatalf("a family signed in on an English page: texts in %q, want en", got)
	}
	page := en.get("/account/messages").Body.String()
	if !strings.Contains(page, `value="en" checked`) || !strings.Contains(page, "Language of texts") {
		t.Errorf("the inbox page does not show English as the language of texts")
	}
	// Chosen on the page, as the browser posts the form.
	if rec := en.post("/account/preferences", url.Values{"lang": {"zh-CN"}}, "/account/messages"); rec.Code != http.StatusSeeOther {
		t.Fatalf("choose Chinese: %d %s", rec.Code, rec.Body)
	}
	if got := lang(ue); got != messages.Chinese {
		t.Errorf("after choosing Chinese: %q", got)
	}
	en2 := newClient(t, s)
	en2.get("/lang/en?next=/")
	en2.post("/login", url.Values{"login": {ue.Phone}, "password": {pw}}, "/login")
	if got := lang(ue); got != messages.Chinese {
		t.Errorf("a sign-in in English changed the chosen language to %q", got)
	}
	if rec := en.post("/account/preferences", url.Values{"lang": {"fr"}}, "/account/messages"); rec.Code != http.StatusBadRequest {
		t.Errorf("lang=fr: %d", rec.Code)
	}
	// Through the API: lang alone, then a wrong one.
	rec := zh.sendJSON("PUT", "/api/v1/me/preferences", `{"lang": "en"}`)
	if rec.Code != http.StatusOK {
		t.Fatalf("PUT lang: %d %s", rec.Code, rec.Body)
	}
	if p := decode[messages.Preferences](t, zh.get("/api/v1/me/preferences")); p.Lang != messages.English || !p.Reminders {
		t.Errorf("preferences after choosing English: %+v", p)
	}
	if rec := zh.sendJSON("PUT", "/api/v1/me/preferences", `{"lang": "fr"}`); rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), `"lang"`) {
		t.Errorf("lang fr: %d %s", rec.Code, rec.Body)
	}
	// Reminders and language are separate choices: one leaves the other.
	zh.sendJSON("PUT", "/api/v1/me/preferences", `{"reminders": false}`)
	if p, _ := s.messages.Preferences(ctx, messages.UserKey(uzh.ID)); p.Lang != messages.English || p.Reminders {
		t.Errorf("after reminders off: %+v, want English and off", p)
	}
}
