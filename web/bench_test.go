package web

import (
	"net/http/httptest"
	"testing"
)

// BenchmarkPages measures rendering the public pages in-process (no network),
// on the small test city: go test ./web -bench Pages -run '^$'
func BenchmarkPages(b *testing.B) {
	s := newTestServer(b)
	for _, path := range []string{"/products/wc", "/stations", "/products", "/api/v1/products?q=wheelchair"} {
		b.Run(path, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				rec := httptest.NewRecorder()
				s.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
				if rec.Code != 200 {
					b.Fatal(rec.Code)
				}
			}
		})
	}
}
