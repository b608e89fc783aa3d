package rentals

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"fuju/catalog"
	"fuju/internal/l10n"
	"fuju/internal/tenancy"
)

// line renders a ledger entry with everything the desk sees of it.
func line(e LedgerEntry) string {
	return fmt.Sprintf("%s %d %s %s %q", e.Kind, e.AmountFen, e.Method, e.Reference, e.Note)
}

// What the check-in page previews is what Checkin writes: the same entries,
// late fee and balance, for late, damaged, deposit and no-deposit,
// subsidised and block-only-priced returns.
func TestPreviewIsWhatCheckinWrites(t *testing.T) {
	ctx := context.Background()
	d := newDesk(t, nil)
	// A plan without a daily price: late days cost a thirtieth of the block.
	if _, err := d.cat.Create(ctx, tenancy.PlatformScope, catalog.Product{ID: "bed-a", OperatorID: "op-a", Category: "hospital_bed",
		Name: catalog.Text{Zh: "护理床", En: "Bed"}, Rate: catalog.RatePlan{Block30Fen: 9000, DepositFen: 30000}}, tenancy.System); err != nil {
		t.Fatal(err)
	}
	std := d.renter(d.staffA1, d.a1, "标准")
	low := d.renter(d.staffA1, d.a1, "低收入")
	d.verify(low, LowIncome)
	sub := d.renter(d.staffA1, d.a1, "低保")
	d.verify(sub, Subsistence)

	type tc struct {
		name     string
		renter   Renter
		product  string
		lateDays int
		req      CheckinRequest
		// what the renter owes before payments (negative: refunded), the
		// late fee, and the lease's state afterwards
		owed, lateFee int64
		state         LeaseState
	}
	cases := []tc{
		{name: "standard on time, deposit back", renter: std, product: d.wcA,
			req: CheckinRequest{Outcome: OutcomeOK, RefundMethod: PayCash}, owed: -30000, state: LeaseClosed},
		{name: "standard late and damaged, part paid", renter: std, product: d.wcA, lateDays: 5,
			req:  CheckinRequest{Outcome: OutcomeDamaged, DamageFen: 40000, Notes: "frame bent", Payments: cash(5000)},
			owed: 12500, lateFee: 2500, state: LeaseReturned},
		{name: "damage larger than the deposit, paid by transfer", renter: std, product: d.wcA,
			req:  CheckinRequest{Outcome: OutcomeMissingParts, DamageFen: 50000, Notes: "footrest missing", Payments: []Payment{{Method: PayOfflineMobile, AmountFen: 20000, Reference: "WX-7"}}},
			owed: 20000, state: LeaseClosed},
		{name: "subsidised low income, late, no deposit", renter: low, product: d.wcA, lateDays: 3,
			req: CheckinRequest{Outcome: OutcomeNeedsCleaning, Payments: cash(1500)}, owed: 1500, lateFee: 1500, state: LeaseClosed},
		{name: "subsistence late: no late fee, nothing to settle", renter: sub, product: d.wcA, lateDays: 4,
			req: CheckinRequest{Outcome: OutcomeOK, Payments: []Payment{{Method: PayCash}}}, owed: 0, state: LeaseClosed},
		{name: "block-only plan late, refund by transfer", renter: std, product: "bed-a", lateDays: 2,
			req:  CheckinRequest{Outcome: OutcomeOK, RefundMethod: PayOfflineMobile, RefundReference: "ZFB-1"},
			owed: -29400, lateFee: 600, state: LeaseClosed},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d.clk.set(start)
			tag := d.unit(d.a1, c.product)
			q, err := d.svc.QuoteFor(ctx, d.adminA, QuoteRequest{RenterID: c.renter.ID, ProductID: c.product, Days: 10})
			if err != nil {
				t.Fatal(err)
			}
			l, err := d.checkout(d.staffA1, d.a1, tag, c.renter, 10, cash(q.DueNowFen))
			if err != nil {
				t.Fatal(err)
			}
			before := len(d.ledger(l.ID).Entries)
			// Due 2026-03-12 (Thursday); the check-in is lateDays after it.
			d.clk.set(time.Date(2026, 3, 12+c.lateDays, 11, 0, 0, 0, l10n.Local))
			req := c.req
			req.UnitTag, req.StationID = tag, d.a1.ID
			set, err := d.svc.PreviewCheckin(ctx, d.staffA1, req)
			if err != nil {
				t.Fatal(err)
			}
			if set.OwedFen != c.owed || set.LateFeeFen != c.lateFee || set.LateDays != c.lateDays {
				t.Fatalf("preview owes %d, late %d days %d fen; want %d, %d, %d", set.OwedFen, set.LateDays, set.LateFeeFen, c.owed, c.lateDays, c.lateFee)
			}
			back, err := d.svc.Checkin(ctx, d.staffA1, req, d.clerk)
			if err != nil {
				t.Fatal(err)
			}
			var shown, written []string
			for _, e := range set.Entries {
				shown = append(shown, line(e))
			}
			for _, e := range d.ledger(l.ID).Entries[before:] {
				written = append(written, line(e))
			}
			if !slices.Equal(shown, written) {
				t.Errorf("preview entries\n  %v\nwritten\n  %v", shown, written)
			}
			if back.BalanceFen != set.BalanceFen || back.Return.LateFeeFen != set.LateFeeFen || back.Return.LateDays != set.LateDays ||
				back.State != c.state || set.Closes() != (c.state == LeaseClosed) {
				t.Errorf("written %s balance %d late %d/%d; preview balance %d late %d/%d", back.State, back.BalanceFen,
					back.Return.LateDays, back.Return.LateFeeFen, set.BalanceFen, set.LateDays, set.LateFeeFen)
			}
			d.consistent(l.ID)
		})
	}
}

// A check-in confirmed against a settlement that has changed since it was
// shown (here: a day passed, one more late day) is refused and writes
// nothing.
func TestCheckinRefusesAChangedSettlement(t *testing.T) {
	ctx := context.Background()
	d := newDesk(t, nil)
	r := d.renter(d.staffA1, d.a1, "迟")
	tag := d.unit(d.a1, d.wcA)
	l := d.mustCheckout(d.a1, tag, r, 10)
	d.clk.set(time.Date(2026, 3, 13, 20, 0, 0, 0, l10n.Local))
	req := CheckinRequest{UnitTag: tag, StationID: d.a1.ID, Outcome: OutcomeOK, RefundMethod: PayCash}
	set, err := d.svc.PreviewCheckin(ctx, d.staffA1, req)
	if err != nil || set.OwedFen != 500-30000 {
		t.Fatalf("preview %+v %v", set, err)
	}
	req.ExpectOwedFen = &set.OwedFen
	d.clk.set(time.Date(2026, 3, 14, 9, 0, 0, 0, l10n.Local))
	if _, err := d.svc.Checkin(ctx, d.staffA1, req, d.clerk); !errors.Is(err, ErrConflict) {
		t.Fatalf("check-in against a stale settlement: %v", err)
	}
	if got := d.consistent(l.ID); got.State != LeaseActive && got.State != LeaseOverdue {
		t.Fatalf("lease after the refused check-in: %s", got.State)
	}
	set, _ = d.svc.PreviewCheckin(ctx, d.staffA1, req)
	req.ExpectOwedFen = &set.OwedFen
	if back, err := d.svc.Checkin(ctx, d.staffA1, req, d.clerk); err != nil || back.Return.LateFeeFen != 1000 {
		t.Fatalf("check-in against the new settlement: %+v %v", back.Return, err)
	}
}

// A payment item without an amount is no payment, in every desk flow: a
// form's empty row, or such an item sent to the API.
func TestEmptyPaymentRowsAreNoPayment(t *testing.T) {
	ctx := context.Background()
	d := newDesk(t, nil)
	empty := []Payment{{Method: PayCash}}
	std := d.renter(d.staffA1, d.a1, "标准")
	sub := d.renter(d.staffA1, d.a1, "低保")
	d.verify(sub, Subsistence)

	// Check-out of a renter who owes nothing.
	tagS := d.unit(d.a1, d.wcA)
	ls, err := d.checkout(d.staffA1, d.a1, tagS, sub, 30, empty)
	if err != nil {
		t.Fatalf("check-out with an empty row for a renter who owes nothing: %v", err)
	}
	// ...but a row without an amount does not pay what is due.
	tag := d.unit(d.a1, d.wcA)
	if _, err := d.checkout(d.staffA1, d.a1, tag, std, 30, []Payment{{Method: PayCash}, {Method: PayOfflineMobile}}); !fieldErr(err, "payments") {
		t.Fatalf("empty rows paying ¥390: %v", err)
	}
	l, err := d.checkout(d.staffA1, d.a1, tag, std, 30, append(cash(39000), empty...))
	if err != nil {
		t.Fatal(err)
	}
	if got := entries(d.ledger(l.ID)); !slices.Equal(got, []string{"rent 9000", "deposit 30000", "payment 39000"}) || len(l.Payments) != 1 {
		t.Fatalf("an empty row reached the ledger: %v %+v", got, l.Payments)
	}
	// Extension free of charge for the subsistence renter.
	if _, err := d.svc.Extend(ctx, d.staffA1, ls.ID, 10, empty, d.clerk); err != nil {
		t.Fatalf("free extension with an empty row: %v", err)
	}
	// Plain return of the no-deposit renter, and the standard renter's
	// deposit refund, each with the form's empty row.
	if back, err := d.svc.Checkin(ctx, d.staffA1, CheckinRequest{UnitTag: tagS, StationID: d.a1.ID, Outcome: OutcomeOK, Payments: empty, RefundMethod: PayCash}, d.clerk); err != nil || back.State != LeaseClosed {
		t.Fatalf("no-deposit return with an empty row: %+v %v", back, err)
	}
	d.clk.addDays(35) // 5 days late: ¥25 from the ¥300 deposit
	back, err := d.svc.Checkin(ctx, d.staffA1, CheckinRequest{UnitTag: tag, StationID: d.a1.ID, Outcome: OutcomeNeedsRepair, DamageFen: 40000,
		Notes: "wheel", Payments: []Payment{{Method: PayOfflineMobile}}}, d.clerk)
	if err != nil || back.State != LeaseReturned || back.BalanceFen != 12500 {
		t.Fatalf("return owing money with an empty row: %+v %v", back, err)
	}
	// Settling needs an amount.
	if _, err := d.svc.SettleLease(ctx, d.staffA1, l.ID, empty, d.clerk); !fieldErr(err, "payments") {
		t.Fatalf("settle with an empty row: %v", err)
	}
	if done, err := d.svc.SettleLease(ctx, d.staffA1, l.ID, append(empty, cash(12500)...), d.clerk); err != nil || done.State != LeaseClosed {
		t.Fatalf("settle: %+v %v", done, err)
	}
	d.consistent(l.ID)
	d.consistent(ls.ID)
}
