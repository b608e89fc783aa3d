package db

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/x/mongo/driver/topology"
)

// An operation that found no free connection before its deadline never
// reached the engine: Overloaded says so (the web layer answers 503, never a
// verdict). A caller that gave up, a refused write and success are not
// overloaded.
func TestOverloaded(t *testing.T) {
	ctx := context.Background()
	e, err := StartEmbedded(ctx, t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Stop)
	// One connection: a burst queues for it.
	client, err := connect(ctx, e.URI, 1, embeddedPoolWait)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = client.Disconnect(context.Background()) })
	c := client.Database("overloaded").Collection("things")
	if _, err := c.InsertOne(ctx, bson.D{{Key: "_id", Value: "a"}}); err != nil {
		t.Fatal(err)
	}

	const n = 100
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			octx, cancel := context.WithTimeout(ctx, 2*time.Millisecond)
			defer cancel()
			_, errs[i] = c.InsertOne(octx, bson.D{{Key: "_id", Value: fmt.Sprint("b", i)}})
		}()
	}
	close(start)
	wg.Wait()
	waited := 0
	for _, err := range errs {
		if err == nil {
			continue
		}
		if !Overloaded(err) {
			t.Errorf("a timed-out operation is not Overloaded: %v", err)
		}
		if errors.As(err, &topology.WaitQueueTimeoutError{}) {
			waited++
		}
	}
	if waited == 0 {
		t.Fatalf("%d operations on one connection within 2 ms each: none timed out waiting for it (%v)", n, errs)
	}

	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	_, err = c.InsertOne(cancelled, bson.D{{Key: "_id", Value: "c"}})
	if err == nil || Overloaded(err) {
		t.Errorf("a cancelled caller: %v, Overloaded %v", err, Overloaded(err))
	}
	_, err = c.InsertOne(ctx, bson.D{{Key: "_id", Value: "a"}})
	if !mongo.IsDuplicateKeyError(err) || Overloaded(err) {
		t.Errorf("a duplicate key: %v, Overloaded %v", err, Overloaded(err))
	}
	if Overloaded(nil) {
		t.Error("no error is Overloaded")
	}
}
