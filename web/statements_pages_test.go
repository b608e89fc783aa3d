package web

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"fuju/internal/l10n"
	"fuju/internal/tenancy"
	"fuju/rentals"
)

// lastMonthLeases lends op-a's two wheelchairs in October 2026 (the test
// city's last month: its clock says 26 November) to a subsistence renter for
// 30 days and a low-income one for 10, with the rentals clock set back, so
// October's statement has two subsidy lines: ¥90 and ¥40.
func lastMonthLeases(t *testing.T, s *Server) {
	t.Helper()
	ctx := context.Background()
	desk := tenancy.OperatorScope("op-a")
	october := time.Date(2026, 10, 12, 10, 0, 0, 0, l10n.Local)
	s.rentals.SetClock(func() time.Time { return october })
	defer s.rentals.SetClock(func() time.Time { return time.Date(2026, 11, 26, 10, 0, 0, 0, l10n.Local) })
	for i, r := range []struct {
		phone, name, unit, station string
		tier                       rentals.Tier
		proof                      string
		days                       int
	}{
		{"13955500001", "赵桂兰", "JZ-WC-0001", "north", rentals.Subsistence, rentals.ProofDibaoCard, 30},
		{"13955500002", "钱德明", "JZ-WC-0002", "south", rentals.LowIncome, rentals.ProofLowIncomeCertificate, 10},
	} {
		renter, err := s.rentals.RegisterRenter(ctx, desk, rentals.Renter{Name: r.name, Phone: r.phone, IDNumber: idNumberFor(r.phone),
			HomeStationID: r.station}, tenancy.System)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.rentals.VerifyTier(ctx, desk, renter.ID, rentals.TierProof{Tier: r.tier, ProofType: r.proof,
			ProofNumber: "JZ-" + r.phone[7:], ProofPhotoKey: "proofs/p.jpg", ExpiresOn: "2027-06-30"}, tenancy.System); err != nil {
			t.Fatal(err)
		}
		q, err := s.rentals.QuoteFor(ctx, desk, rentals.QuoteRequest{RenterID: renter.ID, ProductID: "wc", Days: r.days})
		if err != nil {
			t.Fatal(err)
		}
		pay := rentals.Payment{Method: rentals.PayCash, AmountFen: q.DueNowFen}
		if q.DueNowFen == 0 {
			pay.Method = rentals.PayWaived
		}
		if _, err := s.rentals.Checkout(ctx, desk, rentals.CheckoutRequest{UnitTag: r.unit, RenterID: renter.ID, Days: r.days,
			Payments: []rentals.Payment{pay}, TermsVersion: "2026-01", AcceptedName: r.name, StationID: r.station}, tenancy.System); err != nil {
			t.Fatalf("lease %d: %v", i, err)
		}
	}
}

// The statement pages: who may open them, the lines and totals they show,
// and every wrong form answered 400 with the field named, never a 500 and
// never a step taken.
func TestStatementPages(t *testing.T) {
	w := newOpWorld(t)
	lastMonthLeases(t, w.s)
	const oct = "/operator/statements/2026-10"

	for _, c := range []opCaller{w.platform, w.staffB} {
		wantStatus(t, w.page(t, c, "/operator/statements"), http.StatusForbidden, c.name+" opens the operator's statements")
	}
	for _, c := range []opCaller{w.adminA, w.staffB} {
		wantStatus(t, w.page(t, c, "/admin/statements"), http.StatusForbidden, c.name+" opens the city's statements")
	}
	if loc := w.page(t, w.nobody, "/operator/statements").Header().Get("Location"); !strings.HasPrefix(loc, "/login") {
		t.Errorf("nobody is sent to %q", loc)
	}

	list := w.page(t, w.adminA, "/operator/statements")
	wantStatus(t, list, http.StatusOK, "A's months")
	for _, want := range []string{`href="/operator/statements/2026-10"`, "2026年10月", "¥130", `aria-current="page">补贴结算单`} {
		if !strings.Contains(list.Body.String(), want) {
			t.Errorf("A's months lack %q", want)
		}
	}
	pg := w.page(t, w.adminA, oct)
	wantStatus(t, pg, http.StatusOK, "A's October")
	body := pg.Body.String()
	for _, want := range []string{"赵**", "钱**", "特困 / 低保", "低保证", "北站", "南站", "山阳区", "¥90", "¥40", "¥130",
		`action="/operator/statements/2026-10/submit"`, "/api/v1/operator/statements/2026-10/csv?lang=zh", "/api/v1/operator/statements/2026-10/pdf?lang=zh"} {
		if !strings.Contains(body, want) {
			t.Errorf("October's page lacks %q", want)
		}
	}
	if strings.Contains(body, "赵桂兰") {
		t.Error("October's page shows a renter's full name")
	}
	if b := w.page(t, w.adminB, oct).Body.String(); strings.Contains(b, "¥130") || strings.Contains(b, "赵**") {
		t.Error("B's admin sees A's October")
	}
	// November is not over: no form.
	if strings.Contains(w.page(t, w.adminA, "/operator/statements/2026-11").Body.String(), "/submit") {
		t.Error("the open month offers a submit form")
	}
	wantStatus(t, w.page(t, w.adminA, "/operator/statements/2026-13"), http.StatusBadRequest, "month 13")

	// Submitting without ticking the box: 400, the box named, nothing sent.
	rec := w.form(t, w.adminA, oct+"/submit", url.Values{})
	wantStatus(t, rec, http.StatusBadRequest, "submit unticked")
	if !strings.Contains(rec.Body.String(), "请勾选确认您已核对明细") || !strings.Contains(rec.Body.String(), `href="#f-stmt_confirm"`) {
		t.Errorf("unticked submit does not name the box: %.2000s", rec.Body.String())
	}
	rec = w.form(t, w.adminA, "/operator/statements/2026-11/submit", url.Values{"stmt_confirm": {"on"}})
	wantStatus(t, rec, http.StatusBadRequest, "submit the open month")
	if !strings.Contains(rec.Body.String(), "本月尚未结束") {
		t.Error("submitting the open month does not say why")
	}
	if strings.Contains(w.page(t, w.platform, "/admin/statements").Body.String(), "/admin/statements/op-a/2026-10") {
		t.Fatal("a refused submission reached the city's queue")
	}
	rec = w.form(t, w.adminA, oct+"/submit", url.Values{"stmt_confirm": {"on"}})
	wantStatus(t, rec, http.StatusSeeOther, "submit")
	if rec.Header().Get("Location") != oct {
		t.Errorf("after submitting: %s", rec.Header().Get("Location"))
	}
	body = w.page(t, w.adminA, oct).Body.String()
	if !strings.Contains(body, `id="stmt-hash"`) || strings.Contains(body, `/submit"`) {
		t.Error("a submitted statement shows no hash, or still a submit form")
	}
	wantStatus(t, w.form(t, w.adminA, oct+"/submit", url.Values{"stmt_confirm": {"on"}}), http.StatusConflict, "submit twice")
	for _, c := range []opCaller{w.adminA, w.platform} {
		path := map[bool]string{true: "/admin/statements", false: "/operator/statements"}[c == w.platform]
		rec := w.page(t, c, path)
		wantStatus(t, rec, http.StatusOK, c.name+"'s list after submitting")
		if !strings.Contains(rec.Body.String(), "已提交") || !strings.Contains(rec.Body.String(), "/2026-10\"") {
			t.Errorf("%s's list does not show October submitted", c.name)
		}
	}

	// The city: wrong decisions name their field and change nothing.
	adm := "/admin/statements/op-a/2026-10"
	rec = w.form(t, w.platform, adm+"/return", url.Values{"reasons": {"  "}})
	wantStatus(t, rec, http.StatusBadRequest, "return without reasons")
	if !strings.Contains(rec.Body.String(), `id="e-reasons"`) || !strings.Contains(rec.Body.String(), "退回原因: ") {
		t.Errorf("return without reasons does not name the field: %.3000s", rec.Body.String())
	}
	wantStatus(t, w.form(t, w.platform, adm+"/paid", url.Values{"paid_on": {"2026-12-05"}, "reference": {"X"}}), http.StatusConflict, "paid before approval")
	wantStatus(t, w.form(t, w.platform, adm+"/approve", url.Values{"hash": {strings.Repeat("0", 64)}}), http.StatusConflict, "approve other content")
	wantStatus(t, w.form(t, w.platform, adm+"/approve", url.Values{}), http.StatusSeeOther, "approve")
	rec = w.form(t, w.platform, adm+"/paid", url.Values{"paid_on": {"5 December"}, "reference": {""}})
	wantStatus(t, rec, http.StatusBadRequest, "paid with a bad date")
	for _, want := range []string{`id="e-paid_on"`, `id="e-reference"`, "请输入日期", `value="5 December"`} {
		if !strings.Contains(rec.Body.String(), want) {
			t.Errorf("paid with a bad date lacks %q", want)
		}
	}
	// A date typed the Chinese way is read as one.
	wantStatus(t, w.form(t, w.platform, adm+"/paid", url.Values{"paid_on": {"2026/12/05"}, "reference": {"JZCZ-77"}}), http.StatusSeeOther, "paid")
	body = w.page(t, w.platform, adm).Body.String()
	for _, want := range []string{"已拨付", "2026-12-05", "JZCZ-77"} {
		if !strings.Contains(body, want) {
			t.Errorf("the paid statement lacks %q", want)
		}
	}
	en := w.page(t, w.adminA, oct+"?lang=en").Body.String()
	for _, want := range []string{"Subsidy statement, October 2026", "Paid", "Download CSV", "North"} {
		if !strings.Contains(en, want) {
			t.Errorf("the English page lacks %q", want)
		}
	}
}
