package reports

import (
	"context"
	"fmt"
	"time"

	"fuju/internal/tenancy"
	"fuju/rentals"
)

// Demand: reservations made and how they ended, the waitlist (joins,
// offers, the wait from joining to the first offer, how many wait at a
// day's end) and unmet demand, per station (or district queue) and
// product, kept in the daily roll-up beside the units and the money.

// UnmetAfter is how long a place may wait without an offer before it
// counts as unmet demand. A place counts as unmet once: on the day it
// left the queue without ever being offered a unit, or on the day it has
// waited UnmetAfter without one, whichever comes first. A place that got
// an offer (taken or lapsed) is demand met.
const UnmetAfter = 14 * 24 * time.Hour

// demandCell is one station's (or, with Station empty, one district
// queue's) demand for one product over one day.
type demandCell struct {
	Station  string `bson:"station,omitempty"`
	District string `bson:"district,omitempty"` // a district's queue
	Product  string `bson:"product"`
	// Reservations by families (waitlist offers count on the waitlist's
	// side): made, and the outcomes recorded this day.
	Reserved  int64 `bson:"reserved,omitempty"`
	Fulfilled int64 `bson:"fulfilled,omitempty"`
	Cancelled int64 `bson:"cancelled,omitempty"`
	NoShows   int64 `bson:"no_shows,omitempty"`
	// The waitlist: places joined, first offers (Waits: for each, the
	// seconds since the join), offers lent, places left, offers lapsed,
	// places counted as unmet this day.
	Joins  int64   `bson:"joins,omitempty"`
	Offers int64   `bson:"offers,omitempty"`
	Waits  []int64 `bson:"waits,omitempty"`
	Served int64   `bson:"served,omitempty"`
	Left   int64   `bson:"left,omitempty"`
	Lapsed int64   `bson:"lapsed,omitempty"`
	Unmet  int64   `bson:"unmet,omitempty"`
	// Waiting counts the places waiting (no offer) at the day's end.
	Waiting int64 `bson:"waiting,omitempty"`
}

func (c demandCell) flows() bool {
	return c.Reserved+c.Fulfilled+c.Cancelled+c.NoShows+c.Joins+c.Offers+c.Served+c.Left+c.Lapsed+c.Unmet > 0
}

// demandSource is what the roll-up reads of reservations and the
// waitlist; *rentals.Reservations satisfies it.
type demandSource interface {
	DemandLog(ctx context.Context, scope tenancy.Scope, before time.Time) ([]rentals.DemandEvent, error)
}

// UseDemand gives the dashboards the reservations' and waitlist's logs;
// without it the demand figures are empty.
func (s *Service) UseDemand(d demandSource) { s.demand = d }

// demandLog reads the demand steps before the end of day last.
func (s *Service) demandLog(ctx context.Context, scope tenancy.Scope, last string) ([]rentals.DemandEvent, error) {
	if s.demand == nil {
		return nil, nil
	}
	evs, err := s.demand.DemandLog(ctx, scope, dayStart(nextDay(last)))
	if err != nil {
		return nil, fmt.Errorf("reports: %w", err)
	}
	return evs, nil
}

// addDemand adds the demand figures of evs (every step before the last
// day's end, oldest first) to days (consecutive per operator, as rollDays
// made them, ending at now when today), in the days of the step's
// operator.
func addDemand(days []rollDay, evs []rentals.DemandEvent, now time.Time) {
	if len(days) == 0 {
		return
	}
	type dk struct{ op, day string }
	at := map[dk]*rollDay{}
	first, last := days[0].Day, days[0].Day
	for i := range days {
		at[dk{days[i].OperatorID, days[i].Day}] = &days[i]
		first, last = min(first, days[i].Day), max(last, days[i].Day)
	}
	end := dayStart(nextDay(last))
	if now.Before(end) {
		end = now
	}
	type ck struct{ station, district, product string }
	cells := map[dk]map[ck]*demandCell{}
	cell := func(e rentals.DemandEvent, t time.Time) []*demandCell {
		if t.Before(dayStart(first)) || !t.Before(end) {
			return nil
		}
		day := rentals.Date(t)
		var out []*demandCell
		for _, op := range []string{e.OperatorID} { // one owner
			if at[dk{op, day}] == nil {
				continue
			}
			m := cells[dk{op, day}]
			if m == nil {
				m = map[ck]*demandCell{}
				cells[dk{op, day}] = m
			}
			k := ck{e.StationID, "", e.ProductID}
			if e.StationID == "" {
				k.district = e.District
			}
			c, ok := m[k]
			if !ok {
				c = &demandCell{Station: k.station, District: k.district, Product: k.product}
				m[k] = c
			}
			out = append(out, c)
		}
		return out
	}
	places := map[string][]rentals.DemandEvent{}
	var order []string
	for _, e := range evs {
		switch e.Kind {
		case rentals.DemandReserved, rentals.DemandFulfilled, rentals.DemandCancelled, rentals.DemandNoShow:
			if e.Offer {
				continue
			}
			for _, c := range cell(e, e.At) {
				switch e.Kind {
				case rentals.DemandReserved:
					c.Reserved++
				case rentals.DemandFulfilled:
					c.Fulfilled++
				case rentals.DemandCancelled:
					c.Cancelled++
				case rentals.DemandNoShow:
					c.NoShows++
				}
			}
		default:
			if _, ok := places[e.Entity]; !ok {
				order = append(order, e.Entity)
			}
			places[e.Entity] = append(places[e.Entity], e)
		}
	}
	// The days' ends, for the places waiting at each.
	var ends []time.Time
	for d := first; d <= last; d = nextDay(d) {
		t := dayStart(nextDay(d))
		if end.Before(t) {
			t = end
		}
		ends = append(ends, t)
	}
	// dayEnd counts a place waiting over [from, to) at each day's end within.
	dayEnd := func(e rentals.DemandEvent, from, to time.Time) {
		for _, t := range ends {
			if !t.Before(from) && t.Before(to) {
				for _, c := range cell(e, t.Add(-time.Nanosecond)) {
					c.Waiting++
				}
			}
		}
	}
	for _, id := range order {
		steps := places[id]
		offered, unmet := false, false
		var waitFrom time.Time // when the place began waiting; zero when not waiting
		for i, e := range steps {
			switch e.Kind {
			case rentals.DemandJoined:
				for _, c := range cell(e, e.At) {
					c.Joins++
				}
				waitFrom = e.At
			case rentals.DemandWaiting:
				if waitFrom.IsZero() {
					waitFrom = e.At
				}
			case rentals.DemandOffered:
				// An offer that never held a unit puts the place back to
				// waiting: it was no offer.
				if i+1 < len(steps) && steps[i+1].Kind == rentals.DemandWaiting {
					continue
				}
				if !offered {
					offered = true
					for _, c := range cell(e, e.At) {
						c.Offers++
						c.Waits = append(c.Waits, int64(e.At.Sub(e.JoinedAt)/time.Second))
					}
				}
			case rentals.DemandServed, rentals.DemandLeft, rentals.DemandLapsed:
				for _, c := range cell(e, e.At) {
					switch e.Kind {
					case rentals.DemandServed:
						c.Served++
					case rentals.DemandLeft:
						c.Left++
					case rentals.DemandLapsed:
						c.Lapsed++
					}
				}
				if e.Kind == rentals.DemandLeft && !offered && !unmet && e.At.Before(e.JoinedAt.Add(UnmetAfter)) {
					unmet = true
					for _, c := range cell(e, e.At) {
						c.Unmet++
					}
				}
			}
			// Waiting from waitFrom until the next step that is not a wait.
			if !waitFrom.IsZero() && e.Kind != rentals.DemandJoined && e.Kind != rentals.DemandWaiting {
				dayEnd(e, waitFrom, e.At)
				waitFrom = time.Time{}
			}
		}
		e := steps[0]
		if !waitFrom.IsZero() {
			dayEnd(e, waitFrom, end.Add(time.Nanosecond))
		}
		if !offered && !unmet {
			// Still without an offer UnmetAfter after joining (or when it
			// left later than that): unmet on that day.
			if t := e.JoinedAt.Add(UnmetAfter); t.Before(end) && stillUnserved(steps, t) {
				for _, c := range cell(e, t) {
					c.Unmet++
				}
			}
		}
	}
	for k, m := range cells {
		rd := at[k]
		for _, c := range m {
			rd.Demand = append(rd.Demand, *c)
		}
		rd.sort()
	}
}

// stillUnserved reports whether a place without an offer was still in the
// queue at t (it had not left or been served before).
func stillUnserved(steps []rentals.DemandEvent, t time.Time) bool {
	for _, e := range steps {
		if e.At.After(t) {
			break
		}
		if e.Kind == rentals.DemandLeft || e.Kind == rentals.DemandServed || e.Kind == rentals.DemandLapsed {
			return false
		}
	}
	return true
}

// demandTables: family reservations and their outcomes with the no-show
// rate (per place and per product), the waitlist (joins, first offers and
// the median wait for them, what became of the places, and how many wait
// at the range's end) per place, district and product, and unmet demand
// per district. A district's queue is counted in the district and product
// rows and, for the city, its operator's (the product's), never in a
// station's.
func demandTables(in dashInput) []Table {
	resKinds := append(in.placeKinds(), KindProduct)
	waitKinds := []string{KindStation, KindDistrict, KindProduct}
	if in.city {
		waitKinds = []string{KindOperator, KindDistrict, KindProduct}
	}
	// key is the row of a cell for kind, or "" when it has none there.
	key := func(kind, op string, c demandCell) string {
		if c.Station == "" {
			switch kind {
			case KindDistrict:
				return c.District
			case KindProduct:
				return c.Product
			case KindOperator:
				return op
			}
			return ""
		}
		return in.cellKey(kind, op, c.Station, c.Product)
	}
	res, wait := map[string]*rows{}, map[string]*rows{}
	waits := map[string]map[string][]int64{}
	for _, k := range resKinds {
		res[k] = newRows(&in, k, 5)
	}
	for _, k := range waitKinds {
		wait[k] = newRows(&in, k, 7)
		waits[k] = map[string][]int64{}
	}
	unmet := newRows(&in, KindDistrict, 4)
	for _, d := range in.days {
		for _, c := range d.Demand {
			if c.Reserved+c.Fulfilled+c.Cancelled+c.NoShows > 0 {
				for _, k := range resKinds {
					if kk := key(k, d.OperatorID, c); kk != "" {
						v := res[k].get(kk).Values
						v[0] += c.Fulfilled
						v[1] += c.Cancelled
						v[2] += c.NoShows
						v[3] += c.Reserved
					}
				}
			}
			if c.Joins+c.Offers+c.Served+c.Left+c.Lapsed > 0 {
				for _, k := range waitKinds {
					if kk := key(k, d.OperatorID, c); kk != "" {
						v := wait[k].get(kk).Values
						v[0] += c.Joins
						v[1] += c.Offers
						v[2] += c.Served
						v[3] += c.Left
						v[4] += c.Lapsed
						waits[k][kk] = append(waits[k][kk], c.Waits...)
					}
				}
			}
			if c.Joins+c.Left+c.Unmet > 0 {
				v := unmet.get(key(KindDistrict, d.OperatorID, c)).Values
				v[0] += c.Unmet
				v[1] += c.Joins
				v[2] += c.Left
			}
		}
	}
	for _, d := range in.ends {
		for _, c := range d.Demand {
			if c.Waiting == 0 {
				continue
			}
			for _, k := range waitKinds {
				if kk := key(k, d.OperatorID, c); kk != "" {
					wait[k].get(kk).Values[5] += c.Waiting
				}
			}
			unmet.get(key(KindDistrict, d.OperatorID, c)).Values[3] += c.Waiting
		}
	}
	var out []Table
	resCols := []Column{{Key: "fulfilled", Measure: Count}, {Key: "cancelled", Measure: Count}, {Key: "no_shows", Measure: Count},
		{Key: "reservations", Measure: Count}, {Key: "no_show_rate", Measure: Permille}}
	for _, k := range resKinds {
		rs := res[k].list(nil)
		for i := range rs {
			v := rs[i].Values
			if ended := v[0] + v[2]; ended > 0 {
				v[4] = (v[2]*1000 + ended/2) / ended
			}
		}
		out = append(out, Table{ID: "reservations_" + k, Title: "reservations", RowKind: k, Columns: resCols, Rows: rs, Plot: 3})
	}
	waitCols := []Column{{Key: "wait_joins", Measure: Count}, {Key: "wait_offers", Measure: Count}, {Key: "wait_served", Measure: Count},
		{Key: "wait_left", Measure: Count}, {Key: "wait_lapsed", Measure: Count}, {Key: "waiting_end", Measure: Count},
		{Key: "median_wait_days", Measure: Tenths}}
	for _, k := range waitKinds {
		for kk, xs := range waits[k] {
			if len(xs) > 0 {
				wait[k].get(kk).Values[6] = tenthsOfDays(median(xs))
			}
		}
		out = append(out, Table{ID: "waitlist_" + k, Title: "waitlist", RowKind: k, Columns: waitCols, Rows: wait[k].list(nil), Plot: -1})
	}
	out = append(out, Table{ID: "unmet_district", Title: "unmet", RowKind: KindDistrict, Rows: unmet.list(nil), Plot: 1,
		Columns: []Column{{Key: "unmet", Measure: Count}, {Key: "wait_joins", Measure: Count}, {Key: "wait_left", Measure: Count}, {Key: "waiting_end", Measure: Count}}})
	return out
}
