package rentals

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"fuju/catalog"
	"fuju/internal/l10n"
	"fuju/internal/tenancy"
	"fuju/internal/testenv"
	"fuju/stations"
)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

func (c *clock) addDays(n int) {
	c.mu.Lock()
	c.t = c.t.AddDate(0, 0, n)
	c.mu.Unlock()
}

// desk is a small city: operator A with stations a1 and a2, operator B with
// station b1, a wheelchair product of each (¥5 a day, ¥90 for 30 days, ¥300
// deposit, ¥1,200 to replace), and the services wired as in production.
type desk struct {
	t        *testing.T
	db       *mongo.Database
	st       *stations.Service
	cat      *catalog.Service
	pol      *Policies
	svc      *Service
	clk      *clock
	a1, a2   stations.Station
	b1       stations.Station
	staffA1  tenancy.Scope
	staffA2  tenancy.Scope
	adminA   tenancy.Scope
	staffB1  tenancy.Scope
	clerk    tenancy.Actor
	wcA, wcB string
	tagN     int
}

// start is Monday 2 March 2026, 10:00 in the city.
var start = time.Date(2026, 3, 2, 10, 0, 0, 0, l10n.Local)

var testKey = []byte("0123456789abcdef0123456789abcdef")

func newDesk(t *testing.T, policy *Policy) *desk {
	t.Helper()
	d := newDeskOn(t, testenv.DB(t), policy)
	// Its collections exist now: index them as the service indexes its
	// own engine's (testenv.Tune).
	testenv.Tune(t, d.db.Name())
	return d
}

// newDeskOn is newDesk on a database the test opened itself (to watch its
// commands, for instance).
func newDeskOn(t *testing.T, db *mongo.Database, policy *Policy) *desk {
	t.Helper()
	ctx := context.Background()
	st := stations.NewService(db, nil, nil, nil)
	if err := st.Init(ctx); err != nil {
		t.Fatal(err)
	}
	cat := catalog.NewService(db, st.Index(), nil, nil, nil)
	if err := cat.Init(ctx); err != nil {
		t.Fatal(err)
	}
	pol := NewPolicies(db, nil)
	if err := pol.Init(ctx); err != nil {
		t.Fatal(err)
	}
	if policy != nil {
		if _, err := pol.Put(ctx, 1, *policy); err != nil {
			t.Fatal(err)
		}
	}
	svc, err := NewService(db, st, cat, pol, testKey, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Init(ctx); err != nil {
		t.Fatal(err)
	}
	clk := &clock{t: start}
	svc.now = clk.now
	d := &desk{t: t, db: db, st: st, cat: cat, pol: pol, svc: svc, clk: clk,
		clerk: tenancy.Actor{ID: "u-li", Name: "Li", Role: "staff"}}
	for _, op := range []string{"op-a", "op-b"} {
		if _, err := st.CreateOperator(ctx, stations.Operator{ID: op, Name: l10n.Text{Zh: op, En: op}}, tenancy.System); err != nil {
			t.Fatal(err)
		}
	}
	mk := func(id, op string) stations.Station {
		s, err := st.CreateStation(ctx, stations.Station{ID: id, OperatorID: op, Name: l10n.Text{Zh: id, En: id},
			Address: l10n.Text{Zh: "路", En: "Road"}, District: "jiefang", Lat: 35.24, Lng: 113.22,
			Hours: stations.StandardHours(), Active: true})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	d.a1, d.a2, d.b1 = mk("st-a1", "op-a"), mk("st-a2", "op-a"), mk("st-b1", "op-b")
	d.staffA1 = tenancy.StaffScope("op-a", []string{"st-a1"})
	d.staffA2 = tenancy.StaffScope("op-a", []string{"st-a2"})
	d.adminA = tenancy.OperatorScope("op-a")
	d.staffB1 = tenancy.StaffScope("op-b", []string{"st-b1"})
	rate := catalog.RatePlan{DailyFen: 500, Block30Fen: 9000, DepositFen: 30000, ReplacementFen: 120000}
	for op, id := range map[string]string{"op-a": "wc-a", "op-b": "wc-b"} {
		_, err := cat.Create(ctx, tenancy.PlatformScope, catalog.Product{ID: id, OperatorID: op, Category: "manual_wheelchair",
			Name: catalog.Text{Zh: "轮椅", En: "Wheelchair"}, Rate: rate}, tenancy.System)
		if err != nil {
			t.Fatal(err)
		}
	}
	d.wcA, d.wcB = "wc-a", "wc-b"
	return d
}

// unit adds an available unit of product at station and returns its tag.
func (d *desk) unit(station stations.Station, product string) string {
	d.t.Helper()
	d.tagN++
	tag := fmt.Sprintf("JZ-WC-%04d", d.tagN)
	if _, err := d.st.CreateUnit(context.Background(), stations.Unit{Tag: tag, ProductID: product, StationID: station.ID}, tenancy.System); err != nil {
		d.t.Fatal(err)
	}
	return tag
}

// validIDs are resident ID numbers with correct check characters.
var validIDs = []string{"11010519491231002X", "110101195001010009", "410802194507150018", "410802193805200015"}

// testIDNumber returns the n-th of a series of valid resident ID numbers,
// none of them in validIDs: a person per renter the helpers register.
func testIDNumber(n int) string {
	born := time.Date(1940, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, n/1000)
	body := fmt.Sprintf("370102%s%03d", born.Format("20060102"), n%1000)
	sum := 0
	for i := range 17 {
		sum += int(body[i]-'0') * idWeights[i]
	}
	return body + string(idCheck[sum%11])
}

var phoneN = 0

func (d *desk) renter(scope tenancy.Scope, home stations.Station, name string) Renter {
	d.t.Helper()
	phoneN++
	r, err := d.svc.RegisterRenter(context.Background(), scope, Renter{
		Name: name, Phone: fmt.Sprintf("139%08d", phoneN), IDNumber: testIDNumber(phoneN),
		Address: "解放区民主路1号", Age: 78, MobilityNeeds: "walks with difficulty",
		EmergencyContact: Contact{Name: "女儿", Phone: "13700000000"}, HomeStationID: home.ID,
	}, d.clerk)
	if err != nil {
		d.t.Fatal(err)
	}
	return r
}

func (d *desk) verify(r Renter, tier Tier) {
	d.t.Helper()
	_, err := d.svc.VerifyTier(context.Background(), d.adminA, r.ID, TierProof{Tier: tier, ProofType: ProofDibaoCard,
		ProofNumber: "DB-001", ProofPhotoKey: "proofs/" + r.ID + "/card.jpg", ExpiresOn: "2027-12-31"}, d.clerk)
	if err != nil {
		d.t.Fatal(err)
	}
}

func cash(fen int64) []Payment {
	if fen == 0 {
		return nil
	}
	return []Payment{{Method: PayCash, AmountFen: fen}}
}

func (d *desk) checkout(scope tenancy.Scope, st stations.Station, tag string, r Renter, days int, pay []Payment) (Lease, error) {
	return d.svc.Checkout(context.Background(), scope, CheckoutRequest{UnitTag: tag, RenterID: r.ID, Days: days,
		Payments: pay, TermsVersion: "2026-01", AcceptedName: r.Name, StationID: st.ID}, d.clerk)
}

func (d *desk) mustCheckout(st stations.Station, tag string, r Renter, days int) Lease {
	d.t.Helper()
	q, err := d.svc.QuoteFor(context.Background(), d.adminA, QuoteRequest{RenterID: r.ID, ProductID: d.wcA, Days: days})
	if err != nil {
		d.t.Fatal(err)
	}
	l, err := d.checkout(d.adminA, st, tag, r, days, cash(q.DueNowFen))
	if err != nil {
		d.t.Fatal(err)
	}
	return l
}

func (d *desk) ledger(id string) Ledger {
	d.t.Helper()
	l, err := d.svc.Ledger(context.Background(), tenancy.PlatformScope, id)
	if err != nil {
		d.t.Fatal(err)
	}
	return l
}

func (d *desk) unitNow(tag string) stations.Unit {
	d.t.Helper()
	u, err := d.st.Unit(context.Background(), tag)
	if err != nil {
		d.t.Fatal(err)
	}
	return u
}

// entries renders a ledger as "kind amount" lines for comparisons.
func entries(l Ledger) []string {
	out := make([]string, len(l.Entries))
	for i, e := range l.Entries {
		out[i] = fmt.Sprintf("%s %d", e.Kind, e.AmountFen)
	}
	return out
}

func count(t *testing.T, c *mongo.Collection, filter bson.D) int64 {
	t.Helper()
	n, err := c.CountDocuments(context.Background(), filter)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// consistent checks one lease against everything that mirrors it: the unit,
// the ledger, the projections, the pending markers and the subsidy totals.
func (d *desk) consistent(id string) Lease {
	d.t.Helper()
	t := d.t
	ctx := context.Background()
	head, err := d.svc.leaseLg.Head(ctx, id, 0)
	if err != nil {
		t.Fatal(err)
	}
	if head.Seq == 0 {
		t.Fatalf("lease %s has no events", id)
	}
	l := leaseOf(head)
	if l.State == LeaseOpening {
		t.Fatalf("lease %s still opening", id)
	}
	// Ledger: every planned entry written once, none beyond the plan; a
	// checkout that never happened has none.
	if !l.Listed {
		if _, ok, _ := d.svc.ledger.Get(ctx, id, 1); ok {
			t.Fatalf("unlisted lease %s has ledger entries", id)
		}
	} else {
		var written []LedgerEntry
		for seq := int64(1); seq <= l.LedgerSeq; seq++ {
			e, ok, err := d.svc.ledger.Get(ctx, id, seq)
			if err != nil || !ok {
				t.Fatalf("lease %s ledger entry %d missing (%v)", id, seq, err)
			}
			written = append(written, e.Event)
		}
		if _, ok, _ := d.svc.ledger.Get(ctx, id, l.LedgerSeq+1); ok {
			t.Fatalf("lease %s has ledger entries beyond its plan", id)
		}
		if b := Balance(written); b != l.BalanceFen {
			t.Fatalf("lease %s ledger balance %d, lease says %d", id, b, l.BalanceFen)
		}
		if l.State == LeaseClosed && l.BalanceFen != 0 {
			t.Fatalf("lease %s closed with balance %d", id, l.BalanceFen)
		}
	}
	// Unit.
	if l.UnitTag != "" {
		u := d.unitNow(l.UnitTag)
		rentedToUs := u.State == stations.Rented && u.LeaseID == id
		if l.State.Out() != rentedToUs {
			t.Fatalf("lease %s is %s but unit %s is %s (lease %q)", id, l.State, u.Tag, u.State, u.LeaseID)
		}
	}
	// Projections.
	stored, ok, err := d.svc.leaseDB.lease(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if ok != l.Listed || ok && stored.Seq != head.Seq {
		t.Fatalf("lease %s projection: present %v seq %d; log: listed %v seq %d", id, ok, stored.Seq, l.Listed, head.Seq)
	}
	_, open, err := d.svc.leaseDB.openOne(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if open != (l.Listed && l.State.Open()) {
		t.Fatalf("lease %s (%s) in open_leases: %v", id, l.State, open)
	}
	if n := count(t, d.db.Collection("pending_transitions"), bson.D{{Key: "entity", Value: id}}); n != 0 {
		t.Fatalf("lease %s still has %d pending markers", id, n)
	}
	// Subsidy: the lease's grants count only while it is real.
	var net int64
	seen := map[string]bool{}
	for _, g := range l.Grants {
		if seen[g.Entity] {
			continue
		}
		seen[g.Entity] = true
		for seq := int64(1); ; seq++ {
			e, ok, _ := d.svc.subsidy.Get(ctx, g.Entity, seq)
			if !ok {
				break
			}
			if e.Event.LeaseID == id {
				net += e.Event.AmountFen
			}
		}
	}
	if l.State == LeaseCancelled && net != 0 {
		t.Fatalf("cancelled lease %s keeps %d fen of subsidy", id, net)
	}
	if l.Listed && net != l.SubsidyFen {
		t.Fatalf("lease %s subsidy %d, granted %d", id, l.SubsidyFen, net)
	}
	return l
}
