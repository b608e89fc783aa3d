package rentals

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"fuju/stations"
)

// The rules of issue 10: money and state rules in the corners (policy
// changes, closures, overdue extensions, tier changes, losses and
// recoveries, waivers, the year boundary, stalled writers).

// Defect 1: an extension's share comes from the lease's policy version, but
// the cap is the person's for the year under the policy in force.
func TestExtensionCapIsThePolicyInForce(t *testing.T) {
	ctx := context.Background()
	d := newDesk(t, nil) // v1: no cap
	r := d.renter(d.staffA1, d.a1, "封顶续")
	d.verify(r, LowIncome)
	old := d.mustCheckout(d.a1, d.unit(d.a1, d.wcA), r, 30)
	if old.SubsidyFen != 7200 || old.PolicyVersion != 1 {
		t.Fatalf("first lease %+v", old)
	}
	v2 := DefaultPolicy()
	v2.AnnualCapFen = 10000
	v2.Note = "cap ¥100 a year"
	if _, err := d.pol.Put(ctx, 1, v2); err != nil {
		t.Fatal(err)
	}
	l2 := d.mustCheckout(d.a1, d.unit(d.a1, d.wcA), r, 30)
	if l2.SubsidyFen != 2800 || l2.PolicyVersion != 2 {
		t.Fatalf("capped lease %+v", l2)
	}
	// 90 days cost three blocks, ¥270: ¥180 more; the share is v1's 20%,
	// but nothing is left of the year's cap.
	q, err := d.svc.ExtensionQuote(ctx, d.staffA1, old.ID, 60)
	if err != nil {
		t.Fatal(err)
	}
	if q.StandardFen != 18000 || q.SubsidyFen != 0 || q.RenterFen != 18000 || q.CappedFen != 14400 || q.ShareBP != 2000 {
		t.Fatalf("extension quote %+v", q)
	}
	ext, err := d.svc.Extend(ctx, d.staffA1, old.ID, 60, cash(q.DueNowFen), d.clerk)
	if err != nil {
		t.Fatal(err)
	}
	if ext.SubsidyFen != 7200 || ext.PolicyVersion != 1 {
		t.Fatalf("extended %+v", ext)
	}
	if used, _ := d.svc.SubsidyUsed(ctx, r.ID, 2026); used != 10000 {
		t.Fatalf("the year's subsidy is %d, the cap in force is 10000", used)
	}
	d.consistent(old.ID)
}

// Defect 4: an extension moves the due date by the days paid for, then off
// closures; days the due date gained by moving off a closure are not eaten.
func TestExtensionMovesTheDueDate(t *testing.T) {
	ctx := context.Background()
	d := newDesk(t, nil)
	st := d.a1
	st.Hours.ClosedOn = []string{"2026-03-09", "2026-03-10", "2026-03-11", "2026-03-12", "2026-03-13"}
	if _, err := d.st.UpdateStation(ctx, st); err != nil {
		t.Fatal(err)
	}
	r := d.renter(d.staffA1, d.a1, "节")
	// Monday 03-02 + 6 = Sunday 03-08 (closed), then a holiday week: due
	// Saturday 03-14.
	l := d.mustCheckout(d.a1, d.unit(d.a1, d.wcA), r, 6)
	if l.DueOn != "2026-03-14" {
		t.Fatalf("due %s", l.DueOn)
	}
	q, err := d.svc.ExtensionQuote(ctx, d.staffA1, l.ID, 5)
	if err != nil || q.StandardFen != 2500 {
		t.Fatalf("quote %+v %v", q, err)
	}
	ext, err := d.svc.Extend(ctx, d.staffA1, l.ID, 5, cash(2500), d.clerk)
	if err != nil {
		t.Fatal(err)
	}
	if ext.DueOn != "2026-03-19" || ext.Days != 11 {
		t.Fatalf("after paying for 5 more days the lease is due %s (%d days)", ext.DueOn, ext.Days)
	}
	// And again onto a Sunday: moved to Monday.
	ext, err = d.svc.Extend(ctx, d.staffA1, l.ID, 3, cash(1500), d.clerk)
	if err != nil || ext.DueOn != "2026-03-23" {
		t.Fatalf("due %s, %v", ext.DueOn, err)
	}
	d.consistent(l.ID)
}

// Defect 5: the overdue job marks its work pending, so a crash between the
// event and the projections is repaired and lists show the lease overdue.
func TestOverdueCrash(t *testing.T) {
	for _, point := range []string{"overdue:marked", "overdue:event", "overdue:projected"} {
		t.Run(point, func(t *testing.T) {
			ctx := context.Background()
			d := newDesk(t, nil)
			r := d.renter(d.staffA1, d.a1, "迟")
			l := d.mustCheckout(d.a1, d.unit(d.a1, d.wcA), r, 10) // due 03-12
			d.clk.set(time.Date(2026, 3, 14, 9, 0, 0, 0, stations.Local))
			hit := d.crashAt(point)
			_, err := d.svc.MarkOverdue(ctx, d.clk.now())
			d.svc.crash = nil
			if !*hit || !errors.Is(err, errCrash) {
				t.Fatalf("crash at %s: reached %v, err %v", point, *hit, err)
			}
			d.reconcile()
			if _, err := d.svc.MarkOverdue(ctx, d.clk.now()); err != nil {
				t.Fatal(err)
			}
			got := d.consistent(l.ID)
			if got.State != LeaseOverdue {
				t.Fatalf("lease %s after the job", got.State)
			}
			open := mustOpen(t, d, d.adminA)
			if len(open) != 1 || open[0].State != LeaseOverdue {
				t.Fatalf("open leases list %+v", open)
			}
		})
	}
}

// Rule 6: extending an overdue lease is not retroactive: the late days up to
// today are late fees at the full daily rate (for tiers charged late fees),
// the extension starts today.
func TestExtendOverdueLease(t *testing.T) {
	ctx := context.Background()
	d := newDesk(t, nil)
	std := d.renter(d.staffA1, d.a1, "晚")
	low := d.renter(d.staffA1, d.a1, "晚低")
	d.verify(low, LowIncome)
	ls := d.mustCheckout(d.a1, d.unit(d.a1, d.wcA), std, 10) // due 03-12
	ll := d.mustCheckout(d.a1, d.unit(d.a1, d.wcA), low, 10)
	d.clk.set(time.Date(2026, 3, 17, 9, 0, 0, 0, stations.Local)) // 5 days late
	if _, err := d.svc.MarkOverdue(ctx, d.clk.now()); err != nil {
		t.Fatal(err)
	}
	// 10 + 10 paid days cost a ¥90 block (¥40 more); 5 late days ¥25.
	q, err := d.svc.ExtensionQuote(ctx, d.staffA1, ls.ID, 10)
	if err != nil {
		t.Fatal(err)
	}
	if q.StandardFen != 4000 || q.LateDays != 5 || q.LateFeeFen != 2500 || q.DueNowFen != 6500 || !slices.Contains(q.Why, "late_fee") {
		t.Fatalf("overdue extension quote %+v", q)
	}
	if _, err := d.svc.Extend(ctx, d.staffA1, ls.ID, 10, cash(4000), d.clerk); !fieldErr(err, "payments") {
		t.Fatalf("paying without the late fee: %v", err)
	}
	ext, err := d.svc.Extend(ctx, d.staffA1, ls.ID, 10, cash(6500), d.clerk)
	if err != nil {
		t.Fatal(err)
	}
	if ext.DueOn != "2026-03-27" || ext.State != LeaseActive || ext.Days != 20 {
		t.Fatalf("extended from today: due %s, %s, %d days", ext.DueOn, ext.State, ext.Days)
	}
	if got := entries(d.ledger(ls.ID)); !slices.Equal(got[3:], []string{"late_fee 2500", "extension 4000", "payment 6500"}) {
		t.Fatalf("ledger %v", got)
	}
	// No late fee again at the new due date.
	d.clk.set(time.Date(2026, 3, 27, 9, 0, 0, 0, stations.Local))
	back, err := d.svc.Checkin(ctx, d.staffA1, CheckinRequest{UnitTag: ls.UnitTag, StationID: d.a1.ID, Outcome: OutcomeOK, RefundMethod: PayCash}, d.clerk)
	if err != nil || back.Return.LateFeeFen != 0 || back.State != LeaseClosed {
		t.Fatalf("return on the new due date %+v %v", back.Return, err)
	}
	// Low income: the late days are full-rate late fees, not subsidised rent.
	d.clk.set(time.Date(2026, 3, 17, 9, 0, 0, 0, stations.Local))
	ql, err := d.svc.ExtensionQuote(ctx, d.staffA1, ll.ID, 10)
	if err != nil {
		t.Fatal(err)
	}
	if ql.LateFeeFen != 2500 || ql.SubsidyFen != 3200 || ql.RenterFen != 800 || ql.DueNowFen != 3300 {
		t.Fatalf("low income overdue extension %+v", ql)
	}
	if _, err := d.svc.Extend(ctx, d.staffA1, ll.ID, 10, cash(3300), d.clerk); err != nil {
		t.Fatal(err)
	}
	d.consistent(ls.ID)
	d.consistent(ll.ID)
}

// Rule 7: late fees follow the renter's tier on the return day; extensions
// the tier on the day of the extension.
func TestLateFeesFollowTheTierOnTheReturnDay(t *testing.T) {
	ctx := context.Background()
	d := newDesk(t, nil)
	// Subsistence at check-out (no late fees), standard by the return.
	was := d.renter(d.staffA1, d.a1, "失保")
	d.verify(was, Subsistence)
	lw := d.mustCheckout(d.a1, d.unit(d.a1, d.wcA), was, 10)
	// Standard at check-out, subsistence by the return.
	now := d.renter(d.staffA1, d.a1, "新保")
	ln := d.mustCheckout(d.a1, d.unit(d.a1, d.wcA), now, 10)
	if _, err := d.svc.RevokeTier(ctx, d.staffA1, was.ID, "certificate withdrawn", d.clerk); err != nil {
		t.Fatal(err)
	}
	d.verify(now, Subsistence)
	d.clk.set(time.Date(2026, 3, 17, 9, 0, 0, 0, stations.Local)) // 5 days late
	bw, err := d.svc.Checkin(ctx, d.staffA1, CheckinRequest{UnitTag: lw.UnitTag, StationID: d.a1.ID, Outcome: OutcomeOK}, d.clerk)
	if err != nil {
		t.Fatal(err)
	}
	if bw.Return.LateFeeFen != 2500 || bw.Tier != Subsistence {
		t.Fatalf("standard on the return day pays late fees: %+v (lease tier %s)", bw.Return, bw.Tier)
	}
	bn, err := d.svc.Checkin(ctx, d.staffA1, CheckinRequest{UnitTag: ln.UnitTag, StationID: d.a1.ID, Outcome: OutcomeOK, RefundMethod: PayCash}, d.clerk)
	if err != nil {
		t.Fatal(err)
	}
	if bn.Return.LateFeeFen != 0 || bn.State != LeaseClosed {
		t.Fatalf("subsistence on the return day pays no late fee: %+v", bn.Return)
	}
	d.consistent(lw.ID)
	d.consistent(ln.ID)
}

// Rule 10: a lease made in December and extended in January counts the
// extension's subsidy in January's year, by the city's calendar.
func TestYearBoundary(t *testing.T) {
	ctx := context.Background()
	pol := DefaultPolicy()
	pol.AnnualCapFen = 10000
	d := newDesk(t, &pol)
	r := d.renter(d.staffA1, d.a1, "跨年")
	d.verify(r, LowIncome)
	d.clk.set(time.Date(2026, 12, 1, 10, 0, 0, 0, stations.Local))
	l := d.mustCheckout(d.a1, d.unit(d.a1, d.wcA), r, 30) // 7200 in 2026
	d.mustCheckout(d.a1, d.unit(d.a1, d.wcA), r, 30)      // 2800: 2026 is used up
	if used, _ := d.svc.SubsidyUsed(ctx, r.ID, 2026); used != 10000 {
		t.Fatalf("2026 used %d", used)
	}
	// 23:30 on 31 December in the city (15:30 UTC): still 2026.
	d.clk.set(time.Date(2026, 12, 31, 23, 30, 0, 0, stations.Local))
	q, err := d.svc.ExtensionQuote(ctx, d.staffA1, l.ID, 30)
	if err != nil || q.SubsidyFen != 0 {
		t.Fatalf("extension on 31 December %+v %v", q, err)
	}
	// 00:30 on 1 January in the city is still 31 December in UTC.
	d.clk.set(time.Date(2027, 1, 1, 0, 30, 0, 0, stations.Local))
	if d.clk.now().UTC().Year() != 2026 {
		t.Fatal("the test must cross the year in the city's time zone only")
	}
	// The city publishes a lower cap for the new year: the December
	// lease's extension gets January's year under January's policy.
	v3 := pol
	v3.AnnualCapFen, v3.Note = 5000, "2027 cap"
	if _, err := d.pol.Put(ctx, 2, v3); err != nil {
		t.Fatal(err)
	}
	q, err = d.svc.ExtensionQuote(ctx, d.staffA1, l.ID, 30)
	if err != nil || q.SubsidyFen != 5000 || q.CappedFen != 2200 || q.CapRemainingFen != 5000 || q.PolicyVersion != 2 {
		t.Fatalf("extension on 1 January %+v %v", q, err)
	}
	ext, err := d.svc.Extend(ctx, d.staffA1, l.ID, 30, cash(q.DueNowFen), d.clerk)
	if err != nil {
		t.Fatal(err)
	}
	if ext.Grants[1].Entity != r.ID+"-2027" {
		t.Fatalf("grant in %s", ext.Grants[1].Entity)
	}
	used26, _ := d.svc.SubsidyUsed(ctx, r.ID, 2026)
	used27, _ := d.svc.SubsidyUsed(ctx, r.ID, 2027)
	if used26 != 10000 || used27 != 5000 {
		t.Fatalf("2026 used %d, 2027 used %d", used26, used27)
	}
	lg := d.ledger(l.ID)
	if e := lg.Entries[len(lg.Entries)-2]; e.Kind != EntrySubsidy || e.Day != "2027-01-01" {
		t.Fatalf("the extension's subsidy entry %+v", e)
	}
	d.consistent(l.ID)
}
