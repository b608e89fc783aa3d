package rentals

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// legacy turns a registered renter into a record from before person keys,
// with idNumber sealed in it: no person key in its record or its events,
// no claim.
func (d *desk) legacy(r Renter, idNumber string, was string) {
	d.t.Helper()
	ctx := context.Background()
	sealed := d.svc.seal.seal(r.ID, idNumber)
	if _, err := d.db.Collection("renters").UpdateOne(ctx, bson.D{{Key: "_id", Value: r.ID}}, bson.D{
		{Key: "$set", Value: bson.D{{Key: "id_sealed", Value: sealed}}}, {Key: "$unset", Value: bson.D{{Key: "person", Value: ""}}}}); err != nil {
		d.t.Fatal(err)
	}
	if _, err := d.db.Collection("renter_events").UpdateMany(ctx, bson.D{{Key: "entity", Value: r.ID}}, bson.D{
		{Key: "$set", Value: bson.D{{Key: "e.renter.id_sealed", Value: sealed}}}, {Key: "$unset", Value: bson.D{{Key: "e.renter.person", Value: ""}}}}); err != nil {
		d.t.Fatal(err)
	}
	if _, err := d.db.Collection("person_events").DeleteMany(ctx, bson.D{{Key: "entity", Value: d.svc.personKey(was)}}); err != nil {
		d.t.Fatal(err)
	}
	if got, _ := d.svc.renters.renter(ctx, r.ID); got.Person != "" {
		d.t.Fatalf("record %s still has its person key", r.ID)
	}
}

// legacyLog writes a per-record yearly subsidy log as it was before person
// keys: grants of amount for leases, and releases (amount 0 means: release
// the grant of that lease).
func (d *desk) legacyLog(entity string, moves ...any) {
	d.t.Helper()
	var total int64
	grants := map[string]int64{}
	seqOf := map[string]int64{}
	for i := 0; i < len(moves); i += 2 {
		lease, amount := moves[i].(string), int64(moves[i+1].(int))
		seq := int64(i/2 + 1)
		ev := subsidyEvent{Kind: subsidyGrant, LeaseID: lease, AmountFen: amount, Day: "2026-02-01", Tier: LowIncome, OperatorID: "op-a", StationID: d.a1.ID}
		if amount == 0 {
			ev.Kind, ev.GrantSeq, ev.AmountFen = subsidyRelease, seqOf[lease], -grants[lease]
		} else {
			grants[lease], seqOf[lease] = amount, seq
		}
		total += ev.AmountFen
		ev.TotalFen = total
		if _, err := d.svc.subsidy.Append(context.Background(), entity, seq, ev); err != nil {
			d.t.Fatal(err)
		}
	}
}

func (d *desk) used(r Renter) int64 {
	d.t.Helper()
	u, err := d.svc.SubsidyUsed(context.Background(), r.ID, 2026)
	if err != nil {
		d.t.Fatal(err)
	}
	return u
}

// rerunBackfill starts the service again as if the backfill had never
// finished.
func (d *desk) rerunBackfill() {
	d.t.Helper()
	ctx := context.Background()
	if _, err := d.db.Collection("rentals_migration_events").DeleteMany(ctx, bson.D{{Key: "entity", Value: peopleMigration}}); err != nil {
		d.t.Fatal(err)
	}
	for range 2 {
		if err := d.svc.Init(ctx); err != nil {
			d.t.Fatal(err)
		}
	}
}

// Records and totals from before person keys: two records of one person
// (two phone numbers) both stay, the claim names the earlier one, and their
// yearly totals are carried into the person's one total, so the cap holds
// across both. The backfill is idempotent, and a grant released after it
// (a check-out from before, cancelled by the reconciler) is released from
// the person's total once.
func TestBackfillPeople(t *testing.T) {
	ctx := context.Background()
	pol := DefaultPolicy()
	pol.AnnualCapFen = 10000
	d := newDesk(t, &pol)
	const id = "11010519491231002X"
	r1 := d.renter(d.staffA1, d.a1, "王秀英")
	d.clk.set(start.Add(time.Hour))
	r2 := d.renter(d.staffA2, d.a2, "王秀英")
	other := d.renter(d.staffA1, d.a1, "李敏")
	for _, r := range []Renter{r1, r2, other} {
		d.verify(r, LowIncome)
	}
	d.legacy(r1, id, testIDNumber(phoneN-2))
	d.legacy(r2, id, testIDNumber(phoneN-1))
	otherID := testIDNumber(phoneN)
	d.legacy(other, otherID, otherID)
	d.legacyLog(r1.ID+"-2026", "l-old1", 5000)
	d.legacyLog(r2.ID+"-2026", "l-old2", 3000, "l-old3", 1000, "l-old3", 0)
	d.legacyLog(r2.ID+"-2025", "l-old4", 7000)
	d.legacyLog(other.ID+"-2026", "l-old5", 2500)

	d.rerunBackfill()
	mig, ok, err := d.svc.migrations.Get(ctx, peopleMigration, 1)
	if err != nil || !ok || mig.Event.Renters != 3 || mig.Event.People != 2 || mig.Event.Carried != 3 ||
		len(mig.Event.Shared) != 1 || !slices.Equal(mig.Event.Shared[0].Renters, []string{r1.ID, r2.ID}) {
		t.Fatalf("migration record %+v %v", mig.Event, err)
	}
	d.rerunBackfill() // a second start after a lost marker changes nothing

	// One claim, on the earlier record.
	if head := d.personHead(id); head.Seq != 1 || head.Event.RenterID != r1.ID || head.Event.StationID != d.a1.ID {
		t.Fatalf("person claim %+v", head)
	}
	if head := d.personHead(otherID); head.Seq != 1 || head.Event.RenterID != other.ID {
		t.Fatalf("the other person's claim %+v", head)
	}
	_, err = d.svc.RegisterRenter(ctx, d.staffB1, Renter{Name: "王秀英", Phone: "13700001111", IDNumber: id, HomeStationID: d.b1.ID}, d.clerk)
	if !idRegistered(err, d.a1.ID) {
		t.Fatalf("registering the person a third time: %v", err)
	}
	// One total: 5000 + 3000 (1000 was released before), on both records;
	// 2025 carried on its own; the other person untouched by them.
	if u1, u2 := d.used(r1), d.used(r2); u1 != 8000 || u2 != 8000 {
		t.Fatalf("2026 totals: %d and %d, want one of 8000", u1, u2)
	}
	if u, _ := d.svc.SubsidyUsed(ctx, r1.ID, 2025); u != 7000 {
		t.Fatalf("2025 total %d", u)
	}
	if u := d.used(other); u != 2500 {
		t.Fatalf("the other person's total %d", u)
	}
	person := d.svc.personKey(id)
	hist, err := history(ctx, d.svc.subsidy, person+"-2026")
	if err != nil || len(hist) != 1 || hist[0].Event.Kind != subsidyCarried || hist[0].Event.TotalFen != 8000 || len(hist[0].Event.Carried) != 2 {
		t.Fatalf("the person's 2026 log %+v %v", hist, err)
	}
	if n := count(t, d.db.Collection("subsidy_events"), bson.D{{Key: "e.kind", Value: subsidyCarried}}); n != 3 {
		t.Fatalf("%d carried events, want 3", n)
	}

	// The cap holds across the records: 2000 left for either.
	q, err := d.svc.QuoteFor(ctx, d.staffA2, QuoteRequest{RenterID: r2.ID, ProductID: d.wcA, Days: 30})
	if err != nil || q.SubsidyFen != 2000 || q.CapRemainingFen != 2000 {
		t.Fatalf("quote for the second record %+v %v", q, err)
	}
	l := d.mustCheckout(d.a2, d.unit(d.a2, d.wcA), r2, 30)
	if l.SubsidyFen != 2000 || l.Grants[0].Entity != person+"-2026" {
		t.Fatalf("lease on the second record %+v", l)
	}
	if q, _ := d.svc.QuoteFor(ctx, d.staffA1, QuoteRequest{RenterID: r1.ID, ProductID: d.wcA, Days: 30}); q.SubsidyFen != 0 {
		t.Fatalf("the first record still gets %d of subsidy", q.SubsidyFen)
	}
	d.consistent(l.ID)

	// Releases of grants from before: one released before the backfill
	// was counted out already; one released after is released from the
	// person's total, once.
	if err := d.svc.releaseGrant(ctx, "l-old3", SubsidyGrant{Entity: r2.ID + "-2026", Seq: 2}); err != nil {
		t.Fatal(err)
	}
	if u := d.used(r1); u != 10000 {
		t.Fatalf("after releasing a grant released before: %d", u)
	}
	for range 2 {
		if err := d.svc.releaseGrant(ctx, "l-old1", SubsidyGrant{Entity: r1.ID + "-2026", Seq: 1}); err != nil {
			t.Fatal(err)
		}
	}
	if u1, u2 := d.used(r1), d.used(r2); u1 != 5000 || u2 != 5000 {
		t.Fatalf("after releasing l-old1: %d and %d, want 5000", u1, u2)
	}
	if old, _ := d.svc.SubsidyUsed(ctx, r2.ID, 2025); old != 7000 {
		t.Fatalf("2025 changed: %d", old)
	}
	// And the backfill run once more changes none of it.
	d.rerunBackfill()
	if u := d.used(r2); u != 5000 {
		t.Fatalf("after another backfill: %d", u)
	}
	if head := d.personHead(id); head.Seq != 1 {
		t.Fatalf("the claim was written again: %+v", head)
	}
}

// A backfill that stopped half-way (a crash after some claims and carries)
// finishes on the next start without writing anything twice.
func TestBackfillPeopleResumes(t *testing.T) {
	ctx := context.Background()
	d := newDesk(t, nil)
	var rs []Renter
	for i := range 3 {
		r := d.renter(d.staffA1, d.a1, fmt.Sprintf("续%d", i))
		d.legacy(r, testIDNumber(phoneN), testIDNumber(phoneN))
		d.legacyLog(r.ID+"-2026", "l-"+r.ID, 1000*(i+1))
		rs = append(rs, r)
	}
	if _, err := d.db.Collection("rentals_migration_events").DeleteMany(ctx, bson.D{{Key: "entity", Value: peopleMigration}}); err != nil {
		t.Fatal(err)
	}
	// The stopped run: the first person claimed and carried, no marker.
	first, _ := d.svc.renters.renter(ctx, rs[0].ID)
	if err := d.svc.keepPerson(ctx, first); err != nil {
		t.Fatal(err)
	}
	if _, err := d.svc.carry(ctx, d.svc.personOf(first), "2026", []string{rs[0].ID + "-2026"}); err != nil {
		t.Fatal(err)
	}
	d.rerunBackfill()
	for i, r := range rs {
		if u := d.used(r); u != int64(1000*(i+1)) {
			t.Errorf("renter %d: %d", i, u)
		}
		person, _ := d.svc.personOfRenter(ctx, r.ID)
		if n := count(t, d.db.Collection("subsidy_events"), bson.D{{Key: "entity", Value: person + "-2026"}}); n != 1 {
			t.Errorf("renter %d: %d carried events", i, n)
		}
		if n := count(t, d.db.Collection("person_events"), bson.D{{Key: "entity", Value: person}}); n != 1 {
			t.Errorf("renter %d: %d claims", i, n)
		}
	}
}
