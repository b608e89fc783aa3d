package stations

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"time"

	"fuju/internal/audit"
	"fuju/internal/l10n"
	"fuju/internal/tenancy"
	"fuju/internal/valid"
)

// Online reservations at a station (docs/reservations.md): the operator sets
// how many pickups one 30-minute slot takes, how long a hold outlives its
// slot (the grace), and whether and where the station delivers.

// SlotLength is the length of a pickup slot.
const SlotLength = 30 * time.Minute

// SlotDays is how far ahead families may book: from the next open slot up to
// this many days.
const SlotDays = 7

// Defaults for a station whose operator has set nothing.
const (
	DefaultSlotCapacity = 2
	DefaultGraceMinutes = 120
	// MaxSlotCapacity and MaxGraceMinutes bound the operator's settings.
	MaxSlotCapacity = 50
	MaxGraceMinutes = 24 * 60
	// MaxDeliveryFeeFen bounds a delivery fee (1,000 yuan).
	MaxDeliveryFeeFen = 100_000
)

// Window is a half-day delivery window.
type Window string

// Delivery windows: morning 09:00–12:00, afternoon 14:00–18:00 (city time).
const (
	Morning   Window = "am"
	Afternoon Window = "pm"
)

// Windows lists the delivery windows in the day's order.
var Windows = []Window{Morning, Afternoon}

// Bounds returns the window's start and end on the city day of day.
func (w Window) Bounds(day time.Time) (time.Time, time.Time) {
	d := day.In(l10n.Local)
	at := func(h int) time.Time { return time.Date(d.Year(), d.Month(), d.Day(), h, 0, 0, 0, l10n.Local) }
	if w == Afternoon {
		return at(14), at(18)
	}
	return at(9), at(12)
}

// Valid reports whether w is a known window.
func (w Window) Valid() bool { return w == Morning || w == Afternoon }

// SlotSettings are a station's pickup settings.
type SlotSettings struct {
	// Capacity is how many reservations one 30-minute slot takes.
	Capacity int `json:"capacity" bson:"capacity"`
	// GraceMinutes is how long a hold lasts after its slot (or delivery
	// window) ends before it expires and counts as a no-show.
	GraceMinutes int `json:"grace_minutes" bson:"grace_minutes"`
}

// Grace returns the grace as a duration.
func (s SlotSettings) Grace() time.Duration { return time.Duration(s.GraceMinutes) * time.Minute }

// Validate checks the operator's input.
func (s SlotSettings) Validate() error {
	e := &valid.Error{}
	if s.Capacity < 1 || s.Capacity > MaxSlotCapacity {
		e.Add("capacity", "range", fmt.Sprintf("must be between 1 and %d", MaxSlotCapacity), "min", 1, "max", MaxSlotCapacity)
	}
	if s.GraceMinutes < 0 || s.GraceMinutes > MaxGraceMinutes {
		e.Add("grace_minutes", "range", fmt.Sprintf("must be between 0 and %d", MaxGraceMinutes), "min", 0, "max", MaxGraceMinutes)
	}
	return e.Err()
}

// DeliverySettings say whether and where a station delivers.
type DeliverySettings struct {
	Enabled bool `json:"enabled" bson:"enabled"`
	// Districts are the district ids (Districts) it delivers to.
	Districts []string `json:"districts" bson:"districts"`
	// FeeFen is what one delivery costs the family.
	FeeFen int64 `json:"fee_fen" bson:"fee_fen"`
	// Windows are the half-days it delivers in.
	Windows []Window `json:"windows" bson:"windows"`
}

// Serves reports whether the station delivers to district.
func (d DeliverySettings) Serves(district string) bool {
	return d.Enabled && slices.Contains(d.Districts, district)
}

// Offers reports whether the station delivers in window w.
func (d DeliverySettings) Offers(w Window) bool { return d.Enabled && slices.Contains(d.Windows, w) }

// Validate checks the operator's input; an enabled delivery needs at least
// one district and one window.
func (d DeliverySettings) Validate() error {
	e := &valid.Error{}
	e.List("districts", len(d.Districts), len(Districts))
	for _, id := range d.Districts {
		if _, ok := DistrictByID(id); !ok {
			e.Add("districts", "oneof", "must be district ids such as jiefang, shanyang")
			break
		}
	}
	e.List("windows", len(d.Windows), len(Windows))
	for _, w := range d.Windows {
		if !w.Valid() {
			e.Add("windows", "oneof", "must be am or pm")
			break
		}
	}
	if d.FeeFen < 0 || d.FeeFen > MaxDeliveryFeeFen {
		e.Add("fee_fen", "range", fmt.Sprintf("must be between 0 and %d fen", MaxDeliveryFeeFen), "min", 0, "max", MaxDeliveryFeeFen)
	}
	if d.Enabled && len(d.Districts) == 0 {
		e.Add("districts", "required", "name at least one district to deliver to")
	}
	if d.Enabled && len(d.Windows) == 0 {
		e.Add("windows", "required", "name at least one delivery window")
	}
	return e.Err()
}

// ReservationSettings are a station's slot and delivery settings together.
type ReservationSettings struct {
	StationID  string           `json:"station_id"`
	OperatorID string           `json:"operator_id"`
	Slots      SlotSettings     `json:"slots"`
	Delivery   DeliverySettings `json:"delivery"`
	// Prepay is whether families pay online when they reserve.
	Prepay    Prepay    `json:"prepay"`
	UpdatedAt time.Time `json:"updated_at,omitzero"`
}

// Prepay is whether a station's reservations are paid online in advance
// (the renter's share of the first period, the deposit and the delivery
// fee), when the operator can take online payments and the amount is one
// Stripe can charge (docs/payments.md).
type Prepay string

// Prepay modes. Off is the default: everything is paid at the station.
const (
	PrepayOff      Prepay = "off"
	PrepayOptional Prepay = "optional" // the family may pay now or at the station
	PrepayRequired Prepay = "required" // the hold is unconfirmed until paid
)

// Valid reports whether p is a known mode.
func (p Prepay) Valid() bool { return p == PrepayOff || p == PrepayOptional || p == PrepayRequired }

// DefaultReservationSettings are those of a station whose operator set none:
// DefaultSlotCapacity per slot, a two-hour grace, no delivery.
func DefaultReservationSettings(st Station) ReservationSettings {
	return ReservationSettings{StationID: st.ID, OperatorID: st.OperatorID,
		Slots:    SlotSettings{Capacity: DefaultSlotCapacity, GraceMinutes: DefaultGraceMinutes},
		Delivery: DeliverySettings{Districts: []string{}, Windows: []Window{}}, Prepay: PrepayOff}
}

// Slot is one 30-minute pickup slot.
type Slot struct {
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
	// Taken is how many reservations hold it; Free how many more it takes.
	Taken int `json:"taken"`
	Free  int `json:"free"`
}

// Slots returns the pickup slots of a station with hours h after now: every
// 30-minute step of its opening hours that starts after now, from the next
// open one up to SlotDays days ahead, without the closed days. A slot whose
// taken count (by start, from taken) reaches capacity is left out.
func Slots(h Hours, capacity int, now time.Time, taken map[time.Time]int) []Slot {
	now = now.In(l10n.Local)
	day := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, l10n.Local)
	var out []Slot
	for i := 0; i <= SlotDays; i++ {
		d := day.AddDate(0, 0, i)
		if !h.OpenOn(d) {
			continue
		}
		open, close, ok := h.dayBounds(d)
		if !ok {
			continue
		}
		for t := open; !t.Add(SlotLength).After(close); t = t.Add(SlotLength) {
			if !t.After(now) || t.Sub(now) > SlotDays*24*time.Hour {
				continue
			}
			n := taken[t.UTC()]
			if n >= capacity {
				continue
			}
			out = append(out, Slot{Start: t.UTC(), End: t.Add(SlotLength).UTC(), Taken: n, Free: capacity - n})
		}
	}
	return out
}

// SlotProblem says why start is not a bookable slot at a station with hours
// h at now ("" when it is one): not on the half hour, in the past, beyond
// SlotDays, on a closed day, or outside the opening hours. It does not look
// at capacity.
func SlotProblem(h Hours, start, now time.Time) string {
	t := start.In(l10n.Local)
	switch {
	case t.Second() != 0 || t.Nanosecond() != 0 || t.Minute()%30 != 0:
		return "slot_step"
	case !t.After(now):
		return "slot_past"
	case t.Sub(now) > SlotDays*24*time.Hour:
		return "slot_too_far"
	case !h.OpenOn(t):
		return "slot_closed_day"
	}
	open, close, ok := h.dayBounds(t)
	if !ok || t.Before(open) || t.Add(SlotLength).After(close) {
		return "slot_outside_hours"
	}
	// A slot starting off the opening time's grid (a station opening at
	// 08:15) is still bookable when it lies within the hours.
	return ""
}

// dayBounds returns the opening and closing instants on day's city date.
func (h Hours) dayBounds(day time.Time) (time.Time, time.Time, bool) {
	d := day.In(l10n.Local)
	w := h.Week[d.Weekday()]
	if w.Closed {
		return time.Time{}, time.Time{}, false
	}
	o, err1 := time.ParseInLocation("15:04", w.Open, l10n.Local)
	c, err2 := time.ParseInLocation("15:04", w.Close, l10n.Local)
	if err1 != nil || err2 != nil {
		return time.Time{}, time.Time{}, false
	}
	at := func(x time.Time) time.Time {
		return time.Date(d.Year(), d.Month(), d.Day(), x.Hour(), x.Minute(), 0, 0, l10n.Local)
	}
	open := at(o)
	// Slots start on the half hour: a station opening at 08:15 takes its
	// first pickup at 08:30.
	if m := open.Minute() % 30; m != 0 {
		open = open.Add(time.Duration(30-m) * time.Minute)
	}
	return open, at(c), true
}

// DeliveryDays returns the city days (up to SlotDays ahead) a station with
// hours h delivers in window w after now: open days whose window has not
// started yet.
func DeliveryDays(h Hours, w Window, now time.Time) []time.Time {
	now = now.In(l10n.Local)
	day := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, l10n.Local)
	var out []time.Time
	for i := 0; i <= SlotDays; i++ {
		d := day.AddDate(0, 0, i)
		start, _ := w.Bounds(d)
		if h.OpenOn(d) && start.After(now) {
			out = append(out, d)
		}
	}
	return out
}

// ReservationSettings returns a station's reservation settings (the
// defaults when its operator set none). Families see them through the
// slots and delivery options, so no scope is asked.
func (s *Service) ReservationSettings(ctx context.Context, stationID string) (ReservationSettings, error) {
	st, err := s.store.station(ctx, stationID)
	if err != nil {
		return ReservationSettings{}, err
	}
	return s.settingsOf(ctx, st)
}

func (s *Service) settingsOf(ctx context.Context, st Station) (ReservationSettings, error) {
	out := DefaultReservationSettings(st)
	d, ok, err := s.store.settings(ctx, st.ID)
	if err != nil || !ok {
		return out, err
	}
	if d.Slots != nil {
		out.Slots = *d.Slots
	}
	if d.Delivery != nil {
		out.Delivery = *d.Delivery
		if out.Delivery.Districts == nil {
			out.Delivery.Districts = []string{}
		}
		if out.Delivery.Windows == nil {
			out.Delivery.Windows = []Window{}
		}
	}
	if d.Prepay.Valid() {
		out.Prepay = d.Prepay
	}
	out.UpdatedAt = d.UpdatedAt
	return out, nil
}

// ReservationSettingsIn returns the settings of a station the scope covers.
func (s *Service) ReservationSettingsIn(ctx context.Context, scope tenancy.Scope, stationID string) (ReservationSettings, error) {
	st, err := s.scopedStation(ctx, scope, stationID)
	if err != nil {
		return ReservationSettings{}, err
	}
	return s.settingsOf(ctx, st)
}

// SetSlotSettings replaces a station's slot capacity and grace; scope must
// manage its operator. Holds already made keep the expiry they were made
// with.
func (s *Service) SetSlotSettings(ctx context.Context, scope tenancy.Scope, stationID string, in SlotSettings, by tenancy.Actor) (ReservationSettings, error) {
	return s.setSettings(ctx, scope, stationID, by, "station.slots", func(d *settingsDoc) error {
		if err := in.Validate(); err != nil {
			return fmt.Errorf("stations: slots: %w", err)
		}
		d.Slots = &in
		return nil
	})
}

// SetDeliverySettings replaces whether, where, when and for how much a
// station delivers; scope must manage its operator.
func (s *Service) SetDeliverySettings(ctx context.Context, scope tenancy.Scope, stationID string, in DeliverySettings, by tenancy.Actor) (ReservationSettings, error) {
	return s.setSettings(ctx, scope, stationID, by, "station.delivery", func(d *settingsDoc) error {
		if err := in.Validate(); err != nil {
			return fmt.Errorf("stations: delivery: %w", err)
		}
		in.Districts = slices.Compact(slices.Sorted(slices.Values(in.Districts)))
		sort.Slice(in.Windows, func(i, j int) bool { return in.Windows[i] < in.Windows[j] })
		in.Windows = slices.Compact(in.Windows)
		d.Delivery = &in
		return nil
	})
}

// SetPrepay sets whether the station's reservations are paid online in
// advance; scope must manage its operator.
func (s *Service) SetPrepay(ctx context.Context, scope tenancy.Scope, stationID string, mode Prepay, by tenancy.Actor) (ReservationSettings, error) {
	return s.setSettings(ctx, scope, stationID, by, "station.prepay", func(d *settingsDoc) error {
		if !mode.Valid() {
			return fmt.Errorf("stations: prepay: %w", valid.Field("prepay", "oneof", "must be off, optional or required"))
		}
		d.Prepay = mode
		return nil
	})
}

func (s *Service) setSettings(ctx context.Context, scope tenancy.Scope, stationID string, by tenancy.Actor, action string, edit func(*settingsDoc) error) (ReservationSettings, error) {
	if err := scope.MayChange(tenancy.ChangeOther); err != nil {
		return ReservationSettings{}, err
	}
	st, err := s.scopedStation(ctx, scope, stationID)
	if err != nil {
		return ReservationSettings{}, err
	}
	if !scope.Manages(st.OperatorID) {
		return ReservationSettings{}, fmt.Errorf("stations: station %s settings: %w", st.ID, ErrForbidden)
	}
	before, err := s.settingsOf(ctx, st)
	if err != nil {
		return ReservationSettings{}, err
	}
	d, _, err := s.store.settings(ctx, st.ID)
	if err != nil {
		return ReservationSettings{}, err
	}
	d.ID = st.ID
	if err := edit(&d); err != nil {
		return ReservationSettings{}, err
	}
	d.UpdatedAt = s.now()
	if err := s.store.putSettings(ctx, d); err != nil {
		return ReservationSettings{}, err
	}
	after, err := s.settingsOf(ctx, st)
	if err != nil {
		return ReservationSettings{}, err
	}
	s.writeAudit(ctx, by, st.OperatorID, action, "station/"+st.ID, audit.Diff(before, after))
	return after, nil
}

// scopedStation returns a station the scope covers; another operator's is
// not found.
func (s *Service) scopedStation(ctx context.Context, scope tenancy.Scope, id string) (Station, error) {
	st, err := s.store.station(ctx, id)
	if err != nil {
		return Station{}, err
	}
	if !scope.Station(st.OperatorID, st.ID) {
		return Station{}, fmt.Errorf("stations: station %s: %w", id, ErrNotFound)
	}
	return st, nil
}
