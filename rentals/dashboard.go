package rentals

import (
	"context"

	"fuju/internal/tenancy"
)

// Reads for the operators' and the city's dashboards (package reports):
// every ledger entry of an operator up to a day. Dashboards compute their
// money figures from these entries alone, so they agree with the ledgers
// by construction. reports imports rentals, never the other way round.

// LedgerEntries returns the ledger entries of scope's operator (every
// operator's for the platform) made before day before (YYYY-MM-DD,
// exclusive), oldest first. One read of the operator's entries: deposits
// held at the end of a range need every entry before it.
func (s *Service) LedgerEntries(ctx context.Context, scope tenancy.Scope, before string) ([]LedgerEntry, error) {
	if !scope.Platform && scope.OperatorID == "" {
		return []LedgerEntry{}, nil
	}
	op := scope.OperatorID
	if scope.Platform {
		op = ""
	}
	recs, err := s.reports.ledgerEntries(ctx, op, before)
	if err != nil {
		return nil, err
	}
	out := make([]LedgerEntry, 0, len(recs))
	for _, r := range recs {
		if !scope.Station(r.Event.OperatorID, r.Event.StationID) {
			continue
		}
		e := r.Event
		e.Seq = r.Seq
		out = append(out, e)
	}
	return out, nil
}
