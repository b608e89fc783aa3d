package reports

import (
	"context"
	"fmt"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"fuju/internal/l10n"
	"fuju/internal/tenancy"
	"fuju/rentals"
	"fuju/stations"
)

// demandCity is the city with the reservation service wired to the
// dashboards, and three units of wc-a at a1 (none at a2).
func demandCity(t *testing.T) (*city, *rentals.Reservations) {
	t.Helper()
	c := newCity(t)
	c.st.SetClock(func() time.Time { return c.clk.now().UTC() })
	ctx := context.Background()
	res := rentals.NewReservations(c.db, c.rent, c.st, nil)
	if err := res.Init(ctx); err != nil {
		t.Fatal(err)
	}
	c.svc.UseDemand(res)
	for i := 1; i <= 3; i++ {
		if _, err := c.st.CreateUnit(ctx, stations.Unit{Tag: fmt.Sprintf("JZ-RS-%04d", i), ProductID: "wc-a", StationID: c.a1.ID}, tenancy.System); err != nil {
			t.Fatal(err)
		}
	}
	return c, res
}

// family registers a standard renter at home linked to account user.
func (c *city) family(home stations.Station, user, name string) rentals.Renter {
	c.t.Helper()
	r := c.renter(home, name, rentals.Standard)
	if _, err := c.rent.LinkUser(context.Background(), r.ID, user, c.clerk); err != nil {
		c.t.Fatal(err)
	}
	return r
}

func at(day, hh, mm int) time.Time { return time.Date(2026, 10, day, hh, mm, 0, 0, l10n.Local) }

// demandHistory is October 2026 at operator A, by hand:
//
//	5th 10:00  three pickups at a1 for the 6th (R1 10:00, R2 10:30, R3 11:00),
//	           which hold a1's three units; W3 joins a1's queue, W1 a2's,
//	           W2 the queue of 山阳区 (a2's district; no unit there)
//	5th 16:00  the family cancels R2: its unit is offered to W3 (a wait of 6 h)
//	6th 10:00  the desk lends R1; 12:00 the desk lends W3's offer (served)
//	6th 14:00  R3's hold ran out (11:30 + 2 h grace): a no-show
//	7th 10:00  W2 leaves without an offer: unmet
//	19th 10:00 W1 has waited 14 days without an offer: unmet
func demandHistory(t *testing.T, c *city, res *rentals.Reservations) {
	t.Helper()
	ctx := context.Background()
	c.clk.set(at(5, 10, 0))
	p := []rentals.Renter{c.family(c.a1, "u-1", "张一"), c.family(c.a1, "u-2", "张二"), c.family(c.a1, "u-3", "张三"),
		c.family(c.a1, "u-4", "张四"), c.family(c.a1, "u-5", "张五"), c.family(c.a1, "u-6", "张六")}
	reserve := func(i int, slot time.Time) rentals.Reservation {
		x, err := res.Reserve(ctx, fmt.Sprintf("u-%d", i+1), rentals.ReserveRequest{RenterID: p[i].ID, ProductID: "wc-a", StationID: c.a1.ID,
			Mode: rentals.Pickup, Slot: slot})
		if err != nil {
			t.Fatalf("reserve %d: %v", i+1, err)
		}
		return x
	}
	join := func(i int, station, district string) rentals.WaitEntry {
		w, err := res.JoinWaitlist(ctx, fmt.Sprintf("u-%d", i+1), rentals.JoinRequest{RenterID: p[i].ID, ProductID: "wc-a", StationID: station, District: district})
		if err != nil {
			t.Fatalf("join %d: %v", i+1, err)
		}
		return w
	}
	r1, r2 := reserve(0, at(6, 10, 0)), reserve(1, at(6, 10, 30))
	reserve(2, at(6, 11, 0))
	w3 := join(5, c.a1.ID, "")
	join(3, c.a2.ID, "")
	w2 := join(4, "", "shanyang")

	c.clk.set(at(5, 16, 0))
	if _, err := res.CancelMine(ctx, "u-2", r2.ID); err != nil {
		t.Fatal(err)
	}
	fulfil := func(id string, due int64) {
		t.Helper()
		if _, _, err := res.Fulfil(ctx, c.adminA, id, rentals.FulfilRequest{Payments: cash(due), TermsVersion: "2026-01", AcceptedName: "张"}, c.clerk); err != nil {
			t.Fatalf("fulfil %s: %v", id, err)
		}
	}
	c.clk.set(at(6, 10, 0))
	fulfil(r1.ID, r1.Quote.DueNowFen)
	c.clk.set(at(6, 12, 0))
	mine, err := res.MyWaitlist(ctx, "u-6")
	if err != nil || len(mine) != 1 || mine[0].ID != w3.ID || mine[0].ReservationID == "" {
		t.Fatalf("W3 has no offer: %+v %v", mine, err)
	}
	offer, err := res.Reservation(ctx, c.adminA, mine[0].ReservationID)
	if err != nil {
		t.Fatal(err)
	}
	fulfil(offer.ID, offer.Quote.DueNowFen)
	c.clk.set(at(6, 14, 0))
	if n, err := res.ExpireHolds(ctx); err != nil || n != 1 {
		t.Fatalf("expired %d holds: %v", n, err)
	}
	c.clk.set(at(7, 10, 0))
	if _, err := res.LeaveWaitlist(ctx, "u-5", w2.ID); err != nil {
		t.Fatal(err)
	}
	c.clk.set(at(20, 12, 0))
}

// TestDemandFiguresOnHandBuiltHistory checks every demand figure of the
// history above, over the month and over its first ten days, for operator
// A, operator B (none of A's) and the city; then rolls the days up and
// checks that the stored days give the same dashboards as the logs, and
// that their sums equal the raw reservation and waitlist documents.
func TestDemandFiguresOnHandBuiltHistory(t *testing.T) {
	c, res := demandCity(t)
	demandHistory(t, c, res)
	ctx := context.Background()
	month := Range{Name: RangeCustom, From: "2026-10-01", To: "2026-10-20"}
	first := Range{Name: RangeCustom, From: "2026-10-01", To: "2026-10-10"}
	dash := func(scope tenancy.Scope, op string, rng Range) Dashboard {
		t.Helper()
		d, err := c.svc.Dashboard(ctx, scope, op, DashDemand, rng)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	type want struct {
		table, row, col string
		v               int64
	}
	check := func(d Dashboard, ws []want) {
		t.Helper()
		for _, w := range ws {
			if got := value(table(t, d, w.table), w.row, w.col); got != w.v {
				t.Errorf("%s %s–%s %s[%s].%s = %d, want %d", d.OperatorID, d.Range.From, d.Range.To, w.table, w.row, w.col, got, w.v)
			}
		}
	}
	opA := []want{
		{"reservations_station", "st-a1", "reservations", 3},
		{"reservations_station", "st-a1", "fulfilled", 1},
		{"reservations_station", "st-a1", "cancelled", 1},
		{"reservations_station", "st-a1", "no_shows", 1},
		{"reservations_station", "st-a1", "no_show_rate", 500},
		{"reservations_product", "wc-a", "reservations", 3},
		{"waitlist_station", "st-a1", "wait_joins", 1},
		{"waitlist_station", "st-a1", "wait_offers", 1},
		{"waitlist_station", "st-a1", "wait_served", 1},
		{"waitlist_station", "st-a1", "median_wait_days", 3}, // 6 hours = 0.25 day
		{"waitlist_station", "st-a2", "wait_joins", 1},
		{"waitlist_station", "st-a2", "waiting_end", 1},
		{"waitlist_district", "shanyang", "wait_joins", 2},
		{"waitlist_district", "shanyang", "wait_left", 1},
		{"waitlist_district", "shanyang", "waiting_end", 1},
		{"waitlist_district", "jiefang", "wait_served", 1},
		{"waitlist_product", "wc-a", "wait_joins", 3},
		{"waitlist_product", "wc-a", "waiting_end", 1},
		{"unmet_district", "shanyang", "unmet", 2},
		{"unmet_district", "shanyang", "wait_joins", 2},
		{"unmet_district", "jiefang", "unmet", 0},
	}
	check(dash(c.adminA, "op-a", month), opA)
	check(dash(c.adminA, "op-a", first), []want{
		{"unmet_district", "shanyang", "unmet", 1}, // W1's fourteen days are not over by the 10th
		{"unmet_district", "shanyang", "waiting_end", 1},
		{"reservations_station", "st-a1", "no_shows", 1},
	})
	check(dash(tenancy.PlatformScope, "", month), []want{
		{"reservations_operator", "op-a", "reservations", 3},
		{"reservations_district", "jiefang", "no_shows", 1},
		{"waitlist_operator", "op-a", "wait_joins", 3},
		{"unmet_district", "shanyang", "unmet", 2},
	})
	for _, tb := range dash(c.adminB, "op-b", month).Tables {
		if len(tb.Rows) != 0 {
			t.Errorf("operator B sees %s: %+v", tb.ID, tb.Rows)
		}
	}

	// Rolled up: the stored days give the same, and equal the raw logs.
	if _, err := c.svc.Roll(ctx); err != nil {
		t.Fatal(err)
	}
	check(dash(c.adminA, "op-a", month), opA)
	sameDashboards(t, c, []Range{month, first, {Name: RangeCustom, From: "2026-10-06", To: "2026-10-06"}})
	var sum demandCell
	for _, day := range daysFrom("2026-10-05", "2026-10-19") { // the first day with history to the last one over
		d, ok, err := c.svc.rolls.day(ctx, "op-a", day)
		if err != nil || !ok {
			t.Fatalf("day %s not rolled up: %v", day, err)
		}
		for _, x := range d.Demand {
			sum.Reserved += x.Reserved
			sum.Fulfilled += x.Fulfilled
			sum.NoShows += x.NoShows
			sum.Cancelled += x.Cancelled
			sum.Joins += x.Joins
			sum.Left += x.Left
		}
	}
	raw := rawDemand(t, c)
	if sum.Reserved != raw.Reserved || sum.Fulfilled != raw.Fulfilled || sum.NoShows != raw.NoShows || sum.Cancelled != raw.Cancelled ||
		sum.Joins != raw.Joins || sum.Left != raw.Left {
		t.Errorf("stored days %+v, raw logs %+v", sum, raw)
	}
	if raw.Reserved != 3 || raw.Joins != 3 {
		t.Errorf("raw logs %+v: the history did not happen", raw)
	}
}

// rawDemand counts family reservations and their outcomes, joins and
// leaves from the raw reservation_events and waitlist_events documents.
func rawDemand(t *testing.T, c *city) demandCell {
	t.Helper()
	ctx := context.Background()
	var out demandCell
	var res []struct {
		Entity string `bson:"entity"`
		E      struct {
			Kind string `bson:"kind"`
			Res  struct {
				Offer  bool   `bson:"offer"`
				State  string `bson:"state"`
				NoShow bool   `bson:"noshow"`
			} `bson:"res"`
		} `bson:"e"`
	}
	cur, err := c.db.Collection("reservation_events").Find(ctx, bson.D{})
	if err != nil {
		t.Fatal(err)
	}
	if err := cur.All(ctx, &res); err != nil {
		t.Fatal(err)
	}
	held := map[string]bool{}
	for _, r := range res {
		if r.E.Res.Offer {
			continue
		}
		switch {
		case r.E.Kind == "held" && !held[r.Entity]:
			held[r.Entity] = true
			out.Reserved++
		case r.E.Kind == "fulfilled":
			out.Fulfilled++
		case r.E.Kind == "closed" && r.E.Res.State == "cancelled":
			out.Cancelled++
		case r.E.Kind == "closed" && r.E.Res.NoShow:
			out.NoShows++
		}
	}
	var wait []struct {
		E struct {
			Kind string `bson:"kind"`
		} `bson:"e"`
	}
	cur, err = c.db.Collection("waitlist_events").Find(ctx, bson.D{})
	if err != nil {
		t.Fatal(err)
	}
	if err := cur.All(ctx, &wait); err != nil {
		t.Fatal(err)
	}
	for _, w := range wait {
		switch w.E.Kind {
		case "joined":
			out.Joins++
		case "left":
			out.Left++
		}
	}
	return out
}
