package app

import (
	"context"

	"fuju/payments"
	"fuju/rentals"
)

// leaseLedger tells the lease ledger (rentals) what Stripe did: each
// payments.Outcome becomes the rentals.OnlineOutcome it applies once by key.
type leaseLedger struct{ rentals *rentals.Service }

// toOnlineOutcome converts payments' outcome to the ledger's.
func toOnlineOutcome(o payments.Outcome) rentals.OnlineOutcome {
	return rentals.OnlineOutcome{Key: o.Key, Ref: o.Ref, PaymentID: o.PaymentID, LeaseID: o.LeaseID, OperatorID: o.OperatorID,
		AmountFen: o.AmountFen, FeeFen: o.FeeFen, StripeRef: o.StripeRef, Reason: o.Reason}
}

func (l leaseLedger) PaidOnline(ctx context.Context, o payments.Outcome) error {
	return l.rentals.PaidOnline(ctx, toOnlineOutcome(o))
}

func (l leaseLedger) RefundedOnline(ctx context.Context, o payments.Outcome) error {
	return l.rentals.RefundedOnline(ctx, toOnlineOutcome(o))
}

// RefundFailed: the operator's queue item is written by payments itself
// (payment_queue); the ledger cancels a refund it had recorded as sent.
func (l leaseLedger) RefundFailed(ctx context.Context, o payments.Outcome) error {
	return l.rentals.RefundFailed(ctx, toOnlineOutcome(o))
}

func (l leaseLedger) Disputed(ctx context.Context, o payments.Outcome) error {
	return l.rentals.Disputed(ctx, toOnlineOutcome(o))
}
