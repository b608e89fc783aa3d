package catalog_test

import (
	"context"
	"testing"

	"fuju/catalog"
	"fuju/internal/changefeed"
	"fuju/internal/geo"
	"fuju/internal/tenancy"
	"fuju/internal/testenv"
	"fuju/rentals"
	"fuju/stations"
)

// BenchmarkSearch measures what one query costs on the demo city's
// catalog, without HTTP: go test ./catalog -run - -bench Search.
func BenchmarkSearch(b *testing.B) {
	ctx := context.Background()
	db := testenv.DB(b)
	feed := changefeed.New(db, "catalog", nil)
	st := stations.NewService(db, feed, nil, nil)
	cat := catalog.NewService(db, st.Index(), feed, nil, nil)
	if err := st.Init(ctx); err != nil {
		b.Fatal(err)
	}
	if err := cat.Init(ctx); err != nil {
		b.Fatal(err)
	}
	for _, p := range demoProducts(b) {
		if _, err := cat.Create(ctx, tenancy.PlatformScope, p, tenancy.System); err != nil {
			b.Fatal(err)
		}
	}
	price := rentals.PriceFunc(rentals.LowIncome, rentals.DefaultPolicy())
	near := &geo.Point{Lat: 35.215, Lng: 113.242}
	for _, q := range []struct {
		name string
		q    catalog.Query
	}{
		{"filters", catalog.Query{Category: "manual_wheelchair", AvailableNow: true, Near: near, Sort: catalog.ByDistance}},
		{"轮椅", catalog.Query{Text: "轮椅"}},
		{"助行器 折叠", catalog.Query{Text: "助行器 折叠"}},
		{"zxq", catalog.Query{Text: "zxq"}},
		{"轮倚", catalog.Query{Text: "轮倚"}},
		{"老人用的轮椅", catalog.Query{Text: "老人用的轮椅"}},
	} {
		b.Run(q.name, func(b *testing.B) {
			q.q.Price = price
			for b.Loop() {
				if _, err := cat.Search(q.q); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
