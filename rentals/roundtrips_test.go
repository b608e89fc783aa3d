package rentals

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/event"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"fuju/internal/testenv"
	"fuju/stations"
)

// commandCounter counts the commands a client sends to one database, by
// command and collection ("find units", "insert unit_events").
type commandCounter struct {
	db    string
	mu    sync.Mutex
	n     map[string]int
	names map[int64]string
	took  time.Duration
}

func (c *commandCounter) started(_ context.Context, e *event.CommandStartedEvent) {
	if e.DatabaseName != c.db {
		return
	}
	coll := ""
	if v, err := e.Command.LookupErr(e.CommandName); err == nil {
		coll, _ = v.StringValueOK()
	}
	if e.CommandName == "find" || e.CommandName == "update" || e.CommandName == "delete" || e.CommandName == "count" || e.CommandName == "aggregate" {
		fmt.Println("CMD", e.Command.String())
	}
	c.mu.Lock()
	c.n[strings.TrimSpace(e.CommandName+" "+coll)]++
	c.names[e.RequestID] = e.DatabaseName
	c.mu.Unlock()
}

// finished adds the time the database took to answer a counted command.
func (c *commandCounter) finished(_ context.Context, e event.CommandFinishedEvent) {
	c.mu.Lock()
	if _, ok := c.names[e.RequestID]; ok {
		delete(c.names, e.RequestID)
		c.took += e.Duration
	}
	c.mu.Unlock()
}

// take returns the counts since the last take and the time the database
// took to answer them, and starts again from zero.
func (c *commandCounter) take() (map[string]int, time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	n, took := c.n, c.took
	c.n, c.took = map[string]int{}, 0
	return n, took
}

// writeCommands change documents; every other command only reads.
var writeCommands = []string{"insert", "update", "delete", "findAndModify"}

// stepCount is one desk step's database traffic.
type stepCount struct {
	step            string
	trips, writes   int
	byCommand       map[string]int
	single, inDB    time.Duration
	leaseReads      int
	unitReads       int
	pendingMarkers  int
	unitEventProbes int
}

func countStep(step string, n map[string]int, inDB, took time.Duration) stepCount {
	s := stepCount{step: step, byCommand: n, single: took, inDB: inDB}
	for k, v := range n {
		s.trips += v
		cmd, coll, _ := strings.Cut(k, " ")
		if slices.Contains(writeCommands, cmd) {
			s.writes += v
		}
		switch {
		case k == "find units":
			s.unitReads += v
		case k == "find unit_events":
			s.unitEventProbes += v
		case k == "find leases" || k == "find lease_events":
			s.leaseReads += v
		case coll == "pending_transitions":
			s.pendingMarkers += v
		}
	}
	return s
}

func (s stepCount) detail() string {
	keys := make([]string, 0, len(s.byCommand))
	for k := range s.byCommand {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s ×%d", k, s.byCommand[k])
	}
	return strings.Join(parts, ", ")
}

// deskRoundTripBudget is the most database commands (round trips) and
// write commands each desk step may send: TestDeskRoundTrips fails when a
// change adds some. docs/desk.md has the table these come from.
var deskRoundTripBudget = map[string][2]int{
	"check-out": {28, 12},
	"check-in":  {34, 16},
	"cleaning":  {7, 4},
}

// TestDeskRoundTrips counts, with a command monitor on the client, the
// database round trips and writes of one check-out → check-in → cleaning
// cycle on the embedded engine (run with -v for the table of docs/desk.md:
// go test ./rentals -run TestDeskRoundTrips -count=1 -v).
func TestDeskRoundTrips(t *testing.T) {
	ctx := context.Background()
	counter := &commandCounter{db: testenv.DBName(t.Name()), n: map[string]int{}, names: map[int64]string{}}
	client, err := mongo.Connect(options.Client().ApplyURI(testenv.MongoURI(t)).SetMaxPoolSize(4).
		SetMonitor(&event.CommandMonitor{Started: counter.started,
			Succeeded: func(ctx context.Context, e *event.CommandSucceededEvent) {
				counter.finished(ctx, e.CommandFinishedEvent)
			},
			Failed: func(ctx context.Context, e *event.CommandFailedEvent) { counter.finished(ctx, e.CommandFinishedEvent) }}))
	if err != nil {
		t.Fatal(err)
	}
	database := client.Database(counter.db)
	t.Cleanup(func() {
		_ = database.Drop(context.Background())
		_ = client.Disconnect(context.Background())
	})
	d := newDeskOn(t, database, nil)
	tag := d.unit(d.a1, d.wcA)
	r := d.renter(d.staffA1, d.a1, "王秀英")
	q, err := d.svc.QuoteFor(ctx, d.staffA1, QuoteRequest{RenterID: r.ID, ProductID: d.wcA, Days: 30})
	if err != nil {
		t.Fatal(err)
	}
	checklist := d.st.CleaningChecklist(d.wcA)
	var last []stepCount
	for cycle := range 3 {
		last = last[:0]
		counter.take()
		t0 := time.Now()
		l, err := d.checkout(d.staffA1, d.a1, tag, r, 30, cash(q.DueNowFen))
		if err != nil {
			t.Fatal(err)
		}
		n, inDB := counter.take()
		last = append(last, countStep("check-out", n, inDB, time.Since(t0)))
		t0 = time.Now()
		in, err := d.svc.Checkin(ctx, d.staffA1, CheckinRequest{UnitTag: tag, StationID: d.a1.ID, Outcome: OutcomeOK, RefundMethod: PayCash}, d.clerk)
		if err != nil {
			t.Fatal(err)
		}
		n, inDB = counter.take()
		last = append(last, countStep("check-in", n, inDB, time.Since(t0)))
		t0 = time.Now()
		u, err := d.st.Clean(ctx, d.staffA1, tag, stations.CleaningRecord{Method: "uv", Checklist: checklist}, d.clerk)
		if err != nil {
			t.Fatal(err)
		}
		n, inDB = counter.take()
		last = append(last, countStep("cleaning", n, inDB, time.Since(t0)))
		if in.ID != l.ID || in.State != LeaseClosed || u.State != stations.Available {
			t.Fatalf("cycle %d: lease %s %s, unit %s", cycle, in.ID, in.State, u.State)
		}
		d.consistent(l.ID)
		counter.take()
	}
	t.Logf("one cycle on %s (the last of 3; one desk, so times are without contention):", testenv.Backend())
	t.Logf("| step | round trips | writes | unit reads | unit log probes | lease reads | marker writes | time | of it in the database |")
	t.Logf("|---|---|---|---|---|---|---|---|---|")
	for _, s := range last {
		t.Logf("| %s | %d | %d | %d | %d | %d | %d | %s | %s |", s.step, s.trips, s.writes, s.unitReads, s.unitEventProbes,
			s.leaseReads, s.pendingMarkers, s.single.Round(100*time.Microsecond), s.inDB.Round(100*time.Microsecond))
	}
	for _, s := range last {
		t.Logf("%s: %s", s.step, s.detail())
	}
	for _, s := range last {
		b := deskRoundTripBudget[s.step]
		if s.trips > b[0] || s.writes > b[1] {
			t.Errorf("%s: %d round trips and %d writes, budget %d and %d (%s)", s.step, s.trips, s.writes, b[0], b[1], s.detail())
		}
	}
}
