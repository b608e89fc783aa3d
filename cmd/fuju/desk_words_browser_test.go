package main

import (
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"fuju/cmd/internal/demo"
)

// At the desk in a real browser, people type as they do: the renter search
// finds the demo renter 李建国 by a full-width, spaced mobile number, by name
// (masked) and by the last four characters of the ID number; a check-out
// with too little money says so in the reader's words, in yuan, in Chinese
// and in English.
func TestDeskWordsInBrowser(t *testing.T) {
	in := start(t, map[string]string{"DATA_DIR": t.TempDir(), "FUJU_DEMO": "true"})
	tag := availableAt(t, in.URL, "jf-minzhu")
	p := newPage(t, in.URL)
	step, text := p.do, p.text
	step("log in", chromedp.Navigate(in.URL+"/login"), chromedp.WaitVisible(chromedp.CSS("#f-login")),
		chromedp.SendKeys(chromedp.CSS("#f-login"), "13800000003"), chromedp.SendKeys(chromedp.CSS("#f-password"), demo.DemoPassword),
		chromedp.Submit(chromedp.CSS("#f-password")), chromedp.WaitVisible(chromedp.CSS(".desk-bar")))
	search := func(what, query string) string {
		t.Helper()
		step("search "+what, chromedp.Navigate(in.URL+"/staff/renters?station=jf-minzhu"), chromedp.WaitVisible(chromedp.CSS("#f-phone-find")),
			chromedp.SendKeys(chromedp.CSS("#f-phone-find"), query), chromedp.Submit(chromedp.CSS("#f-phone-find")),
			chromedp.WaitVisible(chromedp.CSS("#found-h")))
		return text(".found-list")
	}
	// The demo renters' mobile numbers are 139000001NN; 李建国 is the fourth.
	byPhone := search("by a full-width mobile number", "１３９ ００００ ０１０３")
	if !strings.Contains(byPhone, "李建国") || !strings.Contains(byPhone, "139****0103") {
		t.Fatalf("a full-width phone number did not find 李建国:\n%s", byPhone)
	}
	byName := search("by name", "李建")
	if !strings.Contains(byName, "李**") || strings.Contains(byName, "李建国") {
		t.Fatalf("a name search should list the renter masked:\n%s", byName)
	}
	tail := regexp.MustCompile(`身份证尾号 ([0-9]{3}[0-9X])`).FindStringSubmatch(byName)
	if tail == nil {
		t.Fatalf("no ID tail in the results:\n%s", byName)
	}
	byID := search("by the ID number's last four", strings.ToLower(tail[1]))
	if !strings.Contains(byID, "李**") || !strings.Contains(byID, "139****0103") {
		t.Fatalf("the ID tail %s did not find 李建国:\n%s", tail[1], byID)
	}
	if got := search("a name nobody has", "欧阳"); !strings.Contains(got, "没有找到") {
		t.Errorf("an unknown name: %q", got)
	}
	if got := text("#reg-h"); got == "" {
		t.Error("no registration form after finding nobody")
	}

	// Check-out: the renter chosen from the search, too little paid.
	step("start check-out", chromedp.Navigate(in.URL+"/staff/checkout?unit="+tag), chromedp.WaitVisible(chromedp.CSS("#f-phone-find")),
		chromedp.SendKeys(chromedp.CSS("#f-phone-find"), "+86 139-0000-0103"), chromedp.Submit(chromedp.CSS("#f-phone-find")),
		chromedp.WaitVisible(chromedp.CSS(`.found-list a[href*="renter="]`)))
	step("choose the renter", chromedp.Click(chromedp.CSS(`.found-list a[href*="renter="]`)), chromedp.WaitVisible(chromedp.CSS(".quote")))
	due := text(".quote .big-money")
	quote := p.eval(`location.pathname + location.search`)
	pay := func(lang string) string {
		t.Helper()
		step("pay too little ("+lang+")", chromedp.Navigate(in.URL+quote), chromedp.WaitVisible(chromedp.CSS("#f-pay_amount")),
			chromedp.Evaluate[chromedp.Void](`document.querySelector("#f-pay_amount").value = ""`),
			chromedp.SendKeys(chromedp.CSS("#f-pay_amount"), "２０．５"),
			chromedp.Click(chromedp.CSS(`input[name="accept"]`)), chromedp.SendKeys(chromedp.CSS("#f-accepted_name"), "李建国"),
			chromedp.Submit(chromedp.CSS("#f-accepted_name")), chromedp.WaitVisible(chromedp.CSS("#e-payments")))
		return text("#e-payments")
	}
	if got := pay("zh"); !strings.Contains(got, "应收 "+due) || !strings.Contains(got, "现在填的是 ¥20.50") {
		t.Errorf("the money error in Chinese: %q (due %s)", got, due)
	}
	if got := text(".alert"); !strings.Contains(got, "请修改") {
		t.Errorf("no error summary: %q", got)
	}
	step("switch to English", chromedp.Navigate(in.URL+"/lang/en?next="+url.QueryEscape(quote)), chromedp.WaitVisible(chromedp.CSS(".quote")))
	if got := pay("en"); !strings.Contains(got, due+" is due; you entered ¥20.50") {
		t.Errorf("the money error in English: %q (due %s)", got, due)
	}
}
