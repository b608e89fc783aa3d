package rentals

import (
	"context"
	"errors"
	"slices"
	"testing"

	"fuju/internal/tenancy"
)

// paidFor is the outcome payments delivers when the family paid offer o
// online.
func paidFor(o ExtensionOffer, key string) OnlineOutcome {
	return OnlineOutcome{Key: key, Ref: o.Ref, LeaseID: o.Lease.ID, TabID: o.Lease.ID, OperatorID: o.Lease.OperatorID,
		AmountFen: o.Quote.DueNowFen, FeeFen: 100, StripeRef: "pi_" + key}
}

// familyLease checks a unit out for 10 days to a renter of tier linked to
// the account "user-ext".
func (d *desk) familyLease(tier Tier) Lease {
	d.t.Helper()
	r := d.renter(d.staffA1, d.a1, "续租")
	if tier != Standard {
		d.verify(r, tier)
	}
	if _, err := d.svc.LinkUser(context.Background(), r.ID, "user-ext", d.clerk); err != nil {
		d.t.Fatal(err)
	}
	return d.mustCheckout(d.a1, d.unit(d.a1, d.wcA), r, 10)
}

// An extension paid online is applied when the money arrives, in one lease
// event with its paid_online credit (the desk's entries: extension, subsidy,
// and the online payment as its payment); delivered again, it adds nothing.
func TestExtensionPaidOnline(t *testing.T) {
	ctx := context.Background()
	d := newDesk(t, nil)
	l := d.familyLease(LowIncome) // 20%: 10 days ¥50, ¥10 paid
	o, err := d.svc.ExtensionOffer(ctx, "user-ext", l.ID, 20)
	if err != nil {
		t.Fatal(err)
	}
	// 30 days = one ¥90 block: ¥40 more, ¥8 the renter's, ¥32 subsidy.
	if o.Quote.StandardFen != 4000 || o.Quote.DueNowFen != 800 || o.Quote.SubsidyFen != 3200 || o.DueOn != "2026-04-01" ||
		o.Ref != ExtensionRef(l.ID, l.LedgerSeq, 20, 800) {
		t.Fatalf("offer %+v", o)
	}
	if _, err := d.svc.ExtensionOffer(ctx, "user-other", l.ID, 20); !errors.Is(err, ErrNotFound) {
		t.Fatalf("another account's offer: %v", err)
	}
	if _, err := d.svc.ExtendForAccount(ctx, "user-ext", l.ID, 20, tenancy.System); !errors.Is(err, ErrConflict) {
		t.Fatalf("a paying extension applied without payment: %v", err)
	}
	pay := paidFor(o, "paid-1")
	for range 3 {
		if err := d.svc.PaidOnline(ctx, pay); err != nil {
			t.Fatal(err)
		}
	}
	got := d.consistent(l.ID)
	if got.Days != 30 || got.DueOn != "2026-04-01" || got.Extensions != 1 || got.BalanceFen != 0 || got.PaidOnlineFen != 800 || len(got.Unapplied) != 0 {
		t.Fatalf("after payment %+v", got)
	}
	want := []string{"rent 5000", "subsidy 4000", "payment 1000", "extension 4000", "subsidy 3200", "paid_online 800", "platform_fee 100"}
	if e := entries(d.ledger(l.ID)); !slices.Equal(e, want) {
		t.Fatalf("ledger %v", e)
	}
	if used, _ := d.svc.SubsidyUsed(ctx, l.RenterID, 2026); used != 7200 {
		t.Fatalf("subsidy used %d, want 7200", used)
	}
	// The grant reads as an extension's on the city's subsidy statement.
	grant, ok, err := d.svc.subsidy.Get(ctx, got.Grants[1].Entity, got.Grants[1].Seq)
	if err != nil || !ok || grant.Event.Charge != "extend" || grant.Event.Days != 20 {
		t.Fatalf("grant %+v %v %v", grant.Event, ok, err)
	}
}

// When the lease is no longer as quoted when the money arrives, no
// extension is applied and the money stays on the lease as a credit, with
// why.
func TestExtensionPaidOnlineQuoteChanged(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name   string
		change func(d *desk, l Lease)
		reason string
		state  LeaseState
	}{
		{"extended at the desk meanwhile", func(d *desk, l Lease) {
			if _, err := d.svc.Extend(ctx, d.staffA1, l.ID, 5, cash(2500), d.clerk); err != nil {
				d.t.Fatal(err)
			}
		}, UnappliedChanged, LeaseActive},
		{"returned meanwhile", func(d *desk, l Lease) {
			if _, err := d.svc.Checkin(ctx, d.staffA1, CheckinRequest{UnitTag: l.UnitTag, StationID: d.a1.ID, Outcome: OutcomeOK, RefundMethod: PayCash}, d.clerk); err != nil {
				d.t.Fatal(err)
			}
		}, UnappliedLeaseState, LeaseReturned},
		{"a day later, overdue", func(d *desk, l Lease) { d.clk.addDays(11) }, UnappliedQuote, LeaseActive},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := newDesk(t, nil)
			l := d.familyLease(Standard)
			o, err := d.svc.ExtensionOffer(ctx, "user-ext", l.ID, 20)
			if err != nil || o.Quote.DueNowFen != 4000 {
				t.Fatalf("offer %+v %v", o, err)
			}
			tc.change(d, l)
			before := d.consistent(l.ID)
			for range 2 {
				if err := d.svc.PaidOnline(ctx, paidFor(o, "paid-1")); err != nil {
					t.Fatal(err)
				}
			}
			got := d.consistent(l.ID)
			if got.Days != before.Days || got.DueOn != before.DueOn || got.Extensions != before.Extensions {
				t.Fatalf("an extension was applied: %+v", got)
			}
			if got.BalanceFen != before.BalanceFen-4000 || got.PaidOnlineFen != 4000 || got.State != tc.state {
				t.Fatalf("credit not kept: balance %d (was %d), paid online %d, %s", got.BalanceFen, before.BalanceFen, got.PaidOnlineFen, got.State)
			}
			if len(got.Unapplied) != 1 || got.Unapplied[0].Reason != tc.reason || got.Unapplied[0].Ref != o.Ref || got.Unapplied[0].AmountFen != 4000 {
				t.Fatalf("unapplied %+v", got.Unapplied)
			}
		})
	}
}

// An extension that costs the family nothing (subsistence tier) is applied
// at once from the account, with the desk's rules.
func TestExtendForAccountFree(t *testing.T) {
	ctx := context.Background()
	d := newDesk(t, nil)
	l := d.familyLease(Subsistence)
	if _, err := d.svc.ExtendForAccount(ctx, "user-ext", l.ID, 0, tenancy.System); !fieldErr(err, "days") {
		t.Fatalf("0 days: %v", err)
	}
	if _, err := d.svc.ExtendForAccount(ctx, "user-other", l.ID, 20, tenancy.System); !errors.Is(err, ErrNotFound) {
		t.Fatalf("another account: %v", err)
	}
	got, err := d.svc.ExtendForAccount(ctx, "user-ext", l.ID, 20, tenancy.Actor{ID: "user-ext", Role: "renter"})
	if err != nil {
		t.Fatal(err)
	}
	if got.Days != 30 || got.DueOn != "2026-04-01" || got.Extensions != 1 || got.BalanceFen != 0 {
		t.Fatalf("extended %+v", got)
	}
	if e := entries(d.ledger(l.ID)); !slices.Equal(e, []string{"rent 5000", "subsidy 5000", "extension 4000", "subsidy 4000"}) {
		t.Fatalf("ledger %v", e)
	}
	d.consistent(l.ID)
}

// Invariant 3 for an extension paid online: a crash anywhere between the
// money's arrival and the extension's projection leaves a state that the
// reconciler and the next delivery of the same outcome (payments delivers
// it until the ledger takes it), in either order, bring to exactly one
// extension and one subsidy grant.
func TestExtensionPaidOnlineCrashPoints(t *testing.T) {
	points := []string{"extend:marked", "extend:subsidy", "extend_online:event", "extend:ledger", "extend_online:projected"}
	for _, point := range points {
		for _, deliverFirst := range []bool{false, true} {
			name := point
			if deliverFirst {
				name += "/delivered before the reconciler"
			}
			t.Run(name, func(t *testing.T) {
				ctx := context.Background()
				d := newDesk(t, nil)
				l := d.familyLease(LowIncome)
				o, err := d.svc.ExtensionOffer(ctx, "user-ext", l.ID, 20)
				if err != nil {
					t.Fatal(err)
				}
				hit := d.crashAt(point)
				err = d.svc.PaidOnline(ctx, paidFor(o, "paid-1"))
				d.svc.crash = nil
				if !*hit || !errors.Is(err, errCrash) {
					t.Fatalf("crash at %s: reached %v, err %v", point, *hit, err)
				}
				if !deliverFirst {
					d.reconcile()
				}
				if err := d.svc.PaidOnline(ctx, paidFor(o, "paid-1")); err != nil {
					t.Fatal(err)
				}
				if deliverFirst {
					d.reconcile()
				}
				got := d.consistent(l.ID)
				if got.Days != 30 || got.Extensions != 1 || got.BalanceFen != 0 || len(got.Unapplied) != 0 || len(got.Grants) != 2 {
					t.Fatalf("after the crash and the retry %+v", got)
				}
				want := []string{"rent 5000", "subsidy 4000", "payment 1000", "extension 4000", "subsidy 3200", "paid_online 800", "platform_fee 100"}
				if e := entries(d.ledger(l.ID)); !slices.Equal(e, want) {
					t.Fatalf("ledger %v", e)
				}
				if used, _ := d.svc.SubsidyUsed(ctx, l.RenterID, 2026); used != 7200 {
					t.Fatalf("subsidy used %d, want 7200", used)
				}
				if p := d.pendingLeases(); len(p) != 0 {
					t.Fatalf("pending markers left: %v", p)
				}
			})
		}
	}
}
