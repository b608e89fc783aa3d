package web

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"fuju/internal/l10n"
	"fuju/internal/tenancy"
	"fuju/internal/testenv"
	"fuju/rentals"
	"fuju/stations"
)

// A standard-tier family prepays a wheelchair reservation online (the
// service makes the Checkout Session against stripe-mock; Stripe's success
// webhook arrives signed); staff hand it over, and at the return enter ¥30
// of damage through the real check-in form: the review shows ¥270 going
// back to the card, Alipay or WeChat Pay it was paid with, the check-in
// sends that refund to Stripe, and the lease ends at a zero balance. The
// family downloads the payment's and the refund's receipts from the account
// page and the desk prints the refund's; each PDF is rasterised with
// pdftoppm and read back with its Stripe reference.
func TestPrepaidDepositRefundedAtCheckinInBrowser(t *testing.T) {
	s, srv := reserveWorld(t)
	ctx := context.Background()
	css := func(s string) chromedp.CSS { return chromedp.CSS(s) }
	ws := stripeOf(t, s)
	scope := tenancy.OperatorScope("op-a")
	if _, err := s.stations.SetPrepay(ctx, scope, "north", stations.PrepayOptional, tenancy.System); err != nil {
		t.Fatal(err)
	}
	ws.charges.Store(true)
	if _, err := s.payments.ConnectAccount(ctx, scope, tenancy.System, "op-a"); err != nil {
		t.Fatal(err)
	}

	fam := phoneTab(t, srv.URL)
	fam.login("13700000302", "main h1")
	fam.do("reserve the wheelchair", chromedp.Navigate(srv.URL+"/products/wc/reserve?station=north"), chromedp.WaitVisible(css(".quote")),
		chromedp.Click(css(`input[name=slot][value="2026-11-27T02:00:00Z"]`)),
		chromedp.Click(css(`form:has(input[name=mode][value=pickup]) button[type=submit]`)), chromedp.WaitVisible(css(".res-code")))
	fam.do("the pay button", chromedp.WaitVisible(css(`form[action$="/pay"] button`)))
	code := strings.ReplaceAll(fam.text(".res-code"), " ", "")
	// The button posts its form and is sent on to Stripe's page; the test
	// sends the same form and stops at the redirect (no network here).
	payCtx, cancel := context.WithTimeout(fam.ctx, 20*time.Second)
	got, err := chromedp.Run(payCtx, chromedp.Evaluate[string](`(async () => { const f = document.querySelector('form[action$="/pay"]');
		const r = await fetch(f.action, {method: "POST", body: new URLSearchParams(new FormData(f)), redirect: "manual"});
		return r.type; })()`, chromedp.EvalAwaitPromise))
	cancel()
	if err != nil || got != "opaqueredirect" {
		t.Fatalf("the pay form answered %q (%v), want a redirect to Stripe", got, err)
	}
	sessions := ws.created()
	if len(sessions) != 1 {
		t.Fatalf("%d Checkout Sessions", len(sessions))
	}
	var sid string
	for id, f := range sessions {
		sid = id
		if f.Get("line_items[0][price_data][unit_amount]") != "39000" {
			t.Fatalf("session amount %s", f.Get("line_items[0][price_data][unit_amount]"))
		}
	}
	ws.pay(sid)
	body, sig := stripeEvent(t, "evt_browser_paid", "checkout.session.completed", "checkout.session", sid, "2023-10-16", testWebhookSecret, time.Now())
	if rec := postWebhook(s, body, sig); rec.Code != 200 {
		t.Fatalf("webhook: %d %s", rec.Code, rec.Body)
	}
	fam.do("reload", chromedp.Reload(), chromedp.WaitVisible(css(".res-code")))
	if got := fam.text("main"); !strings.Contains(got, "已付 ¥390，其中押金 ¥300") {
		t.Fatalf("the reservation says %q", got)
	}

	// The next morning the desk hands it over: nothing more to pay.
	s.cfg.Now = func() time.Time { return time.Date(2026, 11, 27, 10, 5, 0, 0, l10n.Local) }
	desk := newTab(t, srv.URL)
	desk.login("13600000303", ".desk-bar")
	desk.do("today's pickups", chromedp.Navigate(srv.URL+"/staff/pickups"), chromedp.WaitVisible(css("#pickup-code")))
	desk.do("scan the code", chromedp.SendKeys(css("#pickup-code"), code),
		chromedp.Click(css(`form.pickup-scan button[type=submit]`)), chromedp.WaitVisible(css(`form[action$="/fulfil"]`)))
	if got := desk.eval(`document.querySelector("#f-pay_amount").value`); got != "0" {
		t.Fatalf("the handover asks for %q after prepayment", got)
	}
	desk.do("check it out", chromedp.Click(css("#f-accept")), chromedp.Click(css(`form[action$="/fulfil"] button[type=submit]`)),
		chromedp.WaitVisible(css(".flash")))
	leaseID, ok := strings.CutPrefix(desk.eval(`location.pathname`), "/staff/leases/")
	if !ok {
		t.Fatal("the desk is not on the lease after check-out")
	}

	// The return, with ¥30 damage agreed at the desk.
	desk.do("check-in page", chromedp.Navigate(srv.URL+"/staff/checkin?unit=JZ-WC-0001&station_id=north"), chromedp.WaitVisible(css("main h1")))
	if n := desk.eval(`String(document.querySelectorAll("#f-damage").length)`); n != "1" {
		t.Fatalf("no check-in form: %s", desk.eval(`document.querySelector("main").innerText`))
	}
	desk.do("inspection", chromedp.Click(css(`input[name=outcome][value=damaged]`)), chromedp.SendKeys(css("#f-notes"), "刹车松了"), chromedp.SendKeys(css("#f-damage"), "30"))
	desk.do("review", chromedp.Click(css(`form[action="/staff/checkin"][method=get] button[type=submit]`)), chromedp.WaitVisible(css("#set-h")))
	if n := desk.eval(`String(document.querySelectorAll('form[method=post][action="/staff/checkin"]').length)`); n != "1" {
		t.Fatalf("no confirmation form: %s", desk.eval(`document.querySelector("main").innerText`))
	}
	if got := desk.text("dl.settlement"); !strings.Contains(got, "¥30") || !strings.Contains(got, "经 Stripe 原路退回") || !strings.Contains(got, "¥270") {
		t.Fatalf("the settlement says %q", got)
	}
	if got := desk.text("[data-refund-online]"); !strings.Contains(got, "¥270") || !strings.Contains(got, "请勿另付现金") {
		t.Fatalf("the refund note says %q", got)
	}
	if n := desk.eval(`String(document.querySelectorAll("#f-refund_method").length)`); n != "0" {
		t.Fatal("the desk is asked how to refund a deposit Stripe returns")
	}
	desk.do("check in", chromedp.Click(css(`form[method=post][action="/staff/checkin"] button[type=submit]`)), chromedp.WaitVisible(css(".flash")))
	if got := desk.text(".flash"); !strings.Contains(got, "原路退回") {
		t.Fatalf("after the check-in the desk says %q", got)
	}
	refunds := ws.refundForms()
	if len(refunds) != 1 || refunds[0].Get("amount") != "27000" {
		t.Fatalf("Stripe refunds %v, want one of 27000", refunds)
	}
	l, err := s.rentals.Lease(ctx, scope, leaseID)
	if err != nil || l.State != rentals.LeaseClosed || l.BalanceFen != 0 || l.RefundedOnlineFen != 27000 || l.Return == nil || l.Return.DamageFen != 3000 {
		t.Fatalf("lease %+v, %v", l, err)
	}

	// The receipts: the family downloads one for the online payment and
	// one for the refund from the account page; the desk prints the
	// refund's. Each is rasterised as a printer would and read back.
	led, err := s.rentals.Ledger(ctx, scope, leaseID)
	if err != nil {
		t.Fatal(err)
	}
	var paid, refunded rentals.LedgerEntry
	for _, e := range led.Entries {
		switch e.Kind {
		case rentals.EntryPaidOnline:
			paid = e
		case rentals.EntryRefundOnline:
			refunded = e
		}
	}
	if paid.Seq == 0 || refunded.Seq == 0 || !strings.HasPrefix(paid.Reference, "pi_") || !strings.HasPrefix(refunded.Reference, "re_") {
		t.Fatalf("ledger without the online payment and refund, or their Stripe ids: %+v", led.Entries)
	}
	fam.do("the rental's receipt page", chromedp.Navigate(srv.URL+"/account/rentals/"+leaseID), chromedp.WaitVisible(css("main h1")))
	for _, e := range []rentals.LedgerEntry{paid, refunded} {
		if n := fam.eval(fmt.Sprintf(`String(document.querySelectorAll('a[href="/account/rentals/%s/receipt.pdf?entry=%d"]').length)`, leaseID, e.Seq)); n != "1" {
			t.Fatalf("the receipt page has no link to the receipt of entry %d (%s)", e.Seq, e.Kind)
		}
	}
	pdftoppm := testenv.Command(t, "pdftoppm", "poppler-utils")
	pdftotext := testenv.Command(t, "pdftotext", "poppler-utils")
	receipt := func(tb *tab, path string, want ...string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(tb.ctx, 20*time.Second)
		defer cancel()
		b64, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(async () => { const r = await fetch(`+strconv.Quote(path)+`);
			if (!r.ok || r.headers.get("Content-Type") !== "application/pdf") return "HTTP " + r.status;
			const b = new Uint8Array(await r.arrayBuffer()); let s = ""; for (const x of b) s += String.fromCharCode(x); return btoa(s); })()`, chromedp.EvalAwaitPromise))
		if err != nil {
			t.Fatalf("fetch %s: %v", path, err)
		}
		pdf, err := base64.StdEncoding.DecodeString(b64)
		if err != nil || !bytes.HasPrefix(pdf, []byte("%PDF")) {
			t.Fatalf("%s: not a PDF: %.80s", path, b64)
		}
		dir := t.TempDir()
		file := filepath.Join(dir, "receipt.pdf")
		if err := os.WriteFile(file, pdf, 0o600); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command(pdftoppm, "-r", "60", "-png", file, filepath.Join(dir, "page")).CombinedOutput(); err != nil {
			t.Fatalf("pdftoppm %s: %v %s", path, err, out)
		}
		pages, _ := filepath.Glob(filepath.Join(dir, "page*.png"))
		if len(pages) != 1 {
			t.Fatalf("%s: %d pages, want 1", path, len(pages))
		}
		if fi, err := os.Stat(pages[0]); err != nil || fi.Size() < 5000 {
			t.Errorf("%s rendered a blank page", path)
		}
		out, err := exec.Command(pdftotext, "-layout", file, "-").Output()
		if err != nil {
			t.Fatal(err)
		}
		text := string(out)
		for _, w := range want {
			if !strings.Contains(text, w) {
				t.Errorf("%s lacks %q:\n%s", path, w, text)
			}
		}
		if strings.Contains(text, "13700000302") {
			t.Errorf("%s shows the family's phone number", path)
		}
	}
	paidPDF := fmt.Sprintf("/account/rentals/%s/receipt.pdf?entry=%d", leaseID, paid.Seq)
	refundPDF := fmt.Sprintf("/account/rentals/%s/receipt.pdf?entry=%d", leaseID, refunded.Seq)
	// Chinese words are drawn as images (pdftotext cannot read them back);
	// the figures stay text. The English receipts are read word for word.
	receipt(fam, paidPDF, "390.00", "300.00", "90.00", fmt.Sprintf("%s #%d", leaseID, paid.Seq))
	receipt(fam, paidPDF+"&lang=en", "This receipt acknowledges a payment", "390.00", "Deposit", "300.00", "online (Stripe)",
		"Reference: "+paid.Reference)
	receipt(fam, refundPDF+"&lang=en", "This receipt acknowledges a refund", "270.00", "Damage", "30.00", "Reference: "+refunded.Reference)
	receipt(desk, fmt.Sprintf("/staff/leases/%s/receipt.pdf?entry=%d&lang=en", leaseID, refunded.Seq),
		"This receipt acknowledges a refund", "270.00", "Damage", "Reference: "+refunded.Reference)
}
