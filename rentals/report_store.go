package rentals

import (
	"context"
	"errors"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// The small collections operators' reports read: one document per lost
// device (losses) and per waiver (waivers), and one per operator's settings
// (operator_settings). Each document of losses and waivers is a projection
// of a log (the lease's, the waiver's) and carries the progress it reflects
// (Seq), so it only moves forward and the reconciler can write it again.

type lossDoc struct {
	ID         string `bson:"_id"` // the lease id
	Seq        int64  `bson:"seq"` // the lease event it reflects
	OperatorID string `bson:"operator_id"`
	StationID  string `bson:"station_id"`
	UnitTag    string `bson:"unit_tag"`
	ProductID  string `bson:"product_id"`
	Loss       Loss   `bson:"loss"`
}

func (d lossDoc) toReport() LossReport {
	return LossReport{LeaseID: d.ID, OperatorID: d.OperatorID, StationID: d.StationID, UnitTag: d.UnitTag,
		ProductID: d.ProductID, Loss: d.Loss}
}

type waiverDoc struct {
	ID     string `bson:"_id"`
	Seq    int64  `bson:"seq"` // progress: 1 requested, 2 decided, 3 applied or lapsed
	Waiver Waiver `bson:"waiver"`
}

type settingsDoc struct {
	ID       string   `bson:"_id"` // the operator id
	Settings Settings `bson:"settings"`
}

type reportStore struct {
	losses   *mongo.Collection
	waivers  *mongo.Collection
	settings *mongo.Collection
	// subsidy is the yearly subsidy logs' collection (eventlog "subsidy").
	subsidy *mongo.Collection
}

func newReportStore(db *mongo.Database) *reportStore {
	return &reportStore{losses: db.Collection("losses"), waivers: db.Collection("waivers"), settings: db.Collection("operator_settings"),
		subsidy: db.Collection("subsidy_events")}
}

func (s *reportStore) collections() []*mongo.Collection {
	return []*mongo.Collection{s.losses, s.waivers, s.settings}
}

// putLoss writes d unless the stored document reflects a later event.
func (s *reportStore) putLoss(ctx context.Context, d lossDoc) error {
	var cur lossDoc
	err := s.losses.FindOne(ctx, byID(d.ID)).Decode(&cur)
	if err == nil && cur.Seq >= d.Seq {
		return nil
	}
	if err != nil && !errors.Is(err, mongo.ErrNoDocuments) {
		return translate(err, "loss "+d.ID)
	}
	_, err = s.losses.ReplaceOne(ctx, byID(d.ID), d, options.Replace().SetUpsert(true))
	if mongo.IsDuplicateKeyError(err) {
		return nil // two writers raced on a new document; both wrote the same loss
	}
	return translate(err, "record loss "+d.ID)
}

func (s *reportStore) listLosses(ctx context.Context, operatorID string) ([]lossDoc, error) {
	filter := bson.D{}
	if operatorID != "" {
		filter = bson.D{{Key: "operator_id", Value: operatorID}}
	}
	cur, err := s.losses.Find(ctx, filter, options.Find().SetSort(bson.D{{Key: "loss.day", Value: -1}, {Key: "_id", Value: 1}}))
	if err != nil {
		return nil, translate(err, "list losses")
	}
	var out []lossDoc
	if err := cur.All(ctx, &out); err != nil {
		return nil, translate(err, "list losses")
	}
	return out, nil
}

// putWaiver writes d unless the stored document is as far or further on.
func (s *reportStore) putWaiver(ctx context.Context, d waiverDoc) error {
	var cur waiverDoc
	err := s.waivers.FindOne(ctx, byID(d.ID)).Decode(&cur)
	if err == nil && cur.Seq >= d.Seq {
		return nil
	}
	if err != nil && !errors.Is(err, mongo.ErrNoDocuments) {
		return translate(err, "waiver "+d.ID)
	}
	_, err = s.waivers.ReplaceOne(ctx, byID(d.ID), d, options.Replace().SetUpsert(true))
	if mongo.IsDuplicateKeyError(err) {
		return nil
	}
	return translate(err, "record waiver "+d.ID)
}

func (s *reportStore) waiver(ctx context.Context, id string) (waiverDoc, bool, error) {
	var d waiverDoc
	err := s.waivers.FindOne(ctx, byID(id)).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return waiverDoc{}, false, nil
	}
	return d, err == nil, translate(err, "waiver "+id)
}

// listWaivers scans the waivers of one operator (every operator for ""),
// newest first; leaseID narrows them to one lease.
func (s *reportStore) listWaivers(ctx context.Context, operatorID, leaseID string) ([]waiverDoc, error) {
	filter := bson.D{}
	if operatorID != "" {
		filter = append(filter, bson.E{Key: "waiver.operator_id", Value: operatorID})
	}
	if leaseID != "" {
		filter = append(filter, bson.E{Key: "waiver.lease_id", Value: leaseID})
	}
	cur, err := s.waivers.Find(ctx, filter, options.Find().SetSort(bson.D{{Key: "waiver.requested_at", Value: -1}, {Key: "_id", Value: 1}}))
	if err != nil {
		return nil, translate(err, "list waivers")
	}
	var out []waiverDoc
	if err := cur.All(ctx, &out); err != nil {
		return nil, translate(err, "list waivers")
	}
	return out, nil
}

func (s *reportStore) operatorSettings(ctx context.Context, operatorID string) (Settings, bool, error) {
	var d settingsDoc
	err := s.settings.FindOne(ctx, byID(operatorID)).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return Settings{}, false, nil
	}
	if err != nil {
		return Settings{}, false, translate(err, "settings of "+operatorID)
	}
	return d.Settings, true, nil
}

func (s *reportStore) putSettings(ctx context.Context, st Settings) error {
	_, err := s.settings.ReplaceOne(ctx, byID(st.OperatorID), settingsDoc{ID: st.OperatorID, Settings: st}, options.Replace().SetUpsert(true))
	if mongo.IsDuplicateKeyError(err) {
		// Two admins saved a first version at once; the other's stands.
		return nil
	}
	return translate(err, "save settings of "+st.OperatorID)
}

// subsidyRecord is an event of the yearly subsidy logs as stored.
type subsidyRecord struct {
	Entity string       `bson:"entity"`
	Seq    int64        `bson:"seq"`
	At     time.Time    `bson:"at"`
	Event  subsidyEvent `bson:"e"`
}

// subsidyMoves scans the subsidy logs for one operator's grants and releases
// whose grant day is before before (all when empty), oldest first. The city
// reads them monthly; the embedded engine scans the collection anyway.
func (s *reportStore) subsidyMoves(ctx context.Context, operatorID, before string) ([]subsidyRecord, error) {
	filter := bson.D{{Key: "e.operator_id", Value: operatorID}}
	if before != "" {
		filter = append(filter, bson.E{Key: "e.day", Value: bson.D{{Key: "$lt", Value: before}}})
	}
	cur, err := s.subsidy.Find(ctx, filter, options.Find().SetSort(bson.D{{Key: "at", Value: 1}, {Key: "_id", Value: 1}}))
	if err != nil {
		return nil, translate(err, "list subsidy moves")
	}
	var out []subsidyRecord
	if err := cur.All(ctx, &out); err != nil {
		return nil, translate(err, "list subsidy moves")
	}
	return out, nil
}
