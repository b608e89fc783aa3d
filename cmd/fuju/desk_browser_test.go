package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"net/http"
	"net/http/cookiejar"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"fuju/cmd/internal/demo"
)

// availableAt finds an available unit of the demo city at station, asking the
// desk API as the demo staff member.
func availableAt(t *testing.T, base, station string) string {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	cl := &http.Client{Jar: jar, Transport: checked(t, base)}
	body, _ := json.Marshal(map[string]string{"login": "13800000003", "password": demo.DemoPassword})
	resp, err := cl.Post(base+"/api/v1/auth/login", "application/json", bytes.NewReader(body))
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("staff login: %v %v", err, resp.Status)
	}
	resp.Body.Close()
	// Kangning's stations take the standard wheelchairs in turn; the demo
	// station jf-minzhu is first, so it has every ninth tag.
	for i := 1; i <= 60; i += 9 {
		tag := fmt.Sprintf("JZ-WC-%04d", i)
		resp, err := cl.Get(base + "/api/v1/staff/units/" + tag)
		if err != nil {
			t.Fatal(err)
		}
		var u struct{ State, StationID string }
		_ = json.NewDecoder(resp.Body).Decode(&struct {
			State     *string `json:"state"`
			StationID *string `json:"station_id"`
		}{&u.State, &u.StationID})
		resp.Body.Close()
		if u.State == "available" && u.StationID == station {
			return tag
		}
	}
	t.Fatalf("no available standard wheelchair at %s", station)
	return ""
}

// testJPEG is a 640×480 photo, standing in for a renter's certificate.
func testJPEG(t *testing.T) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 640, 480))
	for y := 0; y < 480; y++ {
		for x := 0; x < 640; x++ {
			img.Set(x, y, color.RGBA{200, uint8(x / 3), 80, 255})
		}
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, nil); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// The station desk in a real browser: staff lend a demo wheelchair to a
// walk-in low-income renter, take it back damaged, repair and clean it, and it
// is available again, with its full history and a ledger that balances.
func TestDeskInBrowser(t *testing.T) {
	in := start(t, map[string]string{"DATA_DIR": t.TempDir(), "FUJU_DEMO": "true"})
	tag := availableAt(t, in.URL, "jf-minzhu")
	p := newPage(t, in.URL)
	ctx := p.ctx
	step := p.do
	text := p.text
	proof := proofPhoto(t)

	step("log in", chromedp.Navigate(in.URL+"/login"), chromedp.WaitVisible(chromedp.CSS("#f-login")),
		chromedp.SendKeys(chromedp.CSS("#f-login"), "13800000003"), chromedp.SendKeys(chromedp.CSS("#f-password"), demo.DemoPassword),
		chromedp.Submit(chromedp.CSS("#f-password")), chromedp.WaitVisible(chromedp.CSS(".desk-bar")))
	// A staff member sees only their own stations.
	if got := p.eval(`[...document.querySelectorAll("#desk-station option")].map(o => o.value).join(",")`); got != "jf-jiaodong,jf-minzhu" {
		t.Errorf("the desk offers stations %q", got)
	}
	step("choose the station", chromedp.Navigate(in.URL+"/staff?station=jf-minzhu"), chromedp.WaitVisible(chromedp.CSS("#scan-unit")))
	step("another operator's station is not offered", chromedp.Navigate(in.URL+"/staff?station=sy-tanan"), chromedp.WaitVisible(chromedp.CSS("main")))
	if got := p.text("h1"); strings.Contains(got, "塔南") || !strings.Contains(got, "404") && !strings.Contains(got, "找不到") {
		t.Errorf("a station of another operator at the desk: %q", got)
	}
	step("back to the station", chromedp.Navigate(in.URL+"/staff?station=jf-minzhu"), chromedp.WaitVisible(chromedp.CSS("#scan-unit")))
	step("scan the unit", chromedp.SendKeys(chromedp.CSS("#scan-unit"), strings.ToLower(tag)+"\n"),
		chromedp.WaitVisible(chromedp.CSS(`a[href^="/staff/checkout"]`)))
	step("start check-out", chromedp.Click(chromedp.CSS(`a[href^="/staff/checkout"]`)), chromedp.WaitVisible(chromedp.CSS("#f-phone-find")))
	step("look up a new renter", chromedp.SendKeys(chromedp.CSS("#f-phone-find"), "13912345678"), chromedp.Submit(chromedp.CSS("#f-phone-find")),
		chromedp.WaitVisible(chromedp.CSS("#f-name")))
	step("register the walk-in", chromedp.SendKeys(chromedp.CSS("#f-name"), "赵大爷"), chromedp.SendKeys(chromedp.CSS("#f-id_number"), "11010519491231002X"),
		chromedp.SendKeys(chromedp.CSS("#f-age"), "78"), chromedp.Submit(chromedp.CSS("#f-name")), chromedp.WaitVisible(chromedp.CSS(".quote")))
	if got := text(".quote dl"); !strings.Contains(got, "¥80") {
		t.Errorf("standard quote for 30 days: %q", got)
	}
	renterURL, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('a[href^="/staff/renters/"]').getAttribute("href")`))
	step("open the renter", chromedp.Navigate(in.URL+renterURL), chromedp.WaitVisible(chromedp.CSS("#f-tier")))
	step("verify the low-income tier", chromedp.SetValue(chromedp.CSS("#f-tier"), "low_income"),
		chromedp.SetValue(chromedp.CSS("#f-proof_type"), "low_income_certificate"),
		chromedp.SendKeys(chromedp.CSS("#f-proof_number"), "JZ2026-0815"),
		chromedp.SetValue(chromedp.CSS("#f-expires_on"), time.Now().AddDate(1, 0, 0).Format(time.DateOnly)),
		chromedp.SetUploadFiles(chromedp.CSS("#f-proof_photo"), []string{proof}),
		chromedp.Submit(chromedp.CSS("#f-proof_number")), chromedp.WaitVisible(chromedp.CSS(".flash")))
	if got := text("#t-h + p"); !strings.Contains(got, "低收入") {
		t.Fatalf("tier after verification: %q", got)
	}
	step("back to check-out", chromedp.Navigate(in.URL+"/staff/checkout?unit="+tag+"&renter="+strings.TrimPrefix(renterURL, "/staff/renters/")),
		chromedp.WaitVisible(chromedp.CSS(".quote")))
	quote := text(".quote dl")
	if !strings.Contains(quote, "¥16") || !strings.Contains(quote, "¥64") || !strings.Contains(quote, "免押金") {
		t.Errorf("low-income quote (20%% of ¥80, subsidy ¥64, no deposit): %q", quote)
	}
	step("pay and accept", chromedp.Click(chromedp.CSS(`input[name="accept"]`)), chromedp.SendKeys(chromedp.CSS("#f-accepted_name"), "赵大爷"),
		chromedp.Submit(chromedp.CSS("#f-accepted_name")), chromedp.WaitVisible(chromedp.CSS(".receipt")))
	leaseURL, _ := chromedp.Run(ctx, chromedp.Location())
	leaseURL = strings.TrimSuffix(leaseURL, "/receipt")

	step("check in damaged", chromedp.Navigate(in.URL+"/staff/checkin?unit="+tag), chromedp.WaitVisible(chromedp.CSS(`input[value="damaged"]`)),
		chromedp.Click(chromedp.CSS(`input[value="damaged"]`)), chromedp.SetValue(chromedp.CSS("#f-damage"), "50"),
		chromedp.SendKeys(chromedp.CSS("#f-notes"), "扶手裂了"),
		chromedp.Submit(chromedp.CSS("#f-notes")), chromedp.WaitVisible(chromedp.CSS("#f-pay_amount")))
	if got := p.eval(`document.querySelector("#f-pay_amount").value`); got != "50" {
		t.Errorf("¥50 of damage with no deposit: the form asks %q", got)
	}
	step("collect the damage", chromedp.Submit(chromedp.CSS("#f-pay_amount")), chromedp.WaitVisible(chromedp.CSS(".badge.lease-closed")))
	if got := text("table.desk tfoot"); !strings.Contains(got, "¥0") {
		t.Errorf("ledger does not balance after check-in: %q", got)
	}
	step("unit page", chromedp.Navigate(in.URL+"/staff/units/"+tag), chromedp.WaitVisible(chromedp.CSS(".badge.state-repair")))
	step("repaired", chromedp.SendKeys(chromedp.CSS("#f-notes"), "换了扶手"), chromedp.SetValue(chromedp.CSS("#f-cost"), "35"),
		chromedp.Submit(chromedp.CSS("#f-notes")), chromedp.WaitVisible(chromedp.CSS(".badge.state-cleaning")))
	step("cleaned", chromedp.Click(chromedp.CSS(`input[name="method"][value="wipe_disinfect"]`)),
		chromedp.Evaluate[chromedp.Void](`document.querySelectorAll('input[name="checklist"]').forEach(c => c.checked = true)`),
		chromedp.Submit(chromedp.CSS(`input[name="method"]`)), chromedp.WaitVisible(chromedp.CSS(".badge.state-available")))
	history := text("#hist-h + .table-wrap")
	for _, want := range []string{"入库", "借出", "归还", "验收检查", "维修中", "维修完成", "清洁完成", "民主路站 张敏"} {
		if !strings.Contains(history, want) {
			t.Errorf("timeline lacks %s:\n%s", want, history)
		}
	}
	if strings.Contains(history, "event.") {
		t.Errorf("an untranslated event in the timeline:\n%s", history)
	}
	step("the lease", chromedp.Navigate(leaseURL), chromedp.WaitVisible(chromedp.CSS("table.desk")))
	ledger := text("table.desk")
	for _, want := range []string{"租金", "政府补贴", "收款", "损坏赔偿", "¥0"} {
		if !strings.Contains(ledger, want) {
			t.Errorf("ledger lacks %s:\n%s", want, ledger)
		}
	}
}
