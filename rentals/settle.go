package rentals

import (
	"context"
	"fmt"
	"strings"

	"fuju/internal/eventlog"
	"fuju/internal/tenancy"
	"fuju/internal/valid"
	"fuju/stations"
)

// ErrSettlementChanged means a check-in was confirmed against a settlement
// that is no longer the one it would write (CheckinRequest.ExpectOwedFen).
var ErrSettlementChanged = fmt.Errorf("the settlement changed since it was shown: %w", ErrConflict)

// Settlement is the money side of a check-in: the charges the return adds,
// the deposit going back against them, and what is left, paid now or
// refunded. settle computes it in one place: Checkin writes exactly its
// entries, and PreviewCheckin shows it to staff before they confirm.
type Settlement struct {
	LeaseID string `json:"lease_id"`
	Tier    Tier   `json:"tier"`
	// LateDays are the days after the due date (city dates); each costs
	// LateDailyFen, which is 0 for tiers whose policy charges no late fees.
	LateDays     int   `json:"late_days"`
	LateDailyFen int64 `json:"late_daily_fen"`
	LateFeeFen   int64 `json:"late_fee_fen"`
	DamageFen    int64 `json:"damage_fen"`
	// DepositFen is the deposit held, which goes back against the charges.
	DepositFen int64 `json:"deposit_fen"`
	// PriorFen is what the lease owed before the return (negative: owed
	// back); usually 0.
	PriorFen int64 `json:"prior_fen"`
	// OwedFen = PriorFen + LateFeeFen + DamageFen − DepositFen. Positive,
	// the renter pays it now or it stays as the lease's balance; negative,
	// the operator refunds RefundFen = −OwedFen now.
	OwedFen   int64 `json:"owed_fen"`
	RefundFen int64 `json:"refund_fen"`
	// RefundOnlineFen is the part of RefundFen that goes back through
	// Stripe to the card, Alipay or WeChat Pay the deposit was paid with
	// (at most the deposit paid online); the desk refunds only the rest
	// (DeskRefundFen). Its refund_online entry is written when Stripe
	// refunds it, so until then the lease's balance is −RefundOnlineFen.
	RefundOnlineFen int64 `json:"refund_online_fen"`
	// PaidFen is what the payments given settle now (waivers included);
	// BalanceFen is what the lease owes afterwards. At zero it closes.
	PaidFen    int64 `json:"paid_fen"`
	BalanceFen int64 `json:"balance_fen"`
	// Entries are the ledger entries the check-in writes, in order.
	Entries []LedgerEntry `json:"entries"`
}

// DueFen is what the renter is asked to pay at the return (0 when they get
// money back).
func (st Settlement) DueFen() int64 { return max(st.OwedFen, 0) }

// DeskRefundFen is what the desk refunds in cash or by transfer.
func (st Settlement) DeskRefundFen() int64 { return st.RefundFen - st.RefundOnlineFen }

// Closes reports whether the check-in closes the lease.
func (st Settlement) Closes() bool { return st.BalanceFen == 0 }

// settle computes the settlement of lease l returned with its late days
// priced at the tier of the return day (late) and req's damage, payments and
// refund method; base carries what every entry
// records (day, desk, actor). Late days cost lateDailyFen each for tiers
// whose policy charges late fees; the deposit goes back against the
// charges; a negative rest is refunded, through Stripe as far as
// onlineDepositFen (the deposit paid online) goes and at the desk beyond,
// a positive one is paid by req.Payments as far as they go.
func settle(l Lease, late LateCharge, req CheckinRequest, base LedgerEntry, onlineDepositFen int64) Settlement {
	st := Settlement{LeaseID: l.ID, Tier: late.Tier, LateDays: late.Days, DamageFen: req.DamageFen,
		DepositFen: l.DepositFen, PriorFen: l.BalanceFen, Entries: []LedgerEntry{}}
	if late.Charged {
		st.LateDailyFen = late.DailyFen
	}
	st.LateFeeFen = late.FeeFen
	add := func(kind EntryKind, fen int64, note, method, ref string) {
		if fen > 0 {
			x := base
			x.Kind, x.AmountFen, x.Note, x.Method, x.Reference = kind, fen, note, method, ref
			st.Entries = append(st.Entries, x)
		}
	}
	add(EntryLateFee, st.LateFeeFen, fmt.Sprintf("%d late days", st.LateDays), "", "")
	add(EntryDamage, st.DamageFen, req.Notes, "", "")
	add(EntryDepositReturn, st.DepositFen, "", "", "")
	st.OwedFen = l.BalanceFen + Balance(st.Entries)
	if st.OwedFen < 0 {
		st.RefundFen = -st.OwedFen
		st.RefundOnlineFen = min(st.RefundFen, onlineDepositFen)
		add(EntryRefund, st.DeskRefundFen(), "", req.RefundMethod, strings.TrimSpace(req.RefundReference))
	} else {
		paid := paymentEntries(base, req.Payments)
		st.PaidFen = -Balance(paid)
		st.Entries = append(st.Entries, paid...)
	}
	st.BalanceFen = l.BalanceFen + Balance(st.Entries)
	return st
}

// checkMoney validates how req settles owedFen, what a return (or a lost
// unit found) leaves owed: when it is negative the renter is refunded, which
// takes no payments and, for what the desk refunds (beyond onlineFen,
// refunded through Stripe), needs its method (and a transfer its
// reference); payments toward what is owed total at most that.
func checkMoney(req CheckinRequest, owedFen, onlineFen int64) error {
	e := &valid.Error{}
	if owedFen < 0 {
		refund := -owedFen
		switch {
		case len(req.Payments) > 0:
			e.Add("payments", "nothing_due", fmt.Sprintf("nothing is due: the renter gets %d fen (¥%s) back", refund, yuan(refund)), "refund_fen", refund)
		case refund <= onlineFen:
			// all of it goes back through Stripe
		case req.RefundMethod != PayCash && req.RefundMethod != PayOfflineMobile:
			e.Add("refund_method", "refund_method", fmt.Sprintf("the renter gets %d fen (¥%s) back: refund by cash or offline_mobile", refund, yuan(refund)), "refund_fen", refund)
		case req.RefundMethod == PayOfflineMobile && strings.TrimSpace(req.RefundReference) == "":
			e.Add("refund_reference", "reference", "an offline_mobile refund needs the transfer's reference")
		}
	} else {
		checkSettlement(e, "payments", req.Payments, owedFen)
	}
	return e.Err()
}

// givenPayments drops payment rows without an amount: a form's empty or
// zero row (or such an item in the API) means no payment, whatever method
// it names.
func givenPayments(ps []Payment) []Payment {
	var out []Payment
	for _, p := range ps {
		if p.AmountFen != 0 {
			out = append(out, p)
		}
	}
	return out
}

// checkCheckin validates a check-in's inspection and returns the request
// normalised (notes trimmed, empty payment rows dropped) and the unit's tag.
func checkCheckin(req CheckinRequest) (CheckinRequest, string, error) {
	e := &valid.Error{}
	tag := checkTag(e, req.UnitTag)
	if req.StationID == "" {
		e.Add("station_id", "required", "is required")
	}
	e.Text("station_id", req.StationID, valid.MaxID).Text("refund_reference", req.RefundReference, valid.MaxReference)
	checkPaymentTexts(e, "payments", req.Payments)
	if !req.Outcome.valid() {
		e.Add("outcome", "oneof", "must be one of: ok, needs_cleaning, needs_repair, damaged, missing_parts")
	}
	req.Notes = strings.TrimSpace(req.Notes)
	e.Text("notes", req.Notes, valid.MaxNeeds)
	switch {
	case req.DamageFen < 0 || req.DamageFen > 100_000_000:
		e.Add("damage_fen", "amount_max", "must be between 0 and 100000000", "max_fen", 100_000_000)
	case req.DamageFen > 0 && req.Outcome.UnitState() != stations.Repair:
		e.Add("damage_fen", "damage_outcome", "damage is charged only with outcome needs_repair, damaged or missing_parts")
	case req.DamageFen > 0 && req.Notes == "":
		e.Add("notes", "required", "say what is damaged or missing")
	}
	req.Payments = givenPayments(req.Payments)
	if err := e.Err(); err != nil {
		return req, tag, fmt.Errorf("rentals: checkin: %w", err)
	}
	return req, tag, nil
}

// returning is a unit coming back at a desk and the lease it is out on.
type returning struct {
	station stations.Station
	unit    stations.Unit
	lease   Lease
	head    eventlog.Entry[leaseEvent]
}

// returningUnit finds the rented unit tag and its lease for a check-in at
// station, which scope must cover; the unit must belong to the station's
// operator.
func (s *Service) returningUnit(ctx context.Context, scope tenancy.Scope, tag, stationID string) (returning, error) {
	st, err := s.deskStation(ctx, scope, stationID)
	if err != nil {
		return returning{}, err
	}
	u, err := s.deskUnit(ctx, st, tag)
	if err != nil {
		return returning{}, err
	}
	if u.State != stations.Rented || u.LeaseID == "" {
		return returning{}, fmt.Errorf("rentals: unit %s is %s, not rented: %w", tag, u.State, unitState(tag, u.State))
	}
	l, head, err := s.advance(ctx, u.LeaseID, modeInline)
	if err != nil {
		return returning{}, err
	}
	if l.OperatorID != st.OperatorID {
		return returning{}, fmt.Errorf("rentals: unit %s: %w", tag, ErrNotFound)
	}
	if !l.State.Out() {
		return returning{}, fmt.Errorf("rentals: lease %s is %s, not out: %w", l.ID, l.State, leaseState(l.State))
	}
	// The unit is not read again: while it is rented to the lease, only the
	// lease's own flows move it, and each appends a lease event first, so a
	// move since u was read makes this check-in's lease event lose (409),
	// and an advance that moved it leaves the lease not out (above).
	return returning{station: st, unit: u, lease: l, head: head}, nil
}

// PreviewCheckin shows what Checkin would settle for req if it ran now:
// the same checks of the inspection, the same lease, the same settle. It
// writes nothing of its own (like every desk read, it may finish a flow
// another desk left half done). Payments and the refund method are not
// checked here; Checkin checks them.
func (s *Service) PreviewCheckin(ctx context.Context, scope tenancy.Scope, req CheckinRequest) (Settlement, error) {
	now, today := s.today()
	req, tag, err := checkCheckin(req)
	if err != nil {
		return Settlement{}, err
	}
	r, err := s.returningUnit(ctx, scope, tag, req.StationID)
	if err != nil {
		return Settlement{}, err
	}
	late, err := s.lateFees(ctx, r.lease, now)
	if err != nil {
		return Settlement{}, err
	}
	return settle(r.lease, late, req, entryBase(r.lease, today, tenancy.Actor{}), s.onlineDepositFen(r.lease)), nil
}
