package reports

import (
	"slices"
	"time"

	"fuju/rentals"
	"fuju/stations"
)

// The dashboards' figures, as pure functions of the roll-up's days (see
// rollup.go), the open leases and the losses.

// dashInput is what one dashboard was computed from.
type dashInput struct {
	rng Range
	// city: the platform's dashboard, grouped by operator and district
	// instead of by station.
	city   bool
	places map[string]stations.Station
	// days are the roll-up days of the range, of every operator shown;
	// ends the days at the range's end (its last day, or today), whose
	// end-of-day figures (units by state, deposits held) the range shows.
	days    []rollDay
	ends    []rollDay
	overdue []rentals.OpenLease
	losses  []rentals.LossReport
}

// Row kinds.
const (
	KindStation  = "station"
	KindOperator = "operator"
	KindDistrict = "district"
	KindProduct  = "product"
	KindTier     = "tier"
	KindState    = "state"
	KindBucket   = "bucket"
)

// placeKinds are the groupings of places a dashboard shows: an operator's
// stations, or the city's operators and districts.
func (in dashInput) placeKinds() []string {
	if in.city {
		return []string{KindOperator, KindDistrict}
	}
	return []string{KindStation}
}

// place returns the key of station id's group of kind.
func (in dashInput) place(kind, id string) string {
	st, ok := in.places[id]
	switch kind {
	case KindOperator:
		if ok {
			return st.OperatorID
		}
	case KindDistrict:
		if ok {
			return st.District
		}
		return "unknown"
	}
	return id
}

// rows collects rows by key, in first-seen order until sorted.
type rows struct {
	kind  string
	width int
	in    *dashInput
	by    map[string]*Row
}

func newRows(in *dashInput, kind string, width int) *rows {
	return &rows{kind: kind, width: width, in: in, by: map[string]*Row{}}
}

func (r *rows) get(key string) *Row {
	row, ok := r.by[key]
	if !ok {
		row = &Row{Key: key, Values: make([]int64, r.width)}
		if r.kind == KindStation {
			if st, ok := r.in.places[key]; ok {
				row.Name, row.NameEn = st.Name.Zh, st.Name.En
			}
		}
		r.by[key] = row
	}
	return row
}

// list returns the rows sorted by key (fixed orders for tiers, states and
// buckets).
func (r *rows) list(order []string) []Row {
	out := make([]Row, 0, len(r.by))
	for _, row := range r.by {
		out = append(out, *row)
	}
	rank := func(k string) int {
		if i := slices.Index(order, k); i >= 0 {
			return i
		}
		return len(order)
	}
	slices.SortFunc(out, func(a, b Row) int {
		if ra, rb := rank(a.Key), rank(b.Key); ra != rb {
			return ra - rb
		}
		return cmpStr(a.Key, b.Key)
	})
	return out
}

// FleetStates are the unit states the fleet dashboard counts, in the
// order its stacked bars draw them (reservations do not exist yet).
var FleetStates = []stations.State{stations.Available, stations.Rented, stations.Returned, stations.Cleaning,
	stations.Repair, stations.InTransit, stations.Lost, stations.Retired}

// span is one stretch of a unit's life in one state.
type span struct {
	state             stations.State
	station, product  string
	start, stop       time.Time
	from              stations.State
	operatorID, event string
}

// spans cuts a unit's history into stretches, each until the next event
// (the last until end).
func spans(t stations.UnitTrail, end time.Time) []span {
	out := make([]span, 0, len(t.Events))
	for i, e := range t.Events {
		stop := end
		if i+1 < len(t.Events) {
			stop = t.Events[i+1].At
		}
		out = append(out, span{state: e.To, from: e.From, station: e.StationID, product: e.ProductID, start: e.At, stop: stop,
			operatorID: e.OperatorID, event: e.Kind})
	}
	return out
}

// overlap is the seconds of [a, b) within [from, end).
func overlap(a, b, from, end time.Time) int64 {
	if a.Before(from) {
		a = from
	}
	if b.After(end) {
		b = end
	}
	if !b.After(a) {
		return 0
	}
	return int64(b.Sub(a) / time.Second)
}

// owned reports whether a unit in state s belongs to the fleet.
func owned(s stations.State) bool { return s != stations.Lost && s != stations.Retired }

const daySeconds = 24 * 60 * 60

// tenthsOfDays turns seconds into tenths of a day, rounded.
func tenthsOfDays(sec int64) int64 { return (sec*10 + daySeconds/2) / daySeconds }

// median of seconds, or -1 when there are none.
func median(xs []int64) int64 {
	if len(xs) == 0 {
		return -1
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// fleetTables: units by state at the range's end (per place and per
// product), utilisation (rented days over owned days, per place and per
// product), and the median days from a return to available again.
func fleetTables(in dashInput) []Table {
	stateCols := make([]Column, len(FleetStates))
	for i, s := range FleetStates {
		stateCols[i] = Column{Key: "state_" + string(s), Measure: Count}
	}
	utilCols := []Column{{Key: "rented_days", Measure: Tenths}, {Key: "owned_days", Measure: Tenths}, {Key: "utilisation", Measure: Permille}}
	turnCols := []Column{{Key: "returns", Measure: Count}, {Key: "median_days", Measure: Tenths}}

	kinds := append(in.placeKinds(), KindProduct)
	byState, util, turn := map[string]*rows{}, map[string]*rows{}, map[string]*rows{}
	samples := map[string]map[string][]int64{}
	for _, k := range kinds {
		byState[k], util[k], turn[k] = newRows(&in, k, len(FleetStates)), newRows(&in, k, 2), newRows(&in, k, 2)
		samples[k] = map[string][]int64{}
	}
	for _, d := range in.ends {
		for _, c := range d.Units {
			for i, n := range c.End {
				if n == 0 {
					continue
				}
				for _, k := range kinds {
					byState[k].get(in.cellKey(k, d.OperatorID, c.Station, c.Product)).Values[i] += n
				}
			}
		}
	}
	for _, d := range in.days {
		for _, c := range d.Units {
			for _, k := range kinds {
				kk := in.cellKey(k, d.OperatorID, c.Station, c.Product)
				if c.OwnedSec > 0 {
					r := util[k].get(kk)
					r.Values[0] += c.RentedSec
					r.Values[1] += c.OwnedSec
				}
				if len(c.Turnaround) > 0 {
					samples[k][kk] = append(samples[k][kk], c.Turnaround...)
				}
			}
		}
	}
	var out []Table
	for _, k := range kinds {
		out = append(out, Table{ID: "units_by_state_" + k, Title: "units_by_state", RowKind: k, Columns: stateCols,
			Rows: byState[k].list(nil), Plot: len(FleetStates)})
	}
	for _, k := range kinds {
		rs := util[k].list(nil)
		for i := range rs {
			rented, own := rs[i].Values[0], rs[i].Values[1]
			ratio := int64(0)
			if own > 0 {
				ratio = (rented*1000 + own/2) / own
			}
			rs[i].Values = []int64{tenthsOfDays(rented), tenthsOfDays(own), ratio}
		}
		out = append(out, Table{ID: "utilisation_" + k, Title: "utilisation", RowKind: k, Columns: utilCols, Rows: rs, Plot: -3})
	}
	for _, k := range kinds {
		for kk, xs := range samples[k] {
			r := turn[k].get(kk)
			r.Values[0] = int64(len(xs))
			r.Values[1] = tenthsOfDays(median(xs))
		}
		out = append(out, Table{ID: "turnaround_" + k, Title: "turnaround", RowKind: k, Columns: turnCols, Rows: turn[k].list(nil), Plot: -2})
	}
	return out
}

// cellKey is the row a roll-up cell of operatorID falls in, for a kind of
// row.
func (in dashInput) cellKey(kind, operatorID, station, product string) string {
	switch kind {
	case KindProduct:
		return product
	case KindOperator:
		return operatorID
	}
	return in.place(kind, station)
}

// TierOrder is the order tiers are listed in.
var TierOrder = []string{string(rentals.Subsistence), string(rentals.LowIncome), string(rentals.Standard)}

// moneyTables: rent by tier (what renters paid of it and the subsidy),
// subsidy by district (and, for the city, by operator), deposits held at
// the range's end, and late, damage and lost charges with what was waived.
func moneyTables(in dashInput) []Table {
	tiers := newRows(&in, KindTier, 3)
	subKinds := []string{KindDistrict}
	if in.city {
		subKinds = []string{KindOperator, KindDistrict}
	}
	subsidy := map[string]*rows{}
	for _, k := range subKinds {
		subsidy[k] = newRows(&in, k, 2)
	}
	deposits, charges := map[string]*rows{}, map[string]*rows{}
	for _, k := range in.placeKinds() {
		deposits[k], charges[k] = newRows(&in, k, 3), newRows(&in, k, 4)
	}
	for _, d := range in.ends {
		for _, h := range d.Held {
			for k, rs := range deposits {
				rs.get(in.cellKey(k, d.OperatorID, h.Station, "")).Values[0] += h.Fen
			}
		}
	}
	for _, d := range in.days {
		for _, c := range d.Money {
			if c.DepositN > 0 {
				for k, rs := range deposits {
					r := rs.get(in.cellKey(k, d.OperatorID, c.Station, ""))
					r.Values[1] += c.DepositIn
					r.Values[2] += c.DepositOut
				}
			}
			if c.RentN+c.SubsidyN > 0 {
				r := tiers.get(c.Tier)
				r.Values[2] += c.Rent
				r.Values[1] += c.Subsidy
			}
			if c.SubsidyN > 0 {
				for k, rs := range subsidy {
					r := rs.get(in.cellKey(k, d.OperatorID, c.Station, ""))
					r.Values[0] += c.Subsidy
					r.Values[1] += c.SubsidyN
				}
			}
			if c.ChargeN > 0 {
				for k, rs := range charges {
					r := rs.get(in.cellKey(k, d.OperatorID, c.Station, ""))
					r.Values[0] += c.Late
					r.Values[1] += c.Damage
					r.Values[2] += c.LostFee - c.Recovered
					r.Values[3] += c.Waived
				}
			}
		}
	}
	tierRows := tiers.list(TierOrder)
	for i := range tierRows {
		v := tierRows[i].Values
		v[0] = v[2] - v[1] // the renters' part of the rent
	}
	out := []Table{{ID: "rent_by_tier", Title: "rent_by_tier", RowKind: KindTier, Rows: tierRows, Plot: 2,
		Columns: []Column{{Key: "renter_fen", Measure: Fen}, {Key: "subsidy_fen", Measure: Fen}, {Key: "standard_fen", Measure: Fen}}}}
	for _, k := range subKinds {
		out = append(out, Table{ID: "subsidy_by_" + k, Title: "subsidy_by", RowKind: k, Rows: subsidy[k].list(nil), Plot: 1,
			Columns: []Column{{Key: "subsidy_fen", Measure: Fen}, {Key: "subsidy_entries", Measure: Count}}})
	}
	for _, k := range in.placeKinds() {
		out = append(out, Table{ID: "deposits_" + k, Title: "deposits", RowKind: k, Rows: deposits[k].list(nil), Plot: 1,
			Columns: []Column{{Key: "held_fen", Measure: Fen}, {Key: "taken_fen", Measure: Fen}, {Key: "returned_fen", Measure: Fen}}})
	}
	for _, k := range in.placeKinds() {
		out = append(out, Table{ID: "charges_" + k, Title: "charges", RowKind: k, Rows: charges[k].list(nil), Plot: 3,
			Columns: []Column{{Key: "late_fen", Measure: Fen}, {Key: "damage_fen", Measure: Fen}, {Key: "lost_fen", Measure: Fen}, {Key: "waived_fen", Measure: Fen}}})
	}
	return out
}

// OverdueBuckets are the ages of overdue leases, in days late.
var OverdueBuckets = []struct {
	Key      string
	Min, Max int
}{{"1-7", 1, 7}, {"8-30", 8, 30}, {"31-90", 31, 90}, {"91+", 91, 1 << 30}}

// careTables: overdue leases by age today, lost and found units and the
// operator's loss per product, and repairs per product (which models
// break), with repairs per 100 units owned at the range's end.
func careTables(in dashInput) []Table {
	buckets := newRows(&in, KindBucket, 1)
	var order []string
	for _, b := range OverdueBuckets {
		order = append(order, b.Key)
		buckets.get(b.Key)
	}
	for _, o := range in.overdue {
		for _, b := range OverdueBuckets {
			if o.DaysOverdue >= b.Min && o.DaysOverdue <= b.Max {
				buckets.get(b.Key).Values[0]++
			}
		}
	}
	lost := newRows(&in, KindProduct, 3)
	repairs := newRows(&in, KindProduct, 3)
	for _, d := range in.days {
		for _, c := range d.Units {
			if c.Lost+c.Found > 0 {
				r := lost.get(c.Product)
				r.Values[0] += c.Lost
				r.Values[1] += c.Found
			}
			if c.Repairs > 0 {
				repairs.get(c.Product).Values[0] += c.Repairs
			}
		}
	}
	for _, d := range in.ends {
		for _, c := range d.Units {
			if c.Owned > 0 {
				repairs.get(c.Product).Values[1] += c.Owned
			}
		}
	}
	for _, l := range in.losses {
		if l.Loss.Day >= in.rng.From && l.Loss.Day <= in.rng.To && l.Loss.FoundOn == "" {
			lost.get(l.ProductID).Values[2] += l.Loss.OperatorLossFen
		}
	}
	rep := repairs.list(nil)
	for i := range rep {
		if units := rep[i].Values[1]; units > 0 {
			rep[i].Values[2] = (rep[i].Values[0]*1000 + units/2) / units // tenths of repairs per 100 units
		}
	}
	return []Table{
		{ID: "overdue_by_age", Title: "overdue_by_age", RowKind: KindBucket, Rows: buckets.list(order), Plot: 1,
			Columns: []Column{{Key: "overdue_leases", Measure: Count}}},
		{ID: "lost_by_product", Title: "lost_by_product", RowKind: KindProduct, Rows: lost.list(nil), Plot: 1,
			Columns: []Column{{Key: "lost_units", Measure: Count}, {Key: "found_units", Measure: Count}, {Key: "operator_loss_fen", Measure: Fen}}},
		{ID: "repairs_by_product", Title: "repairs_by_product", RowKind: KindProduct, Rows: rep, Plot: 1,
			Columns: []Column{{Key: "repairs", Measure: Count}, {Key: "units", Measure: Count}, {Key: "repairs_per_100", Measure: Tenths}}},
	}
}
