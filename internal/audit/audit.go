// Package audit is the shape of the audit log: who changed what, in which
// request, and which fields. Every state-changing service method writes one
// Entry through a Recorder it was given at construction, after its change
// succeeded, so a new route cannot forget to.
//
// An entry never holds personal data: the actor is an id and a role (the
// consoles look the name up when they show the entry), and a change names the
// field, with its values only when they are not about a person (prices,
// states, dates, counts). Domains say which fields are personal.
package audit

import (
	"context"
	"encoding/json"
	"log/slog"
	"reflect"
	"sort"
	"time"
)

// Actor is who acted: an account id (or "system") and the role it acted in.
type Actor struct {
	ID   string `json:"id" bson:"id"`
	Role string `json:"role" bson:"role"`
}

// Change is one field an action changed. Before and After are empty for a
// field whose values are personal (Hidden).
type Change struct {
	Field  string `json:"field" bson:"field"`
	Before any    `json:"before" bson:"before"`
	After  any    `json:"after" bson:"after"`
}

// Hidden stands for the values of a field that is personal: the entry says the
// field changed, never to what.
const Hidden = "(hidden)"

// Entry is one line of the audit log: who did what to which record, when, with
// which request, and what changed. The log is append-only: nothing updates or
// deletes an entry.
type Entry struct {
	ID         string    `json:"id" bson:"_id"`
	At         time.Time `json:"at" bson:"at"`
	Actor      Actor     `json:"actor" bson:"actor"`
	OperatorID string    `json:"operator_id,omitempty" bson:"operator_id,omitempty"`
	Action     string    `json:"action" bson:"action"` // e.g. "product.update"
	Target     string    `json:"target" bson:"target"` // e.g. "product/wc-alu-light"
	Changes    []Change  `json:"changes,omitempty" bson:"changes,omitempty"`
	RequestID  string    `json:"request_id,omitempty" bson:"request_id,omitempty"`
}

// Recorder appends entries to the audit log.
type Recorder interface {
	Record(ctx context.Context, e Entry) error
}

type ridKey struct{}

// WithRequestID returns ctx carrying the id of the request it serves.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, ridKey{}, id)
}

// RequestID is the id of the request ctx serves, or "" outside a request
// (jobs, seeding).
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(ridKey{}).(string)
	return id
}

// Write records e through r after the change it describes succeeded, filling
// the request id from ctx. A failure is logged with the request id and the
// action and is not returned: the caller's change is already stored (the
// database has no transactions to undo it with), and answering an error for
// a completed write would make the client repeat it. A nil r records nothing
// (tests that do not look at the log).
func Write(ctx context.Context, r Recorder, logger *slog.Logger, e Entry) {
	if r == nil || reflect.ValueOf(r).Kind() == reflect.Pointer && reflect.ValueOf(r).IsNil() {
		return
	}
	if e.RequestID == "" {
		e.RequestID = RequestID(ctx)
	}
	// The change happened even when the client went away meanwhile.
	if err := r.Record(context.WithoutCancel(ctx), e); err != nil {
		if logger == nil {
			logger = slog.Default()
		}
		logger.ErrorContext(ctx, "audit log write failed", "err", err, "action", e.Action, "target", e.Target,
			"request_id", e.RequestID)
	}
}

// Diff lists the fields that differ between before and after, compared
// through their JSON form (so it sees what API clients see); nested objects
// are flattened to dotted names ("rate.daily_fen"). Either may be nil for a
// creation or a deletion. Fields named in hide, or below a name in hide, are
// listed with their values replaced by Hidden: callers name every field that
// is personal (names, phone numbers, ID numbers, addresses, free text about a
// person).
func Diff(before, after any, hide ...string) []Change {
	a, b := flatten(before), flatten(after)
	keys := map[string]bool{}
	for k := range a {
		keys[k] = true
	}
	for k := range b {
		keys[k] = true
	}
	var out []Change
	for k := range keys {
		if k == "updated_at" || k == "version" {
			continue
		}
		if reflect.DeepEqual(a[k], b[k]) {
			continue
		}
		c := Change{Field: k, Before: a[k], After: b[k]}
		if hidden(k, hide) {
			c.Before, c.After = Hidden, Hidden
		}
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Field < out[j].Field })
	return out
}

// Fields lists the named fields as changed without their values, for a
// change whose values are all personal or secret.
func Fields(names ...string) []Change {
	out := make([]Change, len(names))
	for i, n := range names {
		out[i] = Change{Field: n, Before: Hidden, After: Hidden}
	}
	return out
}

func hidden(field string, hide []string) bool {
	for _, h := range hide {
		if field == h || len(field) > len(h) && field[:len(h)] == h && field[len(h)] == '.' {
			return true
		}
	}
	return false
}

func flatten(v any) map[string]any {
	out := map[string]any{}
	if v == nil || reflect.ValueOf(v).Kind() == reflect.Pointer && reflect.ValueOf(v).IsNil() {
		return out
	}
	b, err := json.Marshal(v)
	if err != nil {
		return out
	}
	var m map[string]any
	if json.Unmarshal(b, &m) != nil {
		return out
	}
	var walk func(prefix string, m map[string]any)
	walk = func(prefix string, m map[string]any) {
		for k, v := range m {
			if sub, ok := v.(map[string]any); ok {
				walk(prefix+k+".", sub)
				continue
			}
			out[prefix+k] = v
		}
	}
	walk("", m)
	return out
}
