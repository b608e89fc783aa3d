package payments

import (
	"errors"
	"fuju/internal/tenancy"
	"testing"
)

// Invariant 4: an operator's people never see or change another operator's
// payments, refund queue or account.
func TestTenancy(t *testing.T) {
	h := newHarness(t)
	h.connect("op-a")
	h.connect("op-b")
	h.paid("reservation/r-a/prepay", "l-a", "op-a", 20000)
	h.paid("reservation/r-b/prepay", "l-b", "op-b", 15000)
	h.w.refundStatus = "failed"
	for op, lease := range map[string]string{"op-a": "l-a", "op-b": "l-b"} {
		_, err := h.svc.Refund(h.ctx, tenancy.OperatorScope(op), adminA, RefundRequest{Ref: "lease/" + lease + "/deposit-return", LeaseID: lease, AmountFen: 5000})
		if err != nil {
			t.Fatal(err)
		}
	}
	// Stripe failed both refunds at once (status failed in its answer).
	for _, c := range []struct {
		scope tenancy.Scope
		mine  string
		other string
	}{{scopeA, "op-a", "op-b"}, {scopeB, "op-b", "op-a"}} {
		list, total, err := h.svc.Payments(h.ctx, c.scope, PaymentFilter{})
		if err != nil || total != 1 || len(list) != 1 || list[0].OperatorID != c.mine {
			t.Fatalf("%s lists %+v (%d), %v", c.mine, list, total, err)
		}
		if list, _, _ := h.svc.Payments(h.ctx, c.scope, PaymentFilter{OperatorID: c.other}); len(list) != 0 {
			t.Fatalf("%s listed %s's payments by asking", c.mine, c.other)
		}
		q, err := h.svc.Queue(h.ctx, c.scope)
		if err != nil || len(q) != 1 || q[0].OperatorID != c.mine {
			t.Fatalf("%s queue %+v, %v", c.mine, q, err)
		}
		a, err := h.svc.AccountStatus(h.ctx, c.scope, c.mine)
		if err != nil || a.OperatorID != c.mine {
			t.Fatalf("%s account %+v, %v", c.mine, a, err)
		}
		if _, err := h.svc.AccountStatus(h.ctx, c.scope, c.other); !errors.Is(err, ErrNotFound) {
			t.Fatalf("%s saw %s's account: %v", c.mine, c.other, err)
		}
	}
	otherPay := "reservation/r-a/prepay"
	if _, err := h.svc.Payment(h.ctx, scopeB, otherPay); !errors.Is(err, ErrNotFound) {
		t.Fatalf("B read A's payment: %v", err)
	}
	if _, err := h.svc.Tab(h.ctx, scopeB, "l-a"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("B read A's tab: %v", err)
	}
	if _, err := h.svc.Refund(h.ctx, scopeB, adminA, RefundRequest{Ref: "lease/l-a/x", LeaseID: "l-a", AmountFen: 100}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("B refunded A's lease: %v", err)
	}
	qa, _ := h.svc.Queue(h.ctx, scopeA)
	if err := h.svc.Acknowledge(h.ctx, scopeB, adminA, qa[0].ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("B cleared A's queue item: %v", err)
	}
	if _, _, err := h.svc.OnboardingLink(h.ctx, scopeB, adminA, "op-a", "https://x.example/r", "https://x.example/d"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("B made A's onboarding link: %v", err)
	}
	if _, err := h.svc.RefreshAccount(h.ctx, scopeB, "op-a"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("B refreshed A's account: %v", err)
	}
	// The platform sees both; nobody sees anything with no scope.
	if _, total, _ := h.svc.Payments(h.ctx, tenancy.PlatformScope, PaymentFilter{}); total != 2 {
		t.Fatalf("platform sees %d payments", total)
	}
	if q, _ := h.svc.Queue(h.ctx, tenancy.PlatformScope); len(q) != 2 {
		t.Fatalf("platform queue %d", len(q))
	}
	if list, _, _ := h.svc.Payments(h.ctx, tenancy.Scope{}, PaymentFilter{}); len(list) != 0 {
		t.Fatal("zero scope lists payments")
	}
	if q, _ := h.svc.Queue(h.ctx, tenancy.Scope{}); len(q) != 0 {
		t.Fatal("zero scope lists the queue")
	}
}
