package web

import (
	"maps"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"fuju/internal/l10n"
	"fuju/internal/valid"
	"fuju/stations"
)

// operatorPartials holds the form partials the operator console's pages share
// ("op_select", "op_textarea", …). newRenderer parses it into every
// operator_* page at start, because each page is its own template set.
const operatorPartials = "operator_partials"

// opConsole is what every operator console page carries.
type opConsole struct {
	base
	// Section is the console area, for the console's menu.
	Section string
	// Platform is set for the city's administrator, who works for every
	// operator and names one when creating.
	Platform  bool
	Operators []stations.Operator
}

func (s *Server) opConsole(c *gin.Context, title, section string) opConsole {
	p := opConsole{base: s.base(c, title, "console"), Section: section}
	p.Platform = scopeOf(c).Platform
	if p.Platform {
		p.Operators, _ = s.stations.Operators(c.Request.Context())
	}
	return p
}

// OperatorName names an operator for the platform's lists.
func (p *opConsole) OperatorName(id string) string {
	for _, o := range p.Operators {
		if o.ID == id {
			return p.Tx(o.Name)
		}
	}
	return id
}

// Field describes input name of f, labelled "op.field.<name>" (with an
// optional ".hint"), its error translated from "op.err.<code>" when the
// opConsole has its own wording.
func (p *opConsole) Field(f form, name, kind string, required bool) inputField {
	in := p.Input(f, name, kind, "op.field."+name, "off", required)
	in.Autocomplete = ""
	if code, bad := f.Errors[name]; bad {
		in.Error = p.errText(code, f.Messages[name])
	}
	if kind == "decimal" {
		in.Type, in.Inputmode = "text", "decimal"
	}
	return in
}

func (p *opConsole) errText(code string, pr valid.Problem) string {
	if m, ok := p.msgs["op.err."+code]; ok {
		return p.words().fill(m, pr.Params)
	}
	return p.ErrorText(code, pr)
}

// Sum is the error summary of f, naming fields by their opConsole labels.
func (p *opConsole) Sum(f form) summary {
	if len(f.Errors) == 0 {
		return summary{B: &p.base}
	}
	b := p.base
	b.msgs = maps.Clone(p.msgs)
	for name, code := range f.Errors {
		if l, ok := p.msgs["op.field."+name]; ok {
			b.msgs["field."+name] = l
		}
		if m, ok := p.msgs["op.err."+code]; ok {
			b.msgs["err."+code] = m
		}
	}
	return summary{B: &b, Errors: f.Errors, Messages: f.Messages}
}

// opChoice is one option of a select or one box of a checkbox group.
type opChoice struct {
	Value, Label string
	Selected     bool
}

// opChoiceField is a select or a group of checkboxes.
type opChoiceField struct {
	inputField
	Options []opChoice
}

// Select describes a select of f; options are value/label pairs.
func (p *opConsole) Select(f form, name string, required bool, options []opChoice) opChoiceField {
	in := p.Field(f, name, "select", required)
	cur := f.Get(name)
	out := opChoiceField{inputField: in, Options: make([]opChoice, len(options))}
	for i, o := range options {
		o.Selected = o.Value == cur
		out.Options[i] = o
	}
	return out
}

// Checks describes a group of checkboxes named name; the boxes whose value f
// holds are ticked.
func (p *opConsole) Checks(f form, name string, options []opChoice) opChoiceField {
	in := p.Field(f, name, "checkbox", false)
	have := map[string]bool{}
	for _, v := range f.Values[name] {
		have[v] = true
	}
	out := opChoiceField{inputField: in, Options: make([]opChoice, len(options))}
	for i, o := range options {
		o.Selected = have[o.Value]
		out.Options[i] = o
	}
	return out
}

// Check describes one checkbox of f, ticked when f holds a value for it.
func (p *opConsole) Check(f form, name string) inputField {
	in := p.Field(f, name, "checkbox", false)
	in.Value = ""
	if f.Get(name) != "" {
		in.Value = "on"
	}
	return in
}

// OperatorChoices lists the operators for the platform's create forms.
func (p *opConsole) OperatorChoices() []opChoice {
	out := []opChoice{{Value: "", Label: p.T("op.choose")}}
	for _, o := range p.Operators {
		out = append(out, opChoice{Value: o.ID, Label: p.Tx(o.Name)})
	}
	return out
}

// DistrictChoices lists the city's districts.
func (p *opConsole) DistrictChoices() []opChoice {
	out := []opChoice{{Value: "", Label: p.T("op.choose")}}
	for _, d := range stations.Districts {
		out = append(out, opChoice{Value: d.ID, Label: p.Tx(d.Name)})
	}
	return out
}

// StateName is a unit state in words.
func (p *opConsole) StateName(st stations.State) string { return p.T("op.state." + string(st)) }

// Weekdays are the hours form's rows, Monday first as people read a week.
func (p *opConsole) Weekdays() []int { return []int{1, 2, 3, 4, 5, 6, 0} }

// WeekdayName names weekday d (0 is Sunday).
func (p *opConsole) WeekdayName(d int) string { return p.T("weekday." + strconv.Itoa(d)) }

// Hour fields of weekday d.
func (p *opConsole) Hour(f form, kind string, d int) inputField {
	return p.Field(f, kind+"_"+strconv.Itoa(d), "time", false)
}

// Closed is the "closed" box of weekday d.
func (p *opConsole) Closed(f form, d int) inputField { return p.Check(f, "closed_"+strconv.Itoa(d)) }

// opPager is a paged list's position and the links around it.
type opPager struct {
	Page, PerPage, Pages int
	Total                int64
	// Query is the list's filters, carried by the page links.
	Query url.Values
	Path  string
}

func newOpPager(path string, q url.Values, page, perPage int, total int64) opPager {
	pages := int((total + int64(perPage) - 1) / int64(perPage))
	return opPager{Page: page, PerPage: perPage, Pages: max(pages, 1), Total: total, Query: q, Path: path}
}

// URL links to page n with the same filters.
func (pg opPager) URL(n int) string {
	q := url.Values{}
	for k, v := range pg.Query {
		if k != "page" && len(v) > 0 && v[0] != "" {
			q[k] = v
		}
	}
	q.Set("page", strconv.Itoa(n))
	return pg.Path + "?" + q.Encode()
}

// Prev and Next are the neighbouring pages, 0 when there is none.
func (pg opPager) Prev() int {
	if pg.Page > 1 {
		return pg.Page - 1
	}
	return 0
}

// Next is the following page, 0 at the end.
func (pg opPager) Next() int {
	if pg.Page < pg.Pages {
		return pg.Page + 1
	}
	return 0
}

// consoleOperator is the operator a console form acts for: the caller's own,
// or for the platform the one chosen in the form.
func consoleOperator(c *gin.Context, f form) string {
	if sc := scopeOf(c); !sc.Platform {
		return sc.OperatorID
	}
	return f.Get("operator_id")
}

// When shows an instant in the city's time.
func (p *opConsole) When(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.In(l10n.Local).Format("2006-01-02 15:04")
}

// WhenPtr is When of an optional instant.
func (p *opConsole) WhenPtr(t *time.Time) string {
	if t == nil {
		return "—"
	}
	return p.When(*t)
}

// closedStationPage is the public page of a station that exists but is not
// open to the public: switched off by its operator or of a suspended
// operator.
type closedStationPage struct {
	base
	Station stations.Station
}

// showClosedStation answers a station page the public cannot see: when the
// station exists, a page saying it is closed (still a 404, so nothing
// indexes it as open); otherwise notFound, the original error.
func (s *Server) showClosedStation(c *gin.Context, notFound error) error {
	st, ok := s.stations.ClosedStation(c.Request.Context(), c.Param("id"))
	if !ok {
		return notFound
	}
	p := closedStationPage{base: s.base(c, "op.station.closed.title", "stations"), Station: st}
	p.Title = p.T("op.station.closed.heading", p.Tx(st.Name))
	return s.render(c, http.StatusNotFound, "station_closed", &p)
}
