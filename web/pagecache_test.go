package web

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"fuju/catalog"
	"fuju/internal/l10n"
	"fuju/internal/tenancy"
	"fuju/rentals"
	"fuju/stations"
)

// cacheProbe requests pages and says whether each came from the cache.
type cacheProbe struct {
	t *testing.T
	s *Server
}

// count reads fuju_page_cache_total{result} from /metrics.
func (p cacheProbe) count(result string) float64 {
	p.t.Helper()
	rec := httptest.NewRecorder()
	p.s.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	prefix := `fuju_page_cache_total{result="` + result + `"} `
	for _, line := range strings.Split(rec.Body.String(), "\n") {
		if v, ok := strings.CutPrefix(line, prefix); ok {
			n, err := strconv.ParseFloat(v, 64)
			if err != nil {
				p.t.Fatal(err)
			}
			return n
		}
	}
	return 0
}

// fetch GETs target with the given headers and cookies ("Cookie" is a
// header like the others) and reports what the cache did.
func (p cacheProbe) fetch(target string, header ...string) (*httptest.ResponseRecorder, string) {
	p.t.Helper()
	req := httptest.NewRequest(http.MethodGet, target, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Add(header[i], header[i+1])
	}
	hits, misses, bypass := p.count("hit"), p.count("miss"), p.count("bypass")
	rec := httptest.NewRecorder()
	p.s.ServeHTTP(rec, req)
	switch {
	case p.count("hit") > hits:
		return rec, "hit"
	case p.count("miss") > misses:
		return rec, "miss"
	case p.count("bypass") > bypass:
		return rec, "bypass"
	}
	return rec, "none"
}

// A public page is rendered once and then served from memory with a strong
// ETag; a browser that has it gets 304 and no body.
func TestPageCacheETag(t *testing.T) {
	s := newTestServer(t)
	p := cacheProbe{t, s}
	first, how := p.fetch("/products/wc")
	if first.Code != http.StatusOK || how != "miss" {
		t.Fatalf("first visit: %d, %s", first.Code, how)
	}
	etag := first.Header().Get("ETag")
	if !strings.HasPrefix(etag, `"`) || len(etag) < 10 {
		t.Fatalf("ETag %q is not a strong validator", etag)
	}
	if cc := first.Header().Get("Cache-Control"); cc != "no-cache" {
		t.Errorf("Cache-Control %q, want no-cache (keep, but ask again)", cc)
	}
	second, how := p.fetch("/products/wc")
	if how != "hit" || second.Body.String() != first.Body.String() || second.Header().Get("ETag") != etag {
		t.Errorf("second visit: %s, same body %v, ETag %q", how, second.Body.String() == first.Body.String(), second.Header().Get("ETag"))
	}
	if ct := second.Header().Get("Content-Type"); ct != "text/html; charset=utf-8" {
		t.Errorf("cached page's Content-Type %q", ct)
	}
	for _, inm := range []string{etag, "W/" + etag, `"other", ` + etag, "*"} {
		rec, _ := p.fetch("/products/wc", "If-None-Match", inm)
		if rec.Code != http.StatusNotModified || rec.Body.Len() != 0 || rec.Header().Get("ETag") != etag {
			t.Errorf("If-None-Match %s: %d with %d bytes, ETag %q", inm, rec.Code, rec.Body.Len(), rec.Header().Get("ETag"))
		}
	}
	if rec, _ := p.fetch("/products/wc", "If-None-Match", `"stale"`); rec.Code != http.StatusOK || rec.Body.Len() == 0 {
		t.Errorf("a stale ETag: %d", rec.Code)
	}
	// The first render answers a conditional request too.
	if rec, how := p.fetch("/stations", "If-None-Match", `"x"`); rec.Code != http.StatusOK || how != "miss" || rec.Header().Get("ETag") == "" {
		t.Errorf("first render of /stations: %d, %s, ETag %q", rec.Code, how, rec.Header().Get("ETag"))
	}
	// Pages that are not found are rendered every time, not kept.
	if rec, how := p.fetch("/products/nope"); rec.Code != http.StatusNotFound || how != "miss" || rec.Header().Get("ETag") != "" {
		t.Errorf("missing product: %d, %s", rec.Code, how)
	}
	if _, how := p.fetch("/products/nope"); how != "miss" {
		t.Errorf("a 404 was kept: %s", how)
	}
}

// A write renders again exactly the pages that show what it changed.
func TestPageCacheWriteInvalidatesExactly(t *testing.T) {
	s := newTestServer(t)
	ctx := context.Background()
	p := cacheProbe{t, s}
	// north carries both products (the walker is being cleaned), south only
	// the wheelchair.
	pages := []string{"/", "/products", "/products/wc", "/products/walker", "/stations", "/stations/north", "/stations/south", "/stations?lang=en"}
	check := func(what string, want map[string]string, body map[string]string) {
		t.Helper()
		for _, pg := range pages {
			rec, how := p.fetch(pg)
			if rec.Code != http.StatusOK {
				t.Fatalf("%s: %s answered %d", what, pg, rec.Code)
			}
			w := "hit"
			if m, ok := want[pg]; ok {
				w = m
			}
			if how != w {
				t.Errorf("after %s: %s was a %s, want a %s", what, pg, how, w)
			}
			if b, ok := body[pg]; ok && !strings.Contains(rec.Body.String(), b) {
				t.Errorf("after %s: %s does not show %q", what, pg, b)
			}
			// Served again, it comes from the cache.
			if _, how := p.fetch(pg); how != "hit" {
				t.Errorf("after %s: %s again was a %s", what, pg, how)
			}
		}
	}
	all := map[string]string{}
	for _, pg := range pages {
		all[pg] = "miss"
	}
	check("the first visits", all, nil)
	check("nothing", nil, nil)

	// The walker's name changes: its page, the lists that name it and the
	// station that carries it; not the wheelchair, not south, not the
	// station list (which names no product).
	walker, err := s.catalog.Get(ctx, tenancy.PlatformScope, "walker")
	if err != nil {
		t.Fatal(err)
	}
	walker.Name.Zh = "四脚助行架"
	if _, err := s.catalog.Update(ctx, tenancy.PlatformScope, walker, tenancy.System); err != nil {
		t.Fatal(err)
	}
	check("a product edit", map[string]string{"/": "miss", "/products": "miss", "/products/walker": "miss", "/stations/north": "miss"},
		map[string]string{"/products/walker": "四脚助行架", "/stations/north": "四脚助行架", "/products": "四脚助行架"})

	// The wheelchair at south goes to repair: its stock moves. Its product
	// page, the lists with counts and south; not the walker, not north.
	if _, err := s.stations.Move(ctx, "JZ-WC-0002", stations.Move{To: stations.Repair, Why: "brake", By: tenancy.System}); err != nil {
		t.Fatal(err)
	}
	check("a unit move", map[string]string{"/products": "miss", "/products/wc": "miss", "/stations": "miss", "/stations?lang=en": "miss", "/stations/south": "miss"}, nil)

	// A station's phone changes: that station, the station list and the
	// product pages that list stations; not the other station.
	north, err := s.stations.Station(ctx, "north")
	if err != nil {
		t.Fatal(err)
	}
	north.Phone = "0391-3569999"
	if _, err := s.stations.UpdateStation(ctx, north); err != nil {
		t.Fatal(err)
	}
	check("a station edit", map[string]string{"/products": "miss", "/products/wc": "miss", "/products/walker": "miss",
		"/stations": "miss", "/stations?lang=en": "miss", "/stations/north": "miss"},
		map[string]string{"/stations/north": "0391-3569999", "/stations": "0391-3569999"})

	// A new tier policy changes every price shown.
	pol := s.policies.Latest()
	base := pol.Version
	tiers := make(map[rentals.Tier]rentals.TierRule, len(pol.Tiers))
	for k, v := range pol.Tiers {
		tiers[k] = v
	}
	rule := tiers[rentals.LowIncome]
	rule.ShareBP = 3000
	tiers[rentals.LowIncome] = rule
	pol.Tiers, pol.EffectiveFrom = tiers, time.Time{}
	if _, err := s.policies.Put(ctx, base, pol); err != nil {
		t.Fatal(err)
	}
	check("a policy change", map[string]string{"/": "miss", "/products": "miss", "/products/wc": "miss", "/products/walker": "miss"}, nil)
}

// A signed-in visitor never gets the page cached for visitors, nor a
// visitor the signed-in page; neither carries the other's headers, and no
// cached page holds anything of one visitor.
func TestPageCacheNeverMixesVisitors(t *testing.T) {
	s := newTestServer(t)
	p := cacheProbe{t, s}
	fam := newFamily(t, s, "13900000041", rentals.LowIncome)
	session := sessionCookie + "=" + fam.cookies[sessionCookie].Value
	anonA, anonB := anonCookie+"=visitor-a-0123456789abcdef", anonCookie+"=visitor-b-0123456789abcdef"

	for _, order := range [][]string{{"visitor", "family"}, {"family", "visitor"}} {
		for _, pg := range []string{"/products/wc", "/products", "/", "/stations", "/stations/north"} {
			for _, who := range order {
				switch who {
				case "visitor":
					rec, how := p.fetch(pg, "Cookie", anonA)
					b := rec.Body.String()
					if how == "bypass" || rec.Header().Get("Cache-Control") != "no-cache" || rec.Header().Get("ETag") == "" {
						t.Errorf("visitor on %s: %s, Cache-Control %q, ETag %q", pg, how, rec.Header().Get("Cache-Control"), rec.Header().Get("ETag"))
					}
					if strings.Contains(b, `action="/logout"`) || strings.Contains(b, "王**") || strings.Contains(b, "王芳") {
						t.Errorf("a visitor on %s sees the family's page", pg)
					}
				case "family":
					rec, how := p.fetch(pg, "Cookie", session)
					if how != "bypass" || rec.Header().Get("Cache-Control") != "no-store" || rec.Header().Get("ETag") != "" {
						t.Errorf("family on %s: %s, Cache-Control %q, ETag %q", pg, how, rec.Header().Get("Cache-Control"), rec.Header().Get("ETag"))
					}
					if !strings.Contains(rec.Body.String(), `action="/logout"`) {
						t.Errorf("the family on %s gets a visitor's page", pg)
					}
				}
			}
		}
	}
	// The family's page shows their father's prices, the visitor's not.
	if rec, _ := p.fetch("/products/wc", "Cookie", session); !strings.Contains(rec.Body.String(), "按父亲 王** 的低收入档位") {
		t.Error("the family's product page lost its tier")
	}
	// Another visitor gets the same bytes; nothing of visitor A's (their
	// form token) is in any cached page.
	a, _ := p.fetch("/products/wc", "Cookie", anonA)
	b, how := p.fetch("/products/wc", "Cookie", anonB)
	if how != "hit" || a.Body.String() != b.Body.String() {
		t.Errorf("a second visitor: %s, same page %v", how, a.Body.String() == b.Body.String())
	}
	tokA := s.mac("anon:visitor-a-0123456789abcdef")
	s.cache.mu.Lock()
	for _, el := range s.cache.entries {
		e := el.Value.(*pageEntry)
		if strings.Contains(string(e.body), tokA) || strings.Contains(string(e.body), "_csrf") || strings.Contains(string(e.body), "王") {
			t.Errorf("a cached page holds a visitor's form token or a name: %q", e.key)
		}
	}
	s.cache.mu.Unlock()
	// A message waiting for the next page is shown, never cached.
	rec, how := p.fetch("/products/wc", "Cookie", flashCookie+"=flash.saved")
	if how != "bypass" || rec.Code != http.StatusOK {
		t.Errorf("a flash message: %s, %d", how, rec.Code)
	}
}

// Each language, each remembered district and tier is a page of its own;
// choices in the query, coordinates and queries not in their canonical form
// are rendered, not kept.
func TestPageCacheVariants(t *testing.T) {
	s := newTestServer(t)
	p := cacheProbe{t, s}
	zh, _ := p.fetch("/stations")
	en, how := p.fetch("/stations", "Accept-Language", "en-GB,en;q=0.9")
	if how != "miss" || !strings.Contains(en.Body.String(), "Stations") || en.Header().Get("Content-Language") != "en" {
		t.Errorf("English by the browser: %s, Content-Language %q", how, en.Header().Get("Content-Language"))
	}
	for _, tt := range []struct {
		header []string
		target string
		lang   string
	}{
		{nil, "/stations", "zh-CN"},
		{[]string{"Accept-Language", "en"}, "/stations", "en"},
		{[]string{"Cookie", "lang=en"}, "/stations", "en"},
		{[]string{"Cookie", "lang=zh", "Accept-Language", "en"}, "/stations", "zh-CN"},
		{nil, "/stations?lang=en", "en"},
	} {
		rec, how := p.fetch(tt.target, tt.header...)
		want := zh.Body.String()
		if tt.lang == "en" {
			want = en.Body.String()
		}
		if tt.target == "/stations?lang=en" {
			want = rec.Body.String() // its own page: its links keep ?lang=en
			if !strings.Contains(want, "Stations") {
				t.Error("?lang=en is not English")
			}
		}
		if rec.Header().Get("Content-Language") != tt.lang || rec.Body.String() != want || how == "bypass" {
			t.Errorf("%s %v: %s, Content-Language %q", tt.target, tt.header, how, rec.Header().Get("Content-Language"))
		}
	}

	// A remembered district and tier are pages of their own.
	district, how := p.fetch("/stations", "Cookie", "near=d:shanyang")
	if how != "miss" || !strings.Contains(district.Body.String(), "距山阳区中心") {
		t.Errorf("district: %s", how)
	}
	if _, how := p.fetch("/stations", "Cookie", "near=d:shanyang"); how != "hit" {
		t.Errorf("district again: %s", how)
	}
	low, how := p.fetch("/products/wc", "Cookie", "tier=low_income")
	if how != "miss" || !strings.Contains(low.Body.String(), `<tr class="chosen"><th scope="row">低收入`) {
		t.Errorf("tier: %s", how)
	}
	std, _ := p.fetch("/products/wc")
	if strings.Contains(std.Body.String(), `<tr class="chosen"><th scope="row">低收入`) {
		t.Error("the low-income page was served for the standard price")
	}

	for _, target := range []string{
		"/stations?near=35.301,113.241", // coordinates: personal, and endless
		"/stations?district=shanyang",   // a choice that sets a cookie
		"/products/wc?tier=low_income",
		"/products?q=wheelchair",               // free text
		"/products?sort=price&category=walker", // not in canonical (sorted) order
		"/products?category=walker&category=wheelchair",
		"/products?x=1",
	} {
		if rec, how := p.fetch(target); how != "bypass" || rec.Code >= 500 {
			t.Errorf("%s: %s, %d", target, how, rec.Code)
		}
	}
	if _, how := p.fetch("/stations", "Cookie", "near=35.301,113.241"); how != "bypass" {
		t.Errorf("coordinates in the cookie: %s", how)
	}
	if _, how := p.fetch("/products?category=walker&sort=price"); how != "miss" {
		t.Errorf("a canonical filter: %s", how)
	}
}

// "Open now" and "opens at 08:30" never go stale: a page saying so expires
// at the next minute.
func TestPageCacheFollowsTheClock(t *testing.T) {
	s := newTestServer(t)
	p := cacheProbe{t, s}
	at := time.Date(2026, 11, 26, 17, 29, 10, 0, l10n.Local)
	s.cfg.Now = func() time.Time { return at }
	for _, pg := range []string{"/stations", "/stations/north", "/products/wc"} {
		if rec, _ := p.fetch(pg); !strings.Contains(rec.Body.String(), "正在营业 · 17:30 关门") {
			t.Errorf("%s at 17:29 is not open", pg)
		}
		if _, how := p.fetch(pg); how != "hit" {
			t.Errorf("%s within the minute: %s", pg, how)
		}
	}
	at = time.Date(2026, 11, 26, 17, 30, 0, 0, l10n.Local)
	for _, pg := range []string{"/stations", "/stations/north", "/products/wc"} {
		rec, how := p.fetch(pg)
		if how != "miss" || !strings.Contains(rec.Body.String(), "现在休息 · 明天 08:30 开门") {
			t.Errorf("%s at 17:30: %s, not closed", pg, how)
		}
	}
	// A page without opening times does not expire.
	if _, how := p.fetch("/products"); how != "miss" {
		t.Errorf("products: %s", how)
	}
	at = at.Add(time.Hour)
	if _, how := p.fetch("/products"); how != "hit" {
		t.Errorf("products an hour later: %s", how)
	}
}

// The cache holds no more than its bound, however many pages are asked for.
func TestPageCacheIsBounded(t *testing.T) {
	s := newTestServer(t)
	s.cache = newPageCache(256 << 10)
	p := cacheProbe{t, s}
	for _, cat := range catalog.Categories {
		for _, sort := range []string{"", "&sort=price", "&sort=relevance"} {
			for page := 1; page <= 3; page++ {
				target := "/products?category=" + cat.ID + "&page=" + string(rune('0'+page)) + sort
				if rec, _ := p.fetch(target); rec.Code != http.StatusOK {
					t.Fatalf("%s: %d", target, rec.Code)
				}
			}
		}
	}
	pages, bytes := s.cache.stats()
	if bytes > 256<<10 || pages == 0 {
		t.Errorf("%d pages in %d bytes; the bound is %d", pages, bytes, 256<<10)
	}
	if p.count("miss") <= float64(pages) {
		t.Errorf("nothing was evicted: %v misses, %d pages", p.count("miss"), pages)
	}
	// The most recent page is still there.
	if _, how := p.fetch("/products?category=" + catalog.Categories[len(catalog.Categories)-1].ID + "&page=3&sort=relevance"); how != "hit" {
		t.Errorf("the most recent page was evicted: %s", how)
	}
}
