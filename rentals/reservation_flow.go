package rentals

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"fuju/internal/eventlog"
	"fuju/internal/tenancy"
	"fuju/internal/valid"
	"fuju/messages"
	"fuju/stations"
)

// resEvent is one entry of a reservation's log: what happened and the
// reservation as it is after. Candidates (opened) are the units the writer
// will try, in order, so the reconciler knows where a hold may have landed.
type resEvent struct {
	Kind        string        `bson:"kind"`
	From        string        `bson:"from"`
	Res         Reservation   `bson:"res"`
	By          tenancy.Actor `bson:"by"`
	Why         string        `bson:"why,omitempty"`
	Candidates  []string      `bson:"candidates,omitempty"`
	Substitute  string        `bson:"substitute,omitempty"`
	PrevUnitTag string        `bson:"prev_unit,omitempty"`
}

// Reservation event kinds.
const (
	resOpened     = "opened"     // decided; a unit is being held
	resHeld       = "held"       // the unit is reserved
	resMoving     = "moving"     // the hold is moving to Substitute
	resFulfilling = "fulfilling" // the desk is making the lease (Res.LeaseID)
	resFulfilled  = "fulfilled"
	resUnfulfil   = "held-again" // the lease was not made; the hold stands
	resAccepted   = "accepted"   // the family accepted a waitlist offer
	resClosed     = "closed"     // cancelled, expired or abandoned (Res.State says which)
)

// maxCandidates bounds the units one reservation tries.
const maxCandidates = 12

func resOf(e eventlog.Entry[resEvent]) Reservation {
	x := e.Event.Res
	x.Seq = e.Seq
	return x
}

// current returns a reservation as its log's head says it is now.
func (r *Reservations) current(ctx context.Context, id string) (Reservation, error) {
	if !validResID(id) {
		return Reservation{}, fmt.Errorf("rentals: reservation %s: %w", id, ErrNotFound)
	}
	var known int64
	if p, ok, err := r.store.reservation(ctx, id); err != nil {
		return Reservation{}, err
	} else if ok {
		known = p.Seq
	}
	head, err := r.log.Head(ctx, id, known)
	if err != nil {
		return Reservation{}, fmt.Errorf("rentals: %w", err)
	}
	if head.Seq == 0 {
		return Reservation{}, fmt.Errorf("rentals: reservation %s: %w", id, ErrNotFound)
	}
	return resOf(head), nil
}

func validResID(id string) bool {
	return len(id) > 3 && len(id) <= 64 && id[:3] == "rs-" && stations.ValidID(id)
}

// append records next as the event after x (x.Seq + 1).
func (r *Reservations) append(ctx context.Context, x Reservation, ev resEvent) (Reservation, error) {
	ev.From = string(x.State)
	ev.Res.UpdatedAt = r.now()
	e, err := r.log.Append(ctx, x.ID, x.Seq+1, ev)
	if err != nil {
		return Reservation{}, err
	}
	return resOf(e), nil
}

// candidates lists the available units of a product at a station, oldest
// change first, then by tag (a stable order the caller rotates).
func (r *Reservations) candidates(ctx context.Context, stationID, productID string, except string) ([]stations.Unit, error) {
	units, err := r.s.units.UnitsAt(ctx, stationID)
	if err != nil {
		return nil, fmt.Errorf("rentals: %w", err)
	}
	var out []stations.Unit
	for _, u := range units {
		if u.ProductID == productID && u.StationID == stationID && u.State == stations.Available && u.Tag != except {
			out = append(out, u)
		}
	}
	slices.SortFunc(out, func(a, b stations.Unit) int {
		if c := a.UpdatedAt.Compare(b.UpdatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.Tag, b.Tag)
	})
	return out, nil
}

// hold makes reservation x (state opening, no unit yet) hold a unit: only
// must, when not nil, or else the first of the station's available units of
// the product that it wins, starting at a place key picks. Its writes, in order: a pending marker, the
// opened event (naming the candidates), the unit's move to reserved, the
// held event, the projections (reservation, code, the renter's index),
// the messages, the marker's removal. A crash anywhere leaves the marker,
// and the reconciler finishes or undoes it (reconcileOne).
//
// room, for a pickup reservation, is its slot's capacity: once the unit is
// won, the reservation takes one of the slot's places (takePlace), or puts
// the unit back and closes, unheld, with errSlotFull. Only reservations
// that won a unit compete for places, so a family hears "slot full" only
// when the slot is, and "no unit" when there is none.
func (r *Reservations) hold(ctx context.Context, x Reservation, must *stations.Unit, key string, room int) (Reservation, error) {
	var cands []stations.Unit
	if must != nil {
		cands = []stations.Unit{*must}
	} else {
		var err error
		if cands, err = r.candidates(ctx, x.StationID, x.ProductID, ""); err != nil {
			return Reservation{}, err
		}
		// Each renter starts at their own place in the list, so families
		// reserving the same product at once mostly try different units
		// instead of all racing for the first (a loser tries the next).
		if n := len(cands); n > 1 {
			k := int(spread(key) % uint32(n))
			cands = append(cands[k:], cands[:k]...)
		}
		if len(cands) > maxCandidates {
			cands = cands[:maxCandidates]
		}
	}
	if len(cands) == 0 {
		return Reservation{}, ErrNoUnit
	}
	tags := make([]string, len(cands))
	for i, u := range cands {
		tags[i] = u.Tag
	}
	// The code is claimed first, by its unique _id: two reservations never
	// share one. A code whose reservation never held anything points at
	// nothing anyone can see.
	for i := 0; ; i++ {
		x.Code = newCode()
		err := r.store.putCode(ctx, x.Code, x.ID)
		if err == nil {
			break
		}
		if !errors.Is(err, ErrConflict) || i == 5 {
			return Reservation{}, err
		}
	}
	marker, err := r.log.Begin(ctx, x.ID)
	if err != nil {
		return Reservation{}, fmt.Errorf("rentals: %w", err)
	}
	opened, err := r.append(ctx, x, resEvent{Kind: resOpened, Res: x, By: x.By, Candidates: tags})
	if err != nil {
		return Reservation{}, fmt.Errorf("rentals: %w", err)
	}
	if err := r.s.crashPoint("reserve:opened"); err != nil {
		return Reservation{}, err
	}
	var won *stations.Unit
	for _, u := range cands {
		got, err := r.s.units.MoveFrom(ctx, u, stations.Move{
			To: stations.Reserved, Kind: "reserve", LeaseID: x.ID, By: x.By, Why: "reservation " + x.ID,
			Details: map[string]string{"reservation": x.ID},
			Check: func(cur stations.Unit) error {
				// The reconciler closes an abandoned reservation by taking
				// its next sequence number; a writer that slow stops here.
				if _, taken, err := r.log.Get(ctx, x.ID, opened.Seq+1); err != nil {
					return err
				} else if taken {
					return fmt.Errorf("rentals: reservation %s was abandoned: %w", x.ID, valid.Because(stations.ErrUnavailable, "abandoned"))
				}
				return nil
			},
		})
		if errors.Is(err, stations.ErrUnavailable) {
			continue
		}
		if err != nil {
			return Reservation{}, fmt.Errorf("rentals: %w", err)
		}
		won = &got
		break
	}
	if won == nil {
		if err := r.closeUnheld(ctx, opened, x.By, "unit_unavailable"); err != nil {
			return Reservation{}, err
		}
		_ = r.log.Done(ctx, marker)
		return Reservation{}, ErrNoUnit
	}
	if err := r.s.crashPoint("reserve:unit"); err != nil {
		return Reservation{}, err
	}
	next := opened
	if room > 0 {
		place, err := r.takePlace(ctx, x, room)
		if errors.Is(err, errSlotFull) {
			if err := r.closeUnheld(ctx, opened, x.By, "slot_full"); err != nil {
				return Reservation{}, err
			}
			if err := r.settleUnits(ctx, x.ID); err != nil {
				return Reservation{}, err
			}
			_ = r.log.Done(ctx, marker)
			return Reservation{}, fmt.Errorf("rentals: reserve: %w", err)
		}
		if err != nil {
			return Reservation{}, err
		}
		if err := r.s.crashPoint("reserve:place"); err != nil {
			return Reservation{}, err
		}
		next.Place = place
	}
	next.State, next.UnitTag = ResHeld, won.Tag
	held, err := r.append(ctx, opened, resEvent{Kind: resHeld, Res: next, By: x.By})
	if errors.Is(err, eventlog.ErrTaken) {
		// The reconciler closed it meanwhile: put the unit back.
		_ = r.settleUnits(ctx, x.ID)
		_ = r.log.Done(ctx, marker)
		return Reservation{}, fmt.Errorf("rentals: reservation %s took too long and was abandoned; try again: %w", x.ID, valid.Because(ErrConflict, "abandoned"))
	}
	if err != nil {
		return Reservation{}, fmt.Errorf("rentals: %w", err)
	}
	if err := r.s.crashPoint("reserve:held"); err != nil {
		return Reservation{}, err
	}
	if err := r.project(ctx, held); err != nil {
		return Reservation{}, err
	}
	if err := r.s.crashPoint("reserve:projected"); err != nil {
		return Reservation{}, err
	}
	r.notifyHeld(ctx, held)
	_ = r.log.Done(ctx, marker)
	return held, nil
}

// closeUnheld closes a reservation that never held a unit, from its opened
// event, for why: it is never listed nor counted as made. Losing the append
// to the reconciler is fine: it closes it too.
func (r *Reservations) closeUnheld(ctx context.Context, opened Reservation, by tenancy.Actor, why string) error {
	next := opened
	at := r.now()
	next.State, next.Reason, next.ClosedAt = ResCancelled, why, &at
	if _, err := r.append(ctx, opened, resEvent{Kind: resClosed, Res: next, By: by, Why: why}); err != nil && !errors.Is(err, eventlog.ErrTaken) {
		return fmt.Errorf("rentals: %w", err)
	}
	return nil
}

// notifyHeld enqueues the messages of a new hold: confirmed (or the
// waitlist offer) and the pickup reminder the day before. Each id is
// derived from (reservation, event, renter), so a retry writes nothing new.
func (r *Reservations) notifyHeld(ctx context.Context, x Reservation) {
	if x.Offer {
		r.message(ctx, x, "offer", messages.WaitlistOffer, messages.Params{At: x.HoldUntil}, time.Time{}, x.HoldUntil)
		return
	}
	r.message(ctx, x, "confirmed", messages.ReservationConfirmed, messages.Params{From: x.Start, To: x.End}, time.Time{}, x.End)
	remind := localDay(x.Start).AddDate(0, 0, -1).Add(10 * time.Hour)
	if remind.After(r.now()) {
		r.message(ctx, x, "pickup-reminder", messages.PickupReminder, messages.Params{From: x.Start, To: x.End}, remind, x.Start)
	}
}

// project writes a reservation's projections from an event of its log:
// the reservation, its code, its place in the open list (or its removal)
// and the renter's index. Each write is idempotent; a projection only moves
// forward (the store keeps the higher sequence).
func (r *Reservations) project(ctx context.Context, x Reservation) error {
	if x.State == ResOpening || x.UnitTag == "" {
		// Never held a unit (abandoned, or lost the race): nobody lists it.
		return nil
	}
	// Forward only: after writing, a newer event (another writer's) is
	// projected instead, so whoever finishes last writes the head.
	for range 10 {
		if err := r.store.putReservation(ctx, x); err != nil {
			return err
		}
		head, newer, err := r.log.After(ctx, x.ID, x.Seq)
		if err != nil {
			return fmt.Errorf("rentals: %w", err)
		}
		if !newer {
			break
		}
		x = resOf(head)
	}
	if x.State.Open() {
		if err := r.store.putOpen(ctx, x); err != nil {
			return err
		}
	} else if err := r.store.dropOpen(ctx, x.ID); err != nil {
		return err
	}
	return r.indexRenter(ctx, x.RenterID, x.ID)
}

// close ends an open reservation (cancelled or expired) and frees its unit.
// It appends the closing event after x's head; a concurrent fulfil, cancel
// or expiry that appended first wins and this one gets 409.
func (r *Reservations) close(ctx context.Context, x Reservation, to ReservationState, why string, by tenancy.Actor, action string) (Reservation, error) {
	if x.State != ResHeld {
		return Reservation{}, fmt.Errorf("rentals: reservation %s is %s: %w", x.ID, x.State, valid.Because(ErrConflict, "reservation_state", "state", string(x.State)))
	}
	marker, err := r.log.Begin(ctx, x.ID)
	if err != nil {
		return Reservation{}, fmt.Errorf("rentals: %w", err)
	}
	next := x
	at := r.now()
	next.State, next.Reason, next.ClosedAt = to, why, &at
	next.NoShow = to == ResExpired && !x.Offer
	if x.Offer && to == ResExpired {
		next.Reason = "offer_lapsed"
	}
	got, err := r.append(ctx, x, resEvent{Kind: resClosed, Res: next, By: by, Why: why})
	if errors.Is(err, eventlog.ErrTaken) {
		_ = r.log.Done(ctx, marker)
		cur, _ := r.current(ctx, x.ID)
		return Reservation{}, fmt.Errorf("rentals: reservation %s changed just now: %w", x.ID,
			valid.Because(ErrConflict, "reservation_state", "state", string(cur.State)))
	}
	if err != nil {
		return Reservation{}, fmt.Errorf("rentals: %w", err)
	}
	if err := r.s.crashPoint(action + ":event"); err != nil {
		return Reservation{}, err
	}
	if err := r.finishClosed(ctx, got); err != nil {
		return Reservation{}, err
	}
	_ = r.log.Done(ctx, marker)
	r.audit(ctx, by, action, &x, got)
	return got, nil
}

// finishClosed performs what a closed reservation still needs: its unit
// back to available, its projections, its waitlist entry's end, and the
// freed unit offered to the waitlist. Every step is idempotent.
func (r *Reservations) finishClosed(ctx context.Context, x Reservation) error {
	if err := r.settleUnits(ctx, x.ID); err != nil {
		return err
	}
	if err := r.s.crashPoint("close:unit"); err != nil {
		return err
	}
	if err := r.project(ctx, x); err != nil {
		return err
	}
	if x.Place != "" {
		if err := r.store.freePlace(ctx, x.Place, x.ID); err != nil {
			return err
		}
	}
	if x.Offer && x.WaitlistEntryID != "" {
		if err := r.endEntry(ctx, x.WaitlistEntryID, x); err != nil {
			return err
		}
	}
	if x.UnitTag != "" && x.State != ResFulfilled {
		if _, err := r.offerUnit(ctx, x.UnitTag); err != nil {
			r.logger.Warn("offer freed unit", "unit", x.UnitTag, "err", err)
		}
	}
	return r.settlePrepaid(ctx, x)
}

// settlePrepaid finishes the money a family paid online for a closed
// reservation: fulfilled, each payment becomes the lease's paid_online
// entry (by the payment's key, so a payment the ledger already moved there
// is not written twice); cancelled or expired, it is refunded in full.
func (r *Reservations) settlePrepaid(ctx context.Context, x Reservation) error {
	if r.Prepaid == nil {
		return nil
	}
	switch {
	case x.State == ResFulfilled && x.LeaseID != "":
		paid, err := r.Prepaid.Prepaid(ctx, x.ID)
		if err != nil {
			return fmt.Errorf("rentals: prepayment of %s: %w", x.ID, err)
		}
		for _, o := range paid {
			o.LeaseID = x.LeaseID
			if err := r.s.PaidOnline(ctx, o); err != nil {
				return err
			}
		}
	case x.State == ResCancelled || x.State == ResExpired:
		if err := r.Prepaid.RefundPrepaid(ctx, x); err != nil {
			return fmt.Errorf("rentals: refund prepayment of %s: %w", x.ID, err)
		}
	}
	return nil
}

// settleUnits brings the units a reservation ever named in line with its
// log's head: a unit reserved for it that it no longer holds (closed, moved
// away, never held) goes back to available. It is the one repair every
// flow and the reconciler share.
func (r *Reservations) settleUnits(ctx context.Context, id string) error {
	x, err := r.current(ctx, id)
	if err != nil {
		return err
	}
	hist, err := r.log.History(ctx, id, x.Seq)
	if err != nil {
		return fmt.Errorf("rentals: %w", err)
	}
	if x.State == ResOpening || len(hist) > 0 && hist[len(hist)-1].Event.Kind == resMoving {
		// A hold being made or moved: its writer (or reconcileOne)
		// decides where it lands first.
		return nil
	}
	// The candidates of the opened event matter only to a reservation that
	// never held a unit (the writer may have reserved one and crashed);
	// once held, the units it named are the ones it held or moved to.
	everHeld := false
	for _, e := range hist {
		everHeld = everHeld || e.Event.Kind == resHeld
	}
	seen := map[string]bool{}
	for _, e := range hist {
		tags := []string{e.Event.Res.UnitTag, e.Event.Substitute, e.Event.PrevUnitTag}
		if !everHeld {
			tags = append(tags, e.Event.Candidates...)
		}
		for _, tag := range tags {
			if tag == "" || seen[tag] {
				continue
			}
			seen[tag] = true
			if tag == x.UnitTag && (x.State == ResHeld || x.State == ResFulfilling) {
				continue
			}
			u, err := r.s.units.Unit(ctx, tag)
			if errors.Is(err, stations.ErrNotFound) {
				continue
			}
			if err != nil {
				return fmt.Errorf("rentals: %w", err)
			}
			if u.State != stations.Reserved || u.LeaseID != id {
				continue
			}
			_, err = r.s.units.MoveFrom(ctx, u, stations.Move{To: stations.Available, Kind: "hold-released", By: tenancy.System,
				Why: "reservation " + id + " " + string(x.State), Details: map[string]string{"reservation": id}})
			if err != nil && !errors.Is(err, stations.ErrUnavailable) {
				return fmt.Errorf("rentals: %w", err)
			}
		}
	}
	return nil
}

// Fulfil checks a reservation out at the desk: the lease is made through the
// desk's check-out with the reservation's renter and unit (or, with
// Substitute, another available unit of the product at the station, to
// which the hold moves first). It appends "fulfilling" first, so a hold
// that expires or is cancelled meanwhile ends in exactly one outcome: the
// loser gets 409.
func (r *Reservations) Fulfil(ctx context.Context, scope tenancy.Scope, id string, req FulfilRequest, by tenancy.Actor) (Reservation, Lease, error) {
	if err := scope.MayChange(tenancy.ChangeOther); err != nil {
		return Reservation{}, Lease{}, err
	}
	// The check-out's own input checks first, so a typo never touches the
	// reservation's log (days are checked once known).
	if err := preCheck(CheckoutRequest{Days: max(req.Days, 1), Payments: req.Payments, TermsVersion: req.TermsVersion, AcceptedName: req.AcceptedName}); err != nil {
		return Reservation{}, Lease{}, err
	}
	if req.Substitute != "" {
		if !stations.ValidTag(stations.NormalizeTag(req.Substitute)) {
			return Reservation{}, Lease{}, fmt.Errorf("rentals: fulfil: %w", valid.Field("substitute", "tag", "must be an asset tag like JZ-WC-0001"))
		}
	}
	x, err := r.Reservation(ctx, scope, id)
	if err != nil {
		return Reservation{}, Lease{}, err
	}
	if req.Substitute != "" {
		if x, err = r.substitute(ctx, scope, id, req.Substitute, by, false); err != nil {
			return Reservation{}, Lease{}, err
		}
	}
	if x.State != ResHeld {
		return Reservation{}, Lease{}, fmt.Errorf("rentals: reservation %s is %s: %w", id, x.State, valid.Because(ErrConflict, "reservation_state", "state", string(x.State)))
	}
	days := req.Days
	if days == 0 {
		days = x.Days
	}
	creq := CheckoutRequest{UnitTag: x.UnitTag, RenterID: x.RenterID, Days: days, Payments: req.Payments,
		TermsVersion: req.TermsVersion, AcceptedName: req.AcceptedName, StationID: x.StationID}
	if err := preCheck(creq); err != nil {
		return Reservation{}, Lease{}, err
	}
	marker, err := r.log.Begin(ctx, x.ID)
	if err != nil {
		return Reservation{}, Lease{}, fmt.Errorf("rentals: %w", err)
	}
	next := x
	next.State = ResFulfilling
	f, err := r.append(ctx, x, resEvent{Kind: resFulfilling, Res: next, By: by})
	if errors.Is(err, eventlog.ErrTaken) {
		_ = r.log.Done(ctx, marker)
		cur, _ := r.current(ctx, x.ID)
		return Reservation{}, Lease{}, fmt.Errorf("rentals: reservation %s changed just now: %w", x.ID,
			valid.Because(ErrConflict, "reservation_state", "state", string(cur.State)))
	}
	if err != nil {
		return Reservation{}, Lease{}, fmt.Errorf("rentals: %w", err)
	}
	if err := r.s.crashPoint("fulfil:fulfilling"); err != nil {
		return Reservation{}, Lease{}, err
	}
	// What was paid online in advance is read after "fulfilling": a
	// payment recorded later is held back by the router (prepaid.go) until
	// the lease exists, so it is counted here or written there, never lost.
	var cerr error
	if r.Prepaid != nil {
		var paid []OnlineOutcome
		if paid, cerr = r.Prepaid.Prepaid(ctx, x.ID); cerr == nil {
			for _, o := range paid {
				creq.prepaidFen += o.AmountFen
			}
		}
	}
	var l Lease
	if cerr == nil {
		l, cerr = r.s.checkout(ctx, scope, creq, by, x.ID)
	}
	if err := r.s.crashPoint("fulfil:lease"); err != nil {
		return Reservation{}, Lease{}, err
	}
	if cerr != nil {
		back := f
		back.State = ResHeld
		if _, err := r.append(ctx, f, resEvent{Kind: resUnfulfil, Res: back, By: by, Why: "checkout failed"}); err != nil {
			return Reservation{}, Lease{}, fmt.Errorf("rentals: %w", err)
		}
		_ = r.log.Done(ctx, marker)
		return Reservation{}, Lease{}, cerr
	}
	done := f
	at := r.now()
	done.State, done.LeaseID, done.ClosedAt = ResFulfilled, l.ID, &at
	got, err := r.append(ctx, f, resEvent{Kind: resFulfilled, Res: done, By: by})
	if err != nil {
		return Reservation{}, Lease{}, fmt.Errorf("rentals: %w", err)
	}
	if err := r.finishClosed(ctx, got); err != nil {
		return Reservation{}, Lease{}, err
	}
	_ = r.log.Done(ctx, marker)
	r.audit(ctx, by, "reservation.fulfil", &x, got)
	if r.Prepaid != nil {
		// The lease as it is with what was paid online in advance.
		if cur, _, err := r.s.advance(ctx, l.ID, modeInline); err == nil {
			l = cur
		}
	}
	return got, l, nil
}

// preCheck runs the check-out's input checks that do not need the database.
func preCheck(req CheckoutRequest) error {
	e := &valid.Error{}
	if req.Days < 1 || req.Days > MaxDays {
		e.Add("days", "range", fmt.Sprintf("must be between 1 and %d", MaxDays), "min", 1, "max", MaxDays)
	}
	checkPaymentTexts(e, "payments", givenPayments(req.Payments))
	if n := textLen(req.TermsVersion); n < 1 || n > valid.MaxCode {
		e.Add("terms_version", "length", fmt.Sprintf("is required (at most %d characters)", valid.MaxCode), "min", 1, "max", valid.MaxCode)
	}
	if n := textLen(req.AcceptedName); n < 1 || n > valid.MaxPersonName {
		e.Add("accepted_name", "length", fmt.Sprintf("is required: who accepted the terms (at most %d characters)", valid.MaxPersonName), "min", 1, "max", valid.MaxPersonName)
	}
	if err := e.Err(); err != nil {
		return fmt.Errorf("rentals: fulfil: %w", err)
	}
	return nil
}

// Substitute moves a held reservation to another available unit of the
// same product at its station: "moving" (decides, against expiry and
// cancellation), the new unit reserved, "held" on it, the old unit back to
// available. Both units' logs and the reservation's record the move.
func (r *Reservations) Substitute(ctx context.Context, scope tenancy.Scope, id, tag string, by tenancy.Actor) (Reservation, error) {
	return r.substitute(ctx, scope, id, tag, by, true)
}

// substitute is Substitute; a fulfilment's substitution is audited as part
// of the fulfilment (audited false).
func (r *Reservations) substitute(ctx context.Context, scope tenancy.Scope, id, tag string, by tenancy.Actor, audited bool) (Reservation, error) {
	if err := scope.MayChange(tenancy.ChangeOther); err != nil {
		return Reservation{}, err
	}
	e := &valid.Error{}
	tag = checkTag(e, tag)
	if err := e.Err(); err != nil {
		return Reservation{}, fmt.Errorf("rentals: substitute: %w", err)
	}
	x, err := r.Reservation(ctx, scope, id)
	if err != nil {
		return Reservation{}, err
	}
	if x.State != ResHeld {
		return Reservation{}, fmt.Errorf("rentals: reservation %s is %s: %w", id, x.State, valid.Because(ErrConflict, "reservation_state", "state", string(x.State)))
	}
	if tag == x.UnitTag {
		return x, nil
	}
	u, err := r.s.units.Unit(ctx, tag)
	if errors.Is(err, stations.ErrNotFound) || err == nil && u.OperatorID != x.OperatorID {
		return Reservation{}, fmt.Errorf("rentals: unit %s: %w", tag, ErrNotFound)
	}
	if err != nil {
		return Reservation{}, fmt.Errorf("rentals: %w", err)
	}
	if u.ProductID != x.ProductID || u.StationID != x.StationID {
		return Reservation{}, fmt.Errorf("rentals: substitute: %w", valid.Field("substitute", "same_product", "must be a unit of the same product at this station"))
	}
	if u.State != stations.Available {
		return Reservation{}, fmt.Errorf("rentals: unit %s is %s: %w", tag, u.State, unitState(tag, u.State))
	}
	marker, err := r.log.Begin(ctx, x.ID)
	if err != nil {
		return Reservation{}, fmt.Errorf("rentals: %w", err)
	}
	mv, err := r.append(ctx, x, resEvent{Kind: resMoving, Res: x, By: by, Substitute: tag})
	if errors.Is(err, eventlog.ErrTaken) {
		_ = r.log.Done(ctx, marker)
		return Reservation{}, fmt.Errorf("rentals: reservation %s changed just now: %w", x.ID, valid.Because(ErrConflict, "changed"))
	}
	if err != nil {
		return Reservation{}, fmt.Errorf("rentals: %w", err)
	}
	_, merr := r.s.units.MoveFrom(ctx, u, stations.Move{To: stations.Reserved, Kind: "reserve", LeaseID: x.ID, By: by,
		Why: "reservation " + x.ID + " moved from " + x.UnitTag, Details: map[string]string{"reservation": x.ID, "moved_from": x.UnitTag}})
	if merr != nil && !errors.Is(merr, stations.ErrUnavailable) {
		return Reservation{}, fmt.Errorf("rentals: %w", merr)
	}
	if err := r.s.crashPoint("substitute:unit"); err != nil {
		return Reservation{}, err
	}
	next := mv
	if merr == nil {
		next.UnitTag = tag
		next.Moves = append(append([]string(nil), x.Moves...), x.UnitTag)
	}
	got, err := r.append(ctx, mv, resEvent{Kind: resHeld, Res: next, By: by, PrevUnitTag: x.UnitTag, Substitute: tag})
	if err != nil {
		return Reservation{}, fmt.Errorf("rentals: %w", err)
	}
	if err := r.settleUnits(ctx, x.ID); err != nil {
		return Reservation{}, err
	}
	if err := r.project(ctx, got); err != nil {
		return Reservation{}, err
	}
	_ = r.log.Done(ctx, marker)
	if merr != nil {
		return Reservation{}, merr
	}
	if audited {
		r.audit(ctx, by, "reservation.substitute", &x, got)
	}
	return got, nil
}

// ExpireHolds ends every hold past its HoldUntil at now: the reservation
// expires (a no-show, unless it was a waitlist offer, which lapses and
// passes to the next person), its unit is available again and offered to
// the waitlist. It returns how many expired. Then it sweeps the places of
// pickup slots that started more than placesKept ago.
func (r *Reservations) ExpireHolds(ctx context.Context) (int, error) {
	now := r.now()
	open, err := r.store.allOpen(ctx)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, o := range open {
		if o.HoldUntil.After(now) {
			continue
		}
		x, err := r.current(ctx, o.ID)
		if err != nil {
			return n, err
		}
		if x.State != ResHeld || x.HoldUntil.After(now) {
			if !x.State.Open() {
				_ = r.project(ctx, x)
			}
			continue
		}
		_, err = r.close(ctx, x, ResExpired, "expired", tenancy.System, "reservation.expire")
		if errors.Is(err, ErrConflict) {
			continue
		}
		if err != nil {
			return n, err
		}
		n++
	}
	if _, err := r.store.sweepPlaces(ctx, now.Add(-placesKept)); err != nil {
		return n, err
	}
	return n, nil
}

// placesKept is how long a pickup slot's places outlive its start. A
// held reservation frees its place when it closes, at the latest when its
// hold (the slot's end plus the station's grace, at most a day) expires;
// a day later only places left by a crash remain.
const placesKept = 48 * time.Hour

// Remind enqueues hold-expiring notices for holds ending within two hours
// (the pickup reminder is enqueued with the hold, for the day before).
func (r *Reservations) Remind(ctx context.Context) (int, error) {
	now := r.now()
	open, err := r.store.allOpen(ctx)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, o := range open {
		if o.HoldUntil.Before(now) || o.HoldUntil.Sub(now) > 2*time.Hour {
			continue
		}
		x, err := r.current(ctx, o.ID)
		if err != nil || x.State != ResHeld {
			continue
		}
		r.message(ctx, x, "expiring", messages.HoldExpiring, messages.Params{At: x.HoldUntil}, time.Time{}, x.HoldUntil)
		n++
	}
	return n, nil
}

// Reconcile finishes reservation flows abandoned for longer than age (a
// crash between writes), as the reservation's log says: an opening
// reservation is held (when its unit moved) or closed; a fulfilling one is
// fulfilled (when its lease exists) or held again; a move in flight lands;
// a closed one frees its unit. Then the projections and messages are
// written. Safe on several instances at once.
func (r *Reservations) Reconcile(ctx context.Context, age time.Duration) (int, error) {
	stale, err := r.log.Stale(ctx, age)
	if err != nil {
		return 0, err
	}
	fixed := 0
	for _, p := range stale {
		if err := r.reconcileOne(ctx, p.Entity); err != nil && !errors.Is(err, ErrNotFound) {
			return fixed, err
		}
		if err := r.log.Done(ctx, p); err != nil {
			return fixed, err
		}
		fixed++
	}
	wfixed, err := r.reconcileWaitlist(ctx, age)
	return fixed + wfixed, err
}

func (r *Reservations) reconcileOne(ctx context.Context, id string) error {
	for range 10 {
		x, err := r.current(ctx, id)
		if err != nil {
			return err
		}
		head, _, err := r.log.Get(ctx, id, x.Seq)
		if err != nil {
			return fmt.Errorf("rentals: %w", err)
		}
		ev := head.Event
		switch {
		case ev.Kind == resOpened:
			next := x
			var holder string
			for _, tag := range ev.Candidates {
				u, err := r.s.units.Unit(ctx, tag)
				if err == nil && u.State == stations.Reserved && u.LeaseID == id {
					holder = tag
					break
				}
			}
			kind := resHeld
			if holder != "" && x.Mode == Pickup && !x.Offer {
				// The writer stopped after winning the unit: take the
				// slot's place it would have taken (or its own again).
				room := 0
				if _, set, err := r.station(ctx, x.StationID); err == nil {
					room = set.Slots.Capacity
				}
				place, err := r.takePlace(ctx, x, room)
				switch {
				case errors.Is(err, errSlotFull):
					holder, next.Reason = "", "slot_full"
				case err != nil:
					return err
				default:
					next.Place = place
				}
			}
			if holder != "" {
				next.State, next.UnitTag = ResHeld, holder
			} else {
				if next.Reason == "" {
					next.Reason = "abandoned"
				}
				at := r.now()
				next.State, next.ClosedAt, kind = ResCancelled, &at, resClosed
			}
			if _, err := r.append(ctx, x, resEvent{Kind: kind, Res: next, By: tenancy.System, Why: "reconciled"}); err != nil && !errors.Is(err, eventlog.ErrTaken) {
				return fmt.Errorf("rentals: %w", err)
			}
			continue
		case ev.Kind == resMoving:
			next := x
			u, err := r.s.units.Unit(ctx, ev.Substitute)
			if err == nil && u.State == stations.Reserved && u.LeaseID == id {
				next.Moves = append(append([]string(nil), x.Moves...), x.UnitTag)
				next.UnitTag = ev.Substitute
			}
			if _, err := r.append(ctx, x, resEvent{Kind: resHeld, Res: next, By: tenancy.System, PrevUnitTag: x.UnitTag, Substitute: ev.Substitute, Why: "reconciled"}); err != nil && !errors.Is(err, eventlog.ErrTaken) {
				return fmt.Errorf("rentals: %w", err)
			}
			continue
		case x.State == ResFulfilling:
			// The lease was made iff the unit is rented (the check-out
			// moved it from reserved, which only this reservation's
			// fulfilment may do).
			u, err := r.s.units.Unit(ctx, x.UnitTag)
			if err != nil {
				return fmt.Errorf("rentals: %w", err)
			}
			if u.State == stations.Reserved && u.LeaseID == id {
				// No lease took the unit: either the check-out never began
				// or it is still being cancelled. Let the leases' reconciler
				// finish first: an opened lease on this unit still holds
				// its unit sequence number, so the unit cannot move under
				// us once we hold again.
				back := x
				back.State = ResHeld
				if _, err := r.append(ctx, x, resEvent{Kind: resUnfulfil, Res: back, By: tenancy.System, Why: "reconciled"}); err != nil && !errors.Is(err, eventlog.ErrTaken) {
					return fmt.Errorf("rentals: %w", err)
				}
				continue
			}
			if u.State == stations.Rented {
				done := x
				at := r.now()
				done.State, done.LeaseID, done.ClosedAt = ResFulfilled, u.LeaseID, &at
				if _, err := r.append(ctx, x, resEvent{Kind: resFulfilled, Res: done, By: tenancy.System, Why: "reconciled"}); err != nil && !errors.Is(err, eventlog.ErrTaken) {
					return fmt.Errorf("rentals: %w", err)
				}
				continue
			}
			return nil
		case !x.State.Open():
			return r.finishClosed(ctx, x)
		default: // held
			if err := r.settleUnits(ctx, id); err != nil {
				return err
			}
			if err := r.project(ctx, x); err != nil {
				return err
			}
			r.notifyHeld(ctx, x)
			if x.Offer && x.WaitlistEntryID != "" {
				return r.offeredEntry(ctx, x.WaitlistEntryID, x)
			}
			return nil
		}
	}
	return fmt.Errorf("rentals: reservation %s did not settle: %w", id, ErrConflict)
}

// renterResEvent is one entry of a renter's reservation index.
type renterResEvent struct {
	ReservationID string `bson:"reservation_id"`
}

// indexRenter adds a reservation to its renter's index, once.
func (r *Reservations) indexRenter(ctx context.Context, renterID, id string) error {
	hist, err := history(ctx, r.renterLg, renterID)
	if err != nil {
		return err
	}
	for _, e := range hist {
		if e.Event.ReservationID == id {
			return nil
		}
	}
	return appendNext(ctx, r.renterLg, renterID, renterResEvent{ReservationID: id})
}

// renterReservations returns a renter's reservations as their logs say
// they are now (none opening).
func (r *Reservations) renterReservations(ctx context.Context, renterID string) ([]Reservation, error) {
	hist, err := history(ctx, r.renterLg, renterID)
	if err != nil {
		return nil, err
	}
	out := []Reservation{}
	seen := map[string]bool{}
	for _, e := range hist {
		id := e.Event.ReservationID
		if seen[id] {
			continue
		}
		seen[id] = true
		x, err := r.current(ctx, id)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if x.State != ResOpening && x.RenterID == renterID {
			out = append(out, x)
		}
	}
	return out, nil
}

// spread is a small, stable hash (FNV-1a) to pick a starting place.
func spread(s string) uint32 {
	h := uint32(2166136261)
	for i := 0; i < len(s); i++ {
		h ^= uint32(s[i])
		h *= 16777619
	}
	return h
}
