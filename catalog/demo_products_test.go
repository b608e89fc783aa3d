package catalog_test

import (
	"encoding/json"
	"os"
	"testing"

	"fuju/catalog"
)

// demoProductsFile is the demo city's product list (cmd/internal/demo keeps
// it equal to the city it seeds: TestCatalogTestdata). The tests read this
// copy rather than import the demo package: a domain's tests depend on no
// command.
const demoProductsFile = "testdata/demo_products.json"

// demoProducts returns the demo city's products, so searches are tested on
// what families really see.
func demoProducts(tb testing.TB) []catalog.Product {
	tb.Helper()
	b, err := os.ReadFile(demoProductsFile)
	if err != nil {
		tb.Fatal(err)
	}
	var in []struct {
		Product catalog.Product `json:"product"`
	}
	if err := json.Unmarshal(b, &in); err != nil {
		tb.Fatalf("%s: %v", demoProductsFile, err)
	}
	if len(in) == 0 {
		tb.Fatalf("%s lists no products", demoProductsFile)
	}
	out := make([]catalog.Product, len(in))
	for i, p := range in {
		out[i] = p.Product
	}
	return out
}
