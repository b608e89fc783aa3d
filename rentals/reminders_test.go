package rentals

import "testing"

func TestReminderOn(t *testing.T) {
	active := OpenLease{State: LeaseActive, DueOn: "2026-03-10"}
	overdue := OpenLease{State: LeaseOverdue, DueOn: "2026-03-10"}
	returned := OpenLease{State: LeaseReturned, DueOn: "2026-03-10"}
	for _, tc := range []struct {
		name    string
		lease   OpenLease
		day     string
		event   string
		overdue bool
		days    int
	}{
		{"four days left: nothing yet", active, "2026-03-06", "", false, 0},
		{"three days left", active, "2026-03-07", ReminderDueSoon, false, 3},
		{"one day left (a short lease)", active, "2026-03-09", ReminderDueSoon, false, 1},
		{"due today: nothing", active, "2026-03-10", "", false, 0},
		{"first day overdue, not yet marked", active, "2026-03-11", ReminderOverdue1d, true, 1},
		{"sixth day overdue", overdue, "2026-03-16", ReminderOverdue1d, true, 6},
		{"seventh day overdue", overdue, "2026-03-17", ReminderOverdue7d, true, 7},
		{"thirtieth day overdue", overdue, "2026-04-09", ReminderOverdue7d, true, 30},
		{"returned leases are owed nothing", returned, "2026-03-17", "", false, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ev, od, days, ok := reminderOn(tc.lease, tc.day)
			if ok != (tc.event != "") || ev != tc.event || od != tc.overdue || days != tc.days {
				t.Fatalf("reminderOn = %q %v %d %v, want %q %v %d", ev, od, days, ok, tc.event, tc.overdue, tc.days)
			}
		})
	}
}
