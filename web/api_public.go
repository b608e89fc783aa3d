package web

import (
	"net/http"
	"sort"

	"github.com/gin-gonic/gin"

	"fuju/catalog"
	"fuju/internal/geo"
	"fuju/internal/l10n"
	"fuju/rentals"
	"fuju/stations"
)

// list is the envelope of every list response.
type list[T any] struct {
	Items   []T `json:"items"`
	Total   int `json:"total"`
	Page    int `json:"page"`
	PerPage int `json:"per_page"`
}

func whole[T any](items []T) list[T] {
	if items == nil {
		items = []T{}
	}
	return list[T]{Items: items, Total: len(items), Page: 1, PerPage: len(items)}
}

func (s *Server) listCategories(c *gin.Context) error {
	p := newParams(c)
	p.only()
	if err := p.err(); err != nil {
		return err
	}
	c.JSON(http.StatusOK, whole(s.catalog.CategoryCounts()))
	return nil
}

func (s *Server) listProducts(c *gin.Context) error {
	p := newParams(c)
	p.only("q", "category", "station", "available", "foldable", "tier", "max_month_fen", "near", "district", "sort", "page", "per_page")
	q, _ := s.searchQuery(p, false)
	if err := p.err(); err != nil {
		return err
	}
	res, err := s.catalog.Search(q)
	if err != nil {
		return err
	}
	out := list[hitJSON]{Items: make([]hitJSON, len(res.Hits)), Total: res.Total, Page: res.Page, PerPage: res.PerPage}
	for i, h := range res.Hits {
		out.Items[i] = hitJSON{Hit: h, Product: s.productView(h.Product)}
	}
	c.JSON(http.StatusOK, out)
	return nil
}

// stationStock is one station's stock of one product, as the product API and
// page show it.
type stationStock struct {
	Station    stations.Station `json:"station"`
	Available  int              `json:"available"`
	Total      int              `json:"total"`
	DistanceKM *float64         `json:"distance_km,omitempty"`
	OpenNow    bool             `json:"open_now"`
}

// productStock lists the active stations that carry product, those with one
// available first, nearest first when near is known.
func (s *Server) productStock(productID string, near *geo.Point) []stationStock {
	ix := s.stations.Index()
	stock := ix.Stock()[productID]
	now := s.now()
	out := make([]stationStock, 0, len(stock))
	for id, n := range stock {
		st, ok := ix.Station(id)
		if !ok {
			continue
		}
		ss := stationStock{Station: st, Available: n.Available, Total: n.Total, OpenNow: st.Hours.OpenAt(now)}
		if near != nil {
			d := geo.DistanceKM(*near, geo.Point{Lat: st.Lat, Lng: st.Lng})
			ss.DistanceKM = &d
		}
		out = append(out, ss)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if (a.Available > 0) != (b.Available > 0) {
			return a.Available > 0
		}
		if a.DistanceKM != nil && b.DistanceKM != nil && *a.DistanceKM != *b.DistanceKM {
			return *a.DistanceKM < *b.DistanceKM
		}
		return a.Station.ID < b.Station.ID
	})
	return out
}

type productDetail struct {
	productJSON
	Stations []stationStock `json:"stations"`
}

func (s *Server) showProductJSON(c *gin.Context) error {
	p := newParams(c)
	p.only("near", "district")
	near := p.near("near")
	if d := p.district("district"); d != nil && near == nil {
		near = &geo.Point{Lat: d.Lat, Lng: d.Lng}
	}
	if err := p.err(); err != nil {
		return err
	}
	prod, ok := s.catalog.Public(c.Param("id"))
	if !ok {
		return errNotFound
	}
	c.JSON(http.StatusOK, productDetail{productJSON: s.productView(prod), Stations: s.productStock(prod.ID, near)})
	return nil
}

type stationSummary struct {
	stations.Station
	Available  int      `json:"available"`
	DistanceKM *float64 `json:"distance_km,omitempty"`
	OpenNow    bool     `json:"open_now"`
}

// stationList returns active stations, in district when given, nearest first
// when near is known, otherwise by district then id.
func (s *Server) stationList(near *geo.Point, district string) []stationSummary {
	ix := s.stations.Index()
	now := s.now()
	var out []stationSummary
	for _, st := range ix.Stations() {
		if district != "" && st.District != district {
			continue
		}
		ss := stationSummary{Station: st, OpenNow: st.Hours.OpenAt(now)}
		for _, n := range ix.Inventory(st.ID) {
			ss.Available += n.Available
		}
		if near != nil {
			d := geo.DistanceKM(*near, geo.Point{Lat: st.Lat, Lng: st.Lng})
			ss.DistanceKM = &d
		}
		out = append(out, ss)
	}
	order := map[string]int{}
	for i, d := range stations.Districts {
		order[d.ID] = i
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.DistanceKM != nil && b.DistanceKM != nil {
			return *a.DistanceKM < *b.DistanceKM
		}
		if order[a.District] != order[b.District] {
			return order[a.District] < order[b.District]
		}
		return a.ID < b.ID
	})
	return out
}

func (s *Server) listStations(c *gin.Context) error {
	p := newParams(c)
	p.only("near", "district")
	near := p.near("near")
	d := p.district("district")
	if err := p.err(); err != nil {
		return err
	}
	district := ""
	if d != nil {
		district = d.ID
	}
	c.JSON(http.StatusOK, whole(s.stationList(near, district)))
	return nil
}

type inventoryLine struct {
	ProductID string    `json:"product_id"`
	Name      l10n.Text `json:"name"`
	Category  string    `json:"category"`
	Available int       `json:"available"`
	Total     int       `json:"total"`
	DayFen    int64     `json:"day_fen"`
}

type stationDetail struct {
	stations.Station
	OpenNow   bool            `json:"open_now"`
	Inventory []inventoryLine `json:"inventory"`
}

// stationInventory lists what an active station carries, available first.
func (s *Server) stationInventory(id string) []inventoryLine {
	var out []inventoryLine
	for pid, n := range s.stations.Index().Inventory(id) {
		prod, ok := s.catalog.Public(pid)
		if !ok {
			continue
		}
		out = append(out, inventoryLine{ProductID: pid, Name: prod.Name, Category: prod.Category,
			Available: n.Available, Total: n.Total, DayFen: prod.Rate.DailyFen})
	}
	order := map[string]int{}
	for i, cat := range catalog.Categories {
		order[cat.ID] = i
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if (a.Available > 0) != (b.Available > 0) {
			return a.Available > 0
		}
		if order[a.Category] != order[b.Category] {
			return order[a.Category] < order[b.Category]
		}
		return a.ProductID < b.ProductID
	})
	if out == nil {
		out = []inventoryLine{}
	}
	return out
}

func (s *Server) publicStation(id string) (stations.Station, error) {
	st, ok := s.stations.Index().Station(id)
	if !ok || !st.Active {
		return stations.Station{}, errNotFound
	}
	return st, nil
}

func (s *Server) showStationJSON(c *gin.Context) error {
	p := newParams(c)
	p.only()
	if err := p.err(); err != nil {
		return err
	}
	st, err := s.publicStation(c.Param("id"))
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, stationDetail{Station: st, OpenNow: st.Hours.OpenAt(s.now()), Inventory: s.stationInventory(st.ID)})
	return nil
}

func (s *Server) showQuote(c *gin.Context) error {
	p := newParams(c)
	p.only("product", "days", "tier")
	pid := p.str("product", 64)
	if pid == "" {
		p.errs.Add("product", "required", "is required")
	}
	days, ok := p.integer("days", 1, rentals.MaxDays)
	if !ok && p.v.Get("days") == "" {
		p.errs.Add("days", "required", "is required")
	}
	tier := p.tier("tier")
	if err := p.err(); err != nil {
		return err
	}
	prod, found := s.catalog.Public(pid)
	if !found {
		return errNotFound
	}
	q, err := rentals.NewQuote(prod.Rate, int(days), tier, s.policies.Current())
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, q)
	return nil
}
