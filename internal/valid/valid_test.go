package valid

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

type inner struct {
	Width int `json:"seat_width_cm" validate:"min=0,max=120"`
}

type input struct {
	Name  string   `json:"name" validate:"required,max=5"`
	Kind  string   `json:"kind" validate:"oneof=a b"`
	Days  int      `form:"days" validate:"min=1,max=365"`
	Inner inner    `json:"specs"`
	Tags  []string `json:"tags" validate:"max=2"`
}

func TestStructNamesFields(t *testing.T) {
	err := Struct(input{Name: "toolong", Kind: "c", Days: 0, Inner: inner{Width: 500}, Tags: []string{"x", "y", "z"}})
	fields, ok := Fields(err)
	if !ok {
		t.Fatalf("Struct returned %v, want *Error", err)
	}
	want := map[string]string{
		"name":                "max_length",
		"kind":                "oneof",
		"days":                "min",
		"specs.seat_width_cm": "max",
		"tags":                "max_items",
	}
	for f, code := range want {
		if fields[f].Code != code {
			t.Errorf("field %s: code %q, want %q (all: %v)", f, fields[f].Code, code, fields)
		}
	}
	if !errors.Is(fmt.Errorf("wrapped: %w", err), ErrInvalid) {
		t.Error("wrapped *Error is not ErrInvalid")
	}
	if err := Struct(input{Name: "ok", Kind: "a", Days: 3}); err != nil {
		t.Errorf("valid input: %v", err)
	}
}

func TestErrCollects(t *testing.T) {
	var e Error
	if e.Err() != nil {
		t.Fatal("empty error is not nil")
	}
	e.Add("page", "min", "must be at least 1").Add("page", "x", "second is ignored")
	if e.Err() == nil || e.Fields["page"].Code != "min" {
		t.Fatalf("got %+v", e.Fields)
	}
	if got := e.Error(); got != "invalid input: page must be at least 1" {
		t.Fatalf("Error() = %q", got)
	}
}

func TestProblemsCarryParameters(t *testing.T) {
	err := Struct(input{Name: "toolong", Kind: "a", Days: 0})
	fields, _ := Fields(err)
	if p := fields["name"]; p.Code != "max_length" || p.Params["max"] != int64(5) {
		t.Errorf("name: %+v", p)
	}
	if p := fields["days"]; p.Code != "min" || p.Params["min"] != int64(1) {
		t.Errorf("days: %+v", p)
	}
	var e Error
	e.Add("payments", "total_exact", "must total 390", "due_fen", int64(39000), "paid_fen", int64(100))
	if p := e.Fields["payments"]; p.Params["due_fen"] != int64(39000) || p.Params["paid_fen"] != int64(100) {
		t.Errorf("Add's parameters: %+v", p)
	}
	if got := e.Put("payments", Problem{Code: "x"}).Fields["payments"].Code; got != "total_exact" {
		t.Errorf("Put replaced the first problem: %s", got)
	}
}

func TestBecause(t *testing.T) {
	sentinel := errors.New("conflict")
	err := fmt.Errorf("stations: unit JZ-WC-0001 at st-7: %w", Because(sentinel, "unit_state", "tag", "JZ-WC-0001", "state", "rented"))
	if !errors.Is(err, sentinel) {
		t.Fatal("a reason hides its sentinel")
	}
	r, ok := ReasonOf(err)
	if !ok || r.Code != "unit_state" || r.Params["tag"] != "JZ-WC-0001" || r.Params["state"] != "rented" {
		t.Fatalf("ReasonOf: %+v %v", r, ok)
	}
	if _, ok := ReasonOf(sentinel); ok {
		t.Error("a bare sentinel has a reason")
	}
}

type limited struct {
	Note  string   `json:"note" validate:"limit=note"`
	Tags  []string `json:"tags" validate:"limit=payments"`
	Phone *string  `json:"phone" validate:"omitempty,limit=phone"`
}

// The limit tag counts characters, not bytes, and names the bound in the
// problem's message and parameter.
func TestLimitTag(t *testing.T) {
	long := strings.Repeat("长", MaxNote)
	phone := strings.Repeat("1", MaxPhone)
	if err := Struct(limited{Note: long, Tags: make([]string, MaxPayments), Phone: &phone}); err != nil {
		t.Fatalf("at the limits: %v", err)
	}
	phone += "1"
	fields, _ := Fields(Struct(limited{Note: long + "长", Tags: make([]string, MaxPayments+1), Phone: &phone}))
	want := map[string]Problem{
		"note":  {Code: "max_length", Message: "must be at most 500 characters", Params: map[string]any{"max": int64(500)}},
		"tags":  {Code: "max_items", Message: "must have at most 5 items", Params: map[string]any{"max": int64(5)}},
		"phone": {Code: "max_length", Message: "must be at most 30 characters", Params: map[string]any{"max": int64(30)}},
	}
	for f, p := range want {
		got := fields[f]
		if got.Code != p.Code || got.Message != p.Message || got.Params["max"] != p.Params["max"] {
			t.Errorf("%s: %+v, want %+v", f, got, p)
		}
	}
	e := &Error{}
	e.Text("a", long, MaxNote).Text("b", long+"x", MaxNote).List("c", 3, 2).List("d", 2, 2)
	if got := e.Keys(); strings.Join(got, ",") != "b,c" {
		t.Errorf("Text and List flagged %v", got)
	}
	if p := e.Fields["b"]; p.Code != "max_length" || p.Params["max"] != MaxNote {
		t.Errorf("Text's problem: %+v", p)
	}
	if p := e.Fields["c"]; p.Code != "max_items" || p.Params["max"] != 2 {
		t.Errorf("List's problem: %+v", p)
	}
	func() {
		defer func() {
			if recover() == nil {
				t.Error("an unknown limit name did not panic")
			}
		}()
		type typo struct {
			X string `validate:"limit=nope"`
		}
		Struct(typo{X: "x"})
	}()
}
