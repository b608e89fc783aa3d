package demo

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"fuju/cmd/internal/app"
	"fuju/internal/l10n"
	"fuju/internal/tenancy"
	"fuju/rentals"
	"fuju/stations"
)

// The demo city's year of history: every operator lends devices to
// tier-verified and paying renters through the twelve months before this
// one, through the real desk (check-out, some extensions, returns on time
// or late, fine, dirty or damaged, repairs and cleaning), with the
// services' clocks set to each moment. So the dashboards have a year of
// shapes and every operator two (and more) monthly statements with lines
// on first start. Every lease is back and every unit available again
// before today; the same seed gives the same history (relative to today).

// HistoryLeasesPerMonth is how many leases each operator makes a month.
const HistoryLeasesPerMonth = 2

// historyStart is the first day of the history: the month twelve months
// before this one.
func historyStart(now time.Time) time.Time {
	return time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, l10n.Local).AddDate(0, -12, 0)
}

// historyRenter is one of an operator's regular renters.
type historyRenter struct {
	id   string
	name string
}

var historyNames = []string{"刘凤英", "陈志强", "杨淑珍", "黄德胜", "郭秀兰", "马玉林", "何春梅", "高文华", "林桂芳", "罗永福", "梁慧敏", "宋家和"}

// historyLease is one lease of the history and the moments of its steps.
type historyLease struct {
	op, station      string
	renter           historyRenter
	tier             rentals.Tier
	days, extend     int
	start, ext, back time.Time
	repair, clean    time.Time
	outcome          rentals.Outcome
	damageFen        int64
	unit             string
	lease            rentals.Lease
}

func seedHistory(ctx context.Context, a *app.App, now time.Time) error {
	rng := rand.New(rand.NewPCG(2026, 12))
	start := historyStart(now)
	first := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, l10n.Local)
	// Leases come back three days before today at the latest, so a repair
	// and the cleaning after it are over by yesterday.
	cut := now.AddDate(0, 0, -3)
	lastBack := time.Date(cut.Year(), cut.Month(), cut.Day(), 10, 0, 0, 0, l10n.Local)
	seed := tenancy.Actor{ID: "seed", Name: "Demo data", Role: "system"}
	at := start
	clock := func() time.Time { return at.UTC() }
	a.Rentals.SetClock(clock)
	a.Stations.SetClock(clock)
	defer a.Rentals.SetClock(func() time.Time { return time.Now().UTC() })

	// Each operator's regular renters, registered on the history's first
	// day; tiers verified until a year after today.
	tiers := []rentals.Tier{rentals.Subsistence, rentals.LowIncome, rentals.Standard, rentals.Subsistence}
	renters := map[string][]historyRenter{}
	tierOf := map[string]rentals.Tier{}
	n := 0
	for _, o := range Operators {
		var home string
		for _, st := range Stations {
			if st.op == o.ID {
				home = st.ID
				break
			}
		}
		scope := tenancy.OperatorScope(o.ID)
		for i := range 4 {
			name := historyNames[n%len(historyNames)]
			born := time.Date(1940+n, time.Month(1+n%12), 3+n, 0, 0, 0, 0, l10n.Local)
			r, err := a.Rentals.RegisterRenter(ctx, scope, rentals.Renter{Name: name, Phone: fmt.Sprintf("139000006%02d", n),
				IDNumber: idNumber(born, 600+n), Age: now.Year() - born.Year(), Address: "焦作市", MobilityNeeds: "行走不便",
				EmergencyContact: rentals.Contact{Name: "家属", Phone: fmt.Sprintf("138000006%02d", n)},
				HomeStationID:    home, HomeOperatorID: o.ID}, seed)
			if err != nil {
				return fmt.Errorf("renter %d: %w", n, err)
			}
			tier := tiers[i]
			if tier != rentals.Standard {
				proof := rentals.ProofDibaoCard
				if tier == rentals.LowIncome {
					proof = rentals.ProofLowIncomeCertificate
				}
				if _, err := a.Rentals.VerifyTier(ctx, scope, r.ID, rentals.TierProof{Tier: tier, ProofType: proof,
					ProofNumber: fmt.Sprintf("JZ%d-%04d", start.Year(), 600+n), ProofPhotoKey: "proofs/demo/" + r.ID + ".jpg",
					ExpiresOn: now.AddDate(1, 0, 0).Format(time.DateOnly)}, seed); err != nil {
					return fmt.Errorf("tier %d: %w", n, err)
				}
			}
			renters[o.ID] = append(renters[o.ID], historyRenter{id: r.ID, name: name})
			tierOf[r.ID] = tier
			n++
		}
	}

	// The schedule: HistoryLeasesPerMonth leases per operator and month,
	// on weekdays between 09:00 and 16:00.
	var leases []*historyLease
	for m := start; m.Before(first); m = m.AddDate(0, 1, 0) {
		for _, o := range Operators {
			var sts []string
			for _, st := range Stations {
				if st.op == o.ID {
					sts = append(sts, st.ID)
				}
			}
			for range HistoryLeasesPerMonth {
				t := m.AddDate(0, 0, rng.IntN(26)).Add(time.Duration(9*60+rng.IntN(7*60)) * time.Minute)
				for t.Weekday() == time.Saturday || t.Weekday() == time.Sunday {
					t = t.AddDate(0, 0, 1)
				}
				rs := renters[o.ID]
				r := rs[rng.IntN(len(rs))]
				l := &historyLease{op: o.ID, station: sts[rng.IntN(len(sts))], renter: r, tier: tierOf[r.id],
					days: 7 + rng.IntN(34), start: t, outcome: rentals.OutcomeOK}
				due := t.AddDate(0, 0, l.days)
				if rng.IntN(4) == 0 {
					l.extend = 7 + rng.IntN(8)
					l.ext = due.AddDate(0, 0, -2)
					due = due.AddDate(0, 0, l.extend)
				}
				l.back = due.Add(-time.Duration(rng.IntN(48)) * time.Hour)
				if rng.IntN(5) == 0 {
					l.back = due.AddDate(0, 0, 1+rng.IntN(6)) // late
				}
				if l.back.After(lastBack) {
					l.back = lastBack
					if l.ext.After(l.back) || !l.ext.After(l.start) {
						l.extend, l.ext = 0, time.Time{}
					}
				}
				if !l.back.After(l.start) {
					continue
				}
				switch k := rng.IntN(10); {
				case k == 0:
					l.outcome, l.damageFen = rentals.OutcomeDamaged, int64(20+rng.IntN(80))*100
				case k == 1:
					l.outcome = rentals.OutcomeNeedsCleaning
				}
				l.clean = l.back.Add(3 * time.Hour)
				if l.outcome == rentals.OutcomeDamaged {
					l.repair = l.back.Add(26 * time.Hour)
					l.clean = l.repair.Add(20 * time.Hour)
				}
				leases = append(leases, l)
			}
		}
	}

	// The units each station may lend (available from the start, no beds)
	// and when each is free again.
	free := map[string]time.Time{}
	pool := map[string][]string{}
	for _, st := range Stations {
		units, _, err := a.Stations.Units(ctx, stations.UnitFilter{StationID: st.ID, State: stations.Available}, 0, 0)
		if err != nil {
			return err
		}
		for _, u := range units {
			if u.ProductID != "bed-electric" {
				pool[st.ID] = append(pool[st.ID], u.Tag)
			}
		}
		slices.Sort(pool[st.ID])
	}

	type step struct {
		at   time.Time
		kind int // 0 check-out, 1 extend, 2 return, 3 repaired, 4 cleaned; demand: 5 reserve, 6 cancel, 7 expire holds, 8 join, 9 leave
		l    *historyLease
		d    *historyDemand
	}
	var steps []step
	// Demand (demandPlan): reservations cancelled or not collected, a
	// place on the station's queue offered the cancelled unit, which it
	// lets lapse, and a place on a district's queue left without an offer.
	res := rentals.NewReservations(a.DB.Database, a.Rentals, a.Stations, nil) // no messages about the past
	for _, d := range demandPlan(start, first, renters) {
		switch d.kind {
		case demandCancel:
			steps = append(steps, step{at: d.reserve, kind: 5, d: d}, step{at: d.slot.Add(-2 * time.Hour), kind: 6, d: d},
				step{at: d.slot.Add(26 * time.Hour), kind: 7, d: d})
		case demandNoShow:
			steps = append(steps, step{at: d.reserve, kind: 5, d: d}, step{at: d.slot.Add(3 * time.Hour), kind: 7, d: d})
		case demandJoin:
			steps = append(steps, step{at: d.reserve, kind: 8, d: d})
			if !d.leave.IsZero() {
				steps = append(steps, step{at: d.leave, kind: 9, d: d})
			}
		}
	}
	for _, l := range leases {
		steps = append(steps, step{at: l.start, kind: 0, l: l}, step{at: l.back, kind: 2, l: l}, step{at: l.clean, kind: 4, l: l})
		if l.extend > 0 {
			steps = append(steps, step{at: l.ext, kind: 1, l: l})
		}
		if !l.repair.IsZero() {
			steps = append(steps, step{at: l.repair, kind: 3, l: l})
		}
	}
	slices.SortStableFunc(steps, func(x, y step) int {
		if c := x.at.Compare(y.at); c != 0 {
			return c
		}
		return x.kind - y.kind
	})
	for _, s := range steps {
		if s.d != nil {
			at = s.at
			if err := demandStep(ctx, a, res, s.kind, s.d, at, free); err != nil {
				return err
			}
			continue
		}
		l := s.l
		if s.kind != 0 && l.unit == "" {
			continue // no unit was free at its station
		}
		at = s.at
		scope := tenancy.OperatorScope(l.op)
		switch s.kind {
		case 0:
			for _, tag := range pool[l.station] {
				if !free[tag].After(l.start) {
					l.unit = tag
					free[tag] = l.clean.Add(time.Hour)
					break
				}
			}
			if l.unit == "" {
				continue
			}
			u, err := a.Stations.Unit(ctx, l.unit)
			if err != nil {
				return err
			}
			q, err := a.Rentals.QuoteFor(ctx, scope, rentals.QuoteRequest{RenterID: l.renter.id, ProductID: u.ProductID, Days: l.days})
			if err != nil {
				return err
			}
			if l.lease, err = a.Rentals.Checkout(ctx, scope, rentals.CheckoutRequest{UnitTag: l.unit, RenterID: l.renter.id, Days: l.days,
				Payments: demoPay(q.DueNowFen), TermsVersion: "2026-11", AcceptedName: l.renter.name, StationID: l.station}, seed); err != nil {
				return fmt.Errorf("lease of %s on %s: %w", l.unit, rentals.Date(at), err)
			}
		case 1:
			q, err := a.Rentals.ExtensionQuote(ctx, scope, l.lease.ID, l.extend)
			if err != nil {
				return err
			}
			if _, err := a.Rentals.Extend(ctx, scope, l.lease.ID, l.extend, demoPay(q.DueNowFen), seed); err != nil {
				return fmt.Errorf("extension of %s: %w", l.lease.ID, err)
			}
		case 2:
			req := rentals.CheckinRequest{UnitTag: l.unit, StationID: l.station, Outcome: l.outcome, DamageFen: l.damageFen,
				RefundMethod: rentals.PayCash}
			if l.damageFen > 0 {
				req.Notes = "扶手松动 / armrest loose"
			}
			pre, err := a.Rentals.PreviewCheckin(ctx, scope, req)
			if err != nil {
				return err
			}
			if pre.OwedFen > 0 {
				req.Payments = []rentals.Payment{{Method: rentals.PayCash, AmountFen: pre.OwedFen}}
			}
			if _, err := a.Rentals.Checkin(ctx, scope, req, seed); err != nil {
				return fmt.Errorf("return of %s: %w", l.lease.ID, err)
			}
		case 3:
			if _, err := a.Stations.Repaired(ctx, scope, l.unit, "更换扶手 / new armrest", 3000, seed); err != nil {
				return err
			}
		case 4:
			u, err := a.Stations.Unit(ctx, l.unit)
			if err != nil {
				return err
			}
			if _, err := a.Stations.Clean(ctx, scope, l.unit, stations.CleaningRecord{Method: stations.CleaningMethods[0],
				Checklist: a.Stations.CleaningChecklist(u.ProductID)}, seed); err != nil {
				return err
			}
		}
	}
	return nil
}

// historyDemand is one reservation or waitlist place of the history.
type historyDemand struct {
	kind          int
	op, station   string
	district      string
	product       string
	renter        historyRenter
	user          string
	reserve, slot time.Time // reserved (or joined) at, and the pickup slot
	leave         time.Time // a place leaves the queue
	reservation   string
	waitFor       *historyDemand // a place on the cancelled reservation's queue
	entry         string
}

const (
	demandCancel = iota // reserved, cancelled by the family before the slot; its unit is offered to the place waiting
	demandNoShow        // reserved, never collected
	demandJoin          // a place on a district's queue, left without an offer
)

// demandPlan schedules, per operator and month, a reservation the family
// cancels (a place on that station's queue is offered the unit and lets
// the offer lapse), one nobody collects, and a place on a district's queue
// where it has no station, which leaves after some days without an offer
// (unmet demand). Slots are at 10:00 on weekdays; days 2–9 and 16–23 of the
// month keep a station's holds apart.
func demandPlan(start, first time.Time, renters map[string][]historyRenter) []*historyDemand {
	rng := rand.New(rand.NewPCG(2026, 13))
	weekday := func(t time.Time) time.Time {
		for t.Weekday() == time.Saturday || t.Weekday() == time.Sunday {
			t = t.AddDate(0, 0, 1)
		}
		return t
	}
	var out []*historyDemand
	for m := start; m.Before(first); m = m.AddDate(0, 1, 0) {
		for oi, o := range Operators {
			var sts []Station
			for _, st := range Stations {
				if st.op == o.ID {
					sts = append(sts, st)
				}
			}
			rs := renters[o.ID]
			pick := func() historyRenter { return rs[rng.IntN(len(rs))] }
			st := sts[rng.IntN(len(sts))]
			c := weekday(m.AddDate(0, 0, 1+rng.IntN(8)).Add(10 * time.Hour))
			cancel := &historyDemand{kind: demandCancel, op: o.ID, station: st.ID, renter: pick(), slot: c, reserve: c.Add(-19 * time.Hour)}
			wait := &historyDemand{kind: demandJoin, op: o.ID, station: st.ID, renter: pick(), reserve: c.Add(-18 * time.Hour)}
			for wait.renter == cancel.renter && len(rs) > 1 {
				wait.renter = pick()
			}
			cancel.waitFor = wait
			st2 := sts[rng.IntN(len(sts))]
			n := weekday(m.AddDate(0, 0, 15+rng.IntN(8)).Add(10*time.Hour + 30*time.Minute))
			noShow := &historyDemand{kind: demandNoShow, op: o.ID, station: st2.ID, renter: pick(), slot: n, reserve: n.Add(-20 * time.Hour)}
			j := m.AddDate(0, 0, rng.IntN(20)).Add(time.Duration(9+rng.IntN(8)) * time.Hour)
			// A district without a station of the operator: nothing is in
			// reach, so no offer ever comes.
			var far []string
			for _, x := range Stations {
				if !slices.ContainsFunc(sts, func(y Station) bool { return y.district == x.district }) && !slices.Contains(far, x.district) {
					far = append(far, x.district)
				}
			}
			if len(far) == 0 {
				continue
			}
			var product string
			for _, p := range Products {
				if p.P.OperatorID == o.ID {
					product = p.P.ID
					break
				}
			}
			unmet := &historyDemand{kind: demandJoin, op: o.ID, district: far[(oi+rng.IntN(len(far)))%len(far)], product: product, renter: pick(), reserve: j,
				leave: j.AddDate(0, 0, 2+rng.IntN(9))}
			out = append(out, cancel, wait, noShow)
			if unmet.product != "" {
				out = append(out, unmet)
			}
		}
	}
	return out
}

// demandStep makes one step of the demand history at the clock's time.
// The hold's unit is marked busy in free, so no history lease takes it.
// A step the rules refuse (a slot on a holiday, a renter blocked) is left
// out: the history stays deterministic either way.
func demandStep(ctx context.Context, a *app.App, res *rentals.Reservations, kind int, d *historyDemand, at time.Time, free map[string]time.Time) error {
	link := func(r historyRenter) string {
		user := "demo-family-" + r.id
		if _, err := a.Rentals.LinkUser(ctx, r.id, user, tenancy.Actor{ID: "seed", Name: "Demo data", Role: "system"}); err != nil {
			return ""
		}
		return user
	}
	switch kind {
	case 5: // reserve a unit of a product free at the station
		d.user = link(d.renter)
		units, _, err := a.Stations.Units(ctx, stations.UnitFilter{StationID: d.station, State: stations.Available}, 0, 0)
		if err != nil {
			return err
		}
		for _, u := range units {
			if u.ProductID == "bed-electric" || free[u.Tag].After(at) {
				continue
			}
			x, err := res.Reserve(ctx, d.user, rentals.ReserveRequest{RenterID: d.renter.id, ProductID: u.ProductID, StationID: d.station,
				Mode: rentals.Pickup, Slot: d.slot})
			if err != nil {
				return nil
			}
			d.reservation, d.product = x.ID, x.ProductID
			free[x.UnitTag] = d.slot.Add(28 * time.Hour)
			if w := d.waitFor; w != nil {
				w.product = x.ProductID
			}
			break
		}
	case 6: // the family cancels; the unit is offered to the place waiting
		if d.reservation != "" {
			if _, err := res.CancelMine(ctx, d.user, d.reservation); err != nil {
				return fmt.Errorf("demo demand: cancel %s: %w", d.reservation, err)
			}
		}
	case 7: // holds past their end expire: a no-show, or an offer lapsed
		if _, err := res.ExpireHolds(ctx); err != nil {
			return fmt.Errorf("demo demand: expire holds: %w", err)
		}
	case 8: // join a queue
		if d.product == "" {
			return nil
		}
		d.user = link(d.renter)
		w, err := res.JoinWaitlist(ctx, d.user, rentals.JoinRequest{RenterID: d.renter.id, ProductID: d.product, StationID: d.station, District: d.district})
		if err != nil {
			return nil
		}
		d.entry = w.ID
		// Offered at once (a unit was free): that unit is held until the
		// offer lapses.
		if w.ReservationID != "" {
			x, err := res.Reservation(ctx, tenancy.PlatformScope, w.ReservationID)
			if err != nil {
				return err
			}
			free[x.UnitTag] = at.Add(48 * time.Hour)
		}
	case 9: // leave the queue
		if d.entry != "" && !d.leave.IsZero() {
			if _, err := res.LeaveWaitlist(ctx, d.user, d.entry); err != nil {
				return fmt.Errorf("demo demand: leave %s: %w", d.entry, err)
			}
		}
	}
	return nil
}
