package web

import (
	"bytes"
	"context"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"fuju/accounts"
)

// sentCodes holds the latest phone code sent to each number by the test
// servers, standing in for the outbox (cmd/fuju's browser test reads the
// real outbox).
var sentCodes sync.Map

func keepCode(_ context.Context, c accounts.PhoneCode) error {
	sentCodes.Store(c.Phone, c.Code)
	return nil
}

func codeFor(t *testing.T, phone string) string {
	t.Helper()
	v, ok := sentCodes.Load(phone)
	if !ok {
		t.Fatalf("no code sent to %s", phone)
	}
	return v.(string)
}

// signUp signs up on the pages with phone and types the code sent to it.
func (cl *client) signUp(name, phone string) {
	cl.t.Helper()
	rec := cl.post("/signup", url.Values{"name": {name}, "phone": {phone}, "password": {pw}}, "/signup")
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/signup/confirm" {
		cl.t.Fatalf("signup: %d %s", rec.Code, rec.Body)
	}
	rec = cl.post("/signup/confirm", url.Values{"code": {codeFor(cl.t, phone)}}, "/signup/confirm")
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/account" {
		cl.t.Fatalf("confirm: %d %s", rec.Code, rec.Body)
	}
}

func TestSignupConfirmsThePhone(t *testing.T) {
	s := newTestServer(t)
	cl := newClient(t, s)
	const phone = "13812340001"
	rec := cl.post("/signup", url.Values{"name": {"王芳"}, "phone": {phone}, "password": {pw}}, "/signup")
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/signup/confirm" {
		t.Fatalf("signup: %d %s", rec.Code, rec.Body)
	}
	// Not an account yet: the number is not claimed, nobody is logged in.
	if _, err := s.auth.UserIDByPhone(context.Background(), phone); err == nil {
		t.Fatal("the number was claimed before the code")
	}
	page := cl.get("/signup/confirm").Body.String()
	if !strings.Contains(page, "138****0001") || strings.Contains(page, phone) || !strings.Contains(page, `name="code"`) {
		t.Fatalf("confirm page:\n%.2000s", page)
	}
	code := codeFor(t, phone)
	wrong := "000000"
	if code == wrong {
		wrong = "111111"
	}
	rec = cl.post("/signup/confirm", url.Values{"code": {wrong}}, "/signup/confirm")
	if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), `id="e-code"`) || !strings.Contains(rec.Body.String(), "还可以尝试 4 次") {
		t.Fatalf("wrong code: %d %s", rec.Code, rec.Body)
	}
	// Resending at once is refused, and says so.
	if rec := cl.post("/signup/resend", url.Values{}, "/signup/confirm"); rec.Code != http.StatusTooManyRequests || !strings.Contains(rec.Body.String(), "一分钟") {
		t.Fatalf("resend at once: %d", rec.Code)
	}
	rec = cl.post("/signup/confirm", url.Values{"code": {code}}, "/signup/confirm")
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/account" {
		t.Fatalf("confirm: %d %s", rec.Code, rec.Body)
	}
	if page := cl.get("/account").Body.String(); !strings.Contains(page, "王芳") || !strings.Contains(page, "注册成功") {
		t.Fatalf("account page after confirming lacks the name or the welcome:\n%s", page)
	}
}

func TestPhoneAPI(t *testing.T) {
	s := newTestServer(t)
	cl := newClient(t, s)
	const phone = "13812340002"
	rec := cl.postJSON("/api/v1/auth/signup", map[string]any{"name": "张", "phone": phone, "password": pw}, nil)
	if rec.Code != http.StatusAccepted {
		t.Fatalf("api signup: %d %s", rec.Code, rec.Body)
	}
	p := decode[signupPending](t, rec)
	if p.Status != "confirm_needed" || p.Check.ID == "" || p.Check.Phone != "138****0002" || strings.Contains(rec.Body.String(), phone) {
		t.Fatalf("pending %s", rec.Body)
	}
	if rec := cl.get("/api/v1/me"); rec.Code != http.StatusUnauthorized {
		t.Fatalf("logged in before the code: %d", rec.Code)
	}
	if rec := cl.postJSON("/api/v1/auth/phone/resend", map[string]any{"check_id": p.Check.ID}, nil); rec.Code != http.StatusTooManyRequests ||
		rec.Header().Get("Retry-After") == "" || decode[apiError](t, rec).Error.Code != "resend_too_soon" {
		t.Fatalf("resend at once: %d %s", rec.Code, rec.Body)
	}
	if rec := cl.postJSON("/api/v1/auth/phone/confirm", map[string]any{"check_id": p.Check.ID, "code": "12345x"}, nil); rec.Code != http.StatusBadRequest ||
		!strings.Contains(rec.Body.String(), `"code"`) {
		t.Fatalf("wrong code: %d %s", rec.Code, rec.Body)
	}
	if rec := cl.postJSON("/api/v1/auth/phone/confirm", map[string]any{"check_id": "pc-nothing", "code": "123456"}, nil); rec.Code != http.StatusNotFound {
		t.Fatalf("unknown check: %d %s", rec.Code, rec.Body)
	}
	rec = cl.postJSON("/api/v1/auth/phone/confirm", map[string]any{"check_id": p.Check.ID, "code": codeFor(t, phone)}, nil)
	if rec.Code != http.StatusOK {
		t.Fatalf("confirm: %d %s", rec.Code, rec.Body)
	}
	me := decode[meResponse](t, rec)
	if me.User.Phone != phone || me.User.Role != accounts.Renter {
		t.Fatalf("me %+v", me.User)
	}
	// Change the number: the account keeps the old one until the code.
	const next = "13812340003"
	hdr := map[string]string{"X-CSRF-Token": me.CSRFToken}
	rec = cl.postJSON("/api/v1/me/phone", map[string]any{"phone": next}, hdr)
	if rec.Code != http.StatusAccepted {
		t.Fatalf("change phone: %d %s", rec.Code, rec.Body)
	}
	chg := decode[signupPending](t, rec)
	if got := decode[meResponse](t, cl.get("/api/v1/me")).User.Phone; got != phone {
		t.Fatalf("number changed before the code: %s", got)
	}
	// Someone else cannot confirm it.
	if rec := newClient(t, s).postJSON("/api/v1/auth/phone/confirm", map[string]any{"check_id": chg.Check.ID, "code": codeFor(t, next)}, nil); rec.Code != http.StatusUnauthorized {
		t.Fatalf("confirm a change without the account: %d %s", rec.Code, rec.Body)
	}
	rec = cl.postJSON("/api/v1/auth/phone/confirm", map[string]any{"check_id": chg.Check.ID, "code": codeFor(t, next)}, hdr)
	if rec.Code != http.StatusOK || decode[meResponse](t, rec).User.Phone != next {
		t.Fatalf("confirm change: %d %s", rec.Code, rec.Body)
	}
}

// applicationBody is a tier application's multipart body with n copies of
// photo.
func applicationBody(renterID string, n int, photo []byte, fields map[string]string) ([]byte, string) {
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	vals := map[string]string{"renter_id": renterID, "tier": "low_income", "proof_type": "low_income_certificate",
		"proof_number": "DSR-2026-118", "expires_on": time.Now().AddDate(1, 0, 0).Format(time.DateOnly)}
	for k, v := range fields {
		vals[k] = v
	}
	for k, v := range vals {
		_ = mw.WriteField(k, v)
	}
	for range n {
		fw, _ := mw.CreateFormFile("photos", "proof.jpg")
		_, _ = fw.Write(photo)
	}
	_ = mw.Close()
	return b.Bytes(), mw.FormDataContentType()
}
