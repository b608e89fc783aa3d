package stations

import (
	"fmt"
	"regexp"
	"time"

	"fuju/internal/l10n"
	"fuju/internal/valid"
)

// Day is a station's opening hours on one weekday.
type Day struct {
	Closed bool   `json:"closed" bson:"closed"`
	Open   string `json:"open,omitempty" bson:"open,omitempty"`   // "08:30"
	Close  string `json:"close,omitempty" bson:"close,omitempty"` // "17:30"
}

// Hours are a station's weekly opening hours, indexed by time.Weekday (Sunday
// first), plus dates it is closed (public holidays).
type Hours struct {
	Week     [7]Day   `json:"week" bson:"week"`
	ClosedOn []string `json:"closed_on,omitempty" bson:"closed_on,omitempty"` // "2026-10-01"
}

var clockRe = regexp.MustCompile(`^([01]\d|2[0-3]):[0-5]\d$`)

func (h Hours) validate(e *valid.Error) {
	anyOpen := false
	for i, d := range h.Week {
		field := fmt.Sprintf("hours.week.%d", i)
		if d.Closed {
			continue
		}
		anyOpen = true
		if !clockRe.MatchString(d.Open) || !clockRe.MatchString(d.Close) {
			e.Add(field, "clock", "opening and closing times must look like 08:30")
			continue
		}
		if d.Open >= d.Close {
			e.Add(field, "closes_after_opens", "must close after it opens")
		}
	}
	if !anyOpen {
		e.Add("hours.week", "required", "must be open on at least one day")
	}
	e.List("hours.closed_on", len(h.ClosedOn), valid.MaxClosedDays)
	for _, s := range h.ClosedOn {
		if _, err := time.Parse(time.DateOnly, s); err != nil {
			e.Add("hours.closed_on", "date", "dates must look like 2026-10-01")
			break
		}
	}
}

// OpenOn reports whether the station opens at all on the calendar day of t
// (in the city's time zone).
func (h Hours) OpenOn(t time.Time) bool {
	t = t.In(l10n.Local)
	if h.Week[t.Weekday()].Closed {
		return false
	}
	day := t.Format(time.DateOnly)
	for _, c := range h.ClosedOn {
		if c == day {
			return false
		}
	}
	return true
}

// OpenAt reports whether the station is open at instant t.
func (h Hours) OpenAt(t time.Time) bool {
	t = t.In(l10n.Local)
	if !h.OpenOn(t) {
		return false
	}
	d := h.Week[t.Weekday()]
	now := t.Format("15:04")
	return now >= d.Open && now < d.Close
}

// NextOpenDay returns the first calendar day on or after t's day on which the
// station opens; a lease due on a closed day is due on this day instead. It
// gives up after a year, returning t's day, so a station closed forever cannot
// loop.
func (h Hours) NextOpenDay(t time.Time) time.Time {
	t = t.In(l10n.Local)
	day := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, l10n.Local)
	for i := 0; i < 366; i++ {
		d := day.AddDate(0, 0, i)
		if h.OpenOn(d) {
			return d
		}
	}
	return day
}

// NextOpening returns when the station next opens after instant t: today's
// opening time if that is still ahead, otherwise the opening time of the
// next day it opens (holidays skipped). ok is false when it opens on no day
// within a year.
func (h Hours) NextOpening(t time.Time) (time.Time, bool) {
	t = t.In(l10n.Local)
	day := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, l10n.Local)
	for i := 0; i < 366; i++ {
		d := day.AddDate(0, 0, i)
		if !h.OpenOn(d) {
			continue
		}
		open, err := time.ParseInLocation("15:04", h.Week[d.Weekday()].Open, l10n.Local)
		if err != nil {
			continue
		}
		at := time.Date(d.Year(), d.Month(), d.Day(), open.Hour(), open.Minute(), 0, 0, l10n.Local)
		if at.After(t) {
			return at, true
		}
	}
	return time.Time{}, false
}

// StandardHours are weekday hours most community stations keep.
func StandardHours() Hours {
	var h Hours
	for i := range h.Week {
		h.Week[i] = Day{Open: "08:30", Close: "17:30"}
	}
	h.Week[time.Saturday] = Day{Open: "09:00", Close: "12:00"}
	h.Week[time.Sunday] = Day{Closed: true}
	return h
}
