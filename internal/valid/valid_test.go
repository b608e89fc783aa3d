package valid

import (
	"errors"
	"fmt"
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
