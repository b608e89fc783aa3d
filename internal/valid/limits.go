package valid

import (
	"reflect"
	"strconv"
	"unicode/utf8"

	"github.com/go-playground/validator/v10"
)

// Limits on what people store. Every text a person can type and every list
// they can send has a bound, declared here and nowhere else: each domain's
// Validate checks it (Error.Text, Error.List), the API's request types check
// it as they are read (the "limit" tag: `binding:"limit=note"`), and the
// OpenAPI document repeats it as maxLength or maxItems with "x-limit" naming
// the entry of Limits; a test keeps the document and this table equal.
//
// Texts are counted in characters (a Chinese character is one), lists in
// items. Whatever is stored lands in pages and API answers, so an unbounded
// field is a way to fill every response with junk.
const (
	// MaxID bounds the id of a record another record names: a product, a
	// station, an operator, a renter, a lease, an account, a photo.
	MaxID = 64
	// MaxTag bounds a unit's asset tag as typed or scanned.
	MaxTag = 30
	// MaxText bounds a name or an address in one language (a listing's,
	// a station's, an operator's), a renter's address, a photo's
	// description, one check of a cleaning checklist, and the note of a
	// waiver or of the decision on one.
	MaxText = 200
	// MaxDescription bounds a listing's description in one language.
	MaxDescription = 4000
	// MaxPersonName bounds a person's name: an account, a renter, an
	// emergency contact, whoever accepted the rental terms, an API token.
	MaxPersonName = 60
	// MaxPhone bounds a phone number as typed.
	MaxPhone = 30
	// MaxEmail bounds an e-mail address (RFC 5321's path limit).
	MaxEmail = 254
	// MaxPassword bounds a password.
	MaxPassword = 128
	// MaxNote bounds a note or a reason: a unit's condition, what is wrong
	// with it, why it moves or leaves service, a cleaning's or a repair's
	// notes, a tier proof's note, a policy version's note, a suspension's
	// reason.
	MaxNote = 500
	// MaxNeeds bounds a renter's mobility needs and a check-in's notes
	// (what the desk saw on return, in full).
	MaxNeeds = 1000
	// MaxReference bounds a payment's or refund's reference (a transfer
	// number).
	MaxReference = 100
	// MaxCode bounds a short code: a tier proof's number, the rental
	// terms' version, an account's link code, a cleaning method.
	MaxCode = 64
	// MaxIDNumber bounds a resident ID number as typed: its 18 characters
	// and the spaces or dashes people put between its groups (the domain
	// then wants exactly 18, once normalised).
	MaxIDNumber = 30
	// MaxKeyword bounds one search keyword of a listing.
	MaxKeyword = 40
	// MaxQuery bounds a renter search typed at the desk: a phone number,
	// the end of an ID number, or a name.
	MaxQuery = 64

	// MaxKeywords bounds a listing's search keywords.
	MaxKeywords = 30
	// MaxClosedDays bounds the dates a station is closed (public holidays).
	MaxClosedDays = 60
	// MaxChecklist bounds the checks a cleaner confirms.
	MaxChecklist = 20
	// MaxPayments bounds the payments taken in one desk operation; with
	// each below rentals.MaxPaymentFen their sum cannot overflow.
	MaxPayments = 5
	// MaxPhotos bounds a listing's photos.
	MaxPhotos = 12
	// MaxStationIDs bounds the stations a staff account works at.
	MaxStationIDs = 100
	// MaxScopes bounds an API token's scopes (there are three).
	MaxScopes = 3
	// MaxDistricts bounds the districts a station delivers to (the city
	// has eleven); MaxWindows its delivery windows (morning, afternoon).
	MaxDistricts = 11
	MaxWindows   = 2
)

// Limits names each bound for the "limit" tag and the OpenAPI document's
// "x-limit".
var Limits = map[string]int{
	"id":          MaxID,
	"tag":         MaxTag,
	"text":        MaxText,
	"description": MaxDescription,
	"person_name": MaxPersonName,
	"phone":       MaxPhone,
	"email":       MaxEmail,
	"password":    MaxPassword,
	"note":        MaxNote,
	"needs":       MaxNeeds,
	"reference":   MaxReference,
	"code":        MaxCode,
	"id_number":   MaxIDNumber,
	"keyword":     MaxKeyword,
	"query":       MaxQuery,
	"keywords":    MaxKeywords,
	"closed_days": MaxClosedDays,
	"checklist":   MaxChecklist,
	"payments":    MaxPayments,
	"photos":      MaxPhotos,
	"station_ids": MaxStationIDs,
	"scopes":      MaxScopes,
	"districts":   MaxDistricts,
	"windows":     MaxWindows,
}

// Text records a max_length problem with field when s has more than max
// characters.
func (e *Error) Text(field, s string, max int) *Error {
	if utf8.RuneCountInString(s) > max {
		e.Add(field, "max_length", "must be at most "+strconv.Itoa(max)+" characters", "max", max)
	}
	return e
}

// List records a max_items problem with field when a list has more than max
// items.
func (e *Error) List(field string, n, max int) *Error {
	if n > max {
		e.Add(field, "max_items", "must have at most "+strconv.Itoa(max)+" items", "max", max)
	}
	return e
}

// RegisterLimit teaches v the "limit" tag: `limit=note` holds a string to
// Limits["note"] characters and a list or map to that many items. It
// panics on a name Limits lacks, when the struct is first checked, so a typo
// fails every test that reads the type.
func RegisterLimit(v *validator.Validate) {
	if err := v.RegisterValidation("limit", checkLimit); err != nil {
		panic(err)
	}
}

func checkLimit(fl validator.FieldLevel) bool {
	max, ok := Limits[fl.Param()]
	if !ok {
		panic("valid: no limit named " + strconv.Quote(fl.Param()))
	}
	f := fl.Field()
	switch f.Kind() {
	case reflect.String:
		return utf8.RuneCountInString(f.String()) <= max
	case reflect.Slice, reflect.Array, reflect.Map:
		return f.Len() <= max
	case reflect.Pointer:
		if f.IsNil() {
			return true
		}
		if e := f.Elem(); e.Kind() == reflect.String {
			return utf8.RuneCountInString(e.String()) <= max
		}
	}
	return true
}
