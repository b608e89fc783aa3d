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
	"fuju/rentals"
)

// BenchmarkStatement computes a month's draft (every subsidised checkout of
// the month, their renters and stations) and a frozen statement's read, on
// the embedded engine with its _id indexes, as the service runs it:
// go test ./reports -run '^$' -bench Statement -benchtime 10x.
func BenchmarkStatement(b *testing.B) {
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
			tier := rentals.Subsistence
			if i%2 == 1 {
				tier = rentals.LowIncome
			}
			c.checkout(c.a1, c.renter(c.a1, fmt.Sprintf("张%d", i), tier), 30)
		}
		c.clk.set(nov5)
		b.Run(fmt.Sprintf("draft/%d", n), func(b *testing.B) {
			for b.Loop() {
				st, err := c.svc.Statement(ctx, c.adminA, "op-a", "2026-10")
				if err != nil || len(st.Content.Lines) != n {
					b.Fatal(err, len(st.Content.Lines))
				}
			}
		})
		if _, err := c.svc.Submit(ctx, c.adminA, "op-a", "2026-10", c.clerk); err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("frozen/%d", n), func(b *testing.B) {
			for b.Loop() {
				if _, err := c.svc.Statement(ctx, c.adminA, "op-a", "2026-10"); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("pdf/%d", n), func(b *testing.B) {
			st, _ := c.svc.Statement(ctx, c.adminA, "op-a", "2026-10")
			for b.Loop() {
				if _, err := PDF(st, "zh"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
