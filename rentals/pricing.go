package rentals

import (
	"fmt"

	"fuju/catalog"
	"fuju/internal/valid"
)

// MaxDays is the longest lease term one quote covers; longer needs extensions.
const MaxDays = 365

// Quote is what a lease of a product costs a renter of a tier, and why.
type Quote struct {
	Days          int              `json:"days"`
	Tier          Tier             `json:"tier"`
	PolicyVersion int              `json:"policy_version"`
	Rate          catalog.RatePlan `json:"rate"`
	// Blocks and Singles are the cheapest combination of 30-day blocks and
	// single days behind StandardFen.
	Blocks  int `json:"blocks"`
	Singles int `json:"singles"`
	// StandardFen is the rent at the standard tier; RenterFen what this renter
	// pays; SubsidyFen the difference, claimed by the operator from the city.
	StandardFen int64 `json:"standard_fen"`
	RenterFen   int64 `json:"renter_fen"`
	SubsidyFen  int64 `json:"subsidy_fen"`
	// DepositFen is the refundable deposit this renter pays (0 when waived).
	DepositFen int64 `json:"deposit_fen"`
	// LateDays and LateFeeFen are, for an extension of an overdue lease,
	// the days past the due date up to today and their late fee (rule 10 of
	// docs/pricing.md); they are paid with the extension.
	LateDays   int   `json:"late_days,omitempty"`
	LateFeeFen int64 `json:"late_fee_fen,omitempty"`
	// DueNowFen is what is paid now: rent plus deposit (plus, for an
	// overdue extension, the late fee).
	DueNowFen int64 `json:"due_now_fen"`
	ShareBP   int   `json:"share_bp"`
	// CappedFen is the subsidy the renter's annual cap left out: it is
	// charged to the renter instead (why code subsidy_capped).
	CappedFen int64 `json:"capped_fen,omitempty"`
	// CapRemainingFen is what was left of the renter's annual cap before
	// this quote; -1 when the policy has no cap or no renter is known.
	CapRemainingFen int64 `json:"cap_remaining_fen"`
	// Why lists the rules applied, as stable codes the pages translate.
	Why []string `json:"why"`
}

// RenterShare applies a tier's share (basis points: 10000 = pays everything)
// to a standard price. The result is rounded down to the fen, in the renter's
// favour; the subsidy is the rest, so renter + subsidy = standard exactly.
func RenterShare(standardFen int64, shareBP int) int64 {
	return standardFen * int64(shareBP) / 10000
}

// NewQuote prices days of a product with rate r for tier under policy p.
func NewQuote(r catalog.RatePlan, days int, tier Tier, p Policy) (Quote, error) {
	e := &valid.Error{}
	if days < 1 || days > MaxDays {
		e.Add("days", "range", fmt.Sprintf("must be between 1 and %d", MaxDays), "min", 1, "max", MaxDays)
	}
	rule, ok := p.Tiers[tier]
	if !tier.Valid() || !ok {
		e.Add("tier", "oneof", "must be one of: subsistence, low_income, standard")
	}
	if err := e.Err(); err != nil {
		return Quote{}, fmt.Errorf("rentals: quote: %w", err)
	}
	// Why is a list even when no rule applied: clients read [] and never null.
	q := Quote{Days: days, Tier: tier, PolicyVersion: p.Version, Rate: r, ShareBP: rule.ShareBP, CapRemainingFen: -1, Why: []string{}}
	q.Blocks, q.Singles, q.StandardFen = r.Cheapest(days)
	q.RenterFen = RenterShare(q.StandardFen, rule.ShareBP)
	q.SubsidyFen = q.StandardFen - q.RenterFen
	q.DepositFen = r.DepositFen
	if rule.WaiveDeposit {
		q.DepositFen = 0
		if r.DepositFen > 0 {
			q.Why = append(q.Why, "deposit_waived")
		}
	}
	switch {
	case rule.ShareBP == 0:
		q.Why = append(q.Why, "rent_free")
	case rule.ShareBP < 10000:
		q.Why = append(q.Why, "rent_share")
	}
	if q.Blocks > 0 {
		q.Why = append(q.Why, "block_price")
	}
	q.DueNowFen = q.RenterFen + q.DepositFen
	return q, nil
}

// PriceFunc returns the renter's price function for tier under p, for catalog
// search. An unknown tier prices at the standard rate.
func PriceFunc(tier Tier, p Policy) catalog.PriceFunc {
	share := 10000
	if rule, ok := p.Tiers[tier]; ok {
		share = rule.ShareBP
	}
	return func(r catalog.RatePlan, days int) int64 {
		return RenterShare(r.StandardPrice(days), share)
	}
}

// ApplyCap limits the quote's subsidy to remainingFen, what is left of the
// renter's annual cap; the excess is charged to the renter. A negative
// remainingFen means no cap.
func ApplyCap(q Quote, remainingFen int64) Quote {
	q.CapRemainingFen = remainingFen
	if remainingFen < 0 || q.SubsidyFen <= remainingFen {
		return q
	}
	excess := q.SubsidyFen - remainingFen
	q.SubsidyFen = remainingFen
	q.RenterFen += excess
	q.CappedFen = excess
	q.DueNowFen = q.RenterFen + q.DepositFen + q.LateFeeFen
	q.Why = append(append([]string(nil), q.Why...), "subsidy_capped")
	return q
}
