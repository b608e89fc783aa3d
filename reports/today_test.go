package reports

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"fuju/internal/eventlog"
	"fuju/internal/l10n"
	"fuju/internal/tenancy"
	"fuju/rentals"
	"fuju/stations"
)

// todayBothWays computes today's roll-up day for scope from the units'
// trail ends (what dashboards read when every earlier day is stored) and
// from the whole trails, requires every cell equal, and returns the day.
// It fails when the trail ends were not usable (the dashboards would fall
// back to the whole trails, so the test would compare nothing) or read as
// many events as the whole history.
func todayBothWays(t *testing.T, c *city, what string, scope tenancy.Scope, operators ...string) rollDay {
	t.Helper()
	ctx := context.Background()
	now := c.clk.now()
	today := rentals.Date(now)
	ends, ok, err := c.st.TrailEnds(ctx, scope, dayStart(today), dayStart(nextDay(today)))
	if err != nil || !ok {
		t.Fatalf("%s: trail ends not usable: %v", what, err)
	}
	fast, err := c.svc.todaySources(ctx, scope, today)
	if err != nil {
		t.Fatal(err)
	}
	full, err := c.svc.sources(ctx, scope, today)
	if err != nil {
		t.Fatal(err)
	}
	count := func(ts []stations.UnitTrail) int {
		n := 0
		for _, t := range ts {
			n += len(t.Events)
		}
		return n
	}
	if count(fast.trails) != count(ends) || count(fast.trails) >= count(full.trails) {
		t.Fatalf("%s: %d events in the trail ends (%d read), %d in the whole trails", what, count(fast.trails), count(ends), count(full.trails))
	}
	got := rollDays(fast.trails, fast.entries, []string{today}, now, operators...)
	addDemand(got, fast.demand, now)
	want := rollDays(full.trails, full.entries, []string{today}, now, operators...)
	addDemand(want, full.demand, now)
	g, _ := json.Marshal(got)
	w, _ := json.Marshal(want)
	if string(g) != string(w) {
		t.Fatalf("%s: today from the trail ends:\n%s\nfrom the whole trails:\n%s", what, g, w)
	}
	return got[0]
}

// TestTodayFromTrailEndsEqualsWholeTrails: with every day up to yesterday
// rolled up, today's figures computed from the units' trail ends equal
// those from the whole trails, for each operator and the city, before any
// change today and after each kind of move today: a unit returned
// yesterday cleaned and available (its turnaround began yesterday), a
// check-out with a deposit, a return with the deposit back, cleaning, a
// repair, a loss, a retirement, a transfer, and random desk work; the
// dashboards over this month and the last 12 months read the same as when
// computed from the logs.
func TestTodayFromTrailEndsEqualsWholeTrails(t *testing.T) {
	c, d := rollCity(t)
	ctx := context.Background()
	start := time.Date(2026, 10, 20, 0, 0, 0, 0, l10n.Local)
	// A lease long overdue by today, to be declared lost.
	c.clk.set(time.Date(2026, 9, 20, 10, 0, 0, 0, l10n.Local))
	c.phoneN++
	toLose := c.checkout(c.b1, c.renter(c.b1, "逾期户", rentals.Standard), 5)
	for i := range 11 {
		d.day(start.AddDate(0, 0, i), 5)
	}
	// Yesterday evening: leases back, one to clean and one to repair
	// tomorrow, and a lease out over midnight.
	yesterday := time.Date(2026, 10, 31, 0, 0, 0, 0, l10n.Local)
	c.clk.set(yesterday.Add(19 * time.Hour))
	std := func(st stations.Station) rentals.Lease {
		c.phoneN++
		return c.checkout(st, c.renter(st, "标准户", rentals.Standard), 5)
	}
	back := func(l rentals.Lease, outcome rentals.Outcome) {
		t.Helper()
		scope := tenancy.OperatorScope(l.OperatorID)
		req := rentals.CheckinRequest{UnitTag: l.UnitTag, StationID: l.StationID, Outcome: outcome, RefundMethod: rentals.PayCash}
		pre, err := c.rent.PreviewCheckin(ctx, scope, req)
		if err != nil {
			t.Fatal(err)
		}
		if pre.OwedFen > 0 {
			req.Payments = cash(pre.OwedFen)
		}
		if _, err := c.rent.Checkin(ctx, scope, req, c.clerk); err != nil {
			t.Fatal(err)
		}
	}
	clean := func(op, tag, product string) {
		t.Helper()
		if _, err := c.st.Clean(ctx, tenancy.OperatorScope(op), tag, stations.CleaningRecord{Method: stations.CleaningMethods[0],
			Checklist: c.st.CleaningChecklist(product)}, c.clerk); err != nil {
			t.Fatal(err)
		}
	}
	dirty, overnight, toRepair := std(c.a1), std(c.a2), std(c.a1)
	c.clk.set(yesterday.Add(20 * time.Hour))
	back(dirty, rentals.OutcomeNeedsCleaning)
	back(toRepair, rentals.OutcomeOK)

	c.clk.set(time.Date(2026, 11, 1, 2, 0, 0, 0, l10n.Local))
	if _, err := c.svc.Roll(ctx); err != nil {
		t.Fatal(err)
	}
	if h, err := c.svc.rolls.head(ctx, "op-a"); err != nil || h.Through != "2026-10-31" {
		t.Fatalf("head %+v %v, want yesterday rolled up", h, err)
	}
	// Each check a minute after the moves: a move at the very instant of
	// the check is not in today's figures yet.
	check := func(what string) rollDay {
		t.Helper()
		c.clk.set(c.clk.now().Add(time.Minute))
		todayBothWays(t, c, what, c.adminB, "op-b")
		todayBothWays(t, c, what, tenancy.PlatformScope, "op-a", "op-b")
		return todayBothWays(t, c, what, c.adminA, "op-a")
	}
	check("no change today")

	today := time.Date(2026, 11, 1, 0, 0, 0, 0, l10n.Local)
	c.clk.set(today.Add(8 * time.Hour))
	clean("op-a", dirty.UnitTag, dirty.ProductID)
	rd := check("cleaned after yesterday's return")
	since := int64(0)
	for _, u := range rd.Units {
		for _, s := range u.Turnaround {
			since = max(since, s)
		}
	}
	if since < 8*60*60 {
		h, _ := c.st.History(ctx, dirty.UnitTag)
		t.Fatalf("no turnaround from yesterday's return in %+v\n%+v", rd.Units, h)
	}

	c.clk.set(today.Add(9 * time.Hour))
	fresh := std(c.a2)
	check("check-out with a deposit")
	c.clk.set(today.Add(10 * time.Hour))
	back(overnight, rentals.OutcomeNeedsCleaning)
	check("return with the deposit back")
	c.clk.set(today.Add(11 * time.Hour))
	clean("op-a", overnight.UnitTag, overnight.ProductID)
	check("cleaned after today's return")
	if _, err := c.st.SendToRepair(ctx, c.adminA, toRepair.UnitTag, "brake", c.clerk); err != nil {
		// A unit back "ok" may still wait for cleaning; clean it first.
		clean("op-a", toRepair.UnitTag, toRepair.ProductID)
		if _, err := c.st.SendToRepair(ctx, c.adminA, toRepair.UnitTag, "brake", c.clerk); err != nil {
			t.Fatal(err)
		}
	}
	check("sent to repair")
	c.clk.set(today.Add(12 * time.Hour))
	if _, err := c.st.Repaired(ctx, c.adminA, toRepair.UnitTag, "fixed", 500, c.clerk); err != nil {
		t.Fatal(err)
	}
	check("repaired")
	if _, err := c.rent.DeclareLost(ctx, c.adminB, toLose.ID, c.clerk); err != nil {
		t.Fatal(err)
	}
	check("lost")
	c.clk.set(today.Add(13 * time.Hour))
	back(fresh, rentals.OutcomeOK)
	check("returned the day it went out")
	spare := std(c.a1)
	back(spare, rentals.OutcomeNeedsCleaning)
	clean("op-a", spare.UnitTag, spare.ProductID)
	if _, err := c.st.Transfer(ctx, c.adminA, spare.UnitTag, c.a2.ID, "balance", c.clerk); err != nil {
		t.Fatal(err)
	}
	check("in transit")
	if _, err := c.st.Receive(ctx, c.adminA, spare.UnitTag, c.a2.ID, c.clerk); err != nil {
		t.Fatal(err)
	}
	if _, err := c.st.RetireUnit(ctx, c.adminA, spare.UnitTag, "worn", c.clerk); err != nil {
		t.Fatal(err)
	}
	check("received and retired")
	// A move whose unit document was not written (a crash between the
	// event and the projection): the trail ends find it in the log.
	unitLog := eventlog.New[stations.UnitEvent](c.db, "unit")
	unitLog.SetClock(func() time.Time { return c.clk.now().UTC() })
	u, err := c.st.Unit(ctx, dirty.UnitTag)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := unitLog.Append(ctx, u.Tag, u.Seq+1, stations.UnitEvent{Kind: "repair", From: u.State, To: stations.Repair,
		ProductID: u.ProductID, OperatorID: u.OperatorID, StationID: u.StationID}); err != nil {
		t.Fatal(err)
	}
	check("a move its unit's document missed")
	d.day(today.Add(6*time.Hour), 8)
	c.clk.set(today.Add(19 * time.Hour))
	check("after the day's desk work")

	now := c.clk.now()
	var ranges []Range
	for _, r := range []string{RangeThisMonth, RangeLast12Months} {
		rng, err := ParseRange(now, r, "", "")
		if err != nil {
			t.Fatal(err)
		}
		ranges = append(ranges, rng)
	}
	sameDashboards(t, c, ranges)

	// An event stamped before midnight after one of today (an instance's
	// clock behind): the trail ends cannot vouch for that unit, and the
	// dashboards read the whole trails.
	unitLog.SetClock(func() time.Time { return today.Add(-5 * time.Minute).UTC() })
	if _, err := unitLog.Append(ctx, u.Tag, u.Seq+2, stations.UnitEvent{Kind: "repaired", From: stations.Repair, To: stations.Cleaning,
		ProductID: u.ProductID, OperatorID: u.OperatorID, StationID: u.StationID}); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := c.st.TrailEnds(ctx, c.adminA, dayStart("2026-11-01"), dayStart("2026-11-02")); ok || err != nil {
		t.Fatalf("trail ends over a log out of time order: ok %v, %v", ok, err)
	}
	// Today (this month is today alone here) reads as from the logs. The
	// longer range is not compared again: an event written out of time
	// order counts differently in a figure computed over one day and over
	// many (its span runs backwards), which is the log's fault, not the
	// roll-up's.
	sameDashboards(t, c, ranges[:1])
}

// TestTodayFiguresKeptForAWhile: with SetFresh, today's figures
// computed for one dashboard serve the scope's next ones within the window
// (AsOf says when they were made; a check-out in between shows only
// after it), concurrent requests get the same figures, another scope has
// its own, and after the window they are computed again.
func TestTodayFiguresKeptForAWhile(t *testing.T) {
	c, d := rollCity(t)
	ctx := context.Background()
	for i := range 5 {
		d.day(time.Date(2026, 10, 27+i, 0, 0, 0, 0, l10n.Local), 4)
	}
	c.clk.set(time.Date(2026, 11, 1, 2, 0, 0, 0, l10n.Local))
	if _, err := c.svc.Roll(ctx); err != nil {
		t.Fatal(err)
	}
	c.svc.SetFresh(time.Minute)
	c.clk.set(time.Date(2026, 11, 1, 9, 0, 0, 0, l10n.Local))
	rng, err := ParseRange(c.clk.now(), RangeThisMonth, "", "")
	if err != nil {
		t.Fatal(err)
	}
	money := func(scope tenancy.Scope, op string) (string, time.Time) {
		t.Helper()
		got, err := c.svc.Dashboard(ctx, scope, op, DashMoney, rng)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(got.Tables)
		return string(b), got.AsOf
	}
	first, at := money(c.adminA, "op-a")
	if !at.Equal(c.clk.now()) {
		t.Fatalf("as of %s, want now %s", at, c.clk.now())
	}
	c.clk.set(c.clk.now().Add(10 * time.Second))
	c.phoneN++
	c.checkout(c.a1, c.renter(c.a1, "新租户", rentals.Standard), 7)
	c.clk.set(c.clk.now().Add(20 * time.Second))
	var wg sync.WaitGroup
	for range 6 {
		wg.Go(func() {
			if again, asOf := money(c.adminA, "op-a"); again != first || !asOf.Equal(at) {
				t.Errorf("within the window: as of %s, figures changed: %v", asOf, again != first)
			}
		})
	}
	wg.Wait()
	// The city's figures are its own, made now, with the check-out.
	city, cityAt := money(tenancy.PlatformScope, "")
	if !cityAt.Equal(c.clk.now()) {
		t.Fatalf("city as of %s, want now", cityAt)
	}
	if want, _ := money(tenancy.PlatformScope, ""); want != city {
		t.Fatal("the city's figures changed within their window")
	}
	// After the window: computed again, the check-out's rent in them, and
	// equal to the figures computed from the logs.
	c.clk.set(at.Add(time.Minute))
	later, laterAt := money(c.adminA, "op-a")
	if later == first || !laterAt.Equal(c.clk.now()) {
		t.Fatalf("after the window: as of %s, changed %v", laterAt, later != first)
	}
	live, err := liveService(c.svc).Dashboard(ctx, c.adminA, "op-a", DashMoney, rng)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := json.Marshal(live.Tables); string(b) != later {
		t.Fatalf("after the window:\n%s\nfrom the logs:\n%s", later, b)
	}
}
