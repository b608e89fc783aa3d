package payments

import (
	"context"
	"fmt"
	"fuju/internal/tenancy"
)

// PaymentFilter selects payments to list.
type PaymentFilter struct {
	// OperatorID narrows a platform-wide scope to one operator.
	OperatorID string
	Limit      int64
	Skip       int64
}

// Payments lists the payments within scope, newest first, with the total.
// It scans the payments collection (see docs/payments.md on size).
func (s *Service) Payments(ctx context.Context, scope tenancy.Scope, f PaymentFilter) ([]Payment, int64, error) {
	op := f.OperatorID
	switch {
	case scope.Platform:
	case scope.OperatorID == "" || op != "" && op != scope.OperatorID:
		return []Payment{}, 0, nil
	default:
		op = scope.OperatorID
	}
	if f.Limit <= 0 || f.Limit > 200 {
		f.Limit = 50
	}
	docs, total, err := list[paymentDoc](ctx, s.store.payments, operatorFilter(op), "created_at", f.Limit, f.Skip)
	if err != nil {
		return nil, 0, err
	}
	out := make([]Payment, 0, len(docs))
	for _, d := range docs {
		out = append(out, d.Payment)
	}
	return out, total, nil
}

// Payment returns one payment within scope (as last projected).
func (s *Service) Payment(ctx context.Context, scope tenancy.Scope, id string) (Payment, error) {
	d, ok, err := s.store.payment(ctx, id)
	if err != nil {
		return Payment{}, err
	}
	if !ok || !scope.Operator(d.OperatorID) {
		return Payment{}, fmt.Errorf("payments: payment %s: %w", id, ErrNotFound)
	}
	return d.Payment, nil
}

// Tab returns the online money of a lease within scope, as its log says now:
// what was paid, refunded and is still refundable (Tab.Refundable).
func (s *Service) Tab(ctx context.Context, scope tenancy.Scope, leaseID string) (Tab, error) {
	t, err := s.head(ctx, leaseID)
	if err != nil {
		return Tab{}, err
	}
	if t.Seq == 0 || !scope.Operator(t.OperatorID) {
		return Tab{}, fmt.Errorf("payments: nothing was paid online for lease %s: %w", leaseID, ErrNotFound)
	}
	for i := range t.Payments {
		t.Payments[i] = public(t.Payments[i])
	}
	return t, nil
}

// PaidOutcomes returns the payments of a tab Stripe said were paid, as the
// Ledger heard them (PaidOnline, same keys): a ledger that applies each key
// once may take them again, e.g. when a reservation's tab becomes a lease's.
// A tab with nothing is no outcome.
func (s *Service) PaidOutcomes(ctx context.Context, tabID string) ([]Outcome, error) {
	t, err := s.head(ctx, tabID)
	if err != nil {
		return nil, err
	}
	var out []Outcome
	for _, o := range outcomes(Tab{}, t) {
		if o.kind == outPaid {
			out = append(out, o.Outcome)
		}
	}
	return out, nil
}
