package messages

import (
	"context"
	"slices"

	"fuju/internal/valid"
)

// Inboxes returns one page of several recipients' messages together, newest
// first, and how many there are in all: an online account's inbox shows what
// went to the account and to each renter it looks after (an elder's own
// number), so a daughter sees what her father was told. Each list is read
// from its newest entry down to skip+limit, so this is for the few lists of
// one family, not for a station.
func (s *Service) Inboxes(ctx context.Context, keys []string, skip, limit int64) ([]Message, int64, error) {
	if len(keys) == 1 {
		return s.Inbox(ctx, keys[0], skip, limit)
	}
	if limit <= 0 {
		limit = DefaultPerPage
	}
	limit = min(limit, MaxPerPage)
	var all []Message
	var total int64
	for _, key := range keys {
		var got int64
		for got < skip+limit {
			items, n, err := s.Inbox(ctx, key, got, min(MaxPerPage, skip+limit-got))
			if err != nil {
				return nil, 0, err
			}
			if got == 0 {
				total += n
			}
			all = append(all, items...)
			got += int64(len(items))
			if len(items) == 0 || got >= n {
				break
			}
		}
	}
	// Each list is newest first already; a stable sort keeps that order
	// between messages written in the same instant.
	slices.SortStableFunc(all, func(a, b Message) int { return b.CreatedAt.Compare(a.CreatedAt) })
	if skip >= int64(len(all)) {
		return []Message{}, total, nil
	}
	return all[skip:min(int64(len(all)), skip+limit)], total, nil
}

// SetRemindersFor is SetReminders for an account and the recipients it
// speaks for (the renters it looks after), as one choice: the first key is
// the account's, and the audit log gets one entry for it. Phone codes and
// notices cannot be turned off.
func (s *Service) SetRemindersFor(ctx context.Context, by Actor, keys []string, on bool) (Preferences, error) {
	if len(keys) == 0 {
		return Preferences{}, valid.Field("recipient", "required", "is required")
	}
	changed := false
	for _, key := range keys {
		if err := checkKey(key); err != nil {
			return Preferences{}, err
		}
		cur, _, err := s.store.pref(ctx, key)
		if err != nil {
			return Preferences{}, err
		}
		if cur.RemindersOff == !on {
			continue
		}
		if err := s.store.setPref(ctx, key, "reminders_off", !on, s.now()); err != nil {
			return Preferences{}, err
		}
		changed = true
	}
	if changed {
		action := "messages.reminders_off"
		if on {
			action = "messages.reminders_on"
		}
		s.record(ctx, AuditEntry{Actor: by, Action: action, Target: "recipient/" + keys[0], Fields: []string{"reminders"}})
	}
	return Preferences{Reminders: on}, nil
}
