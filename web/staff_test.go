package web

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image/color"
	"log/slog"
	"math"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"fuju/catalog"
	"fuju/internal/l10n"
	"fuju/internal/tenancy"
	"fuju/internal/testenv"
	"fuju/media"
	"fuju/rentals"
	"fuju/stations"
)

// desk is an API client with an operator's desk token.
type desk struct {
	t     *testing.T
	s     *Server
	token string
}

func (d desk) call(method, path string, body any) *httptest.ResponseRecorder {
	d.t.Helper()
	var rd *bytes.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	} else {
		rd = bytes.NewReader(nil)
	}
	req := httptest.NewRequest(method, path, rd)
	req.Header.Set("Authorization", "Bearer "+d.token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	rec := httptest.NewRecorder()
	d.s.ServeHTTP(rec, req)
	return rec
}

// idNumberFor returns a valid resident ID number of its own for a test
// person known by their mobile number: one person, one ID number.
func idNumberFor(phone string) string {
	n, _ := strconv.Atoi(phone[len(phone)-7:])
	born := time.Date(1940, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, n%20000)
	body := fmt.Sprintf("370102%s%03d", born.Format("20060102"), n/20000%1000)
	weights := []int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}
	sum := 0
	for i, w := range weights {
		sum += int(body[i]-'0') * w
	}
	return body + string("10X98765432"[sum%11])
}

func registerRenter(t *testing.T, d desk, phone string) rentals.Renter {
	t.Helper()
	rec := d.call("POST", "/api/v1/staff/renters", map[string]any{"name": "赵大爷", "phone": phone, "id_number": idNumberFor(phone), "station_id": "north"})
	if rec.Code != http.StatusCreated {
		t.Fatalf("register renter: %d %s", rec.Code, rec.Body)
	}
	return decode[rentals.Renter](t, rec)
}

func checkoutBody(tag, renter string, dueNow int64) map[string]any {
	return map[string]any{"unit": tag, "renter_id": renter, "days": 30, "station_id": "north",
		"payments": []map[string]any{{"method": "cash", "amount_fen": dueNow}}, "terms_version": TermsVersion, "accepted_name": "赵大爷"}
}

// Invariant 1 through the HTTP API: 200 desks lend the last unit at once.
func TestCheckoutRaceThroughAPI(t *testing.T) {
	s := newTestServer(t)
	var logs testenv.Buffer
	s.logger = slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelError}))
	defer func() {
		if t.Failed() {
			t.Logf("server errors:\n%.4000s", logs.String())
		}
	}()
	d := desk{t: t, s: s, token: apiToken(t, s, "desk")}
	renters := make([]rentals.Renter, 4)
	for i := range renters {
		renters[i] = registerRenter(t, d, "1391234567"+string(rune('0'+i)))
	}
	// Standard tier, 30 days: ¥90 rent + ¥300 deposit.
	const n = 200
	codes := make([]int, n)
	bodies := make([]string, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			rec := d.call("POST", "/api/v1/staff/checkouts", checkoutBody("JZ-WC-0001", renters[i%len(renters)].ID, 39000))
			codes[i], bodies[i] = rec.Code, rec.Body.String()
		}()
	}
	close(start)
	wg.Wait()
	created, conflicts := 0, 0
	for i, c := range codes {
		switch c {
		case http.StatusCreated:
			created++
		case http.StatusConflict:
			conflicts++
			if !strings.Contains(bodies[i], `"code":"unavailable"`) || !strings.Contains(bodies[i], "JZ-WC-0001") {
				t.Errorf("409 body is not clear: %s", bodies[i])
			}
		default:
			t.Errorf("request %d: %d %s", i, c, bodies[i])
		}
	}
	if created != 1 || conflicts != n-1 {
		t.Fatalf("%d leases, %d conflicts; want 1 and %d", created, conflicts, n-1)
	}
	hist, err := s.stations.History(context.Background(), "JZ-WC-0001")
	if err != nil {
		t.Fatal(err)
	}
	checkouts := 0
	for _, h := range hist {
		if h.To == stations.Rented {
			checkouts++
		}
	}
	if checkouts != 1 {
		t.Fatalf("unit history has %d check-outs", checkouts)
	}
	open, err := s.rentals.OpenLeases(context.Background(), tenancy.PlatformScope, "north")
	if err != nil || len(open) != 1 {
		t.Fatalf("open leases: %d %v", len(open), err)
	}
}

func TestDeskAPIFlow(t *testing.T) {
	s := newTestServer(t)
	d := desk{t: t, s: s, token: apiToken(t, s, "desk")}
	r := registerRenter(t, d, "13912345670")

	if rec := d.call("POST", "/api/v1/staff/renters/search", map[string]string{"query": "13912345670"}); rec.Code != 200 || !strings.Contains(rec.Body.String(), r.ID) {
		t.Fatalf("find by phone: %d %s", rec.Code, rec.Body)
	}
	q := decode[rentals.Quote](t, d.call("GET", "/api/v1/staff/quote?unit=JZ-WC-0001&renter="+r.ID+"&days=30", nil))
	if q.DueNowFen != 39000 || q.Tier != rentals.Standard {
		t.Fatalf("quote %+v", q)
	}
	// Bad input names the field; nothing is lent.
	for _, tt := range []struct {
		body  map[string]any
		field string
	}{
		{checkoutBody("JZ-WC-0001", r.ID, 100), "payments"},
		{map[string]any{"unit": "JZ-WC-0001", "renter_id": r.ID, "days": 0, "station_id": "north", "payments": []any{}, "terms_version": TermsVersion, "accepted_name": "x"}, "days"},
		{map[string]any{"unit": "JZ-WC-0001", "renter_id": r.ID, "days": 30, "station_id": "north", "payments": []map[string]any{{"method": "cash", "amount_fen": 39000}}, "terms_version": TermsVersion, "accepted_name": ""}, "accepted_name"},
	} {
		rec := d.call("POST", "/api/v1/staff/checkouts", tt.body)
		if rec.Code != 400 || !strings.Contains(rec.Body.String(), `"`+tt.field+`"`) {
			t.Errorf("bad checkout (%s): %d %s", tt.field, rec.Code, rec.Body)
		}
	}
	if rec := d.call("POST", "/api/v1/staff/checkouts", map[string]any{"unit": map[string]string{"$ne": ""}}); rec.Code != 400 {
		t.Errorf("operator injection: %d", rec.Code)
	}
	rec := d.call("POST", "/api/v1/staff/checkouts", checkoutBody("jz-wc-0001", r.ID, 39000))
	if rec.Code != http.StatusCreated {
		t.Fatalf("checkout: %d %s", rec.Code, rec.Body)
	}
	lease := decode[rentals.Lease](t, rec)
	if rec := d.call("POST", "/api/v1/staff/checkouts", checkoutBody("JZ-WC-0001", r.ID, 39000)); rec.Code != http.StatusConflict {
		t.Errorf("second checkout of a rented unit: %d", rec.Code)
	}

	// Two desks check the same unit in at once: one wins.
	var wg sync.WaitGroup
	codes := make([]int, 2)
	for i := range codes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			codes[i] = d.call("POST", "/api/v1/staff/checkins", map[string]any{"unit": "JZ-WC-0001", "outcome": "ok", "station_id": "south", "refund_method": "cash"}).Code
		}()
	}
	wg.Wait()
	if !(codes[0] == 200 && codes[1] == 409 || codes[0] == 409 && codes[1] == 200) {
		t.Fatalf("concurrent check-ins: %v", codes)
	}
	v := decode[leaseView](t, d.call("GET", "/api/v1/staff/leases/"+lease.ID, nil))
	if v.State != rentals.LeaseClosed || v.Ledger.BalanceFen != 0 || !v.Ledger.Complete {
		t.Fatalf("lease after check-in %+v", v)
	}
	// The unit came back at the other station and waits for cleaning there.
	u := decode[unitView](t, d.call("GET", "/api/v1/staff/units/JZ-WC-0001", nil))
	if u.State != stations.Cleaning || u.StationID != "south" {
		t.Fatalf("unit after check-in %+v", u.Unit)
	}
	if rec := d.call("POST", "/api/v1/staff/units/JZ-WC-0001/clean", map[string]any{"method": "uv"}); rec.Code != 400 || !strings.Contains(rec.Body.String(), "checklist") {
		t.Errorf("cleaning without the checklist: %d %s", rec.Code, rec.Body)
	}
	rec = d.call("POST", "/api/v1/staff/units/JZ-WC-0001/clean", map[string]any{"method": "uv", "checklist": catalog.CleaningChecklist("manual_wheelchair")})
	if rec.Code != 200 || decode[stations.Unit](t, rec).State != stations.Available {
		t.Fatalf("clean: %d %s", rec.Code, rec.Body)
	}
	qs := decode[rentals.Queues](t, d.call("GET", "/api/v1/staff/queues?station=north", nil))
	if len(qs.Cleaning) != 1 || qs.Cleaning[0].Tag != "JZ-WK-0001" {
		t.Errorf("north's cleaning queue %+v", qs.Cleaning)
	}
	if rec := d.call("POST", "/api/v1/staff/units/JZ-WC-0001/fly", map[string]any{}); rec.Code != 404 {
		t.Errorf("unknown action: %d", rec.Code)
	}
}

// Staff of operator B cannot scan, see or move operator A's units (404), and
// tokens without the desk scope cannot use the desk at all (403).
func TestDeskTenancy(t *testing.T) {
	s := newTestServer(t)
	ctx := context.Background()
	if _, err := s.stations.CreateOperator(ctx, stations.Operator{ID: "op-b", Name: l10n.Text{Zh: "乙", En: "B"}}, tenancy.System); err != nil {
		t.Fatal(err)
	}
	if _, err := s.stations.CreateStation(ctx, stations.Station{ID: "b-one", OperatorID: "op-b", Name: l10n.Text{Zh: "乙站", En: "B"},
		Address: l10n.Text{Zh: "路", En: "Rd"}, District: "macun", Lat: 35.25, Lng: 113.32, Hours: stations.StandardHours(), Active: true}); err != nil {
		t.Fatal(err)
	}
	secret, _, err := s.auth.CreateToken(ctx, "op-b", "b desk", []string{"desk"}, tenancy.System)
	if err != nil {
		t.Fatal(err)
	}
	b := desk{t: t, s: s, token: secret}
	a := desk{t: t, s: s, token: apiToken(t, s, "desk")}
	r := registerRenter(t, a, "13912345671")
	for _, tt := range []struct{ method, path string }{
		{"GET", "/api/v1/staff/units/JZ-WC-0001"},
		{"POST", "/api/v1/staff/units/JZ-WK-0001/clean"},
		{"POST", "/api/v1/staff/units/JZ-WC-0001/transfer"},
		{"GET", "/api/v1/staff/renters/" + r.ID},
		{"GET", "/api/v1/staff/quote?unit=JZ-WC-0001&days=3"},
	} {
		var body any
		if tt.method == "POST" {
			body = map[string]any{"method": "uv", "checklist": catalog.CleaningChecklist("manual_wheelchair"), "to_station": "b-one"}
		}
		if rec := b.call(tt.method, tt.path, body); rec.Code != http.StatusNotFound {
			t.Errorf("B's desk %s %s: %d %s", tt.method, tt.path, rec.Code, rec.Body)
		}
	}
	if rec := b.call("POST", "/api/v1/staff/checkouts", checkoutBody("JZ-WC-0001", r.ID, 39000)); rec.Code != http.StatusNotFound && rec.Code != http.StatusBadRequest {
		t.Errorf("B lends A's unit: %d %s", rec.Code, rec.Body)
	}
	if u, _ := s.stations.Unit(ctx, "JZ-WC-0001"); u.State != stations.Available {
		t.Fatalf("A's unit moved: %+v", u)
	}
	inv := desk{t: t, s: s, token: apiToken(t, s, "inventory:write")}
	if rec := inv.call("GET", "/api/v1/staff/queues", nil); rec.Code != http.StatusForbidden {
		t.Errorf("inventory token on the desk: %d", rec.Code)
	}
	if rec := get(t, s, "/api/v1/staff/queues"); rec.Code != http.StatusUnauthorized {
		t.Errorf("anonymous desk: %d", rec.Code)
	}
	// A desk token works the API, not the pages (which can show a full ID
	// number to a person).
	req := httptest.NewRequest("POST", "/staff/renters/"+r.ID+"/reveal", strings.NewReader("what=id_number&reason=check"))
	req.Header.Set("Authorization", "Bearer "+a.token)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, req)
	if rec.Code != http.StatusForbidden || strings.Contains(rec.Body.String(), idNumberFor("13912345671")) {
		t.Errorf("desk token on the reveal page: %d", rec.Code)
	}
}

// A renter registered at a desk and the family's online account are joined
// only with the code shown on that account's page: a phone number alone proves
// nothing, since anyone can sign up with any number.
func TestRenterAndAccountAreJoinedByCode(t *testing.T) {
	s := newTestServer(t)
	d := desk{t: t, s: s, token: apiToken(t, s, "desk")}
	r := registerRenter(t, d, "13912345680")
	if rec := d.call("POST", "/api/v1/staff/checkouts", checkoutBody("JZ-WC-0001", r.ID, 39000)); rec.Code != http.StatusCreated {
		t.Fatalf("checkout: %d %s", rec.Code, rec.Body)
	}
	fam := newClient(t, s)
	fam.signUp("赵女士", "13912345680")
	page := fam.get("/account").Body.String()
	if strings.Contains(page, "JZ-WC-0001") {
		t.Fatal("signing up with a renter's phone number showed their rental")
	}
	m := regexp.MustCompile(`class="tag">(\d{8})<`).FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no link code on the account page:\n%.1500s", page)
	}
	if rec := d.call("POST", "/api/v1/staff/renters/"+r.ID+"/link", map[string]string{"phone": "13912345680", "code": "00000000"}); rec.Code != 400 || !strings.Contains(rec.Body.String(), `"code"`) {
		t.Fatalf("wrong code: %d %s", rec.Code, rec.Body)
	}
	if rec := d.call("POST", "/api/v1/staff/renters/"+r.ID+"/link", map[string]string{"phone": "13912345689", "code": m[1]}); rec.Code != 400 || !strings.Contains(rec.Body.String(), `"phone"`) {
		t.Fatalf("unknown phone: %d %s", rec.Code, rec.Body)
	}
	if rec := d.call("POST", "/api/v1/staff/renters/"+r.ID+"/link", map[string]string{"phone": "13912345680", "code": m[1]}); rec.Code != 200 {
		t.Fatalf("link: %d %s", rec.Code, rec.Body)
	}
	if page := fam.get("/account").Body.String(); !strings.Contains(page, "JZ-WC-0001") || !strings.Contains(page, "我的租借") {
		t.Errorf("the linked account does not show the rental:\n%.2000s", page)
	}
}

func TestPaymentsCannotOverflow(t *testing.T) {
	s := newTestServer(t)
	d := desk{t: t, s: s, token: apiToken(t, s, "desk")}
	r := registerRenter(t, d, "13912345690")
	body := checkoutBody("JZ-WC-0001", r.ID, 0)
	body["payments"] = []map[string]any{{"method": "cash", "amount_fen": int64(math.MaxInt64)}, {"method": "cash", "amount_fen": int64(math.MaxInt64)}, {"method": "cash", "amount_fen": 39002}}
	if rec := d.call("POST", "/api/v1/staff/checkouts", body); rec.Code != 400 || !strings.Contains(rec.Body.String(), `"payments"`) {
		t.Fatalf("overflowing payments: %d %s", rec.Code, rec.Body)
	}
	if u, _ := s.stations.Unit(context.Background(), "JZ-WC-0001"); u.State != stations.Available {
		t.Fatalf("unit moved: %+v", u)
	}
}

// A tier verification with bad input, or for a renter the desk cannot see,
// stores no proof photo.
func TestTierProofStoredOnlyWhenValid(t *testing.T) {
	s := newTestServer(t)
	d := desk{t: t, s: s, token: apiToken(t, s, "desk")}
	r := registerRenter(t, d, "13912345691")
	post := func(renter string, fields map[string]string, photo bool) *httptest.ResponseRecorder {
		var b bytes.Buffer
		mw := multipart.NewWriter(&b)
		for k, v := range fields {
			mw.WriteField(k, v)
		}
		if photo {
			w, _ := mw.CreateFormFile("proof_photo", "proof.jpg")
			w.Write(testJPEG(t, 400, 300, color.RGBA{10, 200, 30, 255}))
		}
		mw.Close()
		req := httptest.NewRequest("POST", "/api/v1/staff/renters/"+renter+"/tier", &b)
		req.Header.Set("Content-Type", mw.FormDataContentType())
		req.Header.Set("Authorization", "Bearer "+d.token)
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		return rec
	}
	private := func() int {
		n := 0
		for _, err := range s.media.Store().List(context.Background(), media.Private, "") {
			if err == nil {
				n++
			}
		}
		return n
	}
	good := map[string]string{"tier": "low_income", "proof_type": "low_income_certificate", "proof_number": "JZ-1",
		"expires_on": time.Now().AddDate(1, 0, 0).Format(time.DateOnly)}
	if rec := post("r-nobody", good, true); rec.Code != http.StatusNotFound {
		t.Errorf("unknown renter: %d", rec.Code)
	}
	bad := map[string]string{"tier": "bogus", "proof_type": "low_income_certificate", "proof_number": "JZ-1", "expires_on": "2020-01-01"}
	if rec := post(r.ID, bad, true); rec.Code != 400 || !strings.Contains(rec.Body.String(), `"tier"`) || !strings.Contains(rec.Body.String(), `"expires_on"`) {
		t.Errorf("bad proof: %d %s", rec.Code, rec.Body)
	}
	if rec := post(r.ID, good, false); rec.Code != 400 || !strings.Contains(rec.Body.String(), `"proof_photo"`) {
		t.Errorf("no photo: %d %s", rec.Code, rec.Body)
	}
	// JSON cannot carry the photo: the route takes multipart only.
	if rec := d.call("POST", "/api/v1/staff/renters/"+r.ID+"/tier", good); rec.Code != http.StatusUnsupportedMediaType || !strings.Contains(rec.Body.String(), `"proof_photo"`) {
		t.Errorf("JSON proof: %d %s", rec.Code, rec.Body)
	}
	if n := private(); n != 0 {
		t.Fatalf("refused verifications stored %d private objects", n)
	}
	rec := post(r.ID, good, true)
	if rec.Code != 200 || decode[rentals.Renter](t, rec).TierStatus.Tier != rentals.LowIncome {
		t.Fatalf("verification: %d %s", rec.Code, rec.Body)
	}
	if private() == 0 {
		t.Error("the proof photo was not stored")
	}
}
