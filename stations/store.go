package stations

import (
	"context"
	"errors"
	"fmt"
	"time"

	"fuju/internal/l10n"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

type store struct {
	operators *mongo.Collection
	stations  *mongo.Collection
	units     *mongo.Collection
}

func newStore(db *mongo.Database) *store {
	return &store{
		operators: db.Collection("operators"),
		stations:  db.Collection("stations"),
		units:     db.Collection("units"),
	}
}

// indexes are those the remaining queries need: listing an operator's stations
// and units. Public reads come from the in-process Index.
func (s *store) ensureIndexes(ctx context.Context) error {
	for _, ix := range []struct {
		c    *mongo.Collection
		keys bson.D
	}{
		{s.stations, bson.D{{Key: "operator_id", Value: 1}}},
		{s.units, bson.D{{Key: "operator_id", Value: 1}, {Key: "station_id", Value: 1}}},
		{s.units, bson.D{{Key: "station_id", Value: 1}, {Key: "state", Value: 1}}},
	} {
		if _, err := ix.c.Indexes().CreateOne(ctx, mongo.IndexModel{Keys: ix.keys}); err != nil {
			return fmt.Errorf("stations: create index on %s: %w", ix.c.Name(), err)
		}
	}
	return nil
}

type operatorDoc struct {
	ID              string     `bson:"_id"`
	Name            l10n.Text  `bson:"name"`
	Phone           string     `bson:"phone"`
	Status          string     `bson:"status"`
	CreatedAt       time.Time  `bson:"created_at"`
	SuspendedReason string     `bson:"suspended_reason,omitempty"`
	SuspendedAt     *time.Time `bson:"suspended_at,omitempty"`
}

func toOperatorDoc(o Operator) operatorDoc { return operatorDoc(o) }
func (d operatorDoc) toOperator() Operator { return Operator(d) }

type stationDoc struct {
	ID         string    `bson:"_id"`
	OperatorID string    `bson:"operator_id"`
	Name       l10n.Text `bson:"name"`
	Address    l10n.Text `bson:"address"`
	District   string    `bson:"district"`
	Lat        float64   `bson:"lat"`
	Lng        float64   `bson:"lng"`
	Phone      string    `bson:"phone"`
	Hours      Hours     `bson:"hours"`
	Active     bool      `bson:"active"`
	CreatedAt  time.Time `bson:"created_at"`
	UpdatedAt  time.Time `bson:"updated_at"`
}

func toStationDoc(s Station) stationDoc { return stationDoc(s) }
func (d stationDoc) toStation() Station { return Station(d) }

type unitDoc struct {
	Tag        string    `bson:"_id"`
	ProductID  string    `bson:"product_id"`
	OperatorID string    `bson:"operator_id"`
	StationID  string    `bson:"station_id"`
	State      State     `bson:"state"`
	ToStation  string    `bson:"to_station,omitempty"`
	LeaseID    string    `bson:"lease_id,omitempty"`
	Condition  string    `bson:"condition,omitempty"`
	AcquiredOn string    `bson:"acquired_on,omitempty"`
	Seq        int64     `bson:"seq"`
	CreatedAt  time.Time `bson:"created_at"`
	UpdatedAt  time.Time `bson:"updated_at"`
}

func toUnitDoc(u Unit) unitDoc { return unitDoc(u) }
func (d unitDoc) toUnit() Unit { return Unit(d) }

func byID(id string) bson.D { return bson.D{{Key: "_id", Value: id}} }

func translate(err error, what string) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, mongo.ErrNoDocuments):
		return fmt.Errorf("stations: %s: %w", what, ErrNotFound)
	case mongo.IsDuplicateKeyError(err):
		return fmt.Errorf("stations: %s already exists: %w", what, ErrConflict)
	}
	return fmt.Errorf("stations: %s: %w", what, err)
}

func (s *store) insertOperator(ctx context.Context, o Operator) error {
	_, err := s.operators.InsertOne(ctx, toOperatorDoc(o))
	return translate(err, "operator "+o.ID)
}

func (s *store) operator(ctx context.Context, id string) (Operator, error) {
	var d operatorDoc
	if err := s.operators.FindOne(ctx, byID(id)).Decode(&d); err != nil {
		return Operator{}, translate(err, "operator "+id)
	}
	return d.toOperator(), nil
}

func (s *store) replaceOperator(ctx context.Context, o Operator) error {
	res, err := s.operators.ReplaceOne(ctx, byID(o.ID), toOperatorDoc(o))
	if err == nil && res.MatchedCount == 0 {
		err = mongo.ErrNoDocuments
	}
	return translate(err, "operator "+o.ID)
}

func (s *store) listOperators(ctx context.Context) ([]Operator, error) {
	cur, err := s.operators.Find(ctx, bson.D{}, options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}))
	if err != nil {
		return nil, translate(err, "list operators")
	}
	var docs []operatorDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, translate(err, "list operators")
	}
	out := make([]Operator, len(docs))
	for i, d := range docs {
		out[i] = d.toOperator()
	}
	return out, nil
}

func (s *store) insertStation(ctx context.Context, st Station) error {
	_, err := s.stations.InsertOne(ctx, toStationDoc(st))
	return translate(err, "station "+st.ID)
}

func (s *store) replaceStation(ctx context.Context, st Station) error {
	res, err := s.stations.ReplaceOne(ctx, byID(st.ID), toStationDoc(st))
	if err == nil && res.MatchedCount == 0 {
		err = mongo.ErrNoDocuments
	}
	return translate(err, "station "+st.ID)
}

func (s *store) station(ctx context.Context, id string) (Station, error) {
	var d stationDoc
	if err := s.stations.FindOne(ctx, byID(id)).Decode(&d); err != nil {
		return Station{}, translate(err, "station "+id)
	}
	return d.toStation(), nil
}

// listStations returns stations, optionally only one operator's.
func (s *store) listStations(ctx context.Context, operatorID string) ([]Station, error) {
	filter := bson.D{}
	if operatorID != "" {
		filter = bson.D{{Key: "operator_id", Value: operatorID}}
	}
	cur, err := s.stations.Find(ctx, filter, options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}))
	if err != nil {
		return nil, translate(err, "list stations")
	}
	var docs []stationDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, translate(err, "list stations")
	}
	out := make([]Station, len(docs))
	for i, d := range docs {
		out[i] = d.toStation()
	}
	return out, nil
}

func (s *store) insertUnit(ctx context.Context, u Unit) error {
	_, err := s.units.InsertOne(ctx, toUnitDoc(u))
	return translate(err, "unit "+u.Tag)
}

// insertUnits inserts many projections; the result has one error per unit
// (nil, ErrConflict or another failure).
func (s *store) insertUnits(ctx context.Context, us []Unit) ([]error, error) {
	errs := make([]error, len(us))
	docs := make([]any, len(us))
	for i, u := range us {
		docs[i] = toUnitDoc(u)
	}
	_, err := s.units.InsertMany(ctx, docs, options.InsertMany().SetOrdered(false))
	if err == nil {
		return errs, nil
	}
	var bwe mongo.BulkWriteException
	if !errors.As(err, &bwe) || len(bwe.WriteErrors) == 0 {
		return nil, translate(err, "insert units")
	}
	for _, we := range bwe.WriteErrors {
		if we.Index < 0 || we.Index >= len(us) {
			continue
		}
		if we.Code == 11000 {
			errs[we.Index] = fmt.Errorf("stations: unit %s: %w", us[we.Index].Tag, ErrConflict)
		} else {
			errs[we.Index] = fmt.Errorf("stations: insert unit %s: %s", us[we.Index].Tag, we.Message)
		}
	}
	return errs, nil
}

func (s *store) unit(ctx context.Context, tag string) (Unit, error) {
	var d unitDoc
	if err := s.units.FindOne(ctx, byID(tag)).Decode(&d); err != nil {
		return Unit{}, translate(err, "unit "+tag)
	}
	return d.toUnit(), nil
}

// replaceUnit writes u over the stored projection. The filter is exactly
// {_id}: on the embedded engine any other filter scans the whole collection.
// Callers check that the projection only moves forward (Service.project).
func (s *store) replaceUnit(ctx context.Context, u Unit) error {
	_, err := s.units.ReplaceOne(ctx, byID(u.Tag), toUnitDoc(u))
	return translate(err, "project unit "+u.Tag)
}

// UnitFilter selects units in listings.
type UnitFilter struct {
	OperatorID string
	StationID  string
	ProductID  string
	State      State
}

func (f UnitFilter) bson() bson.D {
	d := bson.D{}
	if f.OperatorID != "" {
		d = append(d, bson.E{Key: "operator_id", Value: f.OperatorID})
	}
	if f.StationID != "" {
		d = append(d, bson.E{Key: "station_id", Value: f.StationID})
	}
	if f.ProductID != "" {
		d = append(d, bson.E{Key: "product_id", Value: f.ProductID})
	}
	if f.State != "" {
		d = append(d, bson.E{Key: "state", Value: string(f.State)})
	}
	return d
}

func (s *store) listUnits(ctx context.Context, f UnitFilter, skip, limit int64) ([]Unit, int64, error) {
	return s.listUnitsIn(ctx, f, nil, skip, limit)
}

// eachUnit streams every unit's projection, for building the read model.
func (s *store) eachUnit(ctx context.Context, fn func(Unit)) error {
	cur, err := s.units.Find(ctx, bson.D{}, options.Find().SetProjection(bson.D{
		{Key: "product_id", Value: 1}, {Key: "operator_id", Value: 1}, {Key: "station_id", Value: 1},
		{Key: "state", Value: 1}, {Key: "to_station", Value: 1}, {Key: "seq", Value: 1},
	}))
	if err != nil {
		return translate(err, "scan units")
	}
	defer cur.Close(ctx)
	for cur.Next(ctx) {
		var d unitDoc
		if err := cur.Decode(&d); err != nil {
			return translate(err, "scan units")
		}
		fn(d.toUnit())
	}
	return translate(cur.Err(), "scan units")
}

// unitsAt lists the units at a station or travelling to it, in one query: the
// desk's queues. On the embedded engine the filter scans the units collection.
func (s *store) unitsAt(ctx context.Context, stationID string) ([]Unit, error) {
	filter := bson.D{{Key: "$or", Value: bson.A{
		bson.D{{Key: "station_id", Value: stationID}},
		bson.D{{Key: "to_station", Value: stationID}},
	}}}
	cur, err := s.units.Find(ctx, filter, options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}))
	if err != nil {
		return nil, translate(err, "list units at "+stationID)
	}
	var docs []unitDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, translate(err, "list units at "+stationID)
	}
	out := make([]Unit, len(docs))
	for i, d := range docs {
		out[i] = d.toUnit()
	}
	return out, nil
}
