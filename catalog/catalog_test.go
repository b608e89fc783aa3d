package catalog

import (
	"context"
	"errors"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"

	"fuju/internal/changefeed"
	"fuju/internal/geo"
	"fuju/internal/l10n"
	"fuju/internal/tenancy"
	"fuju/internal/testenv"
	"fuju/internal/valid"
	"fuju/stations"
)

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }

type fixture struct {
	cat *Service
	st  *stations.Service
}

// setup builds a tiny city: two stations 10 km apart, three products.
func setup(t *testing.T) fixture {
	t.Helper()
	ctx := context.Background()
	db := testenv.DB(t)
	feed := changefeed.New(db, "catalog", nil)
	st := stations.NewService(db, feed, nil, nil)
	cat := NewService(db, st.Index(), feed, nil, nil)
	if err := st.Init(ctx); err != nil {
		t.Fatal(err)
	}
	if err := cat.Init(ctx); err != nil {
		t.Fatal(err)
	}
	op, err := st.CreateOperator(ctx, stations.Operator{ID: "op-a", Name: l10n.Text{Zh: "甲", En: "A"}}, tenancy.System)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []stations.Station{
		{ID: "north", Lat: 35.30, Lng: 113.24},
		{ID: "south", Lat: 35.21, Lng: 113.24},
	} {
		s.OperatorID, s.Name, s.Address, s.District, s.Hours, s.Active = op.ID, l10n.Text{Zh: "站", En: "S"}, l10n.Text{Zh: "路", En: "Rd"}, "jiefang", stations.StandardHours(), true
		if _, err := st.CreateStation(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	products := []Product{
		{ID: "wc-light", Category: "manual_wheelchair", Name: Text{Zh: "轻便折叠轮椅", En: "Lightweight folding wheelchair"},
			Keywords: []string{"折叠", "travel"}, Specs: Specs{Foldable: true, SeatWidthCM: 46}, Rate: RatePlan{DailyFen: 500, Block30Fen: 9000, DepositFen: 30000}},
		{ID: "walker-basic", Category: "walker", Name: Text{Zh: "四脚助行架", En: "Four-leg walker"},
			Keywords: []string{"老人"}, Rate: RatePlan{DailyFen: 200, Block30Fen: 3000, DepositFen: 5000}},
		{ID: "bed-electric", Category: "hospital_bed", Name: Text{Zh: "电动护理床", En: "Electric hospital bed"},
			Description: Text{Zh: "三功能", En: "three functions, folding rails"}, Rate: RatePlan{DailyFen: 2000, Block30Fen: 45000, DepositFen: 100000}},
		{ID: "secret", Category: "cane", Name: Text{Zh: "隐藏手杖", En: "Hidden cane"}, Status: Hidden, Rate: RatePlan{DailyFen: 100}},
	}
	for _, p := range products {
		p.OperatorID = op.ID
		if _, err := cat.Create(ctx, tenancy.PlatformScope, p, tenancy.System); err != nil {
			t.Fatal(err)
		}
	}
	units := []struct{ tag, product, station string }{
		{"JZ-WC-0001", "wc-light", "north"},
		{"JZ-WC-0002", "wc-light", "south"},
		{"JZ-WK-0001", "walker-basic", "north"},
		{"JZ-BD-0001", "bed-electric", "north"},
	}
	for _, u := range units {
		if _, err := st.CreateUnit(ctx, stations.Unit{Tag: u.tag, ProductID: u.product, StationID: u.station}, tenancy.System); err != nil {
			t.Fatal(err)
		}
	}
	// The bed is being cleaned: carried at north but not available.
	if _, err := st.Move(ctx, "JZ-BD-0001", stations.Move{To: stations.Cleaning, By: tenancy.System}); err != nil {
		t.Fatal(err)
	}
	return fixture{cat: cat, st: st}
}

func hitIDs(r Result) []string {
	out := []string{}
	for _, h := range r.Hits {
		out = append(out, h.Product.ID)
	}
	return out
}

func TestSearch(t *testing.T) {
	f := setup(t)
	near := func(lat, lng float64) *geo.Point { return &geo.Point{Lat: lat, Lng: lng} }
	tests := []struct {
		name  string
		q     Query
		want  string
		total int
	}{
		{"everything active", Query{}, "wc-light walker-basic bed-electric", 3},
		{"chinese name", Query{Text: "轮椅"}, "wc-light", 1},
		{"english, any case", Query{Text: "WALKER"}, "walker-basic", 1},
		{"keyword", Query{Text: "travel"}, "wc-light", 1},
		{"a name match hides description-only matches", Query{Text: "folding"}, "wc-light", 1},
		{"the description when nothing better matches", Query{Text: "rails"}, "bed-electric", 1},
		{"all terms must match", Query{Text: "folding bed"}, "bed-electric", 1},
		{"category", Query{Category: "walker"}, "walker-basic", 1},
		{"foldable", Query{Foldable: true}, "wc-light", 1},
		{"available now drops the bed", Query{AvailableNow: true}, "wc-light walker-basic", 2},
		{"station carries", Query{Station: "north"}, "wc-light walker-basic bed-electric", 3},
		{"station available", Query{Station: "south", AvailableNow: true}, "wc-light", 1},
		{"price ceiling", Query{MaxMonthFen: 9000}, "wc-light walker-basic", 2},
		{"sort by price", Query{Sort: ByPrice}, "walker-basic wc-light bed-electric", 3},
		{"sort by distance from south", Query{Sort: ByDistance, Near: near(35.20, 113.24)}, "wc-light walker-basic bed-electric", 3},
		{"paging", Query{Sort: ByPrice, Page: 2, PerPage: 2}, "bed-electric", 3},
		{"page past the end", Query{Page: 9}, "", 3},
		// Hostile text: neither an error nor a match-everything.
		{"regex meta", Query{Text: ".*"}, "", 0},
		{"paren", Query{Text: "("}, "", 0},
		{"operator", Query{Text: "$ne"}, "", 0},
		{"long", Query{Text: strings.Repeat("轮", 2000)}, "", 0},
		{"hidden stays hidden", Query{Text: "Hidden"}, "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := f.cat.Search(tt.q)
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(hitIDs(r), " "); got != tt.want || r.Total != tt.total {
				t.Errorf("got %q (total %d), want %q (total %d)", got, r.Total, tt.want, tt.total)
			}
		})
	}
}

func TestSearchHitDetails(t *testing.T) {
	f := setup(t)
	r, err := f.cat.Search(Query{Text: "wheelchair", Near: &geo.Point{Lat: 35.20, Lng: 113.24},
		Price: func(r RatePlan, days int) int64 { return r.StandardPrice(days) * 2 / 10 }})
	if err != nil {
		t.Fatal(err)
	}
	h := r.Hits[0]
	if h.Available != 2 || h.Stations != 2 || h.NearestStation != "south" || h.NearestKM < 1 || h.NearestKM > 1.2 {
		t.Errorf("hit %+v", h)
	}
	if h.DayFen != 100 || h.MonthFen != 1800 {
		t.Errorf("renter prices day %d month %d, want 100 and 1800", h.DayFen, h.MonthFen)
	}
}

func TestSearchRejects(t *testing.T) {
	f := setup(t)
	for _, tt := range []struct {
		q     Query
		field string
	}{
		{Query{Page: -1}, "page"},
		{Query{PerPage: -5}, "per_page"},
		{Query{Category: "jetpack"}, "category"},
		{Query{Sort: "random"}, "sort"},
		{Query{Sort: ByDistance}, "sort"},
		{Query{Station: "atlantis"}, "station"},
		{Query{MaxMonthFen: -1}, "max_month_fen"},
	} {
		_, err := f.cat.Search(tt.q)
		fields, ok := valid.Fields(err)
		if _, has := fields[tt.field]; !ok || !has {
			t.Errorf("%+v: %v, want a %s error", tt.q, err, tt.field)
		}
	}
	r, err := f.cat.Search(Query{PerPage: 100000})
	if err != nil || r.PerPage != MaxPerPage {
		t.Errorf("per_page 100000: %v, %d; want capped to %d", err, r.PerPage, MaxPerPage)
	}
}

func TestProductValidationAndUpdate(t *testing.T) {
	ctx := context.Background()
	f := setup(t)
	_, err := f.cat.Create(ctx, tenancy.PlatformScope, Product{OperatorID: "op-a", Category: "jetpack", Name: Text{Zh: "", En: "x"},
		Specs: Specs{SeatWidthCM: 900}, Rate: RatePlan{DailyFen: -1}, Keywords: []string{strings.Repeat("k", 50)}}, tenancy.System)
	for _, field := range []string{"category", "name.zh", "specs.seat_width_cm", "rate.daily_fen", "keywords"} {
		fields, _ := valid.Fields(err)
		if _, ok := fields[field]; !ok {
			t.Errorf("no error for %s: %v", field, err)
		}
	}
	if _, err := f.cat.Create(ctx, tenancy.PlatformScope, Product{ID: "wc-light", OperatorID: "op-a", Category: "cane", Name: Text{Zh: "a", En: "b"}, Rate: RatePlan{DailyFen: 1}}, tenancy.System); !errors.Is(err, ErrConflict) {
		t.Errorf("duplicate id: %v", err)
	}
	scopeA := tenancy.OperatorScope("op-a")
	p, err := f.cat.Get(ctx, scopeA, "wc-light")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.cat.Get(ctx, tenancy.OperatorScope("op-b"), "wc-light"); !errors.Is(err, ErrNotFound) {
		t.Errorf("another operator reads the product: %v", err)
	}
	p.Status = Hidden
	if _, err := f.cat.Update(ctx, scopeA, p, tenancy.System); err != nil {
		t.Fatal(err)
	}
	if _, ok := f.cat.Public("wc-light"); ok {
		t.Error("hidden product still public")
	}
	if _, err := f.cat.Update(ctx, scopeA, p, tenancy.System); !errors.Is(err, ErrConflict) {
		t.Errorf("update from a stale version: %v, want ErrConflict", err)
	}
	if _, err := f.cat.Update(ctx, tenancy.OperatorScope("op-b"), p, tenancy.System); !errors.Is(err, ErrNotFound) {
		t.Errorf("update by another operator: %v, want ErrNotFound", err)
	}
	counts := f.cat.CategoryCounts()
	if counts[0].ID != "manual_wheelchair" || counts[0].Products != 0 {
		t.Errorf("category counts %+v", counts[0])
	}
}

func TestPhotosAndHistory(t *testing.T) {
	ctx := context.Background()
	f := setup(t)
	scope := tenancy.OperatorScope("op-a")
	by := tenancy.Actor{ID: "u1", Name: "Wang", Role: "operator_admin"}
	ph := func(k string) Photo {
		return Photo{Key: k, Alt: Text{Zh: "图" + k, En: "photo " + k}, Widths: []int{320, 800}}
	}
	// Concurrent adds of different photos all land; a doubled add lands once.
	var wg sync.WaitGroup
	for _, k := range []string{"a", "b", "c", "a"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := f.cat.AddPhoto(ctx, scope, "wc-light", ph(k), by); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	p, err := f.cat.Get(ctx, scope, "wc-light")
	if err != nil || len(p.Photos) != 3 {
		t.Fatalf("photos after concurrent adds: %+v", p.Photos)
	}
	if _, err := f.cat.ReorderPhotos(ctx, scope, "wc-light", []string{"c", "a"}, by); !fieldIs(err, "keys") {
		t.Errorf("incomplete order: %v", err)
	}
	if p, err = f.cat.ReorderPhotos(ctx, scope, "wc-light", []string{"c", "a", "b"}, by); err != nil || p.Photos[0].Key != "c" {
		t.Fatalf("reorder: %v %+v", err, p.Photos)
	}
	if p, err = f.cat.SetPhotoAlt(ctx, scope, "wc-light", "a", Text{Zh: "侧面", En: "Side view"}, by); err != nil || p.Photos[1].Alt.En != "Side view" {
		t.Fatalf("alt: %v %+v", err, p.Photos)
	}
	if _, err := f.cat.SetPhotoAlt(ctx, scope, "wc-light", "zzz", Text{}, by); !errors.Is(err, ErrNotFound) {
		t.Errorf("alt of a missing photo: %v", err)
	}
	// Another product shares photo "b": removing it here leaves it in use.
	if _, err := f.cat.AddPhoto(ctx, scope, "walker-basic", ph("b"), by); err != nil {
		t.Fatal(err)
	}
	_, inUse, err := f.cat.RemovePhoto(ctx, scope, "wc-light", "b", by)
	if err != nil || !inUse {
		t.Fatalf("remove shared photo: %v in use %v", err, inUse)
	}
	_, inUse, _ = f.cat.RemovePhoto(ctx, scope, "walker-basic", "b", by)
	if inUse {
		t.Error("photo b still reported in use")
	}
	if _, err := f.cat.AddPhoto(ctx, tenancy.OperatorScope("op-b"), "wc-light", ph("x"), by); !errors.Is(err, ErrNotFound) {
		t.Errorf("other operator adds a photo: %v", err)
	}
	hist, err := f.cat.History(ctx, scope, "wc-light")
	if err != nil {
		t.Fatal(err)
	}
	if hist[0].Kind != "created" || hist[len(hist)-1].Kind != "photo_removed" || hist[len(hist)-1].By.ID != "u1" || int64(len(hist)) != hist[len(hist)-1].Version {
		t.Errorf("history %+v", hist)
	}
	if pub, _ := f.cat.Public("wc-light"); len(pub.Photos) != 2 || pub.Photos[0].Key != "c" {
		t.Errorf("read model photos %+v", pub.Photos)
	}
}

func fieldIs(err error, field string) bool {
	fields, _ := valid.Fields(err)
	_, ok := fields[field]
	return ok
}

// Each category has its own cleaning checklist, naming only parts a device of
// that kind has.
func TestCleaningChecklists(t *testing.T) {
	for _, c := range Categories {
		checks := CleaningChecklist(c.ID)
		if len(checks) < 3 || checks[len(checks)-1] != CheckLabels {
			t.Errorf("%s: checklist %v (at least three checks, the asset label last)", c.ID, checks)
		}
		seen := map[string]bool{}
		for _, k := range checks {
			if seen[k] {
				t.Errorf("%s: %s twice", c.ID, k)
			}
			seen[k] = true
		}
	}
	has := func(cat, check string) bool { return slices.Contains(CleaningChecklist(cat), check) }
	for _, tc := range []struct {
		category, check string
		want            bool
	}{
		{"manual_wheelchair", CheckSeat, true},
		{"manual_wheelchair", CheckWheelsBrakes, true},
		{"walker", CheckSeat, false},
		{"walker", CheckWheelsBrakes, false},
		{"walker", CheckRubberTips, true},
		{"rollator", CheckWheelsBrakes, true},
		{"cane", CheckFrame, false},
		{"pressure_mattress", CheckFrame, false},
		{"electric_wheelchair", CheckBatteryCharge, true},
	} {
		if got := has(tc.category, tc.check); got != tc.want {
			t.Errorf("%s has %s: %v, want %v", tc.category, tc.check, got, tc.want)
		}
	}
	// A caller changing the list it got does not change the category's.
	CleaningChecklist("walker")[0] = "x"
	if CleaningChecklist("walker")[0] != CheckFrame {
		t.Error("the walker's checklist was changed through a returned slice")
	}
	if got := CleaningChecklist("jetpack"); !slices.Equal(got, genericChecks) {
		t.Errorf("unknown category: %v", got)
	}
	f := setup(t)
	if got := f.cat.CleaningChecklistOf("walker-basic"); !slices.Equal(got, CleaningChecklist("walker")) {
		t.Errorf("walker product: %v", got)
	}
}

// TestReadableIDs: a new listing's id is a slug of its name (or its category
// when the name is Chinese only), numbered when taken, unique even when many
// listings of one name are created at once; Named finds listings by name.
func TestReadableIDs(t *testing.T) {
	ctx := context.Background()
	f := setup(t)
	mk := func(zh, en, cat string) Product {
		t.Helper()
		p, err := f.cat.Create(ctx, tenancy.PlatformScope, Product{OperatorID: "op-a", Category: cat,
			Name: Text{Zh: zh, En: en}, Rate: RatePlan{DailyFen: 100}}, tenancy.System)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	if p := mk("折叠助行架", "Folding walker", "walker"); p.ID != "folding-walker" {
		t.Errorf("from the English name: %q", p.ID)
	}
	if p := mk("折叠助行架", "Folding walker", "walker"); p.ID != "folding-walker-2" {
		t.Errorf("second of the name: %q", p.ID)
	}
	if p := mk("洗澡椅", "", "shower_chair"); p.ID != "shower-chair" || p.Name.En != "" {
		t.Errorf("Chinese name only: %q %+v", p.ID, p.Name)
	}
	var wg sync.WaitGroup
	got := make([]string, 8)
	for i := range got {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p, err := f.cat.Create(ctx, tenancy.PlatformScope, Product{OperatorID: "op-a", Category: "cane",
				Name: Text{Zh: "手杖", En: "Quad cane"}, Rate: RatePlan{DailyFen: 100}}, tenancy.System)
			if err != nil {
				t.Error(err)
			}
			got[i] = p.ID
		}()
	}
	wg.Wait()
	seen := map[string]bool{}
	for _, id := range got {
		if seen[id] || !strings.HasPrefix(id, "quad-cane") {
			t.Errorf("concurrent ids %v", got)
			break
		}
		seen[id] = true
	}
	if ids := f.cat.Named("op-a", " folding  WALKER "); len(ids) != 2 {
		t.Errorf("Named(folding walker) = %v", ids)
	}
	if ids := f.cat.Named("op-a", "洗澡椅"); len(ids) != 1 || ids[0] != "shower-chair" {
		t.Errorf("Named(洗澡椅) = %v", ids)
	}
	if ids := f.cat.Named("op-b", "洗澡椅"); len(ids) != 0 {
		t.Errorf("another operator's names: %v", ids)
	}
}
