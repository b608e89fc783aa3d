package rentals

import (
	"context"
	"time"

	"fuju/catalog"
	"fuju/internal/tenancy"
	"fuju/stations"
)

// Charges that follow the day they are made, not the day the lease began
// (docs/pricing.md, rules 10, 11 and 13): late fees follow the renter's tier on
// the day they are charged, an extension is priced at the tier of its day
// and starts from today when the lease is overdue, a lost device costs what
// the tier of the day's rule says. The share of rent stays with the lease's
// policy version; caps come from the policy in force.

// LateCharge is what the days past a lease's due date cost on a day.
type LateCharge struct {
	// Days past the due date (0 when not late).
	Days int `json:"days"`
	// Tier is the renter's tier on the day; Charged whether that tier's rule
	// (in the lease's policy version) charges late fees.
	Tier    Tier  `json:"tier"`
	Charged bool  `json:"charged"`
	FeeFen  int64 `json:"fee_fen"`
	// DailyFen is the rate each late day costs.
	DailyFen int64 `json:"daily_fen"`
}

// lateCharge prices l's late days on day for a renter of tier under p, the
// lease's policy version: the plan's daily rate per day past the due date,
// when the tier's rule charges late fees.
func lateCharge(l Lease, day time.Time, tier Tier, p Policy) LateCharge {
	c := LateCharge{Days: l.DaysOverdue(day), Tier: tier, Charged: p.Rule(tier).LateFees, DailyFen: lateDailyFen(l.Rate)}
	if c.Charged {
		c.FeeFen = int64(c.Days) * c.DailyFen
	}
	return c
}

// lateDailyFen is the daily rate late days are charged at: the plan's daily
// price, or a thirtieth of the 30-day price (rounded down) for block-only
// plans.
func lateDailyFen(r catalog.RatePlan) int64 {
	if r.DailyFen > 0 {
		return r.DailyFen
	}
	return r.Block30Fen / 30
}

// dayRules returns, for lease l on the day of now, the renter's tier that
// day and the lease's policy version (whose rules apply to that tier).
func (s *Service) dayRules(ctx context.Context, l Lease, now time.Time) (Tier, Policy, error) {
	pol, err := s.policies.Version(ctx, l.PolicyVersion)
	if err != nil {
		return "", Policy{}, err
	}
	renter, err := s.currentRenter(ctx, l.RenterID)
	if err != nil {
		return "", Policy{}, err
	}
	return renter.Tier.On(now), pol, nil
}

// lateFees prices lease l's late days on the day of now at the renter's
// tier that day.
func (s *Service) lateFees(ctx context.Context, l Lease, now time.Time) (LateCharge, error) {
	tier, pol, err := s.dayRules(ctx, l, now)
	if err != nil {
		return LateCharge{}, err
	}
	return lateCharge(l, now, tier, pol), nil
}

// LateFees shows what lease leaseID's late days would cost if it came back
// on the day of at (the check-in page's preview and the lease page).
func (s *Service) LateFees(ctx context.Context, scope tenancy.Scope, leaseID string, at time.Time) (LateCharge, error) {
	l, err := s.Lease(ctx, scope, leaseID)
	if err != nil {
		return LateCharge{}, err
	}
	return s.lateFees(ctx, l, at)
}

// extendedDue is the due date after paying for days more: counted from the
// due date, or from today when the lease is already past it (rule 10), then
// moved to the station's next open day. Days the due date gained by moving
// off a closure are kept (rule 9 of docs/pricing.md).
func extendedDue(h stations.Hours, due, today string, days int) string {
	from := due
	if from < today {
		from = today
	}
	return dueOn(h, mustDate(from), days)
}

// extensionQuote prices days more of lease l for tier under policy p (the
// lease's version): the standard price of the whole new term minus what was
// charged (never negative), the tier's share of that, no deposit, plus the
// late fee of an overdue lease (never subsidised).
func extensionQuote(l Lease, days int, tier Tier, p Policy, late LateCharge) Quote {
	rule := p.Rule(tier)
	q := Quote{Days: days, Tier: tier, PolicyVersion: p.Version, Rate: l.Rate, ShareBP: rule.ShareBP, CapRemainingFen: -1}
	var total int64
	q.Blocks, q.Singles, total = l.Rate.Cheapest(l.Days + days)
	q.StandardFen = max(total-l.StandardFen, 0)
	q.RenterFen = RenterShare(q.StandardFen, rule.ShareBP)
	q.SubsidyFen = q.StandardFen - q.RenterFen
	q.LateDays, q.LateFeeFen = late.Days, late.FeeFen
	q.DueNowFen = q.RenterFen + q.LateFeeFen
	q.Why = []string{"extension"}
	switch {
	case rule.ShareBP == 0:
		q.Why = append(q.Why, "rent_free")
	case rule.ShareBP < 10000:
		q.Why = append(q.Why, "rent_share")
	}
	if q.LateFeeFen > 0 {
		q.Why = append(q.Why, "late_fee")
	}
	return q
}

// extensionBase prices days more of l on the day of now, before the cap:
// the lease's version's share for the renter's tier that day, and the late
// days up to today.
func (s *Service) extensionBase(ctx context.Context, l Lease, days int, now time.Time) (Quote, error) {
	tier, pol, err := s.dayRules(ctx, l, now)
	if err != nil {
		return Quote{}, err
	}
	return extensionQuote(l, days, tier, pol, lateCharge(l, now, tier, pol)), nil
}

// lossCharge is what a lost device costs the renter under rule, and the
// operator's loss: the replacement value less that charge (never below 0).
func lossCharge(rule TierRule, r catalog.RatePlan) (chargeFen, operatorLossFen int64) {
	switch rule.LostCharge {
	case LostDeposit:
		chargeFen = r.DepositFen
	case LostShare:
		chargeFen = RenterShare(r.Replacement(), rule.ShareBP)
	}
	return chargeFen, max(r.Replacement()-chargeFen, 0)
}
