package rentals

import (
	"cmp"
	"context"
	"fmt"
	"strconv"
	"strings"

	"fuju/internal/audit"
	"fuju/internal/tenancy"
)

// An open balance is what a lease still owes once the device is back (a late
// fee, damage beyond the deposit, a lost charge): a returned or lost lease
// whose balance is above zero. The family may pay it online, from its own
// account or through a payment link staff send, as one payment whose ledger
// entry id is derived from the lease's ledger (BalanceRef): asking twice for
// the same balance is the same payment, and a balance that changed since
// (another charge, a payment at the desk) is a new one. The paid_online
// entry arrives through the online outcomes (online.go); at zero the lease
// closes as after a payment at the desk.

// ErrNothingOwed: the lease owes nothing that could be paid now (its balance
// is zero or below, or the device is still out).
var ErrNothingOwed = fmt.Errorf("nothing owed: %w", ErrConflict)

// ErrNoMobile: neither the renter nor the linked account has a mobile number
// a text message reaches.
var ErrNoMobile = fmt.Errorf("no mobile number to send to: %w", ErrConflict)

// BalanceRef is the ledger entry id of an online payment of lease id's open
// balance as its ledger stood after entry ledgerSeq.
func BalanceRef(leaseID string, ledgerSeq int64) string {
	return "lease/" + leaseID + "/balance/" + strconv.FormatInt(ledgerSeq, 10)
}

// IsBalanceRef reports whether ref is the ledger entry id of a payment of
// one of lease id's open balances, whichever ledger entry it stood after.
func IsBalanceRef(leaseID, ref string) bool {
	return strings.HasPrefix(ref, "lease/"+leaseID+"/balance/")
}

// OpenBalance is what a lease owes, as one online payment would pay it.
type OpenBalance struct {
	LeaseID    string `json:"lease_id"`
	OperatorID string `json:"-"`
	StationID  string `json:"-"`
	// TabID is the payments tab holding the lease's online money: a
	// prepaid reservation's id, else the lease's own (Lease.OnlineTab).
	TabID     string `json:"-"`
	AmountFen int64  `json:"amount_fen"`
	// LedgerSeq is the ledger entry the balance stands after; Ref the
	// payment's ledger entry id (BalanceRef).
	LedgerSeq int64  `json:"ledger_seq"`
	Ref       string `json:"ref"`
}

// Balance returns what lease l owes once returned or lost, as one payment;
// ErrNothingOwed when it owes nothing or the device is still out.
func (l Lease) Balance() (OpenBalance, error) {
	if (l.State != LeaseReturned && l.State != LeaseLost) || l.BalanceFen <= 0 {
		return OpenBalance{}, fmt.Errorf("rentals: lease %s is %s with a balance of %d fen: %w", l.ID, l.State, l.BalanceFen, ErrNothingOwed)
	}
	return OpenBalance{LeaseID: l.ID, OperatorID: l.OperatorID, StationID: l.StationID, TabID: cmp.Or(l.OnlineTab, l.ID),
		AmountFen: l.BalanceFen, LedgerSeq: l.LedgerSeq, Ref: BalanceRef(l.ID, l.LedgerSeq)}, nil
}

// BalanceContact is who a payment link for a lease can reach: the renter's
// own mobile number (empty when none) and the account linked to the renter.
type BalanceContact struct {
	RenterID    string
	RenterPhone string
	UserID      string
}

// BalanceToCollect returns a lease of scope's operator that owes an open
// balance, the balance, and who can be told: what a desk needs to send a
// payment link. Another operator's lease is ErrNotFound; a suspended
// operator's people are refused (tenancy.ErrSuspended); a lease that owes
// nothing is ErrNothingOwed.
func (s *Service) BalanceToCollect(ctx context.Context, scope tenancy.Scope, leaseID string) (Lease, OpenBalance, BalanceContact, error) {
	if err := scope.MayChange(tenancy.ChangeOther); err != nil {
		return Lease{}, OpenBalance{}, BalanceContact{}, err
	}
	l, err := s.Lease(ctx, scope, leaseID)
	if err != nil {
		return Lease{}, OpenBalance{}, BalanceContact{}, err
	}
	b, err := l.Balance()
	if err != nil {
		return l, OpenBalance{}, BalanceContact{}, err
	}
	r, err := s.currentRenter(ctx, l.RenterID)
	if err != nil {
		return l, b, BalanceContact{}, err
	}
	c := BalanceContact{RenterID: l.RenterID, UserID: r.UserID}
	if ValidMobile(r.Phone) {
		c.RenterPhone = r.Phone
	}
	return l, b, c, nil
}

// RecordPaymentLink writes the audit entry of a payment link sent for
// balance b: the payment's ledger entry id, the amount and the recipient's
// key (renter-… or user-…), never the number it went to.
func (s *Service) RecordPaymentLink(ctx context.Context, by tenancy.Actor, b OpenBalance, recipientKey string) {
	s.writeAudit(ctx, by, b.OperatorID, "lease.payment_link", "lease/"+b.LeaseID, []audit.Change{
		{Field: "payment", After: b.Ref}, {Field: "amount_fen", After: b.AmountFen}, {Field: "recipient", After: recipientKey}})
}
