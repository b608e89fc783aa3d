package rentals

import (
	"context"
	"errors"
	"fmt"
	"fuju/internal/tenancy"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
)

// renterDoc is a renter as stored: the renters projection and the state each
// renter event carries. The ID number is only ever stored sealed.
type renterDoc struct {
	ID               string     `bson:"_id"`
	Name             string     `bson:"name"`
	Phone            string     `bson:"phone"`
	IDSealed         string     `bson:"id_sealed"`
	IDMasked         string     `bson:"id_masked"`
	IDTail           string     `bson:"id_tail"`
	Address          string     `bson:"address,omitempty"`
	Age              int        `bson:"age,omitempty"`
	MobilityNeeds    string     `bson:"mobility_needs,omitempty"`
	EmergencyContact Contact    `bson:"emergency_contact"`
	UserID           string     `bson:"user_id,omitempty"`
	HomeStationID    string     `bson:"home_station_id"`
	HomeOperatorID   string     `bson:"home_operator_id"`
	Tier             TierStatus `bson:"tier"`
	// Person is the person key of the ID number (person.go); empty in
	// records from before person keys, whose key is derived when needed.
	Person    string        `bson:"person,omitempty"`
	CreatedAt time.Time     `bson:"created_at"`
	CreatedBy tenancy.Actor `bson:"created_by"`
	Seq       int64         `bson:"seq"`
}

// toRenter converts for the full view; the caller narrows it for others.
func (d renterDoc) toRenter() Renter {
	return Renter{
		ID: d.ID, Name: d.Name, Phone: d.Phone, IDMasked: d.IDMasked, Address: d.Address, Age: d.Age,
		MobilityNeeds: d.MobilityNeeds, EmergencyContact: d.EmergencyContact, UserID: d.UserID,
		HomeStationID: d.HomeStationID, HomeOperatorID: d.HomeOperatorID, TierStatus: d.Tier,
		CreatedAt: d.CreatedAt, CreatedBy: d.CreatedBy, Seq: d.Seq, View: ViewFull,
	}
}

// renterEvent is one entry of a renter's log: what happened and the renter
// as it is after.
type renterEvent struct {
	Kind   string        `bson:"kind"` // registered, tier_verified, tier_revoked, user_linked, abandoned
	Renter renterDoc     `bson:"renter"`
	By     tenancy.Actor `bson:"by"`
	Why    string        `bson:"why,omitempty"`
}

// claimDoc reserves a natural key (a phone, a user id) for one renter.
type claimDoc struct {
	ID       string    `bson:"_id"`
	RenterID string    `bson:"renter_id"`
	At       time.Time `bson:"at"`
}

// linkDoc records that an operator's desk met a renter registered elsewhere.
type linkDoc struct {
	ID         string        `bson:"_id"` // operator/renter
	OperatorID string        `bson:"operator_id"`
	RenterID   string        `bson:"renter_id"`
	At         time.Time     `bson:"at"`
	By         tenancy.Actor `bson:"by"`
}

type renterStore struct {
	renters *mongo.Collection
	phones  *mongo.Collection
	users   *mongo.Collection
	links   *mongo.Collection
	// keys are the renters' search keys (see renter_search.go).
	keys *mongo.Collection
	// subsidy is the subsidy log's collection, read whole only by the
	// one-time backfill of person keys (person_backfill.go).
	subsidy *mongo.Collection
}

func newRenterStore(db *mongo.Database) *renterStore {
	return &renterStore{
		renters: db.Collection("renters"),
		phones:  db.Collection("renter_phones"),
		users:   db.Collection("renter_users"),
		links:   db.Collection("renter_links"),
		keys:    db.Collection("renter_keys"),
		subsidy: db.Collection("subsidy_events"),
	}
}

func (s *renterStore) collections() []*mongo.Collection {
	return []*mongo.Collection{s.renters, s.phones, s.users, s.links, s.keys}
}

func byID(id string) bson.D { return bson.D{{Key: "_id", Value: id}} }

func translate(err error, what string) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, mongo.ErrNoDocuments):
		return fmt.Errorf("rentals: %s: %w", what, ErrNotFound)
	case mongo.IsDuplicateKeyError(err):
		return fmt.Errorf("rentals: %s already exists: %w", what, ErrConflict)
	}
	return fmt.Errorf("rentals: %s: %w", what, err)
}

// claim inserts a claim of key for renterID into c; ErrConflict when taken.
func claim(ctx context.Context, c *mongo.Collection, key, renterID string, at time.Time) error {
	_, err := c.InsertOne(ctx, claimDoc{ID: key, RenterID: renterID, At: at})
	return translate(err, c.Name()+" "+key)
}

func claimed(ctx context.Context, c *mongo.Collection, key string) (claimDoc, error) {
	var d claimDoc
	err := c.FindOne(ctx, byID(key)).Decode(&d)
	return d, translate(err, c.Name()+" "+key)
}

// unclaim deletes key's claim if it still belongs to renterID. Only the
// reconciler of an abandoned registration calls it, and nothing else can
// replace a claim while it exists, so the read-then-delete does not race.
func unclaim(ctx context.Context, c *mongo.Collection, key, renterID string) error {
	d, err := claimed(ctx, c, key)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if d.RenterID != renterID {
		return nil
	}
	_, err = c.DeleteOne(ctx, byID(key))
	return translate(err, "release "+c.Name()+" "+key)
}

func (s *renterStore) renter(ctx context.Context, id string) (renterDoc, error) {
	var d renterDoc
	err := s.renters.FindOne(ctx, byID(id)).Decode(&d)
	return d, translate(err, "renter "+id)
}

// put writes d unless the stored renter is as new or newer. Only {_id}
// filters: anything else scans the collection on the embedded engine.
func (s *renterStore) put(ctx context.Context, d renterDoc) error {
	old, err := s.renter(ctx, d.ID)
	switch {
	case errors.Is(err, ErrNotFound):
		_, err = s.renters.InsertOne(ctx, d)
		if mongo.IsDuplicateKeyError(err) {
			return s.put(ctx, d) // someone inserted it just now
		}
		return translate(err, "renter "+d.ID)
	case err != nil:
		return err
	case old.Seq >= d.Seq:
		return nil
	}
	_, err = s.renters.ReplaceOne(ctx, byID(d.ID), d)
	return translate(err, "renter "+d.ID)
}

func (s *renterStore) link(ctx context.Context, l linkDoc) error {
	_, err := s.links.InsertOne(ctx, l)
	if mongo.IsDuplicateKeyError(err) {
		return nil
	}
	return translate(err, "renter link "+l.ID)
}

func (s *renterStore) linked(ctx context.Context, operatorID, renterID string) (bool, error) {
	err := s.links.FindOne(ctx, byID(operatorID+"/"+renterID)).Err()
	if errors.Is(err, mongo.ErrNoDocuments) {
		return false, nil
	}
	return err == nil, translate(err, "renter link")
}
