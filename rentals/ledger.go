package rentals

import "fuju/internal/tenancy"

// The ledger of a lease is one log (eventlog kind "ledger", entity = lease
// id) of typed entries in integer fen. Its rules:
//
//	balance = debits − credits = what the renter still owes the operator
//	          (negative: what the operator owes back).
//
//	debits   rent, extension, late_fee, damage, lost, deposit (the deposit
//	         asked), refund (money paid back to the renter)
//	credits  payment (method, reference), subsidy (what the city owes the
//	         operator for this renter), waiver (a charge the operator
//	         forgave, with its reason), deposit_return (at check-in or loss
//	         the held deposit goes back to the renter's account), recovered
//	         (a lost charge cancelled because the device was found)
//
// Online money (Stripe, online.go) has its own kinds beside the desk's:
// paid_online is a credit (the renter paid through Stripe), refund_online a
// debit (Stripe returned money to the renter), refund_online_failed a credit
// that cancels a refund_online Stripe later reported failed. platform_fee is
// a memo: the platform's application fee on an online payment, which the
// operator pays and the renter does not, so it never moves the balance.
//
// Examples (tested): a standard 30-day lease is rent 9000 + deposit 30000 −
// payment 39000 = 0; low_income is rent 9000 − subsidy 7200 − payment 1800 =
// 0; a check-in with damage 5000 adds damage 5000 − deposit_return 30000 +
// refund 25000 = 0, and the lease closes. A lease closes only at balance zero.
// A lost unit adds deposit_return and the lost charge of the tier's rule
// (the deposit kept, a share of the replacement value, or nothing); a found
// one adds recovered (the lost charge back), the late fee and damage allowed,
// and the refund of the rest.
//
// Entries are written only from plans recorded in lease events: each event
// that moves money lists its entries and the sequence number of the first
// (LedgerFrom); the lease log serialises events, so plans never overlap, and
// writing a plan again after a crash skips the numbers already taken and never
// duplicates an entry.

// EntryKind is the type of a ledger entry.
type EntryKind string

// Debits.
const (
	EntryRent      EntryKind = "rent"
	EntryExtension EntryKind = "extension"
	EntryLateFee   EntryKind = "late_fee"
	EntryDamage    EntryKind = "damage"
	EntryLost      EntryKind = "lost"
	EntryDeposit   EntryKind = "deposit"
	EntryRefund    EntryKind = "refund"
	// EntryRefundOnline is money Stripe returned to the renter.
	EntryRefundOnline EntryKind = "refund_online"
)

// Credits.
const (
	EntryPayment       EntryKind = "payment"
	EntrySubsidy       EntryKind = "subsidy"
	EntryWaiver        EntryKind = "waiver"
	EntryDepositReturn EntryKind = "deposit_return"
	// EntryRecovered cancels a lost charge when the device is found.
	EntryRecovered EntryKind = "recovered"
	// EntryPaidOnline is money the renter paid through Stripe.
	EntryPaidOnline EntryKind = "paid_online"
	// EntryRefundOnlineFailed cancels a refund_online that Stripe reported
	// failed after it had succeeded: the money is still the renter's.
	EntryRefundOnlineFailed EntryKind = "refund_online_failed"
)

// Memos: recorded, never part of the balance.
const (
	// EntryPlatformFee is the platform's application fee on an online
	// payment, paid by the operator out of it.
	EntryPlatformFee EntryKind = "platform_fee"
)

// Debit reports whether entries of kind k add to what the renter owes.
func (k EntryKind) Debit() bool {
	switch k {
	case EntryRent, EntryExtension, EntryLateFee, EntryDamage, EntryLost, EntryDeposit, EntryRefund, EntryRefundOnline:
		return true
	}
	return false
}

// Memo reports whether entries of kind k are recorded without moving the
// balance (neither debit nor credit).
func (k EntryKind) Memo() bool { return k == EntryPlatformFee }

// Valid reports whether k is a known kind.
func (k EntryKind) Valid() bool {
	switch k {
	case EntryPayment, EntrySubsidy, EntryWaiver, EntryDepositReturn, EntryRecovered,
		EntryPaidOnline, EntryRefundOnlineFailed, EntryPlatformFee:
		return true
	}
	return k.Debit()
}

// Signed returns the entry's effect on the balance.
func (e LedgerEntry) Signed() int64 {
	if e.Kind.Memo() {
		return 0
	}
	if e.Kind.Debit() {
		return e.AmountFen
	}
	return -e.AmountFen
}

// LedgerEntry is one line of a lease's ledger. Every entry carries who it
// concerns, so subsidy claims (operator, station, renter, tier, policy version,
// day) can be reported from the entries alone.
type LedgerEntry struct {
	Seq       int64     `json:"seq" bson:"-"`
	Kind      EntryKind `json:"kind" bson:"kind"`
	AmountFen int64     `json:"amount_fen" bson:"amount_fen"`
	// Method and Reference describe a payment or refund: cash,
	// offline_mobile (with the transfer's reference), waived.
	Method        string        `json:"method,omitempty" bson:"method,omitempty"`
	Reference     string        `json:"reference,omitempty" bson:"reference,omitempty"`
	Note          string        `json:"note,omitempty" bson:"note,omitempty"`
	LeaseID       string        `json:"lease_id" bson:"lease_id"`
	OperatorID    string        `json:"operator_id" bson:"operator_id"`
	StationID     string        `json:"station_id" bson:"station_id"`
	RenterID      string        `json:"renter_id" bson:"renter_id"`
	Tier          Tier          `json:"tier" bson:"tier"`
	PolicyVersion int           `json:"policy_version" bson:"policy_version"`
	Day           string        `json:"day" bson:"day"`
	By            tenancy.Actor `json:"by" bson:"by"`
}

// Ledger is a lease's entries and their balance.
type Ledger struct {
	LeaseID    string        `json:"lease_id"`
	Entries    []LedgerEntry `json:"entries"`
	DebitsFen  int64         `json:"debits_fen"`
	CreditsFen int64         `json:"credits_fen"`
	BalanceFen int64         `json:"balance_fen"`
	// Complete is false while a desk operation's entries are still being
	// written (or wait for the reconciler).
	Complete bool `json:"complete"`
}

// Balance sums entries: debits − credits.
func Balance(entries []LedgerEntry) int64 {
	var b int64
	for _, e := range entries {
		b += e.Signed()
	}
	return b
}

func newLedger(leaseID string, entries []LedgerEntry, complete bool) Ledger {
	l := Ledger{LeaseID: leaseID, Entries: entries, Complete: complete}
	if l.Entries == nil {
		l.Entries = []LedgerEntry{}
	}
	for _, e := range entries {
		switch {
		case e.Kind.Memo():
		case e.Kind.Debit():
			l.DebitsFen += e.AmountFen
		default:
			l.CreditsFen += e.AmountFen
		}
	}
	l.BalanceFen = l.DebitsFen - l.CreditsFen
	return l
}
