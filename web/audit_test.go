package web

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// recordedActions finds every audit action this package records, from its
// source: the literal action of each s.audit call and accounts.Entry, the
// literals assigned to variables named action, and for actions built as
// "unit."+x or "lease."+x, the case labels of the function's switch on x.
func recordedActions(t *testing.T) []string {
	t.Helper()
	fset := token.NewFileSet()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	found := map[string]bool{}
	lit := func(e ast.Expr) (string, bool) {
		if b, ok := e.(*ast.BasicLit); ok && b.Kind == token.STRING {
			s, err := strconv.Unquote(b.Value)
			return s, err == nil
		}
		return "", false
	}
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			fn, ok := d.(*ast.FuncDecl)
			if !ok || fn.Body == nil {
				continue
			}
			var prefixes []string
			var cases []string
			ast.Inspect(fn.Body, func(n ast.Node) bool {
				switch n := n.(type) {
				case *ast.CallExpr:
					if sel, ok := n.Fun.(*ast.SelectorExpr); ok && sel.Sel.Name == "audit" && len(n.Args) >= 3 {
						switch a := n.Args[2].(type) {
						case *ast.BasicLit:
							if s, ok := lit(a); ok {
								found[s] = true
							}
						case *ast.BinaryExpr:
							if s, ok := lit(a.X); ok {
								prefixes = append(prefixes, s)
							}
						}
					}
				case *ast.KeyValueExpr:
					if k, ok := n.Key.(*ast.Ident); ok && k.Name == "Action" {
						if s, ok := lit(n.Value); ok {
							found[s] = true
						}
					}
				case *ast.AssignStmt:
					for i, l := range n.Lhs {
						if id, ok := l.(*ast.Ident); ok && id.Name == "action" && i < len(n.Rhs) {
							if s, ok := lit(n.Rhs[i]); ok && strings.Contains(s, ".") {
								found[s] = true
							}
						}
					}
				case *ast.CaseClause:
					for _, e := range n.List {
						if s, ok := lit(e); ok {
							cases = append(cases, s)
						}
					}
				}
				return true
			})
			for _, p := range prefixes {
				for _, c := range cases {
					found[p+c] = true
				}
			}
		}
	}
	out := make([]string, 0, len(found))
	for a := range found {
		out = append(out, a)
	}
	sort.Strings(out)
	return out
}

// TestAuditSentences: every action recorded today reads as a sentence in
// both languages, with a place for who did it and for the record.
func TestAuditSentences(t *testing.T) {
	r, err := newRenderer()
	if err != nil {
		t.Fatal(err)
	}
	actions := recordedActions(t)
	for _, must := range []string{"product.create", "unit.import", "unit.clean", "lease.extend", "operator.suspend", "policy.update", "staff.enable", "token.revoke"} {
		found := false
		for _, a := range actions {
			found = found || a == must
		}
		if !found {
			t.Errorf("the source scan misses %s (found %v)", must, actions)
		}
	}
	for _, a := range actions {
		for _, lang := range languages {
			m, ok := r.messages[lang]["audit.action."+a]
			if !ok {
				t.Errorf("%s: no sentence for %s", lang, a)
				continue
			}
			if strings.Count(m, "%s") != 2 {
				t.Errorf("%s: the sentence for %s needs %%s for who and %%s for what: %q", lang, a, m)
			}
		}
	}
}
