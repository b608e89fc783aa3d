package stations

import (
	"context"
	"errors"
	"time"

	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"fuju/internal/db"
)

// settingsDoc is a station's reservation settings, one document per station
// that has any, read and written by _id (the station id). A part not set
// keeps its default.
type settingsDoc struct {
	ID        string            `bson:"_id"`
	Slots     *SlotSettings     `bson:"slots,omitempty"`
	Delivery  *DeliverySettings `bson:"delivery,omitempty"`
	Prepay    Prepay            `bson:"prepay,omitempty"`
	UpdatedAt time.Time         `bson:"updated_at"`
}

func (s *store) settingsCol() *mongo.Collection {
	return s.stations.Database().Collection("station_settings")
}

func (s *store) settings(ctx context.Context, stationID string) (settingsDoc, bool, error) {
	var d settingsDoc
	err := s.settingsCol().FindOne(ctx, byID(stationID)).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return settingsDoc{ID: stationID}, false, nil
	}
	if err != nil {
		return settingsDoc{}, false, translate(err, "station settings "+stationID)
	}
	return d, true, nil
}

func (s *store) putSettings(ctx context.Context, d settingsDoc) error {
	err := db.Retry(ctx, 8, func() error {
		_, err := s.settingsCol().ReplaceOne(ctx, byID(d.ID), d, options.Replace().SetUpsert(true))
		return err
	})
	return translate(err, "station settings "+d.ID)
}
