package messages

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"fuju/internal/valid"
)

// Paging limits of Inbox and StationLog.
const (
	DefaultPerPage = 20
	MaxPerPage     = 100
)

// inboxList and stationList name the lists a message is in: its recipient's
// inbox and, when it belongs to an operator, the station's log. The station's
// list is under its operator, so another operator's id never reaches it.
func inboxList(key string) string              { return "r/" + key }
func stationList(operatorID, st string) string { return "s/" + operatorID + "/" + st }

// lists returns the lists m appears in. Secret kinds (phone codes) stay out
// of inboxes: an inbox is no place for a code.
func lists(m msgDoc) []string {
	var out []string
	if !m.Kind.Secret() {
		out = append(out, inboxList(m.Recipient))
	}
	if m.OperatorID != "" {
		out = append(out, stationList(m.OperatorID, m.StationID))
	}
	return out
}

// addToList appends message id to list at the next sequence number. Two
// writers that pick the same number collide on its _id and the loser tries the
// next; the unique (list, message) key makes a second append of the same
// message (the reconciler after a crash) fail, which counts as done.
func (s *Service) addToList(ctx context.Context, list, id string, at time.Time) error {
	head, err := s.listHead(ctx, list, s.knownHead(list))
	if err != nil {
		return err
	}
	for range 200 {
		n := head + 1
		err := s.store.addEntry(ctx, indexDoc{ID: indexID(list, n), List: list, Seq: n, Message: id, At: at})
		if err == nil {
			s.setHead(list, n)
			return nil
		}
		if !errors.Is(err, ErrConflict) {
			return err
		}
		e, ok, err := s.store.entry(ctx, list, n)
		if err != nil {
			return err
		}
		if !ok || e.Message == id {
			return nil // the message is in the list already
		}
		if head, err = s.listHead(ctx, list, n); err != nil {
			return err
		}
	}
	return fmt.Errorf("messages: list %s stayed busy: %w", list, ErrConflict)
}

func (s *Service) knownHead(list string) int64 {
	s.headsMu.Lock()
	defer s.headsMu.Unlock()
	return s.heads[list]
}

func (s *Service) setHead(list string, seq int64) {
	s.headsMu.Lock()
	defer s.headsMu.Unlock()
	if len(s.heads) > 10_000 {
		clear(s.heads) // only hints: forgetting them costs a few probes
	}
	if seq > s.heads[list] {
		s.heads[list] = seq
	}
}

// listHead returns the highest sequence number in list, starting from known
// (0 when unknown): it doubles its step until a miss, then bisects, so it
// costs O(log n) lookups by _id, one when known is the head.
func (s *Service) listHead(ctx context.Context, list string, known int64) (int64, error) {
	lo := known
	if lo > 0 {
		_, ok, err := s.store.entry(ctx, list, lo)
		if err != nil {
			return 0, err
		}
		if !ok {
			lo = 0 // a stale hint (the database was replaced)
		}
	}
	step, hi := int64(1), int64(-1)
	for hi < 0 {
		_, ok, err := s.store.entry(ctx, list, lo+step)
		if err != nil {
			return 0, err
		}
		if ok {
			lo += step
			step *= 2
		} else {
			hi = lo + step
		}
	}
	for hi-lo > 1 {
		mid := (lo + hi) / 2
		_, ok, err := s.store.entry(ctx, list, mid)
		if err != nil {
			return 0, err
		}
		if ok {
			lo = mid
		} else {
			hi = mid
		}
	}
	s.setHead(list, lo)
	return lo, nil
}

// Inbox returns the messages of the recipient with key, newest first, and how
// many there are: what the family sees on their account. Numbers are masked,
// phone codes are never listed, and gateway errors are left to staff.
func (s *Service) Inbox(ctx context.Context, key string, skip, limit int64) ([]Message, int64, error) {
	if err := checkKey(key); err != nil {
		return nil, 0, err
	}
	items, total, err := s.page(ctx, inboxList(key), skip, limit)
	for i := range items {
		items[i] = familyView(items[i])
	}
	return items, total, err
}

// familyView leaves out what only staff need: the gateway's error text.
func familyView(m Message) Message {
	m.Error = ""
	return m
}

// StationLog returns the messages sent on behalf of a station, newest first,
// with their numbers masked and phone codes' text left out, for the staff and
// admins whose scope covers the station. Another operator's station answers
// ErrNotFound, as if it did not exist.
func (s *Service) StationLog(ctx context.Context, who scope, operatorID, stationID string, skip, limit int64) ([]Message, int64, error) {
	e := &valid.Error{}
	for field, id := range map[string]string{"operator_id": operatorID, "station_id": stationID} {
		if !segmentRe.MatchString(id) || len(id) > 64 {
			e.Add(field, "record_id", "must be an id of letters, digits, '.', ':', '_' or '-' (at most 64)")
		}
	}
	if err := e.Err(); err != nil {
		return nil, 0, err
	}
	if who == nil || !who.Station(operatorID, stationID) {
		return nil, 0, fmt.Errorf("messages: station %s: %w", stationID, ErrNotFound)
	}
	return s.page(ctx, stationList(operatorID, stationID), skip, limit)
}

// page reads entries head-skip down to head-skip-limit+1 of list, each by _id,
// a few at a time.
func (s *Service) page(ctx context.Context, list string, skip, limit int64) ([]Message, int64, error) {
	if skip < 0 {
		return nil, 0, valid.Field("page", "min", "must be at least 1", "min", 1)
	}
	if limit <= 0 {
		limit = DefaultPerPage
	}
	limit = min(limit, MaxPerPage)
	total, err := s.listHead(ctx, list, s.knownHead(list))
	if err != nil {
		return nil, 0, err
	}
	top := total - skip
	n := max(0, min(limit, top))
	found := make([]*Message, n)
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
		seqs  = make(chan int64)
	)
	for range min(4, n) {
		wg.Go(func() {
			for seq := range seqs {
				m, ok, err := s.listed(ctx, list, seq)
				mu.Lock()
				if err != nil && first == nil {
					first = err
				}
				if ok {
					found[top-seq] = &m
				}
				mu.Unlock()
			}
		})
	}
	for seq := top; seq > top-n; seq-- {
		seqs <- seq
	}
	close(seqs)
	wg.Wait()
	if first != nil {
		return nil, 0, first
	}
	out := make([]Message, 0, n)
	for _, m := range found {
		if m != nil {
			out = append(out, *m)
		}
	}
	return out, total, nil
}

// listed returns the message at seq of list.
func (s *Service) listed(ctx context.Context, list string, seq int64) (Message, bool, error) {
	e, ok, err := s.store.entry(ctx, list, seq)
	if err != nil || !ok {
		return Message{}, false, err
	}
	m, ok, err := s.store.message(ctx, e.Message)
	if err != nil || !ok {
		return Message{}, false, err
	}
	v, err := s.view(ctx, m)
	return v, err == nil, err
}
