package rentals

import (
	"fmt"
	"strings"
	"time"

	"fuju/catalog"
	"fuju/internal/input"
	"fuju/internal/tenancy"
	"fuju/internal/valid"
	"fuju/stations"
)

// LeaseState is where a lease is in its life (DESIGN.md, "Leases").
type LeaseState string

// Lease states. Opening is internal: a checkout between its first write and
// the unit's move; such a lease is listed nowhere and becomes active or
// cancelled. A lease that never became active and was cancelled lists
// nowhere either (only its log remains, as history of the attempt).
const (
	LeaseOpening   LeaseState = "opening"
	LeaseReserved  LeaseState = "reserved"
	LeaseActive    LeaseState = "active"
	LeaseOverdue   LeaseState = "overdue"
	LeaseReturned  LeaseState = "returned"
	LeaseLost      LeaseState = "lost"
	LeaseClosed    LeaseState = "closed"
	LeaseCancelled LeaseState = "cancelled"
)

// Open reports whether a lease in state s is kept in open_leases: it still
// needs the desk (a unit out, or money to settle).
func (s LeaseState) Open() bool {
	switch s {
	case LeaseReserved, LeaseActive, LeaseOverdue, LeaseReturned, LeaseLost:
		return true
	}
	return false
}

// Out reports whether the unit is with the renter.
func (s LeaseState) Out() bool { return s == LeaseActive || s == LeaseOverdue }

// Payment methods at the desk. Online payments (Stripe) come later.
const (
	PayCash          = "cash"
	PayOfflineMobile = "offline_mobile" // a transfer to the operator's account, with its reference
	PayWaived        = "waived"
)

// Payment is money taken (or, for waived, forgiven) at the desk.
type Payment struct {
	Method    string `json:"method" bson:"method"`
	AmountFen int64  `json:"amount_fen" bson:"amount_fen"`
	Reference string `json:"reference,omitempty" bson:"reference,omitempty"`
}

// Terms is the rental agreement the renter (or their family) accepted.
type Terms struct {
	Version      string    `json:"version" bson:"version"`
	AcceptedName string    `json:"accepted_name" bson:"accepted_name"`
	AcceptedAt   time.Time `json:"accepted_at" bson:"accepted_at"`
}

// Outcome is the inspection result at check-in.
type Outcome string

// Check-in outcomes. Ok and needs_cleaning send the unit to cleaning, the rest
// to repair; nothing is lent again uncleaned.
const (
	OutcomeOK            Outcome = "ok"
	OutcomeNeedsCleaning Outcome = "needs_cleaning"
	OutcomeNeedsRepair   Outcome = "needs_repair"
	OutcomeDamaged       Outcome = "damaged"
	OutcomeMissingParts  Outcome = "missing_parts"
)

// Outcomes lists every outcome.
var Outcomes = []Outcome{OutcomeOK, OutcomeNeedsCleaning, OutcomeNeedsRepair, OutcomeDamaged, OutcomeMissingParts}

// UnitState is where the unit goes after the inspection.
func (o Outcome) UnitState() stations.State {
	if o == OutcomeOK || o == OutcomeNeedsCleaning {
		return stations.Cleaning
	}
	return stations.Repair
}

func (o Outcome) valid() bool {
	for _, x := range Outcomes {
		if o == x {
			return true
		}
	}
	return false
}

// Return records a check-in.
type Return struct {
	At         time.Time `json:"at" bson:"at"`
	Day        string    `json:"day" bson:"day"`
	StationID  string    `json:"station_id" bson:"station_id"`
	Outcome    Outcome   `json:"outcome" bson:"outcome"`
	Notes      string    `json:"notes,omitempty" bson:"notes,omitempty"`
	LateDays   int       `json:"late_days" bson:"late_days"`
	LateFeeFen int64     `json:"late_fee_fen" bson:"late_fee_fen"`
	// Tier is the renter's tier on the return day, which decides the late
	// fee (rule 11 of docs/pricing.md).
	Tier      Tier  `json:"tier,omitempty" bson:"tier,omitempty"`
	DamageFen int64 `json:"damage_fen" bson:"damage_fen"`
	// RefundOnlineFen is the part of the deposit paid online that goes
	// back through Stripe, to the card, Alipay or WeChat Pay it came from,
	// under the ledger entry id RefundOnlineRef (online.go,
	// DepositRefundRef); its refund_online entry is written when Stripe
	// says the refund succeeded.
	RefundOnlineFen int64         `json:"refund_online_fen,omitempty" bson:"refund_online_fen,omitempty"`
	RefundOnlineRef string        `json:"refund_online_ref,omitempty" bson:"refund_online_ref,omitempty"`
	By              tenancy.Actor `json:"by" bson:"by"`
}

// SubsidyGrant is one addition to a renter's yearly subsidy total.
type SubsidyGrant struct {
	// Entity is the renter's year log, "<renter id>-<year>".
	Entity    string `json:"entity" bson:"entity"`
	Seq       int64  `json:"seq" bson:"seq"`
	AmountFen int64  `json:"amount_fen" bson:"amount_fen"`
}

// Lease is one unit lent to one renter. It snapshots what it was made with:
// the tier and policy version, the rate plan and quote, the terms.
type Lease struct {
	ID          string     `json:"id" bson:"id"`
	State       LeaseState `json:"state" bson:"state"`
	UnitTag     string     `json:"unit_tag" bson:"unit_tag"`
	ProductID   string     `json:"product_id" bson:"product_id"`
	StationID   string     `json:"station_id" bson:"station_id"`
	OperatorID  string     `json:"operator_id" bson:"operator_id"`
	RenterID    string     `json:"renter_id" bson:"renter_id"`
	RenterName  string     `json:"renter_name" bson:"renter_name"`
	RenterPhone string     `json:"renter_phone" bson:"renter_phone"`
	Tier        Tier       `json:"tier" bson:"tier"`
	// PolicyVersion prices the lease and its extensions; LateFees and
	// LostAfterDays are that version's rules for the check-out tier (late
	// fees are charged by the tier on the day, see LateCharge).
	PolicyVersion int              `json:"policy_version" bson:"policy_version"`
	LateFees      bool             `json:"late_fees" bson:"late_fees"`
	LostAfterDays int              `json:"lost_after_days" bson:"lost_after_days"`
	Rate          catalog.RatePlan `json:"rate" bson:"rate"`
	Quote         Quote            `json:"quote" bson:"quote"`
	// Days is the paid term, extensions included.
	Days      int       `json:"days" bson:"days"`
	StartedAt time.Time `json:"started_at" bson:"started_at"`
	StartOn   string    `json:"start_on" bson:"start_on"`
	DueOn     string    `json:"due_on" bson:"due_on"`
	Terms     Terms     `json:"terms" bson:"terms"`
	Payments  []Payment `json:"payments" bson:"payments"`
	// Charged so far over the whole term (rent and extensions): the
	// standard price, the renter's part, the subsidy.
	StandardFen int64 `json:"standard_fen" bson:"standard_fen"`
	RenterFen   int64 `json:"renter_fen" bson:"renter_fen"`
	SubsidyFen  int64 `json:"subsidy_fen" bson:"subsidy_fen"`
	// DepositFen is the deposit held (0 once returned or kept).
	DepositFen int64 `json:"deposit_fen" bson:"deposit_fen"`
	// BalanceFen is the ledger's balance once every planned entry is
	// written; LedgerSeq the number of planned entries.
	BalanceFen int64          `json:"balance_fen" bson:"balance_fen"`
	LedgerSeq  int64          `json:"ledger_seq" bson:"ledger_seq"`
	Grants     []SubsidyGrant `json:"grants,omitempty" bson:"grants,omitempty"`
	Extensions int            `json:"extensions" bson:"extensions"`
	// WaivedFen is what waivers forgave on this lease.
	WaivedFen int64 `json:"waived_fen" bson:"waived_fen"`
	// Online money (online.go): what the renter paid through Stripe and
	// what Stripe returned, the outcome keys already applied (each applies
	// once), and the latest dispute, which staff see on the lease.
	PaidOnlineFen     int64    `json:"paid_online_fen,omitempty" bson:"paid_online_fen,omitempty"`
	RefundedOnlineFen int64    `json:"refunded_online_fen,omitempty" bson:"refunded_online_fen,omitempty"`
	OnlineKeys        []string `json:"-" bson:"online_keys,omitempty"`
	// OnlineTab is the payments tab holding that money: the reservation's
	// id for a prepaid reservation, else the lease's own id.
	OnlineTab string         `json:"-" bson:"online_tab,omitempty"`
	Dispute   *OnlineDispute `json:"dispute,omitempty" bson:"dispute,omitempty"`
	// Unapplied are extensions paid online that were not applied because
	// the lease had changed when the money arrived (extend_online.go): the
	// payment is a credit on the lease for the desk to refund or use.
	Unapplied []UnappliedExtension `json:"unapplied_extensions,omitempty" bson:"unapplied_extensions,omitempty"`
	Return    *Return              `json:"return,omitempty" bson:"return,omitempty"`
	// Loss records a declared loss: what it cost the renter and the
	// operator, and the day the device was found, if it was.
	Loss     *Loss     `json:"loss,omitempty" bson:"loss,omitempty"`
	ClosedAt time.Time `json:"closed_at,omitempty" bson:"closed_at,omitempty"`
	// EndReason says why a lease ended: returned, lost, found (lost, then
	// brought back), or for a cancelled one the cause (unit_unavailable,
	// abandoned).
	EndReason string        `json:"end_reason,omitempty" bson:"end_reason,omitempty"`
	By        tenancy.Actor `json:"by" bson:"by"`
	// Listed is set once the lease is real (the unit was handed over):
	// only listed leases are projected into leases and open_leases.
	Listed    bool      `json:"-" bson:"listed"`
	Seq       int64     `json:"seq" bson:"-"`
	CreatedAt time.Time `json:"created_at" bson:"created_at"`
	UpdatedAt time.Time `json:"updated_at" bson:"updated_at"`
}

// DaysOverdue returns how many days past its due date the lease is on day.
func (l Lease) DaysOverdue(day time.Time) int {
	return max(daysBetween(l.DueOn, Date(day)), 0)
}

// LeaseChange is one entry of a lease's history.
type LeaseChange struct {
	Seq  int64         `json:"seq"`
	At   time.Time     `json:"at"`
	Kind string        `json:"kind"`
	From LeaseState    `json:"from"`
	To   LeaseState    `json:"to"`
	By   tenancy.Actor `json:"by"`
	Why  string        `json:"why,omitempty"`
}

// CheckoutRequest is a desk checkout: a unit handed to a renter now.
type CheckoutRequest struct {
	UnitTag  string `json:"unit"`
	RenterID string `json:"renter_id"`
	// Days, or DueOn (YYYY-MM-DD) from which the days are counted. The due
	// date moves to the station's next open day.
	Days  int    `json:"days"`
	DueOn string `json:"due_on"`
	// Payments must total the quote's DueNowFen; items without an amount
	// are no payment.
	Payments     []Payment `json:"payments"`
	TermsVersion string    `json:"terms_version"`
	AcceptedName string    `json:"accepted_name"`
	// StationID is the desk's station.
	StationID string `json:"station_id"`
	// prepaidFen is what the family paid online in advance for the
	// reservation being fulfilled: Payments total DueNowFen less it (never
	// below zero); the lease's paid_online entry carries it.
	prepaidFen int64
}

// CheckinRequest is a desk check-in with its inspection.
type CheckinRequest struct {
	UnitTag string `json:"unit"`
	// StationID is the desk's station: any station of the lease's operator.
	StationID string  `json:"station_id"`
	Outcome   Outcome `json:"outcome"`
	Notes     string  `json:"notes"`
	// DamageFen is what staff charge for damage or missing parts.
	DamageFen int64 `json:"damage_fen"`
	// Payments settle charges beyond the deposit; items without an amount
	// are no payment.
	Payments []Payment `json:"payments"`
	// RefundMethod pays back what the renter is owed: cash or
	// offline_mobile (with RefundReference).
	RefundMethod    string `json:"refund_method"`
	RefundReference string `json:"refund_reference"`
	// ExpectOwedFen, when set, is the settlement's OwedFen staff were shown
	// (PreviewCheckin). If the return now settles differently (a day
	// passed, a payment came in), Checkin refuses with ErrConflict rather
	// than write a settlement nobody saw.
	ExpectOwedFen *int64 `json:"expect_owed_fen,omitempty"`
}

// OpenLease is the summary of an open lease that desk lists show.
type OpenLease struct {
	ID          string     `json:"id"`
	State       LeaseState `json:"state"`
	UnitTag     string     `json:"unit_tag"`
	ProductID   string     `json:"product_id"`
	StationID   string     `json:"station_id"`
	OperatorID  string     `json:"operator_id"`
	RenterID    string     `json:"renter_id"`
	RenterName  string     `json:"renter_name"`
	RenterPhone string     `json:"renter_phone"`
	Tier        Tier       `json:"tier"`
	DueOn       string     `json:"due_on"`
	BalanceFen  int64      `json:"balance_fen"`
	// ReturnStationID is where a returned lease's unit came back.
	ReturnStationID string `json:"return_station_id,omitempty"`
	// DaysOverdue is filled by Overdue and Queues.
	DaysOverdue int `json:"days_overdue,omitempty"`
}

// Queues is a station desk's work for a day.
type Queues struct {
	StationID string `json:"station_id"`
	Day       string `json:"day"`
	// Pickups are reservations to hand over (none until online reservations
	// exist).
	Pickups   []OpenLease `json:"pickups"`
	DueToday  []OpenLease `json:"due_today"`
	Overdue   []OpenLease `json:"overdue"`
	Unsettled []OpenLease `json:"unsettled"`
	// Units waiting for work at the station, and units travelling.
	Returned     []stations.Unit `json:"returned"`
	Cleaning     []stations.Unit `json:"cleaning"`
	Repair       []stations.Unit `json:"repair"`
	InTransitIn  []stations.Unit `json:"in_transit_in"`
	InTransitOut []stations.Unit `json:"in_transit_out"`
}

// Payment limits. With at most MaxPayments of at most MaxPaymentFen each, a
// total can never overflow int64, so sums stay exact (DESIGN.md, invariant 7).
const (
	MaxPayments   = valid.MaxPayments
	MaxPaymentFen = 100_000_000 // ¥1,000,000
)

// checkPaymentTexts bounds what staff typed into payments, before any state
// is read: how many there are and each one's reference.
func checkPaymentTexts(e *valid.Error, field string, ps []Payment) {
	e.List(field, len(ps), valid.MaxPayments)
	for _, p := range ps {
		if textLen(p.Reference) > valid.MaxReference {
			e.Add(field, "reference_length", fmt.Sprintf("a reference must be at most %d characters", valid.MaxReference), "max", valid.MaxReference)
			return
		}
	}
}

// checkTexts is checkPaymentTexts of a request that has nothing else typed.
func checkTexts(ps []Payment) error {
	e := &valid.Error{}
	checkPaymentTexts(e, "payments", ps)
	return e.Err()
}

// checkPayment validates one payment's method, amount and reference; waived
// is allowed only with amount 0 when nothing is due (a subsistence renter's
// free lease). Forgiving what is owed is a waiver, with its reason and
// limit (Waive), never a payment.
func checkPayment(e *valid.Error, field string, p Payment, dueFen int64) bool {
	switch {
	case p.AmountFen > MaxPaymentFen:
		e.Add(field, "amount_max", fmt.Sprintf("each payment must be at most %d fen", MaxPaymentFen), "max_fen", MaxPaymentFen)
	case p.Method != PayCash && p.Method != PayOfflineMobile && p.Method != PayWaived:
		e.Add(field, "pay_method", "method must be one of: cash, offline_mobile, waived")
	case p.Method == PayWaived && (dueFen != 0 || p.AmountFen != 0):
		e.Add(field, "waived", "waived is only for when nothing is due, with amount 0; to forgive what is owed, record a waiver with its reason")
	case p.AmountFen <= 0 && p.Method != PayWaived:
		e.Add(field, "amount_positive", "each payment must be more than 0 fen")
	case p.Method == PayOfflineMobile && strings.TrimSpace(p.Reference) == "":
		e.Add(field, "reference", "an offline_mobile payment needs the transfer's reference")
	case textLen(p.Reference) > valid.MaxReference:
		e.Add(field, "reference_length", fmt.Sprintf("a reference must be at most %d characters", valid.MaxReference), "max", valid.MaxReference)
	default:
		return true
	}
	return false
}

// sumPayments checks every payment and their number, and returns the total,
// which cannot overflow within the limits; ok is false after an error.
func sumPayments(e *valid.Error, field string, ps []Payment, dueFen int64) (int64, bool) {
	if len(ps) > MaxPayments {
		e.List(field, len(ps), MaxPayments)
		return 0, false
	}
	var sum int64
	for _, p := range ps {
		if !checkPayment(e, field, p, dueFen) {
			return 0, false
		}
		sum += p.AmountFen
	}
	return sum, true
}

// checkPayments validates payments that must total exactly dueFen.
// offline_mobile needs a reference; waived is allowed only when nothing is
// due, with amount 0.
func checkPayments(e *valid.Error, field string, ps []Payment, dueFen int64) {
	if sum, ok := sumPayments(e, field, ps, dueFen); ok && sum != dueFen {
		e.Add(field, "total_exact", fmt.Sprintf("must total exactly %d fen (¥%s), not %d", dueFen, yuan(dueFen), sum), "due_fen", dueFen, "paid_fen", sum)
	}
}

// checkSettlement validates payments toward a balance: at most the balance.
func checkSettlement(e *valid.Error, field string, ps []Payment, balanceFen int64) {
	owed := max(balanceFen, 0)
	if sum, ok := sumPayments(e, field, ps, owed); ok && sum > owed {
		e.Add(field, "total_max", fmt.Sprintf("must total at most the %d fen (¥%s) owed, not %d", owed, yuan(owed), sum), "owed_fen", owed, "paid_fen", sum)
	}
}

// yuan writes fen as yuan in an error's (English) text.
func yuan(fen int64) string { return input.YuanText(fen) }
