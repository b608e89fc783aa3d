// Package valid turns bad input into one error type that names each wrong field,
// so every layer can return it and the web layer can answer 400 with
// {"fields": {...}} without knowing which domain produced it.
//
// A problem is a stable code with named parameters (a length limit, an amount
// in fen); the web layer renders it from the message catalogue in the
// reader's language, money in yuan. Every code is registered in Codes with
// the parameters its message uses, and a test walks the source to check that
// every code a package can produce is registered and translated. The English
// Message is for logs and error strings only: people never see it.
package valid

import (
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/go-playground/validator/v10"
)

// ErrInvalid is matched by errors.Is for every *Error.
var ErrInvalid = errors.New("invalid input")

// Problem is what is wrong with one field: a stable code for translation, the
// parameters its message needs, and an English message for logs.
type Problem struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	// Params fill the message's placeholders: numbers, texts, and amounts in
	// fen under names ending in "_fen" (shown in yuan).
	Params map[string]any `json:"params,omitempty"`
}

// params turns key/value pairs ("max", 50, "due_fen", 3900) into a map; a
// key without a value or a key that is not a string is dropped.
func params(kv []any) map[string]any {
	if len(kv) < 2 {
		return nil
	}
	m := make(map[string]any, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		if k, ok := kv[i].(string); ok {
			m[k] = kv[i+1]
		}
	}
	return m
}

// Error lists the fields of one input that are wrong, keyed by the field's name
// as the client sent it (JSON or form name).
type Error struct {
	Fields map[string]Problem
}

// Error implements error: "invalid input: days must be between 1 and 365; …".
func (e *Error) Error() string {
	keys := e.Keys()
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, k+" "+e.Fields[k].Message)
	}
	return "invalid input: " + strings.Join(parts, "; ")
}

// Is makes errors.Is(err, ErrInvalid) true.
func (e *Error) Is(target error) bool { return target == ErrInvalid }

// Keys returns the wrong fields in a stable order.
func (e *Error) Keys() []string {
	keys := make([]string, 0, len(e.Fields))
	for k := range e.Fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Add records a problem with field; the first problem per field is kept. kv
// are the message's parameters as key/value pairs, as Codes lists them:
//
//	e.Add("days", "range", "must be between 1 and 365", "min", 1, "max", 365)
func (e *Error) Add(field, code, message string, kv ...any) *Error {
	if e.Fields == nil {
		e.Fields = map[string]Problem{}
	}
	if _, ok := e.Fields[field]; !ok {
		e.Fields[field] = Problem{Code: code, Message: message, Params: params(kv)}
	}
	return e
}

// Put records p as field's problem unless field already has one: for
// problems carried over from a nested check or another error.
func (e *Error) Put(field string, p Problem) *Error {
	if e.Fields == nil {
		e.Fields = map[string]Problem{}
	}
	if _, ok := e.Fields[field]; !ok {
		e.Fields[field] = p
	}
	return e
}

// Addf is Add with a formatted message and no parameters, for codes whose
// message needs none.
func (e *Error) Addf(field, code, format string, args ...any) *Error {
	return e.Add(field, code, fmt.Sprintf(format, args...))
}

// Err returns e as an error, or nil when no field is wrong.
func (e *Error) Err() error {
	if e == nil || len(e.Fields) == 0 {
		return nil
	}
	return e
}

// Field returns an error about a single field; kv are the message's
// parameters, as for Add.
func Field(field, code, message string, kv ...any) error {
	return (&Error{}).Add(field, code, message, kv...)
}

// Fields returns the field problems inside err, if it is or wraps an *Error.
func Fields(err error) (map[string]Problem, bool) {
	var ve *Error
	if errors.As(err, &ve) {
		return ve.Fields, true
	}
	return nil, false
}

var (
	once sync.Once
	v    *validator.Validate
)

func engine() *validator.Validate {
	once.Do(func() {
		v = validator.New(validator.WithRequiredStructEnabled())
		v.RegisterTagNameFunc(FieldName)
		RegisterLimit(v)
	})
	return v
}

// FieldName is the name a client uses for a struct field: its JSON name, else
// its form name, else the Go name. Register it with any validator whose
// errors are turned into an *Error.
func FieldName(f reflect.StructField) string {
	for _, tag := range []string{"json", "form"} {
		name, _, _ := strings.Cut(f.Tag.Get(tag), ",")
		if name == "-" {
			return ""
		}
		if name != "" {
			return name
		}
	}
	return f.Name
}

// FromValidator converts the validator's errors (from any validator instance
// whose tag names are JSON names, such as Gin's binding) into an *Error.
func FromValidator(verrs validator.ValidationErrors) error {
	out := &Error{}
	for _, fe := range verrs {
		ns := fe.Namespace()
		if i := strings.IndexByte(ns, '.'); i >= 0 {
			ns = ns[i+1:]
		}
		out.Fields = addProblem(out.Fields, ns, describe(fe))
	}
	return out
}

// Struct checks s against its `validate:` tags and returns an *Error naming each
// wrong field by its JSON name (nested fields as "specs.seat_width_cm").
func Struct(s any) error {
	err := engine().Struct(s)
	if err == nil {
		return nil
	}
	var verrs validator.ValidationErrors
	if !errors.As(err, &verrs) {
		return fmt.Errorf("valid: %w", err)
	}
	out := &Error{}
	for _, fe := range verrs {
		ns := fe.Namespace()
		if i := strings.IndexByte(ns, '.'); i >= 0 {
			ns = ns[i+1:] // drop the struct's own name
		}
		out.Fields = addProblem(out.Fields, ns, describe(fe))
	}
	return out
}

func addProblem(m map[string]Problem, k string, p Problem) map[string]Problem {
	if m == nil {
		m = map[string]Problem{}
	}
	if _, ok := m[k]; !ok {
		m[k] = p
	}
	return m
}

// describe turns a validator tag into a registered code: the limits of
// min/max become the "min"/"max" parameters, a "limit" tag becomes "max" with
// the bound Limits names, and a tag without a message of its own becomes
// "invalid".
func describe(fe validator.FieldError) Problem {
	p := fe.Param()
	isString := fe.Kind() == reflect.String
	isList := fe.Kind() == reflect.Slice || fe.Kind() == reflect.Map || fe.Kind() == reflect.Array
	tag := fe.Tag()
	if tag == "limit" {
		tag, p = "max", strconv.Itoa(Limits[p])
	}
	var num any = p
	if n, err := strconv.ParseInt(p, 10, 64); err == nil {
		num = n
	}
	switch tag {
	case "required", "required_without", "required_if":
		return Problem{Code: "required", Message: "is required"}
	case "min", "gte":
		switch {
		case isString:
			return Problem{Code: "min_length", Message: "must be at least " + p + " characters", Params: map[string]any{"min": num}}
		case isList:
			return Problem{Code: "min_items", Message: "must have at least " + p + " items", Params: map[string]any{"min": num}}
		}
		return Problem{Code: "min", Message: "must be at least " + p, Params: map[string]any{"min": num}}
	case "max", "lte":
		switch {
		case isString:
			return Problem{Code: "max_length", Message: "must be at most " + p + " characters", Params: map[string]any{"max": num}}
		case isList:
			return Problem{Code: "max_items", Message: "must have at most " + p + " items", Params: map[string]any{"max": num}}
		}
		return Problem{Code: "max", Message: "must be at most " + p, Params: map[string]any{"max": num}}
	case "oneof":
		return Problem{Code: "oneof", Message: "must be one of: " + strings.ReplaceAll(p, " ", ", ")}
	case "latitude":
		return Problem{Code: "latitude", Message: "must be a latitude between -90 and 90"}
	case "longitude":
		return Problem{Code: "longitude", Message: "must be a longitude between -180 and 180"}
	case "email":
		return Problem{Code: "email", Message: "must be an e-mail address"}
	case "datetime":
		return Problem{Code: "date", Message: "must be a date like 2026-01-31"}
	}
	return Problem{Code: "invalid", Message: "is not valid (" + fe.Tag() + ")"}
}
