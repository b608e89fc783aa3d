package web

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"fuju/internal/tenancy"
	"fuju/rentals"
	"fuju/stations"
)

// A family reserves through the API, is told to join the waitlist when
// nothing is left, and the desk finds the reservation by its code and
// fulfils it; another operator's desk and admin see none of it.
func TestReservationsAPI(t *testing.T) {
	ctx := context.Background()
	w := newRulesWorld(t)
	r := registerRenter(t, w.desk, "13912348801")
	if _, err := w.s.rentals.LinkUser(ctx, r.ID, walkUserID(t, w), tenancy.System); err != nil {
		t.Fatal(err)
	}
	fam := func(method, target string, body any) *httptest.ResponseRecorder {
		return w.call(t, w.renter, method, target, body)
	}
	slots := decode[list[stations.Slot]](t, w.call(t, w.nobody, "GET", "/api/v1/stations/north/slots", nil))
	if len(slots.Items) == 0 {
		t.Fatal("no slots")
	}
	slot := walkSlot(w)
	body := map[string]any{"renter_id": r.ID, "product_id": "wc", "station_id": "north", "mode": "pickup", "slot": slot}
	rec := fam("POST", "/api/v1/me/reservations", body)
	if rec.Code != http.StatusCreated {
		t.Fatalf("reserve: %d %s", rec.Code, rec.Body)
	}
	x := decode[rentals.Reservation](t, rec)
	if x.State != rentals.ResHeld || x.UnitTag != "JZ-WC-0001" || len(x.Code) != 8 {
		t.Fatalf("reservation %+v", x)
	}
	// The last one is taken: 409 offering the waitlist.
	body["slot"] = slot.Add(30 * 60e9)
	if rec := fam("POST", "/api/v1/me/reservations", body); rec.Code != http.StatusConflict || !strings.Contains(rec.Body.String(), `"no_unit"`) {
		t.Errorf("no unit left: %d %s", rec.Code, rec.Body)
	}
	// A closed day names the slot.
	sunday := slot.AddDate(0, 0, 2) // Thursday + 1 = Friday; +2 = Sunday
	body["slot"] = sunday
	if rec := fam("POST", "/api/v1/me/reservations", body); rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), `"slot_closed_day"`) {
		t.Errorf("Sunday: %d %s", rec.Code, rec.Body)
	}
	rec = fam("POST", "/api/v1/me/waitlist", map[string]any{"renter_id": r.ID, "product_id": "wc", "station_id": "north"})
	if e := decode[rentals.WaitEntry](t, rec); rec.Code != http.StatusCreated || e.Position != 1 {
		t.Errorf("join: %d %s", rec.Code, rec.Body)
	}
	if l := decode[list[rentals.Reservation]](t, fam("GET", "/api/v1/me/reservations", nil)); len(l.Items) != 1 || l.Items[0].ID != x.ID {
		t.Errorf("mine %+v", l)
	}
	if l := decode[list[rentals.WaitEntry]](t, fam("GET", "/api/v1/me/waitlist", nil)); len(l.Items) != 1 {
		t.Errorf("my waitlist %+v", l)
	}
	// The desk: tomorrow's pickups, the code.
	if rec := w.desk.call("GET", "/api/v1/staff/pickups?day="+slot.Format("2006-01-02"), nil); rec.Code != http.StatusOK || len(decode[list[rentals.Reservation]](t, rec).Items) != 1 {
		t.Errorf("pickups: %d %s", rec.Code, rec.Body)
	}
	if rec := w.desk.call("GET", "/api/v1/staff/reservation-codes/"+x.Code+"?station=north", nil); rec.Code != http.StatusOK {
		t.Errorf("by code: %d %s", rec.Code, rec.Body)
	}
	if rec := w.desk.call("GET", "/api/v1/staff/waitlist?station=north", nil); rec.Code != http.StatusOK || len(decode[list[rentals.WaitEntry]](t, rec).Items) != 1 {
		t.Errorf("station waitlist: %d %s", rec.Code, rec.Body)
	}
	// Operator B sees nothing of A's.
	secret, _, err := w.s.auth.CreateToken(ctx, "op-b", "b desk", []string{"desk"}, tenancy.System)
	if err != nil {
		t.Fatal(err)
	}
	deskB := desk{t: t, s: w.s, token: secret}
	for _, target := range []string{"/api/v1/staff/reservations/" + x.ID, "/api/v1/staff/reservation-codes/" + x.Code, "/api/v1/staff/pickups?station=north",
		"/api/v1/staff/waitlist?station=north"} {
		if rec := deskB.call("GET", target, nil); rec.Code != http.StatusNotFound {
			t.Errorf("operator B's desk: %s: %d %s", target, rec.Code, rec.Body)
		}
	}
	if rec := deskB.call("POST", "/api/v1/staff/reservations/"+x.ID+"/cancel", map[string]any{"reason": "家属来电"}); rec.Code != http.StatusNotFound {
		t.Errorf("operator B cancelled: %d %s", rec.Code, rec.Body)
	}
	if rec := w.call(t, w.adminB, "PUT", "/api/v1/operator/stations/north/slots", map[string]any{"capacity": 9}); rec.Code != http.StatusNotFound {
		t.Errorf("operator B set A's slots: %d %s", rec.Code, rec.Body)
	}
	if rec := w.call(t, w.adminA, "GET", "/api/v1/operator/stations/north/slots", nil); rec.Code != http.StatusOK {
		t.Errorf("settings: %d %s", rec.Code, rec.Body)
	}
	// Tomorrow at 09:10 the desk checks it out at the quoted price.
	w.clock = slot.Add(10 * 60e9)
	rec = w.desk.call("POST", "/api/v1/staff/reservations/"+x.ID+"/fulfil", map[string]any{
		"payments": []map[string]any{{"method": "cash", "amount_fen": x.Quote.DueNowFen}}, "terms_version": "2026-01", "accepted_name": "家属"})
	if rec.Code != http.StatusCreated {
		t.Fatalf("fulfil: %d %s", rec.Code, rec.Body)
	}
	res := decode[fulfilResult](t, rec)
	if res.Reservation.State != rentals.ResFulfilled || res.Lease.UnitTag != "JZ-WC-0001" || res.Lease.RenterID != r.ID {
		t.Errorf("fulfilled %+v", res)
	}
	if rec := fam("POST", "/api/v1/me/reservations/"+x.ID+"/cancel", nil); rec.Code != http.StatusConflict {
		t.Errorf("cancelling a fulfilled reservation: %d %s", rec.Code, rec.Body)
	}
}
