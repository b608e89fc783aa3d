package app

import (
	"context"
	"sort"

	"fuju/accounts"
	"fuju/internal/audit"
	"fuju/internal/tenancy"
	"fuju/payments"
	"fuju/rentals"
)

// paymentsAudit writes the payments package's audit entries (ids, amounts
// and states; no names) to the audit log.
type paymentsAudit struct{ auth *accounts.Service }

func (p paymentsAudit) Record(ctx context.Context, e payments.AuditEntry) error {
	fields := make([]string, 0, len(e.Fields))
	for k := range e.Fields {
		fields = append(fields, k)
	}
	sort.Strings(fields)
	changes := make([]audit.Change, 0, len(fields))
	for _, k := range fields {
		changes = append(changes, audit.Change{Field: k, After: e.Fields[k]})
	}
	return p.auth.Record(ctx, audit.Entry{Actor: tenancy.AuditActor(e.By), OperatorID: e.OperatorID, Action: e.Action, Target: e.Target, Changes: changes,
		RequestID: audit.RequestID(ctx)})
}

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
