package web

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"fuju/accounts"
	"fuju/internal/audit"
	"fuju/internal/l10n"
	"fuju/internal/tenancy"
	"fuju/stations"
)

// Reading the audit log. The log stores codes (product.update,
// product/wc-alu-light) so that it never holds personal data or one
// language's words; the pages turn each entry into a sentence in the
// reader's language ("audit.action.<code>" with the actor and the record),
// with local times (Asia/Shanghai) and the changed fields by their names.
// TestAuditSentences fails when an action recorded anywhere in this package
// has no sentence in either language.

// auditRow is an audit entry as the consoles show it.
type auditRow struct {
	At, Who, Role, Operator, Action, Target, RequestID string
	// Sentence says what happened, in the reader's language.
	Sentence string
	Changes  []string
}

func operatorNames(ops []stations.Operator) map[string]l10n.Text {
	out := make(map[string]l10n.Text, len(ops))
	for _, o := range ops {
		out[o.ID] = o.Name
	}
	return out
}

// auditRows turns entries into rows for the reader of page b. Records are
// named as the reader knows them (a listing or station by its name, a user
// by theirs) when they still exist; otherwise by their id.
func (s *Server) auditRows(c *gin.Context, b *base, entries []accounts.Entry, ops map[string]l10n.Text) []auditRow {
	users := map[string]string{}
	out := make([]auditRow, len(entries))
	for i, e := range entries {
		r := auditRow{At: e.At.In(l10n.Local).Format("2006-01-02 15:04:05"), Who: s.actorName(c, e.Actor, users), Role: e.Actor.Role,
			Operator: e.OperatorID, Action: e.Action, Target: e.Target, RequestID: e.RequestID}
		if n, ok := ops[e.OperatorID]; ok {
			r.Operator = b.Tx(n)
		}
		if m, ok := b.msgs["role."+e.Actor.Role]; ok {
			r.Role = m
		}
		if r.Who == "" {
			r.Who = b.T("audit.someone")
		}
		what := s.auditTarget(c, b, e.Target, users)
		if m, ok := b.msgs["audit.action."+e.Action]; ok {
			r.Sentence = fmt.Sprintf(m, r.Who, what)
		} else {
			r.Sentence = r.Who + " · " + e.Action + " · " + what
		}
		for _, ch := range e.Changes {
			r.Changes = append(r.Changes, auditChange(b, ch))
		}
		out[i] = r
	}
	return out
}

// auditTarget names the record an entry is about.
func (s *Server) auditTarget(c *gin.Context, b *base, target string, users map[string]string) string {
	kind, id, ok := strings.Cut(target, "/")
	if !ok {
		return target
	}
	name := ""
	switch kind {
	case "product":
		if p, found := s.catalog.Lookup(id); found {
			name = b.Tx(p.Name)
		}
	case "station":
		if st, err := s.stations.Station(c.Request.Context(), id); err == nil {
			name = b.Tx(st.Name)
		}
	case "operator", "settings":
		if o, err := s.stations.Operator(c.Request.Context(), id); err == nil {
			name = b.Tx(o.Name)
		}
	case "user":
		name = s.userName(c, id, users)
	case "tier-policy":
		if n, err := strconv.Atoi(id); err == nil {
			return b.T("audit.target.tier-policy", n)
		}
	}
	label := b.T("audit.target." + kind)
	if label == "audit.target."+kind {
		label = kind
	}
	switch {
	case name != "" && b.Lang == "en":
		return label + " \u201c" + name + "\u201d (" + id + ")"
	case name != "":
		return label + "“" + name + "”（" + id + "）"
	}
	return label + " " + id
}

// actorName names who acted: the service itself (jobs, the demo seed) as
// such, a person by their account's name as it is now.
func (s *Server) actorName(c *gin.Context, a audit.Actor, users map[string]string) string {
	if a.Role == tenancy.System.Role {
		return tenancy.System.Name
	}
	return s.userName(c, a.ID, users)
}

// userName is the name of account id as it is now, looked up when the log is
// read (the log holds only ids), remembered in users for the page; "" when
// the account is gone.
func (s *Server) userName(c *gin.Context, id string, users map[string]string) string {
	n, seen := users[id]
	if !seen && s.auth != nil && id != "" {
		if u, err := s.auth.User(c.Request.Context(), id); err == nil {
			n = u.Name
		}
		users[id] = n
	}
	return n
}

// auditChange says what one change did, in the reader's words: the field by
// its label, amounts in yuan, shares in percent, states by their names,
// times in the city's zone, and never a value that is personal.
func auditChange(b *base, ch audit.Change) string {
	label := auditFieldName(b, ch.Field)
	if ch.Before == audit.Hidden || ch.After == audit.Hidden {
		return b.T("audit.change.hidden", label)
	}
	return b.T("audit.change", label, auditValue(b, ch.Field, ch.Before), auditValue(b, ch.Field, ch.After))
}

// auditFieldName names a changed field by its message (audit.field.<name>,
// with dots as underscores). A nested field without its own message (a
// day of the opening hours, one language of a name) is named by the nearest
// enclosing field that has one; list positions are left out.
func auditFieldName(b *base, field string) string {
	var parts []string
	for _, p := range strings.Split(field, ".") {
		if _, err := strconv.Atoi(p); err != nil {
			parts = append(parts, p)
		}
	}
	for n := len(parts); n > 0; n-- {
		if m, ok := b.msgs["audit.field."+strings.Join(parts[:n], "_")]; ok {
			return m
		}
	}
	return b.T("audit.field.other")
}

// auditValue shows a changed value of field compactly: amounts (fields in
// fen) in yuan, shares (in basis points) in percent, yes/no, codes by their
// names, times in the city's zone, lists joined or counted.
func auditValue(b *base, field string, v any) string {
	if v == nil {
		return "—"
	}
	if n, ok := asInt64(v); ok {
		switch {
		case strings.HasSuffix(field, "_fen"):
			return yuan(n)
		case strings.HasSuffix(field, "_bp"):
			return strconv.FormatFloat(float64(n)/100, 'f', -1, 64) + "%"
		}
	}
	switch v := v.(type) {
	case bool:
		if v {
			return b.T("audit.yes")
		}
		return b.T("audit.no")
	case time.Time:
		return v.In(l10n.Local).Format("2006-01-02 15:04")
	case string:
		if v == "" {
			return "—"
		}
		if m, ok := b.msgs["audit.value."+v]; ok {
			return m
		}
		if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
			return t.In(l10n.Local).Format("2006-01-02 15:04")
		}
		if len(v) > 200 {
			return v[:200] + "…"
		}
		return v
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	if dt, ok := v.(interface{ Time() time.Time }); ok {
		return dt.Time().In(l10n.Local).Format("2006-01-02 15:04")
	}
	// Lists come back from the database as its own slice types; a list of
	// records (photos) is counted, a list of words joined.
	if rv := reflect.ValueOf(v); rv.Kind() == reflect.Slice {
		parts := make([]string, 0, rv.Len())
		for i := range rv.Len() {
			e := rv.Index(i).Interface()
			if ek := reflect.ValueOf(e); ek.Kind() == reflect.Map || ek.Kind() == reflect.Slice || ek.Kind() == reflect.Struct {
				return b.T("audit.items", rv.Len())
			}
			parts = append(parts, auditValue(b, field, e))
		}
		if len(parts) == 0 {
			return "—"
		}
		if b.Lang == "en" {
			return strings.Join(parts, ", ")
		}
		return strings.Join(parts, "、")
	}
	if rv := reflect.ValueOf(v); rv.Kind() == reflect.Map || rv.Kind() == reflect.Struct {
		return b.T("audit.changed")
	}
	s := fmt.Sprint(v)
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}
