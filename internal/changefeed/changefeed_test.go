package changefeed_test

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"

	"fuju/internal/changefeed"
	"fuju/internal/testenv"
)

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }

// Two instances sharing one database: everything one publishes, the other
// applies, in order, even when both publish at once.
func TestTwoInstancesConverge(t *testing.T) {
	ctx := context.Background()
	db := testenv.DB(t)
	a := changefeed.New(db, "catalog", nil)
	b := changefeed.New(db, "catalog", nil)
	var mu sync.Mutex
	seen := map[string]int{}
	b.Handle("unit", func(ctx context.Context, id string) error {
		mu.Lock()
		seen[id]++
		mu.Unlock()
		return nil
	})
	if err := b.Mark(ctx); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pub := a
			if i%2 == 1 {
				pub = b
			}
			if err := pub.Publish(ctx, "unit", fmt.Sprintf("U-%02d", i)); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if err := b.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if len(seen) != 20 {
		t.Fatalf("b applied %d distinct changes, want 20: %v", len(seen), seen)
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("%s applied %d times", id, n)
		}
	}
	// A late starter marks the head and applies only what follows.
	c := changefeed.New(db, "catalog", nil)
	var late []string
	c.Handle("unit", func(ctx context.Context, id string) error { late = append(late, id); return nil })
	if err := c.Mark(ctx); err != nil {
		t.Fatal(err)
	}
	if err := a.Publish(ctx, "unit", "U-NEW"); err != nil {
		t.Fatal(err)
	}
	if err := c.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if len(late) != 1 || late[0] != "U-NEW" {
		t.Fatalf("late starter applied %v, want [U-NEW]", late)
	}
}

// Publishers of one instance commit as a group: many changes published at
// once take fewer events than changes, each publisher returns only once its
// change is in the log, and another instance applies every change once.
func TestPublishersCommitAsAGroup(t *testing.T) {
	ctx := context.Background()
	db := testenv.DB(t)
	a := changefeed.New(db, "catalog", nil)
	b := changefeed.New(db, "catalog", nil)
	var mu sync.Mutex
	seen := map[string]int{}
	b.Handle("unit", func(ctx context.Context, id string) error {
		mu.Lock()
		seen[id]++
		mu.Unlock()
		return nil
	})
	if err := b.Mark(ctx); err != nil {
		t.Fatal(err)
	}
	const n = 50
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := a.Publish(ctx, "unit", fmt.Sprintf("U-%02d", i)); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	events, err := db.Collection("changes_events").CountDocuments(ctx, bson.D{})
	if err != nil {
		t.Fatal(err)
	}
	if events < 1 || events >= n {
		t.Errorf("%d changes published at once took %d events, want fewer", n, events)
	}
	if err := b.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if len(seen) != n {
		t.Fatalf("b applied %d distinct changes, want %d", len(seen), n)
	}
	for id, k := range seen {
		if k != 1 {
			t.Errorf("%s applied %d times", id, k)
		}
	}
	// A later publish of the same entity is a change of its own.
	if err := a.Publish(ctx, "unit", "U-00"); err != nil {
		t.Fatal(err)
	}
	if err := b.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if seen["U-00"] != 2 {
		t.Errorf("U-00 applied %d times after a second publish, want 2", seen["U-00"])
	}
}
