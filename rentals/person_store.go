package rentals

import (
	"context"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// allRenters returns every renter projection. Only the one-time backfill of
// person keys reads them all (a scan on the embedded engine).
func (s *renterStore) allRenters(ctx context.Context) ([]renterDoc, error) {
	cur, err := s.renters.Find(ctx, bson.D{})
	if err != nil {
		return nil, translate(err, "renters")
	}
	var out []renterDoc
	if err := cur.All(ctx, &out); err != nil {
		return nil, translate(err, "renters")
	}
	return out, nil
}

// subsidyEntities returns every yearly subsidy log that has an event, once
// each. Only the one-time backfill of person keys reads it (a scan).
func (s *renterStore) subsidyEntities(ctx context.Context) ([]string, error) {
	cur, err := s.subsidy.Find(ctx, bson.D{}, options.Find().SetProjection(bson.D{{Key: "entity", Value: 1}}))
	if err != nil {
		return nil, translate(err, "subsidy logs")
	}
	defer cur.Close(ctx)
	seen := map[string]bool{}
	var out []string
	for cur.Next(ctx) {
		var d struct {
			Entity string `bson:"entity"`
		}
		if err := cur.Decode(&d); err != nil {
			return nil, translate(err, "subsidy logs")
		}
		if !seen[d.Entity] {
			seen[d.Entity] = true
			out = append(out, d.Entity)
		}
	}
	return out, translate(cur.Err(), "subsidy logs")
}
