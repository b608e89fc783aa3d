package accounts

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"fuju/internal/ids"
	"fuju/internal/tenancy"
)

// Change is one field an action changed.
type Change struct {
	Field  string `json:"field" bson:"field"`
	Before any    `json:"before" bson:"before"`
	After  any    `json:"after" bson:"after"`
}

// Entry is one line of the audit log: who did what to which record, when, with
// which request, and what changed. The log is append-only: nothing updates or
// deletes an entry.
type Entry struct {
	ID         string        `json:"id" bson:"_id"`
	At         time.Time     `json:"at" bson:"at"`
	Actor      tenancy.Actor `json:"actor" bson:"actor"`
	OperatorID string        `json:"operator_id,omitempty" bson:"operator_id,omitempty"`
	Action     string        `json:"action" bson:"action"` // e.g. "product.update"
	Target     string        `json:"target" bson:"target"` // e.g. "product/wc-alu-light"
	Changes    []Change      `json:"changes,omitempty" bson:"changes,omitempty"`
	RequestID  string        `json:"request_id,omitempty" bson:"request_id,omitempty"`
}

// Diff lists the fields that differ between before and after, compared
// through their JSON form (so it sees what API clients see). Either may be nil
// for a creation or a deletion. Fields named in hide are recorded as changed
// without their values (password hashes, ID numbers).
func Diff(before, after any, hide ...string) []Change {
	flat := func(v any) map[string]any {
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
	a, b := flat(before), flat(after)
	keys := map[string]bool{}
	for k := range a {
		keys[k] = true
	}
	for k := range b {
		keys[k] = true
	}
	hidden := map[string]bool{}
	for _, h := range hide {
		hidden[h] = true
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
		if hidden[k] {
			c.Before, c.After = "(hidden)", "(hidden)"
		}
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Field < out[j].Field })
	return out
}

// Record appends an entry to the audit log.
func (s *Service) Record(ctx context.Context, e Entry) error {
	e.ID = ids.New("aud")
	if e.At.IsZero() {
		e.At = s.now()
	}
	if _, err := s.store.audit.InsertOne(context.WithoutCancel(ctx), e); err != nil {
		return fmt.Errorf("auth: audit: %w", err)
	}
	return nil
}

// AuditFilter selects audit entries; OperatorID "" means every operator (the
// platform admin's view).
type AuditFilter struct {
	OperatorID string
	Limit      int64
	Skip       int64
}

// Audit returns entries newest first, with the total count.
func (s *Service) Audit(ctx context.Context, f AuditFilter) ([]Entry, int64, error) {
	filter := bson.D{}
	if f.OperatorID != "" {
		filter = bson.D{{Key: "operator_id", Value: f.OperatorID}}
	}
	total, err := s.store.audit.CountDocuments(ctx, filter)
	if err != nil {
		return nil, 0, translate(err, "audit")
	}
	if f.Limit <= 0 || f.Limit > 200 {
		f.Limit = 50
	}
	cur, err := s.store.audit.Find(ctx, filter, options.Find().SetSort(bson.D{{Key: "at", Value: -1}}).SetSkip(f.Skip).SetLimit(f.Limit))
	if err != nil {
		return nil, 0, translate(err, "audit")
	}
	out := []Entry{}
	if err := cur.All(ctx, &out); err != nil {
		return nil, 0, translate(err, "audit")
	}
	return out, total, nil
}
