package rentals

import (
	"context"
	"errors"
	"strconv"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"fuju/internal/db"
)

// Reservation storage, every write by _id:
//
//	reservation_events  the reservations' logs (the truth)
//	reservations        the projection of each reservation ever held
//	open_reservations   one small document per open reservation: the desk's
//	                    queue, slot counts and the expiry job scan it, and it
//	                    stays as small as the holds of the moment
//	reservation_codes   code → reservation id; a code's _id is the code
//	renter_reservation_events  each renter's reservations (the family's list
//	                    reads them by _id)
//	slot_places         one document per place taken in a pickup slot, _id
//	                    "<station>/<slot>/<k>" for k below the slot's
//	                    capacity: the unique _id keeps reservations made at
//	                    once from booking a slot over its capacity
type resStore struct {
	res   *mongo.Collection
	open  *mongo.Collection
	codes *mongo.Collection
	wait  *mongo.Collection
	// places are the slots' places (placeDoc).
	places *mongo.Collection
	// resEvents and waitEvents are the logs' collections, scanned for the
	// demand figures only.
	resEvents  *mongo.Collection
	waitEvents *mongo.Collection
}

func newResStore(d *mongo.Database) *resStore {
	return &resStore{res: d.Collection("reservations"), open: d.Collection("open_reservations"),
		codes: d.Collection("reservation_codes"), wait: d.Collection("waitlist"), places: d.Collection("slot_places"),
		resEvents: d.Collection("reservation_events"), waitEvents: d.Collection("waitlist_events")}
}

func (s *resStore) collections() []*mongo.Collection {
	return []*mongo.Collection{s.res, s.open, s.codes, s.wait, s.places}
}

// placeDoc is a place taken in a pickup slot.
type placeDoc struct {
	ID            string    `bson:"_id"`
	ReservationID string    `bson:"reservation_id"`
	At            time.Time `bson:"at"`
	// Slot is the pickup slot's start: places of slots long past are swept.
	Slot time.Time `bson:"slot,omitempty"`
}

// placeID is the id of place k of station's pickup slot at start.
func placeID(station string, start time.Time, k int) string {
	return station + "/" + start.UTC().Format(time.RFC3339) + "/" + strconv.Itoa(k)
}

// takePlace inserts place id for reservation resID. It reports false, with
// the place's holder, when the place is taken (by resID itself too: a
// retry finds its own place and takes it).
func (s *resStore) takePlace(ctx context.Context, id, resID string, slot, at time.Time) (placeDoc, bool, error) {
	err := db.Retry(ctx, 8, func() error {
		_, err := s.places.InsertOne(ctx, placeDoc{ID: id, ReservationID: resID, At: at, Slot: slot.UTC()})
		return err
	})
	if err == nil {
		return placeDoc{}, true, nil
	}
	if !mongo.IsDuplicateKeyError(err) {
		return placeDoc{}, false, translate(err, "slot place "+id)
	}
	var holder placeDoc
	err = s.places.FindOne(ctx, byID(id)).Decode(&holder)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return placeDoc{ID: id, At: at}, false, nil // freed just now: look again
	}
	if err != nil {
		return placeDoc{}, false, translate(err, "slot place "+id)
	}
	return holder, holder.ReservationID == resID, nil
}

// freePlace frees place id if reservation resID still holds it.
func (s *resStore) freePlace(ctx context.Context, id, resID string) error {
	err := db.Retry(ctx, 8, func() error {
		_, err := s.places.DeleteOne(ctx, bson.D{{Key: "_id", Value: id}, {Key: "reservation_id", Value: resID}})
		return err
	})
	return translate(err, "free slot place "+id)
}

// sweepPlaces deletes the places of slots that started before before: no
// reservation can take them any more, and a place left by a crash in a
// slot nobody booked again would otherwise stay for good.
func (s *resStore) sweepPlaces(ctx context.Context, before time.Time) (int64, error) {
	var n int64
	err := db.Retry(ctx, 8, func() error {
		res, err := s.places.DeleteMany(ctx, bson.D{{Key: "slot", Value: bson.D{{Key: "$lt", Value: before.UTC()}}}})
		if err == nil {
			n = res.DeletedCount
		}
		return err
	})
	return n, translate(err, "sweep slot places")
}

type resDoc struct {
	ID  string      `bson:"_id"`
	Seq int64       `bson:"seq"`
	Res Reservation `bson:"res"`
}

// openResDoc is what the lists and jobs need of an open reservation.
type openResDoc struct {
	ID         string    `bson:"_id"`
	Seq        int64     `bson:"seq"`
	StationID  string    `bson:"station_id"`
	OperatorID string    `bson:"operator_id"`
	ProductID  string    `bson:"product_id"`
	Mode       Mode      `bson:"mode"`
	Start      time.Time `bson:"start"`
	HoldUntil  time.Time `bson:"hold_until"`
}

type codeDoc struct {
	ID            string `bson:"_id"`
	ReservationID string `bson:"reservation_id"`
}

func upsert(ctx context.Context, c *mongo.Collection, id string, doc any) error {
	err := db.Retry(ctx, 8, func() error {
		_, err := c.ReplaceOne(ctx, byID(id), doc, options.Replace().SetUpsert(true))
		return err
	})
	if mongo.IsDuplicateKeyError(err) {
		return nil // two upserts of a new document raced; both wrote the same
	}
	return translate(err, c.Name()+" "+id)
}

func (s *resStore) reservation(ctx context.Context, id string) (Reservation, bool, error) {
	var d resDoc
	err := s.res.FindOne(ctx, byID(id)).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return Reservation{}, false, nil
	}
	if err != nil {
		return Reservation{}, false, translate(err, "reservation "+id)
	}
	d.Res.Seq = d.Seq
	return d.Res, true, nil
}

func (s *resStore) putReservation(ctx context.Context, x Reservation) error {
	return upsert(ctx, s.res, x.ID, resDoc{ID: x.ID, Seq: x.Seq, Res: x})
}

func (s *resStore) putOpen(ctx context.Context, x Reservation) error {
	return upsert(ctx, s.open, x.ID, openResDoc{ID: x.ID, Seq: x.Seq, StationID: x.StationID, OperatorID: x.OperatorID,
		ProductID: x.ProductID, Mode: x.Mode, Start: x.Start, HoldUntil: x.HoldUntil})
}

func (s *resStore) dropOpen(ctx context.Context, id string) error {
	err := db.Retry(ctx, 8, func() error {
		_, err := s.open.DeleteOne(ctx, byID(id))
		return err
	})
	return translate(err, "unlist reservation "+id)
}

// putCode records a reservation's code. A code is drawn at random; the
// insert's unique _id is what keeps two reservations from sharing one (the
// second gets ErrConflict and the caller draws again).
func (s *resStore) putCode(ctx context.Context, code, id string) error {
	if code == "" {
		return nil
	}
	err := db.Retry(ctx, 8, func() error {
		_, err := s.codes.InsertOne(ctx, codeDoc{ID: code, ReservationID: id})
		return err
	})
	if mongo.IsDuplicateKeyError(err) {
		got, err := s.byCode(ctx, code)
		if err == nil && got == id {
			return nil
		}
		return translate(mongo.WriteException{WriteErrors: []mongo.WriteError{{Code: 11000}}}, "reservation code")
	}
	return translate(err, "reservation code")
}

func (s *resStore) byCode(ctx context.Context, code string) (string, error) {
	var d codeDoc
	if err := s.codes.FindOne(ctx, byID(code)).Decode(&d); err != nil {
		return "", translate(err, "reservation code")
	}
	return d.ReservationID, nil
}

func (s *resStore) listOpen(ctx context.Context, filter bson.D) ([]openResDoc, error) {
	cur, err := s.open.Find(ctx, filter)
	if err != nil {
		return nil, translate(err, "list open reservations")
	}
	var out []openResDoc
	if err := cur.All(ctx, &out); err != nil {
		return nil, translate(err, "list open reservations")
	}
	return out, nil
}

func (s *resStore) openAt(ctx context.Context, stationID string) ([]openResDoc, error) {
	return s.listOpen(ctx, bson.D{{Key: "station_id", Value: stationID}})
}

func (s *resStore) allOpen(ctx context.Context) ([]openResDoc, error) {
	return s.listOpen(ctx, bson.D{})
}

type waitDoc struct {
	ID        string    `bson:"_id"`
	Seq       int64     `bson:"seq"`
	ProductID string    `bson:"product_id"`
	RenterID  string    `bson:"renter_id"`
	State     WaitState `bson:"state"`
	Entry     WaitEntry `bson:"entry"`
}

func (s *resStore) putEntry(ctx context.Context, w WaitEntry) error {
	return upsert(ctx, s.wait, w.ID, waitDoc{ID: w.ID, Seq: w.Seq, ProductID: w.ProductID, RenterID: w.RenterID, State: w.State, Entry: w})
}

func (s *resStore) entry(ctx context.Context, id string) (WaitEntry, bool, error) {
	var d waitDoc
	err := s.wait.FindOne(ctx, byID(id)).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return WaitEntry{}, false, nil
	}
	if err != nil {
		return WaitEntry{}, false, translate(err, "waitlist entry "+id)
	}
	d.Entry.Seq = d.Seq
	return d.Entry, true, nil
}

// entries scans the waitlist (small: people waiting now and recent ends)
// with filter, whose values are fixed field names and strings the service
// chose, never request input as a document.
func (s *resStore) entries(ctx context.Context, filter bson.D) ([]WaitEntry, error) {
	cur, err := s.wait.Find(ctx, filter)
	if err != nil {
		return nil, translate(err, "list waitlist")
	}
	var docs []waitDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, translate(err, "list waitlist")
	}
	out := make([]WaitEntry, len(docs))
	for i, d := range docs {
		d.Entry.Seq = d.Seq
		out[i] = d.Entry
	}
	return out, nil
}

// entriesOfRenter lists a renter's waitlist entries, in any state.
func (s *resStore) entriesOfRenter(ctx context.Context, renterID string) ([]WaitEntry, error) {
	return s.entries(ctx, bson.D{{Key: "renter_id", Value: renterID}})
}

// waitingFor lists the waiting entries of a product ("": of every product).
func (s *resStore) waitingFor(ctx context.Context, productID string) ([]WaitEntry, error) {
	f := bson.D{{Key: "state", Value: string(WaitWaiting)}}
	if productID != "" {
		f = bson.D{{Key: "product_id", Value: productID}, {Key: "state", Value: string(WaitWaiting)}}
	}
	return s.entries(ctx, f)
}

// allEntries lists every waitlist entry.
func (s *resStore) allEntries(ctx context.Context) ([]WaitEntry, error) {
	return s.entries(ctx, bson.D{})
}

// resRecord and waitRecord are the reservation and waitlist logs' events
// as stored (eventlog's record).
type resRecord struct {
	Entity string    `bson:"entity"`
	Seq    int64     `bson:"seq"`
	At     time.Time `bson:"at"`
	Event  resEvent  `bson:"e"`
}

type waitRecord struct {
	Entity string    `bson:"entity"`
	Seq    int64     `bson:"seq"`
	At     time.Time `bson:"at"`
	Event  waitEvent `bson:"e"`
}

// reservationSteps scans the reservations' logs, by entity and sequence.
func (s *resStore) reservationSteps(ctx context.Context) ([]resRecord, error) {
	var out []resRecord
	return out, s.scanLog(ctx, s.resEvents, &out)
}

// waitSteps scans the waitlist places' logs, by entity and sequence.
func (s *resStore) waitSteps(ctx context.Context) ([]waitRecord, error) {
	var out []waitRecord
	return out, s.scanLog(ctx, s.waitEvents, &out)
}

// scanLog reads a whole log collection: a step's time is the service's
// clock in the event (UpdatedAt), which the demo and tests set back, not
// the record's, so the caller filters.
func (s *resStore) scanLog(ctx context.Context, c *mongo.Collection, out any) error {
	cur, err := c.Find(ctx, bson.D{}, options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}))
	if err != nil {
		return translate(err, "scan "+c.Name())
	}
	if err := cur.All(ctx, out); err != nil {
		return translate(err, "scan "+c.Name())
	}
	return nil
}
