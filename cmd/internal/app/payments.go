package app

import (
	"context"
	"log/slog"
	"sort"

	"fuju/accounts"
	"fuju/internal/audit"
	"fuju/internal/tenancy"
	"fuju/payments"
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
	return p.auth.Record(ctx, audit.Entry{Actor: tenancy.AuditActor(e.By), OperatorID: e.OperatorID, Action: e.Action, Target: e.Target, Changes: changes})
}

// unwiredLedger stands in for the lease ledger until rentals records online
// payments (issue 12's second half wires rentals here). No route starts a
// payment or receives Stripe's webhooks yet, so no outcome reaches it; should
// one, it is logged by its ids and amount.
type unwiredLedger struct{ logger *slog.Logger }

func (l unwiredLedger) log(ctx context.Context, kind string, o payments.Outcome) error {
	l.logger.WarnContext(ctx, "payments: outcome for the lease ledger, which is not wired yet", "kind", kind,
		"key", o.Key, "lease", o.LeaseID, "operator", o.OperatorID, "amount_fen", o.AmountFen, "stripe", o.StripeRef)
	return nil
}

func (l unwiredLedger) PaidOnline(ctx context.Context, o payments.Outcome) error {
	return l.log(ctx, "paid", o)
}

func (l unwiredLedger) RefundedOnline(ctx context.Context, o payments.Outcome) error {
	return l.log(ctx, "refunded", o)
}

func (l unwiredLedger) RefundFailed(ctx context.Context, o payments.Outcome) error {
	return l.log(ctx, "refund_failed", o)
}

func (l unwiredLedger) Disputed(ctx context.Context, o payments.Outcome) error {
	return l.log(ctx, "disputed", o)
}
