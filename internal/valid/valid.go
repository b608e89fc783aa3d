// Package valid turns bad input into one error type that names each wrong field,
// so every layer can return it and the web layer can answer 400 with
// {"fields": {...}} without knowing which domain produced it.
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

// Problem is what is wrong with one field: a stable code for translation and an
// English message for API clients.
type Problem struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	// Param is the rule's parameter (a limit, a list of choices), if any.
	Param string `json:"param,omitempty"`
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

// Add records a problem with field; the first problem per field is kept.
func (e *Error) Add(field, code, message string) *Error {
	if e.Fields == nil {
		e.Fields = map[string]Problem{}
	}
	if _, ok := e.Fields[field]; !ok {
		e.Fields[field] = Problem{Code: code, Message: message}
	}
	return e
}

// Addf is Add with a formatted message.
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

// Field returns an error about a single field.
func Field(field, code, message string) error {
	return (&Error{}).Add(field, code, message)
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
		code, msg, param := describe(fe)
		out.Fields = addProblem(out.Fields, ns, Problem{Code: code, Message: msg, Param: param})
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
		code, msg, param := describe(fe)
		out.Fields = addProblem(out.Fields, ns, Problem{Code: code, Message: msg, Param: param})
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

func describe(fe validator.FieldError) (code, message, param string) {
	code, message = describeRule(fe)
	if fe.Tag() == "limit" {
		return code, message, strconv.Itoa(Limits[fe.Param()])
	}
	return code, message, fe.Param()
}

func describeRule(fe validator.FieldError) (code, message string) {
	p := fe.Param()
	isString := fe.Kind() == reflect.String
	isList := fe.Kind() == reflect.Slice || fe.Kind() == reflect.Map || fe.Kind() == reflect.Array
	tag := fe.Tag()
	if tag == "limit" {
		tag, p = "max", strconv.Itoa(Limits[p])
	}
	switch tag {
	case "required", "required_without", "required_if":
		return "required", "is required"
	case "min", "gte":
		if isString {
			return "min_length", "must be at least " + p + " characters"
		}
		if isList {
			return "min_items", "must have at least " + p + " items"
		}
		return "min", "must be at least " + p
	case "max", "lte":
		if isString {
			return "max_length", "must be at most " + p + " characters"
		}
		if isList {
			return "max_items", "must have at most " + p + " items"
		}
		return "max", "must be at most " + p
	case "oneof":
		return "oneof", "must be one of: " + strings.ReplaceAll(p, " ", ", ")
	case "latitude":
		return "latitude", "must be a latitude between -90 and 90"
	case "longitude":
		return "longitude", "must be a longitude between -180 and 180"
	case "email":
		return "email", "must be an e-mail address"
	case "datetime":
		return "date", "must be a date like 2026-01-31"
	}
	return fe.Tag(), "is not valid (" + fe.Tag() + ")"
}
