package main

import (
	"context"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"golang.org/x/text/encoding/simplifiedchinese"
)

// An operator's admin works the console in a real browser: logs in, creates a
// listing through its form, uploads its photo, creates a station, imports 50
// units from a CSV file and sees the import finish.
func TestOperatorConsoleInBrowser(t *testing.T) {
	dir := t.TempDir()
	env := withDatabase(t, map[string]string{"DATA_DIR": dir, "FUJU_DEMO": "true"})
	getenv := func(k string) string { return env[k] }
	// The admin account is made by the program's own admin command (the
	// identity service), before the server starts on the same data.
	const password = "harbour-lantern-73"
	err := run(context.Background(), []string{"admin", "create-user", "--role", "operator_admin", "--phone", "13800004321",
		"--name", "康宁管理员", "--operator", "op-kangning", "--password-stdin"}, getenv, strings.NewReader(password+"\n"), io.Discard, io.Discard)
	if err != nil {
		t.Fatalf("create the operator admin: %v", err)
	}
	in := start(t, env)
	p := newPage(t, in.URL)
	ctx := p.ctx
	step := p.do
	eval := p.eval
	css := func(s string) chromedp.CSS { return chromedp.CSS(s) }

	step("log in", chromedp.Navigate(in.URL+"/login"), chromedp.WaitVisible(css("#f-login")),
		chromedp.SendKeys(css("#f-login"), "13800004321"), chromedp.SendKeys(css("#f-password"), password),
		chromedp.Click(css(`form[action="/login"] button[type=submit]`)), chromedp.WaitVisible(css(".op-nav")))
	if got := eval("location.pathname"); got != "/operator" {
		t.Fatalf("after login the admin is at %s", got)
	}

	step("new listing", chromedp.Navigate(in.URL+"/operator/products/new"), chromedp.WaitVisible(css("#f-name_zh")),
		chromedp.SendKeys(css("#f-name_zh"), "折叠助行架"), chromedp.SendKeys(css("#f-name_en"), "Folding walker"),
		chromedp.SetValue(css("#f-category"), "walker"), chromedp.SendKeys(css("#f-daily_yuan"), "2.5"),
		chromedp.SendKeys(css("#f-block30_yuan"), "45"), chromedp.SendKeys(css("#f-deposit_yuan"), "100"),
		chromedp.Click(css("#f-foldable")),
		chromedp.Click(css("form.op-form button[type=submit]")), chromedp.WaitVisible(css("#f-photo")))
	productID := strings.TrimSuffix(strings.TrimPrefix(eval("location.pathname"), "/operator/products/"), "/photos")
	if productID != "folding-walker" { // a readable id from the English name
		t.Fatalf("after creating the listing the admin is at %s", eval("location.pathname"))
	}

	photo := filepath.Join(t.TempDir(), "walker.jpg")
	writeJPEG(t, photo)
	step("upload photo", chromedp.SetUploadFiles(css("#f-photo"), []string{photo}),
		chromedp.SendKeys(css("#f-alt_zh"), "折叠助行架正面"), chromedp.SendKeys(css("#f-alt_en"), "Folding walker, front"),
		chromedp.Click(css(`form[enctype="multipart/form-data"] button[type=submit]`)), chromedp.WaitVisible(css(".op-photo img")))
	loaded, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(() => { const i = document.querySelector(".op-photo img"); return i.complete && i.naturalWidth > 0 })()`))
	if err != nil || !loaded {
		// Give the browser a moment to fetch it, then look again.
		time.Sleep(time.Second)
		if eval(`String(document.querySelector(".op-photo img").naturalWidth > 0)`) != "true" {
			t.Errorf("the uploaded photo does not show (%v)", err)
		}
	}

	step("new station", chromedp.Navigate(in.URL+"/operator/stations/new"), chromedp.WaitVisible(css("#f-name_zh")),
		chromedp.SendKeys(css("#f-name_zh"), "测试服务站"), chromedp.SendKeys(css("#f-name_en"), "Test Station"),
		chromedp.SendKeys(css("#f-address_zh"), "解放中路1号"), chromedp.SendKeys(css("#f-address_en"), "1 Jiefang Middle Rd"),
		chromedp.SetValue(css("#f-district"), "jiefang"), chromedp.SendKeys(css("#f-lat"), "35.24"), chromedp.SendKeys(css("#f-lng"), "113.23"),
		chromedp.Click(css("form.op-form button[type=submit]")), chromedp.WaitVisible(css(".op-table")))
	stationID := eval(`(() => { for (const a of document.querySelectorAll(".op-table th a")) { if (a.textContent.includes("测试服务站")) return a.getAttribute("href").split("/").pop() } return "" })()`)
	if stationID == "" {
		t.Fatalf("the new station is not listed")
	}

	var csv strings.Builder
	csv.WriteString("tag,product_id,station_id,state,condition,acquired_on\n")
	for i := 1; i <= 50; i++ {
		fmt.Fprintf(&csv, "JZ-ZX-%04d,%s,%s,available,new,2026-05-01\n", i, productID, stationID)
	}
	file := filepath.Join(t.TempDir(), "units.csv")
	if err := os.WriteFile(file, []byte(csv.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	step("import", chromedp.Navigate(in.URL+"/operator/imports/new"), chromedp.WaitVisible(css("#f-file")),
		chromedp.SetUploadFiles(css("#f-file"), []string{file}), chromedp.Click(css(`form[action="/operator/imports"] button[type=submit]`)),
		chromedp.WaitVisible(css("#count-created")))
	// The page refreshes itself while the import runs; wait for the result.
	deadline := time.Now().Add(30 * time.Second)
	for {
		sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		done, err := chromedp.Run(sctx, chromedp.Evaluate[bool](`document.getElementById("import-done") !== null`))
		cancel()
		if err == nil && done {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the import did not finish: %s", eval("document.body.innerText"))
		}
		time.Sleep(300 * time.Millisecond)
	}
	if got := eval(`document.getElementById("count-created").textContent`); got != "50" {
		t.Errorf("created %q units, want 50", got)
	}
	if got := eval(`document.getElementById("count-failed").textContent`); got != "0" {
		t.Errorf("%s rows failed", got)
	}
	if eval(`String(document.querySelector('a[href*="labels.pdf?import="]') !== null)`) != "true" {
		t.Error("no link to print the imported units' labels")
	}
}

// An operator admin of the demo city downloads the import template, fills it
// in as an office does (products and stations by their Chinese names or
// codes, Excel's dates), saves it from Excel in GBK, uploads it and reads
// the per-row report.
func TestImportOfficeCSVInBrowser(t *testing.T) {
	in := start(t, map[string]string{"DATA_DIR": t.TempDir(), "FUJU_DEMO": "true"})
	p := newPage(t, in.URL)
	css := func(s string) chromedp.CSS { return chromedp.CSS(s) }
	p.do("log in", chromedp.Navigate(in.URL+"/login"), chromedp.WaitVisible(css("#f-login")),
		chromedp.SendKeys(css("#f-login"), "13800000002"), chromedp.SendKeys(css("#f-password"), "fuju-demo-2026"),
		chromedp.Click(css(`form[action="/login"] button[type=submit]`)), chromedp.WaitVisible(css(".op-nav")))
	p.do("import page", chromedp.Navigate(in.URL+"/operator/imports/new"), chromedp.WaitVisible(css("#import-template")))

	// The template link, fetched as the browser would download it.
	ctx, cancel := context.WithTimeout(p.ctx, 15*time.Second)
	tpl, err := chromedp.Run(ctx, chromedp.Evaluate[string](
		`fetch(document.getElementById("import-template").href).then(r => r.ok ? r.text() : "status " + r.status)`, chromedp.EvalAwaitPromise))
	cancel()
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimRight(strings.TrimPrefix(tpl, "\ufeff"), "\r\n"), "\r\n")
	if len(lines) != 2 || lines[0] != "资产编号,产品,站点,状态,状况备注,购入日期" {
		t.Fatalf("template %q", tpl)
	}
	example := strings.Split(lines[1], ",")
	if len(example) != 6 || example[1] == "" || example[2] == "" || strings.ContainsAny(example[1]+example[2], "abcdefghijklmnopqrstuvwxyz") {
		t.Fatalf("the example row names no product and station in Chinese: %q", lines[1])
	}
	product, station := example[1], example[2]

	// Filled in by the office: the example's names, codes in capitals,
	// Chinese and serial dates, and one station nobody has.
	office := lines[0] + "\r\n" +
		"JZ-GBK-0001," + product + "," + station + ",可借,新购,2026/1/5\r\n" +
		"JZ-GBK-0002,WC-ALU-LIGHT,JF-JIAODONG,待清洁,,2026年2月3日\r\n" +
		"JZ-GBK-0003," + product + ",人民公园服务站,,,46027\r\n"
	gbk, err := simplifiedchinese.GBK.NewEncoder().String(office)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "设备导入.csv")
	if err := os.WriteFile(file, []byte(gbk), 0o600); err != nil {
		t.Fatal(err)
	}
	p.do("upload the GBK file", chromedp.SetUploadFiles(css("#f-file"), []string{file}),
		chromedp.Click(css(`form[action="/operator/imports"] button[type=submit]`)), chromedp.WaitVisible(css("#count-created")))
	deadline := time.Now().Add(30 * time.Second)
	for p.eval(`String(document.getElementById("import-done") !== null)`) != "true" {
		if time.Now().After(deadline) {
			t.Fatalf("the import did not finish: %s", p.eval("document.body.innerText"))
		}
		time.Sleep(300 * time.Millisecond)
	}
	if got := p.text("#count-created"); got != "2" {
		t.Errorf("created %s units, want 2", got)
	}
	if got := p.text("#count-failed"); got != "1" {
		t.Errorf("%s rows failed, want 1", got)
	}
	report := p.text("#fail-h + p + .table-wrap")
	for _, want := range []string{"4", "JZ-GBK-0003", "站点", "找不到这个站点"} {
		if !strings.Contains(report, want) {
			t.Errorf("the per-row report lacks %q: %s", want, report)
		}
	}
	// The unit named by codes in capitals and a Chinese date is stored as
	// the codes and the date mean.
	ctx, cancel = context.WithTimeout(p.ctx, 15*time.Second)
	unit, err := chromedp.Run(ctx, chromedp.Evaluate[string](`fetch("/api/v1/operator/units/JZ-GBK-0002").then(r => r.text())`, chromedp.EvalAwaitPromise))
	cancel()
	for _, want := range []string{`"product_id":"wc-alu-light"`, `"station_id":"jf-jiaodong"`, `"state":"cleaning"`, `"acquired_on":"2026-02-03"`} {
		if err != nil || !strings.Contains(unit, want) {
			t.Errorf("imported unit lacks %s: %s %v", want, unit, err)
		}
	}
}

// writeJPEG writes a small photo-like JPEG to path.
func writeJPEG(t *testing.T, path string) {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 640, 480))
	for y := 0; y < 480; y++ {
		for x := 0; x < 640; x++ {
			img.SetRGBA(x, y, color.RGBA{uint8(x * 255 / 640), uint8(y * 255 / 480), 140, 255})
		}
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := jpeg.Encode(f, img, &jpeg.Options{Quality: 85}); err != nil {
		t.Fatal(err)
	}
}
