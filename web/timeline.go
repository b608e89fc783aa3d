package web

import (
	"context"
	"strings"

	"fuju/internal/tenancy"
	"fuju/rentals"
	"fuju/stations"
)

// timelineEntry is one event of a unit's history as the desk reads it: when
// (city time) and a sentence, "借出给 张** · 30 天 · 民主路站 · 李敏".
type timelineEntry struct {
	At       string
	Sentence string
	// LeaseID links the event's lease, when it has one.
	LeaseID string
}

// maxTimelineLeases bounds the leases read to describe a unit's check-outs
// (each is one lookup by _id); older ones are described without the renter.
const maxTimelineLeases = 50

// timeline describes a unit's history in b's language. A check-out names
// the renter masked (the page is seen at a desk, by whoever stands near)
// and the term; internal details (lease ids, raw outcomes, fen) become
// words, amounts in yuan.
func (s *Server) timeline(ctx context.Context, scope tenancy.Scope, b *base, hist []stations.HistoryEntry) []timelineEntry {
	w := b.words()
	leases := map[string]*rentals.Lease{}
	looked := 0
	for i := len(hist) - 1; i >= 0 && looked < maxTimelineLeases; i-- {
		id := hist[i].LeaseID
		if hist[i].Kind != "checkout" || id == "" {
			continue
		}
		if _, done := leases[id]; done {
			continue
		}
		looked++
		if l, err := s.rentals.Lease(ctx, scope, id); err == nil {
			leases[id] = &l
		} else {
			leases[id] = nil
		}
	}
	out := make([]timelineEntry, 0, len(hist))
	for _, h := range hist {
		params := map[string]any{"state": string(h.To), "from": string(h.From), "to": string(h.To),
			"to_station": h.ToStation, "why": strings.TrimSpace(h.Why)}
		for k, v := range h.Details {
			params[k] = v
		}
		key := "timeline." + h.Kind
		switch h.Kind {
		case "checkout":
			if l := leases[h.LeaseID]; l != nil {
				params["renter"], params["days"] = rentals.MaskName(l.RenterName), l.Days
			} else {
				key = "timeline.checkout.plain"
			}
		case "checkin":
			if h.Details["outcome"] == "" {
				key = "timeline.checkin.plain"
			}
		case "repair", "retired", "transfer", "cleaned", "repaired":
			// What staff wrote is shown as written.
			if params["why"] == "" {
				key += ".plain"
			}
		}
		m, ok := w.msgs[key]
		if !ok {
			m = w.msgs["timeline.moved"]
		}
		parts := []string{w.fill(m, params)}
		if h.StationID != "" {
			parts = append(parts, b.StationName(h.StationID))
		}
		if who := b.ActorName(h.By); who != "" {
			parts = append(parts, who)
		}
		e := timelineEntry{At: b.Date(h.At), Sentence: strings.Join(parts, " · ")}
		if h.LeaseID != "" && leases[h.LeaseID] != nil || h.Kind != "checkout" && h.LeaseID != "" {
			e.LeaseID = h.LeaseID
		}
		out = append(out, e)
	}
	return out
}

// ActorName names who made a change: a person by name, the system and the
// demo data in words.
func (b *base) ActorName(a tenancy.Actor) string {
	switch {
	case a.ID == "seed":
		return b.T("timeline.by.seed")
	case a.Role == tenancy.System.Role:
		return b.T("timeline.by.system")
	}
	return a.Name
}

// LeaseWhy says in words why a lease changed, from what its log recorded
// (an outcome, a number of days, a due date); internal notes are left out.
func (b *base) LeaseWhy(c rentals.LeaseChange) string {
	w := b.words()
	switch c.Kind {
	case "checkin":
		if m, ok := w.msgs["outcome."+c.Why]; ok {
			return m
		}
	case "extended":
		if n, ok := strings.CutSuffix(c.Why, " days"); ok {
			return w.fill(w.msgs["timeline.lease.days"], map[string]any{"days": n})
		}
	case "overdue":
		if day, ok := strings.CutPrefix(c.Why, "due "); ok {
			return w.fill(w.msgs["timeline.lease.due"], map[string]any{"due_on": day})
		}
	}
	return ""
}
