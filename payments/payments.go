// Package payments takes money online through Stripe for the operators who
// run stations: connected accounts (Express, destination charges, so the
// money goes to the operator and the platform never holds renters' money),
// payments by Checkout Session (hosted page) or PaymentIntent (mobile
// clients), refunds, disputes, webhooks and a reconciler. It is the only
// package that imports stripe-go (stripe.go); everything else here speaks in
// its own types.
//
// # Money
//
// Amounts are integer fen in CNY. The platform's application fee is
// ApplicationFee: basis points of the amount, rounded down to the fen (the
// rounding favours the operator). Amounts of zero or below MinChargeFen are
// never sent to Stripe: ErrBelowMinimum, which the caller shows as "pay at the
// station". See docs/payments.md.
//
// # Storage and the transition pattern
//
// All online money of one lease is one entity, its tab, kept in the
// "payment" log (eventlog, entity = lease id): every event carries the whole
// tab as it is after it (payments with their attempts, refunds with their
// parts, disputes). Decisions read the log's head, so a refund is checked
// against what was paid minus what was already refunded across all payments
// of the lease, and two writers that saw the same head collide on the same
// event id. Connected accounts are the "payment_account" log (entity =
// operator id). Webhook events are claimed by inserting their id into the
// "payment_webhook" log, so the same event is applied once however often it
// arrives.
//
//	payment_events          the tabs' log
//	payment_account_events  the accounts' log
//	payment_webhook_events  one claim per Stripe event id
//	payment_tabs            _id = lease id      projection of a tab
//	payments                _id = payment id    one document per payment (lists)
//	payment_accounts        _id = operator id   projection of an account
//	payment_objects         _id = Stripe id     which tab a Stripe object belongs to
//	payment_open            _id = lease id      tabs waiting for Stripe (small)
//	payment_queue           _id = item id       failed refunds and disputes for operators
//
// Every Stripe call that creates something carries an idempotency key derived
// from our own ids (docs/payments.md lists them), written to the log before
// the call, so a retry after a crash reuses it.
package payments

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"time"

	"fuju/internal/valid"
)

// Errors returned by this package. Validation errors are *valid.Error.
var (
	ErrNotFound = errors.New("not found")
	ErrConflict = errors.New("conflict")
	// ErrPayAtStation is matched by every reason an amount cannot be paid
	// online; the caller tells the family to pay at the station's desk.
	ErrPayAtStation = errors.New("pay at the station")
	// ErrBelowMinimum: zero, or less than Stripe's minimum charge.
	ErrBelowMinimum = fmt.Errorf("amount below Stripe's minimum charge for CNY: %w", ErrPayAtStation)
	// ErrNotConnected: the operator's Stripe account cannot take charges.
	ErrNotConnected = fmt.Errorf("the operator cannot take online payments yet: %w", ErrPayAtStation)
	// ErrAlreadyPaid: the payment's purpose was paid already.
	ErrAlreadyPaid = fmt.Errorf("already paid: %w", ErrConflict)
	// ErrRefundTooLarge: a refund would return more than was paid online
	// and not yet refunded.
	ErrRefundTooLarge = errors.New("refund exceeds what was paid online and not yet refunded")
	// ErrBadWebhook: a webhook request that is not a genuine, fresh Stripe
	// event for our API version; the handler answers 400.
	ErrBadWebhook = errors.New("bad webhook")
	// ErrStripeUnavailable: Stripe could not be reached or failed; the
	// same call may be tried again (it reuses its idempotency key).
	ErrStripeUnavailable = errors.New("stripe is unavailable; try again")
	// ErrStripeRefused: Stripe refused the call (its code is in the
	// message); trying again will not help.
	ErrStripeRefused = errors.New("stripe refused")
)

// Currency is the only currency charged.
const Currency = "cny"

// MinChargeFen is the smallest amount sent to Stripe: ¥4.00. Stripe's
// minimum depends on the connected account's settlement currency — USD
// $0.50, HKD HK$4.00, and a charge in another currency must convert to at
// least that ("Minimum and maximum charge amounts",
// https://docs.stripe.com/currencies#minimum-and-maximum-charge-amounts).
// CNY is not a settlement currency there, so its floor follows the exchange
// rate: ¥3.6–3.7 at 7.1–7.3 CNY/USD and 0.92 CNY/HKD; ¥4.00 clears both with
// a margin. Should Stripe still answer amount_too_small, the call ends in
// ErrBelowMinimum too.
const MinChargeFen = 400

// MaxChargeFen is Stripe's largest amount (eight digits of minor units).
const MaxChargeFen = 99_999_999

// MaxFeeBP bounds the platform's application fee (50%).
const MaxFeeBP = 5000

// ApplicationFee is the platform's fee on amountFen at bp basis points,
// rounded down to the fen: ⌊amount × bp / 10000⌋. Rounding down favours the
// operator; amounts and fees are at most 99,999,999 × 5000, far inside int64.
func ApplicationFee(amountFen int64, bp int) int64 {
	if amountFen <= 0 || bp <= 0 {
		return 0
	}
	return amountFen * int64(bp) / 10000
}

// Purpose is what a payment pays for.
type Purpose string

// Purposes.
const (
	FirstPeriod Purpose = "first_period" // a reservation's first period and deposit
	Extension   Purpose = "extension"    // a lease's extension
	Balance     Purpose = "balance"      // an open balance of a lease
)

// Valid reports whether p is a known purpose.
func (p Purpose) Valid() bool { return p == FirstPeriod || p == Extension || p == Balance }

// label is the line shown on Stripe's payment page (no personal data).
func (p Purpose) label(lang string) string {
	zh := map[Purpose]string{FirstPeriod: "辅具租赁：首期租金与押金", Extension: "辅具租赁：续租", Balance: "辅具租赁：结清余额"}
	en := map[Purpose]string{FirstPeriod: "Assistive device rental: first period and deposit", Extension: "Assistive device rental: extension", Balance: "Assistive device rental: balance"}
	if lang == "en" {
		return en[p]
	}
	return zh[p]
}

// Channel is how the family pays.
type Channel string

// Channels.
const (
	// Checkout is Stripe's hosted Checkout page (browsers).
	Checkout Channel = "checkout"
	// Intent is a PaymentIntent confirmed by a mobile client with its
	// client secret.
	Intent Channel = "intent"
)

// Methods are the payment methods offered.
var Methods = []string{"card", "alipay", "wechat_pay"}

// State is where a payment, or one attempt to pay it, stands.
type State string

// States.
const (
	// Requested: recorded with its idempotency key; Stripe has not answered.
	Requested State = "requested"
	// Open: a Checkout Session or PaymentIntent waits for the family.
	Open State = "open"
	// Processing: paid with a method that confirms later.
	Processing State = "processing"
	// Paid: Stripe says the money was received.
	Paid State = "paid"
	// Ended: the attempt ended unpaid (expired, canceled, failed,
	// abandoned); a new attempt may start.
	Ended State = "ended"
)

// Payment is one purpose paid online: the ledger entry it credits (ID), its
// amount and fee, and its attempts at Stripe. Once Paid it stays paid;
// refunds and disputes are recorded beside it on the tab.
type Payment struct {
	// ID is our ledger entry id (e.g. "reservation/R-1/prepay"): the
	// payment's identity and the base of its idempotency keys.
	ID          string  `json:"id" bson:"id"`
	LeaseID     string  `json:"lease_id" bson:"lease_id"`
	OperatorID  string  `json:"operator_id" bson:"operator_id"`
	Purpose     Purpose `json:"purpose" bson:"purpose"`
	AmountFen   int64   `json:"amount_fen" bson:"amount_fen"`
	FeeFen      int64   `json:"fee_fen" bson:"fee_fen"`
	Destination string  `json:"destination" bson:"destination"`
	Description string  `json:"description" bson:"description"`
	State       State   `json:"state" bson:"state"`
	// Attempts are in order; only the last may be open.
	Attempts []Attempt `json:"attempts" bson:"attempts"`
	// Set when paid: the PaymentIntent and charge that paid, what Stripe
	// received and the fee it recorded.
	IntentID   string    `json:"intent_id,omitempty" bson:"intent_id,omitempty"`
	ChargeID   string    `json:"charge_id,omitempty" bson:"charge_id,omitempty"`
	PaidFen    int64     `json:"paid_fen" bson:"paid_fen"`
	PaidFeeFen int64     `json:"paid_fee_fen" bson:"paid_fee_fen"`
	PaidAt     time.Time `json:"paid_at,omitzero" bson:"paid_at,omitempty"`
	Disputed   bool      `json:"disputed,omitempty" bson:"disputed,omitempty"`
	CreatedAt  time.Time `json:"created_at" bson:"created_at"`
	UpdatedAt  time.Time `json:"updated_at" bson:"updated_at"`
}

// Attempt is one Checkout Session or PaymentIntent made for a payment.
type Attempt struct {
	N       int     `json:"n" bson:"n"`
	Channel Channel `json:"channel" bson:"channel"`
	// Key is the idempotency key of the call creating it: "<payment>/<n>".
	Key       string `json:"key" bson:"key"`
	State     State  `json:"state" bson:"state"`
	EndReason string `json:"end_reason,omitempty" bson:"end_reason,omitempty"`
	SessionID string `json:"session_id,omitempty" bson:"session_id,omitempty"`
	// URL is the hosted Checkout page.
	URL string `json:"url,omitempty" bson:"url,omitempty"`
	// ExpiresAt is when the Checkout Session expires (fixed before the call,
	// so a retry sends the same parameters).
	ExpiresAt time.Time `json:"expires_at,omitzero" bson:"expires_at,omitempty"`
	IntentID  string    `json:"intent_id,omitempty" bson:"intent_id,omitempty"`
	// ClientSecret lets a mobile client confirm the PaymentIntent; it is
	// returned to the payer only, never listed or logged.
	ClientSecret string    `json:"-" bson:"client_secret,omitempty"`
	SuccessURL   string    `json:"-" bson:"success_url,omitempty"`
	CancelURL    string    `json:"-" bson:"cancel_url,omitempty"`
	Lang         string    `json:"-" bson:"lang,omitempty"`
	RequestedAt  time.Time `json:"requested_at" bson:"requested_at"`
	UpdatedAt    time.Time `json:"updated_at" bson:"updated_at"`
}

// RefundState is where one part of a refund stands.
type RefundState string

// Refund states.
const (
	// RefundRequested: recorded with its idempotency key; Stripe has not
	// answered.
	RefundRequested RefundState = "requested"
	// RefundPending: Stripe accepted it; the money is on its way.
	RefundPending RefundState = "pending"
	// RefundSucceeded: the money went back.
	RefundSucceeded RefundState = "succeeded"
	// RefundFailed: Stripe could not return the money (FailureReason); the
	// amount may be refunded again and the operator sees a queue item.
	RefundFailed RefundState = "failed"
	// RefundCanceled: canceled before it went out.
	RefundCanceled RefundState = "canceled"
)

// committed reports whether the part's amount is spoken for: it may still
// go, or went.
func (s RefundState) committed() bool {
	return s == RefundRequested || s == RefundPending || s == RefundSucceeded
}

// final reports whether Stripe will not move the part on by itself (a
// succeeded refund may still fail later, but only Stripe says so).
func (s RefundState) final() bool {
	return s == RefundSucceeded || s == RefundFailed || s == RefundCanceled
}

// Refund is money sent back for a lease: our ledger entry id (ID) and its
// parts, one Stripe refund per PaymentIntent it draws on.
type Refund struct {
	ID        string `json:"id" bson:"id"`
	AmountFen int64  `json:"amount_fen" bson:"amount_fen"`
	// Reason is a short code from the caller (deposit_return, cancelled…).
	Reason string `json:"reason,omitempty" bson:"reason,omitempty"`
	// External refunds were made outside Fuju (Stripe's dashboard);
	// duplicate refunds return a second payment of the same purpose.
	External    bool         `json:"external,omitempty" bson:"external,omitempty"`
	Duplicate   bool         `json:"duplicate,omitempty" bson:"duplicate,omitempty"`
	Parts       []RefundPart `json:"parts" bson:"parts"`
	RequestedAt time.Time    `json:"requested_at" bson:"requested_at"`
}

// RefundPart is one Stripe refund.
type RefundPart struct {
	// Key is the idempotency key of the Stripe call: "<refund>/<n>".
	Key           string      `json:"key" bson:"key"`
	PaymentID     string      `json:"payment_id" bson:"payment_id"`
	IntentID      string      `json:"intent_id" bson:"intent_id"`
	AmountFen     int64       `json:"amount_fen" bson:"amount_fen"`
	State         RefundState `json:"state" bson:"state"`
	StripeID      string      `json:"stripe_id,omitempty" bson:"stripe_id,omitempty"`
	FailureReason string      `json:"failure_reason,omitempty" bson:"failure_reason,omitempty"`
	// Acknowledged: the operator cleared the failure from the queue.
	Acknowledged bool      `json:"acknowledged,omitempty" bson:"acknowledged,omitempty"`
	UpdatedAt    time.Time `json:"updated_at" bson:"updated_at"`
}

// State sums a refund's parts: failed if any failed, succeeded when all did,
// otherwise pending.
func (r Refund) State() RefundState {
	all := true
	for _, p := range r.Parts {
		if p.State == RefundFailed || p.State == RefundCanceled {
			return RefundFailed
		}
		if p.State != RefundSucceeded {
			all = false
		}
	}
	if all {
		return RefundSucceeded
	}
	return RefundPending
}

// Dispute is a chargeback a family's bank opened on a payment.
type Dispute struct {
	ID           string    `json:"id" bson:"id"`
	PaymentID    string    `json:"payment_id" bson:"payment_id"`
	AmountFen    int64     `json:"amount_fen" bson:"amount_fen"`
	Status       string    `json:"status" bson:"status"`
	Reason       string    `json:"reason" bson:"reason"`
	Acknowledged bool      `json:"acknowledged,omitempty" bson:"acknowledged,omitempty"`
	UpdatedAt    time.Time `json:"updated_at" bson:"updated_at"`
}

// Tab is all online money of one lease as of its log event Seq: the source of
// truth for what Stripe did.
type Tab struct {
	LeaseID    string    `json:"lease_id" bson:"lease_id"`
	OperatorID string    `json:"operator_id" bson:"operator_id"`
	Payments   []Payment `json:"payments" bson:"payments"`
	Refunds    []Refund  `json:"refunds" bson:"refunds"`
	Disputes   []Dispute `json:"disputes" bson:"disputes"`
	Seq        int64     `json:"seq" bson:"-"`
}

// AccountStatus is where an operator's connected account stands.
type AccountStatus string

// Account statuses.
const (
	// AccountRequested: being created at Stripe.
	AccountRequested AccountStatus = "requested"
	// AccountOnboarding: created; the operator has not finished Stripe's
	// onboarding.
	AccountOnboarding AccountStatus = "onboarding"
	// AccountRestricted: Stripe needs more (CurrentlyDue, DisabledReason)
	// before it allows charges.
	AccountRestricted AccountStatus = "restricted"
	// AccountEnabled: charges are enabled.
	AccountEnabled AccountStatus = "enabled"
)

// Account is an operator's Stripe connected account (Express).
type Account struct {
	OperatorID       string        `json:"operator_id" bson:"operator_id"`
	StripeID         string        `json:"stripe_id,omitempty" bson:"stripe_id,omitempty"`
	Key              string        `json:"-" bson:"key"`
	Status           AccountStatus `json:"status" bson:"status"`
	ChargesEnabled   bool          `json:"charges_enabled" bson:"charges_enabled"`
	PayoutsEnabled   bool          `json:"payouts_enabled" bson:"payouts_enabled"`
	DetailsSubmitted bool          `json:"details_submitted" bson:"details_submitted"`
	// CurrentlyDue names what Stripe still needs (field names such as
	// "external_account", never their values).
	CurrentlyDue   []string  `json:"currently_due" bson:"currently_due"`
	DisabledReason string    `json:"disabled_reason,omitempty" bson:"disabled_reason,omitempty"`
	RequestedAt    time.Time `json:"requested_at" bson:"requested_at"`
	UpdatedAt      time.Time `json:"updated_at" bson:"updated_at"`
	Seq            int64     `json:"seq" bson:"-"`
}

// CanTakeCharges reports whether payments may be made to the account.
func (a Account) CanTakeCharges() bool { return a.StripeID != "" && a.ChargesEnabled }

// Queue item kinds.
const (
	QueueRefundFailed = "refund_failed"
	QueueDispute      = "dispute"
)

// QueueItem is something about online money an operator must act on: a refund
// Stripe could not pay out (the money is still owed to the family), or a
// dispute.
type QueueItem struct {
	ID         string    `json:"id"`
	Kind       string    `json:"kind"`
	OperatorID string    `json:"operator_id"`
	LeaseID    string    `json:"lease_id"`
	PaymentID  string    `json:"payment_id,omitempty"`
	RefundID   string    `json:"refund_id,omitempty"`
	AmountFen  int64     `json:"amount_fen"`
	Reason     string    `json:"reason"`
	At         time.Time `json:"at"`
}

var (
	refRe  = regexp.MustCompile(`^[a-z][a-z_]*(/[A-Za-z0-9][A-Za-z0-9_.-]*)+$`)
	idRe   = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]*$`)
	codeRe = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)
)

// maxURLLen is the longest return address Checkout is given.
const maxURLLen = 2000

// maxRefLen keeps "<ref>/<n>/close" inside Stripe's 255-character key.
const maxRefLen = 120

func checkRef(e *valid.Error, field, ref string) {
	switch {
	case len(ref) > maxRefLen:
		e.Add(field, "max_length", fmt.Sprintf("must be at most %d characters", maxRefLen), "max", maxRefLen)
	case !refRe.MatchString(ref):
		e.Add(field, "record_path", "must be a ledger entry id such as lease/l-123/deposit")
	}
}

func checkID(e *valid.Error, field, id string) {
	if !idRe.MatchString(id) || len(id) > 64 {
		e.Add(field, "record_id", "must be an id of letters, digits, '-', '_' or '.' (at most 64)")
	}
}

func checkURL(e *valid.Error, field, s string) {
	u, err := url.Parse(s)
	switch {
	case len(s) > maxURLLen:
		e.Add(field, "max_length", fmt.Sprintf("must be at most %d characters", maxURLLen), "max", maxURLLen)
	case err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "":
		e.Add(field, "url", "must be an absolute http(s) URL")
	}
}

// PaymentRequest asks for a payment of one purpose of a lease.
type PaymentRequest struct {
	// Ref is our ledger entry id the payment credits, e.g.
	// "reservation/R-1/prepay" or "lease/l-1/extension/2"; it names the
	// payment and is the base of its idempotency keys, so asking twice for
	// the same Ref gives the same payment.
	Ref string
	// LeaseID groups payments a refund may draw on: a reservation's
	// prepayment carries the id of the lease it becomes.
	LeaseID    string
	OperatorID string
	Purpose    Purpose
	AmountFen  int64
	// Description is the line on Stripe's page; empty uses the purpose's.
	Description string
	// SuccessURL and CancelURL are where Checkout sends the family back
	// (Checkout only).
	SuccessURL string
	CancelURL  string
	// Lang is "zh" (default) or "en", for Stripe's page.
	Lang string
}

// validate checks the request for ch. Amounts too small for Stripe are
// ErrBelowMinimum, not a validation error: the caller's input is fine, it
// is just paid at the desk.
func (r PaymentRequest) validate(ch Channel) error {
	e := &valid.Error{}
	checkRef(e, "ref", r.Ref)
	checkID(e, "lease_id", r.LeaseID)
	checkID(e, "operator_id", r.OperatorID)
	if !r.Purpose.Valid() {
		e.Add("purpose", "oneof", "must be first_period, extension or balance")
	}
	if r.AmountFen < 0 || r.AmountFen > MaxChargeFen {
		e.Add("amount_fen", "amount_range", fmt.Sprintf("must be between 0 and %d fen", MaxChargeFen), "min_fen", 0, "max_fen", MaxChargeFen)
	}
	if len([]rune(r.Description)) > 200 {
		e.Add("description", "max_length", "must be at most 200 characters", "max", 200)
	}
	if r.Lang != "" && r.Lang != "zh" && r.Lang != "en" {
		e.Add("lang", "oneof", "must be zh or en")
	}
	if ch == Checkout {
		checkURL(e, "success_url", r.SuccessURL)
		checkURL(e, "cancel_url", r.CancelURL)
	}
	if err := e.Err(); err != nil {
		return err
	}
	if r.AmountFen < MinChargeFen {
		return fmt.Errorf("payments: %d fen for %s: %w", r.AmountFen, r.Ref, ErrBelowMinimum)
	}
	return nil
}

// RefundRequest asks to send money paid online for a lease back.
type RefundRequest struct {
	// Ref is our ledger entry id of the refund (e.g.
	// "lease/l-1/deposit-return"); the refund's identity and the base of
	// its idempotency keys.
	Ref     string
	LeaseID string
	// AmountFen to refund; with Full, everything still refundable.
	AmountFen int64
	Full      bool
	// Reason is a short code (deposit_return, cancelled, …), no free text.
	Reason string
}

func (r RefundRequest) validate() error {
	e := &valid.Error{}
	checkRef(e, "ref", r.Ref)
	checkID(e, "lease_id", r.LeaseID)
	switch {
	case r.Full && r.AmountFen != 0:
		e.Add("amount_fen", "full_refund", "must be empty for a full refund")
	case !r.Full && (r.AmountFen < 1 || r.AmountFen > MaxChargeFen):
		e.Add("amount_fen", "amount_range", fmt.Sprintf("must be between 1 and %d fen", MaxChargeFen), "min_fen", 1, "max_fen", MaxChargeFen)
	}
	if r.Reason != "" && (!codeRe.MatchString(r.Reason) || len(r.Reason) > 40) {
		e.Add("reason", "short_code", "must be a short code such as deposit_return (at most 40 characters)")
	}
	return e.Err()
}

// Outcome is what Stripe did, delivered to the rest of the system (Ledger).
type Outcome struct {
	// Key identifies the outcome: the Ledger applies each key once, so
	// delivering an outcome again (after a crash, by the reconciler) is
	// harmless.
	Key        string
	Ref        string // our ledger entry id: the payment's or the refund's
	PaymentID  string // the payment a refund or dispute concerns
	LeaseID    string
	OperatorID string
	AmountFen  int64
	FeeFen     int64
	// StripeRef is Stripe's id of the money movement (pi_, re_, dp_).
	StripeRef string
	// Reason: a refund's failure reason or a dispute's status and reason.
	Reason string
}
