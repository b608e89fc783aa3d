package rentals

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"sync"
	"testing"

	"fuju/stations"
)

// returnedOwing checks a standard renter's 30-day lease out at the desk and
// back in damaged for more than the deposit, leaving owedFen on the lease.
func (d *desk) returnedOwing(owedFen int64) Lease {
	d.t.Helper()
	r := d.renter(d.staffA1, d.a1, "标准")
	tag := d.unit(d.a1, d.wcA)
	l := d.mustCheckout(d.a1, tag, r, 30)
	got, err := d.svc.Checkin(context.Background(), d.staffA1, CheckinRequest{UnitTag: tag, StationID: d.a1.ID,
		Outcome: OutcomeDamaged, DamageFen: l.DepositFen + owedFen, Notes: "frame bent"}, d.clerk)
	if err != nil {
		d.t.Fatal(err)
	}
	if got.State != LeaseReturned || got.BalanceFen != owedFen {
		d.t.Fatalf("after check-in: %s balance %d, want returned %d", got.State, got.BalanceFen, owedFen)
	}
	return got
}

// Twenty deliveries of the same online payment at once add one paid_online
// entry (and one platform_fee memo) and close the lease whose balance it
// pays; delivering it again afterwards adds nothing.
func TestPaidOnlineExactlyOnce(t *testing.T) {
	d := newDesk(t, nil)
	l := d.returnedOwing(8000)
	o := OnlineOutcome{Key: "lease/" + l.ID + "/balance", Ref: "lease/" + l.ID + "/balance", LeaseID: l.ID,
		OperatorID: "op-a", AmountFen: 8000, FeeFen: 200, StripeRef: "pi_123"}
	var wg sync.WaitGroup
	errs := make([]error, 20)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = d.svc.PaidOnline(context.Background(), o)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("delivery %d: %v", i, err)
		}
	}
	if err := d.svc.PaidOnline(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	led := d.ledger(l.ID)
	var paid, fees int
	for _, e := range led.Entries {
		switch e.Kind {
		case EntryPaidOnline:
			paid++
			if e.AmountFen != 8000 || e.Reference != "pi_123" {
				t.Errorf("paid_online entry: %+v", e)
			}
		case EntryPlatformFee:
			fees++
		}
	}
	if paid != 1 || fees != 1 {
		t.Fatalf("paid_online ×%d, platform_fee ×%d, want one each: %v", paid, fees, entries(led))
	}
	if led.BalanceFen != 0 || !led.Complete {
		t.Fatalf("balance %d complete %v, want 0 (the fee is the operator's, not the renter's)", led.BalanceFen, led.Complete)
	}
	got := d.consistent(l.ID)
	if got.State != LeaseClosed || got.PaidOnlineFen != 8000 {
		t.Fatalf("lease %s paid online %d, want closed with 8000", got.State, got.PaidOnlineFen)
	}
}

// A payment, a partial refund, a refund that later fails and a second
// refund: the balance follows each, and a refund beyond what was paid online
// is refused without a write.
func TestOnlineRefundsBalanceAndLimit(t *testing.T) {
	ctx := context.Background()
	d := newDesk(t, nil)
	l := d.returnedOwing(10000)
	pay := OnlineOutcome{Key: "p1", Ref: "lease/" + l.ID + "/balance", LeaseID: l.ID, OperatorID: "op-a", AmountFen: 10000, StripeRef: "pi_1"}
	if err := d.svc.PaidOnline(ctx, pay); err != nil {
		t.Fatal(err)
	}
	if b := d.ledger(l.ID).BalanceFen; b != 0 {
		t.Fatalf("after payment: balance %d", b)
	}
	// The operator refunds ¥30 (an overcharge): the lease is open again,
	// owing the renter nothing more, since the refund went out.
	refund := OnlineOutcome{Key: "lease/" + l.ID + "/refund/1/1", Ref: "lease/" + l.ID + "/refund/1", LeaseID: l.ID, OperatorID: "op-a", AmountFen: 3000, StripeRef: "re_1"}
	if err := d.svc.RefundedOnline(ctx, refund); err != nil {
		t.Fatal(err)
	}
	if err := d.svc.RefundedOnline(ctx, refund); err != nil {
		t.Fatal(err)
	}
	if b := d.ledger(l.ID).BalanceFen; b != 3000 {
		t.Fatalf("after refund: balance %d, want 3000", b)
	}
	// Stripe reports the refund failed after all: it is cancelled in the
	// ledger; the failure of a part never recorded as sent changes nothing.
	failed := refund
	failed.Key, failed.Reason = refund.Key+"/failed", "expired_or_canceled_card"
	if err := d.svc.RefundFailed(ctx, failed); err != nil {
		t.Fatal(err)
	}
	never := OnlineOutcome{Key: "lease/" + l.ID + "/refund/2/1/failed", LeaseID: l.ID, OperatorID: "op-a", AmountFen: 500, Reason: "lost_or_stolen_card"}
	if err := d.svc.RefundFailed(ctx, never); err != nil {
		t.Fatal(err)
	}
	led := d.ledger(l.ID)
	if led.BalanceFen != 0 {
		t.Fatalf("after the failed refund: balance %d, want 0: %v", led.BalanceFen, entries(led))
	}
	// 10000 paid, 3000 refunded then failed: 10000 is refundable; 10001 is not.
	over := OnlineOutcome{Key: "r-over", LeaseID: l.ID, OperatorID: "op-a", AmountFen: 10001, StripeRef: "re_2"}
	before := len(d.ledger(l.ID).Entries)
	if err := d.svc.RefundedOnline(ctx, over); !errors.Is(err, ErrOnlineRefundTooLarge) {
		t.Fatalf("over-refund: %v, want ErrOnlineRefundTooLarge", err)
	}
	if n := len(d.ledger(l.ID).Entries); n != before {
		t.Fatalf("the refused refund wrote %d entries", n-before)
	}
	all := over
	all.Key, all.AmountFen = "r-all", 10000
	if err := d.svc.RefundedOnline(ctx, all); err != nil {
		t.Fatal(err)
	}
	got := d.consistent(l.ID)
	if got.BalanceFen != 10000 || got.State != LeaseReturned || got.RefundedOnlineFen != 10000 {
		t.Fatalf("lease %s balance %d refunded online %d", got.State, got.BalanceFen, got.RefundedOnlineFen)
	}
	want := []string{"paid_online 10000", "refund_online 3000", "refund_online_failed 3000", "refund_online 10000"}
	var online []string
	for _, e := range d.ledger(l.ID).Entries {
		if e.Method == "online" && !e.Kind.Memo() {
			online = append(online, line(e)[:len(string(e.Kind))+1+len(strconv.FormatInt(e.AmountFen, 10))])
		}
	}
	if !slices.Equal(online, want) {
		t.Fatalf("online entries %v, want %v", online, want)
	}
}

// A dispute flags the lease for staff; another operator's outcome for the
// lease is refused.
func TestDisputeFlagsLeaseAndTenancy(t *testing.T) {
	ctx := context.Background()
	d := newDesk(t, nil)
	l := d.returnedOwing(5000)
	if err := d.svc.Disputed(ctx, OnlineOutcome{Key: "dp_1/needs_response", LeaseID: l.ID, OperatorID: "op-a", PaymentID: "p", AmountFen: 5000,
		StripeRef: "dp_1", Reason: "needs_response: fraudulent"}); err != nil {
		t.Fatal(err)
	}
	got, err := d.svc.Lease(ctx, d.staffA1, l.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Dispute == nil || got.Dispute.ID != "dp_1" || got.Dispute.Status != "needs_response: fraudulent" {
		t.Fatalf("dispute: %+v", got.Dispute)
	}
	err = d.svc.PaidOnline(ctx, OnlineOutcome{Key: "x", LeaseID: l.ID, OperatorID: "op-b", AmountFen: 5000})
	if !errors.Is(err, ErrNotFound) {
		t.Fatalf("other operator's outcome: %v", err)
	}
	if b := d.ledger(l.ID).BalanceFen; b != 5000 {
		t.Fatalf("balance %d after a refused outcome", b)
	}
}

// prepaidFake is payments as the reservations and the check-in see it: a
// reservation paid online in full, and deposit refunds counted by their
// ledger entry id.
type prepaidFake struct {
	mu      sync.Mutex
	paid    map[string]OnlineOutcome // reservation → its payment
	refunds map[string][]DepositRefund
}

func (p *prepaidFake) Prepaid(_ context.Context, id string) ([]OnlineOutcome, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if o, ok := p.paid[id]; ok {
		return []OnlineOutcome{o}, nil
	}
	return nil, nil
}

func (p *prepaidFake) RefundPrepaid(context.Context, Reservation) error { return nil }

func (p *prepaidFake) RefundDeposit(_ context.Context, r DepositRefund) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.refunds[r.Ref] = append(p.refunds[r.Ref], r)
	return nil
}

// A check-in that stops after it is written and before it asks for the
// refund of a deposit paid online: the unit is back and the lease
// returned; the reconciler asks for the refund, with the check-in's ledger
// entry id and the whole deposit, and a second pass asks nothing more.
func TestCheckinStoppedBeforeItsOnlineRefund(t *testing.T) {
	ctx := context.Background()
	b := newBooking(t)
	money := &prepaidFake{paid: map[string]OnlineOutcome{}, refunds: map[string][]DepositRefund{}}
	b.res.Prepaid = money
	b.svc.UseDepositRefunds(money)
	tag := b.unit(b.a1, b.wcA)
	x := b.mustPickup("u-fang", b.father, b.slot(1, 9, 0))
	if x.Quote.DepositFen == 0 {
		t.Fatalf("the quote has no deposit: %+v", x.Quote)
	}
	total := x.Quote.RenterFen + x.Quote.DepositFen
	money.paid[x.ID] = OnlineOutcome{Key: "reservation/" + x.ID + "/prepay", Ref: "reservation/" + x.ID + "/prepay", TabID: x.ID,
		OperatorID: x.OperatorID, AmountFen: total, StripeRef: "pi_prepaid"}
	b.clk.set(b.slot(1, 9, 10))
	_, l, err := b.res.Fulfil(ctx, b.staffA1, x.ID, FulfilRequest{TermsVersion: "2026-01", AcceptedName: "王芳"}, staffActor)
	if err != nil {
		t.Fatal(err)
	}
	if got := b.consistent(l.ID); got.PaidOnlineFen != total || got.BalanceFen != 0 {
		t.Fatalf("the prepaid lease: paid online %d balance %d, want %d and 0", got.PaidOnlineFen, got.BalanceFen, total)
	}
	b.crashAt("checkin:refund")
	if _, err := b.svc.Checkin(ctx, b.staffA1, CheckinRequest{UnitTag: tag, StationID: b.a1.ID, Outcome: OutcomeOK}, b.clerk); !errors.Is(err, errCrash) {
		t.Fatalf("no stop: %v", err)
	}
	ref := "lease/" + l.ID + "/deposit"
	if n := len(money.refunds[ref]); n != 0 {
		t.Fatalf("asked for %d refunds before the stop's reconciliation", n)
	}
	b.svc.crash = nil
	for range 2 {
		if _, err := b.svc.Reconcile(ctx, 0); err != nil {
			t.Fatal(err)
		}
	}
	if r := money.refunds[ref]; len(r) != 1 || r[0].AmountFen != x.Quote.DepositFen || r[0].TabID != x.ID || r[0].LeaseID != l.ID {
		t.Fatalf("refunds asked after reconciling: %+v, want one of %d from tab %s", r, x.Quote.DepositFen, x.ID)
	}
	got := b.consistent(l.ID)
	if got.State != LeaseReturned || got.BalanceFen != -x.Quote.DepositFen || got.Return == nil || got.Return.RefundOnlineRef != ref {
		t.Errorf("lease after reconciling: %s balance %d return %+v", got.State, got.BalanceFen, got.Return)
	}
	if u := b.unitNow(tag); u.State != stations.Cleaning {
		t.Errorf("unit %s", u.State)
	}
}
