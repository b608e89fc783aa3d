package rentals

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"fuju/internal/eventlog"
	"fuju/internal/tenancy"
	"fuju/internal/valid"
)

// A daughter's account looks after her father and her mother; each renter
// still has one account, and when two accounts race for a renter exactly one
// link counts.
func TestAccountLinksSeveralRenters(t *testing.T) {
	ctx := context.Background()
	d := newDesk(t, nil)
	father := d.renter(d.staffA1, d.a1, "王建国")
	mother := d.renter(d.staffA1, d.a1, "刘桂芝")
	d.verify(father, LowIncome)
	for _, r := range []Renter{father, mother} {
		if _, err := d.svc.LinkUser(ctx, r.ID, "u-fang", d.clerk); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := d.svc.LinkUser(ctx, father.ID, "u-other", d.clerk); !errors.Is(err, ErrConflict) {
		t.Fatalf("a renter linked to a second account: %v", err)
	}
	if err := d.svc.SetRelation(ctx, "u-fang", father.ID, RelationFather); err != nil {
		t.Fatal(err)
	}
	if err := d.svc.SetRelation(ctx, "u-fang", mother.ID, RelationMother); err != nil {
		t.Fatal(err)
	}
	if err := d.svc.SetRelation(ctx, "u-other", father.ID, RelationSelf); !errors.Is(err, ErrNotFound) {
		t.Errorf("naming someone else's renter: %v", err)
	}
	if err := d.svc.SetRelation(ctx, "u-fang", father.ID, "boss"); err == nil {
		t.Error("an unknown relation was accepted")
	} else if f, _ := valid.Fields(err); f["relation"].Code == "" {
		t.Errorf("unknown relation: %v", err)
	}
	linked, err := d.svc.LinkedRenters(ctx, "u-fang")
	if err != nil {
		t.Fatal(err)
	}
	if len(linked) != 2 {
		t.Fatalf("linked %+v", linked)
	}
	f, m := linked[0], linked[1]
	if f.ID != father.ID || f.MaskedName != "王**" || f.Relation != RelationFather || f.TierOn(start) != LowIncome ||
		f.TierStatus.ExpiresOn != "2027-12-31" || f.TierStatus.Proof != nil || f.HomeStationID != d.a1.ID {
		t.Errorf("father as the account sees him: %+v", f)
	}
	if m.ID != mother.ID || m.MaskedName != "刘**" || m.Relation != RelationMother || m.TierOn(start) != Standard {
		t.Errorf("mother as the account sees her: %+v", m)
	}
	if me, err := d.svc.RenterByUser(ctx, "u-fang"); err != nil || me.ID != father.ID {
		t.Errorf("first linked renter %v %v", me.ID, err)
	}

	// Two accounts race for one renter: one link, in one account only.
	uncle := d.renter(d.staffA1, d.a1, "张三")
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, u := range []string{"u-1", "u-2"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = d.svc.LinkUser(ctx, uncle.ID, u, d.clerk)
		}()
	}
	wg.Wait()
	won := 0
	for i, u := range []string{"u-1", "u-2"} {
		l, err := d.svc.LinkedRenters(ctx, u)
		if err != nil {
			t.Fatal(err)
		}
		if len(l) == 1 {
			won++
			if errs[i] != nil {
				t.Errorf("%s shows the renter but its link failed: %v", u, errs[i])
			}
		} else if !errors.Is(errs[i], ErrConflict) {
			t.Errorf("%s lost without a conflict: %v", u, errs[i])
		}
	}
	if won != 1 {
		t.Errorf("%d accounts show the raced renter", won)
	}
}

// closedLease writes a past lease of renter through the lease log and the
// projection, as a check-out and its check-in would leave it.
func (d *desk) closedLease(r Renter, n int, renterFen, subsidyFen int64) string {
	d.t.Helper()
	ctx := context.Background()
	l := pastLease(d, r, n, renterFen, subsidyFen)
	e, err := d.svc.leaseLg.Append(ctx, l.ID, 1, leaseEvent{Kind: kindClosed, From: LeaseReturned, Lease: l, By: d.clerk})
	if err != nil {
		d.t.Fatal(err)
	}
	if _, err := d.svc.project(ctx, l.ID, e, false, 0); err != nil {
		d.t.Fatal(err)
	}
	return l.ID
}

// oldLeases writes n past leases of renter straight into the leases
// projection and after the last entry of the renter's index, hundreds a
// second.
func (d *desk) oldLeases(r Renter, n int, renterFen, subsidyFen int64) {
	d.t.Helper()
	ctx := context.Background()
	last, err := lastEntry(ctx, d.svc.renterLeaseLg, r.ID)
	if err != nil {
		d.t.Fatal(err)
	}
	docs := make([]any, n)
	items := make([]eventlog.Item[renterLeaseEvent], n)
	for i := range n {
		l := pastLease(d, r, i, renterFen, subsidyFen)
		l.Seq = 1
		docs[i] = leaseDoc{ID: l.ID, Seq: 1, Lease: l}
		items[i] = eventlog.Item[renterLeaseEvent]{Entity: r.ID, Seq: last.Seq + int64(i+1), Event: renterLeaseEvent{LeaseID: l.ID}}
	}
	if _, err := d.svc.leaseDB.leases.InsertMany(ctx, docs); err != nil {
		d.t.Fatal(err)
	}
	if errs, err := d.svc.renterLeaseLg.AppendMany(ctx, items); err != nil || errors.Join(errs...) != nil {
		d.t.Fatal(err, errs)
	}
}

func pastLease(d *desk, r Renter, n int, renterFen, subsidyFen int64) Lease {
	startAt := start.AddDate(0, 0, -400+n)
	return Lease{ID: fmt.Sprintf("l-past-%s-%04d", r.ID, n), State: LeaseClosed, UnitTag: "JZ-WC-9999", ProductID: d.wcA, StationID: d.a1.ID, OperatorID: "op-a",
		RenterID: r.ID, RenterName: r.Name, Tier: LowIncome, Days: 7, StartedAt: startAt, StartOn: Date(startAt),
		DueOn: Date(startAt.AddDate(0, 0, 7)), RenterFen: renterFen, SubsidyFen: subsidyFen, StandardFen: renterFen + subsidyFen,
		Listed: true, EndReason: "returned", ClosedAt: startAt.AddDate(0, 0, 7)}
}

// The account page's query is bounded by the family's own keys: it reads the
// linked renters' lease indexes and those leases by _id, never a list of the
// city's leases, and its totals count every lease however many there are.
func TestAccountRentalsReadOnlyTheFamilysLeases(t *testing.T) {
	ctx := context.Background()
	d := newDesk(t, nil)
	father := d.renter(d.staffA1, d.a1, "王建国")
	mother := d.renter(d.staffA1, d.a1, "刘桂芝")
	stranger := d.renter(d.staffA1, d.a1, "赵六")
	d.verify(father, LowIncome)
	for _, r := range []Renter{father, mother} {
		if _, err := d.svc.LinkUser(ctx, r.ID, "u-fang", d.clerk); err != nil {
			t.Fatal(err)
		}
	}
	open := d.mustCheckout(d.a1, d.unit(d.a1, d.wcA), father, 30)
	strangers := d.mustCheckout(d.a1, d.unit(d.a1, d.wcA), stranger, 30)
	const past = 260 // more than any page or list cap in the service
	d.oldLeases(father, past, 100, 400)
	d.oldLeases(stranger, 30, 9999, 0)
	motherLease := d.closedLease(mother, 0, 1800, 7200)
	// A scan of the city's leases would trip over these; reads by _id never
	// meet them.
	for _, c := range []string{"leases", "open_leases"} {
		if _, err := d.db.Collection(c).InsertOne(ctx, bson.D{{Key: "_id", Value: "zz-not-a-lease"}, {Key: "lease", Value: 42}, {Key: "due_on", Value: 42}, {Key: "renter_id", Value: 42}}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := d.svc.OpenLeases(ctx, tenancy.PlatformScope, ""); err == nil {
		t.Fatal("the city-wide open lease list did not meet the planted document; the test proves nothing")
	}

	got, err := d.svc.AccountRentals(ctx, "u-fang")
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Current) != 1 || got.Current[0].ID != open.ID || len(got.Past) != past+1 {
		t.Fatalf("current %d (%v), past %d; want 1 and %d", len(got.Current), got.Current, len(got.Past), past+1)
	}
	for _, l := range append(got.Past, got.Current...) {
		if l.RenterID != father.ID && l.RenterID != mother.ID {
			t.Fatalf("lease %s of renter %s on the family's page", l.ID, l.RenterID)
		}
	}
	want := LeaseTotals{Leases: past + 2, Open: 1, RenterFen: open.RenterFen + past*100 + 1800, SubsidyFen: open.SubsidyFen + past*400 + 7200,
		DepositFen: open.DepositFen, OwedFen: 0}
	if got.Totals != want {
		t.Errorf("totals %+v, want %+v", got.Totals, want)
	}
	if got.Past[0].StartedAt.Before(got.Past[1].StartedAt) {
		t.Error("past leases are not newest first")
	}

	// The receipt: the family's own leases only.
	l, led, who, err := d.svc.AccountLease(ctx, "u-fang", open.ID)
	if err != nil || l.ID != open.ID || who.ID != father.ID || len(led.Entries) == 0 || led.BalanceFen != 0 {
		t.Errorf("receipt of the open lease: %v %+v %+v", err, l, led)
	}
	if _, _, _, err := d.svc.AccountLease(ctx, "u-fang", motherLease); err != nil {
		t.Errorf("receipt of the mother's lease: %v", err)
	}
	for _, id := range []string{strangers.ID, "l-nope"} {
		if _, _, _, err := d.svc.AccountLease(ctx, "u-fang", id); !errors.Is(err, ErrNotFound) {
			t.Errorf("receipt of %s: %v, want not found", id, err)
		}
	}
	if got, err := d.svc.AccountRentals(ctx, "u-nobody"); err != nil || len(got.Renters)+len(got.Current)+len(got.Past) != 0 {
		t.Errorf("an account with no renters: %+v %v", got, err)
	}
}

// Leases listed before the index existed are indexed once at start.
func TestLeaseIndexBackfill(t *testing.T) {
	ctx := context.Background()
	d := newDesk(t, nil)
	r := d.renter(d.staffA1, d.a1, "王建国")
	if _, err := d.svc.LinkUser(ctx, r.ID, "u-fang", d.clerk); err != nil {
		t.Fatal(err)
	}
	// An old lease: its projection without an index entry.
	old := Lease{ID: "l-old", State: LeaseClosed, RenterID: r.ID, OperatorID: "op-a", Listed: true, StartedAt: start.Add(-48 * time.Hour)}
	if err := d.svc.leaseDB.putLease(ctx, old); err != nil {
		t.Fatal(err)
	}
	if got, _ := d.svc.AccountRentals(ctx, "u-fang"); len(got.Past) != 0 {
		t.Fatalf("the old lease is indexed already: %+v", got.Past)
	}
	// Init on a database that was indexed does nothing; without the marker
	// it indexes the old lease, and again changes nothing.
	if _, err := d.db.Collection("rentals_migration_events").DeleteMany(ctx, bson.D{}); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := d.svc.Init(ctx); err != nil {
			t.Fatal(err)
		}
	}
	got, err := d.svc.AccountRentals(ctx, "u-fang")
	if err != nil || len(got.Past) != 1 || got.Past[0].ID != "l-old" {
		t.Fatalf("after the backfill: %+v %v", got.Past, err)
	}
	if n := count(t, d.db.Collection("renter_lease_events"), bson.D{}); n != 1 {
		t.Errorf("%d index entries, want 1", n)
	}
}
