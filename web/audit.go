package web

import (
	"github.com/gin-gonic/gin"

	"fuju/web/auth"
)

// audit records a create/update/delete by the caller in the audit log: who,
// which operator's data, what action on which record, and the fields that
// changed between before and after (either nil for a creation or deletion).
// Fields named in hide are recorded as changed without their values. A failure
// to record is logged; the change itself already happened.
func (s *Server) audit(c *gin.Context, operatorID, action, target string, before, after any, hide ...string) {
	if s.auth == nil {
		return
	}
	e := auth.Entry{Actor: actorOf(c), OperatorID: operatorID, Action: action, Target: target,
		Changes: auth.Diff(before, after, hide...), RequestID: requestID(c)}
	if err := s.auth.Record(c.Request.Context(), e); err != nil {
		s.logger.ErrorContext(c.Request.Context(), "audit log write failed", "err", err, "action", action,
			"target", target, "request_id", requestID(c))
	}
}
