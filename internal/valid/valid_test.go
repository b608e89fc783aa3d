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
