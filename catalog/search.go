package catalog

import (
	"math"
	"sort"
	"strings"
	"unicode/utf8"

	"fuju/internal/geo"
	"fuju/internal/valid"
	"fuju/stations"
)

// Sort orders search results.
type Sort string

// Sort orders.
const (
	ByRelevance Sort = "relevance"
	ByPrice     Sort = "price"
	ByDistance  Sort = "distance"
)

// Paging limits.
const (
	DefaultPerPage = 20
	MaxPerPage     = 100
	// MaxQueryRunes bounds the text query: longer input is cut, not refused,
	// so a pasted paragraph finds nothing rather than failing.
	MaxQueryRunes = 100
)

// PriceFunc returns what the renter pays for days under the caller's tier
// policy; search uses it to filter and sort by the renter's own price.
type PriceFunc func(r RatePlan, days int) int64

// Query is a catalog search.
type Query struct {
	Text         string
	Category     string
	Station      string
	AvailableNow bool
	Foldable     bool
	// MaxMonthFen, when positive, keeps products whose 30-day price for the
	// renter is at most this.
	MaxMonthFen int64
	Price       PriceFunc
	Near        *geo.Point
	Sort        Sort
	Page        int
	PerPage     int
}

// Normalize fills defaults and checks the query; per_page above the maximum is
// capped rather than refused.
func (q *Query) Normalize() error {
	e := &valid.Error{}
	q.Text = strings.TrimSpace(q.Text)
	if utf8.RuneCountInString(q.Text) > MaxQueryRunes {
		q.Text = string([]rune(q.Text)[:MaxQueryRunes])
	}
	if q.Category != "" {
		if _, ok := CategoryByID(q.Category); !ok {
			e.Add("category", "oneof", "is not a known category")
		}
	}
	if q.MaxMonthFen < 0 {
		e.Add("max_month_fen", "min", "must be at least 0", "min", 0)
	}
	switch q.Sort {
	case "":
		q.Sort = ByRelevance
	case ByRelevance, ByPrice:
	case ByDistance:
		if q.Near == nil {
			e.Add("sort", "requires", "sorting by distance needs a location (near)")
		}
	default:
		e.Add("sort", "oneof", "must be one of: relevance, price, distance")
	}
	if q.Page == 0 {
		q.Page = 1
	}
	if q.Page < 1 {
		e.Add("page", "min", "must be at least 1", "min", 1)
	}
	if q.Page > 10000 {
		e.Add("page", "max", "must be at most 10000", "max", 10000)
	}
	switch {
	case q.PerPage == 0:
		q.PerPage = DefaultPerPage
	case q.PerPage < 0:
		e.Add("per_page", "min", "must be at least 1", "min", 1)
	case q.PerPage > MaxPerPage:
		q.PerPage = MaxPerPage
	}
	if q.Price == nil {
		q.Price = func(r RatePlan, days int) int64 { return r.StandardPrice(days) }
	}
	return e.Err()
}

// Hit is one product in search results with what the family needs to decide.
type Hit struct {
	Product Product `json:"product"`
	// DayFen and MonthFen are the renter's price for 1 and 30 days.
	DayFen   int64 `json:"day_fen"`
	MonthFen int64 `json:"month_fen"`
	// Available counts available units at active stations (only at Query.Station
	// when one is given); Stations counts stations that have one.
	Available int `json:"available"`
	Stations  int `json:"stations"`
	// NearestKM is the distance to the nearest station that has one available,
	// when a location was given and there is one; otherwise -1.
	NearestKM      float64 `json:"nearest_km"`
	NearestStation string  `json:"nearest_station,omitempty"`
	score          int
}

// Result is one page of hits.
type Result struct {
	Hits    []Hit `json:"items"`
	Total   int   `json:"total"`
	Page    int   `json:"page"`
	PerPage int   `json:"per_page"`
}

// search runs q over products and availability, leaving out the listings of
// suspended operators. q must be normalized.
func search(products []Product, ix *searchIndex, stock map[string]map[string]stations.Stock, sts map[string]stations.Station,
	suspended func(operatorID string) bool, q Query) Result {
	terms := ix.prepare(q.Text)
	hits := make([]Hit, 0, len(products))
	// scores[k] are hit k's scores for each term; strongest the best score
	// of each term over all hits.
	var scores [][]int
	strongest := make([]int, len(terms))
	for i, p := range products {
		if p.Status != Active || suspended(p.OperatorID) {
			continue
		}
		if q.Category != "" && p.Category != q.Category {
			continue
		}
		if q.Foldable && !p.Specs.Foldable {
			continue
		}
		termScores, ok := ix.docs[i].relevance(terms)
		if !ok {
			continue
		}
		h := Hit{Product: p, NearestKM: -1}
		if q.Station != "" && stock[p.ID][q.Station].Total == 0 {
			continue // the station does not carry it
		}
		for st, n := range stock[p.ID] {
			if q.Station != "" && st != q.Station || n.Available == 0 {
				continue
			}
			h.Available += n.Available
			h.Stations++
			if q.Near != nil {
				s := sts[st]
				d := geo.DistanceKM(*q.Near, geo.Point{Lat: s.Lat, Lng: s.Lng})
				if h.NearestKM < 0 || d < h.NearestKM || d == h.NearestKM && st < h.NearestStation {
					h.NearestKM, h.NearestStation = d, st
				}
			}
		}
		if q.AvailableNow && h.Available == 0 {
			continue
		}
		h.DayFen = q.Price(p.Rate, 1)
		h.MonthFen = q.Price(p.Rate, 30)
		if q.MaxMonthFen > 0 && h.MonthFen > q.MaxMonthFen {
			continue
		}
		if h.NearestKM >= 0 {
			h.NearestKM = math.Round(h.NearestKM*10) / 10
		}
		for k, sc := range termScores {
			h.score += sc
			strongest[k] = max(strongest[k], sc)
		}
		hits = append(hits, h)
		scores = append(scores, termScores)
	}
	hits = dropWeak(hits, scores, strongest)
	sortHits(hits, q.Sort)
	res := Result{Total: len(hits), Page: q.Page, PerPage: q.PerPage}
	from := (q.Page - 1) * q.PerPage
	if from < len(hits) {
		to := min(from+q.PerPage, len(hits))
		res.Hits = hits[from:to]
	}
	if res.Hits == nil {
		res.Hits = []Hit{}
	}
	return res
}

// dropWeak leaves out hits that match a term only weakly (a typo, a word in
// the description) when other hits match that term properly: a search for
// 轮椅 lists wheelchairs, not the shower chair whose description mentions
// one, while a search whose only matches are weak still finds something.
func dropWeak(hits []Hit, scores [][]int, strongest []int) []Hit {
	out := hits[:0]
	for k, h := range hits {
		keep := true
		for t, sc := range scores[k] {
			if sc <= scoreWeak && strongest[t] > scoreWeak {
				keep = false
			}
		}
		if keep {
			out = append(out, h)
		}
	}
	return out
}

func categoryOrder(id string) int {
	for i, c := range Categories {
		if c.ID == id {
			return i
		}
	}
	return len(Categories)
}

func sortHits(hits []Hit, by Sort) {
	sort.SliceStable(hits, func(i, j int) bool {
		a, b := hits[i], hits[j]
		switch by {
		case ByPrice:
			if a.MonthFen != b.MonthFen {
				return a.MonthFen < b.MonthFen
			}
		case ByDistance:
			// Products nobody nearby has go last.
			if (a.NearestKM < 0) != (b.NearestKM < 0) {
				return a.NearestKM >= 0
			}
			if a.NearestKM != b.NearestKM {
				return a.NearestKM < b.NearestKM
			}
		default:
			if a.score != b.score {
				return a.score > b.score
			}
			if (a.Available > 0) != (b.Available > 0) {
				return a.Available > 0
			}
			if ca, cb := categoryOrder(a.Product.Category), categoryOrder(b.Product.Category); ca != cb {
				return ca < cb
			}
		}
		return a.Product.ID < b.Product.ID
	})
}
