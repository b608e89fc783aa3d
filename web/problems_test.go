package web

import (
	"context"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"

	"fuju/internal/valid"
)

// codeUse is one place in the source that produces a problem code.
type codeUse struct {
	pos    string
	code   string // "" when the code is not a literal
	reason bool   // a domain reason (valid.Because), not a field problem
	// params are the literal parameter names passed with it, nil when they
	// could not be read (a slice passed on).
	params []string
}

// problemCodeUses walks every Go file of the module (tests aside) for the
// calls that make problems: (*valid.Error).Add/Addf, valid.Field,
// valid.Because, valid.Problem literals, media's inputError and the unit
// import's fail.
func problemCodeUses(t *testing.T) []codeUse {
	t.Helper()
	fset := token.NewFileSet()
	var uses []codeUse
	str := func(e ast.Expr) (string, bool) {
		lit, ok := e.(*ast.BasicLit)
		if !ok || lit.Kind != token.STRING {
			return "", false
		}
		s, err := strconv.Unquote(lit.Value)
		return s, err == nil
	}
	kvNames := func(args []ast.Expr, ellipsis bool) []string {
		if ellipsis {
			return nil
		}
		names := []string{}
		for i := 0; i < len(args); i += 2 {
			if s, ok := str(args[i]); ok {
				names = append(names, s)
			} else {
				return nil
			}
		}
		return names
	}
	err := filepath.WalkDir("..", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if strings.HasPrefix(d.Name(), ".") && path != ".." || d.Name() == "testdata" {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return err
		}
		inValid := f.Name.Name == "valid"
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.CompositeLit:
				typ := ""
				switch tt := n.Type.(type) {
				case *ast.SelectorExpr:
					if x, ok := tt.X.(*ast.Ident); ok {
						typ = x.Name + "." + tt.Sel.Name
					}
				case *ast.Ident:
					if inValid {
						typ = "valid." + tt.Name
					}
				}
				if typ != "valid.Problem" {
					return true
				}
				for _, el := range n.Elts {
					kv, ok := el.(*ast.KeyValueExpr)
					if k, _ := kv.Key.(*ast.Ident); ok && k != nil && k.Name == "Code" {
						code, _ := str(kv.Value)
						uses = append(uses, codeUse{pos: fset.Position(n.Pos()).String(), code: code})
					}
				}
			case *ast.CallExpr:
				name, pkg := "", ""
				switch fn := n.Fun.(type) {
				case *ast.SelectorExpr:
					name = fn.Sel.Name
					if x, ok := fn.X.(*ast.Ident); ok {
						pkg = x.Name
					}
				case *ast.Ident:
					name = fn.Name
					if inValid {
						pkg = "valid"
					}
				}
				at, reason := -1, false
				switch {
				case (name == "Add" || name == "Addf") && len(n.Args) >= 3:
					at = 1
				case name == "Field" && pkg == "valid" && len(n.Args) >= 3:
					at = 1
				case name == "Because" && pkg == "valid":
					at, reason = 1, true
				case name == "inputError" && len(n.Args) >= 3:
					at = 1
				case name == "fail" && pkg == "" && len(n.Args) >= 4:
					// The unit import's fail(row, field, code, message, kv...).
					if _, isIdent := n.Fun.(*ast.Ident); isIdent {
						at = 2
					}
				}
				if at < 0 {
					return true
				}
				code, lit := str(n.Args[at])
				u := codeUse{pos: fset.Position(n.Pos()).String(), code: code, reason: reason}
				if !lit {
					u.code = ""
				}
				first := at + 2 // after the message
				if reason {
					first = at + 1
				}
				if name == "Addf" {
					u.params = []string{}
				} else if first <= len(n.Args) {
					u.params = kvNames(n.Args[first:], n.Ellipsis.IsValid())
				}
				uses = append(uses, u)
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return uses
}

// placeholders returns the {names} of a message.
func placeholders(m string) []string {
	var out []string
	for _, p := range regexp.MustCompile(`\{([a-z_]+)\}`).FindAllStringSubmatch(m, -1) {
		out = append(out, p[1])
	}
	sort.Strings(out)
	return slices.Compact(out)
}

// Every problem code the code base can produce is registered in
// internal/valid with the parameters its callers pass, and has a message in
// Chinese and English that uses only those parameters; so does every reason
// and every status. A new code without words fails here, not in front of a
// renter.
func TestEveryProblemCodeHasWords(t *testing.T) {
	r, err := newRenderer()
	if err != nil {
		t.Fatal(err)
	}
	uses := problemCodeUses(t)
	if len(uses) < 200 {
		t.Fatalf("found only %d places that make problems; the scan is broken", len(uses))
	}
	// Code that forwards a code it was given (the registry's own helpers,
	// the import's fail, media's inputError) is the only place a code may be
	// a variable.
	forwarders := []string{"internal/valid/", "stations/manage.go", "media/media.go", "web/errors.go", "web/forms.go", "web/render.go", "web/words.go"}
	seen := map[string]bool{}
	for _, u := range uses {
		if u.code == "" {
			if !slices.ContainsFunc(forwarders, func(f string) bool { return strings.Contains(filepath.ToSlash(u.pos), f) }) {
				t.Errorf("%s: a problem code that is not a literal; the registry test cannot see it", u.pos)
			}
			continue
		}
		reg, kind := valid.Codes, "valid.Codes"
		if u.reason {
			reg, kind = valid.Reasons, "valid.Reasons"
		}
		want, ok := reg[u.code]
		if !ok {
			t.Errorf("%s: code %q is not in %s", u.pos, u.code, kind)
			continue
		}
		seen[u.code] = true
		if u.params != nil {
			got := slices.Sorted(slices.Values(u.params))
			w := slices.Sorted(slices.Values(want))
			if !slices.Equal(got, w) {
				t.Errorf("%s: code %q is given parameters %v; %s lists %v", u.pos, u.code, got, kind, w)
			}
		}
	}
	check := func(prefix string, reg map[string][]string) {
		for code, params := range reg {
			for _, lang := range languages {
				m, ok := r.messages[lang][prefix+code]
				if !ok {
					t.Errorf("%s%s has no message in %s", prefix, code, lang)
					continue
				}
				for _, p := range placeholders(m) {
					if !slices.Contains(params, p) {
						t.Errorf("%s%s (%s) uses {%s}, which its callers do not pass (%v)", prefix, code, lang, p, params)
					}
				}
			}
		}
	}
	check("err.", valid.Codes)
	check("reason.", valid.Reasons)
	for _, code := range statusCodes(t) {
		for _, lang := range languages {
			if _, ok := r.messages[lang]["status."+code]; !ok {
				t.Errorf("status.%s has no message in %s", code, lang)
			}
		}
	}
	for _, code := range []string{"required", "min_length", "max_length", "range", "tag", "mobile", "total_exact", "ambiguous", "use_transfer", "photo_heic", "duplicate_line", "invalid"} {
		if !seen[code] {
			t.Errorf("the scan did not find code %q in use", code)
		}
	}
}

// statusCodes returns the codes statusOf can answer with.
func statusCodes(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile("errors.go")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range regexp.MustCompile(`return http\.Status\w+, "([a-z_]+)"`).FindAllStringSubmatch(string(b), -1) {
		out = append(out, m[1])
	}
	if len(out) < 10 {
		t.Fatalf("found only %d status codes in errors.go", len(out))
	}
	return append(out, "field")
}

// A problem is shown in the reader's language and terms: parameters fill
// the message, amounts in yuan, states in words.
func TestProblemWords(t *testing.T) {
	s := newTestServer(t)
	for _, tt := range []struct {
		lang string
		p    valid.Problem
		want string
	}{
		{"zh", valid.Problem{Code: "max_length", Params: map[string]any{"max": 50}}, "最多 50 个字"},
		{"en", valid.Problem{Code: "max_length", Params: map[string]any{"max": 50}}, "must be at most 50 characters"},
		{"zh", valid.Problem{Code: "total_exact", Params: map[string]any{"due_fen": int64(39000), "paid_fen": int64(1050)}}, "应收 ¥390，现在填的是 ¥10.50"},
		{"en", valid.Problem{Code: "total_exact", Params: map[string]any{"due_fen": 39000.0, "paid_fen": int32(100)}}, "¥390 is due; you entered ¥1"},
		{"zh", valid.Problem{Code: "reference"}, "手机转账请填写转账单号"},
		{"en", valid.Problem{Code: "photo_type", Params: map[string]any{"kind": "gif"}}, "the file is a GIF, not a photo this site can use; choose a JPEG, PNG or WebP image"},
		{"zh", valid.Problem{Code: "no_such_code"}, "内容不正确"},
	} {
		if got := s.words(tt.lang).Problem(tt.p); got != tt.want {
			t.Errorf("%s %s: %q, want %q", tt.lang, tt.p.Code, got, tt.want)
		}
	}
	err := valid.Because(errForbidden, "unit_state", "tag", "JZ-WC-0001", "state", "rented")
	if got := s.words("zh").Error(err, "forbidden", ""); got != "设备 JZ-WC-0001 现在是“已借出”，不能这样办理" {
		t.Errorf("reason: %q", got)
	}
}

// A request the database could not serve in time (every pooled connection
// busy past the wait) answers 503 with Retry-After and asks to try again:
// never a 500, and never a verdict such as "unavailable".
func TestBusyDatabaseAnswers503(t *testing.T) {
	s := newTestServer(t)
	timedOut := fmt.Errorf("rentals: eventlog: read lease l-1/3: %w", errDBTimedOut)
	rec := httptest.NewRecorder()
	c, _ := gin.CreateTestContext(rec)
	c.Request = httptest.NewRequest(http.MethodPost, "/api/v1/staff/checkouts", nil)
	c.Request.Header.Set("Accept-Language", "zh-CN")
	s.fail(c, timedOut, true)
	body := decode[apiError](t, rec)
	if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") == "" || body.Error.Code != "busy" {
		t.Fatalf("%d Retry-After %q %+v", rec.Code, rec.Header().Get("Retry-After"), body)
	}
	if want := s.words("zh").msgs["status.busy"]; body.Error.Message != want || want == "" {
		t.Errorf("message %q, want %q", body.Error.Message, want)
	}
	// Only what the database calls overloaded is busy; any other failure
	// stays a 500 (a cancelled caller is not a busy database: TestOverloaded).
	if status, _ := s.status(fmt.Errorf("web: %w", context.Canceled)); status != http.StatusInternalServerError {
		t.Errorf("a cancelled request answered %d", status)
	}
}
