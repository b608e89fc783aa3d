package rentals

import (
	"context"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// renterLeases lists (renter id, lease id) of every listed lease by scanning
// the leases projection: only the one-time backfill of the renters' lease
// index calls it.
func (s *leaseStore) renterLeases(ctx context.Context) ([][2]string, error) {
	cur, err := s.leases.Find(ctx, bson.D{}, options.Find().SetProjection(bson.D{{Key: "lease.renter_id", Value: 1}}))
	if err != nil {
		return nil, translate(err, "list leases")
	}
	defer cur.Close(ctx)
	var out [][2]string
	for cur.Next(ctx) {
		var d struct {
			ID    string `bson:"_id"`
			Lease struct {
				RenterID string `bson:"renter_id"`
			} `bson:"lease"`
		}
		if err := cur.Decode(&d); err != nil {
			return nil, translate(err, "list leases")
		}
		out = append(out, [2]string{d.Lease.RenterID, d.ID})
	}
	return out, translate(cur.Err(), "list leases")
}
