package web

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"fuju/accounts"
	"fuju/internal/valid"
	"fuju/rentals"
)

// bodyField is one string or list a JSON request body can carry.
type bodyField struct {
	path   []string // property names; "[]" is an item of the list before it
	schema *openapi3.Schema
}

func (f bodyField) name() string { return strings.ReplaceAll(strings.Join(f.path, "."), ".[]", "[]") }

// bodyFields lists the strings and lists of a request body schema.
func bodyFields(s *openapi3.Schema, path []string, out []bodyField) []bodyField {
	for _, part := range s.AllOf {
		out = bodyFields(part.Value, path, out)
	}
	switch {
	case s.Type.Is(openapi3.TypeString):
		out = append(out, bodyField{slices.Clone(path), s})
	case s.Type.Is(openapi3.TypeArray):
		out = append(out, bodyField{slices.Clone(path), s})
		out = bodyFields(s.Items.Value, append(path, "[]"), out)
	default:
		for _, k := range slices.Sorted(maps.Keys(s.Properties)) {
			out = bodyFields(s.Properties[k].Value, append(path, k), out)
		}
	}
	return out
}

// bounded reports whether a string is bounded by its form (a choice, a
// date, a pattern, a file) rather than by a limit.
func bounded(s *openapi3.Schema) bool {
	return len(s.Enum) > 0 || s.Pattern != "" || s.Format == "date" || s.Format == "date-time" || s.Format == "binary"
}

// Every string and list a request body can carry has a limit in the
// document, named by x-limit, and the document's bound is the code's
// (valid.Limits): the two cannot drift.
func TestOpenAPILimitsAreTheCodes(t *testing.T) {
	doc := testContract(t).Doc
	n := 0
	for _, path := range doc.Paths.InMatchingOrder() {
		for method, op := range doc.Paths.Value(path).Operations() {
			if op.RequestBody == nil {
				continue
			}
			for ct, mt := range op.RequestBody.Value.Content {
				if ct == "text/csv" {
					continue // one file, capped by the body limit
				}
				for _, f := range bodyFields(mt.Schema.Value, nil, nil) {
					where := fmt.Sprintf("%s %s %s %s", method, path, ct, f.name())
					name, _ := f.schema.Extensions["x-limit"].(string)
					isList := f.schema.Type.Is(openapi3.TypeArray)
					switch {
					case name == "" && isList && f.schema.MaxItems != nil && f.schema.MinItems == *f.schema.MaxItems:
						// a fixed-size list (the seven days of a week)
					case name == "" && !isList && bounded(f.schema):
					case name == "":
						t.Errorf("%s has no x-limit", where)
					default:
						n++
						want, ok := valid.Limits[name]
						got := f.schema.MaxLength
						if isList {
							got = f.schema.MaxItems
						}
						if !ok || got == nil || int(*got) != want {
							t.Errorf("%s: x-limit %q is %d in the code, the document says %v", where, name, want, got)
						}
					}
				}
			}
		}
	}
	if n < 100 {
		t.Errorf("only %d limited fields found; the walk is broken", n)
	}
}

// oversized returns a value one past f's limit: a string one character too
// long (Chinese characters, which count one each but take three bytes), a
// list one item too long.
func oversized(f bodyField) any {
	if f.schema.Type.Is(openapi3.TypeArray) {
		item := f.schema.Items.Value
		var one any = "x"
		switch {
		case len(item.Enum) > 0:
			one = item.Enum[0]
		case item.Type.Is(openapi3.TypeObject):
			one = map[string]any{"method": "cash", "amount_fen": 100}
		case item.Format == "date":
			one = "2027-01-01"
		}
		return slices.Repeat([]any{one}, int(*f.schema.MaxItems)+1)
	}
	return strings.Repeat("长", int(*f.schema.MaxLength)+1)
}

// with returns a copy of body with the value at path set (lists get it as
// their only item).
func with(body map[string]any, path []string, v any) map[string]any {
	out := maps.Clone(body)
	if len(path) == 1 {
		out[path[0]] = v
		return out
	}
	if path[1] == "[]" {
		if len(path) == 2 {
			out[path[0]] = []any{v}
		} else {
			inner, _ := firstItem(body[path[0]])
			out[path[0]] = []any{with(inner, path[2:], v)}
		}
		return out
	}
	inner, _ := body[path[0]].(map[string]any)
	out[path[0]] = with(inner, path[1:], v)
	return out
}

func firstItem(v any) (map[string]any, bool) {
	switch l := v.(type) {
	case []any:
		if len(l) > 0 {
			m, ok := l[0].(map[string]any)
			return m, ok
		}
	case []map[string]any:
		if len(l) > 0 {
			return l[0], true
		}
	}
	return map[string]any{}, false
}

// Every string and list of every JSON request body of the document, one at
// a time one past its limit, sent with good credentials and an otherwise
// good body to the real router: the answer is 400 naming that field, and
// nothing is written.
func TestOversizedFieldsAreRefused(t *testing.T) {
	s := newTestServer(t)
	ctx := context.Background()
	newUser := func(role accounts.Role, phone, op string, sts ...string) *admClient {
		u, err := s.auth.CreateUser(ctx, accounts.NewUser{Name: "测试", Phone: phone, Password: admPassword, Role: role, OperatorID: op, StationIDs: sts})
		if err != nil {
			t.Fatal(err)
		}
		return admSession(t, s, u)
	}
	platform := newUser(accounts.PlatformAdmin, "13900000001", "")
	opAdmin := newUser(accounts.OperatorAdmin, "13900000002", "op-a")
	family := newUser(accounts.Renter, "13900000014", "")
	staffUser, err := s.auth.CreateUser(ctx, accounts.NewUser{Name: "员工", Phone: "13900000003", Password: admPassword, Role: accounts.Staff, OperatorID: "op-a", StationIDs: []string{"north"}})
	if err != nil {
		t.Fatal(err)
	}
	anonymous := admAnonymous(t, s)
	d := desk{t: t, s: s, token: apiToken(t, s, "desk")}
	renter := registerRenter(t, d, "13912345600")
	// A lease to return, extend and settle.
	rec := d.call("POST", "/api/v1/staff/checkouts", checkoutBody("JZ-WC-0001", renter.ID, 39000))
	if rec.Code != http.StatusCreated {
		t.Fatalf("checkout: %d %s", rec.Code, rec.Body)
	}
	lease := decode[rentals.Lease](t, rec).ID
	version := func(target string) int64 {
		rec := opAdmin.get(target)
		var v struct {
			Version int64 `json:"version"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil || rec.Code != http.StatusOK {
			t.Fatalf("%s: %d %s", target, rec.Code, rec.Body)
		}
		return v.Version
	}

	week := make([]any, 7)
	for i := range week {
		week[i] = map[string]any{"open": "08:00", "close": "17:00"}
	}
	pay := []any{map[string]any{"method": "cash", "amount_fen": 100}}
	// The path each operation is called on and a body it would accept.
	cases := map[string]struct {
		target string
		body   map[string]any
	}{
		"POST /admin/operators":                      {"/api/v1/admin/operators", map[string]any{"id": "op-c", "name": map[string]any{"zh": "丙", "en": "C"}, "phone": "0391-3561234"}},
		"PATCH /admin/operators/{id}":                {"/api/v1/admin/operators/op-a", map[string]any{"name": map[string]any{"zh": "甲", "en": "A"}, "phone": "0391-3561234", "status": "suspended", "reason": "年检"}},
		"POST /admin/users":                          {"/api/v1/admin/users", map[string]any{"role": "operator_admin", "name": "新人", "phone": "13900000009", "email": "a@example.com", "password": admPassword, "operator_id": "op-a", "station_ids": []any{"north"}}},
		"PATCH /admin/users/{id}":                    {"/api/v1/admin/users/" + staffUser.ID, map[string]any{"name": "员工", "station_ids": []any{"north"}}},
		"PUT /admin/tier-policy":                     {"/api/v1/admin/tier-policy", map[string]any{"note": "新政策"}},
		"POST /auth/signup":                          {"/api/v1/auth/signup", map[string]any{"name": "家属", "phone": "13900000010", "email": "b@example.com", "password": admPassword}},
		"POST /auth/login":                           {"/api/v1/auth/login", map[string]any{"login": "13900000001", "password": admPassword}},
		"POST /operator/products":                    {"/api/v1/operator/products", map[string]any{"id": "bed", "category": "walker", "name": map[string]any{"zh": "床", "en": "Bed"}, "description": map[string]any{"zh": "好", "en": "Good"}, "rate": map[string]any{"daily_fen": 100}, "keywords": []any{"床"}}},
		"PATCH /operator/products/{id}":              {"/api/v1/operator/products/wc", map[string]any{"version": version("/api/v1/operator/products/wc"), "category": "walker", "name": map[string]any{"zh": "床", "en": "Bed"}, "description": map[string]any{"zh": "好", "en": "Good"}, "keywords": []any{"床"}}},
		"POST /operator/stations":                    {"/api/v1/operator/stations", map[string]any{"id": "east", "name": map[string]any{"zh": "东站", "en": "East"}, "address": map[string]any{"zh": "路", "en": "Rd"}, "district": "shanyang", "lat": 35.2, "lng": 113.2, "phone": "0391-3561234", "hours": map[string]any{"week": week, "closed_on": []any{"2027-01-01"}}}},
		"PATCH /operator/stations/{id}":              {"/api/v1/operator/stations/north", map[string]any{"version": version("/api/v1/operator/stations/north"), "name": map[string]any{"zh": "北站", "en": "North"}, "address": map[string]any{"zh": "路", "en": "Rd"}, "district": "shanyang", "phone": "0391-3561234"}},
		"POST /operator/units":                       {"/api/v1/operator/units", map[string]any{"tag": "JZ-WC-0009", "product_id": "wc", "station_id": "north", "condition": "新"}},
		"PATCH /operator/units/{tag}":                {"/api/v1/operator/units/JZ-WC-0001", map[string]any{"version": 1, "condition": "新"}},
		"DELETE /operator/units/{tag}":               {"/api/v1/operator/units/JZ-WC-0001", map[string]any{"reason": "坏了"}},
		"POST /operator/tokens":                      {"/api/v1/operator/tokens", map[string]any{"name": "库存", "scopes": []any{"desk"}}},
		"POST /operator/staff":                       {"/api/v1/operator/staff", map[string]any{"name": "员工", "phone": "13900000011", "email": "c@example.com", "station_ids": []any{"north"}}},
		"PATCH /operator/staff/{id}":                 {"/api/v1/operator/staff/" + staffUser.ID, map[string]any{"name": "员工", "station_ids": []any{"north"}}},
		"PUT /operator/products/{id}/photos/order":   {"/api/v1/operator/products/wc/photos/order", map[string]any{"keys": []any{}}},
		"PATCH /operator/products/{id}/photos/{key}": {"/api/v1/operator/products/wc/photos/nope", map[string]any{"alt": map[string]any{"zh": "图", "en": "Photo"}}},
		"POST /staff/renters":                        {"/api/v1/staff/renters", map[string]any{"name": "钱大妈", "phone": "13912345601", "id_number": "11010519491231002X", "address": "路", "mobility_needs": "助行", "emergency_contact": map[string]any{"name": "钱", "phone": "13912345602"}, "station_id": "north"}},
		"POST /staff/checkouts":                      {"/api/v1/staff/checkouts", with(with(checkoutBody("JZ-WC-0002", renter.ID, 39000), []string{"station_id"}, "south"), []string{"payments", "[]", "reference"}, "转账")},
		"POST /staff/checkins":                       {"/api/v1/staff/checkins", map[string]any{"unit": "JZ-WC-0001", "outcome": "ok", "notes": "好", "payments": pay, "refund_method": "cash", "refund_reference": "x", "station_id": "north"}},
		"POST /staff/checkins/preview":               {"/api/v1/staff/checkins/preview", map[string]any{"unit": "JZ-WC-0001", "outcome": "ok", "notes": "好", "payments": pay, "refund_method": "cash", "refund_reference": "x", "station_id": "north"}},
		"POST /staff/units/{tag}/{action}":           {"/api/v1/staff/units/JZ-WK-0001/clean", map[string]any{"method": "wipe", "checklist": []any{"x"}, "notes": "好", "issue": "x", "reason": "x", "to_station": "south", "station_id": "north"}},
		"POST /staff/leases/{id}/extend":             {"/api/v1/staff/leases/" + lease + "/extend", map[string]any{"days": 5, "payments": pay}},
		"POST /staff/leases/{id}/settle":             {"/api/v1/staff/leases/" + lease + "/settle", map[string]any{"payments": pay}},
		"POST /staff/renters/{id}/link":              {"/api/v1/staff/renters/" + renter.ID + "/link", map[string]any{"phone": "13912345600", "code": "123456"}},
		"POST /staff/renters/search":                 {"/api/v1/staff/renters/search", map[string]any{"query": "13912345600"}},
		"POST /staff/found":                          {"/api/v1/staff/found", map[string]any{"unit": "JZ-WC-0003", "outcome": "ok", "notes": "好", "payments": pay, "refund_method": "cash", "refund_reference": "x", "station_id": "north"}},
		"POST /staff/leases/{id}/waivers":            {"/api/v1/staff/leases/" + lease + "/waivers", map[string]any{"amount_fen": 100, "reason": "other", "note": "雨天"}},
		"POST /staff/leases/{id}/refund":             {"/api/v1/staff/leases/" + lease + "/refund", map[string]any{"refund_method": "offline_mobile", "refund_reference": "x"}},
		"PUT /operator/settings":                     {"/api/v1/operator/settings", map[string]any{"waiver_limit_fen": 5000}},
		"PUT /me/preferences":                        {"/api/v1/me/preferences", map[string]any{"reminders": true}},
		"POST /me/reservations": {"/api/v1/me/reservations", map[string]any{"renter_id": renter.ID, "product_id": "wc", "station_id": "north", "mode": "delivery",
			"day": "2026-11-27", "window": "am", "delivery": map[string]any{"district": "shanyang", "address": "山阳区路1号", "phone": "13800000000"}, "days": 30}},
		"POST /me/waitlist":                                 {"/api/v1/me/waitlist", map[string]any{"renter_id": renter.ID, "product_id": "wc", "station_id": "north"}},
		"POST /staff/reservations/{id}/fulfil":              {"/api/v1/staff/reservations/rs-nope/fulfil", map[string]any{"payments": pay, "terms_version": "2026-01", "accepted_name": "家属", "substitute": "JZ-WC-0002", "days": 30}},
		"POST /staff/reservations/{id}/substitute":          {"/api/v1/staff/reservations/rs-nope/substitute", map[string]any{"unit": "JZ-WC-0002"}},
		"POST /staff/reservations/{id}/cancel":              {"/api/v1/staff/reservations/rs-nope/cancel", map[string]any{"reason": "来电"}},
		"POST /staff/renters/{id}/no-show-block/lift":       {"/api/v1/staff/renters/" + renter.ID + "/no-show-block/lift", map[string]any{"reason": "说明"}},
		"PUT /operator/stations/{id}/slots":                 {"/api/v1/operator/stations/north/slots", map[string]any{"capacity": 2}},
		"PUT /operator/stations/{id}/delivery":              {"/api/v1/operator/stations/north/delivery", map[string]any{"enabled": true, "districts": []any{"shanyang"}, "fee_fen": 0, "windows": []any{"am"}}},
		"PUT /operator/stations/{id}/prepay":                {"/api/v1/operator/stations/north/prepay", map[string]any{"prepay": "off"}},
		"POST /me/payments":                                 {"/api/v1/me/payments", map[string]any{"reservation_id": "rs-none"}},
		"POST /me/rentals/{id}/extensions":                  {"/api/v1/me/rentals/" + lease + "/extensions", map[string]any{"days": 5}},
		"POST /payments/stripe/webhook":                     {"/api/v1/payments/stripe/webhook", map[string]any{"id": "evt_limits", "object": "event", "type": "customer.created"}},
		"POST /operator/waivers/{id}/{decision}":            {"/api/v1/operator/waivers/nope/approve", map[string]any{"note": "同意"}},
		"POST /admin/statements/{operator}/{month}/approve": {"/api/v1/admin/statements/op-a/2026-10/approve", map[string]any{"hash": "abc", "reasons": "好", "paid_on": "2026-11-20", "reference": "x"}},
		"POST /admin/statements/{operator}/{month}/return":  {"/api/v1/admin/statements/op-a/2026-10/return", map[string]any{"hash": "abc", "reasons": "好", "paid_on": "2026-11-20", "reference": "x"}},
		"POST /admin/statements/{operator}/{month}/paid":    {"/api/v1/admin/statements/op-a/2026-10/paid", map[string]any{"hash": "abc", "reasons": "好", "paid_on": "2026-11-20", "reference": "x"}},
		"POST /auth/phone/confirm":                          {"/api/v1/auth/phone/confirm", map[string]any{"check_id": "pc-none", "code": "123456"}},
		"POST /auth/phone/resend":                           {"/api/v1/auth/phone/resend", map[string]any{"check_id": "pc-none"}},
		"POST /me/phone":                                    {"/api/v1/me/phone", map[string]any{"phone": "13900000012"}},
		"POST /me/renters":                                  {"/api/v1/me/renters", map[string]any{"name": "老人", "phone": "13900000013", "id_number": "11010519491231002X", "mobility_needs": "慢", "home_station_id": "north", "relation": "father"}},
		"POST /operator/tier-applications/{id}/approve":     {"/api/v1/operator/tier-applications/nope/approve", map[string]any{"expires_on": "2027-01-01"}},
		"POST /operator/tier-applications/{id}/reject":      {"/api/v1/operator/tier-applications/nope/reject", map[string]any{"reason": "other", "note": "看不清"}},
	}
	// What may change on a refused request: sessions and the counters of
	// the rate limits.
	skip := []string{"sessions", "throttle"}

	doc := testContract(t).Doc
	n := 0
	for _, path := range doc.Paths.InMatchingOrder() {
		for method, op := range doc.Paths.Value(path).Operations() {
			if op.RequestBody == nil || op.RequestBody.Value.Content.Get("application/json") == nil {
				continue
			}
			key := method + " " + path
			tc, ok := cases[key]
			if !ok {
				t.Errorf("%s: no case; add a path and a good body", key)
				continue
			}
			client := opAdmin
			switch {
			case strings.HasPrefix(path, "/admin/"):
				client = platform
			case strings.HasPrefix(path, "/auth/"):
				client = anonymous
			case strings.HasPrefix(path, "/me/"):
				client = family
			}
			for _, f := range bodyFields(op.RequestBody.Value.Content.Get("application/json").Schema.Value, nil, nil) {
				if _, limited := f.schema.Extensions["x-limit"]; !limited {
					continue
				}
				n++
				body := with(tc.body, f.path, oversized(f))
				before := stored(t, s, skip...)
				rec := client.do(method, tc.target, body)
				name := f.name()
				var got struct {
					Error struct {
						Fields map[string]string `json:"fields"`
					} `json:"error"`
				}
				_ = json.Unmarshal(rec.Body.Bytes(), &got)
				named := false
				for k := range got.Error.Fields {
					// A list's items are named by the list or by their index.
					base, _, _ := strings.Cut(name, "[]")
					if k == name || k == base || strings.HasPrefix(k, base+".") || strings.HasPrefix(k, base+"[") {
						named = true
					}
				}
				if rec.Code != http.StatusBadRequest || !named {
					t.Errorf("%s with %s over its limit: %d %.300s", key, name, rec.Code, rec.Body)
				}
				if after := stored(t, s, skip...); after != before {
					t.Errorf("%s with %s over its limit wrote something", key, name)
				}
			}
		}
	}
	if n < 80 {
		t.Errorf("only %d oversized fields sent; the walk is broken", n)
	}
}
