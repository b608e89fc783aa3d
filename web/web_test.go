package web

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"fuju/accounts"
	"fuju/catalog"
	"fuju/internal/apitest"
	"fuju/internal/audit"
	"fuju/internal/changefeed"
	"fuju/internal/l10n"
	"fuju/internal/tenancy"
	"fuju/internal/testenv"
	"fuju/internal/throttle"
	"fuju/media"
	"fuju/messages"
	online "fuju/payments"
	"fuju/rentals"
	"fuju/reports"
	"fuju/stations"
)

func TestMain(m *testing.M) {
	gin.SetMode(gin.TestMode)
	os.Exit(testenv.Main(m))
}

// pinger stands in for the database's answers about itself: Ping returns
// err, and an error wrapping errDBTimedOut is one the database calls
// overloaded. What the real database calls so is internal/db's
// TestOverloaded.
type pinger struct{ err error }

var errDBTimedOut = errors.New("test: the database did not answer in time")

func (p pinger) Ping(context.Context) error { return p.err }

func (p pinger) Overloaded(err error) bool { return errors.Is(err, errDBTimedOut) }

// newTestServer wires real services on a fresh embedded database with a small
// city: one operator, two stations, two products, three units.
func newTestServer(t testing.TB) *Server {
	t.Helper()
	m, err := media.Open(context.Background(), media.Config{Dir: t.TempDir(), SigningKey: []byte(strings.Repeat("k", 32))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return newTestServerWith(t, m)
}

func newTestServerWith(t testing.TB, m *media.Service) *Server {
	t.Helper()
	ctx := context.Background()
	db := testenv.DB(t)
	feed := changefeed.New(db, "catalog", nil)
	au := accounts.NewService(db, nil)
	// The city below is set up unrecorded; from then on, every service
	// writes its audit entries to au, as the wiring does.
	rec := &laterRecorder{}
	st := stations.NewService(db, feed, rec, nil)
	cat := catalog.NewService(db, st.Index(), feed, rec, nil)
	st.UseChecklists(cat)
	st.ProductsNamed = cat.Named
	pol := rentals.NewPolicies(db, rec)
	th := throttle.NewStore(db, []byte(strings.Repeat("t", 32)))
	au.StationOf = func(ctx context.Context, id string) (string, error) {
		s, err := st.Station(ctx, id)
		return s.OperatorID, err
	}
	au.OperatorExists = func(ctx context.Context, id string) error {
		_, err := st.Operator(ctx, id)
		return err
	}
	au.SendCode = keepCode
	rent, err := rentals.NewService(db, st, cat, pol, []byte(strings.Repeat("i", 32)), rec, nil)
	if err != nil {
		t.Fatal(err)
	}
	rent.UseProofStore(m)
	rep := reports.NewService(db, rent, st, rec)
	// The outbox with the log sender, its audit entries in the audit log as
	// the wiring writes them. Its clock is the server's, so a test that
	// moves one moves both.
	var srv *Server
	msgs, err := messages.NewService(db, nil, msgAuditor{au}, messages.Options{Now: func() time.Time {
		if srv != nil {
			return srv.now()
		}
		return time.Date(2026, 11, 26, 10, 0, 0, 0, l10n.Local)
	}, Logger: slog.New(slog.NewJSONHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	res := rentals.NewReservations(db, rent, st, msgs)
	rep.UseDemand(res)
	rep.SetClock(func() time.Time { return time.Date(2026, 11, 26, 10, 0, 0, 0, l10n.Local) })
	for _, f := range []func(context.Context) error{st.Init, cat.Init, pol.Init, au.Init, rent.Init, res.Init, msgs.Init, th.Init, rep.Init} {
		if err := f(ctx); err != nil {
			t.Fatal(err)
		}
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	_, err = st.CreateOperator(ctx, stations.Operator{ID: "op-a", Name: l10n.Text{Zh: "甲", En: "A"}}, tenancy.System)
	must(err)
	for _, s := range []stations.Station{
		{ID: "north", Name: l10n.Text{Zh: "北站", En: "North"}, Lat: 35.30, Lng: 113.24, Phone: "0391-3561234"},
		{ID: "south", Name: l10n.Text{Zh: "南站", En: "South"}, Lat: 35.21, Lng: 113.24},
	} {
		s.OperatorID, s.Address, s.District, s.Hours, s.Active = "op-a", l10n.Text{Zh: "路", En: "Road"}, "shanyang", stations.StandardHours(), true
		_, err := st.CreateStation(ctx, s)
		must(err)
	}
	for _, p := range []catalog.Product{
		{ID: "wc", Category: "manual_wheelchair", Name: l10n.Text{Zh: "轻便轮椅", En: "Light wheelchair"},
			Specs: catalog.Specs{Foldable: true, SeatWidthCM: 46}, Rate: catalog.RatePlan{DailyFen: 500, Block30Fen: 9000, DepositFen: 30000}},
		{ID: "walker", Category: "walker", Name: l10n.Text{Zh: "助行架", En: "Walker"}, Rate: catalog.RatePlan{DailyFen: 200, Block30Fen: 3000}},
	} {
		p.OperatorID = "op-a"
		_, err := cat.Create(ctx, tenancy.PlatformScope, p, tenancy.System)
		must(err)
	}
	for _, u := range []stations.Unit{{Tag: "JZ-WC-0001", ProductID: "wc", StationID: "north"}, {Tag: "JZ-WC-0002", ProductID: "wc", StationID: "south"}, {Tag: "JZ-WK-0001", ProductID: "walker", StationID: "north", State: stations.Cleaning}} {
		_, err := st.CreateUnit(ctx, u, tenancy.System)
		must(err)
	}
	rec.to.Store(au)
	// Thursday 2026-11-26 10:00 in the city: stations are open.
	now := time.Date(2026, 11, 26, 10, 0, 0, 0, l10n.Local)
	pol.Now = func() time.Time { return now }
	// Online payment against stripe-mock, told to the lease ledger as the
	// wiring does (payments_test.go).
	ws := newWebStripe(t)
	pay, err := online.NewService(db, online.Config{SecretKey: "sk_test_fuju", WebhookSecrets: []string{testWebhookSecret},
		APIBase: testenv.StripeMock(t), FeeBP: 100, HTTPClient: &http.Client{Transport: ws, Timeout: 30 * time.Second}},
		testLedger{res}, rec, slog.New(slog.NewJSONHandler(io.Discard, nil)))
	must(err)
	must(pay.Init(ctx))
	res.Prepaid = testPrepaid{pay}
	rent.UseDepositRefunds(testPrepaid{pay})
	s, err := NewServer(Config{Catalog: cat, Stations: st, Policies: pol, Media: m, DB: pinger{}, Now: func() time.Time { return now },
		Auth: au, Rentals: rent, Reservations: res, Reports: rep, Payments: pay, Messages: msgs, SecretKey: []byte(strings.Repeat("s", 32)), Throttle: th,
		Logger: slog.New(slog.NewJSONHandler(io.Discard, nil))})
	must(err)
	srv = s
	// Every request a test makes through the router, and every answer, is
	// checked against the OpenAPI document.
	s.handler = testContract(t).Handler(t, s.engine)
	webStripes.Store(s, ws)
	t.Cleanup(func() { testDigests.Delete(s); webStripes.Delete(s) })
	testDigests.Store(s, func(skip ...string) string {
		t.Helper()
		ctx := context.Background()
		names, err := db.ListCollectionNames(ctx, map[string]any{})
		must(err)
		var docs []string
		for _, name := range names {
			if slices.Contains(skip, name) {
				continue
			}
			cur, err := db.Collection(name).Find(ctx, map[string]any{})
			must(err)
			for cur.Next(ctx) {
				sum := sha256.Sum256(cur.Current)
				docs = append(docs, name+" "+hex.EncodeToString(sum[:]))
			}
			must(cur.Err())
			cur.Close(ctx)
		}
		slices.Sort(docs)
		return strings.Join(docs, "\n")
	})
	// The collections exist now: index them as the service indexes its
	// own engine's (testenv.Tune).
	testenv.Tune(t, db.Name())
	return s
}

// msgAuditor writes the outbox's audit entries to the audit log, field names
// only, as cmd/internal/app's wiring does.
type msgAuditor struct{ auth *accounts.Service }

func (a msgAuditor) Audit(ctx context.Context, e messages.AuditEntry) error {
	changes := make([]audit.Change, len(e.Fields))
	for i, f := range e.Fields {
		changes[i] = audit.Change{Field: f}
	}
	return a.auth.Record(ctx, audit.Entry{Actor: audit.Actor{ID: e.Actor.ID, Role: e.Actor.Role}, OperatorID: e.OperatorID,
		Action: e.Action, Target: e.Target, Changes: changes, RequestID: audit.RequestID(ctx)})
}

// testDigests holds, per test server, a function listing a digest of each
// document its database holds (see stored).
var testDigests sync.Map

// stored lists a digest of every document s's database holds but those of the
// collections named in skip: equal lists mean nothing was written in between.
func stored(t testing.TB, s *Server, skip ...string) string {
	t.Helper()
	f, ok := testDigests.Load(s)
	if !ok {
		t.Fatal("not a test server")
	}
	return f.(func(...string) string)(skip...)
}

var (
	contractMu sync.Mutex
	contract   *apitest.Contract
)

// testContract is the merged OpenAPI document, loaded and validated once
// (again after dropContract).
func testContract(t testing.TB) *apitest.Contract {
	t.Helper()
	contractMu.Lock()
	defer contractMu.Unlock()
	if contract == nil {
		doc, err := buildOpenAPI()
		if err == nil {
			contract, err = apitest.Load(doc)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	return contract
}

// dropContract lets the garbage collector have the loaded document, for a
// test that measures the server's heap: the document is the tests' memory,
// and marking it would slow the collections the test measures. The next
// test server loads it again.
func dropContract() {
	contractMu.Lock()
	defer contractMu.Unlock()
	contract = nil
}

func get(t *testing.T, h http.Handler, target string, cookies ...*http.Cookie) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, target, nil)
	for _, c := range cookies {
		req.AddCookie(c)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func decode[T any](t *testing.T, rec *httptest.ResponseRecorder) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil {
		t.Fatalf("decode %s: %v", rec.Body.String(), err)
	}
	return v
}

func TestPublicAPI(t *testing.T) {
	s := newTestServer(t)
	rec := get(t, s, "/api/v1/products?q=wheelchair&near=35.2,113.24&tier=low_income")
	if rec.Code != http.StatusOK {
		t.Fatalf("products: %d %s", rec.Code, rec.Body)
	}
	res := decode[catalog.Result](t, rec)
	if res.Total != 1 || res.Page != 1 || res.PerPage != catalog.DefaultPerPage || res.Hits[0].Product.ID != "wc" {
		t.Fatalf("products result %+v", res)
	}
	if h := res.Hits[0]; h.MonthFen != 1800 || h.DayFen != 100 || h.Available != 2 || h.NearestStation != "south" {
		t.Errorf("low-income hit %+v", h)
	}

	cats := decode[list[catalog.CategoryCount]](t, get(t, s, "/api/v1/categories"))
	if cats.Total != len(catalog.Categories) || cats.Items[0].Products != 1 {
		t.Errorf("categories %+v", cats)
	}

	prod := decode[productDetail](t, get(t, s, "/api/v1/products/wc?near=35.29,113.24"))
	if prod.ID != "wc" || len(prod.Stations) != 2 || prod.Stations[0].Station.ID != "north" || !prod.Stations[0].OpenNow {
		t.Errorf("product detail %+v", prod)
	}

	sts := decode[list[stationSummary]](t, get(t, s, "/api/v1/stations?near=35.2,113.24"))
	if sts.Total != 2 || sts.Items[0].ID != "south" || sts.Items[0].DistanceKM == nil {
		t.Errorf("stations near south %+v", sts)
	}
	st := decode[stationDetail](t, get(t, s, "/api/v1/stations/north"))
	if len(st.Inventory) != 2 || st.Inventory[0].ProductID != "wc" || st.Inventory[0].Available != 1 || st.Inventory[1].Available != 0 || st.Inventory[1].Total != 1 {
		t.Errorf("station inventory %+v", st.Inventory)
	}

	q := decode[rentals.Quote](t, get(t, s, "/api/v1/quote?product=wc&days=31&tier=low_income"))
	if q.StandardFen != 9500 || q.RenterFen != 1900 || q.SubsidyFen != 7600 || q.DepositFen != 0 || q.PolicyVersion != 1 {
		t.Errorf("quote %+v", q)
	}
}

// Bad input: a clear 4xx naming the field, never a 500.
func TestPublicAPIBadInput(t *testing.T) {
	s := newTestServer(t)
	tests := []struct {
		target string
		status int
		field  string
	}{
		{"/api/v1/products?page=-1", 400, "page"},
		{"/api/v1/products?page=abc", 400, "page"},
		{"/api/v1/products?per_page=0", 400, "per_page"},
		{"/api/v1/products?category=jetpack", 400, "category"},
		{"/api/v1/products?near=abc", 400, "near"},
		{"/api/v1/products?near=91,200", 400, "near"},
		{"/api/v1/products?tier=gold", 400, "tier"},
		{"/api/v1/products?available=maybe", 400, "available"},
		{"/api/v1/products?station=atlantis", 400, "station"},
		{"/api/v1/products?sort=distance", 400, "sort"},
		{"/api/v1/products?max_month_fen=-5", 400, "max_month_fen"},
		{"/api/v1/products?q[$ne]=1", 400, "q[$ne]"},
		{"/api/v1/products?category[$gt]=", 400, "category[$gt]"},
		{"/api/v1/products?" + url.Values{"q": {strings.Repeat("x", 2001)}}.Encode(), 400, "q"},
		{"/api/v1/stations?near=35.2", 400, "near"},
		{"/api/v1/stations?district=gotham", 400, "district"},
		{"/api/v1/quote?product=wc&days=0", 400, "days"},
		{"/api/v1/quote?product=wc&days=100000", 400, "days"},
		{"/api/v1/quote?product=wc&days=7&tier=vip", 400, "tier"},
		{"/api/v1/quote?days=7", 400, "product"},
		{"/api/v1/quote?product=wc", 400, "days"},
		{"/api/v1/quote?product=wc&days=7&days[$gt]=1", 400, "days[$gt]"},
		{"/api/v1/products/nope", 404, ""},
		{"/api/v1/products/%00%ff", 404, ""},
		{"/api/v1/products/..%2F..%2Fetc", 404, ""},
		{"/api/v1/stations/nope", 404, ""},
		{"/api/v1/quote?product=nope&days=7", 404, ""},
		{"/api/v1/nothing", 404, ""},
	}
	for _, tt := range tests {
		rec := get(t, s, tt.target)
		if rec.Code != tt.status {
			t.Errorf("%s: status %d, want %d (%s)", tt.target, rec.Code, tt.status, rec.Body)
			continue
		}
		body := decode[apiError](t, rec)
		if body.Error.Code == "" || body.Error.Message == "" || body.Error.RequestID == "" {
			t.Errorf("%s: error body %+v", tt.target, body)
		}
		if tt.field != "" {
			if _, ok := body.Error.Fields[tt.field]; !ok {
				t.Errorf("%s: fields %v do not name %q", tt.target, body.Error.Fields, tt.field)
			}
		}
	}
	// Too many per page is capped, not refused.
	res := decode[catalog.Result](t, get(t, s, "/api/v1/products?per_page=100000"))
	if res.PerPage != catalog.MaxPerPage {
		t.Errorf("per_page=100000 gave per_page %d", res.PerPage)
	}
	// Hostile text finds nothing rather than everything.
	for _, q := range []string{".*", "(", "$ne", `{"$ne":null}`} {
		res := decode[catalog.Result](t, get(t, s, "/api/v1/products?"+url.Values{"q": {q}}.Encode()))
		if res.Total != 0 {
			t.Errorf("q=%q matched %d products", q, res.Total)
		}
	}
}

func TestPages(t *testing.T) {
	s := newTestServer(t)
	en := &http.Cookie{Name: "lang", Value: "en"}
	tests := []struct {
		target string
		lang   *http.Cookie
		status int
		want   []string
	}{
		{"/", nil, 200, []string{`<html lang="zh-CN">`, "手动轮椅", `href="/products?category=manual_wheelchair#results"`, `name="district"`}},
		{"/", en, 200, []string{`<html lang="en">`, "Manual wheelchair", "Use my location"}},
		{"/products", nil, 200, []string{"共找到 2 种辅具", "轻便轮椅", "¥5</strong>/天"}},
		{"/products?tier=subsistence&q=wheelchair", en, 200, []string{"1 device found", "Free", "Light wheelchair"}},
		{"/products?available=1", nil, 200, []string{"共找到 1 种辅具"}},
		{"/products?max_price=abc", nil, 400, []string{`aria-invalid="true"`, "请输入整数", "共找到 2 种辅具"}},
		{"/products/wc", nil, 200, []string{"<h1>轻便轮椅</h1>", "北站", "南站", "免押金", "¥90", "座宽"}},
		{"/products/wc", en, 200, []string{"Light wheelchair", "Seat width", "Rent by tier", "No deposit"}},
		{"/products/wc?district=shanyang", nil, 200, []string{"距山阳区中心"}},
		{"/products/wc?near=35.2,113.24", nil, 200, []string{"距您"}},
		{"/stations", nil, 200, []string{"共 2 个服务站", `href="tel:0391-3561234"`, "正在营业"}},
		{"/stations?near=35.2,113.24", en, 200, []string{"nearest first", "km from you"}},
		{"/stations/north", nil, 200, []string{"<h1>北站</h1>", "uri.amap.com", "星期一", `class="today"`, "现有 1 台可借", "本站暂无空闲"}},
		{"/stations/north", en, 200, []string{"Opening hours", "Monday", "Walker"}},
		{"/products/nope", nil, 404, []string{"找不到这个页面"}},
		{"/no/such/page", en, 404, []string{"Page not found"}},
	}
	for _, tt := range tests {
		var rec *httptest.ResponseRecorder
		if tt.lang != nil {
			rec = get(t, s, tt.target, tt.lang)
		} else {
			rec = get(t, s, tt.target)
		}
		if rec.Code != tt.status {
			t.Errorf("%s: status %d, want %d", tt.target, rec.Code, tt.status)
		}
		body := rec.Body.String()
		for _, w := range tt.want {
			if !strings.Contains(body, w) {
				t.Errorf("%s (lang %v): missing %q", tt.target, tt.lang != nil, w)
			}
		}
		if strings.Contains(body, "%!") {
			t.Errorf("%s: a message was formatted with the wrong arguments", tt.target)
		}
	}
}

func TestLanguageSwitchIsRemembered(t *testing.T) {
	s := newTestServer(t)
	rec := get(t, s, "/lang/en?next=%2Fproducts%3Fq%3Dwalker")
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/products?q=walker" {
		t.Fatalf("switch: %d to %q", rec.Code, rec.Header().Get("Location"))
	}
	var lang *http.Cookie
	for _, c := range rec.Result().Cookies() {
		if c.Name == "lang" {
			lang = c
		}
	}
	if lang == nil || lang.Value != "en" || lang.MaxAge < 30*24*3600 || !lang.HttpOnly {
		t.Fatalf("lang cookie %+v", lang)
	}
	if body := get(t, s, "/products", lang).Body.String(); !strings.Contains(body, `lang="en"`) {
		t.Error("cookie not honoured")
	}
	for _, next := range []string{"https://evil.example/", "//evil.example", "/\\evil.example", "javascript:alert(1)"} {
		rec := get(t, s, "/lang/zh?next="+url.QueryEscape(next))
		if loc := rec.Header().Get("Location"); loc != "/" {
			t.Errorf("next=%q redirected to %q", next, loc)
		}
	}
	if rec := get(t, s, "/lang/fr"); rec.Code != http.StatusNotFound {
		t.Errorf("unknown language: %d", rec.Code)
	}
}

func TestOpsEndpoints(t *testing.T) {
	s := newTestServer(t)
	if rec := get(t, s, "/healthz"); rec.Code != 200 || !strings.Contains(rec.Body.String(), `"ok"`) {
		t.Errorf("healthz %d %s", rec.Code, rec.Body)
	}
	if rec := get(t, s, "/readyz"); rec.Code != 200 {
		t.Errorf("readyz %d", rec.Code)
	}
	s.cfg.DB = pinger{err: context.DeadlineExceeded}
	if rec := get(t, s, "/readyz"); rec.Code != http.StatusServiceUnavailable {
		t.Errorf("readyz with the database down: %d", rec.Code)
	}
	s.cfg.DB = pinger{}
	// A request id from the load balancer is echoed; a hostile one is replaced.
	req := httptest.NewRequest("GET", "/api/v1/categories", nil)
	req.Header.Set("X-Request-ID", "lb-123")
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, req)
	if rec.Header().Get("X-Request-ID") != "lb-123" {
		t.Errorf("request id not echoed: %q", rec.Header().Get("X-Request-ID"))
	}
	req.Header.Set("X-Request-ID", "<script>\n")
	rec = httptest.NewRecorder()
	s.ServeHTTP(rec, req)
	if rid := rec.Header().Get("X-Request-ID"); rid == "" || strings.ContainsAny(rid, "<\n") {
		t.Errorf("hostile request id kept: %q", rid)
	}
	get(t, s, "/api/v1/products/wc")
	m := get(t, s, "/metrics").Body.String()
	for _, w := range []string{`fuju_http_requests_total{method="GET",route="/api/v1/products/:id",status="200"}`, "fuju_http_request_duration_seconds_bucket"} {
		if !strings.Contains(m, w) {
			t.Errorf("metrics missing %s", w)
		}
	}
}

func TestPanicIsA500WithoutInternals(t *testing.T) {
	s := newTestServer(t)
	s.handler = s.engine // the panicking routes are this test's, not the API's
	s.engine.GET("/api/v1/test-panic", func(*gin.Context) { panic("secret database password") })
	s.engine.GET("/test-panic", func(*gin.Context) { panic("secret database password") })
	for _, target := range []string{"/api/v1/test-panic", "/test-panic"} {
		rec := get(t, s, target)
		if rec.Code != http.StatusInternalServerError || strings.Contains(rec.Body.String(), "secret") {
			t.Errorf("%s: %d %s", target, rec.Code, rec.Body)
		}
	}
	// The server keeps serving.
	if rec := get(t, s, "/healthz"); rec.Code != 200 {
		t.Errorf("after panic: %d", rec.Code)
	}
}

func TestStaticAssetsAreCached(t *testing.T) {
	s := newTestServer(t)
	url := s.pages.assets["app.css"]
	rec := get(t, s, url)
	if rec.Code != 200 || !strings.Contains(rec.Header().Get("Cache-Control"), "immutable") || !strings.Contains(rec.Body.String(), "--brand") {
		t.Errorf("%s: %d %q", url, rec.Code, rec.Header().Get("Cache-Control"))
	}
	page := get(t, s, "/")
	if csp := page.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") {
		t.Errorf("CSP %q", csp)
	}
}

// apiToken makes an API token of operator op-a with scopes.
func apiToken(t testing.TB, s *Server, scopes ...string) string {
	t.Helper()
	secret, _, err := s.auth.CreateToken(context.Background(), "op-a", "test", scopes, tenancy.System)
	if err != nil {
		t.Fatal(err)
	}
	return secret
}

// TestStoppingServer: once its instance begins a graceful stop, the server
// says so on /readyz (the load balancer stops sending) while it still serves
// what it accepted, and a request cut under it is answered 503 busy with
// Retry-After, never a bare 500.
func TestStoppingServer(t *testing.T) {
	s := newTestServer(t)
	s.Stop()
	rec := get(t, s, "/readyz")
	if rec.Code != http.StatusServiceUnavailable || !strings.Contains(rec.Body.String(), `"stopping"`) {
		t.Errorf("readyz while stopping: %d %s", rec.Code, rec.Body)
	}
	if rec := get(t, s, "/api/v1/categories"); rec.Code != http.StatusOK {
		t.Errorf("a request accepted while stopping: %d, want 200", rec.Code)
	}
	for _, asJSON := range []bool{true, false} {
		w := httptest.NewRecorder()
		c, _ := gin.CreateTestContext(w)
		c.Request = httptest.NewRequest(http.MethodPost, "/api/v1/staff/checkouts", nil)
		s.fail(c, fmt.Errorf("rentals: checkout: %w", context.Canceled), asJSON)
		if w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") == "" {
			t.Errorf("a request cut while stopping (json %v): %d, Retry-After %q", asJSON, w.Code, w.Header().Get("Retry-After"))
		}
		if asJSON && !strings.Contains(w.Body.String(), `"busy"`) {
			t.Errorf("a cut API request's body: %s", w.Body)
		}
	}
}
