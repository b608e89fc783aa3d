package reports

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"fuju/internal/db"
	"fuju/internal/l10n"
	"fuju/internal/tenancy"
	"fuju/rentals"
)

// BenchmarkDashboard computes each dashboard of operator A over the last
// twelve months (n leases in October: three quarters A's, the rest B's)
// and the city's money, on the embedded engine with its _id indexes:
// go test ./reports -run '^$' -bench Dashboard -benchtime 10x.
// A dashboard reads the operator's unit events (fleet, care) or its ledger
// entries (money) once, so its time grows with the operator's history.
func BenchmarkDashboard(b *testing.B) {
	ctx := context.Background()
	for _, n := range []int{50, 200} {
		d, err := db.Open(ctx, db.Config{DataDir: b.TempDir(), Name: "bench", Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		if err != nil {
			b.Fatal(err)
		}
		defer d.Close(ctx)
		c := newCityOn(b, d.Database)
		if err := d.Tune(ctx); err != nil {
			b.Fatal(err)
		}
		for i := range n {
			c.clk.set(time.Date(2026, 10, 5+i%20, 10, 0, 0, 0, l10n.Local))
			st, tier := c.a1, rentals.Subsistence
			switch i % 4 {
			case 1:
				tier = rentals.LowIncome
			case 2:
				st, tier = c.a2, rentals.Standard
			case 3:
				st, tier = c.b1, rentals.Standard
			}
			c.checkout(st, c.renter(st, fmt.Sprintf("张%d", i), tier), 30)
		}
		c.clk.set(nov5)
		rng := Range{Name: RangeLast12Months, From: "2025-12-01", To: "2026-11-05"}
		for _, name := range DashboardNames {
			b.Run(fmt.Sprintf("%s/%d", name, n), func(b *testing.B) {
				for b.Loop() {
					if _, err := c.svc.Dashboard(ctx, c.adminA, "op-a", name, rng); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
		b.Run(fmt.Sprintf("city-money/%d", n), func(b *testing.B) {
			for b.Loop() {
				if _, err := c.svc.Dashboard(ctx, tenancy.PlatformScope, "", DashMoney, rng); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
