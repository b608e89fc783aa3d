package payments

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"time"

	"go.mongodb.org/mongo-driver/v2/mongo"

	"fuju/internal/audit"
	"fuju/internal/db"
	"fuju/internal/eventlog"
	"fuju/internal/tenancy"
	"fuju/internal/valid"
)

// Ledger hears what Stripe did, so the lease ledger (rentals) records online
// payments, refunds and disputes as typed entries. Every call carries an
// Outcome whose Key the Ledger applies once: the same outcome may be
// delivered again after a crash or by the reconciler. A refund part may fail
// after it succeeded (RefundFailed after RefundedOnline), or fail without
// ever succeeding. Payments keeps its own state as the source of truth for
// what Stripe did; the Ledger is told, never asked.
type Ledger interface {
	PaidOnline(ctx context.Context, o Outcome) error
	RefundedOnline(ctx context.Context, o Outcome) error
	RefundFailed(ctx context.Context, o Outcome) error
	Disputed(ctx context.Context, o Outcome) error
}

// auditor records the changes people cause (the audit log; the accounts
// store satisfies it through the wiring).
type auditor interface {
	Record(ctx context.Context, e audit.Entry) error
}

// Config configures the service.
type Config struct {
	// SecretKey is the platform's Stripe secret key.
	SecretKey string
	// WebhookSecrets are the signing secrets of the webhook endpoints; an
	// event signed with any of them is accepted.
	WebhookSecrets []string
	// APIBase replaces https://api.stripe.com (stripe-mock in tests).
	APIBase string
	// FeeBP is the platform's application fee in basis points (0–5000).
	FeeBP int
	// WebhookTolerance is how old a webhook's signature may be; 0 means
	// five minutes (Stripe's default).
	WebhookTolerance time.Duration
	// SessionTTL is how long a Checkout Session stays payable (Stripe
	// allows 30 minutes to 24 hours); 0 means one hour.
	SessionTTL time.Duration
	// HTTPClient reaches Stripe; nil uses one with a 30 s timeout.
	HTTPClient *http.Client
}

// Service runs connected accounts, payments, refunds, webhooks and the
// reconciler.
type Service struct {
	cfg    Config
	gw     *gateway
	ledger Ledger
	audit  auditor
	logger *slog.Logger
	now    func() time.Time
	// crash, when set by tests, is called between the writes of a flow;
	// returning an error abandons the flow there, as a crash would.
	crash func(point string) error

	store    *store
	tabs     *eventlog.Log[tabEvent]
	accounts *eventlog.Log[accountEvent]
	hooks    *eventlog.Log[hookEvent]
}

// tabEvent is one event of a tab's log: the tab as it is after it.
type tabEvent struct {
	Kind string        `bson:"kind"`
	Ref  string        `bson:"ref,omitempty"`
	Tab  Tab           `bson:"tab"`
	By   tenancy.Actor `bson:"by"`
	Why  string        `bson:"why,omitempty"`
}

// accountEvent is one event of an account's log: the account after it.
type accountEvent struct {
	Kind    string        `bson:"kind"`
	Account Account       `bson:"account"`
	By      tenancy.Actor `bson:"by"`
	Why     string        `bson:"why,omitempty"`
}

// hookEvent is the claim of one Stripe event: which object it is about.
type hookEvent struct {
	ID         string    `bson:"id"`
	Type       string    `bson:"type"`
	ObjectID   string    `bson:"object_id"`
	ObjectType string    `bson:"object_type"`
	Account    string    `bson:"account,omitempty"`
	Created    time.Time `bson:"created"`
}

// NewService returns the payments service storing in d. ledger hears what
// Stripe did; audit records what people did.
func NewService(d *mongo.Database, cfg Config, ledger Ledger, audit auditor, logger *slog.Logger) (*Service, error) {
	switch {
	case cfg.SecretKey == "":
		return nil, errors.New("payments: no Stripe secret key")
	case len(cfg.WebhookSecrets) == 0:
		return nil, errors.New("payments: no webhook signing secret")
	case cfg.FeeBP < 0 || cfg.FeeBP > MaxFeeBP:
		return nil, fmt.Errorf("payments: application fee %d bp outside 0–%d", cfg.FeeBP, MaxFeeBP)
	case cfg.SessionTTL != 0 && (cfg.SessionTTL < 30*time.Minute || cfg.SessionTTL > 24*time.Hour):
		return nil, errors.New("payments: Checkout sessions live 30 minutes to 24 hours")
	case ledger == nil || audit == nil:
		return nil, errors.New("payments: a ledger and an auditor are needed")
	}
	if cfg.WebhookTolerance <= 0 {
		cfg.WebhookTolerance = 5 * time.Minute
	}
	if cfg.SessionTTL == 0 {
		cfg.SessionTTL = time.Hour
	}
	if logger == nil {
		logger = slog.Default()
	}
	return &Service{
		cfg: cfg, gw: newGateway(cfg.SecretKey, cfg.APIBase, cfg.HTTPClient), ledger: ledger, audit: audit, logger: logger,
		now:      func() time.Time { return time.Now().UTC() },
		store:    newStore(d),
		tabs:     eventlog.New[tabEvent](d, "payment"),
		accounts: eventlog.New[accountEvent](d, "payment_account"),
		hooks:    eventlog.New[hookEvent](d, "payment_webhook"),
	}, nil
}

// Init creates the collections, so the embedded engine's _id index (db.Tune)
// covers them before the first write.
func (s *Service) Init(ctx context.Context) error {
	for _, l := range []interface{ Init(context.Context) error }{s.tabs, s.accounts, s.hooks} {
		if err := l.Init(ctx); err != nil {
			return fmt.Errorf("payments: %w", err)
		}
	}
	if err := db.EnsureCollections(ctx, s.store.collections()...); err != nil {
		return fmt.Errorf("payments: %w", err)
	}
	return nil
}

func (s *Service) crashPoint(point string) error {
	if s.crash == nil {
		return nil
	}
	return s.crash(point)
}

// errUnchanged is what a decision returns when the head already says what
// it would write.
var errUnchanged = errors.New("payments: unchanged")

func tabOf(e eventlog.Entry[tabEvent]) Tab {
	t := e.Event.Tab
	t.Seq = e.Seq
	return t
}

// change appends the event decide makes from the tab's head and returns the
// tab before and after. decide runs again on a fresh head whenever another
// writer appended first, so it must be a pure function of the tab; it
// returns errUnchanged when nothing is to be written.
func (s *Service) change(ctx context.Context, leaseID string, decide func(cur Tab) (tabEvent, error)) (prev, next Tab, changed bool, err error) {
	known, err := s.store.tabSeq(ctx, leaseID)
	if err != nil {
		return Tab{}, Tab{}, false, err
	}
	for range 50 {
		head, err := s.tabs.Head(ctx, leaseID, known)
		if err != nil {
			return Tab{}, Tab{}, false, fmt.Errorf("payments: %w", err)
		}
		cur := tabOf(head)
		ev, err := decide(cur)
		if errors.Is(err, errUnchanged) {
			return cur, cur, false, nil
		}
		if err != nil {
			return cur, cur, false, err
		}
		ev.Tab.LeaseID = leaseID
		e, err := s.tabs.Append(ctx, leaseID, head.Seq+1, ev)
		if errors.Is(err, eventlog.ErrTaken) {
			known = head.Seq
			continue
		}
		if err != nil {
			return cur, cur, false, fmt.Errorf("payments: %w", err)
		}
		return cur, tabOf(e), true, nil
	}
	return Tab{}, Tab{}, false, fmt.Errorf("payments: lease %s is being changed by others; try again: %w", leaseID, ErrConflict)
}

// head returns the tab as its log says now.
func (s *Service) head(ctx context.Context, leaseID string) (Tab, error) {
	known, err := s.store.tabSeq(ctx, leaseID)
	if err != nil {
		return Tab{}, err
	}
	h, err := s.tabs.Head(ctx, leaseID, known)
	if err != nil {
		return Tab{}, fmt.Errorf("payments: %w", err)
	}
	return tabOf(h), nil
}

// finish writes the projections of next and tells the Ledger what changed
// since prev. With full, it rewrites every projection and delivers every
// outcome the tab holds (the reconciler, after a crash).
func (s *Service) finish(ctx context.Context, prev, next Tab, full bool) error {
	if next.Seq == 0 {
		return nil
	}
	if err := s.project(ctx, prev, next, full); err != nil {
		return err
	}
	if full {
		prev = Tab{}
	}
	return s.notify(ctx, prev, next)
}

// notify delivers the outcomes between prev and next to the Ledger.
func (s *Service) notify(ctx context.Context, prev, next Tab) error {
	for _, o := range outcomes(prev, next) {
		var err error
		switch o.kind {
		case outPaid:
			err = s.ledger.PaidOnline(ctx, o.Outcome)
		case outRefunded:
			err = s.ledger.RefundedOnline(ctx, o.Outcome)
		case outRefundFailed:
			err = s.ledger.RefundFailed(ctx, o.Outcome)
		case outDisputed:
			err = s.ledger.Disputed(ctx, o.Outcome)
		}
		if err != nil {
			return &undelivered{what: o.kind + " " + o.Key, err: err}
		}
	}
	return nil
}

// undelivered is an outcome the Ledger did not take. It deliberately hides
// the Ledger's error from errors.Is, so no caller mistakes it for one of
// this package's decisions; the flow's marker stays and the reconciler
// delivers the outcome again.
type undelivered struct {
	what string
	err  error
}

func (e *undelivered) Error() string {
	return fmt.Sprintf("payments: deliver %s to the ledger: %v", e.what, e.err)
}

// settled reports whether a flow that ended with err left nothing for the
// reconciler: it succeeded, or stopped at a decision (refused, conflicting,
// Stripe unreachable) after finishing every write it made. Anything else (a
// crash, a database failure, an outcome the Ledger did not take) keeps the
// flow's pending marker.
func settled(err error) bool {
	if err == nil {
		return true
	}
	for _, decided := range []error{ErrConflict, ErrNotFound, ErrRefundTooLarge, ErrPayAtStation, ErrStripeUnavailable, ErrStripeRefused, valid.ErrInvalid} {
		if errors.Is(err, decided) {
			return true
		}
	}
	return false
}

// project writes the projections of the tab next: the tab, its payments,
// the Stripe id index, the operator's queue and the open list. Like every
// projection here it only moves forward and re-reads the log afterwards, so
// whoever finishes last writes the latest state.
func (s *Service) project(ctx context.Context, prev, next Tab, full bool) error {
	for range 10 {
		if err := s.projectOnce(ctx, prev, next, full); err != nil {
			return err
		}
		h, err := s.tabs.Head(ctx, next.LeaseID, next.Seq)
		if err != nil {
			return fmt.Errorf("payments: %w", err)
		}
		if h.Seq == next.Seq {
			return nil
		}
		prev, next, full = Tab{}, tabOf(h), true
	}
	return nil
}

func (s *Service) projectOnce(ctx context.Context, prev, t Tab, full bool) error {
	id := t.LeaseID
	stored, err := s.store.tabSeq(ctx, id)
	if err != nil {
		return err
	}
	if stored >= t.Seq && !full {
		// A later event's writer projects; project re-reads the log and
		// writes that event in full if this one was the later.
		return nil
	}
	if err := put(ctx, s.store.tabs, id, tabDoc{ID: id, Seq: t.Seq, OperatorID: t.OperatorID, Tab: t}); err != nil {
		return err
	}
	for _, p := range t.Payments {
		if !full {
			if i := prev.payment(p.ID); i >= 0 && samePayment(prev.Payments[i], p) {
				continue
			}
		}
		if err := put(ctx, s.store.payments, p.ID, paymentDoc{ID: p.ID, Seq: t.Seq, LeaseID: p.LeaseID,
			OperatorID: p.OperatorID, CreatedAt: p.CreatedAt, Payment: public(p)}); err != nil {
			return err
		}
	}
	known := prev.stripeIDs()
	if full {
		known = nil
	}
	for _, sid := range t.stripeIDs() {
		if !slices.Contains(known, sid) {
			if err := insert(ctx, s.store.objects, objectDoc{ID: sid, Kind: "tab", LeaseID: id, OperatorID: t.OperatorID}); err != nil {
				return err
			}
		}
	}
	queued := map[string]QueueItem{}
	if !full {
		for _, q := range prev.queue() {
			queued[q.ID] = q
		}
	}
	for _, q := range t.queue() {
		if old, ok := queued[q.ID]; !ok || old != q {
			if err := put(ctx, s.store.queue, q.ID, toQueueDoc(q)); err != nil {
				return err
			}
		}
	}
	gone := prev.acknowledged()
	if full {
		gone = nil
	}
	for _, qid := range t.acknowledged() {
		if !slices.Contains(gone, qid) {
			if err := remove(ctx, s.store.queue, qid); err != nil {
				return err
			}
		}
	}
	since, waiting := t.unsettled()
	was, wasWaiting := prev.unsettled()
	switch {
	case waiting && (full || !wasWaiting || !since.Equal(was)):
		return s.store.listOpen(ctx, id, t.OperatorID, t.Seq, since)
	case !waiting && (full || wasWaiting):
		return remove(ctx, s.store.open, id)
	}
	return nil
}

// samePayment reports whether a payment's projection would not change.
func samePayment(a, b Payment) bool {
	return a.State == b.State && a.UpdatedAt.Equal(b.UpdatedAt) && len(a.Attempts) == len(b.Attempts) && a.Disputed == b.Disputed
}

// public is a payment as lists show it: without the secrets of its attempts.
func public(p Payment) Payment {
	p.Attempts = slices.Clone(p.Attempts)
	for i := range p.Attempts {
		p.Attempts[i].ClientSecret = ""
	}
	return p
}

// record writes an audit entry for a change a person caused: the actor's
// id and role, and fields that are ids, amounts and states, never names or
// phone numbers. A failure is logged (audit.Write); the change itself
// already happened.
func (s *Service) record(ctx context.Context, by tenancy.Actor, operatorID, action, target string, fields map[string]any) {
	changes := make([]audit.Change, 0, len(fields))
	for _, k := range slices.Sorted(maps.Keys(fields)) {
		changes = append(changes, audit.Change{Field: k, After: fields[k]})
	}
	audit.Write(ctx, s.audit, s.logger, audit.Entry{Actor: tenancy.AuditActor(by), OperatorID: operatorID, Action: action,
		Target: target, Changes: changes})
}

// done clears a pending marker; a failure only leaves work for the
// reconciler.
func done[E any](ctx context.Context, s *Service, l *eventlog.Log[E], p eventlog.Pending) {
	if err := l.Done(ctx, p); err != nil {
		s.logger.WarnContext(ctx, "payments: clear pending marker", "err", err)
	}
}
