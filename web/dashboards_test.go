package web

import (
	"net/http"
	"strings"
	"testing"

	"fuju/reports"
)

// TestDashboardPagesAndAPI: who may open the dashboards, the tables and
// charts a page shows, a bad range answered 400 naming its field, the CSV,
// and operator B never seeing A's figures.
func TestDashboardPagesAndAPI(t *testing.T) {
	w := newOpWorld(t)
	lastMonthLeases(t, w.s)
	const oct = "?range=custom&from=2026-10-01&to=2026-10-31"

	for _, c := range []opCaller{w.platform, w.staffB} {
		wantStatus(t, w.page(t, c, "/operator/reports"), http.StatusForbidden, c.name+" opens an operator's dashboard")
		wantStatus(t, w.call(t, c, http.MethodGet, "/api/v1/operator/reports/money", nil), http.StatusForbidden, c.name+" reads an operator's dashboard")
	}
	for _, c := range []opCaller{w.adminA, w.staffB} {
		wantStatus(t, w.page(t, c, "/admin/reports"), http.StatusForbidden, c.name+" opens the city's dashboard")
		wantStatus(t, w.call(t, c, http.MethodGet, "/api/v1/admin/reports/money", nil), http.StatusForbidden, c.name+" reads the city's dashboard")
	}

	pg := w.page(t, w.adminA, "/operator/reports"+oct)
	wantStatus(t, pg, http.StatusOK, "A's dashboard")
	body := pg.Body.String()
	for _, want := range []string{`<svg class="dash-chart" role="img"`, `<title id="chart-rent_by_tier-t">`, `<desc id="chart-rent_by_tier-d">`,
		`id="table-rent_by_tier"`, `id="fig-units_by_state_station"`, `id="table-overdue_by_age"`, "¥130", "山阳区", "特困 / 低保",
		"/api/v1/operator/reports/money/csv?from=2026-10-01&amp;lang=zh&amp;range=custom&amp;to=2026-10-31", `aria-current="page">报表`} {
		if !strings.Contains(body, want) {
			t.Errorf("A's dashboard lacks %q", want)
		}
	}

	bad := w.page(t, w.adminA, "/operator/reports?range=custom&from=2026-10-31&to=2026-10-01")
	wantStatus(t, bad, http.StatusBadRequest, "to before from")
	if !strings.Contains(bad.Body.String(), `id="e-to"`) || !strings.Contains(bad.Body.String(), "结束日期不能早于开始日期") {
		t.Errorf("the page does not say what is wrong with to")
	}
	wantField(t, w.call(t, w.adminA, http.MethodGet, "/api/v1/operator/reports/money?from=2026-13-01&to=2026-10-01", nil), http.StatusBadRequest, "from", "month 13")
	wantField(t, w.call(t, w.adminA, http.MethodGet, "/api/v1/operator/reports/money?range=fortnight", nil), http.StatusBadRequest, "range", "unknown range")
	wantStatus(t, w.call(t, w.adminA, http.MethodGet, "/api/v1/operator/reports/secrets"+oct, nil), http.StatusNotFound, "unknown dashboard")

	money := decode[reports.Dashboard](t, w.call(t, w.adminA, http.MethodGet, "/api/v1/operator/reports/money"+oct, nil))
	var subsidy int64
	for _, tb := range money.Tables {
		if tb.ID == "rent_by_tier" {
			subsidy = tb.Total[1]
		}
	}
	if money.OperatorID != "op-a" || subsidy != 13000 {
		t.Errorf("A's October money: operator %s, subsidy %d, want 13000", money.OperatorID, subsidy)
	}
	// B's dashboard has none of A's money or stations.
	b := w.call(t, w.adminB, http.MethodGet, "/api/v1/operator/reports/money"+oct, nil)
	wantStatus(t, b, http.StatusOK, "B's money")
	if s := b.Body.String(); strings.Contains(s, "op-a") || strings.Contains(s, `"north"`) || strings.Contains(s, "13000") {
		t.Errorf("B's dashboard shows A's figures: %.400s", s)
	}
	if s := w.page(t, w.adminB, "/operator/reports"+oct).Body.String(); strings.Contains(s, "山阳区") || strings.Contains(s, "¥130") {
		t.Error("B's dashboard page shows A's station or money")
	}

	csv := w.call(t, w.adminA, http.MethodGet, "/api/v1/operator/reports/money/csv"+oct+"&lang=en", nil)
	wantStatus(t, csv, http.StatusOK, "csv")
	if s := csv.Body.String(); !strings.HasPrefix(s, "\ufeffMoney,op-a") || !strings.Contains(s, "Subsistence") || !strings.Contains(s, "130.00") {
		t.Errorf("csv: %.500s", s)
	}

	city := w.page(t, w.platform, "/admin/reports"+oct)
	wantStatus(t, city, http.StatusOK, "the city's dashboard")
	for _, want := range []string{`id="table-subsidy_by_operator"`, `id="table-subsidy_by_district"`, `id="fig-units_by_state_district"`} {
		if !strings.Contains(city.Body.String(), want) {
			t.Errorf("the city's dashboard lacks %q", want)
		}
	}
	for _, want := range []string{`id="dash-demand"`, `id="fig-reservations_operator"`, `id="fig-waitlist_district"`, `id="fig-unmet_district"`, "未满足需求"} {
		if !strings.Contains(city.Body.String(), want) {
			t.Errorf("the city's demand dashboard lacks %q", want)
		}
	}
	demand := decode[reports.Dashboard](t, w.call(t, w.adminA, http.MethodGet, "/api/v1/operator/reports/demand"+oct, nil))
	var ids []string
	for _, tb := range demand.Tables {
		ids = append(ids, tb.ID)
	}
	if demand.Name != "demand" || strings.Join(ids, " ") != "reservations_station reservations_product waitlist_station waitlist_district waitlist_product unmet_district" {
		t.Errorf("A's demand dashboard: %s %v", demand.Name, ids)
	}
	dcsv := w.call(t, w.adminA, http.MethodGet, "/api/v1/operator/reports/demand/csv"+oct+"&lang=en", nil)
	wantStatus(t, dcsv, http.StatusOK, "demand csv")
	if s := dcsv.Body.String(); !strings.HasPrefix(s, "\ufeffDemand,op-a") {
		t.Errorf("demand csv: %.300s", s)
	}
	one := decode[reports.Dashboard](t, w.call(t, w.platform, http.MethodGet, "/api/v1/admin/reports/fleet?operator=op-b", nil))
	if one.OperatorID != "op-b" {
		t.Errorf("the platform's view of B: %+v", one.OperatorID)
	}
}
