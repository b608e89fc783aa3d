package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"fuju/cmd/internal/demo"
	"fuju/internal/l10n"
	"fuju/internal/testenv"
)

// until polls the JavaScript expression js until it yields true.
func (p *page) until(name, js string) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 20*time.Second)
	defer cancel()
	for {
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](js))
		if err == nil && ok {
			return
		}
		select {
		case <-ctx.Done():
			p.t.Fatalf("%s: %s never held (%v)", name, js, err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// load runs actions that make the browser load a new document (submitting a
// form, following a link) and waits until the new one has loaded.
func (p *page) load(name string, actions ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	p.do(name+" (mark)", chromedp.Evaluate[chromedp.Void](`document.documentElement.dataset.before = "1"`))
	p.do(name, actions...)
	p.until(name, `document.readyState === "complete" && document.documentElement.dataset.before !== "1" && !!document.querySelector("main")`)
}

// is evaluates a JavaScript expression yielding a boolean.
func (p *page) is(js string) bool {
	p.t.Helper()
	return p.eval(`String(!!(`+js+`))`) == "true"
}

// loginStaff logs in as the demo city's staff member and sets a tablet-sized
// window.
func (p *page) loginStaff() {
	p.t.Helper()
	p.do("tablet window", chromedp.EmulateViewport(1024, 900))
	p.load("log in", chromedp.Navigate(p.base+"/login"), chromedp.WaitVisible(chromedp.CSS("#f-login")),
		chromedp.SendKeys(chromedp.CSS("#f-login"), "13800000003"), chromedp.SendKeys(chromedp.CSS("#f-password"), demo.DemoPassword),
		chromedp.Submit(chromedp.CSS("#f-password")))
	p.do("desk", chromedp.WaitVisible(chromedp.CSS(".desk-bar")))
}

// smallTargets lists the links and buttons styled as buttons that are
// smaller than 44×44 CSS pixels.
func (p *page) smallTargets() string {
	p.t.Helper()
	return p.eval(`[...document.querySelectorAll("a.button, button.button, .actions a, details.more > summary")]
		.filter(e => e.offsetParent !== null)
		.map(e => [e, e.getBoundingClientRect()])
		.filter(([e, r]) => r.width < 44 || r.height < 44)
		.map(([e, r]) => e.textContent.trim() + " " + Math.round(r.width) + "x" + Math.round(r.height)).join("; ")`)
}

// Three returns at the desk in a real browser, each walked as staff walk it,
// every form submitted as the browser sends it (hidden fields included): a
// no-deposit renter's plain return, a standard renter's deposit refund (in
// English), and damage larger than the deposit, which collects the
// difference. Each shows the settlement before it is confirmed, and the
// ledger afterwards agrees with it.
func TestCheckinInBrowser(t *testing.T) {
	in := start(t, map[string]string{"DATA_DIR": t.TempDir(), "FUJU_DEMO": "true"})
	p := newPage(t, in.URL)
	p.loginStaff()
	p.load("Minzhu Road desk", chromedp.Navigate(in.URL+"/staff?station=jf-minzhu"))

	// 1. 赵桂兰 (subsistence, no deposit) brings back the commode chair.
	p.load("open check-in", chromedp.Navigate(in.URL+"/staff/checkin?unit=JZ-CN-0001"))
	if got := p.text("#lease-h + p"); !strings.Contains(got, "赵桂兰") {
		t.Fatalf("check-in of JZ-CN-0001 is not 赵桂兰's lease: %q", got)
	}
	if got := p.text("dl.settlement"); !strings.Contains(got, "无需收款或退款") || !strings.Contains(got, "免押金") {
		t.Errorf("plain return of a no-deposit renter: %q", got)
	}
	if p.is(`document.body.textContent.includes("退还押金")`) {
		t.Error(`the page offers to "refund the deposit" to a renter who paid none`)
	}
	p.load("review without an inspection", chromedp.Click(chromedp.CSS(`form[action="/staff/checkin"] button[type=submit]`)))
	if !p.is(`document.querySelector("#e-outcome")`) || p.is(`document.querySelector("#set-h")`) {
		t.Fatal("a review without an inspection result is not refused on the inspection step")
	}
	p.load("review the good-condition return", chromedp.Click(chromedp.CSS(`input[name=outcome][value=ok]`)),
		chromedp.Click(chromedp.CSS(`form[action="/staff/checkin"] button[type=submit]`)))
	if got := p.text("dl.settlement"); !strings.Contains(got, "无需收款或退款") {
		t.Errorf("settlement of the plain return: %q", got)
	}
	if p.is(`document.querySelector("#f-pay_amount, #f-refund_method")`) {
		t.Error("nothing is owed either way, yet the page asks for a payment or a refund")
	}
	p.load("confirm", chromedp.Click(chromedp.CSS(`form[method=post][action="/staff/checkin"] button[type=submit]`)))
	p.do("closed", chromedp.WaitVisible(chromedp.CSS(".badge.lease-closed")))
	if got := p.text("table.desk tfoot"); !strings.Contains(got, "¥0") {
		t.Errorf("ledger after the plain return: %q", got)
	}

	// 2. 李建国 (standard, ¥300 deposit) returns the wheelchair: the deposit
	// comes back. In English this time.
	p.load("English", chromedp.Navigate(in.URL+"/lang/en?next=/staff/checkin%3Funit%3DJZ-WC-0001"))
	if got := p.text("dl.settlement"); !strings.Contains(got, "Refund to the renter") || !strings.Contains(got, "¥300") {
		t.Errorf("plain return with a deposit: %q", got)
	}
	p.load("review", chromedp.Click(chromedp.CSS(`input[name=outcome][value=ok]`)),
		chromedp.Click(chromedp.CSS(`form[action="/staff/checkin"] button[type=submit]`)))
	if got := p.text(`form[method=post][action="/staff/checkin"] legend`); !strings.Contains(got, "Refund the deposit, ¥300") {
		t.Errorf("refund legend: %q", got)
	}
	if p.is(`document.querySelector("#f-pay_amount")`) {
		t.Error("a refund asks for a payment amount")
	}
	p.load("refund by transfer without its reference", chromedp.SetValue(chromedp.CSS("#f-refund_method"), "offline_mobile"),
		chromedp.Click(chromedp.CSS(`form[method=post][action="/staff/checkin"] button[type=submit]`)))
	if !p.is(`document.querySelector("#e-refund_reference")`) || p.eval(`document.querySelector("#f-refund_method").value`) != "offline_mobile" {
		t.Fatal("a transfer refund without its reference is not refused, or the method chosen was lost")
	}
	p.load("refund in cash", chromedp.SetValue(chromedp.CSS("#f-refund_method"), "cash"),
		chromedp.Click(chromedp.CSS(`form[method=post][action="/staff/checkin"] button[type=submit]`)))
	p.do("closed", chromedp.WaitVisible(chromedp.CSS(".badge.lease-closed")))
	ledger := p.text("table.desk")
	for _, want := range []string{"Deposit returned", "Refund", "Cash", "¥300"} {
		if !strings.Contains(ledger, want) {
			t.Errorf("ledger of the refund lacks %q:\n%s", want, ledger)
		}
	}
	p.load("中文", chromedp.Navigate(in.URL+"/lang/zh?next=/staff"))

	// 3. 吴长林 (standard, ¥100 deposit) brings the walker back with a
	// broken leg: ¥150 of damage, ¥50 more than the deposit.
	p.load("open check-in", chromedp.Navigate(in.URL+"/staff/checkin?unit=JZ-WK-0001"))
	p.load("damage without saying what", chromedp.Click(chromedp.CSS(`input[name=outcome][value=damaged]`)),
		chromedp.SendKeys(chromedp.CSS("#f-damage"), "150"), chromedp.Click(chromedp.CSS(`form[action="/staff/checkin"] button[type=submit]`)))
	if !p.is(`document.querySelector("#e-notes")`) || p.eval(`document.querySelector("#f-damage").value`) != "150" ||
		!p.is(`document.querySelector("input[name=outcome][value=damaged]").checked`) {
		t.Fatal("damage without notes: not refused, or what was entered was lost")
	}
	p.load("review the damage", chromedp.SendKeys(chromedp.CSS("#f-notes"), "一条腿断了"),
		chromedp.Click(chromedp.CSS(`form[action="/staff/checkin"] button[type=submit]`)))
	set := p.text("dl.settlement")
	for _, want := range []string{"¥150", "− ¥100", "租借人需付", "¥50"} {
		if !strings.Contains(set, want) {
			t.Errorf("settlement of ¥150 damage against a ¥100 deposit lacks %q: %q", want, set)
		}
	}
	if got := p.eval(`document.querySelector("#f-pay_amount").value`); got != "50" {
		t.Errorf("the payment is not prefilled with what is owed: %q", got)
	}
	p.load("change the inspection", chromedp.Click(chromedp.CSS(`#set-h ~ p a.button`)))
	if p.eval(`document.querySelector("#f-damage").value`) != "150" || p.eval(`document.querySelector("#f-notes").value`) != "一条腿断了" {
		t.Fatal("going back to the inspection lost what was entered")
	}
	p.load("more damage", chromedp.SetValue(chromedp.CSS("#f-damage"), "180"),
		chromedp.Click(chromedp.CSS(`form[action="/staff/checkin"] button[type=submit]`)))
	if got := p.eval(`document.querySelector("#f-pay_amount").value`); got != "80" {
		t.Errorf("after ¥180 of damage the renter owes ¥80, the form asks %q", got)
	}
	p.load("collect the difference", chromedp.Click(chromedp.CSS(`form[method=post][action="/staff/checkin"] button[type=submit]`)))
	p.do("closed", chromedp.WaitVisible(chromedp.CSS(".badge.lease-closed")))
	ledger = p.text("table.desk")
	for _, want := range []string{"损坏赔偿", "¥180", "押金退回", "¥100", "收款", "¥80"} {
		if !strings.Contains(ledger, want) {
			t.Errorf("ledger of the damaged return lacks %q:\n%s", want, ledger)
		}
	}
	if got := p.text("table.desk tfoot"); !strings.Contains(got, "¥0") {
		t.Errorf("ledger balance after the damaged return: %q", got)
	}
}

// The check-out in a real browser, as one flow: the renter found, the term
// quoted again, the income tier verified inline (the first attempt refused),
// a signature forgotten, and through all of it the ticked terms box and what
// was typed stay; the flow ends on the lease's receipt, which prints on A4
// and on 80 mm receipt paper.
func TestCheckoutInBrowser(t *testing.T) {
	in := start(t, map[string]string{"DATA_DIR": t.TempDir(), "FUJU_DEMO": "true"})
	tag := availableAt(t, in.URL, "jf-minzhu")
	p := newPage(t, in.URL)
	p.loginStaff()
	p.load("Minzhu Road desk", chromedp.Navigate(in.URL+"/staff?station=jf-minzhu"))
	p.load("scan", chromedp.SendKeys(chromedp.CSS("#scan-unit"), tag+"\n"))
	p.load("start check-out", chromedp.Click(chromedp.CSS(`a[href^="/staff/checkout"]`)))
	p.load("look up", chromedp.SendKeys(chromedp.CSS("#f-phone-find"), "13912345601"), chromedp.Submit(chromedp.CSS("#f-phone-find")))
	p.load("register", chromedp.SendKeys(chromedp.CSS("#f-name"), "钱奶奶"), chromedp.SendKeys(chromedp.CSS("#f-id_number"), "11010519491231002X"),
		chromedp.Submit(chromedp.CSS("#f-name")))
	p.do("quote", chromedp.WaitVisible(chromedp.CSS(".quote dl")))
	if got := p.text(".quote dl"); !strings.Contains(got, "¥300") {
		t.Fatalf("standard quote with the deposit: %q", got)
	}
	if small := p.smallTargets(); small != "" {
		t.Errorf("targets smaller than 44×44 px on the check-out: %s", small)
	}
	p.do("accept and sign", chromedp.Click(chromedp.CSS("#f-accept")), chromedp.SendKeys(chromedp.CSS("#f-accepted_name"), "钱奶奶"))
	kept := func(step string) {
		t.Helper()
		if !p.is(`document.querySelector("#f-accept").checked`) {
			t.Errorf("%s: the ticked terms box was lost", step)
		}
		if got := p.eval(`document.querySelector("#f-accepted_name").value`); got != "钱奶奶" && !strings.Contains(step, "signature") {
			t.Errorf("%s: the signature was lost (%q)", step, got)
		}
	}
	p.load("quote 20 days", chromedp.SetValue(chromedp.CSS("#f-days"), "20"),
		chromedp.Click(chromedp.CSS(`button[formaction="/staff/checkout/quote"]`)))
	if got := p.text("#quote-h"); !strings.Contains(got, "20 天") {
		t.Errorf("quote after asking for 20 days: %q", got)
	}
	kept("new quote")
	if got := p.eval(`document.querySelector("#f-tier").value`); got != "" {
		t.Errorf("the tier form of a standard renter defaults to %q, not to no tier", got)
	}
	p.do("open the tier verification", chromedp.Click(chromedp.CSS("details.more > summary")))
	p.load("verify without a photo", chromedp.SetValue(chromedp.CSS("#f-tier"), "low_income"),
		chromedp.SetValue(chromedp.CSS("#f-proof_type"), "low_income_certificate"),
		chromedp.SendKeys(chromedp.CSS("#f-proof_number"), "JZ2026-0901"),
		chromedp.SetValue(chromedp.CSS("#f-expires_on"), time.Now().AddDate(1, 0, 0).Format(time.DateOnly)),
		chromedp.Click(chromedp.CSS(`button[formaction="/staff/checkout/tier"]`)))
	if !p.is(`document.querySelector("#e-proof_photo")`) || !p.is(`document.querySelector("details.more").open`) ||
		p.eval(`document.querySelector("#f-proof_number").value`) != "JZ2026-0901" || p.eval(`document.querySelector("#f-tier").value`) != "low_income" {
		t.Fatal("a verification without the photo: not refused inline, or what was typed was lost")
	}
	kept("refused verification")
	p.load("verify with the photo", chromedp.SetUploadFiles(chromedp.CSS("#f-proof_photo"), []string{proofPhoto(t)}),
		chromedp.Click(chromedp.CSS(`button[formaction="/staff/checkout/tier"]`)))
	quote := p.text(".quote dl")
	if !strings.Contains(quote, "免押金") || !strings.Contains(p.text("#quote-h"), "20 天") || !strings.Contains(p.text(".flash"), "收入档位") {
		t.Errorf("the same check-out after the verification, quoted for the low-income tier: %q", quote)
	}
	kept("verification")
	due := p.eval(`document.querySelector(".quote .big-money").textContent`)
	if got := "¥" + p.eval(`document.querySelector("#f-pay_amount").value`); got != due {
		t.Errorf("the payment (%s) does not follow the new quote (%s)", got, due)
	}
	p.load("lend without a signature", chromedp.Evaluate[chromedp.Void](`document.querySelector("#f-accepted_name").value = ""`),
		chromedp.Click(chromedp.CSS(`form[action="/staff/checkout"] > button.big`)))
	if !p.is(`document.querySelector("#e-accepted_name")`) {
		t.Fatal("lent without a signature")
	}
	kept("missing signature")
	p.load("lend", chromedp.SendKeys(chromedp.CSS("#f-accepted_name"), "钱奶奶"),
		chromedp.Click(chromedp.CSS(`form[action="/staff/checkout"] > button.big`)))

	// The receipt.
	if got := p.text("h1"); got != "借出完成" {
		t.Fatalf("the check-out ends on %q", got)
	}
	receipt := p.text(".receipt")
	earliest := time.Now().In(l10n.Local).AddDate(0, 0, 20).Format(time.DateOnly)
	for _, want := range []string{"0391-3561201", "钱奶奶", tag, "低收入", "政府补贴", "租借人支付租金", "条款", "已于"} {
		if !strings.Contains(receipt, want) {
			t.Errorf("the receipt lacks %q:\n%s", want, receipt)
		}
	}
	dueOn := p.text(".receipt .due dd strong")
	if dueOn < earliest {
		t.Errorf("due %s, before 20 days from today (%s)", dueOn, earliest)
	}
	if small := p.smallTargets(); small != "" {
		t.Errorf("targets smaller than 44×44 px on the receipt: %s", small)
	}

	// It prints on A4 and on 80 mm receipt paper: everything there, one
	// page, nothing wider than the paper.
	pdftotext := testenv.Command(t, "pdftotext", "poppler-utils")
	for _, paper := range []struct {
		name    string
		widthIn float64
	}{{"A4", 8.27}, {"80mm", 80 / 25.4}} {
		res, err := chromedp.Call(p.ctx, cdppage.PrintToPDF, cdppage.PrintToPDFParams{PaperWidth: paper.widthIn, PaperHeight: 11.69})
		if err != nil {
			t.Fatalf("print on %s: %v", paper.name, err)
		}
		file := filepath.Join(t.TempDir(), paper.name+".pdf")
		if err := os.WriteFile(file, res.Data, 0o600); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(pdftotext, file, "-").Output()
		if err != nil {
			t.Fatalf("pdftotext %s: %v", paper.name, err)
		}
		text := string(out)
		for _, want := range []string{"借出完成", dueOn, "0391-3561201", "政府补贴", "签字"} {
			if !strings.Contains(text, want) {
				t.Errorf("the receipt printed on %s lacks %q:\n%s", paper.name, want, text)
			}
		}
		for _, never := range []string{"扫码", "今日待办", "打印协议"} {
			if strings.Contains(text, never) {
				t.Errorf("the receipt printed on %s shows the desk's %q", paper.name, never)
			}
		}
		if pages := strings.Count(text, "\f"); pages != 1 {
			t.Errorf("the receipt takes %d pages on %s", pages, paper.name)
		}
	}
	if _, err := chromedp.Call(p.ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{Media: "print"}); err != nil {
		t.Fatal(err)
	}
	p.do("80 mm wide", chromedp.EmulateViewport(302, 1100))
	if wide := p.eval(`[...document.querySelectorAll(".receipt *")].filter(e => e.getBoundingClientRect().right > window.innerWidth + 1).map(e => e.tagName + " " + e.textContent.slice(0, 20)).join("; ")`); wide != "" {
		t.Errorf("printed 80 mm wide, parts of the receipt stick out: %s", wide)
	}
	receiptURL := p.eval(`location.pathname`)
	p.load("in English", chromedp.Navigate(in.URL+"/lang/en?next="+receiptURL))
	if got := p.text("h1") + " " + p.text(".receipt"); !strings.Contains(got, "Lent out: receipt") || !strings.Contains(got, "Return by") ||
		!strings.Contains(got, "City subsidy") || !strings.Contains(got, "read and accepted these terms") {
		t.Errorf("the receipt in English: %q", got)
	}
}

// proofPhoto writes a photo of an income certificate for the tier
// verification.
func proofPhoto(t *testing.T) string {
	t.Helper()
	file := filepath.Join(t.TempDir(), "proof.jpg")
	if err := os.WriteFile(file, testJPEG(t), 0o600); err != nil {
		t.Fatal(err)
	}
	return file
}
