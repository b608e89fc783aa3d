package rentals

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"fuju/internal/audit"
	"fuju/internal/eventlog"
	"fuju/internal/ids"
	"fuju/internal/tenancy"
	"fuju/internal/valid"
	"fuju/stations"
)

// The waitlist: when no unit of a product is free where a family wants it,
// they join a queue per (product, station) or (product, district). Queues
// are first come, first served by join time. When a unit of the product is
// available at a station in reach (the station itself; any station in the
// district), the first waiting person gets an offer: a reservation holding
// that unit for OfferTTL (24 hours), made through the unit's log like any
// hold. An unanswered offer expires like a hold (no no-show is counted) and
// the unit passes to the next person.
//
// Each entry has its own log ("waitlist"): joined → offered → accepted →
// served, or → left / lapsed; an offer that could not hold its unit goes
// back to waiting with its place kept. Claiming an entry for an offer is
// appending "offered" after its head, so two units freed at once go to two
// different people (the second offer loses the first entry's sequence
// number and tries the next), and one unit never goes to two (the unit's
// log lets one hold win).
//
// How freed units are found: a job (OfferFreed) scans, on every pass, the
// queues that have someone waiting for available units in reach, and the
// reservation flows (cancel, expiry) offer the unit they free at once.
// Units become available in many places (cleaning done, a transfer
// arriving, a repair, a cancelled hold); a scan needs no hook in each of
// them and no dependency from stations on rentals, and a missed hook could
// never leave someone waiting forever. The cost is at most one job pass
// (30 seconds) of delay after cleaning or a transfer.

// WaitState is where a waitlist entry is.
type WaitState string

// Waitlist entry states.
const (
	WaitWaiting  WaitState = "waiting"
	WaitOffered  WaitState = "offered"
	WaitAccepted WaitState = "accepted"
	WaitServed   WaitState = "served"
	WaitLeft     WaitState = "left"
	WaitLapsed   WaitState = "lapsed"
)

// Active reports whether the entry still waits or holds an offer.
func (s WaitState) Active() bool { return s == WaitWaiting || s == WaitOffered || s == WaitAccepted }

// WaitEntry is one person waiting for a product at a station or in a
// district.
type WaitEntry struct {
	ID         string    `json:"id"`
	ProductID  string    `json:"product_id"`
	StationID  string    `json:"station_id,omitempty"`
	District   string    `json:"district,omitempty"`
	RenterID   string    `json:"renter_id"`
	RenterName string    `json:"renter_name"`
	UserID     string    `json:"-"`
	State      WaitState `json:"state"`
	JoinedAt   time.Time `json:"joined_at"`
	// Position is the place in the queue among those waiting (1 is next);
	// 0 when not waiting.
	Position int `json:"position"`
	// ReservationID is the offer's hold (offered, accepted, served).
	ReservationID string    `json:"reservation_id,omitempty"`
	OfferUntil    time.Time `json:"offer_until,omitzero"`
	// Lang is the language the family joined in (Reservation.Lang).
	Lang      string    `json:"-" bson:"lang,omitempty"`
	Seq       int64     `json:"seq"`
	UpdatedAt time.Time `json:"updated_at"`
}

// queue names the entry's queue.
func (w WaitEntry) queue() string {
	if w.StationID != "" {
		return w.ProductID + "@station/" + w.StationID
	}
	return w.ProductID + "@district/" + w.District
}

// JoinRequest puts a renter on a waitlist: a product and either a station
// or a district.
type JoinRequest struct {
	RenterID  string `json:"renter_id"`
	ProductID string `json:"product_id"`
	StationID string `json:"station_id"`
	District  string `json:"district"`
	// Lang is the language the family joined in: the offer's message is
	// written in it.
	Lang string `json:"-"`
}

type waitEvent struct {
	Kind  string        `bson:"kind"`
	Entry WaitEntry     `bson:"entry"`
	By    tenancy.Actor `bson:"by"`
}

func waitOf(e eventlog.Entry[waitEvent]) WaitEntry {
	w := e.Event.Entry
	w.Seq = e.Seq
	return w
}

// JoinWaitlist puts one of the account's renters on the waitlist for a
// product at a station or in a district. A renter waits at most once per
// queue (joining again returns the entry).
func (r *Reservations) JoinWaitlist(ctx context.Context, userID string, req JoinRequest) (WaitEntry, error) {
	e := &valid.Error{}
	e.Text("renter_id", req.RenterID, valid.MaxID).Text("product_id", req.ProductID, valid.MaxID).Text("station_id", req.StationID, valid.MaxID)
	if req.RenterID == "" {
		e.Add("renter_id", "required", "is required")
	}
	if req.ProductID == "" {
		e.Add("product_id", "required", "is required")
	}
	switch {
	case req.StationID == "" && req.District == "":
		e.Add("station_id", "required", "give a station or a district")
	case req.StationID != "" && req.District != "":
		e.Add("district", "station_or_district", "give a station or a district, not both")
	case req.District != "":
		if _, ok := stations.DistrictByID(req.District); !ok {
			e.Add("district", "oneof", "must be a district id such as jiefang")
		}
	}
	if err := e.Err(); err != nil {
		return WaitEntry{}, fmt.Errorf("rentals: waitlist: %w", err)
	}
	lr, err := r.linked(ctx, userID, req.RenterID)
	if err != nil {
		return WaitEntry{}, err
	}
	if _, ok := r.s.products.Lookup(req.ProductID); !ok {
		return WaitEntry{}, fmt.Errorf("rentals: waitlist: %w", valid.Field("product_id", "unknown_product", "is not a product this service lends"))
	}
	if req.StationID != "" {
		if _, _, err := r.station(ctx, req.StationID); err != nil {
			return WaitEntry{}, fmt.Errorf("rentals: waitlist: %w", valid.Field("station_id", "unknown_station", "is not a station that takes reservations"))
		}
	}
	now := r.now()
	w := WaitEntry{ID: ids.New("wl"), ProductID: req.ProductID, StationID: req.StationID, District: req.District,
		RenterID: lr.ID, RenterName: lr.MaskedName, UserID: userID, State: WaitWaiting, JoinedAt: now, UpdatedAt: now, Lang: msgLang(req.Lang)}
	all, err := r.store.entriesOfRenter(ctx, lr.ID)
	if err != nil {
		return WaitEntry{}, err
	}
	for _, x := range all {
		if x.State.Active() && x.queue() == w.queue() {
			return r.withPosition(ctx, x)
		}
	}
	by := tenancy.Actor{ID: userID, Role: "renter"}
	got, err := r.waitLg.Append(ctx, w.ID, 1, waitEvent{Kind: "joined", Entry: w, By: by})
	if err != nil {
		return WaitEntry{}, fmt.Errorf("rentals: %w", err)
	}
	w = waitOf(got)
	if err := r.store.putEntry(ctx, w); err != nil {
		return WaitEntry{}, err
	}
	r.auditEntry(ctx, by, "waitlist.join", w)
	// A unit may already be free (the family joined a district queue, or
	// one came back meanwhile).
	if _, err := r.offerQueues(ctx, w.ProductID); err != nil {
		r.logger.Warn("offer on join", "entry", w.ID, "err", err)
	}
	w, err = r.entry(ctx, w.ID)
	if err != nil {
		return WaitEntry{}, err
	}
	return r.withPosition(ctx, w)
}

func (r *Reservations) auditEntry(ctx context.Context, by tenancy.Actor, action string, w WaitEntry) {
	op := ""
	if w.StationID != "" {
		if st, err := r.s.units.Station(ctx, w.StationID); err == nil {
			op = st.OperatorID
		}
	}
	r.s.writeAudit(ctx, by, op, action, "waitlist/"+w.ID, audit.Diff(nil, map[string]any{"state": string(w.State), "product": w.ProductID,
		"station": w.StationID, "district": w.District, "renter": w.RenterID}))
}

// entry returns an entry as its log says it is now.
func (r *Reservations) entry(ctx context.Context, id string) (WaitEntry, error) {
	var known int64
	if p, ok, err := r.store.entry(ctx, id); err != nil {
		return WaitEntry{}, err
	} else if ok {
		known = p.Seq
	}
	head, err := r.waitLg.Head(ctx, id, known)
	if err != nil {
		return WaitEntry{}, fmt.Errorf("rentals: %w", err)
	}
	if head.Seq == 0 {
		return WaitEntry{}, fmt.Errorf("rentals: waitlist entry %s: %w", id, ErrNotFound)
	}
	return waitOf(head), nil
}

// moveEntry appends the entry's next state after w's head and projects it.
func (r *Reservations) moveEntry(ctx context.Context, w WaitEntry, kind string, edit func(*WaitEntry), by tenancy.Actor) (WaitEntry, error) {
	next := w
	edit(&next)
	next.UpdatedAt = r.now()
	e, err := r.waitLg.Append(ctx, w.ID, w.Seq+1, waitEvent{Kind: kind, Entry: next, By: by})
	if err != nil {
		return WaitEntry{}, err
	}
	got := waitOf(e)
	if err := r.store.putEntry(ctx, got); err != nil {
		return WaitEntry{}, err
	}
	return got, nil
}

// myEntry returns an entry of a renter linked to the account.
func (r *Reservations) myEntry(ctx context.Context, userID, id string) (WaitEntry, error) {
	w, err := r.entry(ctx, id)
	if err != nil {
		return WaitEntry{}, err
	}
	if _, err := r.linked(ctx, userID, w.RenterID); err != nil {
		return WaitEntry{}, fmt.Errorf("rentals: waitlist entry %s: %w", id, ErrNotFound)
	}
	return w, nil
}

// LeaveWaitlist takes an entry off the waitlist; an offer it holds is
// cancelled (the unit goes to the next person).
func (r *Reservations) LeaveWaitlist(ctx context.Context, userID, id string) (WaitEntry, error) {
	w, err := r.myEntry(ctx, userID, id)
	if err != nil {
		return WaitEntry{}, err
	}
	if !w.State.Active() {
		return WaitEntry{}, fmt.Errorf("rentals: waitlist entry %s is %s: %w", id, w.State, valid.Because(ErrConflict, "waitlist_state", "state", string(w.State)))
	}
	by := tenancy.Actor{ID: userID, Role: "renter"}
	if w.State == WaitOffered || w.State == WaitAccepted {
		x, err := r.current(ctx, w.ReservationID)
		if err == nil && x.State == ResHeld {
			if _, err := r.close(ctx, x, ResCancelled, "family", by, "reservation.cancel"); err != nil && !errors.Is(err, ErrConflict) {
				return WaitEntry{}, err
			}
		}
		if w, err = r.entry(ctx, id); err != nil {
			return WaitEntry{}, err
		}
		if !w.State.Active() {
			return w, nil
		}
	}
	got, err := r.moveEntry(ctx, w, "left", func(n *WaitEntry) { n.State = WaitLeft }, by)
	if errors.Is(err, eventlog.ErrTaken) {
		return WaitEntry{}, fmt.Errorf("rentals: waitlist entry %s changed just now: %w", id, valid.Because(ErrConflict, "changed"))
	}
	if err != nil {
		return WaitEntry{}, err
	}
	r.auditEntry(ctx, by, "waitlist.leave", got)
	return got, nil
}

// MyWaitlist returns the account's renters' active entries with their
// positions, and those that ended in the last 30 days.
func (r *Reservations) MyWaitlist(ctx context.Context, userID string) ([]WaitEntry, error) {
	rs, err := r.s.LinkedRenters(ctx, userID)
	if err != nil {
		return nil, err
	}
	out := []WaitEntry{}
	since := r.now().Add(-30 * 24 * time.Hour)
	for _, lr := range rs {
		all, err := r.store.entriesOfRenter(ctx, lr.ID)
		if err != nil {
			return nil, err
		}
		for _, w := range all {
			if !w.State.Active() && w.UpdatedAt.Before(since) {
				continue
			}
			if w, err = r.withPosition(ctx, w); err != nil {
				return nil, err
			}
			out = append(out, w)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].JoinedAt.After(out[j].JoinedAt) })
	return out, nil
}

// withPosition sets w's position among its queue's waiting entries.
func (r *Reservations) withPosition(ctx context.Context, w WaitEntry) (WaitEntry, error) {
	w.Position = 0
	if w.State != WaitWaiting {
		return w, nil
	}
	q, err := r.waiting(ctx, w.ProductID)
	if err != nil {
		return w, err
	}
	n := 0
	for _, x := range q {
		if x.queue() != w.queue() {
			continue
		}
		n++
		if x.ID == w.ID {
			w.Position = n
			break
		}
	}
	return w, nil
}

// waiting returns the waiting entries for a product, first come first.
func (r *Reservations) waiting(ctx context.Context, productID string) ([]WaitEntry, error) {
	all, err := r.store.waitingFor(ctx, productID)
	if err != nil {
		return nil, err
	}
	sort.SliceStable(all, func(i, j int) bool {
		if !all[i].JoinedAt.Equal(all[j].JoinedAt) {
			return all[i].JoinedAt.Before(all[j].JoinedAt)
		}
		return all[i].ID < all[j].ID
	})
	return all, nil
}

// StationWaitlist returns who waits at a station the scope covers (its
// own queue and its district's), first come first, names masked.
func (r *Reservations) StationWaitlist(ctx context.Context, scope tenancy.Scope, stationID string) ([]WaitEntry, error) {
	st, err := r.s.deskStation(ctx, scope, stationID)
	if err != nil {
		return nil, err
	}
	all, err := r.store.allEntries(ctx)
	if err != nil {
		return nil, err
	}
	out := []WaitEntry{}
	for _, w := range all {
		if !w.State.Active() || !(w.StationID == st.ID || w.StationID == "" && w.District == st.District) {
			continue
		}
		if w, err = r.withPosition(ctx, w); err != nil {
			return nil, err
		}
		out = append(out, w)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].JoinedAt.Before(out[j].JoinedAt) })
	return out, nil
}

// AcceptOffer confirms a waitlist offer: the hold stands until the offer's
// end and the desk sees it as a pickup.
func (r *Reservations) AcceptOffer(ctx context.Context, userID, id string) (WaitEntry, error) {
	w, err := r.myEntry(ctx, userID, id)
	if err != nil {
		return WaitEntry{}, err
	}
	if w.State == WaitAccepted {
		return w, nil
	}
	if w.State != WaitOffered {
		return WaitEntry{}, fmt.Errorf("rentals: waitlist entry %s is %s: %w", id, w.State, valid.Because(ErrConflict, "waitlist_state", "state", string(w.State)))
	}
	x, err := r.current(ctx, w.ReservationID)
	if err != nil {
		return WaitEntry{}, err
	}
	if x.State != ResHeld {
		return WaitEntry{}, fmt.Errorf("rentals: offer %s is %s: %w", x.ID, x.State, valid.Because(ErrConflict, "reservation_state", "state", string(x.State)))
	}
	by := tenancy.Actor{ID: userID, Role: "renter"}
	next := x
	at := r.now()
	next.Accepted = &at
	acc, err := r.append(ctx, x, resEvent{Kind: resAccepted, Res: next, By: by})
	if errors.Is(err, eventlog.ErrTaken) {
		return WaitEntry{}, fmt.Errorf("rentals: offer %s changed just now: %w", x.ID, valid.Because(ErrConflict, "changed"))
	}
	if err != nil {
		return WaitEntry{}, fmt.Errorf("rentals: %w", err)
	}
	if err := r.project(ctx, acc); err != nil {
		return WaitEntry{}, err
	}
	got, err := r.moveEntry(ctx, w, "accepted", func(n *WaitEntry) { n.State = WaitAccepted }, by)
	if err != nil && !errors.Is(err, eventlog.ErrTaken) {
		return WaitEntry{}, err
	}
	r.audit(ctx, by, "reservation.accept", &x, acc)
	if errors.Is(err, eventlog.ErrTaken) {
		return r.entry(ctx, id)
	}
	return got, nil
}

// OfferFreed is the job: for every product someone waits for, it offers
// the available units in reach of their queues. It returns how many offers
// it made.
func (r *Reservations) OfferFreed(ctx context.Context) (int, error) {
	all, err := r.store.waitingFor(ctx, "")
	if err != nil {
		return 0, err
	}
	seen := map[string]bool{}
	n := 0
	for _, w := range all {
		if seen[w.ProductID] {
			continue
		}
		seen[w.ProductID] = true
		k, err := r.offerQueues(ctx, w.ProductID)
		n += k
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// offerQueues offers every available unit of the product at stations in
// reach of someone waiting for it.
func (r *Reservations) offerQueues(ctx context.Context, productID string) (int, error) {
	q, err := r.waiting(ctx, productID)
	if err != nil || len(q) == 0 {
		return 0, err
	}
	idx, ok := r.s.units.(interface{ Index() *stations.Index })
	if !ok {
		return 0, nil
	}
	var places []string
	seen := map[string]bool{}
	for _, w := range q {
		if w.StationID != "" {
			if !seen[w.StationID] {
				seen[w.StationID] = true
				places = append(places, w.StationID)
			}
			continue
		}
		for _, st := range idx.Index().Stations() {
			if st.District == w.District && !seen[st.ID] {
				seen[st.ID] = true
				places = append(places, st.ID)
			}
		}
	}
	n := 0
	for _, stID := range places {
		if idx.Index().AvailableAt(productID)[stID] == 0 {
			continue
		}
		units, err := r.candidates(ctx, stID, productID, "")
		if err != nil {
			return n, err
		}
		for _, u := range units {
			if n >= len(q) {
				return n, nil // everyone waiting has an offer
			}
			ok, err := r.offerUnit(ctx, u.Tag)
			if err != nil {
				return n, err
			}
			if ok {
				n++
			}
		}
	}
	return n, nil
}

// offerUnit offers an available unit to the first person waiting for its
// product in reach (its station's queue or its district's), first come
// first served across both. ok is false when nobody waits or the unit is
// gone.
func (r *Reservations) offerUnit(ctx context.Context, tag string) (bool, error) {
	u, err := r.s.units.Unit(ctx, tag)
	if errors.Is(err, stations.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("rentals: %w", err)
	}
	if u.State != stations.Available {
		return false, nil
	}
	st, _, err := r.station(ctx, u.StationID)
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	q, err := r.waiting(ctx, u.ProductID)
	if err != nil {
		return false, err
	}
	now := r.now()
	for _, w := range q {
		if !(w.StationID == st.ID || w.StationID == "" && w.District == st.District) {
			continue
		}
		if err := r.mayReserve(ctx, w.RenterID, now); err != nil {
			continue // blocked renters keep their place for later
		}
		marker, err := r.waitLg.Begin(ctx, w.ID)
		if err != nil {
			return false, fmt.Errorf("rentals: %w", err)
		}
		resID := ids.New("rs")
		until := now.Add(r.OfferTTL)
		claimed, err := r.moveEntry(ctx, w, "offered", func(n *WaitEntry) {
			n.State, n.ReservationID, n.OfferUntil = WaitOffered, resID, until
		}, tenancy.System)
		if errors.Is(err, eventlog.ErrTaken) {
			_ = r.waitLg.Done(ctx, marker)
			continue // another offer took this person; try the next
		}
		if err != nil {
			return false, err
		}
		if err := r.s.crashPoint("offer:claimed"); err != nil {
			return false, err
		}
		d, err := r.s.currentRenter(ctx, w.RenterID)
		if err != nil {
			return false, err
		}
		x := Reservation{ID: resID, State: ResOpening, Mode: Pickup, RenterID: w.RenterID, RenterName: MaskName(d.Name), UserID: w.UserID,
			ProductID: u.ProductID, StationID: st.ID, OperatorID: st.OperatorID, Days: DefaultReserveDays,
			Start: now, End: until, HoldUntil: until, Offer: true, WaitlistEntryID: w.ID, Lang: w.Lang,
			By: tenancy.System, CreatedAt: now}
		if q, err := r.s.QuoteFor(ctx, tenancy.PlatformScope, QuoteRequest{RenterID: w.RenterID, ProductID: u.ProductID, Days: DefaultReserveDays, Day: now}); err == nil {
			x.Quote = q
		}
		held, err := r.hold(ctx, x, &u, "", 0)
		if errors.Is(err, ErrNoUnit) {
			// The unit went to someone else: the person keeps their place.
			if _, err := r.moveEntry(ctx, claimed, "waiting", func(n *WaitEntry) {
				n.State, n.ReservationID, n.OfferUntil = WaitWaiting, "", time.Time{}
			}, tenancy.System); err != nil && !errors.Is(err, eventlog.ErrTaken) {
				return false, err
			}
			_ = r.waitLg.Done(ctx, marker)
			return false, nil
		}
		if err != nil {
			return false, err
		}
		_ = r.waitLg.Done(ctx, marker)
		r.audit(ctx, tenancy.System, "reservation.offer", nil, held)
		return true, nil
	}
	return false, nil
}

// endEntry ends the waitlist entry of an offer that ended: served when it
// was fulfilled, lapsed otherwise.
func (r *Reservations) endEntry(ctx context.Context, id string, x Reservation) error {
	for range 5 {
		w, err := r.entry(ctx, id)
		if err != nil {
			return err
		}
		if !w.State.Active() || w.ReservationID != x.ID {
			return nil
		}
		to, kind := WaitLapsed, "lapsed"
		if x.UnitTag == "" {
			// The offer never held its unit: the person keeps their place.
			_, err = r.moveEntry(ctx, w, "waiting", func(n *WaitEntry) {
				n.State, n.ReservationID, n.OfferUntil = WaitWaiting, "", time.Time{}
			}, tenancy.System)
			if errors.Is(err, eventlog.ErrTaken) {
				continue
			}
			return err
		}
		if x.State == ResFulfilled {
			to, kind = WaitServed, "served"
		}
		if x.Reason == "family" {
			to, kind = WaitLeft, "left"
		}
		_, err = r.moveEntry(ctx, w, kind, func(n *WaitEntry) { n.State = to }, tenancy.System)
		if errors.Is(err, eventlog.ErrTaken) {
			continue
		}
		return err
	}
	return nil
}

// offeredEntry makes sure the entry of a held offer says so.
func (r *Reservations) offeredEntry(ctx context.Context, id string, x Reservation) error {
	w, err := r.entry(ctx, id)
	if err != nil {
		return err
	}
	if w.State == WaitOffered && w.ReservationID == x.ID || w.State == WaitAccepted {
		return nil
	}
	if w.State != WaitWaiting {
		return nil
	}
	_, err = r.moveEntry(ctx, w, "offered", func(n *WaitEntry) {
		n.State, n.ReservationID, n.OfferUntil = WaitOffered, x.ID, x.HoldUntil
	}, tenancy.System)
	if errors.Is(err, eventlog.ErrTaken) {
		return nil
	}
	return err
}

// reconcileWaitlist repairs offers a crash interrupted: an entry claimed
// for an offer whose reservation never held a unit goes back to waiting
// (its place kept); one whose offer ended is ended; projections are
// rewritten from the logs.
func (r *Reservations) reconcileWaitlist(ctx context.Context, age time.Duration) (int, error) {
	stale, err := r.waitLg.Stale(ctx, age)
	if err != nil {
		return 0, err
	}
	fixed := 0
	for _, p := range stale {
		w, err := r.entry(ctx, p.Entity)
		if errors.Is(err, ErrNotFound) {
			_ = r.waitLg.Done(ctx, p)
			continue
		}
		if err != nil {
			return fixed, err
		}
		if w.State == WaitOffered {
			x, err := r.current(ctx, w.ReservationID)
			switch {
			case errors.Is(err, ErrNotFound):
				_, err = r.moveEntry(ctx, w, "waiting", func(n *WaitEntry) {
					n.State, n.ReservationID, n.OfferUntil = WaitWaiting, "", time.Time{}
				}, tenancy.System)
				if err != nil && !errors.Is(err, eventlog.ErrTaken) {
					return fixed, err
				}
			case err != nil:
				return fixed, err
			default:
				if x.State == ResOpening {
					if err := r.reconcileOne(ctx, x.ID); err != nil {
						return fixed, err
					}
					if x, err = r.current(ctx, x.ID); err != nil {
						return fixed, err
					}
				}
				if !x.State.Open() {
					if err := r.endEntry(ctx, w.ID, x); err != nil {
						return fixed, err
					}
				}
			}
		} else if err := r.store.putEntry(ctx, w); err != nil {
			return fixed, err
		}
		if err := r.waitLg.Done(ctx, p); err != nil {
			return fixed, err
		}
		fixed++
	}
	return fixed, nil
}
