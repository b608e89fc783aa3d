package web

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"fuju/accounts"
	"fuju/catalog"
	"fuju/internal/l10n"
	"fuju/internal/tenancy"
	"fuju/stations"
)

// opCaller is one way of calling the operator routes: a session (with its
// form token) or an API token, or nobody.
type opCaller struct {
	name   string
	cookie *http.Cookie
	csrf   string
	bearer string
	// stripeSig is the Stripe-Signature header of a webhook Stripe sends.
	stripeSig string
}

// opWorld is the test city plus a second operator, op-b, with its own
// station, listing and unit, and people of both operators.
type opWorld struct {
	s                        *Server
	adminA, adminB, staffB   opCaller
	renter, platform, nobody opCaller
	writeA, readA, writeB    opCaller
	staffAID, tokenAID       string
	staffAUser               accounts.User
	adminAUser               accounts.User
	// lastCookies are the cookies of the last form's response.
	lastCookies []*http.Cookie
}

func newOpWorld(t *testing.T) *opWorld {
	t.Helper()
	s := newTestServer(t)
	s.auth.StationOf = func(ctx context.Context, id string) (string, error) {
		st, err := s.stations.Station(ctx, id)
		return st.OperatorID, err
	}
	ctx := context.Background()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	_, err := s.stations.CreateOperator(ctx, stations.Operator{ID: "op-b", Name: l10n.Text{Zh: "乙", En: "B"}}, tenancy.System)
	must(err)
	_, err = s.stations.CreateStationIn(ctx, tenancy.OperatorScope("op-b"), stations.Station{ID: "b-one", Name: l10n.Text{Zh: "乙站", En: "B One"},
		Address: l10n.Text{Zh: "路", En: "Rd"}, District: "macun", Lat: 35.25, Lng: 113.3, Hours: stations.StandardHours(), Active: true}, tenancy.System)
	must(err)
	_, err = s.catalog.Create(ctx, tenancy.OperatorScope("op-b"), catalog.Product{ID: "wc-b", OperatorID: "op-b", Category: "manual_wheelchair",
		Name: l10n.Text{Zh: "乙轮椅", En: "B chair"}, Rate: catalog.RatePlan{DailyFen: 300}}, tenancy.System)
	must(err)
	_, err = s.stations.CreateUnit(ctx, stations.Unit{Tag: "JZ-WB-0001", ProductID: "wc-b", StationID: "b-one"}, tenancy.System)
	must(err)
	w := &opWorld{s: s, nobody: opCaller{name: "nobody"}}
	n := 0
	user := func(name string, role accounts.Role, op string, sts ...string) (opCaller, accounts.User) {
		t.Helper()
		n++
		u, err := s.auth.CreateUser(ctx, accounts.NewUser{Name: name, Phone: fmt.Sprintf("1381234%04d", n), Password: pw, Role: role,
			OperatorID: op, StationIDs: sts})
		must(err)
		tok, sess, err := s.auth.NewSession(ctx, u, false, "127.0.0.1", "test")
		must(err)
		return opCaller{name: name, cookie: &http.Cookie{Name: sessionCookie, Value: tok}, csrf: s.mac("session:" + sess.ID)}, u
	}
	w.adminA, w.adminAUser = user("admin A", accounts.OperatorAdmin, "op-a")
	w.adminB, _ = user("admin B", accounts.OperatorAdmin, "op-b")
	w.staffB, _ = user("staff B", accounts.Staff, "op-b", "b-one")
	_, w.staffAUser = user("staff A", accounts.Staff, "op-a", "north")
	w.staffAID = w.staffAUser.ID
	w.renter, _ = user("renter", accounts.Renter, "")
	w.platform, _ = user("platform", accounts.PlatformAdmin, "")
	token := func(name, op string, scopes ...string) opCaller {
		secret, tok, err := s.auth.CreateToken(ctx, op, name, scopes, tenancy.System)
		must(err)
		if name == "write A" {
			w.tokenAID = tok.ID
		}
		return opCaller{name: name, bearer: secret}
	}
	w.writeA = token("write A", "op-a", accounts.ScopeInventoryWrite)
	w.readA = token("read A", "op-a", accounts.ScopeInventoryRead)
	w.writeB = token("write B", "op-b", accounts.ScopeInventoryWrite)
	return w
}

// call sends a request as c; body is JSON unless it is a string (sent as is,
// with contentType).
func (w *opWorld) call(t *testing.T, c opCaller, method, target string, body any, contentType ...string) *httptest.ResponseRecorder {
	t.Helper()
	var r io.Reader
	ct := "application/json"
	switch b := body.(type) {
	case nil:
	case string:
		r = strings.NewReader(b)
	case []byte:
		r = bytes.NewReader(b)
	default:
		j, _ := json.Marshal(b)
		r = bytes.NewReader(j)
	}
	if len(contentType) > 0 {
		ct = contentType[0]
	}
	req := httptest.NewRequest(method, target, r)
	if body != nil {
		req.Header.Set("Content-Type", ct)
	}
	w.auth(req, c)
	rec := httptest.NewRecorder()
	w.s.ServeHTTP(rec, req)
	return rec
}

func (w *opWorld) auth(req *http.Request, c opCaller) {
	if c.stripeSig != "" {
		req.Header.Set("Stripe-Signature", c.stripeSig)
	}
	if c.cookie != nil {
		req.AddCookie(c.cookie)
		req.Header.Set(csrfHeader, c.csrf)
	}
	if c.bearer != "" {
		req.Header.Set("Authorization", "Bearer "+c.bearer)
	}
}

// form posts a console form as c's browser would, with its form token.
func (w *opWorld) form(t *testing.T, c opCaller, target string, vals url.Values) *httptest.ResponseRecorder {
	t.Helper()
	vals.Set(csrfField, c.csrf)
	req := httptest.NewRequest(http.MethodPost, target, strings.NewReader(vals.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	req.AddCookie(c.cookie)
	rec := httptest.NewRecorder()
	w.s.ServeHTTP(rec, req)
	w.lastCookies = rec.Result().Cookies()
	return rec
}

func (w *opWorld) page(t *testing.T, c opCaller, target string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, target, nil)
	if c.cookie != nil {
		req.AddCookie(c.cookie)
	}
	rec := httptest.NewRecorder()
	w.s.ServeHTTP(rec, req)
	return rec
}

func wantStatus(t *testing.T, rec *httptest.ResponseRecorder, status int, what string) {
	t.Helper()
	if rec.Code != status {
		t.Fatalf("%s: status %d, want %d: %.600s", what, rec.Code, status, rec.Body)
	}
}

func wantField(t *testing.T, rec *httptest.ResponseRecorder, status int, field, what string) {
	t.Helper()
	wantStatus(t, rec, status, what)
	body := decode[apiError](t, rec)
	if _, ok := body.Error.Fields[field]; !ok {
		t.Errorf("%s: fields %v do not name %q", what, body.Error.Fields, field)
	}
}

// auditFor returns the audit entries for target, newest first.
func (w *opWorld) auditFor(t *testing.T, target string) []accounts.Entry {
	t.Helper()
	all, _, err := w.s.auth.Audit(context.Background(), accounts.AuditFilter{Limit: 200})
	if err != nil {
		t.Fatal(err)
	}
	var out []accounts.Entry
	for _, e := range all {
		if e.Target == target {
			out = append(out, e)
		}
	}
	return out
}

func changed(e accounts.Entry, field string) (accounts.Change, bool) {
	for _, c := range e.Changes {
		if c.Field == field {
			return c, true
		}
	}
	return accounts.Change{}, false
}

func TestOperatorProductsAPI(t *testing.T) {
	w := newOpWorld(t)
	in := map[string]any{"id": "rollator-a", "category": "rollator", "name": map[string]string{"zh": "助行车", "en": "Rollator"},
		"rate": map[string]int{"daily_fen": 300, "block30_fen": 6000, "deposit_fen": 20000}, "keywords": []string{"seat", "brakes"}}
	rec := w.call(t, w.writeA, "POST", "/api/v1/operator/products", in)
	wantStatus(t, rec, http.StatusCreated, "create")
	p := decode[productJSON](t, rec)
	if p.OperatorID != "op-a" || p.Version != 1 || p.Status != catalog.Active || rec.Header().Get("Location") != "/api/v1/operator/products/rollator-a" {
		t.Fatalf("created %+v", p.Product)
	}
	// The operator cannot create for someone else: operator_id is ignored.
	in["id"], in["operator_id"] = "sneaky", "op-b"
	if p := decode[productJSON](t, w.call(t, w.adminA, "POST", "/api/v1/operator/products", in)); p.OperatorID != "op-a" {
		t.Errorf("operator_id op-b honoured for op-a's admin: %s", p.OperatorID)
	}
	delete(in, "operator_id")
	in["id"] = "plat"
	wantField(t, w.call(t, w.platform, "POST", "/api/v1/operator/products", in), 400, "operator_id", "platform without operator")
	in["operator_id"] = "op-b"
	if p := decode[productJSON](t, w.call(t, w.platform, "POST", "/api/v1/operator/products", in)); p.OperatorID != "op-b" {
		t.Errorf("platform created for %q", p.OperatorID)
	}
	in["foo"] = 1
	wantField(t, w.call(t, w.writeA, "POST", "/api/v1/operator/products", in), 400, "foo", "unknown field")
	wantField(t, w.call(t, w.writeA, "POST", "/api/v1/operator/products", map[string]any{"category": "rocket"}), 400, "category", "bad category")

	l := decode[list[productJSON]](t, w.call(t, w.readA, "GET", "/api/v1/operator/products?per_page=2&page=2", nil))
	if l.Total != 4 || l.Page != 2 || l.PerPage != 2 || len(l.Items) != 2 {
		t.Errorf("list %+v", l)
	}
	for _, it := range decode[list[productJSON]](t, w.call(t, w.readA, "GET", "/api/v1/operator/products", nil)).Items {
		if it.OperatorID != "op-a" {
			t.Errorf("op-a lists %s of %s", it.ID, it.OperatorID)
		}
	}

	// PATCH: a partial object and the version edited.
	req := httptest.NewRequest("PATCH", "/api/v1/operator/products/rollator-a", strings.NewReader(`{"version":1,"rate":{"daily_fen":350},"name":{"en":"Seated rollator"}}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Request-ID", "rid-patch-1")
	w.auth(req, w.writeA)
	rec = serve(w.s, req)
	wantStatus(t, rec, 200, "patch")
	p = decode[productJSON](t, rec)
	if p.Version != 2 || p.Rate.DailyFen != 350 || p.Rate.Block30Fen != 6000 || p.Name.Zh != "助行车" || p.Name.En != "Seated rollator" || len(p.Keywords) != 2 {
		t.Errorf("patched %+v", p.Product)
	}
	rec = w.call(t, w.writeA, "PATCH", "/api/v1/operator/products/rollator-a", map[string]any{"version": 1, "status": "hidden"})
	wantStatus(t, rec, http.StatusConflict, "stale patch")
	wantField(t, w.call(t, w.writeA, "PATCH", "/api/v1/operator/products/rollator-a", map[string]any{"status": "hidden"}), 400, "version", "patch without version")
	wantField(t, w.call(t, w.writeA, "PATCH", "/api/v1/operator/products/rollator-a", map[string]any{"version": 2, "colour": "red"}), 400, "colour", "patch unknown field")
	wantField(t, w.call(t, w.writeA, "PATCH", "/api/v1/operator/products/rollator-a", map[string]any{"version": 2, "operator_id": "op-b"}), 400, "operator_id", "patch operator")
	wantField(t, w.call(t, w.writeA, "PATCH", "/api/v1/operator/products/rollator-a", map[string]any{"version": 2, "rate": map[string]any{"daily_fen": "cheap"}}), 400, "rate.daily_fen", "patch wrong type")
	wantField(t, w.call(t, w.writeA, "PATCH", "/api/v1/operator/products/rollator-a", map[string]any{"version": 2, "rate": map[string]any{"daily_fen": -1}}), 400, "rate.daily_fen", "patch negative price")
	wantField(t, w.call(t, w.writeA, "PATCH", "/api/v1/operator/products/rollator-a", "[1,2]"), 400, "body", "patch not an object")

	// The audit log names the changed fields, before and after, and the request.
	entries := w.auditFor(t, "product/rollator-a")
	if len(entries) != 2 || entries[0].Action != "product.update" || entries[1].Action != "product.create" {
		t.Fatalf("audit %+v", entries)
	}
	e := entries[0]
	if c, ok := changed(e, "rate.daily_fen"); !ok || fmt.Sprint(c.Before) != "300" || fmt.Sprint(c.After) != "350" {
		t.Errorf("audit change of the price: %+v", e.Changes)
	}
	if _, ok := changed(e, "name.zh"); ok || len(e.Changes) != 2 {
		t.Errorf("audit lists unchanged fields: %+v", e.Changes)
	}
	if e.RequestID != "rid-patch-1" || e.OperatorID != "op-a" || e.Actor.Role != "api_token" {
		t.Errorf("audit entry %+v", e)
	}

	// DELETE hides: leases and units refer to listings.
	rec = w.call(t, w.writeA, "DELETE", "/api/v1/operator/products/rollator-a", nil)
	wantStatus(t, rec, 200, "delete")
	if p := decode[productJSON](t, rec); p.Status != catalog.Hidden {
		t.Errorf("deleted listing status %s", p.Status)
	}
	if rec := get(t, w.s, "/api/v1/products/rollator-a"); rec.Code != 404 {
		t.Errorf("hidden listing is public: %d", rec.Code)
	}
	if rec := w.call(t, w.readA, "GET", "/api/v1/operator/products/rollator-a", nil); rec.Code != 200 {
		t.Errorf("hidden listing for its operator: %d", rec.Code)
	}
}

func TestOperatorStationsAPI(t *testing.T) {
	w := newOpWorld(t)
	st := map[string]any{"name": map[string]string{"zh": "西站", "en": "West"}, "address": map[string]string{"zh": "西路1号", "en": "1 West Rd"},
		"district": "zhongzhan", "lat": 35.23, "lng": 113.18, "phone": "0391-3560000",
		"hours": map[string]any{"week": []map[string]any{{"closed": true}, {"open": "08:30", "close": "17:30"}, {"open": "08:30", "close": "17:30"},
			{"open": "08:30", "close": "17:30"}, {"open": "08:30", "close": "17:30"}, {"open": "08:30", "close": "17:30"}, {"closed": true}}}}
	rec := w.call(t, w.adminA, "POST", "/api/v1/operator/stations", st)
	wantStatus(t, rec, http.StatusCreated, "create")
	created := decode[stations.VersionedStation](t, rec)
	if created.OperatorID != "op-a" || created.Version != 1 || !created.Active {
		t.Fatalf("created %+v", created)
	}
	wantField(t, w.call(t, w.platform, "POST", "/api/v1/operator/stations", st), 400, "operator_id", "platform without operator")
	bad := map[string]any{"name": st["name"], "address": st["address"], "district": "atlantis", "lat": 10, "lng": 113.2, "hours": st["hours"]}
	rec = w.call(t, w.adminA, "POST", "/api/v1/operator/stations", bad)
	for _, f := range []string{"district", "lat"} {
		if _, ok := decode[apiError](t, rec).Error.Fields[f]; !ok || rec.Code != 400 {
			t.Errorf("bad station: %d %s lacks %s", rec.Code, rec.Body, f)
		}
	}
	path := "/api/v1/operator/stations/" + created.ID
	rec = w.call(t, w.writeA, "PATCH", path, map[string]any{"version": 1, "phone": "13812345678", "hours": map[string]any{"closed_on": []string{"2026-10-01"}}})
	wantStatus(t, rec, 200, "patch")
	if got := decode[stations.VersionedStation](t, rec); got.Version != 2 || got.Phone != "13812345678" || len(got.Hours.ClosedOn) != 1 || !got.Hours.Week[0].Closed {
		t.Errorf("patched %+v", got)
	}
	wantStatus(t, w.call(t, w.writeA, "PATCH", path, map[string]any{"version": 1, "phone": ""}), http.StatusConflict, "stale patch")
	wantField(t, w.call(t, w.writeA, "PATCH", path, map[string]any{"version": 2, "hours": map[string]any{"closed_on": []string{"soon"}}}), 400, "hours.closed_on", "bad date")
	rec = w.call(t, w.writeA, "DELETE", path, nil)
	wantStatus(t, rec, 200, "deactivate")
	if got := decode[stations.VersionedStation](t, rec); got.Active || got.Version != 3 {
		t.Errorf("deactivated %+v", got)
	}
	if rec := get(t, w.s, "/api/v1/stations/"+created.ID); rec.Code != 404 {
		t.Errorf("inactive station is public: %d", rec.Code)
	}
	l := decode[list[stations.VersionedStation]](t, w.call(t, w.readA, "GET", "/api/v1/operator/stations?active=false", nil))
	if l.Total != 1 || l.Items[0].ID != created.ID {
		t.Errorf("inactive list %+v", l)
	}
	if es := w.auditFor(t, "station/"+created.ID); len(es) != 3 || es[0].Action != "station.deactivate" {
		t.Errorf("station audit %+v", es)
	}
}

func TestOperatorUnitsAPI(t *testing.T) {
	w := newOpWorld(t)
	rec := w.call(t, w.writeA, "POST", "/api/v1/operator/units", map[string]any{"tag": "jz-wc-0100", "product_id": "wc", "station_id": "south",
		"condition": "new", "acquired_on": "2026-01-05"})
	wantStatus(t, rec, http.StatusCreated, "create")
	u := decode[stations.Unit](t, rec)
	if u.Tag != "JZ-WC-0100" || u.State != stations.Available || u.OperatorID != "op-a" {
		t.Fatalf("created %+v", u)
	}
	wantStatus(t, w.call(t, w.writeA, "POST", "/api/v1/operator/units", map[string]any{"tag": "JZ-WC-0100", "product_id": "wc", "station_id": "south"}), 409, "duplicate tag")
	wantField(t, w.call(t, w.writeA, "POST", "/api/v1/operator/units", map[string]any{"tag": "JZ-WC-0101", "product_id": "wc", "station_id": "b-one"}), 400, "station_id", "B's station")
	wantField(t, w.call(t, w.writeA, "POST", "/api/v1/operator/units", map[string]any{"tag": "JZ-WC-0101", "product_id": "wc-b", "station_id": "south"}), 400, "product_id", "B's product")
	wantField(t, w.call(t, w.writeA, "POST", "/api/v1/operator/units", map[string]any{"tag": "x", "product_id": "wc", "station_id": "south", "state": "rented"}), 400, "state", "bad state")

	l := decode[list[stations.Unit]](t, w.call(t, w.readA, "GET", "/api/v1/operator/units?station=north&per_page=1", nil))
	if l.Total != 2 || len(l.Items) != 1 || l.Items[0].Tag != "JZ-WC-0001" || l.PerPage != 1 {
		t.Errorf("units at north %+v", l)
	}
	l = decode[list[stations.Unit]](t, w.call(t, w.readA, "GET", "/api/v1/operator/units?state=cleaning&product=walker", nil))
	if l.Total != 1 || l.Items[0].Tag != "JZ-WK-0001" {
		t.Errorf("cleaning walkers %+v", l)
	}
	wantField(t, w.call(t, w.readA, "GET", "/api/v1/operator/units?state=broken", nil), 400, "state", "bad state filter")
	wantField(t, w.call(t, w.readA, "GET", "/api/v1/operator/units?station[$ne]=x", nil), 400, "station[$ne]", "injection")

	rec = w.call(t, w.writeA, "PATCH", "/api/v1/operator/units/JZ-WC-0100", map[string]any{"version": 1, "condition": "scratched"})
	wantStatus(t, rec, 200, "patch")
	if u := decode[stations.Unit](t, rec); u.Condition != "scratched" || u.Seq != 2 || u.State != stations.Available || u.AcquiredOn != "2026-01-05" {
		t.Errorf("patched %+v", u)
	}
	wantStatus(t, w.call(t, w.writeA, "PATCH", "/api/v1/operator/units/JZ-WC-0100", map[string]any{"version": 1, "condition": "x"}), 409, "stale patch")
	wantField(t, w.call(t, w.writeA, "PATCH", "/api/v1/operator/units/JZ-WC-0100", map[string]any{"condition": "x"}), 400, "version", "no version")
	wantField(t, w.call(t, w.writeA, "PATCH", "/api/v1/operator/units/JZ-WC-0100", map[string]any{"version": 2, "state": "available"}), 400, "state", "state is not editable")

	wantField(t, w.call(t, w.writeA, "DELETE", "/api/v1/operator/units/JZ-WC-0100", map[string]any{}), 400, "reason", "retire without reason")
	rec = w.call(t, w.writeA, "DELETE", "/api/v1/operator/units/JZ-WC-0100", map[string]any{"reason": "frame bent"})
	wantStatus(t, rec, 200, "retire")
	if u := decode[stations.Unit](t, rec); u.State != stations.Retired {
		t.Errorf("retired %+v", u)
	}
	if _, err := w.s.stations.Move(context.Background(), "JZ-WC-0001", stations.Move{To: stations.Rented, LeaseID: "l1", By: tenancy.System}); err != nil {
		t.Fatal(err)
	}
	wantStatus(t, w.call(t, w.writeA, "DELETE", "/api/v1/operator/units/JZ-WC-0001", map[string]any{"reason": "old"}), 409, "retire a rented unit")
	hist, _ := w.s.stations.History(context.Background(), "JZ-WC-0100")
	if len(hist) != 3 || hist[1].Kind != "edited" || hist[2].Kind != "retired" || hist[2].Why != "frame bent" {
		t.Errorf("history %+v", hist)
	}
	if es := w.auditFor(t, "unit/JZ-WC-0100"); len(es) != 3 || es[0].Action != "unit.retire" || es[1].Action != "unit.update" {
		t.Errorf("unit audit %+v", es)
	} else if c, ok := changed(es[1], "condition"); !ok || c.Before != "new" || c.After != "scratched" {
		t.Errorf("unit audit changes %+v", es[1].Changes)
	}
}

// unitsCSV makes an import file of n units of product at station.
func unitsCSV(n, first int, product, station, condition string) string {
	var b strings.Builder
	b.WriteString("tag,product_id,station_id,state,condition,acquired_on\n")
	for i := range n {
		fmt.Fprintf(&b, "JZ-WC-%05d,%s,%s,available,%s,2026-02-01\n", first+i, product, station, condition)
	}
	return b.String()
}

func TestOperatorImportAPI(t *testing.T) {
	w := newOpWorld(t)
	imp := func(file string) importResponse {
		t.Helper()
		rec := w.call(t, w.writeA, "POST", "/api/v1/operator/units/import", file, "text/csv; charset=utf-8")
		wantStatus(t, rec, 200, "import")
		return decode[importResponse](t, rec)
	}
	file := unitsCSV(1000, 1, "wc", "north", "new")
	start := time.Now()
	res := imp(file)
	t.Logf("1,000 rows created through the API in %v", time.Since(start))
	if res.Created != 1000 || res.Unchanged != 0 || len(res.Failed) != 0 || res.ImportID == "" || !strings.Contains(res.LabelsURL, res.ImportID) {
		t.Fatalf("first import: %+v", res.ImportResult)
	}
	start = time.Now()
	res = imp(file)
	t.Logf("1,000 unchanged rows through the API in %v", time.Since(start))
	if res.Created != 0 || res.Unchanged != 1000 || res.Updated != 0 || len(res.Failed) != 0 {
		t.Fatalf("re-run: %+v", res.ImportResult)
	}
	res = imp("tag,product_id,station_id,condition\n" +
		"JZ-WC-00001,wc,north,dented\n" + // updated
		"JZ-WC-00002,walker,north,new\n" + // another product: fails
		"JZ-WC-00003,wc,south,new\n" + // another station: fails
		"JZ-WC-00004,wc-b,north,\n" + // B's product
		"JZ-WC-77777,wc,b-one,\n" + // B's station
		"NOT A TAG,wc,north,\n" + // bad tag
		"JZ-WB-0001,wc,north,\n") // B's existing unit
	want := map[int]string{3: "product_id", 4: "station_id", 5: "product_id", 6: "station_id", 7: "tag", 8: "tag"}
	if res.Updated != 1 || res.Created != 0 || len(res.Failed) != len(want) {
		t.Fatalf("bad file: %+v", res.ImportResult)
	}
	for _, f := range res.Failed {
		if want[f.Line] != f.Field || f.Message == "" {
			t.Errorf("problem %+v, want field %q on line %d", f, want[f.Line], f.Line)
		}
		if strings.Contains(f.Message, "op-b") || strings.Contains(f.Message, "b-one") && f.Line == 8 {
			t.Errorf("a failed row reveals another operator's data: %+v", f)
		}
	}
	if f := res.Failed[1]; !strings.Contains(f.Message, "transfer") {
		t.Errorf("other-station message %q", f.Message)
	}
	// Whole-file problems.
	wantStatus(t, w.call(t, w.writeA, "POST", "/api/v1/operator/units/import", file, "application/json"), 415, "json content type")
	wantField(t, w.call(t, w.writeA, "POST", "/api/v1/operator/units/import", "tag,colour\n", "text/csv"), 400, "file", "bad header")
	wantStatus(t, w.call(t, w.writeA, "POST", "/api/v1/operator/units/import", unitsCSV(maxImportRows+1, 1, "wc", "north", ""), "text/csv"), 413, "too many rows")
	wantStatus(t, w.call(t, w.writeA, "POST", "/api/v1/operator/units/import", strings.Repeat("x", maxImportBytes+10), "text/csv"), 413, "too many bytes")
	wantStatus(t, w.call(t, w.readA, "POST", "/api/v1/operator/units/import", file, "text/csv"), 403, "read-only token")
	if es := w.auditFor(t, "import/"+res.ImportID); len(es) != 1 || es[0].Action != "unit.import" {
		t.Errorf("import audit %+v", es)
	}
}

var pdfPages = regexp.MustCompile(`/Type /Page[^s]`)

func TestOperatorLabels(t *testing.T) {
	w := newOpWorld(t)
	res := decode[importResponse](t, w.call(t, w.writeA, "POST", "/api/v1/operator/units/import", unitsCSV(30, 1, "wc", "south", ""), "text/csv"))
	for _, tt := range []struct {
		query string
		pages int
	}{
		{"units=JZ-WC-0001,jz-wc-0002,JZ-WC-0001", 1},
		{"station=north", 1},
		{"station=south", 2}, // 31 units, 24 a sheet
		{"import=" + res.ImportID, 2},
	} {
		rec := w.call(t, w.readA, "GET", "/api/v1/operator/labels.pdf?"+tt.query, nil)
		wantStatus(t, rec, 200, tt.query)
		if ct := rec.Header().Get("Content-Type"); ct != "application/pdf" {
			t.Errorf("%s: content type %q", tt.query, ct)
		}
		if cd := rec.Header().Get("Content-Disposition"); !strings.HasPrefix(cd, "inline; filename=") {
			t.Errorf("%s: disposition %q", tt.query, cd)
		}
		if !bytes.HasPrefix(rec.Body.Bytes(), []byte("%PDF-")) {
			t.Errorf("%s: not a PDF", tt.query)
		}
		if n := len(pdfPages.FindAll(rec.Body.Bytes(), -1)); n != tt.pages {
			t.Errorf("%s: %d pages, want %d", tt.query, n, tt.pages)
		}
	}
	wantField(t, w.call(t, w.readA, "GET", "/api/v1/operator/labels.pdf", nil), 400, "units", "nothing named")
	wantField(t, w.call(t, w.readA, "GET", "/api/v1/operator/labels.pdf?station=north&units=JZ-WC-0001", nil), 400, "units", "two named")
	for _, q := range []string{"units=JZ-WC-0001", "station=north", "import=" + res.ImportID} {
		wantStatus(t, w.call(t, w.writeB, "GET", "/api/v1/operator/labels.pdf?"+q, nil), 404, "B labels A's "+q)
	}
}

func TestOperatorPeopleAPI(t *testing.T) {
	w := newOpWorld(t)
	ctx := context.Background()
	rec := w.call(t, w.adminA, "POST", "/api/v1/operator/staff", map[string]any{"name": "小李", "phone": "13900001111", "station_ids": []string{"north"}})
	wantStatus(t, rec, http.StatusCreated, "create staff")
	created := decode[staffCreated](t, rec)
	if created.Password == "" || created.User.Role != accounts.Staff || created.User.OperatorID != "op-a" || !created.User.MustChangePassword {
		t.Fatalf("created %+v", created)
	}
	if u, err := w.s.auth.Authenticate(ctx, "13900001111", created.Password); err != nil || u.ID != created.User.ID {
		t.Fatalf("one-time password does not log in: %v", err)
	}
	wantField(t, w.call(t, w.adminA, "POST", "/api/v1/operator/staff", map[string]any{"name": "x", "phone": "13900002222", "station_ids": []string{"b-one"}}), 400, "station_ids", "B's station")
	wantField(t, w.call(t, w.adminA, "POST", "/api/v1/operator/staff", map[string]any{"name": "x", "phone": "13900002222"}), 400, "station_ids", "no station")
	wantStatus(t, w.call(t, w.adminA, "POST", "/api/v1/operator/staff", map[string]any{"name": "x", "phone": "13900001111", "station_ids": []string{"north"}}), 409, "phone taken")

	l := decode[list[accounts.User]](t, w.call(t, w.adminA, "GET", "/api/v1/operator/staff", nil))
	if l.Total != 2 {
		t.Errorf("A's staff: %+v", l)
	}
	// Disabling ends the member's sessions at once.
	tok, _, err := w.s.auth.NewSession(ctx, created.User, false, "", "")
	if err != nil {
		t.Fatal(err)
	}
	path := "/api/v1/operator/staff/" + created.User.ID
	rec = w.call(t, w.adminA, "PATCH", path, map[string]any{"status": "disabled", "station_ids": []string{"north", "south"}})
	wantStatus(t, rec, 200, "disable")
	if u := decode[accounts.User](t, rec); u.Status != accounts.Disabled || len(u.StationIDs) != 2 {
		t.Errorf("patched %+v", u)
	}
	if _, _, err := w.s.auth.Session(ctx, tok); err == nil {
		t.Error("a disabled member's session still works")
	}
	wantField(t, w.call(t, w.adminA, "PATCH", path, map[string]any{"status": "gone"}), 400, "status", "bad status")
	// The platform's disable wins: the operator admin cannot lift it.
	wantStatus(t, w.call(t, w.platform, "PATCH", "/api/v1/admin/users/"+created.User.ID, map[string]any{"status": "disabled"}), 200, "platform disables")
	wantField(t, w.call(t, w.adminA, "PATCH", path, map[string]any{"status": "active"}), 400, "status", "operator re-enables a platform disable")
	if u, _ := w.s.auth.User(ctx, created.User.ID); u.Status != accounts.Disabled || !u.DisabledByPlatform {
		t.Errorf("after the operator's attempt: %+v", u)
	}
	wantBody(t, w.page(t, w.adminA, "/operator/staff/"+created.User.ID), 200, "staff page of a platform-disabled member", `id="platform-disabled"`)
	wantStatus(t, w.call(t, w.platform, "PATCH", "/api/v1/admin/users/"+created.User.ID, map[string]any{"status": "active"}), 200, "platform enables")
	rec = w.call(t, w.adminA, "PATCH", path, map[string]any{"status": "active"})
	if u := decode[accounts.User](t, rec); rec.Code != 200 || u.Status != accounts.Active {
		t.Errorf("operator enables after the platform lifted its disable: %d %+v", rec.Code, u)
	}
	wantStatus(t, w.call(t, w.adminA, "PATCH", path, map[string]any{"status": "disabled"}), 200, "disable again")
	rec = w.call(t, w.adminA, "POST", path+"/password", nil)
	wantStatus(t, rec, 200, "reset password")
	if pw := decode[staffCreated](t, rec).Password; pw == "" || pw == created.Password {
		t.Error("reset gave no new password")
	}
	// Operator admins are not staff: not managed here.
	wantStatus(t, w.call(t, w.adminA, "GET", "/api/v1/operator/staff/"+w.adminAUser.ID, nil), 404, "admin as staff")

	// Tokens: the secret once; used, it shows when; revoked, it stops.
	rec = w.call(t, w.adminA, "POST", "/api/v1/operator/tokens", map[string]any{"name": "ERP", "scopes": []string{"inventory:read"}})
	wantStatus(t, rec, http.StatusCreated, "create token")
	nt := decode[tokenCreated](t, rec)
	if !strings.HasPrefix(nt.Secret, "fuju_") || nt.Token.OperatorID != "op-a" {
		t.Fatalf("token %+v", nt)
	}
	erp := opCaller{bearer: nt.Secret}
	wantStatus(t, w.call(t, erp, "GET", "/api/v1/operator/units", nil), 200, "new token reads")
	var listed accounts.Token
	for _, tk := range decode[list[accounts.Token]](t, w.call(t, w.adminA, "GET", "/api/v1/operator/tokens", nil)).Items {
		if tk.ID == nt.Token.ID {
			listed = tk
		}
	}
	if listed.LastUsedAt == nil {
		t.Errorf("token list lacks last use: %+v", listed)
	}
	wantField(t, w.call(t, w.adminA, "POST", "/api/v1/operator/tokens", map[string]any{"name": "x", "scopes": []string{"root"}}), 400, "scopes", "bad scope")
	wantStatus(t, w.call(t, w.adminA, "DELETE", "/api/v1/operator/tokens/"+nt.Token.ID, nil), 200, "revoke")
	wantStatus(t, w.call(t, erp, "GET", "/api/v1/operator/units", nil), 401, "revoked token")
	// Tokens may expire: the list shows when; an expired token is a 401
	// that says so.
	rec = w.call(t, w.adminA, "POST", "/api/v1/operator/tokens", map[string]any{"name": "Year", "scopes": []string{"desk"}, "expires_on": "2099-12-31"})
	wantField(t, rec, 400, "expires_on", "expiry too far ahead")
	rec = w.call(t, w.adminA, "POST", "/api/v1/operator/tokens", map[string]any{"name": "Old", "scopes": []string{"desk"}, "expires_on": "2020-01-01"})
	wantField(t, rec, 400, "expires_on", "expiry in the past")
	tomorrow := time.Now().In(l10n.Local).AddDate(0, 0, 1)
	rec = w.call(t, w.adminA, "POST", "/api/v1/operator/tokens", map[string]any{"name": "Short", "scopes": []string{"inventory:read"}, "expires_on": tomorrow.Format(time.DateOnly)})
	wantStatus(t, rec, http.StatusCreated, "token with an expiry")
	if exp := decode[tokenCreated](t, rec).Token.ExpiresAt; exp == nil || exp.In(l10n.Local).Format("2006-01-02 15:04") != tomorrow.AddDate(0, 0, 1).Format("2006-01-02")+" 00:00" {
		t.Errorf("expires at %v, want the end of %s in Beijing", exp, tomorrow.Format(time.DateOnly))
	}
	soon, _, err := w.s.auth.IssueToken(ctx, tenancy.OperatorScope("op-a"), accounts.NewToken{OperatorID: "op-a", Name: "soon", Scopes: []string{accounts.ScopeInventoryRead},
		ExpiresAt: time.Now().Add(time.Second)}, tenancy.System)
	if err != nil {
		t.Fatal(err)
	}
	wantStatus(t, w.call(t, opCaller{bearer: soon}, "GET", "/api/v1/operator/units", nil), 200, "token before expiry")
	time.Sleep(1100 * time.Millisecond)
	rec = w.call(t, opCaller{bearer: soon}, "GET", "/api/v1/operator/units", nil)
	if e := decode[apiError](t, rec); rec.Code != http.StatusUnauthorized || e.Error.Code != "token_expired" || !strings.Contains(e.Error.Message, "expired on") {
		t.Errorf("expired token: %d %+v", rec.Code, e)
	}
	// Tokens cannot mint tokens or accounts.
	wantStatus(t, w.call(t, w.writeA, "POST", "/api/v1/operator/tokens", map[string]any{"name": "x", "scopes": []string{"desk"}}), 403, "token minting a token")
	wantStatus(t, w.call(t, w.writeA, "GET", "/api/v1/operator/staff", nil), 403, "token listing staff")

	// The audit log: A sees A's; the platform everyone's.
	al := decode[list[accounts.Entry]](t, w.call(t, w.adminA, "GET", "/api/v1/operator/audit?per_page=100", nil))
	actions := map[string]bool{}
	for _, e := range al.Items {
		if e.OperatorID != "op-a" {
			t.Errorf("A's audit shows %+v", e)
		}
		actions[e.Action] = true
	}
	for _, a := range []string{"staff.create", "staff.disable", "staff.reset_password", "token.create", "token.revoke"} {
		if !actions[a] {
			t.Errorf("audit lacks %s: %v", a, actions)
		}
	}
	bBefore := decode[list[accounts.Entry]](t, w.call(t, w.adminB, "GET", "/api/v1/operator/audit", nil)).Total
	w.call(t, w.adminB, "POST", "/api/v1/operator/tokens", map[string]any{"name": "B", "scopes": []string{"desk"}})
	b := decode[list[accounts.Entry]](t, w.call(t, w.adminB, "GET", "/api/v1/operator/audit", nil))
	if b.Total != bBefore+1 {
		t.Errorf("B sees %d entries, %d before making a token", b.Total, bBefore)
	}
	for _, e := range b.Items {
		if e.OperatorID != "op-b" {
			t.Errorf("B's audit shows %+v", e)
		}
	}
	all := decode[list[accounts.Entry]](t, w.call(t, w.platform, "GET", "/api/v1/operator/audit?per_page=100", nil))
	if all.Total != al.Total+b.Total {
		t.Errorf("platform sees %d entries, A %d, B %d", all.Total, al.Total, b.Total)
	}
}

// Tenancy (DESIGN.md, invariant 4): operator B's people and machines find
// none of A's records, on every route; a read-only token cannot write; a
// renter is refused; nobody is asked to log in.
func TestOperatorTenancyMatrix(t *testing.T) {
	w := newOpWorld(t)
	ctx := context.Background()
	prod, _ := w.s.catalog.Get(ctx, tenancy.PlatformScope, "wc")
	photoBody := func() (string, string) {
		var b bytes.Buffer
		mw := multipart.NewWriter(&b)
		mw.WriteField("alt_zh", "图")
		mw.WriteField("alt_en", "pic")
		fw, _ := mw.CreateFormFile("photo", "p.jpg")
		fw.Write([]byte("not really a jpeg"))
		mw.Close()
		return b.String(), mw.FormDataContentType()
	}
	type route struct {
		method, path string
		body         any
		write        bool
		// people routes take sessions only.
		people bool
	}
	unitPatch := map[string]any{"version": 1, "condition": "x"}
	routes := []route{
		{"GET", "/api/v1/operator/products/wc", nil, false, false},
		{"PATCH", "/api/v1/operator/products/wc", map[string]any{"version": prod.Version, "status": "hidden"}, true, false},
		{"DELETE", "/api/v1/operator/products/wc", nil, true, false},
		{"POST", "/api/v1/operator/products/wc/photos", "multipart", true, false},
		{"PUT", "/api/v1/operator/products/wc/photos/order", map[string]any{"keys": []string{}}, true, false},
		{"PATCH", "/api/v1/operator/products/wc/photos/abc", map[string]any{"alt": map[string]string{"zh": "a", "en": "b"}}, true, false},
		{"DELETE", "/api/v1/operator/products/wc/photos/abc", nil, true, false},
		{"GET", "/api/v1/operator/stations/north", nil, false, false},
		{"PATCH", "/api/v1/operator/stations/north", map[string]any{"version": 0, "phone": ""}, true, false},
		{"DELETE", "/api/v1/operator/stations/north", nil, true, false},
		{"GET", "/api/v1/operator/units/JZ-WC-0001", nil, false, false},
		{"PATCH", "/api/v1/operator/units/JZ-WC-0001", unitPatch, true, false},
		{"DELETE", "/api/v1/operator/units/JZ-WC-0001", map[string]any{"reason": "x"}, true, false},
		{"GET", "/api/v1/operator/labels.pdf?units=JZ-WC-0001", nil, false, false},
		{"GET", "/api/v1/operator/labels.pdf?station=north", nil, false, false},
		{"GET", "/api/v1/operator/staff/" + w.staffAID, nil, false, true},
		{"PATCH", "/api/v1/operator/staff/" + w.staffAID, map[string]any{"status": "disabled"}, true, true},
		{"POST", "/api/v1/operator/staff/" + w.staffAID + "/password", nil, true, true},
		{"DELETE", "/api/v1/operator/tokens/" + w.tokenAID, nil, true, true},
	}
	pages := []string{"/operator/products/wc", "/operator/products/wc/photos", "/operator/stations/north", "/operator/units/JZ-WC-0001",
		"/operator/units/JZ-WC-0001/retire", "/operator/staff/" + w.staffAID}
	expect := func(c opCaller, r route) int {
		switch c.name {
		case "nobody":
			return 401
		case "renter", "staff B":
			return 403
		case "write B":
			if r.people {
				return 403
			}
			return 404
		case "read A":
			if r.write || r.people {
				return 403
			}
			return 200
		}
		return 404 // admin B
	}
	for _, c := range []opCaller{w.adminB, w.writeB, w.staffB, w.renter, w.nobody, w.readA} {
		for _, r := range routes {
			t.Run(c.name+" "+r.method+" "+r.path, func(t *testing.T) {
				body, ct := r.body, []string{}
				if r.body == "multipart" {
					b, ctype := photoBody()
					body, ct = b, []string{ctype}
				}
				rec := w.call(t, c, r.method, r.path, body, ct...)
				if want := expect(c, r); rec.Code != want {
					t.Errorf("status %d, want %d: %.300s", rec.Code, want, rec.Body)
				}
			})
		}
	}
	// Console pages: B's admin finds nothing of A's; a form post to one of
	// A's records changes nothing.
	for _, p := range pages {
		if rec := w.page(t, w.adminB, p); rec.Code != 404 {
			t.Errorf("admin B GET %s: %d", p, rec.Code)
		}
		if rec := w.page(t, w.staffB, p); rec.Code != 403 {
			t.Errorf("staff B GET %s: %d", p, rec.Code)
		}
	}
	if rec := w.form(t, w.adminB, "/operator/units/JZ-WC-0001/retire", url.Values{"reason": {"mine now"}}); rec.Code != 404 {
		t.Errorf("admin B retires A's unit: %d", rec.Code)
	}
	if rec := w.page(t, w.nobody, "/operator"); rec.Code != http.StatusSeeOther || !strings.HasPrefix(rec.Header().Get("Location"), "/login") {
		t.Errorf("anonymous console: %d %s", rec.Code, rec.Header().Get("Location"))
	}
	// Lists show B only B's.
	for _, c := range []opCaller{w.adminB, w.writeB} {
		for path, mine := range map[string]string{"/api/v1/operator/products": "wc-b", "/api/v1/operator/stations": "b-one", "/api/v1/operator/units": "JZ-WB-0001"} {
			body := w.call(t, c, "GET", path, nil).Body.String()
			if !strings.Contains(body, mine) || strings.Contains(body, `"op-a"`) {
				t.Errorf("%s %s: %.300s", c.name, path, body)
			}
		}
	}
	for _, path := range []string{"/api/v1/operator/staff", "/api/v1/operator/tokens", "/api/v1/operator/audit"} {
		if body := w.call(t, w.adminB, "GET", path, nil).Body.String(); strings.Contains(body, `"op-a"`) || strings.Contains(body, w.staffAID) {
			t.Errorf("admin B %s shows A's: %.300s", path, body)
		}
	}
	// Nothing of A's changed.
	if p, _ := w.s.catalog.Get(ctx, tenancy.PlatformScope, "wc"); p.Version != prod.Version || p.Status != catalog.Active {
		t.Errorf("A's listing changed: %+v", p)
	}
	if u, _ := w.s.stations.Unit(ctx, "JZ-WC-0001"); u.State != stations.Available || u.Seq != 1 {
		t.Errorf("A's unit changed: %+v", u)
	}
	if st, _ := w.s.stations.Station(ctx, "north"); !st.Active {
		t.Error("A's station deactivated")
	}
	if u, _ := w.s.auth.User(ctx, w.staffAID); u.Status != accounts.Active {
		t.Error("A's staff disabled")
	}
}
