package web

import (
	"net/url"
	"strings"

	"github.com/gin-gonic/gin"

	"fuju/internal/input"
	"fuju/internal/valid"
)

// form is what a page needs to show a form again after a failed post: what was
// typed and what is wrong, field by field (post/redirect/get on success).
type form struct {
	Values url.Values
	// Errors maps a field name to its problem's code.
	Errors map[string]string
	// Messages are the fields' problems with their parameters, which pages
	// show in the reader's words (ErrorText).
	Messages map[string]valid.Problem
	// First is the first wrong field in the form's order; it gets focus.
	First string
}

// newForm reads the posted form, normalised by what each field holds
// (fieldKinds).
func newForm(c *gin.Context) form {
	_ = c.Request.ParseForm()
	normalizeValues(c.Request.PostForm)
	return form{Values: c.Request.PostForm}
}

// fail records err's field problems on the form, in the order of fields; it
// reports false when err is not a validation error.
func (f *form) fail(err error, order ...string) bool {
	probs, ok := problemsOf(err)
	if !ok {
		return false
	}
	f.Errors, f.Messages = map[string]string{}, map[string]valid.Problem{}
	for k, p := range probs {
		f.Errors[k] = p.Code
		f.Messages[k] = p
	}
	for _, k := range order {
		if _, bad := f.Errors[k]; bad {
			f.First = k
			break
		}
	}
	if f.First == "" {
		for _, k := range (&valid.Error{Fields: probs}).Keys() {
			f.First = k
			break
		}
	}
	return true
}

func (f form) Get(name string) string {
	if f.Values == nil {
		return ""
	}
	return strings.TrimSpace(f.Values.Get(name))
}

// inputField is one labelled input of a form, rendered by the "input"
// template: label, hint, error announced next to it, value kept.
type inputField struct {
	Name, Type, Label, Hint, Error, Value, Autocomplete, Inputmode string
	Required, Focus                                                bool
}

// Input describes field name of f for the "input" template. kind is the input
// type; password inputs never echo what was typed.
func (b *base) Input(f form, name, kind, labelKey, autocomplete string, required bool) inputField {
	in := inputField{Name: name, Type: kind, Label: b.T(labelKey), Autocomplete: autocomplete, Required: required,
		Value: f.Get(name), Focus: f.First == name}
	if hint := labelKey + ".hint"; b.msgs[hint] != "" {
		in.Hint = b.T(hint)
	}
	if kind == "password" {
		in.Value = ""
	}
	if kind == "tel" {
		in.Inputmode = "tel"
	}
	if code, bad := f.Errors[name]; bad {
		in.Error = b.ErrorText(code, f.Messages[name])
	}
	return in
}

// ErrorText is a field's problem in the reader's words: p is the form's
// Messages entry for the field (a valid.Problem, with its parameters), code
// its code, used alone when p is not a problem.
func (b *base) ErrorText(code string, p any) string {
	pr, ok := p.(valid.Problem)
	if !ok || pr.Code == "" {
		pr = valid.Problem{Code: code}
	}
	return b.words().Problem(pr)
}

// summary is what the "errorsummary" template shows: every wrong field,
// linked to its input.
type summary struct {
	B        *base
	Errors   map[string]string
	Messages map[string]valid.Problem
}

// Summary prepares the error summary of f.
func (b *base) Summary(f form) summary { return summary{B: b, Errors: f.Errors, Messages: f.Messages} }

// InputValue is Input with a default value shown until the user typed one.
func (b *base) InputValue(f form, name, kind, labelKey, def string) inputField {
	in := b.Input(f, name, kind, labelKey, "off", false)
	if in.Value == "" && f.Errors == nil {
		in.Value = def
	}
	in.Inputmode = "decimal"
	return in
}

// payRow is what the "payrow" template needs: a payment method, amount and
// reference at the desk.
type payRow struct {
	B       *base
	F       form
	Legend  string
	Methods []string
	Amount  string
}

// PayRow prepares the payment fields of a desk form; amount is prefilled in
// yuan.
func (b *base) PayRow(f form, legend string, methods []string, amountFen int64) payRow {
	return payRow{B: b, F: f, Legend: legend, Methods: methods, Amount: strings.TrimPrefix(yuan(amountFen), "¥")}
}

// rename moves a service's field name to the form's (the service says
// "emergency_contact.name", the form has "emergency_name").
func (f *form) rename(from, to string) {
	if code, ok := f.Errors[from]; ok {
		f.Errors[to], f.Messages[to] = code, f.Messages[from]
		delete(f.Errors, from)
		delete(f.Messages, from)
		if f.First == from {
			f.First = to
		}
	}
}

// parseYuan reads an amount typed in yuan with at most two decimals ("12",
// "12.5", "¥12.50", "１２元") as fen (see input.Yuan).
func parseYuan(s string) (int64, bool) { return input.Yuan(s) }
