package web

import (
	"context"
	"net/http"
	"testing"
	"time"

	"fuju/catalog"
	"fuju/internal/l10n"
	"fuju/internal/tenancy"
	"fuju/rentals"
	"fuju/stations"
)

// The audit walk's reservation steps (audit_walk_test.go) set up with
// these; what they write is not counted.

// walkReservationCity adds product rs-bed with unit JZ-RB-0001 at north
// and links renter r to w.renter's account.
func walkReservationCity(t *testing.T, w *rulesWorld, r rentals.Renter) rentals.Renter {
	t.Helper()
	ctx := context.Background()
	if _, err := w.s.catalog.Create(ctx, tenancy.PlatformScope, catalog.Product{ID: "rs-bed", OperatorID: "op-a", Category: "hospital_bed",
		Name: l10n.Text{Zh: "护理床", En: "Care bed"}, Rate: catalog.RatePlan{DailyFen: 800, Block30Fen: 15000, DepositFen: 50000}}, tenancy.System); err != nil {
		t.Fatal(err)
	}
	walkUnit(t, w, "JZ-RB-0001", stations.Available)
	if _, err := w.s.rentals.LinkUser(ctx, r.ID, walkUserID(t, w), tenancy.System); err != nil {
		t.Fatal(err)
	}
	return r
}

func walkUserID(t *testing.T, w *rulesWorld) string {
	t.Helper()
	rec := w.call(t, w.renter, "GET", "/api/v1/me", nil)
	if rec.Code != http.StatusOK {
		t.Fatalf("me: %d %s", rec.Code, rec.Body)
	}
	return decode[meResponse](t, rec).User.ID
}

// walkUnit adds a unit of rs-bed at north, or moves it to state.
func walkUnit(t *testing.T, w *rulesWorld, tag string, state stations.State) {
	t.Helper()
	ctx := context.Background()
	if _, err := w.s.stations.Unit(ctx, tag); err != nil {
		if _, err := w.s.stations.CreateUnit(ctx, stations.Unit{Tag: tag, ProductID: "rs-bed", StationID: "north", State: state}, tenancy.System); err != nil {
			t.Fatal(err)
		}
		return
	}
	if _, err := w.s.stations.Move(ctx, tag, stations.Move{To: state, By: tenancy.System}); err != nil {
		t.Fatal(err)
	}
}

// walkSlot is tomorrow 09:00 on the world's clock.
func walkSlot(w *rulesWorld) time.Time {
	d := w.clock.In(l10n.Local).AddDate(0, 0, 1)
	return time.Date(d.Year(), d.Month(), d.Day(), 9, 0, 0, 0, l10n.Local)
}

// walkReserve holds a unit of rs-bed for r, tomorrow 10:00.
func walkReserve(t *testing.T, w *rulesWorld, r rentals.Renter) rentals.Reservation {
	t.Helper()
	x, err := w.s.reserve.Reserve(context.Background(), walkUserID(t, w), rentals.ReserveRequest{RenterID: r.ID, ProductID: "rs-bed",
		StationID: "north", Mode: rentals.Pickup, Slot: walkSlot(w).Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	return x
}

// walkOffer puts r on the waitlist for rs-bed at north while no unit is
// free, frees one, and returns the place holding its offer.
func walkOffer(t *testing.T, w *rulesWorld, r rentals.Renter) rentals.WaitEntry {
	t.Helper()
	ctx := context.Background()
	walkUnit(t, w, "JZ-RB-0001", stations.Cleaning)
	user := walkUserID(t, w)
	e, err := w.s.reserve.JoinWaitlist(ctx, user, rentals.JoinRequest{RenterID: r.ID, ProductID: "rs-bed", StationID: "north"})
	if err != nil || e.State != rentals.WaitWaiting {
		t.Fatalf("join %+v %v", e, err)
	}
	walkUnit(t, w, "JZ-RB-0001", stations.Available)
	if n, err := w.s.reserve.OfferFreed(ctx); err != nil || n != 1 {
		t.Fatalf("offers %d %v", n, err)
	}
	return e
}
