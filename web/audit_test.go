package web

import (
	"context"
	"go/ast"
	"go/parser"
	"go/token"
	"html"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"fuju/internal/tenancy"
)

// actionRe is the shape of an audit action: kind.verb.
var actionRe = regexp.MustCompile(`^[a-z_]+\.[a-z_]+$`)

// recordedActions finds every audit action the services record, from their
// source (the packages that write the audit log): the literal actions given
// to their audit helpers (a call whose name mentions audit, or record), in
// Action fields and in variables named action or maps named …Actions, and the
// "staff." and "user." forms of the verbs of account actions.
func recordedActions(t *testing.T) []string {
	t.Helper()
	fset := token.NewFileSet()
	var files []string
	for _, dir := range []string{"../stations", "../catalog", "../rentals", "../messages", "../payments", "../accounts", "../reports"} {
		m, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	found := map[string]bool{}
	lit := func(e ast.Expr) (string, bool) {
		if b, ok := e.(*ast.BasicLit); ok && b.Kind == token.STRING {
			s, err := strconv.Unquote(b.Value)
			return s, err == nil
		}
		return "", false
	}
	action := func(e ast.Expr) {
		if s, ok := lit(e); ok && actionRe.MatchString(s) {
			found[s] = true
		}
	}
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.CallExpr:
				fn := ""
				switch f := n.Fun.(type) {
				case *ast.SelectorExpr:
					fn = f.Sel.Name
				case *ast.Ident:
					fn = f.Name
				}
				switch {
				case fn == "accountAction" && len(n.Args) == 2:
					if verb, ok := lit(n.Args[1]); ok {
						found["staff."+verb], found["user."+verb] = true, true
					}
				case strings.Contains(strings.ToLower(fn), "audit") || fn == "record":
					for _, a := range n.Args {
						action(a)
					}
				}
			case *ast.KeyValueExpr:
				if k, ok := n.Key.(*ast.Ident); ok && k.Name == "Action" {
					action(n.Value)
				}
			case *ast.AssignStmt:
				for i, l := range n.Lhs {
					id, ok := l.(*ast.Ident)
					switch {
					case !ok || i >= len(n.Rhs):
					case id.Name == "action":
						action(n.Rhs[i])
					case id.Name == "verb":
						if verb, ok := lit(n.Rhs[i]); ok {
							found["staff."+verb], found["user."+verb] = true, true
						}
					}
				}
			case *ast.ValueSpec:
				for i, id := range n.Names {
					if strings.HasSuffix(id.Name, "Actions") && i < len(n.Values) {
						ast.Inspect(n.Values[i], func(m ast.Node) bool {
							if kv, ok := m.(*ast.KeyValueExpr); ok {
								action(kv.Value)
							}
							return true
						})
					}
				}
			}
			return true
		})
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

// TestAuditChangesInWords reads the audit pages after a price edit, a
// suspension and its end: each change says what changed in the reader's
// language (the field's name, amounts in yuan, states by their names, local
// times), never field codes, JSON or enum codes.
func TestAuditChangesInWords(t *testing.T) {
	w := newOpWorld(t)
	ctx := context.Background()
	p, err := w.s.catalog.Get(ctx, tenancy.OperatorScope("op-a"), "wc")
	if err != nil {
		t.Fatal(err)
	}
	p.Rate.DailyFen = 1250
	if _, err := w.s.catalog.Update(ctx, tenancy.OperatorScope("op-a"), p, w.adminAUser.Actor()); err != nil {
		t.Fatal(err)
	}
	platform := tenancy.Actor{ID: "u-platform", Role: "platform_admin", Name: "平台"}
	if _, err := w.s.stations.SetOperatorStatus(ctx, "op-a", "suspended", "合同到期", platform); err != nil {
		t.Fatal(err)
	}
	if _, err := w.s.stations.SetOperatorStatus(ctx, "op-a", "active", "", platform); err != nil {
		t.Fatal(err)
	}
	en := &http.Cookie{Name: "lang", Value: "en"}
	for _, tc := range []struct {
		c     opCaller
		path  string
		lang  *http.Cookie
		wants []string
	}{
		{w.adminA, "/operator/audit", nil, []string{"日租金：", "¥12.50", "状态：正常 → 已暂停", "状态：已暂停 → 正常", "暂停原因已修改"}},
		{w.adminA, "/operator/audit", en, []string{"Daily rate: ", "¥12.50", "Status: active → suspended", "Status: suspended → active"}},
		{w.platform, "/admin/audit", nil, []string{"日租金：", "¥12.50", "状态：正常 → 已暂停"}},
		{w.platform, "/admin/audit", en, []string{"Daily rate: ", "Status: active → suspended", "Reason for suspension changed"}},
	} {
		req := httptest.NewRequest("GET", tc.path, nil)
		req.AddCookie(tc.c.cookie)
		if tc.lang != nil {
			req.AddCookie(tc.lang)
		}
		rec := serve(w.s, req)
		body := rec.Body.String()
		if rec.Code != 200 {
			t.Fatalf("%s: %d", tc.path, rec.Code)
		}
		var changes strings.Builder
		for _, m := range regexp.MustCompile(`(?s)<ul class="(?:op|adm)-changes">(.*?)</ul>`).FindAllStringSubmatch(body, -1) {
			changes.WriteString(m[1])
		}
		got := html.UnescapeString(changes.String())
		for _, want := range tc.wants {
			if !strings.Contains(got, want) {
				t.Errorf("%s (%v) changes lack %q:\n%.3000s", tc.path, tc.lang != nil, want, got)
			}
		}
		for _, raw := range []string{"_fen", "_bp", "daily_fen", "rate.", "{", "map[", "suspended_reason", "(hidden)", "product.update", "operator.update", "tier_application", ">system<"} {
			if strings.Contains(got, raw) || strings.Contains(body, ">"+raw) {
				t.Errorf("%s (%v) shows the raw %q:\n%.3000s", tc.path, tc.lang != nil, raw, got)
			}
		}
	}
}
