package demo

import (
	"fmt"
	"testing"

	"fuju/catalog"
	"fuju/stations"
)

// The embedded product list decodes completely: every product is valid,
// named in both languages, priced, and has units with asset tags the desk
// accepts.
func TestProducts(t *testing.T) {
	if len(Products) != 16 {
		t.Fatalf("%d products, want the demo city's 16", len(Products))
	}
	seen := map[string]bool{}
	for _, p := range Products {
		listed := p.P
		listed.Status = catalog.Active // what Create fills in
		if err := listed.Validate(); err != nil {
			t.Errorf("%s: %v", p.P.ID, err)
		}
		if seen[p.P.ID] {
			t.Errorf("%s listed twice", p.P.ID)
		}
		seen[p.P.ID] = true
		if p.P.Name.En == "" || p.P.Description.Zh == "" || p.P.Rate.DailyFen <= 0 || len(p.P.Keywords) == 0 {
			t.Errorf("%s is missing words or a price: %+v", p.P.ID, p.P)
		}
		if tag := fmt.Sprintf("JZ-%s-%04d", p.code, 1); p.n <= 0 || !stations.ValidTag(tag) {
			t.Errorf("%s: %d units tagged like %s", p.P.ID, p.n, tag)
		}
	}
}

// A mistake in the list stops the program at once instead of seeding half a
// city.
func TestDecodeProductsRefusesUnknownFields(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("an unknown field was accepted")
		}
	}()
	decodeProducts([]byte(`[{"product": {"id": "x"}, "asset_code": "WC", "unit": 3}]`))
}
