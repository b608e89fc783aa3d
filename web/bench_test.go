package web

import (
	"net/http/httptest"
	"testing"
)

// BenchmarkPages measures the public pages in-process (no network), on the
// small test city, as served from the page cache and as rendered (an empty
// cache every time): go test ./web -bench Pages -run '^$'
func BenchmarkPages(b *testing.B) {
	s := newTestServer(b)
	for _, path := range []string{"/products/wc", "/stations", "/stations/north", "/products", "/api/v1/products?q=wheelchair"} {
		for _, rendered := range []bool{false, true} {
			name := path
			if rendered {
				name += " rendered"
			}
			b.Run(name, func(b *testing.B) {
				b.ReportAllocs()
				for i := 0; i < b.N; i++ {
					if rendered {
						s.cache = newPageCache(pageCacheBytes)
					}
					rec := httptest.NewRecorder()
					s.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
					if rec.Code != 200 {
						b.Fatal(rec.Code)
					}
				}
			})
		}
	}
}
