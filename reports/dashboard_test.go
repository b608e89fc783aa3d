package reports

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"fuju/internal/l10n"
	"fuju/internal/tenancy"
	"fuju/internal/valid"
	"fuju/rentals"
	"fuju/stations"
)

// plainNamer names things by their keys, for tests.
type plainNamer struct{}

func (plainNamer) Word(key string) string { return key }
func (plainNamer) Name(kind string, r Row) string {
	if r.Name != "" {
		return r.Name
	}
	return r.Key
}

// table finds a dashboard's table by id.
func table(t *testing.T, d Dashboard, id string) Table {
	t.Helper()
	for _, tb := range d.Tables {
		if tb.ID == id {
			return tb
		}
	}
	t.Fatalf("no table %s in %s", id, d.Name)
	return Table{}
}

func value(tb Table, row, col string) int64 {
	for _, r := range tb.Rows {
		if r.Key == row {
			for i, c := range tb.Columns {
				if c.Key == col {
					return r.Values[i]
				}
			}
		}
	}
	return 0
}

// dashCity lends in October 2026: a low-income renter at a1 (30 days,
// subsidised), a standard renter at a2 (30 days, deposit) who brings the
// unit back on the 15th damaged (¥50), and a standard renter of operator
// B. The returned unit goes to repair, then cleaning, then available on
// the 17th.
func dashCity(t *testing.T) (*city, rentals.Lease) {
	c := newCity(t)
	ctx := context.Background()
	c.clk.set(time.Date(2026, 10, 1, 9, 0, 0, 0, l10n.Local))
	low := c.renter(c.a1, "李秀英", rentals.LowIncome)
	std := c.renter(c.a2, "王建国", rentals.Standard)
	other := c.renter(c.b1, "赵敏", rentals.Standard)
	c.checkout(c.a1, low, 30)
	back := c.checkout(c.a2, std, 30)
	c.checkout(c.b1, other, 30)
	c.clk.set(time.Date(2026, 10, 15, 9, 0, 0, 0, l10n.Local))
	if _, err := c.rent.Checkin(ctx, c.adminA, rentals.CheckinRequest{UnitTag: back.UnitTag, StationID: c.a2.ID,
		Outcome: rentals.OutcomeDamaged, DamageFen: 5000, Notes: "armrest", RefundMethod: rentals.PayCash}, c.clerk); err != nil {
		t.Fatal(err)
	}
	c.clk.set(time.Date(2026, 10, 16, 9, 0, 0, 0, l10n.Local))
	if _, err := c.st.Repaired(ctx, c.adminA, back.UnitTag, "new armrest", 2000, c.clerk); err != nil {
		t.Fatal(err)
	}
	c.clk.set(time.Date(2026, 10, 17, 9, 0, 0, 0, l10n.Local))
	if _, err := c.st.Clean(ctx, c.adminA, back.UnitTag, stations.CleaningRecord{Method: stations.CleaningMethods[0],
		Checklist: c.st.CleaningChecklist("wc-a")}, c.clerk); err != nil {
		t.Fatal(err)
	}
	c.clk.set(time.Date(2026, 10, 20, 12, 0, 0, 0, l10n.Local))
	return c, back
}

// rawLedger reads every ledger entry as stored, without rentals.
type rawEntry struct {
	E struct {
		Kind       string `bson:"kind"`
		AmountFen  int64  `bson:"amount_fen"`
		OperatorID string `bson:"operator_id"`
		StationID  string `bson:"station_id"`
		Tier       string `bson:"tier"`
		Day        string `bson:"day"`
	} `bson:"e"`
}

func rawLedger(t *testing.T, c *city) []rawEntry {
	t.Helper()
	cur, err := c.db.Collection("ledger_events").Find(context.Background(), bson.D{})
	if err != nil {
		t.Fatal(err)
	}
	var out []rawEntry
	if err := cur.All(context.Background(), &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestDashboardMoneyEqualsLedgers recomputes every money figure of
// operator A's October from the raw ledger documents.
func TestDashboardMoneyEqualsLedgers(t *testing.T) {
	c, _ := dashCity(t)
	ctx := context.Background()
	rng, err := ParseRange(c.clk.now(), RangeThisMonth, "", "")
	if err != nil {
		t.Fatal(err)
	}
	d, err := c.svc.Dashboard(ctx, c.adminA, "op-a", DashMoney, rng)
	if err != nil {
		t.Fatal(err)
	}
	type sums struct{ rent, subsidy, deposit, late, damage int64 }
	byTier := map[string]*sums{}
	perStation := map[string]*sums{}
	district := map[string]int64{"st-a1": 0}
	for _, doc := range rawLedger(t, c) {
		e := doc.E
		if e.OperatorID != "op-a" || !strings.HasPrefix(e.Day, "2026-10") {
			continue
		}
		tier, st, amt := e.Tier, e.StationID, e.AmountFen
		if byTier[tier] == nil {
			byTier[tier] = &sums{}
		}
		if perStation[st] == nil {
			perStation[st] = &sums{}
		}
		switch e.Kind {
		case "rent", "extension":
			byTier[tier].rent += amt
		case "subsidy":
			byTier[tier].subsidy += amt
			district[st] += amt
		case "deposit":
			perStation[st].deposit += amt
		case "deposit_return":
			perStation[st].deposit -= amt
		case "damage":
			perStation[st].damage += amt
		case "late_fee":
			perStation[st].late += amt
		}
	}
	rent := table(t, d, "rent_by_tier")
	if len(rent.Rows) != len(byTier) {
		t.Errorf("tiers %v, want %d", rent.Rows, len(byTier))
	}
	for tier, s := range byTier {
		if got := value(rent, tier, "standard_fen"); got != s.rent {
			t.Errorf("%s rent %d, ledgers say %d", tier, got, s.rent)
		}
		if got := value(rent, tier, "subsidy_fen"); got != s.subsidy {
			t.Errorf("%s subsidy %d, ledgers say %d", tier, got, s.subsidy)
		}
		if got := value(rent, tier, "renter_fen"); got != s.rent-s.subsidy {
			t.Errorf("%s renters' part %d, want %d", tier, got, s.rent-s.subsidy)
		}
	}
	if value(rent, "low_income", "subsidy_fen") != 7200 {
		t.Errorf("low income subsidy %d, want 7200 (¥90 less the renter's ¥18)", value(rent, "low_income", "subsidy_fen"))
	}
	if got := value(table(t, d, "subsidy_by_district"), "jiefang", "subsidy_fen"); got != district["st-a1"] || got == 0 {
		t.Errorf("jiefang subsidy %d, ledgers say %d", got, district["st-a1"])
	}
	deps, charges := table(t, d, "deposits_station"), table(t, d, "charges_station")
	for st, s := range perStation {
		if got := value(deps, st, "held_fen"); got != s.deposit {
			t.Errorf("%s deposits held %d, ledgers say %d", st, got, s.deposit)
		}
		if got := value(charges, st, "damage_fen"); got != s.damage {
			t.Errorf("%s damage %d, ledgers say %d", st, got, s.damage)
		}
		if got := value(charges, st, "late_fen"); got != s.late {
			t.Errorf("%s late %d, ledgers say %d", st, got, s.late)
		}
	}
	if value(deps, "st-a2", "held_fen") != 0 || value(charges, "st-a2", "damage_fen") != 5000 {
		t.Errorf("a2: the returned lease's deposit went back and ¥50 damage was charged: %+v %+v", deps.Rows, charges.Rows)
	}
	for _, tb := range d.Tables {
		for _, r := range tb.Rows {
			if r.Key == "st-b1" || r.Key == "op-b" {
				t.Errorf("operator A's dashboard shows B's %s in %s", r.Key, tb.ID)
			}
		}
	}
}

// TestDashboardFleetEqualsUnitLogs checks utilisation, units by state,
// turnaround and repairs against the raw unit events. Unit events carry the
// stations service's own (real) time, so the reports clock is set ten hours
// past them and the range covers the day before and this one.
func TestDashboardFleetEqualsUnitLogs(t *testing.T) {
	c, back := dashCity(t)
	ctx := context.Background()
	now := time.Now().Add(10 * time.Hour)
	c.clk.set(now)
	rng := Range{Name: RangeCustom, From: rentals.Date(now.AddDate(0, 0, -1)), To: rentals.Date(now)}
	d, err := c.svc.Dashboard(ctx, c.adminA, "op-a", DashFleet, rng)
	if err != nil {
		t.Fatal(err)
	}
	cur, err := c.db.Collection("unit_events").Find(ctx, bson.D{{Key: "e.operator_id", Value: "op-a"}})
	if err != nil {
		t.Fatal(err)
	}
	type rec struct {
		Entity string    `bson:"entity"`
		Seq    int64     `bson:"seq"`
		At     time.Time `bson:"at"`
		E      struct {
			To        string `bson:"to"`
			StationID string `bson:"station_id"`
		} `bson:"e"`
	}
	var recs []rec
	if err := cur.All(ctx, &recs); err != nil {
		t.Fatal(err)
	}
	byUnit := map[string]map[int64]rec{}
	for _, r := range recs {
		if byUnit[r.Entity] == nil {
			byUnit[r.Entity] = map[int64]rec{}
		}
		byUnit[r.Entity][r.Seq] = r
	}
	rented, own := map[string]float64{}, map[string]float64{}
	for _, evs := range byUnit {
		for seq := int64(1); seq <= int64(len(evs)); seq++ {
			e := evs[seq]
			stop := now
			if next, ok := evs[seq+1]; ok {
				stop = next.At
			}
			h := stop.Sub(e.At).Hours() / 24
			if e.E.To != "lost" && e.E.To != "retired" {
				own[e.E.StationID] += h
			}
			if e.E.To == "rented" {
				rented[e.E.StationID] += h
			}
		}
	}
	near := func(a, b int64) bool { return a-b <= 1 && b-a <= 1 } // whole seconds against float hours
	util := table(t, d, "utilisation_station")
	if len(own) != 2 || len(util.Rows) != 2 {
		t.Fatalf("stations owning units: raw %v, dashboard %+v", own, util.Rows)
	}
	for st := range own {
		if got, want := value(util, st, "utilisation"), int64(rented[st]/own[st]*1000+0.5); !near(got, want) {
			t.Errorf("%s utilisation %d‰, raw events say %d‰", st, got, want)
		}
		if got, want := value(util, st, "owned_days"), int64(own[st]*10+0.5); !near(got, want) {
			t.Errorf("%s owned %d tenths of days, raw events say %d", st, got, want)
		}
	}
	if value(util, "st-a1", "utilisation") != 1000 || value(util, "st-a2", "utilisation") > 1 {
		t.Errorf("a1's unit is out, a2's came back at once: %+v", util.Rows)
	}
	states := table(t, d, "units_by_state_station")
	if value(states, "st-a1", "state_rented") != 1 || value(states, "st-a2", "state_available") != 1 || len(states.Rows) != 2 {
		t.Errorf("units by state %+v", states.Rows)
	}
	if turn := table(t, d, "turnaround_product"); value(turn, "wc-a", "returns") != 1 {
		t.Errorf("turnaround %+v, want one return", turn.Rows)
	}
	care, err := c.svc.Dashboard(ctx, c.adminA, "op-a", DashCare, rng)
	if err != nil {
		t.Fatal(err)
	}
	if got := value(table(t, care, "repairs_by_product"), "wc-a", "repairs"); got != 1 {
		t.Errorf("repairs of wc-a %d, want 1 (unit %s)", got, back.UnitTag)
	}
	// Before any unit existed the fleet is empty.
	early := Range{Name: RangeCustom, From: "2020-01-01", To: "2020-01-31"}
	ds, err := c.svc.Dashboard(ctx, c.adminA, "op-a", DashFleet, early)
	if err != nil {
		t.Fatal(err)
	}
	if rows := table(t, ds, "units_by_state_station").Rows; len(rows) != 0 {
		t.Errorf("January 2020 shows units: %+v", rows)
	}
}

// TestFleetFiguresOnHandBuiltHistory: a unit owned all of a 10-day range,
// rented for 5 of them, returned and available again 2 days later; a
// second unit lost on day 8. Utilisation, owned days, turnaround and the
// lost count follow by hand.
func TestFleetFiguresOnHandBuiltHistory(t *testing.T) {
	day := func(d int, h int) time.Time { return time.Date(2026, 3, d, h, 0, 0, 0, l10n.Local) }
	ev := func(seq int64, at time.Time, from, to stations.State) stations.HistoryEntry {
		return stations.HistoryEntry{Seq: seq, At: at, UnitEvent: stations.UnitEvent{From: from, To: to, ProductID: "wc", OperatorID: "op", StationID: "s1"}}
	}
	trails := []stations.UnitTrail{
		{Tag: "U1", Events: []stations.HistoryEntry{ev(1, day(1, 0).AddDate(0, -1, 0), "", stations.Available),
			ev(2, day(2, 0), stations.Available, stations.Rented), ev(3, day(7, 0), stations.Rented, stations.Returned),
			ev(4, day(7, 0), stations.Returned, stations.Cleaning), ev(5, day(9, 0), stations.Cleaning, stations.Available)}},
		{Tag: "U2", Events: []stations.HistoryEntry{ev(1, day(1, 0), "", stations.Available), ev(2, day(8, 0), stations.Available, stations.InTransit),
			ev(3, day(9, 0), stations.InTransit, stations.Lost)}},
	}
	days := rollDays(trails, nil, daysFrom("2026-03-01", "2026-03-10"), day(20, 0))
	in := dashInput{rng: Range{RangeCustom, "2026-03-01", "2026-03-10"}, places: map[string]stations.Station{}, days: days, ends: days[len(days)-1:]}
	tabs := fleetTables(in)
	var util, turn, states Table
	for _, tb := range tabs {
		switch tb.ID {
		case "utilisation_station":
			util = tb
		case "turnaround_station":
			turn = tb
		case "units_by_state_station":
			states = tb
		}
	}
	// Owned: U1 10 days, U2 8 days (lost on the 9th) = 18; rented 5.
	if got := util.Rows[0].Values; got[0] != 50 || got[1] != 180 || got[2] != 278 {
		t.Errorf("utilisation %v, want 5.0 rented of 18.0 owned days = 27.8 %%", got)
	}
	if got := turn.Rows[0].Values; got[0] != 1 || got[1] != 20 {
		t.Errorf("turnaround %v, want one return, 2.0 days", got)
	}
	if value(states, "s1", "state_available") != 1 || value(states, "s1", "state_lost") != 1 {
		t.Errorf("states %+v", states.Rows)
	}
	care := careTables(in)
	if value(care[1], "wc", "lost_units") != 1 {
		t.Errorf("lost %+v", care[1].Rows)
	}
}

// TestDashboardTenancy: an operator sees only its own; the city only the
// platform; the city groups by operator and district.
func TestDashboardTenancy(t *testing.T) {
	c, _ := dashCity(t)
	ctx := context.Background()
	rng, _ := ParseRange(c.clk.now(), "", "", "")
	if _, err := c.svc.Dashboard(ctx, c.adminB, "op-a", DashMoney, rng); !errors.Is(err, ErrNotFound) {
		t.Errorf("B reading A's dashboard: %v, want not found", err)
	}
	if _, err := c.svc.Dashboard(ctx, c.adminB, "", DashMoney, rng); !errors.Is(err, ErrForbidden) {
		t.Errorf("B reading the city's dashboard: %v, want forbidden", err)
	}
	if _, err := c.svc.Dashboard(ctx, c.adminA, "op-a", "secrets", rng); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown dashboard: %v", err)
	}
	b, err := c.svc.Dashboard(ctx, c.adminB, "op-b", DashFleet, rng)
	if err != nil {
		t.Fatal(err)
	}
	for _, tb := range b.Tables {
		for _, r := range tb.Rows {
			if strings.HasPrefix(r.Key, "st-a") || r.Key == "wc-a" {
				t.Errorf("B's dashboard shows A's %s in %s", r.Key, tb.ID)
			}
		}
	}
	city, err := c.svc.Dashboard(ctx, tenancy.PlatformScope, "", DashMoney, rng)
	if err != nil {
		t.Fatal(err)
	}
	ops := table(t, city, "subsidy_by_operator")
	if value(ops, "op-a", "subsidy_fen") != 7200 || value(ops, "op-b", "subsidy_fen") != 0 {
		t.Errorf("city subsidy by operator %+v", ops.Rows)
	}
	if tb := table(t, city, "deposits_operator"); value(tb, "op-b", "held_fen") != 30000 {
		t.Errorf("city deposits held by operator %+v", tb.Rows)
	}
}

func TestParseRange(t *testing.T) {
	now := time.Date(2026, 10, 20, 12, 0, 0, 0, l10n.Local)
	for _, tc := range []struct {
		name, from, to string
		want           Range
		field          string
	}{
		{"", "", "", Range{RangeThisMonth, "2026-10-01", "2026-10-20"}, ""},
		{"last_month", "", "", Range{RangeLastMonth, "2026-09-01", "2026-09-30"}, ""},
		{"last_12_months", "", "", Range{RangeLast12Months, "2025-11-01", "2026-10-20"}, ""},
		{"", "2026-01-01", "2026-03-31", Range{RangeCustom, "2026-01-01", "2026-03-31"}, ""},
		{"yesterday", "", "", Range{}, "range"},
		{"custom", "", "2026-03-31", Range{}, "from"},
		{"", "2026-13-01", "2026-03-31", Range{}, "from"},
		{"", "2026-03-01", "2026/03/31", Range{}, "to"},
		{"", "2026-03-31", "2026-03-01", Range{}, "to"},
		{"", "2020-01-01", "2026-03-01", Range{}, "to"},
	} {
		got, err := ParseRange(now, tc.name, tc.from, tc.to)
		if tc.field == "" {
			if err != nil || got != tc.want {
				t.Errorf("%q %q %q: %+v %v, want %+v", tc.name, tc.from, tc.to, got, err, tc.want)
			}
			continue
		}
		if f, ok := valid.Fields(err); !ok || f[tc.field].Code == "" {
			t.Errorf("%q %q %q: %v, want a problem with %s", tc.name, tc.from, tc.to, err, tc.field)
		}
	}
}

// TestDashboardCSVNeutralisesFormulas: a station named like a formula is
// written as text; the file starts with a byte order mark.
func TestDashboardCSVNeutralisesFormulas(t *testing.T) {
	d := Dashboard{Name: DashMoney, OperatorID: "op-a", Range: Range{RangeCustom, "2026-10-01", "2026-10-31"}, Tables: []Table{{
		ID: "charges_station", Title: "charges", RowKind: KindStation,
		Columns: []Column{{Key: "late_fen", Measure: Fen}, {Key: "utilisation", Measure: Permille}},
		Rows: []Row{{Key: "st-x", Name: "=HYPERLINK(\"http://x\")", Values: []int64{-150, 412}},
			{Key: "st-y", Name: "@SUM(A1)", Values: []int64{250, 5}}},
	}}}
	d.Tables[0].total()
	out := DashboardCSV(d, plainNamer{})
	if !bytes.HasPrefix(out, []byte("\ufeff")) {
		t.Error("no byte order mark")
	}
	s := string(out)
	for _, want := range []string{`"'=HYPERLINK(""http://x"")",-1.50,41.2`, "'@SUM(A1),2.50,0.5", "dash.total,1.00,\r\n"} {
		if !strings.Contains(strings.ReplaceAll(s, "\r\n", "\n"), strings.ReplaceAll(want, "\r\n", "\n")) {
			t.Errorf("CSV lacks %q:\n%s", want, s)
		}
	}
	if strings.Contains(s, "\n=") || strings.Contains(s, ",=") || strings.Contains(s, "\n@") {
		t.Errorf("a formula cell survived:\n%s", s)
	}
}
