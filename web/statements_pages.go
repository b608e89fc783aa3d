package web

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/gin-gonic/gin"

	"fuju/internal/l10n"
	"fuju/internal/valid"
	"fuju/reports"
	"fuju/stations"
)

// The subsidy statements' console pages (docs/statements.md): the operator
// admin's months, one statement and its submission; the platform admin's
// queue of every operator's statements, one statement and its decisions
// (approve, return with reasons, mark paid). Every step is one call of the
// reports service, which checks who may do what and records the audit
// entry; the pages post, redirect with a flash, and re-render with the
// problem next to its field.

// statementPartials is the statement's body both consoles' statement
// pages show ("stmt_body"); newRenderer parses it into each of them.
const statementPartials = "statement_partials"

// stmtView is what the statement pages show of one statement, with the
// words they need for it.
type stmtView struct {
	b  *base
	St reports.Statement
	// Frozen: submitted, approved or paid (its content never changes).
	Frozen bool
	// Adjustments counts the lines that belong to an earlier month.
	Adjustments int
}

func newStmtView(b *base, st reports.Statement) stmtView {
	v := stmtView{b: b, St: st, Frozen: st.Status == reports.Submitted || st.Status == reports.Approved || st.Status == reports.Paid}
	for _, l := range st.Content.Lines {
		if l.Adjustment {
			v.Adjustments++
		}
	}
	return v
}

// StatusName is a statement status in words.
func (b *base) StatusName(s reports.Status) string { return b.T("stmt.status." + string(s)) }

// When shows an instant in the city's time.
func (v stmtView) When(t time.Time) string { return t.In(l10n.Local).Format("2006-01-02 15:04") }

// WhenPtr is When of an optional instant.
func (v stmtView) WhenPtr(t *time.Time) string {
	if t == nil {
		return "—"
	}
	return v.When(*t)
}

// TierName is an income tier in words.
func (v stmtView) TierName(t string) string { return v.b.T("tier." + t) }

// ProofName is a proof type in words ("" for none).
func (v stmtView) ProofName(p string) string {
	if p == "" {
		return ""
	}
	return v.b.T("proof." + p)
}

// DistrictName names a district by its id.
func (v stmtView) DistrictName(id string) string {
	for _, d := range stations.Districts {
		if d.ID == id {
			return v.b.Tx(d.Name)
		}
	}
	return id
}

// StationName is a line's station in the page's language.
func (v stmtView) StationName(id, zh, en string) string {
	if v.b.Lang == "en" && en != "" {
		return en
	}
	if zh != "" {
		return zh
	}
	return id
}

// ChargeName says what a line's subsidy paid for.
func (v stmtView) ChargeName(l reports.Line) string {
	if l.Kind == "release" {
		return v.b.T("stmt.kind.release")
	}
	return v.b.T("stmt.charge." + l.Charge)
}

// StmtWhen shows when a statement was submitted, in the city's time.
func (b *base) StmtWhen(t *time.Time) string {
	if t == nil {
		return "—"
	}
	return t.In(l10n.Local).Format("2006-01-02 15:04")
}

// Month is a YYYY-MM month as people read it.
func (b *base) Month(m string) string {
	t, ok := reports.ParseMonth(m)
	if !ok {
		return m
	}
	if b.Lang == "en" {
		return t.Format("January 2006")
	}
	return fmt.Sprintf("%d年%d月", t.Year(), int(t.Month()))
}

// Export links the statement's CSV or PDF in the page's language; base is
// the API path of the statement.
func (v stmtView) Export(base, format string) string {
	return base + "/" + format + "?lang=" + url.QueryEscape(v.b.Lang)
}

// ---- The operator admin's pages

// stmtRow is a month in the operator's list: the reasons are shown for a
// returned statement.
type stmtRow struct {
	reports.Summary
	Reasons string
}

type opStatementsPage struct {
	opConsole
	Months []stmtRow
}

func (s *Server) showOpStatements(c *gin.Context) error {
	p := opStatementsPage{opConsole: s.opConsole(c, "stmt.title", "statements")}
	ctx, sc := c.Request.Context(), scopeOf(c)
	sums, err := s.reports.Statements(ctx, sc, sc.OperatorID)
	if err != nil {
		return err
	}
	for _, m := range sums {
		row := stmtRow{Summary: m}
		if m.Status == reports.Returned {
			st, err := s.reports.Statement(ctx, sc, sc.OperatorID, m.Month)
			if err != nil {
				return err
			}
			row.Reasons = st.Reasons
		}
		p.Months = append(p.Months, row)
	}
	return s.render(c, http.StatusOK, "operator_statements", &p)
}

type opStatementPage struct {
	opConsole
	View stmtView
	// API is the statement's API path, for its CSV and PDF.
	API  string
	Form form
}

func (s *Server) opStatementPage(c *gin.Context, status int, f form) error {
	sc := scopeOf(c)
	st, err := s.reports.Statement(c.Request.Context(), sc, sc.OperatorID, c.Param("month"))
	if err != nil {
		return err
	}
	p := opStatementPage{opConsole: s.opConsole(c, "stmt.title", "statements"), Form: f,
		API: "/api/v1/operator/statements/" + url.PathEscape(st.Month)}
	p.View = newStmtView(&p.base, st)
	p.Title = p.T("stmt.heading", p.Month(st.Month))
	return s.render(c, status, "operator_statement", &p)
}

func (s *Server) showOpStatement(c *gin.Context) error {
	return s.opStatementPage(c, http.StatusOK, form{})
}

// submitOpStatementPage submits the month as the page showed it. The box
// saying the admin checked it and knows it freezes is required: the pages
// work without JavaScript, so the warning cannot be a dialog.
func (s *Server) submitOpStatementPage(c *gin.Context) error {
	f := newForm(c)
	sc := scopeOf(c)
	month := c.Param("month")
	var err error
	if f.Get("stmt_confirm") == "" {
		err = valid.Field("stmt_confirm", "stmt_confirm", "tick the box to say the statement was checked")
	} else {
		_, err = s.reports.Submit(c.Request.Context(), sc, sc.OperatorID, month, actorOf(c))
	}
	if err != nil {
		if f.fail(err, "stmt_confirm") {
			return s.opStatementPage(c, http.StatusBadRequest, f)
		}
		return err
	}
	s.flash(c, "stmt.flash.submitted")
	c.Redirect(http.StatusSeeOther, "/operator/statements/"+url.PathEscape(month))
	return nil
}

// ---- The platform admin's pages

// stmtQueueRow is one operator's statement in the platform's queue.
type stmtQueueRow struct {
	reports.Summary
	Operator string
}

// stmtGroup is the statements of one status.
type stmtGroup struct {
	Status reports.Status
	Rows   []stmtQueueRow
}

type adminStatementsPage struct {
	adminBase
	Groups []stmtGroup
	Total  int
}

// queueOrder is the order the platform works in: what waits for it first.
var queueOrder = []reports.Status{reports.Submitted, reports.Approved, reports.Returned, reports.Paid}

func (s *Server) showAdminStatements(c *gin.Context) error {
	ctx := c.Request.Context()
	p := adminStatementsPage{adminBase: s.adminBase(c, "stmt.admin.title", "statements")}
	sums, err := s.reports.Queue(ctx, scopeOf(c), "")
	if err != nil {
		return err
	}
	ops, err := s.stations.Operators(ctx)
	if err != nil {
		return err
	}
	names := operatorNames(ops)
	slices.SortStableFunc(sums, func(a, b reports.Summary) int {
		if a.Month != b.Month {
			return cmpString(b.Month, a.Month)
		}
		return cmpString(a.OperatorID, b.OperatorID)
	})
	for _, st := range queueOrder {
		g := stmtGroup{Status: st}
		for _, m := range sums {
			if m.Status == st {
				name := m.OperatorID
				if n, ok := names[m.OperatorID]; ok {
					name = p.Tx(n)
				}
				g.Rows = append(g.Rows, stmtQueueRow{Summary: m, Operator: name})
			}
		}
		p.Total += len(g.Rows)
		p.Groups = append(p.Groups, g)
	}
	return s.render(c, http.StatusOK, "admin_statements", &p)
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

type adminStatementPage struct {
	adminBase
	View     stmtView
	Operator string
	API      string
	// Here is the page's own path, the forms' base.
	Here string
	// Form and Action are the decision form that failed, to show again.
	Form   form
	Action string
}

func (s *Server) adminStatementPage(c *gin.Context, status int, action string, f form) error {
	ctx := c.Request.Context()
	opID, month := c.Param("operator"), c.Param("month")
	st, err := s.reports.Statement(ctx, scopeOf(c), opID, month)
	if err != nil {
		return err
	}
	o, err := s.stations.Operator(ctx, opID)
	if err != nil {
		return err
	}
	p := adminStatementPage{adminBase: s.adminBase(c, "stmt.admin.title", "statements"), Form: f, Action: action,
		Here: "/admin/statements/" + url.PathEscape(opID) + "/" + url.PathEscape(month)}
	p.API = "/api/v1" + p.Here
	p.View = newStmtView(&p.base, st)
	p.Operator = p.Tx(o.Name)
	p.Title = p.T("stmt.admin.heading", p.Operator, p.Month(st.Month))
	return s.render(c, status, "admin_statement", &p)
}

func (s *Server) showAdminStatement(c *gin.Context) error {
	return s.adminStatementPage(c, http.StatusOK, "", form{})
}

// FormFor is the failed form when it is action's, else an empty one.
func (p *adminStatementPage) FormFor(action string) form {
	if p.Action == action {
		return p.Form
	}
	return form{}
}

// decideStatementPage approves, returns or marks paid the statement whose
// hash the page showed: if it was submitted again since, the service
// refuses (409) rather than deciding on content nobody read.
func (s *Server) decideStatementPage(to reports.Status) func(*gin.Context) error {
	action := map[reports.Status]string{reports.Approved: "approve", reports.Returned: "return", reports.Paid: "paid"}[to]
	return func(c *gin.Context) error {
		f := newForm(c)
		opID, month := c.Param("operator"), c.Param("month")
		d := reports.Decision{To: to, Hash: f.Get("hash"), Reasons: f.Get("reasons"), PaidOn: f.Get("paid_on"), Reference: f.Get("reference")}
		if _, err := s.reports.Decide(c.Request.Context(), scopeOf(c), opID, month, d, actorOf(c)); err != nil {
			if f.fail(err, "reasons", "paid_on", "reference") {
				return s.adminStatementPage(c, http.StatusBadRequest, action, f)
			}
			return err
		}
		s.flash(c, "stmt.flash."+action)
		c.Redirect(http.StatusSeeOther, "/admin/statements/"+url.PathEscape(opID)+"/"+url.PathEscape(month))
		return nil
	}
}
