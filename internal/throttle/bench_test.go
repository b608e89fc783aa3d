package throttle_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"fuju/internal/db"
	"fuju/internal/throttle"
)

// BenchmarkCounters measures the two ways of keeping a counter on the
// embedded engine as the service runs it (db.Tune's _id index), beside
// 10,000 documents of other windows: the one this package uses, a document
// inserted per attempt under a unique _id, and the alternative, one document
// per key and window incremented with $inc (upsert). "lost" counts the
// increments that parallel callers lost: the embedded engine does not apply
// an update atomically, so $inc undercounts, which would let an attacker's
// parallel burst past the limit.
//
//	go test ./internal/throttle -run '^$' -bench Counters -benchtime 400x
func BenchmarkCounters(b *testing.B) {
	ctx := context.Background()
	d, err := db.Open(ctx, db.Config{DataDir: b.TempDir(), Name: "bench", Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	defer d.Close(ctx)
	st := throttle.NewStore(d.Database, []byte("bench-secret-bench-secret-bench!"))
	if err := st.Init(ctx); err != nil {
		b.Fatal(err)
	}
	c := d.Database.Collection("throttle")
	old := make([]any, 0, 1000)
	for i := range 10000 {
		old = append(old, bson.D{{Key: "_id", Value: fmt.Sprintf("old/%06d", i)}, {Key: "until", Value: time.Now().Add(time.Hour)}})
		if len(old) == cap(old) {
			if _, err := c.InsertMany(ctx, old); err != nil {
				b.Fatal(err)
			}
			old = old[:0]
		}
	}
	if err := d.Tune(ctx); err != nil {
		b.Fatal(err)
	}
	run := 0
	limit := func() *throttle.Limit {
		run++
		return st.Limit(fmt.Sprintf("bench-%d", run), 1<<30, time.Hour)
	}
	perSecond := func(b *testing.B) { b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "attempts/s") }

	b.Run("insert/distinct-keys", func(b *testing.B) {
		l := limit()
		for i := range b.N {
			if _, err := l.Take(ctx, fmt.Sprintf("ip:10.0.%d.%d", i/256, i%256)); err != nil {
				b.Fatal(err)
			}
		}
		perSecond(b)
	})
	b.Run("insert/one-key", func(b *testing.B) {
		l := limit()
		for range b.N {
			if _, err := l.Take(ctx, "ip:203.0.113.9"); err != nil {
				b.Fatal(err)
			}
		}
		perSecond(b)
	})
	b.Run("insert/one-key/2-instances-8-parallel", func(b *testing.B) {
		other := throttle.NewStore(d.Database, []byte("bench-secret-bench-secret-bench!"))
		l := limit()
		ls := []*throttle.Limit{l, other.Limit(l.Name, l.Max, l.Window)}
		var next, highest atomic.Int64
		var wg sync.WaitGroup
		for w := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for next.Add(1) <= int64(b.N) {
					a, err := ls[w%2].Take(ctx, "ip:203.0.113.10")
					if err != nil {
						b.Error(err)
						return
					}
					for h := highest.Load(); int64(a.N) > h && !highest.CompareAndSwap(h, int64(a.N)); h = highest.Load() {
					}
				}
			}()
		}
		wg.Wait()
		perSecond(b)
		b.ReportMetric(float64(int64(b.N)-highest.Load()), "lost")
	})
	b.Run("inc-upsert/one-key/8-parallel", func(b *testing.B) {
		id := fmt.Sprintf("inc/%d", run)
		run++
		var next atomic.Int64
		var wg sync.WaitGroup
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for next.Add(1) <= int64(b.N) {
					// An upsert racing another upsert of a new _id may fail
					// with a duplicate key; that increment is lost too.
					_, _ = c.UpdateOne(ctx, bson.D{{Key: "_id", Value: id}}, bson.D{{Key: "$inc", Value: bson.D{{Key: "n", Value: 1}}}},
						options.UpdateOne().SetUpsert(true))
				}
			}()
		}
		wg.Wait()
		perSecond(b)
		var got struct {
			N int64 `bson:"n"`
		}
		if err := c.FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&got); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(int64(b.N)-got.N), "lost")
	})
	// One op is one ended document removed, beside the 10,000 of live
	// windows that Purge scans and keeps.
	b.Run("purge", func(b *testing.B) {
		b.StopTimer()
		docs := make([]any, 0, b.N)
		for i := range b.N {
			docs = append(docs, bson.D{{Key: "_id", Value: fmt.Sprintf("ended/%06d", i)}, {Key: "until", Value: time.Now().Add(-time.Minute)}})
		}
		if _, err := c.InsertMany(ctx, docs); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if n, err := st.Purge(ctx); err != nil || n != int64(b.N) {
			b.Fatalf("purged %d: %v", n, err)
		}
	})
}
