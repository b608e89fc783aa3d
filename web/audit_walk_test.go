package web

import (
	"bytes"
	"context"
	"encoding/json"
	"image/color"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"fuju/accounts"
	"fuju/catalog"
	"fuju/internal/audit"
	"fuju/internal/tenancy"
	online "fuju/payments"
	"fuju/rentals"
	"fuju/reports"
	"fuju/stations"
)

// laterRecorder passes audit entries to the log once one is set, so a test
// server's city is set up without entries of its own.
type laterRecorder struct {
	to atomic.Pointer[accounts.Service]
}

func (r *laterRecorder) Record(ctx context.Context, e audit.Entry) error {
	if a := r.to.Load(); a != nil {
		return a.Record(ctx, e)
	}
	return nil
}

// walkStep calls one state-changing operation of the API document
// successfully: prep (not counted) sets up what the call needs and returns
// the request.
type walkStep struct {
	op   string // "METHOD /path" as the document names it
	as   func() opCaller
	prep func(t *testing.T) (target string, body any, contentType string)
	// vars fill the document's x-audit template ("unit.{action}").
	vars map[string]string
}

// TestAuditWalk walks every POST, PUT, PATCH and DELETE operation under
// /api/v1 in the OpenAPI document, calls it successfully, and checks that it
// wrote exactly the audit entry its x-audit names (none for "none"), with
// the request's id; and that no entry anywhere holds the name, phone or ID
// number of the people the calls were about. An operation without x-audit,
// or one this walk does not call, fails the test.
func TestAuditWalk(t *testing.T) {
	w := newRulesWorld(t)
	s := w.s
	deskA := opCaller{name: "desk A", bearer: w.desk.token}
	as := func(c *opCaller) func() opCaller { return func() opCaller { return *c } }

	// People the calls are about; none of this may reach the audit log.
	const (
		renterName, renterPhone = "赵大爷", "13912347701"
		lostName, lostPhone     = "钱奶奶", "13912347702"
		tierName, tierPhone     = "孙阿姨", "13912347703"
		famName, famPhone       = "李女士", "13912347704"
		staffName, staffPhone   = "周员工", "13912347705"
		adminName, adminPhone   = "吴管理", "13912347706"
		elderName, elderPhone   = "郑爷爷", "13912347709"
		resName, resPhone       = "郑大爷", "13912347708"
		linkName, linkPhone     = "冯奶奶", "13912347711"
		extName, extPhone       = "褚奶奶", "13912347710"
	)
	personal := []string{renterName, renterPhone, idNumberFor(renterPhone), "13912347707", idNumberFor("13912347707"), lostName, lostPhone, idNumberFor(lostPhone),
		tierName, tierPhone, idNumberFor(tierPhone), famName, famPhone, staffName, staffPhone, adminName, adminPhone,
		elderName, elderPhone, idNumberFor(elderPhone), "TA-PROOF-7709", resName, resPhone, idNumberFor(resPhone),
		linkName, linkPhone, idNumberFor(linkPhone),
		extName, extPhone, idNumberFor(extPhone)}

	register := func(t *testing.T, name, phone, station string) rentals.Renter {
		t.Helper()
		rec := w.desk.call("POST", "/api/v1/staff/renters", map[string]any{"name": name, "phone": phone, "id_number": idNumberFor(phone), "station_id": station})
		if rec.Code != http.StatusCreated {
			t.Fatalf("register %s: %d %s", phone, rec.Code, rec.Body)
		}
		return decode[rentals.Renter](t, rec)
	}
	cash := func(fen int64) []map[string]any { return []map[string]any{{"method": "cash", "amount_fen": fen}} }

	var (
		prepaid                                                         rentals.Reservation
		famID, userID, productID, photoKey, stationID, tokenID, staffID string
		checkID, elderID, appID                                         string
		codeClock                                                       atomic.Int64
		stmtHash                                                        string
		productVersion, stationVersion                                  int64
		renter                                                          rentals.Renter
		lease, lostLease                                                rentals.Lease
		pending                                                         rentals.Waiver
		resRenter                                                       rentals.Renter
		reservation                                                     rentals.Reservation
		entry                                                           rentals.WaitEntry
	)
	// Phone codes are resent a minute later on the accounts' clock.
	s.auth.SetClock(func() time.Time { return time.Now().Add(time.Duration(codeClock.Load())) })
	stripe := opCaller{name: "Stripe"}
	steps := []walkStep{
		{op: "POST /payments/stripe/webhook", as: as(&stripe), prep: func(t *testing.T) (string, any, string) {
			var payload []byte
			payload, stripe.stripeSig = stripeEvent(t, "evt_walk", "checkout.session.completed", "checkout.session", "cs_test_walk", "2023-10-16", testWebhookSecret, time.Now())
			return "/api/v1/payments/stripe/webhook", payload, ""
		}},
		{op: "POST /auth/signup", as: as(&w.nobody), prep: func(t *testing.T) (string, any, string) {
			return "/api/v1/auth/signup", map[string]any{"name": famName, "phone": famPhone, "password": pw}, ""
		}},
		{op: "POST /auth/phone/resend", as: as(&w.nobody), prep: func(t *testing.T) (string, any, string) {
			codeClock.Store(int64(accounts.ResendAfter)) // a minute later
			return "/api/v1/auth/phone/resend", map[string]any{"check_id": checkID}, ""
		}},
		{op: "POST /auth/phone/confirm", as: as(&w.nobody), vars: map[string]string{"action": "signup"}, prep: func(t *testing.T) (string, any, string) {
			return "/api/v1/auth/phone/confirm", map[string]any{"check_id": checkID, "code": codeFor(t, famPhone)}, ""
		}},
		{op: "POST /me/phone", as: as(&w.renter), prep: func(t *testing.T) (string, any, string) {
			return "/api/v1/me/phone", map[string]any{"phone": "13912347708"}, ""
		}},
		{op: "POST /auth/login", as: as(&w.nobody), prep: func(t *testing.T) (string, any, string) {
			return "/api/v1/auth/login", map[string]any{"login": famPhone, "password": pw}, ""
		}},
		{op: "PUT /me/preferences", as: as(&w.renter), vars: map[string]string{"state": "off"}, prep: func(t *testing.T) (string, any, string) {
			return "/api/v1/me/preferences", map[string]any{"reminders": false}, ""
		}},
		{op: "POST /admin/operators", as: as(&w.platform), prep: func(t *testing.T) (string, any, string) {
			return "/api/v1/admin/operators", map[string]any{"id": "op-c", "name": map[string]string{"zh": "丙", "en": "C"}}, ""
		}},
		{op: "PATCH /admin/operators/{id}", as: as(&w.platform), prep: func(t *testing.T) (string, any, string) {
			return "/api/v1/admin/operators/op-c", map[string]any{"name": map[string]string{"zh": "丙公司", "en": "C Ltd"}}, ""
		}},
		{op: "POST /admin/users", as: as(&w.platform), prep: func(t *testing.T) (string, any, string) {
			return "/api/v1/admin/users", map[string]any{"role": "operator_admin", "name": adminName, "phone": adminPhone, "operator_id": "op-c"}, ""
		}},
		{op: "PATCH /admin/users/{id}", as: as(&w.platform), prep: func(t *testing.T) (string, any, string) {
			return "/api/v1/admin/users/" + userID, map[string]any{"name": adminName + "二"}, ""
		}},
		{op: "POST /admin/users/{id}/reset-password", as: as(&w.platform), prep: func(t *testing.T) (string, any, string) {
			return "/api/v1/admin/users/" + userID + "/reset-password", nil, ""
		}},
		{op: "POST /operator/products", as: as(&w.writeA), prep: func(t *testing.T) (string, any, string) {
			return "/api/v1/operator/products", map[string]any{"category": "walker", "name": map[string]string{"zh": "折叠助行架", "en": "Folding walker"},
				"rate": map[string]any{"daily_fen": 100, "block30_fen": 2000}}, ""
		}},
		{op: "PATCH /operator/products/{id}", as: as(&w.writeA), prep: func(t *testing.T) (string, any, string) {
			return "/api/v1/operator/products/" + productID, map[string]any{"version": productVersion, "rate": map[string]any{"daily_fen": 120, "block30_fen": 2000}}, ""
		}},
		{op: "POST /operator/products/{id}/photos", as: as(&w.writeA), prep: func(t *testing.T) (string, any, string) {
			req := upload{data: testJPEG(t, 400, 300, color.RGBA{200, 10, 30, 255}), altZh: "正面", altEn: "front"}.request(t, productID, "")
			body, _ := io.ReadAll(req.Body)
			return "/api/v1/operator/products/" + productID + "/photos", body, req.Header.Get("Content-Type")
		}},
		{op: "PATCH /operator/products/{id}/photos/{key}", as: as(&w.writeA), prep: func(t *testing.T) (string, any, string) {
			return "/api/v1/operator/products/" + productID + "/photos/" + photoKey, map[string]any{"alt": map[string]string{"zh": "侧面", "en": "side"}}, ""
		}},
		{op: "PUT /operator/products/{id}/photos/order", as: as(&w.writeA), prep: func(t *testing.T) (string, any, string) {
			return "/api/v1/operator/products/" + productID + "/photos/order", map[string]any{"keys": []string{photoKey}}, ""
		}},
		{op: "DELETE /operator/products/{id}/photos/{key}", as: as(&w.writeA), prep: func(t *testing.T) (string, any, string) {
			return "/api/v1/operator/products/" + productID + "/photos/" + photoKey, nil, ""
		}},
		{op: "DELETE /operator/products/{id}", as: as(&w.writeA), prep: func(t *testing.T) (string, any, string) {
			return "/api/v1/operator/products/" + productID, nil, ""
		}},
		{op: "POST /operator/stations", as: as(&w.writeA), prep: func(t *testing.T) (string, any, string) {
			return "/api/v1/operator/stations", map[string]any{"name": map[string]string{"zh": "东站", "en": "East"}, "address": map[string]string{"zh": "东路", "en": "East Rd"},
				"district": "shanyang", "lat": 35.22, "lng": 113.26, "hours": stations.StandardHours()}, ""
		}},
		{op: "PATCH /operator/stations/{id}", as: as(&w.writeA), prep: func(t *testing.T) (string, any, string) {
			return "/api/v1/operator/stations/" + stationID, map[string]any{"version": stationVersion, "phone": "0391-3560000"}, ""
		}},
		{op: "DELETE /operator/stations/{id}", as: as(&w.writeA), prep: func(t *testing.T) (string, any, string) {
			return "/api/v1/operator/stations/" + stationID, nil, ""
		}},
		{op: "POST /operator/units", as: as(&w.writeA), prep: func(t *testing.T) (string, any, string) {
			return "/api/v1/operator/units", map[string]any{"tag": "JZ-WC-0300", "product_id": "wc", "station_id": "north"}, ""
		}},
		{op: "PATCH /operator/units/{tag}", as: as(&w.writeA), prep: func(t *testing.T) (string, any, string) {
			return "/api/v1/operator/units/JZ-WC-0300", map[string]any{"condition": "scratched", "version": 1}, ""
		}},
		{op: "DELETE /operator/units/{tag}", as: as(&w.writeA), prep: func(t *testing.T) (string, any, string) {
			return "/api/v1/operator/units/JZ-WC-0300", map[string]any{"reason": "frame bent", "version": 2}, ""
		}},
		{op: "POST /operator/units/import", as: as(&w.writeA), prep: func(t *testing.T) (string, any, string) {
			return "/api/v1/operator/units/import", "tag,product_id,station_id\nJZ-WC-0301,wc,north\n", "text/csv"
		}},
		{op: "POST /operator/tokens", as: as(&w.adminA), prep: func(t *testing.T) (string, any, string) {
			return "/api/v1/operator/tokens", map[string]any{"name": "ERP", "scopes": []string{"desk"}}, ""
		}},
		{op: "DELETE /operator/tokens/{id}", as: as(&w.adminA), prep: func(t *testing.T) (string, any, string) {
			return "/api/v1/operator/tokens/" + tokenID, nil, ""
		}},
		{op: "POST /operator/staff", as: as(&w.adminA), prep: func(t *testing.T) (string, any, string) {
			return "/api/v1/operator/staff", map[string]any{"name": staffName, "phone": staffPhone, "station_ids": []string{"north"}}, ""
		}},
		{op: "PATCH /operator/staff/{id}", as: as(&w.adminA), prep: func(t *testing.T) (string, any, string) {
			return "/api/v1/operator/staff/" + staffID, map[string]any{"station_ids": []string{"north", "south"}}, ""
		}},
		{op: "POST /operator/staff/{id}/password", as: as(&w.adminA), prep: func(t *testing.T) (string, any, string) {
			return "/api/v1/operator/staff/" + staffID + "/password", nil, ""
		}},
		{op: "PUT /operator/settings", as: as(&w.adminA), prep: func(t *testing.T) (string, any, string) {
			return "/api/v1/operator/settings", map[string]any{"waiver_limit_fen": 5000}, ""
		}},
		{op: "POST /staff/renters", as: as(&deskA), prep: func(t *testing.T) (string, any, string) {
			return "/api/v1/staff/renters", map[string]any{"name": renterName, "phone": renterPhone, "id_number": idNumberFor(renterPhone),
				"station_id": "north", "address": "解放区民主路 8 号"}, ""
		}},
		{op: "POST /staff/renters/search", as: as(&deskA), prep: func(t *testing.T) (string, any, string) {
			return "/api/v1/staff/renters/search", map[string]any{"query": renterPhone}, ""
		}},
		{op: "POST /staff/renters/{id}/tier", as: as(&deskA), prep: func(t *testing.T) (string, any, string) {
			r := register(t, tierName, tierPhone, "north")
			var b bytes.Buffer
			mw := multipart.NewWriter(&b)
			for k, v := range map[string]string{"tier": "low_income", "proof_type": "low_income_certificate", "proof_number": "JZ-DB-7703",
				"expires_on": time.Now().AddDate(1, 0, 0).Format(time.DateOnly)} {
				mw.WriteField(k, v)
			}
			fw, _ := mw.CreateFormFile("proof_photo", "proof.jpg")
			fw.Write(testJPEG(t, 400, 300, color.RGBA{10, 200, 30, 255}))
			mw.Close()
			return "/api/v1/staff/renters/" + r.ID + "/tier", b.Bytes(), mw.FormDataContentType()
		}},
		{op: "POST /staff/renters/{id}/link", as: as(&deskA), prep: func(t *testing.T) (string, any, string) {
			return "/api/v1/staff/renters/" + renter.ID + "/link", map[string]string{"phone": famPhone, "code": s.linkCode(famID)}, ""
		}},
		{op: "POST /staff/checkouts", as: as(&deskA), prep: func(t *testing.T) (string, any, string) {
			b := checkoutBody("JZ-WC-0001", renter.ID, 39000)
			b["accepted_name"] = renterName
			return "/api/v1/staff/checkouts", b, ""
		}},
		{op: "POST /staff/leases/{id}/extend", as: as(&deskA), prep: func(t *testing.T) (string, any, string) {
			return "/api/v1/staff/leases/" + lease.ID + "/extend", map[string]any{"days": 5, "payments": cash(2500)}, ""
		}},
		{op: "POST /staff/checkins/preview", as: as(&deskA), prep: func(t *testing.T) (string, any, string) {
			return "/api/v1/staff/checkins/preview", map[string]any{"unit": "JZ-WC-0001", "outcome": "damaged", "damage_fen": 40000, "station_id": "north", "notes": "frame"}, ""
		}},
		{op: "POST /staff/checkins", as: as(&deskA), prep: func(t *testing.T) (string, any, string) {
			return "/api/v1/staff/checkins", map[string]any{"unit": "JZ-WC-0001", "outcome": "damaged", "damage_fen": 40000, "station_id": "north",
				"notes": renterName + "说车架是摔弯的"}, ""
		}},
		{op: "POST /staff/leases/{id}/waivers", as: as(&deskA), prep: func(t *testing.T) (string, any, string) {
			return "/api/v1/staff/leases/" + lease.ID + "/waivers", map[string]any{"amount_fen": 3000, "reason": "hardship", "note": renterName + "家里困难"}, ""
		}},
		{op: "POST /operator/waivers/{id}/{decision}", as: as(&w.adminA), vars: map[string]string{"decision": "approve"}, prep: func(t *testing.T) (string, any, string) {
			// Above the ¥50 limit: a request for an operator admin.
			rec := w.desk.call("POST", "/api/v1/staff/leases/"+lease.ID+"/waivers", map[string]any{"amount_fen": 4000, "reason": "hardship"})
			if rec.Code != http.StatusAccepted {
				t.Fatalf("waiver request: %d %s", rec.Code, rec.Body)
			}
			pending = decode[waiverResult](t, rec).Waiver
			return "/api/v1/operator/waivers/" + pending.ID + "/approve", map[string]any{"note": "同意"}, ""
		}},
		{op: "POST /staff/leases/{id}/settle", as: as(&deskA), prep: func(t *testing.T) (string, any, string) {
			l := leaseOf(t, s, lease.ID)
			return "/api/v1/staff/leases/" + lease.ID + "/settle", map[string]any{"payments": cash(l.BalanceFen)}, ""
		}},
		{op: "POST /staff/leases/{id}/lost", as: as(&deskA), prep: func(t *testing.T) (string, any, string) {
			// Checked out 70 days ago for 30: due 40 days ago.
			now := w.clock
			w.clock = now.AddDate(0, 0, -70)
			r := register(t, lostName, lostPhone, "south")
			b := checkoutBody("JZ-WC-0002", r.ID, 39000)
			b["station_id"], b["accepted_name"] = "south", lostName
			rec := w.desk.call("POST", "/api/v1/staff/checkouts", b)
			w.clock = now
			if rec.Code != http.StatusCreated {
				t.Fatalf("checkout: %d %s", rec.Code, rec.Body)
			}
			lostLease = decode[rentals.Lease](t, rec)
			return "/api/v1/staff/leases/" + lostLease.ID + "/lost", nil, ""
		}},
		{op: "POST /staff/found", as: as(&deskA), prep: func(t *testing.T) (string, any, string) {
			return "/api/v1/staff/found", map[string]any{"unit": "JZ-WC-0002", "outcome": "ok", "station_id": "south", "refund_method": "cash"}, ""
		}},
		{op: "POST /staff/leases/{id}/refund", as: as(&deskA), prep: func(t *testing.T) (string, any, string) {
			// Under a policy where a standard renter's loss costs nothing, a
			// lost unit leaves the deposit owed back.
			pol := s.policies.Current()
			std := pol.Tiers[rentals.Standard]
			std.LostCharge = rentals.LostNothing
			pol.Tiers[rentals.Standard], pol.Note, pol.By = std, "no lost charge", tenancy.System
			if _, err := s.policies.Put(context.Background(), pol.Version, pol); err != nil {
				t.Fatal(err)
			}
			r := register(t, renterName, "13912347707", "north")
			b := checkoutBody("JZ-WC-0301", r.ID, 39000)
			b["accepted_name"] = renterName
			rec := w.desk.call("POST", "/api/v1/staff/checkouts", b)
			if rec.Code != http.StatusCreated {
				t.Fatalf("checkout: %d %s", rec.Code, rec.Body)
			}
			l := decode[rentals.Lease](t, rec)
			now := w.clock
			w.clock = now.AddDate(0, 0, 61)
			rec = w.desk.call("POST", "/api/v1/staff/leases/"+l.ID+"/lost", nil)
			w.clock = now
			if rec.Code != http.StatusOK || decode[rentals.Lease](t, rec).BalanceFen >= 0 {
				t.Fatalf("lost: %d %s", rec.Code, rec.Body)
			}
			return "/api/v1/staff/leases/" + l.ID + "/refund", map[string]any{"refund_method": "cash"}, ""
		}},
		{op: "POST /staff/units/{tag}/{action}", as: as(&deskA), vars: map[string]string{"action": "clean"}, prep: func(t *testing.T) (string, any, string) {
			return "/api/v1/staff/units/JZ-WK-0001/clean", map[string]any{"method": "wipe_disinfect", "checklist": s.stations.CleaningChecklist("walker"),
				"station_id": "north"}, ""
		}},
		{op: "PUT /admin/tier-policy", as: as(&w.platform), prep: func(t *testing.T) (string, any, string) {
			return "/api/v1/admin/tier-policy", admPolicyBody(s.policies.Current().Version, 1500, "低收入降到 15%"), ""
		}},
		// Last month's subsidy statement: submitted, returned, submitted
		// again, approved and paid.
		{op: "POST /operator/statements/{month}/submit", as: as(&w.adminA), prep: func(t *testing.T) (string, any, string) {
			return "/api/v1/operator/statements/2026-10/submit", nil, ""
		}},
		{op: "POST /admin/statements/{operator}/{month}/return", as: as(&w.platform), prep: func(t *testing.T) (string, any, string) {
			return "/api/v1/admin/statements/op-a/2026-10/return", map[string]any{"hash": stmtHash, "reasons": "请补充证明"}, ""
		}},
		{op: "POST /operator/statements/{month}/submit", as: as(&w.adminA), prep: func(t *testing.T) (string, any, string) {
			return "/api/v1/operator/statements/2026-10/submit", nil, ""
		}},
		{op: "POST /admin/statements/{operator}/{month}/approve", as: as(&w.platform), prep: func(t *testing.T) (string, any, string) {
			return "/api/v1/admin/statements/op-a/2026-10/approve", map[string]any{"hash": stmtHash}, ""
		}},
		{op: "POST /admin/statements/{operator}/{month}/paid", as: as(&w.platform), prep: func(t *testing.T) (string, any, string) {
			return "/api/v1/admin/statements/op-a/2026-10/paid", map[string]any{"paid_on": "2026-11-20", "reference": "JZCZ-01"}, ""
		}},
		// Online payment: operator A connects its Stripe account (stripe-mock)
		// and asks for an onboarding link.
		{op: "POST /operator/payments/account", as: as(&w.adminA), prep: func(t *testing.T) (string, any, string) {
			return "/api/v1/operator/payments/account", nil, ""
		}},
		{op: "POST /operator/payments/account/link", as: as(&w.adminA), prep: func(t *testing.T) (string, any, string) {
			return "/api/v1/operator/payments/account/link", nil, ""
		}},
		{op: "POST /staff/leases/{id}/payment-link", as: as(&deskA), prep: func(t *testing.T) (string, any, string) {
			// A lease returned with ¥400 damage owes ¥100; operator A can
			// take charges, and the family's own button already opened the
			// balance's Checkout Session: the link writes only its message
			// and its entry.
			ctx := context.Background()
			if _, err := s.stations.CreateUnit(ctx, stations.Unit{Tag: "JZ-WC-0402", ProductID: "wc", StationID: "north"}, tenancy.System); err != nil {
				t.Fatal(err)
			}
			r := register(t, linkName, linkPhone, "north")
			b := checkoutBody("JZ-WC-0402", r.ID, 39000)
			b["accepted_name"] = linkName
			rec := w.desk.call("POST", "/api/v1/staff/checkouts", b)
			if rec.Code != http.StatusCreated {
				t.Fatalf("checkout: %d %s", rec.Code, rec.Body)
			}
			owing := decode[rentals.Lease](t, rec)
			rec = w.desk.call("POST", "/api/v1/staff/checkins", map[string]any{"unit": "JZ-WC-0402", "outcome": "damaged", "damage_fen": 40000, "station_id": "north", "notes": "车架弯了"})
			if rec.Code != http.StatusOK && rec.Code != http.StatusCreated {
				t.Fatalf("check-in: %d %s", rec.Code, rec.Body)
			}
			stripeOf(t, s).charges.Store(true)
			if _, err := s.payments.RefreshAccount(ctx, tenancy.OperatorScope("op-a"), "op-a"); err != nil {
				t.Fatal(err)
			}
			bal, err := leaseOf(t, s, owing.ID).Balance()
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.payments.StartCheckout(ctx, tenancy.System, online.PaymentRequest{Ref: bal.Ref, LeaseID: bal.TabID, OperatorID: "op-a",
				Purpose: online.Balance, AmountFen: bal.AmountFen, SuccessURL: "https://example.com/paid", CancelURL: "https://example.com/back"}); err != nil {
				t.Fatal(err)
			}
			return "/api/v1/staff/leases/" + owing.ID + "/payment-link", nil, ""
		}},
		{op: "POST /me/renters", as: as(&w.renter), prep: func(t *testing.T) (string, any, string) {
			return "/api/v1/me/renters", map[string]any{"name": elderName, "phone": elderPhone, "id_number": idNumberFor(elderPhone),
				"home_station_id": "north", "relation": "father", "mobility_needs": "walks with a stick"}, ""
		}},
		{op: "POST /me/tier-applications", as: as(&w.renter), prep: func(t *testing.T) (string, any, string) {
			b, ct := applicationBody(elderID, 1, testJPEG(t, 320, 240, color.RGBA{200, 10, 30, 255}), map[string]string{"proof_number": "TA-PROOF-7709"})
			return "/api/v1/me/tier-applications", b, ct
		}},
		{op: "POST /operator/tier-applications/{id}/reject", as: as(&w.adminA), prep: func(t *testing.T) (string, any, string) {
			return "/api/v1/operator/tier-applications/" + appID + "/reject", map[string]any{"reason": "unreadable", "note": "照片太模糊"}, ""
		}},
		{op: "POST /me/tier-applications/{id}/withdraw", as: as(&w.renter), prep: func(t *testing.T) (string, any, string) {
			b, ct := applicationBody(elderID, 1, testJPEG(t, 320, 240, color.RGBA{200, 10, 30, 255}), nil)
			rec := w.call(t, w.renter, "POST", "/api/v1/me/tier-applications", b, ct)
			if rec.Code != http.StatusCreated {
				t.Fatalf("apply again: %d %s", rec.Code, rec.Body)
			}
			return "/api/v1/me/tier-applications/" + decode[rentals.TierApplication](t, rec).ID + "/withdraw", nil, ""
		}},
		{op: "POST /operator/tier-applications/{id}/approve", as: as(&w.adminA), prep: func(t *testing.T) (string, any, string) {
			b, ct := applicationBody(elderID, 1, testJPEG(t, 320, 240, color.RGBA{200, 10, 30, 255}), nil)
			rec := w.call(t, w.renter, "POST", "/api/v1/me/tier-applications", b, ct)
			if rec.Code != http.StatusCreated {
				t.Fatalf("apply a third time: %d %s", rec.Code, rec.Body)
			}
			return "/api/v1/operator/tier-applications/" + decode[rentals.TierApplication](t, rec).ID + "/approve",
				map[string]any{"expires_on": time.Now().AddDate(1, 0, 0).Format(time.DateOnly)}, ""
		}},
		// Reservations and the waitlist, for a renter linked to w.renter's
		// account, on a product of their own (so no other step's unit is
		// offered to anyone).
		{op: "POST /me/reservations", as: as(&w.renter), prep: func(t *testing.T) (string, any, string) {
			resRenter = walkReservationCity(t, w, register(t, resName, resPhone, "north"))
			return "/api/v1/me/reservations", map[string]any{"renter_id": resRenter.ID, "product_id": "rs-bed", "station_id": "north",
				"mode": "pickup", "slot": walkSlot(w)}, ""
		}},
		{op: "POST /staff/reservations/{id}/substitute", as: as(&deskA), prep: func(t *testing.T) (string, any, string) {
			walkUnit(t, w, "JZ-RB-0002", stations.Available)
			return "/api/v1/staff/reservations/" + reservation.ID + "/substitute", map[string]any{"unit": "JZ-RB-0002"}, ""
		}},
		{op: "POST /staff/reservations/{id}/fulfil", as: as(&deskA), prep: func(t *testing.T) (string, any, string) {
			return "/api/v1/staff/reservations/" + reservation.ID + "/fulfil", map[string]any{"payments": cash(reservation.Quote.DueNowFen),
				"terms_version": "2026-01", "accepted_name": resName}, ""
		}},
		{op: "POST /me/reservations/{id}/cancel", as: as(&w.renter), prep: func(t *testing.T) (string, any, string) {
			return "/api/v1/me/reservations/" + walkReserve(t, w, resRenter).ID + "/cancel", nil, ""
		}},
		{op: "POST /staff/reservations/{id}/cancel", as: as(&deskA), prep: func(t *testing.T) (string, any, string) {
			return "/api/v1/staff/reservations/" + walkReserve(t, w, resRenter).ID + "/cancel", map[string]any{"reason": resName + "来电取消"}, ""
		}},
		{op: "POST /me/payments", as: as(&w.renter), prep: func(t *testing.T) (string, any, string) {
			// Operator A can take charges and prepays at north.
			ctx := context.Background()
			stripeOf(t, s).charges.Store(true)
			if _, err := s.payments.ConnectAccount(ctx, tenancy.OperatorScope("op-a"), tenancy.System, "op-a"); err != nil {
				t.Fatal(err)
			}
			if a, err := s.payments.RefreshAccount(ctx, tenancy.OperatorScope("op-a"), "op-a"); err != nil || !a.CanTakeCharges() {
				t.Fatalf("account %+v %v", a, err)
			}
			if _, err := s.stations.SetPrepay(ctx, tenancy.OperatorScope("op-a"), "north", stations.PrepayOptional, tenancy.System); err != nil {
				t.Fatal(err)
			}
			prepaid = walkReserve(t, w, resRenter)
			return "/api/v1/me/payments", map[string]any{"reservation_id": prepaid.ID}, ""
		}},
		{op: "POST /me/waitlist", as: as(&w.renter), prep: func(t *testing.T) (string, any, string) {
			// The prepaid step's hold goes, so later steps find the unit free.
			if _, err := s.reserve.CancelMine(context.Background(), walkUserID(t, w), prepaid.ID); err != nil {
				t.Fatal(err)
			}
			// A district without stations: nothing can be offered at once.
			return "/api/v1/me/waitlist", map[string]any{"renter_id": resRenter.ID, "product_id": "rs-bed", "district": "mengzhou"}, ""
		}},
		{op: "DELETE /me/waitlist/{id}", as: as(&w.renter), prep: func(t *testing.T) (string, any, string) {
			return "/api/v1/me/waitlist/" + entry.ID, nil, ""
		}},
		{op: "POST /me/waitlist/{id}/accept", as: as(&w.renter), prep: func(t *testing.T) (string, any, string) {
			return "/api/v1/me/waitlist/" + walkOffer(t, w, resRenter).ID + "/accept", nil, ""
		}},
		{op: "POST /staff/renters/{id}/no-show-block/lift", as: as(&deskA), prep: func(t *testing.T) (string, any, string) {
			return "/api/v1/staff/renters/" + resRenter.ID + "/no-show-block/lift", map[string]any{"reason": resName + "说明了情况"}, ""
		}},
		{op: "PUT /operator/stations/{id}/slots", as: as(&w.adminA), prep: func(t *testing.T) (string, any, string) {
			return "/api/v1/operator/stations/north/slots", map[string]any{"capacity": 3, "grace_minutes": 90}, ""
		}},
		{op: "PUT /operator/stations/{id}/delivery", as: as(&w.adminA), prep: func(t *testing.T) (string, any, string) {
			return "/api/v1/operator/stations/north/delivery", map[string]any{"enabled": true, "districts": []string{"shanyang"}, "fee_fen": 1000, "windows": []string{"am"}}, ""
		}},
		{op: "PUT /operator/stations/{id}/prepay", as: as(&w.adminA), prep: func(t *testing.T) (string, any, string) {
			return "/api/v1/operator/stations/north/prepay", map[string]any{"prepay": "optional"}, ""
		}},
		{op: "POST /me/rentals/{id}/extensions", as: as(&w.renter), prep: func(t *testing.T) (string, any, string) {
			// A subsistence rental of the family's, extended for nothing.
			ctx := context.Background()
			r := register(t, extName, extPhone, "north")
			if _, err := s.rentals.VerifyTier(ctx, tenancy.OperatorScope("op-a"), r.ID, rentals.TierProof{Tier: rentals.Subsistence,
				ProofType: rentals.ProofDibaoCard, ProofNumber: "DB-7710", ProofPhotoKey: "p/proof.jpg", ExpiresOn: "2028-12-31"}, tenancy.System); err != nil {
				t.Fatal(err)
			}
			if _, err := s.rentals.LinkUser(ctx, r.ID, walkUserID(t, w), tenancy.System); err != nil {
				t.Fatal(err)
			}
			if _, err := s.stations.CreateUnit(ctx, stations.Unit{Tag: "JZ-WC-0710", ProductID: "wc", StationID: "north"}, tenancy.System); err != nil {
				t.Fatal(err)
			}
			rec := w.desk.call("POST", "/api/v1/staff/checkouts", checkoutBody("JZ-WC-0710", r.ID, 0))
			if rec.Code != http.StatusCreated {
				t.Fatalf("checkout: %d %s", rec.Code, rec.Body)
			}
			return "/api/v1/me/rentals/" + decode[rentals.Lease](t, rec).ID + "/extensions", map[string]any{"days": 5}, ""
		}},
		{op: "POST /auth/logout", as: as(&w.renter), prep: func(t *testing.T) (string, any, string) {
			return "/api/v1/auth/logout", nil, ""
		}},
	}
	// What each answer tells the next steps.
	after := map[string]func(t *testing.T, rec *httptest.ResponseRecorder){
		"POST /auth/signup":        func(t *testing.T, rec *httptest.ResponseRecorder) { checkID = decode[signupPending](t, rec).Check.ID },
		"POST /auth/phone/confirm": func(t *testing.T, rec *httptest.ResponseRecorder) { famID = decode[meResponse](t, rec).User.ID },
		"POST /me/renters": func(t *testing.T, rec *httptest.ResponseRecorder) {
			elderID = decode[rentals.LinkedRenter](t, rec).ID
		},
		"POST /me/tier-applications": func(t *testing.T, rec *httptest.ResponseRecorder) {
			appID = decode[rentals.TierApplication](t, rec).ID
		},
		"POST /admin/users": func(t *testing.T, rec *httptest.ResponseRecorder) {
			userID = decode[struct {
				User accounts.User `json:"user"`
			}](t, rec).User.ID
		},
		"POST /operator/staff":  func(t *testing.T, rec *httptest.ResponseRecorder) { staffID = decode[staffCreated](t, rec).User.ID },
		"POST /staff/renters":   func(t *testing.T, rec *httptest.ResponseRecorder) { renter = decode[rentals.Renter](t, rec) },
		"POST /staff/checkouts": func(t *testing.T, rec *httptest.ResponseRecorder) { lease = decode[rentals.Lease](t, rec) },
		"POST /me/reservations": func(t *testing.T, rec *httptest.ResponseRecorder) { reservation = decode[rentals.Reservation](t, rec) },
		"POST /staff/reservations/{id}/substitute": func(t *testing.T, rec *httptest.ResponseRecorder) {
			reservation = decode[rentals.Reservation](t, rec)
		},
		"POST /me/waitlist":     func(t *testing.T, rec *httptest.ResponseRecorder) { entry = decode[rentals.WaitEntry](t, rec) },
		"POST /operator/tokens": func(t *testing.T, rec *httptest.ResponseRecorder) { tokenID = decode[tokenCreated](t, rec).Token.ID },
		"POST /operator/statements/{month}/submit": func(t *testing.T, rec *httptest.ResponseRecorder) {
			stmtHash = decode[reports.Statement](t, rec).Hash
		},
		"POST /operator/stations": func(t *testing.T, rec *httptest.ResponseRecorder) {
			v := decode[struct {
				ID      string `json:"id"`
				Version int64  `json:"version"`
			}](t, rec)
			stationID, stationVersion = v.ID, v.Version
		},
		"POST /operator/products": func(t *testing.T, rec *httptest.ResponseRecorder) {
			v := decode[catalog.Product](t, rec)
			productID, productVersion = v.ID, v.Version
		},
		"POST /operator/products/{id}/photos": func(t *testing.T, rec *httptest.ResponseRecorder) {
			v := decode[catalog.Product](t, rec)
			if len(v.Photos) != 1 {
				t.Fatalf("photos %+v", v.Photos)
			}
			photoKey = v.Photos[0].Key
		},
	}

	ops := auditedOperations(t)
	called := map[string]bool{}
	for _, st := range steps {
		called[st.op] = true
		want, ok := ops[st.op]
		if !ok {
			t.Fatalf("%s: not a state-changing operation of the document", st.op)
		}
		for k, v := range st.vars {
			want = strings.ReplaceAll(want, "{"+k+"}", v)
		}
		target, body, ct := st.prep(t)
		before := auditEntries(t, s)
		var rec *httptest.ResponseRecorder
		if ct != "" {
			rec = w.call(t, st.as(), strings.Fields(st.op)[0], target, body, ct)
		} else {
			rec = w.call(t, st.as(), strings.Fields(st.op)[0], target, body)
		}
		if rec.Code < 200 || rec.Code > 299 {
			t.Fatalf("%s: %d %.600s", st.op, rec.Code, rec.Body)
		}
		if f := after[st.op]; f != nil {
			f(t, rec)
		}
		got := auditEntries(t, s)
		added := got[:len(got)-len(before)]
		switch {
		case want == "none" && len(added) != 0:
			t.Errorf("%s: x-audit none, but it wrote %+v", st.op, added)
		case want != "none" && (len(added) != 1 || added[0].Action != want):
			t.Errorf("%s: wrote %+v, want exactly one %s", st.op, added, want)
		case want != "none" && added[0].RequestID != rec.Header().Get("X-Request-ID"):
			t.Errorf("%s: entry of request %q, answered as %q", st.op, added[0].RequestID, rec.Header().Get("X-Request-ID"))
		}
	}
	for op := range ops {
		if !called[op] {
			t.Errorf("%s: the walk does not call it", op)
		}
	}
	// The whole log, as stored, holds nobody's name, phone or ID number.
	raw, err := json.Marshal(auditEntries(t, s))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range personal {
		if strings.Contains(string(raw), p) {
			t.Errorf("the audit log holds %q", p)
		}
	}
}

// auditedOperations reads the state-changing operations of the API document
// with their x-audit; it fails the test on one without.
func auditedOperations(t *testing.T) map[string]string {
	t.Helper()
	doc, err := buildOpenAPI()
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(doc, &d); err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for path, ops := range d.Paths {
		for method, raw := range ops {
			m := strings.ToUpper(method)
			if m != http.MethodPost && m != http.MethodPut && m != http.MethodPatch && m != http.MethodDelete {
				continue
			}
			var op struct {
				Audit       string `json:"x-audit"`
				Description string `json:"description"`
			}
			if err := json.Unmarshal(raw, &op); err != nil {
				t.Fatal(err)
			}
			switch {
			case op.Audit == "":
				t.Errorf("%s %s has no x-audit", m, path)
			case op.Audit == "none" && !strings.Contains(op.Description, "Not audited"):
				t.Errorf("%s %s: x-audit none without the reason in its description", m, path)
			}
			out[m+" "+path] = op.Audit
		}
	}
	return out
}

// auditEntries is the whole audit log, newest first.
func auditEntries(t *testing.T, s *Server) []accounts.Entry {
	t.Helper()
	var all []accounts.Entry
	for skip := int64(0); ; skip += 200 {
		page, total, err := s.auth.Audit(context.Background(), accounts.AuditFilter{Limit: 200, Skip: skip})
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, page...)
		if int64(len(all)) >= total || len(page) == 0 {
			return all
		}
	}
}

// The desk pages write the same entries as the desk API: they call the same
// service methods, which write them. A check-out, an extension, a check-in
// and a cleaning done through the forms each leave exactly their one entry,
// by the staff member's account (id and role, no name) and with no renter's
// name or phone.
func TestDeskPagesAuditedLikeAPI(t *testing.T) {
	s := newTestServer(t)
	d := desk{t: t, s: s, token: apiToken(t, s, "desk")}
	r := registerRenter(t, d, "13912347720")
	cl := staffAt(t, s, "13900000031", "north")
	staffID, err := s.auth.UserIDByPhone(context.Background(), "13900000031")
	if err != nil {
		t.Fatal(err)
	}
	leaseID := ""
	steps := []struct {
		action string
		do     func() *httptest.ResponseRecorder
	}{
		{"lease.checkout", func() *httptest.ResponseRecorder {
			rec := cl.form("/staff/checkout", url.Values{"unit": {"JZ-WC-0001"}, "renter_id": {r.ID}, "station_id": {"north"}, "days": {"30"},
				"pay_method": {"cash"}, "pay_amount": {"390"}, "pay_reference": {""}, "accept": {"1"}, "accepted_name": {"赵大爷"}},
				"/staff/checkout?unit=JZ-WC-0001&renter="+r.ID)
			leaseID = strings.TrimSuffix(strings.TrimPrefix(rec.Header().Get("Location"), "/staff/leases/"), "/receipt")
			return rec
		}},
		{"lease.extend", func() *httptest.ResponseRecorder {
			return cl.form("/staff/leases/"+leaseID+"/extend", url.Values{"days": {"5"}, "pay_method": {"cash"}, "pay_amount": {"25"}, "pay_reference": {""}},
				"/staff/leases/"+leaseID)
		}},
		{"lease.checkin", func() *httptest.ResponseRecorder {
			return cl.form("/staff/checkin", url.Values{"unit": {"JZ-WC-0001"}, "station_id": {"north"}, "outcome": {"needs_cleaning"}, "notes": {"赵大爷说很好用"},
				"damage": {"0"}, "pay_method": {"cash"}, "pay_amount": {"0"}, "pay_reference": {""}, "refund_method": {"cash"}, "refund_reference": {""}}, "/staff")
		}},
		{"unit.clean", func() *httptest.ResponseRecorder {
			v := url.Values{"method": {"uv"}, "station_id": {"north"}}
			for _, c := range s.stations.CleaningChecklist("wc") {
				v.Add("checklist", c)
			}
			return cl.form("/staff/units/JZ-WC-0001/clean", v, "/staff/units/JZ-WC-0001")
		}},
	}
	for _, st := range steps {
		before := len(auditEntries(t, s))
		if rec := st.do(); rec.Code != http.StatusSeeOther {
			t.Fatalf("%s: %d %.400s", st.action, rec.Code, rec.Body)
		}
		got := auditEntries(t, s)
		added := got[:len(got)-before]
		if len(added) != 1 || added[0].Action != st.action || added[0].Actor.ID != staffID || added[0].Actor.Role != string(accounts.Staff) || added[0].RequestID == "" {
			t.Errorf("%s through the page wrote %+v", st.action, added)
		}
	}
	raw, _ := json.Marshal(auditEntries(t, s))
	for _, p := range []string{"赵大爷", "13912347720", idNumberFor("13912347720"), "张敏", "13900000031"} {
		if strings.Contains(string(raw), p) {
			t.Errorf("the audit log holds %q", p)
		}
	}
}
