package web

import (
	"bytes"
	"context"
	"encoding/json"
	"fuju/internal/tenancy"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// A second registration of one person (the same ID number, typed another
// way, under another phone number) is 409 in the API and on the desk's
// page, in both languages, naming the station that holds the record and
// nothing of the person.
func TestSecondRegistrationOfAPerson(t *testing.T) {
	s := newTestServer(t)
	d := desk{t: t, s: s, token: apiToken(t, s, "desk")}
	registerRenter(t, d, "13912345801") // at the north station
	id := idNumberFor("13912345801")
	typed := id[:6] + " " + id[6:14] + " " + strings.ToLower(id[14:])
	personal := []string{"赵大爷", "13912345801", id[14:], id[6:14]}

	api := map[string]string{"zh": "这个身份证号已在北站登记过", "en": "this ID number is already registered at North"}
	for lang, want := range api {
		b, _ := json.Marshal(map[string]any{"name": "赵大爷", "phone": "13912345802", "id_number": typed, "station_id": "south"})
		req := httptest.NewRequest("POST", "/api/v1/staff/renters", bytes.NewReader(b))
		req.Header.Set("Authorization", "Bearer "+d.token)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept-Language", lang)
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		var body apiError
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || rec.Code != http.StatusConflict ||
			body.Error.Code != "conflict" || !strings.Contains(body.Error.Message, want) {
			t.Fatalf("API in %s: %d %s, want 409 saying %q", lang, rec.Code, rec.Body, want)
		}
		for _, p := range personal {
			if strings.Contains(rec.Body.String(), p) {
				t.Errorf("API in %s tells %q: %s", lang, p, rec.Body)
			}
		}
	}

	staff := staffOf(t, s, "13800009801", "south")
	page := map[string]string{"zh": "这个身份证号已在北站登记过", "en": "this ID number is already registered at North"}
	for lang, want := range page {
		rec := send(t, s, staff, "POST", "/staff/renters", url.Values{"name": {"赵大爷"}, "phone": {"13912345803"},
			"id_number": {typed}, "station_id": {"south"}}, "Cookie", "lang="+lang)
		html := rec.Body.String()
		if rec.Code != http.StatusConflict || !strings.Contains(html, want) {
			t.Fatalf("page in %s: %d, want 409 saying %q\n%.3000s", lang, rec.Code, want, html)
		}
		for _, p := range personal[1:] { // the name is what the clerk typed
			if strings.Contains(html, p) {
				t.Errorf("page in %s tells %q", lang, p)
			}
		}
	}
	rs, err := s.rentals.SearchRenters(context.Background(), tenancy.OperatorScope("op-a"), "13912345802", tenancy.System)
	if err != nil || len(rs.Items) != 0 {
		t.Fatalf("a refused registration was recorded: %+v %v", rs, err)
	}
}
