package web

import (
	"net/http"
	"strings"
	"testing"

	"fuju/rentals"
)

// The merged document is valid OpenAPI 3.0 as kin-openapi reads it, and the
// document served is the one the tests check against.
func TestOpenAPIDocumentIsValid(t *testing.T) {
	doc, err := buildOpenAPI()
	if err != nil {
		t.Fatal(err)
	}
	c := testContract(t) // loads and validates (doc.Validate)
	if n := c.Doc.Paths.Len(); n < 50 {
		t.Errorf("the document has %d paths; the merge lost some", n)
	}
	s := newTestServer(t)
	if rec := get(t, s, "/api/v1/openapi.json"); rec.Body.String() != string(doc) {
		t.Error("the served document differs from the merged fragments")
	}
}

// The lease actions no other test calls through the API (extend, lost,
// settle): each answer, refusals included, is checked against the document
// by the test server.
func TestLeaseActionsAPI(t *testing.T) {
	s := newTestServer(t)
	d := desk{t: t, s: s, token: apiToken(t, s, "desk")}
	r := registerRenter(t, d, "13912345688")
	rec := d.call("POST", "/api/v1/staff/checkouts", checkoutBody("JZ-WC-0001", r.ID, 39000))
	if rec.Code != http.StatusCreated {
		t.Fatalf("checkout: %d %s", rec.Code, rec.Body)
	}
	l := decode[rentals.Lease](t, rec)
	cash := func(fen int64) []map[string]any { return []map[string]any{{"method": "cash", "amount_fen": fen}} }

	// 30 days are one ¥90 block; 5 more cost ¥25.
	if rec := d.call("POST", "/api/v1/staff/leases/"+l.ID+"/extend", map[string]any{"days": 5, "payments": cash(100)}); rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), `"payments"`) {
		t.Errorf("extension with the wrong payment: %d %s", rec.Code, rec.Body)
	}
	rec = d.call("POST", "/api/v1/staff/leases/"+l.ID+"/extend", map[string]any{"days": 5, "payments": cash(2500)})
	if ext := decode[rentals.Lease](t, rec); rec.Code != http.StatusOK || ext.Days != 35 || ext.Extensions != 1 {
		t.Fatalf("extension: %d %s", rec.Code, rec.Body)
	}
	// Not overdue: the unit cannot be declared lost.
	if rec := d.call("POST", "/api/v1/staff/leases/"+l.ID+"/lost", nil); rec.Code != http.StatusConflict {
		t.Errorf("lost before its time: %d %s", rec.Code, rec.Body)
	}
	// Damage beyond the deposit leaves a balance, settled later.
	rec = d.call("POST", "/api/v1/staff/checkins", map[string]any{"unit": "JZ-WC-0001", "outcome": "damaged", "damage_fen": 40000,
		"notes": "车架弯了", "station_id": "north"})
	if rec.Code != http.StatusOK {
		t.Fatalf("check-in: %d %s", rec.Code, rec.Body)
	}
	if got := leaseOf(t, s, l.ID); got.State != rentals.LeaseReturned || got.BalanceFen != 10000 {
		t.Fatalf("after the damaged return: %s owing %d", got.State, got.BalanceFen)
	}
	if rec := d.call("POST", "/api/v1/staff/leases/"+l.ID+"/settle", map[string]any{"payments": []any{}}); rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), `"payments"`) {
		t.Errorf("settling nothing: %d %s", rec.Code, rec.Body)
	}
	rec = d.call("POST", "/api/v1/staff/leases/"+l.ID+"/settle", map[string]any{"payments": cash(10000)})
	if got := decode[rentals.Lease](t, rec); rec.Code != http.StatusOK || got.State != rentals.LeaseClosed || got.BalanceFen != 0 {
		t.Fatalf("settle: %d %s", rec.Code, rec.Body)
	}
	if rec := d.call("POST", "/api/v1/staff/leases/"+l.ID+"/settle", map[string]any{"payments": cash(100)}); rec.Code != http.StatusConflict {
		t.Errorf("settling a closed lease: %d %s", rec.Code, rec.Body)
	}
}

// The answers every route of a kind can give are documented on each: a
// route that needs a credential answers 401 without one and 403 with the
// wrong one; a route with a path parameter answers 404; a route that reads
// a body answers 400 for a bad one and 413 for one over the limit; a
// state-changing route answers 403 to a cross-site request; and every route
// answers 503 when the database is too busy to answer in time. The middleware
// only sees the answers tests provoke; this sees every route.
func TestOpenAPIDocumentsCommonAnswers(t *testing.T) {
	doc := testContract(t).Doc
	for _, path := range doc.Paths.InMatchingOrder() {
		item := doc.Paths.Value(path)
		for method, op := range item.Operations() {
			// Every route reads the database, and a burst that outwaits its
			// connections is answered 503 busy, never a wrong verdict.
			want := map[string]string{"503": "it reads the database"}
			if op.Security != nil && len(*op.Security) > 0 {
				want["401"], want["403"] = "it needs a credential", "it needs a credential"
			}
			if strings.Contains(path, "{") {
				want["404"] = "it has a path parameter"
			}
			if op.RequestBody != nil {
				want["400"], want["413"] = "it reads a body", "it reads a body"
			}
			if method != http.MethodGet {
				want["403"] = "it changes state (cross-site requests are refused)"
			}
			if path == "/openapi.json" {
				continue
			}
			for code, why := range want {
				if op.Responses.Value(code) == nil {
					t.Errorf("%s %s does not document %s, though %s", method, path, code, why)
				}
			}
		}
	}
}
