package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/cookiejar"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"fuju/cmd/internal/demo"
)

// apiGet logs in as login and decodes the JSON answer of path into v.
func apiGet(t *testing.T, base, login, path string, v any) {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	cl := &http.Client{Jar: jar}
	body, _ := json.Marshal(map[string]string{"login": login, "password": demo.DemoPassword})
	resp, err := cl.Post(base+"/api/v1/auth/login", "application/json", bytes.NewReader(body))
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("login %s: %v %v", login, err, resp.Status)
	}
	resp.Body.Close()
	resp, err = cl.Get(base + path)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %v %v", path, err, resp.Status)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatal(err)
	}
}

// The corners of the money rules in a real browser, on the demo city: staff
// find the wheelchair declared lost six weeks ago (the kept deposit comes
// back less the late fee), waive part of a damaged chair's bill within the
// limit, and the operator admin approves the request above it.
func TestFoundAndWaiversInBrowser(t *testing.T) {
	in := start(t, map[string]string{"DATA_DIR": t.TempDir(), "FUJU_DEMO": "true"})
	var lost struct {
		Items []struct{ Tag string } `json:"items"`
	}
	apiGet(t, in.URL, "13800000002", "/api/v1/operator/units?state=lost", &lost)
	if len(lost.Items) != 1 {
		t.Fatalf("the demo city has %d lost units, want 1", len(lost.Items))
	}
	tag := lost.Items[0].Tag
	var queues struct {
		Unsettled []struct{ ID string } `json:"unsettled"`
	}
	apiGet(t, in.URL, "13800000003", "/api/v1/staff/queues?station=jf-jiaodong", &queues)
	if len(queues.Unsettled) != 1 {
		t.Fatalf("Jiaodong Road's unsettled leases: %+v", queues.Unsettled)
	}
	owing := queues.Unsettled[0].ID

	p := newPage(t, in.URL)
	step, text := p.do, p.text
	step("log in as staff", chromedp.Navigate(in.URL+"/login"), chromedp.WaitVisible(chromedp.CSS("#f-login")),
		chromedp.SendKeys(chromedp.CSS("#f-login"), "13800000003"), chromedp.SendKeys(chromedp.CSS("#f-password"), demo.DemoPassword),
		chromedp.Submit(chromedp.CSS("#f-password")), chromedp.WaitVisible(chromedp.CSS(".desk-bar")))
	step("at Jiaodong Road", chromedp.Navigate(in.URL+"/staff?station=jf-jiaodong"), chromedp.WaitVisible(chromedp.CSS("#scan-unit")))
	step("scan the lost unit", chromedp.SendKeys(chromedp.CSS("#scan-unit"), tag+"\n"), chromedp.WaitVisible(chromedp.CSS(".badge.state-lost")))
	step("found", chromedp.Click(chromedp.CSS(`a[href^="/staff/found"]`)), chromedp.WaitVisible(chromedp.CSS(`input[value="needs_cleaning"]`)))
	if got := text("#loss-h + p + p + p"); !strings.Contains(got, "¥300") {
		t.Errorf("the found page does not show the ¥300 kept: %q", got)
	}
	step("inspect and take back", chromedp.Click(chromedp.CSS(`input[value="needs_cleaning"]`)),
		chromedp.Submit(chromedp.CSS("#f-notes")), chromedp.WaitVisible(chromedp.CSS("#lh-h, .field-error")))
	if got := text("main"); !strings.Contains(got, "已结清") {
		t.Fatalf("after found:\n%s", got)
	}
	ledger := text("#money-h + .table-wrap")
	for _, want := range []string{"丢失赔偿", "丢失赔偿取消（已找回）", "逾期费", "退款", "¥0"} {
		if !strings.Contains(ledger, want) {
			t.Errorf("ledger after found lacks %s:\n%s", want, ledger)
		}
	}
	if got := text("#loss-h + .table-wrap"); !strings.Contains(got, "找回日期") {
		t.Errorf("the loss panel does not say it was found:\n%s", got)
	}
	step("the unit went to cleaning", chromedp.Navigate(in.URL+"/staff/units/"+tag), chromedp.WaitVisible(chromedp.CSS(".badge.state-cleaning")))
	if hist := text("#hist-h + .table-wrap"); !strings.Contains(hist, "丢失") || !strings.Contains(hist, "找回") {
		t.Errorf("the unit's history lacks the loss or the recovery:\n%s", hist)
	}

	// ¥120 owed; ¥80 waits for approval; staff waive ¥30 within the ¥50 limit.
	step("the owing lease", chromedp.Navigate(in.URL+"/staff/leases/"+owing), chromedp.WaitVisible(chromedp.CSS("#wv-h")))
	if got := text("#wv-h + .table-wrap"); !strings.Contains(got, "待审批") || !strings.Contains(got, "¥80") {
		t.Errorf("the pending waiver is not shown: %q", got)
	}
	step("waive ¥30", chromedp.Click(chromedp.CSS(`details:has(form[action$="/waive"]) > summary`)),
		chromedp.SendKeys(chromedp.CSS("#f-waiver_amount"), "30"), chromedp.SetValue(chromedp.CSS("#f-waiver_reason"), "station_closed"),
		chromedp.Submit(chromedp.CSS("#f-waiver_amount")), chromedp.WaitVisible(chromedp.CSS(".flash")))
	if got := text("#money-h + .table-wrap tfoot"); !strings.Contains(got, "¥90") {
		t.Errorf("balance after a ¥30 waiver: %q", got)
	}
	step("log out", chromedp.Submit(chromedp.CSS(`form[action="/logout"] button`)), chromedp.WaitVisible(chromedp.CSS(`a[href^="/login"]`)))

	step("log in as the operator admin", chromedp.Navigate(in.URL+"/login"), chromedp.WaitVisible(chromedp.CSS("#f-login")),
		chromedp.SendKeys(chromedp.CSS("#f-login"), "13800000002"), chromedp.SendKeys(chromedp.CSS("#f-password"), demo.DemoPassword),
		chromedp.Submit(chromedp.CSS("#f-password")), chromedp.WaitVisible(chromedp.CSS(".op-nav")))
	step("the queue", chromedp.Navigate(in.URL+"/operator/waivers"), chromedp.WaitVisible(chromedp.CSS("#queue-h")))
	step("approve", chromedp.Click(chromedp.CSS(`form.op-decide button[type="submit"]`)), chromedp.WaitVisible(chromedp.CSS(".flash")))
	if got := text("#report-h + .table-wrap"); !strings.Contains(got, "已减免") || !strings.Contains(got, "¥80") || !strings.Contains(got, "¥30") {
		t.Errorf("the waiver report after approval:\n%s", got)
	}
	step("the losses report", chromedp.Navigate(in.URL+"/operator/losses"), chromedp.WaitVisible(chromedp.CSS("main h1")))
	if got := text("main"); !strings.Contains(got, tag) || !strings.Contains(got, "已找回 1 台") {
		t.Errorf("the losses report:\n%s", got)
	}
}
