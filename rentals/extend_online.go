package rentals

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"fuju/internal/eventlog"
	"fuju/internal/tenancy"
	"fuju/internal/valid"
	"fuju/stations"
)

// Extending a lease from the family's account (docs/payments.md,
// "Extending online"). The family is shown the same quote the desk would
// give (ExtensionOffer). An extension that costs them nothing is applied
// at once (ExtendForAccount); otherwise they pay the quoted share online
// under a ledger entry id derived from the lease as it stood
// (ExtensionRef), and the extension is applied when the money arrives, in
// the same lease event as the paid_online credit (PaidOnline). If the lease
// changed in between, the money stays on the lease as a credit and the
// lease says why (Lease.Unapplied): no extension is ever applied that was
// not paid for as quoted, and no payment is lost.

// ExtensionOffer is what extending a lease by Days would cost now.
type ExtensionOffer struct {
	Lease Lease `json:"-"`
	Days  int   `json:"days"`
	// Quote is the desk's quote: the renter's share (DueNowFen, with any
	// late fee), the subsidy apart.
	Quote Quote `json:"quote"`
	// DueOn is the due date after the extension.
	DueOn string `json:"due_on"`
	// Ref is the ledger entry id an online payment of this quote carries:
	// asking twice for the same quote gives the same payment.
	Ref string `json:"-"`
}

// UnappliedExtension is an extension paid online that was not applied
// because the lease was no longer as quoted when the money arrived; the
// payment stays on the lease as a credit, for the desk to refund or use.
type UnappliedExtension struct {
	Ref       string    `json:"ref" bson:"ref"`
	Days      int       `json:"days" bson:"days"`
	AmountFen int64     `json:"amount_fen" bson:"amount_fen"`
	Reason    string    `json:"reason" bson:"reason"`
	At        time.Time `json:"at" bson:"at"`
}

// Why an extension paid online was not applied (UnappliedExtension.Reason).
const (
	UnappliedLeaseState  = "lease_state"     // returned, lost or closed meanwhile
	UnappliedChanged     = "lease_changed"   // the ledger moved since the quote (a desk extension, a payment)
	UnappliedQuote       = "quote_changed"   // the same extension costs another amount now (a day passed, the cap)
	UnappliedReserved    = "extend_reserved" // a reservation waits for the product
	UnappliedTooLong     = "max_total_days"  // the lease would run too long
	UnappliedWrongAmount = "amount"          // paid another amount than the ledger entry id names
)

// ExtensionRef is the ledger entry id of the online payment of fen for
// extending lease leaseID by days, quoted when the lease's ledger had seq
// entries.
func ExtensionRef(leaseID string, seq int64, days int, fen int64) string {
	return fmt.Sprintf("lease/%s/extension/%d/%d/%d", leaseID, seq, days, fen)
}

// extensionRef is an ExtensionRef taken apart.
type extensionRef struct {
	leaseID string
	seq     int64
	days    int
	fen     int64
}

func parseExtensionRef(ref string) (extensionRef, bool) {
	p := strings.Split(ref, "/")
	if len(p) != 6 || p[0] != "lease" || p[2] != "extension" || p[1] == "" {
		return extensionRef{}, false
	}
	seq, err1 := strconv.ParseInt(p[3], 10, 64)
	days, err2 := strconv.Atoi(p[4])
	fen, err3 := strconv.ParseInt(p[5], 10, 64)
	if err1 != nil || err2 != nil || err3 != nil {
		return extensionRef{}, false
	}
	return extensionRef{leaseID: p[1], seq: seq, days: days, fen: fen}, true
}

func checkDays(days int) error {
	if days < 1 || days > MaxDays {
		return fmt.Errorf("rentals: extend: %w", valid.Field("days", "range", fmt.Sprintf("must be between 1 and %d", MaxDays), "min", 1, "max", MaxDays))
	}
	return nil
}

// extendable checks that lease l may be extended by days now, whoever
// asks (Extend, the family's offer, a payment arriving), and returns its
// station.
func (s *Service) extendable(ctx context.Context, l Lease, days int) (stations.Station, error) {
	if !l.State.Out() {
		return stations.Station{}, fmt.Errorf("rentals: lease %s is %s and cannot be extended: %w", l.ID, l.State, leaseState(l.State))
	}
	if l.Days+days > 3*MaxDays {
		return stations.Station{}, fmt.Errorf("rentals: extend: %w", valid.Field("days", "max_total_days", fmt.Sprintf("a lease may run at most %d days in all", 3*MaxDays), "max", 3*MaxDays))
	}
	waiting, err := s.reservationWaits(ctx, l.StationID, l.ProductID)
	if err != nil {
		return stations.Station{}, err
	}
	if waiting {
		return stations.Station{}, fmt.Errorf("rentals: someone has reserved this product at station %s and no other unit is free there, so lease %s cannot be extended; please return it on %s: %w", l.StationID, l.ID, l.DueOn,
			valid.Because(ErrConflict, "extend_reserved", "due_on", l.DueOn))
	}
	st, err := s.units.Station(ctx, l.StationID)
	if err != nil {
		return stations.Station{}, fmt.Errorf("rentals: %w", err)
	}
	return st, nil
}

// accountLease returns lease leaseID as its log says it is now, if it is
// of a renter linked to the account userID; any other is not found.
func (s *Service) accountLease(ctx context.Context, userID, leaseID string) (Lease, error) {
	linked, err := s.LinkedRenters(ctx, userID)
	if err != nil {
		return Lease{}, err
	}
	l, err := s.Lease(ctx, tenancy.PlatformScope, leaseID)
	if err != nil {
		return Lease{}, err
	}
	if !slices.ContainsFunc(linked, func(r LinkedRenter) bool { return r.ID == l.RenterID }) {
		return Lease{}, fmt.Errorf("rentals: lease %s: %w", leaseID, ErrNotFound)
	}
	return l, nil
}

// ExtensionOffer prices extending by days a lease of a renter linked to
// the account userID, exactly as the desk would now (the same limits,
// share, late fee and cap), without writing anything.
func (s *Service) ExtensionOffer(ctx context.Context, userID, leaseID string, days int) (ExtensionOffer, error) {
	if err := checkDays(days); err != nil {
		return ExtensionOffer{}, err
	}
	l, err := s.accountLease(ctx, userID, leaseID)
	if err != nil {
		return ExtensionOffer{}, err
	}
	return s.offer(ctx, l, days)
}

func (s *Service) offer(ctx context.Context, l Lease, days int) (ExtensionOffer, error) {
	st, err := s.extendable(ctx, l, days)
	if err != nil {
		return ExtensionOffer{}, err
	}
	now, today := s.today()
	base, err := s.extensionBase(ctx, l, days, now)
	if err != nil {
		return ExtensionOffer{}, err
	}
	person, err := s.personOfRenter(ctx, l.RenterID)
	if err != nil {
		return ExtensionOffer{}, err
	}
	q, _, err := s.planGrant(ctx, base, s.policies.InForce(now), person, l.ID, now)
	if err != nil {
		return ExtensionOffer{}, err
	}
	return ExtensionOffer{Lease: l, Days: days, Quote: q, DueOn: extendedDue(st.Hours, l.DueOn, today, days),
		Ref: ExtensionRef(l.ID, l.LedgerSeq, days, q.DueNowFen)}, nil
}

// ExtendForAccount applies at once, for the account userID, an extension
// that costs the renter nothing (a subsistence tier, or a share the subsidy
// covers): the desk's Extend with no payment. One that costs something is
// refused (409 extension_pay_online): it is paid online first.
func (s *Service) ExtendForAccount(ctx context.Context, userID, leaseID string, days int, by tenancy.Actor) (Lease, error) {
	o, err := s.ExtensionOffer(ctx, userID, leaseID, days)
	if err != nil {
		return Lease{}, err
	}
	if o.Quote.DueNowFen != 0 {
		return Lease{}, fmt.Errorf("rentals: extending lease %s by %d days costs %d fen: %w", leaseID, days, o.Quote.DueNowFen,
			valid.Because(ErrConflict, "extension_pay_online", "amount_fen", o.Quote.DueNowFen))
	}
	l, err := s.Extend(ctx, tenancy.PlatformScope, leaseID, days, nil, by)
	if fs, ok := valid.Fields(err); ok && fs["payments"].Code != "" {
		// The quote changed between the check and the extension.
		return Lease{}, fmt.Errorf("rentals: extending lease %s now costs something: %w", leaseID,
			valid.Because(ErrConflict, "extension_pay_online", "amount_fen", 0))
	}
	return l, err
}

// errRetry asks applyOnline to read the lease again.
var errRetry = errors.New("rentals: lease changed; read it again")

// extendPaid applies the extension an online payment o paid for, on lease
// l at head, in one lease event with the paid_online credit: the same
// entries as the desk's Extend (late fee, extension, subsidy) with the
// online payment as its payment. It returns why not (an Unapplied reason)
// when the lease is no longer as quoted; the caller then records the
// payment as a credit. errRetry: another writer moved the lease first.
func (s *Service) extendPaid(ctx context.Context, l Lease, head eventlog.Entry[leaseEvent], o OnlineOutcome, x extensionRef) (Lease, string, error) {
	switch {
	case o.AmountFen != x.fen:
		return Lease{}, UnappliedWrongAmount, nil
	case !l.State.Out():
		return Lease{}, UnappliedLeaseState, nil
	case l.LedgerSeq != x.seq:
		return Lease{}, UnappliedChanged, nil
	case x.days < 1 || x.days > MaxDays:
		return Lease{}, UnappliedTooLong, nil
	}
	st, err := s.extendable(ctx, l, x.days)
	if r, ok := valid.ReasonOf(err); ok && r.Code == "extend_reserved" {
		return Lease{}, UnappliedReserved, nil
	} else if _, ok := valid.Fields(err); ok {
		return Lease{}, UnappliedTooLong, nil
	} else if err != nil {
		return Lease{}, "", err
	}
	now, today := s.today()
	base, err := s.extensionBase(ctx, l, x.days, now)
	if err != nil {
		return Lease{}, "", err
	}
	person, err := s.personOfRenter(ctx, l.RenterID)
	if err != nil {
		return Lease{}, "", err
	}
	pol := s.policies.InForce(now)
	if q, _, err := s.planGrant(ctx, base, pol, person, l.ID, now); err != nil {
		return Lease{}, "", err
	} else if q.DueNowFen != o.AmountFen {
		return Lease{}, UnappliedQuote, nil
	}
	// The grant is an extension's, as at the desk (its charge names it on
	// subsidy statements); the lease event's steps are this flow's.
	const flow = "extend_online"
	q, plan, marker, err := s.grantSubsidy(ctx, "extend", base, pol, nil, o.AmountFen, person, l.RenterID, l.ID, l.OperatorID, l.StationID, now)
	if _, ok := valid.Fields(err); ok {
		return Lease{}, "", errRetry // the cap moved since the look: decide again
	} else if err != nil {
		return Lease{}, "", err
	}
	var grant *SubsidyGrant
	if plan != nil {
		grant = &SubsidyGrant{Entity: plan.entity, Seq: plan.seq, AmountFen: plan.event.AmountFen}
	}
	if q.DueNowFen != o.AmountFen {
		// The cap moved between the look and the grant: undo and decide again.
		if grant != nil {
			if err := s.releaseGrant(ctx, l.ID, *grant); err != nil {
				return Lease{}, "", err
			}
		}
		_ = s.leaseLg.Done(ctx, marker)
		return Lease{}, "", errRetry
	}
	eb := entryBase(l, today, tenancy.System)
	eb.Tier = q.Tier
	var entries []LedgerEntry
	add := func(kind EntryKind, fen int64, note, method, ref string) {
		if fen > 0 {
			e := eb
			e.Kind, e.AmountFen, e.Note, e.Method, e.Reference = kind, fen, note, method, ref
			entries = append(entries, e)
		}
	}
	add(EntryLateFee, q.LateFeeFen, fmt.Sprintf("%d late days", q.LateDays), "", "")
	add(EntryExtension, q.StandardFen, fmt.Sprintf("%d more days", x.days), "", "")
	add(EntrySubsidy, q.SubsidyFen, string(q.Tier), "", "")
	add(EntryPaidOnline, o.AmountFen, o.Ref, "online", o.StripeRef)
	add(EntryPlatformFee, o.FeeFen, o.Ref, "online", o.StripeRef)
	next := l
	next.Days += x.days
	next.DueOn = extendedDue(st.Hours, l.DueOn, today, x.days)
	next.StandardFen += q.StandardFen
	next.RenterFen += q.RenterFen
	next.SubsidyFen += q.SubsidyFen
	next.Extensions++
	next.OnlineKeys = append(slices.Clone(l.OnlineKeys), o.Key)
	next.PaidOnlineFen += o.AmountFen
	next.OnlineTab = cmp.Or(l.OnlineTab, o.TabID, l.ID)
	next.BalanceFen = l.BalanceFen + Balance(entries)
	next.LedgerSeq = l.LedgerSeq + int64(len(entries))
	next.State = LeaseActive
	if next.DueOn < today {
		next.State = LeaseOverdue
	}
	if grant != nil {
		next.Grants = append(append([]SubsidyGrant(nil), l.Grants...), *grant)
	}
	ev := leaseEvent{Kind: kindExtended, From: l.State, Lease: next, By: tenancy.System,
		Why: fmt.Sprintf("%d days, %s %s", x.days, onlinePaid, o.Key), LedgerFrom: l.LedgerSeq + 1, Ledger: entries}
	got, err := s.runFlowMarked(ctx, flow, marker, head, ev, grant, nil)
	if errors.Is(err, ErrConflict) {
		return Lease{}, "", errRetry
	}
	return got, "", err
}
