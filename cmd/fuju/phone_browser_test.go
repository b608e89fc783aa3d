package main

import (
	"context"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"fuju/internal/testenv"
)

var sixDigits = regexp.MustCompile(`\d{6}`)

// outboxCode reads the newest phone code sent to phone from the instance's
// outbox (its messages collection), as the family reads it from the text
// message; env is the instance's (accountEnv: it names the database).
func outboxCode(t *testing.T, env map[string]string, phone string) string {
	t.Helper()
	coll := testenv.DB(t).Client().Database(env["FUJU_DB_NAME"]).Collection("messages")
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		var m struct {
			Text string `bson:"text"`
		}
		err := coll.FindOne(context.Background(), bson.D{{Key: "kind", Value: "phone_code"}, {Key: "phone", Value: phone}},
			options.FindOne().SetSort(bson.D{{Key: "created_at", Value: -1}})).Decode(&m)
		if err == nil {
			if code := sixDigits.FindString(m.Text); code != "" {
				return code
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("no phone code in the outbox for %s", phone)
	return ""
}

// signUpInBrowser signs up on the pages and types the code from the outbox.
func (p *page) signUpInBrowser(env map[string]string, name, phone, password string) {
	p.t.Helper()
	p.open("/signup", "#f-name")
	p.fill("#f-name", name, "#f-phone", phone, "#f-password", password)
	p.submit(`form[action="/signup"]`, "/signup/confirm")
	p.fill("#f-code", outboxCode(p.t, env, phone))
	p.submit(`form[action="/signup/confirm"]`, "/account")
}

// residentID is a valid resident ID number (with its check character) for
// someone born in Jiaozuo on born, number seq of that day.
func residentID(born time.Time, seq int) string {
	weights := []int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}
	body := fmt.Sprintf("410802%s%03d", born.Format("20060102"), seq%1000)
	sum := 0
	for i := range 17 {
		sum += int(body[i]-'0') * weights[i]
	}
	return body + string("10X98765432"[sum%11])
}

// A family signs up with the code from the outbox, adds the father and
// applies for the low-income tier with a photo of the certificate; the
// operator's admin approves it from the review queue; the family sees it
// approved and the low-income price on a product page.
func TestTierApplicationInBrowser(t *testing.T) {
	env := accountEnv(t)
	env["FUJU_DEMO"] = "true"
	in := start(t, env)
	p := newPage(t, in.URL)
	const famPhone, password = "13812346601", "willow-river-bend-58"
	p.signUpInBrowser(env, "刘晓燕", famPhone, password)

	p.open("/account/tiers", "#f-id_number")
	p.fill("#f-name", "刘德华", "#f-id_number", residentID(time.Date(1948, 4, 9, 0, 0, 0, 0, time.UTC), 77))
	p.do("choose father and station", chromedp.SetValue(chromedp.CSS("#f-relation"), "father"), chromedp.SetValue(chromedp.CSS("#f-home_station_id"), "jf-minzhu"))
	p.submit(`form[action="/account/tiers/renters"]`, "/account/tiers")
	if got := p.text(".flash"); !strings.Contains(got, "已添加") {
		t.Fatalf("after adding the father: %q", got)
	}

	photo := filepath.Join(t.TempDir(), "certificate.jpg")
	writeJPEG(t, photo)
	expiry := time.Now().AddDate(1, 0, 0).Format(time.DateOnly)
	p.fill("#f-proof_number", "JZDB-BROWSER-1")
	p.do("fill the application", chromedp.SetValue(chromedp.CSS("#f-tier"), "low_income"),
		chromedp.SetValue(chromedp.CSS("#f-proof_type"), "low_income_certificate"),
		chromedp.SetValue(chromedp.CSS("#f-expires_on"), expiry),
		chromedp.SetUploadFiles(chromedp.CSS("#f-photos"), []string{photo}))
	p.submit(`form[action="/account/tiers/apply"]`, "/account/tiers")
	if got := p.text("main"); !strings.Contains(got, "等待审核") {
		t.Fatalf("the application is not waiting: %q", got)
	}
	p.logout()

	p.open("/login", "#f-login")
	p.fill("#f-login", "13800000002", "#f-password", "fuju-demo-2026")
	p.submit(`form[action="/login"]`, "/operator")
	p.open("/operator/tier-applications", ".op-nav")
	id := p.eval(`(() => { for (const s of document.querySelectorAll("main section")) { if (s.textContent.includes("JZDB-BROWSER-1")) return s.id.replace("app-", "") } return "" })()`)
	if id == "" {
		t.Fatalf("the application is not in the queue: %q", p.text("main"))
	}
	// The photo shows through its signed link.
	p.waitFor("the proof photo", `(() => { const i = document.querySelector("#app-`+id+` img"); return i && i.complete && i.naturalWidth > 0 })()`)
	p.do("set the tier's expiry", chromedp.SetValue(chromedp.CSS("#exp-"+id), expiry))
	p.submit(`form[action="/operator/tier-applications/`+id+`/approve"]`, "/operator/tier-applications")
	if got := p.text(".flash"); !strings.Contains(got, "已通过") {
		t.Fatalf("after approving: %q", got)
	}
	p.logout()

	p.open("/login", "#f-login")
	p.fill("#f-login", famPhone, "#f-password", password)
	p.submit(`form[action="/login"]`, "/account")
	p.open("/account/tiers", "main h1")
	if got := p.text("#app-" + id + " .app-state"); got != "已通过" {
		t.Fatalf("the family sees %q", got)
	}
	p.open("/products/walker-frame", "main h1")
	if got := p.text("main"); !strings.Contains(got, "低收入") {
		t.Fatalf("the product page does not quote the low-income price: %.1500s", got)
	}
}
