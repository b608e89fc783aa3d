package payments

import (
	"errors"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"
	"time"

	"fuju/internal/valid"
)

// The fee is written down in docs/payments.md: basis points of the amount,
// rounded down to the fen.
func TestApplicationFeeRoundsDown(t *testing.T) {
	for _, c := range []struct {
		amount int64
		bp     int
		want   int64
	}{
		{39000, 250, 975},                    // 2.5% of ¥390.00 = ¥9.75 exactly
		{399, 250, 9},                        // 9.975 fen → 9
		{400, 100, 4},                        // the minimum charge at 1%
		{1, 5000, 0},                         // half a fen → 0
		{12345, 333, 411},                    // 411.0885 → 411
		{39000, 0, 0},                        // the default: no fee
		{0, 250, 0},                          // nothing charged, nothing kept
		{MaxChargeFen, MaxFeeBP, 49_999_999}, // the largest case stays exact in int64
	} {
		if got := ApplicationFee(c.amount, c.bp); got != c.want {
			t.Errorf("ApplicationFee(%d, %d bp) = %d, want %d", c.amount, c.bp, got, c.want)
		}
	}
}

func TestPaymentRequestValidation(t *testing.T) {
	ok := PaymentRequest{Ref: "reservation/r-1/prepay", LeaseID: "l-1", OperatorID: "op-a", Purpose: FirstPeriod, AmountFen: 400,
		SuccessURL: "https://fuju.example/ok", CancelURL: "https://fuju.example/back"}
	if err := ok.validate(Checkout); err != nil {
		t.Fatalf("valid request refused: %v", err)
	}
	for _, amount := range []int64{0, 1, MinChargeFen - 1} {
		r := ok
		r.AmountFen = amount
		err := r.validate(Checkout)
		if !errors.Is(err, ErrBelowMinimum) || !errors.Is(err, ErrPayAtStation) {
			t.Errorf("%d fen: %v, want ErrBelowMinimum (pay at the station)", amount, err)
		}
	}
	cases := map[string]func(*PaymentRequest){
		"amount_fen":  func(r *PaymentRequest) { r.AmountFen = -1 },
		"ref":         func(r *PaymentRequest) { r.Ref = "prepay" },
		"lease_id":    func(r *PaymentRequest) { r.LeaseID = "l 1" },
		"purpose":     func(r *PaymentRequest) { r.Purpose = "tip" },
		"success_url": func(r *PaymentRequest) { r.SuccessURL = "/relative" },
		"cancel_url":  func(r *PaymentRequest) { r.CancelURL = "" },
		"lang":        func(r *PaymentRequest) { r.Lang = "fr" },
	}
	for field, change := range cases {
		r := ok
		change(&r)
		fields, isValid := valid.Fields(r.validate(Checkout))
		if _, named := fields[field]; !isValid || !named {
			t.Errorf("%s: fields %v", field, fields)
		}
	}
	r := ok
	r.SuccessURL, r.CancelURL = "", ""
	if err := r.validate(Intent); err != nil {
		t.Errorf("a mobile payment needs no return URLs: %v", err)
	}
	rr := RefundRequest{Ref: "lease/l-1/deposit-return", LeaseID: "l-1", AmountFen: 100, Full: true}
	if fields, _ := valid.Fields(rr.validate()); fields["amount_fen"].Code == "" {
		t.Errorf("full refund with an amount accepted: %v", fields)
	}
	rr = RefundRequest{Ref: "lease/l-1/deposit-return", LeaseID: "l-1", AmountFen: 0}
	if fields, _ := valid.Fields(rr.validate()); fields["amount_fen"].Code == "" {
		t.Errorf("refund of nothing accepted")
	}
	rr = RefundRequest{Ref: "lease/l-1/x", LeaseID: "l-1", AmountFen: 5, Reason: "Mrs Li asked"}
	if fields, _ := valid.Fields(rr.validate()); fields["reason"].Code == "" {
		t.Errorf("free-text reason accepted")
	}
}

// paidTab is a tab whose payments were paid with these amounts.
func paidTab(amounts ...int64) Tab {
	now := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	t := Tab{LeaseID: "l-1", OperatorID: "op-a"}
	for k, a := range amounts {
		r := PaymentRequest{Ref: "lease/l-1/p" + strconv.Itoa(k), LeaseID: "l-1", OperatorID: "op-a", Purpose: Balance, AmountFen: a}
		t = t.startPayment(r, Intent, 0, "acct_a", now, time.Hour)
		i := t.payment(r.Ref)
		t.open(i, 1, opened{IntentID: "pi_" + strconv.Itoa(k)}, now)
		t.applyIntent(i, intentInfo{ID: "pi_" + strconv.Itoa(k), Status: "succeeded", Amount: a, AmountReceived: a}, now)
	}
	return t
}

func parts(r Refund) []string {
	var out []string
	for _, p := range r.Parts {
		out = append(out, p.PaymentID+" "+strconv.FormatInt(p.AmountFen, 10))
	}
	return out
}

func TestAllocateDrawsOnAsFewPaymentsAsPossible(t *testing.T) {
	tab := paidTab(39000, 9000, 15000)
	now := time.Now()
	for _, c := range []struct {
		amount int64
		full   bool
		want   []string
	}{
		{8000, false, []string{"lease/l-1/p1 8000"}},                                         // the smallest that covers it
		{12000, false, []string{"lease/l-1/p2 12000"}},                                       // 9000 cannot, 15000 can
		{9001, false, []string{"lease/l-1/p2 9001"}},                                         // one fen more than 9000
		{39000, false, []string{"lease/l-1/p0 39000"}},                                       // exactly one payment
		{50000, false, []string{"lease/l-1/p0 39000", "lease/l-1/p2 11000"}},                 // largest first
		{0, true, []string{"lease/l-1/p0 39000", "lease/l-1/p2 15000", "lease/l-1/p1 9000"}}, // everything
	} {
		r, err := tab.allocate("lease/l-1/refund", c.amount, c.full, "", now)
		if err != nil || !slices.Equal(parts(r), c.want) {
			t.Errorf("allocate(%d, full=%v) = %v, %v; want %v", c.amount, c.full, parts(r), err, c.want)
		}
	}
	if _, err := tab.allocate("x/y", 63001, false, "", now); !errors.Is(err, ErrRefundTooLarge) {
		t.Errorf("more than paid: %v", err)
	}
	if _, err := (Tab{}).allocate("x/y", 0, true, "", now); !errors.Is(err, ErrRefundTooLarge) {
		t.Errorf("full refund of nothing: %v", err)
	}
}

// Invariant 2, refunds: over random sequences of payments, refunds (full and
// partial), Stripe's answers (succeeded, pending, failed, canceled, a
// success that fails later), refunds made in Stripe's dashboard and
// disputes, a refund is accepted exactly when it fits in what was paid minus
// what was refunded or is being refunded, and no payment ever has more
// committed against it than it received.
func TestRefundCapProperty(t *testing.T) {
	now := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	for seed := uint64(1); seed <= 400; seed++ {
		rng := rand.New(rand.NewPCG(seed, 7))
		tab := Tab{LeaseID: "l-1", OperatorID: "op-a"}
		// The model: what each payment received and what is committed
		// against it, kept apart from the tab's own arithmetic.
		paid := map[string]int64{}
		committed := map[string]int64{}
		disputed := map[string]bool{}
		stateOf := map[string]RefundState{}
		amountOf := map[string]int64{}
		payOf := map[string]string{}
		refundable := func() int64 {
			var n int64
			for id, p := range paid {
				if !disputed[id] {
					n += p - committed[id]
				}
			}
			return n
		}
		stripeSeq := 0
		for step := 0; step < 40; step++ {
			switch op := rng.IntN(10); {
			case op < 2 && len(tab.Payments) < 4: // a payment is paid
				amount := MinChargeFen + rng.Int64N(60000)
				ref := "lease/l-1/pay" + strconv.Itoa(len(tab.Payments))
				r := PaymentRequest{Ref: ref, LeaseID: "l-1", OperatorID: "op-a", Purpose: Balance, AmountFen: amount}
				tab = tab.startPayment(r, Intent, 0, "acct_a", now, time.Hour)
				i := tab.payment(ref)
				pi := "pi_" + strconv.Itoa(i)
				tab.open(i, 1, opened{IntentID: pi}, now)
				tab.applyIntent(i, intentInfo{ID: pi, Status: "succeeded", Amount: amount, AmountReceived: amount}, now)
				paid[ref] = amount
			case op < 5: // a refund is asked for
				full := rng.IntN(4) == 0
				amount := 1 + rng.Int64N(refundable()+2000)
				ref := "lease/l-1/refund" + strconv.Itoa(step)
				before := refundable()
				r, err := tab.allocate(ref, amount, full, "", now)
				fits := full && before > 0 || !full && amount <= before
				if fits != (err == nil) {
					t.Fatalf("seed %d step %d: refund %d (full %v) with %d refundable: %v", seed, step, amount, full, before, err)
				}
				if err != nil {
					continue
				}
				if full && r.AmountFen != before {
					t.Fatalf("seed %d: full refund of %d, %d refundable", seed, r.AmountFen, before)
				}
				tab = tab.clone()
				tab.Refunds = append(tab.Refunds, r)
				for _, p := range r.Parts {
					committed[p.PaymentID] += p.AmountFen
					stateOf[p.Key], amountOf[p.Key], payOf[p.Key] = RefundRequested, p.AmountFen, p.PaymentID
				}
			case op < 8: // Stripe answers about a part
				keys := make([]string, 0, len(stateOf))
				for k, s := range stateOf {
					if !s.final() || s == RefundSucceeded {
						keys = append(keys, k)
					}
				}
				if len(keys) == 0 {
					continue
				}
				slices.Sort(keys)
				key := keys[rng.IntN(len(keys))]
				status := []string{"succeeded", "pending", "failed", "canceled"}[rng.IntN(4)]
				stripeSeq++
				id := "re_" + strconv.Itoa(stripeSeq)
				for _, r := range tab.Refunds {
					for _, p := range r.Parts {
						if p.Key == key && p.StripeID != "" {
							id = p.StripeID
						}
					}
				}
				next := tab.clone()
				placed, _ := next.applyRefund(refundInfo{ID: id, Status: status, Metadata: map[string]string{mdPart: key}}, now)
				if !placed {
					t.Fatalf("seed %d: part %s not placed", seed, key)
				}
				if to := refundState(status); stateOf[key].canMove(to) {
					if stateOf[key].committed() && !to.committed() {
						committed[payOf[key]] -= amountOf[key]
					}
					stateOf[key] = to
				}
				tab = next
			case op == 8: // someone refunds in Stripe's dashboard
				var ids []string
				for id := range paid {
					ids = append(ids, id)
				}
				if len(ids) == 0 {
					continue
				}
				slices.Sort(ids)
				id := ids[rng.IntN(len(ids))]
				left := paid[id] - committed[id]
				if left <= 0 {
					continue
				}
				i := tab.payment(id)
				stripeSeq++
				tab = tab.clone()
				n := 1 + rng.Int64N(left)
				tab.addExternal(i, refundInfo{ID: "re_x" + strconv.Itoa(stripeSeq), Status: "succeeded", IntentID: tab.Payments[i].IntentID, Amount: n}, now)
				committed[id] += n
			default: // a payment is disputed
				if len(tab.Payments) == 0 {
					continue
				}
				i := rng.IntN(len(tab.Payments))
				tab = tab.clone()
				tab.applyDispute(i, disputeInfo{ID: "dp_" + strconv.Itoa(i), Status: "needs_response", Amount: tab.Payments[i].PaidFen}, now)
				disputed[tab.Payments[i].ID] = true
			}
			if got, want := tab.Refundable(), refundable(); got != want || got < 0 {
				t.Fatalf("seed %d step %d: Refundable %d, model %d", seed, step, got, want)
			}
			for i, p := range tab.Payments {
				var sum int64
				for _, r := range tab.Refunds {
					for _, part := range r.Parts {
						if part.PaymentID == p.ID && part.State.committed() {
							sum += part.AmountFen
						}
					}
				}
				if sum > p.PaidFen {
					t.Fatalf("seed %d step %d: payment %d has %d committed of %d paid", seed, step, i, sum, p.PaidFen)
				}
			}
		}
	}
}

// Stripe's truth wins in any order: a payment once paid stays paid whatever
// arrives after, a second paid attempt is refunded, refunds only move
// forward.
func TestTabTransitionsIgnoreStaleNews(t *testing.T) {
	now := time.Now()
	r := PaymentRequest{Ref: "lease/l-1/deposit", LeaseID: "l-1", OperatorID: "op-a", Purpose: FirstPeriod, AmountFen: 30000,
		SuccessURL: "https://x.example/s", CancelURL: "https://x.example/c"}
	tab := Tab{}.startPayment(r, Checkout, 750, "acct_a", now, time.Hour)
	tab.open(0, 1, opened{SessionID: "cs_1", URL: "https://pay/cs_1"}, now)
	pi := intentInfo{ID: "pi_1", Status: "succeeded", Amount: 30000, AmountReceived: 30000, FeeFen: 750, ChargeID: "ch_1"}
	if !tab.applySession(0, sessionInfo{ID: "cs_1", Status: "complete", PaymentStatus: "paid", IntentID: "pi_1", Intent: &pi}, now) {
		t.Fatal("paid session not applied")
	}
	paid := tab.clone()
	for name, stale := range map[string]func(*Tab) bool{
		"expired after paid": func(t *Tab) bool { return t.applySession(0, sessionInfo{ID: "cs_1", Status: "expired"}, now) },
		"paid again": func(t *Tab) bool {
			return t.applySession(0, sessionInfo{ID: "cs_1", Status: "complete", PaymentStatus: "paid", IntentID: "pi_1", Intent: &pi}, now)
		},
		"failed after paid": func(t *Tab) bool {
			return t.applyIntent(0, intentInfo{ID: "pi_1", Status: "requires_payment_method"}, now)
		},
		"canceled after": func(t *Tab) bool { return t.applyIntent(0, intentInfo{ID: "pi_1", Status: "canceled"}, now) },
		"ended by us":    func(t *Tab) bool { return t.end(0, 1, "abandoned", now) },
	} {
		next := paid.clone()
		if stale(&next) || next.Payments[0].State != Paid || next.Payments[0].PaidFen != 30000 {
			t.Errorf("%s changed a paid payment: %+v", name, next.Payments[0])
		}
	}
	// A second attempt paid too (the family paid an old page): refunded.
	tab = paid.clone()
	tab.Payments[0].Attempts = append(tab.Payments[0].Attempts, Attempt{N: 2, Channel: Intent, Key: r.Ref + "/2", State: Open, IntentID: "pi_2"})
	tab.applyIntent(0, intentInfo{ID: "pi_2", Status: "succeeded", Amount: 30000, AmountReceived: 30000}, now)
	if p := tab.Payments[0]; p.IntentID != "pi_1" || p.PaidFen != 30000 || len(tab.Refunds) != 1 || !tab.Refunds[0].Duplicate ||
		tab.Refunds[0].Parts[0].IntentID != "pi_2" || tab.Refundable() != 30000 {
		t.Fatalf("second payment: %+v, refunds %+v", p, tab.Refunds)
	}
	// Refund parts move forward only; a success may still fail.
	for _, c := range []struct {
		from RefundState
		to   RefundState
		ok   bool
	}{
		{RefundRequested, RefundPending, true}, {RefundPending, RefundSucceeded, true}, {RefundSucceeded, RefundFailed, true},
		{RefundSucceeded, RefundPending, false}, {RefundFailed, RefundSucceeded, false}, {RefundCanceled, RefundPending, false},
		{RefundPending, RefundRequested, false},
	} {
		if c.from.canMove(c.to) != c.ok {
			t.Errorf("%s → %s allowed = %v", c.from, c.to, !c.ok)
		}
	}
}

// Outcomes are each delivered once per change, and all of them again from
// an empty tab (the reconciler's redelivery).
func TestOutcomes(t *testing.T) {
	tab := paidTab(39000)
	tab.Payments[0].PaidFeeFen = 975
	r, _ := tab.allocate("lease/l-1/deposit-return", 30000, false, "deposit_return", time.Now())
	tab.Refunds = append(tab.Refunds, r)
	prev := tab.clone()
	tab.applyRefund(refundInfo{ID: "re_1", Status: "succeeded", Metadata: map[string]string{mdPart: r.Parts[0].Key}}, time.Now())
	got := outcomes(prev, tab)
	if len(got) != 1 || got[0].kind != outRefunded || got[0].Key != "lease/l-1/deposit-return/1" || got[0].AmountFen != 30000 || got[0].StripeRef != "re_1" {
		t.Fatalf("refund outcome %+v", got)
	}
	all := outcomes(Tab{}, tab)
	if len(all) != 2 || all[0].kind != outPaid || all[0].FeeFen != 975 || all[0].Key != "lease/l-1/p0" {
		t.Fatalf("all outcomes %+v", all)
	}
}
