// Package rentals owns the money side of lending: renters and their income
// tiers, the tier policy (versioned, edited by the city), quotes, reservations,
// leases, payments and the subsidy ledger. Pricing rules are pure functions in
// pricing.go; the rounding rules are written down in docs/pricing.md.
package rentals

import (
	"errors"
)

// Errors returned by this package.
var (
	ErrNotFound = errors.New("not found")
	ErrConflict = errors.New("conflict")
)

// Tier is a renter's income tier, which decides their share of the rent.
type Tier string

// Income tiers.
const (
	Subsistence Tier = "subsistence" // 特困/低保
	LowIncome   Tier = "low_income"  // 低收入
	Standard    Tier = "standard"
)

// Tiers lists every tier, most supported first.
var Tiers = []Tier{Subsistence, LowIncome, Standard}

// Valid reports whether t is a known tier.
func (t Tier) Valid() bool {
	return t == Subsistence || t == LowIncome || t == Standard
}
