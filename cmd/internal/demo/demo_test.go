package demo

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"testing"
	"time"

	"fuju/catalog"
	"fuju/stations"
)

// Every demo product is valid, named in both languages, priced, and has
// units with asset tags the desk accepts.
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

var update = flag.Bool("update", false, "rewrite catalog/testdata/demo_products.json from Products")

// catalogTestdata is the demo city's products as catalog's search tests
// read them: a domain's tests depend on no command, so they get a copy in
// their own testdata, kept equal to Products here.
const catalogTestdata = "../../../catalog/testdata/demo_products.json"

// The copy of the products catalog's tests search is the demo city's. After
// changing Products, run go test ./cmd/internal/demo -run TestCatalogTestdata -update.
func TestCatalogTestdata(t *testing.T) {
	want, err := productsJSON()
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.WriteFile(catalogTestdata, want, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(catalogTestdata)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from Products; run this test with -update", catalogTestdata)
	}
}

// productsJSON writes Products as a JSON list of {product, asset_code,
// units}, leaving out fields that are zero so the file reads like the
// literal above.
func productsJSON() ([]byte, error) {
	var list []map[string]any
	for _, p := range Products {
		b, err := json.Marshal(p.P)
		if err != nil {
			return nil, err
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			return nil, err
		}
		product, _ := nonZero(m)
		list = append(list, map[string]any{"product": product, "asset_code": p.code, "units": p.n})
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	err := enc.Encode(list)
	return buf.Bytes(), err
}

// nonZero returns v without its zero values (and whether anything is left).
func nonZero(v any) (any, bool) {
	switch x := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, e := range x {
			if e, ok := nonZero(e); ok {
				out[k] = e
			}
		}
		return out, len(out) > 0
	case []any:
		return x, len(x) > 0
	case string:
		return x, x != "" && x != (time.Time{}).Format(time.RFC3339)
	case float64:
		return x, x != 0
	case bool:
		return x, x
	}
	return v, v != nil
}
