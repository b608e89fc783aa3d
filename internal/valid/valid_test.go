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
		"note":  {Code: "max_length", Message: "must be at most 500 characters", Param: "500"},
		"tags":  {Code: "max_items", Message: "must have at most 5 items", Param: "5"},
		"phone": {Code: "max_length", Message: "must be at most 30 characters", Param: "30"},
	}
	for f, p := range want {
		if fields[f] != p {
			t.Errorf("%s: %+v, want %+v", f, fields[f], p)
		}
	}
	e := &Error{}
	e.Text("a", long, MaxNote).Text("b", long+"x", MaxNote).List("c", 3, 2).List("d", 2, 2)
	if got := e.Keys(); strings.Join(got, ",") != "b,c" {
		t.Errorf("Text and List flagged %v", got)
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
