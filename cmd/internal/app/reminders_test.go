package app

import (
	"context"
	"strings"
	"testing"
	"time"

	"fuju/accounts"
	"fuju/catalog"
	"fuju/internal/l10n"
	"fuju/internal/tenancy"
	"fuju/messages"
	"fuju/rentals"
	"fuju/stations"
)

// idNumber makes a valid 18-character ID number from a 17-digit body.
func idNumber(body string) string {
	w := [17]int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}
	sum := 0
	for i := range 17 {
		sum += int(body[i]-'0') * w[i]
	}
	return body + string("10X98765432"[sum%11])
}

// The lease reminders job writes "due in 3 days", "overdue 1 day" and
// "overdue 7 days" once each to the renter's linked account and to the
// renter's own number, on the days they are due by the injected clock, and
// writes nothing for a family that turned reminders off.
func TestLeaseReminders(t *testing.T) {
	a := open(t, map[string]string{})
	ctx := context.Background()
	// Monday 2 March 2026, 10:00 in the city.
	now := time.Date(2026, 3, 2, 10, 0, 0, 0, l10n.Local)
	a.Rentals.SetClock(func() time.Time { return now })
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	_, err := a.Stations.CreateOperator(ctx, stations.Operator{ID: "op-a", Name: l10n.Text{Zh: "甲", En: "A"}}, tenancy.System)
	must(err)
	st, err := a.Stations.CreateStation(ctx, stations.Station{ID: "north", OperatorID: "op-a", Name: l10n.Text{Zh: "北站", En: "North"},
		Address: l10n.Text{Zh: "路", En: "Road"}, District: "shanyang", Hours: stations.StandardHours(), Active: true, Lat: 35.3, Lng: 113.24})
	must(err)
	_, err = a.Catalog.Create(ctx, tenancy.PlatformScope, catalog.Product{ID: "walker", OperatorID: "op-a", Category: "walker",
		Name: l10n.Text{Zh: "助行架", En: "Walker"}, Rate: catalog.RatePlan{DailyFen: 200, Block30Fen: 3000}}, tenancy.System)
	must(err)
	for _, tag := range []string{"JZ-WK-0001", "JZ-WK-0002", "JZ-WK-0003"} {
		_, err = a.Stations.CreateUnit(ctx, stations.Unit{Tag: tag, ProductID: "walker", StationID: st.ID}, tenancy.System)
		must(err)
	}
	clerk := tenancy.Actor{ID: "u-staff", Name: "张", Role: "staff"}
	scope := tenancy.OperatorScope("op-a")
	family := func(n int, elderPhone string) (accounts.User, rentals.Renter) {
		t.Helper()
		u, err := a.Auth.SignUp(ctx, accounts.NewUser{Name: "女儿", Phone: "1370000000" + string(rune('0'+n)), Password: "fuju-demo-2026", Role: accounts.Renter})
		must(err)
		r, err := a.Rentals.RegisterRenter(ctx, scope, rentals.Renter{Name: "王大爷", Phone: elderPhone,
			IDNumber: idNumber("41080219400101" + "00" + string(rune('0'+n))), Address: "解放区民主路1号", Age: 80,
			EmergencyContact: rentals.Contact{Name: "女儿", Phone: "13700000009"}, HomeStationID: st.ID}, clerk)
		must(err)
		_, err = a.Rentals.LinkUser(ctx, r.ID, u.ID, clerk)
		must(err)
		return u, r
	}
	checkout := func(r rentals.Renter, tag string) rentals.Lease {
		t.Helper()
		q, err := a.Rentals.QuoteFor(ctx, scope, rentals.QuoteRequest{RenterID: r.ID, ProductID: "walker", Days: 7})
		must(err)
		l, err := a.Rentals.Checkout(ctx, scope, rentals.CheckoutRequest{UnitTag: tag, RenterID: r.ID, Days: 7, StationID: st.ID,
			Payments: []rentals.Payment{{Method: rentals.PayCash, AmountFen: q.DueNowFen}}, TermsVersion: "2026-01", AcceptedName: r.Name}, clerk)
		must(err)
		return l
	}
	u1, r1 := family(1, "13900000001")
	u2, r2 := family(2, "13700000002") // the elder gave the daughter's number
	u3, r3 := family(3, "13900000003") // a family that reads English
	l1 := checkout(r1, "JZ-WK-0001")
	checkout(r2, "JZ-WK-0002")
	checkout(r3, "JZ-WK-0003")
	must(a.Messages.SetLang(ctx, messages.UserKey(u3.ID), messages.English))
	// The second family turns reminders off before anything is due.
	_, err = a.Messages.SetReminders(ctx, messages.Actor{ID: u2.ID, Role: "renter"}, messages.UserKey(u2.ID), false)
	must(err)

	run := func(day time.Time, want int) {
		t.Helper()
		n, err := a.RemindLeases(ctx, day)
		must(err)
		if n != want {
			t.Fatalf("on %s the job wrote %d messages, want %d", day.Format(time.DateOnly), n, want)
		}
	}
	day := func(n int) time.Time { return now.AddDate(0, 0, n) }
	run(day(0), 0) // due on 9 March: 7 days left
	run(day(3), 0)
	run(day(4), 4) // 3 days left: the accounts and the elders' own phones
	run(day(4), 0) // once per (lease, event, recipient)
	run(day(5), 0)
	run(day(8), 4) // first day overdue
	run(day(13), 0)
	run(day(14), 4) // seventh day overdue
	run(day(20), 0)

	inbox, total, err := a.Messages.Inbox(ctx, messages.UserKey(u1.ID), 0, 10)
	must(err)
	if total != 3 {
		t.Fatalf("the account's inbox has %d messages, want 3: %+v", total, inbox)
	}
	wantEvents := []string{"lease/" + l1.ID + "/overdue-7d", "lease/" + l1.ID + "/overdue-1d", "lease/" + l1.ID + "/due-3d"}
	for i, m := range inbox {
		if m.Event != wantEvents[i] {
			t.Errorf("inbox[%d] is %s, want %s", i, m.Event, wantEvents[i])
		}
		if m.Phone != "137****0001" || !strings.Contains(m.Text, "助行架") {
			t.Errorf("inbox[%d] = %+v", i, m)
		}
	}
	if inbox[0].Kind != messages.LeaseOverdue || inbox[2].Kind != messages.LeaseDueSoon {
		t.Errorf("kinds %s, %s", inbox[0].Kind, inbox[2].Kind)
	}
	_, elder, err := a.Messages.Inbox(ctx, messages.RenterKey(r1.ID), 0, 10)
	must(err)
	if elder != 3 {
		t.Errorf("the elder's own number got %d messages, want 3", elder)
	}
	for _, key := range []string{messages.UserKey(u2.ID), messages.RenterKey(r2.ID)} {
		if _, n, err := a.Messages.Inbox(ctx, key, 0, 10); err != nil || n != 0 {
			t.Errorf("%s, who turned reminders off, has %d messages (%v)", key, n, err)
		}
	}
	// The English-reading family, and the elder it looks after (who never
	// chose a language), are written to in English; the others in Chinese.
	for _, key := range []string{messages.UserKey(u3.ID), messages.RenterKey(r3.ID)} {
		got, n, err := a.Messages.Inbox(ctx, key, 0, 10)
		must(err)
		if n != 3 {
			t.Fatalf("%s got %d reminders, want 3", key, n)
		}
		for _, m := range got {
			if m.Lang != messages.English || !strings.Contains(m.Text, "Walker") || strings.Contains(m.Text, "助行架") {
				t.Errorf("%s: %s reminder in %s: %q", key, m.Event, m.Lang, m.Text)
			}
		}
	}

	// A tier decision or a tier about to end follows the same choice.
	_, err = a.Rentals.VerifyTier(ctx, scope, r3.ID, rentals.TierProof{Tier: rentals.LowIncome, ProofType: rentals.ProofLowIncomeCertificate,
		ProofNumber: "DB-3", ProofPhotoKey: "proofs/x.jpg", ExpiresOn: day(20).Format(time.DateOnly)}, clerk)
	must(err)
	_, err = a.Rentals.VerifyTier(ctx, scope, r1.ID, rentals.TierProof{Tier: rentals.LowIncome, ProofType: rentals.ProofLowIncomeCertificate,
		ProofNumber: "DB-1", ProofPhotoKey: "proofs/x.jpg", ExpiresOn: day(20).Format(time.DateOnly)}, clerk)
	must(err)
	if n, err := a.Rentals.RemindTierExpiring(ctx); err != nil || n != 2 {
		t.Fatalf("tier reminders: %d, %v; want 2", n, err)
	}
	for _, x := range []struct {
		r    rentals.Renter
		lang messages.Lang
		word string
	}{{r3, messages.English, "low"}, {r1, messages.Chinese, "低收入"}} {
		got, _, err := a.Messages.Inbox(ctx, messages.RenterKey(x.r.ID), 0, 1)
		must(err)
		if len(got) != 1 || got[0].Kind != messages.TierExpiring || got[0].Lang != x.lang || !strings.Contains(strings.ToLower(got[0].Text), x.word) {
			t.Errorf("tier ending for %s: %+v, want in %s with %q", x.r.ID, got, x.lang, x.word)
		}
	}
}
