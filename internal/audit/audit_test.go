package audit

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
)

func TestDiffHidesPersonalFields(t *testing.T) {
	type contact struct {
		Name  string `json:"name"`
		Phone string `json:"phone"`
	}
	type rec struct {
		Name    string  `json:"name"`
		Phone   string  `json:"phone"`
		Fen     int64   `json:"fen"`
		State   string  `json:"state"`
		Contact contact `json:"contact"`
	}
	a := rec{Name: "赵大爷", Phone: "13912345678", Fen: 100, State: "active", Contact: contact{"赵女士", "13900000000"}}
	b := rec{Name: "赵老汉", Phone: "13912345679", Fen: 200, State: "active", Contact: contact{"李女士", "13900000001"}}
	got := Diff(a, b, "name", "phone", "contact")
	want := map[string][2]any{"contact.name": {Hidden, Hidden}, "contact.phone": {Hidden, Hidden}, "fen": {100.0, 200.0},
		"name": {Hidden, Hidden}, "phone": {Hidden, Hidden}}
	if len(got) != len(want) {
		t.Fatalf("diff %+v", got)
	}
	for _, c := range got {
		w, ok := want[c.Field]
		if !ok || c.Before != w[0] || c.After != w[1] {
			t.Errorf("%s: %v → %v, want %v", c.Field, c.Before, c.After, w)
		}
	}
	for _, c := range Fields("password") {
		if c.Field != "password" || c.Before != Hidden || c.After != Hidden {
			t.Errorf("fields %+v", c)
		}
	}
}

type failing struct{ got []Entry }

func (f *failing) Record(_ context.Context, e Entry) error {
	f.got = append(f.got, e)
	return errors.New("disk full")
}

// Write fills the request id from the context, runs after the caller's
// context is cancelled (the change happened), logs a failure with the
// request id and the action without returning it, and records nothing
// through a nil recorder.
func TestWrite(t *testing.T) {
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	ctx, cancel := context.WithCancel(WithRequestID(context.Background(), "rid-1"))
	cancel()
	r := &failing{}
	Write(ctx, r, logger, Entry{Action: "lease.checkout", Target: "lease/l-1"})
	if len(r.got) != 1 || r.got[0].RequestID != "rid-1" {
		t.Fatalf("recorded %+v", r.got)
	}
	if l := logs.String(); !strings.Contains(l, "audit log write failed") || !strings.Contains(l, "rid-1") || !strings.Contains(l, "lease.checkout") {
		t.Errorf("log %q", l)
	}
	var none *failing
	Write(context.Background(), none, logger, Entry{Action: "x.y"})
	Write(context.Background(), nil, logger, Entry{Action: "x.y"})
	if RequestID(context.Background()) != "" {
		t.Error("a request id outside a request")
	}
}
