package rentals

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"go.mongodb.org/mongo-driver/v2/mongo"

	"fuju/internal/eventlog"
	"fuju/internal/valid"
	"fuju/stations"
)

// TierRule is what one tier pays.
type TierRule struct {
	// ShareBP is the share of the standard rent the renter pays, in basis
	// points: 10000 pays everything, 2000 pays 20%, 0 rents free.
	ShareBP      int  `json:"share_bp" bson:"share_bp"`
	WaiveDeposit bool `json:"waive_deposit" bson:"waive_deposit"`
	// LateFees says whether late days are charged to this tier.
	LateFees bool `json:"late_fees" bson:"late_fees"`
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
	LostAfterDays int            `json:"lost_after_days" bson:"lost_after_days"`
	Note          string         `json:"note" bson:"note"`
	By            stations.Actor `json:"by" bson:"by"`
	At            time.Time      `json:"at" bson:"-"`
}

// DefaultPolicy is the policy a new city starts with (DESIGN.md, "Pricing").
func DefaultPolicy() Policy {
	return Policy{
		Tiers: map[Tier]TierRule{
			Subsistence: {ShareBP: 0, WaiveDeposit: true, LateFees: false},
			LowIncome:   {ShareBP: 2000, WaiveDeposit: true, LateFees: true},
			Standard:    {ShareBP: 10000, WaiveDeposit: false, LateFees: true},
		},
		LostAfterDays: 30,
		Note:          "default policy",
		By:            stations.System,
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
	if len(p.Note) > 500 {
		e.Add("note", "max_length", "must be at most 500 characters", "max", 500)
	}
	return e.Err()
}

// Policies keeps the versioned tier policy: each version is an event of the
// "tier-policy" log, so two admins saving at once cannot both become version N.
type Policies struct {
	log *eventlog.Log[Policy]

	mu      sync.RWMutex
	current Policy
}

const policyEntity = "city"

// NewPolicies returns the policy store in db.
func NewPolicies(db *mongo.Database) *Policies {
	return &Policies{log: eventlog.New[Policy](db, "tier_policy")}
}

// Init stores the default policy as version 1 when there is none, and loads the
// current version.
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

// Reload reads the latest version (a change feed handler).
func (ps *Policies) Reload(ctx context.Context, _ string) error {
	ps.mu.RLock()
	known := int64(ps.current.Version)
	ps.mu.RUnlock()
	head, err := ps.log.Head(ctx, policyEntity, known)
	if err != nil {
		return fmt.Errorf("rentals: policy: %w", err)
	}
	if head.Seq == 0 {
		return fmt.Errorf("rentals: no tier policy stored: %w", ErrNotFound)
	}
	p := head.Event
	p.Version, p.At = int(head.Seq), head.At
	ps.mu.Lock()
	if p.Version >= ps.current.Version {
		ps.current = p
	}
	ps.mu.Unlock()
	return nil
}

// Current returns the policy in force, from memory.
func (ps *Policies) Current() Policy {
	ps.mu.RLock()
	defer ps.mu.RUnlock()
	return ps.current
}

// Version returns policy version n.
func (ps *Policies) Version(ctx context.Context, n int) (Policy, error) {
	e, ok, err := ps.log.Get(ctx, policyEntity, int64(n))
	if err != nil {
		return Policy{}, fmt.Errorf("rentals: policy: %w", err)
	}
	if !ok {
		return Policy{}, fmt.Errorf("rentals: policy version %d: %w", n, ErrNotFound)
	}
	p := e.Event
	p.Version, p.At = int(e.Seq), e.At
	return p, nil
}

// Put stores p as the next version after base, the version the editor saw. If
// someone saved in between, it fails with ErrConflict rather than silently
// overwriting their change.
func (ps *Policies) Put(ctx context.Context, base int, p Policy) (Policy, error) {
	if err := p.Validate(); err != nil {
		return Policy{}, fmt.Errorf("rentals: policy: %w", err)
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
	return p, nil
}
