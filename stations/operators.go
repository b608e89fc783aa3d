package stations

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"fuju/internal/audit"
	"fuju/internal/tenancy"
	"fuju/internal/valid"
)

// Suspension. The platform admin suspends an operator (a contract ended, a
// complaint is being investigated) without deleting anything: its stations and
// through them its listings leave the read model (Index), so the public stops
// seeing them; whatever else reads the Index (the station desk) stops seeing
// them too. The flag lives on the operator only, so resuming restores exactly
// what the operator had made public, and the stations' own Active switch stays
// the operator's to set.

// SetOperatorStatus suspends (OperatorSuspended, with the reason its people
// will read) or resumes (OperatorActive) an operator. The public read model
// follows at once on this instance; other instances rebuild theirs when they
// apply the change.
func (s *Service) SetOperatorStatus(ctx context.Context, id, status, reason string, by tenancy.Actor) (Operator, error) {
	reason = strings.TrimSpace(reason)
	if status == OperatorSuspended {
		switch n := utf8.RuneCountInString(reason); {
		case n == 0:
			return Operator{}, fmt.Errorf("stations: operator %s: %w", id, valid.Field("reason", "required", "say why the operator is suspended; its people will read it"))
		case n > valid.MaxNote:
			return Operator{}, fmt.Errorf("stations: operator %s: %w", id, (&valid.Error{}).Text("reason", reason, valid.MaxNote))
		}
	}
	o, err := s.store.operator(ctx, id)
	if err != nil {
		return Operator{}, err
	}
	before := o
	o.Status = status
	o.SuspendedReason, o.SuspendedAt = "", nil
	if status == OperatorSuspended {
		now := s.now()
		o.SuspendedReason, o.SuspendedAt = reason, &now
	}
	if o, err = s.replaceOperator(ctx, o); err != nil {
		return Operator{}, err
	}
	action := "operator.resume"
	if o.Status == OperatorSuspended {
		action = "operator.suspend"
	}
	s.writeAudit(ctx, by, o.ID, action, "operator/"+o.ID, audit.Diff(before, o, operatorNotes...))
	s.index.setSuspended(o.ID, o.Status == OperatorSuspended)
	// A rare, city-level change: a full rebuild of the read model on each
	// instance ("unit-batch" is the change that triggers one) is cheaper to
	// get right than a new change kind every instance must learn.
	s.publish(ctx, "unit-batch", o.ID)
	return o, nil
}

// suspendedOperators returns the ids of suspended operators, for Rebuild. The
// operators collection holds one document per organisation, so listing it is
// cheap even where every find scans.
func (s *Service) suspendedOperators(ctx context.Context) (map[string]bool, error) {
	ops, err := s.store.listOperators(ctx)
	if err != nil {
		return nil, fmt.Errorf("stations: read model: %w", err)
	}
	out := map[string]bool{}
	for _, o := range ops {
		if o.Status == OperatorSuspended {
			out[o.ID] = true
		}
	}
	return out, nil
}

// OperatorSuspended reports whether operator id is suspended, so the catalog
// can hide its listings too.
func (ix *Index) OperatorSuspended(id string) bool {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return ix.suspended[id]
}

func (ix *Index) setSuspended(id string, on bool) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	if ix.suspended[id] == on {
		return
	}
	if on {
		ix.suspended[id] = true
	} else {
		delete(ix.suspended, id)
	}
	ix.seq++
	ix.listing, ix.suspension = ix.seq, ix.seq
	for _, st := range ix.stations {
		if st.OperatorID == id {
			ix.stationVer[st.ID] = ix.seq
		}
	}
}

// listedLocked reports whether the public may see st: the operator switched it
// on and the operator is not suspended. The caller holds ix.mu.
func (ix *Index) listedLocked(st Station) bool {
	return st.Active && !ix.suspended[st.OperatorID]
}

// Suspension returns the operator's suspension when it is suspended: what its
// people's pages tell them. The read model answers whether, so only the
// people of a suspended operator cost a read by _id.
func (s *Service) Suspension(ctx context.Context, operatorID string) (Operator, bool) {
	if operatorID == "" || !s.index.OperatorSuspended(operatorID) {
		return Operator{}, false
	}
	o, err := s.store.operator(ctx, operatorID)
	if err != nil || o.Status != OperatorSuspended {
		return Operator{}, false
	}
	return o, true
}

// ClosedStation returns a station that exists but that the public may not
// see: switched off by its operator, or of a suspended operator. Its public
// page says it is closed instead of not knowing it.
func (s *Service) ClosedStation(ctx context.Context, id string) (Station, bool) {
	if !ValidID(id) {
		return Station{}, false
	}
	st, err := s.store.station(ctx, id)
	if err != nil {
		if !errors.Is(err, ErrNotFound) {
			s.logger.Warn("read closed station", "station", id, "err", err)
		}
		return Station{}, false
	}
	if st.Active && !s.index.OperatorSuspended(st.OperatorID) {
		return Station{}, false
	}
	return st, true
}

// Standing returns sc with the standing of its operator filled in: whether
// the platform suspended it. It reads the operator by _id, not the read
// model, so a suspension binds every instance at its next request.
func (s *Service) Standing(ctx context.Context, sc tenancy.Scope) tenancy.Scope {
	sc.Suspended = false
	if sc.Platform || sc.OperatorID == "" {
		return sc
	}
	o, err := s.store.operator(ctx, sc.OperatorID)
	switch {
	case err == nil:
		sc.Suspended = o.Status == OperatorSuspended
	case !errors.Is(err, ErrNotFound):
		// The database did not answer: the read model's answer is the
		// best there is, and the write that follows will likely fail too.
		s.logger.Warn("read operator standing", "operator", sc.OperatorID, "err", err)
		sc.Suspended = s.index.OperatorSuspended(sc.OperatorID)
	}
	return sc
}
