package layout

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// module is the module path every package of the service starts with.
const module = "fuju"

// domains are the top-level packages that hold the product's rules.
var domains = []string{"catalog", "stations", "rentals", "media", "payments", "messages", "accounts", "reports"}

// mongoOutsideStores lists the domain files that still talk to the MongoDB
// driver outside a store file, and why. The list may only shrink: the test
// fails when a listed file no longer needs its place here.
var mongoOutsideStores = map[string]string{
	"accounts/audit.go":        "the audit log's queries; the audit entry is being reworked, its store split comes with it",
	"accounts/service.go":      "account list filters built as bson next to the rules that choose them",
	"accounts/sessions.go":     "session queries written next to the session rules",
	"accounts/tokens.go":       "API token queries written next to the token rules",
	"rentals/renter_search.go": "the renter search index's reads and writes share the file with the search rules",
}

// storeFile matches the files of a domain that may use the MongoDB driver:
// store.go, store_*.go and *_store.go.
var storeFile = regexp.MustCompile(`^(store|store_\w+|\w+_store)\.go$`)

// file is one Go file of the module with what it imports.
type file struct {
	rel     string // path from the module root, slash-separated
	pkg     string // import path of its directory
	test    bool
	imports []string
	ast     *ast.File
}

// The arrows point one way: cmd → web → domains → internal (DESIGN.md,
// "Layout"). Each rule below names what a package may not import; the test
// reads every Go file of the module, tests included, so a rule cannot be
// broken in a test file either.
func TestImportsFollowTheLayout(t *testing.T) {
	files := moduleFiles(t)
	if len(files) < 100 {
		t.Fatalf("read only %d Go files; is the module root right?", len(files))
	}
	for _, f := range files {
		for _, imp := range f.imports {
			if why := forbidden(f, imp); why != "" {
				t.Errorf("%s imports %s: %s", f.rel, imp, why)
			}
		}
	}
	for _, f := range files {
		msg := mongoOutsideStore(f)
		_, listed := mongoOutsideStores[f.rel]
		switch {
		case msg != "" && !listed:
			t.Errorf("%s: %s", f.rel, msg)
		case msg == "" && listed:
			t.Errorf("%s is listed in mongoOutsideStores but no longer needs to be: remove it from the list", f.rel)
		}
	}
	for rel := range mongoOutsideStores {
		if !slices.ContainsFunc(files, func(f file) bool { return f.rel == rel }) {
			t.Errorf("%s is listed in mongoOutsideStores but does not exist", rel)
		}
	}
}

// forbidden says why f may not import imp, or "" when it may.
func forbidden(f file, imp string) string {
	top := area(f.pkg)
	switch {
	case imp == "github.com/stripe/stripe-go/v76/webhook" && f.test:
		// Tests sign webhook payloads the way Stripe does; that talks to
		// nobody.
		return ""
	case strings.HasPrefix(imp, "github.com/stripe/stripe-go") && top != "payments":
		return "only payments talks to Stripe"
	case strings.HasPrefix(imp, "github.com/minio/minio-go") && top != "media":
		return "only media talks to object storage"
	case isGin(imp) && top != "web" && top != "cmd":
		return "only web (and cmd, for wiring) speaks HTTP through Gin"
	}
	switch {
	case slices.Contains(domains, top):
		if within(imp, module+"/web") || within(imp, module+"/cmd") {
			return "a domain knows nothing of the web layer or the commands (cmd → web → domains → internal)"
		}
	case top == "web":
		if strings.HasPrefix(imp, "go.mongodb.org/") || within(imp, module+"/internal/db") {
			return "web speaks HTTP and asks the domains; it never talks to the database"
		}
		if within(imp, module+"/cmd") {
			return "web is wired by cmd, never the other way round"
		}
	case top == "internal":
		if within(imp, module+"/web") || within(imp, module+"/cmd") || slices.Contains(domains, area(imp)) {
			return "internal/ is infrastructure and never imports a domain, the web layer or a command"
		}
	}
	return ""
}

// mongoOutsideStore reports a domain file other than a test or a store file
// that uses the MongoDB driver for more than naming *mongo.Database (which a
// constructor takes to build its store).
func mongoOutsideStore(f file) string {
	if f.test || !slices.Contains(domains, area(f.pkg)) || storeFile.MatchString(path.Base(f.rel)) {
		return ""
	}
	var used []string
	for _, imp := range f.ast.Imports {
		p, _ := strconv.Unquote(imp.Path.Value)
		if !strings.HasPrefix(p, "go.mongodb.org/") {
			continue
		}
		if p != "go.mongodb.org/mongo-driver/v2/mongo" || imp.Name != nil {
			return "imports " + p + ": only store files (store.go, store_*.go, *_store.go) use the driver"
		}
		ast.Inspect(f.ast, func(n ast.Node) bool {
			if sel, ok := n.(*ast.SelectorExpr); ok {
				if x, ok := sel.X.(*ast.Ident); ok && x.Name == "mongo" && sel.Sel.Name != "Database" {
					used = append(used, "mongo."+sel.Sel.Name)
				}
			}
			return true
		})
	}
	if len(used) > 0 {
		return "uses " + strings.Join(used, ", ") + ": outside store files a domain names only mongo.Database; move the query into a store file"
	}
	return ""
}

// moduleFiles parses every Go file of the module (not testdata, not hidden
// directories).
func moduleFiles(t *testing.T) []file {
	t.Helper()
	root := moduleRoot(t)
	var out []file
	fset := token.NewFileSet()
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if p != root && (strings.HasPrefix(name, ".") || name == "testdata" || name == "vendor") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(name, ".go") {
			return nil
		}
		af, err := parser.ParseFile(fset, p, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		rel = filepath.ToSlash(rel)
		f := file{rel: rel, pkg: path.Join(module, path.Dir(rel)), test: strings.HasSuffix(name, "_test.go"), ast: af}
		for _, imp := range af.Imports {
			s, _ := strconv.Unquote(imp.Path.Value)
			f.imports = append(f.imports, s)
		}
		out = append(out, f)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// moduleRoot finds the directory of go.mod above the test's directory.
func moduleRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil {
			if !regexp.MustCompile(`(?m)^module ` + module + `$`).Match(b) {
				t.Fatalf("%s/go.mod is not module %s", dir, module)
			}
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test")
		}
		dir = parent
	}
}

// area is the top-level directory of a package of the module ("web" for
// fuju/web/i18n), or "" for packages outside it.
func area(pkg string) string {
	rest, ok := strings.CutPrefix(pkg, module+"/")
	if !ok {
		return ""
	}
	top, _, _ := strings.Cut(rest, "/")
	return top
}

// within reports whether imp is pkg or one of its subpackages.
func within(imp, pkg string) bool {
	return imp == pkg || strings.HasPrefix(imp, pkg+"/")
}

// isGin reports whether imp is Gin or one of its companions.
func isGin(imp string) bool {
	return strings.HasPrefix(imp, "github.com/gin-gonic/") || strings.HasPrefix(imp, "github.com/gin-contrib/")
}
