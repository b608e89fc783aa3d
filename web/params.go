package web

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"fuju/catalog"
	"fuju/internal/geo"
	"fuju/internal/valid"
	"fuju/rentals"
	"fuju/stations"
)

// params reads query parameters one by one, collecting every problem so a
// client learns about all wrong fields at once. Values are only ever strings
// parsed into typed fields: nothing from a query reaches the database as a
// document, so `q[$ne]=1` is just an unknown parameter.
type params struct {
	v    url.Values
	errs valid.Error
}

// newParams reads the query, normalised by what each parameter holds
// (fieldKinds).
func newParams(c *gin.Context) *params {
	v := c.Request.URL.Query()
	normalizeValues(v)
	return &params{v: v}
}

// only rejects any parameter not in allowed (API routes are strict so a typo
// or an injection attempt is reported instead of silently ignored).
func (p *params) only(allowed ...string) {
	ok := map[string]bool{}
	for _, a := range allowed {
		ok[a] = true
	}
	for k := range p.v {
		if !ok[k] {
			p.errs.Add(k, "unknown", "is not a parameter of this route (allowed: "+strings.Join(allowed, ", ")+")")
		}
	}
}

func (p *params) str(name string, maxLen int) string {
	s := strings.TrimSpace(p.v.Get(name))
	if len(s) > maxLen {
		p.errs.Add(name, "max_length", fmt.Sprintf("must be at most %d characters", maxLen), "max", maxLen)
		return ""
	}
	return s
}

func (p *params) integer(name string, lo, hi int64) (int64, bool) {
	s := strings.TrimSpace(p.v.Get(name))
	if s == "" {
		return 0, false
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		p.errs.Add(name, "integer", "must be a whole number")
		return 0, false
	}
	if n < lo || n > hi {
		p.errs.Add(name, "range", fmt.Sprintf("must be between %d and %d", lo, hi), "min", lo, "max", hi)
		return 0, false
	}
	return n, true
}

func (p *params) boolean(name string) bool {
	switch strings.ToLower(strings.TrimSpace(p.v.Get(name))) {
	case "", "0", "false", "off", "no":
		return false
	case "1", "true", "on", "yes":
		return true
	}
	p.errs.Add(name, "boolean", "must be true or false")
	return false
}

func (p *params) tier(name string) rentals.Tier {
	s := strings.TrimSpace(p.v.Get(name))
	if s == "" {
		return rentals.Standard
	}
	t := rentals.Tier(s)
	if !t.Valid() {
		p.errs.Add(name, "oneof", "must be one of: subsistence, low_income, standard")
		return rentals.Standard
	}
	return t
}

// near parses "lat,lng".
func (p *params) near(name string) *geo.Point {
	s := strings.TrimSpace(p.v.Get(name))
	if s == "" {
		return nil
	}
	pt, ok := parsePoint(s)
	if !ok {
		p.errs.Add(name, "lat_lng", "must be latitude,longitude such as 35.215,113.242")
		return nil
	}
	return &pt
}

func parsePoint(s string) (geo.Point, bool) {
	latS, lngS, ok := strings.Cut(s, ",")
	if !ok {
		return geo.Point{}, false
	}
	lat, err1 := strconv.ParseFloat(strings.TrimSpace(latS), 64)
	lng, err2 := strconv.ParseFloat(strings.TrimSpace(lngS), 64)
	pt := geo.Point{Lat: lat, Lng: lng}
	if err1 != nil || err2 != nil || !pt.Valid() {
		return geo.Point{}, false
	}
	return pt, true
}

func (p *params) district(name string) *stations.District {
	s := strings.TrimSpace(p.v.Get(name))
	if s == "" {
		return nil
	}
	d, ok := stations.DistrictByID(s)
	if !ok {
		p.errs.Add(name, "oneof", "is not a district of the city")
		return nil
	}
	return &d
}

func (p *params) err() error { return p.errs.Err() }

// searchQuery reads the product search parameters shared by the API and the
// product list page. Pages take the price ceiling in yuan (max_price), the API
// in fen (max_month_fen), as all API money is.
func (s *Server) searchQuery(p *params, page bool) (catalog.Query, rentals.Tier) {
	q := catalog.Query{
		Text:         p.str("q", 2000),
		Category:     p.str("category", 64),
		Station:      p.str("station", 64),
		AvailableNow: p.boolean("available"),
		Foldable:     p.boolean("foldable"),
		Sort:         catalog.Sort(p.str("sort", 20)),
		Near:         p.near("near"),
	}
	if d := p.district("district"); d != nil && q.Near == nil {
		q.Near = &geo.Point{Lat: d.Lat, Lng: d.Lng}
	}
	// Pages choose the tier themselves (choosePrice): a family may price by
	// a linked renter's tier.
	tier := rentals.Standard
	if !page {
		tier = p.tier("tier")
	}
	if page {
		if y, ok := p.integer("max_price", 0, 1_000_000); ok {
			q.MaxMonthFen = y * 100
		}
	} else if f, ok := p.integer("max_month_fen", 0, 100_000_000); ok {
		q.MaxMonthFen = f
	}
	if n, ok := p.integer("page", -1_000_000, 1_000_000); ok {
		q.Page = int(n)
		if n < 1 {
			p.errs.Add("page", "min", "must be at least 1", "min", 1)
		}
	}
	if n, ok := p.integer("per_page", -1_000_000, 1_000_000_000); ok {
		q.PerPage = int(n)
		if n < 1 {
			p.errs.Add("per_page", "min", "must be at least 1", "min", 1)
		}
	}
	q.Price = rentals.PriceFunc(tier, s.policies.Current())
	return q, tier
}
