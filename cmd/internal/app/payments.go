package app

import (
	"context"
	"errors"

	"fuju/internal/tenancy"
	"fuju/payments"
	"fuju/rentals"
)

// leaseLedger tells the lease ledger (rentals) what Stripe did: each
// payments.Outcome becomes the rentals.OnlineOutcome it applies once by key.
// Outcomes of a reservation's prepayment name the reservation; the
// reservations service routes them (rentals/prepaid.go).
type leaseLedger struct{ res *rentals.Reservations }

// toOnlineOutcome converts payments' outcome to the ledger's.
func toOnlineOutcome(o payments.Outcome) rentals.OnlineOutcome {
	return rentals.OnlineOutcome{Key: o.Key, Ref: o.Ref, PaymentID: o.PaymentID, LeaseID: o.LeaseID, TabID: o.LeaseID, OperatorID: o.OperatorID,
		AmountFen: o.AmountFen, FeeFen: o.FeeFen, StripeRef: o.StripeRef, Reason: o.Reason}
}

func (l leaseLedger) PaidOnline(ctx context.Context, o payments.Outcome) error {
	return l.res.OnlinePaid(ctx, toOnlineOutcome(o))
}

func (l leaseLedger) RefundedOnline(ctx context.Context, o payments.Outcome) error {
	return l.res.OnlineRefunded(ctx, toOnlineOutcome(o))
}

// RefundFailed: the operator's queue item is written by payments itself
// (payment_queue); the ledger cancels a refund it had recorded as sent.
func (l leaseLedger) RefundFailed(ctx context.Context, o payments.Outcome) error {
	return l.res.OnlineRefundFailed(ctx, toOnlineOutcome(o))
}

func (l leaseLedger) Disputed(ctx context.Context, o payments.Outcome) error {
	return l.res.OnlineDisputed(ctx, toOnlineOutcome(o))
}

// PrepaidMoney gives the reservations service what families paid online in
// advance, and refunds it when a reservation ends without a lease.
type PrepaidMoney struct{ Pay *payments.Service }

// Prepaid returns what was paid online for reservation id.
func (p PrepaidMoney) Prepaid(ctx context.Context, id string) ([]rentals.OnlineOutcome, error) {
	paid, err := p.Pay.PaidOutcomes(ctx, id)
	out := make([]rentals.OnlineOutcome, len(paid))
	for i, o := range paid {
		out[i] = toOnlineOutcome(o)
	}
	return out, err
}

// PrepayRefundRef is the ledger entry id of the refund of a reservation's
// prepayment.
func PrepayRefundRef(reservationID string) string { return "reservation/" + reservationID + "/refund" }

// RefundPrepaid refunds everything paid online for x in full, under one
// ledger entry id, so asking again finishes the same refund. Once the refund
// is recorded payments owns it: Stripe unreachable is made later by its
// reconciler, Stripe refusing lands in the operator's queue.
func (p PrepaidMoney) RefundPrepaid(ctx context.Context, x rentals.Reservation) error {
	paid, err := p.Pay.PaidOutcomes(ctx, x.ID)
	if err != nil || len(paid) == 0 {
		return err
	}
	_, err = p.Pay.Refund(ctx, tenancy.OperatorScope(x.OperatorID), tenancy.System, payments.RefundRequest{
		Ref: PrepayRefundRef(x.ID), LeaseID: x.ID, Full: true, Reason: "reservation_" + string(x.State)})
	if errors.Is(err, payments.ErrStripeUnavailable) || errors.Is(err, payments.ErrStripeRefused) {
		return nil
	}
	return err
}

// RefundDeposit refunds the deposit a renter paid online at check-in
// (docs/payments.md "Refunds at check-in"). Once payments has recorded the
// refund it owns it: Stripe unreachable is made later by its reconciler,
// Stripe refusing lands in the operator's queue.
func (p PrepaidMoney) RefundDeposit(ctx context.Context, r rentals.DepositRefund) error {
	_, err := p.Pay.Refund(ctx, tenancy.OperatorScope(r.OperatorID), tenancy.System, payments.RefundRequest{
		Ref: r.Ref, LeaseID: r.TabID, AmountFen: r.AmountFen, Reason: "deposit_return"})
	if errors.Is(err, payments.ErrStripeUnavailable) || errors.Is(err, payments.ErrStripeRefused) {
		return nil
	}
	return err
}
