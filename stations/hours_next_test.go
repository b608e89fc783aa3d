package stations

import (
	"testing"
	"time"

	"fuju/internal/l10n"
)

func TestNextOpening(t *testing.T) {
	h := StandardHours() // 08:30–17:30, Saturday 09:00–12:00, Sunday closed
	h.ClosedOn = []string{"2026-10-01"}
	at := func(s string) time.Time {
		d, err := time.ParseInLocation("2006-01-02 15:04", s, l10n.Local)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	for _, tt := range []struct{ now, want string }{
		{"2026-09-28 07:00", "2026-09-28 08:30"}, // Monday before opening: today
		{"2026-09-28 18:00", "2026-09-29 08:30"}, // Monday evening: tomorrow
		{"2026-09-26 12:30", "2026-09-28 08:30"}, // Saturday afternoon: Sunday is closed
		{"2026-09-25 19:00", "2026-09-26 09:00"}, // Friday evening: Saturday's hours
		{"2026-09-30 18:00", "2026-10-02 08:30"}, // before a holiday
		{"2026-09-28 08:30", "2026-09-29 08:30"}, // opening now: the next one
	} {
		got, ok := h.NextOpening(at(tt.now))
		if !ok || got.Format("2006-01-02 15:04") != tt.want || got.Location() != l10n.Local {
			t.Errorf("NextOpening(%s) = %v %v, want %s", tt.now, got, ok, tt.want)
		}
	}
	// An instant given in UTC is read in the city's time: 23:00 UTC on
	// Sunday is 07:00 Monday in Jiaozuo.
	if got, _ := h.NextOpening(time.Date(2026, 9, 27, 23, 0, 0, 0, time.UTC)); got.Format("2006-01-02 15:04") != "2026-09-28 08:30" {
		t.Errorf("from UTC: %v", got)
	}
	var closed Hours
	for i := range closed.Week {
		closed.Week[i].Closed = true
	}
	if _, ok := closed.NextOpening(at("2026-09-28 07:00")); ok {
		t.Error("a station that never opens has a next opening")
	}
}
