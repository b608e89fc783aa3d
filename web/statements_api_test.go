package web

import (
	"net/http"
	"strings"
	"testing"

	"fuju/reports"
)

func TestStatementsAPI(t *testing.T) {
	w := newOpWorld(t)
	const path = "/api/v1/operator/statements"
	for _, c := range []opCaller{w.staffB, w.writeA, w.platform, w.renter} {
		wantStatus(t, w.call(t, c, http.MethodGet, path, nil), http.StatusForbidden, c.name+" lists operator statements")
	}
	wantStatus(t, w.call(t, w.nobody, http.MethodGet, path, nil), http.StatusUnauthorized, "nobody")
	for _, c := range []opCaller{w.adminA, w.adminB, w.staffB} {
		wantStatus(t, w.call(t, c, http.MethodGet, "/api/v1/admin/statements/op-a/2026-10", nil), http.StatusForbidden, c.name+" reads the city's view")
	}
	months := decode[list[reports.Summary]](t, w.call(t, w.adminA, http.MethodGet, path, nil))
	if len(months.Items) != 2 || months.Items[1].Month != "2026-10" || !months.Items[1].Submittable || months.Items[0].Submittable {
		t.Fatalf("A's months %+v", months.Items)
	}
	wantField(t, w.call(t, w.adminA, http.MethodPost, path+"/2026-11/submit", nil), http.StatusBadRequest, "month", "submit the open month")
	wantField(t, w.call(t, w.adminA, http.MethodGet, path+"/2026-13", nil), http.StatusBadRequest, "month", "month 13")
	sent := decode[reports.Statement](t, w.call(t, w.adminA, http.MethodPost, path+"/2026-10/submit", nil))
	if sent.Status != reports.Submitted || len(sent.Hash) != 64 {
		t.Fatalf("submitted %+v", sent)
	}
	wantStatus(t, w.call(t, w.adminA, http.MethodPost, path+"/2026-10/submit", nil), http.StatusConflict, "submit twice")
	if b := decode[reports.Statement](t, w.call(t, w.adminB, http.MethodGet, path+"/2026-10", nil)); b.Status != reports.Draft || b.OperatorID != "op-b" {
		t.Fatalf("B's October: %s of %s", b.Status, b.OperatorID)
	}

	csv := w.call(t, w.adminA, http.MethodGet, path+"/2026-10/csv?lang=en", nil)
	wantStatus(t, csv, http.StatusOK, "csv")
	if !strings.HasPrefix(csv.Body.String(), "\ufeffSubsidy statement") || !strings.Contains(csv.Body.String(), sent.Hash) {
		t.Fatalf("csv: %.300s", csv.Body)
	}
	pdf := w.call(t, w.platform, http.MethodGet, "/api/v1/admin/statements/op-a/2026-10/pdf", nil)
	if pdf.Code != http.StatusOK || pdf.Header().Get("Content-Type") != "application/pdf" || !strings.HasPrefix(pdf.Body.String(), "%PDF") {
		t.Fatalf("pdf: %d %s", pdf.Code, pdf.Header().Get("Content-Type"))
	}

	adm := "/api/v1/admin/statements/op-a/2026-10"
	q := decode[list[reports.Summary]](t, w.call(t, w.platform, http.MethodGet, "/api/v1/admin/statements?status=submitted", nil))
	if len(q.Items) != 1 || q.Items[0].OperatorID != "op-a" || q.Items[0].Hash != sent.Hash {
		t.Fatalf("queue %+v", q.Items)
	}
	wantStatus(t, w.call(t, w.platform, http.MethodPost, adm+"/approve", map[string]any{"hash": strings.Repeat("0", 64)}), http.StatusConflict, "approve other content")
	wantField(t, w.call(t, w.platform, http.MethodPost, adm+"/return", map[string]any{"hash": sent.Hash}), http.StatusBadRequest, "reasons", "return without reasons")
	wantStatus(t, w.call(t, w.platform, http.MethodPost, adm+"/paid", map[string]any{"paid_on": "2026-11-20", "reference": "X-1"}), http.StatusConflict, "paid before approval")
	wantStatus(t, w.call(t, w.platform, http.MethodPost, "/api/v1/admin/statements/op-b/2026-10/approve", nil), http.StatusNotFound, "approve a draft never submitted")
	ok := decode[reports.Statement](t, w.call(t, w.platform, http.MethodPost, adm+"/approve", map[string]any{"hash": sent.Hash}))
	if ok.Status != reports.Approved || ok.Hash != sent.Hash {
		t.Fatalf("approved %+v", ok)
	}
	paid := decode[reports.Statement](t, w.call(t, w.platform, http.MethodPost, adm+"/paid", map[string]any{"paid_on": "2026-11-20", "reference": "JZCZ-01"}))
	if paid.Status != reports.Paid || paid.PaidReference != "JZCZ-01" {
		t.Fatalf("paid %+v", paid)
	}
	var actions []string
	for _, e := range w.auditFor(t, "statement/op-a/2026-10") {
		actions = append(actions, e.Action)
	}
	if strings.Join(actions, " ") != "statement.paid statement.approve statement.submit" {
		t.Fatalf("audit %v", actions)
	}
}
