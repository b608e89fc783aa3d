package web

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"

	"fuju/accounts"
	"fuju/catalog"
	"fuju/internal/l10n"
	"fuju/internal/tenancy"
	"fuju/rentals"
	"fuju/stations"
)

const admPassword = "violet-harbour-47"

// admClient is a browser or API client of the test server: it keeps cookies
// (ignoring their paths) and sends the CSRF token with every request that
// changes something. A request body is nil, url.Values (a form) or anything
// else, sent as JSON.
type admClient struct {
	t       *testing.T
	s       *Server
	cookies map[string]*http.Cookie
	csrf    string
	bearer  string
}

func newAdmClient(t *testing.T, s *Server) *admClient {
	return &admClient{t: t, s: s, cookies: map[string]*http.Cookie{}}
}

// admSession logs u in directly through the identity service (for callers
// whose login itself is not under test).
func admSession(t *testing.T, s *Server, u accounts.User) *admClient {
	t.Helper()
	tok, sess, err := s.auth.NewSession(context.Background(), u, false, "192.0.2.1", "test")
	if err != nil {
		t.Fatal(err)
	}
	c := newAdmClient(t, s)
	c.cookies[sessionCookie] = &http.Cookie{Name: sessionCookie, Value: tok}
	c.csrf = s.mac("session:" + sess.ID)
	return c
}

// anonymous is a visitor with the anonymous cookie and its form token, so
// CSRF passes and what is tested is the role check behind it.
func admAnonymous(t *testing.T, s *Server) *admClient {
	c := newAdmClient(t, s)
	anon := "test-anon-cookie-0123456789"
	c.cookies[anonCookie] = &http.Cookie{Name: anonCookie, Value: anon}
	c.csrf = s.mac("anon:" + anon)
	return c
}

func (c *admClient) do(method, target string, body any) *httptest.ResponseRecorder {
	c.t.Helper()
	var req *http.Request
	switch b := body.(type) {
	case nil:
		req = httptest.NewRequest(method, target, nil)
	case url.Values:
		req = httptest.NewRequest(method, target, strings.NewReader(b.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			c.t.Fatal(err)
		}
		req = httptest.NewRequest(method, target, bytes.NewReader(raw))
		req.Header.Set("Content-Type", "application/json")
	}
	for _, ck := range c.cookies {
		req.AddCookie(ck)
	}
	if c.csrf != "" && method != http.MethodGet {
		req.Header.Set(csrfHeader, c.csrf)
	}
	if c.bearer != "" {
		req.Header.Set("Authorization", "Bearer "+c.bearer)
	}
	rec := httptest.NewRecorder()
	c.s.ServeHTTP(rec, req)
	for _, ck := range rec.Result().Cookies() {
		if ck.MaxAge < 0 {
			delete(c.cookies, ck.Name)
		} else {
			c.cookies[ck.Name] = ck
		}
	}
	return rec
}

func (c *admClient) get(target string) *httptest.ResponseRecorder {
	return c.do(http.MethodGet, target, nil)
}

// follow GETs the page a 303 points to.
func (c *admClient) follow(rec *httptest.ResponseRecorder) *httptest.ResponseRecorder {
	c.t.Helper()
	if rec.Code != http.StatusSeeOther {
		c.t.Fatalf("want 303, got %d: %.800s", rec.Code, rec.Body)
	}
	return c.get(rec.Header().Get("Location"))
}

func admStatus(t *testing.T, rec *httptest.ResponseRecorder, want int, what string) {
	t.Helper()
	if rec.Code != want {
		t.Fatalf("%s: status %d, want %d: %.1500s", what, rec.Code, want, rec.Body)
	}
}

// admFixture is the test city plus a platform admin logged in through the
// real login API.
type admFixture struct {
	s     *Server
	admin *admClient
	me    accounts.User
}

func newAdmFixture(t *testing.T) *admFixture {
	t.Helper()
	s := newTestServer(t)
	u, err := s.auth.CreateUser(context.Background(), accounts.NewUser{Name: "市管理员", Phone: "13900000001",
		Password: admPassword, Role: accounts.PlatformAdmin})
	if err != nil {
		t.Fatal(err)
	}
	c := newAdmClient(t, s)
	rec := c.do(http.MethodPost, "/api/v1/auth/login", map[string]string{"login": "13900000001", "password": admPassword})
	admStatus(t, rec, http.StatusOK, "admin login")
	c.csrf = decode[meResponse](t, rec).CSRFToken
	return &admFixture{s: s, admin: c, me: u}
}

func (f *admFixture) user(t *testing.T, role accounts.Role, phone, operator string, stationIDs ...string) accounts.User {
	t.Helper()
	u, err := f.s.auth.CreateUser(context.Background(), accounts.NewUser{Name: string(role) + " " + phone, Phone: phone,
		Password: admPassword, Role: role, OperatorID: operator, StationIDs: stationIDs})
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func admAudit(t *testing.T, c *admClient) (map[string][]accounts.Entry, string) {
	t.Helper()
	rec := c.get("/api/v1/admin/audit?per_page=200")
	admStatus(t, rec, http.StatusOK, "audit")
	out := map[string][]accounts.Entry{}
	for _, e := range decode[list[accounts.Entry]](t, rec).Items {
		out[e.Action] = append(out[e.Action], e)
	}
	return out, rec.Body.String()
}

// Every /admin and /api/v1/admin route, for every kind of caller: visitors
// are sent to log in (401 from the API), everyone but a platform admin is
// refused, and the platform admin gets through.
func TestAdminRoleMatrix(t *testing.T) {
	f := newAdmFixture(t)
	s := f.s
	target := f.user(t, accounts.Staff, "13900000005", "op-a", "north")
	callers := map[string]*admClient{
		"anonymous":      admAnonymous(t, s),
		"renter":         admSession(t, s, f.user(t, accounts.Renter, "13900000002", "")),
		"staff":          admSession(t, s, f.user(t, accounts.Staff, "13900000003", "op-a", "north")),
		"operator_admin": admSession(t, s, f.user(t, accounts.OperatorAdmin, "13900000004", "op-a")),
		"token":          newAdmClient(t, s),
	}
	callers["token"].bearer = apiToken(t, s, accounts.TokenScopes...)

	n := 0
	for _, r := range s.Routes() {
		api := strings.HasPrefix(r.Path, "/api/v1/admin")
		if !api && r.Path != "/admin" && !strings.HasPrefix(r.Path, "/admin/") {
			continue
		}
		n++
		path := r.Path
		switch {
		case strings.Contains(path, "/operators/:id"):
			path = strings.Replace(path, ":id", "op-a", 1)
		case strings.Contains(path, "/users/:id"):
			path = strings.Replace(path, ":id", target.ID, 1)
		}
		path = strings.Replace(path, ":dashboard", "money", 1)
		path = strings.Replace(path, ":n", "1", 1)
		path = strings.Replace(strings.Replace(path, ":operator", "op-a", 1), ":month", "2026-10", 1)
		for name, c := range callers {
			rec := c.do(r.Method, path, nil)
			switch {
			case name == "anonymous" && api:
				if rec.Code != http.StatusUnauthorized {
					t.Errorf("%s %s as %s: %d, want 401", r.Method, path, name, rec.Code)
				}
			case name == "anonymous":
				if loc := rec.Header().Get("Location"); rec.Code != http.StatusSeeOther || !strings.HasPrefix(loc, "/login?next=") {
					t.Errorf("%s %s as %s: %d to %q, want 303 to /login", r.Method, path, name, rec.Code, loc)
				}
			default:
				if rec.Code != http.StatusForbidden {
					t.Errorf("%s %s as %s: %d, want 403", r.Method, path, name, rec.Code)
				}
			}
		}
		rec := f.admin.do(r.Method, path, nil)
		if r.Method == http.MethodGet && rec.Code != http.StatusOK {
			t.Errorf("%s %s as platform admin: %d, want 200: %.500s", r.Method, path, rec.Code, rec.Body)
		}
		// Writes without a body are refused for what they lack, never for
		// who sent them, and never with a 500.
		if code := rec.Code; code == http.StatusUnauthorized || code == http.StatusForbidden || code >= 500 {
			t.Errorf("%s %s as platform admin: %d: %.500s", r.Method, path, code, rec.Body)
		}
	}
	if n < 30 {
		t.Errorf("only %d admin routes found", n)
	}
}

func TestAdminOperatorsAndUsersAPI(t *testing.T) {
	f := newAdmFixture(t)
	ctx := context.Background()
	c := f.admin

	rec := c.do(http.MethodPost, "/api/v1/admin/operators", map[string]any{"id": "jz-kangfu",
		"name": map[string]string{"zh": " 焦作康复 ", "en": "Jiaozuo Rehab"}, "phone": "0391-3561234"})
	admStatus(t, rec, http.StatusCreated, "create operator")
	if o := decode[stations.Operator](t, rec); o.ID != "jz-kangfu" || o.Status != stations.OperatorActive || o.Name.Zh != "焦作康复" {
		t.Errorf("created %+v", o)
	}
	rec = c.do(http.MethodPost, "/api/v1/admin/operators", map[string]any{"id": "jz-kangfu", "name": map[string]string{"zh": "又一个", "en": "Another"}})
	admStatus(t, rec, http.StatusConflict, "duplicate operator id")
	for _, tt := range []struct {
		body  map[string]any
		field string
	}{
		{map[string]any{"name": map[string]string{"zh": "", "en": "X"}}, "name.zh"},
		{map[string]any{"id": "Bad Id!", "name": map[string]string{"zh": "乙", "en": "B"}}, "id"},
		{map[string]any{"name": map[string]string{"zh": "乙", "en": "B"}, "phone": "12"}, "phone"},
		{map[string]any{"name": map[string]string{"zh": "乙", "en": "B"}, "owner": "me"}, "owner"},
	} {
		rec := c.do(http.MethodPost, "/api/v1/admin/operators", tt.body)
		if rec.Code != http.StatusBadRequest || decode[apiError](t, rec).Error.Fields[tt.field] == "" {
			t.Errorf("%v: %d %s, want 400 naming %s", tt.body, rec.Code, rec.Body, tt.field)
		}
	}
	rec = c.do(http.MethodPatch, "/api/v1/admin/operators/jz-kangfu", map[string]any{"name": map[string]string{"zh": "焦作康复中心", "en": "Jiaozuo Rehab Centre"}})
	admStatus(t, rec, http.StatusOK, "rename")
	rec = c.do(http.MethodPatch, "/api/v1/admin/operators/jz-kangfu", map[string]any{"name": map[string]string{"zh": "新名", "en": "New"}, "status": "closed"})
	admStatus(t, rec, http.StatusBadRequest, "bad status")
	if o, _ := f.s.stations.Operator(ctx, "jz-kangfu"); o.Name.Zh != "焦作康复中心" {
		t.Errorf("a refused change was half applied: %+v", o)
	}
	admStatus(t, c.do(http.MethodPatch, "/api/v1/admin/operators/nope", map[string]any{"phone": ""}), http.StatusNotFound, "unknown operator")
	ops := decode[list[stations.Operator]](t, c.get("/api/v1/admin/operators"))
	if ops.Total != 2 {
		t.Errorf("operators %+v", ops)
	}

	// An operator admin with a one-time password.
	rec = c.do(http.MethodPost, "/api/v1/admin/users", map[string]any{"role": "operator_admin", "name": "王经理",
		"phone": "138 0000 0001", "operator_id": "jz-kangfu"})
	admStatus(t, rec, http.StatusCreated, "create operator admin")
	if cc := rec.Header().Get("Cache-Control"); cc != "no-store" {
		t.Errorf("one-time password response is cacheable: %q", cc)
	}
	created := decode[userCreated](t, rec)
	if created.OneTimePassword == "" || !created.User.MustChangePassword || created.User.Phone != "13800000001" {
		t.Fatalf("created %+v", created)
	}
	opAdmin := created.User
	if _, err := f.s.auth.Authenticate(ctx, "13800000001", created.OneTimePassword); err != nil {
		t.Errorf("the one-time password does not log in: %v", err)
	}
	// Staff with a chosen password: no one-time password in the answer.
	rec = c.do(http.MethodPost, "/api/v1/admin/users", map[string]any{"role": "staff", "name": "李师傅",
		"email": "li@example.com", "password": "quiet-lantern-88", "operator_id": "op-a", "station_ids": []string{"north"}})
	admStatus(t, rec, http.StatusCreated, "create staff")
	staff := decode[userCreated](t, rec)
	if staff.OneTimePassword != "" || !staff.User.MustChangePassword {
		t.Errorf("staff %+v", staff)
	}
	for _, tt := range []struct {
		body   map[string]any
		status int
		field  string
	}{
		{map[string]any{"role": "renter", "name": "租户", "phone": "13800000009"}, 400, "role"},
		{map[string]any{"role": "staff", "name": "无站", "phone": "13800000009", "operator_id": "op-a"}, 400, "station_ids"},
		{map[string]any{"role": "operator_admin", "name": "无机构", "phone": "13800000009", "operator_id": "ghost"}, 400, "operator_id"},
		{map[string]any{"role": "operator_admin", "name": "重复", "phone": "13800000001", "operator_id": "op-a"}, 409, "phone"},
		{map[string]any{"role": "platform_admin", "name": "弱密码", "phone": "13800000009", "password": "123"}, 400, "password"},
		{map[string]any{"role": "platform_admin", "name": "注入", "phone": map[string]string{"$ne": ""}}, 400, "phone"},
	} {
		rec := c.do(http.MethodPost, "/api/v1/admin/users", tt.body)
		if rec.Code != tt.status || decode[apiError](t, rec).Error.Fields[tt.field] == "" {
			t.Errorf("%v: %d %s, want %d naming %s", tt.body, rec.Code, rec.Body, tt.status, tt.field)
		}
	}

	// Search.
	for _, tt := range []struct {
		query string
		want  []string
	}{
		{"q=王", []string{opAdmin.ID}},
		{"q=LI@example.com", []string{staff.User.ID}},
		{"q=138+0000+0001", []string{opAdmin.ID}},
		{"q=138000", nil}, // a part of a number is not a login, nor a name
		{"role=staff", []string{staff.User.ID}},
		{"operator=jz-kangfu", []string{opAdmin.ID}},
		{"role=platform_admin", []string{f.me.ID}},
		{"role=staff&operator=jz-kangfu", nil},
	} {
		got := decode[list[accounts.User]](t, c.get("/api/v1/admin/users?"+tt.query))
		var ids []string
		for _, u := range got.Items {
			ids = append(ids, u.ID)
		}
		if fmt.Sprint(ids) != fmt.Sprint(tt.want) {
			t.Errorf("users?%s: %v, want %v", tt.query, ids, tt.want)
		}
	}
	for _, q := range []string{"role=boss", "q[$ne]=1", "page=0", "per_page=1000"} {
		if rec := c.get("/api/v1/admin/users?" + q); rec.Code != http.StatusBadRequest {
			t.Errorf("users?%s: %d", q, rec.Code)
		}
	}
	paged := decode[list[accounts.User]](t, c.get("/api/v1/admin/users?per_page=1&page=2"))
	if paged.Total != 3 || len(paged.Items) != 1 || paged.Page != 2 {
		t.Errorf("paging %+v", paged)
	}

	// Disable, enable, reset.
	opSession := admSession(t, f.s, opAdmin)
	admStatus(t, c.do(http.MethodPatch, "/api/v1/admin/users/"+opAdmin.ID, map[string]any{"status": "disabled"}), http.StatusOK, "disable")
	if rec := opSession.get("/api/v1/me"); rec.Code != http.StatusUnauthorized {
		t.Errorf("a disabled user's session still works: %d", rec.Code)
	}
	if _, err := f.s.auth.Authenticate(ctx, "13800000001", created.OneTimePassword); err == nil {
		t.Error("a disabled user can log in")
	}
	admStatus(t, c.do(http.MethodPatch, "/api/v1/admin/users/"+opAdmin.ID, map[string]any{"status": "active", "name": "王总"}), http.StatusOK, "enable")
	admStatus(t, c.do(http.MethodPatch, "/api/v1/admin/users/"+f.me.ID, map[string]any{"status": "disabled"}), http.StatusBadRequest, "disable self")
	admStatus(t, c.do(http.MethodPatch, "/api/v1/admin/users/"+staff.User.ID, map[string]any{"station_ids": []string{"north", "south"}}), http.StatusOK, "stations")
	rec = c.do(http.MethodPost, "/api/v1/admin/users/"+staff.User.ID+"/reset-password", nil)
	admStatus(t, rec, http.StatusOK, "reset")
	reset := decode[passwordReset](t, rec)
	if _, err := f.s.auth.Authenticate(ctx, "li@example.com", reset.OneTimePassword); err != nil || rec.Header().Get("Cache-Control") != "no-store" {
		t.Errorf("reset password does not log in (%v) or is cacheable", err)
	}
	admStatus(t, c.do(http.MethodPost, "/api/v1/admin/users/"+f.me.ID+"/reset-password", nil), http.StatusBadRequest, "reset self")
	admStatus(t, c.do(http.MethodPost, "/api/v1/admin/users/u-nobody/reset-password", nil), http.StatusNotFound, "reset unknown")

	// Every change is in the audit log, passwords never are.
	actions, body := admAudit(t, c)
	all := decode[list[accounts.Entry]](t, c.get("/api/v1/admin/audit"))
	second := decode[list[accounts.Entry]](t, c.get("/api/v1/admin/audit?per_page=3&page=2"))
	if all.Total != 8 || second.Total != all.Total || len(second.Items) != 3 || second.Items[0].ID != all.Items[3].ID {
		t.Errorf("audit paging: %d entries, page 2 of 3 %+v", all.Total, second)
	}
	admStatus(t, c.get("/api/v1/admin/audit?page=x"), http.StatusBadRequest, "audit page=x")
	for _, a := range []string{"operator.create", "operator.update", "user.create", "user.disable", "user.enable", "user.update", "user.reset_password"} {
		if len(actions[a]) == 0 {
			t.Errorf("no %s in the audit log", a)
		}
	}
	for _, secret := range []string{created.OneTimePassword, reset.OneTimePassword, "quiet-lantern-88"} {
		if strings.Contains(body, secret) {
			t.Error("a password is in the audit log")
		}
	}
	if e := actions["operator.create"]; len(e) == 0 || e[0].OperatorID != "jz-kangfu" || e[0].Actor.ID != f.me.ID || e[0].RequestID == "" {
		t.Errorf("operator.create entry %+v", e)
	}
	if !strings.Contains(body, `"field":"password","before":"(hidden)","after":"(hidden)"`) {
		t.Error("the password reset is not recorded as a hidden change")
	}
	if e := actions["user.disable"]; len(e) != 1 || e[0].OperatorID != "jz-kangfu" || fmt.Sprint(e[0].Changes) != "[{disabled_by_platform <nil> true} {status active disabled}]" {
		t.Errorf("user.disable entry %+v", e)
	}
}

func admPolicyBody(version int, lowShare int, note string) map[string]any {
	return map[string]any{"version": version, "note": note, "annual_cap_fen": 120000, "lost_after_days": 45,
		"tiers": map[string]any{
			"subsistence": map[string]any{"share_bp": 0, "waive_deposit": true, "late_fees": false},
			"low_income":  map[string]any{"share_bp": lowShare, "waive_deposit": true, "late_fees": true},
			"standard":    map[string]any{"share_bp": 10000, "waive_deposit": false, "late_fees": true},
		}}
}

func TestAdminPolicyVersioning(t *testing.T) {
	f := newAdmFixture(t)
	c := f.admin
	ov := decode[policyOverview](t, c.get("/api/v1/admin/tier-policy"))
	if ov.Current.Version != 1 || len(ov.Versions) != 1 || ov.Current.Tiers[rentals.LowIncome].ShareBP != 2000 {
		t.Fatalf("initial %+v", ov)
	}
	rec := c.do(http.MethodPut, "/api/v1/admin/tier-policy", admPolicyBody(1, 1500, "低收入降到 15%"))
	admStatus(t, rec, http.StatusOK, "put v2")
	if p := decode[rentals.Policy](t, rec); p.Version != 2 || p.By.ID != f.me.ID || p.AnnualCapFen != 120000 {
		t.Errorf("v2 %+v", p)
	}

	// Admins saving from the same version at once: exactly one wins.
	const racers = 6
	codes := make([]int, racers)
	var wg sync.WaitGroup
	for i := range racers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req := httptest.NewRequest(http.MethodPut, "/api/v1/admin/tier-policy",
				strings.NewReader(admJSON(t, admPolicyBody(2, 1000+i, fmt.Sprintf("racer %d", i)))))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set(csrfHeader, c.csrf)
			req.AddCookie(c.cookies[sessionCookie])
			rec := httptest.NewRecorder()
			f.s.ServeHTTP(rec, req)
			codes[i] = rec.Code
		}()
	}
	wg.Wait()
	won := 0
	for _, code := range codes {
		switch code {
		case http.StatusOK:
			won++
		case http.StatusConflict:
		default:
			t.Errorf("racer got %d", code)
		}
	}
	if won != 1 {
		t.Fatalf("%d of %d concurrent saves from version 2 won (%v), want exactly 1", won, racers, codes)
	}
	// A late save from an old version is refused with a message saying why.
	rec = c.do(http.MethodPut, "/api/v1/admin/tier-policy", admPolicyBody(2, 900, "late"))
	admStatus(t, rec, http.StatusConflict, "stale version")
	if msg := decode[apiError](t, rec).Error.Message; !strings.Contains(msg, "version 3") {
		t.Errorf("conflict message %q", msg)
	}
	ov = decode[policyOverview](t, c.get("/api/v1/admin/tier-policy"))
	if ov.Current.Version != 3 || len(ov.Versions) != 3 || ov.Versions[0].Version != 3 || ov.Versions[2].Note != "default policy" {
		t.Errorf("after the race %+v", ov)
	}
	// New quotes use the new version; version 1 is still readable as it was.
	q := decode[rentals.Quote](t, get(t, f.s, "/api/v1/quote?product=wc&days=30&tier=low_income"))
	if q.PolicyVersion != 3 {
		t.Errorf("quote made under version %d", q.PolicyVersion)
	}
	v1 := decode[rentals.Policy](t, c.get("/api/v1/admin/tier-policy/versions/1"))
	if v1.Version != 1 || v1.Tiers[rentals.LowIncome].ShareBP != 2000 {
		t.Errorf("version 1 %+v", v1)
	}
	admStatus(t, c.get("/api/v1/admin/tier-policy/versions/99"), http.StatusNotFound, "version 99")
	admStatus(t, c.get("/api/v1/admin/tier-policy/versions/x"), http.StatusBadRequest, "version x")

	bad := admPolicyBody(3, 20000, "too much")
	missing := admPolicyBody(3, 1000, "missing")
	delete(missing["tiers"].(map[string]any)["standard"].(map[string]any), "share_bp")
	noTier := admPolicyBody(3, 1000, "no tier")
	delete(noTier["tiers"].(map[string]any), "subsistence")
	extra := admPolicyBody(3, 1000, "extra")
	extra["tiers"].(map[string]any)["gold"] = map[string]any{"share_bp": 0, "waive_deposit": true, "late_fees": false}
	for _, tt := range []struct {
		body  map[string]any
		field string
	}{
		{bad, "tiers.low_income.share_bp"},
		{missing, "tiers.standard.share_bp"},
		{noTier, "tiers.subsistence"},
		{extra, "tiers.gold"},
		{admPolicyBody(3, 1000, " "), "note"},
		{admPolicyBody(0, 1000, "no base"), "version"},
		{admPolicyBody(7, 1000, "future base"), "version"},
	} {
		rec := c.do(http.MethodPut, "/api/v1/admin/tier-policy", tt.body)
		if rec.Code != http.StatusBadRequest || decode[apiError](t, rec).Error.Fields[tt.field] == "" {
			t.Errorf("%s: %d %s", tt.field, rec.Code, rec.Body)
		}
	}
	actions, _ := admAudit(t, c)
	if e := actions["policy.update"]; len(e) != 2 {
		t.Errorf("policy.update entries %+v", e)
	} else {
		found := false
		for _, ch := range e[len(e)-1].Changes { // oldest last: version 2
			found = found || ch.Field == "tiers.low_income.share_bp" && ch.Before == float64(2000) && ch.After == float64(1500)
		}
		if !found {
			t.Errorf("version 2's entry does not show the share's before and after: %+v", e[len(e)-1].Changes)
		}
	}
}

func admJSON(t *testing.T, v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		t.Error(err)
	}
	return string(b)
}

// A suspended operator's stations and listings vanish from everything public,
// at once and across a rebuild of the read models, and come back on resume.
func TestAdminSuspendHidesOperator(t *testing.T) {
	f := newAdmFixture(t)
	ctx := context.Background()
	c := f.admin
	admStatus(t, c.do(http.MethodPost, "/api/v1/admin/operators", map[string]any{"id": "op-b", "name": map[string]string{"zh": "乙", "en": "B"}}),
		http.StatusCreated, "create op-b")
	_, err := f.s.stations.CreateStation(ctx, stations.Station{ID: "east", OperatorID: "op-b", Name: l10n.Text{Zh: "东站", En: "East"},
		Address: l10n.Text{Zh: "路", En: "Road"}, District: "macun", Lat: 35.25, Lng: 113.32, Hours: stations.StandardHours(), Active: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.catalog.Create(ctx, tenancy.PlatformScope, catalog.Product{ID: "bed", OperatorID: "op-b", Category: "hospital_bed",
		Name: l10n.Text{Zh: "护理床", En: "Care bed"}, Rate: catalog.RatePlan{DailyFen: 1000, Block30Fen: 20000}}, tenancy.System); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.stations.CreateUnit(ctx, stations.Unit{Tag: "JZ-BD-0001", ProductID: "bed", StationID: "east"}, tenancy.System); err != nil {
		t.Fatal(err)
	}
	visible := func(want bool) {
		t.Helper()
		prods := decode[catalog.Result](t, get(t, f.s, "/api/v1/products"))
		sts := decode[list[stationSummary]](t, get(t, f.s, "/api/v1/stations"))
		hasBed, hasEast := false, false
		for _, h := range prods.Hits {
			hasBed = hasBed || h.Product.ID == "bed"
		}
		for _, st := range sts.Items {
			hasEast = hasEast || st.ID == "east"
		}
		if hasBed != want || hasEast != want || prods.Total != 2+admB2I(want) || sts.Total != 2+admB2I(want) {
			t.Errorf("want op-b visible=%v: products %d (bed %v), stations %d (east %v)", want, prods.Total, hasBed, sts.Total, hasEast)
		}
		code := map[bool]int{true: 200, false: 404}[want]
		for _, target := range []string{"/api/v1/products/bed", "/api/v1/stations/east", "/products/bed", "/stations/east",
			"/api/v1/quote?product=bed&days=3"} {
			if rec := get(t, f.s, target); rec.Code != code {
				t.Errorf("%s: %d, want %d", target, rec.Code, code)
			}
		}
		cats := decode[list[catalog.CategoryCount]](t, get(t, f.s, "/api/v1/categories"))
		for _, cc := range cats.Items {
			if cc.ID == "hospital_bed" && cc.Products != admB2I(want) {
				t.Errorf("hospital beds counted %d", cc.Products)
			}
		}
		if page := get(t, f.s, "/stations").Body.String(); strings.Contains(page, "东站") != want {
			t.Errorf("station list page shows 东站: %v", !want)
		}
	}
	visible(true)
	admin := admSession(t, f.s, f.user(t, accounts.OperatorAdmin, "13900000071", "op-b"))
	desk := admSession(t, f.s, f.user(t, accounts.Staff, "13900000072", "op-b", "east"))
	if strings.Contains(admin.get("/operator").Body.String(), `id="suspended-banner"`) {
		t.Error("a banner before the suspension")
	}
	rec := c.do(http.MethodPatch, "/api/v1/admin/operators/op-b", map[string]any{"status": "suspended"})
	wantField(t, rec, http.StatusBadRequest, "reason", "suspend without a reason")
	rec = c.do(http.MethodPatch, "/api/v1/admin/operators/op-b", map[string]any{"status": "suspended", "reason": "合同到期，正在续签"})
	admStatus(t, rec, http.StatusOK, "suspend")
	if o := decode[stations.Operator](t, rec); o.SuspendedReason != "合同到期，正在续签" || o.SuspendedAt == nil {
		t.Errorf("suspended %+v", o)
	}
	visible(false)
	// Its people see why on every console and desk page; the public sees
	// the station closed, not unknown.
	for who, cl := range map[string]*admClient{"operator admin": admin, "staff": desk} {
		for _, target := range []string{"/operator", "/operator/units", "/staff", "/account"} {
			rec := cl.get(target)
			if rec.Code == http.StatusOK && !strings.Contains(rec.Body.String(), "合同到期，正在续签") {
				t.Errorf("%s at %s: no suspension banner", who, target)
			}
		}
	}
	if !strings.Contains(desk.get("/staff").Body.String(), `id="suspended-banner"`) {
		t.Error("the desk lacks the banner")
	}
	closed := get(t, f.s, "/stations/east")
	if closed.Code != http.StatusNotFound || !strings.Contains(closed.Body.String(), "东站暂停服务") {
		t.Errorf("closed station page: %d %.300s", closed.Code, closed.Body)
	}
	if unknown := get(t, f.s, "/stations/nowhere").Body.String(); strings.Contains(unknown, "暂停服务") {
		t.Error("an unknown station is called closed")
	}
	if err := f.s.stations.Rebuild(ctx); err != nil {
		t.Fatal(err)
	}
	visible(false)
	// Its own station list (from the database) keeps the station as it was.
	if sts, _ := f.s.stations.Stations(ctx, "op-b"); len(sts) != 1 || !sts[0].Active {
		t.Errorf("the operator's own station list %+v", sts)
	}
	admStatus(t, c.do(http.MethodPatch, "/api/v1/admin/operators/op-b", map[string]any{"status": "active"}), http.StatusOK, "resume")
	visible(true)
	actions, _ := admAudit(t, c)
	if e := actions["operator.suspend"]; len(e) != 1 || !strings.Contains(fmt.Sprint(e[0].Changes), "{status active suspended}") || e[0].OperatorID != "op-b" {
		t.Errorf("operator.suspend entries %+v", e)
	}
	if len(actions["operator.resume"]) != 1 {
		t.Error("no operator.resume entry")
	}
}

func admB2I(b bool) int {
	if b {
		return 1
	}
	return 0
}

var admOTP = regexp.MustCompile(`<code id="otp">([A-Za-z0-9]{16})</code>`)

// The console's forms: post/redirect/get, re-rendered with the typed values
// and the problems on failure, a one-time password shown on the next page
// only.
func TestAdminPages(t *testing.T) {
	f := newAdmFixture(t)
	ctx := context.Background()
	c := f.admin
	body := func(rec *httptest.ResponseRecorder, want ...string) {
		t.Helper()
		b := rec.Body.String()
		for _, w := range want {
			if !strings.Contains(b, w) {
				t.Errorf("page lacks %q: %.3000s", w, b)
			}
		}
		if strings.Contains(b, "%!") {
			t.Error("a message was formatted with the wrong arguments")
		}
	}
	home := c.get("/admin")
	admStatus(t, home, http.StatusOK, "dashboard")
	body(home, "城市管理后台", `aria-current="page">概览`, "分档政策第 1 版")

	// Operators: a failed form keeps what was typed and points at the problem.
	rec := c.do(http.MethodPost, "/admin/operators", url.Values{"adm_op_name_zh": {""}, "adm_op_name_en": {"Kangle"}, "adm_op_phone": {"0391-3561234"}})
	admStatus(t, rec, http.StatusBadRequest, "operator without a Chinese name")
	body(rec, `class="alert" role="alert"`, `href="#f-adm_op_name_zh"`, `id="f-adm_op_name_zh" name="adm_op_name_zh" type="text" autocomplete="organization" required aria-invalid="true"`,
		`value="Kangle"`, `value="0391-3561234"`, "autofocus")
	rec = c.do(http.MethodPost, "/admin/operators", url.Values{"adm_op_name_zh": {"康乐"}, "adm_op_name_en": {"Kangle"}, "adm_op_id": {"kangle"}})
	page := c.follow(rec)
	admStatus(t, page, http.StatusOK, "operator page")
	rec = c.do(http.MethodPost, "/admin/operators", url.Values{"adm_op_name_zh": {"又一个"}, "adm_op_name_en": {"Another"}, "adm_op_id": {"kangle"}})
	admStatus(t, rec, http.StatusBadRequest, "taken operator id")
	body(rec, "已被其他运营机构使用", `value="又一个"`)
	body(page, "已接入运营机构", "<h1>康乐</h1>", `href="/admin/users/new?role=operator_admin&amp;operator=kangle"`)
	confirm := c.get("/admin/operators/kangle/status?to=suspended")
	admStatus(t, confirm, http.StatusOK, "confirm suspension")
	body(confirm, "暂停“康乐”？", `name="_csrf"`, `name="status" value="suspended"`)
	admStatus(t, c.do(http.MethodPost, "/admin/operators/kangle/status", url.Values{"status": {"suspended"}}), http.StatusBadRequest, "suspend without a reason")
	page = c.follow(c.do(http.MethodPost, "/admin/operators/kangle/status", url.Values{"status": {"suspended"}, "reason": {"投诉调查中"}}))
	body(page, "已暂停该机构", "adm-banner")
	page = c.follow(c.do(http.MethodPost, "/admin/operators/kangle/status", url.Values{"status": {"active"}}))
	body(page, "已恢复该机构")

	// Users: create an operator admin; the one-time password is on the next
	// page and only there.
	newUser := c.get("/admin/users/new?role=operator_admin&operator=kangle")
	body(newUser, `<option value="operator_admin" selected>`, `<option value="kangle" selected>`)
	rec = c.do(http.MethodPost, "/admin/users", url.Values{"adm_role": {"operator_admin"}, "adm_operator": {"kangle"}, "name": {"赵主任"}, "phone": {"12345"}})
	admStatus(t, rec, http.StatusBadRequest, "bad phone")
	body(rec, `value="赵主任"`, `href="#f-phone"`, `<option value="kangle" selected>`)
	rec = c.do(http.MethodPost, "/admin/users", url.Values{"adm_role": {"operator_admin"}, "adm_operator": {"kangle"}, "name": {"赵主任"}, "phone": {"13700000001"}})
	admStatus(t, rec, http.StatusSeeOther, "create user")
	if strings.Contains(rec.Header().Get("Location"), "?") {
		t.Errorf("the redirect carries something in its URL: %s", rec.Header().Get("Location"))
	}
	stolen := *c.cookies[revealCookie]
	page = c.follow(rec)
	m := admOTP.FindStringSubmatch(page.Body.String())
	if m == nil {
		t.Fatalf("no one-time password on the next page: %.3000s", page.Body)
	}
	if page.Header().Get("Cache-Control") != "no-store" {
		t.Errorf("the page with the password is cacheable: %q", page.Header().Get("Cache-Control"))
	}
	if _, err := f.s.auth.Authenticate(ctx, "13700000001", m[1]); err != nil {
		t.Errorf("the shown password does not log in: %v", err)
	}
	again := c.get(rec.Header().Get("Location"))
	if admOTP.MatchString(again.Body.String()) {
		t.Error("the one-time password is shown twice")
	}
	// The sealed cookie is useless to another session.
	other := admSession(t, f.s, f.user(t, accounts.PlatformAdmin, "13900000009", ""))
	other.cookies[revealCookie] = &stolen
	if admOTP.MatchString(other.get(rec.Header().Get("Location")).Body.String()) {
		t.Error("another session can read the hand-off cookie")
	}
	// The new account logs in and, sent to change the one-time password
	// first, can.
	them := admAnonymous(t, f.s)
	rec2 := them.do(http.MethodPost, "/login", url.Values{"login": {"13700000001"}, "password": {m[1]}})
	admStatus(t, rec2, http.StatusSeeOther, "operator admin login")
	account := them.follow(them.follow(rec2))
	body(account, "这是临时密码")
	them.csrf = regexp.MustCompile(`name="_csrf" value="([0-9a-f]+)"`).FindStringSubmatch(account.Body.String())[1]
	changed := them.follow(them.do(http.MethodPost, "/account/password", url.Values{"current_password": {m[1]}, "new_password": {"copper-kettle-song-3"}}))
	body(changed, "密码已修改")
	users := c.get("/admin/users?q=赵")
	body(users, "共 1 个账号", "赵主任", "康乐")
	uid := strings.TrimPrefix(rec.Header().Get("Location"), "/admin/users/")
	page = c.follow(c.do(http.MethodPost, "/admin/users/"+uid+"/status", url.Values{"status": {"disabled"}}))
	body(page, "账号已停用")
	page = c.follow(c.do(http.MethodPost, "/admin/users/"+uid+"/reset-password", nil))
	if !admOTP.MatchString(page.Body.String()) {
		t.Error("no one-time password after a reset")
	}

	// Tier policy: percent with decimals; a stale form gets the latest values.
	editor := c.get("/admin/tier-policy")
	body(editor, `name="adm_version" value="1"`, `name="adm_share_low_income" type="text" value="20"`, "第 1 版",
		`name="adm_res_max" type="number" value="3"`, `name="adm_res_block" type="number" value="30"`)
	form := url.Values{"adm_version": {"1"}, "adm_share_subsistence": {"0"}, "adm_share_low_income": {"12.5"}, "adm_share_standard": {"１００"},
		"adm_waive_subsistence": {"1"}, "adm_waive_low_income": {"1"}, "adm_late_low_income": {"1"}, "adm_late_standard": {"1"},
		"adm_cap": {"1200.50"}, "adm_lost_days": {"30"}, "adm_note": {"低收入 12.5%"},
		"adm_res_max": {"2"}, "adm_res_noshows": {"3"}, "adm_res_window": {"90"}, "adm_res_block": {"30"}}
	// Saving first shows the difference from the version in force and
	// asks to confirm; going back keeps the values; confirming saves.
	confirm = c.do(http.MethodPost, "/admin/tier-policy", form)
	admStatus(t, confirm, http.StatusOK, "policy confirmation")
	body(confirm, "确认分档政策的修改", `id="policy-diff"`, "<td>20%</td><td><strong>12.5%</strong></td>", "保存后立即生效",
		`name="adm_confirm" value="1"`, `name="adm_share_low_income" value="12.5"`, "<td>3</td><td><strong>2</strong></td>")
	if p := f.s.policies.Latest(); p.Version != 1 {
		t.Fatalf("saved before confirming: version %d", p.Version)
	}
	back := url.Values{"adm_back": {"1"}, "adm_confirm": {"1"}}
	for k, v := range form {
		back[k] = v
	}
	body(c.do(http.MethodPost, "/admin/tier-policy", back), `name="adm_share_low_income" type="text" value="12.5"`, `name="adm_version" value="1"`)
	if p := f.s.policies.Latest(); p.Version != 1 {
		t.Fatalf("saved on going back: version %d", p.Version)
	}
	form.Set("adm_confirm", "1")
	page = c.follow(c.do(http.MethodPost, "/admin/tier-policy", form))
	form.Del("adm_confirm")
	body(page, "已保存为分档政策的新版本", `name="adm_version" value="2"`, `value="12.5"`, `value="1200.50"`)
	if p := f.s.policies.Current(); p.Version != 2 || p.Tiers[rentals.LowIncome].ShareBP != 1250 || p.AnnualCapFen != 120050 || p.Tiers[rentals.Standard].ShareBP != 10000 ||
		p.Reservations != (rentals.ReservationRules{MaxOpen: 2, NoShows: 3, NoShowDays: 90, BlockDays: 30}) {
		t.Errorf("saved %+v", p)
	}
	form.Set("adm_share_low_income", "30")
	rec = c.do(http.MethodPost, "/admin/tier-policy", form) // still says version 1
	admStatus(t, rec, http.StatusConflict, "stale policy form")
	body(rec, "其他人保存了第 2 版", `name="adm_version" value="2"`, `value="12.5"`, "<td>30%</td><td>12.5%</td>", `低收入 12.5%</textarea>`)
	form.Set("adm_version", "2")
	form.Set("adm_share_low_income", "12.345")
	form.Set("adm_cap", "abc")
	form.Set("adm_res_block", "400")
	rec = c.do(http.MethodPost, "/admin/tier-policy", form)
	admStatus(t, rec, http.StatusBadRequest, "bad policy form")
	body(rec, `href="#f-adm_share_low_income"`, `href="#f-adm_cap"`, `value="12.345"`, "最多两位小数", `name="adm_version" value="2"`)
	form.Set("adm_res_block", "30")
	// A version may take effect at a later date: the editor and the history
	// say which is in force and which is scheduled.
	form.Set("adm_share_low_income", "10")
	form.Set("adm_cap", "1200.50")
	form.Set("adm_effective", "2026/12/1")
	form.Set("adm_note", "低收入 10%，12 月起")
	body(c.do(http.MethodPost, "/admin/tier-policy", form), "2026-12-01 零点", "<td>12.5%</td><td><strong>10%</strong></td>")
	form.Set("adm_confirm", "1")
	page = c.follow(c.do(http.MethodPost, "/admin/tier-policy", form))
	form.Del("adm_confirm")
	body(page, `id="policy-scheduled"`, "第 3 版已排期，将于 2026-12-01 生效", "待生效", "现行第 2 版", `name="adm_version" value="3"`, `name="adm_effective" type="date" value="2026-12-01"`)
	if cur, latest := f.s.policies.Current(), f.s.policies.Latest(); cur.Version != 2 || latest.Version != 3 || cur.Tiers[rentals.LowIncome].ShareBP != 1250 {
		t.Errorf("in force %d, latest %d", cur.Version, latest.Version)
	}
	body(c.get("/admin/tier-policy/versions/3"), "待生效", "2026-12-01 00:00")
	form.Set("adm_version", "3")
	form.Set("adm_effective", "2026-11-30")
	body(c.do(http.MethodPost, "/admin/tier-policy", form), `href="#f-adm_effective"`)
	version := c.get("/admin/tier-policy/versions/1")
	body(version, "分档政策第 1 版", "已被取代", "<td>20%</td>")
	admStatus(t, c.get("/admin/tier-policy/versions/9"), http.StatusNotFound, "version 9 page")

	audit := c.get("/admin/audit")
	// The log reads as sentences in the reader's language, at local times.
	body(audit, "市管理员 暂停了运营方“康乐”（kangle）", "重置了账号", "保存了分档政策第 2 版", "密码已修改（个人信息，不显示）",
		"低收入档租金比例：20% → 12.5%")
	if strings.Contains(audit.Body.String(), "<code>operator.suspend</code>") {
		t.Error("the audit log still shows raw codes as its text")
	}
	en := c.get("/lang/en?next=/admin")
	body(c.follow(en), "City admin console", "Tier policy version 2")
	body(c.get("/admin/audit"), "suspended the operator \u201cKangle", "saved tier policy version 2", "Password changed (not shown: personal)")
}

func TestAdminPolicyNumbers(t *testing.T) {
	for _, tt := range []struct {
		in string
		bp int
		ok bool
	}{
		{"20", 2000, true}, {"12.5", 1250, true}, {"0.25%", 25, true}, {" 100 ", 10000, true}, {"０.５", 50, true},
		{"100.01", 0, false}, {"-1", 0, false}, {"1.234", 0, false}, {"", 0, false}, {"1e2", 0, false}, {".5", 0, false},
	} {
		if bp, ok := percentToBP(tt.in); bp != tt.bp || ok != tt.ok {
			t.Errorf("percentToBP(%q) = %d %v", tt.in, bp, ok)
		}
	}
	for bp, want := range map[int]string{0: "0", 2000: "20", 1250: "12.5", 25: "0.25", 10000: "100"} {
		if got := bpToPercent(bp); got != want {
			t.Errorf("bpToPercent(%d) = %q", bp, got)
		}
	}
	for in, want := range map[string]int64{"¥1,200": 120000, "1200.5元": 120050, "０.5": 50, "２０": 2000, "12.345": -1, "": 0} {
		fen, ok := parseYuan(in)
		if want < 0 && ok || want >= 0 && (!ok || fen != want) {
			t.Errorf("parseYuan(%q) = %d %v, want %d", in, fen, ok, want)
		}
	}
}
