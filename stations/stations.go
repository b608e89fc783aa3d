// Package stations owns the physical side of Fuju: operators (the organisations
// that run rental stations), stations with their locations and opening hours,
// and units, the physical devices, each identified by its QR asset tag and moved
// between states by the unit state machine. Every unit change is an event in the
// unit's append-only log (internal/eventlog); the units collection is its
// projection.
package stations

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"fuju/internal/input"
	"fuju/internal/l10n"
	"fuju/internal/valid"
)

// Errors returned by this package; the web layer maps them to statuses.
var (
	ErrNotFound    = errors.New("not found")
	ErrConflict    = errors.New("conflict")
	ErrUnavailable = errors.New("unit unavailable")
)

// Operator is an organisation that runs stations and owns their inventory.
type Operator struct {
	ID        string    `json:"id"`
	Name      l10n.Text `json:"name"`
	Phone     string    `json:"phone"`
	Status    string    `json:"status"` // active, suspended
	CreatedAt time.Time `json:"created_at"`
	// SuspendedReason says why the platform suspended the operator; its
	// people see it on every console and desk page. SuspendedAt is when.
	SuspendedReason string     `json:"suspended_reason,omitempty"`
	SuspendedAt     *time.Time `json:"suspended_at,omitempty"`
}

// Operator statuses.
const (
	OperatorActive    = "active"
	OperatorSuspended = "suspended"
)

// Validate checks an operator's fields.
func (o Operator) Validate() error {
	e := &valid.Error{}
	if err := valid.Struct(o.Name); err != nil {
		prefixFields(e, "name", err)
	}
	if o.Phone != "" && !phoneRe.MatchString(o.Phone) {
		e.Add("phone", "phone", "must be a phone number such as 0391-3561234 or 13812345678")
	}
	if o.Status != OperatorActive && o.Status != OperatorSuspended {
		e.Add("status", "oneof", "must be one of: active, suspended")
	}
	return e.Err()
}

// District is an administrative area of the city.
type District struct {
	ID   string    `json:"id"`
	Name l10n.Text `json:"name"`
	Lat  float64   `json:"lat"`
	Lng  float64   `json:"lng"`
}

// Districts of the demo city, Jiaozuo, with the approximate centre of each; a
// family without location services picks one and is treated as being there.
var Districts = []District{
	{"jiefang", l10n.Text{Zh: "解放区", En: "Jiefang District"}, 35.2404, 113.2265},
	{"shanyang", l10n.Text{Zh: "山阳区", En: "Shanyang District"}, 35.2141, 113.2548},
	{"zhongzhan", l10n.Text{Zh: "中站区", En: "Zhongzhan District"}, 35.2366, 113.1827},
	{"macun", l10n.Text{Zh: "马村区", En: "Macun District"}, 35.2566, 113.3222},
	{"shifan", l10n.Text{Zh: "示范区", En: "Demonstration Zone"}, 35.1903, 113.2705},
	{"wuzhi", l10n.Text{Zh: "武陟县", En: "Wuzhi County"}, 35.0994, 113.4016},
	{"wenxian", l10n.Text{Zh: "温县", En: "Wen County"}, 34.9403, 113.0806},
	{"boai", l10n.Text{Zh: "博爱县", En: "Bo'ai County"}, 35.1711, 113.0641},
	{"xiuwu", l10n.Text{Zh: "修武县", En: "Xiuwu County"}, 35.2237, 113.4477},
	{"qinyang", l10n.Text{Zh: "沁阳市", En: "Qinyang City"}, 35.0876, 112.9503},
	{"mengzhou", l10n.Text{Zh: "孟州市", En: "Mengzhou City"}, 34.9070, 112.7913},
}

// DistrictByID returns the district with id.
func DistrictByID(id string) (District, bool) {
	for _, d := range Districts {
		if d.ID == id {
			return d, true
		}
	}
	return District{}, false
}

// Station is a place where units are shown, lent and returned.
type Station struct {
	ID         string    `json:"id"`
	OperatorID string    `json:"operator_id"`
	Name       l10n.Text `json:"name"`
	Address    l10n.Text `json:"address"`
	District   string    `json:"district"`
	Lat        float64   `json:"lat"`
	Lng        float64   `json:"lng"`
	Phone      string    `json:"phone"`
	Hours      Hours     `json:"hours"`
	Active     bool      `json:"active"`
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`
}

var (
	idRe    = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{1,62}$`)
	phoneRe = regexp.MustCompile(`^(1[3-9]\d{9}|0\d{2,3}-?\d{7,8})$`)
)

// ValidID reports whether id can name an operator, station or product.
func ValidID(id string) bool { return idRe.MatchString(id) }

// Validate checks a station's fields.
func (s Station) Validate() error {
	e := &valid.Error{}
	if s.ID != "" && !ValidID(s.ID) {
		e.Add("id", "slug", "must be 2-63 lowercase letters, digits or dashes")
	}
	if s.OperatorID == "" {
		e.Add("operator_id", "required", "is required")
	}
	if err := valid.Struct(s.Name); err != nil {
		prefixFields(e, "name", err)
	}
	if err := valid.Struct(s.Address); err != nil {
		prefixFields(e, "address", err)
	}
	if _, ok := DistrictByID(s.District); !ok {
		ids := make([]string, len(Districts))
		for i, d := range Districts {
			ids[i] = d.ID
		}
		e.Add("district", "oneof", "must be one of: "+strings.Join(ids, ", "))
	}
	// The city's bounding box, generously: a station outside it is a typo.
	if s.Lat < 34.5 || s.Lat > 35.6 {
		e.Add("lat", "city_area", "must be a latitude within the city (34.5 to 35.6)")
	}
	if s.Lng < 112.4 || s.Lng > 113.8 {
		e.Add("lng", "city_area", "must be a longitude within the city (112.4 to 113.8)")
	}
	if s.Phone != "" && !phoneRe.MatchString(s.Phone) {
		e.Add("phone", "phone", "must be a phone number such as 0391-3561234 or 13812345678")
	}
	s.Hours.validate(e)
	return e.Err()
}

func prefixFields(e *valid.Error, prefix string, err error) {
	fields, ok := valid.Fields(err)
	if !ok {
		e.Add(prefix, "invalid", err.Error())
		return
	}
	for k, p := range fields {
		e.Put(prefix+"."+k, p)
	}
}

// Unit is one physical device, identified city-wide by its asset tag.
type Unit struct {
	Tag        string    `json:"tag"`
	ProductID  string    `json:"product_id"`
	OperatorID string    `json:"operator_id"`
	StationID  string    `json:"station_id"`
	State      State     `json:"state"`
	ToStation  string    `json:"to_station,omitempty"`
	LeaseID    string    `json:"lease_id,omitempty"`
	Condition  string    `json:"condition,omitempty"`
	AcquiredOn string    `json:"acquired_on,omitempty"`
	Seq        int64     `json:"seq"`
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`
}

var tagRe = regexp.MustCompile(`^[A-Z]{2}-[A-Z0-9]{1,6}-[0-9]{4,8}$`)

// NormalizeTag reads a typed or scanned tag: upper-case, full-width folded,
// spaces between its parts as dashes.
func NormalizeTag(tag string) string { return input.Normalize(input.Tag, tag) }

// ValidTag reports whether tag looks like an asset tag, e.g. JZ-WC-0001.
func ValidTag(tag string) bool { return tagRe.MatchString(tag) }

// Validate checks a new unit's fields.
func (u Unit) Validate() error {
	e := &valid.Error{}
	if !ValidTag(u.Tag) {
		e.Add("tag", "tag", "must look like JZ-WC-0001 (city, type, number)")
	}
	if u.ProductID == "" {
		e.Add("product_id", "required", "is required")
	}
	if u.StationID == "" {
		e.Add("station_id", "required", "is required")
	}
	e.Text("condition", u.Condition, valid.MaxNote)
	if u.AcquiredOn != "" {
		if _, err := time.Parse(time.DateOnly, u.AcquiredOn); err != nil {
			e.Add("acquired_on", "date", "must be a date like 2026-01-31")
		}
	}
	switch u.State {
	case Available, Cleaning, Repair:
	default:
		e.Add("state", "new_state", "a new unit must start as available, cleaning or repair")
	}
	return e.Err()
}

// String helps error messages.
func (u Unit) String() string { return fmt.Sprintf("unit %s (%s)", u.Tag, u.State) }
