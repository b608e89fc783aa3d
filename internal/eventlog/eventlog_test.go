package eventlog_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"fuju/internal/eventlog"
	"fuju/internal/testenv"
)

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }

type ev struct {
	To     string `bson:"to"`
	Writer int    `bson:"writer"`
}

func TestAppendRaceHasOneWinner(t *testing.T) {
	ctx := context.Background()
	log := eventlog.New[ev](testenv.DB(t), "race")
	const writers = 50
	for round := 1; round <= 5; round++ {
		entity := fmt.Sprintf("U-%d", round)
		var (
			wg      sync.WaitGroup
			mu      sync.Mutex
			winners []int
			taken   int
			other   []error
		)
		start := make(chan struct{})
		for w := 0; w < writers; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				_, err := log.Append(ctx, entity, 1, ev{To: "rented", Writer: w})
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					winners = append(winners, w)
				case errors.Is(err, eventlog.ErrTaken):
					taken++
				default:
					other = append(other, err)
				}
			}()
		}
		close(start)
		wg.Wait()
		if len(other) > 0 {
			t.Fatalf("round %d: unexpected errors: %v", round, other)
		}
		if len(winners) != 1 || taken != writers-1 {
			t.Fatalf("round %d: %d winners, %d taken; want exactly 1 and %d", round, len(winners), taken, writers-1)
		}
		head, err := log.Head(ctx, entity, 0)
		if err != nil {
			t.Fatal(err)
		}
		if head.Seq != 1 || head.Event.Writer != winners[0] {
			t.Fatalf("round %d: head %+v, want seq 1 by writer %d", round, head, winners[0])
		}
	}
}

func TestHeadHistoryAndPending(t *testing.T) {
	ctx := context.Background()
	log := eventlog.New[ev](testenv.DB(t), "unit")
	for range 2 {
		if err := log.Init(ctx); err != nil {
			t.Fatalf("Init: %v", err)
		}
	}
	head, err := log.Head(ctx, "A", 0)
	if err != nil || head.Seq != 0 {
		t.Fatalf("empty head = %+v, %v", head, err)
	}
	for i, to := range []string{"available", "reserved", "rented"} {
		if _, err := log.Append(ctx, "A", int64(i+1), ev{To: to}); err != nil {
			t.Fatal(err)
		}
	}
	// A projection that knows event 1 finds the head by probing forward.
	for _, known := range []int64{0, 1, 2, 3} {
		head, err := log.Head(ctx, "A", known)
		if err != nil || head.Seq != 3 || head.Event.To != "rented" {
			t.Fatalf("Head(known=%d) = %+v, %v", known, head, err)
		}
	}
	// A projection that claims more than the log holds falls back to a scan.
	head, err = log.Head(ctx, "A", 7)
	if err != nil || head.Seq != 3 {
		t.Fatalf("Head(known=7) = %+v, %v", head, err)
	}
	// Another entity whose id is a prefix does not leak in.
	if _, err := log.Append(ctx, "A/0000000001", 1, ev{To: "x"}); err != nil {
		t.Fatal(err)
	}
	hist, err := log.History(ctx, "A", 3)
	if err != nil || len(hist) != 3 || hist[0].Event.To != "available" || hist[2].Seq != 3 {
		t.Fatalf("History = %+v, %v", hist, err)
	}
	if _, err := log.Append(ctx, "A", 3, ev{To: "again"}); !errors.Is(err, eventlog.ErrTaken) {
		t.Fatalf("re-append = %v, want ErrTaken", err)
	}
	if _, err := log.Append(ctx, "A", 0, ev{}); err == nil {
		t.Fatal("sequence 0 accepted")
	}

	p, err := log.Begin(ctx, "A")
	if err != nil {
		t.Fatal(err)
	}
	stale, err := log.Stale(ctx, -time.Second)
	if err != nil || len(stale) != 1 || stale[0].Entity != "A" {
		t.Fatalf("Stale = %+v, %v", stale, err)
	}
	if stale, _ := log.Stale(ctx, time.Hour); len(stale) != 0 {
		t.Fatalf("fresh marker reported stale: %+v", stale)
	}
	if err := log.Done(ctx, p); err != nil {
		t.Fatal(err)
	}
	if stale, _ := log.Stale(ctx, -time.Second); len(stale) != 0 {
		t.Fatalf("marker left after Done: %+v", stale)
	}
}

func TestAppendManyReportsEachItem(t *testing.T) {
	ctx := context.Background()
	log := eventlog.New[ev](testenv.DB(t), "unit")
	if _, err := log.Append(ctx, "B", 1, ev{To: "first"}); err != nil {
		t.Fatal(err)
	}
	errs, err := log.AppendMany(ctx, []eventlog.Item[ev]{
		{Entity: "A", Seq: 1, Event: ev{To: "a"}},
		{Entity: "B", Seq: 1, Event: ev{To: "b"}},
		{Entity: "C", Seq: 1, Event: ev{To: "c"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if errs[0] != nil || !errors.Is(errs[1], eventlog.ErrTaken) || errs[2] != nil {
		t.Fatalf("per-item errors %v", errs)
	}
	for _, e := range []string{"A", "C"} {
		if h, _ := log.Head(ctx, e, 0); h.Seq != 1 {
			t.Errorf("%s not appended", e)
		}
	}
	if h, _ := log.Head(ctx, "B", 0); h.Event.To != "first" {
		t.Errorf("B overwritten: %+v", h)
	}
	p, err := log.BeginMany(ctx, "import-1", []string{"A", "C"})
	if err != nil {
		t.Fatal(err)
	}
	stale, _ := log.Stale(ctx, -time.Second)
	if len(stale) != 1 || len(stale[0].Entities) != 2 {
		t.Fatalf("batch marker %+v", stale)
	}
	_ = log.Done(ctx, p)
}

// After finds what happened since the event a projection holds, with one
// lookup when nothing did.
func TestAfterFindsNewerEvents(t *testing.T) {
	ctx := context.Background()
	log := eventlog.New[ev](testenv.DB(t), "after")
	for seq := int64(1); seq <= 3; seq++ {
		if _, err := log.Append(ctx, "U-1", seq, ev{To: fmt.Sprint("state", seq)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, newer, err := log.After(ctx, "U-1", 3); err != nil || newer {
		t.Fatalf("after the head: newer %v, %v", newer, err)
	}
	e, newer, err := log.After(ctx, "U-1", 1)
	if err != nil || !newer || e.Seq != 3 || e.Event.To != "state3" {
		t.Fatalf("after 1: %+v newer %v, %v", e, newer, err)
	}
	if e, newer, err := log.After(ctx, "U-2", 0); err != nil || newer || e.Seq != 0 {
		t.Fatalf("no events: %+v newer %v, %v", e, newer, err)
	}
}
