package reports

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/mongo"

	"fuju/catalog"
	"fuju/internal/audit"
	"fuju/internal/eventlog"
	"fuju/internal/l10n"
	"fuju/internal/tenancy"
	"fuju/internal/testenv"
	"fuju/rentals"
	"fuju/stations"
)

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }

// auditLog keeps the entries the service records.
type auditLog struct {
	mu      sync.Mutex
	entries []audit.Entry
}

func (a *auditLog) Record(_ context.Context, e audit.Entry) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.entries = append(a.entries, e)
	return nil
}

func (a *auditLog) actions() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []string
	for _, e := range a.entries {
		out = append(out, e.Action+" "+e.Target)
	}
	return out
}

// city is operator A (stations a1 in jiefang, a2 in shanyang) and B (b1),
// a wheelchair of each (¥5 a day, ¥90 for 30 days, ¥300 deposit), the
// default policy with an annual cap of ¥100, and the services as wired in
// production.
type city struct {
	t       testing.TB
	db      *mongo.Database
	st      *stations.Service
	rent    *rentals.Service
	svc     *Service
	clk     *clock
	audit   *auditLog
	subsidy *eventlog.Log[releaseEvent]
	a1, a2  stations.Station
	b1      stations.Station
	adminA  tenancy.Scope
	adminB  tenancy.Scope
	clerk   tenancy.Actor
	tagN    int
	phoneN  int
}

// releaseEvent writes a release into the subsidy logs as rentals does (the
// same stored fields), for the corrections a test cannot provoke through the
// desk: rentals releases a grant only when its checkout fails.
type releaseEvent struct {
	Kind          string       `bson:"kind"`
	LeaseID       string       `bson:"lease_id"`
	GrantSeq      int64        `bson:"grant_seq"`
	AmountFen     int64        `bson:"amount_fen"`
	TotalFen      int64        `bson:"total_fen"`
	Day           string       `bson:"day"`
	OperatorID    string       `bson:"operator_id"`
	StationID     string       `bson:"station_id"`
	Tier          rentals.Tier `bson:"tier"`
	PolicyVersion int          `bson:"policy_version"`
	Charge        string       `bson:"charge"`
	RenterID      string       `bson:"renter_id"`
	Days          int          `bson:"days"`
	StandardFen   int64        `bson:"standard_fen"`
	RenterFen     int64        `bson:"renter_fen"`
	ReleasedOn    string       `bson:"released_on"`
}

// October 2026, Monday the 5th, 10:00 in the city.
var october = time.Date(2026, 10, 5, 10, 0, 0, 0, l10n.Local)

func newCity(t testing.TB) *city {
	t.Helper()
	c := newCityOn(t, testenv.DB(t))
	// Its collections exist now: index them as the service indexes its
	// own engine's (testenv.Tune).
	testenv.Tune(t, c.db.Name())
	return c
}

// newCityOn is newCity on a database the caller opened (a benchmark's, with
// the embedded engine's _id indexes).
func newCityOn(t testing.TB, db *mongo.Database) *city {
	t.Helper()
	ctx := context.Background()
	c := &city{t: t, db: db, clk: &clock{t: october}, audit: &auditLog{}, clerk: tenancy.Actor{ID: "u-wang", Name: "Wang", Role: "operator_admin"}}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	c.st = stations.NewService(db, nil, nil, nil)
	must(c.st.Init(ctx))
	cat := catalog.NewService(db, c.st.Index(), nil, nil, nil)
	must(cat.Init(ctx))
	pol := rentals.NewPolicies(db, nil)
	pol.Now = c.clk.now
	must(pol.Init(ctx))
	p := rentals.DefaultPolicy()
	p.AnnualCapFen = 10000
	_, err := pol.Put(ctx, 1, p)
	must(err)
	c.rent, err = rentals.NewService(db, c.st, cat, pol, []byte("0123456789abcdef0123456789abcdef"), nil, nil)
	must(err)
	must(c.rent.Init(ctx))
	c.rent.SetClock(c.clk.now)
	c.svc = NewService(db, c.rent, c.st, c.audit)
	c.svc.SetClock(c.clk.now)
	must(c.svc.Init(ctx))
	c.subsidy = eventlog.New[releaseEvent](db, "subsidy")
	for _, op := range []string{"op-a", "op-b"} {
		_, err := c.st.CreateOperator(ctx, stations.Operator{ID: op, Name: l10n.Text{Zh: op, En: op}}, tenancy.System)
		must(err)
	}
	mk := func(id, op, district, zh string) stations.Station {
		s, err := c.st.CreateStation(ctx, stations.Station{ID: id, OperatorID: op, Name: l10n.Text{Zh: zh, En: id},
			Address: l10n.Text{Zh: "路", En: "Road"}, District: district, Lat: 35.24, Lng: 113.22,
			Hours: stations.StandardHours(), Active: true})
		must(err)
		return s
	}
	c.a1, c.a2, c.b1 = mk("st-a1", "op-a", "jiefang", "民主路站"), mk("st-a2", "op-a", "shanyang", "焦东路站"), mk("st-b1", "op-b", "jiefang", "乙站")
	c.adminA, c.adminB = tenancy.OperatorScope("op-a"), tenancy.OperatorScope("op-b")
	rate := catalog.RatePlan{DailyFen: 500, Block30Fen: 9000, DepositFen: 30000, ReplacementFen: 120000}
	for op, id := range map[string]string{"op-a": "wc-a", "op-b": "wc-b"} {
		_, err := cat.Create(ctx, tenancy.PlatformScope, catalog.Product{ID: id, OperatorID: op, Category: "manual_wheelchair",
			Name: catalog.Text{Zh: "轮椅", En: "Wheelchair"}, Rate: rate}, tenancy.System)
		must(err)
	}
	return c
}

// renter registers a renter at home with tier verified (standard: none).
func (c *city) renter(home stations.Station, name string, tier rentals.Tier) rentals.Renter {
	c.t.Helper()
	ctx := context.Background()
	c.phoneN++
	scope := tenancy.OperatorScope(home.OperatorID)
	r, err := c.rent.RegisterRenter(ctx, scope, rentals.Renter{Name: name, Phone: fmt.Sprintf("139%08d", c.phoneN),
		IDNumber: idNumber(c.phoneN), Address: "解放区民主路1号", Age: 78,
		EmergencyContact: rentals.Contact{Name: "女儿", Phone: "13700000000"}, HomeStationID: home.ID}, c.clerk)
	if err != nil {
		c.t.Fatal(err)
	}
	if tier != rentals.Standard {
		proof := rentals.ProofDibaoCard
		if tier == rentals.LowIncome {
			proof = rentals.ProofLowIncomeCertificate
		}
		if r, err = c.rent.VerifyTier(ctx, scope, r.ID, rentals.TierProof{Tier: tier, ProofType: proof, ProofNumber: "DB-001",
			ProofPhotoKey: "proofs/" + r.ID + "/card.jpg", ExpiresOn: "2027-12-31"}, c.clerk); err != nil {
			c.t.Fatal(err)
		}
	}
	return r
}

// idNumber returns the n-th of a series of valid resident ID numbers.
func idNumber(n int) string {
	weights := [17]int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}
	born := time.Date(1940, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, n)
	body := fmt.Sprintf("370102%s%03d", born.Format("20060102"), n%1000)
	sum := 0
	for i := range 17 {
		sum += int(body[i]-'0') * weights[i]
	}
	return body + string("10X98765432"[sum%11])
}

// checkout lends a new unit at st to r for days, paying what is due.
func (c *city) checkout(st stations.Station, r rentals.Renter, days int) rentals.Lease {
	c.t.Helper()
	ctx := context.Background()
	c.tagN++
	product := "wc-a"
	if st.OperatorID == "op-b" {
		product = "wc-b"
	}
	tag := fmt.Sprintf("JZ-WC-%04d", c.tagN)
	if _, err := c.st.CreateUnit(ctx, stations.Unit{Tag: tag, ProductID: product, StationID: st.ID}, tenancy.System); err != nil {
		c.t.Fatal(err)
	}
	scope := tenancy.OperatorScope(st.OperatorID)
	q, err := c.rent.QuoteFor(ctx, scope, rentals.QuoteRequest{RenterID: r.ID, ProductID: product, Days: days})
	if err != nil {
		c.t.Fatal(err)
	}
	l, err := c.rent.Checkout(ctx, scope, rentals.CheckoutRequest{UnitTag: tag, RenterID: r.ID, Days: days, Payments: cash(q.DueNowFen),
		TermsVersion: "2026-01", AcceptedName: r.Name, StationID: st.ID}, c.clerk)
	if err != nil {
		c.t.Fatal(err)
	}
	return l
}

func cash(fen int64) []rentals.Payment {
	if fen == 0 {
		return nil
	}
	return []rentals.Payment{{Method: rentals.PayCash, AmountFen: fen}}
}

// extend extends l by days today, paying what is due.
func (c *city) extend(l rentals.Lease, days int) rentals.Lease {
	c.t.Helper()
	ctx := context.Background()
	scope := tenancy.OperatorScope(l.OperatorID)
	q, err := c.rent.ExtensionQuote(ctx, scope, l.ID, days)
	if err != nil {
		c.t.Fatal(err)
	}
	out, err := c.rent.Extend(ctx, scope, l.ID, days, cash(q.DueNowFen), c.clerk)
	if err != nil {
		c.t.Fatal(err)
	}
	return out
}

// release undoes l's grant number i today, as a correction would.
func (c *city) release(l rentals.Lease, i int) {
	c.t.Helper()
	ctx := context.Background()
	g := l.Grants[i]
	grant, ok, err := c.subsidy.Get(ctx, g.Entity, g.Seq)
	if err != nil || !ok {
		c.t.Fatalf("grant %v: %v", g, err)
	}
	head := g.Seq
	var total int64 = grant.Event.TotalFen
	for {
		e, ok, err := c.subsidy.Get(ctx, g.Entity, head+1)
		if err != nil {
			c.t.Fatal(err)
		}
		if !ok {
			break
		}
		head, total = head+1, e.Event.TotalFen
	}
	ev := grant.Event
	ev.Kind, ev.GrantSeq, ev.AmountFen, ev.TotalFen = "release", g.Seq, -g.AmountFen, total-g.AmountFen
	ev.ReleasedOn = rentals.Date(c.clk.now())
	if _, err := c.subsidy.Append(ctx, g.Entity, head+1, ev); err != nil {
		c.t.Fatal(err)
	}
}
