package rentals

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"fuju/internal/l10n"
	"fuju/internal/tenancy"
	"fuju/stations"
)

var errCrash = errors.New("injected crash")

// crashAt makes the service fail at point, once, as if the process died
// there; it reports whether the point was reached.
func (d *desk) crashAt(point string) *bool {
	hit := new(bool)
	d.svc.crash = func(p string) error {
		if p == point && !*hit {
			*hit = true
			return errCrash
		}
		return nil
	}
	return hit
}

func (d *desk) pendingLeases() []string {
	d.t.Helper()
	cur, err := d.db.Collection("pending_transitions").Find(context.Background(), bson.D{{Key: "kind", Value: "lease"}})
	if err != nil {
		d.t.Fatal(err)
	}
	var ps []struct {
		Entity string `bson:"entity"`
	}
	if err := cur.All(context.Background(), &ps); err != nil {
		d.t.Fatal(err)
	}
	var out []string
	for _, p := range ps {
		out = append(out, p.Entity)
	}
	return out
}

func (d *desk) reconcile() {
	d.t.Helper()
	if _, err := d.svc.Reconcile(context.Background(), -time.Second); err != nil {
		d.t.Fatal(err)
	}
	if n, err := d.svc.Reconcile(context.Background(), -time.Second); err != nil || n != 0 {
		d.t.Fatalf("second reconcile fixed %d, %v", n, err)
	}
}

// crashPolicy subsidises low_income and asks it for a deposit, so one
// checkout exercises every kind of write: a subsidy grant, rent, deposit,
// subsidy and payment entries.
func crashPolicy() *Policy {
	p := DefaultPolicy()
	p.AnnualCapFen = 100000
	p.Tiers[LowIncome] = TierRule{ShareBP: 2000, LateFees: true}
	return &p
}

// Invariant 3 for checkout: a crash between any two writes is repaired by
// Reconcile into a consistent lease — completed when the unit moved,
// otherwise cancelled with its subsidy released.
func TestCheckoutCrashPoints(t *testing.T) {
	points := []string{"checkout:marked", "checkout:subsidy", "checkout:opened", "checkout:unit", "checkout:activated", "checkout:ledger", "checkout:projected"}
	for i, point := range points {
		t.Run(point, func(t *testing.T) {
			ctx := context.Background()
			d := newDesk(t, crashPolicy())
			r := d.renter(d.staffA1, d.a1, "崩")
			d.verify(r, LowIncome)
			tag := d.unit(d.a1, d.wcA)
			hit := d.crashAt(point)
			_, err := d.checkout(d.staffA1, d.a1, tag, r, 30, cash(31800))
			d.svc.crash = nil
			if !*hit || !errors.Is(err, errCrash) {
				t.Fatalf("crash at %s: reached %v, err %v", point, *hit, err)
			}
			leases := d.pendingLeases()
			if len(leases) != 1 {
				t.Fatalf("pending markers %v", leases)
			}
			d.reconcile()
			l := d.consistent(leases[0])
			moved := i >= slices.Index(points, "checkout:unit")
			used, _ := d.svc.SubsidyUsed(ctx, r.ID, 2026)
			u := d.unitNow(tag)
			if moved {
				if l.State != LeaseActive || u.State != stations.Rented || used != 7200 {
					t.Fatalf("completed checkout: lease %s, unit %s, subsidy %d", l.State, u.State, used)
				}
				if got := entries(d.ledger(l.ID)); !slices.Equal(got, []string{"rent 9000", "deposit 30000", "subsidy 7200", "payment 31800"}) {
					t.Fatalf("ledger %v", got)
				}
				return
			}
			if l.State != LeaseCancelled || u.State != stations.Available || used != 0 {
				t.Fatalf("undone checkout: lease %s, unit %s, subsidy %d", l.State, u.State, used)
			}
			if _, err := d.svc.Lease(ctx, tenancy.PlatformScope, l.ID); !errors.Is(err, ErrNotFound) {
				t.Fatalf("a cancelled checkout is listed: %v", err)
			}
			// The desk tries again and it works.
			again, err := d.checkout(d.staffA1, d.a1, tag, r, 30, cash(31800))
			if err != nil {
				t.Fatal(err)
			}
			d.consistent(again.ID)
			if used, _ := d.svc.SubsidyUsed(ctx, r.ID, 2026); used != 7200 {
				t.Fatalf("subsidy after retry %d", used)
			}
		})
	}
}

// Invariant 3 for check-in: once the check-in is recorded it is completed
// (unit moves, ledger, closing); before that nothing changed.
func TestCheckinCrashPoints(t *testing.T) {
	points := []string{"checkin:marked", "checkin:event", "checkin:unit-returned", "checkin:unit-inspected", "checkin:ledger", "checkin:closed", "checkin:projected"}
	for _, point := range points {
		t.Run(point, func(t *testing.T) {
			ctx := context.Background()
			d := newDesk(t, crashPolicy())
			r := d.renter(d.staffA1, d.a1, "归")
			tag := d.unit(d.a1, d.wcA)
			l := d.mustCheckout(d.a1, tag, r, 30)
			d.clk.addDays(31) // due 04-01, back 04-02: one day late, ¥5
			hit := d.crashAt(point)
			_, err := d.svc.Checkin(ctx, d.staffA2, CheckinRequest{UnitTag: tag, StationID: d.a2.ID, Outcome: OutcomeDamaged,
				DamageFen: 5000, Notes: "bent", RefundMethod: PayCash}, d.clerk)
			d.svc.crash = nil
			if !*hit || !errors.Is(err, errCrash) {
				t.Fatalf("crash at %s: reached %v, err %v", point, *hit, err)
			}
			d.reconcile()
			got := d.consistent(l.ID)
			u := d.unitNow(tag)
			if point == "checkin:marked" {
				if got.State != LeaseActive || u.State != stations.Rented {
					t.Fatalf("nothing recorded, yet lease %s unit %s", got.State, u.State)
				}
				return
			}
			if got.State != LeaseClosed || u.State != stations.Repair || u.StationID != d.a2.ID {
				t.Fatalf("lease %s, unit %s at %s", got.State, u.State, u.StationID)
			}
			want := []string{"rent 9000", "deposit 30000", "payment 39000", "late_fee 500", "damage 5000", "deposit_return 30000", "refund 24500"}
			if got := entries(d.ledger(l.ID)); !slices.Equal(got, want) {
				t.Fatalf("ledger %v", got)
			}
			hist, _ := d.st.History(ctx, tag)
			if len(hist) != 4 {
				t.Fatalf("unit history has %d events, want created, checkout, checkin, inspected", len(hist))
			}
		})
	}
}

// The other flows: extension, settlement, loss, registration.
func TestOtherCrashPoints(t *testing.T) {
	type flow struct {
		points []string
		// run sets up (before the crash is armed), then returns the
		// operation to crash and a check for after Reconcile.
		run func(d *desk) (op func() error, check func(decided bool))
	}
	flows := map[string]flow{
		"extend": {[]string{"extend:marked", "extend:subsidy", "extend:event", "extend:ledger", "extend:projected"}, func(d *desk) (func() error, func(bool)) {
			r := d.renter(d.staffA1, d.a1, "延")
			d.verify(r, LowIncome)
			l := d.mustCheckout(d.a1, d.unit(d.a1, d.wcA), r, 10)
			return func() error {
					_, err := d.svc.Extend(context.Background(), d.staffA1, l.ID, 20, cash(800), d.clerk)
					return err
				}, func(decided bool) {
					got := d.consistent(l.ID)
					used, _ := d.svc.SubsidyUsed(context.Background(), r.ID, 2026)
					if decided && (got.Days != 30 || used != 7200) || !decided && (got.Days != 10 || used != 4000) {
						d.t.Fatalf("decided %v: %d days, subsidy %d", decided, got.Days, used)
					}
				}
		}},
		"settle": {[]string{"settle:marked", "settle:event", "settle:ledger", "settle:closed", "settle:projected"}, func(d *desk) (func() error, func(bool)) {
			r := d.renter(d.staffA1, d.a1, "结")
			tag := d.unit(d.a1, d.wcA)
			l := d.mustCheckout(d.a1, tag, r, 30)
			if _, err := d.svc.Checkin(context.Background(), d.staffA1, CheckinRequest{UnitTag: tag, StationID: d.a1.ID, Outcome: OutcomeDamaged, DamageFen: 40000, Notes: "frame"}, d.clerk); err != nil {
				d.t.Fatal(err)
			}
			return func() error {
					_, err := d.svc.SettleLease(context.Background(), d.staffA1, l.ID, cash(10000), d.clerk)
					return err
				}, func(decided bool) {
					got := d.consistent(l.ID)
					if decided != (got.State == LeaseClosed) {
						d.t.Fatalf("decided %v: lease %s", decided, got.State)
					}
				}
		}},
		"lost": {[]string{"lost:marked", "lost:event", "lost:unit", "lost:ledger", "lost:closed", "lost:projected"}, func(d *desk) (func() error, func(bool)) {
			r := d.renter(d.staffA1, d.a1, "失")
			tag := d.unit(d.a1, d.wcA)
			l := d.mustCheckout(d.a1, tag, r, 5)
			d.clk.addDays(60)
			return func() error {
					_, err := d.svc.DeclareLost(context.Background(), d.staffA1, l.ID, d.clerk)
					return err
				}, func(decided bool) {
					got := d.consistent(l.ID)
					u := d.unitNow(tag)
					if decided != (got.State == LeaseClosed && got.EndReason == "lost" && u.State == stations.Lost) {
						d.t.Fatalf("decided %v: lease %s, unit %s", decided, got.State, u.State)
					}
				}
		}},
		"found": {[]string{"found:marked", "found:event", "found:unit-returned", "found:unit-inspected", "found:ledger", "found:closed", "found:projected"}, func(d *desk) (func() error, func(bool)) {
			r := d.renter(d.staffA1, d.a1, "寻")
			tag := d.unit(d.a1, d.wcA)
			l := d.mustCheckout(d.a1, tag, r, 5)
			d.clk.addDays(40)
			if _, err := d.svc.DeclareLost(context.Background(), d.staffA1, l.ID, d.clerk); err != nil {
				d.t.Fatal(err)
			}
			return func() error {
					_, err := d.svc.Found(context.Background(), d.staffA2, CheckinRequest{UnitTag: tag, StationID: d.a2.ID, Outcome: OutcomeNeedsRepair,
						DamageFen: 1000, Notes: "scratched", RefundMethod: PayCash}, d.clerk)
					return err
				}, func(decided bool) {
					got := d.consistent(l.ID)
					u := d.unitNow(tag)
					if !decided {
						if got.EndReason != "lost" || u.State != stations.Lost {
							d.t.Fatalf("not decided: lease %s (%s), unit %s", got.State, got.EndReason, u.State)
						}
						return
					}
					want := []string{"recovered 30000", "late_fee 17500", "damage 1000", "refund 11500"}
					if got.State != LeaseClosed || got.EndReason != "found" || u.State != stations.Repair || u.StationID != d.a2.ID ||
						!slices.Equal(entries(d.ledger(l.ID))[5:], want) {
						d.t.Fatalf("lease %s (%s), unit %s at %s, ledger %v", got.State, got.EndReason, u.State, u.StationID, entries(d.ledger(l.ID)))
					}
					losses, _ := d.svc.Losses(context.Background(), d.adminA)
					if len(losses) != 1 || losses[0].Loss.FoundOn == "" {
						d.t.Fatalf("losses report %+v", losses)
					}
				}
		}},
		"waive": {[]string{"waive:marked", "waive:event", "waive:ledger", "waive:closed", "waive:projected"}, func(d *desk) (func() error, func(bool)) {
			r := d.renter(d.staffA1, d.a1, "免")
			tag := d.unit(d.a1, d.wcA)
			l := d.mustCheckout(d.a1, tag, r, 30)
			if _, err := d.svc.Checkin(context.Background(), d.staffA1, CheckinRequest{UnitTag: tag, StationID: d.a1.ID, Outcome: OutcomeDamaged, DamageFen: 34000, Notes: "frame"}, d.clerk); err != nil {
				d.t.Fatal(err)
			}
			return func() error {
					_, _, err := d.svc.Waive(context.Background(), d.staffA1, l.ID, WaiverRequest{AmountFen: 4000, Reason: "hardship"}, d.clerk)
					return err
				}, func(decided bool) {
					got := d.consistent(l.ID)
					ws, _ := d.svc.Waivers(context.Background(), d.adminA, WaiverApplied, "")
					if decided != (got.State == LeaseClosed && len(ws) == 1) {
						d.t.Fatalf("decided %v: lease %s, waivers %+v", decided, got.State, ws)
					}
				}
		}},
		"approve": {[]string{"approve:decided", "approve:applied"}, func(d *desk) (func() error, func(bool)) {
			r := d.renter(d.staffA1, d.a1, "批")
			tag := d.unit(d.a1, d.wcA)
			l := d.mustCheckout(d.a1, tag, r, 30)
			if _, err := d.svc.Checkin(context.Background(), d.staffA1, CheckinRequest{UnitTag: tag, StationID: d.a1.ID, Outcome: OutcomeDamaged, DamageFen: 40000, Notes: "frame"}, d.clerk); err != nil {
				d.t.Fatal(err)
			}
			w, _, err := d.svc.Waive(context.Background(), d.staffA1, l.ID, WaiverRequest{AmountFen: 10000, Reason: "device_fault"}, d.clerk)
			if err != nil || w.State != WaiverPending {
				d.t.Fatalf("request %+v %v", w, err)
			}
			admin := tenancy.Actor{ID: "u-admin", Name: "Admin", Role: ApproverRole}
			return func() error {
					_, err := d.svc.DecideWaiver(context.Background(), d.adminA, w.ID, true, "", admin)
					return err
				}, func(bool) {
					// The approval is the decision: after any crash the
					// waiver is applied once and the lease closes.
					got := d.consistent(l.ID)
					ws, _ := d.svc.Waivers(context.Background(), d.adminA, "", "")
					if got.State != LeaseClosed || got.WaivedFen != 10000 || len(ws) != 1 || ws[0].State != WaiverApplied {
						d.t.Fatalf("lease %s waived %d, waivers %+v", got.State, got.WaivedFen, ws)
					}
				}
		}},
	}
	for name, f := range flows {
		for i, point := range f.points {
			t.Run(point, func(t *testing.T) {
				d := newDesk(t, crashPolicy())
				op, check := f.run(d)
				hit := d.crashAt(point)
				err := op()
				d.svc.crash = nil
				if !*hit || !errors.Is(err, errCrash) {
					t.Fatalf("crash at %s: reached %v, err %v", point, *hit, err)
				}
				d.reconcile()
				// Decided once the flow's lease event is written.
				decided := i >= slices.Index(f.points, name+":event")
				check(decided)
			})
		}
	}
	// A waiver request stopped after its event is listed by the reconciler.
	t.Run("request:event", func(t *testing.T) {
		ctx := context.Background()
		d := newDesk(t, nil)
		r := d.renter(d.staffA1, d.a1, "请")
		tag := d.unit(d.a1, d.wcA)
		l := d.mustCheckout(d.a1, tag, r, 30)
		if _, err := d.svc.Checkin(ctx, d.staffA1, CheckinRequest{UnitTag: tag, StationID: d.a1.ID, Outcome: OutcomeDamaged, DamageFen: 40000, Notes: "frame"}, d.clerk); err != nil {
			t.Fatal(err)
		}
		hit := d.crashAt("request:event")
		_, _, err := d.svc.Waive(ctx, d.staffA1, l.ID, WaiverRequest{AmountFen: 10000, Reason: "hardship"}, d.clerk)
		d.svc.crash = nil
		if !*hit || !errors.Is(err, errCrash) {
			t.Fatalf("crash: reached %v, err %v", *hit, err)
		}
		if q, _ := d.svc.Waivers(ctx, d.adminA, WaiverPending, ""); len(q) != 0 {
			t.Fatalf("listed before the reconciler %+v", q)
		}
		d.reconcile()
		if q, _ := d.svc.Waivers(ctx, d.adminA, WaiverPending, ""); len(q) != 1 {
			t.Fatalf("queue after the reconciler %+v", q)
		}
	})
	// A registration: the person and the phone are claimed before the
	// record; a crash after a claim and before the record leaves both to the
	// reconciler, which releases them, and one after the record keeps them.
	for _, point := range []string{"register:marked", "register:person", "register:claimed", "register:event", "register:projected"} {
		t.Run(point, func(t *testing.T) {
			ctx := context.Background()
			d := newDesk(t, nil)
			hit := d.crashAt(point)
			reg := Renter{Name: "登", Phone: "13611112222", IDNumber: validIDs[0], HomeStationID: d.a1.ID}
			_, err := d.svc.RegisterRenter(ctx, d.staffA1, reg, d.clerk)
			d.svc.crash = nil
			if !*hit || !errors.Is(err, errCrash) {
				t.Fatalf("crash at %s: reached %v, err %v", point, *hit, err)
			}
			d.reconcile()
			got, err := d.svc.RenterByPhone(ctx, d.staffA1, reg.Phone, d.clerk)
			head := d.personHead(reg.IDNumber)
			again := reg
			again.Phone, again.HomeStationID = "13611113333", d.b1.ID
			recorded := point == "register:event" || point == "register:projected"
			if recorded {
				if err != nil || got.Name != "登" {
					t.Fatalf("registered renter lost: %v", err)
				}
				if n := count(t, d.db.Collection("renters"), bson.D{}); n != 1 {
					t.Fatalf("renters projection has %d", n)
				}
				if head.Event.Kind != personClaimed || head.Event.RenterID != got.ID {
					t.Fatalf("the person's claim after the reconciler: %+v", head)
				}
				if _, err := d.svc.RegisterRenter(ctx, d.staffB1, again, d.clerk); !idRegistered(err, d.a1.ID) {
					t.Fatalf("the person registered twice: %v", err)
				}
				return
			}
			if !errors.Is(err, ErrNotFound) {
				t.Fatalf("abandoned registration found: %+v %v", got, err)
			}
			// The reconciler let go of what was claimed: the person (under
			// another phone number) and the phone are free again.
			if point != "register:marked" && head.Event.Kind != personReleased {
				t.Fatalf("the person's claim after the reconciler: %+v", head)
			}
			r, err := d.svc.RegisterRenter(ctx, d.staffB1, again, d.clerk)
			if err != nil {
				t.Fatalf("register the person again: %v", err)
			}
			reg.IDNumber = validIDs[1]
			if _, err := d.svc.RegisterRenter(ctx, d.staffA1, reg, d.clerk); err != nil {
				t.Fatalf("register the phone again: %v", err)
			}
			if head := d.personHead(validIDs[0]); head.Event.RenterID != r.ID {
				t.Fatalf("the claim names %s, not the record %s", head.Event.RenterID, r.ID)
			}
		})
	}
}

// The ledger's rules hold over random sequences of desk operations, policy
// changes (caps, shares, deposits, lost-device rules), losses and
// recoveries, waivers, refunds, extensions across station closures and the
// turn of the year, check-outs stopped at a crash point or stalled around
// the reconciler: the balance is debits − credits of the written entries,
// equals what the lease says, a lease never closes with a balance, and a
// cancelled lease has no entry (consistent checks each). Each grant stays
// within the person's cap for the year under the policy in force that day,
// and each extension's due date is the first open day from the old due date
// (or today, when overdue) plus the days paid for.
func TestLedgerProperty(t *testing.T) {
	ctx := context.Background()
	pol := crashPolicy()
	pol.AnnualCapFen = 20000
	pol.LostAfterDays = 3 // so that losses, and finds, happen often
	d := newDesk(t, pol)
	// Mid-November, so the random walk crosses 31 December; the station is
	// closed for a few holidays on the way.
	d.clk.set(time.Date(2026, 11, 16, 10, 0, 0, 0, l10n.Local))
	st := d.a1
	st.Hours.ClosedOn = []string{"2026-11-30", "2026-12-24", "2026-12-25", "2026-12-26", "2027-01-01", "2027-01-02", "2027-01-04", "2027-02-16", "2027-02-17"}
	if _, err := d.st.UpdateStation(ctx, st); err != nil {
		t.Fatal(err)
	}
	admin := tenancy.Actor{ID: "u-admin", Name: "Admin", Role: ApproverRole}
	rng := rand.New(rand.NewPCG(7, 11))
	var renters []Renter
	for i, tier := range []Tier{Standard, LowIncome, Subsistence, LowIncome} {
		r := d.renter(d.staffA1, d.a1, fmt.Sprintf("随%d", i))
		if tier != Standard {
			d.verify(r, tier)
		}
		renters = append(renters, r)
	}
	var tags []string
	for range 7 {
		tags = append(tags, d.unit(d.a1, d.wcA))
	}
	var leases []string
	ops := map[string]int{}
	pick := func(ok func(Lease) bool) (Lease, bool) {
		var cands []Lease
		for _, id := range leases {
			l, err := d.svc.Lease(ctx, d.adminA, id)
			if err != nil {
				t.Fatal(err)
			}
			if ok(l) {
				cands = append(cands, l)
			}
		}
		if len(cands) == 0 {
			return Lease{}, false
		}
		return cands[rng.IntN(len(cands))], true
	}
	in := func(states ...LeaseState) func(Lease) bool {
		return func(l Lease) bool { return slices.Contains(states, l.State) }
	}
	check := func(step int, id string) {
		l := d.consistent(id)
		lg := d.ledger(id)
		if lg.BalanceFen != lg.DebitsFen-lg.CreditsFen || lg.BalanceFen != l.BalanceFen || !lg.Complete {
			t.Fatalf("step %d: lease %s ledger %+v, lease balance %d", step, id, lg, l.BalanceFen)
		}
	}
	grantsAtNewYear := 0
	// A grant made in a step keeps the person's year within the cap in
	// force that day (rules 8 and 15 of docs/pricing.md).
	withinCap := func(step int, before, after Lease) {
		if len(after.Grants) == len(before.Grants) {
			return
		}
		capFen := d.pol.InForce(d.clk.now()).AnnualCapFen
		year := d.clk.now().In(l10n.Local).Year()
		if g := after.Grants[len(after.Grants)-1]; !strings.HasSuffix(g.Entity, fmt.Sprintf("-%d", year)) {
			t.Fatalf("step %d: lease %s's grant on %s counts in %s", step, after.ID, d.clk.now().In(l10n.Local), g.Entity)
		}
		if d.clk.now().UTC().Year() < year {
			grantsAtNewYear++
		}
		used, err := d.svc.SubsidyUsed(ctx, after.RenterID, year)
		if err != nil {
			t.Fatal(err)
		}
		if capFen > 0 && used > capFen {
			t.Fatalf("step %d: lease %s's grant takes the year to %d fen, the cap in force is %d", step, after.ID, used, capFen)
		}
	}
	// Cancelled check-outs (stopped or stalled writers): listed nowhere,
	// no ledger entry, their subsidy released.
	var cancelled []string
	checkCancelled := func(step int, id string) {
		if l := d.consistent(id); l.State != LeaseCancelled {
			t.Fatalf("step %d: lease %s is %s, not cancelled", step, id, l.State)
		}
		if n := count(t, d.db.Collection("ledger_events"), bson.D{{Key: "entity", Value: id}}); n != 0 {
			t.Fatalf("step %d: cancelled lease %s has %d ledger entries", step, id, n)
		}
	}
	checkoutPoints := []string{"checkout:marked", "checkout:subsidy", "checkout:opened", "checkout:unit", "checkout:activated", "checkout:ledger", "checkout:projected"}
	extensions := map[string]int{}
	years := map[int]bool{}
	// freshCheckout picks a unit made available and a renter for a
	// check-out that a crash or a stall will interrupt, with its quote.
	freshCheckout := func() (string, Renter, Quote, bool) {
		tag := tags[rng.IntN(len(tags))]
		if !d.makeAvailable(tag) {
			return "", Renter{}, Quote{}, false
		}
		r := renters[rng.IntN(len(renters))]
		q, err := d.svc.QuoteFor(ctx, d.staffA1, QuoteRequest{RenterID: r.ID, ProductID: d.wcA, Days: 30})
		if err != nil {
			t.Fatal(err)
		}
		return tag, r, q, true
	}
	for step := 0; step < 200; step++ {
		var err error
		op, touched := "", ""
		// Weights: checkout 2, extend 2, time 2, lost 2, the rest 1.
		switch []int{0, 1, 2, 2, 3, 3, 4, 5, 6, 6, 7, 8, 9, 10, 11}[rng.IntN(15)] {
		case 0, 1:
			op = "checkout"
			tag := tags[rng.IntN(len(tags))]
			if !d.makeAvailable(tag) {
				continue // out on a lease, or lost: try another step
			}
			r := renters[rng.IntN(len(renters))]
			days := 1 + rng.IntN(60)
			q, qerr := d.svc.QuoteFor(ctx, d.staffA1, QuoteRequest{RenterID: r.ID, ProductID: d.wcA, Days: days})
			if qerr != nil {
				t.Fatal(qerr)
			}
			pay := cash(q.DueNowFen)
			if q.DueNowFen > 1 && rng.IntN(2) == 0 {
				pay = []Payment{{Method: PayCash, AmountFen: q.DueNowFen / 2}, {Method: PayOfflineMobile, AmountFen: q.DueNowFen - q.DueNowFen/2, Reference: "T1"}}
			}
			var l Lease
			l, err = d.checkout(d.staffA1, d.a1, tag, r, days, pay)
			if err == nil {
				leases = append(leases, l.ID)
				touched = l.ID
				withinCap(step, Lease{}, l)
			}
		case 2:
			op = "extend"
			l, ok := pick(in(LeaseActive, LeaseOverdue))
			if !ok {
				continue
			}
			days := 1 + rng.IntN(30)
			q, qerr := d.svc.ExtensionQuote(ctx, d.staffA1, l.ID, days)
			if qerr != nil {
				t.Fatal(qerr)
			}
			// The cap is what is left of the person's year under the policy
			// in force today, whatever the lease's version says (rule 8).
			if uncapped := q.SubsidyFen + q.CappedFen; uncapped > 0 {
				capFen := d.pol.InForce(d.clk.now()).AnnualCapFen
				used, uerr := d.svc.SubsidyUsed(ctx, l.RenterID, d.clk.now().In(l10n.Local).Year())
				if uerr != nil {
					t.Fatal(uerr)
				}
				want, subsidy := int64(-1), uncapped
				if capFen > 0 {
					want = max(capFen-used, 0)
					subsidy = min(uncapped, want)
				}
				if q.CapRemainingFen != want || q.SubsidyFen != subsidy {
					t.Fatalf("step %d: extension of %s (policy version %d) under a cap in force of %d with %d used: %+v", step, l.ID, l.PolicyVersion, capFen, used, q)
				}
			}
			var got Lease
			got, err = d.svc.Extend(ctx, d.staffA1, l.ID, days, cash(q.DueNowFen), d.clerk)
			touched = l.ID
			if err != nil {
				break
			}
			// The due date moves by the days paid for, from the due date or
			// from today when overdue (rules 9 and 10), then to the first
			// open day: every day from there to the new due date is closed.
			today := Date(d.clk.now())
			from, overdue := l.DueOn, l.DueOn < today
			if overdue {
				from = today
			}
			first := mustDate(from).AddDate(0, 0, days)
			if got.DueOn < Date(first) || !st.Hours.OpenOn(mustDate(got.DueOn)) || got.Days != l.Days+days {
				t.Fatalf("step %d: %d days more from %s (due %s) gave due %s, %d days", step, days, from, l.DueOn, got.DueOn, got.Days)
			}
			for day := first; Date(day) < got.DueOn; day = day.AddDate(0, 0, 1) {
				if st.Hours.OpenOn(day) {
					t.Fatalf("step %d: %d days more from %s: due %s, but %s is open", step, days, from, got.DueOn, Date(day))
				}
			}
			withinCap(step, l, got)
			if got.DueOn > Date(first) {
				extensions["over a closure"]++
			}
			if overdue {
				extensions["overdue"]++
			}
			if l.StartOn[:4] < today[:4] {
				extensions["into the next year"]++
			}
			if l.PolicyVersion < d.pol.InForce(d.clk.now()).Version {
				extensions["under a newer policy"]++
			}
		case 3:
			op = "time"
			before := d.clk.now()
			d.clk.addDays(rng.IntN(15))
			// The walk spends the first night of the new year at 00:30 in
			// the city, still 31 December in UTC.
			if newYear := time.Date(2027, 1, 1, 0, 30, 0, 0, l10n.Local); before.Before(newYear) && !d.clk.now().Before(newYear) {
				d.clk.set(newYear)
			}
			_, err = d.svc.MarkOverdue(ctx, d.clk.now())
		case 4:
			op = "checkin"
			l, ok := pick(in(LeaseActive, LeaseOverdue))
			if !ok {
				continue
			}
			o := Outcomes[rng.IntN(len(Outcomes))]
			req := CheckinRequest{UnitTag: l.UnitTag, StationID: d.a1.ID, Outcome: o, RefundMethod: PayCash}
			if o.UnitState() == stations.Repair && rng.IntN(2) == 0 {
				req.DamageFen, req.Notes = int64(rng.IntN(60000)), "worn"
			}
			_, err = d.svc.Checkin(ctx, d.staffA1, req, d.clerk)
			touched = l.ID
		case 5:
			op = "settle"
			l, ok := pick(func(l Lease) bool { return in(LeaseReturned, LeaseLost)(l) && l.BalanceFen != 0 })
			if !ok {
				continue
			}
			if l.BalanceFen < 0 {
				op = "refund"
				_, err = d.svc.RefundLease(ctx, d.staffA1, l.ID, PayCash, "", d.clerk)
			} else {
				amount := 1 + rng.Int64N(l.BalanceFen)
				method := []string{PayCash, PayOfflineMobile}[rng.IntN(2)]
				_, err = d.svc.SettleLease(ctx, d.staffA1, l.ID, []Payment{{Method: method, AmountFen: amount, Reference: "R"}}, d.clerk)
			}
			touched = l.ID
		case 6:
			op = "lost"
			l, ok := pick(func(l Lease) bool {
				return l.State.Out() && l.DaysOverdue(d.clk.now()) >= l.LostAfterDays
			})
			if !ok {
				continue
			}
			_, err = d.svc.DeclareLost(ctx, d.staffA1, l.ID, d.clerk)
			touched = l.ID
		case 7:
			op = "found"
			l, ok := pick(func(l Lease) bool { return l.EndReason == "lost" })
			if !ok {
				continue
			}
			o := Outcomes[rng.IntN(len(Outcomes))]
			req := CheckinRequest{UnitTag: l.UnitTag, StationID: d.a1.ID, Outcome: o, RefundMethod: PayCash}
			if o.UnitState() == stations.Repair && rng.IntN(2) == 0 {
				req.DamageFen, req.Notes = int64(rng.IntN(60000)), "found worn"
			}
			_, err = d.svc.Found(ctx, d.staffA1, req, d.clerk)
			touched = l.ID
		case 8:
			op = "waive"
			l, ok := pick(func(l Lease) bool { return l.BalanceFen > 0 })
			if !ok {
				continue
			}
			scope, by := d.staffA1, d.clerk
			if rng.IntN(3) == 0 {
				scope, by = d.adminA, admin
			}
			var w Waiver
			w, _, err = d.svc.Waive(ctx, scope, l.ID, WaiverRequest{AmountFen: 1 + rng.Int64N(l.BalanceFen), Reason: WaiverReasons[rng.IntN(5)]}, by)
			if err == nil && w.State == WaiverPending {
				_, err = d.svc.DecideWaiver(ctx, d.adminA, w.ID, rng.IntN(2) == 0, "", admin)
			}
			touched = l.ID
		case 9:
			op = "policy"
			p := d.pol.Current()
			next := DefaultPolicy()
			next.AnnualCapFen = []int64{0, 5000, 20000}[rng.IntN(3)]
			next.Tiers[LowIncome] = TierRule{ShareBP: []int{1000, 2000, 5000}[rng.IntN(3)], WaiveDeposit: rng.IntN(2) == 0,
				LateFees: true, LostCharge: LostCharges[rng.IntN(len(LostCharges))]}
			next.LostAfterDays = 3
			next.Note = fmt.Sprintf("step %d", step)
			_, err = d.pol.Put(ctx, p.Version, next)
		case 10:
			// A check-out stopped at a crash point, then the reconciler.
			op = "crash"
			tag, r, q, ok := freshCheckout()
			if !ok {
				continue
			}
			points := checkoutPoints
			if q.SubsidyFen == 0 { // no grant to append
				points = slices.DeleteFunc(slices.Clone(points), func(p string) bool { return p == "checkout:subsidy" })
			}
			hit := d.crashAt(points[rng.IntN(len(points))])
			_, cerr := d.checkout(d.staffA1, d.a1, tag, r, 30, cash(q.DueNowFen))
			d.svc.crash = nil
			if !*hit || !errors.Is(cerr, errCrash) {
				t.Fatalf("step %d: crashed check-out: reached %v, %v", step, *hit, cerr)
			}
			id := d.pendingLeases()[0]
			d.reconcile()
			if l := d.consistent(id); l.State == LeaseCancelled {
				checkCancelled(step, id)
				cancelled = append(cancelled, id)
			} else {
				leases = append(leases, id)
				touched = id
			}
		case 11:
			// A check-out writer stalled after its unit check while the
			// reconciler cancels it; it wakes and must write nothing.
			op = "stall"
			tag, r, q, ok := freshCheckout()
			if !ok {
				continue
			}
			reached, release := d.stallAt("checkout:unit-checked")
			done := make(chan error, 1)
			go func() {
				_, err := d.checkout(d.staffA1, d.a1, tag, r, 30, cash(q.DueNowFen))
				done <- err
			}()
			<-reached
			id := d.pendingLeases()[0]
			if _, err := d.svc.Reconcile(ctx, -time.Second); err != nil {
				t.Fatal(err)
			}
			close(release)
			if werr := <-done; !errors.Is(werr, ErrConflict) {
				t.Fatalf("step %d: the stalled writer says %v", step, werr)
			}
			d.svc.crash = nil
			d.reconcile()
			if l := d.consistent(id); l.State != LeaseCancelled {
				t.Fatalf("step %d: stalled check-out %s is %s", step, id, l.State)
			}
			checkCancelled(step, id)
			cancelled = append(cancelled, id)
		}
		if err != nil {
			t.Fatalf("step %d %s: %v", step, op, err)
		}
		ops[op]++
		years[d.clk.now().In(l10n.Local).Year()] = true
		if touched != "" {
			check(step, touched)
		}
	}
	for _, id := range leases {
		check(-1, id)
	}
	for _, id := range cancelled {
		checkCancelled(-1, id)
	}
	if n := count(t, d.db.Collection("ledger_events"), bson.D{{Key: "entity", Value: bson.D{{Key: "$in", Value: cancelled}}}}); n != 0 {
		t.Fatalf("%d ledger entries in cancelled leases", n)
	}
	for _, op := range []string{"checkout", "checkin", "extend", "lost", "found", "waive", "policy", "crash", "stall"} {
		if ops[op] < 2 {
			t.Fatalf("too few %s operations exercised: %v", op, ops)
		}
	}
	for _, kind := range []string{"over a closure", "overdue", "into the next year", "under a newer policy"} {
		if extensions[kind] < 1 {
			t.Fatalf("no extension %s: %v", kind, extensions)
		}
	}
	if grantsAtNewYear < 1 {
		t.Fatal("no grant made on 1 January in the city while it was 31 December in UTC")
	}
	if len(cancelled) < 2 {
		t.Fatalf("too few cancelled check-outs: %d", len(cancelled))
	}
	if !years[2026] || !years[2027] {
		t.Fatalf("the walk did not cross the year: %v", years)
	}
	t.Logf("operations: %v over %d leases and %d cancelled check-outs, extensions %v, ending %s", ops, len(leases), len(cancelled), extensions, Date(d.clk.now()))
}

// makeAvailable works a unit through the stations' queues (repair, cleaning)
// back to available; false when it is out on a lease or lost (a lost unit
// comes back only by being found).
func (d *desk) makeAvailable(tag string) bool {
	d.t.Helper()
	for range 4 {
		next := stations.State("")
		switch d.unitNow(tag).State {
		case stations.Available:
			return true
		case stations.Returned, stations.Repair:
			next = stations.Cleaning
		case stations.Cleaning:
			next = stations.Available
		default:
			return false
		}
		if _, err := d.st.Move(context.Background(), tag, stations.Move{To: next, By: tenancy.System}); err != nil {
			d.t.Fatal(err)
		}
	}
	return false
}

// Defect 3: a check-out writer that stalls after its unit check while the
// reconciler cancels its lease (and releases the subsidy) must not write
// the lease's ledger when it wakes: a cancelled lease has no entries, the
// unit goes back through cleaning, the renter's subsidy is not counted.
// The crash tests stop writers; this one stalls one around the reconciler.
func TestCheckoutWriterStallsAroundReconciler(t *testing.T) {
	ctx := context.Background()
	d := newDesk(t, crashPolicy())
	r := d.renter(d.staffA1, d.a1, "慢")
	d.verify(r, LowIncome)
	tag := d.unit(d.a1, d.wcA)
	reached, release := d.stallAt("checkout:unit-checked")
	done := make(chan error, 1)
	go func() {
		_, err := d.checkout(d.staffA1, d.a1, tag, r, 30, cash(31800))
		done <- err
	}()
	<-reached
	// The writer checked the unit and the lease, then stalled; the
	// reconciler finds its marker and cancels the checkout.
	if _, err := d.svc.Reconcile(ctx, -time.Second); err != nil {
		t.Fatal(err)
	}
	leases := d.leaseIDs()
	if len(leases) != 1 {
		t.Fatalf("leases %v", leases)
	}
	close(release)
	err := <-done
	if err == nil || !errors.Is(err, ErrConflict) {
		t.Fatalf("the stalled writer says %v, want a conflict (try again)", err)
	}
	d.svc.crash = nil
	d.reconcile()
	l := d.consistent(leases[0])
	if l.State != LeaseCancelled {
		t.Fatalf("lease %s", l.State)
	}
	if n := count(t, d.db.Collection("ledger_events"), bson.D{}); n != 0 {
		t.Fatalf("%d ledger entries written for a cancelled checkout", n)
	}
	if used, _ := d.svc.SubsidyUsed(ctx, r.ID, 2026); used != 0 {
		t.Fatalf("subsidy %d counted for a cancelled checkout", used)
	}
	if u := d.unitNow(tag); u.State != stations.Cleaning && u.State != stations.Available {
		t.Fatalf("unit %s after the cancelled checkout", u.State)
	}
	// The desk tries again and it works, with one set of entries.
	d.makeAvailable(tag)
	again, err := d.checkout(d.staffA1, d.a1, tag, r, 30, cash(31800))
	if err != nil {
		t.Fatal(err)
	}
	d.consistent(again.ID)
	if got := entries(d.ledger(again.ID)); !slices.Equal(got, []string{"rent 9000", "deposit 30000", "subsidy 7200", "payment 31800"}) {
		t.Fatalf("ledger %v", got)
	}
}

// leaseIDs lists every lease that has a first event.
func (d *desk) leaseIDs() []string {
	d.t.Helper()
	cur, err := d.db.Collection("lease_events").Find(context.Background(), bson.D{{Key: "seq", Value: 1}})
	if err != nil {
		d.t.Fatal(err)
	}
	var evs []struct {
		Entity string `bson:"entity"`
	}
	if err := cur.All(context.Background(), &evs); err != nil {
		d.t.Fatal(err)
	}
	var out []string
	for _, e := range evs {
		out = append(out, e.Entity)
	}
	return out
}

// stallAt makes the next flow that reaches point wait there, as a writer
// that stalls would: reached is closed when it gets there, and it goes on
// when the caller closes release.
func (d *desk) stallAt(point string) (reached, release chan struct{}) {
	reached, release = make(chan struct{}), make(chan struct{})
	var once sync.Once
	d.svc.crash = func(p string) error {
		if p == point {
			once.Do(func() {
				close(reached)
				<-release
			})
		}
		return nil
	}
	return reached, release
}
