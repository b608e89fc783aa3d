package web

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"fuju/internal/testenv"
)

// tab is a headless Chromium at console width on the test server, with steps
// that fail the test under their name.
type tab struct {
	t    *testing.T
	ctx  context.Context
	base string
}

func newTab(t *testing.T, base string) *tab {
	tb := &tab{t: t, ctx: testenv.Browser(t), base: base}
	tb.do("console width", chromedp.EmulateViewport(1024, 900))
	return tb
}

func (tb *tab) do(name string, actions ...chromedp.Action[chromedp.Void]) {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		tb.t.Fatalf("%s: %v", name, err)
	}
}

func (tb *tab) text(sel string) string {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 20*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		tb.t.Fatalf("text of %s: %v", sel, err)
	}
	return strings.TrimSpace(s)
}

func (tb *tab) eval(js string) string {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 20*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](js))
	if err != nil {
		tb.t.Fatalf("evaluate %s: %v", js, err)
	}
	return s
}

// login signs in through the login page and waits for the console.
func (tb *tab) login(phone, wait string) {
	tb.t.Helper()
	tb.do("log in "+phone, chromedp.Navigate(tb.base+"/login"), chromedp.WaitVisible(chromedp.CSS("#f-login")),
		chromedp.SendKeys(chromedp.CSS("#f-login"), phone), chromedp.SendKeys(chromedp.CSS("#f-password"), pw),
		chromedp.Click(chromedp.CSS(`form[action="/login"] button[type=submit]`)),
		// The login page has a "main h1" too: wait until the browser has
		// left it, or the next navigation aborts the one in flight.
		chromedp.WaitNotPresent(chromedp.CSS("#f-login")),
		chromedp.WaitVisible(chromedp.CSS(wait)))
}

// An operator admin submits last month's statement through its form; the
// city returns it with a reason; the operator reads the reason and submits
// again; the city approves it and records the payment; both see it paid. Two
// browsers, each with its own login, on one server.
func TestStatementLifecycleInBrowser(t *testing.T) {
	w := newOpWorld(t)
	lastMonthLeases(t, w.s)
	srv := httptest.NewServer(w.s)
	t.Cleanup(srv.Close)
	css := func(s string) chromedp.CSS { return chromedp.CSS(s) }
	const reason = "钱**的低收入证明编号与台账不符，请核对后重新提交"

	op := newTab(t, srv.URL)
	op.login("13812340001", ".op-nav") // admin A
	op.do("open the statements", chromedp.Click(css(`.op-nav a[href="/operator/statements"]`)), chromedp.WaitVisible(css("#stmt-months")))
	if got := op.text(`#stmt-months tr[data-month="2026-10"] td`); !strings.Contains(got, "草稿") || !strings.Contains(got, "可以提交") {
		t.Fatalf("October in the list: %q", got)
	}
	op.do("open October", chromedp.Click(css(`a[href="/operator/statements/2026-10"]`)), chromedp.WaitVisible(css("table.stmt-lines")))
	if n := op.eval(`String(document.querySelectorAll("table.stmt-lines tbody tr").length)`); n != "2" {
		t.Fatalf("October has %s lines", n)
	}
	if got := op.text("#stmt-total"); got != "¥130" {
		t.Fatalf("October's total %q", got)
	}
	submit := func(step string) {
		op.do(step, chromedp.Click(css("#f-stmt_confirm")), chromedp.Click(css(`form[action$="/submit"] button[type=submit]`)),
			chromedp.WaitVisible(css("#stmt-hash")))
		if got := op.text("#stmt-status"); got != "已提交" {
			t.Fatalf("%s: status %q", step, got)
		}
		if h := op.text("#stmt-hash"); len(h) != 64 {
			t.Fatalf("%s: hash %q", step, h)
		}
	}
	// The box unticked: the page says what is missing and sends nothing.
	op.do("submit unticked", chromedp.Click(css(`form[action$="/submit"] button[type=submit]`)), chromedp.WaitVisible(css(".alert[role=alert]")))
	if got := op.text(".alert[role=alert]"); !strings.Contains(got, "请勾选确认") {
		t.Fatalf("unticked submit says %q", got)
	}
	submit("submit")
	hash := op.text("#stmt-hash")

	city := newTab(t, srv.URL)
	city.login("13812340006", ".adm-nav") // the platform
	city.do("open the queue", chromedp.Click(css(`.adm-nav a[href="/admin/statements"]`)), chromedp.WaitVisible(css("#stmt-submitted")))
	city.do("open A's October", chromedp.Click(css(`#stmt-submitted a[href="/admin/statements/op-a/2026-10"]`)), chromedp.WaitVisible(css("#f-reasons")))
	if got := city.text("#stmt-hash"); got != hash {
		t.Fatalf("the city reads hash %q, the operator %q", got, hash)
	}
	city.do("return", chromedp.SendKeys(css("#f-reasons"), reason), chromedp.Click(css(`form[action$="/return"] button[type=submit]`)),
		chromedp.WaitVisible(css("#stmt-reasons")))
	if got := city.text("#stmt-status"); got != "已退回" {
		t.Fatalf("after returning: %q", got)
	}

	op.do("the operator's list", chromedp.Navigate(srv.URL+"/operator/statements"), chromedp.WaitVisible(css("#stmt-months")))
	if got := op.text(`#stmt-months tr[data-month="2026-10"]`); !strings.Contains(got, "已退回") || !strings.Contains(got, reason) {
		t.Fatalf("October in the list after the return: %q", got)
	}
	op.do("open the returned October", chromedp.Click(css(`a[href="/operator/statements/2026-10"]`)), chromedp.WaitVisible(css("#stmt-reasons")))
	if got := op.text("#stmt-reasons"); got != reason {
		t.Fatalf("the operator reads %q", got)
	}
	submit("submit again")

	city.do("reopen", chromedp.Navigate(srv.URL+"/admin/statements/op-a/2026-10"), chromedp.WaitVisible(css(`form[action$="/approve"]`)))
	city.do("approve", chromedp.Click(css(`form[action$="/approve"] button[type=submit]`)), chromedp.WaitVisible(css("#f-paid_on")))
	if got := city.text("#stmt-status"); got != "已核准" {
		t.Fatalf("after approving: %q", got)
	}
	city.do("mark paid", chromedp.SendKeys(css("#f-paid_on"), "2026-12-05"), chromedp.SendKeys(css("#f-reference"), "JZCZ-2026-1205"),
		chromedp.Click(css(`form[action$="/paid"] button[type=submit]`)), chromedp.WaitNotPresent(css("#f-paid_on")))
	if got := city.text("#stmt-status"); got != "已拨付" {
		t.Fatalf("after paying: %q", got)
	}
	city.do("the queue", chromedp.Navigate(srv.URL+"/admin/statements"), chromedp.WaitVisible(css("#stmt-paid")))
	if got := city.text("#stmt-paid"); !strings.Contains(got, "2026年10月") {
		t.Fatalf("the paid group: %q", got)
	}

	op.do("the operator sees it paid", chromedp.Navigate(srv.URL+"/operator/statements/2026-10"), chromedp.WaitVisible(css("#stmt-status")))
	if got := op.text("#stmt-status"); got != "已拨付" {
		t.Fatalf("the operator sees %q", got)
	}
	if got := op.text(".stmt-facts"); !strings.Contains(got, "JZCZ-2026-1205") || !strings.Contains(got, hash) {
		t.Fatalf("the operator's facts: %q", got)
	}
}
