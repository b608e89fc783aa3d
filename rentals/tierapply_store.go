package rentals

import (
	"context"
	"fmt"
	"regexp"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// anyMobileInText finds a mobile number inside free text (a reviewer's note
// goes to the family by text message, and numbers never go into notes).
var anyMobileInText = regexp.MustCompile(`1[3-9]\d{9}`)

// appStore keeps tier applications' projections and open claims
// (tierapply.go).
type appStore struct {
	apps *mongo.Collection
	open *mongo.Collection
}

func newAppStore(db *mongo.Database) *appStore {
	return &appStore{apps: db.Collection("tier_applications"), open: db.Collection("tier_app_open")}
}

func (s *appStore) collections() []*mongo.Collection { return []*mongo.Collection{s.apps, s.open} }

// claimOpen makes o the renter's one open application: an insert by the
// renter's id, so a second one fails with ErrConflict.
func (s *appStore) claimOpen(ctx context.Context, o openAppDoc) error {
	_, err := s.open.InsertOne(ctx, o)
	return translate(err, "open tier application of "+o.ID)
}

// releaseOpen ends the renter's open claim if application appID holds it.
func (s *appStore) releaseOpen(ctx context.Context, renterID, appID string) error {
	var o openAppDoc
	err := s.open.FindOne(ctx, byID(renterID)).Decode(&o)
	if err == mongo.ErrNoDocuments || err == nil && o.AppID != appID {
		return nil
	}
	if err != nil {
		return translate(err, "open tier application of "+renterID)
	}
	_, err = s.open.DeleteOne(ctx, bson.D{{Key: "_id", Value: renterID}, {Key: "app_id", Value: appID}})
	return translate(err, "open tier application of "+renterID)
}

// openFor lists the open claims of operatorID ("" every operator's).
func (s *appStore) openFor(ctx context.Context, operatorID string) ([]openAppDoc, error) {
	filter := bson.D{}
	if operatorID != "" {
		filter = bson.D{{Key: "operator_id", Value: operatorID}}
	}
	cur, err := s.open.Find(ctx, filter)
	if err != nil {
		return nil, translate(err, "open tier applications")
	}
	var out []openAppDoc
	if err := cur.All(ctx, &out); err != nil {
		return nil, translate(err, "open tier applications")
	}
	return out, nil
}

// put writes an application's projection, only forward.
func (s *appStore) put(ctx context.Context, d appDoc) error {
	cur, err := s.get(ctx, d.ID)
	if err == nil && cur.Seq >= d.Seq {
		return nil
	}
	_, err = s.apps.ReplaceOne(ctx, byID(d.ID), d, options.Replace().SetUpsert(true))
	return translate(err, "tier application "+d.ID)
}

func (s *appStore) get(ctx context.Context, id string) (appDoc, error) {
	var d appDoc
	err := s.apps.FindOne(ctx, byID(id)).Decode(&d)
	return d, translate(err, "tier application "+id)
}

func (s *appStore) byUser(ctx context.Context, userID string) ([]appDoc, error) {
	cur, err := s.apps.Find(ctx, bson.D{{Key: "user_id", Value: userID}})
	if err != nil {
		return nil, translate(err, "tier applications")
	}
	var out []appDoc
	if err := cur.All(ctx, &out); err != nil {
		return nil, translate(err, "tier applications")
	}
	return out, nil
}

// withTier lists the renters that have a verified tier (the daily reminder
// of expiring tiers reads it; it scans the renters).
func (s *renterStore) withTier(ctx context.Context) ([]renterDoc, error) {
	cur, err := s.renters.Find(ctx, bson.D{{Key: "tier.tier", Value: bson.D{{Key: "$in", Value: bson.A{string(Subsistence), string(LowIncome)}}}}})
	if err != nil {
		return nil, fmt.Errorf("rentals: renters with a tier: %w", err)
	}
	var out []renterDoc
	if err := cur.All(ctx, &out); err != nil {
		return nil, fmt.Errorf("rentals: renters with a tier: %w", err)
	}
	return out, nil
}
