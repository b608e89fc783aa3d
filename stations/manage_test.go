package stations

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"fuju/internal/db"
	"fuju/internal/l10n"
	"fuju/internal/tenancy"
)

// owners is a catalog stand-in for ProductOwner: product id → operator.
func owners(m map[string]string) ProductOwner {
	return func(id string) (string, bool) {
		op, ok := m[id]
		return op, ok
	}
}

// manageFixture adds a second operator, op-b, with one station to setup's.
func manageFixture(t *testing.T) (fixture, Station) {
	t.Helper()
	ctx := context.Background()
	f := setup(t)
	if _, err := f.svc.CreateOperator(ctx, Operator{ID: "op-b", Name: l10n.Text{Zh: "乙", En: "B"}}, tenancy.System); err != nil {
		t.Fatal(err)
	}
	stB, err := f.svc.CreateStationIn(ctx, tenancy.OperatorScope("op-b"), Station{ID: "b-1", Name: l10n.Text{Zh: "乙站", En: "B one"},
		Address: l10n.Text{Zh: "路", En: "Road"}, District: "macun", Lat: 35.25, Lng: 113.3, Hours: StandardHours(), Active: true}, tenancy.Actor{ID: "b"})
	if err != nil {
		t.Fatal(err)
	}
	return f, stB.Station
}

func TestManageTenancy(t *testing.T) {
	ctx := context.Background()
	f, stB := manageFixture(t)
	by := tenancy.Actor{ID: "a-admin"}
	prods := owners(map[string]string{"wc": "op-a", "wc-b": "op-b"})
	a, b := tenancy.OperatorScope("op-a"), tenancy.OperatorScope("op-b")
	staffB := tenancy.StaffScope("op-b", []string{stB.ID})
	u, err := f.svc.CreateUnitIn(ctx, a, Unit{Tag: "JZ-WC-0001", ProductID: "wc", StationID: f.st.ID}, prods, by)
	if err != nil {
		t.Fatal(err)
	}
	// Another operator's scope — admin or staff — finds nothing of A's.
	for name, scope := range map[string]tenancy.Scope{"admin B": b, "staff B": staffB, "nobody": {}} {
		if _, err := f.svc.StationIn(ctx, scope, f.st.ID); !errors.Is(err, ErrNotFound) {
			t.Errorf("%s: StationIn(A's) = %v", name, err)
		}
		if _, err := f.svc.UnitIn(ctx, scope, u.Tag); !errors.Is(err, ErrNotFound) {
			t.Errorf("%s: UnitIn(A's) = %v", name, err)
		}
		if _, err := f.svc.EditUnit(ctx, scope, u.Tag, UnitEdit{Condition: new("x")}, by); !errors.Is(err, ErrNotFound) {
			t.Errorf("%s: EditUnit(A's) = %v", name, err)
		}
		if _, err := f.svc.RetireUnitIn(ctx, scope, u.Tag, "gone", 0, by); !errors.Is(err, ErrNotFound) {
			t.Errorf("%s: RetireUnitIn(A's) = %v", name, err)
		}
		if _, err := f.svc.UpdateStationIn(ctx, scope, f.st, 0, by); !errors.Is(err, ErrNotFound) {
			t.Errorf("%s: UpdateStationIn(A's) = %v", name, err)
		}
		if _, err := f.svc.DeactivateStation(ctx, scope, f.st.ID, by); !errors.Is(err, ErrNotFound) {
			t.Errorf("%s: DeactivateStation(A's) = %v", name, err)
		}
		sts, _ := f.svc.StationsIn(ctx, scope)
		units, total, _ := f.svc.UnitsIn(ctx, scope, UnitFilter{OperatorID: "op-a"}, 0, 0)
		for _, st := range sts {
			if st.OperatorID == "op-a" {
				t.Errorf("%s lists A's station %s", name, st.ID)
			}
		}
		if len(units) != 0 || total != 0 {
			t.Errorf("%s lists A's units: %v", name, units)
		}
	}
	// B cannot put a unit at A's station, nor register A's product.
	if _, err := f.svc.CreateUnitIn(ctx, b, Unit{Tag: "JZ-WC-0002", ProductID: "wc-b", StationID: f.st.ID}, prods, by); !fieldIn(err, "station_id") {
		t.Errorf("B's unit at A's station: %v", err)
	}
	if _, err := f.svc.CreateUnitIn(ctx, b, Unit{Tag: "JZ-WC-0002", ProductID: "wc", StationID: stB.ID}, prods, by); !fieldIn(err, "product_id") {
		t.Errorf("B's unit of A's product: %v", err)
	}
	// Staff read their station but manage nothing.
	if _, err := f.svc.StationIn(ctx, staffB, stB.ID); err != nil {
		t.Errorf("staff read own station: %v", err)
	}
	if _, err := f.svc.UpdateStationIn(ctx, staffB, stB, 1, by); !errors.Is(err, ErrNotFound) {
		t.Errorf("staff edit own station: %v", err)
	}
	// The platform sees and manages everything.
	if sts, _ := f.svc.StationsIn(ctx, tenancy.PlatformScope); len(sts) != 3 {
		t.Errorf("platform sees %d stations", len(sts))
	}
	if _, err := f.svc.CreateStationIn(ctx, tenancy.PlatformScope, Station{Name: l10n.Text{Zh: "丙", En: "C"}, Address: l10n.Text{Zh: "路", En: "Rd"}, District: "macun",
		Lat: 35.2, Lng: 113.3, Hours: StandardHours()}, by); !fieldIn(err, "operator_id") {
		t.Errorf("platform creating a station without operator: %v", err)
	}
}

func TestStationVersions(t *testing.T) {
	ctx := context.Background()
	f, stB := manageFixture(t)
	b := tenancy.OperatorScope("op-b")
	by := tenancy.Actor{ID: "b"}
	got, err := f.svc.StationIn(ctx, b, stB.ID)
	if err != nil || got.Version != 1 {
		t.Fatalf("created station version %d, %v", got.Version, err)
	}
	edit := got.Station
	edit.Phone = "0391-1234567"
	saved, err := f.svc.UpdateStationIn(ctx, b, edit, 1, by)
	if err != nil || saved.Version != 2 || saved.Phone != "0391-1234567" {
		t.Fatalf("edit: %+v %v", saved, err)
	}
	// A second editor who also started from version 1 is refused.
	edit.Phone = "0391-7654321"
	if _, err := f.svc.UpdateStationIn(ctx, b, edit, 1, by); !errors.Is(err, ErrConflict) {
		t.Fatalf("stale edit: %v, want ErrConflict", err)
	}
	off, err := f.svc.DeactivateStation(ctx, b, stB.ID, by)
	if err != nil || off.Active || off.Version != 3 || off.Phone != "0391-1234567" {
		t.Fatalf("deactivate: %+v %v", off, err)
	}
	// A station created before versions were recorded starts at 0.
	if v, _ := f.svc.StationIn(ctx, tenancy.OperatorScope("op-a"), f.st.ID); v.Version != 0 {
		t.Errorf("legacy station version %d", v.Version)
	}
}

func TestEditAndRetireUnit(t *testing.T) {
	ctx := context.Background()
	f := setup(t)
	a := tenancy.OperatorScope("op-a")
	by := tenancy.Actor{ID: "a-admin", Name: "Admin"}
	u, err := f.svc.CreateUnitIn(ctx, a, Unit{Tag: "JZ-WC-0001", ProductID: "wc", StationID: f.st.ID, Condition: "new"},
		owners(map[string]string{"wc": "op-a"}), by)
	if err != nil {
		t.Fatal(err)
	}
	edited, err := f.svc.EditUnit(ctx, a, u.Tag, UnitEdit{Condition: new("scratch on frame"), AcquiredOn: new("2025-03-01"), Version: u.Seq}, by)
	if err != nil || edited.State != Available || edited.Seq != 2 || edited.Condition != "scratch on frame" || edited.AcquiredOn != "2025-03-01" {
		t.Fatalf("edit: %+v %v", edited, err)
	}
	if _, err := f.svc.EditUnit(ctx, a, u.Tag, UnitEdit{Condition: new("again"), Version: 1}, by); !errors.Is(err, ErrConflict) {
		t.Errorf("stale edit: %v", err)
	}
	if _, err := f.svc.EditUnit(ctx, a, u.Tag, UnitEdit{AcquiredOn: new("yesterday")}, by); !fieldIn(err, "acquired_on") {
		t.Errorf("bad date: %v", err)
	}
	same, err := f.svc.EditUnit(ctx, a, u.Tag, UnitEdit{Condition: new("scratch on frame")}, by)
	if err != nil || same.Seq != 2 {
		t.Errorf("no-op edit recorded an event: %+v %v", same, err)
	}
	hist, _ := f.svc.History(ctx, u.Tag)
	if len(hist) != 2 || hist[1].Kind != "edited" || hist[1].From != Available || hist[1].To != Available || hist[1].By.ID != "a-admin" {
		t.Errorf("history %+v", hist)
	}
	// A rented unit cannot be retired; a returned-to-service one can, with a reason.
	if _, err := f.svc.Move(ctx, u.Tag, Move{To: Rented, LeaseID: "l1", By: by}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.RetireUnitIn(ctx, a, u.Tag, "broken", 0, by); !errors.Is(err, ErrUnavailable) {
		t.Errorf("retire rented: %v", err)
	}
	u2, _ := f.svc.CreateUnitIn(ctx, a, Unit{Tag: "JZ-WC-0002", ProductID: "wc", StationID: f.st.ID}, owners(map[string]string{"wc": "op-a"}), by)
	if _, err := f.svc.RetireUnitIn(ctx, a, u2.Tag, " ", 0, by); !fieldIn(err, "reason") {
		t.Errorf("retire without reason: %v", err)
	}
	gone, err := f.svc.RetireUnitIn(ctx, a, u2.Tag, "frame cracked", u2.Seq, by)
	if err != nil || gone.State != Retired {
		t.Fatalf("retire: %+v %v", gone, err)
	}
}

// unitCSV makes an import file of n units at station st, numbered from first.
func unitCSV(n, first int, product, st, condition string) string {
	var b strings.Builder
	b.WriteString("tag,product_id,station_id,state,condition,acquired_on\n")
	for i := range n {
		fmt.Fprintf(&b, "JZ-WC-%05d,%s,%s,available,%s,2025-01-15\n", first+i, product, st, condition)
	}
	return b.String()
}

func TestImportUnits(t *testing.T) {
	ctx := context.Background()
	f, stB := manageFixture(t)
	a := tenancy.OperatorScope("op-a")
	by := tenancy.Actor{ID: "a-admin"}
	prods := owners(map[string]string{"wc": "op-a", "walker": "op-a", "wc-b": "op-b"})
	run := func(file string) ImportResult {
		t.Helper()
		rows, probs, err := ParseUnitCSV(strings.NewReader(file), 20000)
		if err != nil {
			t.Fatal(err)
		}
		job, err := f.svc.StartImport(ctx, a, len(rows)+len(probs), by)
		if err != nil {
			t.Fatal(err)
		}
		done, err := f.svc.RunImport(ctx, a, job, rows, probs, prods, by)
		if err != nil {
			t.Fatal(err)
		}
		stored, err := f.svc.ImportJob(ctx, a, job.ID)
		if err != nil || stored.Status != ImportDone || stored.Done != stored.Total || len(stored.Result.Tags) != len(done.Result.Tags) {
			t.Fatalf("stored job %+v %v", stored, err)
		}
		if _, err := f.svc.ImportJob(ctx, tenancy.OperatorScope("op-b"), job.ID); !errors.Is(err, ErrNotFound) {
			t.Errorf("op-b sees op-a's import: %v", err)
		}
		return done.Result
	}
	file := unitCSV(1000, 1, "wc", f.st.ID, "new")
	start := time.Now()
	res := run(file)
	t.Logf("1,000 new units imported in %v", time.Since(start))
	if res.Created != 1000 || res.Updated != 0 || res.Unchanged != 0 || len(res.Failed) != 0 || len(res.Tags) != 1000 {
		t.Fatalf("first run: %+v", res)
	}
	start = time.Now()
	res = run(file)
	t.Logf("1,000 unchanged units re-imported in %v", time.Since(start))
	if res.Created != 0 || res.Unchanged != 1000 || len(res.Failed) != 0 {
		t.Fatalf("re-run: created %d unchanged %d failed %v", res.Created, res.Unchanged, res.Failed)
	}
	if _, total, _ := f.svc.UnitsIn(ctx, a, UnitFilter{}, 0, 1); total != 1000 {
		t.Fatalf("%d units after two runs", total)
	}
	// Changed notes update; another product or station fails the row; bad
	// rows name their line and field; a new tag is still created.
	bad := "\ufefftag,product_id,station_id,condition,acquired_on\n" +
		"JZ-WC-00001,wc,st-1,scuffed,2025-01-15\n" + // line 2: updated
		"JZ-WC-00002,walker,st-1,new,2025-01-15\n" + // 3: other product
		"JZ-WC-00003,wc,st-2,new,2025-01-15\n" + // 4: other station
		"bad tag,wc,st-1,,\n" + // 5: tag format
		"JZ-WC-09001,wc,st-1,,31/12/2025\n" + // 6: date
		"JZ-WC-09002,nope,st-1,,\n" + // 7: unknown product
		"JZ-WC-09003,wc," + stB.ID + ",,\n" + // 8: another operator's station
		"JZ-WC-09004,wc-b,st-1,,\n" + // 9: another operator's product
		"JZ-WC-09005,wc,st-1,,\n" + // 10: created
		"JZ-WC-09005,wc,st-1,,\n" // 11: twice
	res = run(bad)
	want := []ImportProblem{{Line: 3, Field: "product_id"}, {Line: 4, Field: "station_id"}, {Line: 5, Field: "tag"},
		{Line: 6, Field: "acquired_on"}, {Line: 7, Field: "product_id"}, {Line: 8, Field: "station_id"}, {Line: 9, Field: "product_id"}, {Line: 11, Field: "tag"}}
	if res.Created != 1 || res.Updated != 1 || res.Unchanged != 0 || len(res.Failed) != len(want) {
		t.Fatalf("bad file: %+v", res)
	}
	for i, w := range want {
		if got := res.Failed[i]; got.Line != w.Line || got.Field != w.Field || got.Message == "" {
			t.Errorf("problem %d: %+v, want line %d field %s", i, got, w.Line, w.Field)
		}
	}
	if !strings.Contains(res.Failed[1].Message, "transfer") {
		t.Errorf("other station message %q", res.Failed[1].Message)
	}
	if u, _ := f.svc.UnitIn(ctx, a, "JZ-WC-00001"); u.Condition != "scuffed" {
		t.Errorf("updated condition %q", u.Condition)
	}
	if strings.Join(res.Tags, " ") != "JZ-WC-00001 JZ-WC-09005" {
		t.Errorf("label tags %v", res.Tags)
	}
}

func TestImportInterrupted(t *testing.T) {
	now := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		status string
		beat   time.Duration
		want   bool
	}{
		{ImportRunning, time.Minute, false},
		{ImportRunning, ImportStale + time.Second, true},
		{ImportDone, time.Hour, false},
		{ImportFailed, time.Hour, false},
	} {
		j := ImportJob{Status: tt.status, HeartbeatAt: now.Add(-tt.beat)}
		if got := j.Interrupted(now); got != tt.want {
			t.Errorf("%s, heartbeat %v ago: interrupted %v", tt.status, tt.beat, got)
		}
	}
}

func TestParseUnitCSV(t *testing.T) {
	for _, tt := range []struct{ name, file, field string }{
		{"empty", "", "file"},
		{"no header", "JZ-WC-0001,wc,st-1\n", "file"},
		{"missing column", "tag,product_id\nJZ-WC-0001,wc\n", "file"},
		{"unknown column", "tag,product_id,station_id,colour\n", "file"},
		{"broken quotes", "tag,product_id,station_id\n\"JZ-WC-0001,wc,st-1\n", "file"},
	} {
		_, _, err := ParseUnitCSV(strings.NewReader(tt.file), 10)
		if !fieldIn(err, tt.field) {
			t.Errorf("%s: %v", tt.name, err)
		}
	}
	// Cells are read as people type them: dates with slashes or 年月日,
	// full-width tags.
	rows, probs, err := ParseUnitCSV(strings.NewReader("tag,product_id,station_id,acquired_on\nｊｚ－ｗｃ－０００１,wc,st-1,2026/3/4\nJZ-WC-0002,wc,st-1,2026年11月20日\n"), 10)
	if err != nil || len(probs) != 0 || len(rows) != 2 || rows[0].Unit.Tag != "JZ-WC-0001" || rows[0].Unit.AcquiredOn != "2026-03-04" || rows[1].Unit.AcquiredOn != "2026-11-20" {
		t.Errorf("loosely typed rows: %+v %+v %v", rows, probs, err)
	}
	if _, _, err := ParseUnitCSV(strings.NewReader(unitCSV(11, 1, "wc", "st-1", "")), 10); !errors.Is(err, ErrTooManyRows) {
		t.Errorf("11 rows with a limit of 10: %v", err)
	}
}

// BenchmarkImportUnits measures imports of 1,000 and 5,000 rows: new units
// (bulk inserts, ImportBatch at a time) and a re-run where every unit exists,
// which reads each by _id; it compares reading them one at a time, with
// unitLookupWorkers at once, and with one scan by operator. Run with
//
//	go test ./stations -run '^$' -bench ImportUnits -benchtime 1x
func BenchmarkImportUnits(b *testing.B) {
	for _, n := range []int{1000, 5000} {
		b.Run(fmt.Sprintf("rows=%d", n), func(b *testing.B) {
			ctx := context.Background()
			// Its own embedded engine, so it can be tuned as the service
			// tunes it (db.Tune indexes lookups by _id).
			d, err := db.Open(ctx, db.Config{DataDir: b.TempDir(), Name: "bench", Logger: slog.New(slog.DiscardHandler)})
			if err != nil {
				b.Fatal(err)
			}
			defer d.Close(ctx)
			svc := NewService(d.Database, nil, nil, nil)
			if err := svc.Init(ctx); err != nil {
				b.Fatal(err)
			}
			if _, err := svc.CreateOperator(ctx, Operator{ID: "op-a", Name: l10n.Text{Zh: "甲", En: "A"}}, tenancy.System); err != nil {
				b.Fatal(err)
			}
			if _, err := svc.CreateStation(ctx, Station{ID: "st-1", OperatorID: "op-a", Name: l10n.Text{Zh: "站", En: "St"}, Address: l10n.Text{Zh: "路", En: "Rd"},
				District: "jiefang", Lat: 35.24, Lng: 113.22, Hours: StandardHours(), Active: true}); err != nil {
				b.Fatal(err)
			}
			if _, err := svc.StartImport(ctx, tenancy.OperatorScope("op-a"), 0, tenancy.Actor{}); err != nil {
				b.Fatal(err)
			}
			if err := d.Tune(ctx); err != nil {
				b.Fatal(err)
			}
			rows, _, err := ParseUnitCSV(strings.NewReader(unitCSV(n, 1, "wc", "st-1", "new")), 20000)
			if err != nil {
				b.Fatal(err)
			}
			scope, by, prods := tenancy.OperatorScope("op-a"), tenancy.Actor{ID: "bench"}, owners(map[string]string{"wc": "op-a"})
			timed := func(name string, f func() error) {
				start := time.Now()
				if err := f(); err != nil {
					b.Fatal(err)
				}
				d := time.Since(start)
				b.ReportMetric(float64(d.Milliseconds()), name+"-ms")
				b.Logf("%d rows, %s: %v (%.0f rows/s)", n, name, d, float64(n)/d.Seconds())
			}
			for b.Loop() {
				timed("create", func() error {
					res, err := svc.ImportUnits(ctx, scope, rows, prods, by, nil)
					if err == nil && res.Created != n {
						err = fmt.Errorf("created %d", res.Created)
					}
					return err
				})
				timed("rerun", func() error {
					res, err := svc.ImportUnits(ctx, scope, rows, prods, by, nil)
					if err == nil && res.Unchanged != n {
						err = fmt.Errorf("unchanged %d", res.Unchanged)
					}
					return err
				})
				timed("existing-units", func() error {
					_, err := svc.existingUnits(ctx, scope, rows)
					return err
				})
				for _, w := range []int{1, unitLookupWorkers, 16} {
					timed(fmt.Sprintf("lookup-%d-workers", w), func() error {
						_, err := svc.unitsByTag(ctx, rows, w)
						return err
					})
				}
				timed("lookup-one-scan", func() error {
					_, _, err := svc.store.listUnits(ctx, UnitFilter{OperatorID: "op-a"}, 0, 0)
					return err
				})
			}
		})
	}
}
