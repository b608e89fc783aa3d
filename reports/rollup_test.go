package reports

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"fuju/internal/l10n"
	"fuju/internal/tenancy"
	"fuju/rentals"
	"fuju/stations"
)

// desk makes random desk operations on a city: check-outs of every tier at
// every station, extensions, returns (fine, dirty, damaged; on time or
// late, paid at once or settled days later), cleaning and repairs. Its
// random source is seeded by the test, which logs the seed.
type desk struct {
	c    *city
	r    *rand.Rand
	open []rentals.Lease
	// owing are returned leases whose charges were left unpaid.
	owing []rentals.Lease
	// dirty and broken are units back from a lease: to clean, to repair.
	dirty, broken []rentals.Lease
}

func newDesk(c *city, seed uint64) *desk {
	return &desk{c: c, r: rand.New(rand.NewPCG(seed, 13))}
}

// day works one city day: n operations between 08:00 and 18:00.
func (d *desk) day(day time.Time, n int) {
	for i := range n {
		d.c.clk.set(day.Add(8*time.Hour + time.Duration(i*600/n)*time.Minute))
		d.step()
	}
}

func (d *desk) step() {
	c, ctx := d.c, context.Background()
	switch k := d.r.IntN(10); {
	case k < 3 || len(d.open) == 0:
		st := []stations.Station{c.a1, c.a2, c.b1}[d.r.IntN(3)]
		tier := []rentals.Tier{rentals.Subsistence, rentals.LowIncome, rentals.Standard}[d.r.IntN(3)]
		r := c.renter(st, fmt.Sprintf("租户%d", c.phoneN), tier)
		d.open = append(d.open, c.checkout(st, r, 1+d.r.IntN(20)))
	case k < 5:
		i := d.r.IntN(len(d.open))
		l := d.open[i]
		if l.DueOn < rentals.Date(c.clk.now()) {
			return // overdue: it comes back, it is not extended
		}
		d.open[i] = c.extend(l, 1+d.r.IntN(10))
	case k < 8:
		i := d.r.IntN(len(d.open))
		l := d.open[i]
		d.open = append(d.open[:i], d.open[i+1:]...)
		scope := tenancy.OperatorScope(l.OperatorID)
		req := rentals.CheckinRequest{UnitTag: l.UnitTag, StationID: l.StationID, Outcome: rentals.OutcomeOK, RefundMethod: rentals.PayCash}
		switch d.r.IntN(4) {
		case 0:
			req.Outcome = rentals.OutcomeNeedsCleaning
		case 1:
			req.Outcome, req.DamageFen, req.Notes = rentals.OutcomeDamaged, int64(100*(1+d.r.IntN(80))), "wheel"
		}
		pre, err := c.rent.PreviewCheckin(ctx, scope, req)
		if err != nil {
			c.t.Fatal(err)
		}
		pay := d.r.IntN(3) > 0
		if pay && pre.OwedFen > 0 {
			req.Payments = cash(pre.OwedFen)
		}
		back, err := c.rent.Checkin(ctx, scope, req, c.clerk)
		if err != nil {
			c.t.Fatal(err)
		}
		if !pay && pre.OwedFen > 0 {
			d.owing = append(d.owing, back)
		}
		if req.Outcome == rentals.OutcomeDamaged {
			d.broken = append(d.broken, back)
		} else {
			d.dirty = append(d.dirty, back)
		}
	case k < 9 && len(d.owing) > 0:
		l := d.owing[0]
		d.owing = d.owing[1:]
		got, err := c.rent.Lease(ctx, tenancy.OperatorScope(l.OperatorID), l.ID)
		if err != nil {
			c.t.Fatal(err)
		}
		if _, err := c.rent.SettleLease(ctx, tenancy.OperatorScope(l.OperatorID), l.ID, cash(got.BalanceFen), c.clerk); err != nil {
			c.t.Fatal(err)
		}
	default:
		scope := func(l rentals.Lease) tenancy.Scope { return tenancy.OperatorScope(l.OperatorID) }
		if len(d.broken) > 0 {
			l := d.broken[0]
			d.broken = d.broken[1:]
			if _, err := c.st.Repaired(ctx, scope(l), l.UnitTag, "fixed", 800, c.clerk); err != nil {
				c.t.Fatal(err)
			}
			d.dirty = append(d.dirty, l)
		} else if len(d.dirty) > 0 {
			l := d.dirty[0]
			d.dirty = d.dirty[1:]
			if _, err := c.st.Clean(ctx, scope(l), l.UnitTag, stations.CleaningRecord{Method: stations.CleaningMethods[0],
				Checklist: c.st.CleaningChecklist(l.ProductID)}, c.clerk); err != nil {
				c.t.Fatal(err)
			}
		}
	}
}

// rollCity is a city whose units' events take the test clock too, with a
// seeded desk.
func rollCity(t *testing.T) (*city, *desk) {
	c := newCity(t)
	c.st.SetClock(func() time.Time { return c.clk.now().UTC() })
	seed := uint64(time.Now().UnixNano())
	if v := os.Getenv("FUJU_TEST_SEED"); v != "" {
		var err error
		if seed, err = strconv.ParseUint(v, 10, 64); err != nil {
			t.Fatalf("FUJU_TEST_SEED: %v", err)
		}
	}
	t.Logf("seed %d (FUJU_TEST_SEED=%[1]d repeats it)", seed)
	return c, newDesk(c, seed)
}

// liveService is the service computing every day from the sources, as if
// nothing were rolled up.
func liveService(s *Service) *Service {
	live := *s
	live.rolls, live.keptToday, live.keptMoves = nil, nil, nil
	return &live
}

// sameDashboards checks every dashboard of op-a, op-b and the city over
// ranges against the same computed from the raw sources.
func sameDashboards(t *testing.T, c *city, ranges []Range) {
	t.Helper()
	ctx := context.Background()
	live := liveService(c.svc)
	for _, rng := range ranges {
		for _, who := range []struct {
			scope tenancy.Scope
			op    string
		}{{c.adminA, "op-a"}, {c.adminB, "op-b"}, {tenancy.PlatformScope, ""}} {
			for _, name := range DashboardNames {
				got, err := c.svc.Dashboard(ctx, who.scope, who.op, name, rng)
				if err != nil {
					t.Fatal(err)
				}
				want, err := live.Dashboard(ctx, who.scope, who.op, name, rng)
				if err != nil {
					t.Fatal(err)
				}
				g, _ := json.Marshal(got.Tables)
				w, _ := json.Marshal(want.Tables)
				if string(g) != string(w) {
					t.Fatalf("%s %q %s–%s from the roll-up:\n%s\nfrom the logs:\n%s", name, who.op, rng.From, rng.To, g, w)
				}
			}
		}
	}
}

// storedDays reads operator op's stored roll-up days of month (yyyy-mm).
func storedDays(t *testing.T, c *city, op, month string) []rollDay {
	t.Helper()
	var out []rollDay
	for d := month + "-01"; d[:7] == month; d = nextDay(d) {
		rd, ok, err := c.svc.rolls.day(context.Background(), op, d)
		if err != nil || !ok {
			t.Fatalf("day %s of %s not rolled up: %v", d, op, err)
		}
		out = append(out, rd)
	}
	return out
}

// TestRollupMonthEqualsLedgersAndStatement: two months of random desk
// work; November's money figures recomputed from the raw ledger documents
// equal the stored roll-up's and the dashboard's, its subsidy equals the
// statement's, and every dashboard over several ranges reads the same from
// the roll-up as from the logs.
func TestRollupMonthEqualsLedgersAndStatement(t *testing.T) {
	c, d := rollCity(t)
	ctx := context.Background()
	for day := time.Date(2026, 10, 1, 0, 0, 0, 0, l10n.Local); day.Month() != 12; day = day.AddDate(0, 0, 1) {
		d.day(day, 4)
	}
	c.clk.set(time.Date(2026, 12, 2, 9, 0, 0, 0, l10n.Local))
	stats, err := c.svc.Roll(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Each operator's days from its first to 2026-12-01, and its whole
	// months.
	want := 0
	for _, op := range []string{"op-a", "op-b"} {
		h, err := c.svc.rolls.head(ctx, op)
		if err != nil || h.Through != "2026-12-01" || h.First < "2026-10-01" || h.First > "2026-10-10" {
			t.Fatalf("head %+v %v", h, err)
		}
		want += len(daysFrom(h.First, h.Through)) + 2 // and October's and November's sums
	}
	if stats.Operators != 2 || stats.Stored != want || stats.Fixed != 0 {
		t.Fatalf("roll %+v, want %d days stored", stats, want)
	}

	// November from the raw ledger documents.
	type sums struct{ rent, subsidy, depositIn, depositOut, late, damage, subsidyN int64 }
	raw := map[string]*sums{"op-a": {}, "op-b": {}}
	for _, e := range rawLedger(t, c) {
		if e.E.Day < "2026-11-01" || e.E.Day > "2026-11-30" {
			continue
		}
		s := raw[e.E.OperatorID]
		switch rentals.EntryKind(e.E.Kind) {
		case rentals.EntryRent, rentals.EntryExtension:
			s.rent += e.E.AmountFen
		case rentals.EntrySubsidy:
			s.subsidy += e.E.AmountFen
			s.subsidyN++
		case rentals.EntryDeposit:
			s.depositIn += e.E.AmountFen
		case rentals.EntryDepositReturn:
			s.depositOut += e.E.AmountFen
		case rentals.EntryLateFee:
			s.late += e.E.AmountFen
		case rentals.EntryDamage:
			s.damage += e.E.AmountFen
		}
	}
	if raw["op-a"].subsidy == 0 || raw["op-a"].rent == 0 || raw["op-a"].damage == 0 {
		t.Fatalf("the random month holds too little to compare: %+v", *raw["op-a"])
	}
	nov := Range{Name: RangeLastMonth, From: "2026-11-01", To: "2026-11-30"}
	for op, want := range raw {
		got := sums{}
		for _, rd := range storedDays(t, c, op, "2026-11") {
			for _, m := range rd.Money {
				got.rent += m.Rent
				got.subsidy += m.Subsidy
				got.subsidyN += m.SubsidyN
				got.depositIn += m.DepositIn
				got.depositOut += m.DepositOut
				got.late += m.Late
				got.damage += m.Damage
			}
		}
		if got != *want {
			t.Errorf("%s November roll-up %+v, raw ledgers %+v", op, got, *want)
		}
		money, err := c.svc.Dashboard(ctx, tenancy.OperatorScope(op), op, DashMoney, nov)
		if err != nil {
			t.Fatal(err)
		}
		tiers := table(t, money, "rent_by_tier")
		if tiers.Total[2] != want.rent || tiers.Total[1] != want.subsidy {
			t.Errorf("%s dashboard rent %d subsidy %d, raw %d %d", op, tiers.Total[2], tiers.Total[1], want.rent, want.subsidy)
		}
		charges := table(t, money, "charges_station")
		if charges.Total[0] != want.late || charges.Total[1] != want.damage {
			t.Errorf("%s dashboard late %d damage %d, raw %d %d", op, charges.Total[0], charges.Total[1], want.late, want.damage)
		}
		st, err := c.svc.Statement(ctx, tenancy.OperatorScope(op), op, "2026-11")
		if err != nil {
			t.Fatal(err)
		}
		if st.Content.Total.SubsidyFen != want.subsidy || int64(len(st.Content.Lines)) != want.subsidyN {
			t.Errorf("%s statement %d over %d lines, raw ledgers %d over %d entries", op, st.Content.Total.SubsidyFen,
				len(st.Content.Lines), want.subsidy, want.subsidyN)
		}
	}
	// Every figure, read from the roll-up (and today's live), equals the
	// same computed from the logs.
	now := c.clk.now()
	var ranges []Range
	for _, r := range []string{RangeThisMonth, RangeLastMonth, RangeLast12Months} {
		rng, err := ParseRange(now, r, "", "")
		if err != nil {
			t.Fatal(err)
		}
		ranges = append(ranges, rng)
	}
	ranges = append(ranges, Range{Name: RangeCustom, From: "2026-10-10", To: "2026-10-20"}, Range{Name: RangeCustom, From: "2026-11-30", To: "2027-01-31"})
	sameDashboards(t, c, ranges)
}

// TestRollupConvergesAfterCrash: a roll cut short (days stored, the head
// not moved, a day left with wrong figures) is finished and corrected by
// the next roll; a wrong day older than the recheck window is corrected by
// a rebuild; random desk work on following days keeps the roll-up equal to
// the logs.
func TestRollupConvergesAfterCrash(t *testing.T) {
	c, d := rollCity(t)
	ctx := context.Background()
	start := time.Date(2026, 10, 20, 0, 0, 0, 0, l10n.Local)
	for i := range 12 {
		d.day(start.AddDate(0, 0, i), 5)
	}
	c.clk.set(time.Date(2026, 11, 1, 9, 0, 0, 0, l10n.Local))
	if _, err := c.svc.Roll(ctx); err != nil {
		t.Fatal(err)
	}
	// The crash: the head of op-a lost (as if never written), one day
	// missing, one day with wrong figures. The head before it says where
	// op-a's history starts: its first desk move, which the random desk
	// may not have made on the first day.
	before, err := c.svc.rolls.head(ctx, "op-a")
	if err != nil || before.First < "2026-10-20" || before.First > "2026-10-31" || before.Through != "2026-10-31" {
		t.Fatalf("head before the crash %+v %v", before, err)
	}
	days := c.db.Collection("rollups")
	if _, err := c.db.Collection("rollup_heads").DeleteOne(ctx, bson.D{{Key: "_id", Value: "op-a"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := days.DeleteOne(ctx, bson.D{{Key: "_id", Value: rollID("op-a", "2026-10-25")}}); err != nil {
		t.Fatal(err)
	}
	corrupt := func(day string) {
		t.Helper()
		rd, ok, err := c.svc.rolls.day(ctx, "op-a", day)
		if err != nil || !ok {
			t.Fatal(day, ok, err)
		}
		rd.Money = append(rd.Money, moneyCell{Station: c.a1.ID, Tier: "standard", Rent: 99900, RentN: 1})
		rd.Units = append(rd.Units, unitCell{Station: c.a1.ID, Product: "wc-a", OwnedSec: daySeconds, RentedSec: daySeconds})
		if _, err := days.ReplaceOne(ctx, bson.D{{Key: "_id", Value: rd.ID}}, rd); err != nil {
			t.Fatal(err)
		}
	}
	corrupt("2026-10-28")
	last := Range{Name: RangeCustom, From: "2026-10-20", To: "2026-10-31"}
	stats, err := c.svc.Roll(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if stats.Fixed != 1 || stats.Stored != 1 {
		t.Fatalf("roll after the crash %+v, want the missing day stored and the wrong one fixed", stats)
	}
	sameDashboards(t, c, []Range{last})

	// A wrong day the daily roll no longer looks at: the rebuild finds it.
	corrupt("2026-10-21")
	if stats, err := c.svc.Roll(ctx); err != nil || stats.Fixed != 0 {
		t.Fatalf("roll with nothing new: %+v %v", stats, err)
	}
	stats, err = c.svc.RebuildRollup(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if stats.Fixed != 1 {
		t.Fatalf("rebuild %+v, want the one wrong day fixed", stats)
	}
	sameDashboards(t, c, []Range{last})

	// The desk goes on; each morning's roll keeps up.
	for i := range 5 {
		d.day(time.Date(2026, 11, 1+i, 0, 0, 0, 0, l10n.Local), 5)
		c.clk.set(time.Date(2026, 11, 2+i, 2, 0, 0, 0, l10n.Local))
		if _, err := c.svc.Roll(ctx); err != nil {
			t.Fatal(err)
		}
	}
	c.clk.set(time.Date(2026, 11, 6, 15, 0, 0, 0, l10n.Local))
	d.day(time.Date(2026, 11, 6, 0, 0, 0, 0, l10n.Local), 3)
	sameDashboards(t, c, []Range{{Name: RangeCustom, From: "2026-10-20", To: "2026-11-06"}, {Name: RangeThisMonth, From: "2026-11-01", To: "2026-11-06"}})
	h, err := c.svc.rolls.head(ctx, "op-a")
	if err != nil || h.Through != "2026-11-05" || h.First != before.First {
		t.Fatalf("head %+v %v, want %s to 2026-11-05", h, err, before.First)
	}
}

// TestSubmittedStatementNeverChanges is a property: whatever random desk
// work follows (check-outs of every tier, extensions, returns with late
// days and damage, settlements days later, releases of granted subsidy),
// a submitted statement's bytes, hash and CSV stay as they were submitted.
func TestSubmittedStatementNeverChanges(t *testing.T) {
	c, d := rollCity(t)
	ctx := context.Background()
	for day := time.Date(2026, 10, 1, 0, 0, 0, 0, l10n.Local); day.Month() == 10; day = day.AddDate(0, 0, 3) {
		d.day(day, 3)
	}
	c.clk.set(time.Date(2026, 11, 1, 9, 0, 0, 0, l10n.Local))
	sent, err := c.svc.Submit(ctx, c.adminA, "op-a", "2026-10", c.clerk)
	if err != nil {
		t.Fatal(err)
	}
	if len(sent.Content.Lines) == 0 {
		t.Fatal("the random October has no subsidy lines to freeze")
	}
	body, csv := sent.Content.Canonical(), CSV(sent, "en")
	released := map[string]bool{}
	for i := range 20 {
		day := time.Date(2026, 11, 1+i, 0, 0, 0, 0, l10n.Local)
		d.day(day, 3)
		// A correction now and then: a grant of an October lease undone.
		if d.r.IntN(4) == 0 {
			for _, l := range d.open {
				if l.OperatorID == "op-a" && len(l.Grants) > 0 && l.StartOn[:7] == "2026-10" && !released[l.ID] {
					c.release(l, 0)
					released[l.ID] = true
					break
				}
			}
		}
		got, err := c.svc.Statement(ctx, c.adminA, "op-a", "2026-10")
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != Submitted || got.Hash != sent.Hash || string(got.Content.Canonical()) != string(body) || string(CSV(got, "en")) != string(csv) {
			t.Fatalf("day %d: the submitted statement changed (hash %s, was %s)", i+1, got.Hash, sent.Hash)
		}
	}
	t.Logf("%d releases after submission", len(released))
}
