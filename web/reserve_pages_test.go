package web

import (
	"context"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"fuju/accounts"
	"fuju/internal/l10n"
	"fuju/internal/tenancy"
	"fuju/internal/testenv"
	"fuju/rentals"
	"fuju/stations"
)

// The reserve form as a browser posts it: bad input is a 400 naming the
// field and holds nothing; a family reserves; another operator's staff
// cannot open the reservation; a second family finds none free (409 with
// the waitlist offered).
func TestReserveFormsBadInputAndTenancy(t *testing.T) {
	s := newTestServer(t)
	var logs testenv.Buffer
	s.logger = slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelError}))
	defer func() {
		if t.Failed() {
			t.Logf("server errors:\n%.4000s", logs.String())
		}
	}()
	s.rentals.SetClock(func() time.Time { return s.now() })
	ctx := context.Background()
	_, r := linkedFamily(t, s, "13700000401", "13900000401", rentals.LowIncome)
	linkedFamily(t, s, "13700000402", "13900000402", rentals.Standard)
	fam := newClient(t, s)
	if rec := fam.post("/login", url.Values{"login": {"13700000401"}, "password": {pw}}, "/login"); rec.Code != http.StatusSeeOther {
		t.Fatalf("login: %d", rec.Code)
	}
	page := "/products/wc/reserve?station=north"
	form := func(slot string) url.Values {
		return url.Values{"renter_id": {r.ID}, "station_id": {"north"}, "days": {"30"}, "mode": {"pickup"}, "slot": {slot}}
	}
	before := stored(t, s, "sessions", "throttle")
	for name, tc := range map[string]struct {
		vals  url.Values
		field string
	}{
		"no slot":              {form(""), `id="f-slot"`},
		"not a time":           {form("tomorrow"), "field.slot"},
		"a Sunday (closed)":    {form("2026-11-29T02:00:00Z"), "slot"},
		"at night":             {form("2026-11-27T14:00:00Z"), "slot"},
		"in the past":          {form("2026-11-25T02:00:00Z"), "slot"},
		"not on the half hour": {form("2026-11-27T02:10:00Z"), "slot"},
	} {
		rec := fam.post("/products/wc/reserve", tc.vals, page)
		if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "alert") {
			t.Errorf("%s: %d %.300s", name, rec.Code, rec.Body)
		}
	}
	delivery := url.Values{"renter_id": {r.ID}, "station_id": {"north"}, "days": {"30"}, "mode": {"delivery"},
		"when": {"2026-11-27|am"}, "district": {"shanyang"}, "address": {"焦东路 1 号"}, "phone": {"13900000401"}}
	if rec := fam.post("/products/wc/reserve", delivery, page); rec.Code != http.StatusBadRequest {
		t.Errorf("delivery where none is offered: %d", rec.Code)
	}
	if got := stored(t, s, "sessions", "throttle"); got != before {
		t.Error("a refused reservation wrote something")
	}
	if rec := fam.get("/products/nothing/reserve"); rec.Code != http.StatusNotFound {
		t.Errorf("unknown product: %d", rec.Code)
	}
	if rec := get(t, s, page); rec.Code != http.StatusSeeOther || !strings.HasPrefix(rec.Header().Get("Location"), "/login") {
		t.Errorf("a visitor is sent to log in: %d %s", rec.Code, rec.Header().Get("Location"))
	}

	rec := fam.post("/products/wc/reserve", form("2026-11-27T02:00:00Z"), page)
	if rec.Code != http.StatusSeeOther || !strings.HasPrefix(rec.Header().Get("Location"), "/account/reservations/") {
		t.Fatalf("reserve: %d %.400s", rec.Code, rec.Body)
	}
	id := strings.TrimPrefix(rec.Header().Get("Location"), "/account/reservations/")
	if u, _ := s.stations.Unit(ctx, "JZ-WC-0001"); u.State != stations.Reserved {
		t.Fatalf("the wheelchair is %s", u.State)
	}

	// Operator B's staff: the reservation does not exist for them.
	if _, err := s.stations.CreateOperator(ctx, stations.Operator{ID: "op-b", Name: l10n.Text{Zh: "乙", En: "B"}}, tenancy.System); err != nil {
		t.Fatal(err)
	}
	if _, err := s.stations.CreateStation(ctx, stations.Station{ID: "east", OperatorID: "op-b", Name: l10n.Text{Zh: "东站", En: "East"},
		Address: l10n.Text{Zh: "路", En: "Road"}, District: "shanyang", Hours: stations.StandardHours(), Active: true, Lat: 35.2, Lng: 113.3}); err != nil {
		t.Fatal(err)
	}
	staffB, _ := loginAs(t, s, accounts.NewUser{Name: "乙员工", Phone: "13600000405", Role: accounts.Staff, OperatorID: "op-b", StationIDs: []string{"east"}})
	if rec := staffB.get("/staff/reservations/" + id); rec.Code != http.StatusNotFound {
		t.Errorf("operator B's staff open A's reservation: %d", rec.Code)
	}
	if rec := staffB.post("/staff/reservations/"+id+"/cancel", url.Values{"reason": {"x"}}, "/staff/pickups"); rec.Code != http.StatusNotFound {
		t.Errorf("operator B's staff cancel A's reservation: %d", rec.Code)
	}
	staffA := staffAt(t, s, "13600000406", "north")
	if rec := staffA.get("/staff/pickups/find?code=NOSUCHCODE"); rec.Code != http.StatusNotFound || !strings.Contains(rec.Body.String(), "NOSUCHCODE") {
		t.Errorf("an unknown code: %d", rec.Code)
	}
	if rec := staffA.get("/staff/pickups/find?code=JZ-WC-0001"); rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/staff/reservations/"+id {
		t.Errorf("the reserved unit's tag finds its reservation: %d %s", rec.Code, rec.Header().Get("Location"))
	}

	// The other family: none left at north.
	other := newClient(t, s)
	other.post("/login", url.Values{"login": {"13700000402"}, "password": {pw}}, "/login")
	body := other.get(page).Body.String()
	if !strings.Contains(body, `id="waitlist"`) {
		t.Errorf("no waitlist offered when none is free")
	}
	rid := ""
	if m := strings.Split(body, `name="renter_id" value="`); len(m) > 1 {
		rid = m[1][:strings.Index(m[1], `"`)]
	}
	rec = other.post("/products/wc/reserve", url.Values{"renter_id": {rid}, "station_id": {"north"}, "days": {"30"}, "mode": {"pickup"},
		"slot": {"2026-11-27T02:30:00Z"}}, page)
	if rec.Code != http.StatusConflict || !strings.Contains(rec.Body.String(), `id="waitlist"`) {
		t.Errorf("none free: %d %.300s", rec.Code, rec.Body)
	}
}
