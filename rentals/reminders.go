package rentals

import (
	"context"
	"errors"
	"time"
)

// Lease reminders: the renter is told three days before a lease is due, and
// again on the first and the seventh day it is overdue. This file decides
// which reminder each open lease is owed on a day; the outbox (package
// messages, through cmd's wiring) writes each one once per (lease, event,
// recipient), holds it through quiet hours and drops it for people who turned
// reminders off.

// Reminder events, the last segment of a reminder's event id
// (lease/<id>/<event>).
const (
	ReminderDueSoon   = "due-3d"
	ReminderOverdue1d = "overdue-1d"
	ReminderOverdue7d = "overdue-7d"
)

// dueSoonDays is how many days before the due date the first reminder goes.
const dueSoonDays = 3

// LeaseReminder is one reminder an open lease is owed today.
type LeaseReminder struct {
	// Event is the reminder's event id, lease/<id>/due-3d and so on: one per
	// occasion, so enqueueing it again writes nothing.
	Event string
	// Reminder is ReminderDueSoon, ReminderOverdue1d or ReminderOverdue7d.
	Reminder string
	// Overdue says the lease is past its due date; Days is then how many
	// days it is overdue, else how many days remain.
	Overdue bool
	Days    int
	LeaseID string
	DueOn   string
	// RenterID is who rents; UserID the online account linked to them
	// (empty when none), RenterPhone the renter's own number (may be empty).
	RenterID, UserID, RenterPhone string
	OperatorID, StationID         string
	ProductID                     string
}

// reminderOn returns the reminder an open lease is owed on day (YYYY-MM-DD):
// due-3d while 1 to 3 days remain (fewer when the lease was shorter), overdue-1d
// from the first day overdue, overdue-7d from the seventh. A lease already
// returned, lost or cancelled is owed nothing.
func reminderOn(o OpenLease, day string) (event string, overdue bool, days int, ok bool) {
	if o.State != LeaseActive && o.State != LeaseOverdue {
		return "", false, 0, false
	}
	left := daysBetween(day, o.DueOn)
	switch {
	case left >= 1 && left <= dueSoonDays:
		return ReminderDueSoon, false, left, true
	case left <= -7:
		return ReminderOverdue7d, true, -left, true
	case left <= -1:
		return ReminderOverdue1d, true, -left, true
	}
	return "", false, 0, false
}

// LeaseReminders lists the reminders the open leases are owed on the city
// date of now, with the renter's linked account and phone. It writes nothing:
// the caller enqueues each reminder, and the outbox's message ids make a
// second pass (or a second instance) write nothing new.
func (s *Service) LeaseReminders(ctx context.Context, now time.Time) ([]LeaseReminder, error) {
	docs, err := s.leaseDB.listOpen(ctx, "", "")
	if err != nil {
		return nil, err
	}
	day := Date(now)
	out := []LeaseReminder{}
	for _, d := range docs {
		o := d.toOpenLease()
		ev, overdue, days, ok := reminderOn(o, day)
		if !ok {
			continue
		}
		r, err := s.currentRenter(ctx, o.RenterID)
		if errors.Is(err, ErrNotFound) {
			continue // nobody to tell
		}
		if err != nil {
			return nil, err
		}
		out = append(out, LeaseReminder{
			Event: "lease/" + o.ID + "/" + ev, Reminder: ev, Overdue: overdue, Days: days, LeaseID: o.ID, DueOn: o.DueOn,
			RenterID: o.RenterID, UserID: r.UserID, RenterPhone: r.Phone,
			OperatorID: o.OperatorID, StationID: o.StationID, ProductID: o.ProductID,
		})
	}
	return out, nil
}
