package rentals

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"

	"fuju/messages"
	"fuju/stations"
)

// A crash between any two writes of reserve, fulfil, cancel, expire and a
// waitlist offer leaves a state the reconciler brings to agreement: unit,
// reservation and waitlist place say the same, nothing stays pending, and
// each message exists once (its id is derived from the event).
func TestReservationCrashPoints(t *testing.T) {
	ctx := context.Background()
	reconcile := func(b *booking) {
		b.t.Helper()
		b.svc.crash = nil
		if _, err := b.st.Reconcile(ctx, 0); err != nil {
			b.t.Fatal(err)
		}
		if _, err := b.res.Reconcile(ctx, 0); err != nil {
			b.t.Fatal(err)
		}
	}
	for _, point := range []string{"reserve:opened", "reserve:unit", "reserve:place", "reserve:held", "reserve:projected"} {
		t.Run(point, func(t *testing.T) {
			b := newBooking(t)
			tag := b.unit(b.a1, b.wcA)
			b.crashAt(point)
			_, err := b.pickup("u-fang", b.father, b.wcA, b.a1, b.slot(1, 9, 0))
			if !errors.Is(err, errCrash) {
				t.Fatalf("no crash: %v", err)
			}
			reconcile(b)
			u := b.unitNow(tag)
			mine, _ := b.res.MyReservations(ctx, "u-fang")
			if point == "reserve:opened" {
				// The unit never moved: the reservation was abandoned and
				// the family may simply try again.
				if u.State != stations.Available || len(mine) != 0 {
					t.Fatalf("unit %s, reservations %+v", u.State, mine)
				}
				x := b.mustPickup("u-fang", b.father, b.slot(1, 9, 0))
				b.agree(x.ID)
				return
			}
			if len(mine) != 1 || mine[0].State != ResHeld || mine[0].UnitTag != tag {
				t.Fatalf("reservations after reconciling %+v", mine)
			}
			b.agree(mine[0].ID)
			// The slot has one place taken, whichever step the stop cut.
			if n := count(t, b.db.Collection("slot_places"), bson.D{}); n != 1 {
				t.Errorf("%d places taken in the slot", n)
			}
			if k := b.messagesOf(mine[0].ID); k[messages.ReservationConfirmed] != 1 {
				t.Errorf("messages %v", k)
			}
			// A second pass changes nothing.
			if n, err := b.res.Reconcile(ctx, 0); err != nil || n != 0 {
				t.Errorf("second pass fixed %d %v", n, err)
			}
		})
	}
	for _, point := range []string{"fulfil:fulfilling", "fulfil:lease"} {
		t.Run(point, func(t *testing.T) {
			b := newBooking(t)
			tag := b.unit(b.a1, b.wcA)
			x := b.mustPickup("u-fang", b.father, b.slot(1, 9, 0))
			b.crashAt(point)
			if _, _, err := b.res.Fulfil(ctx, b.staffA1, x.ID, fulfilReq(x), staffActor); !errors.Is(err, errCrash) {
				t.Fatalf("no crash: %v", err)
			}
			reconcile(b)
			got := b.agree(x.ID)
			switch point {
			case "fulfil:fulfilling": // no lease yet: the hold stands, fulfil again
				if got.State != ResHeld {
					t.Fatalf("after reconciling %s", got.State)
				}
				if _, _, err := b.res.Fulfil(ctx, b.staffA1, x.ID, fulfilReq(x), staffActor); err != nil {
					t.Fatal(err)
				}
				got = b.agree(x.ID)
			}
			if got.State != ResFulfilled || b.unitNow(tag).State != stations.Rented {
				t.Errorf("after fulfil %s, unit %s", got.State, b.unitNow(tag).State)
			}
		})
	}
	for _, tc := range []struct{ point, flow string }{
		{"reservation.cancel:event", "cancel"}, {"close:unit", "cancel"},
		{"reservation.expire:event", "expire"}, {"close:unit", "expire"},
	} {
		t.Run(tc.flow+"/"+tc.point, func(t *testing.T) {
			b := newBooking(t)
			tag := b.unit(b.a1, b.wcA)
			x := b.mustPickup("u-fang", b.father, b.slot(1, 9, 0))
			// Someone waits: the freed unit must reach them exactly once.
			waiter := b.family("u-wait", "候补")
			w, err := b.res.JoinWaitlist(ctx, "u-wait", JoinRequest{RenterID: waiter.ID, ProductID: b.wcA, StationID: b.a1.ID})
			if err != nil {
				t.Fatal(err)
			}
			b.crashAt(tc.point)
			if tc.flow == "cancel" {
				_, err = b.res.CancelMine(ctx, "u-fang", x.ID)
			} else {
				b.clk.set(x.HoldUntil)
				_, err = b.res.ExpireHolds(ctx)
			}
			if !errors.Is(err, errCrash) {
				t.Fatalf("no crash: %v", err)
			}
			reconcile(b)
			got := b.agree(x.ID)
			if got.State != map[string]ReservationState{"cancel": ResCancelled, "expire": ResExpired}[tc.flow] {
				t.Errorf("after reconciling %s", got.State)
			}
			w, _ = b.res.entry(ctx, w.ID)
			if w.State != WaitOffered {
				t.Fatalf("the waiting family has no offer: %s", w.State)
			}
			offer := b.agree(w.ReservationID)
			if offer.UnitTag != tag {
				t.Errorf("offer of %s", offer.UnitTag)
			}
			if n, err := b.res.OfferFreed(ctx); err != nil || n != 0 {
				t.Errorf("offered again: %d %v", n, err)
			}
		})
	}
	for _, point := range []string{"offer:claimed", "reserve:opened", "reserve:unit", "reserve:held"} {
		t.Run("offer/"+point, func(t *testing.T) {
			b := newBooking(t)
			tag := b.unit(b.a1, b.wcA)
			if _, err := b.st.Move(ctx, tag, stations.Move{To: stations.Cleaning, By: staffActor}); err != nil {
				t.Fatal(err)
			}
			w, err := b.res.JoinWaitlist(ctx, "u-fang", JoinRequest{RenterID: b.father.ID, ProductID: b.wcA, StationID: b.a1.ID})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := b.st.Move(ctx, tag, stations.Move{To: stations.Available, By: staffActor}); err != nil {
				t.Fatal(err)
			}
			b.crashAt(point)
			if _, err := b.res.OfferFreed(ctx); !errors.Is(err, errCrash) {
				t.Fatalf("no crash: %v", err)
			}
			reconcile(b)
			// Whatever was left, the next pass of the job finishes it.
			if _, err := b.res.OfferFreed(ctx); err != nil {
				t.Fatal(err)
			}
			w, _ = b.res.entry(ctx, w.ID)
			if w.State != WaitOffered {
				t.Fatalf("place after reconciling %s", w.State)
			}
			x := b.agree(w.ReservationID)
			if x.UnitTag != tag || x.State != ResHeld {
				t.Errorf("offer %+v", x)
			}
			offers := 0
			for id, m := range b.box.sent {
				if m.Kind == messages.WaitlistOffer {
					offers++
					if id != fmt.Sprintf("reservation/%s/offer/renter-%s", x.ID, b.father.ID) {
						t.Errorf("offer message %s", id)
					}
				}
			}
			if offers != 1 {
				t.Errorf("%d offer messages", offers)
			}
		})
	}
}
