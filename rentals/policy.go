package rentals

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"go.mongodb.org/mongo-driver/v2/mongo"

	"fuju/internal/audit"
	"fuju/internal/eventlog"
	"fuju/internal/l10n"
	"fuju/internal/tenancy"
	"fuju/internal/valid"
)

// TierRule is what one tier pays.
type TierRule struct {
	// ShareBP is the share of the standard rent the renter pays, in basis
	// points: 10000 pays everything, 2000 pays 20%, 0 rents free.
	ShareBP      int  `json:"share_bp" bson:"share_bp"`
	WaiveDeposit bool `json:"waive_deposit" bson:"waive_deposit"`
	// LateFees says whether late days are charged to this tier.
	LateFees bool `json:"late_fees" bson:"late_fees"`
	// LostCharge is what a lost device costs this tier (docs/pricing.md,
	// rule 13); empty means the tier's default (DefaultLostCharge), so
	// versions saved before the rule existed keep working.
	LostCharge LostCharge `json:"lost_charge,omitempty" bson:"lost_charge,omitempty"`
}

// LostCharge says what a renter pays for a device that is not returned.
type LostCharge string

// What a lost device costs.
const (
	// LostDeposit keeps the plan's deposit (settled from the deposit held).
	LostDeposit LostCharge = "deposit"
	// LostNothing charges nothing: the operator bears the loss.
	LostNothing LostCharge = "none"
	// LostShare charges the tier's share (ShareBP) of the product's
	// replacement value.
	LostShare LostCharge = "replacement_share"
)

// LostCharges lists every lost-device rule.
var LostCharges = []LostCharge{LostDeposit, LostShare, LostNothing}

// Valid reports whether c is a known rule.
func (c LostCharge) Valid() bool { return c == LostDeposit || c == LostNothing || c == LostShare }

// DefaultLostCharge is the rule of a tier whose policy does not name one:
// standard keeps the deposit, subsistence pays nothing, low income pays its
// share of the replacement value.
func DefaultLostCharge(t Tier) LostCharge {
	switch t {
	case Subsistence:
		return LostNothing
	case LowIncome:
		return LostShare
	}
	return LostDeposit
}

// Rule returns tier t's rule with defaults filled in; an unknown tier pays
// like standard.
func (p Policy) Rule(t Tier) TierRule {
	r, ok := p.Tiers[t]
	if !ok {
		r = TierRule{ShareBP: 10000, LateFees: true}
	}
	if r.LostCharge == "" {
		r.LostCharge = DefaultLostCharge(t)
	}
	return r
}

// Policy is one version of the city's income-tier policy. Leases keep the
// version they were made with.
type Policy struct {
	Version int               `json:"version" bson:"-"`
	Tiers   map[Tier]TierRule `json:"tiers" bson:"tiers"`
	// AnnualCapFen limits one renter's subsidy per calendar year; 0 means no cap.
	AnnualCapFen int64 `json:"annual_cap_fen" bson:"annual_cap_fen"`
	// LostAfterDays is how long a lease may be overdue before staff can
	// declare the unit lost.
	LostAfterDays int           `json:"lost_after_days" bson:"lost_after_days"`
	Note          string        `json:"note" bson:"note"`
	By            tenancy.Actor `json:"by" bson:"by"`
	At            time.Time     `json:"at" bson:"-"`
	// EffectiveFrom is when the version comes into force: the start of a
	// day in the city's time zone chosen by the admin, or zero for at once
	// (when it was saved, At). Quotes and check-outs from then on use it;
	// leases made before keep the version they were made with.
	EffectiveFrom time.Time `json:"effective_from,omitzero" bson:"effective_from,omitempty"`
	// Reservations limit what one renter may reserve online.
	Reservations ReservationRules `json:"reservations" bson:"reservations"`
}

// ReservationRules limit online reservations (docs/reservations.md). A
// version saved before they existed reads as DefaultReservationRules.
type ReservationRules struct {
	// MaxOpen is how many open reservations one renter may have.
	MaxOpen int `json:"max_open" bson:"max_open"`
	// NoShows no-shows within NoShowDays block online reservations for
	// BlockDays from the last of them.
	NoShows    int `json:"no_shows" bson:"no_shows"`
	NoShowDays int `json:"no_show_days" bson:"no_show_days"`
	BlockDays  int `json:"block_days" bson:"block_days"`
}

// DefaultReservationRules: 3 open reservations; 3 no-shows in 90 days
// block online reservations for 30 days.
func DefaultReservationRules() ReservationRules {
	return ReservationRules{MaxOpen: 3, NoShows: 3, NoShowDays: 90, BlockDays: 30}
}

// orDefault is r, or the defaults for a version that has none.
func (r ReservationRules) orDefault() ReservationRules {
	if r == (ReservationRules{}) {
		return DefaultReservationRules()
	}
	return r
}

// Effective is when p comes (or came) into force.
func (p Policy) Effective() time.Time {
	if p.EffectiveFrom.IsZero() {
		return p.At
	}
	return p.EffectiveFrom
}

// Scheduled reports whether p is not yet in force at now. A version saved
// to take effect at once is never scheduled, whatever clock asks.
func (p Policy) Scheduled(now time.Time) bool {
	return !p.EffectiveFrom.IsZero() && p.EffectiveFrom.After(now)
}

// DefaultPolicy is the policy a new city starts with (DESIGN.md, "Pricing").
func DefaultPolicy() Policy {
	return Policy{
		Tiers: map[Tier]TierRule{
			Subsistence: {ShareBP: 0, WaiveDeposit: true, LateFees: false, LostCharge: LostNothing},
			LowIncome:   {ShareBP: 2000, WaiveDeposit: true, LateFees: true, LostCharge: LostShare},
			Standard:    {ShareBP: 10000, WaiveDeposit: false, LateFees: true, LostCharge: LostDeposit},
		},
		LostAfterDays: 30,
		Reservations:  DefaultReservationRules(),
		Note:          "default policy",
		By:            tenancy.System,
	}
}

// Validate checks a policy.
func (p Policy) Validate() error {
	e := &valid.Error{}
	for _, t := range Tiers {
		rule, ok := p.Tiers[t]
		field := "tiers." + string(t)
		switch {
		case !ok:
			e.Add(field, "required", "is required")
		case rule.ShareBP < 0 || rule.ShareBP > 10000:
			e.Add(field+".share_bp", "range", "must be between 0 and 10000 (0% to 100%)", "min", 0, "max", 10000)
		case rule.LostCharge != "" && !rule.LostCharge.Valid():
			e.Add(field+".lost_charge", "oneof", "must be one of: deposit, replacement_share, none")
		}
	}
	for t := range p.Tiers {
		if !t.Valid() {
			e.Add("tiers."+string(t), "oneof", "is not a known tier")
		}
	}
	if p.AnnualCapFen < 0 {
		e.Add("annual_cap_fen", "min", "must be at least 0", "min", 0)
	}
	if p.LostAfterDays < 1 || p.LostAfterDays > 365 {
		e.Add("lost_after_days", "range", "must be between 1 and 365", "min", 1, "max", 365)
	}
	r := p.Reservations.orDefault()
	for _, c := range []struct {
		field    string
		n        int
		min, max int
	}{
		{"reservations.max_open", r.MaxOpen, 1, 20},
		{"reservations.no_shows", r.NoShows, 1, 20},
		{"reservations.no_show_days", r.NoShowDays, 1, 365},
		{"reservations.block_days", r.BlockDays, 1, 365},
	} {
		if c.n < c.min || c.n > c.max {
			e.Add(c.field, "range", fmt.Sprintf("must be between %d and %d", c.min, c.max), "min", c.min, "max", c.max)
		}
	}
	e.Text("note", p.Note, valid.MaxNote)
	return e.Err()
}

// Policies keeps the versioned tier policy: each version is an event of the
// "tier-policy" log, so two admins saving at once cannot both become version
// N. A version may take effect at a later date; versions come into force in
// order (a new one never takes effect before the one before it), so the
// version in force at any moment is the newest one whose date has come.
type Policies struct {
	log *eventlog.Log[Policy]
	// Now is the clock Current reads; tests set it. Defaults to time.Now.
	Now func() time.Time
	// auditLog records who changed the policy (nil records nothing).
	auditLog recorder

	mu       sync.RWMutex
	versions []Policy // every version, versions[i].Version == i+1
}

const policyEntity = "city"

// NewPolicies returns the policy store in db, recording who changed the
// policy through rec (nil: no audit log).
func NewPolicies(db *mongo.Database, rec recorder) *Policies {
	return &Policies{log: eventlog.New[Policy](db, "tier_policy"), Now: time.Now, auditLog: rec}
}

// Init stores the default policy as version 1 when there is none, and loads the
// versions.
func (ps *Policies) Init(ctx context.Context) error {
	if err := ps.log.Init(ctx); err != nil {
		return fmt.Errorf("rentals: policy: %w", err)
	}
	head, err := ps.log.Head(ctx, policyEntity, 0)
	if err != nil {
		return fmt.Errorf("rentals: policy: %w", err)
	}
	if head.Seq == 0 {
		if _, err := ps.log.Append(ctx, policyEntity, 1, DefaultPolicy()); err != nil && !errors.Is(err, eventlog.ErrTaken) {
			return fmt.Errorf("rentals: policy: %w", err)
		}
	}
	return ps.Reload(ctx, "")
}

// Reload reads the versions saved since the last load (a change feed
// handler). Versions never change once saved, so only new ones are read.
func (ps *Policies) Reload(ctx context.Context, _ string) error {
	ps.mu.RLock()
	known := int64(len(ps.versions))
	ps.mu.RUnlock()
	head, err := ps.log.Head(ctx, policyEntity, known)
	if err != nil {
		return fmt.Errorf("rentals: policy: %w", err)
	}
	if head.Seq == 0 {
		return fmt.Errorf("rentals: no tier policy stored: %w", ErrNotFound)
	}
	var fresh []Policy
	for n := known + 1; n <= head.Seq; n++ {
		p, err := ps.read(ctx, n)
		if err != nil {
			return err
		}
		fresh = append(fresh, p)
	}
	ps.mu.Lock()
	defer ps.mu.Unlock()
	for _, p := range fresh {
		if p.Version == len(ps.versions)+1 {
			ps.versions = append(ps.versions, p)
		}
	}
	return nil
}

func (ps *Policies) read(ctx context.Context, n int64) (Policy, error) {
	e, ok, err := ps.log.Get(ctx, policyEntity, n)
	if err != nil {
		return Policy{}, fmt.Errorf("rentals: policy: %w", err)
	}
	if !ok {
		return Policy{}, fmt.Errorf("rentals: policy version %d: %w", n, ErrNotFound)
	}
	p := e.Event
	p.Version, p.At = int(e.Seq), e.At
	p.Reservations = p.Reservations.orDefault()
	return p, nil
}

// Current returns the policy in force now, from memory.
func (ps *Policies) Current() Policy { return ps.InForce(ps.Now()) }

// InForce returns the policy in force at t: the newest version whose
// effective date is not after t (version 1 before anything else).
func (ps *Policies) InForce(t time.Time) Policy {
	ps.mu.RLock()
	defer ps.mu.RUnlock()
	for i := len(ps.versions) - 1; i >= 0; i-- {
		if !ps.versions[i].Scheduled(t) {
			return ps.versions[i]
		}
	}
	if len(ps.versions) > 0 {
		return ps.versions[0]
	}
	return Policy{}
}

// Latest returns the newest version, in force or scheduled: the one a new
// version is edited from.
func (ps *Policies) Latest() Policy {
	ps.mu.RLock()
	defer ps.mu.RUnlock()
	if len(ps.versions) == 0 {
		return Policy{}
	}
	return ps.versions[len(ps.versions)-1]
}

// Version returns policy version n.
func (ps *Policies) Version(ctx context.Context, n int) (Policy, error) {
	ps.mu.RLock()
	if n >= 1 && n <= len(ps.versions) {
		p := ps.versions[n-1]
		ps.mu.RUnlock()
		return p, nil
	}
	ps.mu.RUnlock()
	return ps.read(ctx, int64(n))
}

// Check reports what Put would refuse in p as the version after base,
// without saving: the editor shows the difference and asks for confirmation
// only for a version that can be saved.
func (ps *Policies) Check(ctx context.Context, base int, p Policy) error {
	if err := p.Validate(); err != nil {
		return fmt.Errorf("rentals: policy: %w", err)
	}
	if err := ps.Reload(ctx, ""); err != nil {
		return err
	}
	if latest := ps.Latest().Version; latest != base {
		return fmt.Errorf("rentals: the tier policy is at version %d, not %d: %w", latest, base,
			valid.Because(ErrConflict, "stale_version", "current", latest, "edited", base))
	}
	prev, err := ps.Version(ctx, base)
	if err != nil {
		return err
	}
	now := ps.Now()
	after := func(what string) error {
		from := prev.Effective().In(l10n.Local).Format(time.DateOnly)
		return fmt.Errorf("rentals: policy: %w", valid.Field("effective_from", "after_scheduled",
			fmt.Sprintf("version %d takes effect on %s; %s", prev.Version, from, what), "version", prev.Version, "date", from))
	}
	switch {
	case p.EffectiveFrom.IsZero() && prev.Scheduled(now):
		return after("choose that date or a later one")
	case p.EffectiveFrom.IsZero():
	case !p.EffectiveFrom.After(now):
		return fmt.Errorf("rentals: policy: %w", valid.Field("effective_from", "future", "must be a later date; leave it empty for at once"))
	case p.EffectiveFrom.Before(prev.EffectiveFrom):
		return after("a newer version cannot take effect before it")
	}
	return nil
}

// Put stores p as the next version after base, the version the editor saw. If
// someone saved in between, it fails with ErrConflict rather than silently
// overwriting their change. p.EffectiveFrom, when set, must be in the future
// and not before the effective date of version base: versions come into
// force in order.
func (ps *Policies) Put(ctx context.Context, base int, p Policy) (Policy, error) {
	p.Reservations = p.Reservations.orDefault()
	if err := ps.Check(ctx, base, p); err != nil {
		return Policy{}, err
	}
	head, err := ps.log.Head(ctx, policyEntity, int64(base))
	if err != nil {
		return Policy{}, fmt.Errorf("rentals: policy: %w", err)
	}
	if head.Seq != int64(base) {
		return Policy{}, fmt.Errorf("rentals: the tier policy is at version %d, not %d: %w", head.Seq, base,
			valid.Because(ErrConflict, "stale_version", "current", head.Seq, "edited", base))
	}
	e, err := ps.log.Append(ctx, policyEntity, int64(base)+1, p)
	if errors.Is(err, eventlog.ErrTaken) {
		return Policy{}, fmt.Errorf("rentals: the tier policy was changed by someone else since version %d: %w", base,
			valid.Because(ErrConflict, "stale_version", "current", base+1, "edited", base))
	}
	if err != nil {
		return Policy{}, fmt.Errorf("rentals: policy: %w", err)
	}
	if err := ps.Reload(ctx, ""); err != nil {
		return Policy{}, err
	}
	p.Version, p.At = int(e.Seq), e.At
	audit.Write(ctx, ps.auditLog, nil, audit.Entry{Actor: tenancy.AuditActor(p.By), Action: "policy.update",
		Target: fmt.Sprintf("tier-policy/%d", p.Version), Changes: audit.Diff(policyFacts(head.Event), policyFacts(p))})
	return p, nil
}
