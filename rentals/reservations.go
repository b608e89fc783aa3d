package rentals

// Online reservations and the waitlist (issue 11, docs/reservations.md).
//
// The service is *Reservations (NewReservations), built on the rentals
// Service (renters, quotes, the desk's check-out) and wired by
// cmd/internal/app. Every method takes the caller's identity explicitly:
// families act through their account (userID) for one of its linked
// renters; staff and operators through a tenancy.Scope, so another
// operator's reservations and waitlists are not found.
//
// Families (web: /api/v1/me/…):
//
//	Slots(ctx, stationID)                          pickup slots, next 7 days
//	DeliveryOptions(ctx, stationID)                delivery districts, fee, days
//	Reserve(ctx, userID, ReserveRequest)           pickup (Slot) or delivery
//	MyReservations(ctx, userID)                    every reservation of the account's renters
//	MyReservation(ctx, userID, id)                 one, with its code
//	CancelMine(ctx, userID, id)                    until the slot starts
//	JoinWaitlist(ctx, userID, JoinRequest)         per (product, station) or (product, district)
//	LeaveWaitlist(ctx, userID, entryID)
//	MyWaitlist(ctx, userID)                        entries with their position
//	AcceptOffer(ctx, userID, entryID)              confirm an offered hold
//
// Staff (a scope covering the station):
//
//	Pickups(ctx, scope, stationID, day)            the day's pickups and deliveries
//	DeliveryRuns(ctx, scope, stationID, day)       the day's deliveries, by window
//	Reservation(ctx, scope, id)                    one reservation
//	ReservationByCode(ctx, scope, stationID, code) the code a family shows
//	Fulfil(ctx, scope, id, FulfilRequest, by)      → lease (optional substitute unit)
//	Substitute(ctx, scope, id, tag, by)            the hold moves to another unit
//	CancelByStaff(ctx, scope, id, reason, by)
//	LiftNoShowBlock(ctx, scope, renterID, reason, by)
//	StationWaitlist(ctx, scope, stationID)         who waits, in order
//
// Operators' settings live in stations (ReservationSettings,
// SetSlotSettings, SetDeliverySettings); the web layer calls the stations
// service for them.
//
// Jobs (every instance, every pass; each action is a transition with a
// unique id, so several instances act once):
//
//	ExpireHolds(ctx)    holds past slot end + grace → expired, unit back, no-show counted, waitlist offered
//	OfferFreed(ctx)     units of a waited-for product available in reach → offers (a scan, see waitlist.go)
//	Remind(ctx)         pickup reminders the day before, hold-expiring notices
//	Reconcile(ctx, age) finishes any reserve, fulfil, cancel, expire or offer a crash interrupted
//
// A reservation holds one specific unit: available → reserved through the
// unit's log, exactly like a desk check-out, so of N families racing for the
// last unit one gets the hold and the others ErrNoUnit (409, code
// "no_unit_waitlist": the waitlist is offered). The reservation has its own
// log (reservation_events): opened → held → fulfilled | cancelled | expired;
// fulfil, cancel and expiry each append the next event after held, so
// whichever is first wins and the others get 409.

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/mongo"

	"fuju/internal/audit"
	"fuju/internal/db"
	"fuju/internal/eventlog"
	"fuju/internal/ids"
	"fuju/internal/l10n"
	"fuju/internal/tenancy"
	"fuju/internal/valid"
	"fuju/messages"
	"fuju/stations"
)

// ReservationState is where a reservation is in its life.
type ReservationState string

// Reservation states. Opening is a reservation whose unit is being held (not
// listed anywhere); fulfilling one whose lease is being made at the desk.
const (
	ResOpening    ReservationState = "opening"
	ResHeld       ReservationState = "held"
	ResFulfilling ReservationState = "fulfilling"
	ResFulfilled  ReservationState = "fulfilled"
	ResCancelled  ReservationState = "cancelled"
	ResExpired    ReservationState = "expired"
)

// Open reports whether the reservation still holds its unit.
func (s ReservationState) Open() bool {
	return s == ResOpening || s == ResHeld || s == ResFulfilling
}

// Mode is how the family gets the device.
type Mode string

// Pickup at the station in a slot, or delivery in a half-day window.
const (
	Pickup   Mode = "pickup"
	Delivery Mode = "delivery"
)

// Limits of online reservations are the city's, in the policy in force
// (Policy.Reservations); the rest are the service's.
const (
	// DefaultOfferTTL is how long a waitlist offer holds its unit.
	DefaultOfferTTL = 24 * time.Hour
	// DefaultReserveDays is the lease length quoted when the family names none.
	DefaultReserveDays = 30
	// codeAlphabet has no 0/O, 1/I/L: codes are read aloud and typed.
	codeAlphabet = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
	codeLength   = 8
)

// Errors of reservations (beside ErrNotFound, ErrConflict, valid errors).
var (
	// ErrNoUnit means no unit of the product is free at the station: 409
	// with reason "no_unit_waitlist", whose parameters say which waitlist
	// to join.
	ErrNoUnit = errors.New("no unit free")
	// ErrBlocked means the renter may not reserve now (overdue lease, unpaid
	// balance, too many open reservations, no-shows): 409 with a reason.
	ErrBlocked = errors.New("reservations blocked")
)

// DeliveryAddress is where a delivery goes and whom to call.
type DeliveryAddress struct {
	District string `json:"district" bson:"district"`
	Address  string `json:"address" bson:"address"`
	Phone    string `json:"phone" bson:"phone"`
}

// Reservation is one family's hold on one unit.
type Reservation struct {
	ID         string           `json:"id"`
	Code       string           `json:"code"`
	State      ReservationState `json:"state"`
	Mode       Mode             `json:"mode"`
	RenterID   string           `json:"renter_id"`
	RenterName string           `json:"renter_name"` // masked (王**)
	// UserID is the account that made it (empty for a waitlist offer made
	// to a renter whose account has since been unlinked).
	UserID     string `json:"-"`
	ProductID  string `json:"product_id"`
	StationID  string `json:"station_id"`
	OperatorID string `json:"operator_id"`
	UnitTag    string `json:"unit_tag"`
	// Start and End are the pickup slot or the delivery window.
	Start  time.Time        `json:"start"`
	End    time.Time        `json:"end"`
	Window stations.Window  `json:"window,omitempty"`
	Ship   *DeliveryAddress `json:"delivery,omitempty"`
	// FeeFen is the delivery fee (0 for pickup), paid at handover.
	FeeFen int64 `json:"fee_fen"`
	// HoldUntil is when the hold expires: End + the station's grace, or the
	// offer's end for a waitlist offer.
	HoldUntil time.Time `json:"hold_until"`
	// Quote is the quote it was made with (tier, policy version, cap).
	Quote Quote `json:"quote"`
	Days  int   `json:"days"`
	// Offer is set for a hold offered from the waitlist (WaitlistEntryID).
	Offer           bool   `json:"offer"`
	WaitlistEntryID string `json:"waitlist_entry_id,omitempty"`
	// Accepted is when the family accepted an offer.
	Accepted *time.Time `json:"accepted_at,omitempty"`
	LeaseID  string     `json:"lease_id,omitempty"`
	// Why a reservation ended: the staff's reason, "family", "no_show",
	// "offer_lapsed", "unit_unavailable", "abandoned".
	Reason string `json:"reason,omitempty"`
	NoShow bool   `json:"no_show"`
	// Moves are the units the hold moved from (substitutions).
	Moves []string `json:"moves,omitempty"`
	// Place is the place in its pickup slot the reservation took
	// (slot_places), freed when it closes.
	Place string `json:"-" bson:"place,omitempty"`
	// Lang is the language its messages are written in ("zh", "en"; empty
	// is Chinese).
	Lang      string        `json:"-" bson:"lang,omitempty"`
	By        tenancy.Actor `json:"-"`
	Seq       int64         `json:"seq"`
	CreatedAt time.Time     `json:"created_at"`
	UpdatedAt time.Time     `json:"updated_at"`
	ClosedAt  *time.Time    `json:"closed_at,omitempty"`
}

// ReserveRequest is a family's reservation.
type ReserveRequest struct {
	RenterID  string `json:"renter_id"`
	ProductID string `json:"product_id"`
	StationID string `json:"station_id"`
	Mode      Mode   `json:"mode"`
	// Slot is the pickup slot's start (pickup).
	Slot time.Time `json:"slot"`
	// Day (YYYY-MM-DD) and Window are the delivery's (delivery).
	Day    string           `json:"day"`
	Window stations.Window  `json:"window"`
	Ship   *DeliveryAddress `json:"delivery"`
	// Days is the lease length to quote (default 30).
	Days int `json:"days"`
	// Lang is the language the family reserved in ("zh", "en"): the
	// reservation's messages are written in it.
	Lang string `json:"-"`
}

// FulfilRequest is the desk's check-out of a reservation: the check-out's
// own fields (the renter, the unit and the station come from the
// reservation; Substitute names another unit of the product to lend instead).
type FulfilRequest struct {
	Days         int       `json:"days"`
	Payments     []Payment `json:"payments"`
	TermsVersion string    `json:"terms_version"`
	AcceptedName string    `json:"accepted_name"`
	Substitute   string    `json:"substitute"`
}

// notifier is the outbox; *messages.Service satisfies it.
type notifier interface {
	Enqueue(ctx context.Context, m messages.NewMessage) (messages.Message, error)
}

// settingsSource gives a station's reservation settings; *stations.Service
// satisfies it.
type settingsSource interface {
	ReservationSettings(ctx context.Context, stationID string) (stations.ReservationSettings, error)
}

// PrepaidMoney is the money paid online for reservations before they
// become leases (payments, through cmd/internal/app). Prepaid returns what
// was paid for a reservation as the outcomes the lease ledger applies once
// by key; RefundPrepaid sends everything paid for a reservation that ended
// without a lease back, once (a second call finds the refund made).
type PrepaidMoney interface {
	Prepaid(ctx context.Context, reservationID string) ([]OnlineOutcome, error)
	RefundPrepaid(ctx context.Context, x Reservation) error
}

// Reservations runs online reservations and the waitlist.
type Reservations struct {
	s        *Service
	settings settingsSource
	msgs     notifier
	logger   *slog.Logger
	// OfferTTL is how long a waitlist offer holds its unit.
	OfferTTL time.Duration
	// Prepaid, when set, moves what a family paid online in advance onto
	// the lease the desk makes, and refunds it when the reservation is
	// cancelled or expires (finishClosed, so the reconciler finishes it
	// after a crash).
	Prepaid PrepaidMoney

	log      *eventlog.Log[resEvent]
	renterLg *eventlog.Log[renterResEvent]
	liftLg   *eventlog.Log[liftEvent]
	waitLg   *eventlog.Log[waitEvent]
	store    *resStore
}

// NewReservations returns the reservation service on top of s (renters,
// quotes, check-out and its clock), with the stations' settings and the
// outbox (nil: no messages).
func NewReservations(d *mongo.Database, s *Service, settings settingsSource, msgs notifier) *Reservations {
	return &Reservations{
		s: s, settings: settings, msgs: msgs, logger: s.logger, OfferTTL: DefaultOfferTTL,
		log:      eventlog.New[resEvent](d, "reservation"),
		renterLg: eventlog.New[renterResEvent](d, "renter_reservation"),
		liftLg:   eventlog.New[liftEvent](d, "noshow_lift"),
		waitLg:   eventlog.New[waitEvent](d, "waitlist"),
		store:    newResStore(d),
	}
}

// Init creates the collections.
func (r *Reservations) Init(ctx context.Context) error {
	for _, l := range []interface{ Init(context.Context) error }{r.log, r.renterLg, r.liftLg, r.waitLg} {
		if err := l.Init(ctx); err != nil {
			return fmt.Errorf("rentals: %w", err)
		}
	}
	if err := db.EnsureCollections(ctx, r.store.collections()...); err != nil {
		return fmt.Errorf("rentals: %w", err)
	}
	return nil
}

func (r *Reservations) now() time.Time { return r.s.now() }

// newCode returns a reservation code: 8 characters of codeAlphabet, about
// 39 bits, unguessable at the rates the API allows.
func newCode() string {
	b := make([]byte, codeLength)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = codeAlphabet[int(b[i])%len(codeAlphabet)]
	}
	return string(b)
}

// NormalizeCode reads a typed or scanned code: upper case, no spaces or
// dashes, the ambiguous letters folded (O→0 is not in the alphabet, so it is
// left to fail).
func NormalizeCode(code string) string {
	code = strings.ToUpper(strings.TrimSpace(code))
	code = strings.NewReplacer(" ", "", "-", "").Replace(code)
	return code
}

// Slots returns a station's bookable pickup slots: its opening hours in 30
// minute steps from the next open slot up to 7 days ahead, without closed
// days and slots at capacity.
func (r *Reservations) Slots(ctx context.Context, stationID string) ([]stations.Slot, error) {
	st, set, err := r.station(ctx, stationID)
	if err != nil {
		return nil, err
	}
	taken, err := r.takenSlots(ctx, st.ID)
	if err != nil {
		return nil, err
	}
	out := stations.Slots(st.Hours, set.Slots.Capacity, r.now(), taken)
	if out == nil {
		out = []stations.Slot{}
	}
	return out, nil
}

// DeliveryOption is a day and window a station delivers in.
type DeliveryOption struct {
	Day    string          `json:"day"`
	Window stations.Window `json:"window"`
	Start  time.Time       `json:"start"`
	End    time.Time       `json:"end"`
}

// DeliveryOptions are what a station offers for delivery.
type DeliveryOptions struct {
	Enabled   bool             `json:"enabled"`
	Districts []string         `json:"districts"`
	FeeFen    int64            `json:"fee_fen"`
	Options   []DeliveryOption `json:"options"`
}

// DeliveryOptions returns where, when and for how much a station delivers.
func (r *Reservations) DeliveryOptions(ctx context.Context, stationID string) (DeliveryOptions, error) {
	st, set, err := r.station(ctx, stationID)
	if err != nil {
		return DeliveryOptions{}, err
	}
	d := set.Delivery
	out := DeliveryOptions{Enabled: d.Enabled, Districts: append([]string{}, d.Districts...), FeeFen: d.FeeFen, Options: []DeliveryOption{}}
	if !d.Enabled {
		return out, nil
	}
	for _, w := range d.Windows {
		for _, day := range stations.DeliveryDays(st.Hours, w, r.now()) {
			a, b := w.Bounds(day)
			out.Options = append(out.Options, DeliveryOption{Day: Date(day), Window: w, Start: a.UTC(), End: b.UTC()})
		}
	}
	sort.Slice(out.Options, func(i, j int) bool { return out.Options[i].Start.Before(out.Options[j].Start) })
	return out, nil
}

// station returns an active station and its settings; an inactive or
// unknown one is not found.
func (r *Reservations) station(ctx context.Context, id string) (stations.Station, stations.ReservationSettings, error) {
	st, err := r.s.units.Station(ctx, id)
	if errors.Is(err, stations.ErrNotFound) || err == nil && !st.Active {
		return stations.Station{}, stations.ReservationSettings{}, fmt.Errorf("rentals: station %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return stations.Station{}, stations.ReservationSettings{}, fmt.Errorf("rentals: %w", err)
	}
	set, err := r.settings.ReservationSettings(ctx, id)
	if err != nil {
		return stations.Station{}, stations.ReservationSettings{}, fmt.Errorf("rentals: %w", err)
	}
	return st, set, nil
}

// takenSlots counts the open pickups of a station by slot start.
func (r *Reservations) takenSlots(ctx context.Context, stationID string) (map[time.Time]int, error) {
	open, err := r.store.openAt(ctx, stationID)
	if err != nil {
		return nil, err
	}
	out := map[time.Time]int{}
	for _, o := range open {
		if o.Mode == Pickup {
			out[o.Start.UTC()]++
		}
	}
	return out, nil
}

// linked returns the account's linked renter renterID, or ErrNotFound.
func (r *Reservations) linked(ctx context.Context, userID, renterID string) (LinkedRenter, error) {
	if userID == "" {
		return LinkedRenter{}, fmt.Errorf("rentals: renter %s: %w", renterID, ErrNotFound)
	}
	rs, err := r.s.LinkedRenters(ctx, userID)
	if err != nil {
		return LinkedRenter{}, err
	}
	for _, x := range rs {
		if x.ID == renterID {
			return x, nil
		}
	}
	return LinkedRenter{}, fmt.Errorf("rentals: renter %s is not linked to this account: %w", renterID,
		valid.Field("renter_id", "not_linked", "is not a renter linked to this account"))
}

// Reserve holds a unit of the product at the station for one of the
// account's renters, for a pickup slot or a delivery window. It checks the
// rules in this order, each refusal with its own code: the input (fields),
// the renter's standing (overdue, unpaid, open reservations, no-shows:
// ErrBlocked), the slot or window (fields), a free unit (ErrNoUnit).
func (r *Reservations) Reserve(ctx context.Context, userID string, req ReserveRequest) (Reservation, error) {
	now := r.now()
	e := &valid.Error{}
	e.Text("renter_id", req.RenterID, valid.MaxID).Text("product_id", req.ProductID, valid.MaxID).Text("station_id", req.StationID, valid.MaxID)
	if req.RenterID == "" {
		e.Add("renter_id", "required", "is required")
	}
	if req.ProductID == "" {
		e.Add("product_id", "required", "is required")
	}
	if req.StationID == "" {
		e.Add("station_id", "required", "is required")
	}
	if req.Mode != Pickup && req.Mode != Delivery {
		e.Add("mode", "oneof", "must be pickup or delivery")
	}
	if req.Days == 0 {
		req.Days = DefaultReserveDays
	}
	if req.Days < 1 || req.Days > MaxDays {
		e.Add("days", "range", fmt.Sprintf("must be between 1 and %d", MaxDays), "min", 1, "max", MaxDays)
	}
	if req.Mode == Delivery {
		checkShip(e, req.Ship)
	}
	if err := e.Err(); err != nil {
		return Reservation{}, fmt.Errorf("rentals: reserve: %w", err)
	}
	lr, err := r.linked(ctx, userID, req.RenterID)
	if err != nil {
		return Reservation{}, err
	}
	prod, ok := r.s.products.Lookup(req.ProductID)
	if !ok {
		return Reservation{}, fmt.Errorf("rentals: product %s: %w", req.ProductID,
			valid.Field("product_id", "unknown_product", "is not a product this service lends"))
	}
	st, set, err := r.station(ctx, req.StationID)
	if err != nil {
		return Reservation{}, fmt.Errorf("rentals: reserve: %w", valid.Field("station_id", "unknown_station", "is not a station that takes reservations"))
	}
	if err := r.mayReserve(ctx, lr.ID, now); err != nil {
		return Reservation{}, err
	}
	res := Reservation{
		ID: ids.New("rs"), State: ResOpening, Mode: req.Mode, RenterID: lr.ID, RenterName: lr.MaskedName, UserID: userID,
		ProductID: prod.ID, StationID: st.ID, OperatorID: st.OperatorID, Days: req.Days, Lang: msgLang(req.Lang),
		By: tenancy.Actor{ID: userID, Role: "renter"}, CreatedAt: now,
	}
	switch req.Mode {
	case Pickup:
		if err := slotErr(stations.SlotProblem(st.Hours, req.Slot, now)); err != nil {
			return Reservation{}, fmt.Errorf("rentals: reserve: %w", err)
		}
		// The open reservations answer a full slot with nothing written;
		// the slot's places (takePlace, in hold) are what keep reservations
		// made at once within its capacity.
		taken, err := r.takenSlots(ctx, st.ID)
		if err != nil {
			return Reservation{}, err
		}
		if taken[req.Slot.UTC()] >= set.Slots.Capacity {
			return Reservation{}, fmt.Errorf("rentals: reserve: %w", errSlotFull)
		}
		res.Start, res.End = req.Slot.UTC(), req.Slot.Add(stations.SlotLength).UTC()
	case Delivery:
		if !set.Delivery.Enabled {
			return Reservation{}, fmt.Errorf("rentals: reserve: %w", valid.Field("mode", "no_delivery", "this station does not deliver"))
		}
		if !set.Delivery.Serves(req.Ship.District) {
			return Reservation{}, fmt.Errorf("rentals: reserve: %w", valid.Field("delivery.district", "unserved", "this station does not deliver there"))
		}
		if !set.Delivery.Offers(req.Window) {
			return Reservation{}, fmt.Errorf("rentals: reserve: %w", valid.Field("window", "oneof", "is not a window this station delivers in"))
		}
		day, err := parseDate(req.Day)
		if err != nil {
			return Reservation{}, fmt.Errorf("rentals: reserve: %w", valid.Field("day", "date", "must be a date like 2026-01-31"))
		}
		start, end := req.Window.Bounds(day)
		if !slices.ContainsFunc(stations.DeliveryDays(st.Hours, req.Window, now), func(d time.Time) bool { return Date(d) == req.Day }) {
			return Reservation{}, fmt.Errorf("rentals: reserve: %w", valid.Field("day", "delivery_day", "is not a day this station delivers in that window (within 7 days, on an open day, not started)"))
		}
		ship := *req.Ship
		ship.Phone = NormalizePhone(ship.Phone)
		res.Start, res.End, res.Window, res.Ship, res.FeeFen = start.UTC(), end.UTC(), req.Window, &ship, set.Delivery.FeeFen
	}
	res.HoldUntil = res.End.Add(set.Slots.Grace())
	q, err := r.s.QuoteFor(ctx, tenancy.PlatformScope, QuoteRequest{RenterID: lr.ID, ProductID: prod.ID, Days: req.Days, Day: now})
	if err != nil {
		return Reservation{}, err
	}
	res.Quote = q
	// The renter's phone and the slot pick where in the stock the hold
	// starts looking (stable, so the demo city seeds alike every time).
	d, err := r.s.currentRenter(ctx, lr.ID)
	if err != nil {
		return Reservation{}, err
	}
	room := 0
	if req.Mode == Pickup {
		room = set.Slots.Capacity
	}
	got, err := r.hold(ctx, res, nil, d.Phone+res.Start.String(), room)
	if errors.Is(err, ErrNoUnit) {
		return Reservation{}, fmt.Errorf("rentals: no %s free at station %s: %w", prod.ID, st.ID,
			valid.Because(ErrNoUnit, "no_unit_waitlist", "product_id", prod.ID, "station_id", st.ID, "district", st.District))
	}
	if err != nil {
		return Reservation{}, err
	}
	r.audit(ctx, got.By, "reservation.create", nil, got)
	return got, nil
}

// placeStale is how old a place must be before a place whose reservation
// was never written counts as left by a crash.
const placeStale = 2 * time.Minute

// errSlotFull is the answer for a pickup slot with no place left.
var errSlotFull = valid.Field("slot", "slot_full", "is fully booked; choose another time")

// takePlace takes one of a pickup slot's room places for reservation x (its
// ID, StationID and Start), or answers errSlotFull. Each place is a
// document with a unique _id, so reservations made at once never book a
// slot over its room. A place whose reservation has closed, or was never
// written (a crash between the place and the reservation's first event),
// is taken over.
func (r *Reservations) takePlace(ctx context.Context, x Reservation, room int) (string, error) {
	for k := range room {
		id := placeID(x.StationID, x.Start, k)
		for range 2 {
			holder, ok, err := r.store.takePlace(ctx, id, x.ID, x.Start, r.now())
			if err != nil {
				return "", err
			}
			if ok {
				return id, nil
			}
			if !r.placeLeft(ctx, holder) {
				break
			}
			if err := r.store.freePlace(ctx, id, holder.ReservationID); err != nil {
				return "", err
			}
		}
	}
	return "", errSlotFull
}

// placeLeft reports whether place p's reservation no longer holds it: it
// ended (fulfilled, cancelled, expired, or closed before its hold), as the
// open reservations the slot list counts do, or it was never
// written and the place is older than placeStale.
func (r *Reservations) placeLeft(ctx context.Context, p placeDoc) bool {
	if p.ReservationID == "" {
		return true // freed between the insert and the read
	}
	x, err := r.current(ctx, p.ReservationID)
	switch {
	case errors.Is(err, ErrNotFound):
		return r.now().Sub(p.At) > placeStale
	case err != nil:
		return false
	}
	return !x.State.Open()
}

// slotErr names what is wrong with a pickup slot (stations.SlotProblem).
func slotErr(problem string) error {
	switch problem {
	case "":
		return nil
	case "slot_step":
		return valid.Field("slot", "slot_step", "must start on the hour or half hour")
	case "slot_past":
		return valid.Field("slot", "slot_past", "has already started; choose a later time")
	case "slot_too_far":
		return valid.Field("slot", "slot_too_far", fmt.Sprintf("must be within %d days", stations.SlotDays), "days", stations.SlotDays)
	case "slot_closed_day":
		return valid.Field("slot", "slot_closed_day", "the station is closed that day")
	}
	return valid.Field("slot", "slot_outside_hours", "is outside the station's opening hours")
}

func checkShip(e *valid.Error, d *DeliveryAddress) {
	if d == nil {
		e.Add("delivery", "required", "a delivery needs an address and a phone")
		return
	}
	if _, ok := stations.DistrictByID(d.District); !ok {
		e.Add("delivery.district", "oneof", "must be a district id such as jiefang")
	}
	if n := textLen(strings.TrimSpace(d.Address)); n < 4 || n > valid.MaxText {
		e.Add("delivery.address", "length", fmt.Sprintf("is required (4 to %d characters)", valid.MaxText), "min", 4, "max", valid.MaxText)
	}
	if !ValidMobile(NormalizePhone(d.Phone)) {
		e.Add("delivery.phone", "mobile", "must be a mobile number such as 13812345678")
	}
}

// mayReserve checks the renter's standing: no overdue lease, no unpaid
// balance, fewer than MaxOpenReservations open reservations, not blocked by
// no-shows.
func (r *Reservations) mayReserve(ctx context.Context, renterID string, now time.Time) error {
	leaseIDs, err := r.s.leaseIDsOf(ctx, renterID)
	if err != nil {
		return err
	}
	today := Date(now)
	for _, id := range leaseIDs {
		l, ok, err := r.s.leaseDB.lease(ctx, id)
		if err != nil {
			return err
		}
		if !ok || !l.Listed || l.RenterID != renterID {
			continue
		}
		if l.State == LeaseOverdue || l.State.Out() && l.DueOn < today {
			return fmt.Errorf("rentals: renter %s has an overdue lease: %w", renterID, valid.Because(ErrBlocked, "reserve_overdue"))
		}
		if l.BalanceFen > 0 && !l.State.Out() {
			return fmt.Errorf("rentals: renter %s owes on lease %s: %w", renterID, l.ID, valid.Because(ErrBlocked, "reserve_unpaid", "owed_fen", l.BalanceFen))
		}
	}
	mine, err := r.renterReservations(ctx, renterID)
	if err != nil {
		return err
	}
	open := 0
	for _, x := range mine {
		if x.State.Open() {
			open++
		}
	}
	rules := r.s.policies.InForce(now).Reservations.orDefault()
	if open >= rules.MaxOpen {
		return fmt.Errorf("rentals: renter %s has %d open reservations: %w", renterID, open,
			valid.Because(ErrBlocked, "reserve_limit", "max", rules.MaxOpen))
	}
	until, err := r.blockedUntil(ctx, renterID, mine, now)
	if err != nil {
		return err
	}
	if until.After(now) {
		return fmt.Errorf("rentals: renter %s missed %d pickups: %w", renterID, rules.NoShows,
			valid.Because(ErrBlocked, "reserve_no_shows", "until", Date(until)))
	}
	return nil
}

// blockedUntil is when the renter's no-show block ends (zero: none): by
// the policy in force, the NoShows-th no-show within NoShowDays blocks for
// BlockDays from it, unless staff lifted the block after it.
func (r *Reservations) blockedUntil(ctx context.Context, renterID string, mine []Reservation, now time.Time) (time.Time, error) {
	rules := r.s.policies.InForce(now).Reservations.orDefault()
	limit := rules.NoShows
	window := time.Duration(rules.NoShowDays) * 24 * time.Hour
	block := time.Duration(rules.BlockDays) * 24 * time.Hour
	var shows []time.Time
	for _, x := range mine {
		if x.NoShow && x.ClosedAt != nil && now.Sub(*x.ClosedAt) < window+block {
			shows = append(shows, *x.ClosedAt)
		}
	}
	if len(shows) < limit {
		return time.Time{}, nil
	}
	sort.Slice(shows, func(i, j int) bool { return shows[i].Before(shows[j]) })
	var until time.Time
	for i := limit - 1; i < len(shows); i++ {
		if shows[i].Sub(shows[i-limit+1]) <= window {
			until = shows[i].Add(block)
		}
	}
	if until.IsZero() {
		return until, nil
	}
	lift, err := lastEntry(ctx, r.liftLg, renterID)
	if err != nil {
		return time.Time{}, fmt.Errorf("rentals: %w", err)
	}
	if lift.Seq > 0 && !lift.At.Before(until.Add(-block)) {
		return time.Time{}, nil
	}
	return until, nil
}

// NoShowBlock returns when a renter's no-show block ends (zero: not
// blocked); scope must see the renter.
func (r *Reservations) NoShowBlock(ctx context.Context, scope tenancy.Scope, renterID string) (time.Time, error) {
	if _, _, err := r.s.visibleRenter(ctx, scope, renterID); err != nil {
		return time.Time{}, err
	}
	mine, err := r.renterReservations(ctx, renterID)
	if err != nil {
		return time.Time{}, err
	}
	now := r.now()
	until, err := r.blockedUntil(ctx, renterID, mine, now)
	if err != nil || !until.After(now) {
		return time.Time{}, err
	}
	return until, nil
}

// liftEvent is a lifted no-show block.
type liftEvent struct {
	By     tenancy.Actor `bson:"by"`
	Reason string        `bson:"reason"`
}

// LiftNoShowBlock lets a renter blocked by no-shows reserve online again;
// scope must see the renter, and a reason is required (audited, without the
// reason's text).
func (r *Reservations) LiftNoShowBlock(ctx context.Context, scope tenancy.Scope, renterID, reason string, by tenancy.Actor) error {
	if err := scope.MayChange(tenancy.ChangeOther); err != nil {
		return err
	}
	if err := checkReason(reason); err != nil {
		return err
	}
	d, _, err := r.s.visibleRenter(ctx, scope, renterID)
	if err != nil {
		return err
	}
	if err := appendNext(ctx, r.liftLg, renterID, liftEvent{By: by, Reason: strings.TrimSpace(reason)}); err != nil {
		return err
	}
	audit.Write(ctx, r.s.auditLog, r.logger, audit.Entry{Actor: tenancy.AuditActor(by), OperatorID: d.HomeOperatorID,
		Action: "renter.noshow_lift", Target: "renter/" + renterID, Changes: []audit.Change{{Field: "reason"}}})
	return nil
}

// audit records a reservation change; no names, phones or addresses.
func (r *Reservations) audit(ctx context.Context, by tenancy.Actor, action string, before *Reservation, after Reservation) {
	var b any
	if before != nil {
		b = auditView(*before)
	}
	audit.Write(ctx, r.s.auditLog, r.logger, audit.Entry{Actor: tenancy.AuditActor(by), OperatorID: after.OperatorID,
		Action: action, Target: "reservation/" + after.ID, Changes: audit.Diff(b, auditView(after))})
}

// auditView is what the audit log sees of a reservation.
func auditView(x Reservation) map[string]any {
	return map[string]any{"state": string(x.State), "unit": x.UnitTag, "station": x.StationID, "product": x.ProductID,
		"mode": string(x.Mode), "start": x.Start, "hold_until": x.HoldUntil, "lease": x.LeaseID, "renter": x.RenterID}
}

// MyReservations returns the reservations of every renter linked to the
// account, newest first.
func (r *Reservations) MyReservations(ctx context.Context, userID string) ([]Reservation, error) {
	rs, err := r.s.LinkedRenters(ctx, userID)
	if err != nil {
		return nil, err
	}
	out := []Reservation{}
	for _, lr := range rs {
		mine, err := r.renterReservations(ctx, lr.ID)
		if err != nil {
			return nil, err
		}
		out = append(out, mine...)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].CreatedAt.After(out[j].CreatedAt) })
	return out, nil
}

// MyReservation returns one reservation of a renter linked to the account,
// as its log says it is now; any other is not found.
func (r *Reservations) MyReservation(ctx context.Context, userID, id string) (Reservation, error) {
	x, err := r.current(ctx, id)
	if err != nil {
		return Reservation{}, err
	}
	if _, err := r.linked(ctx, userID, x.RenterID); err != nil || x.State == ResOpening {
		return Reservation{}, fmt.Errorf("rentals: reservation %s: %w", id, ErrNotFound)
	}
	return x, nil
}

// CancelMine cancels a reservation of one of the account's renters, until
// its slot (or delivery window) starts; the unit is available again at once
// and offered to the waitlist.
func (r *Reservations) CancelMine(ctx context.Context, userID, id string) (Reservation, error) {
	x, err := r.MyReservation(ctx, userID, id)
	if err != nil {
		return Reservation{}, err
	}
	if !r.now().Before(x.Start) && !x.Offer {
		return Reservation{}, fmt.Errorf("rentals: reservation %s has started: %w", id, valid.Because(ErrConflict, "reservation_started"))
	}
	by := tenancy.Actor{ID: userID, Role: "renter"}
	return r.close(ctx, x, ResCancelled, "family", by, "reservation.cancel")
}

// Reservation returns a reservation the scope's station covers.
func (r *Reservations) Reservation(ctx context.Context, scope tenancy.Scope, id string) (Reservation, error) {
	x, err := r.current(ctx, id)
	if err != nil {
		return Reservation{}, err
	}
	if x.State == ResOpening || !scope.Station(x.OperatorID, x.StationID) {
		return Reservation{}, fmt.Errorf("rentals: reservation %s: %w", id, ErrNotFound)
	}
	return x, nil
}

// ReservationByCode returns the reservation whose code a family shows at a
// desk the scope covers; another station's or operator's is not found.
func (r *Reservations) ReservationByCode(ctx context.Context, scope tenancy.Scope, stationID, code string) (Reservation, error) {
	code = NormalizeCode(code)
	if len(code) != codeLength {
		return Reservation{}, fmt.Errorf("rentals: code: %w", valid.Field("code", "length", fmt.Sprintf("must be %d letters and digits", codeLength), "min", codeLength, "max", codeLength))
	}
	id, err := r.store.byCode(ctx, code)
	if err != nil {
		return Reservation{}, err
	}
	x, err := r.Reservation(ctx, scope, id)
	if err != nil {
		return Reservation{}, err
	}
	if stationID != "" && x.StationID != stationID {
		return Reservation{}, fmt.Errorf("rentals: reservation %s: %w", id, ErrNotFound)
	}
	return x, nil
}

// CancelByStaff cancels a reservation at any time, with a reason; the unit
// is available again at once and offered to the waitlist.
func (r *Reservations) CancelByStaff(ctx context.Context, scope tenancy.Scope, id, reason string, by tenancy.Actor) (Reservation, error) {
	if err := scope.MayChange(tenancy.ChangeOther); err != nil {
		return Reservation{}, err
	}
	if err := checkReason(reason); err != nil {
		return Reservation{}, err
	}
	x, err := r.Reservation(ctx, scope, id)
	if err != nil {
		return Reservation{}, err
	}
	return r.close(ctx, x, ResCancelled, strings.TrimSpace(reason), by, "reservation.cancel")
}

// Pickups returns a station's open reservations (pickups and deliveries)
// whose slot or window is on day (city date), in time order: the desk's
// queue. A zero day is today.
func (r *Reservations) Pickups(ctx context.Context, scope tenancy.Scope, stationID string, day time.Time) ([]Reservation, error) {
	if _, err := r.s.deskStation(ctx, scope, stationID); err != nil {
		return nil, err
	}
	if day.IsZero() {
		day = r.now()
	}
	want := Date(day)
	open, err := r.store.openAt(ctx, stationID)
	if err != nil {
		return nil, err
	}
	out := []Reservation{}
	for _, o := range open {
		x, err := r.current(ctx, o.ID)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if (x.State == ResHeld || x.State == ResFulfilling) && Date(x.Start) == want {
			out = append(out, x)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Start.Before(out[j].Start) })
	return out, nil
}

// DeliveryRun is one window of a day's deliveries.
type DeliveryRun struct {
	Window stations.Window `json:"window"`
	Start  time.Time       `json:"start"`
	End    time.Time       `json:"end"`
	Stops  []Reservation   `json:"stops"`
}

// DeliveryRuns returns a station's deliveries on day by window, each
// window's stops by district: the printable run list.
func (r *Reservations) DeliveryRuns(ctx context.Context, scope tenancy.Scope, stationID string, day time.Time) ([]DeliveryRun, error) {
	all, err := r.Pickups(ctx, scope, stationID, day)
	if err != nil {
		return nil, err
	}
	if day.IsZero() {
		day = r.now()
	}
	out := []DeliveryRun{}
	for _, w := range stations.Windows {
		a, b := w.Bounds(day)
		run := DeliveryRun{Window: w, Start: a.UTC(), End: b.UTC(), Stops: []Reservation{}}
		for _, x := range all {
			if x.Mode == Delivery && x.Window == w {
				run.Stops = append(run.Stops, x)
			}
		}
		sort.SliceStable(run.Stops, func(i, j int) bool { return run.Stops[i].Ship.District < run.Stops[j].Ship.District })
		out = append(out, run)
	}
	return out, nil
}

// message enqueues a message about x to its renter (no phone: none).
func (r *Reservations) message(ctx context.Context, x Reservation, event string, kind messages.Kind, p messages.Params, sendAt, sendBy time.Time) {
	if r.msgs == nil {
		return
	}
	d, err := r.s.currentRenter(ctx, x.RenterID)
	if err != nil || !ValidMobile(d.Phone) {
		return
	}
	if prod, ok := r.s.products.Lookup(x.ProductID); ok {
		p.Product = messages.Text{Zh: prod.Name.Zh, En: prod.Name.En}
	}
	if st, ok := r.s.units.(interface {
		Index() *stations.Index
	}); ok {
		if s, ok := st.Index().Station(x.StationID); ok {
			p.Station = messages.Text(s.Name)
		}
	}
	_, err = r.msgs.Enqueue(ctx, messages.NewMessage{
		Event: "reservation/" + x.ID + "/" + event, Kind: kind,
		To:         messages.Recipient{Key: messages.RenterKey(x.RenterID), Phone: d.Phone, Lang: messages.Lang(x.Lang)},
		OperatorID: x.OperatorID, StationID: x.StationID, Params: p, SendAt: sendAt, SendBy: sendBy,
	})
	if err != nil {
		r.logger.Warn("enqueue reservation message", "reservation", x.ID, "event", event, "err", err)
	}
}

// msgLang is the messages' language for a page's language: "en" or
// Chinese (empty).
func msgLang(l string) string {
	if lang, ok := messages.ParseLang(l); ok && lang == messages.English {
		return string(messages.English)
	}
	return ""
}

// localDay returns the start of t's city day.
func localDay(t time.Time) time.Time {
	t = t.In(l10n.Local)
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, l10n.Local)
}
