package web

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"fuju/accounts"
	"fuju/internal/l10n"
	"fuju/internal/tenancy"
	"fuju/rentals"
	"fuju/stations"
)

// rulesWorld is the operator test city with a desk token and a staff
// session of operator A, and the rentals clock under the test's control.
type rulesWorld struct {
	*opWorld
	desk   desk
	staffA opCaller
	clock  time.Time
}

func newRulesWorld(t *testing.T) *rulesWorld {
	t.Helper()
	w := &rulesWorld{opWorld: newOpWorld(t)}
	w.desk = desk{t: t, s: w.s, token: apiToken(t, w.s, "desk")}
	tok, sess, err := w.s.auth.NewSession(context.Background(), w.staffAUser, false, "127.0.0.1", "test")
	if err != nil {
		t.Fatal(err)
	}
	w.staffA = opCaller{name: "staff A", cookie: &http.Cookie{Name: sessionCookie, Value: tok}, csrf: w.s.mac("session:" + sess.ID)}
	w.clock = time.Date(2026, 11, 26, 10, 0, 0, 0, l10n.Local)
	w.s.rentals.SetClock(func() time.Time { return w.clock })
	return w
}

// lease checks a unit out for 30 days to a new standard renter, the given
// number of days ago.
func (w *rulesWorld) lease(t *testing.T, tag, phone string, daysAgo int) rentals.Lease {
	t.Helper()
	now := w.clock
	w.clock = now.AddDate(0, 0, -daysAgo)
	defer func() { w.clock = now }()
	r := registerRenter(t, w.desk, phone)
	rec := w.desk.call("POST", "/api/v1/staff/checkouts", checkoutBody(tag, r.ID, 39000))
	if rec.Code != http.StatusCreated {
		t.Fatalf("checkout %s: %d %s", tag, rec.Code, rec.Body)
	}
	return decode[rentals.Lease](t, rec)
}

// A lost unit scanned at the desk is found: through the API and the pages,
// with the loss closed on its lease and the unit sent to inspection.
func TestFoundAtTheDesk(t *testing.T) {
	w := newRulesWorld(t)
	l := w.lease(t, "JZ-WC-0001", "13912340001", 70) // due 40 days ago
	if rec := w.desk.call("POST", "/api/v1/staff/found", map[string]any{"unit": "JZ-WC-0001", "outcome": "ok"}); rec.Code != http.StatusConflict {
		t.Fatalf("found a rented unit: %d %s", rec.Code, rec.Body)
	}
	rec := w.desk.call("POST", "/api/v1/staff/leases/"+l.ID+"/lost", nil)
	if rec.Code != http.StatusOK {
		t.Fatalf("declare lost: %d %s", rec.Code, rec.Body)
	}
	lost := decode[rentals.Lease](t, rec)
	if lost.State != rentals.LeaseClosed || lost.Loss == nil || lost.Loss.ChargedFen != 30000 || lost.Loss.Rule != rentals.LostDeposit {
		t.Fatalf("lost lease %+v", lost)
	}
	// The unit page offers "found" and "write off"; the found page shows the
	// loss and the late days at today's tier.
	page := wantBody(t, w.page(t, w.staffA, "/staff/units/JZ-WC-0001"), http.StatusOK, "lost unit page", "/staff/found?unit=JZ-WC-0001", l.ID)
	if !strings.Contains(page, `action="/staff/units/JZ-WC-0001/retire"`) {
		t.Error("no write-off form on a lost unit's page")
	}
	wantBody(t, w.page(t, w.staffA, "/staff/found?unit=JZ-WC-0001"), http.StatusOK, "found page", "¥300", `name="outcome"`, `name="refund_method"`)
	wantStatus(t, w.page(t, w.staffA, "/staff/found?unit=JZ-WC-0002"), http.StatusConflict, "found page of an available unit")
	// Bad input names the field and changes nothing.
	rec = w.form(t, w.staffA, "/staff/found", url.Values{"unit": {"JZ-WC-0001"}, "outcome": {"ok"}, "damage": {"abc"}})
	wantBody(t, rec, http.StatusBadRequest, "found form with a bad amount", `id="e-damage"`)
	if rec := w.desk.call("POST", "/api/v1/staff/found", map[string]any{"unit": "JZ-WC-0001", "outcome": "lost"}); rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), `"outcome"`) {
		t.Fatalf("bad outcome: %d %s", rec.Code, rec.Body)
	}
	// Found 40 days late: the late fee (¥200) is within the ¥300 kept; ¥100
	// back in cash.
	rec = w.form(t, w.staffA, "/staff/found", url.Values{"unit": {"JZ-WC-0001"}, "outcome": {"needs_cleaning"}, "damage": {"0"}, "refund_method": {"cash"}})
	wantRedirect(t, rec, "/staff/leases/"+l.ID, "found form")
	v := decode[leaseView](t, w.desk.call("GET", "/api/v1/staff/leases/"+l.ID, nil))
	if v.State != rentals.LeaseClosed || v.EndReason != "found" || v.Ledger.BalanceFen != 0 || v.Loss.FoundOn == "" {
		t.Fatalf("lease after found %+v", v.Lease)
	}
	var kinds []string
	for _, e := range v.Ledger.Entries[5:] {
		kinds = append(kinds, fmt.Sprintf("%s %d", e.Kind, e.AmountFen))
	}
	if strings.Join(kinds, ", ") != "recovered 30000, late_fee 20000, refund 10000" {
		t.Fatalf("ledger after found %v", kinds)
	}
	u := decode[unitView](t, w.desk.call("GET", "/api/v1/staff/units/JZ-WC-0001", nil))
	if u.State != stations.Cleaning {
		t.Fatalf("unit after found %s", u.State)
	}
	if a := w.auditFor(t, "unit/JZ-WC-0001"); len(a) == 0 || a[0].Action != "unit.found" {
		t.Fatalf("audit of the find %+v", a)
	}
	page = wantBody(t, w.page(t, w.staffA, "/staff/leases/"+l.ID), http.StatusOK, "lease page after found", "丢失与赔偿", "找回日期", "丢失赔偿取消（已找回）")
	// The cancelled lost charge is a credit: it stands in the credit column.
	if !regexp.MustCompile(`丢失赔偿取消（已找回）</td>\s*<td></td><td class="num">¥300</td>`).MatchString(page) {
		t.Error("the lease page shows the recovered lost charge as a charge")
	}
	// Another operator's desk cannot find A's units.
	secret, _, err := w.s.auth.CreateToken(context.Background(), "op-b", "b desk", []string{"desk"}, tenancy.System)
	if err != nil {
		t.Fatal(err)
	}
	b := desk{t: t, s: w.s, token: secret}
	if rec := b.call("POST", "/api/v1/staff/found", map[string]any{"unit": "JZ-WC-0001", "outcome": "ok", "station_id": "b-one"}); rec.Code != http.StatusNotFound {
		t.Fatalf("B finds A's unit: %d %s", rec.Code, rec.Body)
	}
}

// Waivers at the desk within the limit, above it to the operator admin's
// queue, decided there; settings, losses, tenancy and the audit log.
func TestWaiversAtTheDeskAndInTheConsole(t *testing.T) {
	w := newRulesWorld(t)
	l := w.lease(t, "JZ-WC-0001", "13912340002", 10)
	// ¥400 of damage against the ¥300 deposit: ¥100 owed.
	rec := w.desk.call("POST", "/api/v1/staff/checkins", map[string]any{"unit": "JZ-WC-0001", "station_id": "north", "outcome": "damaged",
		"damage_fen": 40000, "notes": "frame"})
	if rec.Code != http.StatusOK {
		t.Fatalf("check-in: %d %s", rec.Code, rec.Body)
	}
	path := "/api/v1/staff/leases/" + l.ID + "/waivers"
	if rec := w.desk.call("POST", path, map[string]any{"amount_fen": 3000, "reason": "because"}); rec.Code != 400 || !strings.Contains(rec.Body.String(), `"reason"`) {
		t.Fatalf("bad reason: %d %s", rec.Code, rec.Body)
	}
	if rec := w.desk.call("POST", path, map[string]any{"amount_fen": 20000, "reason": "hardship"}); rec.Code != 400 || !strings.Contains(rec.Body.String(), `"amount_fen"`) {
		t.Fatalf("more than owed: %d %s", rec.Code, rec.Body)
	}
	// Settling with "waived" is refused: a waiver has a reason and a limit.
	if rec := w.desk.call("POST", "/api/v1/staff/leases/"+l.ID+"/settle", map[string]any{"payments": []map[string]any{{"method": "waived", "amount_fen": 10000}}}); rec.Code != 400 {
		t.Fatalf("waived as a payment: %d %s", rec.Code, rec.Body)
	}
	rec = w.desk.call("POST", path, map[string]any{"amount_fen": 3000, "reason": "hardship"})
	if rec.Code != http.StatusCreated || decode[waiverResult](t, rec).Lease.BalanceFen != 7000 {
		t.Fatalf("waiver within the limit: %d %s", rec.Code, rec.Body)
	}
	// The page's form: ¥40 more is above the ¥50 limit: a request.
	rec = w.form(t, w.staffA, "/staff/leases/"+l.ID+"/waive", url.Values{"waiver_amount": {"40"}, "waiver_reason": {"other"}})
	wantBody(t, rec, http.StatusBadRequest, "waiver without its note", `id="e-waiver_note"`)
	rec = w.form(t, w.staffA, "/staff/leases/"+l.ID+"/waive", url.Values{"waiver_amount": {"40"}, "waiver_reason": {"other"}, "waiver_note": {"家里困难"}})
	wantRedirect(t, rec, "/staff/leases/"+l.ID, "waiver form")
	mine := decode[list[rentals.Waiver]](t, w.desk.call("GET", path, nil))
	var pending rentals.Waiver
	for _, x := range mine.Items {
		if x.State == rentals.WaiverPending {
			pending = x
		}
	}
	if mine.Total != 2 || pending.AmountFen != 4000 || pending.Note != "家里困难" {
		t.Fatalf("the lease's waivers %+v", mine.Items)
	}
	wantBody(t, w.page(t, w.staffA, "/staff/leases/"+l.ID), http.StatusOK, "lease page", "家里困难", `action="/staff/leases/`+l.ID+`/waive"`)
	// Only an operator admin of A decides: not staff, not the platform, not
	// a token, not B.
	decide := "/api/v1/operator/waivers/" + pending.ID + "/approve"
	wantStatus(t, w.call(t, w.staffA, "POST", decide, nil), http.StatusForbidden, "staff approve")
	wantStatus(t, w.call(t, w.platform, "POST", decide, nil), http.StatusForbidden, "platform approves")
	wantStatus(t, w.call(t, w.writeA, "POST", decide, nil), http.StatusForbidden, "token approves")
	wantStatus(t, w.call(t, w.adminB, "POST", decide, nil), http.StatusNotFound, "B approves")
	queue := decode[list[rentals.Waiver]](t, w.call(t, w.adminA, "GET", "/api/v1/operator/waivers?state=pending", nil))
	if queue.Total != 1 || queue.Items[0].ID != pending.ID {
		t.Fatalf("A's queue %+v", queue.Items)
	}
	if q := decode[list[rentals.Waiver]](t, w.call(t, w.adminB, "GET", "/api/v1/operator/waivers", nil)); q.Total != 0 {
		t.Fatalf("B sees A's waivers %+v", q.Items)
	}
	wantField(t, w.call(t, w.adminA, "GET", "/api/v1/operator/waivers?state=maybe", nil), http.StatusBadRequest, "state", "bad state")
	page := wantBody(t, w.page(t, w.adminA, "/operator/waivers"), http.StatusOK, "queue page", "¥40", "家里困难", `/operator/waivers/`+pending.ID+`/approve`)
	if !strings.Contains(page, `formaction="/operator/waivers/`+pending.ID+`/reject"`) {
		t.Error("no reject button in the queue")
	}
	rec = w.form(t, w.adminA, "/operator/waivers/"+pending.ID+"/approve", url.Values{"decision_note": {"同意"}})
	wantRedirect(t, rec, "/operator/waivers", "approve form")
	if rec := w.call(t, w.adminA, "POST", decide, nil); rec.Code != http.StatusConflict {
		t.Fatalf("approved twice: %d %s", rec.Code, rec.Body)
	}
	v := decode[leaseView](t, w.desk.call("GET", "/api/v1/staff/leases/"+l.ID, nil))
	if v.Ledger.BalanceFen != 3000 || v.WaivedFen != 7000 {
		t.Fatalf("after approval: balance %d, waived %d", v.Ledger.BalanceFen, v.WaivedFen)
	}
	// Every waiver is in the operator's audit log.
	all, _, err := w.s.auth.Audit(context.Background(), accounts.AuditFilter{OperatorID: "op-a", Limit: 200})
	if err != nil {
		t.Fatal(err)
	}
	actions := map[string]int{}
	for _, e := range all {
		if strings.HasPrefix(e.Target, "waiver/") {
			actions[e.Action]++
		}
	}
	if actions["lease.waiver"] != 1 || actions["waiver.request"] != 1 || actions["waiver.approve"] != 1 {
		t.Fatalf("waivers in the audit log: %v", actions)
	}
	// The limit: only A's admin sets it, 0 sends everything to approval.
	wantStatus(t, w.call(t, w.staffA, "PUT", "/api/v1/operator/settings", map[string]any{"waiver_limit_fen": 0}), http.StatusForbidden, "staff set the limit")
	wantField(t, w.call(t, w.adminA, "PUT", "/api/v1/operator/settings", map[string]any{"waiver_limit_fen": -5}), http.StatusBadRequest, "waiver_limit_fen", "negative limit")
	wantField(t, w.call(t, w.adminA, "PUT", "/api/v1/operator/settings", map[string]any{}), http.StatusBadRequest, "waiver_limit_fen", "missing limit")
	if st := decode[rentals.Settings](t, w.call(t, w.adminA, "GET", "/api/v1/operator/settings", nil)); st.WaiverLimitFen != rentals.DefaultWaiverLimitFen {
		t.Fatalf("default settings %+v", st)
	}
	wantBody(t, w.form(t, w.adminA, "/operator/settings", url.Values{"waiver_limit": {"five"}}), http.StatusBadRequest, "settings form", `id="e-waiver_limit"`)
	wantRedirect(t, w.form(t, w.adminA, "/operator/settings", url.Values{"waiver_limit": {"0"}}), "/operator/settings", "settings form")
	if st := decode[rentals.Settings](t, w.call(t, w.adminA, "GET", "/api/v1/operator/settings", nil)); st.WaiverLimitFen != 0 {
		t.Fatalf("settings %+v", st)
	}
	if a := w.auditFor(t, "settings/op-a"); len(a) != 1 || a[0].Action != "operator.settings" {
		t.Fatalf("settings audit %+v", a)
	}
	rec = w.desk.call("POST", path, map[string]any{"amount_fen": 100, "reason": "goodwill"})
	if rec.Code != http.StatusAccepted || decode[waiverResult](t, rec).Waiver.State != rentals.WaiverPending {
		t.Fatalf("limit 0: %d %s", rec.Code, rec.Body)
	}
	rej := decode[waiverResult](t, rec).Waiver
	if rec := w.call(t, w.adminA, "POST", "/api/v1/operator/waivers/"+rej.ID+"/reject", map[string]any{"note": "no"}); rec.Code != http.StatusOK || decode[rentals.Waiver](t, rec).State != rentals.WaiverRejected {
		t.Fatalf("reject: %d %s", rec.Code, rec.Body)
	}
	wantStatus(t, w.call(t, w.adminA, "POST", "/api/v1/operator/waivers/"+rej.ID+"/maybe", nil), http.StatusNotFound, "unknown decision")
	// Reports: the operator's losses are its own.
	if ls := decode[list[rentals.LossReport]](t, w.call(t, w.adminA, "GET", "/api/v1/operator/losses", nil)); ls.Total != 0 {
		t.Fatalf("losses %+v", ls.Items)
	}
	wantBody(t, w.page(t, w.adminA, "/operator/losses"), http.StatusOK, "losses page")
	wantBody(t, w.page(t, w.adminA, "/operator/settings"), http.StatusOK, "settings page", `name="waiver_limit"`)
	wantStatus(t, w.page(t, w.staffA, "/operator/waivers"), http.StatusForbidden, "staff on the console")
}

// The lease page shows both tiers of rule 7 and the late fee an overdue
// extension charges (rule 6); a negative balance gets a refund form.
func TestLeasePageShowsTheRulesOfTheDay(t *testing.T) {
	w := newRulesWorld(t)
	l := w.lease(t, "JZ-WC-0001", "13912340003", 35) // due 5 days ago
	page := wantBody(t, w.page(t, w.staffA, "/staff/leases/"+l.ID), http.StatusOK, "overdue lease page", "¥25")
	for _, want := range []string{"借出时档位", "今天的档位", "收逾期费"} {
		if !strings.Contains(page, want) {
			t.Errorf("lease page lacks %q", want)
		}
	}
	if !strings.Contains(page, "续租从今天算起") {
		t.Error("the extension form does not say an overdue extension starts today")
	}
	// The check-in page's preview uses the same rule.
	wantBody(t, w.page(t, w.staffA, "/staff/checkin?unit=JZ-WC-0001"), http.StatusOK, "check-in page", "¥25")

	// A policy under which a standard renter's loss costs nothing (leases
	// keep their version's rules, so a new lease): the ¥300 deposit held is
	// owed back, and the lease page offers the refund.
	ctx := context.Background()
	pol := w.s.policies.Current()
	std := pol.Tiers[rentals.Standard]
	std.LostCharge = rentals.LostNothing
	pol.Tiers[rentals.Standard], pol.Note = std, "no lost charge"
	if _, err := w.s.policies.Put(ctx, pol.Version, pol); err != nil {
		t.Fatal(err)
	}
	if rec := w.desk.call("POST", "/api/v1/staff/checkins", map[string]any{"unit": "JZ-WC-0001", "station_id": "north", "outcome": "ok", "refund_method": "cash"}); rec.Code != http.StatusOK {
		t.Fatalf("check-in: %d %s", rec.Code, rec.Body)
	}
	if rec := w.desk.call("POST", "/api/v1/staff/units/JZ-WC-0001/clean", map[string]any{"method": "uv", "checklist": w.s.stations.CleaningChecklist("wc")}); rec.Code != http.StatusOK {
		t.Fatalf("clean: %d %s", rec.Code, rec.Body)
	}
	l = w.lease(t, "JZ-WC-0001", "13912340004", 0)
	w.clock = w.clock.AddDate(0, 0, 61)
	rec := w.desk.call("POST", "/api/v1/staff/leases/"+l.ID+"/lost", nil)
	if rec.Code != http.StatusOK || decode[rentals.Lease](t, rec).BalanceFen != -30000 {
		t.Fatalf("lost: %d %s", rec.Code, rec.Body)
	}
	wantBody(t, w.page(t, w.staffA, "/staff/leases/"+l.ID), http.StatusOK, "lease page owing the renter", `action="/staff/leases/`+l.ID+`/refund"`, "¥300")
	refund := "/api/v1/staff/leases/" + l.ID + "/refund"
	if rec := w.desk.call("POST", refund, map[string]any{"refund_method": "offline_mobile"}); rec.Code != 400 || !strings.Contains(rec.Body.String(), `"refund_reference"`) {
		t.Fatalf("refund without its reference: %d %s", rec.Code, rec.Body)
	}
	rec = w.form(t, w.staffA, "/staff/leases/"+l.ID+"/refund", url.Values{"refund_method": {"cash"}})
	wantRedirect(t, rec, "/staff/leases/"+l.ID, "refund form")
	if rec := w.desk.call("POST", refund, map[string]any{"refund_method": "cash"}); rec.Code != http.StatusConflict {
		t.Fatalf("refunded twice: %d %s", rec.Code, rec.Body)
	}
	if v := decode[leaseView](t, w.desk.call("GET", "/api/v1/staff/leases/"+l.ID, nil)); v.State != rentals.LeaseClosed || v.Ledger.BalanceFen != 0 {
		t.Fatalf("after the refund %+v", v.Lease)
	}
}

// Rule 9 in the policy editor's API: each tier's lost-device rule, the
// tier's default when left out, a clear 400 when unknown.
func TestPolicyLostCharge(t *testing.T) {
	w := newRulesWorld(t)
	body := admPolicyBody(1, 2000, "lost devices by tier")
	tiers := body["tiers"].(map[string]any)
	tiers["low_income"].(map[string]any)["lost_charge"] = "everything"
	wantField(t, w.call(t, w.platform, "PUT", "/api/v1/admin/tier-policy", body), http.StatusBadRequest, "tiers.low_income.lost_charge", "unknown rule")
	tiers["low_income"].(map[string]any)["lost_charge"] = "deposit"
	rec := w.call(t, w.platform, "PUT", "/api/v1/admin/tier-policy", body)
	wantStatus(t, rec, http.StatusOK, "policy with rules")
	p := decode[rentals.Policy](t, rec)
	if p.Rule(rentals.LowIncome).LostCharge != rentals.LostDeposit || p.Rule(rentals.Subsistence).LostCharge != rentals.LostNothing {
		t.Fatalf("rules %+v", p.Tiers)
	}
	wantBody(t, w.page(t, w.platform, "/admin/tier-policy/versions/2"), http.StatusOK, "version page", "扣押金", "不收费")
	// The editor's form keeps each tier's rule.
	wantBody(t, w.page(t, w.platform, "/admin/tier-policy"), http.StatusOK, "policy editor", `name="adm_lostcharge_low_income"`, `<option value="deposit" selected>`)
}

// The desk's payment row keeps its default amount of 0 when nothing more is
// collected: that is no payment, so a deposit can be refunded from the
// check-in and found pages without clearing the row.
func TestZeroPaymentRowIsNoPayment(t *testing.T) {
	w := newRulesWorld(t)
	l := w.lease(t, "JZ-WC-0001", "13912340005", 5)
	rec := w.form(t, w.staffA, "/staff/checkin", url.Values{"unit": {"JZ-WC-0001"}, "outcome": {"ok"}, "damage": {"0"},
		"pay_method": {"cash"}, "pay_amount": {"0"}, "refund_method": {"cash"}})
	wantRedirect(t, rec, "/staff/leases/"+l.ID, "check-in with the default payment row")
}
