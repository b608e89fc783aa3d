package web

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"fuju/catalog"
	"fuju/internal/l10n"
	"fuju/internal/tenancy"
	"fuju/internal/valid"
	"fuju/stations"
)

// The console's stations, units and imports.

// Stations.

type opStationsPage struct {
	opConsole
	Stations []stations.VersionedStation
}

// DistrictName names a district.
func (p *opConsole) DistrictName(id string) string {
	if d, ok := stations.DistrictByID(id); ok {
		return p.Tx(d.Name)
	}
	return id
}

func (s *Server) showOpStations(c *gin.Context) error {
	p := opStationsPage{opConsole: s.opConsole(c, "op.stations.title", "stations")}
	var err error
	if p.Stations, err = s.stations.StationsIn(c.Request.Context(), scopeOf(c)); err != nil {
		return err
	}
	return s.render(c, http.StatusOK, "operator_stations", &p)
}

type opStationPage struct {
	opConsole
	Form     form
	Station  *stations.VersionedStation
	Conflict bool
}

// stationFormFields maps the station's field names to the form's: a day's
// hours problem is shown at that day's opening time.
var stationFormFields = func() map[string]string {
	m := map[string]string{"hours.week": "open_1", "hours.closed_on": "closed_on"}
	for d := range 7 {
		m["hours.week."+strconv.Itoa(d)] = "open_" + strconv.Itoa(d)
	}
	return m
}()

var stationFormOrder = []string{"operator_id", "name_zh", "name_en", "address_zh", "address_en", "district", "lat", "lng",
	"phone", "open_1", "open_2", "open_3", "open_4", "open_5", "open_6", "open_0", "closed_on"}

func stationFormValues(st stations.VersionedStation) url.Values {
	v := url.Values{}
	v.Set("version", strconv.FormatInt(st.Version, 10))
	v.Set("name_zh", st.Name.Zh)
	v.Set("name_en", st.Name.En)
	v.Set("address_zh", st.Address.Zh)
	v.Set("address_en", st.Address.En)
	v.Set("district", st.District)
	v.Set("lat", strconv.FormatFloat(st.Lat, 'f', -1, 64))
	v.Set("lng", strconv.FormatFloat(st.Lng, 'f', -1, 64))
	v.Set("phone", st.Phone)
	for d, day := range st.Hours.Week {
		if day.Closed {
			v.Set("closed_"+strconv.Itoa(d), "on")
			continue
		}
		v.Set("open_"+strconv.Itoa(d), day.Open)
		v.Set("close_"+strconv.Itoa(d), day.Close)
	}
	v.Set("closed_on", strings.Join(st.Hours.ClosedOn, "\n"))
	if st.Active {
		v.Set("active", "on")
	}
	return v
}

// stationFromForm reads the station form; the rules are the station's own.
func stationFromForm(f form) (stations.Station, int64, error) {
	ve := &valid.Error{}
	st := stations.Station{Name: l10n.Text{Zh: f.Get("name_zh"), En: f.Get("name_en")},
		Address:  l10n.Text{Zh: f.Get("address_zh"), En: f.Get("address_en")},
		District: f.Get("district"), Phone: f.Get("phone"), Active: f.Get("active") != ""}
	for _, m := range []struct {
		name string
		to   *float64
	}{{"lat", &st.Lat}, {"lng", &st.Lng}} {
		n, err := strconv.ParseFloat(f.Get(m.name), 64)
		if err != nil {
			ve.Add(m.name, "number", "must be a number in degrees, such as 35.215")
		}
		*m.to = n
	}
	for d := range 7 {
		ds := strconv.Itoa(d)
		if f.Get("closed_"+ds) != "" {
			st.Hours.Week[d] = stations.Day{Closed: true}
			continue
		}
		st.Hours.Week[d] = stations.Day{Open: f.Get("open_" + ds), Close: f.Get("close_" + ds)}
	}
	for _, line := range strings.Split(f.Get("closed_on"), "\n") {
		if line = strings.TrimSpace(line); line != "" {
			st.Hours.ClosedOn = append(st.Hours.ClosedOn, line)
		}
	}
	var version int64
	if v := f.Get("version"); v != "" {
		version, _ = strconv.ParseInt(v, 10, 64)
	}
	return st, version, ve.Err()
}

func (s *Server) newOpStationPage(c *gin.Context) error {
	p := opStationPage{opConsole: s.opConsole(c, "op.station.new", "stations")}
	p.Form.Values = stationFormValues(stations.VersionedStation{Station: stations.Station{Hours: stations.StandardHours(), Active: true}})
	p.Form.Values.Del("lat")
	p.Form.Values.Del("lng")
	return s.render(c, http.StatusOK, "operator_station", &p)
}

func (s *Server) createOpStationPage(c *gin.Context) error {
	f := newForm(c)
	p := opStationPage{opConsole: s.opConsole(c, "op.station.new", "stations"), Form: f}
	st, _, err := stationFromForm(f)
	st.OperatorID = consoleOperator(c, f)
	if err != nil {
		err = withRules(err, remap(st.Validate(), stationFormFields))
	} else {
		_, err = s.opCreateStation(c, st)
	}
	if err != nil {
		if p.Form.fail(remap(err, stationFormFields), stationFormOrder...) {
			return s.render(c, http.StatusBadRequest, "operator_station", &p)
		}
		return err
	}
	s.flash(c, "op.flash.station_created")
	c.Redirect(http.StatusSeeOther, "/operator/stations")
	return nil
}

func (s *Server) editOpStationPage(c *gin.Context) error {
	st, err := s.stations.StationIn(c.Request.Context(), scopeOf(c), c.Param("id"))
	if err != nil {
		return err
	}
	p := opStationPage{opConsole: s.opConsole(c, "op.station.edit", "stations"), Station: &st}
	p.Form.Values = stationFormValues(st)
	return s.render(c, http.StatusOK, "operator_station", &p)
}

func (s *Server) updateOpStationPage(c *gin.Context) error {
	cur, err := s.stations.StationIn(c.Request.Context(), scopeOf(c), c.Param("id"))
	if err != nil {
		return err
	}
	f := newForm(c)
	p := opStationPage{opConsole: s.opConsole(c, "op.station.edit", "stations"), Form: f, Station: &cur}
	st, version, err := stationFromForm(f)
	st.ID, st.OperatorID = cur.ID, cur.OperatorID
	if err != nil {
		err = withRules(err, remap(st.Validate(), stationFormFields))
	} else {
		_, err = s.opUpdateStation(c, st, version)
	}
	switch {
	case errors.Is(err, stations.ErrConflict):
		p.Conflict = true
		p.Form.Values.Set("version", strconv.FormatInt(cur.Version, 10))
		return s.render(c, http.StatusConflict, "operator_station", &p)
	case err != nil:
		if p.Form.fail(remap(err, stationFormFields), stationFormOrder...) {
			return s.render(c, http.StatusBadRequest, "operator_station", &p)
		}
		return err
	}
	s.flash(c, "op.flash.saved")
	c.Redirect(http.StatusSeeOther, "/operator/stations")
	return nil
}

// Units.

// opNames resolves product and station ids to names on unit pages.
type opNames struct {
	products map[string]catalog.Product
	stations map[string]stations.VersionedStation
}

func (s *Server) opNames(c *gin.Context) (opNames, error) {
	n := opNames{products: map[string]catalog.Product{}, stations: map[string]stations.VersionedStation{}}
	prods, err := s.catalog.List(c.Request.Context(), scopeOf(c))
	if err != nil {
		return n, err
	}
	for _, p := range prods {
		n.products[p.ID] = p
	}
	sts, err := s.stations.StationsIn(c.Request.Context(), scopeOf(c))
	if err != nil {
		return n, err
	}
	for _, st := range sts {
		n.stations[st.ID] = st
	}
	return n, nil
}

type opUnitsPage struct {
	opConsole
	names  opNames
	Filter form
	Units  []stations.Unit
	Pager  opPager
}

// ProductName names a product in the page's language.
func (p *opUnitsPage) ProductName(id string) string { return p.names.productName(&p.base, id) }

// StationName names a station in the page's language.
func (p *opUnitsPage) StationName(id string) string { return p.names.stationName(&p.base, id) }

func (n opNames) productName(b *base, id string) string {
	if pr, ok := n.products[id]; ok {
		return b.Tx(pr.Name)
	}
	return id
}

func (n opNames) stationName(b *base, id string) string {
	if st, ok := n.stations[id]; ok {
		return b.Tx(st.Name)
	}
	return id
}

func (n opNames) productChoices(b *base) []opChoice {
	out := []opChoice{{Value: "", Label: b.T("op.choose")}}
	for _, c := range catalog.Categories {
		for _, p := range n.products {
			if p.Category == c.ID {
				out = append(out, opChoice{Value: p.ID, Label: b.Tx(p.Name) + " (" + p.ID + ")"})
			}
		}
	}
	return out
}

func (n opNames) stationChoices(b *base) []opChoice {
	out := []opChoice{{Value: "", Label: b.T("op.choose")}}
	for _, st := range n.stations {
		out = append(out, opChoice{Value: st.ID, Label: b.Tx(st.Name)})
	}
	sortChoices(out[1:])
	return out
}

func sortChoices(cs []opChoice) {
	for i := 1; i < len(cs); i++ {
		for j := i; j > 0 && cs[j].Label < cs[j-1].Label; j-- {
			cs[j], cs[j-1] = cs[j-1], cs[j]
		}
	}
}

// ProductChoices lists the scope's products.
func (p *opUnitsPage) ProductChoices() []opChoice { return p.names.productChoices(&p.base) }

// StationChoices lists the scope's stations.
func (p *opUnitsPage) StationChoices() []opChoice { return p.names.stationChoices(&p.base) }

// StateChoices lists the unit states.
func (p *opConsole) StateChoices() []opChoice {
	out := []opChoice{{Value: "", Label: p.T("op.units.anystate")}}
	for _, st := range stations.States {
		out = append(out, opChoice{Value: string(st), Label: p.StateName(st)})
	}
	return out
}

func (s *Server) showOpUnits(c *gin.Context) error {
	p := opUnitsPage{opConsole: s.opConsole(c, "op.units.title", "units")}
	q := newParams(c)
	f := unitQuery(q)
	page, perPage := pageParams(q, 50, 200)
	p.Filter = form{Values: c.Request.URL.Query()}
	var err error
	if p.names, err = s.opNames(c); err != nil {
		return err
	}
	if err := q.err(); err != nil {
		p.Filter.fail(err, "station", "state", "product")
		return s.render(c, http.StatusBadRequest, "operator_units", &p)
	}
	units, total, err := s.stations.UnitsIn(c.Request.Context(), scopeOf(c), f, int64((page-1)*perPage), int64(perPage))
	if err != nil {
		return err
	}
	p.Units = units
	p.Pager = newOpPager("/operator/units", c.Request.URL.Query(), page, perPage, total)
	return s.render(c, http.StatusOK, "operator_units", &p)
}

type opUnitPage struct {
	opConsole
	names opNames
	Form  form
	Unit  *stations.Unit
	// Timeline is the unit's history, each event a sentence as the desk
	// reads it.
	Timeline []timelineEntry
	// Conflict says the unit changed since the form was opened;
	// Unavailable that it cannot be retired in its state.
	Conflict, Unavailable bool
}

// ProductName names a product in the page's language.
func (p *opUnitPage) ProductName(id string) string { return p.names.productName(&p.base, id) }

// StationName names a station in the page's language.
func (p *opUnitPage) StationName(id string) string { return p.names.stationName(&p.base, id) }

// ProductChoices lists the scope's products.
func (p *opUnitPage) ProductChoices() []opChoice { return p.names.productChoices(&p.base) }

// StationChoices lists the scope's stations.
func (p *opUnitPage) StationChoices() []opChoice { return p.names.stationChoices(&p.base) }

// NewStates are the states a new unit may start in.
func (p *opUnitPage) NewStates() []opChoice {
	return []opChoice{{Value: "available", Label: p.StateName(stations.Available)},
		{Value: "cleaning", Label: p.StateName(stations.Cleaning)}, {Value: "repair", Label: p.StateName(stations.Repair)}}
}

// CanRetire reports whether the unit's state allows retiring it.
func (p *opUnitPage) CanRetire() bool {
	return p.Unit != nil && p.Unit.State.CanMoveTo(stations.Retired)
}

var unitFormOrder = []string{"tag", "product_id", "station_id", "state", "condition", "acquired_on"}

func (s *Server) unitPage(c *gin.Context, status int, name string, p *opUnitPage) error {
	var err error
	if p.names, err = s.opNames(c); err != nil {
		return err
	}
	return s.render(c, status, name, p)
}

func (s *Server) newOpUnitPage(c *gin.Context) error {
	p := opUnitPage{opConsole: s.opConsole(c, "op.unit.new", "units")}
	p.Form.Values = url.Values{"state": {"available"}, "station_id": {c.Query("station")}}
	return s.unitPage(c, http.StatusOK, "operator_unit_new", &p)
}

func (s *Server) createOpUnitPage(c *gin.Context) error {
	f := newForm(c)
	p := opUnitPage{opConsole: s.opConsole(c, "op.unit.new", "units"), Form: f}
	u, err := s.opCreateUnit(c, stations.Unit{Tag: f.Get("tag"), ProductID: f.Get("product_id"), StationID: f.Get("station_id"),
		State: stations.State(f.Get("state")), Condition: f.Get("condition"), AcquiredOn: f.Get("acquired_on")})
	if errors.Is(err, stations.ErrConflict) {
		err = valid.Field("tag", "tag_taken", "is already in use by another unit")
	}
	if err != nil {
		if p.Form.fail(err, unitFormOrder...) {
			return s.unitPage(c, http.StatusBadRequest, "operator_unit_new", &p)
		}
		return err
	}
	s.flash(c, "op.flash.unit_created")
	c.Redirect(http.StatusSeeOther, "/operator/units/"+u.Tag)
	return nil
}

func (s *Server) loadOpUnit(c *gin.Context, p *opUnitPage) error {
	u, err := s.stations.UnitIn(c.Request.Context(), scopeOf(c), c.Param("tag"))
	if err != nil {
		return err
	}
	p.Unit = &u
	hist, err := s.stations.History(c.Request.Context(), u.Tag)
	if err != nil {
		return err
	}
	p.Timeline = s.timeline(c.Request.Context(), scopeOf(c), &p.base, hist)
	if p.Form.Values == nil {
		p.Form.Values = url.Values{"condition": {u.Condition}, "acquired_on": {u.AcquiredOn}, "version": {strconv.FormatInt(u.Seq, 10)}}
	}
	return nil
}

func (s *Server) editOpUnitPage(c *gin.Context) error {
	p := opUnitPage{opConsole: s.opConsole(c, "op.unit.edit", "units")}
	if err := s.loadOpUnit(c, &p); err != nil {
		return err
	}
	return s.unitPage(c, http.StatusOK, "operator_unit", &p)
}

func (s *Server) updateOpUnitPage(c *gin.Context) error {
	f := newForm(c)
	p := opUnitPage{opConsole: s.opConsole(c, "op.unit.edit", "units"), Form: f}
	if err := s.loadOpUnit(c, &p); err != nil {
		return err
	}
	version, _ := strconv.ParseInt(f.Get("version"), 10, 64)
	cond, acq := f.Get("condition"), f.Get("acquired_on")
	_, err := s.opEditUnit(c, p.Unit.Tag, stations.UnitEdit{Condition: &cond, AcquiredOn: &acq, Version: version})
	switch {
	case errors.Is(err, stations.ErrConflict):
		p.Conflict = true
		p.Form.Values.Set("version", strconv.FormatInt(p.Unit.Seq, 10))
		return s.unitPage(c, http.StatusConflict, "operator_unit", &p)
	case err != nil:
		if p.Form.fail(err, "condition", "acquired_on") {
			return s.unitPage(c, http.StatusBadRequest, "operator_unit", &p)
		}
		return err
	}
	s.flash(c, "op.flash.saved")
	c.Redirect(http.StatusSeeOther, "/operator/units/"+p.Unit.Tag)
	return nil
}

func (s *Server) retireOpUnitForm(c *gin.Context) error {
	p := opUnitPage{opConsole: s.opConsole(c, "op.unit.retire", "units")}
	if err := s.loadOpUnit(c, &p); err != nil {
		return err
	}
	p.Form.Values = url.Values{"version": {strconv.FormatInt(p.Unit.Seq, 10)}}
	return s.unitPage(c, http.StatusOK, "operator_unit_retire", &p)
}

func (s *Server) retireOpUnitPage(c *gin.Context) error {
	f := newForm(c)
	p := opUnitPage{opConsole: s.opConsole(c, "op.unit.retire", "units"), Form: f}
	if err := s.loadOpUnit(c, &p); err != nil {
		return err
	}
	version, _ := strconv.ParseInt(f.Get("version"), 10, 64)
	_, err := s.opRetireUnit(c, p.Unit.Tag, f.Get("reason"), version)
	switch {
	case errors.Is(err, stations.ErrUnavailable):
		p.Unavailable = true
		return s.unitPage(c, http.StatusConflict, "operator_unit_retire", &p)
	case errors.Is(err, stations.ErrConflict):
		p.Conflict = true
		p.Form.Values.Set("version", strconv.FormatInt(p.Unit.Seq, 10))
		return s.unitPage(c, http.StatusConflict, "operator_unit_retire", &p)
	case err != nil:
		if p.Form.fail(err, "reason") {
			return s.unitPage(c, http.StatusBadRequest, "operator_unit_retire", &p)
		}
		return err
	}
	s.flash(c, "op.flash.unit_retired")
	c.Redirect(http.StatusSeeOther, "/operator/units/"+p.Unit.Tag)
	return nil
}

// Imports.

type opImportNewPage struct {
	opConsole
	Form    form
	Columns string
	MaxRows int
	MaxMiB  int
}

func (s *Server) importNewPage(c *gin.Context, status int, f form) error {
	p := opImportNewPage{opConsole: s.opConsole(c, "op.import.title", "import"), Form: f,
		Columns: strings.Join(stations.ImportColumns, ","), MaxRows: maxImportRows, MaxMiB: maxImportBytes >> 20}
	return s.render(c, status, "operator_import_new", &p)
}

func (s *Server) newOpImportPage(c *gin.Context) error {
	return s.importNewPage(c, http.StatusOK, form{})
}

// showImportTemplate sends the CSV template: Chinese column names and one
// example row naming one of the caller's products and stations by their
// Chinese names, as the operator's staff would write them.
func (s *Server) showImportTemplate(c *gin.Context) error {
	ctx, scope := c.Request.Context(), scopeOf(c)
	product, station := "钢制标准手动轮椅", "解放区民主路社区辅具站"
	if sts, err := s.stations.StationsIn(ctx, scope); err == nil && len(sts) > 0 {
		station = sts[0].Name.Zh
		if prods, err := s.catalog.List(ctx, tenancy.OperatorScope(sts[0].OperatorID)); err == nil && len(prods) > 0 {
			product = prods[0].Name.Zh
		}
	}
	c.Header("Content-Disposition", `attachment; filename="units-template.csv"; filename*=UTF-8''%E8%AE%BE%E5%A4%87%E5%AF%BC%E5%85%A5%E6%A8%A1%E6%9D%BF.csv`)
	c.Header("Cache-Control", "no-store")
	c.Data(http.StatusOK, "text/csv; charset=utf-8", stations.ImportTemplate(product, station))
	return nil
}

// createOpImportPage takes the uploaded file, checks it as a whole (size,
// columns, CSV syntax) while the operator waits, and runs the rows in the
// background; the import's page shows the progress.
func (s *Server) createOpImportPage(c *gin.Context) error {
	f := form{Values: url.Values{}}
	fail := func(status int, err error) error {
		if !f.fail(err, "file") {
			if status, _ := statusOf(err); status >= http.StatusInternalServerError {
				return err
			}
			f.fail(asFieldError("file", err), "file")
		}
		return s.importNewPage(c, status, f)
	}
	if c.Request.ContentLength > maxImportBytes+64<<10 {
		return fail(http.StatusRequestEntityTooLarge, valid.Field("file", "too_large", "is larger than 5 MiB; split it", "max_kb", maxImportBytes>>10))
	}
	fh, err := c.FormFile("file")
	if err != nil {
		return fail(http.StatusBadRequest, valid.Field("file", "required", "choose the CSV file to import"))
	}
	file, err := fh.Open()
	if err != nil {
		return err
	}
	defer file.Close()
	rows, probs, err := readImport(file)
	if err != nil {
		status, _ := statusOf(err)
		return fail(status, err)
	}
	if len(rows)+len(probs) == 0 {
		return fail(http.StatusBadRequest, valid.Field("file", "csv_no_rows", "has a header but no units"))
	}
	id, err := s.startImport(c, rows, probs)
	if err != nil {
		return err
	}
	c.Redirect(http.StatusSeeOther, "/operator/imports/"+id)
	return nil
}

type opImportPage struct {
	opConsole
	Job         stations.ImportJob
	Running     bool
	Interrupted bool
}

// FieldName names a column of the file in the reader's language.
func (p *opImportPage) FieldName(field string) string {
	if m, ok := p.msgs["op.import.col."+field]; ok {
		return m
	}
	return field
}

// Percent is how far the import is.
func (p *opImportPage) Percent() int {
	if p.Job.Total == 0 {
		return 100
	}
	return p.Job.Done * 100 / p.Job.Total
}

func (s *Server) showOpImport(c *gin.Context) error {
	job, err := s.stations.ImportJob(c.Request.Context(), scopeOf(c), c.Param("id"))
	if err != nil {
		return err
	}
	p := opImportPage{opConsole: s.opConsole(c, "op.import.status", "import"), Job: job}
	// The job's times come from the stations service's clock, the real one.
	p.Interrupted = job.Interrupted(time.Now())
	p.Running = job.Status == stations.ImportRunning && !p.Interrupted
	if p.Running {
		// The page's <meta http-equiv="refresh"> sits in the body (the layout
		// owns the head); the header makes every browser honour it.
		c.Header("Refresh", "2")
	}
	return s.render(c, http.StatusOK, "operator_import", &p)
}
