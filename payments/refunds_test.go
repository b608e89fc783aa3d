package payments

import (
	"errors"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"fuju/internal/tenancy"
)

// Partial and full refunds of a lease's online payments: each Stripe refund
// reverses the operator's transfer and the platform's fee, is keyed by our
// ledger entry id, and reaches the ledger once; nothing beyond what was paid
// is ever asked of Stripe.
func TestRefundsPartialAndFull(t *testing.T) {
	h := newHarness(t)
	h.connect("op-a")
	pi1 := h.paid("reservation/r-9/prepay", "l-9", "op-a", 39000)
	mi, err := h.svc.StartIntent(h.ctx, family, PaymentRequest{Ref: "lease/l-9/extension/1", LeaseID: "l-9", OperatorID: "op-a", Purpose: Extension, AmountFen: 9000})
	if err != nil {
		t.Fatal(err)
	}
	h.w.payIntent(mi.IntentID)
	h.mustDeliver("payment_intent.succeeded", "payment_intent", mi.IntentID)

	staff := tenancy.Actor{ID: "u-staff", Name: "张", Role: "staff"}
	r, err := h.svc.Refund(h.ctx, scopeA, staff, RefundRequest{Ref: "lease/l-9/deposit-return", LeaseID: "l-9", AmountFen: 25000, Reason: "deposit_return"})
	if err != nil {
		t.Fatal(err)
	}
	calls := h.w.posts("/v1/refunds")
	if len(calls) != 1 || r.State() != RefundSucceeded || len(r.Parts) != 1 {
		t.Fatalf("refund %+v, calls %d", r, len(calls))
	}
	f := calls[0].Form
	for k, want := range map[string]string{"payment_intent": pi1, "amount": "25000", "reverse_transfer": "true",
		"refund_application_fee": "true", "metadata[fuju_refund]": "lease/l-9/deposit-return", "metadata[fuju_operator]": "op-a"} {
		if f.Get(k) != want {
			t.Errorf("%s = %q, want %q", k, f.Get(k), want)
		}
	}
	if calls[0].Key != "lease/l-9/deposit-return/1" {
		t.Errorf("refund key %q", calls[0].Key)
	}
	if tab := h.tab("l-9"); tab.Refundable() != 48000-25000 || tab.RefundedFen() != 25000 {
		t.Fatalf("refundable %d refunded %d", tab.Refundable(), tab.RefundedFen())
	}
	// Asked again with the same ref: the same refund, no new Stripe call.
	again, err := h.svc.Refund(h.ctx, scopeA, staff, RefundRequest{Ref: "lease/l-9/deposit-return", LeaseID: "l-9", AmountFen: 25000})
	if err != nil || again.Parts[0].StripeID != r.Parts[0].StripeID || len(h.w.posts("/v1/refunds")) != 1 {
		t.Fatalf("repeat: %+v, %v", again, err)
	}
	if _, err := h.svc.Refund(h.ctx, scopeA, staff, RefundRequest{Ref: "lease/l-9/deposit-return", LeaseID: "l-9", AmountFen: 100}); !errors.Is(err, ErrConflict) {
		t.Fatalf("same ref, other amount: %v", err)
	}
	// The rest, in full: 14000 of the first payment and 9000 of the second.
	full, err := h.svc.Refund(h.ctx, scopeA, staff, RefundRequest{Ref: "lease/l-9/cancelled", LeaseID: "l-9", Full: true, Reason: "cancelled"})
	if err != nil || full.AmountFen != 23000 || len(full.Parts) != 2 {
		t.Fatalf("full refund %+v, %v", full, err)
	}
	calls = h.w.posts("/v1/refunds")
	got := []string{}
	for _, c := range calls[1:] {
		got = append(got, c.Key+" "+c.Form.Get("payment_intent")+" "+c.Form.Get("amount"))
	}
	want := []string{"lease/l-9/cancelled/1 " + pi1 + " 14000", "lease/l-9/cancelled/2 " + mi.IntentID + " 9000"}
	if !slices.Equal(got, want) {
		t.Fatalf("refund calls %v, want %v", got, want)
	}
	if _, err := h.svc.Refund(h.ctx, scopeA, staff, RefundRequest{Ref: "lease/l-9/more", LeaseID: "l-9", AmountFen: 1}); !errors.Is(err, ErrRefundTooLarge) {
		t.Fatalf("refund beyond what was paid: %v", err)
	}
	if n := len(h.w.posts("/v1/refunds")); n != 3 {
		t.Fatalf("%d refund calls", n)
	}
	wantLedger := []string{"paid reservation/r-9/prepay 39000", "paid lease/l-9/extension/1 9000",
		"refunded lease/l-9/deposit-return/1 25000", "refunded lease/l-9/cancelled/1 14000", "refunded lease/l-9/cancelled/2 9000"}
	if got := h.ledger.entries(); !slices.Equal(got, wantLedger) {
		t.Fatalf("ledger %v", got)
	}
	if n := count(h.audit.actions(), "payments.refund"); n != 2 {
		t.Fatalf("%d refund audit entries", n)
	}
}

// A refund the bank could not pay out (refund.updated, status failed) is a
// queue item for the operator with Stripe's reason, the ledger hears of it,
// and the money counts as refundable again.
func TestFailedRefundQueuesForOperator(t *testing.T) {
	h := newHarness(t)
	h.connect("op-a")
	h.paid("reservation/r-5/prepay", "l-5", "op-a", 30000)
	h.w.refundStatus = "pending" // WeChat Pay and Alipay refunds settle later
	r, err := h.svc.Refund(h.ctx, scopeA, adminA, RefundRequest{Ref: "lease/l-5/deposit-return", LeaseID: "l-5", AmountFen: 30000})
	if err != nil || r.State() != RefundPending {
		t.Fatalf("refund %+v, %v", r, err)
	}
	if tab := h.tab("l-5"); tab.Refundable() != 0 {
		t.Fatalf("pending refund still refundable: %d", tab.Refundable())
	}
	re := r.Parts[0].StripeID
	h.w.set(re, map[string]any{"status": "failed", "failure_reason": "expired_or_canceled_card"})
	h.mustDeliver("refund.updated", "refund", re)
	q, err := h.svc.Queue(h.ctx, scopeA)
	if err != nil || len(q) != 1 || q[0].Kind != QueueRefundFailed || q[0].Reason != "expired_or_canceled_card" ||
		q[0].AmountFen != 30000 || q[0].LeaseID != "l-5" || q[0].RefundID != "lease/l-5/deposit-return" {
		t.Fatalf("queue %+v, %v", q, err)
	}
	if o := h.ledger.got["lease/l-5/deposit-return/1/failed"]; o.Reason != "expired_or_canceled_card" || o.AmountFen != 30000 {
		t.Fatalf("ledger %v", h.ledger.entries())
	}
	if tab := h.tab("l-5"); tab.Refundable() != 30000 {
		t.Fatalf("failed refund not refundable again: %d", tab.Refundable())
	}
	// The same failure again changes nothing and queues nothing twice.
	h.mustDeliver("refund.updated", "refund", re)
	if q, _ := h.svc.Queue(h.ctx, scopeA); len(q) != 1 || h.ledger.deliveries("lease/l-5/deposit-return/1/failed") != 1 {
		t.Fatalf("second failure event: queue %d, deliveries %d", len(q), h.ledger.deliveries("lease/l-5/deposit-return/1/failed"))
	}
	if err := h.svc.Acknowledge(h.ctx, scopeB, adminA, q[0].ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("operator B cleared A's item: %v", err)
	}
	if err := h.svc.Acknowledge(h.ctx, scopeA, adminA, q[0].ID); err != nil {
		t.Fatal(err)
	}
	if q, _ := h.svc.Queue(h.ctx, scopeA); len(q) != 0 {
		t.Fatalf("queue after acknowledging %+v", q)
	}
	h.reconcile() // a full projection does not bring it back
	if q, _ := h.svc.Queue(h.ctx, scopeA); len(q) != 0 {
		t.Fatalf("queue after reconcile %+v", q)
	}
	if acts := h.audit.actions(); count(acts, "payments.queue_acknowledge") != 1 {
		t.Fatalf("audit %v", acts)
	}
}

// Invariant 2 under concurrency: random rounds of refunds asked at once
// (full and partial), with random bank failures in between, never ask
// Stripe for more than each payment received minus what was refunded, and
// what the tab says is refundable always matches the refunds Stripe saw.
func TestConcurrentRefundsNeverExceedPaid(t *testing.T) {
	h := newHarness(t)
	h.connect("op-a")
	paid := map[string]int64{}
	paid[h.paid("reservation/r-7/prepay", "l-7", "op-a", 30000)] = 30000
	paid[h.paid("lease/l-7/extension/1", "l-7", "op-a", 6000)] = 6000
	rng := rand.New(rand.NewPCG(42, 12))
	seq := 0
	for round := range 6 {
		var wg sync.WaitGroup
		n := 2 + rng.IntN(4)
		for range n {
			seq++
			req := RefundRequest{Ref: "lease/l-7/refund/" + strconv.Itoa(seq), LeaseID: "l-7", AmountFen: 1 + rng.Int64N(14000)}
			if rng.IntN(5) == 0 {
				req.AmountFen, req.Full = 0, true
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := h.svc.Refund(h.ctx, scopeA, adminA, req)
				if err != nil && !errors.Is(err, ErrRefundTooLarge) && !errors.Is(err, ErrConflict) {
					t.Errorf("round %d %s: %v", round, req.Ref, err)
				}
			}()
		}
		wg.Wait()
		// The bank returns some refunds.
		tab := h.tab("l-7")
		for _, r := range tab.Refunds {
			for _, p := range r.Parts {
				if p.State == RefundSucceeded && rng.IntN(4) == 0 {
					h.w.set(p.StripeID, map[string]any{"status": "failed", "failure_reason": "lost_or_stolen_card"})
					h.mustDeliver("refund.updated", "refund", p.StripeID)
				}
			}
		}
		// What Stripe was asked, minus what failed, per payment intent.
		asked := map[string]int64{}
		failed := map[string]bool{}
		tab = h.tab("l-7")
		for _, r := range tab.Refunds {
			for _, p := range r.Parts {
				if p.State == RefundFailed {
					failed[p.Key] = true
				}
			}
		}
		seen := map[string]bool{}
		for _, c := range h.w.posts("/v1/refunds") {
			if seen[c.Key] || failed[c.Key] {
				continue
			}
			seen[c.Key] = true
			amount, _ := strconv.ParseInt(c.Form.Get("amount"), 10, 64)
			asked[c.Form.Get("payment_intent")] += amount
		}
		var total, left int64
		for pi, p := range paid {
			if asked[pi] > p {
				t.Fatalf("round %d: %d fen refunded of %s, which received %d", round, asked[pi], pi, p)
			}
			total += asked[pi]
			left += p - asked[pi]
		}
		if tab.Refundable() != left || tab.RefundedFen() != total {
			t.Fatalf("round %d: tab refundable %d refunded %d; Stripe saw %d refunded, %d left", round, tab.Refundable(), tab.RefundedFen(), total, left)
		}
	}
	if h.tab("l-7").RefundedFen() == 0 {
		t.Fatal("no refund went through: the test proved nothing")
	}
}

// A check-in's refund of a deposit paid online (docs/payments.md "Refunds
// at check-in"): for random desk charges, the deposit minus the charges is
// refunded under the lease's ledger entry id, asked four times at once (a
// double submit, the reconciler after a crash) and still one Stripe refund;
// the same id with another amount is refused; whatever is asked afterwards,
// the lease's refunds never exceed what was paid for it.
func TestCheckinDepositRefundNeverExceedsPaid(t *testing.T) {
	h := newHarness(t)
	h.connect("op-a")
	rng := rand.New(rand.NewPCG(12, 30))
	for i := range 6 {
		const paid, deposit = 39000, 30000
		tabID, lease := "r-c"+strconv.Itoa(i), "l-c"+strconv.Itoa(i)
		h.paid("reservation/"+tabID+"/prepay", tabID, "op-a", paid)
		charges := rng.Int64N(deposit)
		want := deposit - charges
		req := RefundRequest{Ref: "lease/" + lease + "/deposit", LeaseID: tabID, AmountFen: want, Reason: "deposit_return"}
		var wg sync.WaitGroup
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := h.svc.Refund(h.ctx, scopeA, tenancy.System, req); err != nil && !errors.Is(err, ErrConflict) {
					t.Errorf("%s: %v", req.Ref, err)
				}
			}()
		}
		wg.Wait()
		if _, err := h.svc.Refund(h.ctx, scopeA, tenancy.System, req); err != nil {
			t.Fatalf("asked again: %v", err)
		}
		keys := map[string]int64{}
		for _, c := range h.w.posts("/v1/refunds") {
			if k, ok := strings.CutPrefix(c.Key, req.Ref+"/"); ok {
				amount, _ := strconv.ParseInt(c.Form.Get("amount"), 10, 64)
				keys[k] = amount
			}
		}
		if len(keys) != 1 || keys["1"] != want {
			t.Fatalf("charges %d: Stripe refunds %v, want one of %d", charges, keys, want)
		}
		other := req
		other.AmountFen = want - 1
		if _, err := h.svc.Refund(h.ctx, scopeA, tenancy.System, other); !errors.Is(err, ErrConflict) {
			t.Errorf("the same ref with another amount: %v", err)
		}
		// More than is left, then everything left: never beyond what was paid.
		if _, err := h.svc.Refund(h.ctx, scopeA, tenancy.System, RefundRequest{Ref: "lease/" + lease + "/more", LeaseID: tabID, AmountFen: paid - want + 1}); !errors.Is(err, ErrRefundTooLarge) {
			t.Errorf("refund beyond what was paid: %v", err)
		}
		if _, err := h.svc.Refund(h.ctx, scopeA, tenancy.System, RefundRequest{Ref: "lease/" + lease + "/rest", LeaseID: tabID, Full: true}); err != nil {
			t.Fatal(err)
		}
		if tab := h.tab(tabID); tab.RefundedFen() != paid || tab.Refundable() != 0 {
			t.Errorf("refunded %d of %d paid, %d refundable", tab.RefundedFen(), paid, tab.Refundable())
		}
	}
}
