package web

import (
	"net/url"
	"reflect"
	"strings"

	"fuju/internal/input"
	"fuju/internal/valid"
)

// fieldKinds is the one table of what each field holds, by its form or JSON
// name (nested JSON fields by their path): forms, query parameters and JSON
// bodies are normalised by it before any rule sees them, so "１３８ ００００
// ０００３", "２０元" and "2026/11/20" are read as 13800000003, 20 and
// 2026-11-20 everywhere. A field not listed is left as typed (passwords,
// notes).
var fieldKinds = map[string]input.Kind{
	"phone": input.Phone, "emergency_phone": input.Phone, "emergency_contact.phone": input.Phone, "delivery.phone": input.Phone,
	"login":     input.Login,
	"id_number": input.IDNumber,
	"find":      input.Search, "query": input.Search,
	"name": input.Text, "accepted_name": input.Text, "emergency_name": input.Text, "emergency_contact.name": input.Text,
	"address": input.Text, "delivery.address": input.Text, "proof_number": input.Text, "pay_reference": input.Text, "refund_reference": input.Text,
	"reference": input.Text,
	// Money typed in yuan on pages (the API takes integer fen).
	"pay_amount": input.Money, "damage": input.Money, "cost": input.Money, "max_price": input.Money,
	"daily_yuan": input.Money, "block30_yuan": input.Money, "deposit_yuan": input.Money, "adm_cap": input.Money,
	"due_on": input.Date, "paid_on": input.Date, "expires_on": input.Date, "acquired_on": input.Date,
	"days": input.Number, "age": input.Number, "page": input.Number, "per_page": input.Number, "code": input.Number,
	"adm_lost_days": input.Number,
	"unit":          input.Tag, "tag": input.Tag,
}

// normalizeValues rewrites form or query values in place by fieldKinds.
func normalizeValues(v url.Values) {
	for name, vals := range v {
		k, ok := fieldKinds[name]
		if !ok {
			continue
		}
		for i := range vals {
			vals[i] = input.Normalize(k, vals[i])
		}
	}
}

// normalizeJSON rewrites the string fields of a decoded request (a pointer to
// a struct) by fieldKinds, looking each up by its JSON path and then by its
// name alone.
func normalizeJSON(v any) {
	normalizeStruct(reflect.ValueOf(v), "")
}

func normalizeStruct(v reflect.Value, prefix string) {
	for v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return
		}
		v = v.Elem()
	}
	if v.Kind() != reflect.Struct {
		return
	}
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		sf := t.Field(i)
		if !sf.IsExported() {
			continue
		}
		f := v.Field(i)
		name := valid.FieldName(sf)
		path := name
		if sf.Anonymous {
			path = strings.TrimSuffix(prefix, ".")
		} else if prefix != "" {
			path = prefix + name
		}
		if f.Kind() == reflect.Pointer && !f.IsNil() && f.Elem().Kind() == reflect.String {
			f = f.Elem()
		}
		switch f.Kind() {
		case reflect.String:
			k, ok := fieldKinds[path]
			if !ok {
				k, ok = fieldKinds[name]
			}
			if ok && f.CanSet() {
				f.SetString(input.Normalize(k, f.String()))
			}
		case reflect.Struct, reflect.Pointer:
			next := path + "."
			if sf.Anonymous {
				next = prefix
			}
			normalizeStruct(f, next)
		}
	}
}
