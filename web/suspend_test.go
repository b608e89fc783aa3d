package web

import (
	"bytes"
	"context"
	"image/color"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"fuju/accounts"
	"fuju/catalog"
	"fuju/internal/tenancy"
	"fuju/media"
	"fuju/rentals"
)

// A suspended operator's people (staff, operator admins) and tokens (every
// scope) can take devices back and read, and nothing else: every other write,
// through the pages and the API, is 403 with the catalogue's words, and
// writes nothing. Resuming gives every power back. The platform keeps acting
// on the suspended operator.
func TestSuspendedOperatorOnlyTakesDevicesBack(t *testing.T) {
	f := newAdmFixture(t)
	s, ctx := f.s, context.Background()
	admin := admSession(t, s, f.user(t, accounts.OperatorAdmin, "13900000081", "op-a"))
	staff := admSession(t, s, f.user(t, accounts.Staff, "13900000082", "op-a", "north", "south"))
	bearer := func(scopes ...string) *admClient {
		c := newAdmClient(t, s)
		c.bearer = apiToken(t, s, scopes...)
		return c
	}
	desk, write, read := bearer(accounts.ScopeDesk), bearer(accounts.ScopeInventoryWrite), bearer(accounts.ScopeInventoryRead)
	member := f.user(t, accounts.Staff, "13900000083", "op-a", "north")

	// Before the suspension: a renter, and two leases to take back later
	// (one returned damaged, owing money to settle).
	r := decode[rentals.Renter](t, desk.do(http.MethodPost, "/api/v1/staff/renters",
		map[string]any{"name": "赵大爷", "phone": "13912345680", "id_number": "11010519491231002X", "station_id": "north"}))
	lease := decode[rentals.Lease](t, desk.do(http.MethodPost, "/api/v1/staff/checkouts", checkoutBody("JZ-WC-0001", r.ID, 39000)))
	owing := decode[rentals.Lease](t, desk.do(http.MethodPost, "/api/v1/staff/checkouts",
		map[string]any{"unit": "JZ-WC-0002", "renter_id": r.ID, "days": 30, "station_id": "south",
			"payments": []map[string]any{{"method": "cash", "amount_fen": 39000}}, "terms_version": TermsVersion, "accepted_name": "赵大爷"}))
	admStatus(t, desk.do(http.MethodPost, "/api/v1/staff/checkins", map[string]any{"unit": "JZ-WC-0002", "station_id": "south",
		"outcome": "damaged", "damage_fen": 40000, "notes": "车架弯了"}), http.StatusOK, "damaged return before the suspension")
	tokens, err := s.auth.Tokens(ctx, "op-a")
	if err != nil || len(tokens) == 0 {
		t.Fatal(tokens, err)
	}

	setStatus := func(body map[string]any) {
		t.Helper()
		admStatus(t, f.admin.do(http.MethodPatch, "/api/v1/admin/operators/op-a", body), http.StatusOK, "operator status")
	}
	setStatus(map[string]any{"status": "suspended", "reason": "合同到期"})

	tierPhoto := func(c *admClient) *httptest.ResponseRecorder {
		var b bytes.Buffer
		mw := multipart.NewWriter(&b)
		for k, v := range map[string]string{"tier": "low_income", "proof_type": "low_income_certificate", "proof_number": "JZ-1",
			"expires_on": time.Now().AddDate(1, 0, 0).Format(time.DateOnly)} {
			_ = mw.WriteField(k, v)
		}
		w, _ := mw.CreateFormFile("proof_photo", "proof.jpg")
		_, _ = w.Write(testJPEG(t, 400, 300, color.RGBA{10, 200, 30, 255}))
		_ = mw.Close()
		req := httptest.NewRequest(http.MethodPost, "/api/v1/staff/renters/"+r.ID+"/tier", &b)
		req.Header.Set("Content-Type", mw.FormDataContentType())
		for _, ck := range c.cookies {
			req.AddCookie(ck)
		}
		if c.csrf != "" {
			req.Header.Set(csrfHeader, c.csrf)
		}
		if c.bearer != "" {
			req.Header.Set("Authorization", "Bearer "+c.bearer)
		}
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		return rec
	}
	type call struct {
		who          string
		c            *admClient
		method, path string
		body         any
	}
	product := map[string]any{"id": "rollator-x", "category": "rollator", "name": map[string]string{"zh": "助行车", "en": "Rollator"},
		"rate": map[string]int{"daily_fen": 300, "block30_fen": 6000, "deposit_fen": 20000}}
	checkout := checkoutBody("JZ-WC-0001", r.ID, 39000)
	refused := []call{
		// The desk API, for a desk token and a staff member.
		{"desk token", desk, "POST", "/api/v1/staff/checkouts", checkout},
		{"desk token", desk, "POST", "/api/v1/staff/renters", map[string]any{"name": "钱大妈", "phone": "13912345681", "id_number": "110105194912310046", "station_id": "north"}},
		{"desk token", desk, "POST", "/api/v1/staff/renters/search", map[string]string{"query": "13912345680"}},
		{"desk token", desk, "POST", "/api/v1/staff/leases/" + lease.ID + "/extend", map[string]any{"days": 5, "payments": []any{}}},
		{"desk token", desk, "POST", "/api/v1/staff/units/JZ-WK-0001/repair", map[string]any{"issue": "轮子松了"}},
		{"staff", staff, "POST", "/api/v1/staff/checkouts", checkout},
		// Inventory tokens and the operator admin's API.
		{"inventory:write token", write, "POST", "/api/v1/operator/products", product},
		{"inventory:write token", write, "PATCH", "/api/v1/operator/stations/north", map[string]any{"phone": "0391-1234567", "version": 1}},
		{"inventory:write token", write, "POST", "/api/v1/operator/units", map[string]any{"tag": "JZ-WC-0099", "product_id": "wc", "station_id": "north"}},
		{"operator admin", admin, "POST", "/api/v1/operator/products", product},
		{"operator admin", admin, "POST", "/api/v1/operator/tokens", map[string]any{"name": "ERP", "scopes": []string{"desk"}}},
		{"operator admin", admin, "DELETE", "/api/v1/operator/tokens/" + tokens[0].ID, nil},
		{"operator admin", admin, "POST", "/api/v1/operator/staff", map[string]any{"name": "小李", "phone": "13900001119", "station_ids": []string{"north"}}},
		{"operator admin", admin, "PATCH", "/api/v1/operator/staff/" + member.ID, map[string]any{"status": "disabled"}},
		{"operator admin", admin, "POST", "/api/v1/operator/staff/" + member.ID + "/password", nil},
		{"operator admin", admin, "PUT", "/api/v1/operator/settings", map[string]any{"waiver_limit_fen": 5000}},
		{"operator admin", admin, "POST", "/api/v1/staff/checkouts", checkout},
		// Pages.
		{"operator admin page", admin, "POST", "/operator/staff", url.Values{"name": {"小王"}, "phone": {"13900001118"}, "station_ids": {"north"}}},
		{"operator admin page", admin, "POST", "/operator/tokens", url.Values{"name": {"ERP"}, "scopes": {"desk"}}},
		{"operator admin page", admin, "POST", "/operator/products", url.Values{"id": {"rollator-y"}, "category": {"rollator"}, "name_zh": {"助行车"}, "daily": {"3"}}},
		{"operator admin page", admin, "POST", "/staff/renters/" + r.ID + "/reveal", url.Values{"what": {"id_number"}, "reason": {"核对身份"}}},
		{"staff page", staff, "POST", "/staff/renters/" + r.ID + "/reveal", url.Values{"what": {"id_number"}, "reason": {"核对身份"}}},
		{"staff page", staff, "POST", "/staff/checkout", url.Values{"unit": {"JZ-WC-0001"}, "renter_id": {r.ID}, "station_id": {"north"},
			"days": {"30"}, "pay_method": {"cash"}, "pay_amount": {"390"}, "pay_reference": {""}, "accept": {"1"}, "accepted_name": {"赵大爷"}}},
	}
	privateBefore := countPrivate(t, s)
	for _, tc := range refused {
		rec := tc.c.do(tc.method, tc.path, tc.body)
		if rec.Code != http.StatusForbidden {
			t.Errorf("%s %s %s while suspended: %d, want 403: %.300s", tc.who, tc.method, tc.path, rec.Code, rec.Body)
			continue
		}
		body := rec.Body.String()
		if _, isForm := tc.body.(url.Values); !isForm && !strings.Contains(body, `"code":"operator_suspended"`) {
			t.Errorf("%s %s %s: not the suspension's code: %.300s", tc.who, tc.method, tc.path, body)
		}
		if !strings.Contains(body, "暂停") && !strings.Contains(body, "suspended by the city") {
			t.Errorf("%s %s %s: the answer does not say the organisation is suspended: %.300s", tc.who, tc.method, tc.path, body)
		}
	}
	for who, c := range map[string]*admClient{"desk token": desk, "staff": staff, "operator admin": admin} {
		if rec := tierPhoto(c); rec.Code != http.StatusForbidden {
			t.Errorf("%s verifies a tier while suspended: %d %.300s", who, rec.Code, rec.Body)
		}
	}
	if n := countPrivate(t, s); n != privateBefore {
		t.Errorf("refused tier verifications stored %d proof photos", n-privateBefore)
	}
	rec := admin.do(http.MethodPost, "/api/v1/operator/staff", map[string]any{"name": "小李", "phone": "13900001119", "station_ids": []string{"north"}})
	if rec.Code != http.StatusForbidden || !strings.Contains(rec.Body.String(), "suspended by the city") && !strings.Contains(rec.Body.String(), "暂停") {
		t.Errorf("the refusal's words: %s", rec.Body)
	}
	// Nothing was written: no second lease, no new staff, no token revoked.
	if l, err := s.rentals.LeaseOfUnit(ctx, tenancy.PlatformScope, "JZ-WC-0001"); err != nil || l.ID != lease.ID {
		t.Errorf("lease of JZ-WC-0001: %+v %v", l, err)
	}
	if _, err := s.auth.UserIDByPhone(ctx, "13900001119"); err == nil {
		t.Error("a staff account was created while suspended")
	}
	if got, _ := s.auth.User(ctx, member.ID); got.Status != accounts.Active {
		t.Errorf("staff member %s while suspended", got.Status)
	}

	// Reads stay open to every role and scope.
	for who, tc := range map[string]call{
		"desk token":     {c: desk, path: "/api/v1/staff/leases/" + lease.ID},
		"read token":     {c: read, path: "/api/v1/operator/units"},
		"write token":    {c: write, path: "/api/v1/operator/products"},
		"staff page":     {c: staff, path: "/staff/leases/" + lease.ID},
		"operator admin": {c: admin, path: "/api/v1/operator/staff"},
	} {
		admStatus(t, tc.c.get(tc.path), http.StatusOK, who+" reads while suspended")
	}
	// Taking devices back: a check-in through the staff's page, settling
	// through a desk token.
	in := url.Values{"unit": {"JZ-WC-0001"}, "station_id": {"north"}, "outcome": {"ok"}, "notes": {""}, "damage": {"0"},
		"pay_method": {"cash"}, "pay_amount": {"0"}, "pay_reference": {""}, "refund_method": {"cash"}, "refund_reference": {""}}
	admStatus(t, staff.do(http.MethodPost, "/staff/checkin", in), http.StatusSeeOther, "check-in while suspended")
	if l := leaseOf(t, s, lease.ID); l.State != rentals.LeaseClosed {
		t.Errorf("checked-in lease is %s", l.State)
	}
	admStatus(t, desk.do(http.MethodPost, "/api/v1/staff/leases/"+owing.ID+"/settle",
		map[string]any{"payments": []map[string]any{{"method": "cash", "amount_fen": 10000}}}), http.StatusOK, "settle while suspended")
	if l := leaseOf(t, s, owing.ID); l.State != rentals.LeaseClosed {
		t.Errorf("settled lease is %s", l.State)
	}
	// The platform is never suspended: it still acts for the operator.
	platformProduct := map[string]any{"id": "rollator-p", "operator_id": "op-a", "category": "rollator", "name": map[string]string{"zh": "助行车", "en": "Rollator"},
		"rate": map[string]int{"daily_fen": 300, "block30_fen": 6000, "deposit_fen": 20000}}
	admStatus(t, f.admin.do(http.MethodPost, "/api/v1/operator/products", platformProduct), http.StatusCreated, "platform acts for a suspended operator")

	// Resuming gives every power back at once.
	setStatus(map[string]any{"status": "active"})
	admStatus(t, admin.do(http.MethodPost, "/api/v1/operator/staff", map[string]any{"name": "小李", "phone": "13900001119", "station_ids": []string{"north"}}),
		http.StatusCreated, "create staff after resuming")
	admStatus(t, admin.do(http.MethodPost, "/api/v1/operator/tokens", map[string]any{"name": "ERP", "scopes": []string{"desk"}}),
		http.StatusCreated, "mint a token after resuming")
	admStatus(t, write.do(http.MethodPost, "/api/v1/operator/products", product), http.StatusCreated, "inventory write after resuming")
	if rec := tierPhoto(desk); rec.Code != http.StatusOK {
		t.Errorf("tier after resuming: %d %.300s", rec.Code, rec.Body)
	}
	admStatus(t, desk.do(http.MethodPost, "/api/v1/staff/units/JZ-WC-0001/clean",
		map[string]any{"method": "uv", "checklist": catalog.CleaningChecklist("manual_wheelchair")}), http.StatusOK, "clean after resuming")
	admStatus(t, staff.do(http.MethodPost, "/api/v1/staff/checkouts", checkoutBody("JZ-WC-0001", r.ID, 1800)),
		http.StatusCreated, "check-out after resuming")
}

// countPrivate counts the objects in private storage (proof photos).
func countPrivate(t *testing.T, s *Server) int {
	t.Helper()
	n := 0
	for _, err := range s.media.Store().List(context.Background(), media.Private, "") {
		if err == nil {
			n++
		}
	}
	return n
}

// The rule itself: only taking devices back passes a suspended scope; the
// platform and operators in good standing pass everything.
func TestScopeMayChange(t *testing.T) {
	suspended := tenancy.OperatorScope("op-a")
	suspended.Suspended = true
	platform := tenancy.PlatformScope
	platform.Suspended = true
	for _, tc := range []struct {
		scope  tenancy.Scope
		change tenancy.Change
		ok     bool
	}{
		{tenancy.OperatorScope("op-a"), tenancy.ChangeOther, true},
		{tenancy.StaffScope("op-a", []string{"north"}), tenancy.ChangeOther, true},
		{platform, tenancy.ChangeOther, true},
		{suspended, tenancy.ChangeOther, false},
		{suspended, tenancy.ChangeCheckin, true},
		{suspended, tenancy.ChangeSettle, true},
		{suspended, tenancy.ChangeFound, true},
		{suspended, tenancy.ChangeRefund, true},
	} {
		if err := tc.scope.MayChange(tc.change); (err == nil) != tc.ok {
			t.Errorf("%+v may %q: %v", tc.scope, tc.change, err)
		}
	}
}
