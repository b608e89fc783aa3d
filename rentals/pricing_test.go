package rentals

import (
	"context"
	"errors"
	"os"
	"testing"

	"fuju/catalog"
	"fuju/internal/testenv"
	"fuju/internal/valid"
)

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }

func TestQuote(t *testing.T) {
	// ¥5 a day, ¥90 for 30 days, ¥300 deposit.
	wheelchair := catalog.RatePlan{DailyFen: 500, Block30Fen: 9000, DepositFen: 30000}
	// An odd daily rate to exercise rounding: ¥3.33 a day, ¥77.77 a block.
	odd := catalog.RatePlan{DailyFen: 333, Block30Fen: 7777, DepositFen: 10001}
	pol := DefaultPolicy()
	pol.Version = 1
	tests := []struct {
		name             string
		rate             catalog.RatePlan
		days             int
		tier             Tier
		blocks, singles  int
		standard, renter int64
		subsidy, deposit int64
	}{
		{"1 day standard", wheelchair, 1, Standard, 0, 1, 500, 500, 0, 30000},
		{"17 days standard", wheelchair, 17, Standard, 0, 17, 8500, 8500, 0, 30000},
		// 18 days at ¥5 = ¥90 = one block; ties go to days.
		{"18 days tie", wheelchair, 18, Standard, 0, 18, 9000, 9000, 0, 30000},
		{"19 days is a block", wheelchair, 19, Standard, 1, 0, 9000, 9000, 0, 30000},
		{"29 days is a block", wheelchair, 29, Standard, 1, 0, 9000, 9000, 0, 30000},
		{"30 days", wheelchair, 30, Standard, 1, 0, 9000, 9000, 0, 30000},
		{"31 days", wheelchair, 31, Standard, 1, 1, 9500, 9500, 0, 30000},
		{"365 days", wheelchair, 365, Standard, 12, 5, 110500, 110500, 0, 30000},
		{"30 days low income", wheelchair, 30, LowIncome, 1, 0, 9000, 1800, 7200, 0},
		{"31 days low income", wheelchair, 31, LowIncome, 1, 1, 9500, 1900, 7600, 0},
		{"365 days subsistence", wheelchair, 365, Subsistence, 12, 5, 110500, 0, 110500, 0},
		{"1 day subsistence", wheelchair, 1, Subsistence, 0, 1, 500, 0, 500, 0},
		// 20% of 333 = 66.6 fen: the renter pays 66, the subsidy is 267.
		{"rounding low income 1 day", odd, 1, LowIncome, 0, 1, 333, 66, 267, 0},
		{"rounding low income 29 days", odd, 29, LowIncome, 1, 0, 7777, 1555, 6222, 0},
		{"rounding standard deposit", odd, 3, Standard, 0, 3, 999, 999, 0, 10001},
		{"days only plan", catalog.RatePlan{DailyFen: 200}, 45, Standard, 0, 45, 9000, 9000, 0, 0},
		{"blocks only plan", catalog.RatePlan{Block30Fen: 5000}, 31, Standard, 2, 0, 10000, 10000, 0, 0},
		// A block dearer than 30 days must not make a lease dearer.
		{"dear block", catalog.RatePlan{DailyFen: 100, Block30Fen: 5000}, 60, Standard, 0, 60, 6000, 6000, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q, err := NewQuote(tt.rate, tt.days, tt.tier, pol)
			if err != nil {
				t.Fatal(err)
			}
			if q.Blocks != tt.blocks || q.Singles != tt.singles {
				t.Errorf("combination %d blocks + %d days, want %d + %d", q.Blocks, q.Singles, tt.blocks, tt.singles)
			}
			if q.StandardFen != tt.standard || q.RenterFen != tt.renter || q.SubsidyFen != tt.subsidy || q.DepositFen != tt.deposit {
				t.Errorf("standard %d renter %d subsidy %d deposit %d; want %d %d %d %d",
					q.StandardFen, q.RenterFen, q.SubsidyFen, q.DepositFen, tt.standard, tt.renter, tt.subsidy, tt.deposit)
			}
			if q.RenterFen+q.SubsidyFen != q.StandardFen {
				t.Error("renter + subsidy != standard")
			}
			if q.DueNowFen != q.RenterFen+q.DepositFen || q.PolicyVersion != 1 {
				t.Errorf("due now %d, policy %d", q.DueNowFen, q.PolicyVersion)
			}
		})
	}
}

func TestQuoteRejects(t *testing.T) {
	r := catalog.RatePlan{DailyFen: 500}
	for _, tt := range []struct {
		days  int
		tier  Tier
		field string
	}{
		{0, Standard, "days"},
		{-3, Standard, "days"},
		{366, Standard, "days"},
		{100000, Standard, "days"},
		{7, "gold", "tier"},
		{7, "", "tier"},
	} {
		_, err := NewQuote(r, tt.days, tt.tier, DefaultPolicy())
		fields, ok := valid.Fields(err)
		if _, has := fields[tt.field]; !ok || !has {
			t.Errorf("days=%d tier=%q: %v, want a %s error", tt.days, tt.tier, err, tt.field)
		}
	}
}

// Cheapest is never beaten by any other combination of blocks and days.
func TestCheapestIsMinimal(t *testing.T) {
	plans := []catalog.RatePlan{{DailyFen: 500, Block30Fen: 9000}, {DailyFen: 333, Block30Fen: 7777}, {DailyFen: 100, Block30Fen: 5000}, {DailyFen: 1, Block30Fen: 1}}
	for _, r := range plans {
		for days := 1; days <= MaxDays; days++ {
			_, _, got := r.Cheapest(days)
			for b := 0; b*30 < days+30; b++ {
				cost := int64(b)*r.Block30Fen + int64(max(days-30*b, 0))*r.DailyFen
				if cost < got {
					t.Fatalf("%+v %d days: %d, but %d blocks cost %d", r, days, got, b, cost)
				}
			}
		}
	}
}

func TestPolicyVersions(t *testing.T) {
	ctx := context.Background()
	db := testenv.DB(t)
	ps := NewPolicies(db, nil)
	if err := ps.Init(ctx); err != nil {
		t.Fatal(err)
	}
	// A second instance starting at once does not store a second default.
	if err := NewPolicies(db, nil).Init(ctx); err != nil {
		t.Fatal(err)
	}
	cur := ps.Current()
	if cur.Version != 1 || cur.Tiers[LowIncome].ShareBP != 2000 {
		t.Fatalf("default policy %+v", cur)
	}
	next := cur
	next.Tiers = map[Tier]TierRule{Subsistence: {ShareBP: 0, WaiveDeposit: true}, LowIncome: {ShareBP: 1000, WaiveDeposit: true}, Standard: {ShareBP: 10000}}
	next.AnnualCapFen = 300000
	saved, err := ps.Put(ctx, 1, next)
	if err != nil || saved.Version != 2 {
		t.Fatalf("Put = %+v, %v", saved, err)
	}
	if _, err := ps.Put(ctx, 1, next); !errors.Is(err, ErrConflict) {
		t.Fatalf("stale Put: %v, want ErrConflict", err)
	}
	if _, err := ps.Put(ctx, 9, next); !errors.Is(err, ErrConflict) {
		t.Fatalf("future base: %v, want ErrConflict", err)
	}
	old, err := ps.Version(ctx, 1)
	if err != nil || old.Tiers[LowIncome].ShareBP != 2000 {
		t.Fatalf("version 1 = %+v, %v", old, err)
	}
	if ps.Current().Tiers[LowIncome].ShareBP != 1000 || ps.Current().Version != 2 {
		t.Fatalf("current %+v", ps.Current())
	}
	bad := next
	bad.Tiers = map[Tier]TierRule{Standard: {ShareBP: 12000}}
	_, err = ps.Put(ctx, 2, bad)
	fields, _ := valid.Fields(err)
	if _, ok := fields["tiers.standard.share_bp"]; !ok {
		t.Fatalf("bad policy: %v", err)
	}
	if _, ok := fields["tiers.low_income"]; !ok {
		t.Fatalf("missing tier not reported: %v", err)
	}
}
