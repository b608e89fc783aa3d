package rentals

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"fuju/internal/eventlog"
)

// peopleMigration names the one-time backfill of person keys.
const peopleMigration = "renter-people"

// backfillPeople brings the renters and the subsidy totals from before
// person keys under them, once per database, at start (Init), before the
// service serves anyone:
//
//  1. every renter record's person key is derived from its sealed ID
//     number, and the records are grouped by person;
//  2. each person is claimed for their earliest record (registered first,
//     ties by id), so registering the person again is refused;
//  3. the per-record yearly totals ("<renter>-<year>") of a person's records
//     are carried into the person's yearly log ("<person>-<year>"): one
//     "carried" event per person and year, whose amount is their sum and
//     which lists each per-record log with the sequence number it was
//     carried up to (so a grant released there later is released from the
//     person's total too, see releaseCarried).
//
// Two records of one person (registered under two phone numbers before
// claims existed) both stay: each keeps its leases, tier and history, and
// desks find both. The claim names the earlier one, and both draw on one cap,
// because every grant and quote keys the cap by the person, not the record;
// the migration's event lists such records by id for the operators to tidy.
//
// Every step is idempotent (a claim made or a year carried is left as it
// is), so a start that crashed half-way, or two instances starting at once,
// do each step once; the marker is written last.
func (s *Service) backfillPeople(ctx context.Context) error {
	if _, done, err := s.migrations.Get(ctx, peopleMigration, 1); err != nil || done {
		if err != nil {
			return fmt.Errorf("rentals: %w", err)
		}
		return nil
	}
	docs, err := s.renters.allRenters(ctx)
	if err != nil {
		return err
	}
	entities, err := s.renters.subsidyEntities(ctx)
	if err != nil {
		return err
	}
	known := map[string]bool{}
	for _, d := range docs {
		known[d.ID] = true
	}
	years := map[string][]string{} // renter id → years of its own logs
	for _, e := range entities {
		renterID, year, ok := cutYear(e)
		if !ok || strings.HasPrefix(e, personPrefix) {
			continue
		}
		years[renterID] = append(years[renterID], year)
		if known[renterID] {
			continue
		}
		// A record a crash left without its projection: its log has it.
		d, err := s.currentRenter(ctx, renterID)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		known[renterID] = true
		docs = append(docs, d)
	}
	ev := migrationEvent{Renters: len(docs)}
	groups := map[string][]renterDoc{}
	for _, d := range docs {
		p := s.personOf(d)
		if !strings.HasPrefix(p, personPrefix) {
			ev.Unreadable++
			continue
		}
		groups[p] = append(groups[p], d)
	}
	people := make([]string, 0, len(groups))
	for p := range groups {
		people = append(people, p)
	}
	sort.Strings(people)
	for _, p := range people {
		g := groups[p]
		sort.Slice(g, func(i, j int) bool {
			if !g[i].CreatedAt.Equal(g[j].CreatedAt) {
				return g[i].CreatedAt.Before(g[j].CreatedAt)
			}
			return g[i].ID < g[j].ID
		})
		if err := s.keepPerson(ctx, g[0]); err != nil {
			return err
		}
		ev.People++
		if len(g) > 1 {
			ids := make([]string, len(g))
			for i, d := range g {
				ids[i] = d.ID
			}
			ev.Shared = append(ev.Shared, sharedRecords{Renters: ids})
		}
		var ys []string
		for _, d := range g {
			for _, y := range years[d.ID] {
				if !slices.Contains(ys, y) {
					ys = append(ys, y)
				}
			}
		}
		sort.Strings(ys)
		for _, y := range ys {
			var logs []string
			for _, d := range g {
				if slices.Contains(years[d.ID], y) {
					logs = append(logs, d.ID+"-"+y)
				}
			}
			carried, err := s.carry(ctx, p, y, logs)
			if err != nil {
				return err
			}
			if carried {
				ev.Carried++
			}
		}
	}
	_, err = s.migrations.Append(ctx, peopleMigration, 1, ev)
	if err != nil && !errors.Is(err, eventlog.ErrTaken) {
		return fmt.Errorf("rentals: %w", err)
	}
	if ev.Renters == 0 {
		return nil
	}
	// Counts only: nothing personal.
	s.logger.Info("renters keyed by person", "renters", ev.Renters, "people", ev.People,
		"records_sharing_a_person", len(ev.Shared), "yearly_totals_carried", ev.Carried, "unreadable", ev.Unreadable)
	return nil
}

// carry brings the per-record yearly logs of one person into the person's
// log for year, unless it was done. It reports whether it wrote.
func (s *Service) carry(ctx context.Context, person, year string, logs []string) (bool, error) {
	entity := person + "-" + year
	for range 20 {
		hist, err := history(ctx, s.subsidy, entity)
		if err != nil {
			return false, err
		}
		for _, e := range hist {
			if e.Event.Kind == subsidyCarried {
				return false, nil
			}
		}
		var items []carriedLog
		var sum int64
		for _, l := range logs {
			head, err := lastEntry(ctx, s.subsidy, l)
			if err != nil {
				return false, fmt.Errorf("rentals: %w", err)
			}
			if head.Seq == 0 {
				continue
			}
			items = append(items, carriedLog{Entity: l, Seq: head.Seq, TotalFen: head.Event.TotalFen})
			sum += head.Event.TotalFen
		}
		if sum == 0 {
			return false, nil // nothing outstanding: nothing to carry or release later
		}
		var total int64
		seq := int64(1)
		if n := len(hist); n > 0 {
			total, seq = hist[n-1].Event.TotalFen, hist[n-1].Seq+1
		}
		_, err = s.subsidy.Append(ctx, entity, seq, subsidyEvent{Kind: subsidyCarried, AmountFen: sum, TotalFen: total + sum,
			Day: Date(s.now()), Carried: items})
		if errors.Is(err, eventlog.ErrTaken) {
			continue
		}
		if err != nil {
			return false, fmt.Errorf("rentals: %w", err)
		}
		return true, nil
	}
	return false, fmt.Errorf("rentals: subsidy total %s is busy: %w", entity, ErrConflict)
}

// cutYear splits a yearly subsidy log's entity, "<owner>-<year>".
func cutYear(entity string) (owner, year string, ok bool) {
	i := strings.LastIndexByte(entity, '-')
	if i <= 0 || len(entity)-i-1 != 4 || strings.Trim(entity[i+1:], "0123456789") != "" {
		return "", "", false
	}
	return entity[:i], entity[i+1:], true
}
