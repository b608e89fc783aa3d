package app

import (
	"context"

	"fuju/reports"
	"fuju/stations"
	"fuju/web/auth"
)

// reportsAudit writes the statements' audit entries to the audit log:
// field names only, never values.
type reportsAudit struct{ auth *auth.Service }

func (a reportsAudit) Audit(ctx context.Context, e reports.AuditEntry) error {
	changes := make([]auth.Change, len(e.Fields))
	for i, f := range e.Fields {
		changes[i] = auth.Change{Field: f}
	}
	return a.auth.Record(ctx, auth.Entry{Actor: stations.Actor(e.Actor), OperatorID: e.OperatorID, Action: e.Action,
		Target: e.Target, Changes: changes})
}
