// Package rentals owns the money side of lending: renters and their income
// tiers, the tier policy (versioned, edited by the city), quotes, leases,
// payments at the desk, the subsidy cap and the ledger. Pricing rules are pure
// functions in pricing.go; the rounding rules are written down in
// docs/pricing.md; the ledger's rules are in ledger.go.
//
// # Storage
//
// Every lookup on a hot path is by _id (on the embedded engine nothing else
// uses an index):
//
//	renters            _id = renter id        projection of the "renter" log
//	renter_phones      _id = mobile phone     claim: one renter per phone city-wide
//	person_events      the "person" log: one per person (a keyed hash of the
//	                   ID number, person.go), which record holds the person:
//	                   one record, and one subsidy cap, per person
//	renter_users       _id = user id          an account's first link, from before
//	                   accounts could look after several renters (read only)
//	account_renter_events  the "account_renter" log: renters an online
//	                   account looks after, and who they are to it (family.go)
//	renter_lease_events    the "renter_lease" log: every lease of a renter,
//	                   so an account reads its rentals by _id (family.go)
//	renter_links       _id = operator/renter  an operator's desk met the renter
//	renter_events      the "renter" log: registration, tier proofs, links
//	renter_access_events  the "renter_access" log: every reveal of an ID
//	                   number or proof photo (who, when, what, why)
//	lease_events       the "lease" log: every lease change, each event
//	                   carrying the lease as it is after it
//	leases             _id = lease id         projection of the lease log
//	open_leases        _id = lease id         one small document per open
//	                   lease (deleted on close): desk lists, queues, overdue
//	ledger_events      the "ledger" log: one log per lease, entries at
//	                   sequence numbers fixed before writing
//	subsidy_events     the "subsidy" log: one log per person and calendar
//	                   year ("<person>-<year>") holding the running total;
//	                   "<renter>-<year>" logs are from before person keys
//	                   (carried into the person's at start)
//
// # Flows and crash safety
//
// A desk operation that writes several documents (checkout, check-in,
// extension, settlement, loss) goes: pending marker → subsidy grant (if any)
// → lease event → unit move → ledger entries → closing lease event (if the
// balance is zero) → projections → marker cleared. The lease event records
// everything the later steps need (the unit's sequence number at the decision,
// the ledger entries and the sequence numbers they go to), so every later step
// is idempotent and the reconciler (Reconcile) finishes or undoes an abandoned
// flow from the log alone. See reconcile.go for the rules.
package rentals

import (
	"errors"
)

// Errors returned by this package. Validation errors are *valid.Error; a unit
// someone else took wraps stations.ErrUnavailable.
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
