// Package messages is the outbox: every message Fuju sends to a person (phone
// codes, reservation and lease notices, reminders, tier decisions, payment
// links) goes through it, once per (event, recipient).
//
// A message's _id is its event and its recipient ("lease/l-123/due-3d/renter-r-9"),
// so a crash, a retry or a second instance that enqueues it again finds it
// there and writes nothing (Enqueue is idempotent). The text is rendered once,
// at enqueue, in the recipient's language from the templates this package
// embeds (templates/*.tmpl), with amounts in yuan and times in Asia/Shanghai.
//
// Delivery follows the transition pattern (internal/eventlog): a worker claims
// a message by appending to the message's log, sends it, and appends the
// outcome. Two workers that saw the same head append the same event id and
// only one sends. A claim carries an expiry: a worker that crashed after
// claiming leaves a claim that runs out, and the message is claimed again, so
// delivery to the gateway is at least once, with the message id as the
// gateway's idempotency key.
//
// # Storage
//
// Only lookups by _id use an index on the embedded engine, every other filter
// scans, and every update scans its collection, so:
//
//	messages          _id = message id    the archive: written once, never updated
//	message_events    the "message" log: claims and outcomes of each message
//	outbox_due        _id = message id    the queue the delivery job scans: one
//	                  small document per message not yet finished (deleted then)
//	message_outcomes  _id = message id    how a finished message ended (insert-only)
//	message_index     _id = <list>/<seq>  a recipient's inbox ("r/<key>") and a
//	                  station's log ("s/<operator>/<station>"), newest at the
//	                  highest sequence, paged by _id lookups; a unique index on
//	                  (list, message) lists a message once per list
//	message_prefs     _id = recipient key reminders turned off
//
// See docs/messages.md for kinds, ids, quiet hours, retries, senders and the
// gateway's request.
package messages

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"fuju/internal/valid"
)

// Errors returned by this package; the web layer maps them to statuses.
var (
	ErrNotFound = errors.New("not found")
	ErrConflict = errors.New("conflict")
)

// Local is the city's time zone: quiet hours and the times in messages are
// Asia/Shanghai. China has no daylight saving, so a fixed offset is exact.
var Local = time.FixedZone("Asia/Shanghai", 8*60*60)

// Lang is a language a message can be written in.
type Lang string

// Languages, Chinese first: it is the default.
const (
	Chinese Lang = "zh-CN"
	English Lang = "en"
)

// Langs lists every language messages are written in.
var Langs = []Lang{Chinese, English}

// ParseLang reads a language tag loosely ("zh", "zh-Hans", "en-US"); "" is
// Chinese, the city's language. ok is false for a language we do not write.
func ParseLang(s string) (Lang, bool) {
	s = strings.ToLower(strings.TrimSpace(s))
	switch {
	case s == "" || s == "zh" || strings.HasPrefix(s, "zh-"):
		return Chinese, true
	case s == "en" || strings.HasPrefix(s, "en-"):
		return English, true
	}
	return "", false
}

// Class says how a kind of message is treated: codes go out at any hour and
// cannot be turned off; notices cannot be turned off, and wait out quiet
// hours unless they answer what the person just did or carry a deadline
// (see Kind.HeldByQuietHours); reminders wait out quiet hours and are not
// sent to people who turned reminders off.
type Class string

// Classes of messages.
const (
	ClassCode     Class = "code"
	ClassNotice   Class = "notice"
	ClassReminder Class = "reminder"
)

// Kind is what a message says; each kind has a template in every language
// and needs certain parameters.
type Kind string

// Kinds of messages.
const (
	PhoneCode            Kind = "phone_code"            // Code, Minutes
	ReservationConfirmed Kind = "reservation_confirmed" // Product, Station, From, To (pickup window)
	PickupReminder       Kind = "pickup_reminder"       // Product, Station, From, To; the day before
	HoldExpiring         Kind = "hold_expiring"         // Product, Station, At (the hold's end)
	WaitlistOffer        Kind = "waitlist_offer"        // Product, Station, At (the offer's end)
	LeaseDueSoon         Kind = "lease_due_soon"        // Product, Date (due on), Days (until then)
	LeaseOverdue         Kind = "lease_overdue"         // Product, Date (was due), Days (overdue)
	TierApproved         Kind = "tier_approved"         // Tier, Date (expires on)
	TierRejected         Kind = "tier_rejected"         // Note (optional reason)
	TierExpiring         Kind = "tier_expiring"         // Tier, Date (expires on), Days (until then)
	PaymentLink          Kind = "payment_link"          // AmountFen, URL, At (optional: link's end)
)

// param names a parameter a kind needs (see Params).
type param int

const (
	pCode param = iota
	pMinutes
	pProduct
	pStation
	pWindow
	pAt
	pDate
	pDays
	pTier
	pAmount
	pURL
)

type kindSpec struct {
	class Class
	needs []param
	// secret kinds (phone codes) are never listed with their text and never
	// appear in an inbox.
	secret bool
	// anyHour kinds go out in quiet hours too: the person just asked for
	// them (a reservation made at 22:00, a payment link), or every hour held
	// is an hour of a deadline lost (a waitlist offer).
	anyHour bool
}

var kinds = map[Kind]kindSpec{
	PhoneCode:            {class: ClassCode, needs: []param{pCode, pMinutes}, secret: true, anyHour: true},
	ReservationConfirmed: {class: ClassNotice, needs: []param{pProduct, pStation, pWindow}, anyHour: true},
	PickupReminder:       {class: ClassReminder, needs: []param{pProduct, pStation, pWindow}},
	HoldExpiring:         {class: ClassReminder, needs: []param{pProduct, pStation, pAt}},
	WaitlistOffer:        {class: ClassNotice, needs: []param{pProduct, pStation, pAt}, anyHour: true},
	LeaseDueSoon:         {class: ClassReminder, needs: []param{pProduct, pDate, pDays}},
	LeaseOverdue:         {class: ClassReminder, needs: []param{pProduct, pDate, pDays}},
	TierApproved:         {class: ClassNotice, needs: []param{pTier, pDate}},
	TierRejected:         {class: ClassNotice},
	TierExpiring:         {class: ClassReminder, needs: []param{pTier, pDate, pDays}},
	PaymentLink:          {class: ClassNotice, needs: []param{pAmount, pURL}, anyHour: true},
}

// Kinds lists every kind of message.
var Kinds = []Kind{PhoneCode, ReservationConfirmed, PickupReminder, HoldExpiring, WaitlistOffer,
	LeaseDueSoon, LeaseOverdue, TierApproved, TierRejected, TierExpiring, PaymentLink}

// Valid reports whether k is a known kind.
func (k Kind) Valid() bool { _, ok := kinds[k]; return ok }

// Class returns how messages of kind k are treated.
func (k Kind) Class() Class { return kinds[k].class }

// Secret reports whether messages of kind k carry a secret (a phone code):
// their text is never listed and they stay out of inboxes.
func (k Kind) Secret() bool { return kinds[k].secret }

// HeldByQuietHours reports whether messages of kind k wait for the end of
// quiet hours. Phone codes, reservation confirmations, waitlist offers and
// payment links go out at any hour; reminders and the other notices wait.
func (k Kind) HeldByQuietHours() bool { return k.Valid() && !kinds[k].anyHour }

// Text is a name in both languages; l10n.Text converts to it directly
// (messages.Text(product.Name)).
type Text struct {
	Zh string `json:"zh" bson:"zh"`
	En string `json:"en" bson:"en"`
}

func (t Text) in(l Lang) string {
	if l == English && t.En != "" || t.Zh == "" {
		return t.En
	}
	return t.Zh
}

func (t Text) empty() bool { return strings.TrimSpace(t.Zh) == "" && strings.TrimSpace(t.En) == "" }

// Params are what a message's template needs. Each kind uses some of them
// (see the Kind constants); the others stay zero.
type Params struct {
	// Code is a phone verification code, 4 to 8 digits.
	Code string
	// Minutes the code stays valid; it also bounds how late the message may
	// still be sent.
	Minutes int
	Product Text
	Station Text
	// From and To are a pickup window.
	From, To time.Time
	// At is when a hold, an offer or a payment link ends.
	At time.Time
	// Date is a city date (YYYY-MM-DD): a due date, a tier's expiry.
	Date string
	// Days counts days until Date, or days overdue.
	Days int
	// Tier is an income tier: subsistence, low_income or standard.
	Tier      string
	AmountFen int64
	// URL is a payment link (https, or http for a local gateway).
	URL string
	// Note is a short reason staff gave (a rejected tier application).
	Note string
}

// Recipient is the person a message goes to.
type Recipient struct {
	// Key names the person in message ids, inboxes and preferences:
	// RenterKey(renter id) for a renter, UserKey(user id) for an account
	// that has no renter yet. Never a phone number.
	Key string
	// Phone is the mainland mobile number the message is sent to. It leaves
	// this package only in the sender's request; everything else shows it
	// masked (MaskPhone).
	Phone string
	// Lang is the language to write in; "" is Chinese.
	Lang Lang
}

// RenterKey is the recipient key of a renter.
func RenterKey(renterID string) string { return "renter-" + renterID }

// UserKey is the recipient key of an account without a renter.
func UserKey(userID string) string { return "user-" + userID }

// NewMessage is a message to enqueue.
type NewMessage struct {
	// Event names what happened, unique per message kind and occasion, such
	// as "lease/l-123/due-3d" or "login/att-9"; the message id is Event + "/"
	// + the recipient's key.
	Event string
	Kind  Kind
	To    Recipient
	// OperatorID and StationID are whose message it is: staff and admins of
	// that operator see it in the station's log. Both or neither.
	OperatorID string
	StationID  string
	Params     Params
	// SendAt, when set, is the earliest time to send (a reminder enqueued
	// in advance); quiet hours may hold it longer.
	SendAt time.Time
	// SendBy, when set, is when the message becomes pointless: not sent by
	// then, it ends as expired. Phone codes default to Params.Minutes.
	SendBy time.Time
}

// ID returns the id of the message for event and recipient key.
func ID(event, recipientKey string) string { return event + "/" + recipientKey }

// maxAmountFen is the largest amount a message may name (¥100,000,000).
const maxAmountFen int64 = 100_000_000_00

var (
	segmentRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:-]*$`)
	mobileRe  = regexp.MustCompile(`^1[3-9]\d{9}$`)
	// anyMobileRe finds mobile numbers inside text, to mask them.
	anyMobileRe = regexp.MustCompile(`1[3-9]\d{9}`)
	codeRe      = regexp.MustCompile(`^\d{4,8}$`)
)

// checkSegments checks an id made of "/"-separated segments: a stable name that
// never holds a phone number (ids appear in logs and URLs).
func checkSegments(e *valid.Error, field, s string, max int) {
	switch {
	case s == "":
		e.Add(field, "required", "is required")
		return
	case len(s) > max:
		e.Add(field, "max_length", fmt.Sprintf("must be at most %d characters", max), "max", max)
		return
	case anyMobileRe.MatchString(s):
		e.Add(field, "no_phone", "must not contain a phone number")
		return
	}
	for _, seg := range strings.Split(s, "/") {
		if !segmentRe.MatchString(seg) {
			e.Add(field, "record_path", "must be segments of letters, digits, '.', ':', '_' or '-' separated by '/'")
			return
		}
	}
}

// Validate checks a message before it is enqueued; the error names each wrong
// field as "event", "to.phone", "params.code", ….
func (m NewMessage) Validate() error {
	e := &valid.Error{}
	checkSegments(e, "event", m.Event, 160)
	if !strings.Contains(m.Event, "/") && e.Fields["event"].Code == "" {
		e.Add("event", "record_path", "must name the entity and what happened, such as lease/l-123/due-3d")
	}
	checkSegments(e, "to.key", m.To.Key, 80)
	if strings.Contains(m.To.Key, "/") {
		e.Add("to.key", "record_id", "must be one segment, such as renter-r-9")
	}
	if !mobileRe.MatchString(m.To.Phone) {
		e.Add("to.phone", "mobile", "must be a mainland mobile number such as 13812345678")
	}
	if _, ok := ParseLang(string(m.To.Lang)); !ok {
		e.Add("to.lang", "oneof", "must be one of: zh-CN, en")
	}
	if (m.OperatorID == "") != (m.StationID == "") {
		e.Add("station_id", "with_operator", "operator_id and station_id go together")
	}
	for field, id := range map[string]string{"operator_id": m.OperatorID, "station_id": m.StationID} {
		if id != "" && (!segmentRe.MatchString(id) || len(id) > 64) {
			e.Add(field, "record_id", "must be an id of letters, digits, '.', ':', '_' or '-' (at most 64)")
		}
	}
	if !m.SendAt.IsZero() && !m.SendBy.IsZero() && !m.SendBy.After(m.SendAt) {
		e.Add("send_by", "send_window", "must be after send_at")
	}
	spec, ok := kinds[m.Kind]
	if !ok {
		e.Add("kind", "oneof", "must be a known kind of message")
		return e.Err()
	}
	p := m.Params
	for _, need := range spec.needs {
		switch need {
		case pCode:
			if !codeRe.MatchString(p.Code) {
				e.Add("params.code", "digits", "must be 4 to 8 digits", "min", 4, "max", 8)
			}
		case pMinutes:
			if p.Minutes < 1 || p.Minutes > 60 {
				e.Add("params.minutes", "range", "must be between 1 and 60", "min", 1, "max", 60)
			}
		case pProduct:
			if p.Product.empty() {
				e.Add("params.product", "required", "is required")
			}
		case pStation:
			if p.Station.empty() {
				e.Add("params.station", "required", "is required")
			}
		case pWindow:
			if p.From.IsZero() || p.To.IsZero() || p.To.Before(p.From) {
				e.Add("params.from", "required", "a pickup window from ≤ to is required")
			}
		case pAt:
			if p.At.IsZero() {
				e.Add("params.at", "required", "is required")
			}
		case pDate:
			if _, err := time.ParseInLocation(time.DateOnly, p.Date, Local); err != nil {
				e.Add("params.date", "date", "must be a date like 2026-01-31")
			}
		case pDays:
			if p.Days < 1 || p.Days > 3660 {
				e.Add("params.days", "range", "must be between 1 and 3660", "min", 1, "max", 3660)
			}
		case pTier:
			if _, ok := tierNames[p.Tier]; !ok {
				e.Add("params.tier", "oneof", "must be one of: subsistence, low_income, standard")
			}
		case pAmount:
			if p.AmountFen < 1 || p.AmountFen > maxAmountFen {
				e.Add("params.amount_fen", "amount_range", "must be between 1 and 10000000000 fen", "min_fen", 1, "max_fen", maxAmountFen)
			}
		case pURL:
			u, err := url.Parse(p.URL)
			if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || len(p.URL) > 300 {
				e.Add("params.url", "url", "must be an http(s) link of at most 300 characters")
			}
		}
	}
	if utf8.RuneCountInString(p.Note) > 100 {
		e.Add("params.note", "max_length", "must be at most 100 characters", "max", 100)
	}
	if anyMobileRe.MatchString(p.Note) {
		e.Add("params.note", "no_phone", "must not contain a phone number")
	}
	return e.Err()
}

// MaskPhone hides the middle of a phone number: 13800000005 → 138****0005.
// Shorter strings keep only their last two characters.
func MaskPhone(phone string) string {
	r := []rune(phone)
	switch {
	case len(r) >= 8:
		return string(r[:3]) + "****" + string(r[len(r)-4:])
	case len(r) > 2:
		return strings.Repeat("*", len(r)-2) + string(r[len(r)-2:])
	}
	return strings.Repeat("*", len(r))
}

// scrub masks every mobile number inside s (a gateway's error body, say), so
// it can be logged and stored.
func scrub(s string) string {
	return anyMobileRe.ReplaceAllStringFunc(s, MaskPhone)
}

// State is where a message is in its life.
type State string

// Message states. Queued and Retrying are waiting for a worker (NextAttemptAt
// says when); Sending has a worker's claim on it; the rest are final.
const (
	Queued     State = "queued"
	Sending    State = "sending"
	Retrying   State = "retrying"
	Sent       State = "sent"
	Failed     State = "failed"     // the gateway refused it or every attempt failed
	Suppressed State = "suppressed" // a reminder to someone who turned reminders off
	Expired    State = "expired"    // not sent before SendBy
	Cancelled  State = "cancelled"  // withdrawn by Cancel before it was sent
)

// Final reports whether a message in state s will never be sent (again).
func (s State) Final() bool {
	return s == Sent || s == Failed || s == Suppressed || s == Expired || s == Cancelled
}

// Message is a message as lists and pages show it: the number masked, the
// text left out for secret kinds.
type Message struct {
	ID        string `json:"id"`
	Event     string `json:"event"`
	Kind      Kind   `json:"kind"`
	Recipient string `json:"recipient"`
	// Phone is masked: 138****0005.
	Phone      string `json:"phone"`
	Lang       Lang   `json:"lang"`
	Text       string `json:"text,omitempty"`
	OperatorID string `json:"operator_id,omitempty"`
	StationID  string `json:"station_id,omitempty"`
	State      State  `json:"state"`
	// Attempts counts sends tried (claims), including one in flight.
	Attempts int `json:"attempts"`
	// Error is the last failure, numbers masked.
	Error         string    `json:"error,omitempty"`
	CreatedAt     time.Time `json:"created_at"`
	NextAttemptAt time.Time `json:"next_attempt_at,omitzero"`
	// FinishedAt is when it was sent or otherwise ended.
	FinishedAt time.Time `json:"finished_at,omitzero"`
}

// Actor is who changed something, as the audit log records it;
// tenancy.Actor converts to it directly.
type Actor struct {
	ID   string `json:"id" bson:"id"`
	Name string `json:"name" bson:"name"`
	Role string `json:"role" bson:"role"`
}

// AuditEntry is one change a person caused: who, whose data, what, on which
// record, and the names of the fields changed. Never a phone number.
type AuditEntry struct {
	Actor      Actor
	OperatorID string
	Action     string
	Target     string
	Fields     []string
}
