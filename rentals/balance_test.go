package rentals

import (
	"errors"
	"testing"
)

// Only a lease whose device is back and that still owes has a balance to
// pay online; its payment's id follows the ledger, so a changed balance is
// a new payment, and a prepaid lease's money stays on the reservation's tab.
func TestOpenBalance(t *testing.T) {
	for _, tc := range []struct {
		name  string
		l     Lease
		owed  bool
		ref   string
		tabID string
	}{
		{"returned, owes", Lease{ID: "l-1", State: LeaseReturned, BalanceFen: 10000, LedgerSeq: 7}, true, "lease/l-1/balance/7", "l-1"},
		{"lost, owes", Lease{ID: "l-2", State: LeaseLost, BalanceFen: 500, LedgerSeq: 9, OnlineTab: "r-5"}, true, "lease/l-2/balance/9", "r-5"},
		{"returned, settled", Lease{ID: "l-3", State: LeaseReturned, LedgerSeq: 7}, false, "", ""},
		{"returned, owed back", Lease{ID: "l-4", State: LeaseReturned, BalanceFen: -300, LedgerSeq: 7}, false, "", ""},
		{"still out", Lease{ID: "l-5", State: LeaseActive, BalanceFen: 9000, LedgerSeq: 3}, false, "", ""},
		{"overdue", Lease{ID: "l-6", State: LeaseOverdue, BalanceFen: 9000, LedgerSeq: 3}, false, "", ""},
		{"closed", Lease{ID: "l-7", State: LeaseClosed, LedgerSeq: 12}, false, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := tc.l.Balance()
			if !tc.owed {
				if !errors.Is(err, ErrNothingOwed) || !errors.Is(err, ErrConflict) {
					t.Fatalf("balance %+v, err %v; want ErrNothingOwed", b, err)
				}
				return
			}
			if err != nil || b.Ref != tc.ref || b.TabID != tc.tabID || b.AmountFen != tc.l.BalanceFen || !IsBalanceRef(tc.l.ID, b.Ref) {
				t.Fatalf("balance %+v, err %v; want ref %s on tab %s", b, err, tc.ref, tc.tabID)
			}
		})
	}
	next := Lease{ID: "l-1", State: LeaseReturned, BalanceFen: 9000, LedgerSeq: 8}
	if b, _ := next.Balance(); b.Ref == BalanceRef("l-1", 7) {
		t.Error("a changed balance keeps the old payment's id")
	}
	if IsBalanceRef("l-1", "lease/l-10/balance/7") || IsBalanceRef("l-1", "lease/l-1/deposit") {
		t.Error("IsBalanceRef matches another lease's or another purpose's id")
	}
}
