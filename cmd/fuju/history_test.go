package main

import (
	"context"
	"testing"
	"time"

	"fuju/cmd/internal/app"
	"fuju/cmd/internal/demo"
	"fuju/internal/config"
	"fuju/internal/l10n"
	"fuju/internal/tenancy"
	"fuju/internal/testenv"
	"fuju/reports"
)

// The demo city starts with a year of history: every operator lent in
// (nearly) every one of the last twelve months, has subsidy lines in last
// month's statement and the one before, and its days are rolled up.
func TestDemoHistory(t *testing.T) {
	ctx := context.Background()
	cfg := config.Config{MongoURI: testenv.MongoURI(t), Database: testenv.DBName(t.Name()), DataDir: t.TempDir()}
	a, err := app.Open(ctx, cfg, discardLogger())
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = a.DB.Database.Drop(ctx)
		a.Close()
	}()
	// The collections exist once the services are open: index them as
	// `fuju serve` does its own engine's, or every lookup by _id of the
	// seed and the roll-up scans its collection.
	testenv.Tune(t, cfg.Database)
	t0 := time.Now()
	if err := demo.Seed(ctx, a, 1, true); err != nil {
		t.Fatal(err)
	}
	t.Logf("seeded in %s", time.Since(t0).Round(time.Millisecond))
	st, err := a.Reports.Roll(ctx)
	if err != nil || st.Operators != len(demo.Operators) || st.Stored < 300 {
		t.Fatalf("roll-up %+v %v, want a year of days for every operator", st, err)
	}
	now := time.Now().In(l10n.Local)
	first := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, l10n.Local)
	for _, o := range demo.Operators {
		scope := tenancy.OperatorScope(o.ID)
		for back := 1; back <= 2; back++ {
			month := first.AddDate(0, -back, 0).Format("2006-01")
			s, err := a.Reports.Statement(ctx, scope, o.ID, month)
			if err != nil {
				t.Fatal(err)
			}
			if len(s.Content.Lines) == 0 || s.Content.Total.SubsidyFen <= 0 {
				t.Errorf("%s statement %s has no subsidy lines", o.ID, month)
			}
		}
		lent := 0
		for back := 1; back <= 11; back++ {
			m := first.AddDate(0, -back, 0)
			rng := reports.Range{Name: reports.RangeCustom, From: m.Format(time.DateOnly), To: m.AddDate(0, 1, -1).Format(time.DateOnly)}
			d, err := a.Reports.Dashboard(ctx, scope, o.ID, reports.DashMoney, rng)
			if err != nil {
				t.Fatal(err)
			}
			for _, tb := range d.Tables {
				if tb.ID == "rent_by_tier" && tb.Total[2] > 0 {
					lent++
				}
			}
		}
		if lent < 10 {
			t.Errorf("%s charged rent in %d of the last 11 months, want nearly all", o.ID, lent)
		}
		fleet, err := a.Reports.Dashboard(ctx, scope, o.ID, reports.DashFleet, reports.Range{Name: reports.RangeCustom,
			From: first.AddDate(0, -11, 0).Format(time.DateOnly), To: first.AddDate(0, 0, -1).Format(time.DateOnly)})
		if err != nil {
			t.Fatal(err)
		}
		rented := int64(0)
		for _, tb := range fleet.Tables {
			if tb.ID == "utilisation_product" {
				for _, r := range tb.Rows {
					rented += r.Values[0]
				}
			}
		}
		if rented == 0 {
			t.Errorf("%s rented nothing in the past year", o.ID)
		}
		// Demand: reservations cancelled and not collected, offers, and
		// places left without one, in most months.
		demand, err := a.Reports.Dashboard(ctx, scope, o.ID, reports.DashDemand, reports.Range{Name: reports.RangeCustom,
			From: first.AddDate(0, -12, 0).Format(time.DateOnly), To: first.AddDate(0, 0, -1).Format(time.DateOnly)})
		if err != nil {
			t.Fatal(err)
		}
		total := map[string][]int64{}
		for _, tb := range demand.Tables {
			total[tb.ID] = tb.Total
		}
		if r := total["reservations_product"]; len(r) < 4 || r[3] < 10 || r[1] < 5 || r[2] < 5 {
			t.Errorf("%s reservations in the past year (lent, cancelled, no-shows, made): %v", o.ID, r)
		}
		if w := total["waitlist_product"]; len(w) < 5 || w[0] < 10 || w[1] < 5 || w[4] < 5 {
			t.Errorf("%s waitlist in the past year (joined, offered, lent, left, lapsed): %v", o.ID, w)
		}
		if u := total["unmet_district"]; len(u) < 1 || u[0] < 5 {
			t.Errorf("%s unmet demand in the past year: %v", o.ID, u)
		}
	}
}
