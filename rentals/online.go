package rentals

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"fuju/internal/eventlog"
	"fuju/internal/tenancy"
	"fuju/internal/valid"
)

// Online money reaches a lease from the payments package: Stripe's outcomes
// (a payment received, a refund sent or failed, a dispute) are applied to
// the lease's ledger as typed entries (paid_online, platform_fee,
// refund_online, refund_online_failed) through the lease's log, each
// outcome exactly once by its key. cmd/internal/app adapts payments.Ledger
// to these methods.

// ErrOnlineRefundTooLarge refuses a refund_online that would return more
// than was paid online for the lease and not yet refunded.
var ErrOnlineRefundTooLarge = fmt.Errorf("refund exceeds what was paid online for the lease: %w", ErrConflict)

// OnlineOutcome is one thing Stripe did for a lease, as the payments
// package reports it. Key identifies it: a key is applied once, however
// often it is delivered.
type OnlineOutcome struct {
	Key       string
	Ref       string // the payment's or refund's ledger entry id in payments
	PaymentID string
	LeaseID   string
	// TabID is the payments tab the money is in (the id payments knows
	// the lease by: a prepaid reservation's id); routing may rewrite
	// LeaseID, never TabID.
	TabID      string
	OperatorID string
	AmountFen  int64
	FeeFen     int64
	// StripeRef is Stripe's id of the money movement (pi_, re_, dp_).
	StripeRef string
	// Reason is a refund's failure reason, or a dispute's "status: reason".
	Reason string
}

// OnlineDispute is a dispute (chargeback) on a payment of the lease, as its
// latest outcome said; staff see it on the lease.
type OnlineDispute struct {
	ID        string    `json:"id" bson:"id"`
	PaymentID string    `json:"payment_id" bson:"payment_id"`
	AmountFen int64     `json:"amount_fen" bson:"amount_fen"`
	Status    string    `json:"status" bson:"status"`
	At        time.Time `json:"at" bson:"at"`
}

// Online outcome kinds (leaseEvent.Why of a kindOnline event).
const (
	onlinePaid         = "paid_online"
	onlineRefunded     = "refund_online"
	onlineRefundFailed = "refund_online_failed"
	onlineDisputed     = "disputed"
)

// kindOnline is a lease event that applies one online outcome.
const kindOnline = "online"

// PaidOnline records money the renter paid through Stripe: a paid_online
// credit and, when the platform kept a fee, a platform_fee memo.
func (s *Service) PaidOnline(ctx context.Context, o OnlineOutcome) error {
	return s.applyOnline(ctx, onlinePaid, o)
}

// RefundedOnline records money Stripe returned to the renter: a
// refund_online debit. It is refused (ErrOnlineRefundTooLarge) when it would
// make the lease's online refunds exceed its online payments.
func (s *Service) RefundedOnline(ctx context.Context, o OnlineOutcome) error {
	return s.applyOnline(ctx, onlineRefunded, o)
}

// RefundFailed records a refund Stripe could not pay out. The operator sees
// it in the payments queue; the ledger changes only when the same refund
// was recorded as sent (a refund that failed after it succeeded): a
// refund_online_failed credit cancels it.
func (s *Service) RefundFailed(ctx context.Context, o OnlineOutcome) error {
	return s.applyOnline(ctx, onlineRefundFailed, o)
}

// Disputed flags the lease with the dispute's status; no ledger entry (the
// money moves only when the dispute is decided, and Stripe reports that).
func (s *Service) Disputed(ctx context.Context, o OnlineOutcome) error {
	return s.applyOnline(ctx, onlineDisputed, o)
}

func (o OnlineOutcome) validate() error {
	e := &valid.Error{}
	if o.Key == "" {
		e.Add("key", "required", "is required")
	}
	if o.LeaseID == "" {
		e.Add("lease_id", "required", "is required")
	}
	if o.AmountFen < 0 || o.AmountFen > MaxPaymentFen || o.FeeFen < 0 || o.FeeFen > o.AmountFen {
		e.Add("amount_fen", "amount_max", fmt.Sprintf("must be between 0 and %d fen, the fee at most the amount", MaxPaymentFen), "max_fen", MaxPaymentFen)
	}
	e.Text("key", o.Key, 300).Text("stripe_ref", o.StripeRef, valid.MaxReference)
	return e.Err()
}

// applyOnline appends one outcome to the lease's log as the event after its
// head, unless an event already applied its key. Concurrent deliveries
// (and other desk writes) race for the same event id: the losers read the
// head again and find the key applied, or apply it on top.
func (s *Service) applyOnline(ctx context.Context, kind string, o OnlineOutcome) error {
	if err := o.validate(); err != nil {
		return fmt.Errorf("rentals: online %s: %w", kind, err)
	}
	for range 50 {
		l, head, err := s.advance(ctx, o.LeaseID, modeInline)
		if err == nil && !l.Listed {
			err = fmt.Errorf("rentals: lease %s: %w", o.LeaseID, ErrNotFound)
		}
		if err != nil {
			if errors.Is(err, ErrConflict) {
				continue // a checkout in progress or a busy lease: read again
			}
			return fmt.Errorf("rentals: online %s %s: %w", kind, o.Key, err)
		}
		if o.OperatorID != "" && o.OperatorID != l.OperatorID {
			return fmt.Errorf("rentals: online %s %s: lease %s is another operator's: %w", kind, o.Key, l.ID, ErrNotFound)
		}
		if slices.Contains(l.OnlineKeys, o.Key) {
			return nil
		}
		ev, err := s.onlineEvent(l, kind, o)
		if err != nil {
			return err
		}
		if x, ok := parseExtensionRef(o.Ref); ok && kind == onlinePaid && x.leaseID == l.ID {
			got, why, err := s.extendPaid(ctx, l, head, o, x)
			if errors.Is(err, errRetry) {
				continue
			}
			if err != nil {
				return fmt.Errorf("rentals: online %s %s: %w", kind, o.Key, err)
			}
			if why == "" {
				s.auditLease(ctx, tenancy.System, "lease.extend_online", &l, got)
				return nil
			}
			// Not as quoted any more: the money stays as a credit, and
			// the lease says which extension it was for and why.
			s.logger.Warn("extension paid online not applied; the payment stays as a credit", "lease", l.ID, "ref", o.Ref, "why", why)
			ev.Lease.Unapplied = append(slices.Clone(l.Unapplied), UnappliedExtension{Ref: o.Ref, Days: x.days, AmountFen: o.AmountFen, Reason: why, At: s.now()})
			ev.Why += " (extension not applied: " + why + ")"
		}
		marker, err := s.leaseLg.Begin(ctx, l.ID)
		if err != nil {
			return fmt.Errorf("rentals: %w", err)
		}
		if _, err := s.appendNext(ctx, head, ev); errors.Is(err, eventlog.ErrTaken) {
			_ = s.leaseLg.Done(ctx, marker)
			continue
		} else if err != nil {
			return err
		}
		if err := s.crashPoint("online:event"); err != nil {
			return err
		}
		got, _, err := s.advance(ctx, l.ID, modeWriter)
		if err != nil {
			return err
		}
		_ = s.leaseLg.Done(ctx, marker)
		s.auditLease(ctx, tenancy.System, "lease."+kind, &l, got)
		return nil
	}
	return fmt.Errorf("rentals: lease %s is being changed by others; try again: %w", o.LeaseID, valid.Because(ErrConflict, "busy"))
}

// onlineEvent decides the event that applies o to lease l: its entries,
// the lease's totals and balance after them. A closed lease whose balance
// an outcome moves off zero is open again (returned), so the desk sees what
// it owes or is owed.
func (s *Service) onlineEvent(l Lease, kind string, o OnlineOutcome) (leaseEvent, error) {
	now, today := s.today()
	base := entryBase(l, today, tenancy.System)
	base.Reference = o.StripeRef
	var entries []LedgerEntry
	add := func(k EntryKind, fen int64, note string) {
		if fen > 0 {
			x := base
			x.Kind, x.AmountFen, x.Note, x.Method = k, fen, note, "online"
			entries = append(entries, x)
		}
	}
	next := l
	next.OnlineKeys = append(slices.Clone(l.OnlineKeys), o.Key)
	switch kind {
	case onlinePaid:
		add(EntryPaidOnline, o.AmountFen, o.Ref)
		add(EntryPlatformFee, o.FeeFen, o.Ref)
		next.PaidOnlineFen += o.AmountFen
		if next.OnlineTab == "" {
			next.OnlineTab = cmp.Or(o.TabID, l.ID)
		}
	case onlineRefunded:
		if l.RefundedOnlineFen+o.AmountFen > l.PaidOnlineFen {
			return leaseEvent{}, fmt.Errorf("rentals: online refund %s of %d fen on lease %s (paid online %d, refunded %d): %w",
				o.Key, o.AmountFen, l.ID, l.PaidOnlineFen, l.RefundedOnlineFen, ErrOnlineRefundTooLarge)
		}
		add(EntryRefundOnline, o.AmountFen, o.Ref)
		next.RefundedOnlineFen += o.AmountFen
	case onlineRefundFailed:
		// The key of the part that succeeded is the failure's key without
		// "/failed"; only a refund recorded as sent is cancelled.
		sent := len(o.Key) > len("/failed") && slices.Contains(l.OnlineKeys, o.Key[:len(o.Key)-len("/failed")])
		if sent {
			add(EntryRefundOnlineFailed, o.AmountFen, o.Ref)
			next.RefundedOnlineFen -= o.AmountFen
		}
	case onlineDisputed:
		next.Dispute = &OnlineDispute{ID: o.StripeRef, PaymentID: o.PaymentID, AmountFen: o.AmountFen, Status: o.Reason, At: now}
	}
	next.BalanceFen = l.BalanceFen + Balance(entries)
	next.LedgerSeq = l.LedgerSeq + int64(len(entries))
	if l.State == LeaseClosed && next.BalanceFen != 0 {
		next.State, next.ClosedAt = LeaseReturned, time.Time{}
	}
	return leaseEvent{Kind: kindOnline, From: l.State, Lease: next, By: tenancy.System, Why: kind + " " + o.Key,
		LedgerFrom: l.LedgerSeq + 1, Ledger: entries}, nil
}

// DepositRefund asks for the deposit a renter paid online to go back
// through Stripe at check-in: AmountFen (the deposit minus what the desk
// charged) from payments tab TabID, under our ledger entry id Ref.
type DepositRefund struct {
	LeaseID    string
	TabID      string
	OperatorID string
	Ref        string
	AmountFen  int64
}

// DepositRefunder sends DepositRefunds to Stripe (cmd/internal/app wires
// payments). RefundDeposit returns nil once the refund is recorded with
// payments, whatever Stripe answered: a refusal is the operator's queue
// item and Stripe unreachable is made later by payments' reconciler; asking
// again with the same Ref and amount finishes the same refund.
type DepositRefunder interface {
	RefundDeposit(ctx context.Context, r DepositRefund) error
}

// UseDepositRefunds sets how deposits paid online are refunded; without
// one (online payment off) a lease has no money paid online to refund.
func (s *Service) UseDepositRefunds(f DepositRefunder) { s.depositRefunds = f }

// DepositRefundRef is the ledger entry id of the online refund of lease
// id's deposit at check-in.
func DepositRefundRef(leaseID string) string { return "lease/" + leaseID + "/deposit" }

// onlineDepositFen is the part of lease l's deposit that was paid online
// and is still refundable there: the deposit, at most what was paid online
// and not refunded. Without a refunder nothing is.
func (s *Service) onlineDepositFen(l Lease) int64 {
	if s.depositRefunds == nil {
		return 0
	}
	return max(min(l.DepositFen, l.PaidOnlineFen-l.RefundedOnlineFen), 0)
}

// refundDepositOnline asks payments for the online refund a check-in
// decided (l.Return.RefundOnlineFen), under its ledger entry id; asking
// again finishes the same refund, so the reconciler may repeat it.
func (s *Service) refundDepositOnline(ctx context.Context, l Lease) error {
	if s.depositRefunds == nil || l.Return == nil || l.Return.RefundOnlineFen <= 0 {
		return nil
	}
	return s.depositRefunds.RefundDeposit(ctx, DepositRefund{LeaseID: l.ID, TabID: cmp.Or(l.OnlineTab, l.ID), OperatorID: l.OperatorID,
		Ref: l.Return.RefundOnlineRef, AmountFen: l.Return.RefundOnlineFen})
}
