package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"fuju/cmd/internal/app"
	"fuju/cmd/internal/demo"
	"fuju/internal/apitest"
	"fuju/internal/config"
	"fuju/internal/testenv"
	"fuju/stations"
)

func TestMain(m *testing.M) {
	os.Exit(testenv.Main(m))
}

// instance is the real program started by run on a free port.
type instance struct {
	URL    string
	stop   context.CancelFunc
	done   chan error
	logs   *testenv.Buffer
	stdout *testenv.Buffer
}

// withDatabase points env at the tests' database server when the tests run
// against one (FUJU_TEST_BACKEND=postgres, FUJU_TEST_MONGODB_URI): a fresh
// database, dropped when the test ends. On the embedded backend env stays as
// it is and the program starts its own engine in DATA_DIR, as
// `go run ./cmd/fuju` does.
func withDatabase(t *testing.T, env map[string]string) map[string]string {
	t.Helper()
	if _, ok := env["MONGODB_URI"]; ok || testenv.Backend() == testenv.BackendEmbedded {
		return env
	}
	env = maps.Clone(env)
	env["MONGODB_URI"], env["FUJU_DB_NAME"] = testenv.MongoURI(t), testenv.DB(t).Name()
	return env
}

// start runs `fuju serve` with env (withDatabase) and waits for its URL.
func start(t *testing.T, env map[string]string) *instance {
	t.Helper()
	env = withDatabase(t, env)
	if _, ok := env["FUJU_DEMO_HISTORY"]; !ok {
		// The demo city's year of history takes most of a seed and no
		// test of the running program reads it: TestDemoHistory seeds and
		// checks it.
		env = maps.Clone(env)
		env["FUJU_DEMO_HISTORY"] = "false"
	}
	ctx, cancel := context.WithCancel(context.Background())
	in := &instance{stop: cancel, done: make(chan error, 1), logs: &testenv.Buffer{}, stdout: &testenv.Buffer{}}
	getenv := func(k string) string {
		if k == "FUJU_ADDR" && env[k] == "" {
			return "127.0.0.1:0"
		}
		return env[k]
	}
	pr, pw := io.Pipe()
	go func() {
		err := run(ctx, []string{"serve"}, getenv, strings.NewReader(""), io.MultiWriter(pw, in.stdout), in.logs)
		pw.Close()
		in.done <- err
	}()
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			if url, ok := strings.CutPrefix(sc.Text(), "Fuju is running at "); ok {
				lines <- strings.Fields(url)[0]
			}
		}
		io.Copy(io.Discard, pr)
	}()
	select {
	case in.URL = <-lines:
	case err := <-in.done:
		t.Fatalf("fuju exited before serving: %v\nlogs:\n%s", err, in.logs)
	case <-time.After(120 * time.Second):
		t.Fatalf("fuju did not start within 2 minutes\nlogs:\n%s", in.logs)
	}
	t.Cleanup(func() { in.shutdown(t) })
	return in
}

// shutdown stops the instance gracefully and waits for run to return.
func (in *instance) shutdown(t *testing.T) {
	t.Helper()
	if in.stop == nil {
		return
	}
	in.stop()
	in.stop = nil
	select {
	case err := <-in.done:
		if err != nil {
			t.Errorf("run returned %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Error("fuju did not stop within 30 s")
	}
}

var (
	contractOnce sync.Once
	contract     *apitest.Contract
	contractErr  error
)

// checked returns a transport that checks every API request and answer
// against the OpenAPI document the instance at base serves (the binary's
// own, the same for every instance), failing t on a mismatch.
func checked(t *testing.T, base string) http.RoundTripper {
	t.Helper()
	contractOnce.Do(func() {
		var resp *http.Response
		if resp, contractErr = http.Get(base + "/api/v1/openapi.json"); contractErr != nil {
			return
		}
		defer resp.Body.Close()
		var doc []byte
		if doc, contractErr = io.ReadAll(resp.Body); contractErr == nil {
			contract, contractErr = apitest.Load(doc)
		}
	})
	if contractErr != nil {
		t.Fatalf("the OpenAPI document: %v", contractErr)
	}
	return contract.Transport(t, nil)
}

// fetch sends a request; API requests and answers are checked against the
// OpenAPI document.
func fetch(t *testing.T, method, url string, header map[string]string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(method, url, nil)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := (&http.Client{Transport: checked(t, req.URL.Scheme+"://"+req.URL.Host)}).Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func TestServeDemoCityEndToEnd(t *testing.T) {
	dir := t.TempDir()
	env := withDatabase(t, map[string]string{"DATA_DIR": dir, "FUJU_DEMO": "true"})
	in := start(t, env)

	var stations struct {
		Items []stations.Station `json:"items"`
		Total int                `json:"total"`
	}
	_, body := fetch(t, "GET", in.URL+"/api/v1/stations?near=35.215,113.242", nil)
	if err := json.Unmarshal([]byte(body), &stations); err != nil || stations.Total != len(demo.Stations) {
		t.Fatalf("stations: %v %d\n%s", err, stations.Total, body)
	}
	if stations.Items[0].ID != "sy-renmin" {
		t.Errorf("nearest station to the centre is %s", stations.Items[0].ID)
	}
	var products struct{ Total int }
	_, body = fetch(t, "GET", in.URL+"/api/v1/products?per_page=100", nil)
	if json.Unmarshal([]byte(body), &products); products.Total != len(demo.Products) {
		t.Errorf("products total %d, want %d", products.Total, len(demo.Products))
	}
	// Pages in both languages.
	for _, tt := range []struct{ path, lang, want string }{
		{"/", "", "就近借用轮椅"},
		{"/", "en", "Borrow a wheelchair"},
		{"/products?category=hospital_bed", "", "三功能电动护理床"},
		{"/products/wc-alu-light", "en", "Lightweight aluminium wheelchair"},
		{"/stations", "", "沁阳市覃怀街道辅具站"},
		{"/stations/mz-heyang", "en", "Heyang Subdistrict Station"},
	} {
		h := map[string]string{}
		if tt.lang != "" {
			h["Cookie"] = "lang=" + tt.lang
		}
		resp, body := fetch(t, "GET", in.URL+tt.path, h)
		if resp.StatusCode != 200 || !strings.Contains(body, tt.want) {
			t.Errorf("%s (%s): %d, want %q", tt.path, tt.lang, resp.StatusCode, tt.want)
		}
	}
	// Oversized headers are refused by the server, not a 500.
	resp, _ := fetch(t, "GET", in.URL+"/", map[string]string{"X-Big": strings.Repeat("a", 100<<10)})
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("100 KiB header: %d", resp.StatusCode)
	}
	// Logs are JSON lines carrying the request id we sent.
	resp, _ = fetch(t, "GET", in.URL+"/healthz", map[string]string{"X-Request-ID": "e2e-check-1"})
	if resp.Header.Get("X-Request-ID") != "e2e-check-1" {
		t.Errorf("request id not echoed")
	}
	if resp, _ := fetch(t, "GET", in.URL+"/readyz", nil); resp.StatusCode != 200 {
		t.Errorf("readyz %d", resp.StatusCode)
	}
	found := false
	for _, line := range strings.Split(in.logs.String(), "\n") {
		var rec map[string]any
		if json.Unmarshal([]byte(line), &rec) == nil && rec["request_id"] == "e2e-check-1" && rec["route"] == "/healthz" {
			found = true
		}
	}
	if !found {
		t.Errorf("no JSON log line for request e2e-check-1:\n%.2000s", in.logs)
	}
	where := `"where":"embedded FerretDB (SQLite) in `
	if testenv.Backend() != testenv.BackendEmbedded {
		where = `"where":"MongoDB at `
	}
	if !strings.Contains(in.logs.String(), where) {
		t.Errorf("start-up log does not say where the data lives (%s)", where)
	}
	units := unitStates(t, in.URL)

	// A graceful stop, then a second start on the same DATA_DIR sees the same
	// data and does not seed again.
	in.shutdown(t)
	if !strings.Contains(in.stdout.String(), "Fuju stopped.") {
		t.Errorf("stdout: %s", in.stdout)
	}
	again := start(t, env)
	if got := unitStates(t, again.URL); got != units {
		t.Errorf("after restart the stations show %q, before %q", got, units)
	}
	if strings.Contains(again.logs.String(), "demo city seeded") {
		t.Error("demo data seeded twice")
	}
}

// unitStates summarises availability at every station, to compare runs.
func unitStates(t *testing.T, base string) string {
	t.Helper()
	var out []string
	for _, st := range demo.Stations {
		var d struct {
			Inventory []struct {
				ProductID string `json:"product_id"`
				Available int    `json:"available"`
				Total     int    `json:"total"`
			} `json:"inventory"`
		}
		_, body := fetch(t, "GET", base+"/api/v1/stations/"+st.ID, nil)
		if err := json.Unmarshal([]byte(body), &d); err != nil {
			t.Fatal(err)
		}
		for _, l := range d.Inventory {
			out = append(out, fmt.Sprintf("%s/%s:%d/%d", st.ID, l.ProductID, l.Available, l.Total))
		}
	}
	return strings.Join(out, " ")
}

// The demo city is the same every time it is seeded.
func TestDemoIsDeterministic(t *testing.T) {
	ctx := context.Background()
	snapshot := func() string {
		cfg := config.Config{MongoURI: testenv.MongoURI(t), Database: testenv.DBName(t.Name()), DataDir: t.TempDir()}
		a, err := app.Open(ctx, cfg, discardLogger())
		if err != nil {
			t.Fatal(err)
		}
		defer func() {
			_ = a.DB.Database.Drop(ctx)
			a.Close()
		}()
		testenv.Tune(t, cfg.Database) // as the program's own engine is
		if seeded, err := demo.SeedIfEmpty(ctx, a, 1, false); err != nil || !seeded {
			t.Fatalf("seed: %v %v", seeded, err)
		}
		if seeded, _ := demo.SeedIfEmpty(ctx, a, 1, false); seeded {
			t.Fatal("seeded a database that has data")
		}
		us, total, err := a.Stations.Units(ctx, stations.UnitFilter{}, 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		if total < 350 || total > 450 {
			t.Errorf("demo has %d units, want about 400", total)
		}
		var b strings.Builder
		states := map[stations.State]int{}
		for _, u := range us {
			fmt.Fprintf(&b, "%s %s %s %s %s|", u.Tag, u.ProductID, u.StationID, u.State, u.AcquiredOn)
			states[u.State]++
		}
		if int64(states[stations.Available]) < total/2 || states[stations.Cleaning] == 0 || states[stations.Repair] == 0 || states[stations.InTransit] == 0 {
			t.Errorf("demo states are not mixed: %v", states)
		}
		return b.String()
	}
	if a, b := snapshot(), snapshot(); a != b {
		t.Error("two seeds differ")
	}
}

// A family browses on a phone in a real browser: searches, opens a product,
// switches to English, and finds a station.
func TestBrowseInBrowser(t *testing.T) {
	in := start(t, map[string]string{"DATA_DIR": t.TempDir(), "FUJU_DEMO": "true"})
	p := newPage(t, in.URL)
	ctx := p.ctx
	step := p.do
	text := p.text
	step("open home", chromedp.Navigate(in.URL+"/"), chromedp.WaitVisible(chromedp.CSS("#q")))
	if lang, _ := chromedp.Run(ctx, chromedp.Evaluate[string]("document.documentElement.lang")); lang != "zh-CN" {
		t.Errorf("home lang %q", lang)
	}
	step("search", chromedp.SendKeys(chromedp.CSS("#q"), "护理床"), chromedp.Submit(chromedp.CSS("#q")),
		chromedp.WaitVisible(chromedp.CSS(".products")))
	if got := text(".count"); !strings.Contains(got, "2") {
		t.Errorf("search count %q", got)
	}
	step("open product", chromedp.Click(chromedp.CSS(".products h3 a")), chromedp.WaitVisible(chromedp.CSS("table.prices")))
	if got := text("table.prices tbody tr:first-child td"); got != "免费" {
		t.Errorf("subsistence 7-day price %q", got)
	}
	// The product's photo is really there: the browser fetched and decoded it.
	loaded, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(async () => {
		const img = document.querySelector(".gallery img");
		if (!img) return false;
		if (!img.complete) await new Promise(r => img.addEventListener("load", r, {once: true}));
		return img.naturalWidth > 0 && img.alt.length > 0;
	})()`, func(p *runtime.EvaluateParams) { yes := true; p.AwaitPromise = &yes }))
	if err != nil || !loaded {
		t.Errorf("product photo did not load in the browser (%v)", err)
	}
	step("switch to English", chromedp.Click(chromedp.CSS(`a[hreflang="en"]`)), chromedp.WaitVisible(chromedp.CSS("table.prices")))
	if got := text("h2#price-h"); got != "Rent by tier" {
		t.Errorf("English heading %q", got)
	}
	step("stations", chromedp.Click(chromedp.CSS(`nav a[href="/stations"]`)), chromedp.WaitVisible(chromedp.CSS(".cards")))
	if lang, _ := chromedp.Run(ctx, chromedp.Evaluate[string]("document.documentElement.lang")); lang != "en" {
		t.Errorf("language not remembered: %q", lang)
	}
	step("choose district", chromedp.SetValue(chromedp.CSS("#district"), "mengzhou"), chromedp.Submit(chromedp.CSS("#district")),
		chromedp.WaitVisible(chromedp.CSS(".cards .dist")))
	if got := text(".cards li:first-child h2"); !strings.Contains(got, "Mengzhou") && !strings.Contains(got, "Huichang") && !strings.Contains(got, "Heyang") {
		t.Errorf("nearest to Mengzhou is %q", got)
	}
	// Nothing on the page overflows a 390 px phone.
	wide, err := chromedp.Run(ctx, chromedp.Evaluate[bool]("document.documentElement.scrollWidth > window.innerWidth"))
	if err != nil || wide {
		t.Errorf("page scrolls sideways on a phone (%v)", err)
	}
}

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
