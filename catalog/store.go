package catalog

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

type store struct {
	products *mongo.Collection
}

func newStore(db *mongo.Database) *store {
	return &store{products: db.Collection("products")}
}

func (s *store) ensureIndexes(ctx context.Context) error {
	_, err := s.products.Indexes().CreateOne(ctx, mongo.IndexModel{Keys: bson.D{{Key: "operator_id", Value: 1}}})
	if err != nil {
		return fmt.Errorf("catalog: create index: %w", err)
	}
	return nil
}

type productDoc struct {
	ID          string    `bson:"_id"`
	OperatorID  string    `bson:"operator_id"`
	Category    string    `bson:"category"`
	Name        Text      `bson:"name"`
	Description Text      `bson:"description"`
	Specs       Specs     `bson:"specs"`
	Rate        RatePlan  `bson:"rate"`
	Status      Status    `bson:"status"`
	Keywords    []string  `bson:"keywords"`
	Photos      []Photo   `bson:"photos"`
	Version     int64     `bson:"version"`
	CreatedAt   time.Time `bson:"created_at"`
	UpdatedAt   time.Time `bson:"updated_at"`
}

func toProductDoc(p Product) productDoc { return productDoc(p) }
func (d productDoc) toProduct() Product { return Product(d) }

func translate(err error, what string) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, mongo.ErrNoDocuments):
		return fmt.Errorf("catalog: %s: %w", what, ErrNotFound)
	case mongo.IsDuplicateKeyError(err):
		return fmt.Errorf("catalog: %s already exists: %w", what, ErrConflict)
	}
	return fmt.Errorf("catalog: %s: %w", what, err)
}

func (s *store) insert(ctx context.Context, p Product) error {
	_, err := s.products.InsertOne(ctx, toProductDoc(p))
	return translate(err, "product "+p.ID)
}

func (s *store) replace(ctx context.Context, p Product) error {
	res, err := s.products.ReplaceOne(ctx, bson.D{{Key: "_id", Value: p.ID}}, toProductDoc(p))
	if err == nil && res.MatchedCount == 0 {
		err = mongo.ErrNoDocuments
	}
	return translate(err, "product "+p.ID)
}

func (s *store) get(ctx context.Context, id string) (Product, error) {
	var d productDoc
	if err := s.products.FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&d); err != nil {
		return Product{}, translate(err, "product "+id)
	}
	return d.toProduct(), nil
}

// list returns products, only operatorID's when it is not empty.
func (s *store) list(ctx context.Context, operatorID string) ([]Product, error) {
	filter := bson.D{}
	if operatorID != "" {
		filter = bson.D{{Key: "operator_id", Value: operatorID}}
	}
	cur, err := s.products.Find(ctx, filter, options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}))
	if err != nil {
		return nil, translate(err, "list products")
	}
	var docs []productDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, translate(err, "list products")
	}
	out := make([]Product, len(docs))
	for i, d := range docs {
		out[i] = d.toProduct()
	}
	return out, nil
}

// photoReferenced reports whether any product lists the photo with key. It
// scans the products collection, which is small (listings, not units).
func (s *store) photoReferenced(ctx context.Context, key string) (bool, error) {
	n, err := s.products.CountDocuments(ctx, bson.D{{Key: "photos.key", Value: key}}, options.Count().SetLimit(1))
	if err != nil {
		return true, translate(err, "photo references")
	}
	return n > 0, nil
}
