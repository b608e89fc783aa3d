package web

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// An operator admin connects the operator's Stripe account (against
// stripe-mock): before, the status is "not connected"; the page's button
// creates the Express account and sends the browser to Stripe's onboarding
// (303); after, the status is "details missing" (stripe-mock's account has
// no charges enabled) with what Stripe still needs. Operator B never sees
// A's account, payments or queue; the platform sees both operators.
func TestPaymentsConsole(t *testing.T) {
	w := newOpWorld(t)
	page := wantBody(t, w.page(t, w.adminA, "/operator/payments"), http.StatusOK, "payments page before", "未连接", `action="/operator/payments/connect"`)
	if strings.Contains(page, `action="/operator/payments/refresh"`) {
		t.Error("refresh offered without an account")
	}
	rec := w.call(t, w.adminA, "GET", "/api/v1/operator/payments/account", nil)
	wantBody(t, rec, http.StatusOK, "account before", `"status":"not_connected"`, `"account":null`)

	rec = w.form(t, w.adminA, "/operator/payments/connect", url.Values{})
	if rec.Code != http.StatusSeeOther || !strings.HasPrefix(rec.Header().Get("Location"), "https://") {
		t.Fatalf("connect: %d to %q %s", rec.Code, rec.Header().Get("Location"), rec.Body)
	}
	rec = w.call(t, w.adminA, "GET", "/api/v1/operator/payments/account", nil)
	body := wantBody(t, rec, http.StatusOK, "account after", `"status":"onboarding"`, `"can_take_charges":false`, `"stripe_id":"acct_`)
	// A second create returns the same account.
	again := wantBody(t, w.call(t, w.adminA, "POST", "/api/v1/operator/payments/account", nil), http.StatusOK, "create again", `"status":"onboarding"`)
	if id := between(body, `"stripe_id":"`, `"`); id == "" || !strings.Contains(again, id) {
		t.Errorf("second create: %s, first %s", again, body)
	}
	wantBody(t, w.call(t, w.adminA, "POST", "/api/v1/operator/payments/account/link", nil), http.StatusOK, "link", `"url":"https://`, `"expires_at"`)
	wantBody(t, w.page(t, w.adminA, "/operator/payments"), http.StatusOK, "payments page after", "资料未填完", "external_account", `action="/operator/payments/refresh"`, "继续在 Stripe 填写")
	rec = w.form(t, w.adminA, "/operator/payments/refresh", url.Values{})
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/operator/payments" {
		t.Fatalf("refresh: %d %q", rec.Code, rec.Header().Get("Location"))
	}
	if rec := w.page(t, w.adminA, "/operator/payments/return"); rec.Code != http.StatusSeeOther {
		t.Fatalf("return from Stripe: %d", rec.Code)
	}
	wantBody(t, w.call(t, w.adminA, "GET", "/api/v1/operator/payments", nil), http.StatusOK, "payments list", `"items":[]`, `"total":0`)
	wantBody(t, w.call(t, w.adminA, "GET", "/api/v1/operator/payments/queue", nil), http.StatusOK, "queue", `"items":[]`)
	wantStatus(t, w.call(t, w.adminA, "GET", "/api/v1/operator/payments?per_page=900", nil), http.StatusBadRequest, "bad per_page")

	// Tenancy: B sees its own (no) account, never A's.
	wantBody(t, w.call(t, w.adminB, "GET", "/api/v1/operator/payments/account", nil), http.StatusOK, "B's account", `"operator_id":"op-b"`, `"status":"not_connected"`)
	if strings.Contains(w.page(t, w.adminB, "/operator/payments").Body.String(), "acct_") {
		t.Error("B's page shows a Stripe account")
	}
	wantStatus(t, w.form(t, w.adminB, "/operator/payments/queue/"+url.PathEscape("refund/l-1/1")+"/acknowledge", url.Values{}), http.StatusNotFound, "B acknowledges an unknown item")
	// Staff and the platform do not use the operator's routes; the
	// platform sees every operator's status.
	wantStatus(t, w.call(t, w.platform, "GET", "/api/v1/operator/payments/account", nil), http.StatusForbidden, "platform on the operator route")
	wantStatus(t, w.call(t, w.adminA, "GET", "/api/v1/admin/payments/accounts", nil), http.StatusForbidden, "operator on the admin route")
	wantBody(t, w.call(t, w.platform, "GET", "/api/v1/admin/payments/accounts", nil), http.StatusOK, "all accounts", `"operator_id":"op-a","status":"onboarding"`, `"operator_id":"op-b","status":"not_connected"`)
	wantBody(t, w.page(t, w.platform, "/admin/payments"), http.StatusOK, "admin page", `data-operator="op-a"`, "资料未填完", `data-operator="op-b"`, "未连接")
}

// Without STRIPE_SECRET_KEY online payment is off: the pages say so and
// offer nothing, the API answers 404 payments_off, and nothing is a 500.
func TestPaymentsConsoleOff(t *testing.T) {
	w := newOpWorld(t)
	w.s.payments = nil
	page := wantBody(t, w.page(t, w.adminA, "/operator/payments"), http.StatusOK, "page, off", "网上收款未开通")
	if strings.Contains(page, "/operator/payments/connect") {
		t.Error("connect offered with online payment off")
	}
	wantBody(t, w.call(t, w.adminA, "GET", "/api/v1/operator/payments/account", nil), http.StatusOK, "account, off", `"status":"off"`)
	wantBody(t, w.call(t, w.adminA, "POST", "/api/v1/operator/payments/account", nil), http.StatusNotFound, "create, off", "payments_off")
	wantBody(t, w.call(t, w.adminA, "GET", "/api/v1/operator/payments", nil), http.StatusNotFound, "list, off", "payments_off")
	wantStatus(t, w.form(t, w.adminA, "/operator/payments/connect", url.Values{}), http.StatusNotFound, "connect form, off")
	wantBody(t, w.page(t, w.platform, "/admin/payments"), http.StatusOK, "admin page, off", "网上收款未开通")
}

// between returns the text of s after start up to end.
func between(s, start, end string) string {
	i := strings.Index(s, start)
	if i < 0 {
		return ""
	}
	s = s[i+len(start):]
	if j := strings.Index(s, end); j >= 0 {
		return s[:j]
	}
	return ""
}
