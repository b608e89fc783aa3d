package web

import (
	"context"

	"fuju/reports"
	"fuju/stations"
	"fuju/web/auth"
)

// testReportsAudit writes the statements' audit entries to the test
// server's audit log, as internal/app does.
type testReportsAudit struct{ auth *auth.Service }

func (a testReportsAudit) Audit(ctx context.Context, e reports.AuditEntry) error {
	changes := make([]auth.Change, len(e.Fields))
	for i, f := range e.Fields {
		changes[i] = auth.Change{Field: f}
	}
	return a.auth.Record(ctx, auth.Entry{Actor: stations.Actor(e.Actor), OperatorID: e.OperatorID, Action: e.Action,
		Target: e.Target, Changes: changes})
}
