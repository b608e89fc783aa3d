package rentals

import (
	"context"
	"fmt"

	"fuju/internal/valid"
)

// Online outcomes of money paid before a lease exists (a reservation's
// prepayment, docs/payments.md "Prepaying a reservation") name the
// reservation where a lease id would be. The Online* methods of
// Reservations are the lease ledger the payments package talks to: an
// outcome naming a lease goes to the lease, one naming a reservation is
// routed by the reservation's state:
//
//   - held (or being opened, or moved): payments keeps it; the desk's
//     fulfilment moves it onto the lease (settlePrepaid);
//   - being fulfilled: not yet (an error, so payments delivers it again and
//     the fulfilment, which reads what was paid after it began, or the
//     redelivery, writes it once);
//   - fulfilled: onto the lease, by the same key the fulfilment uses;
//   - cancelled or expired: a payment is refunded in full (money that
//     arrived after the reservation ended), refunds and failures change no
//     lease.

// OnlinePaid is PaidOnline for a lease or a reservation.
func (r *Reservations) OnlinePaid(ctx context.Context, o OnlineOutcome) error {
	return r.routeOnline(ctx, o, r.s.PaidOnline, true)
}

// OnlineRefunded is RefundedOnline for a lease or a reservation.
func (r *Reservations) OnlineRefunded(ctx context.Context, o OnlineOutcome) error {
	return r.routeOnline(ctx, o, r.s.RefundedOnline, false)
}

// OnlineRefundFailed is RefundFailed for a lease or a reservation.
func (r *Reservations) OnlineRefundFailed(ctx context.Context, o OnlineOutcome) error {
	return r.routeOnline(ctx, o, r.s.RefundFailed, false)
}

// OnlineDisputed is Disputed for a lease or a reservation (a dispute on a
// prepayment before the lease is in the operator's payments queue).
func (r *Reservations) OnlineDisputed(ctx context.Context, o OnlineOutcome) error {
	return r.routeOnline(ctx, o, r.s.Disputed, false)
}

func (r *Reservations) routeOnline(ctx context.Context, o OnlineOutcome, lease func(context.Context, OnlineOutcome) error, paid bool) error {
	if !validResID(o.LeaseID) {
		return lease(ctx, o)
	}
	x, err := r.current(ctx, o.LeaseID)
	if err != nil {
		return err
	}
	if o.OperatorID != "" && o.OperatorID != x.OperatorID {
		return fmt.Errorf("rentals: online outcome %s: reservation %s is another operator's: %w", o.Key, x.ID, ErrNotFound)
	}
	switch x.State {
	case ResFulfilling:
		return fmt.Errorf("rentals: reservation %s is being fulfilled; deliver %s again: %w", x.ID, o.Key, valid.Because(ErrConflict, "busy"))
	case ResFulfilled:
		o.LeaseID = x.LeaseID
		return lease(ctx, o)
	case ResCancelled, ResExpired:
		if paid && r.Prepaid != nil {
			return r.Prepaid.RefundPrepaid(ctx, x)
		}
	}
	return nil
}
