// Package reports makes the city's monthly subsidy statements: for each
// operator and calendar month (city time), one line per subsidy granted or
// released, with totals by tier, station and district. A statement is a
// draft, computed from the subsidy logs whenever it is read, until the
// operator's admin submits it; the submission freezes its content (lines and
// totals, serialised canonically, with a SHA-256 content hash) in the event
// that records it. Then the platform admin approves it or returns it with
// reasons (a returned one may be submitted again), and marks it paid. Every
// step is an event of the statement's log, so two people acting at once on
// the same statement collide on the event's _id and one of them gets 409.
//
// A grant or release that a frozen statement does not list (made after its
// submission, or in flight while it was submitted) never changes it: it is
// an adjustment line of the next month whose statement is still a draft.
package reports

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"fuju/internal/l10n"
	"fuju/internal/tenancy"
	"fuju/rentals"
)

// Errors of the package; web maps them to statuses.
var (
	ErrNotFound  = errors.New("reports: not found")
	ErrConflict  = errors.New("reports: conflict")
	ErrForbidden = errors.New("reports: forbidden")
)

// Status is where a statement is in its life.
type Status string

// Statement statuses.
const (
	Draft     Status = "draft"
	Submitted Status = "submitted"
	Approved  Status = "approved"
	Returned  Status = "returned"
	Paid      Status = "paid"
)

// Line is one subsidy granted (positive) or released (negative).
type Line struct {
	// Key names the grant or release for good (a hash of its log entry), so
	// a later month can tell whether a frozen statement listed it.
	Key  string `json:"key"`
	Kind string `json:"kind"` // grant or release
	// Adjustment marks a line that belongs to an earlier month: a release of
	// an earlier month's grant, or a move a submitted statement missed.
	Adjustment bool   `json:"adjustment"`
	Day        string `json:"day"`
	GrantDay   string `json:"grant_day"`
	// Charge is what the subsidy paid for: checkout or extend.
	Charge        string       `json:"charge"`
	StationID     string       `json:"station_id"`
	StationName   string       `json:"station_name"`
	StationNameEn string       `json:"station_name_en"`
	District      string       `json:"district"`
	LeaseID       string       `json:"lease_id"`
	RenterID      string       `json:"renter_id"`
	RenterName    string       `json:"renter_name"` // masked
	Tier          rentals.Tier `json:"tier"`
	ProofType     string       `json:"proof_type"`
	ProofExpires  string       `json:"proof_expires"`
	Days          int          `json:"days"`
	StandardFen   int64        `json:"standard_fen"`
	RenterFen     int64        `json:"renter_fen"`
	SubsidyFen    int64        `json:"subsidy_fen"`
	PolicyVersion int          `json:"policy_version"`
	// CappedFen is what the person's annual cap left out of this grant;
	// YearTotalFen the person's year total after it; CapFen the cap (0:
	// none).
	CappedFen    int64 `json:"capped_fen"`
	YearTotalFen int64 `json:"year_total_fen"`
	CapFen       int64 `json:"cap_fen"`
}

// Total sums lines of one tier, station or district (or all of them).
type Total struct {
	Key         string `json:"key"`
	Name        string `json:"name,omitempty"`
	NameEn      string `json:"name_en,omitempty"`
	Lines       int    `json:"lines"`
	StandardFen int64  `json:"standard_fen"`
	RenterFen   int64  `json:"renter_fen"`
	SubsidyFen  int64  `json:"subsidy_fen"`
	CappedFen   int64  `json:"capped_fen"`
}

func (t *Total) add(l Line) {
	t.Lines++
	t.StandardFen += l.StandardFen
	t.RenterFen += l.RenterFen
	t.SubsidyFen += l.SubsidyFen
	t.CappedFen += l.CappedFen
}

// Content is what a statement says: the frozen part of a submitted one.
type Content struct {
	OperatorID string  `json:"operator_id"`
	Month      string  `json:"month"` // YYYY-MM
	Lines      []Line  `json:"lines"`
	Total      Total   `json:"total"`
	ByTier     []Total `json:"by_tier"`
	ByStation  []Total `json:"by_station"`
	ByDistrict []Total `json:"by_district"`
	// Cancelled are the keys of grants released within this statement and
	// of their releases: settled here, listed nowhere.
	Cancelled []string `json:"cancelled"`
}

// keys returns the keys a frozen content settles: its lines and cancelled.
func (c Content) keys() map[string]bool {
	out := make(map[string]bool, len(c.Lines)+len(c.Cancelled))
	for _, l := range c.Lines {
		out[l.Key] = true
	}
	for _, k := range c.Cancelled {
		out[k] = true
	}
	return out
}

// Canonical is the content's one serialisation: JSON with the fields in
// declaration order and lines in statement order. The content hash is the
// SHA-256 of these bytes, and a submission stores exactly these bytes.
func (c Content) Canonical() []byte {
	b, err := json.Marshal(c)
	if err != nil {
		panic(fmt.Sprintf("reports: content does not serialise: %v", err)) // plain data: cannot happen
	}
	return b
}

// Hash is the hex SHA-256 of the canonical content.
func Hash(canonical []byte) string {
	sum := sha256.Sum256(canonical)
	return hex.EncodeToString(sum[:])
}

// Statement is one operator's statement for one month.
type Statement struct {
	OperatorID string `json:"operator_id"`
	Month      string `json:"month"`
	Status     Status `json:"status"`
	// Seq is the statement log's head (0 for a draft never submitted).
	Seq int64 `json:"seq"`
	// Hash is the frozen content's hash, or for a draft the hash its
	// content would have if submitted now.
	Hash    string  `json:"hash"`
	Content Content `json:"content"`
	// Submittable says whether the month is over, so it may be submitted.
	Submittable bool           `json:"submittable"`
	SubmittedAt *time.Time     `json:"submitted_at,omitempty"`
	SubmittedBy *tenancy.Actor `json:"submitted_by,omitempty"`
	DecidedAt   *time.Time     `json:"decided_at,omitempty"`
	// Reasons are the platform's reasons for returning it (the last return).
	Reasons       string   `json:"reasons,omitempty"`
	PaidOn        string   `json:"paid_on,omitempty"`
	PaidReference string   `json:"paid_reference,omitempty"`
	History       []Change `json:"history"`
}

// Change is one step of a statement's life.
type Change struct {
	Seq    int64         `json:"seq"`
	At     time.Time     `json:"at"`
	Status Status        `json:"status"`
	By     tenancy.Actor `json:"by"`
	Hash   string        `json:"hash,omitempty"`
	Why    string        `json:"why,omitempty"`
}

// Summary is a statement as lists show it.
type Summary struct {
	OperatorID string `json:"operator_id"`
	Month      string `json:"month"`
	Status     Status `json:"status"`
	Seq        int64  `json:"seq"`
	Hash       string `json:"hash"`
	Lines      int    `json:"lines"`
	SubsidyFen int64  `json:"subsidy_fen"`
	// Submittable: the month is over and the statement is a draft or
	// returned.
	Submittable bool       `json:"submittable"`
	SubmittedAt *time.Time `json:"submitted_at,omitempty"`
}

// Place is what a line shows of a station.
type Place struct {
	Name, NameEn, District string
}

// Renter is what a line shows of a renter.
type Renter = rentals.RenterFacts

// monthOf returns the YYYY-MM of a YYYY-MM-DD day.
func monthOf(day string) string {
	if len(day) < 7 {
		return ""
	}
	return day[:7]
}

// ParseMonth checks a YYYY-MM month and returns its first day.
func ParseMonth(m string) (time.Time, bool) {
	t, err := time.ParseInLocation("2006-01", m, l10n.Local)
	if err != nil || t.Format("2006-01") != m || t.Year() < 2000 || t.Year() > 2200 {
		return time.Time{}, false
	}
	return t, true
}

// nextMonth returns the month after m (YYYY-MM).
func nextMonth(m string) string {
	t, _ := ParseMonth(m)
	return t.AddDate(0, 1, 0).Format("2006-01")
}

// lineKey hides a move's log entry (its person key) behind a short hash.
func lineKey(moveKey string) string {
	sum := sha256.Sum256([]byte("fuju statement line\x00" + moveKey))
	return hex.EncodeToString(sum[:10])
}

// frozen is what assign needs of a month's statement: whether it is frozen
// (submitted, approved or paid; a returned one is a draft again) and the
// keys of its lines.
type frozen struct {
	keys map[string]bool
}

// assign decides which month's statement each move belongs to: its own
// month (the day it was made), unless that month's statement is frozen
// without it; then the first following month whose statement is not frozen
// or lists it. months maps frozen months to their keys.
func assign(moves []rentals.SubsidyMove, months map[string]frozen) map[string][]rentals.SubsidyMove {
	out := map[string][]rentals.SubsidyMove{}
	for _, m := range moves {
		key := lineKey(m.Key)
		month := monthOf(m.OnDay)
		for range 1200 { // a century of frozen months; never reached
			f, ok := months[month]
			if !ok || f.keys[key] {
				break
			}
			month = nextMonth(month)
		}
		out[month] = append(out[month], m)
	}
	return out
}

// build makes a month's content from its moves. A grant and its release
// in the same statement cancel out (a checkout that did not happen) and are
// left out of the lines.
func build(operatorID, month string, moves []rentals.SubsidyMove, renters map[string]Renter, places map[string]Place) Content {
	c := Content{OperatorID: operatorID, Month: month, Lines: []Line{}, ByTier: []Total{}, ByStation: []Total{}, ByDistrict: []Total{}, Cancelled: []string{}}
	// A grant released within the same statement never happened for the
	// city (a checkout that failed): neither is listed.
	here := map[string]bool{}
	for _, m := range moves {
		if m.Kind == rentals.MoveGrant {
			here[m.Key] = true
		}
	}
	cancelled := map[string]bool{}
	for _, m := range moves {
		if m.Kind == rentals.MoveRelease && here[m.GrantKey] {
			cancelled[m.GrantKey] = true
		}
	}
	for _, m := range moves {
		if cancelled[m.Key] || m.Kind == rentals.MoveRelease && cancelled[m.GrantKey] {
			c.Cancelled = append(c.Cancelled, lineKey(m.Key))
			continue
		}
		r := renters[m.RenterID]
		p := places[m.StationID]
		c.Lines = append(c.Lines, Line{
			Key: lineKey(m.Key), Kind: m.Kind, Adjustment: monthOf(m.Day) != month || monthOf(m.OnDay) != month,
			Day: m.OnDay, GrantDay: m.Day, Charge: m.Charge,
			StationID: m.StationID, StationName: p.Name, StationNameEn: p.NameEn, District: p.District,
			LeaseID: m.LeaseID, RenterID: m.RenterID, RenterName: r.MaskedName, Tier: m.Tier, ProofType: r.ProofType,
			ProofExpires: r.ProofExpires, Days: m.Days, StandardFen: m.StandardFen, RenterFen: m.RenterFen,
			SubsidyFen: m.AmountFen, PolicyVersion: m.PolicyVersion, CappedFen: m.CappedFen, YearTotalFen: m.YearTotalFen, CapFen: m.CapFen,
		})
	}
	slices.SortStableFunc(c.Lines, func(a, b Line) int {
		if a.Day != b.Day {
			return cmpStr(a.Day, b.Day)
		}
		return cmpStr(a.Key, b.Key)
	})
	tiers, sts, dists := map[string]*Total{}, map[string]*Total{}, map[string]*Total{}
	c.Total.Key = "all"
	for _, l := range c.Lines {
		c.Total.add(l)
		group(tiers, string(l.Tier), "", "").add(l)
		group(sts, l.StationID, l.StationName, l.StationNameEn).add(l)
		group(dists, l.District, "", "").add(l)
	}
	c.ByTier, c.ByStation, c.ByDistrict = sorted(tiers), sorted(sts), sorted(dists)
	slices.Sort(c.Cancelled)
	return c
}

func group(m map[string]*Total, key, name, nameEn string) *Total {
	t, ok := m[key]
	if !ok {
		t = &Total{Key: key, Name: name, NameEn: nameEn}
		m[key] = t
	}
	return t
}

func sorted(m map[string]*Total) []Total {
	out := make([]Total, 0, len(m))
	for _, t := range m {
		out = append(out, *t)
	}
	slices.SortFunc(out, func(a, b Total) int { return cmpStr(a.Key, b.Key) })
	return out
}

func cmpStr(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
