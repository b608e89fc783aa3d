package rentals

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"fuju/internal/eventlog"
)

// leaseDoc is the leases projection: the lease as of log event Seq.
type leaseDoc struct {
	ID    string `bson:"_id"`
	Seq   int64  `bson:"seq"`
	Lease Lease  `bson:"lease"`
}

// openDoc is one open lease in the small open_leases collection, which desk
// lists, queues and the overdue job scan instead of the ever-growing leases.
type openDoc struct {
	ID          string     `bson:"_id"`
	Seq         int64      `bson:"seq"`
	State       LeaseState `bson:"state"`
	UnitTag     string     `bson:"unit_tag"`
	ProductID   string     `bson:"product_id"`
	StationID   string     `bson:"station_id"`
	OperatorID  string     `bson:"operator_id"`
	RenterID    string     `bson:"renter_id"`
	RenterName  string     `bson:"renter_name"`
	RenterPhone string     `bson:"renter_phone"`
	Tier        Tier       `bson:"tier"`
	DueOn       string     `bson:"due_on"`
	BalanceFen  int64      `bson:"balance_fen"`
	// ReturnStationID is where a returned lease's unit came back.
	ReturnStationID string `bson:"return_station_id,omitempty"`
}

func toOpenDoc(l Lease) openDoc {
	return openDoc{
		ID: l.ID, Seq: l.Seq, State: l.State, UnitTag: l.UnitTag, ProductID: l.ProductID, StationID: l.StationID,
		OperatorID: l.OperatorID, RenterID: l.RenterID, RenterName: l.RenterName, RenterPhone: l.RenterPhone,
		Tier: l.Tier, DueOn: l.DueOn, BalanceFen: l.BalanceFen, ReturnStationID: returnStation(l),
	}
}

func returnStation(l Lease) string {
	if l.Return == nil {
		return ""
	}
	return l.Return.StationID
}

func (d openDoc) toOpenLease() OpenLease {
	return OpenLease{
		ID: d.ID, State: d.State, UnitTag: d.UnitTag, ProductID: d.ProductID, StationID: d.StationID,
		OperatorID: d.OperatorID, RenterID: d.RenterID, RenterName: d.RenterName, RenterPhone: d.RenterPhone,
		Tier: d.Tier, DueOn: d.DueOn, BalanceFen: d.BalanceFen, ReturnStationID: d.ReturnStationID,
	}
}

type leaseStore struct {
	leases *mongo.Collection
	open   *mongo.Collection
}

func newLeaseStore(db *mongo.Database) *leaseStore {
	return &leaseStore{leases: db.Collection("leases"), open: db.Collection("open_leases")}
}

func (s *leaseStore) collections() []*mongo.Collection {
	return []*mongo.Collection{s.leases, s.open}
}

// lease returns the projection and the log sequence it reflects; seq 0 and
// ok=false when the lease was never listed.
func (s *leaseStore) lease(ctx context.Context, id string) (Lease, bool, error) {
	var d leaseDoc
	err := s.leases.FindOne(ctx, byID(id)).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return Lease{}, false, nil
	}
	if err != nil {
		return Lease{}, false, translate(err, "lease "+id)
	}
	d.Lease.Seq = d.Seq
	return d.Lease, true, nil
}

func (s *leaseStore) putLease(ctx context.Context, l Lease) error {
	_, err := s.leases.ReplaceOne(ctx, byID(l.ID), leaseDoc{ID: l.ID, Seq: l.Seq, Lease: l}, options.Replace().SetUpsert(true))
	if mongo.IsDuplicateKeyError(err) {
		// Two upserts of a new lease raced; the caller re-checks the log.
		return nil
	}
	return translate(err, "project lease "+l.ID)
}

func (s *leaseStore) putOpen(ctx context.Context, l Lease) error {
	_, err := s.open.ReplaceOne(ctx, byID(l.ID), toOpenDoc(l), options.Replace().SetUpsert(true))
	if mongo.IsDuplicateKeyError(err) {
		return nil
	}
	return translate(err, "project open lease "+l.ID)
}

func (s *leaseStore) openOne(ctx context.Context, id string) (openDoc, bool, error) {
	var d openDoc
	err := s.open.FindOne(ctx, byID(id)).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return openDoc{}, false, nil
	}
	return d, err == nil, translate(err, "open lease "+id)
}

func (s *leaseStore) deleteOpen(ctx context.Context, id string) error {
	_, err := s.open.DeleteOne(ctx, byID(id))
	return translate(err, "unlist lease "+id)
}

// listOpen scans open_leases (small by design), optionally one operator's or
// one station's.
func (s *leaseStore) listOpen(ctx context.Context, operatorID, stationID string) ([]openDoc, error) {
	filter := bson.D{}
	if operatorID != "" {
		filter = append(filter, bson.E{Key: "operator_id", Value: operatorID})
	}
	if stationID != "" {
		filter = append(filter, bson.E{Key: "station_id", Value: stationID})
	}
	cur, err := s.open.Find(ctx, filter, options.Find().SetSort(bson.D{{Key: "due_on", Value: 1}, {Key: "_id", Value: 1}}))
	if err != nil {
		return nil, translate(err, "list open leases")
	}
	var out []openDoc
	if err := cur.All(ctx, &out); err != nil {
		return nil, translate(err, "list open leases")
	}
	return out, nil
}

// asStored returns an appended event as reading it back would (times at the
// database's millisecond precision, in UTC), so a flow that goes on from the
// event it appended acts and answers exactly as one that re-read it.
func asStored(e eventlog.Entry[leaseEvent]) (eventlog.Entry[leaseEvent], error) {
	b, err := bson.Marshal(e.Event)
	if err != nil {
		return e, fmt.Errorf("rentals: %w", err)
	}
	var ev leaseEvent
	if err := bson.Unmarshal(b, &ev); err != nil {
		return e, fmt.Errorf("rentals: %w", err)
	}
	e.Event, e.At = ev, e.At.Truncate(time.Millisecond).UTC()
	return e, nil
}
