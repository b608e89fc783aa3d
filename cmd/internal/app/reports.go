package app

import (
	"context"

	"fuju/accounts"
	"fuju/internal/audit"
	"fuju/internal/tenancy"
	"fuju/reports"
)

// reportsAudit writes the statements' audit entries to the audit log:
// field names only, never values.
type reportsAudit struct{ auth *accounts.Service }

func (a reportsAudit) Audit(ctx context.Context, e reports.AuditEntry) error {
	changes := make([]audit.Change, len(e.Fields))
	for i, f := range e.Fields {
		changes[i] = audit.Change{Field: f}
	}
	return a.auth.Record(ctx, audit.Entry{Actor: tenancy.AuditActor(e.Actor), OperatorID: e.OperatorID, Action: e.Action,
		Target: e.Target, Changes: changes})
}
