package stations

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"go.mongodb.org/mongo-driver/v2/mongo"

	"fuju/internal/audit"
	"fuju/internal/eventlog"
	"fuju/internal/ids"
	"fuju/internal/tenancy"
	"fuju/internal/valid"
)

// UnitEvent is one entry of a unit's history. It carries the unit's state after
// the change, so the latest event alone says where the unit is.
type UnitEvent struct {
	Kind       string            `json:"kind" bson:"kind"` // created, moved, checkout, checkin, cleaned, …
	From       State             `json:"from" bson:"from"`
	To         State             `json:"to" bson:"to"`
	ProductID  string            `json:"product_id" bson:"product_id"`
	OperatorID string            `json:"operator_id" bson:"operator_id"`
	StationID  string            `json:"station_id" bson:"station_id"`
	ToStation  string            `json:"to_station,omitempty" bson:"to_station,omitempty"`
	LeaseID    string            `json:"lease_id,omitempty" bson:"lease_id,omitempty"`
	Condition  string            `json:"condition,omitempty" bson:"condition,omitempty"`
	AcquiredOn string            `json:"acquired_on,omitempty" bson:"acquired_on,omitempty"`
	By         tenancy.Actor     `json:"by" bson:"by"`
	Why        string            `json:"why,omitempty" bson:"why,omitempty"`
	Details    map[string]string `json:"details,omitempty" bson:"details,omitempty"`
}

// HistoryEntry is a unit event with its sequence number and time.
type HistoryEntry struct {
	Seq int64     `json:"seq"`
	At  time.Time `json:"at"`
	UnitEvent
}

// Publisher announces changed entities to every instance's read models.
type Publisher interface {
	Publish(ctx context.Context, kind, id string) error
}

// Service runs operators, stations and units.
type Service struct {
	store  *store
	log    *eventlog.Log[UnitEvent]
	feed   Publisher
	index  *Index
	logger *slog.Logger
	now    func() time.Time
	// auditLog records who changed what (nil records nothing).
	auditLog recorder
	// checklists answer which checks cleaning a product's units takes.
	checklists Checklists
	// ownBatches are the unit batches this instance created and already put
	// in its read model.
	ownBatches sync.Map
	// crash, when set by tests, is called between the writes of a transition;
	// returning an error abandons the transition there, as a crash would.
	crash func(point string) error
	// ProductsNamed lets imports name products as people do (set by the
	// wiring; nil accepts product ids only).
	ProductsNamed ProductNamer
}

// NewService returns a service storing in db, announcing changes on feed and
// recording who changed what through rec (nil: no audit log).
func NewService(db *mongo.Database, feed Publisher, rec recorder, logger *slog.Logger) *Service {
	if logger == nil {
		logger = slog.Default()
	}
	return &Service{
		store:    newStore(db),
		log:      eventlog.New[UnitEvent](db, "unit"),
		feed:     feed,
		index:    newIndex(),
		logger:   logger,
		now:      func() time.Time { return time.Now().UTC() },
		auditLog: rec,
	}
}

// SetClock replaces the clock, the units' event log's included (tests and
// the demo city's history).
func (s *Service) SetClock(now func() time.Time) {
	s.now = now
	s.log.SetClock(now)
}

// Init creates indexes and builds the in-process read model.
func (s *Service) Init(ctx context.Context) error {
	if err := s.store.ensureIndexes(ctx); err != nil {
		return err
	}
	if err := s.log.Init(ctx); err != nil {
		return err
	}
	return s.Rebuild(ctx)
}

// Index is the read model for public pages.
func (s *Service) Index() *Index { return s.index }

// Rebuild reloads the whole read model from the database.
func (s *Service) Rebuild(ctx context.Context) error {
	sts, err := s.store.listStations(ctx, "")
	if err != nil {
		return err
	}
	fresh := newIndex()
	if fresh.suspended, err = s.suspendedOperators(ctx); err != nil {
		return err
	}
	for _, st := range sts {
		fresh.setStation(st)
	}
	if err := s.store.eachUnit(ctx, fresh.setUnit); err != nil {
		return err
	}
	s.index.replace(fresh)
	return nil
}

// ApplyStation re-reads one station into the read model (a change feed handler).
func (s *Service) ApplyStation(ctx context.Context, id string) error {
	st, err := s.store.station(ctx, id)
	if errors.Is(err, ErrNotFound) {
		s.index.removeStation(id)
		return nil
	}
	if err != nil {
		return err
	}
	s.index.setStation(st)
	return nil
}

// ApplyUnitBatch reloads the read model after another instance imported many
// units (a change feed handler).
// This instance already applied its own batches while writing them, so it
// skips those.
func (s *Service) ApplyUnitBatch(ctx context.Context, batch string) error {
	if _, mine := s.ownBatches.LoadAndDelete(batch); mine {
		return nil
	}
	return s.Rebuild(ctx)
}

// ApplyUnit re-reads one unit into the read model (a change feed handler).
func (s *Service) ApplyUnit(ctx context.Context, tag string) error {
	u, err := s.store.unit(ctx, tag)
	if errors.Is(err, ErrNotFound) {
		s.index.removeUnit(tag)
		return nil
	}
	if err != nil {
		return err
	}
	s.index.setUnit(u)
	return nil
}

func (s *Service) publish(ctx context.Context, kind, id string) {
	if s.feed == nil {
		return
	}
	// The entity is written; failing to announce it only delays other
	// instances until their periodic rebuild, so it is logged, not returned.
	if err := s.feed.Publish(context.WithoutCancel(ctx), kind, id); err != nil {
		s.logger.Warn("publish change", "kind", kind, "id", id, "err", err)
	}
}

// CreateOperator adds an operator.
func (s *Service) CreateOperator(ctx context.Context, o Operator, by tenancy.Actor) (Operator, error) {
	if o.ID == "" {
		o.ID = ids.New("op")
	}
	if o.Status == "" {
		o.Status = OperatorActive
	}
	if err := o.Validate(); err != nil {
		return Operator{}, fmt.Errorf("stations: operator: %w", err)
	}
	if !ValidID(o.ID) {
		return Operator{}, fmt.Errorf("stations: operator id %q: %w", o.ID, valid.Because(ErrConflict, "id_taken"))
	}
	o.CreatedAt = s.now()
	if err := s.store.insertOperator(ctx, o); err != nil {
		return Operator{}, err
	}
	s.writeAudit(ctx, by, o.ID, "operator.create", "operator/"+o.ID, audit.Diff(nil, o, operatorNotes...))
	return o, nil
}

// Operator returns the operator with id.
func (s *Service) Operator(ctx context.Context, id string) (Operator, error) {
	return s.store.operator(ctx, id)
}

// Operators lists every operator.
func (s *Service) Operators(ctx context.Context) ([]Operator, error) {
	return s.store.listOperators(ctx)
}

// UpdateOperator replaces an operator's name and phone; its status changes
// only through SetOperatorStatus.
func (s *Service) UpdateOperator(ctx context.Context, o Operator, by tenancy.Actor) (Operator, error) {
	old, err := s.store.operator(ctx, o.ID)
	if err != nil {
		return Operator{}, err
	}
	o.Status, o.SuspendedReason, o.SuspendedAt = old.Status, old.SuspendedReason, old.SuspendedAt
	if o, err = s.replaceOperator(ctx, o); err != nil {
		return Operator{}, err
	}
	s.writeAudit(ctx, by, o.ID, "operator.update", "operator/"+o.ID, audit.Diff(old, o, operatorNotes...))
	return o, nil
}

// replaceOperator writes an operator's record as it is now.
func (s *Service) replaceOperator(ctx context.Context, o Operator) (Operator, error) {
	old, err := s.store.operator(ctx, o.ID)
	if err != nil {
		return Operator{}, err
	}
	if err := o.Validate(); err != nil {
		return Operator{}, fmt.Errorf("stations: operator: %w", err)
	}
	o.CreatedAt = old.CreatedAt
	if err := s.store.replaceOperator(ctx, o); err != nil {
		return Operator{}, err
	}
	return o, nil
}

// CreateStation adds a station to its operator.
func (s *Service) CreateStation(ctx context.Context, st Station) (Station, error) {
	readable := st.ID == ""
	if readable {
		st.ID = stationSlug(st)
	}
	if err := st.Validate(); err != nil {
		return Station{}, fmt.Errorf("stations: station: %w", err)
	}
	if _, err := s.store.operator(ctx, st.OperatorID); err != nil {
		return Station{}, err
	}
	st.CreatedAt = s.now()
	st.UpdatedAt = st.CreatedAt
	// The id is the station's short code, typed in CSV files: readable, and
	// numbered when taken (the unique _id decides, never a prior read).
	base := st.ID
	for n := 2; ; n++ {
		err := s.store.insertStation(ctx, st)
		if err == nil {
			break
		}
		if !readable || !errors.Is(err, ErrConflict) {
			return Station{}, err
		}
		st.ID = fmt.Sprintf("%s-%d", base, n)
		if n > 50 {
			st.ID = ids.New(base)
		}
	}
	s.index.setStation(st)
	s.publish(ctx, "station", st.ID)
	return st, nil
}

// stationSlug is a new station's readable id: its English name as a slug
// (Minzhu Road Community Station → minzhu-road-community-station), else its
// district (jiefang, jiefang-2, …).
func stationSlug(st Station) string {
	if s := ids.Slug(st.Name.En, 40); s != "" {
		return s
	}
	if s := ids.Slug(st.District, 40); s != "" {
		return s
	}
	return "station"
}

// UpdateStation replaces a station's details; its operator cannot change.
func (s *Service) UpdateStation(ctx context.Context, st Station) (Station, error) {
	old, err := s.store.station(ctx, st.ID)
	if err != nil {
		return Station{}, err
	}
	if old.OperatorID != st.OperatorID {
		return Station{}, fmt.Errorf("stations: station %s: %w", st.ID, ErrNotFound)
	}
	if err := st.Validate(); err != nil {
		return Station{}, fmt.Errorf("stations: station: %w", err)
	}
	st.CreatedAt = old.CreatedAt
	st.UpdatedAt = s.now()
	if err := s.store.replaceStation(ctx, st); err != nil {
		return Station{}, err
	}
	s.index.setStation(st)
	s.publish(ctx, "station", st.ID)
	return st, nil
}

// Station returns the station with id from the database.
func (s *Service) Station(ctx context.Context, id string) (Station, error) {
	return s.store.station(ctx, id)
}

// Stations lists stations, only operatorID's when it is not empty.
func (s *Service) Stations(ctx context.Context, operatorID string) ([]Station, error) {
	return s.store.listStations(ctx, operatorID)
}

// Unit returns the unit with tag, as its log's head says it is now (its Seq
// is that head's). A unit read here may be moved with MoveFrom.
func (s *Service) Unit(ctx context.Context, tag string) (Unit, error) {
	return s.current(ctx, tag)
}

// Units lists units matching f, page by page (skip, limit), with the total.
func (s *Service) Units(ctx context.Context, f UnitFilter, skip, limit int64) ([]Unit, int64, error) {
	return s.store.listUnits(ctx, f, skip, limit)
}

// History returns every recorded change of a unit, oldest first.
func (s *Service) History(ctx context.Context, tag string) ([]HistoryEntry, error) {
	u, err := s.Unit(ctx, tag)
	if err != nil {
		return nil, err
	}
	entries, err := s.log.History(ctx, tag, u.Seq)
	if err != nil {
		return nil, fmt.Errorf("stations: %w", err)
	}
	out := make([]HistoryEntry, len(entries))
	for i, e := range entries {
		out[i] = HistoryEntry{Seq: e.Seq, At: e.At, UnitEvent: e.Event}
	}
	return out, nil
}

// CreateUnit registers a new unit at a station. The projection is inserted
// first because its _id, the asset tag, is what makes tags unique city-wide;
// the creation event follows. A crash between the two leaves a pending marker
// the reconciler turns into the missing event.
func (s *Service) CreateUnit(ctx context.Context, u Unit, by tenancy.Actor) (Unit, error) {
	u.Tag = NormalizeTag(u.Tag)
	if u.State == "" {
		u.State = Available
	}
	if err := u.Validate(); err != nil {
		return Unit{}, fmt.Errorf("stations: unit: %w", err)
	}
	st, err := s.store.station(ctx, u.StationID)
	if err != nil {
		return Unit{}, err
	}
	if u.OperatorID == "" {
		u.OperatorID = st.OperatorID
	}
	if st.OperatorID != u.OperatorID {
		return Unit{}, fmt.Errorf("stations: station %s: %w", u.StationID, ErrNotFound)
	}
	u.Seq = 1
	u.CreatedAt = s.now()
	u.UpdatedAt = u.CreatedAt
	u.ToStation, u.LeaseID = "", ""
	p, err := s.log.Begin(ctx, u.Tag)
	if err != nil {
		return Unit{}, err
	}
	if err := s.store.insertUnit(ctx, u); err != nil {
		_ = s.log.Done(ctx, p)
		if errors.Is(err, ErrConflict) {
			return Unit{}, fmt.Errorf("stations: asset tag %s is already in use: %w", u.Tag, valid.Because(ErrConflict, "tag_taken", "tag", u.Tag))
		}
		return Unit{}, err
	}
	if err := s.crashPoint("unit-created:projection"); err != nil {
		return Unit{}, err
	}
	if _, err := s.log.Append(ctx, u.Tag, 1, creationEvent(u, by)); err != nil && !errors.Is(err, eventlog.ErrTaken) {
		return Unit{}, fmt.Errorf("stations: %w", err)
	}
	s.index.setUnit(u)
	s.publish(ctx, "unit", u.Tag)
	_ = s.log.Done(ctx, p)
	return u, nil
}

// CreateUnits registers many new units at once (bulk imports, seeding). It
// returns one error per unit: nil when created, ErrConflict (wrapped) when the
// tag is taken, a validation error, or ErrNotFound for an unknown station. The
// units are written with two bulk inserts under one pending marker, so a crash
// part-way leaves work the reconciler finishes.
func (s *Service) CreateUnits(ctx context.Context, units []Unit, by tenancy.Actor) ([]error, error) {
	errs := make([]error, len(units))
	stationsByID := map[string]Station{}
	var ok []int
	now := s.now()
	for i := range units {
		u := &units[i]
		u.Tag = NormalizeTag(u.Tag)
		if u.State == "" {
			u.State = Available
		}
		if err := u.Validate(); err != nil {
			errs[i] = fmt.Errorf("stations: unit: %w", err)
			continue
		}
		st, seen := stationsByID[u.StationID]
		if !seen {
			var err error
			if st, err = s.store.station(ctx, u.StationID); err != nil && !errors.Is(err, ErrNotFound) {
				return nil, err
			}
			stationsByID[u.StationID] = st
		}
		if u.OperatorID == "" {
			u.OperatorID = st.OperatorID
		}
		if st.ID == "" || st.OperatorID != u.OperatorID {
			errs[i] = fmt.Errorf("stations: station %s: %w", u.StationID, ErrNotFound)
			continue
		}
		u.Seq, u.CreatedAt, u.UpdatedAt, u.ToStation, u.LeaseID = 1, now, now, "", ""
		ok = append(ok, i)
	}
	if len(ok) == 0 {
		return errs, nil
	}
	tags := make([]string, len(ok))
	for j, i := range ok {
		tags[j] = units[i].Tag
	}
	p, err := s.log.BeginMany(ctx, ids.New("import"), tags)
	if err != nil {
		return nil, err
	}
	docs := make([]Unit, len(ok))
	for j, i := range ok {
		docs[j] = units[i]
	}
	insErrs, err := s.store.insertUnits(ctx, docs)
	if err != nil {
		return nil, err
	}
	var items []eventlog.Item[UnitEvent]
	var created []int
	for j, i := range ok {
		if insErrs[j] != nil {
			if errors.Is(insErrs[j], ErrConflict) {
				errs[i] = fmt.Errorf("stations: asset tag %s is already in use: %w", units[i].Tag, valid.Because(ErrConflict, "tag_taken", "tag", units[i].Tag))
			} else {
				errs[i] = insErrs[j]
			}
			continue
		}
		items = append(items, eventlog.Item[UnitEvent]{Entity: units[i].Tag, Seq: 1, Event: creationEvent(units[i], by)})
		created = append(created, i)
	}
	if err := s.crashPoint("units-created:projections"); err != nil {
		return nil, err
	}
	evErrs, err := s.log.AppendMany(ctx, items)
	if err != nil {
		return nil, fmt.Errorf("stations: %w", err)
	}
	for _, e := range evErrs {
		if e != nil && !errors.Is(e, eventlog.ErrTaken) {
			return nil, fmt.Errorf("stations: %w", e)
		}
	}
	for _, i := range created {
		s.index.setUnit(units[i])
	}
	if len(created) > 0 {
		s.ownBatches.Store(p.Entity, true)
		s.publish(ctx, "unit-batch", p.Entity)
	}
	_ = s.log.Done(ctx, p)
	return errs, nil
}

func creationEvent(u Unit, by tenancy.Actor) UnitEvent {
	return UnitEvent{
		Kind: "created", To: u.State, ProductID: u.ProductID, OperatorID: u.OperatorID,
		StationID: u.StationID, Condition: u.Condition, AcquiredOn: u.AcquiredOn, By: by,
		Why: "registered",
	}
}

func (s *Service) crashPoint(point string) error {
	if s.crash == nil {
		return nil
	}
	return s.crash(point)
}

// Move is a requested unit transition.
type Move struct {
	To   State
	Kind string // what happened, e.g. "checkout", "cleaned"; "moved" when empty
	Why  string
	By   tenancy.Actor
	// LeaseID is recorded on the unit (rented, reserved) or cleared (""), as
	// the target state implies.
	LeaseID string
	// StationID is where the unit is after the move; empty keeps it.
	StationID string
	// ToStation is the destination of a unit going in_transit.
	ToStation string
	// Condition replaces the unit's condition notes when not nil.
	Condition *string
	Details   map[string]string
	// Check, when set, vets the unit's true current state (the log's head)
	// before the move; its error is returned unchanged.
	Check func(Unit) error
}

// Move records one transition of the unit tag, checked against the true latest
// state from the unit's log. Two callers racing from the same state append the
// same event id; the loser gets ErrUnavailable and nothing is written for it.
func (s *Service) Move(ctx context.Context, tag string, m Move) (Unit, error) {
	cur, err := s.current(ctx, NormalizeTag(tag))
	if err != nil {
		return Unit{}, err
	}
	return s.MoveFrom(ctx, cur, m)
}

// MoveFrom is Move for a caller that has just read the unit (Unit): the
// move is checked against cur and appended as the event after cur.Seq, so it
// is recorded only if nothing happened to the unit since cur was read (else
// ErrUnavailable, and nothing is written). Reading the unit again first
// would decide nothing more: the event id is what makes a move exclusive.
func (s *Service) MoveFrom(ctx context.Context, cur Unit, m Move) (Unit, error) {
	tag := cur.Tag
	if !cur.State.CanMoveTo(m.To) {
		return Unit{}, fmt.Errorf("stations: unit %s is %s and cannot become %s: %w", tag, cur.State, m.To,
			valid.Because(ErrUnavailable, "unit_state", "tag", tag, "state", string(cur.State)))
	}
	if m.Check != nil {
		if err := m.Check(cur); err != nil {
			return Unit{}, err
		}
	}
	ev := UnitEvent{
		Kind: m.Kind, From: cur.State, To: m.To, ProductID: cur.ProductID, OperatorID: cur.OperatorID,
		StationID: cur.StationID, Condition: cur.Condition, AcquiredOn: cur.AcquiredOn,
		By: m.By, Why: m.Why, Details: m.Details,
	}
	if ev.Kind == "" {
		ev.Kind = "moved"
	}
	if m.StationID != "" {
		ev.StationID = m.StationID
	}
	if m.Condition != nil {
		ev.Condition = *m.Condition
	}
	switch m.To {
	case Rented, Reserved:
		ev.LeaseID = m.LeaseID
	case InTransit:
		ev.ToStation = m.ToStation
	}
	return s.record(ctx, tag, cur, ev, ErrUnavailable, "unit-moved:event")
}

// record appends ev as the unit's next event under a pending marker, then
// projects it. A writer that loses the append to another gets taken
// (ErrUnavailable for moves, ErrConflict for edits) and writes nothing else.
// crashAt is the test crash point between the event and the projection.
func (s *Service) record(ctx context.Context, tag string, cur Unit, ev UnitEvent, taken error, crashAt string) (Unit, error) {
	p, err := s.log.Begin(ctx, tag)
	if err != nil {
		return Unit{}, err
	}
	entry, err := s.log.Append(ctx, tag, cur.Seq+1, ev)
	if errors.Is(err, eventlog.ErrTaken) {
		_ = s.log.Done(ctx, p)
		return Unit{}, fmt.Errorf("stations: unit %s was changed by someone else just now: %w", tag,
			valid.Because(taken, "unit_changed", "tag", tag))
	}
	if err != nil {
		_ = s.log.Done(ctx, p)
		return Unit{}, fmt.Errorf("stations: %w", err)
	}
	after := applyEvent(cur, entry)
	if err := s.crashPoint(crashAt); err != nil {
		return Unit{}, err
	}
	if err := s.project(ctx, after); err != nil {
		// The event is the truth; the reconciler finishes the projection.
		s.logger.Warn("project unit", "tag", tag, "err", err)
		return after, nil
	}
	_ = s.log.Done(ctx, p)
	return after, nil
}

// current returns the unit as its log's head says, repairing a missing
// creation event on the way. A projection holds the whole state of the event
// it was written from, so past the first event only newer events are looked
// for (one lookup when it is current); at sequence 1 the creation event is
// read too, because a unit's projection is inserted before it.
func (s *Service) current(ctx context.Context, tag string) (Unit, error) {
	u, err := s.store.unit(ctx, tag)
	if err != nil {
		return Unit{}, err
	}
	if u.Seq > 1 {
		head, newer, err := s.log.After(ctx, tag, u.Seq)
		if err != nil {
			return Unit{}, fmt.Errorf("stations: %w", err)
		}
		if newer {
			u = applyEvent(u, head)
		}
		return u, nil
	}
	head, err := s.log.Head(ctx, tag, u.Seq)
	if err != nil {
		return Unit{}, fmt.Errorf("stations: %w", err)
	}
	if head.Seq == 0 {
		// The projection was inserted but its creation event was not.
		if _, err := s.log.Append(ctx, tag, 1, creationEvent(u, tenancy.System)); err != nil && !errors.Is(err, eventlog.ErrTaken) {
			return Unit{}, fmt.Errorf("stations: %w", err)
		}
		return s.current(ctx, tag)
	}
	return applyEvent(u, head), nil
}

func applyEvent(u Unit, e eventlog.Entry[UnitEvent]) Unit {
	ev := e.Event
	u.State = ev.To
	u.ProductID = ev.ProductID
	u.OperatorID = ev.OperatorID
	u.StationID = ev.StationID
	u.ToStation = ev.ToStation
	u.LeaseID = ev.LeaseID
	u.Condition = ev.Condition
	u.AcquiredOn = ev.AcquiredOn
	u.Seq = e.Seq
	u.UpdatedAt = e.At
	return u
}

// project writes the unit's projection and read model and announces it. u
// was read from the projection (its CreatedAt is kept) and brought to an
// event of the log. After writing, the log is probed for a newer event, so
// when two writers project different events of the same unit, whoever
// finishes last writes the latest one. (Reading the stored projection first
// to skip a write would not make the write conditional: another writer may
// write between the read and the write; the probe after writing is what
// brings the projection to the head.)
func (s *Service) project(ctx context.Context, u Unit) error {
	for range 10 {
		if err := s.store.replaceUnit(ctx, u); err != nil {
			return err
		}
		head, newer, err := s.log.After(ctx, u.Tag, u.Seq)
		if err != nil {
			return fmt.Errorf("stations: %w", err)
		}
		if !newer {
			break
		}
		u = applyEvent(u, head)
	}
	s.index.setUnit(u)
	s.publish(ctx, "unit", u.Tag)
	return nil
}

// Reconcile finishes unit transitions abandoned for longer than age (a crash
// between writes): it brings each such unit's projection to its log's head,
// writes a missing creation event, and clears the markers. It is safe to run on
// several instances at once: every step is idempotent.
func (s *Service) Reconcile(ctx context.Context, age time.Duration) (int, error) {
	stale, err := s.log.Stale(ctx, age)
	if err != nil {
		return 0, err
	}
	fixed := 0
	for _, p := range stale {
		tags := p.Entities
		if len(tags) == 0 {
			tags = []string{p.Entity}
		}
		for _, tag := range tags {
			u, err := s.current(ctx, tag)
			if errors.Is(err, ErrNotFound) {
				continue // never inserted: nothing to finish
			}
			if err != nil {
				return fixed, err
			}
			if err := s.project(ctx, u); err != nil {
				return fixed, err
			}
			fixed++
		}
		if err := s.log.Done(ctx, p); err != nil {
			return fixed, err
		}
	}
	return fixed, nil
}

// UnitsAt lists, from the projections, the units at a station and those in
// transit to it, for the desk's queues (cleaning, repair, arriving). It is one
// query; callers filter by state in memory.
func (s *Service) UnitsAt(ctx context.Context, stationID string) ([]Unit, error) {
	return s.store.unitsAt(ctx, stationID)
}
