package rentals

import (
	"context"
	"fmt"
	"strconv"
)

// Reads for the city's subsidy statements (package reports): every grant and
// release of the yearly subsidy logs, as the city pays them, and the renter
// facts a statement line shows. reports imports rentals, never the other
// way round.

// SubsidyMove is one grant of subsidy to a renter (positive) or its release
// (negative) when the lease it paid for was cancelled. Key names it for
// good: the grant's or release's year log and sequence number.
type SubsidyMove struct {
	Key  string
	Kind string // grant or release
	// GrantKey is, for a release, the Key of the grant it undoes.
	GrantKey string
	// Day is the day the grant was made; OnDay the day this move was made
	// (the grant's day for a grant, the release's for a release).
	Day, OnDay    string
	OperatorID    string
	StationID     string
	LeaseID       string
	RenterID      string
	Charge        string // checkout or extend
	Tier          Tier
	PolicyVersion int
	Days          int
	// StandardFen, RenterFen and AmountFen are negative for a release.
	StandardFen, RenterFen, AmountFen int64
	// CappedFen is what the person's annual cap left out of the subsidy;
	// YearTotalFen the person's total for the year after this move; CapFen
	// the cap of the policy in force (0: none).
	CappedFen, YearTotalFen, CapFen int64
}

// Kinds of subsidy moves.
const (
	MoveGrant   = subsidyGrant
	MoveRelease = subsidyRelease
)

// SubsidyMoves returns the grants and releases of operatorID made before day
// before (YYYY-MM-DD, exclusive; every one when empty), in the order they
// were made. Carries of the person-key backfill are bookkeeping, not money,
// and are left out, as is a release in a person's log of a grant made in a
// per-record log (the release in that log is the one that counts).
func (s *Service) SubsidyMoves(ctx context.Context, operatorID, before string) ([]SubsidyMove, error) {
	recs, err := s.reports.subsidyMoves(ctx, operatorID, before)
	if err != nil {
		return nil, err
	}
	out := make([]SubsidyMove, 0, len(recs))
	for _, r := range recs {
		e := r.Event
		if (e.Kind != subsidyGrant && e.Kind != subsidyRelease) || e.Legacy != "" {
			continue
		}
		m := SubsidyMove{Key: r.Entity + "/" + strconv.FormatInt(r.Seq, 10), Kind: e.Kind, Day: e.Day, OnDay: e.Day,
			OperatorID: e.OperatorID, StationID: e.StationID, LeaseID: e.LeaseID, RenterID: e.RenterID, Charge: e.Charge,
			Tier: e.Tier, PolicyVersion: e.PolicyVersion, Days: e.Days, StandardFen: e.StandardFen, RenterFen: e.RenterFen,
			AmountFen: e.AmountFen, CappedFen: e.CappedFen, YearTotalFen: e.TotalFen, CapFen: e.CapFen}
		if e.Kind == subsidyRelease {
			m.GrantKey = r.Entity + "/" + strconv.FormatInt(e.GrantSeq, 10)
			m.OnDay = e.ReleasedOn
			if m.OnDay == "" {
				m.OnDay = Date(r.At)
			}
			m.Days, m.StandardFen, m.RenterFen, m.CappedFen = -m.Days, -m.StandardFen, -m.RenterFen, 0
		}
		if before != "" && m.OnDay >= before {
			continue
		}
		if e.Charge == "" {
			if err := s.fillCharge(ctx, &m, r.Entity, r.Seq, e); err != nil {
				return nil, err
			}
		}
		out = append(out, m)
	}
	return out, nil
}

// fillCharge completes a move of a grant made before grants recorded what
// they paid for, from the lease event that used the grant.
func (s *Service) fillCharge(ctx context.Context, m *SubsidyMove, entity string, seq int64, e subsidyEvent) error {
	grantSeq := seq
	if e.Kind == subsidyRelease {
		grantSeq = e.GrantSeq
	}
	l, _, err := s.leaseDB.lease(ctx, e.LeaseID)
	if err != nil {
		return err
	}
	m.Charge, m.RenterID, m.Days, m.StandardFen, m.RenterFen = "checkout", l.RenterID, 0, e.AmountFen, 0
	if l.ID == "" {
		return nil // never listed: a cancelled checkout, its release nets it out
	}
	hist, err := s.leaseLg.History(ctx, l.ID, l.Seq)
	if err != nil {
		return fmt.Errorf("rentals: %w", err)
	}
	prevDays := 0
	for _, h := range hist {
		gs := h.Event.Lease.Grants
		if n := len(gs); n > 0 && gs[n-1].Entity == entity && gs[n-1].Seq == grantSeq && (h.Event.Kind == kindOpened || h.Event.Kind == kindExtended) {
			m.Days = h.Event.Lease.Days - prevDays
			if h.Event.Kind == kindExtended {
				m.Charge = "extend"
			}
			for _, x := range h.Event.Ledger {
				if x.Kind == EntryRent || x.Kind == EntryExtension {
					m.StandardFen = x.AmountFen
				}
			}
			m.RenterFen = m.StandardFen - e.AmountFen
			break
		}
		prevDays = h.Event.Lease.Days
	}
	if e.Kind == subsidyRelease {
		m.Days, m.StandardFen, m.RenterFen = -m.Days, -m.StandardFen, -m.RenterFen
	}
	return nil
}

// RenterFacts is what a subsidy statement shows of a renter: the name
// masked, the verified tier with its proof's type and last day.
type RenterFacts struct {
	MaskedName   string
	Tier         Tier
	ProofType    string
	ProofExpires string
}

// RenterFacts returns the statement facts of renter id as its record says
// now. Statements are read only by the operator that gave the subsidy and the
// city; callers check that.
func (s *Service) RenterFacts(ctx context.Context, id string) (RenterFacts, error) {
	d, err := s.renters.renter(ctx, id)
	if err != nil {
		return RenterFacts{}, err
	}
	f := RenterFacts{MaskedName: MaskName(d.Name), Tier: d.Tier.Tier, ProofExpires: d.Tier.ExpiresOn}
	if d.Tier.Proof != nil {
		f.ProofType = d.Tier.Proof.ProofType
	}
	return f, nil
}
