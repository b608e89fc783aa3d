package rentals

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"fmt"
	"log/slog"
	"time"

	"go.mongodb.org/mongo-driver/v2/mongo"

	"fuju/catalog"
	"fuju/internal/db"
	"fuju/internal/eventlog"
	"fuju/stations"
)

// unitMover is what the desk needs from the stations package: units read and
// moved through their log (the unit's log is what makes a checkout exclusive),
// a unit's history (which lease lost it), stations for hours and tenancy, and
// the units at a station for the queues.
// *stations.Service satisfies it.
type unitMover interface {
	Unit(ctx context.Context, tag string) (stations.Unit, error)
	Move(ctx context.Context, tag string, m stations.Move) (stations.Unit, error)
	MoveFrom(ctx context.Context, cur stations.Unit, m stations.Move) (stations.Unit, error)
	History(ctx context.Context, tag string) ([]stations.HistoryEntry, error)
	Station(ctx context.Context, id string) (stations.Station, error)
	UnitsAt(ctx context.Context, stationID string) ([]stations.Unit, error)
}

// productSource looks products up for their rate plans; *catalog.Service
// satisfies it (from its in-process read model).
type productSource interface {
	Lookup(id string) (catalog.Product, bool)
}

// Service runs renters, tiers, leases and the ledger.
type Service struct {
	units    unitMover
	proofs   ProofStore
	products productSource
	policies *Policies
	seal     *sealer
	// searchSecret keys the hashes of renters' search keys; personSecret
	// those of person keys (person.go). Both are derived from the ID number
	// key, each for its purpose.
	searchSecret []byte
	personSecret []byte
	logger       *slog.Logger
	now          func() time.Time
	// auditLog records who changed what (nil records nothing).
	auditLog recorder
	// crash, when set by tests, is called between the writes of a flow;
	// returning an error abandons the flow there, as a crash would.
	crash func(point string) error

	renters  *renterStore
	leaseDB  *leaseStore
	reports  *reportStore
	renterLg *eventlog.Log[renterEvent]
	access   *eventlog.Log[Access]
	leaseLg  *eventlog.Log[leaseEvent]
	ledger   *eventlog.Log[LedgerEntry]
	subsidy  *eventlog.Log[subsidyEvent]
	// people holds each person's claim on one renter record (person.go).
	people *eventlog.Log[personEvent]
	// Families' accounts and the renters' lease index (family.go).
	accountLg     *eventlog.Log[accountRenterEvent]
	renterLeaseLg *eventlog.Log[renterLeaseEvent]
	migrations    *eventlog.Log[migrationEvent]
	waiverLg      *eventlog.Log[waiverEvent]
	// Online tier applications (tierapply.go).
	appLg      *eventlog.Log[appEvent]
	apps       *appStore
	tierNotify func(ctx context.Context, n TierNotice) error
	// depositRefunds sends deposits paid online back through Stripe.
	depositRefunds DepositRefunder
}

// NewService returns the rentals service storing in db. units is the
// stations service, products the catalog, idKey the 32-byte AES-256 key that
// seals renters' ID numbers (keep it outside the database), rec the audit log
// (nil: none).
func NewService(db *mongo.Database, units unitMover, products productSource, policies *Policies, idKey []byte, rec recorder, logger *slog.Logger) (*Service, error) {
	seal, err := newSealer(idKey)
	if err != nil {
		return nil, err
	}
	if logger == nil {
		logger = slog.Default()
	}
	return &Service{
		units:    units,
		products: products,
		policies: policies,
		seal:     seal,
		searchSecret: func() []byte {
			m := hmac.New(sha256.New, idKey)
			m.Write([]byte("fuju renter search keys v1"))
			return m.Sum(nil)
		}(),
		personSecret: personSecret(idKey),
		logger:       logger,
		now:          func() time.Time { return time.Now().UTC() },
		auditLog:     rec,
		renters:      newRenterStore(db),
		leaseDB:      newLeaseStore(db),
		reports:      newReportStore(db),
		renterLg:     eventlog.New[renterEvent](db, "renter"),
		access:       eventlog.New[Access](db, "renter_access"),
		leaseLg:      eventlog.New[leaseEvent](db, "lease"),
		ledger:       eventlog.New[LedgerEntry](db, "ledger"),
		subsidy:      eventlog.New[subsidyEvent](db, "subsidy"),
		people:       eventlog.New[personEvent](db, "person"),

		accountLg:     eventlog.New[accountRenterEvent](db, "account_renter"),
		renterLeaseLg: eventlog.New[renterLeaseEvent](db, "renter_lease"),
		migrations:    eventlog.New[migrationEvent](db, "rentals_migration"),
		waiverLg:      eventlog.New[waiverEvent](db, "waiver"),
		appLg:         eventlog.New[appEvent](db, "tier_application"),
		apps:          newAppStore(db),
	}, nil
}

// Init creates the collections, so the embedded engine's _id index (db.Tune)
// covers them before the first write.
func (s *Service) Init(ctx context.Context) error {
	for _, l := range []interface{ Init(context.Context) error }{s.renterLg, s.access, s.leaseLg, s.ledger, s.subsidy, s.people, s.accountLg, s.renterLeaseLg, s.migrations, s.waiverLg, s.appLg} {
		if err := l.Init(ctx); err != nil {
			return fmt.Errorf("rentals: %w", err)
		}
	}
	cols := append(append(append(s.renters.collections(), s.leaseDB.collections()...), s.reports.collections()...), s.apps.collections()...)
	if err := db.EnsureCollections(ctx, cols...); err != nil {
		return fmt.Errorf("rentals: %w", err)
	}
	if err := s.backfillLeaseIndex(ctx); err != nil {
		return err
	}
	return s.backfillPeople(ctx)
}

func (s *Service) crashPoint(point string) error {
	if s.crash == nil {
		return nil
	}
	return s.crash(point)
}

// lastEntry returns the latest event of an entity whose sequence numbers have
// no gaps, in O(log n) lookups by _id: it doubles the probe until a miss, then
// bisects. Logs that grow without a projection to remember their head (the
// access log, the yearly subsidy totals) use it instead of eventlog's linear
// Head.
func lastEntry[E any](ctx context.Context, l *eventlog.Log[E], entity string) (eventlog.Entry[E], error) {
	var last eventlog.Entry[E]
	lo, step, hi := int64(0), int64(1), int64(-1)
	for hi < 0 {
		e, ok, err := l.Get(ctx, entity, lo+step)
		if err != nil {
			return last, err
		}
		if ok {
			lo, last = lo+step, e
			step *= 2
		} else {
			hi = lo + step
		}
	}
	for hi-lo > 1 {
		mid := (lo + hi) / 2
		e, ok, err := l.Get(ctx, entity, mid)
		if err != nil {
			return last, err
		}
		if ok {
			lo, last = mid, e
		} else {
			hi = mid
		}
	}
	return last, nil
}

// SetClock replaces the service's clock. The demo city uses it, before the
// service serves anyone, to seed leases that began weeks ago.
func (s *Service) SetClock(now func() time.Time) { s.now = now }

// today returns the service's current time and its city date.
func (s *Service) today() (time.Time, string) {
	now := s.now()
	return now, Date(now)
}
