package web

import (
	lru "container/list"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"fuju/rentals"
	"fuju/stations"
)

// The page cache. The public pages every visitor without an account sees
// alike (home, product list, product page, station list, station page) are
// rendered once per version of what they show and then served from memory,
// with a strong ETag and 304 Not Modified for a browser that has them.
//
// A page is cached under everything it is rendered from: the site's address,
// the language, the path with its query, and the visitor's remembered choices
// of a district ("near") and a tier. It records which versions of the read
// models it showed (dependencies: the product, its stock, one station, the
// tier policy …); a hit whose dependencies moved is rendered again, so a
// write invalidates exactly the pages that show what it changed. Pages that
// say whether a station is open now expire at the next minute, when an
// opening or closing time may have come.
//
// Only the anonymous, canonical forms are cached; everything else is
// rendered as before: a signed-in visitor (the page shows who they are and
// their family's tiers, and stays no-store), a pending flash message, a
// location by coordinates (personal, and unbounded), a choice made in the
// query (near=, district=, tier=: it sets a cookie), free-text search and
// any query that is not in its canonical form. The cache holds at most
// pageCacheBytes; the least recently used pages leave first.

// pageCacheBytes bounds the memory the cache holds (bodies and keys). A page
// is 10–40 KB, so this is a few thousand pages.
const pageCacheBytes = 32 << 20

// pageCacheMaxBody is the largest page kept.
const pageCacheMaxBody = 1 << 20

// pageKind names a cached page; it decides which query parameters the page
// may be cached with and what it depends on.
type pageKind int

const (
	pageHome pageKind = iota
	pageProducts
	pageProduct
	pageStations
	pageStation
)

// cachedQuery lists, per page, the query parameters whose canonical forms are
// cached. Free text (q), prices and choices that set a cookie are not.
var cachedQuery = map[pageKind][]string{
	pageHome:     {"lang"},
	pageProducts: {"lang", "category", "station", "sort", "available", "foldable", "page"},
	pageProduct:  {"lang"},
	pageStations: {"lang", "in"},
	pageStation:  {"lang"},
}

// depKind is a read-model version a page depends on.
type depKind int

const (
	depPolicy       depKind = iota // the tier policy in force
	depCatalog                     // any product
	depProduct                     // one product
	depStock                       // any station or stock
	depProductStock                // one product's stock anywhere
	depListings                    // any station's listing (not stock)
	depStation                     // one station's listing and stock
	depSuspensions                 // which operators are suspended
)

type dep struct {
	kind depKind
	id   string
}

// pageEntry is one rendered page.
type pageEntry struct {
	key      string
	body     []byte
	etag     string
	language string // Content-Language
	deps     []dep
	versions []uint64
	// minute is the minute a page that says whether stations are open was
	// rendered in; it shows that minute only. Zero for other pages.
	minute time.Time
}

func (e *pageEntry) size() int64 { return int64(len(e.body) + len(e.key) + 256) }

// pageCache is a byte-bounded LRU of rendered pages. Renders of one key are
// done once at a time: concurrent misses wait for the first.
type pageCache struct {
	max int64

	mu       sync.Mutex
	size     int64
	order    *lru.List // of *pageEntry, most recent first
	entries  map[string]*lru.Element
	inflight map[string]chan struct{}
}

func newPageCache(max int64) *pageCache {
	return &pageCache{max: max, order: lru.New(), entries: map[string]*lru.Element{}, inflight: map[string]chan struct{}{}}
}

// get returns the entry under key, fresh or not.
func (pc *pageCache) get(key string) (*pageEntry, bool) {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	el, ok := pc.entries[key]
	if !ok {
		return nil, false
	}
	pc.order.MoveToFront(el)
	return el.Value.(*pageEntry), true
}

// put stores e, evicting the least recently used pages beyond the bound.
func (pc *pageCache) put(e *pageEntry) {
	if e.size() > pc.max/8 {
		return
	}
	pc.mu.Lock()
	defer pc.mu.Unlock()
	if el, ok := pc.entries[e.key]; ok {
		pc.size -= el.Value.(*pageEntry).size()
		pc.order.Remove(el)
	}
	pc.entries[e.key] = pc.order.PushFront(e)
	pc.size += e.size()
	for pc.size > pc.max {
		el := pc.order.Back()
		old := el.Value.(*pageEntry)
		pc.order.Remove(el)
		delete(pc.entries, old.key)
		pc.size -= old.size()
	}
}

// claim makes the caller the one rendering key, or returns the channel that
// closes when the one rendering it is done.
func (pc *pageCache) claim(key string) (wait chan struct{}, mine bool) {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	if ch, ok := pc.inflight[key]; ok {
		return ch, false
	}
	ch := make(chan struct{})
	pc.inflight[key] = ch
	return ch, true
}

func (pc *pageCache) release(key string) {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	if ch, ok := pc.inflight[key]; ok {
		close(ch)
		delete(pc.inflight, key)
	}
}

// stats reports the cache's pages and bytes (for tests and the status log).
func (pc *pageCache) stats() (pages int, bytes int64) {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	return len(pc.entries), pc.size
}

// cachePage serves the page h renders from the cache when the request is one
// the cache may answer (see above), and renders it otherwise.
func (s *Server) cachePage(kind pageKind, h gin.HandlerFunc) gin.HandlerFunc {
	return func(c *gin.Context) {
		key, ok := s.pageKey(kind, c)
		if !ok {
			s.metrics.pageCache.WithLabelValues("bypass").Inc()
			h(c)
			return
		}
		if e, ok := s.cache.get(key); ok && s.fresh(e) {
			s.metrics.pageCache.WithLabelValues("hit").Inc()
			s.servePage(c, e)
			return
		}
		wait, mine := s.cache.claim(key)
		if !mine {
			// Someone renders this page now: wait for theirs.
			select {
			case <-wait:
			case <-c.Request.Context().Done():
				return
			}
			if e, ok := s.cache.get(key); ok && s.fresh(e) {
				s.metrics.pageCache.WithLabelValues("hit").Inc()
				s.servePage(c, e)
				return
			}
		} else {
			defer s.cache.release(key)
		}
		s.metrics.pageCache.WithLabelValues("miss").Inc()
		// The versions are read before rendering, so a write during the
		// render leaves the page stale rather than wrongly fresh.
		deps := s.pageDeps(kind, c)
		versions := s.versions(deps)
		var minute time.Time
		if timely(kind, c) {
			minute = s.now().Truncate(time.Minute)
		}
		orig := c.Writer
		rec := &pageRecorder{ResponseWriter: orig}
		func() {
			// Restored on a panic too, so the 500 page reaches the visitor.
			c.Writer = rec
			defer func() { c.Writer = orig }()
			h(c)
		}()
		if rec.status() != http.StatusOK || len(rec.body) > pageCacheMaxBody || !rec.isPage() {
			rec.flush()
			return
		}
		sum := sha256.Sum256(rec.body)
		e := &pageEntry{key: key, body: rec.body, etag: `"` + hex.EncodeToString(sum[:12]) + `"`,
			language: orig.Header().Get("Content-Language"), deps: deps, versions: versions, minute: minute}
		s.cache.put(e)
		s.servePage(c, e)
	}
}

// pageKey is the cache key of the request, or false when the request must be
// rendered: signed in, a message pending, a location or a choice the cache
// does not keep, a query not in its canonical form.
func (s *Server) pageKey(kind pageKind, c *gin.Context) (string, bool) {
	if _, signedIn := userOf(c); signedIn {
		return "", false
	}
	if _, err := c.Cookie(flashCookie); err == nil {
		return "", false
	}
	raw := c.Request.URL.RawQuery
	if len(raw) > 200 {
		return "", false
	}
	if raw != "" {
		q, err := url.ParseQuery(raw)
		if err != nil || q.Encode() != raw {
			return "", false
		}
		for k, v := range q {
			if len(v) != 1 || !slices.Contains(cachedQuery[kind], k) {
				return "", false
			}
		}
	}
	near, _ := c.Cookie("near")
	if near != "" {
		d, ok := strings.CutPrefix(near, "d:")
		if _, known := stations.DistrictByID(d); !ok || !known {
			return "", false
		}
	}
	tier, _ := c.Cookie(tierCookie)
	if tier != "" && !rentals.Tier(strings.TrimPrefix(tier, accountChoice)).Valid() {
		return "", false
	}
	site := s.siteURL(c)
	if len(site) > 100 {
		return "", false
	}
	return strings.Join([]string{site, langOf(c), near, tier, c.Request.URL.RequestURI()}, "\x00"), true
}

// pageDeps lists the read-model versions the page shows.
func (s *Server) pageDeps(kind pageKind, c *gin.Context) []dep {
	switch kind {
	case pageHome:
		deps := []dep{{kind: depPolicy}, {kind: depCatalog}, {kind: depSuspensions}}
		if near, _ := c.Cookie("near"); near != "" {
			deps = append(deps, dep{kind: depStock}) // the nearest stations
		}
		return deps
	case pageProducts:
		return []dep{{kind: depPolicy}, {kind: depCatalog}, {kind: depStock}}
	case pageProduct:
		id := c.Param("id")
		return []dep{{kind: depPolicy}, {kind: depProduct, id: id}, {kind: depProductStock, id: id}, {kind: depListings}}
	case pageStations:
		return []dep{{kind: depStock}}
	case pageStation:
		id := c.Param("id")
		deps := []dep{{kind: depStation, id: id}, {kind: depSuspensions}}
		// The names and prices of the products it carries.
		for pid := range s.stations.Index().Inventory(id) {
			deps = append(deps, dep{kind: depProduct, id: pid})
		}
		return deps
	}
	return nil
}

// timely reports whether the page says whether stations are open now.
func timely(kind pageKind, c *gin.Context) bool {
	switch kind {
	case pageProduct, pageStations, pageStation:
		return true
	case pageHome:
		near, _ := c.Cookie("near")
		return near != ""
	}
	return false
}

func (s *Server) versions(deps []dep) []uint64 {
	out := make([]uint64, len(deps))
	for i, d := range deps {
		out[i] = s.version(d)
	}
	return out
}

func (s *Server) version(d dep) uint64 {
	ix := s.stations.Index()
	switch d.kind {
	case depPolicy:
		return uint64(s.policies.Current().Version)
	case depCatalog:
		return s.catalog.Version()
	case depProduct:
		return s.catalog.ProductVersion(d.id)
	case depStock:
		return ix.Version()
	case depProductStock:
		return ix.ProductVersion(d.id)
	case depListings:
		return ix.ListingVersion()
	case depStation:
		return ix.StationVersion(d.id)
	case depSuspensions:
		return ix.SuspensionVersion()
	}
	return 0
}

// fresh reports whether e still shows what a render now would.
func (s *Server) fresh(e *pageEntry) bool {
	if !e.minute.IsZero() && !s.now().Truncate(time.Minute).Equal(e.minute) {
		return false // the next minute, or a clock set back
	}
	for i, d := range e.deps {
		if s.version(d) != e.versions[i] {
			return false
		}
	}
	return true
}

// servePage answers with a cached page, or 304 when the browser has it.
func (s *Server) servePage(c *gin.Context, e *pageEntry) {
	h := c.Writer.Header()
	h.Set("ETag", e.etag)
	h.Set("Cache-Control", "no-cache")
	h.Set("Vary", "Cookie, Accept-Language")
	if e.language != "" {
		h.Set("Content-Language", e.language)
	}
	if etagMatch(c.GetHeader("If-None-Match"), e.etag) {
		h.Del("Content-Type")
		c.Status(http.StatusNotModified)
		c.Writer.WriteHeaderNow()
		return
	}
	h.Set("Content-Type", "text/html; charset=utf-8")
	c.Status(http.StatusOK)
	_, _ = c.Writer.Write(e.body)
}

// etagMatch reports whether an If-None-Match header names etag (the weak
// comparison RFC 9110 asks for).
func etagMatch(header, etag string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimSpace(t)
		if t == "*" || strings.TrimPrefix(t, "W/") == etag {
			return true
		}
	}
	return false
}

// pageRecorder keeps what a page handler writes, so the page can be stored
// before it is sent. Headers go straight to the real response.
type pageRecorder struct {
	gin.ResponseWriter
	code    int
	body    []byte
	written bool
}

func (r *pageRecorder) WriteHeader(code int) {
	if !r.written {
		r.code = code
	}
}

func (r *pageRecorder) WriteHeaderNow() { r.written = true }

func (r *pageRecorder) Write(b []byte) (int, error) {
	r.written = true
	r.body = append(r.body, b...)
	return len(b), nil
}

func (r *pageRecorder) WriteString(s string) (int, error) { return r.Write([]byte(s)) }

func (r *pageRecorder) status() int {
	if r.code == 0 {
		return http.StatusOK
	}
	return r.code
}

func (r *pageRecorder) Status() int { return r.status() }

func (r *pageRecorder) Size() int {
	if !r.written {
		return -1
	}
	return len(r.body)
}

func (r *pageRecorder) Written() bool { return r.written }

func (r *pageRecorder) Flush() {}

// isPage reports whether what was written is a page for anyone: HTML, and
// nothing that marks it as someone's.
func (r *pageRecorder) isPage() bool {
	h := r.ResponseWriter.Header()
	return strings.HasPrefix(h.Get("Content-Type"), "text/html") && h.Get("Cache-Control") == "no-cache"
}

// flush sends what the handler wrote, unchanged.
func (r *pageRecorder) flush() {
	r.ResponseWriter.WriteHeader(r.status())
	if len(r.body) > 0 {
		_, _ = r.ResponseWriter.Write(r.body)
	} else {
		r.ResponseWriter.WriteHeaderNow()
	}
}
