package web

import (
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"fuju/internal/l10n"
	"fuju/reports"
	"fuju/stations"
)

// Dashboards (docs/dashboards.md): the operator admin's over its own
// stations (/operator/reports) and the platform's over the city, by
// operator and district (/admin/reports), for a range of days; each figure
// a chart drawn here as SVG through html/template, with its numbers as a
// table, and each dashboard a CSV. The figures are the reports service's.
//
// No charting library: the Go ones draw PNGs or SVG without a title, a
// description or roles, and bars are simple enough to lay out here, where
// the words, the palette and the sizes are ours.

// dashboardPartials is the dashboards' body both consoles show
// ("dash_body"); newRenderer parses it into each of them.
const dashboardPartials = "dashboard_partials"

// dashNamer gives a dashboard's words in the page's language; it is the
// reports.Namer of the CSV too, so both say the same.
type dashNamer struct {
	b   *base
	s   *Server
	ops map[string]l10n.Text
}

func (n dashNamer) Word(key string) string { return n.b.T(key) }

func (n dashNamer) Name(kind string, r reports.Row) string {
	switch kind {
	case reports.KindStation:
		if n.b.Lang == "en" && r.NameEn != "" {
			return r.NameEn
		}
		if r.Name != "" {
			return r.Name
		}
	case reports.KindProduct:
		return n.s.productName(n.b, r.Key)
	case reports.KindOperator:
		if t, ok := n.ops[r.Key]; ok {
			return n.b.Tx(t)
		}
	case reports.KindDistrict:
		if d, ok := stations.DistrictByID(r.Key); ok {
			return n.b.Tx(d.Name)
		}
	case reports.KindTier:
		return n.b.T("tier." + r.Key)
	case reports.KindBucket, reports.KindState:
		return n.b.T("dash." + kind + "." + r.Key)
	}
	return r.Key
}

func (s *Server) dashNamer(c *gin.Context, b *base) (dashNamer, error) {
	ops, err := s.stations.Operators(c.Request.Context())
	if err != nil {
		return dashNamer{}, err
	}
	return dashNamer{b: b, s: s, ops: operatorNames(ops)}, nil
}

// dashRange reads range, from and to; a bad one is 400 naming the field.
func (s *Server) dashRange(c *gin.Context) (reports.Range, error) {
	return reports.ParseRange(s.reports.Now(), c.Query("range"), strings.TrimSpace(c.Query("from")), strings.TrimSpace(c.Query("to")))
}

// ---- The API

func (s *Server) dashboardAPI(city bool, format string) func(*gin.Context) error {
	return func(c *gin.Context) error {
		p := newParams(c)
		p.only("range", "from", "to", "lang", "operator")
		if err := p.err(); err != nil {
			return err
		}
		rng, err := s.dashRange(c)
		if err != nil {
			return err
		}
		sc := scopeOf(c)
		op := sc.OperatorID
		if city {
			op = c.Query("operator")
		}
		d, err := s.reports.Dashboard(c.Request.Context(), sc, op, c.Param("dashboard"), rng)
		if err != nil {
			return err
		}
		if format != "csv" {
			c.JSON(http.StatusOK, d)
			return nil
		}
		b := s.base(c, "dash.title", "console")
		n, err := s.dashNamer(c, &b)
		if err != nil {
			return err
		}
		who := op
		if who == "" {
			who = "city"
		}
		c.Header("Content-Disposition", `attachment; filename="dashboard-`+d.Name+"-"+who+"-"+d.Range.From+"-"+d.Range.To+`.csv"`)
		c.Data(http.StatusOK, "text/csv; charset=utf-8", reports.DashboardCSV(d, n))
		return nil
	}
}

// ---- The pages

// Okabe–Ito: eight colours told apart with every common colour vision
// deficiency, each with ≥3:1 contrast against white except yellow, which
// is never the only cue: every bar has its number in the table.
var okabeIto = []string{"#0072B2", "#E69F00", "#56B4E9", "#009E73", "#D55E00", "#CC79A7", "#000000", "#F0E442"}

// Chart geometry, in SVG units drawn 1:1 up to the chart's width, so 18
// units of text are 18 px on a 1024 px console.
const (
	chartW     = 880
	chartLabel = 250
	chartValue = 130
	chartRow   = 40
	chartBar   = 26
	chartTop   = 8
)

// dashBar is one segment of a bar.
type dashBar struct {
	X, Y, W, H int
	Fill       string
}

// dashChartRow is one bar with its label and value.
type dashChartRow struct {
	Label, Value string
	Y, TextY     int
	ValueX       int
	Bars         []dashBar
}

// dashLegend is a series of a stacked chart.
type dashLegend struct {
	Label, Fill string
}

// dashChart is one SVG bar chart.
type dashChart struct {
	ID, Title, Desc string
	Height          int
	Rows            []dashChartRow
	Legend          []dashLegend
	LabelX, BarX    int
}

// dashTable is one figure: its chart and its numbers.
type dashTable struct {
	ID, Title, RowHead string
	Heads              []string
	Rows               [][]string
	Total              []string
	Chart              *dashChart
}

// dashSection is one dashboard on a page.
type dashSection struct {
	Name, Title, CSV string
	Tables           []dashTable
}

func figure(m reports.Measure, v int64) string {
	switch m {
	case reports.Fen:
		return yuan(v)
	case reports.Permille:
		return reports.Figure(m, v) + "%"
	}
	return reports.Figure(m, v)
}

// clip shortens a label to what fits beside the bars; the table has it
// whole.
func clip(s string, width int) string {
	w := 0
	for i, r := range s {
		cw := 1
		if r > 0x2E80 {
			cw = 2
		}
		if w+cw > width {
			return s[:i] + "…"
		}
		w += cw
	}
	return s
}

func newDashTable(n dashNamer, t reports.Table) dashTable {
	title := n.Word("dash.t."+t.Title) + " · " + n.Word("dash.by."+t.RowKind)
	out := dashTable{ID: t.ID, Title: title, RowHead: n.Word("dash.by." + t.RowKind)}
	for _, c := range t.Columns {
		out.Heads = append(out.Heads, n.Word("dash.c."+c.Key))
	}
	for _, r := range t.Rows {
		row := []string{n.Name(t.RowKind, r)}
		for i, v := range r.Values {
			row = append(row, figure(t.Columns[i].Measure, v))
		}
		out.Rows = append(out.Rows, row)
	}
	if len(t.Rows) > 1 {
		for i, v := range t.Total {
			if m := t.Columns[i].Measure; m == reports.Count || m == reports.Fen {
				out.Total = append(out.Total, figure(m, v))
			} else {
				out.Total = append(out.Total, "")
			}
		}
	}
	if t.Plot != 0 && len(t.Rows) > 0 {
		out.Chart = newDashChart(n, t, title)
	}
	return out
}

// newDashChart lays out horizontal bars: one per row, stacked when the
// table plots several columns, scaled to the longest.
func newDashChart(n dashNamer, t reports.Table, title string) *dashChart {
	cols := []int{}
	if t.Plot > 0 {
		for i := 0; i < t.Plot && i < len(t.Columns); i++ {
			cols = append(cols, i)
		}
	} else {
		cols = append(cols, -t.Plot-1)
	}
	var maxSum int64
	for _, r := range t.Rows {
		var sum int64
		for _, i := range cols {
			sum += max(r.Values[i], 0)
		}
		maxSum = max(maxSum, sum)
	}
	ch := &dashChart{ID: "chart-" + t.ID, Title: title, LabelX: chartLabel - 10, BarX: chartLabel}
	if len(cols) > 1 {
		for k, i := range cols {
			ch.Legend = append(ch.Legend, dashLegend{Label: n.Word("dash.c." + t.Columns[i].Key), Fill: okabeIto[k%len(okabeIto)]})
		}
	}
	span := chartW - chartLabel - chartValue
	var desc []string
	for j, r := range t.Rows {
		y := chartTop + j*chartRow
		row := dashChartRow{Label: clip(n.Name(t.RowKind, r), 22), Y: y, TextY: y + chartBar/2 + 6}
		x := chartLabel
		var sum int64
		for k, i := range cols {
			v := max(r.Values[i], 0)
			sum += v
			w := 0
			if maxSum > 0 {
				w = int(v * int64(span) / maxSum)
			}
			if w > 0 {
				row.Bars = append(row.Bars, dashBar{X: x, Y: y, W: w, H: chartBar, Fill: okabeIto[k%len(okabeIto)]})
			}
			x += w
		}
		m := t.Columns[cols[0]].Measure
		if len(cols) == 1 {
			row.Value = figure(m, r.Values[cols[0]])
		} else {
			row.Value = figure(m, sum)
		}
		row.ValueX = x + 8
		ch.Rows = append(ch.Rows, row)
		if j < 12 {
			desc = append(desc, n.Name(t.RowKind, r)+" "+row.Value)
		}
	}
	ch.Height = chartTop*2 + len(t.Rows)*chartRow
	more := ""
	if len(t.Rows) > 12 {
		more = " …"
	}
	ch.Desc = n.b.T("dash.chart.desc", strings.Join(desc, "; ")+more)
	return ch
}

// dashForm is the range chooser: it reads back what was asked, and the
// problem next to its field when the range was wrong.
type dashForm struct {
	Range, From, To string
	Field, Problem  string
}

// dashView is what both consoles' dashboard pages show ("dash_body").
type dashView struct {
	Form   dashForm
	Ranges []string
	Range  reports.Range
	// When is the range's days in words; AsOf, for a range that ends
	// today, when today's figures were computed.
	When, AsOf string
	Sections   []dashSection
	// Here is the page's path; API the dashboards' API path.
	Here, API string
}

type opDashPage struct {
	opConsole
	dashView
}

type adminDashPage struct {
	adminBase
	dashView
}

// fillDashboards reads the range and computes every dashboard of op ("":
// the city) for the page. A bad range shows this month with the problem
// next to its field (400).
func (s *Server) fillDashboards(c *gin.Context, b *base, v *dashView, op string) (int, error) {
	v.Ranges = reports.RangeNames
	v.Form = dashForm{Range: c.Query("range"), From: c.Query("from"), To: c.Query("to")}
	if v.Form.Range == "" {
		v.Form.Range = reports.RangeThisMonth
		if v.Form.From != "" || v.Form.To != "" {
			v.Form.Range = reports.RangeCustom
		}
	}
	rng, err := s.dashRange(c)
	status := http.StatusOK
	if err != nil {
		probs, ok := problemsOf(err)
		if !ok {
			return 0, err
		}
		for _, k := range []string{"range", "from", "to"} {
			if pr, bad := probs[k]; bad {
				v.Form.Field, v.Form.Problem = k, b.ErrorText(pr.Code, pr)
				break
			}
		}
		status = http.StatusBadRequest
		rng, _ = reports.ParseRange(s.reports.Now(), reports.RangeThisMonth, "", "")
	}
	v.Range, v.When = rng, b.T("dash.range.days", rng.From, rng.To)
	n, err := s.dashNamer(c, b)
	if err != nil {
		return 0, err
	}
	q := url.Values{"range": {rng.Name}, "lang": {b.Lang}}
	if rng.Name == reports.RangeCustom {
		q.Set("from", rng.From)
		q.Set("to", rng.To)
	}
	var asOf time.Time
	for _, name := range reports.DashboardNames {
		d, err := s.reports.Dashboard(c.Request.Context(), scopeOf(c), op, name, rng)
		if err != nil {
			return 0, err
		}
		if asOf.IsZero() || d.AsOf.Before(asOf) {
			asOf = d.AsOf
		}
		sec := dashSection{Name: name, Title: n.Word("dash." + name), CSV: v.API + "/" + name + "/csv?" + q.Encode()}
		for _, t := range d.Tables {
			sec.Tables = append(sec.Tables, newDashTable(n, t))
		}
		v.Sections = append(v.Sections, sec)
	}
	if now := s.reports.Now(); rng.To >= now.In(l10n.Local).Format(time.DateOnly) {
		v.AsOf = b.T("dash.as_of", asOf.In(l10n.Local).Format("15:04"))
	}
	return status, nil
}

func (s *Server) showOpDashboards(c *gin.Context) error {
	p := opDashPage{opConsole: s.opConsole(c, "dash.title", "reports")}
	p.Here, p.API = "/operator/reports", "/api/v1/operator/reports"
	status, err := s.fillDashboards(c, &p.base, &p.dashView, scopeOf(c).OperatorID)
	if err != nil {
		return err
	}
	return s.render(c, status, "operator_reports", &p)
}

func (s *Server) showAdminDashboards(c *gin.Context) error {
	p := adminDashPage{adminBase: s.adminBase(c, "dash.title", "reports")}
	p.Here, p.API = "/admin/reports", "/api/v1/admin/reports"
	status, err := s.fillDashboards(c, &p.base, &p.dashView, "")
	if err != nil {
		return err
	}
	return s.render(c, status, "admin_reports", &p)
}
