package web

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"fuju/catalog"
	"fuju/internal/geo"
	"fuju/internal/l10n"
	"fuju/internal/valid"
	"fuju/rentals"
	"fuju/stations"
)

// locate works out where the visitor is from near= or district= in the query,
// falling back to the cookie that remembers their last choice; a choice in the
// query is remembered for 30 days. Coordinates are rounded to ~100 m before
// they are stored.
func (s *Server) locate(c *gin.Context, b *base) {
	q := c.Request.URL.Query()
	remember := func(v string) {
		c.SetSameSite(http.SameSiteLaxMode)
		c.SetCookie("near", v, 30*24*3600, "/", "", c.Request.TLS != nil, true)
	}
	if pt, ok := parsePoint(q.Get("near")); ok {
		pt.Lat = float64(int(pt.Lat*1000)) / 1000
		pt.Lng = float64(int(pt.Lng*1000)) / 1000
		b.Near = &pt
		remember(strconv.FormatFloat(pt.Lat, 'f', 3, 64) + "," + strconv.FormatFloat(pt.Lng, 'f', 3, 64))
		return
	}
	if d, ok := stations.DistrictByID(q.Get("district")); ok {
		b.Near, b.District = &geo.Point{Lat: d.Lat, Lng: d.Lng}, d.ID
		remember("d:" + d.ID)
		return
	}
	v, err := c.Cookie("near")
	if err != nil {
		return
	}
	if id, ok := strings.CutPrefix(v, "d:"); ok {
		if d, ok := stations.DistrictByID(id); ok {
			b.Near, b.District = &geo.Point{Lat: d.Lat, Lng: d.Lng}, d.ID
		}
		return
	}
	if pt, ok := parsePoint(v); ok {
		b.Near = &pt
	}
}

// switchLanguage remembers the chosen language for a year and goes back.
func (s *Server) switchLanguage(c *gin.Context) error {
	lang := c.Param("lang")
	if lang != "zh" && lang != "en" {
		return errNotFound
	}
	c.SetSameSite(http.SameSiteLaxMode)
	c.SetCookie("lang", lang, 365*24*3600, "/", "", c.Request.TLS != nil, true)
	c.Redirect(http.StatusSeeOther, localPath(c.Query("next")))
	return nil
}

// localPath keeps redirects on this site: only absolute paths, never
// "//host" or "/\host" tricks.
func localPath(next string) string {
	if next == "" || next[0] != '/' || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") {
		return "/"
	}
	if u, err := url.Parse(next); err != nil || u.Host != "" || u.Scheme != "" {
		return "/"
	}
	return next
}

// tierNote says in words what a tier pays under the current policy.
type tierNote struct {
	Tier rentals.Tier
	Text string
}

func (s *Server) tierNotes(b base) []tierNote {
	pol := s.policies.Current()
	sep := "，"
	if b.Lang == "en" {
		sep = ", "
	}
	var out []tierNote
	for _, t := range rentals.Tiers {
		rule := pol.Tiers[t]
		var rent, dep string
		switch rule.ShareBP {
		case 0:
			rent = b.T("tierrule.free")
		case 10000:
			rent = b.T("tierrule.full")
		default:
			rent = b.T("tierrule.share", strconv.FormatFloat(float64(rule.ShareBP)/100, 'f', -1, 64))
		}
		if rule.WaiveDeposit {
			dep = b.T("tierrule.nodeposit")
		} else {
			dep = b.T("tierrule.deposit")
		}
		out = append(out, tierNote{Tier: t, Text: rent + sep + dep})
	}
	return out
}

type homePage struct {
	base
	Categories []catalog.CategoryCount
	Nearby     []stationSummary
	TierNotes  []tierNote
}

func (s *Server) showHome(c *gin.Context) error {
	p := homePage{base: s.base(c, "home.title", "home"), Categories: s.catalog.CategoryCounts()}
	p.Title = p.T("home.heading")
	p.TierNotes = s.tierNotes(p.base)
	s.locate(c, &p.base)
	if p.Near != nil {
		p.Nearby = s.stationList(p.Near, "")
		if len(p.Nearby) > 3 {
			p.Nearby = p.Nearby[:3]
		}
	}
	return s.render(c, http.StatusOK, "home", &p)
}

type productsPage struct {
	base
	Form  url.Values
	Query catalog.Query
	// Price is the tier the prices are for; TierKeep the search the tier
	// form carries along.
	Price      priceChoice
	TierKeep   map[string]string
	Result     catalog.Result
	Categories []catalog.Category
	Stations   []stations.Station
	Heading    string
	Errors     map[string]string
	// FiltersOpen shows the filter panel when any filter is in use.
	FiltersOpen bool
	Pages       []pageLink
	Prev, Next  string
}

type pageLink struct {
	N       int
	URL     string
	Current bool
}

func (s *Server) showProducts(c *gin.Context) error {
	p := productsPage{base: s.base(c, "products.title", "products"), Form: c.Request.URL.Query(),
		Categories: catalog.Categories, Stations: s.stations.Index().Stations()}
	s.locate(c, &p.base)
	prm := newParams(c)
	q, _ := s.searchQuery(prm, true)
	price, err := s.choosePrice(c, &p.base, &prm.errs)
	if err != nil {
		return err
	}
	p.Price = price
	p.TierKeep = keepQuery(p.Form, "tier", "page", "lang")
	q.Price = rentals.PriceFunc(price.Tier, s.policies.Current())
	if q.Near == nil && p.Near != nil {
		q.Near = p.Near
	}
	if q.Sort == "" && q.Near != nil && q.Text == "" {
		q.Sort = catalog.ByDistance
	}
	status := http.StatusOK
	if err := prm.err(); err != nil {
		// Show the form with what is wrong next to it, and everything else.
		p.Errors, _ = p.fieldTexts(err)
		status = http.StatusBadRequest
		q = catalog.Query{Price: q.Price, Near: q.Near}
	}
	res, err := s.catalog.Search(q)
	if err != nil {
		fields, ok := p.fieldTexts(err)
		if !ok {
			return err
		}
		p.Errors, status = fields, http.StatusBadRequest
		res, err = s.catalog.Search(catalog.Query{Price: q.Price})
		if err != nil {
			return err
		}
	}
	p.Query, p.Result = q, res
	// A category alone (a tile on the home page) shows results first; the
	// panel stays open once a filter or a sort in it was used.
	for _, k := range []string{"station", "max_price", "available", "foldable"} {
		if p.Form.Get(k) != "" {
			p.FiltersOpen = true
		}
	}
	if srt := p.Form.Get("sort"); srt != "" && srt != string(catalog.ByRelevance) {
		p.FiltersOpen = true
	}
	for f := range p.Errors {
		// A wrong tier is shown beside the tier control, the rest in the
		// filters.
		p.FiltersOpen = p.FiltersOpen || f != "tier"
	}
	if cat, ok := catalog.CategoryByID(q.Category); ok {
		p.Heading = p.Tx(cat.Name)
		p.Title = p.Heading
	}
	p.Description = p.T("meta.products", res.Total)
	if q.Text != "" {
		p.Title = p.T("products.title.search", q.Text)
		if p.Heading == "" {
			p.Heading = p.Title
		}
	}
	pages := (res.Total + res.PerPage - 1) / res.PerPage
	link := func(n int) string {
		v := c.Request.URL.Query()
		v.Set("page", strconv.Itoa(n))
		return "/products?" + v.Encode() + "#results"
	}
	for n := 1; n <= pages && pages > 1; n++ {
		p.Pages = append(p.Pages, pageLink{N: n, URL: link(n), Current: n == res.Page})
	}
	if res.Page > 1 && res.Page <= pages {
		p.Prev = link(res.Page - 1)
	}
	if res.Page < pages {
		p.Next = link(res.Page + 1)
	}
	return s.render(c, status, "products", &p)
}

type priceRow struct {
	Tier    rentals.Tier
	Quotes  []rentals.Quote
	Deposit int64
}

type productPage struct {
	base
	Product   catalog.Product
	Category  catalog.Category
	Prices    []priceRow
	Terms     []int
	Stations  []stationStock
	Specs     []specLine
	TierNotes []tierNote
	// Price is the chosen tier; DayFen, MonthFen and DepositFen its prices,
	// the page's headline.
	Price      priceChoice
	TierError  bool
	DayFen     int64
	MonthFen   int64
	DepositFen int64
}

type specLine struct{ Label, Value string }

func (s *Server) showProduct(c *gin.Context) error {
	prod, ok := s.catalog.Public(c.Param("id"))
	if !ok {
		return errNotFound
	}
	p := productPage{base: s.base(c, "product.title", "products"), Product: prod, Terms: []int{7, 30, 90}}
	p.Title = p.Tx(prod.Name)
	p.Category, _ = catalog.CategoryByID(prod.Category)
	s.locate(c, &p.base)
	var errs valid.Error
	price, err := s.choosePrice(c, &p.base, &errs)
	if err != nil {
		return err
	}
	p.Price, p.TierError = price, errs.Err() != nil
	pol := s.policies.Current()
	for _, t := range rentals.Tiers {
		row := priceRow{Tier: t}
		for _, d := range p.Terms {
			q, err := rentals.NewQuote(prod.Rate, d, t, pol)
			if err != nil {
				return err
			}
			row.Quotes = append(row.Quotes, q)
			row.Deposit = q.DepositFen
		}
		p.Prices = append(p.Prices, row)
	}
	for _, d := range []int{1, 30} {
		q, err := rentals.NewQuote(prod.Rate, d, price.Tier, pol)
		if err != nil {
			return err
		}
		if d == 1 {
			p.DayFen = q.RenterFen
		} else {
			p.MonthFen, p.DepositFen = q.RenterFen, q.DepositFen
		}
	}
	p.Stations = s.productStock(prod.ID, p.Near)
	p.Specs = specLines(p.base, prod.Specs)
	p.TierNotes = s.tierNotes(p.base)
	// What a shared link shows: the device, its photo and its standard
	// price (never the family's own tier: the preview is public).
	available, at := 0, 0
	for _, st := range p.Stations {
		if st.Available > 0 {
			available, at = available+st.Available, at+1
		}
	}
	p.Description = s.productSummary(&p.base, prod, available, at)
	p.Share = s.productShare(&p.base, prod)
	status := http.StatusOK
	if p.TierError {
		status = http.StatusBadRequest
	}
	return s.render(c, status, "product", &p)
}

// productSummary is a product's description for previews and search
// engines: its price, who pays less, where it is free now, and its own text.
func (s *Server) productSummary(b *base, prod catalog.Product, available, stations int) string {
	parts := []string{b.T("meta.product.price", yuan(prod.Rate.DailyFen), yuan(prod.Rate.Block30Fen))}
	if prod.Rate.DepositFen > 0 {
		parts = append(parts, b.T("meta.product.deposit", yuan(prod.Rate.DepositFen)))
	}
	for _, n := range s.tierNotes(*b) {
		if n.Tier != rentals.Standard {
			parts = append(parts, b.T("tier."+string(n.Tier))+b.T("colon")+n.Text)
		}
	}
	if available > 0 {
		parts = append(parts, b.T("meta.product.available", available)+b.T("meta.product.at", stations))
	} else {
		parts = append(parts, b.T("stock.none"))
	}
	out := b.Tx(prod.Name) + b.T("colon") + strings.Join(parts, b.T("meta.sep")) + b.T("meta.end")
	if d := b.Tx(prod.Description); d != "" {
		out += " " + d
	}
	if r := []rune(out); len(r) > 160 {
		out = string(r[:159]) + "…"
	}
	return out
}

func specLines(b base, sp catalog.Specs) []specLine {
	var out []specLine
	add := func(key string, v int, unit string) {
		if v > 0 {
			out = append(out, specLine{b.T(key), strconv.Itoa(v) + " " + unit})
		}
	}
	add("spec.seat_width", sp.SeatWidthCM, "cm")
	add("spec.seat_height", sp.SeatHeightCM, "cm")
	add("spec.width", sp.WidthCM, "cm")
	add("spec.length", sp.LengthCM, "cm")
	if sp.WeightKG > 0 {
		out = append(out, specLine{b.T("spec.weight"), strconv.FormatFloat(sp.WeightKG, 'f', -1, 64) + " kg"})
	}
	add("spec.max_user", sp.MaxUserKG, "kg")
	add("spec.range", sp.RangeKM, "km")
	add("spec.wheels", sp.Wheels, "")
	yes := func(v bool) string {
		if v {
			return b.T("yes")
		}
		return b.T("no")
	}
	out = append(out, specLine{b.T("spec.foldable"), yes(sp.Foldable)}, specLine{b.T("spec.adjustable"), yes(sp.AdjustableHeight)})
	return out
}

type stationsPage struct {
	base
	Stations []stationSummary
	Filter   string
}

func (s *Server) showStations(c *gin.Context) error {
	p := stationsPage{base: s.base(c, "stations.title", "stations")}
	s.locate(c, &p.base)
	filter := c.Query("in")
	if _, ok := stations.DistrictByID(filter); !ok {
		filter = ""
	}
	p.Filter = filter
	p.Stations = s.stationList(p.Near, filter)
	p.Description = p.T("meta.stations", len(p.Stations))
	return s.render(c, http.StatusOK, "stations", &p)
}

type hoursLine struct {
	Day   string
	Hours stations.Day
	Today bool
}

type stationPage struct {
	base
	Station   stations.Station
	District  stations.District
	Open      openStatus
	Hours     []hoursLine
	Closures  []string
	Inventory []inventoryLine
	MapURL    string
	Distance  *float64
}

func (s *Server) showStation(c *gin.Context) error {
	st, err := s.publicStation(c.Param("id"))
	if err != nil {
		return s.showClosedStation(c, err)
	}
	p := stationPage{base: s.base(c, "station.title", "stations"), Station: st}
	p.Title = p.Tx(st.Name)
	s.locate(c, &p.base)
	p.District, _ = stations.DistrictByID(st.District)
	now := s.now().In(l10n.Local)
	p.Open = p.OpenStatus(st.Hours)
	// Monday first, as calendars in China are.
	for _, wd := range []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday, time.Saturday, time.Sunday} {
		p.Hours = append(p.Hours, hoursLine{Day: p.T("weekday." + strconv.Itoa(int(wd))), Hours: st.Hours.Week[wd], Today: wd == now.Weekday()})
	}
	today := now.Format(time.DateOnly)
	for _, d := range st.Hours.ClosedOn {
		if d >= today {
			p.Closures = append(p.Closures, d)
		}
	}
	p.Inventory = s.stationInventory(st.ID)
	p.MapURL = "https://uri.amap.com/marker?position=" + strconv.FormatFloat(st.Lng, 'f', 5, 64) + "," +
		strconv.FormatFloat(st.Lat, 'f', 5, 64) + "&name=" + url.QueryEscape(st.Name.Zh) + "&coordinate=wgs84&callnative=1"
	if p.Near != nil {
		d := geo.DistanceKM(*p.Near, geo.Point{Lat: st.Lat, Lng: st.Lng})
		p.Distance = &d
	}
	available := 0
	for _, l := range p.Inventory {
		available += l.Available
	}
	p.Description = p.T("meta.station", p.Tx(st.Name), p.Tx(st.Address)) + p.T("meta.station.available", available)
	if st.Phone != "" {
		p.Description += p.T("meta.station.phone", st.Phone)
	}
	return s.render(c, http.StatusOK, "station", &p)
}

// Dist says how far a station is: from the visitor ("距您 330 m") only when
// the location is theirs (their device's), otherwise from the centre of the
// district they chose ("距 解放区中心 1.2 km").
func (b *base) Dist(d float64) string {
	if dd, ok := stations.DistrictByID(b.District); ok && b.District != "" {
		return b.T("distance.district", b.Tx(dd.Name), km(d))
	}
	return b.T("distance.you", km(d))
}

// Nearest says how far the nearest station with a device is, the same way.
func (b *base) Nearest(d float64) string {
	if dd, ok := stations.DistrictByID(b.District); ok && b.District != "" {
		return b.T("nearest.district", b.Tx(dd.Name), km(d))
	}
	return b.T("nearest.you", km(d))
}

// openStatus is whether a station is open now, in words: "正在营业 · 17:30 关门",
// "现在休息 · 明天 08:30 开门".
type openStatus struct {
	Open bool
	Text string
}

// OpenStatus says whether a station is open now and, when it is closed,
// when it opens next, in the city's time.
func (b *base) OpenStatus(h stations.Hours) openStatus {
	now := b.srv.now().In(l10n.Local)
	if h.OpenAt(now) {
		return openStatus{Open: true, Text: b.T("open.until", h.Week[now.Weekday()].Close)}
	}
	next, ok := h.NextOpening(now)
	if !ok {
		return openStatus{Text: b.T("open.closed")}
	}
	at := next.Format("15:04")
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, l10n.Local)
	switch days := int(next.Sub(today).Hours() / 24); {
	case days == 0:
		return openStatus{Text: b.T("open.next.today", at)}
	case days == 1:
		return openStatus{Text: b.T("open.next.tomorrow", at)}
	case days < 7:
		return openStatus{Text: b.T("open.next.weekday", b.T("weekday.short."+strconv.Itoa(int(next.Weekday()))), at)}
	default:
		return openStatus{Text: b.T("open.next.date", b.T("date.short", b.T("month."+strconv.Itoa(int(next.Month()))), next.Day()), at)}
	}
}

func (s *Server) notFoundPage(c *gin.Context) {
	if wantsJSON(c) {
		s.fail(c, errNotFound, true)
		return
	}
	s.renderError(c, http.StatusNotFound, "", nil)
}
