package rentals

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestScheduledPolicy: a version can take effect at a later date. Leases
// made before keep theirs; quotes and check-outs from that day use it;
// versions come into force in order.
func TestScheduledPolicy(t *testing.T) {
	ctx := context.Background()
	d := newDesk(t, nil)
	d.pol.Now = d.clk.now
	low := d.renter(d.adminA, d.a1, "低收入")
	d.verify(low, LowIncome)

	// Low income pays 10% from Thursday 00:00 in the city.
	thursday := time.Date(2026, 3, 5, 0, 0, 0, 0, d.clk.t.Location())
	next := DefaultPolicy()
	next.Tiers[LowIncome] = TierRule{ShareBP: 1000, WaiveDeposit: true, LateFees: true}
	next.Note, next.EffectiveFrom = "low income 10% from Thursday", thursday
	v2, err := d.pol.Put(ctx, 1, next)
	if err != nil {
		t.Fatal(err)
	}
	if !v2.Scheduled(d.clk.now()) || d.pol.Current().Version != 1 || d.pol.Latest().Version != 2 {
		t.Fatalf("after scheduling: current %d latest %d", d.pol.Current().Version, d.pol.Latest().Version)
	}
	before := d.mustCheckout(d.a1, d.unit(d.a1, d.wcA), low, 10)
	if before.PolicyVersion != 1 || before.Quote.RenterFen != 1000 { // 20% of 10 days at ¥5
		t.Fatalf("lease before the date: version %d rent %d", before.PolicyVersion, before.Quote.RenterFen)
	}
	q, err := d.svc.QuoteFor(ctx, d.adminA, QuoteRequest{RenterID: low.ID, ProductID: d.wcA, Days: 10, Day: thursday})
	if err != nil || q.PolicyVersion != 2 || q.RenterFen != 500 {
		t.Fatalf("a quote for Thursday: %+v %v", q, err)
	}

	d.clk.mu.Lock()
	d.clk.t = thursday.Add(9 * time.Hour)
	d.clk.mu.Unlock()
	after := d.mustCheckout(d.a1, d.unit(d.a1, d.wcA), low, 10)
	if after.PolicyVersion != 2 || after.Quote.RenterFen != 500 {
		t.Fatalf("lease on the date: version %d rent %d", after.PolicyVersion, after.Quote.RenterFen)
	}
	if l, err := d.svc.Lease(ctx, d.adminA, before.ID); err != nil || l.PolicyVersion != 1 {
		t.Errorf("the earlier lease now has version %d (%v)", l.PolicyVersion, err)
	}

	// In order: nothing may take effect before the newest version.
	next.EffectiveFrom = thursday.AddDate(0, 0, 7)
	if _, err := d.pol.Put(ctx, 2, next); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		from time.Time
	}{
		{"at once while one is scheduled", time.Time{}},
		{"before the scheduled one", thursday.AddDate(0, 0, 3)},
		{"in the past", thursday.AddDate(0, 0, -1)},
	} {
		next.EffectiveFrom = tt.from
		if _, err := d.pol.Put(ctx, 3, next); !fieldErr(err, "effective_from") {
			t.Errorf("%s: %v", tt.name, err)
		}
	}
	next.EffectiveFrom = thursday.AddDate(0, 0, 8)
	if _, err := d.pol.Put(ctx, 2, next); !errors.Is(err, ErrConflict) {
		t.Errorf("from a stale version: %v", err)
	}
}
