package rentals

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"fuju/internal/eventlog"
	"fuju/internal/tenancy"
	"fuju/internal/valid"
	"fuju/stations"
)

// idRegistered reports whether err is the refusal of a second record of a
// person, naming station as the one that holds the first.
func idRegistered(err error, station string) bool {
	r, ok := valid.ReasonOf(err)
	return errors.Is(err, ErrConflict) && ok && r.Code == "id_registered" && r.Params["station"] == station
}

// personHead returns the head of a person's claim log.
func (d *desk) personHead(idNumber string) eventlog.Entry[personEvent] {
	d.t.Helper()
	head, err := d.svc.people.Head(context.Background(), d.svc.personKey(idNumber), 0)
	if err != nil {
		d.t.Fatal(err)
	}
	return head
}

// The person key is a keyed hash of the ID number read by the one
// normaliser: the same number however it is typed, another key under
// another FUJU_ID_KEY, and a sub-key of its own (not the search keys').
func TestPersonKey(t *testing.T) {
	d := newDesk(t, nil)
	want := d.svc.personKey("11010519491231002X")
	for _, typed := range []string{"11010519491231002x", "110105 19491231 002X", "１１０１０５１９４９１２３１００２ｘ", "110105-19491231-002X"} {
		if got := d.svc.personKey(typed); got != want {
			t.Errorf("%q keys as %s, want %s", typed, got, want)
		}
	}
	if !strings.HasPrefix(want, personPrefix) || len(want) != len(personPrefix)+32 || strings.Contains(want, "19491231") {
		t.Errorf("person key %s", want)
	}
	if d.svc.personKey("110101195001010009") == want {
		t.Error("two ID numbers share a key")
	}
	other, err := NewService(d.db, d.st, d.cat, d.pol, []byte("fedcba9876543210fedcba9876543210"), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if other.personKey("11010519491231002X") == want {
		t.Error("the person key does not depend on the ID number key")
	}
	if string(d.svc.personSecret) == string(d.svc.searchSecret) || string(d.svc.personSecret) == string(testKey) {
		t.Error("the person key's secret is not a sub-key of its own")
	}
}

// Issue 9, hole 5: a person registered once cannot be registered again under
// another phone number, at any desk of any operator; the refusal names the
// station holding the record and nothing of the person.
func TestOnePersonOneRecord(t *testing.T) {
	ctx := context.Background()
	d := newDesk(t, nil)
	first, err := d.svc.RegisterRenter(ctx, d.staffA1, Renter{Name: "王秀英", Phone: "13900000001", IDNumber: "11010519491231002X",
		HomeStationID: d.a1.ID}, d.clerk)
	if err != nil {
		t.Fatal(err)
	}
	tries := []struct {
		scope tenancy.Scope
		st    stations.Station
		id    string
		phone string
	}{
		{d.staffB1, d.b1, "110105 19491231 002x", "13900000011"},
		{d.staffA2, d.a2, "１１０１０５１９４９１２３１００２Ｘ", "13900000012"},
		{d.staffA1, d.a1, "110105-19491231-002X", "13900000013"},
		{d.staffA1, d.a1, "11010519491231002X", "13900000001"}, // the same phone too: the ID number speaks first
	}
	for _, c := range tries {
		_, err := d.svc.RegisterRenter(ctx, c.scope, Renter{Name: "王秀英", Phone: c.phone, IDNumber: c.id, HomeStationID: c.st.ID}, d.clerk)
		if !idRegistered(err, d.a1.ID) {
			t.Fatalf("second registration at %s with %q: %v", c.st.ID, c.id, err)
		}
		for _, personal := range []string{"王秀英", "13900000001", "002X", "1949", first.ID} {
			if strings.Contains(err.Error(), personal) {
				t.Errorf("the refusal tells %q: %v", personal, err)
			}
		}
	}
	// A refused registration holds nothing: its phone number is free.
	if _, err := claimed(ctx, d.svc.renters.phones, "13900000011"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("a refused registration claimed its phone: %v", err)
	}
	// Another person under the first's phone is refused for the phone, and
	// lets go of their own ID number, which registers under another phone.
	_, err = d.svc.RegisterRenter(ctx, d.staffA1, Renter{Name: "李", Phone: "13900000001", IDNumber: validIDs[1], HomeStationID: d.a1.ID}, d.clerk)
	if r, ok := valid.ReasonOf(err); !ok || r.Code != "phone_registered" {
		t.Fatalf("phone taken: %v", err)
	}
	if head := d.personHead(validIDs[1]); head.Event.Kind != personReleased {
		t.Fatalf("the refused person's claim: %+v", head)
	}
	second, err := d.svc.RegisterRenter(ctx, d.staffB1, Renter{Name: "李", Phone: "13900000020", IDNumber: validIDs[1], HomeStationID: d.b1.ID}, d.clerk)
	if err != nil {
		t.Fatal(err)
	}
	if n := count(t, d.db.Collection("renters"), bson.D{}); n != 2 {
		t.Fatalf("%d renter records, want 2", n)
	}
	if head := d.personHead(validIDs[1]); head.Event.Kind != personClaimed || head.Event.RenterID != second.ID || head.Event.StationID != d.b1.ID {
		t.Fatalf("the second person's claim: %+v", head)
	}
	// The person's log holds a keyed hash, never the number.
	cur, err := d.db.Collection("person_events").Find(ctx, bson.D{})
	if err != nil {
		t.Fatal(err)
	}
	var docs []bson.Raw
	if err := cur.All(ctx, &docs); err != nil || len(docs) == 0 {
		t.Fatalf("person log: %d %v", len(docs), err)
	}
	for _, doc := range docs {
		if s := doc.String(); strings.Contains(s, "19491231") || strings.Contains(s, "19500101") {
			t.Fatalf("the person log holds an ID number: %s", s)
		}
	}
}

// 50 desks register the same ID number at once, each under its own phone
// number and at its own station: exactly one record; the other 49 are 409
// naming the winner's station, and hold no phone, no claim, no marker.
func TestRegisterSameIDConcurrently(t *testing.T) {
	ctx := context.Background()
	d := newDesk(t, nil)
	desks := []struct {
		scope tenancy.Scope
		st    stations.Station
	}{{d.staffA1, d.a1}, {d.staffA2, d.a2}, {d.staffB1, d.b1}}
	const n = 50
	var (
		wg       sync.WaitGroup
		startGun = make(chan struct{})
		got      = make([]Renter, n)
		errs     = make([]error, n)
	)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-startGun
			dk := desks[i%len(desks)]
			got[i], errs[i] = d.svc.RegisterRenter(ctx, dk.scope, Renter{Name: fmt.Sprintf("同%d", i), Phone: fmt.Sprintf("138%08d", 100+i),
				IDNumber: "410802194507150018", HomeStationID: dk.st.ID}, d.clerk)
		}()
	}
	close(startGun)
	wg.Wait()
	var winner Renter
	wins := 0
	for i, err := range errs {
		if err == nil {
			wins++
			winner = got[i]
		}
	}
	if wins != 1 {
		t.Fatalf("%d registrations won (errors %v)", wins, errs)
	}
	for i, err := range errs {
		if err != nil && !idRegistered(err, winner.HomeStationID) {
			t.Errorf("registration %d: %v, want 409 naming %s", i, err, winner.HomeStationID)
		}
	}
	if n := count(t, d.db.Collection("renters"), bson.D{}); n != 1 {
		t.Fatalf("%d renter records", n)
	}
	if n := count(t, d.db.Collection("renter_phones"), bson.D{}); n != 1 {
		t.Fatalf("%d phones claimed", n)
	}
	if n := count(t, d.db.Collection("person_events"), bson.D{}); n != 1 {
		t.Fatalf("%d person events, want the one claim", n)
	}
	if n := count(t, d.db.Collection("pending_transitions"), bson.D{{Key: "kind", Value: "renter"}}); n != 0 {
		t.Fatalf("%d registration markers left", n)
	}
	if head := d.personHead("410802194507150018"); head.Event.RenterID != winner.ID {
		t.Fatalf("the claim names %s, the record is %s", head.Event.RenterID, winner.ID)
	}
}

// A registration writer that stalls after its marker while the reconciler
// gives it up, then wakes and claims: its claims are let go, and the
// person registers at the next attempt.
func TestRegisterWriterStallsAroundReconciler(t *testing.T) {
	ctx := context.Background()
	d := newDesk(t, nil)
	reg := Renter{Name: "慢", Phone: "13611110001", IDNumber: validIDs[2], HomeStationID: d.a1.ID}
	d.svc.crash = func(p string) error {
		if p == "register:marked" {
			if _, err := d.svc.Reconcile(ctx, -time.Second); err != nil {
				t.Error(err)
			}
		}
		return nil
	}
	_, err := d.svc.RegisterRenter(ctx, d.staffA1, reg, d.clerk)
	d.svc.crash = nil
	if r, ok := valid.ReasonOf(err); !ok || r.Code != "abandoned" {
		t.Fatalf("the stalled writer says %v, want abandoned (try again)", err)
	}
	if head := d.personHead(validIDs[2]); head.Seq != 2 || head.Event.Kind != personReleased {
		t.Fatalf("the abandoned registration still holds the person: %+v", head)
	}
	if _, err := claimed(ctx, d.svc.renters.phones, reg.Phone); !errors.Is(err, ErrNotFound) {
		t.Fatalf("the abandoned registration still holds the phone: %v", err)
	}
	d.reconcile()
	if _, err := d.svc.RegisterRenter(ctx, d.staffA1, reg, d.clerk); err != nil {
		t.Fatalf("register again: %v", err)
	}
}

// While a registration is in flight (the person claimed, the record not yet
// written) another registration of the person is refused, naming the
// station the first is registering at; the first then completes.
func TestRegisterWhileOneIsInFlight(t *testing.T) {
	ctx := context.Background()
	d := newDesk(t, nil)
	d.svc.crash = func(p string) error {
		if p == "register:person" {
			_, err := d.svc.RegisterRenter(ctx, d.staffB1, Renter{Name: "快", Phone: "13611110002", IDNumber: validIDs[2], HomeStationID: d.b1.ID}, d.clerk)
			if !idRegistered(err, d.a1.ID) {
				t.Errorf("registration during one in flight: %v", err)
			}
		}
		return nil
	}
	r, err := d.svc.RegisterRenter(ctx, d.staffA1, Renter{Name: "慢", Phone: "13611110001", IDNumber: validIDs[2], HomeStationID: d.a1.ID}, d.clerk)
	d.svc.crash = nil
	if err != nil {
		t.Fatal(err)
	}
	if head := d.personHead(validIDs[2]); head.Seq != 1 || head.Event.RenterID != r.ID {
		t.Fatalf("person log head %+v", head)
	}
}

// A claim left behind by a registration the reconciler gave up (a writer
// stopped for good after claiming, before its marker was found) does not
// block the person: the next registration releases it and claims.
func TestAbandonedClaimIsTakenOver(t *testing.T) {
	ctx := context.Background()
	d := newDesk(t, nil)
	person := d.svc.personKey(validIDs[3])
	if _, err := d.svc.people.Append(ctx, person, 1, personEvent{Kind: personClaimed, RenterID: "r-ghost", StationID: d.b1.ID}); err != nil {
		t.Fatal(err)
	}
	_, err := d.svc.RegisterRenter(ctx, d.staffA1, Renter{Name: "新", Phone: "13611110003", IDNumber: validIDs[3], HomeStationID: d.a1.ID}, d.clerk)
	if !idRegistered(err, d.b1.ID) {
		t.Fatalf("while the other registration may still finish: %v", err)
	}
	if _, err := d.svc.renterLg.Append(ctx, "r-ghost", 1, renterEvent{Kind: "abandoned", Renter: renterDoc{ID: "r-ghost"}, By: tenancy.System}); err != nil {
		t.Fatal(err)
	}
	r, err := d.svc.RegisterRenter(ctx, d.staffA1, Renter{Name: "新", Phone: "13611110003", IDNumber: validIDs[3], HomeStationID: d.a1.ID}, d.clerk)
	if err != nil {
		t.Fatal(err)
	}
	if head := d.personHead(validIDs[3]); head.Seq != 3 || head.Event.RenterID != r.ID {
		t.Fatalf("person log head %+v", head)
	}
}
