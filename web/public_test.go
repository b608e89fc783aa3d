package web

import (
	"bytes"
	"context"
	"encoding/binary"
	"html"
	"image/png"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"fuju/accounts"
	"fuju/catalog"
	"fuju/internal/l10n"
	"fuju/internal/tenancy"
	"fuju/rentals"
)

// meta returns the content of the page's <meta property|name=key>.
func meta(page, key string) string {
	m := regexp.MustCompile(`<meta (?:property|name)="` + regexp.QuoteMeta(key) + `" content="([^"]*)">`).FindStringSubmatch(page)
	if m == nil {
		return ""
	}
	return html.UnescapeString(m[1])
}

// family is a signed-in family member whose account the north desk linked
// to the renter it registered (their father, verified low income).
type family struct {
	*admClient
	user   accounts.User
	renter rentals.Renter
}

func newFamily(t *testing.T, s *Server, phone string, tier rentals.Tier) family {
	t.Helper()
	ctx := context.Background()
	u, err := s.auth.CreateUser(ctx, accounts.NewUser{Name: "王芳", Phone: phone, Password: pw, Role: accounts.Renter})
	if err != nil {
		t.Fatal(err)
	}
	desk := tenancy.OperatorScope("op-a")
	r, err := s.rentals.RegisterRenter(ctx, desk, rentals.Renter{Name: "王建国", Phone: "139" + phone[3:], IDNumber: idNumberFor("139" + phone[3:]),
		HomeStationID: "north"}, tenancy.System)
	if err != nil {
		t.Fatal(err)
	}
	if tier != rentals.Standard {
		if _, err := s.rentals.VerifyTier(ctx, desk, r.ID, rentals.TierProof{Tier: tier, ProofType: rentals.ProofLowIncomeCertificate,
			ProofNumber: "JZ-1", ProofPhotoKey: "proofs/x.jpg", ExpiresOn: "2027-06-30"}, tenancy.System); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.rentals.LinkUser(ctx, r.ID, u.ID, tenancy.System); err != nil {
		t.Fatal(err)
	}
	if err := s.rentals.SetRelation(ctx, u.ID, r.ID, rentals.RelationFather); err != nil {
		t.Fatal(err)
	}
	return family{admClient: admSession(t, s, u), user: u, renter: r}
}

// Pages and API responses with personal data are never stored by a browser
// or a proxy; public pages for visitors may be kept but revalidated.
func TestPrivatePagesAreNotStored(t *testing.T) {
	s := newTestServer(t)
	ctx := context.Background()
	mk := func(role accounts.Role, phone string, stationIDs ...string) *admClient {
		op := "op-a"
		if role == accounts.PlatformAdmin || role == accounts.Renter {
			op = ""
		}
		u, err := s.auth.CreateUser(ctx, accounts.NewUser{Name: string(role), Phone: phone, Password: pw, Role: role, OperatorID: op, StationIDs: stationIDs})
		if err != nil {
			t.Fatal(err)
		}
		return admSession(t, s, u)
	}
	staff := mk(accounts.Staff, "13900000011", "north")
	opAdmin := mk(accounts.OperatorAdmin, "13900000012")
	admin := mk(accounts.PlatformAdmin, "13900000013")
	fam := newFamily(t, s, "13900000014", rentals.LowIncome)
	visitor := admAnonymous(t, s)
	for _, tt := range []struct {
		who  *admClient
		path string
		want string
	}{
		{staff, "/staff", "no-store"},
		{staff, "/api/v1/staff/queues?station=north", "no-store"},
		{opAdmin, "/operator", "no-store"},
		{opAdmin, "/operator/products", "no-store"},
		{opAdmin, "/api/v1/operator/products", "no-store"},
		{admin, "/admin", "no-store"},
		{admin, "/api/v1/admin/operators", "no-store"},
		{fam.admClient, "/account", "no-store"},
		{fam.admClient, "/account/rentals/l-nope", "no-store"}, // a 404 too
		{fam.admClient, "/api/v1/me", "no-store"},
		// A public page shows a signed-in family their own tier.
		{fam.admClient, "/products", "no-store"},
		// Redirects to the login page are private too.
		{visitor, "/account", "no-store"},
		{visitor, "/staff", "no-store"},
		{visitor, "/", "no-cache"},
		{visitor, "/products/wc", "no-cache"},
	} {
		rec := tt.who.get(tt.path)
		if got := rec.Header().Get("Cache-Control"); got != tt.want {
			t.Errorf("%s (%d): Cache-Control %q, want %q", tt.path, rec.Code, got, tt.want)
		}
	}
}

// A shared link previews as the device with its photo and price: every
// public page has a description and Open Graph tags, and the site has its
// icons.
func TestSharedLinkTags(t *testing.T) {
	s := newTestServer(t)
	s.cfg.PublicURL = "https://fuju.example.cn"
	ph := catalog.Photo{Key: "0123456789abcdef", Widths: []int{320, 640, 1280, 1920}, Width: 1920, Height: 1440,
		Alt: catalog.Text{Zh: "轻便轮椅正面", En: "Light wheelchair, front"}}
	if _, err := s.catalog.AddPhoto(context.Background(), tenancy.PlatformScope, "wc", ph, tenancy.System); err != nil {
		t.Fatal(err)
	}
	page := get(t, s, "/products/wc").Body.String()
	for key, want := range map[string]string{
		"og:title":        "轻便轮椅",
		"og:site_name":    "辅具租借",
		"og:type":         "website",
		"og:locale":       "zh_CN",
		"og:image":        "https://fuju.example.cn" + s.photoURL(ph.Key, 1280),
		"og:image:width":  "1280",
		"og:image:height": "960",
		"og:image:alt":    "轻便轮椅正面",
		"og:url":          "https://fuju.example.cn/products/wc?lang=zh",
		"twitter:card":    "summary_large_image",
	} {
		if got := meta(page, key); got != want {
			t.Errorf("product page %s = %q, want %q", key, got, want)
		}
	}
	desc := meta(page, "description")
	for _, want := range []string{"轻便轮椅", "¥5/天", "¥90/30天", "押金 ¥300", "现有 2 台可借", "低收入"} {
		if !strings.Contains(desc, want) {
			t.Errorf("product description %q lacks %q", desc, want)
		}
	}
	if meta(page, "og:description") != desc {
		t.Error("og:description differs from the description")
	}
	for _, alt := range []string{
		`<link rel="alternate" hreflang="zh-CN" href="https://fuju.example.cn/products/wc?lang=zh">`,
		`<link rel="alternate" hreflang="en" href="https://fuju.example.cn/products/wc?lang=en">`,
		`<link rel="alternate" hreflang="x-default" href="https://fuju.example.cn/products/wc">`,
	} {
		if !strings.Contains(page, alt) {
			t.Errorf("product page lacks %s", alt)
		}
	}
	en := get(t, s, "/products/wc?lang=en").Body.String()
	if meta(en, "og:title") != "Light wheelchair" || !strings.Contains(meta(en, "description"), "¥5 a day") || meta(en, "og:locale") != "en_US" {
		t.Errorf("English preview: %q %q", meta(en, "og:title"), meta(en, "description"))
	}
	// Every public page: a description of its own, a title, the site's
	// card when it has no photo of its own, the icons.
	descs := map[string]string{}
	for _, p := range []string{"/", "/products", "/products?category=walker", "/products/walker", "/stations", "/stations/north", "/login", "/signup"} {
		rec := get(t, s, p)
		body := rec.Body.String()
		d := meta(body, "description")
		if rec.Code != http.StatusOK || d == "" || meta(body, "og:title") == "" || meta(body, "og:site_name") == "" || !strings.HasPrefix(meta(body, "og:image"), "https://fuju.example.cn/") {
			t.Errorf("%s: %d, description %q, og:title %q, og:image %q", p, rec.Code, d, meta(body, "og:title"), meta(body, "og:image"))
		}
		if !strings.Contains(body, `<link rel="icon" href="/favicon.ico"`) || !strings.Contains(body, `<link rel="apple-touch-icon" href="/apple-touch-icon.png">`) {
			t.Errorf("%s lacks the icon links", p)
		}
		descs[p] = d
	}
	if descs["/stations/north"] == descs["/"] || !strings.Contains(descs["/stations/north"], "北站") || !strings.Contains(descs["/stations/north"], "0391-3561234") {
		t.Errorf("station description %q", descs["/stations/north"])
	}
	if card := meta(get(t, s, "/").Body.String(), "og:image"); !strings.Contains(card, "/static/share.png") {
		t.Errorf("home preview image %q", card)
	} else if rec := get(t, s, strings.TrimPrefix(card, "https://fuju.example.cn")); rec.Code != http.StatusOK {
		t.Errorf("the site's card: %d", rec.Code)
	} else if cfg, err := png.DecodeConfig(rec.Body); err != nil || cfg.Width != 1200 || cfg.Height != 630 {
		t.Errorf("the site's card is %dx%d (%v), want 1200x630", cfg.Width, cfg.Height, err)
	}
	ico := get(t, s, "/favicon.ico")
	if b := ico.Body.Bytes(); ico.Code != http.StatusOK || ico.Header().Get("Content-Type") != "image/x-icon" || len(b) < 6 ||
		!bytes.Equal(b[:4], []byte{0, 0, 1, 0}) || binary.LittleEndian.Uint16(b[4:]) < 2 {
		t.Errorf("favicon.ico: %d %q", ico.Code, ico.Header().Get("Content-Type"))
	}
	touch := get(t, s, "/apple-touch-icon.png")
	if cfg, err := png.DecodeConfig(touch.Body); touch.Code != http.StatusOK || err != nil || cfg.Width != 180 || cfg.Height != 180 {
		t.Errorf("apple-touch-icon: %d %v %dx%d", touch.Code, err, cfg.Width, cfg.Height)
	}
	// A signed-in family's product page shows their tier; its preview
	// still tells only the public price.
	fam := newFamily(t, s, "13900000021", rentals.LowIncome)
	own := fam.get("/products/wc").Body.String()
	if !strings.Contains(own, "王**") || strings.Contains(meta(own, "description"), "王") || meta(own, "description") != desc {
		t.Errorf("the family's page: preview %q", meta(own, "description"))
	}
	// Private pages are not for search engines.
	if acct := fam.get("/account").Body.String(); !strings.Contains(acct, `<meta name="robots" content="noindex">`) {
		t.Error("the account page may be indexed")
	}
}

// The first visit's language follows the browser; the switch is then
// remembered; a lang link shows one language without changing the choice.
func TestLanguageFollowsTheBrowserFirst(t *testing.T) {
	s := newTestServer(t)
	lang := func(rec *httptest.ResponseRecorder) string {
		m := regexp.MustCompile(`<html lang="([^"]+)">`).FindStringSubmatch(rec.Body.String())
		if m == nil {
			return ""
		}
		return m[1]
	}
	req := func(path, accept string, cookies ...*http.Cookie) *httptest.ResponseRecorder {
		r := httptest.NewRequest(http.MethodGet, path, nil)
		if accept != "" {
			r.Header.Set("Accept-Language", accept)
		}
		for _, c := range cookies {
			r.AddCookie(c)
		}
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, r)
		return rec
	}
	for _, tt := range []struct{ accept, want string }{
		{"", "zh-CN"},
		{"en-US,en;q=0.9", "en"},
		{"en-GB", "en"},
		{"zh-CN,zh;q=0.9,en;q=0.8", "zh-CN"},
		{"zh-TW,en;q=0.5", "zh-CN"},
		{"fr-FR,fr;q=0.9", "zh-CN"},
		{"de-DE,en;q=0.7", "en"},
		{"garbage;;;", "zh-CN"},
	} {
		rec := req("/", tt.accept)
		if got := lang(rec); got != tt.want {
			t.Errorf("Accept-Language %q: page in %q, want %q", tt.accept, got, tt.want)
		}
		if !strings.Contains(rec.Header().Get("Vary"), "Accept-Language") {
			t.Errorf("Vary %q", rec.Header().Get("Vary"))
		}
	}
	// The switch wins over the browser, and is remembered.
	sw := req("/lang/zh?next=/stations", "en-US")
	var chosen *http.Cookie
	for _, c := range sw.Result().Cookies() {
		if c.Name == "lang" {
			chosen = c
		}
	}
	if sw.Code != http.StatusSeeOther || chosen == nil || chosen.Value != "zh" || chosen.MaxAge < 300*24*3600 {
		t.Fatalf("switch: %d %+v", sw.Code, chosen)
	}
	if got := lang(req("/stations", "en-US", chosen)); got != "zh-CN" {
		t.Errorf("chosen Chinese, browser English: %q", got)
	}
	// ?lang shows one page in a language and sets nothing.
	rec := req("/stations?lang=en", "", chosen)
	if lang(rec) != "en" || len(rec.Result().Cookies()) != 0 && rec.Result().Cookies()[0].Name == "lang" {
		t.Errorf("?lang=en: %q, cookies %v", lang(rec), rec.Result().Cookies())
	}
	// The switch link of such a page does not carry lang along.
	if strings.Contains(rec.Body.String(), "next=%2Fstations%3Flang") {
		t.Error("the language switch keeps the lang parameter")
	}
}

// English counts agree with their nouns: "1 device", "2 devices".
func TestEnglishPlurals(t *testing.T) {
	s := newTestServer(t)
	b := base{msgs: s.pages.messages["en"]}
	plural := regexp.MustCompile(`\b1 (devices|kinds|days|stations|units|rentals|times)\b`)
	for key, args := range map[string][]any{
		"stock.available": {1}, "stock.count": {1}, "stock.stations": {1}, "station.units": {1}, "home.count": {1},
		"products.found": {1}, "days": {1}, "stations.count": {1}, "meta.products": {1}, "meta.product.at": {1},
		"receipt.extensions": {1}, "receipt.late": {1}, "meta.station.available": {1},
	} {
		one := b.T(key, args...)
		if plural.MatchString(one) || strings.Contains(one, "%!") {
			t.Errorf("%s with 1: %q", key, one)
		}
	}
	if b.T("days", 7) != "7 days" || b.T("days", 1) != "1 day" || b.T("stock.stations", 1) != "at 1 station" {
		t.Errorf("days: %q %q %q", b.T("days", 1), b.T("days", 7), b.T("stock.stations", 1))
	}
	// On a page: the south station has one wheelchair available.
	page := get(t, s, "/stations?lang=en").Body.String()
	if !strings.Contains(page, "1 device available") || strings.Contains(page, "1 devices") || !strings.Contains(page, "2 stations") {
		t.Errorf("station list in English:\n%s", page)
	}
	if page := get(t, s, "/products?lang=en&category=manual_wheelchair").Body.String(); !strings.Contains(page, "1 device found") {
		t.Error("1 device found")
	}
}

// "距您" only for the visitor's own location; a district is named; stations
// say when they open next, in the city's time.
func TestHonestDistanceAndOpeningTimes(t *testing.T) {
	s := newTestServer(t)
	if got := get(t, s, "/stations?district=shanyang").Body.String(); !strings.Contains(got, "距山阳区中心") || strings.Contains(got, "距您") {
		t.Error("a chosen district is called the visitor's location")
	}
	if got := get(t, s, "/stations?near=35.301,113.241").Body.String(); !strings.Contains(got, "距您 ") || strings.Contains(got, "中心") {
		t.Error("the visitor's own location is not called theirs")
	}
	if got := get(t, s, "/products?district=shanyang&q=wheelchair").Body.String(); !strings.Contains(got, "最近一站距山阳区中心") {
		t.Error("product list distance names the district")
	}
	if got := get(t, s, "/stations?district=shanyang&lang=en").Body.String(); !strings.Contains(got, "from the centre of Shanyang") {
		t.Error("English district distance")
	}
	// Thursday 26 November 2026.
	for _, tt := range []struct {
		at   time.Time
		want string
	}{
		{time.Date(2026, 11, 26, 10, 0, 0, 0, l10n.Local), "正在营业 · 17:30 关门"},
		{time.Date(2026, 11, 26, 7, 0, 0, 0, l10n.Local), "现在休息 · 今天 08:30 开门"},
		{time.Date(2026, 11, 26, 18, 0, 0, 0, l10n.Local), "现在休息 · 明天 08:30 开门"},
		{time.Date(2026, 11, 28, 13, 0, 0, 0, l10n.Local), "现在休息 · 周一 08:30 开门"},
		// 23:30 UTC on Thursday is 07:30 Friday in the city: opens today.
		{time.Date(2026, 11, 26, 23, 30, 0, 0, time.UTC), "现在休息 · 今天 08:30 开门"},
	} {
		at := tt.at
		s.cfg.Now = func() time.Time { return at }
		for _, p := range []string{"/stations/north", "/stations", "/products/wc"} {
			if got := get(t, s, p).Body.String(); !strings.Contains(got, tt.want) {
				t.Errorf("%s at %s: no %q", p, at, tt.want)
			}
		}
	}
	s.cfg.Now = func() time.Time { return time.Date(2026, 11, 28, 13, 0, 0, 0, l10n.Local) }
	if got := get(t, s, "/stations/north?lang=en").Body.String(); !strings.Contains(got, "Closed now · opens Monday at 08:30") {
		t.Error("English next opening")
	}
}

// The tier is a control of its own on the list and product pages,
// remembered in a cookie and carried to the product headline; a family
// linked to a verified renter sees that renter's prices, and whose they are.
func TestPriceFollowsTheFamily(t *testing.T) {
	s := newTestServer(t)
	visitor := admAnonymous(t, s)
	list := visitor.get("/products?tier=low_income&q=wheelchair")
	body := list.Body.String()
	if list.Code != http.StatusOK || !strings.Contains(body, "¥18</strong>/30天 <span class=\"muted\">(低收入)") {
		t.Fatalf("list at low income: %d\n%s", list.Code, body)
	}
	// The control is not among the other filters, and keeps the search.
	if i, j := strings.Index(body, `name="tier"`), strings.Index(body, `</details>`); i < j {
		t.Error("the tier control is under more filters")
	}
	if !strings.Contains(body, `<input type="hidden" name="q" value="wheelchair">`) {
		t.Error("the tier form drops the search")
	}
	// Remembered: the next list and the product page price at low income.
	if !strings.Contains(visitor.get("/products").Body.String(), `<option value="low_income" selected>`) {
		t.Error("the tier is not remembered")
	}
	prod := visitor.get("/products/wc").Body.String()
	if !strings.Contains(prod, "<strong>¥1</strong>/天 · <strong>¥18</strong>/30天 · 免押金") || !strings.Contains(prod, "低收入档位价格") ||
		!strings.Contains(prod, `<tr class="chosen"><th scope="row">低收入`) {
		t.Errorf("product headline at low income:\n%s", prod)
	}
	if bad := visitor.get("/products?tier=renter:r-someone"); bad.Code != http.StatusBadRequest || !strings.Contains(bad.Body.String(), `id="e-tier"`) {
		t.Errorf("someone else's renter as tier: %d", bad.Code)
	}

	// A family whose account is linked to a verified father, on a phone
	// where a visitor once chose the standard price.
	fam := newFamily(t, s, "13900000031", rentals.LowIncome)
	fam.cookies[tierCookie] = &http.Cookie{Name: tierCookie, Value: "standard"}
	body = fam.get("/products").Body.String()
	if !strings.Contains(body, "按父亲 王** 的低收入档位") || !strings.Contains(body, `<option value="renter:`+fam.renter.ID+`" selected>父亲 王**（低收入）`) {
		t.Errorf("family list:\n%s", body)
	}
	prod = fam.get("/products/wc").Body.String()
	if !strings.Contains(prod, "<strong>¥1</strong>/天") || !strings.Contains(prod, "按父亲 王** 的低收入档位") {
		t.Errorf("family product headline:\n%s", prod)
	}
	// They may look at another tier; their choice is remembered, as theirs.
	fam.get("/products?tier=standard")
	if c := fam.cookies[tierCookie]; c == nil || c.Value != url.QueryEscape("a:standard") {
		t.Errorf("the family's choice is remembered as %+v", c)
	}
	if prod := fam.get("/products/wc").Body.String(); !strings.Contains(prod, "<strong>¥5</strong>/天") || !strings.Contains(prod, "标准价（未认证收入档位）") {
		t.Error("the family's choice of the standard price")
	}
	if en := fam.get("/products?tier=renter:" + fam.renter.ID + "&lang=en").Body.String(); !strings.Contains(en, "Low income prices, as verified for your father 王**") {
		t.Error("English whose-prices line")
	}
	// A family without a verified tier is told so.
	other := newFamily(t, s, "13900000032", rentals.Standard)
	if body := other.get("/products").Body.String(); !strings.Contains(body, "父亲 王** 未认证收入档位，按标准价") {
		t.Error("unverified family")
	}
	// Another family's renter is not a choice.
	if rec := other.get("/products?tier=renter:" + fam.renter.ID); rec.Code != http.StatusBadRequest {
		t.Errorf("another family's renter: %d", rec.Code)
	}
}

// After a search, a sort or a filter the page lands on the results.
func TestSearchLandsOnResults(t *testing.T) {
	s := newTestServer(t)
	home := get(t, s, "/").Body.String()
	if !strings.Contains(home, `action="/products#results"`) || !strings.Contains(home, `href="/products?category=walker#results"`) {
		t.Error("home search and categories do not land on the results")
	}
	list := get(t, s, "/products?per_page=1").Body.String()
	for _, want := range []string{`<form class="filters" method="get" action="/products#results"`, `action="/products#results" aria-labelledby="tier-l"`,
		`<section id="results"`, `page=2&amp;per_page=1#results`} {
		if !strings.Contains(list, want) {
			t.Errorf("product list lacks %s", want)
		}
	}
	// The list finds what people call things (catalog has the full table).
	if body := get(t, s, "/products?q="+url.QueryEscape("助行器")).Body.String(); !strings.Contains(body, "助行架") {
		t.Error("助行器 does not find the walking frame")
	}
	if body := get(t, s, "/products?q=qbly").Body.String(); !strings.Contains(body, "轻便轮椅") {
		t.Error("initials of the name")
	}
}

// The account page shows the family's renters (whose tier, until when),
// their current and past rentals with charges, and a receipt per rental;
// the receipt of anyone else's rental is not found.
func TestAccountShowsTheFamilysRentals(t *testing.T) {
	s := newTestServer(t)
	d := desk{t: t, s: s, token: apiToken(t, s, "desk")}
	fam := newFamily(t, s, "13900000041", rentals.LowIncome)
	// 30 days at low income: ¥18 rent, ¥72 subsidy, no deposit.
	rec := d.call("POST", "/api/v1/staff/checkouts", checkoutBody("JZ-WC-0001", fam.renter.ID, 1800))
	if rec.Code != http.StatusCreated {
		t.Fatalf("checkout: %d %s", rec.Code, rec.Body)
	}
	lease := decode[rentals.Lease](t, rec)
	stranger := registerRenter(t, d, "13912340000")
	body := checkoutBody("JZ-WC-0002", stranger.ID, 39000)
	body["station_id"] = "south"
	rec = d.call("POST", "/api/v1/staff/checkouts", body)
	if rec.Code != http.StatusCreated {
		t.Fatalf("stranger's checkout: %d %s", rec.Code, rec.Body)
	}
	theirs := decode[rentals.Lease](t, rec)

	page := fam.get("/account").Body.String()
	for _, want := range []string{"父亲 · 王**", "低收入", "有效至 2027-06-30", "北站", "共 1 次", "1 件在借", "¥18", "¥72",
		"JZ-WC-0001", lease.StartOn + " 借出，" + lease.DueOn + " 到期", `href="/account/rentals/` + lease.ID + `"`} {
		if !strings.Contains(page, want) {
			t.Errorf("account page lacks %q", want)
		}
	}
	if strings.Contains(page, "JZ-WC-0002") || strings.Contains(page, "赵大爷") {
		t.Error("the account page shows someone else's rental")
	}
	receipt := fam.get("/account/rentals/" + lease.ID)
	page = receipt.Body.String()
	if receipt.Code != http.StatusOK {
		t.Fatalf("receipt: %d", receipt.Code)
	}
	for _, want := range []string{"租借收据", lease.ID, "轻便轮椅", "JZ-WC-0001", "父亲 王**", "低收入", "租金", "政府补贴", "收款", "¥90", "¥18", "已结清", "北站", "0391-3561234", "甲"} {
		if !strings.Contains(page, want) {
			t.Errorf("receipt lacks %q", want)
		}
	}
	if rec := fam.get("/account/rentals/" + theirs.ID); rec.Code != http.StatusNotFound {
		t.Errorf("someone else's receipt: %d", rec.Code)
	}
	// The relation is the family's to say.
	rec = fam.do(http.MethodPost, "/account/renters/"+fam.renter.ID+"/relation", url.Values{"relation": {"spouse"}})
	if rec.Code != http.StatusSeeOther || !strings.Contains(fam.get("/account").Body.String(), "配偶 · 王**") {
		t.Errorf("relation: %d", rec.Code)
	}
	rec = fam.do(http.MethodPost, "/account/renters/"+stranger.ID+"/relation", url.Values{"relation": {"father"}})
	if rec.Code != http.StatusNotFound {
		t.Errorf("naming someone else's renter: %d", rec.Code)
	}
	if rec := fam.do(http.MethodPost, "/account/renters/"+fam.renter.ID+"/relation", url.Values{"relation": {"boss"}}); rec.Code != http.StatusBadRequest {
		t.Errorf("unknown relation: %d", rec.Code)
	}
	// English, and times in the city's zone.
	en := fam.get("/account?lang=en").Body.String()
	if !strings.Contains(en, "Spouse · 王**") && !strings.Contains(en, "spouse · 王**") || !strings.Contains(en, "valid until 2027-06-30") {
		t.Errorf("English account page:\n%s", en)
	}
	// The session's time is the city's, not UTC.
	acct := fam.get("/account").Body.String()
	sess, err := s.auth.Sessions(context.Background(), fam.user.ID)
	if err != nil || len(sess) == 0 {
		t.Fatal(err)
	}
	if seen := sess[0].LastSeen; !strings.Contains(acct, "最近使用 "+seen.In(l10n.Local).Format("2006-01-02 15:04")) ||
		strings.Contains(acct, "最近使用 "+seen.UTC().Format("2006-01-02 15:04")) {
		t.Errorf("session times are not in the city's time zone (%s):\n%s", seen, acct)
	}
}
