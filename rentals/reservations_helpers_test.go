package rentals

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"fuju/internal/l10n"
	"fuju/internal/tenancy"
	"fuju/messages"
	"fuju/stations"
)

// outbox records what the reservations enqueue, by message id, as the real
// outbox would store it: once per id.
type outbox struct {
	mu   chan struct{}
	sent map[string]messages.NewMessage
	n    int
}

func newOutbox() *outbox {
	return &outbox{mu: make(chan struct{}, 1), sent: map[string]messages.NewMessage{}}
}

func (o *outbox) Enqueue(_ context.Context, m messages.NewMessage) (messages.Message, error) {
	o.mu <- struct{}{}
	defer func() { <-o.mu }()
	o.n++
	o.sent[messages.ID(m.Event, m.To.Key)] = m
	return messages.Message{}, nil
}

func (o *outbox) kinds() map[messages.Kind]int {
	o.mu <- struct{}{}
	defer func() { <-o.mu }()
	out := map[messages.Kind]int{}
	for _, m := range o.sent {
		out[m.Kind]++
	}
	return out
}

// booking is the desk city with the reservation service and a family:
// account u-fang looks after renter father (home a1).
type booking struct {
	*desk
	res    *Reservations
	box    *outbox
	father Renter
}

func newBooking(t *testing.T) *booking {
	t.Helper()
	d := newDesk(t, nil)
	box := newOutbox()
	r := NewReservations(d.db, d.svc, d.st, box)
	if err := r.Init(context.Background()); err != nil {
		t.Fatal(err)
	}
	b := &booking{desk: d, res: r, box: box}
	b.father = b.family("u-fang", "王建国")
	return b
}

// family registers a renter at a1 with a mobile number and links it to
// account user.
func (b *booking) family(user, name string) Renter {
	b.t.Helper()
	r := b.renter(b.staffA1, b.a1, name)
	if _, err := b.svc.LinkUser(context.Background(), r.ID, user, b.clerk); err != nil {
		b.t.Fatal(err)
	}
	return r
}

// slot returns the pickup slot at hh:mm on the city day days after the
// clock's day.
func (b *booking) slot(days, hh, mm int) time.Time {
	t := b.clk.now().In(l10n.Local).AddDate(0, 0, days)
	return time.Date(t.Year(), t.Month(), t.Day(), hh, mm, 0, 0, l10n.Local)
}

func (b *booking) pickup(user string, r Renter, product string, st stations.Station, slot time.Time) (Reservation, error) {
	return b.res.Reserve(context.Background(), user, ReserveRequest{RenterID: r.ID, ProductID: product, StationID: st.ID, Mode: Pickup, Slot: slot})
}

func (b *booking) mustPickup(user string, r Renter, slot time.Time) Reservation {
	b.t.Helper()
	x, err := b.pickup(user, r, b.wcA, b.a1, slot)
	if err != nil {
		b.t.Fatal(err)
	}
	return x
}

// fulfilReq is a desk check-out of a reservation paying what it quoted.
func fulfilReq(x Reservation) FulfilRequest {
	return FulfilRequest{Payments: cash(x.Quote.DueNowFen), TermsVersion: "2026-01", AcceptedName: "王芳"}
}

var staffActor = tenancy.Actor{ID: "u-li", Name: "Li", Role: "staff"}

// crashAt makes the next flow stop at point, as a crash would, once.
func (b *booking) crashAt(point string) {
	var once sync.Once
	b.svc.crash = func(p string) error {
		hit := false
		if p == point {
			once.Do(func() { hit = true })
		}
		if hit {
			return errCrash
		}
		return nil
	}
}

// agree checks that a reservation's unit, projections and waitlist entry
// agree with its log, and that nothing is left pending.
func (b *booking) agree(id string) Reservation {
	b.t.Helper()
	ctx := context.Background()
	x, err := b.res.current(ctx, id)
	if err != nil {
		b.t.Fatalf("reservation %s: %v", id, err)
	}
	u := b.unitNow(x.UnitTag)
	switch x.State {
	case ResHeld:
		if u.State != stations.Reserved || u.LeaseID != id {
			b.t.Errorf("held %s: unit %s is %s for %q", id, u.Tag, u.State, u.LeaseID)
		}
	case ResFulfilled:
		if u.State != stations.Rented || u.LeaseID != x.LeaseID || x.LeaseID == "" {
			b.t.Errorf("fulfilled %s: unit %s is %s for %q, lease %q", id, u.Tag, u.State, u.LeaseID, x.LeaseID)
		}
	case ResCancelled, ResExpired:
		if x.UnitTag != "" && u.State == stations.Reserved && u.LeaseID == id {
			b.t.Errorf("%s %s still holds unit %s", x.State, id, u.Tag)
		}
	default:
		b.t.Errorf("reservation %s is %s after reconciling", id, x.State)
	}
	p, ok, err := b.res.store.reservation(ctx, id)
	if err != nil || !ok || p.Seq != x.Seq || p.State != x.State {
		b.t.Errorf("projection of %s: %+v %v %v, log at %d %s", id, p.State, ok, err, x.Seq, x.State)
	}
	open, _ := b.res.store.allOpen(ctx)
	listed := false
	for _, o := range open {
		listed = listed || o.ID == id
	}
	if listed != x.State.Open() {
		b.t.Errorf("%s %s listed open: %v", x.State, id, listed)
	}
	if x.Offer && x.WaitlistEntryID != "" {
		w, err := b.res.entry(ctx, x.WaitlistEntryID)
		if err != nil {
			b.t.Fatal(err)
		}
		if x.State.Open() != w.State.Active() {
			b.t.Errorf("offer %s is %s, its waitlist place %s", id, x.State, w.State)
		}
	}
	if n := count(b.t, b.db.Collection("pending_transitions"), bson.D{{Key: "kind", Value: "reservation"}}); n != 0 {
		b.t.Errorf("%d reservation transitions left pending", n)
	}
	return x
}

// messagesOf returns the kinds of the messages about reservation id.
func (b *booking) messagesOf(id string) map[messages.Kind]int {
	b.box.mu <- struct{}{}
	defer func() { <-b.box.mu }()
	out := map[messages.Kind]int{}
	for k, m := range b.box.sent {
		if strings.HasPrefix(k, "reservation/"+id+"/") {
			out[m.Kind]++
		}
	}
	return out
}
