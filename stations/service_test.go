package stations

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"fuju/internal/changefeed"
	"fuju/internal/l10n"
	"fuju/internal/tenancy"
	"fuju/internal/testenv"
	"fuju/internal/valid"
)

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }

func fieldIn(err error, field string) bool {
	f, ok := valid.Fields(err)
	_, has := f[field]
	return ok && has
}

type fixture struct {
	svc  *Service
	feed *changefeed.Feed
	op   Operator
	st   Station
	st2  Station
}

func setup(t *testing.T) fixture {
	t.Helper()
	ctx := context.Background()
	db := testenv.DB(t)
	feed := changefeed.New(db, "catalog", nil)
	svc := NewService(db, feed, nil, nil)
	if err := svc.Init(ctx); err != nil {
		t.Fatal(err)
	}
	op, err := svc.CreateOperator(ctx, Operator{ID: "op-a", Name: l10n.Text{Zh: "甲", En: "A"}}, tenancy.System)
	if err != nil {
		t.Fatal(err)
	}
	mk := func(id string) Station {
		st, err := svc.CreateStation(ctx, Station{ID: id, OperatorID: op.ID, Name: l10n.Text{Zh: "站" + id, En: "Station " + id},
			Address: l10n.Text{Zh: "路", En: "Road"}, District: "jiefang", Lat: 35.24, Lng: 113.22, Hours: StandardHours(), Active: true})
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	return fixture{svc: svc, feed: feed, op: op, st: mk("st-1"), st2: mk("st-2")}
}

func TestUnitLifecycleAndIndex(t *testing.T) {
	ctx := context.Background()
	f := setup(t)
	by := tenancy.Actor{ID: "u1", Name: "Li", Role: "staff"}
	u, err := f.svc.CreateUnit(ctx, Unit{Tag: " jz-wc-0001 ", ProductID: "wc", StationID: f.st.ID}, by)
	if err != nil {
		t.Fatal(err)
	}
	if u.Tag != "JZ-WC-0001" || u.State != Available || u.OperatorID != "op-a" {
		t.Fatalf("created %+v", u)
	}
	if _, err := f.svc.CreateUnit(ctx, Unit{Tag: "JZ-WC-0001", ProductID: "wc", StationID: f.st.ID}, by); !errors.Is(err, ErrConflict) {
		t.Fatalf("duplicate tag: %v, want ErrConflict", err)
	}
	if got := f.svc.Index().Inventory(f.st.ID)["wc"]; got.Available != 1 || got.Total != 1 {
		t.Fatalf("inventory after create = %+v", got)
	}
	steps := []Move{
		{To: Rented, Kind: "checkout", LeaseID: "L1", By: by},
		{To: Returned, Kind: "checkin", StationID: f.st2.ID, By: by},
		{To: Cleaning, By: by},
		{To: Available, Kind: "cleaned", By: by, Details: map[string]string{"method": "uv"}},
	}
	for _, m := range steps {
		if u, err = f.svc.Move(ctx, u.Tag, m); err != nil {
			t.Fatalf("move to %s: %v", m.To, err)
		}
	}
	if u.StationID != f.st2.ID || u.LeaseID != "" || u.Seq != 5 {
		t.Fatalf("after cycle %+v", u)
	}
	if _, err := f.svc.Move(ctx, u.Tag, Move{To: Returned, By: by}); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("available → returned: %v, want ErrUnavailable", err)
	}
	hist, err := f.svc.History(ctx, u.Tag)
	if err != nil {
		t.Fatal(err)
	}
	wantKinds := []string{"created", "checkout", "checkin", "moved", "cleaned"}
	if len(hist) != len(wantKinds) {
		t.Fatalf("history has %d entries: %+v", len(hist), hist)
	}
	for i, k := range wantKinds {
		if hist[i].Kind != k || hist[i].By.ID == "" {
			t.Errorf("history[%d] = %+v, want kind %s with actor", i, hist[i], k)
		}
	}
	if hist[1].From != Available || hist[1].To != Rented || hist[1].LeaseID != "L1" {
		t.Errorf("checkout entry %+v", hist[1])
	}
	ix := f.svc.Index()
	if ix.Inventory(f.st.ID)["wc"].Total != 0 || ix.Inventory(f.st2.ID)["wc"].Available != 1 {
		t.Errorf("index after move: st1 %+v st2 %+v", ix.Inventory(f.st.ID), ix.Inventory(f.st2.ID))
	}
	// A second instance on the same database converges through the feed.
	other := NewService(f.svc.store.units.Database(), nil, nil, nil)
	feed2 := changefeed.New(f.svc.store.units.Database(), "catalog", nil)
	feed2.Handle("unit", other.ApplyUnit)
	if err := feed2.Mark(ctx); err != nil {
		t.Fatal(err)
	}
	if err := other.Rebuild(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Move(ctx, u.Tag, Move{To: Rented, LeaseID: "L2", By: by}); err != nil {
		t.Fatal(err)
	}
	if n := other.Index().AvailableAt("wc")[f.st2.ID]; n != 1 {
		t.Fatalf("other instance before sync: %d", n)
	}
	if err := feed2.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if n := other.Index().AvailableAt("wc")[f.st2.ID]; n != 0 {
		t.Fatalf("other instance after sync still shows %d available", n)
	}
}

// Invariant 1 at the unit level: N movers racing for the last unit, one wins.
func TestMoveRaceOneWinner(t *testing.T) {
	ctx := context.Background()
	f := setup(t)
	u, err := f.svc.CreateUnit(ctx, Unit{Tag: "JZ-WK-0001", ProductID: "walker", StationID: f.st.ID}, tenancy.System)
	if err != nil {
		t.Fatal(err)
	}
	const n = 50
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		wins []string
		lost int
	)
	start := make(chan struct{})
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			lease := fmt.Sprintf("L%d", i)
			_, err := f.svc.Move(ctx, u.Tag, Move{To: Rented, LeaseID: lease, By: tenancy.System})
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				wins = append(wins, lease)
			case errors.Is(err, ErrUnavailable):
				lost++
			default:
				t.Errorf("unexpected: %v", err)
			}
		}()
	}
	close(start)
	wg.Wait()
	if len(wins) != 1 || lost != n-1 {
		t.Fatalf("%d winners %v, %d refused", len(wins), wins, lost)
	}
	got, err := f.svc.Unit(ctx, u.Tag)
	if err != nil || got.LeaseID != wins[0] || got.State != Rented {
		t.Fatalf("unit %+v, %v; want rented to %s", got, err, wins[0])
	}
	hist, _ := f.svc.History(ctx, u.Tag)
	if len(hist) != 2 {
		t.Fatalf("history has %d entries, want created + one checkout", len(hist))
	}
}

// Invariant 3: a crash between the event and the projection is repaired.
func TestReconcileAfterCrash(t *testing.T) {
	ctx := context.Background()
	f := setup(t)
	crashed := errors.New("crash")
	f.svc.crash = func(p string) error { return crashed }
	if _, err := f.svc.CreateUnit(ctx, Unit{Tag: "JZ-CN-0001", ProductID: "cane", StationID: f.st.ID}, tenancy.System); !errors.Is(err, crashed) {
		t.Fatalf("create with crash: %v", err)
	}
	f.svc.crash = nil
	u, err := f.svc.CreateUnit(ctx, Unit{Tag: "JZ-CN-0002", ProductID: "cane", StationID: f.st.ID}, tenancy.System)
	if err != nil {
		t.Fatal(err)
	}
	f.svc.crash = func(p string) error { return crashed }
	if _, err := f.svc.Move(ctx, u.Tag, Move{To: Repair, By: tenancy.System}); !errors.Is(err, crashed) {
		t.Fatalf("move with crash: %v", err)
	}
	f.svc.crash = nil
	stored, _ := f.svc.store.unit(ctx, u.Tag)
	if stored.State != Available {
		t.Fatalf("projection moved despite crash: %+v", stored)
	}
	// Decisions read the log, not the stale projection.
	if _, err := f.svc.Move(ctx, u.Tag, Move{To: Rented, By: tenancy.System}); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("rent a unit in repair: %v", err)
	}
	n, err := f.svc.Reconcile(ctx, -time.Second)
	if err != nil || n != 2 {
		t.Fatalf("Reconcile = %d, %v; want 2 fixed", n, err)
	}
	stored, _ = f.svc.store.unit(ctx, u.Tag)
	if stored.State != Repair || stored.Seq != 2 {
		t.Fatalf("projection after reconcile %+v", stored)
	}
	hist, err := f.svc.History(ctx, "JZ-CN-0001")
	if err != nil || len(hist) != 1 || hist[0].Kind != "created" {
		t.Fatalf("missing creation event not written: %+v %v", hist, err)
	}
	if n, _ := f.svc.Reconcile(ctx, -time.Second); n != 0 {
		t.Fatalf("second reconcile fixed %d", n)
	}
}

func TestCreateUnitValidation(t *testing.T) {
	ctx := context.Background()
	f := setup(t)
	_, err := f.svc.CreateUnit(ctx, Unit{Tag: "bad tag", StationID: f.st.ID, AcquiredOn: "yesterday", State: Rented}, tenancy.System)
	for _, field := range []string{"tag", "product_id", "acquired_on", "state"} {
		if !fieldIn(err, field) {
			t.Errorf("no error for %s: %v", field, err)
		}
	}
	if _, err := f.svc.CreateUnit(ctx, Unit{Tag: "JZ-WC-0009", ProductID: "wc", StationID: "nowhere"}, tenancy.System); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown station: %v", err)
	}
	if _, err := f.svc.CreateUnit(ctx, Unit{Tag: "JZ-WC-0009", ProductID: "wc", StationID: f.st.ID, OperatorID: "op-b"}, tenancy.System); !errors.Is(err, ErrNotFound) {
		t.Errorf("other operator's station: %v", err)
	}
}

func TestCreateUnitsInBulk(t *testing.T) {
	ctx := context.Background()
	f := setup(t)
	if _, err := f.svc.CreateUnit(ctx, Unit{Tag: "JZ-WC-0002", ProductID: "wc", StationID: f.st.ID}, tenancy.System); err != nil {
		t.Fatal(err)
	}
	units := []Unit{
		{Tag: "JZ-WC-0001", ProductID: "wc", StationID: f.st.ID},
		{Tag: "JZ-WC-0002", ProductID: "wc", StationID: f.st.ID},     // taken
		{Tag: "nope", ProductID: "wc", StationID: f.st.ID},           // invalid
		{Tag: "JZ-WC-0003", ProductID: "wc", StationID: "elsewhere"}, // unknown station
		{Tag: "jz-wc-0004", ProductID: "wc", StationID: f.st2.ID, State: Cleaning},
	}
	errs, err := f.svc.CreateUnits(ctx, units, tenancy.System)
	if err != nil {
		t.Fatal(err)
	}
	if errs[0] != nil || !errors.Is(errs[1], ErrConflict) || !errors.Is(errs[2], valid.ErrInvalid) || !errors.Is(errs[3], ErrNotFound) || errs[4] != nil {
		t.Fatalf("per-unit errors %v", errs)
	}
	for _, tag := range []string{"JZ-WC-0001", "JZ-WC-0004"} {
		hist, err := f.svc.History(ctx, tag)
		if err != nil || len(hist) != 1 || hist[0].Kind != "created" {
			t.Errorf("%s history %+v %v", tag, hist, err)
		}
	}
	if inv := f.svc.Index().Inventory(f.st.ID)["wc"]; inv.Available != 2 {
		t.Errorf("index after import %+v", inv)
	}
	// Crash between the projections and the events: the reconciler writes
	// the missing creation events.
	f.svc.crash = func(string) error { return errors.New("crash") }
	if _, err := f.svc.CreateUnits(ctx, []Unit{{Tag: "JZ-WC-0009", ProductID: "wc", StationID: f.st.ID}}, tenancy.System); err == nil {
		t.Fatal("crash not injected")
	}
	f.svc.crash = nil
	if n, err := f.svc.Reconcile(ctx, -time.Second); err != nil || n != 1 {
		t.Fatalf("reconcile %d %v", n, err)
	}
	if hist, _ := f.svc.History(ctx, "JZ-WC-0009"); len(hist) != 1 {
		t.Errorf("creation event not repaired: %+v", hist)
	}
}
