package db_test

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"fuju/internal/db"
	"fuju/internal/testenv"
)

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }

// serverDB is a fresh database on the database server several instances
// share (PostgreSQL behind FerretDB, or FUJU_TEST_MONGODB_URI).
func serverDB(t testing.TB) *mongo.Database {
	t.Helper()
	client, err := db.Connect(context.Background(), testenv.ServerURI(t))
	if err != nil {
		t.Fatal(err)
	}
	d := client.Database(testenv.DBName(t.Name()))
	t.Cleanup(func() {
		_ = d.Drop(context.Background())
		_ = client.Disconnect(context.Background())
	})
	return d
}

// The transition pattern rests on one fact of the engine: of many inserts of
// the same _id at once, exactly one succeeds. It must hold on the server
// several instances share as it does on the embedded engine. Conditional
// updates are not relied on; how many "win" is logged for the record.
func TestServerKeepsIDsUnique(t *testing.T) {
	ctx := context.Background()
	d := serverDB(t)
	c := d.Collection("race")
	for round := range 5 {
		var wins, condWins atomic.Int64
		var wg sync.WaitGroup
		id := fmt.Sprintf("unit-%d", round)
		for range 50 {
			wg.Go(func() {
				if _, err := c.InsertOne(ctx, bson.D{{Key: "_id", Value: id}, {Key: "status", Value: "available"}}); err == nil {
					wins.Add(1)
				} else if !mongo.IsDuplicateKeyError(err) {
					t.Errorf("insert: %v", err)
				}
			})
		}
		wg.Wait()
		if wins.Load() != 1 {
			t.Fatalf("round %d: %d inserts of one _id succeeded, want 1", round, wins.Load())
		}
		for range 50 {
			wg.Go(func() {
				r, err := c.UpdateOne(ctx, bson.D{{Key: "_id", Value: id}, {Key: "status", Value: "available"}},
					bson.D{{Key: "$set", Value: bson.D{{Key: "status", Value: "rented"}}}})
				if err == nil && r.ModifiedCount == 1 {
					condWins.Add(1)
				}
			})
		}
		wg.Wait()
		if condWins.Load() < 1 {
			t.Fatalf("round %d: no conditional update succeeded", round)
		}
		t.Logf("round %d: 50 concurrent conditional updates of one document: %d modified it", round, condWins.Load())
	}
}

// BenchmarkEngines compares the embedded engine (FerretDB with SQLite) and
// the database server (FerretDB on PostgreSQL) on the operations Fuju's hot
// paths use, with 20 concurrent callers (4 for counts) on a collection of
// 10,000 documents:
//
//	go test ./internal/db -run '^$' -bench Engines -benchtime 2000x
func BenchmarkEngines(b *testing.B) {
	const docs = 10000
	engines := []struct {
		name string
		open func(testing.TB) (*mongo.Database, func(context.Context) error)
	}{
		{"sqlite", func(tb testing.TB) (*mongo.Database, func(context.Context) error) {
			d, err := db.Open(context.Background(), db.Config{DataDir: tb.TempDir(), Name: "bench"})
			if err != nil {
				tb.Fatal(err)
			}
			tb.Cleanup(func() { d.Close(context.Background()) })
			return d.Database, d.Tune
		}},
		{"postgres", func(tb testing.TB) (*mongo.Database, func(context.Context) error) {
			return serverDB(tb), func(context.Context) error { return nil }
		}},
	}
	for _, e := range engines {
		b.Run(e.name, func(b *testing.B) {
			ctx := context.Background()
			d, tune := e.open(b)
			c := d.Collection("units")
			if _, err := c.Indexes().CreateOne(ctx, mongo.IndexModel{Keys: bson.D{{Key: "station", Value: 1}}}); err != nil {
				b.Fatal(err)
			}
			batch := make([]any, 0, 1000)
			for i := range docs {
				batch = append(batch, bson.D{{Key: "_id", Value: fmt.Sprintf("U-%05d", i)}, {Key: "station", Value: fmt.Sprintf("s-%d", i%20)},
					{Key: "status", Value: "available"}, {Key: "seq", Value: 0}})
				if len(batch) == cap(batch) {
					if _, err := c.InsertMany(ctx, batch); err != nil {
						b.Fatal(err)
					}
					batch = batch[:0]
				}
			}
			if err := tune(ctx); err != nil {
				b.Fatal(err)
			}
			var n atomic.Int64
			parallel := func(b *testing.B, callers int, op func(i int64) error) {
				b.SetParallelism(callers / runtime.GOMAXPROCS(0))
				b.ResetTimer()
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						if err := op(n.Add(1)); err != nil {
							b.Error(err)
							return
						}
					}
				})
			}
			b.Run("insert", func(b *testing.B) {
				parallel(b, 20, func(i int64) error {
					_, err := c.InsertOne(ctx, bson.D{{Key: "_id", Value: fmt.Sprintf("N-%09d", i)}, {Key: "station", Value: "s-new"}})
					return err
				})
			})
			b.Run("find_by_id", func(b *testing.B) {
				parallel(b, 20, func(i int64) error {
					return c.FindOne(ctx, bson.D{{Key: "_id", Value: fmt.Sprintf("U-%05d", i%docs)}}).Err()
				})
			})
			b.Run("update_by_id", func(b *testing.B) {
				parallel(b, 20, func(i int64) error {
					_, err := c.UpdateOne(ctx, bson.D{{Key: "_id", Value: fmt.Sprintf("U-%05d", i%docs)}}, bson.D{{Key: "$inc", Value: bson.D{{Key: "seq", Value: 1}}}})
					return err
				})
			})
			b.Run("count_by_indexed_field", func(b *testing.B) {
				// As many callers as the embedded engine's connections:
				// more only queue for a scan of the whole collection.
				parallel(b, 4, func(i int64) error {
					_, err := c.CountDocuments(ctx, bson.D{{Key: "station", Value: fmt.Sprintf("s-%d", i%20)}})
					return err
				})
			})
		})
	}
}
