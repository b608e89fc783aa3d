package rentals

import (
	"context"
	"errors"
	"testing"

	"fuju/internal/valid"
	"fuju/messages"
	"fuju/stations"
)

// A family reserves a wheelchair for tomorrow 09:00; the desk finds it by
// its code, sees it in tomorrow's queue and checks it out at the quoted
// price; the unit is rented to the lease and the reservation is fulfilled.
func TestReserveAndFulfil(t *testing.T) {
	ctx := context.Background()
	b := newBooking(t)
	b.verify(b.father, LowIncome)
	tag := b.unit(b.a1, b.wcA)
	x := b.mustPickup("u-fang", b.father, b.slot(1, 9, 0))
	if x.State != ResHeld || x.UnitTag != tag || len(x.Code) != 8 || x.Quote.Tier != LowIncome || x.Quote.DepositFen != 0 {
		t.Fatalf("reservation %+v", x)
	}
	if want := b.slot(1, 11, 0); !x.HoldUntil.Equal(want.Add(30 * 60e9)) {
		// 09:00–09:30 + the default 2 h grace
		t.Errorf("hold until %v, want 11:30", x.HoldUntil)
	}
	if u := b.unitNow(tag); u.State != stations.Reserved || u.LeaseID != x.ID {
		t.Errorf("unit %+v", u)
	}
	if k := b.box.kinds(); k[messages.ReservationConfirmed] != 1 || k[messages.PickupReminder] != 0 {
		// Today 10:00 is past the reminder's time (the day before, 10:00).
		t.Errorf("messages %v", k)
	}
	mine, err := b.res.MyReservations(ctx, "u-fang")
	if err != nil || len(mine) != 1 || mine[0].ID != x.ID {
		t.Fatalf("mine %v %v", mine, err)
	}
	if _, err := b.res.MyReservation(ctx, "u-other", x.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("another account sees it: %v", err)
	}
	got, err := b.res.ReservationByCode(ctx, b.staffA1, b.a1.ID, x.Code)
	if err != nil || got.ID != x.ID {
		t.Fatalf("by code %v %v", got.ID, err)
	}
	if _, err := b.res.ReservationByCode(ctx, b.staffB1, b.b1.ID, x.Code); !errors.Is(err, ErrNotFound) {
		t.Errorf("operator B found A's reservation: %v", err)
	}
	if q, err := b.res.Pickups(ctx, b.staffA1, b.a1.ID, b.slot(1, 0, 0)); err != nil || len(q) != 1 {
		t.Errorf("tomorrow's pickups %v %v", q, err)
	}
	if q, _ := b.res.Pickups(ctx, b.staffA1, b.a1.ID, b.slot(0, 0, 0)); len(q) != 0 {
		t.Errorf("today's pickups %v", q)
	}
	b.clk.set(b.slot(1, 9, 10))
	done, l, err := b.res.Fulfil(ctx, b.staffA1, x.ID, fulfilReq(x), staffActor)
	if err != nil {
		t.Fatal(err)
	}
	if done.State != ResFulfilled || done.LeaseID != l.ID || l.State != LeaseActive || l.RenterID != b.father.ID || l.Tier != LowIncome || l.UnitTag != tag {
		t.Fatalf("fulfilled %+v lease %+v", done, l)
	}
	if u := b.unitNow(tag); u.State != stations.Rented || u.LeaseID != l.ID {
		t.Errorf("unit after fulfil %+v", u)
	}
	if _, _, err := b.res.Fulfil(ctx, b.staffA1, x.ID, fulfilReq(x), staffActor); !errors.Is(err, ErrConflict) {
		t.Errorf("fulfilled twice: %v", err)
	}
	if r, ok := valid.ReasonOf(func() error { _, err := b.pickup("u-fang", b.father, b.wcA, b.a1, b.slot(1, 10, 0)); return err }()); !ok || r.Code != "no_unit_waitlist" {
		t.Errorf("no unit left: %+v", r)
	}
}
