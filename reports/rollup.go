package reports

import (
	"context"
	"fmt"
	"slices"
	"time"

	"fuju/internal/l10n"
	"fuju/internal/tenancy"
	"fuju/rentals"
	"fuju/stations"
)

// The daily roll-up: per operator and city day, the summable figures the
// dashboards need, per station and product (the units) and per station and
// tier (the money). A day's figures are a pure function of the units'
// histories and the ledger entries (rollDays); dashboards add the days of
// their range up (tablesFromDays). A day that is over is stored once
// (rollup_store.go) and read by _id from then on; the days not stored yet
// (today) are computed from the sources on request, with the same
// function, so the stored and the live figures cannot disagree.

// unitCell is one station's units of one product over one day.
type unitCell struct {
	Station string `bson:"station"`
	Product string `bson:"product"`
	// RentedSec and OwnedSec: seconds of the day the units spent rented,
	// and in the fleet (not lost or retired).
	RentedSec int64 `bson:"rented_sec,omitempty"`
	OwnedSec  int64 `bson:"owned_sec,omitempty"`
	// Turnaround holds, for each unit that became available again this
	// day after a return, the seconds since the return.
	Turnaround []int64 `bson:"turnaround,omitempty"`
	Repairs    int64   `bson:"repairs,omitempty"` // moves into repair
	Lost       int64   `bson:"lost,omitempty"`    // moves to lost
	Found      int64   `bson:"found,omitempty"`   // moves out of lost (not to retired)
	// End counts the units here at the day's end, by FleetStates; Owned
	// counts those in any state but lost and retired.
	End   []int64 `bson:"end,omitempty"`
	Owned int64   `bson:"owned,omitempty"`
}

// moneyCell is one station's ledger entries of one tier on one day.
type moneyCell struct {
	Station string `bson:"station"`
	Tier    string `bson:"tier"`
	// Rent is the standard rent charged (rent and extension entries).
	Rent       int64 `bson:"rent,omitempty"`
	RentN      int64 `bson:"rent_n,omitempty"`
	Subsidy    int64 `bson:"subsidy,omitempty"`
	SubsidyN   int64 `bson:"subsidy_n,omitempty"`
	DepositIn  int64 `bson:"deposit_in,omitempty"`
	DepositOut int64 `bson:"deposit_out,omitempty"`
	Late       int64 `bson:"late,omitempty"`
	Damage     int64 `bson:"damage,omitempty"`
	LostFee    int64 `bson:"lost_fee,omitempty"`
	Recovered  int64 `bson:"recovered,omitempty"`
	Waived     int64 `bson:"waived,omitempty"`
	ChargeN    int64 `bson:"charge_n,omitempty"`
	DepositN   int64 `bson:"deposit_n,omitempty"`
}

// heldCell is the deposits a station holds at a day's end. Every station
// that ever took a deposit has one, even at zero.
type heldCell struct {
	Station string `bson:"station"`
	Fen     int64  `bson:"fen"`
}

// rollDay is one operator's figures for one city day.
type rollDay struct {
	ID         string      `bson:"_id"` // rollup/<operator>/<yyyy-mm-dd>
	OperatorID string      `bson:"operator_id"`
	Day        string      `bson:"day"`
	Units      []unitCell  `bson:"units"`
	Money      []moneyCell `bson:"money"`
	Held       []heldCell  `bson:"held"`
	// Demand is the reservations and the waitlist (demand.go); absent in
	// days without any.
	Demand []demandCell `bson:"demand,omitempty"`
}

func rollID(operatorID, day string) string { return "rollup/" + operatorID + "/" + day }

// dayStart is the first instant of a city day.
func dayStart(day string) time.Time {
	t, _ := time.ParseInLocation(time.DateOnly, day, l10n.Local)
	return t
}

// daysFrom lists the days from first to last, both included.
func daysFrom(first, last string) []string {
	var out []string
	for d := first; d <= last; d = nextDay(d) {
		out = append(out, d)
	}
	return out
}

// rollDays computes the figures of days (consecutive, ascending) for every
// operator in the sources (and for each of operators, even without any):
// trails must hold every unit event before the last day's end and entries
// every ledger entry up to the last day. The last day ends at now if now
// falls within it (today so far).
func rollDays(trails []stations.UnitTrail, entries []rentals.LedgerEntry, days []string, now time.Time, operators ...string) []rollDay {
	if len(days) == 0 {
		return nil
	}
	first, last := days[0], days[len(days)-1]
	type opDays struct {
		units []map[[2]string]*unitCell
		money []map[[2]string]*moneyCell
		held  []map[string]int64
	}
	ops := map[string]*opDays{}
	opOf := func(op string) *opDays {
		o, ok := ops[op]
		if !ok {
			o = &opDays{units: make([]map[[2]string]*unitCell, len(days)), money: make([]map[[2]string]*moneyCell, len(days)),
				held: make([]map[string]int64, len(days))}
			for i := range days {
				o.units[i], o.money[i], o.held[i] = map[[2]string]*unitCell{}, map[[2]string]*moneyCell{}, map[string]int64{}
			}
			ops[op] = o
		}
		return o
	}
	for _, op := range operators {
		opOf(op)
	}
	starts := make([]time.Time, len(days)+1)
	for i, d := range days {
		starts[i] = dayStart(d)
	}
	starts[len(days)] = dayStart(nextDay(last))
	ends := starts[1:]
	end := ends[len(days)-1]
	if now.Before(end) {
		end = now
		ends = slices.Clone(ends)
		ends[len(days)-1] = now
	}
	// index of the day holding instant t, or -1 outside.
	dayOf := func(t time.Time) int {
		if t.Before(starts[0]) || !t.Before(end) {
			return -1
		}
		i, found := slices.BinarySearchFunc(starts[:len(days)], t, func(s, t time.Time) int { return s.Compare(t) })
		if !found {
			i--
		}
		return i
	}
	unit := func(o *opDays, i int, sp span) *unitCell {
		k := [2]string{sp.station, sp.product}
		c, ok := o.units[i][k]
		if !ok {
			c = &unitCell{Station: sp.station, Product: sp.product}
			o.units[i][k] = c
		}
		return c
	}
	for _, t := range trails {
		ss := spans(t, end)
		var returnedAt time.Time
		for si, sp := range ss {
			o := opOf(sp.operatorID)
			if owned(sp.state) {
				a, b := sp.start, sp.stop
				if a.Before(starts[0]) {
					a = starts[0]
				}
				for i := max(dayOf(a), 0); i < len(days) && starts[i].Before(b); i++ {
					sec := overlap(sp.start, sp.stop, starts[i], ends[i])
					if sec == 0 {
						continue
					}
					c := unit(o, i, sp)
					c.OwnedSec += sec
					if sp.state == stations.Rented {
						c.RentedSec += sec
					}
				}
			}
			// The unit's state at each day's end: this span's, for the
			// days ending after it began and no later than the next event.
			next := end
			if si+1 < len(ss) {
				next = ss[si+1].start
			}
			for i := max(dayOf(sp.start), 0); i < len(days); i++ {
				if !sp.start.Before(ends[i]) {
					continue
				}
				if si+1 < len(ss) && next.Before(ends[i]) {
					break
				}
				c := unit(o, i, sp)
				if c.End == nil {
					c.End = make([]int64, len(FleetStates))
				}
				if j := slices.Index(FleetStates, sp.state); j >= 0 {
					c.End[j]++
				}
				if owned(sp.state) {
					c.Owned++
				}
			}
			i := dayOf(sp.start)
			switch {
			case sp.state == stations.Lost && i >= 0:
				unit(o, i, sp).Lost++
			case sp.from == stations.Lost && sp.state != stations.Retired && i >= 0:
				unit(o, i, sp).Found++
			case sp.state == stations.Repair && sp.from != stations.Repair && i >= 0:
				unit(o, i, sp).Repairs++
			}
			switch {
			case sp.state == stations.Returned:
				returnedAt = sp.start
			case sp.state == stations.Available && !returnedAt.IsZero():
				if i >= 0 {
					c := unit(o, i, sp)
					c.Turnaround = append(c.Turnaround, int64(sp.start.Sub(returnedAt)/time.Second))
				}
				returnedAt = time.Time{}
			case !owned(sp.state):
				returnedAt = time.Time{}
			}
		}
	}
	held := map[string]map[string]int64{} // operator → station → fen, before the day being added
	for _, e := range entries {
		if e.Day > last {
			continue
		}
		o := opOf(e.OperatorID)
		if e.Kind == rentals.EntryDeposit || e.Kind == rentals.EntryDepositReturn {
			h, ok := held[e.OperatorID]
			if !ok {
				h = map[string]int64{}
				held[e.OperatorID] = h
			}
			// Deposits before the first day start the balance; those on a
			// day are added when the days are walked below.
			if e.Day < first {
				if e.Kind == rentals.EntryDeposit {
					h[e.StationID] += e.AmountFen
				} else {
					h[e.StationID] -= e.AmountFen
				}
			}
		}
		if e.Day < first {
			continue
		}
		i, _ := slices.BinarySearch(days, e.Day)
		k := [2]string{e.StationID, string(e.Tier)}
		c, ok := o.money[i][k]
		if !ok {
			c = &moneyCell{Station: e.StationID, Tier: string(e.Tier)}
			o.money[i][k] = c
		}
		switch e.Kind {
		case rentals.EntryRent, rentals.EntryExtension:
			c.Rent += e.AmountFen
			c.RentN++
		case rentals.EntrySubsidy:
			c.Subsidy += e.AmountFen
			c.SubsidyN++
		case rentals.EntryDeposit:
			c.DepositIn += e.AmountFen
			c.DepositN++
		case rentals.EntryDepositReturn:
			c.DepositOut += e.AmountFen
			c.DepositN++
		case rentals.EntryLateFee, rentals.EntryDamage, rentals.EntryLost, rentals.EntryWaiver, rentals.EntryRecovered:
			c.ChargeN++
			switch e.Kind {
			case rentals.EntryLateFee:
				c.Late += e.AmountFen
			case rentals.EntryDamage:
				c.Damage += e.AmountFen
			case rentals.EntryLost:
				c.LostFee += e.AmountFen
			case rentals.EntryRecovered:
				c.Recovered += e.AmountFen
			case rentals.EntryWaiver:
				c.Waived += e.AmountFen
			}
		}
	}
	var out []rollDay
	opIDs := make([]string, 0, len(ops))
	for op := range ops {
		opIDs = append(opIDs, op)
	}
	slices.Sort(opIDs)
	for _, op := range opIDs {
		o := ops[op]
		h := held[op]
		if h == nil {
			h = map[string]int64{}
		}
		for i, d := range days {
			rd := rollDay{ID: rollID(op, d), OperatorID: op, Day: d, Units: []unitCell{}, Money: []moneyCell{}, Held: []heldCell{}}
			for _, c := range o.money[i] {
				rd.Money = append(rd.Money, *c)
				if c.DepositN > 0 {
					h[c.Station] += c.DepositIn - c.DepositOut
				}
			}
			for st, fen := range h {
				rd.Held = append(rd.Held, heldCell{Station: st, Fen: fen})
			}
			for _, c := range o.units[i] {
				rd.Units = append(rd.Units, *c)
			}
			rd.sort()
			out = append(out, rd)
		}
	}
	return out
}

// sumMonth adds the days of one operator's month up: the flows (seconds,
// counts, money, turnaround samples), not the end-of-day figures, which a
// range takes from its last day. Dashboards read it in place of the
// month's days when a range covers the whole month.
func sumMonth(op, month string, days []rollDay) rollDay {
	units := map[[2]string]*unitCell{}
	money := map[[2]string]*moneyCell{}
	for _, d := range days {
		for _, c := range d.Units {
			k := [2]string{c.Station, c.Product}
			u, ok := units[k]
			if !ok {
				u = &unitCell{Station: c.Station, Product: c.Product}
				units[k] = u
			}
			u.RentedSec += c.RentedSec
			u.OwnedSec += c.OwnedSec
			u.Turnaround = append(u.Turnaround, c.Turnaround...)
			u.Repairs += c.Repairs
			u.Lost += c.Lost
			u.Found += c.Found
		}
		for _, c := range d.Money {
			k := [2]string{c.Station, c.Tier}
			m, ok := money[k]
			if !ok {
				m = &moneyCell{Station: c.Station, Tier: c.Tier}
				money[k] = m
			}
			m.Rent += c.Rent
			m.RentN += c.RentN
			m.Subsidy += c.Subsidy
			m.SubsidyN += c.SubsidyN
			m.DepositIn += c.DepositIn
			m.DepositOut += c.DepositOut
			m.DepositN += c.DepositN
			m.Late += c.Late
			m.Damage += c.Damage
			m.LostFee += c.LostFee
			m.Recovered += c.Recovered
			m.Waived += c.Waived
			m.ChargeN += c.ChargeN
		}
	}
	type dk struct{ station, district, product string }
	demand := map[dk]*demandCell{}
	for _, d := range days {
		for _, c := range d.Demand {
			k := dk{c.Station, c.District, c.Product}
			m, ok := demand[k]
			if !ok {
				m = &demandCell{Station: c.Station, District: c.District, Product: c.Product}
				demand[k] = m
			}
			m.Reserved += c.Reserved
			m.Fulfilled += c.Fulfilled
			m.Cancelled += c.Cancelled
			m.NoShows += c.NoShows
			m.Joins += c.Joins
			m.Offers += c.Offers
			m.Waits = append(m.Waits, c.Waits...)
			m.Served += c.Served
			m.Left += c.Left
			m.Lapsed += c.Lapsed
			m.Unmet += c.Unmet
		}
	}
	out := rollDay{ID: rollID(op, month), OperatorID: op, Day: month, Units: []unitCell{}, Money: []moneyCell{}, Held: []heldCell{}}
	for _, m := range demand {
		if m.flows() {
			out.Demand = append(out.Demand, *m)
		}
	}
	for _, u := range units {
		if u.RentedSec+u.OwnedSec+u.Repairs+u.Lost+u.Found > 0 || len(u.Turnaround) > 0 {
			out.Units = append(out.Units, *u)
		}
	}
	for _, m := range money {
		out.Money = append(out.Money, *m)
	}
	out.sort()
	return out
}

// monthDays lists the days of month (yyyy-mm).
func monthDays(month string) []string { return daysFrom(month+"-01", lastDay(month)) }

// sort puts a day's cells in a fixed order, so a day computed twice is
// stored the same.
func (d *rollDay) sort() {
	slices.SortFunc(d.Units, func(a, b unitCell) int {
		if c := cmpStr(a.Station, b.Station); c != 0 {
			return c
		}
		return cmpStr(a.Product, b.Product)
	})
	for i := range d.Units {
		slices.Sort(d.Units[i].Turnaround)
	}
	slices.SortFunc(d.Money, func(a, b moneyCell) int {
		if c := cmpStr(a.Station, b.Station); c != 0 {
			return c
		}
		return cmpStr(a.Tier, b.Tier)
	})
	slices.SortFunc(d.Held, func(a, b heldCell) int { return cmpStr(a.Station, b.Station) })
	slices.SortFunc(d.Demand, func(a, b demandCell) int {
		if c := cmpStr(a.Station, b.Station); c != 0 {
			return c
		}
		if c := cmpStr(a.District, b.District); c != 0 {
			return c
		}
		return cmpStr(a.Product, b.Product)
	})
	for i := range d.Demand {
		slices.Sort(d.Demand[i].Waits)
	}
}

// RollGrace is how long after midnight a day waits before it is stored:
// writes in flight at midnight, and transitions the reconcilers finish
// within minutes, land in it first.
const RollGrace = time.Hour

// RollRecheck is how many stored days before the head each roll computes
// again and corrects, for a write that arrived later still.
const RollRecheck = 3

// rolled returns the figures of operators for the days flow and for endDay
// (the range's end, never before the flow days): stored days by _id when
// useStore, the others computed from one read of the sources.
func (s *Service) rolled(ctx context.Context, read tenancy.Scope, operators, flow []string, endDay string, now time.Time, useStore bool) ([]rollDay, []rollDay, time.Time, error) {
	want := flow
	if len(flow) == 0 || flow[len(flow)-1] != endDay {
		want = append(slices.Clone(flow), endDay)
	}
	type key struct{ op, day string }
	got := map[key]rollDay{}
	months := map[key]rollDay{} // whole months read in place of their days
	missing := ""
	for _, op := range operators {
		h := rollHead{ID: op}
		if useStore && s.rolls != nil {
			var err error
			if h, err = s.rolls.head(ctx, op); err != nil {
				return nil, nil, now, err
			}
		}
		for i := 0; i < len(want); i++ {
			d := want[i]
			// A whole month of the range, rolled up: its one document.
			if m := d[:7]; h.First != "" && d == m+"-01" && len(want) > i+len(monthDays(m))-1 && want[i+len(monthDays(m))-1] == m+"-"+lastDayOf(m) &&
				lastDay(m) <= h.Through {
				rd, ok, err := s.rolls.day(ctx, op, m)
				if err != nil {
					return nil, nil, now, err
				}
				if ok {
					months[key{op, m}] = rd
					for _, md := range monthDays(m) {
						if md != endDay {
							got[key{op, md}] = rollDay{}
						}
					}
					i += len(monthDays(m)) - 1
					if lastDay(m) == endDay {
						i-- // the range's end is read for its end-of-day figures
					}
					continue
				}
			}
			if h.First != "" && d < h.First {
				got[key{op, d}] = rollDay{ID: rollID(op, d), OperatorID: op, Day: d}
				continue
			}
			if h.First != "" && d <= h.Through {
				rd, ok, err := s.rolls.day(ctx, op, d)
				if err != nil {
					return nil, nil, now, err
				}
				if ok {
					got[key{op, d}] = rd
					continue
				}
			}
			if missing == "" || d < missing {
				missing = d
			}
		}
	}
	asOf := now
	if missing != "" {
		var days []rollDay
		var err error
		if today := rentals.Date(now); useStore && missing == today && endDay == today {
			// Only today is computed: from the units' trail ends, and
			// kept a short while for the scope's other dashboards.
			days, asOf, err = s.keptToday.get(todayKey(read, operators), today, now, func() ([]rollDay, error) {
				src, err := s.todaySources(ctx, read, today)
				if err != nil {
					return nil, err
				}
				days := rollDays(src.trails, src.entries, []string{today}, now, operators...)
				addDemand(days, src.demand, now)
				return days, nil
			})
		} else {
			var src opSources
			if src, err = s.sources(ctx, read, endDay); err == nil {
				days = rollDays(src.trails, src.entries, daysFrom(missing, endDay), now, operators...)
				addDemand(days, src.demand, now)
			}
		}
		if err != nil {
			return nil, nil, now, err
		}
		for _, rd := range days {
			if _, ok := got[key{rd.OperatorID, rd.Day}]; !ok {
				got[key{rd.OperatorID, rd.Day}] = rd
			}
		}
	}
	var days, ends []rollDay
	for _, op := range operators {
		for _, d := range flow {
			if m, ok := months[key{op, d[:7]}]; ok {
				if d == d[:7]+"-01" {
					days = append(days, m)
				}
				continue
			}
			days = append(days, got[key{op, d}])
		}
		ends = append(ends, got[key{op, endDay}])
	}
	return days, ends, asOf, nil
}

// sources reads what the roll-up is made of, for scope, up to the end of
// day last: every unit event, every ledger entry, every reservation and
// waitlist step.
func (s *Service) sources(ctx context.Context, scope tenancy.Scope, last string) (opSources, error) {
	var src opSources
	var err error
	if src.trails, err = s.fleet.UnitTrails(ctx, scope, dayStart(nextDay(last))); err != nil {
		return src, fmt.Errorf("reports: %w", err)
	}
	if src.entries, err = s.ledgers.LedgerEntries(ctx, scope, nextDay(last)); err != nil {
		return src, fmt.Errorf("reports: %w", err)
	}
	if src.demand, err = s.demandLog(ctx, scope, last); err != nil {
		return src, err
	}
	return src, nil
}

// todaySources is sources for computing day today alone (every earlier
// day of the range is stored): the units' trails cut to the last event
// before midnight and the day's events (stations.Service.TrailEnds), which
// give rollDays the same figures for today as the whole trails, read from
// the units' projections and their logs by _id, so they do not grow with
// the history. The whole trails are read when TrailEnds cannot vouch for
// a unit. The ledger entries and the demand steps are read whole: today's
// deposits held start from every deposit ever taken, and no smaller read
// finds the entries and steps of one day on the embedded engine.
func (s *Service) todaySources(ctx context.Context, scope tenancy.Scope, today string) (opSources, error) {
	var src opSources
	trails, ok, err := s.fleet.TrailEnds(ctx, scope, dayStart(today), dayStart(nextDay(today)))
	if err != nil {
		return src, fmt.Errorf("reports: %w", err)
	}
	if !ok {
		return s.sources(ctx, scope, today)
	}
	src.trails = trails
	if src.entries, err = s.ledgers.LedgerEntries(ctx, scope, nextDay(today)); err != nil {
		return src, fmt.Errorf("reports: %w", err)
	}
	if src.demand, err = s.demandLog(ctx, scope, today); err != nil {
		return src, err
	}
	return src, nil
}

// RollStats says what a roll did.
type RollStats struct {
	Operators int `json:"operators"`
	// Stored counts days written for the first time, Fixed days that were
	// stored with other figures than the logs give now (a crash or a late
	// write), and were replaced.
	Stored int `json:"stored"`
	Fixed  int `json:"fixed"`
}

// Roll stores every operator's days that are over (RollGrace after
// midnight) and not stored yet, and checks the RollRecheck days before
// them again. It reads an operator's sources only when it has a day to
// store, so running it often costs one find by _id per operator. Every
// instance may run it: a day is inserted under its _id and otherwise
// compared, so days are stored once, and a roll cut short by a crash is
// finished by the next.
func (s *Service) Roll(ctx context.Context) (RollStats, error) {
	return s.rollAll(ctx, "", false)
}

// RebuildRollup computes every stored day of operatorID ("" for every
// operator) again from the logs and replaces the days that differ. The
// dashboards stay correct meanwhile: a day is replaced whole.
func (s *Service) RebuildRollup(ctx context.Context, operatorID string) (RollStats, error) {
	return s.rollAll(ctx, operatorID, true)
}

func (s *Service) rollAll(ctx context.Context, operatorID string, all bool) (RollStats, error) {
	var ops []string
	if operatorID != "" {
		ops = []string{operatorID}
	} else {
		sts, err := s.fleet.Stations(ctx, "")
		if err != nil {
			return RollStats{}, fmt.Errorf("reports: %w", err)
		}
		for _, st := range sts {
			if !slices.Contains(ops, st.OperatorID) {
				ops = append(ops, st.OperatorID)
			}
		}
		slices.Sort(ops)
	}
	now := s.now()
	target := prevDay(rentals.Date(now.Add(-RollGrace)))
	var due []rollHead
	for _, op := range ops {
		h, err := s.rolls.head(ctx, op)
		if err != nil {
			return RollStats{}, err
		}
		if all || h.Through < target {
			due = append(due, h)
		}
	}
	stats := RollStats{Operators: len(ops)}
	if len(due) == 0 {
		return stats, nil
	}
	// One read of the sources for every operator due (the embedded engine
	// scans a collection whatever the filter), split by operator.
	scope := tenancy.PlatformScope
	if len(due) == 1 {
		scope = tenancy.OperatorScope(due[0].ID)
	}
	all0, err := s.sources(ctx, scope, target)
	if err != nil {
		return stats, err
	}
	trails, entries := all0.trails, all0.entries
	byOp := map[string]*opSources{}
	of := func(op string) *opSources {
		o, ok := byOp[op]
		if !ok {
			o = &opSources{}
			byOp[op] = o
		}
		return o
	}
	for _, t := range trails {
		o := of(t.Events[0].OperatorID)
		o.trails = append(o.trails, t)
	}
	for _, e := range entries {
		o := of(e.OperatorID)
		o.entries = append(o.entries, e)
	}
	for _, e := range all0.demand {
		o := of(e.OperatorID)
		o.demand = append(o.demand, e)
	}
	for _, h := range due {
		src := byOp[h.ID]
		if src == nil {
			continue // no history yet: every day is computed on request, from nothing
		}
		if err := s.rollOperator(ctx, h, *src, target, now, all, &stats); err != nil {
			return stats, err
		}
	}
	return stats, nil
}

// opSources is what the roll-up of one operator (or, read for several, of
// each) is made of: unit histories, ledger entries and demand steps.
type opSources struct {
	trails  []stations.UnitTrail
	entries []rentals.LedgerEntry
	demand  []rentals.DemandEvent
}

// rollOperator stores the operator's days up to target from its head
// (less RollRecheck days), or from its first day when all.
func (s *Service) rollOperator(ctx context.Context, h rollHead, src opSources, target string, now time.Time, all bool, stats *RollStats) error {
	op := h.ID
	first := ""
	for _, t := range src.trails {
		if d := rentals.Date(t.Events[0].At); first == "" || d < first {
			first = d
		}
	}
	for _, e := range src.entries {
		if first == "" || e.Day < first {
			first = e.Day
		}
	}
	for _, e := range src.demand {
		if d := rentals.Date(e.At); first == "" || d < first {
			first = d
		}
	}
	if first == "" || first > target {
		return nil
	}
	start := first
	if !all && h.First != "" && h.First <= first {
		start = max(first, addDays(h.Through, -RollRecheck+1))
	}
	computed := map[string]rollDay{}
	var todo []rollDay
	rolled := rollDays(src.trails, src.entries, daysFrom(start, target), now, op)
	addDemand(rolled, src.demand, now)
	for _, rd := range rolled {
		if rd.OperatorID == op {
			computed[rd.Day] = rd
			todo = append(todo, rd)
		}
	}
	// The whole months among the days: their sums too.
	for m := start[:7]; lastDay(m) <= target; m = dayStart(m+"-01").AddDate(0, 1, 0).Format("2006-01") {
		var days []rollDay
		for _, d := range monthDays(m) {
			rd, ok := computed[d]
			if !ok && d >= first {
				var err error
				if rd, ok, err = s.rolls.day(ctx, op, d); err != nil {
					return err
				}
			}
			if ok {
				days = append(days, rd)
			}
		}
		todo = append(todo, sumMonth(op, m, days))
	}
	for _, rd := range todo {
		did, err := s.rolls.save(ctx, rd)
		if err != nil {
			return err
		}
		switch did {
		case inserted:
			stats.Stored++
		case replaced:
			stats.Fixed++
		}
	}
	return s.rolls.putHead(ctx, rollHead{ID: op, First: first, Through: target})
}

func prevDay(day string) string { return addDays(day, -1) }

// lastDay is the last day of month (yyyy-mm).
func lastDay(month string) string {
	return prevDay(dayStart(month+"-01").AddDate(0, 1, 0).Format(time.DateOnly))
}

func lastDayOf(month string) string { return lastDay(month)[8:] }

func addDays(day string, n int) string {
	return dayStart(day).AddDate(0, 0, n).Format(time.DateOnly)
}
