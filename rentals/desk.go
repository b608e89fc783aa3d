package rentals

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"fuju/internal/eventlog"
	"fuju/internal/ids"
	"fuju/internal/l10n"
	"fuju/internal/tenancy"
	"fuju/internal/valid"
	"fuju/stations"
)

// QuoteRequest asks what a lease would cost: for a known renter (their
// effective tier on Day and what is left of their annual subsidy cap) or for
// a tier alone.
type QuoteRequest struct {
	RenterID  string    `json:"renter_id"`
	Tier      Tier      `json:"tier"`
	ProductID string    `json:"product_id"`
	Days      int       `json:"days"`
	Day       time.Time `json:"day"`
}

// QuoteFor prices a lease under the current policy. With a renter, scope must
// see the renter (any view); the web layer acting for the renter themself
// passes tenancy.PlatformScope after checking the account's link.
func (s *Service) QuoteFor(ctx context.Context, scope tenancy.Scope, req QuoteRequest) (Quote, error) {
	prod, ok := s.products.Lookup(req.ProductID)
	if !ok {
		return Quote{}, fmt.Errorf("rentals: product %s: %w", req.ProductID, ErrNotFound)
	}
	day := req.Day
	if day.IsZero() {
		day = s.now()
	}
	pol := s.policies.InForce(day)
	tier := req.Tier
	var d renterDoc
	if req.RenterID != "" {
		var err error
		if d, _, err = s.visibleRenter(ctx, scope, req.RenterID); err != nil {
			return Quote{}, err
		}
		tier = d.Tier.On(day)
	}
	q, err := NewQuote(prod.Rate, req.Days, tier, pol)
	if err != nil || req.RenterID == "" || q.SubsidyFen == 0 {
		return q, err
	}
	q, _, err = s.planGrant(ctx, q, pol, s.personOf(d), "", day)
	return q, err
}

// dueOn returns the due date of a lease starting on start for days: start +
// days, moved to the station's next open day.
func dueOn(h stations.Hours, start time.Time, days int) string {
	s := start.In(l10n.Local)
	day := time.Date(s.Year(), s.Month(), s.Day(), 12, 0, 0, 0, l10n.Local).AddDate(0, 0, days)
	return Date(h.NextOpenDay(day))
}

func checkTag(e *valid.Error, tag string) string {
	tag = stations.NormalizeTag(tag)
	if !stations.ValidTag(tag) {
		e.Add("unit", "tag", "must be an asset tag like JZ-WC-0001")
	}
	return tag
}

// deskStation returns the desk's station if scope covers it.
func (s *Service) deskStation(ctx context.Context, scope tenancy.Scope, id string) (stations.Station, error) {
	st, err := s.units.Station(ctx, id)
	if errors.Is(err, stations.ErrNotFound) || err == nil && !scope.Station(st.OperatorID, st.ID) {
		return stations.Station{}, fmt.Errorf("rentals: station %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return stations.Station{}, fmt.Errorf("rentals: %w", err)
	}
	return st, nil
}

// deskUnit returns the unit if it belongs to the station's operator; another
// operator's unit is not found, whatever its state.
func (s *Service) deskUnit(ctx context.Context, st stations.Station, tag string) (stations.Unit, error) {
	u, err := s.units.Unit(ctx, tag)
	if errors.Is(err, stations.ErrNotFound) || err == nil && u.OperatorID != st.OperatorID {
		return stations.Unit{}, fmt.Errorf("rentals: unit %s: %w", tag, ErrNotFound)
	}
	if err != nil {
		return stations.Unit{}, fmt.Errorf("rentals: %w", err)
	}
	return u, nil
}

func entryBase(l Lease, day string, by tenancy.Actor) LedgerEntry {
	return LedgerEntry{LeaseID: l.ID, OperatorID: l.OperatorID, StationID: l.StationID, RenterID: l.RenterID,
		Tier: l.Tier, PolicyVersion: l.PolicyVersion, Day: day, By: by}
}

func paymentEntries(base LedgerEntry, ps []Payment) []LedgerEntry {
	var out []LedgerEntry
	for _, p := range ps {
		if p.AmountFen == 0 {
			continue
		}
		e := base
		e.Kind, e.AmountFen, e.Method, e.Reference = EntryPayment, p.AmountFen, p.Method, strings.TrimSpace(p.Reference)
		if p.Method == PayWaived {
			e.Kind = EntryWaiver
		}
		out = append(out, e)
	}
	return out
}

// Checkout hands a unit to a renter at the desk: the unit must be available
// at the desk's station (which scope must cover), the payments must total
// exactly the quote's DueNowFen (a payment without an amount is none). The unit's log makes it exclusive: of N
// desks checking out the last unit at once, one gets the lease and the others
// an error wrapping stations.ErrUnavailable (409). A loser leaves no lease
// anyone can list and no ledger entry: only its lease log (opened, then
// cancelled) and, for a subsidised renter, a subsidy grant and its release.
func (s *Service) Checkout(ctx context.Context, scope tenancy.Scope, req CheckoutRequest, by tenancy.Actor) (Lease, error) {
	return s.checkout(ctx, scope, req, by, "")
}

// checkout is Checkout; hold, when not empty, is the reservation whose
// reserved unit may be checked out (reservations.go: Fulfil), which no other
// checkout may take.
func (s *Service) checkout(ctx context.Context, scope tenancy.Scope, req CheckoutRequest, by tenancy.Actor, hold string) (Lease, error) {
	if err := scope.MayChange(tenancy.ChangeOther); err != nil {
		return Lease{}, err
	}
	now, today := s.today()
	req.Payments = givenPayments(req.Payments)
	e := &valid.Error{}
	tag := checkTag(e, req.UnitTag)
	if req.RenterID == "" {
		e.Add("renter_id", "required", "is required")
	}
	if req.StationID == "" {
		e.Add("station_id", "required", "is required")
	}
	e.Text("renter_id", req.RenterID, valid.MaxID).Text("station_id", req.StationID, valid.MaxID)
	checkPaymentTexts(e, "payments", req.Payments)
	days := req.Days
	switch {
	case req.DueOn != "" && req.Days != 0:
		e.Add("days", "exclusive", "give days or due_on, not both")
	case req.DueOn != "":
		if _, err := parseDate(req.DueOn); err != nil {
			e.Add("due_on", "date", "must be a date like 2026-01-31")
		} else if days = daysBetween(today, req.DueOn); days < 1 || days > MaxDays {
			e.Add("due_on", "due_range", fmt.Sprintf("must be 1 to %d days after today", MaxDays), "max", MaxDays)
		}
	case days < 1 || days > MaxDays:
		e.Add("days", "range", fmt.Sprintf("must be between 1 and %d", MaxDays), "min", 1, "max", MaxDays)
	}
	if n := textLen(strings.TrimSpace(req.TermsVersion)); n < 1 || n > valid.MaxCode {
		e.Add("terms_version", "length", fmt.Sprintf("is required (at most %d characters)", valid.MaxCode), "min", 1, "max", valid.MaxCode)
	}
	if n := textLen(strings.TrimSpace(req.AcceptedName)); n < 1 || n > valid.MaxPersonName {
		e.Add("accepted_name", "length", fmt.Sprintf("is required: who accepted the terms (at most %d characters)", valid.MaxPersonName), "min", 1, "max", valid.MaxPersonName)
	}
	if err := e.Err(); err != nil {
		return Lease{}, fmt.Errorf("rentals: checkout: %w", err)
	}
	st, err := s.deskStation(ctx, scope, req.StationID)
	if err != nil {
		return Lease{}, err
	}
	u, err := s.deskUnit(ctx, st, tag)
	if err != nil {
		return Lease{}, err
	}
	held := hold != "" && u.State == stations.Reserved && u.LeaseID == hold
	if u.State != stations.Available && !held {
		return Lease{}, fmt.Errorf("rentals: unit %s is %s: %w", tag, u.State, unitState(tag, u.State))
	}
	if u.StationID != st.ID {
		return Lease{}, fmt.Errorf("rentals: unit %s is at station %s, not this one: %w", tag, u.StationID,
			valid.Because(stations.ErrUnavailable, "unit_elsewhere", "tag", tag))
	}
	prod, ok := s.products.Lookup(u.ProductID)
	if !ok {
		return Lease{}, fmt.Errorf("rentals: product %s of unit %s: %w", u.ProductID, tag, ErrNotFound)
	}
	renter, _, err := s.visibleRenter(ctx, scope, req.RenterID)
	if err != nil {
		return Lease{}, err
	}
	pol := s.policies.InForce(now)
	tier := renter.Tier.On(now)
	base, err := NewQuote(prod.Rate, days, tier, pol)
	if err != nil {
		return Lease{}, err
	}
	id := ids.New("l")
	q, plan, marker, err := s.grantSubsidy(ctx, "checkout", base, pol, req.Payments, req.prepaidFen, s.personOf(renter), renter.ID, id, st.OperatorID, st.ID, now)
	if err != nil {
		return Lease{}, err
	}
	rule := pol.Tiers[tier]
	l := Lease{
		ID: id, State: LeaseOpening, UnitTag: tag, ProductID: u.ProductID, StationID: st.ID, OperatorID: st.OperatorID,
		RenterID: renter.ID, RenterName: renter.Name, RenterPhone: renter.Phone, Tier: tier,
		PolicyVersion: pol.Version, LateFees: rule.LateFees, LostAfterDays: pol.LostAfterDays,
		Rate: prod.Rate, Quote: q, Days: days, StartedAt: now, StartOn: today, DueOn: dueOn(st.Hours, now, days),
		Terms:       Terms{Version: strings.TrimSpace(req.TermsVersion), AcceptedName: strings.TrimSpace(req.AcceptedName), AcceptedAt: now},
		Payments:    append([]Payment{}, req.Payments...),
		StandardFen: q.StandardFen, RenterFen: q.RenterFen, SubsidyFen: q.SubsidyFen, DepositFen: q.DepositFen,
		By: by, CreatedAt: now,
	}
	if plan != nil {
		l.Grants = []SubsidyGrant{{Entity: plan.entity, Seq: plan.seq, AmountFen: plan.event.AmountFen}}
	}
	eb := entryBase(l, today, by)
	var entries []LedgerEntry
	add := func(kind EntryKind, fen int64, note string) {
		if fen > 0 {
			x := eb
			x.Kind, x.AmountFen, x.Note = kind, fen, note
			entries = append(entries, x)
		}
	}
	add(EntryRent, q.StandardFen, fmt.Sprintf("%d days", days))
	add(EntryDeposit, q.DepositFen, "")
	add(EntrySubsidy, q.SubsidyFen, string(tier))
	entries = append(entries, paymentEntries(eb, req.Payments)...)
	l.LedgerSeq = int64(len(entries))
	l.BalanceFen = Balance(entries)
	ev := leaseEvent{Kind: kindOpened, Lease: l, By: by, LedgerFrom: 1, Ledger: entries, UnitSeq: u.Seq, UnitTo: stations.Rented}
	if _, err := s.leaseLg.Append(ctx, id, 1, ev); err != nil {
		if errors.Is(err, eventlog.ErrTaken) {
			return Lease{}, fmt.Errorf("rentals: checkout %s took too long and was abandoned; try again: %w", id, valid.Because(ErrConflict, "abandoned"))
		}
		return Lease{}, fmt.Errorf("rentals: %w", err)
	}
	if err := s.crashPoint("checkout:opened"); err != nil {
		return Lease{}, err
	}
	got, _, err := s.advanceWith(ctx, id, modeWriter, &u)
	if err != nil {
		if errors.Is(err, stations.ErrUnavailable) {
			_ = s.leaseLg.Done(ctx, marker)
		}
		return Lease{}, err
	}
	if err := s.crashPoint("checkout:projected"); err != nil {
		return Lease{}, err
	}
	_ = s.leaseLg.Done(ctx, marker)
	if got.State != LeaseActive {
		return Lease{}, fmt.Errorf("rentals: checkout %s was abandoned (%s); try again: %w", id, got.State, valid.Because(ErrConflict, "abandoned"))
	}
	if hold == "" {
		// A reservation's check-out is audited as its fulfilment.
		s.auditLease(ctx, by, "lease.checkout", nil, got)
	}
	return got, nil
}

// writable reports whether scope may change a lease: it must cover the
// station it was checked out at or the one it was returned to.
func writable(scope tenancy.Scope, l Lease) bool {
	if scope.Station(l.OperatorID, l.StationID) {
		return true
	}
	return l.Return != nil && scope.Station(l.OperatorID, l.Return.StationID)
}

// stable returns a lease scope may change, after finishing whatever flow
// was left unfinished on it.
func (s *Service) stable(ctx context.Context, scope tenancy.Scope, id string) (Lease, eventlog.Entry[leaseEvent], error) {
	l, head, err := s.advance(ctx, id, modeInline)
	if errors.Is(err, ErrNotFound) || err == nil && (!l.Listed || !writable(scope, l)) {
		return Lease{}, head, fmt.Errorf("rentals: lease %s: %w", id, ErrNotFound)
	}
	return l, head, err
}

// Checkin takes a unit back at any station of its operator, with the
// inspection. The money is settled by settle (see Settlement), the one
// computation PreviewCheckin shows: late days (after the due date, city
// dates) cost the daily rate each for tiers whose policy charges late fees
// (not subsistence); damage is what staff enter. Charges are settled against
// the deposit: what is left is refunded (RefundMethod), what exceeds it is
// paid (Payments; rows without an amount are no payment) or stays as the
// lease's balance, and the lease stays returned until SettleLease brings it
// to zero. The unit goes to cleaning (ok, needs_cleaning) or repair (the
// rest), never straight to available.
func (s *Service) Checkin(ctx context.Context, scope tenancy.Scope, req CheckinRequest, by tenancy.Actor) (Lease, error) {
	if err := scope.MayChange(tenancy.ChangeCheckin); err != nil {
		return Lease{}, err
	}
	now, today := s.today()
	req, tag, err := checkCheckin(req)
	if err != nil {
		return Lease{}, err
	}
	r, err := s.returningUnit(ctx, scope, tag, req.StationID)
	if err != nil {
		return Lease{}, err
	}
	l := r.lease
	// Late fees follow the renter's tier on the return day (docs/pricing.md).
	late, err := s.lateFees(ctx, l, now)
	if err != nil {
		return Lease{}, err
	}
	set := settle(l, late, req, entryBase(l, today, by), s.onlineDepositFen(l))
	if err := checkMoney(req, set.OwedFen, set.RefundOnlineFen); err != nil {
		return Lease{}, fmt.Errorf("rentals: checkin: %w", err)
	}
	if req.ExpectOwedFen != nil && *req.ExpectOwedFen != set.OwedFen {
		return Lease{}, fmt.Errorf("rentals: lease %s now settles at %d fen, not the %d fen shown; look at it again: %w",
			l.ID, set.OwedFen, *req.ExpectOwedFen, ErrSettlementChanged)
	}
	ret := &Return{At: now, Day: today, StationID: r.station.ID, Outcome: req.Outcome, Notes: req.Notes, DamageFen: req.DamageFen,
		LateDays: set.LateDays, LateFeeFen: set.LateFeeFen, Tier: late.Tier, By: by}
	if set.RefundOnlineFen > 0 {
		ret.RefundOnlineFen, ret.RefundOnlineRef = set.RefundOnlineFen, DepositRefundRef(l.ID)
	}
	next := l
	next.State, next.Return, next.DepositFen = LeaseReturned, ret, 0
	next.Payments = append(append([]Payment(nil), l.Payments...), req.Payments...)
	next.BalanceFen = set.BalanceFen
	next.LedgerSeq = l.LedgerSeq + int64(len(set.Entries))
	next.EndReason = "returned"
	ev := leaseEvent{Kind: kindCheckin, From: l.State, Lease: next, By: by, Why: string(req.Outcome),
		LedgerFrom: l.LedgerSeq + 1, Ledger: set.Entries, UnitSeq: r.unit.Seq, UnitTo: req.Outcome.UnitState()}
	// A refund through Stripe is asked for once the check-in is written;
	// this second marker stays until payments has recorded it, so a crash
	// in between leaves the reconciler to ask (reconcileLease).
	var refundMark *eventlog.Pending
	if ret.RefundOnlineFen > 0 {
		m, err := s.leaseLg.Begin(ctx, l.ID)
		if err != nil {
			return Lease{}, fmt.Errorf("rentals: %w", err)
		}
		refundMark = &m
	}
	got, err := s.runFlowWith(ctx, "checkin", r.head, ev, nil, &r.unit)
	if err != nil {
		if refundMark != nil && errors.Is(err, ErrConflict) {
			_ = s.leaseLg.Done(ctx, *refundMark) // nothing was written
		}
		return got, err
	}
	s.auditLease(ctx, by, "lease.checkin", &l, got)
	if refundMark != nil {
		if err := s.crashPoint("checkin:refund"); err != nil {
			return Lease{}, err
		}
		// The check-in stands whatever happens here: the unit is back
		// and the refund is the payments' to finish.
		if err := s.refundDepositOnline(ctx, got); err != nil {
			s.logger.Warn("online deposit refund not recorded yet; the reconciler asks again", "lease", l.ID, "err", err)
		} else {
			_ = s.leaseLg.Done(ctx, *refundMark)
		}
		if cur, _, err := s.advance(ctx, l.ID, modeInline); err == nil {
			got = cur // with the refund_online Stripe may have made at once
		}
	}
	return got, nil
}

// runFlow appends ev after head under a pending marker and advances the
// lease: the shape every desk flow after checkout shares. grant, when not
// nil, was appended before and is released if ev cannot be.
func (s *Service) runFlow(ctx context.Context, flow string, head eventlog.Entry[leaseEvent], ev leaseEvent, grant *SubsidyGrant) (Lease, error) {
	return s.runFlowWith(ctx, flow, head, ev, grant, nil)
}

// runFlowWith is runFlow for a caller that has just read the lease's unit
// (see advanceWith).
func (s *Service) runFlowWith(ctx context.Context, flow string, head eventlog.Entry[leaseEvent], ev leaseEvent, grant *SubsidyGrant, unit *stations.Unit) (Lease, error) {
	id := ev.Lease.ID
	marker, err := s.leaseLg.Begin(ctx, id)
	if err != nil {
		return Lease{}, fmt.Errorf("rentals: %w", err)
	}
	if err := s.crashPoint(flow + ":marked"); err != nil {
		return Lease{}, err
	}
	return s.runFlowMarked(ctx, flow, marker, head, ev, grant, unit)
}

// runFlowMarked is runFlow once the marker is written. head came from
// advance, which wrote its ledger entries, so they are not written again.
func (s *Service) runFlowMarked(ctx context.Context, flow string, marker eventlog.Pending, head eventlog.Entry[leaseEvent], ev leaseEvent, grant *SubsidyGrant, unit *stations.Unit) (Lease, error) {
	id := ev.Lease.ID
	if _, err := s.appendNext(ctx, head, ev); err != nil {
		if errors.Is(err, eventlog.ErrTaken) {
			if grant != nil {
				if err := s.releaseGrant(ctx, id, *grant); err != nil {
					return Lease{}, err
				}
			}
			_ = s.leaseLg.Done(ctx, marker)
			return Lease{}, fmt.Errorf("rentals: lease %s was changed at another desk just now; look again: %w", id, valid.Because(ErrConflict, "changed"))
		}
		return Lease{}, err
	}
	if err := s.crashPoint(flow + ":event"); err != nil {
		return Lease{}, err
	}
	l, _, err := s.advanceWith(ctx, id, modeWriter, unit)
	if err != nil {
		return Lease{}, err
	}
	if err := s.crashPoint(flow + ":projected"); err != nil {
		return Lease{}, err
	}
	_ = s.leaseLg.Done(ctx, marker)
	return l, nil
}

// SettleLease takes later payments toward a returned (or lost) lease's
// balance; at zero the lease closes (a payment without an amount is none).
// Forgiving part of it is a waiver (Waive), not a payment.
func (s *Service) SettleLease(ctx context.Context, scope tenancy.Scope, leaseID string, payments []Payment, by tenancy.Actor) (Lease, error) {
	if err := scope.MayChange(tenancy.ChangeSettle); err != nil {
		return Lease{}, err
	}
	payments = givenPayments(payments)
	if err := checkTexts(payments); err != nil {
		return Lease{}, fmt.Errorf("rentals: settle: %w", err)
	}
	l, head, err := s.stable(ctx, scope, leaseID)
	if err != nil {
		return Lease{}, err
	}
	if l.State != LeaseReturned && l.State != LeaseLost || l.BalanceFen <= 0 {
		return Lease{}, fmt.Errorf("rentals: lease %s is %s with nothing owed: %w", l.ID, l.State, valid.Because(ErrConflict, "nothing_owed"))
	}
	e := &valid.Error{}
	if len(payments) == 0 {
		e.Add("payments", "required", "is required")
	}
	checkSettlement(e, "payments", payments, l.BalanceFen)
	if err := e.Err(); err != nil {
		return Lease{}, fmt.Errorf("rentals: settle: %w", err)
	}
	_, today := s.today()
	entries := paymentEntries(entryBase(l, today, by), payments)
	next := l
	next.Payments = append(append([]Payment(nil), l.Payments...), payments...)
	next.BalanceFen = l.BalanceFen + Balance(entries)
	next.LedgerSeq = l.LedgerSeq + int64(len(entries))
	ev := leaseEvent{Kind: kindPayment, From: l.State, Lease: next, By: by, LedgerFrom: l.LedgerSeq + 1, Ledger: entries}
	got, err := s.runFlow(ctx, "settle", head, ev, nil)
	if err == nil {
		s.auditLease(ctx, by, "lease.settle", &l, got)
	}
	return got, err
}

// Extend lengthens an active or overdue lease by days. It is refused (409)
// while a reservation waits for the product at the lease's station: a unit
// of the product reserved there and none available. The extension is priced
// over the whole new term (the cheapest combination of blocks and days for
// all the days, minus the standard price already charged, never negative),
// with the share of the lease's policy version for the renter's tier on the
// day of the extension, within what is left of their cap for the year under
// the policy in force. No new deposit is asked. An overdue lease pays its
// late days up to today as late fees and the extension starts today;
// otherwise the due date moves by the days paid for, then off closures
// (docs/pricing.md, rules 8 to 11). Payments must total exactly the quote's
// DueNowFen (a payment without an amount is none).
func (s *Service) Extend(ctx context.Context, scope tenancy.Scope, leaseID string, days int, payments []Payment, by tenancy.Actor) (Lease, error) {
	if err := scope.MayChange(tenancy.ChangeOther); err != nil {
		return Lease{}, err
	}
	payments = givenPayments(payments)
	if days < 1 || days > MaxDays {
		return Lease{}, fmt.Errorf("rentals: extend: %w", valid.Field("days", "range", fmt.Sprintf("must be between 1 and %d", MaxDays), "min", 1, "max", MaxDays))
	}
	if err := checkTexts(payments); err != nil {
		return Lease{}, fmt.Errorf("rentals: extend: %w", err)
	}
	l, head, err := s.stable(ctx, scope, leaseID)
	if err != nil {
		return Lease{}, err
	}
	st, err := s.extendable(ctx, l, days)
	if err != nil {
		return Lease{}, err
	}
	now, today := s.today()
	base, err := s.extensionBase(ctx, l, days, now)
	if err != nil {
		return Lease{}, err
	}
	tier := base.Tier
	person, err := s.personOfRenter(ctx, l.RenterID)
	if err != nil {
		return Lease{}, err
	}
	q, plan, marker, err := s.grantSubsidy(ctx, "extend", base, s.policies.InForce(now), payments, 0, person, l.RenterID, l.ID, l.OperatorID, l.StationID, now)
	if err != nil {
		return Lease{}, err
	}
	eb := entryBase(l, today, by)
	eb.Tier = tier
	var entries []LedgerEntry
	add := func(kind EntryKind, fen int64, note string) {
		if fen > 0 {
			x := eb
			x.Kind, x.AmountFen, x.Note = kind, fen, note
			entries = append(entries, x)
		}
	}
	add(EntryLateFee, q.LateFeeFen, fmt.Sprintf("%d late days", q.LateDays))
	add(EntryExtension, q.StandardFen, fmt.Sprintf("%d more days", days))
	add(EntrySubsidy, q.SubsidyFen, string(tier))
	entries = append(entries, paymentEntries(eb, payments)...)
	next := l
	next.Days += days
	next.DueOn = extendedDue(st.Hours, l.DueOn, today, days)
	next.StandardFen += q.StandardFen
	next.RenterFen += q.RenterFen
	next.SubsidyFen += q.SubsidyFen
	next.Extensions++
	next.Payments = append(append([]Payment{}, l.Payments...), payments...)
	next.BalanceFen = l.BalanceFen + Balance(entries)
	next.LedgerSeq = l.LedgerSeq + int64(len(entries))
	next.State = LeaseActive
	if next.DueOn < today {
		next.State = LeaseOverdue
	}
	var grant *SubsidyGrant
	if plan != nil {
		grant = &SubsidyGrant{Entity: plan.entity, Seq: plan.seq, AmountFen: plan.event.AmountFen}
		next.Grants = append(append([]SubsidyGrant(nil), l.Grants...), *grant)
	}
	ev := leaseEvent{Kind: kindExtended, From: l.State, Lease: next, By: by, Why: fmt.Sprintf("%d days", days),
		LedgerFrom: l.LedgerSeq + 1, Ledger: entries}
	got, err := s.runFlowMarked(ctx, "extend", marker, head, ev, grant, nil)
	if err == nil {
		s.auditLease(ctx, by, "lease.extend", &l, got)
	}
	return got, err
}

func mustDate(s string) time.Time {
	t, err := parseDate(s)
	if err != nil {
		return time.Time{}
	}
	return t
}

// ExtensionQuote shows what Extend would charge for days more, without
// writing anything.
func (s *Service) ExtensionQuote(ctx context.Context, scope tenancy.Scope, leaseID string, days int) (Quote, error) {
	if days < 1 || days > MaxDays {
		return Quote{}, fmt.Errorf("rentals: extend: %w", valid.Field("days", "range", fmt.Sprintf("must be between 1 and %d", MaxDays), "min", 1, "max", MaxDays))
	}
	l, err := s.Lease(ctx, scope, leaseID)
	if err != nil {
		return Quote{}, err
	}
	now := s.now()
	base, err := s.extensionBase(ctx, l, days, now)
	if err != nil {
		return Quote{}, err
	}
	person, err := s.personOfRenter(ctx, l.RenterID)
	if err != nil {
		return Quote{}, err
	}
	q, _, err := s.planGrant(ctx, base, s.policies.InForce(now), person, l.ID, now)
	return q, err
}

// reservationWaits reports whether a reservation waits for product at the
// station: a unit of it reserved there and none available (the minimal
// reservation model until online reservations exist).
func (s *Service) reservationWaits(ctx context.Context, stationID, productID string) (bool, error) {
	units, err := s.units.UnitsAt(ctx, stationID)
	if err != nil {
		return false, fmt.Errorf("rentals: %w", err)
	}
	reserved, available := 0, 0
	for _, u := range units {
		if u.ProductID != productID || u.StationID != stationID {
			continue
		}
		switch u.State {
		case stations.Reserved:
			reserved++
		case stations.Available:
			available++
		}
	}
	return reserved > 0 && available == 0, nil
}

// grantSubsidy prices base for the person within what is left of their
// yearly subsidy cap, checks payments against that price, marks the flow
// pending (the marker names the person's year log, so the reconciler can
// release a grant whose lease event was never written) and appends the grant
// to the year log. Desks racing for the same person's allowance (on one
// record or two) collide on the year log's next sequence number; the loser
// prices again. flow names the
// crash points ("<flow>:marked", "<flow>:subsidy") and errors. plan is nil
// when there is no subsidy.
func (s *Service) grantSubsidy(ctx context.Context, flow string, base Quote, pol Policy, payments []Payment, prepaidFen int64,
	person, renterID, leaseID, operatorID, stationID string, now time.Time) (Quote, *grantPlan, eventlog.Pending, error) {
	var marker eventlog.Pending
	for attempt := 0; attempt < 10; attempt++ {
		q, plan, err := s.planGrant(ctx, base, pol, person, leaseID, now)
		if err != nil {
			return Quote{}, nil, marker, err
		}
		pe := &valid.Error{}
		checkPayments(pe, "payments", payments, max(q.DueNowFen-prepaidFen, 0))
		if err := pe.Err(); err != nil {
			_ = s.leaseLg.Done(ctx, marker)
			return Quote{}, nil, marker, fmt.Errorf("rentals: %s: %w", flow, err)
		}
		if marker.ID == "" {
			if marker, err = s.leaseLg.BeginMany(ctx, leaseID, []string{subsidyMarker + subsidyEntity(person, now)}); err != nil {
				return Quote{}, nil, marker, fmt.Errorf("rentals: %w", err)
			}
			if err := s.crashPoint(flow + ":marked"); err != nil {
				return Quote{}, nil, marker, err
			}
		}
		if plan == nil {
			return q, nil, marker, nil
		}
		plan.event.OperatorID, plan.event.StationID, plan.event.Charge, plan.event.RenterID = operatorID, stationID, flow, renterID
		_, err = s.subsidy.Append(ctx, plan.entity, plan.seq, plan.event)
		if errors.Is(err, eventlog.ErrTaken) {
			continue
		}
		if err != nil {
			return Quote{}, nil, marker, fmt.Errorf("rentals: %w", err)
		}
		if err := s.crashPoint(flow + ":subsidy"); err != nil {
			return Quote{}, nil, marker, err
		}
		return q, plan, marker, nil
	}
	_ = s.leaseLg.Done(ctx, marker)
	return Quote{}, nil, marker, fmt.Errorf("rentals: lease %s: the renter's subsidy is being used at another desk; try again: %w", leaseID, valid.Because(ErrConflict, "busy"))
}

// unitState is the reason a unit cannot be lent or taken back: it is in
// another state (the desk sees it in words: "rented", "being cleaned").
func unitState(tag string, st stations.State) error {
	return valid.Because(stations.ErrUnavailable, "unit_state", "tag", tag, "state", string(st))
}

// leaseState is the reason a lease cannot do what was asked in its state.
func leaseState(st LeaseState) error {
	return valid.Because(ErrConflict, "lease_state", "lease_state", string(st))
}
