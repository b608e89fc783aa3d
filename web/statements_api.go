package web

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"fuju/reports"
)

// Subsidy statements (reports): an operator admin lists, reads, exports and
// submits its own operator's; the platform admin reads every operator's,
// approves, returns and marks them paid. Tenancy, the lifecycle and the
// audit entries are the reports service's.

// statementLang is the language of an export: ?lang=, else the reader's.
func (s *Server) statementLang(c *gin.Context) string { return langOf(c) }

// sendStatement writes a statement as CSV or PDF, named by operator and
// month, never cached.
func (s *Server) sendStatement(c *gin.Context, st reports.Statement, format string) error {
	name := "statement-" + st.OperatorID + "-" + st.Month
	switch format {
	case "csv":
		c.Header("Content-Disposition", `attachment; filename="`+name+`.csv"`)
		c.Data(http.StatusOK, "text/csv; charset=utf-8", reports.CSV(st, s.statementLang(c)))
	default:
		pdf, err := reports.PDF(st, s.statementLang(c))
		if err != nil {
			return err
		}
		c.Header("Content-Disposition", `inline; filename="`+name+`.pdf"`)
		c.Data(http.StatusOK, "application/pdf", pdf)
	}
	return nil
}

func (s *Server) listOpStatementsAPI(c *gin.Context) error {
	sc := scopeOf(c)
	items, err := s.reports.Statements(c.Request.Context(), sc, sc.OperatorID)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, whole(items))
	return nil
}

func (s *Server) showOpStatementAPI(c *gin.Context) error {
	sc := scopeOf(c)
	st, err := s.reports.Statement(c.Request.Context(), sc, sc.OperatorID, c.Param("month"))
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, st)
	return nil
}

func (s *Server) exportOpStatement(format string) func(*gin.Context) error {
	return func(c *gin.Context) error {
		sc := scopeOf(c)
		st, err := s.reports.Statement(c.Request.Context(), sc, sc.OperatorID, c.Param("month"))
		if err != nil {
			return err
		}
		return s.sendStatement(c, st, format)
	}
}

func (s *Server) submitOpStatementAPI(c *gin.Context) error {
	sc := scopeOf(c)
	st, err := s.reports.Submit(c.Request.Context(), sc, sc.OperatorID, c.Param("month"), actorOf(c))
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, st)
	return nil
}

func (s *Server) listAdminStatementsAPI(c *gin.Context) error {
	p := newParams(c)
	p.only("status")
	status := reports.Status(p.str("status", 20))
	if err := p.err(); err != nil {
		return err
	}
	items, err := s.reports.Queue(c.Request.Context(), scopeOf(c), status)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, whole(items))
	return nil
}

func (s *Server) showAdminStatementAPI(c *gin.Context) error {
	st, err := s.reports.Statement(c.Request.Context(), scopeOf(c), c.Param("operator"), c.Param("month"))
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, st)
	return nil
}

func (s *Server) exportAdminStatement(format string) func(*gin.Context) error {
	return func(c *gin.Context) error {
		st, err := s.reports.Statement(c.Request.Context(), scopeOf(c), c.Param("operator"), c.Param("month"))
		if err != nil {
			return err
		}
		return s.sendStatement(c, st, format)
	}
}

// statementDecision is the body of approve, return and paid.
type statementDecision struct {
	Hash      string `json:"hash"`
	Reasons   string `json:"reasons"`
	PaidOn    string `json:"paid_on"`
	Reference string `json:"reference"`
}

func (s *Server) decideStatementAPI(to reports.Status) func(*gin.Context) error {
	return func(c *gin.Context) error {
		var req statementDecision
		if c.Request.ContentLength != 0 {
			if err := bindJSON(c, &req); err != nil {
				return err
			}
		}
		st, err := s.reports.Decide(c.Request.Context(), scopeOf(c), c.Param("operator"), c.Param("month"),
			reports.Decision{To: to, Hash: req.Hash, Reasons: req.Reasons, PaidOn: req.PaidOn, Reference: req.Reference}, actorOf(c))
		if err != nil {
			return err
		}
		c.JSON(http.StatusOK, st)
		return nil
	}
}
