package catalog_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"fuju/catalog"
	"fuju/internal/changefeed"
	"fuju/internal/tenancy"
	"fuju/internal/testenv"
	"fuju/stations"
)

// demoCatalog loads the demo city's products and one more whose name is
// spelled by the initials "lyzxq" (no units: availability plays no part in
// what a query finds).
func demoCatalog(t *testing.T) *catalog.Service {
	t.Helper()
	ctx := context.Background()
	db := testenv.DB(t)
	feed := changefeed.New(db, "catalog", nil)
	st := stations.NewService(db, feed, nil, nil)
	cat := catalog.NewService(db, st.Index(), feed, nil, nil)
	if err := st.Init(ctx); err != nil {
		t.Fatal(err)
	}
	if err := cat.Init(ctx); err != nil {
		t.Fatal(err)
	}
	products := []catalog.Product{{ID: "rollator-2in1", OperatorID: "op-anxin", Category: "rollator",
		Name: catalog.Text{Zh: "两用助行器", En: "2-in-1 rollator and transport chair"}, Rate: catalog.RatePlan{DailyFen: 600}}}
	products = append(products, demoProducts(t)...)
	for _, p := range products {
		if _, err := cat.Create(ctx, tenancy.PlatformScope, p, tenancy.System); err != nil {
			t.Fatal(err)
		}
	}
	return cat
}

// What families type, and what they must find: everyday words and synonyms,
// pinyin initials, one-character typos, English, and hostile input. want is
// the set of products found; first, when given, the one on top.
func TestSearchFindsWhatPeopleCallThings(t *testing.T) {
	cat := demoCatalog(t)
	const (
		wheelchairs = "wc-steel-standard wc-alu-light wc-transport wc-electric-fold"
		walkers     = "walker-frame walker-wheeled"
		rollators   = "rollator-seat rollator-2in1"
		canes       = "cane-quad cane-folding"
		beds        = "bed-manual bed-electric"
	)
	tests := []struct{ q, want, first string }{
		// Everyday words and synonyms per category.
		{"轮椅", wheelchairs, ""},
		{"助行器", walkers + " " + rollators, "rollator-2in1"},
		{"助行架", walkers, ""},
		{"带轮助行器", rollators, ""},
		{"学步车", walkers, ""},
		{"买菜车", rollators, ""},
		{"拐杖", canes + " crutches-alu", ""},
		{"手杖", canes, ""},
		{"拐棍", canes, ""},
		{"腋拐", "crutches-alu", ""},
		{"坐便椅", "commode-chair", ""},
		{"马桶椅", "commode-chair", ""},
		{"马桶", "commode-chair", ""},
		{"护理床", beds, ""},
		{"病床", beds, ""},
		{"洗澡椅", "shower-chair", ""},
		{"沐浴椅", "shower-chair", ""},
		{"洗澡凳", "shower-chair", ""},
		{"气垫床", "mattress-air", ""},
		{"褥疮", "mattress-air", ""},
		{"移位", "transfer-belt", ""},
		// Names, and words run together with what they narrow.
		{"电动轮椅", "wc-electric-fold", ""},
		{"电动", "wc-electric-fold bed-electric", ""},
		{"折叠轮椅", "wc-electric-fold wc-alu-light wc-steel-standard", "wc-alu-light"},
		{"轻便轮椅", "wc-alu-light", ""},
		{"老人轮椅", wheelchairs, ""},
		{"老人用的轮椅", wheelchairs, ""},
		{"电动护理床", "bed-electric", ""},
		{"四脚拐杖", "cane-quad", ""},
		{"三功能电动护理床", "bed-electric", ""},
		// One character wrong, missing, extra or swapped.
		{"轮倚", wheelchairs, ""},
		{"助形器", walkers + " " + rollators, ""},
		{"护里床", beds, ""},
		{"wheelchiar", wheelchairs, ""},
		{"wheelchairs", wheelchairs, ""},
		{"crutche", "crutches-alu", ""},
		// Pinyin initials: of a whole name, of part of one, of an everyday word.
		{"lyzxq", "rollator-2in1", ""},
		{"zxq", walkers + " " + rollators, "rollator-2in1"},
		{"hlc", beds, ""},
		{"zby", "commode-chair", ""},
		{"xzy", "shower-chair", ""},
		{"sz", canes, ""},
		{"ddhlc", "bed-electric", ""},
		{"lhjqbzdly", "wc-alu-light", ""},
		{"ZXQ", walkers + " " + rollators, ""},
		// English.
		{"wheelchair", wheelchairs, ""},
		{"walker", walkers + " " + rollators, ""},
		{"rollator", rollators, ""},
		{"cane", canes, ""},
		{"walking stick", canes, ""},
		{"commode", "commode-chair", ""},
		{"hospital bed", beds, ""},
		{"shower chair", "shower-chair", ""},
		{"bed", beds, ""},
		{"Folding", "wc-electric-fold cane-folding commode-chair", ""},
		// Nothing, rather than everything or an error.
		{"zbyi", "", ""},
		{"轮椅助行器", "", ""},
		{".*", "", ""},
		{"$ne", "", ""},
		{strings.Repeat("轮", 200), "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.q, func(t *testing.T) {
			r, err := cat.Search(catalog.Query{Text: tt.q, PerPage: catalog.MaxPerPage})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, h := range r.Hits {
				got = append(got, h.Product.ID)
			}
			want := strings.Fields(tt.want)
			sorted := slices.Clone(got)
			slices.Sort(sorted)
			slices.Sort(want)
			if !slices.Equal(sorted, want) {
				t.Errorf("found %v, want %v", got, want)
			}
			if tt.first != "" && (len(got) == 0 || got[0] != tt.first) {
				t.Errorf("first %v, want %s", got, tt.first)
			}
		})
	}
}
