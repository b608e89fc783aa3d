package app

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"regexp"
	"time"

	"fuju/accounts"
	"fuju/messages"
	"fuju/rentals"
)

// RemindLeases is the lease reminders job: it enqueues the reminders the
// open leases are owed on the city date of now (due in 3 days, overdue on
// day 1 and day 7) and returns how many it wrote. Each goes to the renter's
// linked account and, when the renter has a number of their own, to that
// number too. A family that turned reminders off on their account is
// written nothing. Message ids are (event, recipient), so every instance
// may run it on every pass: what exists is skipped with one read by _id.
func (a *App) RemindLeases(ctx context.Context, now time.Time) (int, error) {
	due, err := a.Rentals.LeaseReminders(ctx, now)
	if err != nil {
		return 0, err
	}
	written := 0
	for _, r := range due {
		to, err := a.reminderRecipients(ctx, r)
		if err != nil {
			return written, err
		}
		if len(to) == 0 {
			continue
		}
		p, _ := a.Catalog.Lookup(r.ProductID)
		kind := messages.LeaseDueSoon
		if r.Overdue {
			kind = messages.LeaseOverdue
		}
		for _, rcpt := range to {
			if _, err := a.Messages.Message(ctx, messages.ID(r.Event, rcpt.Key)); err == nil {
				continue
			} else if !errors.Is(err, messages.ErrNotFound) {
				return written, err
			}
			_, err := a.Messages.Enqueue(ctx, messages.NewMessage{
				Event: r.Event, Kind: kind, To: rcpt, OperatorID: r.OperatorID, StationID: r.StationID,
				Params: messages.Params{Product: messages.Text(p.Name), Date: r.DueOn, Days: r.Days},
			})
			if err != nil {
				return written, fmt.Errorf("app: lease reminder %s: %w", r.Event, err)
			}
			written++
		}
	}
	return written, nil
}

// reminderRecipients are who a lease reminder goes to: the linked account
// (its inbox, its number), and the renter's own number when it is another.
// None when the account holder, or the renter themselves, turned reminders
// off: the choice is honoured when the message would be written. Each is
// written in the language its reader last used with us; the renter's own
// number, when the renter never used the service themselves, in the
// language of the family that looks after them.
func (a *App) reminderRecipients(ctx context.Context, r rentals.LeaseReminder) ([]messages.Recipient, error) {
	var to []messages.Recipient
	accountPhone, familyLang := "", messages.Lang("")
	if r.UserID != "" {
		key := messages.UserKey(r.UserID)
		p, err := a.Messages.Preferences(ctx, key)
		if err != nil || !p.Reminders {
			return nil, err
		}
		familyLang = p.Lang
		u, err := a.Auth.User(ctx, r.UserID)
		if err != nil {
			return nil, err
		}
		if u.Phone != "" && u.Status == accounts.Active {
			accountPhone = u.Phone
			to = append(to, messages.Recipient{Key: key, Phone: u.Phone, Lang: cmp.Or(p.Lang, messages.Chinese)})
		}
	}
	if r.RenterPhone != "" && r.RenterPhone != accountPhone && mobile.MatchString(r.RenterPhone) {
		key := messages.RenterKey(r.RenterID)
		p, err := a.Messages.Preferences(ctx, key)
		if err != nil || !p.Reminders {
			return to, err
		}
		to = append(to, messages.Recipient{Key: key, Phone: r.RenterPhone, Lang: cmp.Or(p.Lang, familyLang, messages.Chinese)})
	}
	return to, nil
}

// mobile is a mainland mobile number: the desk may have written a landline
// for a renter, which no text message reaches.
var mobile = regexp.MustCompile(`^1[3-9]\d{9}$`)
