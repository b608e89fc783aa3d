package reports

import (
	"context"
	"fmt"
	"slices"
	"time"

	"fuju/internal/l10n"
	"fuju/internal/tenancy"
	"fuju/internal/valid"
	"fuju/rentals"
	"fuju/stations"
)

// Dashboards show an operator (its own stations) or the city (every
// operator, by operator and district) how the fleet was used, what money
// moved and what needs care, over a range of days. They are computed on
// request from the daily roll-up (rollup.go) for the days it holds and from
// the ledgers and the units' event logs for the others, through the same
// figures, so they agree with the ledgers by construction.

// Dashboard names.
const (
	DashFleet = "fleet"
	DashMoney = "money"
	DashCare  = "care"
	// DashDemand is reservations, the waitlist and unmet demand (demand.go).
	DashDemand = "demand"
)

// DashboardNames lists every dashboard in the order pages show them.
var DashboardNames = []string{DashFleet, DashMoney, DashDemand, DashCare}

// Measure says what a column's numbers are.
type Measure string

// Measures of dashboard columns.
const (
	Count Measure = "count" // a number of things
	Fen   Measure = "fen"   // money, integer fen
	// Permille is a ratio in thousandths (utilisation 412 = 41.2 %).
	Permille Measure = "permille"
	// Tenths is a quantity in tenths (days 35 = 3.5 days).
	Tenths Measure = "tenths"
)

// Column is one measured column of a table; Key names it for words.
type Column struct {
	Key     string  `json:"key"`
	Measure Measure `json:"measure"`
}

// Row is one thing measured: a station, product, tier, district, operator,
// age bucket. Name and NameEn are set for stations and operators; other
// kinds are named by their key.
type Row struct {
	Key    string  `json:"key"`
	Name   string  `json:"name,omitempty"`
	NameEn string  `json:"name_en,omitempty"`
	Values []int64 `json:"values"`
}

// Table is one figure of a dashboard: rows of one kind, measured columns,
// and what its chart draws: Plot > 0, the first Plot columns stacked; Plot
// < 0, column number -Plot (from 1) alone; 0, no chart.
type Table struct {
	ID      string   `json:"id"`
	Title   string   `json:"title"` // the word key of the title
	RowKind string   `json:"row_kind"`
	Columns []Column `json:"columns"`
	Rows    []Row    `json:"rows"`
	Plot    int      `json:"plot"`
	// Total is the sum of each column over the rows (counts and money
	// only; ratios and medians are not summed).
	Total []int64 `json:"total,omitempty"`
}

// Dashboard is one dashboard over a range.
type Dashboard struct {
	Name string `json:"name"`
	// OperatorID is the operator shown, or "" for the whole city.
	OperatorID string    `json:"operator_id"`
	Range      Range     `json:"range"`
	AsOf       time.Time `json:"as_of"`
	Tables     []Table   `json:"tables"`
}

// Range is the days a dashboard covers, From to To inclusive (city days).
type Range struct {
	Name string `json:"name"` // this_month, last_month, last_12_months, custom
	From string `json:"from"`
	To   string `json:"to"`
}

// Range names.
const (
	RangeThisMonth    = "this_month"
	RangeLastMonth    = "last_month"
	RangeLast12Months = "last_12_months"
	RangeCustom       = "custom"
)

// RangeNames lists the ranges offered.
var RangeNames = []string{RangeThisMonth, RangeLastMonth, RangeLast12Months, RangeCustom}

// MaxRangeDays bounds a custom range: a dashboard reads the operator's
// whole history anyway, but its per-day work grows with the range.
const MaxRangeDays = 731

// ParseRange reads a range as the API and pages take it: a name, or from
// and to (YYYY-MM-DD, both days included) for custom; no name and no days
// is this month. Errors name the field.
func ParseRange(now time.Time, name, from, to string) (Range, error) {
	today := now.In(l10n.Local)
	first := time.Date(today.Year(), today.Month(), 1, 0, 0, 0, 0, l10n.Local)
	day := func(t time.Time) string { return t.Format(time.DateOnly) }
	if name == "" {
		name = RangeThisMonth
		if from != "" || to != "" {
			name = RangeCustom
		}
	}
	switch name {
	case RangeThisMonth:
		return Range{Name: name, From: day(first), To: day(today)}, nil
	case RangeLastMonth:
		return Range{Name: name, From: day(first.AddDate(0, -1, 0)), To: day(first.AddDate(0, 0, -1))}, nil
	case RangeLast12Months:
		return Range{Name: name, From: day(first.AddDate(0, -11, 0)), To: day(today)}, nil
	case RangeCustom:
	default:
		return Range{}, valid.Field("range", "oneof", "must be one of: this_month, last_month, last_12_months, custom")
	}
	e := &valid.Error{}
	parse := func(field, s string) time.Time {
		if s == "" {
			e.Add(field, "required", "is required for a custom range (a date like 2026-10-01)")
			return time.Time{}
		}
		t, err := time.ParseInLocation(time.DateOnly, s, l10n.Local)
		if err != nil || t.Year() < 2000 || t.Year() > 2200 {
			e.Add(field, "date", "must be a date like 2026-10-01")
			return time.Time{}
		}
		return t
	}
	f, t := parse("from", from), parse("to", to)
	if err := e.Err(); err != nil {
		return Range{}, err
	}
	switch {
	case t.Before(f):
		return Range{}, valid.Field("to", "after_from", "must be on or after from")
	case t.Sub(f) > MaxRangeDays*24*time.Hour:
		return Range{}, valid.Field("to", "range_max", fmt.Sprintf("a range may cover at most %d days", MaxRangeDays), "max", MaxRangeDays)
	}
	return Range{Name: RangeCustom, From: day(f), To: day(t)}, nil
}

// ledgerSource is what dashboards read of the rentals: its ledger entries,
// overdue leases and losses. *rentals.Service satisfies it.
type ledgerSource interface {
	LedgerEntries(ctx context.Context, scope tenancy.Scope, before string) ([]rentals.LedgerEntry, error)
	Overdue(ctx context.Context, scope tenancy.Scope) ([]rentals.OpenLease, error)
	Losses(ctx context.Context, scope tenancy.Scope) ([]rentals.LossReport, error)
}

// fleetSource is what dashboards read of the stations: the units'
// histories and the stations. *stations.Service satisfies it.
type fleetSource interface {
	UnitTrails(ctx context.Context, scope tenancy.Scope, before time.Time) ([]stations.UnitTrail, error)
	TrailEnds(ctx context.Context, scope tenancy.Scope, from, before time.Time) ([]stations.UnitTrail, bool, error)
	Stations(ctx context.Context, operatorID string) ([]stations.Station, error)
}

// Dashboard computes dashboard name of operatorID ("" for the whole city,
// the platform only) over rng. The days of the range that are rolled up
// are read by _id (one document per operator and day); the others (today,
// and days not rolled yet) are computed from one read of the unit events
// and one of the ledger entries (see rolled). Care also reads the open
// leases and losses (small).
func (s *Service) Dashboard(ctx context.Context, scope tenancy.Scope, operatorID, name string, rng Range) (Dashboard, error) {
	if !slices.Contains(DashboardNames, name) {
		return Dashboard{}, fmt.Errorf("reports: dashboard %q: %w", name, ErrNotFound)
	}
	read := scope
	switch {
	case operatorID == "" && !scope.Platform:
		return Dashboard{}, fmt.Errorf("reports: the city's dashboards: %w", ErrForbidden)
	case operatorID != "":
		if err := see(scope, operatorID); err != nil {
			return Dashboard{}, err
		}
		if scope.Platform {
			read = tenancy.OperatorScope(operatorID)
		}
	}
	now := s.now()
	sts, err := s.fleet.Stations(ctx, operatorID)
	if err != nil {
		return Dashboard{}, fmt.Errorf("reports: %w", err)
	}
	in := dashInput{rng: rng, city: operatorID == "", places: map[string]stations.Station{}}
	operators := []string{operatorID}
	if operatorID == "" {
		operators = nil
	}
	for _, st := range sts {
		in.places[st.ID] = st
		if operatorID == "" && !slices.Contains(operators, st.OperatorID) {
			operators = append(operators, st.OperatorID)
		}
	}
	// The range's days up to today; units by state and deposits held are
	// those at the end of its last day (or of today, for a range not over).
	endDay := min(rng.To, rentals.Date(now))
	var flow []string
	if rng.From <= endDay {
		flow = daysFrom(rng.From, endDay)
	}
	// Staff limited to some stations see figures of those only, which the
	// roll-up (per operator) does not keep apart: theirs are computed.
	asOf := now
	if in.days, in.ends, asOf, err = s.rolled(ctx, read, operators, flow, endDay, now, read.StationIDs == nil); err != nil {
		return Dashboard{}, err
	}
	if name == DashCare {
		if in.overdue, err = s.ledgers.Overdue(ctx, read); err != nil {
			return Dashboard{}, fmt.Errorf("reports: %w", err)
		}
		if in.losses, err = s.ledgers.Losses(ctx, read); err != nil {
			return Dashboard{}, fmt.Errorf("reports: %w", err)
		}
	}
	d := Dashboard{Name: name, OperatorID: operatorID, Range: rng, AsOf: asOf}
	switch name {
	case DashFleet:
		d.Tables = fleetTables(in)
	case DashMoney:
		d.Tables = moneyTables(in)
	case DashCare:
		d.Tables = careTables(in)
	case DashDemand:
		d.Tables = demandTables(in)
	}
	for i := range d.Tables {
		d.Tables[i].total()
	}
	return d, nil
}

func nextDay(day string) string {
	t, err := time.ParseInLocation(time.DateOnly, day, l10n.Local)
	if err != nil {
		return day
	}
	return t.AddDate(0, 0, 1).Format(time.DateOnly)
}

// total sums the columns that add up (counts and money).
func (t *Table) total() {
	t.Total = make([]int64, len(t.Columns))
	for _, r := range t.Rows {
		for i, v := range r.Values {
			if m := t.Columns[i].Measure; m == Count || m == Fen {
				t.Total[i] += v
			}
		}
	}
}

// Now is the service's clock, from which ranges are read.
func (s *Service) Now() time.Time { return s.now() }
