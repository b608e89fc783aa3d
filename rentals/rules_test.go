package rentals

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"fuju/internal/l10n"
	"fuju/internal/tenancy"
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
			d.clk.set(time.Date(2026, 3, 14, 9, 0, 0, 0, l10n.Local))
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
	d.clk.set(time.Date(2026, 3, 17, 9, 0, 0, 0, l10n.Local)) // 5 days late
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
	d.clk.set(time.Date(2026, 3, 27, 9, 0, 0, 0, l10n.Local))
	back, err := d.svc.Checkin(ctx, d.staffA1, CheckinRequest{UnitTag: ls.UnitTag, StationID: d.a1.ID, Outcome: OutcomeOK, RefundMethod: PayCash}, d.clerk)
	if err != nil || back.Return.LateFeeFen != 0 || back.State != LeaseClosed {
		t.Fatalf("return on the new due date %+v %v", back.Return, err)
	}
	// Low income: the late days are full-rate late fees, not subsidised rent.
	d.clk.set(time.Date(2026, 3, 17, 9, 0, 0, 0, l10n.Local))
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
	d.clk.set(time.Date(2026, 3, 17, 9, 0, 0, 0, l10n.Local)) // 5 days late
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
	d.clk.set(time.Date(2026, 12, 1, 10, 0, 0, 0, l10n.Local))
	l := d.mustCheckout(d.a1, d.unit(d.a1, d.wcA), r, 30) // 7200 in 2026
	d.mustCheckout(d.a1, d.unit(d.a1, d.wcA), r, 30)      // 2800: 2026 is used up
	if used, _ := d.svc.SubsidyUsed(ctx, r.ID, 2026); used != 10000 {
		t.Fatalf("2026 used %d", used)
	}
	// 23:30 on 31 December in the city (15:30 UTC): still 2026.
	d.clk.set(time.Date(2026, 12, 31, 23, 30, 0, 0, l10n.Local))
	q, err := d.svc.ExtensionQuote(ctx, d.staffA1, l.ID, 30)
	if err != nil || q.SubsidyFen != 0 {
		t.Fatalf("extension on 31 December %+v %v", q, err)
	}
	// 00:30 on 1 January in the city is still 31 December in UTC.
	d.clk.set(time.Date(2027, 1, 1, 0, 30, 0, 0, l10n.Local))
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
	if person, _ := d.svc.personOfRenter(ctx, r.ID); ext.Grants[1].Entity != person+"-2027" {
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

// Rule 9: what a lost device costs follows the tier's rule in the policy:
// standard keeps the deposit, subsistence pays nothing, low income pays its
// share of the replacement value; the operator's loss is recorded.
func TestLostByTier(t *testing.T) {
	ctx := context.Background()
	d := newDesk(t, nil)
	std := d.renter(d.staffA1, d.a1, "失标")
	low := d.renter(d.staffA1, d.a1, "失低")
	d.verify(low, LowIncome)
	sub := d.renter(d.staffA1, d.a1, "失保")
	d.verify(sub, Subsistence)
	ls := d.mustCheckout(d.a1, d.unit(d.a1, d.wcA), std, 10)
	ll := d.mustCheckout(d.a1, d.unit(d.a1, d.wcA), low, 10)
	lb := d.mustCheckout(d.a1, d.unit(d.a1, d.wcA), sub, 10)
	d.clk.set(time.Date(2026, 4, 12, 9, 0, 0, 0, l10n.Local)) // 31 days late
	lost := func(l Lease) Lease {
		t.Helper()
		got, err := d.svc.DeclareLost(ctx, d.staffA1, l.ID, d.clerk)
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	gs := lost(ls)
	if gs.State != LeaseClosed || !slices.Equal(entries(d.ledger(ls.ID))[3:], []string{"deposit_return 30000", "lost 30000"}) {
		t.Fatalf("standard loss: %s %v", gs.State, entries(d.ledger(ls.ID)))
	}
	gb := lost(lb)
	if gb.State != LeaseClosed || len(d.ledger(lb.ID).Entries) != 2 {
		t.Fatalf("subsistence loss: %s %v", gb.State, entries(d.ledger(lb.ID)))
	}
	// 20% of the ¥1,200 replacement value: ¥240, owed at the desk.
	gl := lost(ll)
	if gl.State != LeaseLost || gl.BalanceFen != 24000 || !slices.Equal(entries(d.ledger(ll.ID))[3:], []string{"lost 24000"}) {
		t.Fatalf("low income loss: %s %d %v", gl.State, gl.BalanceFen, entries(d.ledger(ll.ID)))
	}
	q, _ := d.svc.Queues(ctx, d.staffA1, d.a1.ID, d.clk.now())
	if len(q.Unsettled) != 1 || q.Unsettled[0].ID != ll.ID {
		t.Fatalf("unsettled %+v", q.Unsettled)
	}
	if paid, err := d.svc.SettleLease(ctx, d.staffA1, ll.ID, cash(24000), d.clerk); err != nil || paid.State != LeaseClosed {
		t.Fatalf("settle the loss: %+v %v", paid, err)
	}
	for _, l := range []Lease{ls, ll, lb} {
		d.consistent(l.ID)
	}
}

// Rule 2: a lost unit that comes back is not stuck: it can be written off.
func TestLostUnitCanBeWrittenOff(t *testing.T) {
	ctx := context.Background()
	d := newDesk(t, nil)
	r := d.renter(d.staffA1, d.a1, "丢")
	tag := d.unit(d.a1, d.wcA)
	l := d.mustCheckout(d.a1, tag, r, 5)
	d.clk.addDays(60)
	if _, err := d.svc.DeclareLost(ctx, d.staffA1, l.ID, d.clerk); err != nil {
		t.Fatal(err)
	}
	u, err := d.st.RetireUnit(ctx, d.staffA1, tag, "not found after a year", d.clerk)
	if err != nil || u.State != stations.Retired {
		t.Fatalf("write off: %+v %v", u, err)
	}
}

// Rule 2: a lost unit scanned at a desk is found: the loss closes on its
// lease (the lost charge cancelled, late fees and damage up to it charged,
// the rest refunded), the unit goes to inspection like a return, and both
// histories show the loss and the recovery.
func TestFoundLostUnit(t *testing.T) {
	ctx := context.Background()
	d := newDesk(t, nil)
	std := d.renter(d.staffA1, d.a1, "找回")
	low := d.renter(d.staffA1, d.a1, "找回低")
	d.verify(low, LowIncome)
	tag := d.unit(d.a1, d.wcA)
	tag2 := d.unit(d.a1, d.wcA)
	tagLow := d.unit(d.a1, d.wcA)
	l := d.mustCheckout(d.a1, tag, std, 10) // due 03-12
	l2 := d.mustCheckout(d.a1, tag2, std, 10)
	ll := d.mustCheckout(d.a1, tagLow, low, 10)
	d.clk.set(time.Date(2026, 4, 12, 9, 0, 0, 0, l10n.Local))
	for _, x := range []Lease{l, l2, ll} {
		if _, err := d.svc.DeclareLost(ctx, d.staffA1, x.ID, d.clerk); err != nil {
			t.Fatal(err)
		}
	}
	found := func(scope tenancy.Scope, st stations.Station, req CheckinRequest) (FoundResult, error) {
		req.StationID = st.ID
		return d.svc.Found(ctx, scope, req, d.clerk)
	}
	// Another operator's desk does not see the unit; a unit not lost is not
	// found.
	if _, err := found(d.staffB1, d.b1, CheckinRequest{UnitTag: tag, Outcome: OutcomeOK}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("B finds A's unit: %v", err)
	}
	other := d.unit(d.a1, d.wcA)
	if _, err := found(d.staffA1, d.a1, CheckinRequest{UnitTag: other, Outcome: OutcomeOK}); !errors.Is(err, stations.ErrUnavailable) {
		t.Fatalf("found an available unit: %v", err)
	}
	// Back 39 days late and damaged, at the operator's other station: ¥195
	// late, ¥50 damage out of the ¥300 kept; ¥55 back.
	d.clk.set(time.Date(2026, 4, 20, 9, 0, 0, 0, l10n.Local))
	req := CheckinRequest{UnitTag: tag, Outcome: OutcomeDamaged, DamageFen: 5000, Notes: "wheel bent"}
	if _, err := found(d.staffA2, d.a2, req); !fieldErr(err, "refund_method") {
		t.Fatalf("a refund is owed: %v", err)
	}
	req.RefundMethod = PayCash
	res, err := found(d.staffA2, d.a2, req)
	if err != nil {
		t.Fatal(err)
	}
	got := res.Lease
	if got == nil || got.State != LeaseClosed || got.EndReason != "found" || got.Loss == nil || got.Loss.FoundOn != "2026-04-20" ||
		got.Return == nil || got.Return.LateDays != 39 || got.Return.StationID != d.a2.ID {
		t.Fatalf("lease after found %+v", got)
	}
	want := []string{"rent 5000", "deposit 30000", "payment 35000", "deposit_return 30000", "lost 30000",
		"recovered 30000", "late_fee 19500", "damage 5000", "refund 5500"}
	if lg := d.ledger(l.ID); !slices.Equal(entries(lg), want) || lg.BalanceFen != 0 {
		t.Fatalf("ledger %v", entries(lg))
	}
	if u := res.Unit; u.State != stations.Repair || u.StationID != d.a2.ID || u.Condition != "wheel bent" {
		t.Fatalf("unit after found %+v", u)
	}
	hist, _ := d.st.History(ctx, tag)
	var kinds []string
	for _, h := range hist {
		kinds = append(kinds, h.Kind+":"+string(h.To))
	}
	if !slices.Equal(kinds, []string{"created:available", "checkout:rented", "lost:lost", "found:returned", "inspected:repair"}) {
		t.Fatalf("unit history %v", kinds)
	}
	lh, _ := d.svc.LeaseHistory(ctx, d.staffA1, l.ID)
	var lk []string
	for _, h := range lh {
		lk = append(lk, h.Kind)
	}
	if !slices.Equal(lk[len(lk)-4:], []string{"lost", "closed", "found", "closed"}) {
		t.Fatalf("lease history %v", lk)
	}
	if _, err := found(d.staffA2, d.a2, req); !errors.Is(err, stations.ErrUnavailable) {
		t.Fatalf("found twice: %v", err)
	}
	// Months later: the late fee is capped at the lost charge; nothing back,
	// nothing more to pay.
	d.clk.set(time.Date(2026, 6, 30, 9, 0, 0, 0, l10n.Local))
	res2, err := found(d.staffA1, d.a1, CheckinRequest{UnitTag: tag2, Outcome: OutcomeNeedsCleaning})
	if err != nil {
		t.Fatal(err)
	}
	if got := entries(d.ledger(l2.ID))[5:]; !slices.Equal(got, []string{"recovered 30000", "late_fee 30000"}) || res2.Lease.State != LeaseClosed {
		t.Fatalf("capped: %v %s", got, res2.Lease.State)
	}
	if res2.Unit.State != stations.Cleaning {
		t.Fatalf("unit %s", res2.Unit.State)
	}
	// Low income, lost charge (¥240) unpaid: found 8 days after the loss,
	// the late fee replaces the lost charge and is paid at the desk.
	d.clk.set(time.Date(2026, 4, 14, 9, 0, 0, 0, l10n.Local))
	rl, err := found(d.staffA1, d.a1, CheckinRequest{UnitTag: tagLow, Outcome: OutcomeOK, Payments: cash(16500)})
	if err != nil {
		t.Fatal(err)
	}
	if got := entries(d.ledger(ll.ID))[3:]; !slices.Equal(got, []string{"lost 24000", "recovered 24000", "late_fee 16500", "payment 16500"}) || rl.Lease.State != LeaseClosed {
		t.Fatalf("low income found: %v %s", got, rl.Lease.State)
	}
	// The losses report shows what each loss cost and which came back.
	losses, err := d.svc.Losses(ctx, d.adminA)
	if err != nil || len(losses) != 3 {
		t.Fatalf("losses %+v %v", losses, err)
	}
	for _, x := range losses {
		if x.Loss.FoundOn == "" {
			t.Fatalf("loss %s not marked found: %+v", x.LeaseID, x.Loss)
		}
	}
	if b, _ := d.svc.Losses(ctx, d.staffB1); len(b) != 0 {
		t.Fatalf("B sees A's losses: %+v", b)
	}
	// A unit lost off any lease (missing at a stocktake) goes straight to
	// cleaning; there is nobody to charge.
	missing := d.unit(d.a1, d.wcA)
	if _, err := d.st.Move(ctx, missing, stations.Move{To: stations.Lost, Kind: "missing", By: d.clerk}); err != nil {
		t.Fatal(err)
	}
	if _, err := found(d.staffA1, d.a1, CheckinRequest{UnitTag: missing, Outcome: OutcomeDamaged, DamageFen: 100, Notes: "x"}); !fieldErr(err, "damage_fen") {
		t.Fatalf("charging nobody: %v", err)
	}
	rm, err := found(d.staffA1, d.a1, CheckinRequest{UnitTag: missing, Outcome: OutcomeOK})
	if err != nil || rm.Lease != nil || rm.Unit.State != stations.Cleaning {
		t.Fatalf("found without a lease %+v %v", rm, err)
	}
	for _, x := range []Lease{l, l2, ll} {
		d.consistent(x.ID)
	}
}

// Rule 9, the operator's side: each loss records the replacement value,
// the charge and the operator's loss.
func TestLossIsRecorded(t *testing.T) {
	ctx := context.Background()
	d := newDesk(t, nil)
	low := d.renter(d.staffA1, d.a1, "账低")
	d.verify(low, LowIncome)
	sub := d.renter(d.staffA1, d.a1, "账保")
	d.verify(sub, Subsistence)
	ll := d.mustCheckout(d.a1, d.unit(d.a1, d.wcA), low, 10)
	lb := d.mustCheckout(d.a1, d.unit(d.a1, d.wcA), sub, 10)
	d.clk.set(time.Date(2026, 4, 12, 9, 0, 0, 0, l10n.Local))
	gl, err := d.svc.DeclareLost(ctx, d.staffA1, ll.ID, d.clerk)
	if err != nil {
		t.Fatal(err)
	}
	if x := gl.Loss; x == nil || x.Tier != LowIncome || x.Rule != LostShare || x.ReplacementFen != 120000 || x.ChargedFen != 24000 || x.OperatorLossFen != 96000 {
		t.Fatalf("low income loss %+v", gl.Loss)
	}
	gb, err := d.svc.DeclareLost(ctx, d.staffA1, lb.ID, d.clerk)
	if err != nil {
		t.Fatal(err)
	}
	if x := gb.Loss; x == nil || x.Rule != LostNothing || x.ChargedFen != 0 || x.OperatorLossFen != 120000 {
		t.Fatalf("subsistence loss %+v", gb.Loss)
	}
	losses, err := d.svc.Losses(ctx, d.staffA1)
	if err != nil || len(losses) != 2 {
		t.Fatalf("losses %+v %v", losses, err)
	}
	var opLoss int64
	for _, x := range losses {
		opLoss += x.Loss.OperatorLossFen
	}
	if opLoss != 216000 {
		t.Fatalf("operator's loss %d", opLoss)
	}
	// A policy that keeps the deposit from low income too.
	pol := d.pol.Current()
	rule := pol.Tiers[LowIncome]
	rule.LostCharge = "lose_everything"
	pol.Tiers[LowIncome] = rule
	if err := pol.Validate(); !fieldErr(err, "tiers.low_income.lost_charge") {
		t.Fatalf("unknown lost charge: %v", err)
	}
}

// Rule 8: staff waive up to the operator's limit per lease; above it an
// operator admin approves; every waiver is in the ledger with its reason and
// in the operator's waiver report.
func TestWaiverLimits(t *testing.T) {
	ctx := context.Background()
	d := newDesk(t, nil)
	admin := tenancy.Actor{ID: "u-wang", Name: "Wang", Role: ApproverRole}
	r := d.renter(d.staffA1, d.a1, "免")
	tag := d.unit(d.a1, d.wcA)
	l := d.mustCheckout(d.a1, tag, r, 30)
	// ¥400 damage against a ¥300 deposit: ¥100 owed.
	if _, err := d.svc.Checkin(ctx, d.staffA1, CheckinRequest{UnitTag: tag, StationID: d.a1.ID, Outcome: OutcomeDamaged, DamageFen: 40000, Notes: "frame"}, d.clerk); err != nil {
		t.Fatal(err)
	}
	waive := func(scope tenancy.Scope, by tenancy.Actor, fen int64, reason, note string) (Waiver, Lease, error) {
		return d.svc.Waive(ctx, scope, l.ID, WaiverRequest{AmountFen: fen, Reason: reason, Note: note}, by)
	}
	for _, tc := range []struct {
		fen           int64
		reason, field string
	}{{0, "hardship", "amount_fen"}, {3000, "because", "reason"}, {3000, "other", "note"}, {10001, "hardship", "amount_fen"}} {
		if _, _, err := waive(d.staffA1, d.clerk, tc.fen, tc.reason, ""); !fieldErr(err, tc.field) {
			t.Errorf("%d %s: %v, want a %s error", tc.fen, tc.reason, err, tc.field)
		}
	}
	if _, _, err := waive(d.staffB1, d.clerk, 1000, "hardship", ""); !errors.Is(err, ErrNotFound) {
		t.Fatalf("B waives A's lease: %v", err)
	}
	// ¥30 within the ¥50 limit: applied at once.
	w1, after, err := waive(d.staffA1, d.clerk, 3000, "hardship", "")
	if err != nil || w1.State != WaiverApplied || !w1.Auto || after.BalanceFen != 7000 || after.WaivedFen != 3000 {
		t.Fatalf("waiver within the limit %+v %+v %v", w1, after, err)
	}
	lg := d.ledger(l.ID)
	if e := lg.Entries[len(lg.Entries)-1]; e.Kind != EntryWaiver || e.AmountFen != 3000 || e.Note != "hardship" || e.Reference != w1.ID {
		t.Fatalf("waiver entry %+v", e)
	}
	// ¥25 more would make ¥55: a request for an operator admin.
	w2, same, err := waive(d.staffA1, d.clerk, 2500, "station_closed", "")
	if err != nil || w2.State != WaiverPending || same.BalanceFen != 7000 {
		t.Fatalf("waiver above the limit %+v %v", w2, err)
	}
	if got := d.ledger(l.ID); got.BalanceFen != 7000 {
		t.Fatalf("a pending waiver changed the ledger: %v", entries(got))
	}
	queue, err := d.svc.Waivers(ctx, d.adminA, WaiverPending, "")
	if err != nil || len(queue) != 1 || queue[0].ID != w2.ID {
		t.Fatalf("admin's queue %+v %v", queue, err)
	}
	if q, _ := d.svc.Waivers(ctx, d.staffB1, WaiverPending, ""); len(q) != 0 {
		t.Fatalf("B sees A's queue %+v", q)
	}
	if _, err := d.svc.DecideWaiver(ctx, d.staffA1, w2.ID, true, "", d.clerk); !errors.Is(err, ErrForbidden) {
		t.Fatalf("staff approve: %v", err)
	}
	if _, err := d.svc.DecideWaiver(ctx, d.staffB1, w2.ID, true, "", admin); !errors.Is(err, ErrNotFound) {
		t.Fatalf("B's admin approves: %v", err)
	}
	ok, err := d.svc.DecideWaiver(ctx, d.adminA, w2.ID, true, "closed for the flood", admin)
	if err != nil || ok.State != WaiverApplied || ok.AppliedFen != 2500 || ok.DecidedBy.ID != admin.ID {
		t.Fatalf("approved %+v %v", ok, err)
	}
	if _, err := d.svc.DecideWaiver(ctx, d.adminA, w2.ID, false, "", admin); !errors.Is(err, ErrConflict) {
		t.Fatalf("decided twice: %v", err)
	}
	if got, _ := d.svc.Lease(ctx, d.adminA, l.ID); got.BalanceFen != 4500 || got.WaivedFen != 5500 {
		t.Fatalf("after approval %+v", got)
	}
	// Rejected: nothing changes.
	w3, _, _ := waive(d.staffA1, d.clerk, 1000, "goodwill", "")
	if w3.State != WaiverPending {
		t.Fatalf("over the limit again %+v", w3)
	}
	if rj, err := d.svc.DecideWaiver(ctx, d.adminA, w3.ID, false, "no", admin); err != nil || rj.State != WaiverRejected {
		t.Fatalf("rejected %+v %v", rj, err)
	}
	// Approved after the renter paid: it lapses.
	w4, _, _ := waive(d.staffA1, d.clerk, 4500, "hardship", "")
	if _, err := d.svc.SettleLease(ctx, d.staffA1, l.ID, cash(4500), d.clerk); err != nil {
		t.Fatal(err)
	}
	if lp, err := d.svc.DecideWaiver(ctx, d.adminA, w4.ID, true, "", admin); err != nil || lp.State != WaiverLapsed {
		t.Fatalf("lapsed %+v %v", lp, err)
	}
	report, err := d.svc.Waivers(ctx, d.adminA, "", "")
	if err != nil || len(report) != 4 {
		t.Fatalf("report %+v %v", report, err)
	}
	states := map[string]int{}
	for _, w := range report {
		states[w.State]++
	}
	if states[WaiverApplied] != 2 || states[WaiverRejected] != 1 || states[WaiverLapsed] != 1 {
		t.Fatalf("report states %v", states)
	}
	if lw, _ := d.svc.Waivers(ctx, d.staffA1, "", l.ID); len(lw) != 4 {
		t.Fatalf("the lease's waivers %+v", lw)
	}
	d.consistent(l.ID)
	// The operator's limit: only its admins set it; 0 sends every staff
	// waiver to approval; an admin's own waiver needs none.
	if _, err := d.svc.PutSettings(ctx, d.staffA1, Settings{OperatorID: "op-a", WaiverLimitFen: 100000}, d.clerk); !errors.Is(err, ErrForbidden) {
		t.Fatalf("staff set the limit: %v", err)
	}
	if _, err := d.svc.PutSettings(ctx, d.adminA, Settings{OperatorID: "op-a", WaiverLimitFen: -1}, admin); !fieldErr(err, "waiver_limit_fen") {
		t.Fatalf("negative limit: %v", err)
	}
	if _, err := d.svc.PutSettings(ctx, d.adminA, Settings{OperatorID: "op-a", WaiverLimitFen: 0}, admin); err != nil {
		t.Fatal(err)
	}
	if st, _ := d.svc.OperatorSettings(ctx, d.staffA1, "op-a"); st.WaiverLimitFen != 0 {
		t.Fatalf("settings %+v", st)
	}
	tag2 := d.unit(d.a1, d.wcA)
	l2 := d.mustCheckout(d.a1, tag2, r, 30)
	if _, err := d.svc.Checkin(ctx, d.staffA1, CheckinRequest{UnitTag: tag2, StationID: d.a1.ID, Outcome: OutcomeDamaged, DamageFen: 40000, Notes: "frame"}, d.clerk); err != nil {
		t.Fatal(err)
	}
	if w, _, err := d.svc.Waive(ctx, d.staffA1, l2.ID, WaiverRequest{AmountFen: 100, Reason: "goodwill"}, d.clerk); err != nil || w.State != WaiverPending {
		t.Fatalf("limit 0: %+v %v", w, err)
	}
	w5, closed, err := d.svc.Waive(ctx, d.adminA, l2.ID, WaiverRequest{AmountFen: 10000, Reason: "device_fault"}, admin)
	if err != nil || w5.State != WaiverApplied || w5.Auto || closed.State != LeaseClosed {
		t.Fatalf("admin's own waiver %+v %s %v", w5, closed.State, err)
	}
	d.consistent(l2.ID)
}

// Rule 9 with a deposit larger than the lost charge: the difference is
// owed back and refunded at the desk.
func TestLostRefundsTheRest(t *testing.T) {
	ctx := context.Background()
	d := newDesk(t, crashPolicy()) // low income pays a deposit here
	r := d.renter(d.staffA1, d.a1, "退")
	d.verify(r, LowIncome)
	l := d.mustCheckout(d.a1, d.unit(d.a1, d.wcA), r, 10)
	d.clk.set(time.Date(2026, 4, 12, 9, 0, 0, 0, l10n.Local))
	got, err := d.svc.DeclareLost(ctx, d.staffA1, l.ID, d.clerk)
	if err != nil {
		t.Fatal(err)
	}
	if got.State != LeaseLost || got.BalanceFen != -6000 {
		t.Fatalf("¥300 held, ¥240 charged: %s %d", got.State, got.BalanceFen)
	}
	if _, err := d.svc.RefundLease(ctx, d.staffA1, l.ID, PayOfflineMobile, "", d.clerk); !fieldErr(err, "refund_reference") {
		t.Fatalf("refund without a reference: %v", err)
	}
	done, err := d.svc.RefundLease(ctx, d.staffA1, l.ID, PayOfflineMobile, "WX-9", d.clerk)
	if err != nil || done.State != LeaseClosed {
		t.Fatalf("refund %+v %v", done, err)
	}
	if got := entries(d.ledger(l.ID))[4:]; !slices.Equal(got, []string{"deposit_return 30000", "lost 24000", "refund 6000"}) {
		t.Fatalf("ledger %v", got)
	}
	d.consistent(l.ID)
}
