package stations

import (
	"context"

	"fuju/internal/audit"
	"fuju/internal/tenancy"
)

// recorder writes the audit log (the accounts store satisfies it through the
// wiring). Every state-changing method below writes one entry through it,
// after its change succeeded.
type recorder interface {
	Record(ctx context.Context, e audit.Entry) error
}

// record writes one audit entry about a change that has happened; a failure
// is logged, never returned (audit.Write says why).
func (s *Service) writeAudit(ctx context.Context, by tenancy.Actor, operatorID, action, target string, changes []audit.Change) {
	audit.Write(ctx, s.auditLog, s.logger, audit.Entry{Actor: tenancy.AuditActor(by), OperatorID: operatorID, Action: action,
		Target: target, Changes: changes})
}

// unitNotes and operatorNotes are the fields recorded as changed without
// their values. A unit's condition is about the device, and an operator's,
// station's or unit's phones and addresses are the business's, so a unit has
// none; an operator's suspension reason is free text that may be about a
// person.
var (
	unitNotes     []string
	operatorNotes = []string{"suspended_reason"}
)

// auditedUnit records action on a unit that moved from before to after, when
// the move succeeded, and passes the move's result on.
func (s *Service) auditedUnit(ctx context.Context, by tenancy.Actor, action string, before *Unit, after Unit, err error) (Unit, error) {
	if err != nil {
		return after, err
	}
	var b any
	if before != nil {
		b = *before
	}
	s.writeAudit(ctx, by, after.OperatorID, action, "unit/"+after.Tag, audit.Diff(b, after, unitNotes...))
	return after, nil
}

// auditImport records an import as one entry with its counts, failed or not
// (the rows before a failure stay created): the units record each creation
// and edit in their own histories, which is where thousands of lines belong.
func (s *Service) auditImport(ctx context.Context, job ImportJob, by tenancy.Actor) {
	type counts struct {
		Status    string `json:"status"`
		Rows      int    `json:"rows"`
		Created   int    `json:"created"`
		Updated   int    `json:"updated"`
		Unchanged int    `json:"unchanged"`
		Failed    int    `json:"failed"`
	}
	after := counts{Status: job.Status, Rows: job.Total, Created: job.Result.Created, Updated: job.Result.Updated,
		Unchanged: job.Result.Unchanged, Failed: len(job.Result.Failed)}
	s.writeAudit(ctx, by, job.OperatorID, "unit.import", "import/"+job.ID, audit.Diff(nil, after))
}
