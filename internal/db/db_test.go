package db

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"
)

func openEmbedded(t testing.TB) *DB {
	t.Helper()
	ctx := context.Background()
	d, err := Open(ctx, Config{DataDir: t.TempDir(), Name: "tune"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close(context.Background()) })
	return d
}

// After Tune, SQLite answers FerretDB's lookup by _id from an index instead of
// scanning the table.
func TestTuneIndexesIDLookups(t *testing.T) {
	ctx := context.Background()
	d := openEmbedded(t)
	c := d.Database.Collection("units")
	if _, err := c.InsertOne(ctx, bson.D{{Key: "_id", Value: "JZ-WC-0001"}}); err != nil {
		t.Fatal(err)
	}
	plan := func() string {
		conn, err := sql.Open("sqlite", "file:"+filepath.Join(d.dir, "tune.sqlite")+"?mode=ro")
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		var table string
		if err := conn.QueryRow(`SELECT table_name FROM _ferretdb_collections WHERE name = 'units'`).Scan(&table); err != nil {
			t.Fatal(err)
		}
		rows, err := conn.Query(fmt.Sprintf(`EXPLAIN QUERY PLAN SELECT _ferretdb_sjson FROM %q WHERE %s = ?`, table, idExpr), `"JZ-WC-0001"`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var out []string
		for rows.Next() {
			var id, parent, unused int
			var detail string
			if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
				t.Fatal(err)
			}
			out = append(out, detail)
		}
		return strings.Join(out, "; ")
	}
	if p := plan(); !strings.HasPrefix(p, "SCAN") {
		t.Fatalf("before Tune the lookup plan is %q; FerretDB may have fixed its index, and Tune may be unnecessary", p)
	}
	for i := 0; i < 2; i++ { // idempotent
		if err := d.Tune(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if p := plan(); !strings.Contains(p, "USING INDEX") || !strings.Contains(p, "_fuju_id") {
		t.Fatalf("after Tune the lookup plan is %q", p)
	}
	// Documents are still found, and the unique _id still holds.
	var got bson.M
	if err := c.FindOne(ctx, bson.D{{Key: "_id", Value: "JZ-WC-0001"}}).Decode(&got); err != nil {
		t.Fatal(err)
	}
	if _, err := c.InsertOne(ctx, bson.D{{Key: "_id", Value: "JZ-WC-0001"}}); err == nil {
		t.Fatal("duplicate _id accepted after Tune")
	}
}

// BenchmarkFindByID measures a lookup by _id among 20,000 documents (a miss,
// which is the common case when probing an event log's next sequence).
//
//	go test ./internal/db -bench FindByID -run '^$'
func BenchmarkFindByID(b *testing.B) {
	for _, tuned := range []bool{false, true} {
		b.Run(fmt.Sprintf("tuned=%v", tuned), func(b *testing.B) {
			ctx := context.Background()
			d := openEmbedded(b)
			c := d.Database.Collection("events")
			docs := make([]any, 0, 1000)
			for i := 0; i < 20000; i++ {
				docs = append(docs, bson.D{{Key: "_id", Value: fmt.Sprintf("JZ-WC-%06d/0000000001", i)}})
				if len(docs) == 1000 {
					if _, err := c.InsertMany(ctx, docs); err != nil {
						b.Fatal(err)
					}
					docs = docs[:0]
				}
			}
			if tuned {
				if err := d.Tune(ctx); err != nil {
					b.Fatal(err)
				}
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				_ = c.FindOne(ctx, bson.D{{Key: "_id", Value: "JZ-WC-000001/0000000002"}}).Err()
			}
		})
	}
}
