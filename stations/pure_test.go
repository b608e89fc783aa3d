package stations

import (
	"testing"
	"time"

	"fuju/internal/l10n"
)

func TestStateMachine(t *testing.T) {
	allowed := map[[2]State]bool{}
	for from, tos := range moves {
		for _, to := range tos {
			allowed[[2]State{from, to}] = true
		}
	}
	tests := []struct {
		from, to State
		ok       bool
	}{
		{Available, Rented, true},
		{Available, Reserved, true},
		{Reserved, Rented, true},
		{Rented, Returned, true},
		{Returned, Cleaning, true},
		{Returned, Repair, true},
		{Cleaning, Available, true},
		{Repair, Cleaning, true},
		{InTransit, Available, true},
		{Available, InTransit, true},
		// Nothing is lent again uncleaned.
		{Returned, Available, false},
		{Repair, Available, false},
		{Rented, Available, false},
		{Rented, Rented, false},
		{Retired, Available, false},
		{Lost, Available, false},
		{Lost, Rented, false},
		{InTransit, Rented, false},
		// A lost unit found goes to inspection, or is written off.
		{Lost, Returned, true},
		{Lost, Repair, true},
		{Lost, Retired, true},
	}
	for _, tt := range tests {
		if got := tt.from.CanMoveTo(tt.to); got != tt.ok {
			t.Errorf("%s → %s: %v, want %v", tt.from, tt.to, got, tt.ok)
		}
	}
	// Every state is reachable and every target is a known state.
	for _, s := range States {
		if !s.Valid() {
			t.Errorf("%s not valid", s)
		}
	}
	for k := range allowed {
		if !k[1].Valid() {
			t.Errorf("move to unknown state %s", k[1])
		}
	}
}

func TestHours(t *testing.T) {
	h := StandardHours()
	h.ClosedOn = []string{"2026-10-01"}
	day := func(s string) time.Time {
		d, _ := time.ParseInLocation(time.DateOnly, s, l10n.Local)
		return d
	}
	tests := []struct{ on, next string }{
		{"2026-09-28", "2026-09-28"}, // Monday
		{"2026-09-27", "2026-09-28"}, // Sunday → Monday
		{"2026-10-01", "2026-10-02"}, // holiday Thursday → Friday
		{"2026-10-03", "2026-10-03"}, // Saturday morning is open
	}
	for _, tt := range tests {
		if got := h.NextOpenDay(day(tt.on)).Format(time.DateOnly); got != tt.next {
			t.Errorf("NextOpenDay(%s) = %s, want %s", tt.on, got, tt.next)
		}
	}
	mon := day("2026-09-28")
	if !h.OpenAt(mon.Add(9*time.Hour)) || h.OpenAt(mon.Add(18*time.Hour)) || h.OpenAt(mon.Add(8*time.Hour)) {
		t.Error("OpenAt wrong on a Monday")
	}
	var closed Hours
	for i := range closed.Week {
		closed.Week[i].Closed = true
	}
	if got := closed.NextOpenDay(mon); !got.Equal(mon) {
		t.Errorf("never-open station: %v", got)
	}
}

func TestStationValidate(t *testing.T) {
	st := Station{OperatorID: "op", Name: l10n.Text{Zh: "站", En: "Station"}, Address: l10n.Text{Zh: "路", En: "Road"},
		District: "jiefang", Lat: 35.2, Lng: 113.2, Phone: "0391-3561234", Hours: StandardHours()}
	if err := st.Validate(); err != nil {
		t.Fatalf("valid station: %v", err)
	}
	bad := st
	bad.District = "atlantis"
	bad.Lat = 0
	bad.Phone = "call me"
	bad.Name.Zh = ""
	bad.Hours.Week[1] = Day{Open: "18:00", Close: "08:00"}
	err := bad.Validate()
	for _, f := range []string{"district", "lat", "phone", "name.zh", "hours.week.1"} {
		if !fieldIn(err, f) {
			t.Errorf("no error for %s: %v", f, err)
		}
	}
}

// TestEnglishOptional: English names are optional; English pages show the
// Chinese where there is none.
func TestEnglishOptional(t *testing.T) {
	st := Station{OperatorID: "op", Name: l10n.Text{Zh: "站"}, Address: l10n.Text{Zh: "路"},
		District: "jiefang", Lat: 35.2, Lng: 113.2, Hours: StandardHours()}
	if err := st.Validate(); err != nil {
		t.Fatalf("station without English: %v", err)
	}
	if got := st.Name.In("en"); got != "站" {
		t.Errorf("English page shows %q", got)
	}
}
