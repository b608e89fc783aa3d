package messages

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	"go.mongodb.org/mongo-driver/v2/mongo"

	"fuju/internal/eventlog"
	"fuju/internal/ids"
	"fuju/internal/valid"
)

// auditor records changes people make (a family turning reminders off); web's
// accounts service satisfies it through the wiring in cmd/internal/app.
type auditor interface {
	Audit(ctx context.Context, e AuditEntry) error
}

// scope is the caller's tenancy: which operators' stations they may see.
// tenancy.Scope satisfies it.
type scope interface {
	Station(operatorID, stationID string) bool
}

// Options tune the service; zero values take the defaults.
type Options struct {
	Logger *slog.Logger
	// Now is the clock for scheduling, quiet hours and backoff.
	Now func() time.Time
	// Retry is the backoff between failed sends (DefaultRetry).
	Retry Retry
	// ClaimTTL is how long a worker's claim on a message holds before another
	// worker may send it again: longer than any send takes (2 min).
	ClaimTTL time.Duration
	// Batch is how many due messages one pass of the job takes (100).
	Batch int
	// Workers is how many sends one instance runs at once (4).
	Workers int
	// Poll is how often the job looks for due messages (5 s). A local
	// Enqueue starts a pass at once, so this bounds only how late a
	// scheduled message, a retry or another instance's message may go.
	Poll time.Duration
}

// Service is the outbox: enqueue, the delivery job, inboxes, station logs and
// preferences.
type Service struct {
	store    *store
	log      *eventlog.Log[event]
	sender   Sender
	audit    auditor
	logger   *slog.Logger
	now      func() time.Time
	jitter   func() float64
	retry    Retry
	claimTTL time.Duration
	batch    int
	workers  int
	poll     time.Duration
	// worker names this instance in its claims.
	worker string
	// wake starts a delivery pass at once after a local enqueue.
	wake chan struct{}
	// heads remembers the last sequence number seen per list, so appending
	// usually costs one probe.
	headsMu sync.Mutex
	heads   map[string]int64
	// crash, when set by tests, is called at points of a flow; returning an
	// error abandons the flow there, as a crash would.
	crash func(point string) error
}

// NewService returns the outbox storing in d and sending through sender (the
// log sender when nil). audit may be nil (no audit log).
func NewService(d *mongo.Database, sender Sender, audit auditor, o Options) (*Service, error) {
	if err := checkTemplates(); err != nil {
		return nil, err
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if sender == nil {
		sender = NewLogSender(o.Logger)
	}
	if o.Now == nil {
		o.Now = func() time.Time { return time.Now().UTC() }
	}
	if o.Retry == (Retry{}) {
		o.Retry = DefaultRetry
	}
	if o.Retry.Attempts < 1 || o.Retry.Base <= 0 || o.Retry.Max < o.Retry.Base {
		return nil, errors.New("messages: retry needs at least 1 attempt and 0 < base ≤ max")
	}
	if o.ClaimTTL <= 0 {
		o.ClaimTTL = 2 * time.Minute
	}
	if o.Batch <= 0 {
		o.Batch = 100
	}
	if o.Workers <= 0 {
		o.Workers = 4
	}
	if o.Poll <= 0 {
		o.Poll = 5 * time.Second
	}
	return &Service{
		store: newStore(d), log: eventlog.New[event](d, "message"),
		sender: sender, audit: audit, logger: o.Logger, now: o.Now, jitter: rand.Float64,
		retry: o.Retry, claimTTL: o.ClaimTTL, batch: o.Batch, workers: o.Workers, poll: o.Poll,
		worker: ids.New("w"), wake: make(chan struct{}, 1), heads: map[string]int64{},
	}, nil
}

// Init creates the collections and indexes, so the embedded engine's _id
// index (db.Tune) covers them before the first message.
func (s *Service) Init(ctx context.Context) error {
	if err := s.log.Init(ctx); err != nil {
		return fmt.Errorf("messages: %w", err)
	}
	if err := s.store.init(ctx); err != nil {
		return fmt.Errorf("messages: %w", err)
	}
	return nil
}

func (s *Service) crashPoint(point string) error {
	if s.crash == nil {
		return nil
	}
	return s.crash(point)
}

// Enqueue writes a message to the outbox, rendered in the recipient's
// language, and returns it. It is idempotent: a message whose id (event and
// recipient) is already there is left as it is and returned, whatever the
// new call carried, so callers may enqueue again after a crash or on every
// pass of a job.
//
// The writes are: a pending marker, the archive document (the one insert
// that decides), the outbox entry, the inbox and station-log entries, and the
// marker's removal. A crash in between leaves the marker, and Reconcile
// finishes the work.
func (s *Service) Enqueue(ctx context.Context, in NewMessage) (Message, error) {
	if err := in.Validate(); err != nil {
		return Message{}, err
	}
	lang, _ := ParseLang(string(in.To.Lang))
	text, err := Render(in.Kind, lang, in.Params)
	if err != nil {
		return Message{}, err
	}
	now := s.now()
	m := msgDoc{
		ID: ID(in.Event, in.To.Key), Event: in.Event, Kind: in.Kind, Recipient: in.To.Key, Phone: in.To.Phone,
		Lang: lang, Text: text, OperatorID: in.OperatorID, StationID: in.StationID,
		CreatedAt: now, SendAt: in.SendAt, SendBy: in.SendBy,
	}
	if m.SendAt.Before(now) {
		m.SendAt = now
	}
	if m.SendBy.IsZero() && in.Kind == PhoneCode {
		m.SendBy = m.SendAt.Add(time.Duration(in.Params.Minutes) * time.Minute)
	}
	marker, err := s.log.Begin(ctx, m.ID)
	if err != nil {
		return Message{}, fmt.Errorf("messages: %w", err)
	}
	if err := s.store.insertMessage(ctx, m); errors.Is(err, ErrConflict) {
		_ = s.log.Done(ctx, marker)
		return s.Message(ctx, m.ID)
	} else if err != nil {
		return Message{}, err // the marker stays: the insert may have happened
	}
	if err := s.crashPoint("archived"); err != nil {
		return Message{}, err
	}
	if err := s.store.queue(ctx, m.due()); err != nil {
		return Message{}, err
	}
	if err := s.crashPoint("queued"); err != nil {
		return Message{}, err
	}
	for _, l := range lists(m) {
		if err := s.addToList(ctx, l, m.ID, now); err != nil {
			return Message{}, err
		}
	}
	if err := s.log.Done(ctx, marker); err != nil {
		s.logger.WarnContext(ctx, "messages: clear enqueue marker", "id", m.ID, "err", err)
	}
	select {
	case s.wake <- struct{}{}:
	default:
	}
	d := m.due()
	return m.view(&d, nil), nil
}

// Message returns one message as lists show it (number masked, no text for
// secret kinds).
func (s *Service) Message(ctx context.Context, id string) (Message, error) {
	m, ok, err := s.store.message(ctx, id)
	if err != nil {
		return Message{}, err
	}
	if !ok {
		return Message{}, fmt.Errorf("messages: message %s: %w", id, ErrNotFound)
	}
	return s.view(ctx, m)
}

// InboxMessage returns one message of the recipient with key, as their inbox
// shows it; ErrNotFound for anyone else's message and for phone codes.
func (s *Service) InboxMessage(ctx context.Context, key, id string) (Message, error) {
	if err := checkKey(key); err != nil {
		return Message{}, err
	}
	m, ok, err := s.store.message(ctx, id)
	if err != nil {
		return Message{}, err
	}
	if !ok || m.Recipient != key || m.Kind.Secret() {
		return Message{}, fmt.Errorf("messages: message %s: %w", id, ErrNotFound)
	}
	v, err := s.view(ctx, m)
	return familyView(v), err
}

// Step is one entry of a message's history: a send claimed, its outcome, or
// how the message ended without one.
type Step struct {
	At      time.Time `json:"at"`
	State   State     `json:"state"`
	Attempt int       `json:"attempt"`
	// Status is the gateway's HTTP status, when it answered with an error.
	Status int    `json:"status,omitempty"`
	Error  string `json:"error,omitempty"`
}

// StationMessage returns one message of a station's log and its history, for
// staff and admins whose scope covers the station; ErrNotFound otherwise, and
// for messages that belong to no station.
func (s *Service) StationMessage(ctx context.Context, who scope, id string) (Message, []Step, error) {
	m, ok, err := s.store.message(ctx, id)
	if err != nil {
		return Message{}, nil, err
	}
	if !ok || m.OperatorID == "" || who == nil || !who.Station(m.OperatorID, m.StationID) {
		return Message{}, nil, fmt.Errorf("messages: message %s: %w", id, ErrNotFound)
	}
	v, err := s.view(ctx, m)
	if err != nil {
		return Message{}, nil, err
	}
	head, err := s.log.Head(ctx, id, 0)
	if err != nil {
		return Message{}, nil, fmt.Errorf("messages: %w", err)
	}
	hist, err := s.log.History(ctx, id, head.Seq)
	if err != nil {
		return Message{}, nil, fmt.Errorf("messages: %w", err)
	}
	steps := make([]Step, len(hist))
	for i, e := range hist {
		steps[i] = Step{At: e.Event.At, State: e.Event.state(), Attempt: e.Event.Attempt, Status: e.Event.Status, Error: e.Event.Error}
	}
	return v, steps, nil
}

// view reads a message's state from its projections: how it ended, else its
// outbox entry; from its log only when a crash left neither.
func (s *Service) view(ctx context.Context, m msgDoc) (Message, error) {
	o, ok, err := s.store.outcome(ctx, m.ID)
	if err != nil {
		return Message{}, err
	}
	if ok {
		return m.view(nil, &o), nil
	}
	d, ok, err := s.store.dueOne(ctx, m.ID)
	if err != nil {
		return Message{}, err
	}
	if ok {
		return m.view(&d, nil), nil
	}
	head, err := s.log.Head(ctx, m.ID, 0)
	if err != nil {
		return Message{}, fmt.Errorf("messages: %w", err)
	}
	v := m.view(nil, nil)
	v.State, v.Attempts, v.Error = head.Event.state(), head.Event.Attempt, head.Event.Error
	if v.State.Final() {
		v.FinishedAt = head.Event.At
	} else {
		v.NextAttemptAt = sendTime(m.Kind, m.SendAt)
	}
	return v, nil
}

func (m msgDoc) view(d *dueDoc, o *outcomeDoc) Message {
	v := Message{
		ID: m.ID, Event: m.Event, Kind: m.Kind, Recipient: m.Recipient, Phone: MaskPhone(m.Phone), Lang: m.Lang,
		Text: m.Text, OperatorID: m.OperatorID, StationID: m.StationID, CreatedAt: m.CreatedAt, State: Queued,
	}
	if m.Kind.Secret() {
		v.Text = ""
	}
	switch {
	case o != nil:
		v.State, v.Attempts, v.Error, v.FinishedAt = o.State, o.Attempts, o.Error, o.At
	case d != nil:
		v.Attempts, v.Error, v.NextAttemptAt = d.Attempts, d.Error, d.Due
		if d.Attempts > 0 {
			v.State = Retrying
		}
	}
	return v
}

// Cancel withdraws a message that has not been sent (a reminder for a
// reservation that was cancelled). It is the service's own decision, made
// for the flow that enqueued the message, so it is recorded in the message's
// log rather than the audit log. ErrConflict when the message already ended
// or is being sent right now.
func (s *Service) Cancel(ctx context.Context, id string) (Message, error) {
	m, ok, err := s.store.message(ctx, id)
	if err != nil {
		return Message{}, err
	}
	if !ok {
		return Message{}, fmt.Errorf("messages: message %s: %w", id, ErrNotFound)
	}
	for range 10 {
		head, err := s.log.Head(ctx, id, 0)
		if err != nil {
			return Message{}, fmt.Errorf("messages: %w", err)
		}
		st := head.Event.state()
		if head.Seq > 0 && st.Final() {
			return Message{}, fmt.Errorf("messages: message %s is %s: %w", id, st, ErrConflict)
		}
		if head.Event.Type == evClaim && s.now().Before(head.Event.Until) {
			return Message{}, fmt.Errorf("messages: message %s is being sent: %w", id, ErrConflict)
		}
		ev := event{Type: evCancelled, Attempt: head.Event.Attempt}
		e, err := s.append(ctx, id, head.Seq+1, ev)
		if errors.Is(err, eventlog.ErrTaken) {
			continue
		}
		if err != nil {
			return Message{}, fmt.Errorf("messages: %w", err)
		}
		if err := s.project(ctx, id, e); err != nil {
			return Message{}, err
		}
		return s.view(ctx, m)
	}
	return Message{}, fmt.Errorf("messages: message %s keeps changing: %w", id, ErrConflict)
}

// Reconcile finishes enqueues a crash interrupted (markers older than age):
// it queues a message that never reached the outbox and lists it where it
// belongs. Every step is idempotent, so instances may run it together.
func (s *Service) Reconcile(ctx context.Context, age time.Duration) (int, error) {
	stale, err := s.log.Stale(ctx, age)
	if err != nil {
		return 0, fmt.Errorf("messages: %w", err)
	}
	fixed := 0
	for _, p := range stale {
		m, ok, err := s.store.message(ctx, p.Entity)
		if err != nil {
			return fixed, err
		}
		if ok {
			head, err := s.log.Head(ctx, m.ID, 0)
			if err != nil {
				return fixed, fmt.Errorf("messages: %w", err)
			}
			// No event yet: no worker ever saw it, so it may not be queued.
			if head.Seq == 0 {
				if err := s.store.queue(ctx, m.due()); err != nil {
					return fixed, err
				}
			}
			for _, l := range lists(m) {
				if err := s.addToList(ctx, l, m.ID, m.CreatedAt); err != nil {
					return fixed, err
				}
			}
			fixed++
		}
		if err := s.log.Done(ctx, p); err != nil {
			return fixed, fmt.Errorf("messages: %w", err)
		}
	}
	return fixed, nil
}

// Preferences are a recipient's choices about messages.
type Preferences struct {
	// Reminders is false when the person turned reminders off. Phone codes
	// and notices are sent regardless.
	Reminders bool `json:"reminders"`
	// Lang is the language the person last used with us; "" until they
	// used one (messages are then written in Chinese).
	Lang Lang `json:"lang,omitempty"`
}

// Preferences returns the choices of the recipient with key.
func (s *Service) Preferences(ctx context.Context, key string) (Preferences, error) {
	if err := checkKey(key); err != nil {
		return Preferences{}, err
	}
	p, _, err := s.store.pref(ctx, key)
	if err != nil {
		return Preferences{}, err
	}
	return Preferences{Reminders: !p.RemindersOff, Lang: p.Lang}, nil
}

// LangOf is the language of texts of the first of keys whose person chose
// or used one (a renter's own key, then the family's), else Chinese.
func (s *Service) LangOf(ctx context.Context, keys ...string) Lang {
	for _, k := range keys {
		if k == "" {
			continue
		}
		if p, err := s.Preferences(ctx, k); err == nil && p.Lang != "" {
			return p.Lang
		}
	}
	return Chinese
}

// SetLang remembers the language the person with key uses with us (the
// pages' language when they sign up, switch or act), so messages that
// are not an answer to something they did (reminders, a tier decision)
// are written in it. Storing the same language again writes nothing. A
// display choice, not a change to anyone's data: it is not audited.
func (s *Service) SetLang(ctx context.Context, key string, lang Lang) error {
	if err := checkKey(key); err != nil {
		return err
	}
	l, ok := ParseLang(string(lang))
	if !ok || lang == "" {
		return valid.Field("lang", "oneof", "must be zh-CN or en")
	}
	cur, _, err := s.store.pref(ctx, key)
	if err != nil || cur.Lang == l {
		return err
	}
	return s.store.setPref(ctx, key, "lang", l, s.now())
}

// SetReminders turns reminders on or off for the recipient with key; by is
// who did it (the person, or staff at a desk on their behalf), recorded in
// the audit log without any phone number. Phone codes and notices cannot be
// turned off. Reminders already queued follow the new choice.
func (s *Service) SetReminders(ctx context.Context, by Actor, key string, on bool) (Preferences, error) {
	if err := checkKey(key); err != nil {
		return Preferences{}, err
	}
	cur, _, err := s.store.pref(ctx, key)
	if err != nil {
		return Preferences{}, err
	}
	if cur.RemindersOff == !on {
		return Preferences{Reminders: on}, nil
	}
	if err := s.store.setPref(ctx, key, "reminders_off", !on, s.now()); err != nil {
		return Preferences{}, err
	}
	action := "messages.reminders_off"
	if on {
		action = "messages.reminders_on"
	}
	s.record(ctx, AuditEntry{Actor: by, Action: action, Target: "recipient/" + key, Fields: []string{"reminders"}})
	return Preferences{Reminders: on, Lang: cur.Lang}, nil
}

// record writes an audit entry; a failure is logged, the change stands.
func (s *Service) record(ctx context.Context, e AuditEntry) {
	if s.audit == nil {
		return
	}
	if err := s.audit.Audit(ctx, e); err != nil {
		s.logger.ErrorContext(ctx, "messages: audit log write failed", "action", e.Action, "target", e.Target, "err", err)
	}
}

func checkKey(key string) error {
	e := &valid.Error{}
	checkSegments(e, "recipient", key, 80)
	if e.Err() == nil && strings.Contains(key, "/") {
		e.Add("recipient", "record_id", "must be one segment, such as renter-r-9")
	}
	return e.Err()
}
