package payments

import (
	"fmt"
	"slices"
	"strconv"
	"time"
)

// The rules of a tab, as pure functions: every decision the service makes
// is one of these applied to the head of the tab's log, and the result is
// appended as the next event. Nothing here touches the database or Stripe.

// Metadata keys set on every Stripe object we create, so an object whose id
// we never recorded (a crash between Stripe's answer and our write) still
// names its payment, and an object of another operator is recognised.
const (
	mdPayment  = "fuju_payment"
	mdLease    = "fuju_lease"
	mdOperator = "fuju_operator"
	mdAttempt  = "fuju_attempt"
	mdRefund   = "fuju_refund"
	mdPart     = "fuju_part"
)

// Stripe objects as this package reads them (stripe.go converts).
type (
	sessionInfo struct {
		ID, Status, PaymentStatus, URL string
		ExpiresAt                      time.Time
		AmountTotal                    int64
		Currency                       string
		IntentID                       string
		// Intent is the expanded PaymentIntent, when there is one.
		Intent   *intentInfo
		Metadata map[string]string
	}
	intentInfo struct {
		ID, Status                     string
		Amount, AmountReceived, FeeFen int64
		Currency, ChargeID             string
		Destination, ClientSecret      string
		Metadata                       map[string]string
	}
	refundInfo struct {
		ID, Status, FailureReason string
		IntentID, ChargeID        string
		Amount                    int64
		Currency                  string
		Metadata                  map[string]string
	}
	disputeInfo struct {
		ID, Status, Reason string
		IntentID, ChargeID string
		Amount             int64
	}
	accountInfo struct {
		ID                                               string
		ChargesEnabled, PayoutsEnabled, DetailsSubmitted bool
		CurrentlyDue                                     []string
		DisabledReason                                   string
		Metadata                                         map[string]string
	}
)

// clone copies t deeply, so a decision never changes the head it read.
func (t Tab) clone() Tab {
	c := t
	c.Payments = make([]Payment, len(t.Payments))
	for i, p := range t.Payments {
		p.Attempts = slices.Clone(p.Attempts)
		c.Payments[i] = p
	}
	c.Refunds = make([]Refund, len(t.Refunds))
	for i, r := range t.Refunds {
		r.Parts = slices.Clone(r.Parts)
		c.Refunds[i] = r
	}
	c.Disputes = slices.Clone(t.Disputes)
	return c
}

// payment returns the index of payment id, or -1.
func (t Tab) payment(id string) int {
	return slices.IndexFunc(t.Payments, func(p Payment) bool { return p.ID == id })
}

// refund returns the index of refund id, or -1.
func (t Tab) refund(id string) int {
	return slices.IndexFunc(t.Refunds, func(r Refund) bool { return r.ID == id })
}

// paymentByIntent returns the index of the payment one of whose attempts is
// PaymentIntent id, or -1.
func (t Tab) paymentByIntent(id string) int {
	for i, p := range t.Payments {
		if p.IntentID == id || slices.ContainsFunc(p.Attempts, func(a Attempt) bool { return a.IntentID == id }) {
			return i
		}
	}
	return -1
}

// current returns the last attempt, or nil.
func (p *Payment) current() *Attempt {
	if len(p.Attempts) == 0 {
		return nil
	}
	return &p.Attempts[len(p.Attempts)-1]
}

// sync sets the payment's state from its attempts: paid once any attempt
// paid, otherwise the state of the last attempt.
func (p *Payment) sync(now time.Time) {
	p.UpdatedAt = now
	if !p.PaidAt.IsZero() {
		p.State = Paid
		return
	}
	if a := p.current(); a != nil {
		p.State = a.State
	}
}

// same reports whether a request asks for what p already is.
func (p Payment) same(r PaymentRequest) bool {
	return p.LeaseID == r.LeaseID && p.OperatorID == r.OperatorID && p.Purpose == r.Purpose && p.AmountFen == r.AmountFen
}

// newAttempt is attempt number len(p.Attempts)+1 of p, requested now. A
// Checkout Session's expiry is fixed here, so a retry of the call sends the
// same parameters under the same key.
func newAttempt(p Payment, ch Channel, r PaymentRequest, now time.Time, ttl time.Duration) Attempt {
	n := len(p.Attempts) + 1
	a := Attempt{N: n, Channel: ch, Key: p.ID + "/" + strconv.Itoa(n), State: Requested, RequestedAt: now, UpdatedAt: now, Lang: r.Lang}
	if ch == Checkout {
		a.ExpiresAt = now.Add(ttl).Truncate(time.Second)
		a.SuccessURL, a.CancelURL = r.SuccessURL, r.CancelURL
	}
	return a
}

// startPayment adds payment r.Ref with its first attempt.
func (t Tab) startPayment(r PaymentRequest, ch Channel, feeFen int64, destination string, now time.Time, ttl time.Duration) Tab {
	next := t.clone()
	next.LeaseID, next.OperatorID = r.LeaseID, r.OperatorID
	desc := r.Description
	if desc == "" {
		desc = r.Purpose.label(r.Lang)
	}
	p := Payment{ID: r.Ref, LeaseID: r.LeaseID, OperatorID: r.OperatorID, Purpose: r.Purpose, AmountFen: r.AmountFen,
		FeeFen: feeFen, Destination: destination, Description: desc, CreatedAt: now}
	p.Attempts = []Attempt{newAttempt(p, ch, r, now, ttl)}
	p.sync(now)
	next.Payments = append(next.Payments, p)
	return next
}

// retry adds a new attempt to payment i, whose last attempt ended.
func (t Tab) retry(i int, ch Channel, r PaymentRequest, now time.Time, ttl time.Duration) Tab {
	next := t.clone()
	p := &next.Payments[i]
	p.Attempts = append(p.Attempts, newAttempt(*p, ch, r, now, ttl))
	p.sync(now)
	return next
}

// opened is what Stripe answered when an attempt was created.
type opened struct {
	SessionID, URL, IntentID, ClientSecret string
}

// open records Stripe's answer for attempt n of payment i. It reports false
// when the attempt is no longer waiting for one.
func (t *Tab) open(i, n int, o opened, now time.Time) bool {
	p := &t.Payments[i]
	a := &p.Attempts[n-1]
	if a.State != Requested {
		return false
	}
	a.State, a.UpdatedAt = Open, now
	a.SessionID, a.URL = o.SessionID, o.URL
	if o.IntentID != "" {
		a.IntentID, a.ClientSecret = o.IntentID, o.ClientSecret
	}
	p.sync(now)
	return true
}

// end closes attempt n of payment i unpaid. Paid and ended attempts stay as
// they are.
func (t *Tab) end(i, n int, reason string, now time.Time) bool {
	p := &t.Payments[i]
	a := &p.Attempts[n-1]
	if a.State == Paid || a.State == Ended {
		return false
	}
	a.State, a.EndReason, a.UpdatedAt = Ended, reason, now
	p.sync(now)
	return true
}

// attemptFor finds the attempt of payment i a Stripe object belongs to: by
// its recorded session or intent id, else by the attempt key in the
// object's metadata (an object we never recorded). -1 when none.
func (p Payment) attemptFor(sessionID, intentID string, md map[string]string) int {
	for k, a := range p.Attempts {
		if sessionID != "" && a.SessionID == sessionID || intentID != "" && a.IntentID == intentID {
			return k
		}
	}
	if key := md[mdAttempt]; key != "" {
		for k, a := range p.Attempts {
			if a.Key == key {
				return k
			}
		}
	}
	return -1
}

// applySession brings payment i in line with a Checkout Session as Stripe
// reports it. Paid is final; an attempt we ended (abandoned, superseded)
// still becomes paid if Stripe says so.
func (t *Tab) applySession(i int, s sessionInfo, now time.Time) bool {
	p := &t.Payments[i]
	k := p.attemptFor(s.ID, s.IntentID, s.Metadata)
	if k < 0 {
		return false
	}
	a := &p.Attempts[k]
	changed := false
	if a.SessionID == "" {
		a.SessionID, a.URL, changed = s.ID, s.URL, true
		if a.State == Requested {
			a.State = Open
		}
	}
	if s.IntentID != "" && a.IntentID == "" {
		a.IntentID, changed = s.IntentID, true
	}
	switch {
	case s.Status == "complete" && s.PaymentStatus == "paid":
		pi := intentInfo{ID: s.IntentID, Status: "succeeded", Amount: s.AmountTotal, AmountReceived: s.AmountTotal}
		if s.Intent != nil {
			pi = *s.Intent
		}
		if pi.Status == "succeeded" {
			changed = t.paid(i, k, pi, now) || changed
		}
	case s.Status == "complete":
		if s.Intent != nil && s.Intent.Status == "canceled" {
			changed = t.end(i, k+1, "failed", now) || changed
		} else if a.State == Open || a.State == Requested {
			a.State, a.UpdatedAt, changed = Processing, now, true
		}
	case s.Status == "expired":
		changed = t.end(i, k+1, "expired", now) || changed
	}
	if changed {
		p.sync(now)
	}
	return changed
}

// applyIntent brings payment i in line with a PaymentIntent as Stripe
// reports it.
func (t *Tab) applyIntent(i int, pi intentInfo, now time.Time) bool {
	p := &t.Payments[i]
	k := p.attemptFor("", pi.ID, pi.Metadata)
	if k < 0 {
		return false
	}
	a := &p.Attempts[k]
	changed := false
	if a.IntentID == "" {
		a.IntentID, changed = pi.ID, true
		if a.Channel == Intent && a.State == Requested {
			a.State, a.ClientSecret = Open, pi.ClientSecret
		}
	}
	switch pi.Status {
	case "succeeded":
		changed = t.paid(i, k, pi, now) || changed
	case "processing":
		if a.State == Open || a.State == Requested {
			a.State, a.UpdatedAt, changed = Processing, now, true
		}
	case "canceled":
		changed = t.end(i, k+1, "canceled", now) || changed
	case "requires_payment_method":
		// A failed try leaves the intent reusable; an async method that
		// failed after processing sends it back here.
		if a.State == Processing {
			a.State, a.UpdatedAt, changed = Open, now, true
		}
	}
	if changed {
		p.sync(now)
	}
	return changed
}

// paid records that attempt k of payment i was paid by pi. The first paid
// attempt pays the payment; a second one (two attempts both paid, which
// closing the old attempt before opening a new one should prevent) is
// refunded in full automatically: no purpose is charged twice.
func (t *Tab) paid(i, k int, pi intentInfo, now time.Time) bool {
	p := &t.Payments[i]
	a := &p.Attempts[k]
	if a.State == Paid {
		return false
	}
	received := pi.AmountReceived
	if received == 0 {
		received = pi.Amount
	}
	a.State, a.EndReason, a.IntentID, a.UpdatedAt = Paid, "", pi.ID, now
	if p.PaidAt.IsZero() || p.IntentID == pi.ID {
		p.IntentID, p.ChargeID, p.PaidFen, p.PaidFeeFen, p.PaidAt = pi.ID, pi.ChargeID, received, pi.FeeFen, now
	} else {
		id := p.ID + "/duplicate/" + strconv.Itoa(a.N)
		if t.refund(id) < 0 {
			t.Refunds = append(t.Refunds, Refund{ID: id, AmountFen: received, Reason: "duplicate", Duplicate: true, RequestedAt: now,
				Parts: []RefundPart{{Key: id + "/1", PaymentID: p.ID, IntentID: pi.ID, AmountFen: received, State: RefundRequested, UpdatedAt: now}}})
		}
	}
	p.sync(now)
	return true
}

// refundableOf is what may still be refunded of payment i: what it received
// minus the refunds that may still go or went. Duplicate payments are
// refunded on their own and do not count.
func (t Tab) refundableOf(i int) int64 {
	p := t.Payments[i]
	if p.State != Paid || p.Disputed {
		return 0
	}
	left := p.PaidFen
	for _, r := range t.Refunds {
		for _, part := range r.Parts {
			if part.PaymentID == p.ID && part.IntentID == p.IntentID && part.State.committed() {
				left -= part.AmountFen
			}
		}
	}
	return left
}

// Refundable is what may still be refunded online for the lease: paid minus
// refunded or being refunded, over every payment that is not disputed.
func (t Tab) Refundable() int64 {
	var n int64
	for i := range t.Payments {
		n += t.refundableOf(i)
	}
	return n
}

// PaidFen is what was received online for the lease.
func (t Tab) PaidFen() int64 {
	var n int64
	for _, p := range t.Payments {
		if p.State == Paid {
			n += p.PaidFen
		}
	}
	return n
}

// RefundedFen is what went back (succeeded refunds, duplicates excluded).
func (t Tab) RefundedFen() int64 {
	var n int64
	for _, r := range t.Refunds {
		if r.Duplicate {
			continue
		}
		for _, part := range r.Parts {
			if part.State == RefundSucceeded {
				n += part.AmountFen
			}
		}
	}
	return n
}

// allocate decides refund ref of amount (or everything refundable, when
// full): which payments it draws on. One payment covers it when one can (the
// one with the least left that still covers it, keeping larger payments
// whole); otherwise the largest are drawn first. It fails with
// ErrRefundTooLarge when the lease's payments cannot cover it.
func (t Tab) allocate(ref string, amount int64, full bool, reason string, now time.Time) (Refund, error) {
	type cand struct {
		i    int
		left int64
	}
	var cands []cand
	var total int64
	for i := range t.Payments {
		if left := t.refundableOf(i); left > 0 {
			cands = append(cands, cand{i, left})
			total += left
		}
	}
	if full {
		amount = total
	}
	if amount <= 0 || amount > total {
		return Refund{}, fmt.Errorf("payments: refund %s of %d fen, %d fen refundable: %w", ref, amount, total, ErrRefundTooLarge)
	}
	slices.SortStableFunc(cands, func(a, b cand) int {
		switch {
		case a.left > b.left:
			return -1
		case a.left < b.left:
			return 1
		}
		return 0
	})
	r := Refund{ID: ref, AmountFen: amount, Reason: reason, RequestedAt: now}
	part := func(c cand, n int64) {
		p := t.Payments[c.i]
		r.Parts = append(r.Parts, RefundPart{Key: ref + "/" + strconv.Itoa(len(r.Parts)+1), PaymentID: p.ID, IntentID: p.IntentID,
			AmountFen: n, State: RefundRequested, UpdatedAt: now})
	}
	for k := len(cands) - 1; k >= 0; k-- { // smallest first: the best fit
		if cands[k].left >= amount {
			part(cands[k], amount)
			return r, nil
		}
	}
	left := amount
	for _, c := range cands {
		n := min(c.left, left)
		part(c, n)
		if left -= n; left == 0 {
			break
		}
	}
	return r, nil
}

// refundState maps a Stripe refund status.
func refundState(status string) RefundState {
	switch status {
	case "succeeded":
		return RefundSucceeded
	case "failed":
		return RefundFailed
	case "canceled":
		return RefundCanceled
	}
	return RefundPending // pending, requires_action
}

// canMove reports whether a refund part may go from one state to another:
// only forward, except that Stripe may fail a refund it reported succeeded.
func (s RefundState) canMove(to RefundState) bool {
	switch s {
	case RefundRequested:
		return to != RefundRequested
	case RefundPending:
		return to == RefundSucceeded || to == RefundFailed || to == RefundCanceled
	case RefundSucceeded:
		return to == RefundFailed
	}
	return false
}

// applyRefund records a Stripe refund on the part it belongs to (by its
// Stripe id, else by the part key in its metadata). placed is false when no
// part of this tab is it.
func (t *Tab) applyRefund(r refundInfo, now time.Time) (placed, changed bool) {
	for ri := range t.Refunds {
		for pi := range t.Refunds[ri].Parts {
			part := &t.Refunds[ri].Parts[pi]
			if part.StripeID != r.ID && (part.StripeID != "" || part.Key != r.Metadata[mdPart]) {
				continue
			}
			if part.StripeID == "" {
				part.StripeID, part.UpdatedAt, changed = r.ID, now, true
			}
			if to := refundState(r.Status); part.State.canMove(to) {
				part.State, part.UpdatedAt, changed = to, now, true
				if to == RefundFailed {
					part.FailureReason, part.Acknowledged = r.FailureReason, false
					if part.FailureReason == "" {
						part.FailureReason = "unknown"
					}
				}
			}
			return true, changed
		}
	}
	return false, false
}

// failPart records that Stripe refused to make refund part key (reason is
// its error code).
func (t *Tab) failPart(key, reason string, now time.Time) bool {
	for ri := range t.Refunds {
		for pi := range t.Refunds[ri].Parts {
			part := &t.Refunds[ri].Parts[pi]
			if part.Key == key && part.State.canMove(RefundFailed) {
				part.State, part.FailureReason, part.Acknowledged, part.UpdatedAt = RefundFailed, reason, false, now
				return true
			}
		}
	}
	return false
}

// addExternal records a refund made outside Fuju on payment i (Stripe's
// dashboard), so what is refundable stays true.
func (t *Tab) addExternal(i int, r refundInfo, now time.Time) bool {
	id := "stripe/" + r.ID
	if t.refund(id) >= 0 {
		return false
	}
	p := t.Payments[i]
	t.Refunds = append(t.Refunds, Refund{ID: id, AmountFen: r.Amount, Reason: "external", External: true, RequestedAt: now,
		Parts: []RefundPart{{Key: id, PaymentID: p.ID, IntentID: r.IntentID, AmountFen: r.Amount, State: refundState(r.Status),
			StripeID: r.ID, FailureReason: r.FailureReason, UpdatedAt: now}}})
	return true
}

// applyDispute records a dispute (or its new status) on payment i.
func (t *Tab) applyDispute(i int, d disputeInfo, now time.Time) bool {
	p := &t.Payments[i]
	k := slices.IndexFunc(t.Disputes, func(x Dispute) bool { return x.ID == d.ID })
	if k >= 0 {
		x := &t.Disputes[k]
		if x.Status == d.Status && x.AmountFen == d.Amount {
			return false
		}
		x.Status, x.AmountFen, x.Reason, x.UpdatedAt, x.Acknowledged = d.Status, d.Amount, d.Reason, now, false
		return true
	}
	t.Disputes = append(t.Disputes, Dispute{ID: d.ID, PaymentID: p.ID, AmountFen: d.Amount, Status: d.Status, Reason: d.Reason, UpdatedAt: now})
	p.Disputed, p.UpdatedAt = true, now
	return true
}

// queue lists what the operator must act on.
func (t Tab) queue() []QueueItem {
	var out []QueueItem
	for _, r := range t.Refunds {
		for _, part := range r.Parts {
			if part.State == RefundFailed && !part.Acknowledged {
				out = append(out, QueueItem{ID: part.Key, Kind: QueueRefundFailed, OperatorID: t.OperatorID, LeaseID: t.LeaseID,
					PaymentID: part.PaymentID, RefundID: r.ID, AmountFen: part.AmountFen, Reason: part.FailureReason, At: part.UpdatedAt})
			}
		}
	}
	for _, d := range t.Disputes {
		if !d.Acknowledged {
			out = append(out, QueueItem{ID: "dispute/" + d.ID, Kind: QueueDispute, OperatorID: t.OperatorID, LeaseID: t.LeaseID,
				PaymentID: d.PaymentID, AmountFen: d.AmountFen, Reason: d.Reason + " (" + d.Status + ")", At: d.UpdatedAt})
		}
	}
	return out
}

// acknowledged lists queue item ids the operator cleared, whose documents
// must be gone.
func (t Tab) acknowledged() []string {
	var out []string
	for _, r := range t.Refunds {
		for _, part := range r.Parts {
			if part.State == RefundFailed && part.Acknowledged {
				out = append(out, part.Key)
			}
		}
	}
	for _, d := range t.Disputes {
		if d.Acknowledged {
			out = append(out, "dispute/"+d.ID)
		}
	}
	return out
}

// acknowledge clears queue item id.
func (t *Tab) acknowledge(id string) bool {
	for ri := range t.Refunds {
		for pi := range t.Refunds[ri].Parts {
			part := &t.Refunds[ri].Parts[pi]
			if part.Key == id && part.State == RefundFailed && !part.Acknowledged {
				part.Acknowledged = true
				return true
			}
		}
	}
	for k := range t.Disputes {
		if "dispute/"+t.Disputes[k].ID == id && !t.Disputes[k].Acknowledged {
			t.Disputes[k].Acknowledged = true
			return true
		}
	}
	return false
}

// unsettled returns the oldest time something of the tab started waiting
// for Stripe (an attempt not yet paid or ended, a refund part not final).
func (t Tab) unsettled() (time.Time, bool) {
	var since time.Time
	note := func(at time.Time) {
		if since.IsZero() || at.Before(since) {
			since = at
		}
	}
	for _, p := range t.Payments {
		for _, a := range p.Attempts {
			if a.State == Requested || a.State == Open || a.State == Processing {
				note(a.RequestedAt)
			}
		}
	}
	for _, r := range t.Refunds {
		for _, part := range r.Parts {
			if !part.State.final() {
				note(part.UpdatedAt)
			}
		}
	}
	return since, !since.IsZero()
}

// stripeIDs lists every Stripe object id the tab knows, for the index that
// maps webhook objects back to their tab.
func (t Tab) stripeIDs() []string {
	var out []string
	add := func(id string) {
		if id != "" && !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	for _, p := range t.Payments {
		for _, a := range p.Attempts {
			add(a.SessionID)
			add(a.IntentID)
		}
	}
	for _, r := range t.Refunds {
		for _, part := range r.Parts {
			add(part.StripeID)
		}
	}
	for _, d := range t.Disputes {
		add(d.ID)
	}
	return out
}

// Kinds of outcome delivered to the Ledger.
const (
	outPaid         = "paid"
	outRefunded     = "refunded"
	outRefundFailed = "refund_failed"
	outDisputed     = "disputed"
)

type outcome struct {
	kind string
	Outcome
}

// outcomes lists what changed between prev and next that the rest of the
// system must hear about. outcomes(Tab{}, t) lists everything t holds, for
// delivering again after a crash.
func outcomes(prev, next Tab) []outcome {
	var out []outcome
	base := Outcome{LeaseID: next.LeaseID, OperatorID: next.OperatorID}
	for _, p := range next.Payments {
		if p.State != Paid {
			continue
		}
		if i := prev.payment(p.ID); i >= 0 && prev.Payments[i].State == Paid {
			continue
		}
		o := base
		o.Key, o.Ref, o.PaymentID, o.AmountFen, o.FeeFen, o.StripeRef = p.ID, p.ID, p.ID, p.PaidFen, p.PaidFeeFen, p.IntentID
		out = append(out, outcome{outPaid, o})
	}
	before := map[string]RefundState{}
	for _, r := range prev.Refunds {
		for _, part := range r.Parts {
			before[part.Key] = part.State
		}
	}
	for _, r := range next.Refunds {
		if r.Duplicate {
			continue // the ledger never saw the duplicate payment
		}
		for _, part := range r.Parts {
			if part.State == before[part.Key] {
				continue
			}
			o := base
			o.Ref, o.PaymentID, o.AmountFen, o.StripeRef = r.ID, part.PaymentID, part.AmountFen, part.StripeID
			switch part.State {
			case RefundSucceeded:
				o.Key = part.Key
				out = append(out, outcome{outRefunded, o})
			case RefundFailed, RefundCanceled:
				o.Key, o.Reason = part.Key+"/failed", part.FailureReason
				if o.Reason == "" {
					o.Reason = string(part.State)
				}
				out = append(out, outcome{outRefundFailed, o})
			}
		}
	}
	for _, d := range next.Disputes {
		k := slices.IndexFunc(prev.Disputes, func(x Dispute) bool { return x.ID == d.ID })
		if k >= 0 && prev.Disputes[k].Status == d.Status {
			continue
		}
		o := base
		o.Key, o.Ref, o.PaymentID, o.AmountFen, o.StripeRef, o.Reason = d.ID+"/"+d.Status, d.PaymentID, d.PaymentID, d.AmountFen, d.ID, d.Status+": "+d.Reason
		out = append(out, outcome{outDisputed, o})
	}
	return out
}
