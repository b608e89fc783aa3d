package web

import (
	"encoding/json"
	"io/fs"
	"net/http"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"fuju/catalog"
	"fuju/rentals"
)

// Every /api/v1 route is described in openapi.json, with its method, and the
// document describes no route that does not exist.
func TestOpenAPICoversRoutes(t *testing.T) {
	s := newTestServer(t)
	rec := get(t, s, "/api/v1/openapi.json")
	if rec.Code != http.StatusOK {
		t.Fatalf("openapi.json: %d", rec.Code)
	}
	var doc struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &doc); err != nil {
		t.Fatalf("openapi.json is not JSON: %v", err)
	}
	param := regexp.MustCompile(`:([a-z_]+)`)
	routed := map[string]bool{}
	for _, r := range s.Routes() {
		path, ok := strings.CutPrefix(r.Path, "/api/v1")
		if !ok || strings.HasPrefix(r.Path, "/api/v1/test-") {
			continue
		}
		path = param.ReplaceAllString(path, "{$1}")
		key := strings.ToLower(r.Method) + " " + path
		routed[key] = true
		if _, ok := doc.Paths[path][strings.ToLower(r.Method)]; !ok {
			t.Errorf("route %s %s is not in openapi.json", r.Method, r.Path)
		}
	}
	for path, ops := range doc.Paths {
		for method := range ops {
			if method == "parameters" {
				continue
			}
			if !routed[method+" "+path] {
				t.Errorf("openapi.json describes %s %s, which is not routed", method, path)
			}
		}
	}
}

// Both languages have the same messages, and every message a template or the
// Go code asks for exists.
func TestMessagesComplete(t *testing.T) {
	r, err := newRenderer()
	if err != nil {
		t.Fatal(err)
	}
	zh, en := r.messages["zh"], r.messages["en"]
	for k := range zh {
		if _, ok := en[k]; !ok {
			t.Errorf("en.json lacks %q", k)
		}
	}
	for k := range en {
		if _, ok := zh[k]; !ok {
			// English singulars ("%d day" beside "%d days") have no
			// Chinese counterpart; their plural must exist.
			if base, one := strings.CutSuffix(k, ".one"); one && zh[base] != "" {
				if strings.Count(en[k], "%") != strings.Count(en[base], "%") {
					t.Errorf("%q takes other arguments than %q", k, base)
				}
				continue
			}
			t.Errorf("zh.json lacks %q", k)
		}
	}
	for k, v := range zh {
		if strings.Count(v, "%") != strings.Count(en[k], "%") {
			t.Errorf("%q: zh and en take different arguments: %q / %q", k, v, en[k])
		}
		if !slices.Equal(placeholders(v), placeholders(en[k])) {
			t.Errorf("%q: zh and en take different parameters: %q / %q", k, v, en[k])
		}
	}
	used := map[string]bool{}
	literal := regexp.MustCompile(`\.T "([a-z0-9_.]+)"`)
	files, _ := fs.Glob(templateFS, "templates/*.html")
	for _, f := range files {
		b, _ := templateFS.ReadFile(f)
		for _, m := range literal.FindAllStringSubmatch(string(b), -1) {
			used[m[1]] = true
		}
	}
	goFiles, _ := fs.Glob(os.DirFS("."), "*.go")
	goLiteral := regexp.MustCompile(`(?:\.T\(|base\(c, )"([a-z0-9_.]+)"`)
	for _, f := range goFiles {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, _ := fs.ReadFile(os.DirFS("."), f)
		for _, m := range goLiteral.FindAllStringSubmatch(string(b), -1) {
			if !strings.HasSuffix(m[1], ".") { // a prefix completed at run time
				used[m[1]] = true
			}
		}
	}
	// Keys built at run time.
	for _, tier := range rentals.Tiers {
		used["tier."+string(tier)] = true
	}
	for i := 0; i < 7; i++ {
		used["weekday."+string(rune('0'+i))] = true
	}
	for _, f := range []string{"q", "category", "station", "tier", "max_price", "sort", "available", "foldable", "page", "per_page", "near", "district"} {
		used["field."+f] = true
	}
	for _, code := range []string{"required", "min", "max", "range", "integer", "boolean", "oneof", "lat_lng", "max_length", "not_found", "unknown", "requires"} {
		used["err."+code] = true
	}
	var missing []string
	for k := range used {
		if _, ok := zh[k]; !ok {
			missing = append(missing, k)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("messages used but not defined: %v", missing)
	}
	if len(used) < 100 {
		t.Errorf("found only %d used keys; the scan is broken", len(used))
	}
	for _, c := range catalog.Categories {
		if c.Name.Zh == "" || c.Name.En == "" || r.icons[c.Icon] == "" {
			t.Errorf("category %s lacks a name or an icon", c.ID)
		}
	}
}
