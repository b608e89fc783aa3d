package rentals

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"fuju/internal/eventlog"
	"fuju/internal/valid"
	"fuju/stations"
)

// The annual subsidy cap. Each renter has one log per calendar year (city
// time), entity "<renter id>-<year>", whose events carry the running total of
// subsidy granted that year. A grant is a transition: read the head, price
// the lease with what is left of the cap, append at head+1 with the new total;
// two desks granting to the same renter at once collide on the sequence
// number and the loser re-prices. A grant is appended before the lease event
// that uses it (the lease records its entity and sequence), and released by a
// compensating event when that lease is cancelled or never written, so the
// total is exact under concurrency and after crashes. A grant counts in the
// year of the day it is made (checkout or extension day).

type subsidyEvent struct {
	Kind    string `bson:"kind"` // grant, release
	LeaseID string `bson:"lease_id"`
	// GrantSeq is, for a release, the grant it undoes.
	GrantSeq int64 `bson:"grant_seq,omitempty"`
	// AmountFen is signed: + for a grant, − for a release.
	AmountFen     int64  `bson:"amount_fen"`
	TotalFen      int64  `bson:"total_fen"`
	Day           string `bson:"day"`
	OperatorID    string `bson:"operator_id"`
	StationID     string `bson:"station_id"`
	Tier          Tier   `bson:"tier"`
	PolicyVersion int    `bson:"policy_version"`
}

func subsidyEntity(renterID string, day time.Time) string {
	return renterID + "-" + strconv.Itoa(day.In(stations.Local).Year())
}

// subsidyMarker names a subsidy log in a pending marker's entity list.
const subsidyMarker = "subsidy:"

// SubsidyUsed returns the subsidy a renter received in a calendar year, in
// fen.
func (s *Service) SubsidyUsed(ctx context.Context, renterID string, year int) (int64, error) {
	head, err := lastEntry(ctx, s.subsidy, renterID+"-"+strconv.Itoa(year))
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

// planGrant reads the renter's year total and caps q by it. It returns the
// capped quote and, when the quote still has a subsidy, the grant to append.
func (s *Service) planGrant(ctx context.Context, q Quote, p Policy, renterID, leaseID string, now time.Time) (Quote, *grantPlan, error) {
	if q.SubsidyFen <= 0 {
		return q, nil, nil
	}
	entity := subsidyEntity(renterID, now)
	head, err := lastEntry(ctx, s.subsidy, entity)
	if err != nil {
		return Quote{}, nil, fmt.Errorf("rentals: %w", err)
	}
	q = ApplyCap(q, capRemaining(p, head.Event.TotalFen))
	if q.SubsidyFen <= 0 {
		return q, nil, nil
	}
	return q, &grantPlan{entity: entity, seq: head.Seq + 1, event: subsidyEvent{
		Kind: "grant", LeaseID: leaseID, AmountFen: q.SubsidyFen, TotalFen: head.Event.TotalFen + q.SubsidyFen,
		Day: Date(now), Tier: q.Tier, PolicyVersion: q.PolicyVersion,
	}}, nil
}

// releaseGrant appends the release of grant g of lease leaseID unless one
// exists. Releases are always valid, so a collision only means re-reading.
func (s *Service) releaseGrant(ctx context.Context, leaseID string, g SubsidyGrant) error {
	grant, ok, err := s.subsidy.Get(ctx, g.Entity, g.Seq)
	if err != nil {
		return fmt.Errorf("rentals: %w", err)
	}
	if !ok || grant.Event.LeaseID != leaseID || grant.Event.Kind != "grant" {
		return nil // never granted: nothing to release
	}
	seq := g.Seq + 1
	for range 50 {
		// Walk the (small) year log after the grant for its release.
		var last eventlog.Entry[subsidyEvent]
		for {
			e, ok, err := s.subsidy.Get(ctx, g.Entity, seq)
			if err != nil {
				return fmt.Errorf("rentals: %w", err)
			}
			if !ok {
				break
			}
			if e.Event.Kind == "release" && e.Event.GrantSeq == g.Seq && e.Event.LeaseID == leaseID {
				return nil
			}
			last = e
			seq++
		}
		total := grant.Event.TotalFen
		if last.Seq > 0 {
			total = last.Event.TotalFen
		}
		ev := grant.Event
		ev.Kind, ev.GrantSeq, ev.AmountFen, ev.TotalFen = "release", g.Seq, -grant.Event.AmountFen, total-grant.Event.AmountFen
		_, err := s.subsidy.Append(ctx, g.Entity, seq, ev)
		if errors.Is(err, eventlog.ErrTaken) {
			continue
		}
		if err != nil {
			return fmt.Errorf("rentals: %w", err)
		}
		return nil
	}
	return fmt.Errorf("rentals: subsidy total %s is busy; try again: %w", g.Entity, valid.Because(ErrConflict, "busy"))
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
			if e.Event.LeaseID != leaseID {
				continue
			}
			if e.Event.Kind == "release" {
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
