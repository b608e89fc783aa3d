package web

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"fuju/accounts"
)

// client is a browser for the test server: it keeps cookies and sends the
// page's CSRF token with forms.
type client struct {
	t       *testing.T
	s       *Server
	cookies map[string]*http.Cookie
	https   bool
}

func newClient(t *testing.T, s *Server) *client {
	return &client{t: t, s: s, cookies: map[string]*http.Cookie{}}
}

func (cl *client) do(req *http.Request) *httptest.ResponseRecorder {
	cl.t.Helper()
	for _, c := range cl.cookies {
		req.AddCookie(c)
	}
	rec := httptest.NewRecorder()
	cl.s.ServeHTTP(rec, req)
	for _, c := range rec.Result().Cookies() {
		if c.MaxAge < 0 || c.Value == "" {
			delete(cl.cookies, c.Name)
		} else {
			cl.cookies[c.Name] = c
		}
	}
	return rec
}

func (cl *client) url(path string) string {
	if cl.https {
		return "https://fuju.example" + path
	}
	return path
}

func (cl *client) get(path string) *httptest.ResponseRecorder {
	return cl.do(httptest.NewRequest("GET", cl.url(path), nil))
}

var csrfInput = regexp.MustCompile(`name="_csrf" value="([0-9a-f]+)"`)

// token fetches page and returns its form token.
func (cl *client) token(page string) string {
	cl.t.Helper()
	m := csrfInput.FindStringSubmatch(cl.get(page).Body.String())
	if m == nil {
		cl.t.Fatalf("no CSRF token on %s", page)
	}
	return m[1]
}

// post submits a form as the browser would, with the token of tokenPage
// (none when tokenPage is "").
func (cl *client) post(path string, vals url.Values, tokenPage string) *httptest.ResponseRecorder {
	cl.t.Helper()
	if tokenPage != "" {
		vals.Set("_csrf", cl.token(tokenPage))
	}
	req := httptest.NewRequest("POST", cl.url(path), strings.NewReader(vals.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	return cl.do(req)
}

// postJSON sends body as JSON; a nil body sends none.
func (cl *client) postJSON(path string, body any, header map[string]string) *httptest.ResponseRecorder {
	cl.t.Helper()
	req := httptest.NewRequest("POST", cl.url(path), nil)
	if body != nil {
		b, _ := json.Marshal(body)
		req = httptest.NewRequest("POST", cl.url(path), bytes.NewReader(b))
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	return cl.do(req)
}

const pw = "lantern-harbor-42"

func TestSignupLoginLogoutPages(t *testing.T) {
	s := newTestServer(t)
	cl := newClient(t, s)
	// A bad sign-up keeps what was typed and names the wrong fields.
	rec := cl.post("/signup", url.Values{"name": {"王芳"}, "phone": {"123"}, "password": {"short"}}, "/signup")
	body := rec.Body.String()
	if rec.Code != 400 || !strings.Contains(body, `value="王芳"`) || !strings.Contains(body, `id="e-phone"`) ||
		!strings.Contains(body, `id="e-password"`) || !strings.Contains(body, `aria-invalid="true"`) {
		t.Fatalf("bad signup: %d\n%s", rec.Code, body)
	}
	if !regexp.MustCompile(`id="f-phone"[^>]*autofocus`).MatchString(body) {
		t.Error("focus is not moved to the first wrong field")
	}
	cl.signUp("王芳", "13812345678")
	if page := cl.get("/account").Body.String(); !strings.Contains(page, "王芳") || !strings.Contains(page, "注册成功") {
		t.Fatal("account page after sign-up lacks the name or the welcome")
	}
	if rec := cl.post("/logout", url.Values{}, "/account"); rec.Code != http.StatusSeeOther {
		t.Fatalf("logout: %d", rec.Code)
	}
	if rec := cl.get("/account"); rec.Code != http.StatusSeeOther || !strings.HasPrefix(rec.Header().Get("Location"), "/login") {
		t.Fatalf("account after logout: %d %s", rec.Code, rec.Header().Get("Location"))
	}
	rec = cl.post("/login", url.Values{"login": {"13812345678"}, "password": {"wrong-password-1"}}, "/login")
	if rec.Code != http.StatusUnauthorized || !strings.Contains(rec.Body.String(), `value="13812345678"`) {
		t.Fatalf("wrong password: %d", rec.Code)
	}
	rec = cl.post("/login", url.Values{"login": {"138 1234 5678"}, "password": {pw}, "next": {"/account"}}, "/login")
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/account" {
		t.Fatalf("login: %d %s", rec.Code, rec.Header().Get("Location"))
	}
	// Change password, then the old one no longer works.
	rec = cl.post("/account/password", url.Values{"current_password": {pw}, "new_password": {"new-" + pw}}, "/account")
	if rec.Code != http.StatusSeeOther {
		t.Fatalf("change password: %d %s", rec.Code, rec.Body)
	}
	if _, err := s.auth.Authenticate(context.Background(), "13812345678", pw); err == nil {
		t.Error("old password still works")
	}
}

func TestSessionSecurity(t *testing.T) {
	s := newTestServer(t)
	ctx := context.Background()
	if _, err := s.auth.CreateUser(ctx, accounts.NewUser{Name: "Li", Phone: "13812345678", Password: pw, Role: accounts.Renter}); err != nil {
		t.Fatal(err)
	}

	t.Run("cookie flags", func(t *testing.T) {
		for _, https := range []bool{false, true} {
			cl := newClient(t, s)
			cl.https = https
			rec := cl.postJSON("/api/v1/auth/login", map[string]any{"login": "13812345678", "password": pw, "remember": true}, nil)
			if rec.Code != 200 {
				t.Fatalf("login: %d %s", rec.Code, rec.Body)
			}
			c := cl.cookies[sessionCookie]
			if c == nil || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Secure != https || len(c.Value) < 43 {
				t.Errorf("https=%v: session cookie %+v", https, c)
			}
			if c.MaxAge < 29*24*3600 {
				t.Errorf("remembered renter cookie lasts %d s", c.MaxAge)
			}
		}
	})

	t.Run("session fixation", func(t *testing.T) {
		cl := newClient(t, s)
		planted := &http.Cookie{Name: sessionCookie, Value: "attacker-chosen-value-0123456789abcdefghijk"}
		cl.cookies[sessionCookie] = planted
		cl.postJSON("/api/v1/auth/login", map[string]any{"login": "13812345678", "password": pw}, nil)
		if got := cl.cookies[sessionCookie]; got == nil || got.Value == planted.Value {
			t.Fatal("session id not replaced at login")
		}
		// A session id from before a login is worthless afterwards too.
		before := cl.cookies[sessionCookie].Value
		tok := decode[meResponse](t, cl.get("/api/v1/me")).CSRFToken
		cl.postJSON("/api/v1/auth/login", map[string]any{"login": "13812345678", "password": pw}, map[string]string{"X-CSRF-Token": tok})
		if _, _, err := s.auth.Session(ctx, before); err == nil {
			t.Error("the previous session survived a new login")
		}
	})

	t.Run("csrf", func(t *testing.T) {
		cl := newClient(t, s)
		rec := cl.postJSON("/api/v1/auth/login", map[string]any{"login": "13812345678", "password": pw}, nil)
		tok := decode[meResponse](t, rec).CSRFToken
		for _, tt := range []struct {
			name   string
			rec    *httptest.ResponseRecorder
			status int
		}{
			{"form without token", cl.post("/account/profile", url.Values{"name": {"X"}}, ""), 403},
			{"form with a wrong token", cl.post("/account/profile", url.Values{"name": {"X"}, "_csrf": {strings.Repeat("0", 64)}}, ""), 403},
			{"api without header", cl.postJSON("/api/v1/auth/logout", nil, nil), 403},
			{"api with another session's token", cl.postJSON("/api/v1/auth/logout", nil, map[string]string{"X-CSRF-Token": s.mac("session:other")}), 403},
			{"cross-site api with the token", cl.postJSON("/api/v1/auth/logout", nil, map[string]string{"X-CSRF-Token": tok, "Sec-Fetch-Site": "cross-site"}), 403},
			{"login form without token", newClient(t, s).post("/login", url.Values{"login": {"13812345678"}, "password": {pw}}, ""), 403},
			{"form with token", cl.post("/account/profile", url.Values{"name": {"李"}}, "/account"), 303},
			{"api with header", cl.postJSON("/api/v1/auth/logout", nil, map[string]string{"X-CSRF-Token": tok}), 204},
		} {
			if tt.rec.Code != tt.status {
				t.Errorf("%s: %d, want %d", tt.name, tt.rec.Code, tt.status)
			}
		}
		req := httptest.NewRequest("POST", "/account/profile", strings.NewReader("name=x"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", "https://evil.example")
		if rec := cl.do(req); rec.Code != 403 {
			t.Errorf("cross-origin form: %d", rec.Code)
		}
	})

	t.Run("nosql injection", func(t *testing.T) {
		cl := newClient(t, s)
		for _, body := range []string{`{"login": {"$ne": null}, "password": "x"}`, `{"login": "13812345678", "password": {"$gt": ""}}`, `{"phone": {"$ne": null}, "password": "x"}`} {
			req := httptest.NewRequest("POST", "/api/v1/auth/login", strings.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			rec := cl.do(req)
			if rec.Code != 400 || cl.cookies[sessionCookie] != nil {
				t.Errorf("%s: %d %s", body, rec.Code, rec.Body)
			}
		}
	})
}

func TestLoginThrottling(t *testing.T) {
	s := newTestServer(t)
	ctx := context.Background()
	if _, err := s.auth.CreateUser(ctx, accounts.NewUser{Name: "Li", Phone: "13812345678", Password: pw, Role: accounts.Renter}); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	s.logger = slog.New(slog.NewJSONHandler(&logs, nil))
	now := time.Now()
	s.cfg.Throttle.Now = func() time.Time { return now }
	attempt := func(login, password string) *httptest.ResponseRecorder {
		return newClient(t, s).postJSON("/api/v1/auth/login", map[string]any{"login": login, "password": password}, nil)
	}
	// Unknown account and wrong password look the same.
	a, b := attempt("13900000000", "nope-nope-nope"), attempt("13812345678", "nope-nope-nope")
	if a.Code != 401 || b.Code != 401 || decode[apiError](t, a).Error.Message != decode[apiError](t, b).Error.Message {
		t.Fatalf("unknown %d %s / wrong %d %s", a.Code, a.Body, b.Code, b.Body)
	}
	for i := 0; i < 4; i++ {
		attempt("13812345678", "nope-nope-nope")
	}
	// Five failures: locked now, even with the right password, and the lock says when to retry.
	rec := attempt("13812345678", pw)
	if rec.Code != http.StatusTooManyRequests || rec.Header().Get("Retry-After") == "" {
		t.Fatalf("after 5 failures: %d", rec.Code)
	}
	// An unknown account is throttled the same way.
	for i := 0; i < 4; i++ {
		attempt("13900000000", "nope-nope-nope")
	}
	if rec := attempt("13900000000", "nope-nope-nope"); rec.Code != http.StatusTooManyRequests {
		t.Errorf("unknown account not throttled: %d", rec.Code)
	}
	// The lockout lifts by itself.
	now = now.Add(16 * time.Minute)
	if rec := attempt("13812345678", pw); rec.Code != 200 {
		t.Fatalf("after the lockout: %d %s", rec.Code, rec.Body)
	}
	// Spelling the number differently does not get around the lock.
	now = now.Add(16 * time.Minute)
	for _, spelling := range []string{"13812345678", "+86 138 1234 5678", "138-1234-5678", "0086 13812345678", "(138)12345678"} {
		attempt(spelling, "nope-nope-nope")
	}
	if rec := attempt("13812345678", pw); rec.Code != http.StatusTooManyRequests {
		t.Errorf("five spellings of one number were not counted together: %d", rec.Code)
	}
	now = now.Add(16 * time.Minute)
	// One client guessing many accounts is throttled by IP.
	for i := 0; i < 25; i++ {
		attempt("137000000"+string(rune('0'+i/10))+string(rune('0'+i%10)), "nope-nope-nope")
	}
	if rec := attempt("13812345678", pw); rec.Code != http.StatusTooManyRequests {
		t.Errorf("IP not throttled after 25 failures: %d", rec.Code)
	}
	// Passwords never reach the logs.
	if strings.Contains(logs.String(), pw) || strings.Contains(logs.String(), "nope-nope-nope") {
		t.Error("a password was logged")
	}
	if !strings.Contains(logs.String(), "login failed") {
		t.Error("failed logins are not logged at all")
	}
}

func TestMeAndRoles(t *testing.T) {
	s := newTestServer(t)
	if rec := get(t, s, "/api/v1/me"); rec.Code != http.StatusUnauthorized {
		t.Errorf("anonymous /me: %d", rec.Code)
	}
	cl := newClient(t, s)
	rec := cl.postJSON("/api/v1/auth/signup", map[string]any{"name": "张", "email": "Zhang@Example.com", "password": pw}, nil)
	if rec.Code != http.StatusCreated {
		t.Fatalf("api signup: %d %s", rec.Code, rec.Body)
	}
	me := decode[meResponse](t, cl.get("/api/v1/me"))
	if me.User.Email != "zhang@example.com" || me.User.Role != accounts.Renter || me.CSRFToken == "" {
		t.Errorf("me %+v", me)
	}
	if rec := newClient(t, s).postJSON("/api/v1/auth/signup", map[string]any{"name": "张", "email": "zhang@example.com", "password": pw}, nil); rec.Code != http.StatusConflict || !strings.Contains(rec.Body.String(), "email") {
		t.Errorf("duplicate signup: %d %s", rec.Code, rec.Body)
	}
	// A renter may not use the operator API.
	req := httptest.NewRequest("PUT", "/api/v1/operator/products/wc/photos/order", strings.NewReader(`{"keys":[]}`))
	req.Header.Set("X-CSRF-Token", me.CSRFToken)
	req.Header.Set("Content-Type", "application/json")
	if rec := cl.do(req); rec.Code != http.StatusForbidden {
		t.Errorf("renter on the operator API: %d", rec.Code)
	}
}
