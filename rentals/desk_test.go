package rentals

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"fuju/internal/l10n"
	"fuju/internal/tenancy"
	"fuju/stations"
)

func TestTierVerification(t *testing.T) {
	ctx := context.Background()
	d := newDesk(t, nil)
	r := d.renter(d.staffA1, d.a1, "张")
	good := TierProof{Tier: LowIncome, ProofType: ProofLowIncomeCertificate, ProofNumber: "LI-2026-17", ProofPhotoKey: "proofs/x/cert.jpg", ExpiresOn: "2026-06-30"}
	for name, tc := range map[string]struct {
		edit  func(*TierProof)
		field string
	}{
		"past expiry":     {func(p *TierProof) { p.ExpiresOn = "2026-03-02" }, "expires_on"},
		"too far":         {func(p *TierProof) { p.ExpiresOn = "2029-03-03" }, "expires_on"},
		"not a date":      {func(p *TierProof) { p.ExpiresOn = "soon" }, "expires_on"},
		"standard tier":   {func(p *TierProof) { p.Tier = Standard }, "tier"},
		"unknown proof":   {func(p *TierProof) { p.ProofType = "selfie" }, "proof_type"},
		"no number":       {func(p *TierProof) { p.ProofNumber = " " }, "proof_number"},
		"bad photo key":   {func(p *TierProof) { p.ProofPhotoKey = "../etc/passwd" }, "proof_photo_key"},
		"public-ish path": {func(p *TierProof) { p.ProofPhotoKey = "/abs" }, "proof_photo_key"},
	} {
		p := good
		tc.edit(&p)
		if _, err := d.svc.VerifyTier(ctx, d.staffA1, r.ID, p, d.clerk); !fieldErr(err, tc.field) {
			t.Errorf("%s: %v, want a %s error", name, err, tc.field)
		}
	}
	if _, err := d.svc.VerifyTier(ctx, d.staffB1, r.ID, good, d.clerk); !errors.Is(err, ErrNotFound) {
		t.Fatalf("B verifies A's renter unseen: %v", err)
	}
	got, err := d.svc.VerifyTier(ctx, d.staffA1, r.ID, good, d.clerk)
	if err != nil {
		t.Fatal(err)
	}
	if got.TierStatus.Tier != LowIncome || got.TierStatus.Proof == nil || got.TierStatus.Proof.ProofPhotoKey != "" {
		t.Fatalf("after verify %+v (the photo key must not leak in reads)", got.TierStatus)
	}
	day := func(s string) time.Time { return mustDate(s).Add(15 * time.Hour) }
	for _, tc := range []struct {
		day  string
		want Tier
	}{{"2026-03-02", LowIncome}, {"2026-06-30", LowIncome}, {"2026-07-01", Standard}} {
		if tier := got.EffectiveTier(day(tc.day)); tier != tc.want {
			t.Errorf("tier on %s = %s, want %s", tc.day, tier, tc.want)
		}
	}
	// The quote follows the tier.
	q, err := d.svc.QuoteFor(ctx, d.staffA1, QuoteRequest{RenterID: r.ID, ProductID: d.wcA, Days: 30})
	if err != nil || q.Tier != LowIncome || q.RenterFen != 1800 || q.DepositFen != 0 {
		t.Fatalf("quote %+v %v", q, err)
	}
	q, _ = d.svc.QuoteFor(ctx, d.staffA1, QuoteRequest{RenterID: r.ID, ProductID: d.wcA, Days: 30, Day: day("2026-07-01")})
	if q.Tier != Standard {
		t.Fatalf("quote after expiry %+v", q)
	}
	// The proof photo: for the home station and the verifying operator,
	// logged.
	if _, err := d.svc.ProofPhotoKey(ctx, d.staffB1, r.ID, "audit", d.clerk); !errors.Is(err, ErrNotFound) {
		t.Fatalf("B sees the proof: %v", err)
	}
	key, err := d.svc.ProofPhotoKey(ctx, d.staffA1, r.ID, "check the certificate", d.clerk)
	if err != nil || key != "proofs/x/cert.jpg" {
		t.Fatalf("proof key %q %v", key, err)
	}
	log, _ := d.svc.AccessLog(ctx, d.staffA1, r.ID)
	if len(log) != 1 || log[0].What != AccessProofPhoto {
		t.Fatalf("proof access not logged: %+v", log)
	}
	// Revoke; the history keeps both.
	if _, err := d.svc.RevokeTier(ctx, d.staffA1, r.ID, "certificate withdrawn", d.clerk); err != nil {
		t.Fatal(err)
	}
	got, _ = d.svc.Renter(ctx, d.staffA1, r.ID)
	if got.EffectiveTier(start) != Standard {
		t.Fatalf("after revoke %+v", got.TierStatus)
	}
	if _, err := d.svc.RevokeTier(ctx, d.staffA1, r.ID, "again", d.clerk); !errors.Is(err, ErrConflict) {
		t.Fatalf("second revoke: %v", err)
	}
	hist, err := d.svc.TierHistory(ctx, d.staffA1, r.ID)
	if err != nil || len(hist) != 2 || hist[0].Tier != LowIncome || hist[1].Kind != "tier_revoked" || hist[1].Why != "certificate withdrawn" {
		t.Fatalf("history %+v %v", hist, err)
	}
	// Online account link: one account per renter (family_test.go has the
	// accounts that look after several renters).
	if _, err := d.svc.LinkUser(ctx, r.ID, "user-1", d.clerk); err != nil {
		t.Fatal(err)
	}
	if _, err := d.svc.LinkUser(ctx, r.ID, "user-1", d.clerk); err != nil {
		t.Fatalf("relink same: %v", err)
	}
	if _, err := d.svc.LinkUser(ctx, r.ID, "user-2", d.clerk); !errors.Is(err, ErrConflict) {
		t.Fatalf("renter linked to a second account: %v", err)
	}
	if me, err := d.svc.RenterByUser(ctx, "user-1"); err != nil || me.ID != r.ID {
		t.Fatalf("by user %+v %v", me, err)
	}
}

// The ledger examples of ledger.go, end to end.
func TestLedgerExamples(t *testing.T) {
	ctx := context.Background()
	d := newDesk(t, nil)
	std := d.renter(d.staffA1, d.a1, "标准")
	low := d.renter(d.staffA1, d.a1, "低收入")
	d.verify(low, LowIncome)
	sub := d.renter(d.staffA1, d.a1, "低保")
	d.verify(sub, Subsistence)

	tag := d.unit(d.a1, d.wcA)
	// Payments must match exactly.
	for _, pay := range [][]Payment{cash(39001), cash(9000), {{Method: PayOfflineMobile, AmountFen: 39000}}, {{Method: PayWaived}}, {{Method: "card", AmountFen: 39000}}} {
		if _, err := d.checkout(d.staffA1, d.a1, tag, std, 30, pay); !fieldErr(err, "payments") {
			t.Fatalf("payments %+v: %v", pay, err)
		}
	}
	l, err := d.checkout(d.staffA1, d.a1, tag, std, 30, []Payment{{Method: PayCash, AmountFen: 30000}, {Method: PayOfflineMobile, AmountFen: 9000, Reference: "WX-88"}})
	if err != nil {
		t.Fatal(err)
	}
	if l.State != LeaseActive || l.DueOn != "2026-04-01" || l.Quote.DueNowFen != 39000 || l.Terms.AcceptedName != "标准" {
		t.Fatalf("lease %+v", l)
	}
	if got := entries(d.ledger(l.ID)); !slices.Equal(got, []string{"rent 9000", "deposit 30000", "payment 30000", "payment 9000"}) {
		t.Fatalf("standard ledger %v", got)
	}
	if lg := d.ledger(l.ID); lg.BalanceFen != 0 || !lg.Complete || lg.Entries[3].Reference != "WX-88" {
		t.Fatalf("standard ledger %+v", lg)
	}

	tag2 := d.unit(d.a1, d.wcA)
	l2, err := d.checkout(d.staffA1, d.a1, tag2, low, 30, cash(1800))
	if err != nil {
		t.Fatal(err)
	}
	lg := d.ledger(l2.ID)
	if got := entries(lg); !slices.Equal(got, []string{"rent 9000", "subsidy 7200", "payment 1800"}) || lg.BalanceFen != 0 {
		t.Fatalf("low income ledger %v", got)
	}
	if e := lg.Entries[1]; e.OperatorID != "op-a" || e.StationID != d.a1.ID || e.RenterID != low.ID || e.Tier != LowIncome || e.PolicyVersion != 1 || e.Day != "2026-03-02" {
		t.Fatalf("subsidy entry lacks its claim data: %+v", e)
	}

	tag3 := d.unit(d.a1, d.wcA)
	if _, err := d.checkout(d.staffA1, d.a1, tag3, sub, 30, []Payment{{Method: PayWaived, AmountFen: 1}}); !fieldErr(err, "payments") {
		t.Fatalf("waived with an amount: %v", err)
	}
	l3, err := d.checkout(d.staffA1, d.a1, tag3, sub, 30, []Payment{{Method: PayWaived}})
	if err != nil {
		t.Fatal(err)
	}
	if got := entries(d.ledger(l3.ID)); !slices.Equal(got, []string{"rent 9000", "subsidy 9000"}) {
		t.Fatalf("subsistence ledger %v", got)
	}

	// Check-in with damage 5000, on time, at the operator's other station.
	d.clk.addDays(20)
	_, err = d.svc.Checkin(ctx, d.staffA2, CheckinRequest{UnitTag: tag, StationID: d.a2.ID, Outcome: OutcomeDamaged, DamageFen: 5000, Notes: "armrest cracked"}, d.clerk)
	if !fieldErr(err, "refund_method") {
		t.Fatalf("refund owed without a method: %v", err)
	}
	back, err := d.svc.Checkin(ctx, d.staffA2, CheckinRequest{UnitTag: tag, StationID: d.a2.ID, Outcome: OutcomeDamaged, DamageFen: 5000, Notes: "armrest cracked", RefundMethod: PayCash}, d.clerk)
	if err != nil {
		t.Fatal(err)
	}
	if back.State != LeaseClosed || back.Return.LateDays != 0 || back.Return.StationID != d.a2.ID {
		t.Fatalf("after check-in %+v", back)
	}
	want := []string{"rent 9000", "deposit 30000", "payment 30000", "payment 9000", "damage 5000", "deposit_return 30000", "refund 25000"}
	if lg := d.ledger(l.ID); !slices.Equal(entries(lg), want) || lg.BalanceFen != 0 {
		t.Fatalf("after check-in %v", entries(lg))
	}
	u := d.unitNow(tag)
	if u.State != stations.Repair || u.StationID != d.a2.ID || u.LeaseID != "" || u.Condition != "armrest cracked" {
		t.Fatalf("unit after damaged check-in %+v", u)
	}
	hist, _ := d.st.History(ctx, tag)
	kinds := []string{}
	for _, h := range hist {
		kinds = append(kinds, h.Kind+":"+string(h.To))
	}
	if !slices.Equal(kinds, []string{"created:available", "checkout:rented", "checkin:returned", "inspected:repair"}) {
		t.Fatalf("unit history %v", kinds)
	}
	lh, err := d.svc.LeaseHistory(ctx, d.staffA2, l.ID)
	if err != nil || len(lh) != 4 || lh[0].Kind != kindOpened || lh[1].To != LeaseActive || lh[2].From != LeaseActive || lh[2].To != LeaseReturned || lh[3].To != LeaseClosed {
		t.Fatalf("lease history %+v %v", lh, err)
	}
	d.consistent(l.ID)
	d.consistent(l2.ID)
	d.consistent(l3.ID)
	if n := count(t, d.db.Collection("open_leases"), bson.D{}); n != 2 {
		t.Fatalf("open_leases has %d, want the 2 leases still out", n)
	}
}

func TestLateFeesAndSettlement(t *testing.T) {
	ctx := context.Background()
	d := newDesk(t, nil)
	std := d.renter(d.staffA1, d.a1, "迟")
	sub := d.renter(d.staffA1, d.a1, "保")
	d.verify(sub, Subsistence)
	tag := d.unit(d.a1, d.wcA)
	tag2 := d.unit(d.a1, d.wcA)
	l := d.mustCheckout(d.a1, tag, std, 10) // due 2026-03-12 (Thursday)
	ls := d.mustCheckout(d.a1, tag2, sub, 10)
	d.clk.set(time.Date(2026, 3, 17, 9, 0, 0, 0, l10n.Local)) // 5 days late
	// Late 5 × ¥5 + damage ¥400 − deposit ¥300 = ¥125 owed; ¥50 paid now.
	req := CheckinRequest{UnitTag: tag, StationID: d.a1.ID, Outcome: OutcomeMissingParts, DamageFen: 40000, Notes: "footrest missing",
		Payments: cash(20000)}
	if _, err := d.svc.Checkin(ctx, d.staffA1, req, d.clerk); !fieldErr(err, "payments") {
		t.Fatalf("overpayment: %v", err)
	}
	req.Payments = cash(5000)
	back, err := d.svc.Checkin(ctx, d.staffA1, req, d.clerk)
	if err != nil {
		t.Fatal(err)
	}
	if back.State != LeaseReturned || back.BalanceFen != 7500 || back.Return.LateDays != 5 || back.Return.LateFeeFen != 2500 {
		t.Fatalf("after check-in %+v", back)
	}
	if d.unitNow(tag).State != stations.Repair {
		t.Fatal("unit not in repair")
	}
	q, _ := d.svc.Queues(ctx, d.staffA1, d.a1.ID, d.clk.now())
	if len(q.Unsettled) != 1 || q.Unsettled[0].BalanceFen != 7500 {
		t.Fatalf("unsettled queue %+v", q.Unsettled)
	}
	if _, err := d.svc.SettleLease(ctx, d.staffB1, l.ID, cash(7500), d.clerk); !errors.Is(err, ErrNotFound) {
		t.Fatalf("B settles A's lease: %v", err)
	}
	if _, err := d.svc.SettleLease(ctx, d.staffA1, l.ID, cash(8000), d.clerk); !fieldErr(err, "payments") {
		t.Fatalf("overpaying settlement: %v", err)
	}
	mid, err := d.svc.SettleLease(ctx, d.staffA1, l.ID, cash(5000), d.clerk)
	if err != nil || mid.State != LeaseReturned || mid.BalanceFen != 2500 {
		t.Fatalf("partial settlement %+v %v", mid, err)
	}
	// Forgiving the rest is a waiver with its reason, not a payment.
	if _, err := d.svc.SettleLease(ctx, d.staffA1, l.ID, []Payment{{Method: PayWaived, AmountFen: 2500}}, d.clerk); !fieldErr(err, "payments") {
		t.Fatalf("waived as a payment: %v", err)
	}
	_, done, err := d.svc.Waive(ctx, d.staffA1, l.ID, WaiverRequest{AmountFen: 2500, Reason: "hardship"}, d.clerk)
	if err != nil || done.State != LeaseClosed {
		t.Fatalf("final settlement %+v %v", done, err)
	}
	if got := entries(d.ledger(l.ID)); !slices.Equal(got[3:], []string{"late_fee 2500", "damage 40000", "deposit_return 30000", "payment 5000", "payment 5000", "waiver 2500"}) {
		t.Fatalf("ledger %v", got)
	}
	if _, err := d.svc.SettleLease(ctx, d.staffA1, l.ID, cash(1), d.clerk); !errors.Is(err, ErrConflict) {
		t.Fatalf("settle a closed lease: %v", err)
	}
	d.consistent(l.ID)
	// Subsistence pays no late fee.
	bs, err := d.svc.Checkin(ctx, d.staffA1, CheckinRequest{UnitTag: tag2, StationID: d.a1.ID, Outcome: OutcomeOK}, d.clerk)
	if err != nil || bs.State != LeaseClosed || bs.Return.LateDays != 5 || bs.Return.LateFeeFen != 0 {
		t.Fatalf("subsistence late return %+v %v", bs, err)
	}
	if d.unitNow(tag2).State != stations.Cleaning {
		t.Fatal("ok unit not sent to cleaning")
	}
	d.consistent(ls.ID)
}

func TestDueDateOnClosedDay(t *testing.T) {
	d := newDesk(t, nil)
	r := d.renter(d.staffA1, d.a1, "周")
	// Monday + 6 days = Sunday, when stations are closed: due Monday.
	l := d.mustCheckout(d.a1, d.unit(d.a1, d.wcA), r, 6)
	if l.DueOn != "2026-03-09" || l.Days != 6 || l.Quote.StandardFen != 3000 {
		t.Fatalf("due %s, %d days, %d fen", l.DueOn, l.Days, l.Quote.StandardFen)
	}
	// A holiday too: closed on the 16th (Monday) as well → Tuesday.
	ctx := context.Background()
	st := d.a2
	st.Hours.ClosedOn = []string{"2026-03-16"}
	if _, err := d.st.UpdateStation(ctx, st); err != nil {
		t.Fatal(err)
	}
	l2, err := d.svc.Checkout(ctx, d.adminA, CheckoutRequest{UnitTag: d.unit(d.a2, d.wcA), RenterID: r.ID, DueOn: "2026-03-15",
		Payments: cash(30000 + 6500), TermsVersion: "v1", AcceptedName: "周", StationID: d.a2.ID}, d.clerk)
	if err != nil {
		t.Fatal(err)
	}
	if l2.DueOn != "2026-03-17" || l2.Days != 13 {
		t.Fatalf("due %s for %d days", l2.DueOn, l2.Days)
	}
}

func TestSubsidyCap(t *testing.T) {
	ctx := context.Background()
	pol := DefaultPolicy()
	pol.AnnualCapFen = 10000 // ¥100 a year
	d := newDesk(t, &pol)
	r := d.renter(d.staffA1, d.a1, "封顶")
	d.verify(r, LowIncome)
	l1 := d.mustCheckout(d.a1, d.unit(d.a1, d.wcA), r, 30) // subsidy 7200
	if l1.SubsidyFen != 7200 || l1.PolicyVersion != 2 {
		t.Fatalf("first lease %+v", l1)
	}
	q, err := d.svc.QuoteFor(ctx, d.staffA1, QuoteRequest{RenterID: r.ID, ProductID: d.wcA, Days: 30})
	if err != nil {
		t.Fatal(err)
	}
	if q.SubsidyFen != 2800 || q.RenterFen != 6200 || q.CappedFen != 4400 || q.CapRemainingFen != 2800 || !slices.Contains(q.Why, "subsidy_capped") || q.DueNowFen != 6200 {
		t.Fatalf("capped quote %+v", q)
	}
	// The tier alone (no renter) is not capped.
	if q0, _ := d.svc.QuoteFor(ctx, d.staffA1, QuoteRequest{Tier: LowIncome, ProductID: d.wcA, Days: 30}); q0.SubsidyFen != 7200 {
		t.Fatalf("tier quote %+v", q0)
	}
	// Paying the uncapped price is refused.
	if _, err := d.checkout(d.staffA1, d.a1, d.unit(d.a1, d.wcA), r, 30, cash(1800)); !fieldErr(err, "payments") {
		t.Fatalf("uncapped payment: %v", err)
	}
	l2, err := d.checkout(d.staffA1, d.a1, d.unit(d.a1, d.wcA), r, 30, cash(6200))
	if err != nil {
		t.Fatal(err)
	}
	if got := entries(d.ledger(l2.ID)); !slices.Equal(got, []string{"rent 9000", "subsidy 2800", "payment 6200"}) {
		t.Fatalf("capped ledger %v", got)
	}
	used, _ := d.svc.SubsidyUsed(ctx, r.ID, 2026)
	if used != 10000 {
		t.Fatalf("used %d", used)
	}
	// The cap is per calendar year (city time): next year starts afresh.
	q, _ = d.svc.QuoteFor(ctx, d.staffA1, QuoteRequest{RenterID: r.ID, ProductID: d.wcA, Days: 30, Day: time.Date(2027, 1, 1, 0, 30, 0, 0, l10n.Local)})
	if q.SubsidyFen != 7200 {
		t.Fatalf("next year %+v", q)
	}
	// An extension is capped too: nothing left this year.
	ext, err := d.svc.ExtensionQuote(ctx, d.staffA1, l1.ID, 30)
	if err != nil || ext.StandardFen != 9000 || ext.SubsidyFen != 0 || ext.RenterFen != 9000 {
		t.Fatalf("extension quote %+v %v", ext, err)
	}
	// Concurrent checkouts for one renter never grant past the cap.
	r2 := d.renter(d.staffA1, d.a1, "并发")
	d.verify(r2, LowIncome)
	var wg sync.WaitGroup
	errs := make([]error, 6)
	for i := range errs {
		tag := d.unit(d.a1, d.wcA)
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Each desk pays what its own quote said.
			q, err := d.svc.QuoteFor(ctx, d.staffA1, QuoteRequest{RenterID: r2.ID, ProductID: d.wcA, Days: 30})
			if err == nil {
				_, err = d.checkout(d.staffA1, d.a1, tag, r2, 30, cash(q.DueNowFen))
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	used, _ = d.svc.SubsidyUsed(ctx, r2.ID, 2026)
	if used > 10000 {
		t.Fatalf("granted %d past the cap", used)
	}
	var sum int64
	for _, o := range mustOpen(t, d, d.adminA) {
		if o.RenterID == r2.ID {
			sum += d.consistent(o.ID).SubsidyFen
		}
	}
	if sum != used {
		t.Fatalf("leases hold %d of subsidy, the year total says %d (errors %v)", sum, used, errs)
	}
}

func mustOpen(t *testing.T, d *desk, scope tenancy.Scope) []OpenLease {
	t.Helper()
	out, err := d.svc.OpenLeases(context.Background(), scope, "")
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// Invariant 1 through the desk: 200 desks check out the last unit at once.
func TestCheckoutRaceLastUnit(t *testing.T) {
	ctx := context.Background()
	d := newDesk(t, nil)
	tag := d.unit(d.a1, d.wcA)
	renters := make([]Renter, 4)
	for i := range renters {
		renters[i] = d.renter(d.staffA1, d.a1, fmt.Sprintf("抢%d", i))
	}
	const n = 200
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		wins  []Lease
		lost  int
		other []error
	)
	startGun := make(chan struct{})
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-startGun
			l, err := d.checkout(d.staffA1, d.a1, tag, renters[i%len(renters)], 30, cash(39000))
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				wins = append(wins, l)
			case errors.Is(err, stations.ErrUnavailable):
				lost++
			default:
				other = append(other, err)
			}
		}()
	}
	close(startGun)
	wg.Wait()
	if len(wins) != 1 || lost != n-1 || len(other) > 0 {
		t.Fatalf("%d leases, %d unavailable, other errors %v", len(wins), lost, other)
	}
	hist, _ := d.st.History(ctx, tag)
	checkouts := 0
	for _, h := range hist {
		if h.Kind == "checkout" {
			checkouts++
		}
	}
	if checkouts != 1 || d.unitNow(tag).LeaseID != wins[0].ID {
		t.Fatalf("unit history has %d checkouts", checkouts)
	}
	if n := count(t, d.db.Collection("leases"), bson.D{}); n != 1 {
		t.Fatalf("leases holds %d documents", n)
	}
	if n := count(t, d.db.Collection("open_leases"), bson.D{}); n != 1 {
		t.Fatalf("open_leases holds %d documents", n)
	}
	if n := count(t, d.db.Collection("ledger_events"), bson.D{}); n != 3 {
		t.Fatalf("ledger has %d entries, want the winner's 3", n)
	}
	// Under this contention the embedded engine may fail a marker's delete
	// (Done ignores that by design: it only leaves work for the
	// reconcilers); after both reconcilers nothing may be left.
	if _, err := d.st.Reconcile(ctx, -time.Second); err != nil {
		t.Fatal(err)
	}
	if _, err := d.svc.Reconcile(ctx, -time.Second); err != nil {
		t.Fatal(err)
	}
	if n := count(t, d.db.Collection("pending_transitions"), bson.D{}); n != 0 {
		var left []bson.M
		cur, _ := d.db.Collection("pending_transitions").Find(ctx, bson.D{})
		_ = cur.All(ctx, &left)
		t.Fatalf("%d pending markers left: %v", n, left)
	}
	d.consistent(wins[0].ID)
}

func TestCheckinRace(t *testing.T) {
	ctx := context.Background()
	d := newDesk(t, nil)
	r := d.renter(d.staffA1, d.a1, "还")
	tag := d.unit(d.a1, d.wcA)
	l := d.mustCheckout(d.a1, tag, r, 30)
	for round := 0; round < 2; round++ {
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i := range errs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, errs[i] = d.svc.Checkin(ctx, d.staffA1, CheckinRequest{UnitTag: tag, StationID: d.a1.ID, Outcome: OutcomeOK, RefundMethod: PayCash}, d.clerk)
			}()
		}
		wg.Wait()
		ok := 0
		for _, err := range errs {
			if err == nil {
				ok++
			} else if !errors.Is(err, ErrConflict) && !errors.Is(err, stations.ErrUnavailable) {
				t.Fatalf("unexpected error %v", err)
			}
		}
		if round == 0 && ok != 1 {
			t.Fatalf("%d check-ins succeeded: %v", ok, errs)
		}
		if round == 1 && ok != 0 {
			t.Fatalf("a returned unit was checked in again: %v", errs)
		}
	}
	got := d.consistent(l.ID)
	if got.State != LeaseClosed || d.ledger(l.ID).BalanceFen != 0 || len(d.ledger(l.ID).Entries) != 5 {
		t.Fatalf("after racing check-ins %+v %v", got, entries(d.ledger(l.ID)))
	}
}

func TestExtend(t *testing.T) {
	ctx := context.Background()
	d := newDesk(t, nil)
	r := d.renter(d.staffA1, d.a1, "续")
	tag := d.unit(d.a1, d.wcA)
	l := d.mustCheckout(d.a1, tag, r, 10) // ¥50, due 03-12
	if _, err := d.svc.Extend(ctx, d.staffA1, l.ID, 0, nil, d.clerk); !fieldErr(err, "days") {
		t.Fatalf("0 days: %v", err)
	}
	// 10 + 20 = 30 days cost one ¥90 block: ¥40 more.
	q, err := d.svc.ExtensionQuote(ctx, d.staffA1, l.ID, 20)
	if err != nil || q.StandardFen != 4000 || q.DueNowFen != 4000 {
		t.Fatalf("extension quote %+v %v", q, err)
	}
	if _, err := d.svc.Extend(ctx, d.staffA1, l.ID, 20, cash(10000), d.clerk); !fieldErr(err, "payments") {
		t.Fatalf("wrong payment: %v", err)
	}
	if _, err := d.svc.Extend(ctx, d.staffB1, l.ID, 20, cash(4000), d.clerk); !errors.Is(err, ErrNotFound) {
		t.Fatalf("B extends A's lease: %v", err)
	}
	ext, err := d.svc.Extend(ctx, d.staffA1, l.ID, 20, cash(4000), d.clerk)
	if err != nil {
		t.Fatal(err)
	}
	if ext.Days != 30 || ext.DueOn != "2026-04-01" || ext.StandardFen != 9000 || ext.Extensions != 1 {
		t.Fatalf("extended %+v", ext)
	}
	// 30 + 5 more days: the block plus 5 days = ¥115, ¥25 more.
	if q, _ := d.svc.ExtensionQuote(ctx, d.staffA1, l.ID, 5); q.StandardFen != 2500 {
		t.Fatalf("second extension quote %+v", q)
	}
	if got := entries(d.ledger(l.ID)); !slices.Equal(got, []string{"rent 5000", "deposit 30000", "payment 35000", "extension 4000", "payment 4000"}) {
		t.Fatalf("ledger %v", got)
	}
	// A reservation waits for the product here and no unit is free: refused.
	other := d.unit(d.a1, d.wcA)
	if _, err := d.st.Move(ctx, other, stations.Move{To: stations.Reserved, LeaseID: "l-online", By: tenancy.System}); err != nil {
		t.Fatal(err)
	}
	_, err = d.svc.Extend(ctx, d.staffA1, l.ID, 5, cash(2500), d.clerk)
	if !errors.Is(err, ErrConflict) {
		t.Fatalf("extension despite a waiting reservation: %v", err)
	}
	d.unit(d.a1, d.wcA) // a free unit for the reservation: extension allowed
	if _, err := d.svc.Extend(ctx, d.staffA1, l.ID, 5, cash(2500), d.clerk); err != nil {
		t.Fatal(err)
	}
	d.consistent(l.ID)
}

func TestOverdueAndLost(t *testing.T) {
	ctx := context.Background()
	d := newDesk(t, nil)
	r := d.renter(d.staffA1, d.a1, "逾期")
	tag := d.unit(d.a1, d.wcA)
	l := d.mustCheckout(d.a1, tag, r, 10) // due 03-12
	if n, err := d.svc.MarkOverdue(ctx, d.clk.now()); n != 0 || err != nil {
		t.Fatalf("nothing overdue yet: %d %v", n, err)
	}
	d.clk.set(time.Date(2026, 3, 13, 8, 0, 0, 0, l10n.Local))
	// Two instances run the job at once: the lease is marked once.
	var wg sync.WaitGroup
	counts := make([]int, 3)
	for i := range counts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n, err := d.svc.MarkOverdue(ctx, d.clk.now())
			if err != nil {
				t.Error(err)
			}
			counts[i] = n
		}()
	}
	wg.Wait()
	if counts[0]+counts[1]+counts[2] != 1 {
		t.Fatalf("marked %v times", counts)
	}
	od, err := d.svc.Overdue(ctx, d.staffA1)
	if err != nil || len(od) != 1 || od[0].RenterName != "逾期" || od[0].RenterPhone != r.Phone || od[0].DaysOverdue != 1 || od[0].State != LeaseOverdue {
		t.Fatalf("overdue list %+v %v", od, err)
	}
	if od, _ := d.svc.Overdue(ctx, d.staffB1); len(od) != 0 {
		t.Fatalf("B sees A's overdue leases: %+v", od)
	}
	q, _ := d.svc.Queues(ctx, d.staffA1, d.a1.ID, d.clk.now())
	if len(q.Overdue) != 1 {
		t.Fatalf("queue overdue %+v", q.Overdue)
	}
	if _, err := d.svc.DeclareLost(ctx, d.staffA1, l.ID, d.clerk); !errors.Is(err, ErrConflict) {
		t.Fatalf("lost after 1 day: %v", err)
	}
	d.clk.set(time.Date(2026, 4, 11, 8, 0, 0, 0, l10n.Local)) // 30 days late
	if _, err := d.svc.DeclareLost(ctx, d.staffB1, l.ID, d.clerk); !errors.Is(err, ErrNotFound) {
		t.Fatalf("B declares A's lease lost: %v", err)
	}
	lost, err := d.svc.DeclareLost(ctx, d.staffA1, l.ID, d.clerk)
	if err != nil {
		t.Fatal(err)
	}
	if lost.State != LeaseClosed || lost.EndReason != "lost" || d.unitNow(tag).State != stations.Lost {
		t.Fatalf("after loss %+v, unit %s", lost, d.unitNow(tag).State)
	}
	if got := entries(d.ledger(l.ID)); !slices.Equal(got[3:], []string{"deposit_return 30000", "lost 30000"}) {
		t.Fatalf("ledger %v", got)
	}
	d.consistent(l.ID)
}

func TestTenancy(t *testing.T) {
	ctx := context.Background()
	d := newDesk(t, nil)
	ra := d.renter(d.staffA1, d.a1, "甲客")
	tagA := d.unit(d.a1, d.wcA)
	la := d.mustCheckout(d.a1, tagA, ra, 30)
	free := d.unit(d.a1, d.wcA)
	b := d.staffB1
	if _, err := d.svc.Lease(ctx, b, la.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("Lease: %v", err)
	}
	if _, err := d.svc.LeaseOfUnit(ctx, b, tagA); !errors.Is(err, ErrNotFound) {
		t.Errorf("LeaseOfUnit: %v", err)
	}
	if _, err := d.svc.Ledger(ctx, b, la.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("Ledger: %v", err)
	}
	if _, err := d.svc.LeaseHistory(ctx, b, la.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("LeaseHistory: %v", err)
	}
	if _, err := d.svc.Renter(ctx, b, ra.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("Renter: %v", err)
	}
	if _, err := d.svc.QuoteFor(ctx, b, QuoteRequest{RenterID: ra.ID, ProductID: d.wcA, Days: 3}); !errors.Is(err, ErrNotFound) {
		t.Errorf("QuoteFor: %v", err)
	}
	// A's unit at B's desk, A's unit at A's desk with B's scope.
	rb := d.renter(b, d.b1, "乙客")
	if _, err := d.checkout(b, d.b1, free, rb, 3, cash(31500)); !errors.Is(err, ErrNotFound) {
		t.Errorf("checkout of A's unit at B: %v", err)
	}
	if _, err := d.checkout(b, d.a1, free, rb, 3, cash(31500)); !errors.Is(err, ErrNotFound) {
		t.Errorf("checkout at A's station by B: %v", err)
	}
	if _, err := d.svc.Checkin(ctx, b, CheckinRequest{UnitTag: tagA, StationID: d.b1.ID, Outcome: OutcomeOK}, d.clerk); !errors.Is(err, ErrNotFound) {
		t.Errorf("check-in of A's unit at B: %v", err)
	}
	// A's renter at B's desk before the phone lookup: not found.
	tagB := d.unit(d.b1, d.wcB)
	if _, err := d.checkout(b, d.b1, tagB, ra, 3, cash(31500)); !errors.Is(err, ErrNotFound) {
		t.Errorf("checkout for an unseen renter: %v", err)
	}
	if _, err := d.svc.Queues(ctx, b, d.a1.ID, d.clk.now()); !errors.Is(err, ErrNotFound) {
		t.Errorf("Queues: %v", err)
	}
	if open, _ := d.svc.OpenLeases(ctx, b, ""); len(open) != 0 {
		t.Errorf("B lists A's open leases: %+v", open)
	}
	// Staff of A's other station read A's leases but cannot change them.
	if _, err := d.svc.Lease(ctx, d.staffA2, la.ID); err != nil {
		t.Errorf("A2 reads A1's lease: %v", err)
	}
	if _, err := d.svc.Extend(ctx, d.staffA2, la.ID, 3, cash(1500), d.clerk); !errors.Is(err, ErrNotFound) {
		t.Errorf("A2 extends A1's lease: %v", err)
	}
	// The walk-in: after B's desk finds the renter by phone, B serves them.
	if _, err := d.svc.RenterByPhone(ctx, b, ra.Phone, d.clerk); err != nil {
		t.Fatal(err)
	}
	lb, err := d.checkout(b, d.b1, tagB, ra, 3, cash(31500))
	if err != nil {
		t.Fatalf("walk-in checkout at B: %v", err)
	}
	if _, err := d.svc.Lease(ctx, d.adminA, lb.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("A sees B's lease of its renter: %v", err)
	}
}

func TestQueues(t *testing.T) {
	ctx := context.Background()
	d := newDesk(t, nil)
	r := d.renter(d.staffA1, d.a1, "队")
	due := d.mustCheckout(d.a1, d.unit(d.a1, d.wcA), r, 2) // due 03-04
	d.mustCheckout(d.a1, d.unit(d.a1, d.wcA), r, 10)
	back := d.unit(d.a1, d.wcA)
	d.mustCheckout(d.a1, back, r, 1)
	moving := d.unit(d.a1, d.wcA)
	if _, err := d.st.Move(ctx, moving, stations.Move{To: stations.InTransit, ToStation: d.a2.ID, By: tenancy.System}); err != nil {
		t.Fatal(err)
	}
	d.clk.set(time.Date(2026, 3, 4, 9, 0, 0, 0, l10n.Local))
	if _, err := d.svc.Checkin(ctx, d.staffA1, CheckinRequest{UnitTag: back, StationID: d.a1.ID, Outcome: OutcomeNeedsRepair, RefundMethod: PayCash}, d.clerk); err != nil {
		t.Fatal(err)
	}
	q, err := d.svc.Queues(ctx, d.staffA1, d.a1.ID, d.clk.now())
	if err != nil {
		t.Fatal(err)
	}
	if len(q.DueToday) != 1 || q.DueToday[0].ID != due.ID || len(q.Overdue) != 0 || len(q.Repair) != 1 || q.Repair[0].Tag != back ||
		len(q.InTransitOut) != 1 || len(q.Pickups) != 0 || len(q.Cleaning) != 0 {
		t.Fatalf("queues at a1 %+v", q)
	}
	q2, _ := d.svc.Queues(ctx, d.staffA2, d.a2.ID, d.clk.now())
	if len(q2.InTransitIn) != 1 || q2.InTransitIn[0].Tag != moving || len(q2.DueToday) != 0 {
		t.Fatalf("queues at a2 %+v", q2)
	}
}
