package rentals

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"fuju/internal/eventlog"
	"fuju/internal/l10n"
	"fuju/internal/valid"
)

// The annual subsidy cap. Each person (a keyed hash of the ID number, see
// person.go) has one log per calendar year (city time), entity
// "<person key>-<year>", whose events carry the running total of subsidy
// granted that year, whichever of the person's records the lease is for. A
// grant is a transition: read the head, price the lease with what is left of
// the cap, append at head+1 with the new total; two desks granting to the
// same person at once collide on the sequence number and the loser re-prices.
// A grant is appended before the lease event that uses it (the lease records
// its entity and sequence), and released by a compensating event when that
// lease is cancelled or never written, so the total is exact under
// concurrency and after crashes. A grant counts in the year of the day it is
// made (checkout or extension day).
//
// Before person keys the logs were per renter record ("<renter id>-<year>").
// Leases from then name those logs in their grants; the start-up backfill
// carried their totals into the person's log (a "carried" event), and a
// release of such a grant afterwards is released from the person's total
// too (releaseCarried).

type subsidyEvent struct {
	Kind    string `bson:"kind"` // grant, release, carried
	LeaseID string `bson:"lease_id"`
	// GrantSeq is, for a release, the grant it undoes.
	GrantSeq int64 `bson:"grant_seq,omitempty"`
	// Legacy is, for a release in a person's log of a grant made in a
	// per-record log before person keys, that log (GrantSeq is then its
	// sequence number there).
	Legacy string `bson:"legacy,omitempty"`
	// AmountFen is signed: + for a grant or a carry, − for a release.
	AmountFen     int64  `bson:"amount_fen"`
	TotalFen      int64  `bson:"total_fen"`
	Day           string `bson:"day"`
	OperatorID    string `bson:"operator_id"`
	StationID     string `bson:"station_id"`
	Tier          Tier   `bson:"tier"`
	PolicyVersion int    `bson:"policy_version"`
	// Carried lists, for a carry, the per-record logs it brought in.
	Carried []carriedLog `bson:"carried,omitempty"`
	// What the grant paid for, so a subsidy statement's line needs nothing
	// else (grants from before statements lack them; see GrantCharge):
	// the charge (checkout or extend), the renter, the days, the standard
	// price and the renter's part, what the cap left out, and the cap.
	Charge      string `bson:"charge,omitempty"`
	RenterID    string `bson:"renter_id,omitempty"`
	Days        int    `bson:"days,omitempty"`
	StandardFen int64  `bson:"standard_fen,omitempty"`
	RenterFen   int64  `bson:"renter_fen,omitempty"`
	CappedFen   int64  `bson:"capped_fen,omitempty"`
	CapFen      int64  `bson:"cap_fen,omitempty"`
	// ReleasedOn is, for a release, the day it was made (city time); the
	// rest of a release repeats its grant.
	ReleasedOn string `bson:"released_on,omitempty"`
}

// carriedLog is a per-record yearly log as the backfill carried it: its
// total at sequence Seq.
type carriedLog struct {
	Entity   string `bson:"entity"`
	Seq      int64  `bson:"seq"`
	TotalFen int64  `bson:"total_fen"`
}

// Kinds of subsidy events.
const (
	subsidyGrant   = "grant"
	subsidyRelease = "release"
	subsidyCarried = "carried"
)

// subsidyEntity names a person's log for the year of day.
func subsidyEntity(person string, day time.Time) string {
	return person + "-" + strconv.Itoa(day.In(l10n.Local).Year())
}

// subsidyMarker names a subsidy log in a pending marker's entity list.
const subsidyMarker = "subsidy:"

// SubsidyUsed returns the subsidy a renter's person received in a calendar
// year, in fen, on any of their records.
func (s *Service) SubsidyUsed(ctx context.Context, renterID string, year int) (int64, error) {
	person, err := s.personOfRenter(ctx, renterID)
	if err != nil {
		return 0, err
	}
	head, err := lastEntry(ctx, s.subsidy, person+"-"+strconv.Itoa(year))
	if err != nil {
		return 0, fmt.Errorf("rentals: %w", err)
	}
	return head.Event.TotalFen, nil
}

// capRemaining returns what is left of the cap in the head's year, or -1
// when the policy has no cap.
func capRemaining(p Policy, totalFen int64) int64 {
	if p.AnnualCapFen <= 0 {
		return -1
	}
	return max(p.AnnualCapFen-totalFen, 0)
}

// grantPlan is a grant about to be appended.
type grantPlan struct {
	entity string
	seq    int64
	event  subsidyEvent
}

// planGrant reads the person's year total and caps q by it. It returns the
// capped quote and, when the quote still has a subsidy, the grant to append.
func (s *Service) planGrant(ctx context.Context, q Quote, p Policy, person, leaseID string, now time.Time) (Quote, *grantPlan, error) {
	if q.SubsidyFen <= 0 {
		return q, nil, nil
	}
	entity := subsidyEntity(person, now)
	head, err := lastEntry(ctx, s.subsidy, entity)
	if err != nil {
		return Quote{}, nil, fmt.Errorf("rentals: %w", err)
	}
	q = ApplyCap(q, capRemaining(p, head.Event.TotalFen))
	if q.SubsidyFen <= 0 {
		return q, nil, nil
	}
	return q, &grantPlan{entity: entity, seq: head.Seq + 1, event: subsidyEvent{
		Kind: subsidyGrant, LeaseID: leaseID, AmountFen: q.SubsidyFen, TotalFen: head.Event.TotalFen + q.SubsidyFen,
		Day: Date(now), Tier: q.Tier, PolicyVersion: q.PolicyVersion,
		Days: q.Days, StandardFen: q.StandardFen, RenterFen: q.RenterFen, CappedFen: q.CappedFen, CapFen: max(p.AnnualCapFen, 0),
	}}, nil
}

// releaseGrant appends the release of grant g of lease leaseID unless one
// exists. Releases are always valid, so a collision only means re-reading.
// A grant in a per-record log from before person keys is also released from
// the person's total it was carried into.
func (s *Service) releaseGrant(ctx context.Context, leaseID string, g SubsidyGrant) error {
	grant, ok, err := s.subsidy.Get(ctx, g.Entity, g.Seq)
	if err != nil {
		return fmt.Errorf("rentals: %w", err)
	}
	if !ok || grant.Event.LeaseID != leaseID || grant.Event.Kind != subsidyGrant {
		return nil // never granted: nothing to release
	}
	relSeq, err := s.appendRelease(ctx, leaseID, g, grant)
	if err != nil || strings.HasPrefix(g.Entity, personPrefix) {
		return err
	}
	return s.releaseCarried(ctx, leaseID, g, grant.Event, relSeq)
}

// appendRelease writes the release of grant in its own log, or finds it,
// and returns its sequence number.
func (s *Service) appendRelease(ctx context.Context, leaseID string, g SubsidyGrant, grant eventlog.Entry[subsidyEvent]) (int64, error) {
	seq := g.Seq + 1
	for range 50 {
		// Walk the (small) year log after the grant for its release.
		var last eventlog.Entry[subsidyEvent]
		for {
			e, ok, err := s.subsidy.Get(ctx, g.Entity, seq)
			if err != nil {
				return 0, fmt.Errorf("rentals: %w", err)
			}
			if !ok {
				break
			}
			if e.Event.Kind == subsidyRelease && e.Event.Legacy == "" && e.Event.GrantSeq == g.Seq && e.Event.LeaseID == leaseID {
				return e.Seq, nil
			}
			last = e
			seq++
		}
		total := grant.Event.TotalFen
		if last.Seq > 0 {
			total = last.Event.TotalFen
		}
		ev := grant.Event
		ev.Kind, ev.GrantSeq, ev.AmountFen, ev.TotalFen = subsidyRelease, g.Seq, -grant.Event.AmountFen, total-grant.Event.AmountFen
		ev.ReleasedOn = Date(s.now())
		_, err := s.subsidy.Append(ctx, g.Entity, seq, ev)
		if errors.Is(err, eventlog.ErrTaken) {
			continue
		}
		if err != nil {
			return 0, fmt.Errorf("rentals: %w", err)
		}
		return seq, nil
	}
	return 0, fmt.Errorf("rentals: subsidy total %s is busy; try again: %w", g.Entity, valid.Because(ErrConflict, "busy"))
}

// releaseCarried releases from the person's total a grant made in a
// per-record log (from before person keys) and carried into the person's
// log by the backfill: only when the carry counted the grant (its sequence
// number is at most the one carried) and not its release (released after the
// carry), and only once (the person's log records which grant it released).
func (s *Service) releaseCarried(ctx context.Context, leaseID string, g SubsidyGrant, grant subsidyEvent, relSeq int64) error {
	renterID, year, ok := cutYear(g.Entity)
	if !ok {
		return nil
	}
	person, err := s.personOfRenter(ctx, renterID)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil || !strings.HasPrefix(person, personPrefix) {
		return err
	}
	entity := person + "-" + year
	for range 50 {
		hist, err := history(ctx, s.subsidy, entity)
		if err != nil {
			return err
		}
		carried := int64(0)
		for _, e := range hist {
			for _, c := range e.Event.Carried {
				if c.Entity == g.Entity {
					carried = c.Seq
				}
			}
			if e.Event.Kind == subsidyRelease && e.Event.Legacy == g.Entity && e.Event.GrantSeq == g.Seq {
				return nil
			}
		}
		if carried < g.Seq || relSeq <= carried {
			return nil
		}
		head := hist[len(hist)-1]
		ev := grant
		ev.Kind, ev.GrantSeq, ev.Legacy = subsidyRelease, g.Seq, g.Entity
		ev.AmountFen, ev.TotalFen = -grant.AmountFen, head.Event.TotalFen-grant.AmountFen
		_, err = s.subsidy.Append(ctx, entity, head.Seq+1, ev)
		if errors.Is(err, eventlog.ErrTaken) {
			continue
		}
		if err != nil {
			return fmt.Errorf("rentals: %w", err)
		}
		return nil
	}
	return fmt.Errorf("rentals: subsidy total %s is busy; try again: %w", entity, valid.Because(ErrConflict, "busy"))
}

// orphanGrants returns the grants in the year logs named in a pending
// marker that were made for leaseID but that no lease event refers to: the
// writer died between the grant and the lease event.
func (s *Service) orphanGrants(ctx context.Context, leaseID string, entities []string, l Lease) ([]SubsidyGrant, error) {
	known := map[SubsidyGrant]bool{}
	for _, g := range l.Grants {
		known[SubsidyGrant{Entity: g.Entity, Seq: g.Seq}] = true
	}
	var out []SubsidyGrant
	for _, ent := range entities {
		entity, ok := strings.CutPrefix(ent, subsidyMarker)
		if !ok {
			continue
		}
		released := map[int64]bool{}
		var grants []SubsidyGrant
		for seq := int64(1); ; seq++ {
			e, ok, err := s.subsidy.Get(ctx, entity, seq)
			if err != nil {
				return nil, fmt.Errorf("rentals: %w", err)
			}
			if !ok {
				break
			}
			if e.Event.LeaseID != leaseID || e.Event.Legacy != "" || e.Event.Kind == subsidyCarried {
				continue
			}
			if e.Event.Kind == subsidyRelease {
				released[e.Event.GrantSeq] = true
			} else if !known[SubsidyGrant{Entity: entity, Seq: seq}] {
				grants = append(grants, SubsidyGrant{Entity: entity, Seq: seq, AmountFen: e.Event.AmountFen})
			}
		}
		for _, g := range grants {
			if !released[g.Seq] {
				out = append(out, g)
			}
		}
	}
	return out, nil
}
