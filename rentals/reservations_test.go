package rentals

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"fuju/internal/l10n"
	"fuju/internal/tenancy"
	"fuju/internal/valid"
	"fuju/messages"
	"fuju/stations"
)

// A family reserves a wheelchair for tomorrow 09:00; the desk finds it by
// its code, sees it in tomorrow's queue and checks it out at the quoted
// price; the unit is rented to the lease and the reservation is fulfilled.
func TestReserveAndFulfil(t *testing.T) {
	ctx := context.Background()
	b := newBooking(t)
	b.verify(b.father, LowIncome)
	tag := b.unit(b.a1, b.wcA)
	x := b.mustPickup("u-fang", b.father, b.slot(1, 9, 0))
	if x.State != ResHeld || x.UnitTag != tag || len(x.Code) != 8 || x.Quote.Tier != LowIncome || x.Quote.DepositFen != 0 {
		t.Fatalf("reservation %+v", x)
	}
	if want := b.slot(1, 11, 0); !x.HoldUntil.Equal(want.Add(30 * 60e9)) {
		// 09:00–09:30 + the default 2 h grace
		t.Errorf("hold until %v, want 11:30", x.HoldUntil)
	}
	if u := b.unitNow(tag); u.State != stations.Reserved || u.LeaseID != x.ID {
		t.Errorf("unit %+v", u)
	}
	if k := b.box.kinds(); k[messages.ReservationConfirmed] != 1 || k[messages.PickupReminder] != 0 {
		// Today 10:00 is past the reminder's time (the day before, 10:00).
		t.Errorf("messages %v", k)
	}
	mine, err := b.res.MyReservations(ctx, "u-fang")
	if err != nil || len(mine) != 1 || mine[0].ID != x.ID {
		t.Fatalf("mine %v %v", mine, err)
	}
	if _, err := b.res.MyReservation(ctx, "u-other", x.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("another account sees it: %v", err)
	}
	got, err := b.res.ReservationByCode(ctx, b.staffA1, b.a1.ID, x.Code)
	if err != nil || got.ID != x.ID {
		t.Fatalf("by code %v %v", got.ID, err)
	}
	if _, err := b.res.ReservationByCode(ctx, b.staffB1, b.b1.ID, x.Code); !errors.Is(err, ErrNotFound) {
		t.Errorf("operator B found A's reservation: %v", err)
	}
	if q, err := b.res.Pickups(ctx, b.staffA1, b.a1.ID, b.slot(1, 0, 0)); err != nil || len(q) != 1 {
		t.Errorf("tomorrow's pickups %v %v", q, err)
	}
	if q, _ := b.res.Pickups(ctx, b.staffA1, b.a1.ID, b.slot(0, 0, 0)); len(q) != 0 {
		t.Errorf("today's pickups %v", q)
	}
	b.clk.set(b.slot(1, 9, 10))
	done, l, err := b.res.Fulfil(ctx, b.staffA1, x.ID, fulfilReq(x), staffActor)
	if err != nil {
		t.Fatal(err)
	}
	if done.State != ResFulfilled || done.LeaseID != l.ID || l.State != LeaseActive || l.RenterID != b.father.ID || l.Tier != LowIncome || l.UnitTag != tag {
		t.Fatalf("fulfilled %+v lease %+v", done, l)
	}
	if u := b.unitNow(tag); u.State != stations.Rented || u.LeaseID != l.ID {
		t.Errorf("unit after fulfil %+v", u)
	}
	if _, _, err := b.res.Fulfil(ctx, b.staffA1, x.ID, fulfilReq(x), staffActor); !errors.Is(err, ErrConflict) {
		t.Errorf("fulfilled twice: %v", err)
	}
	if r, ok := valid.ReasonOf(func() error { _, err := b.pickup("u-fang", b.father, b.wcA, b.a1, b.slot(1, 10, 0)); return err }()); !ok || r.Code != "no_unit_waitlist" {
		t.Errorf("no unit left: %+v", r)
	}
}

// 100 families reserve the last wheelchair at once: exactly one hold, 99
// answers "none free, join the waitlist", and the unit is reserved once.
func TestReserveLastUnitRace(t *testing.T) {
	ctx := context.Background()
	b := newBooking(t)
	if _, err := b.st.SetSlotSettings(ctx, b.adminA, b.a1.ID, stations.SlotSettings{Capacity: 50, GraceMinutes: 120}, staffActor); err != nil {
		t.Fatal(err)
	}
	tag := b.unit(b.a1, b.wcA)
	const n = 100
	type fam struct {
		user string
		r    Renter
	}
	fams := make([]fam, n)
	for i := range fams {
		u := fmt.Sprintf("u-%03d", i)
		fams[i] = fam{u, b.family(u, fmt.Sprintf("家属%d", i))}
	}
	var wg sync.WaitGroup
	errs := make([]error, n)
	held := make([]Reservation, n)
	for i, f := range fams {
		wg.Add(1)
		go func() {
			defer wg.Done()
			held[i], errs[i] = b.pickup(f.user, f.r, b.wcA, b.a1, b.slot(1, 9, 0))
		}()
	}
	wg.Wait()
	won, waitlist := 0, 0
	var winner Reservation
	for i, err := range errs {
		switch r, _ := valid.ReasonOf(err); {
		case err == nil:
			won++
			winner = held[i]
		case errors.Is(err, ErrNoUnit) && r != nil && r.Code == "no_unit_waitlist" && r.Params["product_id"] == b.wcA && r.Params["station_id"] == b.a1.ID:
			waitlist++
		default:
			t.Errorf("family %d: %v", i, err)
		}
	}
	if won != 1 || waitlist != n-1 {
		t.Fatalf("%d holds, %d offered the waitlist", won, waitlist)
	}
	if u := b.unitNow(tag); u.State != stations.Reserved || u.LeaseID != winner.ID {
		t.Errorf("unit %+v, winner %s", u, winner.ID)
	}
	hist, err := b.st.History(ctx, tag)
	if err != nil {
		t.Fatal(err)
	}
	reserved := 0
	for _, h := range hist {
		if h.To == stations.Reserved {
			reserved++
		}
	}
	if reserved != 1 {
		t.Errorf("the unit was reserved %d times", reserved)
	}
	b.agree(winner.ID)
	if open, _ := b.res.store.allOpen(ctx); len(open) != 1 {
		t.Errorf("%d open reservations", len(open))
	}
}

// A hold that expires while the desk fulfils it ends in exactly one
// outcome: fulfilled with a lease and the unit rented, or expired with the
// unit free and the desk told 409.
func TestFulfilExpiryRace(t *testing.T) {
	ctx := context.Background()
	b := newBooking(t)
	outcomes := map[ReservationState]int{}
	for i := range 6 {
		b.clk.set(start)
		b.unit(b.a1, b.wcA)
		r := b.family(fmt.Sprintf("u-race-%d", i), fmt.Sprintf("赵%d", i))
		x, err := b.pickup(fmt.Sprintf("u-race-%d", i), r, b.wcA, b.a1, b.slot(1, 9, 0))
		if err != nil {
			t.Fatal(err)
		}
		b.clk.set(x.HoldUntil.Add(time.Minute))
		var wg sync.WaitGroup
		var ferr, eerr error
		var expired int
		wg.Add(2)
		go func() { defer wg.Done(); _, _, ferr = b.res.Fulfil(ctx, b.staffA1, x.ID, fulfilReq(x), staffActor) }()
		go func() { defer wg.Done(); expired, eerr = b.res.ExpireHolds(ctx) }()
		wg.Wait()
		if eerr != nil {
			t.Fatal(eerr)
		}
		got := b.agree(x.ID)
		outcomes[got.State]++
		switch got.State {
		case ResFulfilled:
			if ferr != nil || expired != 0 {
				t.Errorf("fulfilled, but fulfil said %v and expiry expired %d", ferr, expired)
			}
			if l, err := b.svc.Lease(ctx, b.staffA1, got.LeaseID); err != nil || l.State != LeaseActive {
				t.Errorf("lease %+v %v", l.State, err)
			}
		case ResExpired:
			if !errors.Is(ferr, ErrConflict) || expired != 1 || !got.NoShow {
				t.Errorf("expired, but fulfil said %v, expiry expired %d, no-show %v", ferr, expired, got.NoShow)
			}
			if u := b.unitNow(x.UnitTag); u.State != stations.Available {
				t.Errorf("expired hold left unit %s", u.State)
			}
		default:
			t.Errorf("outcome %s", got.State)
		}
	}
	t.Logf("outcomes %v", outcomes)
}

// The family cancels until the slot starts, staff any time with a reason;
// the unit is free at once. A hold past its slot and grace expires, counts a
// no-show, and three no-shows in 90 days block online reservations until
// staff lift the block.
func TestCancelExpireAndNoShows(t *testing.T) {
	ctx := context.Background()
	b := newBooking(t)
	tag := b.unit(b.a1, b.wcA)
	x := b.mustPickup("u-fang", b.father, b.slot(1, 9, 0))
	if _, err := b.res.CancelMine(ctx, "u-other", x.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("another account cancelled: %v", err)
	}
	got, err := b.res.CancelMine(ctx, "u-fang", x.ID)
	if err != nil || got.State != ResCancelled || got.Reason != "family" {
		t.Fatalf("cancel %+v %v", got, err)
	}
	if u := b.unitNow(tag); u.State != stations.Available {
		t.Errorf("unit after cancel %s", u.State)
	}
	if _, err := b.res.CancelMine(ctx, "u-fang", x.ID); !errors.Is(err, ErrConflict) {
		t.Errorf("cancelled twice: %v", err)
	}
	// After the slot has started the family cannot cancel; staff can.
	x = b.mustPickup("u-fang", b.father, b.slot(1, 9, 0))
	b.clk.set(b.slot(1, 9, 5))
	if r, _ := valid.ReasonOf(func() error { _, err := b.res.CancelMine(ctx, "u-fang", x.ID); return err }()); r == nil || r.Code != "reservation_started" {
		t.Errorf("late family cancel: %+v", r)
	}
	if _, err := b.res.CancelByStaff(ctx, b.staffA1, x.ID, "", staffActor); err == nil {
		t.Error("staff cancel without a reason")
	}
	if _, err := b.res.CancelByStaff(ctx, b.staffB1, x.ID, "家属来电取消", staffActor); !errors.Is(err, ErrNotFound) {
		t.Errorf("operator B cancelled A's reservation: %v", err)
	}
	if got, err := b.res.CancelByStaff(ctx, b.staffA1, x.ID, "家属来电取消", staffActor); err != nil || got.Reason != "家属来电取消" {
		t.Fatalf("staff cancel %+v %v", got, err)
	}
	// Three holds not collected: each expires at slot end + 2 h.
	for i := range DefaultReservationRules().NoShows {
		b.clk.set(start.AddDate(0, 0, 7*i))
		x := b.mustPickup("u-fang", b.father, b.slot(1, 9, 0))
		b.clk.set(x.HoldUntil.Add(-time.Minute))
		if n, err := b.res.ExpireHolds(ctx); err != nil || n != 0 {
			t.Fatalf("expired before its time: %d %v", n, err)
		}
		b.clk.set(x.HoldUntil)
		if n, err := b.res.ExpireHolds(ctx); err != nil || n != 1 {
			t.Fatalf("expire: %d %v", n, err)
		}
		if got := b.agree(x.ID); got.State != ResExpired || !got.NoShow {
			t.Fatalf("after expiry %+v", got)
		}
		if u := b.unitNow(tag); u.State != stations.Available {
			t.Errorf("unit after expiry %s", u.State)
		}
	}
	_, err = b.pickup("u-fang", b.father, b.wcA, b.a1, b.slot(1, 10, 0))
	if r, _ := valid.ReasonOf(err); !errors.Is(err, ErrBlocked) || r.Code != "reserve_no_shows" {
		t.Fatalf("after three no-shows: %v", err)
	}
	if until, err := b.res.NoShowBlock(ctx, b.staffA1, b.father.ID); err != nil || until.IsZero() {
		t.Errorf("block %v %v", until, err)
	}
	if err := b.res.LiftNoShowBlock(ctx, b.staffB1, b.father.ID, "核实", staffActor); !errors.Is(err, ErrNotFound) {
		t.Errorf("operator B lifted A's renter's block: %v", err)
	}
	if err := b.res.LiftNoShowBlock(ctx, b.staffA1, b.father.ID, "家属说明情况", staffActor); err != nil {
		t.Fatal(err)
	}
	if _, err := b.pickup("u-fang", b.father, b.wcA, b.a1, b.slot(1, 10, 0)); err != nil {
		t.Errorf("after the block was lifted: %v", err)
	}
	// 30 days after the third no-show the block would have ended anyway.
}

// The renter's standing: an overdue lease, an unpaid balance and more than
// three open reservations each block with their own reason.
func TestReserveRules(t *testing.T) {
	ctx := context.Background()
	b := newBooking(t)
	for range 5 {
		b.unit(b.a1, b.wcA)
	}
	for i := range DefaultReservationRules().MaxOpen {
		b.mustPickup("u-fang", b.father, b.slot(1, 9+i, 0))
	}
	_, err := b.pickup("u-fang", b.father, b.wcA, b.a1, b.slot(1, 13, 0))
	if r, _ := valid.ReasonOf(err); !errors.Is(err, ErrBlocked) || r.Code != "reserve_limit" {
		t.Errorf("a fourth open reservation: %v", err)
	}
	// The city lowers the limit to 1 and blocks after 2 no-shows in 30
	// days, for 10: the policy in force decides, not a constant.
	b.pol.Now = b.clk.now
	next := b.pol.Current()
	next.Note, next.EffectiveFrom = "one online reservation at a time", time.Time{}
	next.Reservations = ReservationRules{MaxOpen: 1, NoShows: 2, NoShowDays: 30, BlockDays: 10}
	if _, err := b.pol.Put(ctx, next.Version, next); err != nil {
		t.Fatal(err)
	}
	son := b.family("u-son", "王小军")
	b.mustPickup("u-son", son, b.slot(2, 9, 0))
	_, err = b.pickup("u-son", son, b.wcA, b.a1, b.slot(2, 10, 0))
	if r, _ := valid.ReasonOf(err); !errors.Is(err, ErrBlocked) || r.Code != "reserve_limit" || r.Params["max"] != 1 {
		t.Errorf("a second open reservation under a limit of 1: %v", err)
	}
	bad := next
	bad.Reservations = ReservationRules{MaxOpen: 0, NoShows: 2, NoShowDays: 400, BlockDays: 10}
	if _, err := b.pol.Put(ctx, next.Version+1, bad); err == nil {
		t.Error("a policy allowing 0 open reservations and a 400-day window was saved")
	} else if f, _ := valid.Fields(err); f["reservations.max_open"].Code != "range" || f["reservations.no_show_days"].Code != "range" {
		t.Errorf("bad limits: %v", err)
	}
	// A renter with an overdue lease.
	mother := b.family("u-fang", "刘桂芝")
	l := b.mustCheckout(b.a1, b.unit(b.a1, b.wcA), mother, 3)
	b.clk.set(start.AddDate(0, 0, 5))
	if _, err := b.svc.MarkOverdue(ctx, b.clk.now()); err != nil {
		t.Fatal(err)
	}
	_, err = b.pickup("u-fang", mother, b.wcA, b.a1, b.slot(1, 9, 0))
	if r, _ := valid.ReasonOf(err); !errors.Is(err, ErrBlocked) || r.Code != "reserve_overdue" {
		t.Errorf("with lease %s overdue: %v", l.ID, err)
	}
	// Not linked to the account.
	_, err = b.pickup("u-other", mother, b.wcA, b.a1, b.slot(1, 9, 0))
	if f, _ := valid.Fields(err); f["renter_id"].Code != "not_linked" {
		t.Errorf("someone else's renter: %v", err)
	}
}

// Slots follow the station's hours, closed days, the clock and capacity;
// each bad slot or delivery names its field and writes nothing.
func TestSlotsAndBadInput(t *testing.T) {
	ctx := context.Background()
	b := newBooking(t)
	b.unit(b.a1, b.wcA)
	b.unit(b.a1, b.wcA)
	// Monday 10:00: today from 10:30 (08:30–17:30), Saturday 09:00–12:00,
	// no Sunday; up to next Monday 10:00.
	slots, err := b.res.Slots(ctx, b.a1.ID)
	if err != nil {
		t.Fatal(err)
	}
	if first := slots[0].Start.In(l10n.Local); first.Format("01-02 15:04") != "03-02 10:30" {
		t.Errorf("first slot %v", first)
	}
	perDay := map[string]int{}
	for _, s := range slots {
		perDay[s.Start.In(l10n.Local).Format("Mon")]++
	}
	// Monday: 10:30–17:00 today (14) and next Monday 08:30–10:00, up to
	// exactly 7 days ahead (4).
	if perDay["Sun"] != 0 || perDay["Sat"] != 6 || perDay["Tue"] != 18 || perDay["Mon"] != 18 {
		t.Errorf("slots per day %v", perDay)
	}
	// Capacity 1: a booked slot disappears.
	if _, err := b.st.SetSlotSettings(ctx, b.adminA, b.a1.ID, stations.SlotSettings{Capacity: 1, GraceMinutes: 60}, staffActor); err != nil {
		t.Fatal(err)
	}
	x := b.mustPickup("u-fang", b.father, b.slot(1, 9, 0))
	if !x.HoldUntil.Equal(b.slot(1, 10, 30)) {
		t.Errorf("hold with a 60-minute grace ends %v", x.HoldUntil)
	}
	slots, _ = b.res.Slots(ctx, b.a1.ID)
	for _, s := range slots {
		if s.Start.Equal(b.slot(1, 9, 0)) {
			t.Error("a full slot is still offered")
		}
	}
	mother := b.family("u-fang", "刘桂芝")
	before := count(t, b.db.Collection("reservation_events"), bson.D{})
	sunday := b.slot(6, 10, 0) // Sunday 8 March
	for _, tc := range []struct {
		name  string
		req   ReserveRequest
		field string
		code  string
	}{
		{"full slot", ReserveRequest{Slot: b.slot(1, 9, 0)}, "slot", "slot_full"},
		{"closed day", ReserveRequest{Slot: sunday}, "slot", "slot_closed_day"},
		{"before opening", ReserveRequest{Slot: b.slot(1, 7, 0)}, "slot", "slot_outside_hours"},
		{"after closing", ReserveRequest{Slot: b.slot(1, 17, 30)}, "slot", "slot_outside_hours"},
		{"past", ReserveRequest{Slot: b.slot(0, 9, 0)}, "slot", "slot_past"},
		{"off the half hour", ReserveRequest{Slot: b.slot(1, 9, 15)}, "slot", "slot_step"},
		{"too far", ReserveRequest{Slot: b.slot(8, 9, 0)}, "slot", "slot_too_far"},
		{"unknown product", ReserveRequest{ProductID: "rocket", Slot: b.slot(1, 10, 0)}, "product_id", "unknown_product"},
		{"bad mode", ReserveRequest{Mode: "drone"}, "mode", "oneof"},
		{"delivery without delivery", ReserveRequest{Mode: Delivery, Day: Date(b.slot(1, 0, 0)), Window: stations.Morning,
			Ship: &DeliveryAddress{District: "jiefang", Address: "解放区民主路1号", Phone: "13800000000"}}, "mode", "no_delivery"},
		{"delivery without address", ReserveRequest{Mode: Delivery, Day: Date(b.slot(1, 0, 0)), Window: stations.Morning}, "delivery", "required"},
	} {
		req := tc.req
		req.RenterID, req.StationID = mother.ID, b.a1.ID
		if req.ProductID == "" {
			req.ProductID = b.wcA
		}
		if req.Mode == "" {
			req.Mode = Pickup
		}
		_, err := b.res.Reserve(ctx, "u-fang", req)
		if f, _ := valid.Fields(err); f[tc.field].Code != tc.code {
			t.Errorf("%s: %v (fields %v)", tc.name, err, f)
		}
	}
	// Delivery: enabled for jiefang in the morning.
	if _, err := b.st.SetDeliverySettings(ctx, b.adminA, b.a1.ID, stations.DeliverySettings{Enabled: true, Districts: []string{"jiefang", "jiefang"},
		FeeFen: 1500, Windows: []stations.Window{stations.Morning}}, staffActor); err != nil {
		t.Fatal(err)
	}
	if _, err := b.st.SetDeliverySettings(ctx, b.adminB(), b.a1.ID, stations.DeliverySettings{}, staffActor); !errors.Is(err, stations.ErrNotFound) {
		t.Errorf("operator B changed A's delivery: %v", err)
	}
	if _, err := b.st.SetDeliverySettings(ctx, b.adminA, b.a1.ID, stations.DeliverySettings{Enabled: true}, staffActor); err == nil {
		t.Error("delivery enabled to nowhere")
	}
	ship := func(d string) *DeliveryAddress {
		return &DeliveryAddress{District: d, Address: "解放区民主路1号", Phone: "138 0000 0000"}
	}
	for _, tc := range []struct {
		name  string
		req   ReserveRequest
		field string
		code  string
	}{
		{"unserved district", ReserveRequest{Day: Date(b.slot(1, 0, 0)), Window: stations.Morning, Ship: ship("macun")}, "delivery.district", "unserved"},
		{"window not offered", ReserveRequest{Day: Date(b.slot(1, 0, 0)), Window: stations.Afternoon, Ship: ship("jiefang")}, "window", "oneof"},
		{"closed day", ReserveRequest{Day: Date(sunday), Window: stations.Morning, Ship: ship("jiefang")}, "day", "delivery_day"},
		{"today's morning has begun", ReserveRequest{Day: Date(b.slot(0, 0, 0)), Window: stations.Morning, Ship: ship("jiefang")}, "day", "delivery_day"},
		{"bad phone", ReserveRequest{Day: Date(b.slot(1, 0, 0)), Window: stations.Morning, Ship: &DeliveryAddress{District: "jiefang", Address: "解放区民主路1号", Phone: "12"}}, "delivery.phone", "mobile"},
	} {
		req := tc.req
		req.RenterID, req.StationID, req.ProductID, req.Mode = mother.ID, b.a1.ID, b.wcA, Delivery
		_, err := b.res.Reserve(ctx, "u-fang", req)
		if f, _ := valid.Fields(err); f[tc.field].Code != tc.code {
			t.Errorf("%s: %v (fields %v)", tc.name, err, f)
		}
	}
	if after := count(t, b.db.Collection("reservation_events"), bson.D{}); after != before {
		t.Errorf("refused reservations wrote %d events", after-before)
	}
	d, err := b.res.Reserve(ctx, "u-fang", ReserveRequest{RenterID: mother.ID, StationID: b.a1.ID, ProductID: b.wcA, Mode: Delivery,
		Day: Date(b.slot(1, 0, 0)), Window: stations.Morning, Ship: ship("jiefang")})
	if err != nil {
		t.Fatal(err)
	}
	if d.FeeFen != 1500 || d.Ship.Phone != "13800000000" || !d.HoldUntil.Equal(b.slot(1, 13, 0)) {
		t.Errorf("delivery %+v %+v", d, d.Ship)
	}
	runs, err := b.res.DeliveryRuns(ctx, b.staffA1, b.a1.ID, b.slot(1, 0, 0))
	if err != nil || len(runs) != 2 || len(runs[0].Stops) != 1 || runs[0].Stops[0].ID != d.ID || len(runs[1].Stops) != 0 {
		t.Errorf("runs %+v %v", runs, err)
	}
	if _, err := b.res.DeliveryRuns(ctx, b.staffB1, b.a1.ID, b.slot(1, 0, 0)); !errors.Is(err, ErrNotFound) {
		t.Errorf("operator B read A's delivery run: %v", err)
	}
	if _, err := b.res.Pickups(ctx, b.staffB1, b.a1.ID, b.slot(1, 0, 0)); !errors.Is(err, ErrNotFound) {
		t.Errorf("operator B read A's pickups: %v", err)
	}
	if _, err := b.res.Reservation(ctx, b.staffB1, d.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("operator B read A's reservation: %v", err)
	}
}

func (b *booking) adminB() tenancy.Scope { return tenancy.OperatorScope("op-b") }

// Three families wait for the wheelchair at a1 (two at the station, one in
// its district); two holds are cancelled at once: the first two waiting get
// one unit each, the third moves up to first. An unanswered offer lapses
// and passes on; an accepted one is a pickup the desk fulfils.
func TestWaitlistOffers(t *testing.T) {
	ctx := context.Background()
	b := newBooking(t)
	t1, t2 := b.unit(b.a1, b.wcA), b.unit(b.a1, b.wcA)
	h1 := b.mustPickup("u-fang", b.father, b.slot(1, 9, 0))
	h2 := b.mustPickup("u-fang", b.father, b.slot(1, 10, 0))
	users := []string{"u-w1", "u-w2", "u-w3"}
	var entries []WaitEntry
	for i, u := range users {
		r := b.family(u, fmt.Sprintf("等候%d", i))
		req := JoinRequest{RenterID: r.ID, ProductID: b.wcA, StationID: b.a1.ID}
		if i == 1 {
			req = JoinRequest{RenterID: r.ID, ProductID: b.wcA, District: b.a1.District}
		}
		b.clk.set(b.clk.now().Add(time.Minute))
		w, err := b.res.JoinWaitlist(ctx, u, req)
		if err != nil {
			t.Fatal(err)
		}
		if w.State != WaitWaiting {
			t.Fatalf("join %d: %+v", i, w)
		}
		entries = append(entries, w)
	}
	if again, err := b.res.JoinWaitlist(ctx, "u-w1", JoinRequest{RenterID: entries[0].RenterID, ProductID: b.wcA, StationID: b.a1.ID}); err != nil || again.ID != entries[0].ID {
		t.Errorf("joining twice: %+v %v", again, err)
	}
	mine, _ := b.res.MyWaitlist(ctx, "u-w3")
	if len(mine) != 1 || mine[0].Position != 2 {
		// The district queue is its own; u-w3 is second at the station.
		t.Errorf("u-w3's place %+v", mine)
	}
	if _, err := b.res.JoinWaitlist(ctx, "u-w1", JoinRequest{RenterID: entries[0].RenterID, ProductID: b.wcA, StationID: b.a1.ID, District: "jiefang"}); err == nil {
		t.Error("joined a station and a district at once")
	}
	if ws, err := b.res.StationWaitlist(ctx, b.staffB1, b.a1.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("operator B read A's waitlist: %v %v", ws, err)
	}
	// Two units freed at once.
	var wg sync.WaitGroup
	for _, x := range []Reservation{h1, h2} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := b.res.CancelMine(ctx, "u-fang", x.ID); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	offered := map[string]string{} // unit → user
	for i, u := range users[:2] {
		mine, err := b.res.MyWaitlist(ctx, u)
		if err != nil || len(mine) != 1 || mine[0].State != WaitOffered {
			t.Fatalf("%s after two units came free: %+v %v", u, mine, err)
		}
		x := b.agree(mine[0].ReservationID)
		if !x.Offer || x.RenterID != entries[i].RenterID || !x.HoldUntil.Equal(b.clk.now().Add(DefaultOfferTTL)) {
			t.Errorf("offer %+v", x)
		}
		if prev, dup := offered[x.UnitTag]; dup {
			t.Errorf("unit %s offered to %s and %s", x.UnitTag, prev, u)
		}
		offered[x.UnitTag] = u
		if k := b.messagesOf(x.ID); k[messages.WaitlistOffer] != 1 {
			t.Errorf("offer messages %v", k)
		}
	}
	if len(offered) != 2 || offered[t1] == "" || offered[t2] == "" {
		t.Errorf("offers %v", offered)
	}
	if mine, _ := b.res.MyWaitlist(ctx, "u-w3"); mine[0].State != WaitWaiting || mine[0].Position != 1 {
		t.Errorf("u-w3 after the offers %+v", mine)
	}
	// u-w1 accepts; u-w2 lets the offer lapse: it passes to u-w3.
	first, _ := b.res.MyWaitlist(ctx, "u-w1")
	if w, err := b.res.AcceptOffer(ctx, "u-w1", first[0].ID); err != nil || w.State != WaitAccepted {
		t.Fatalf("accept %+v %v", w, err)
	}
	if _, err := b.res.AcceptOffer(ctx, "u-w2", first[0].ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("accepted someone else's offer: %v", err)
	}
	second, _ := b.res.MyWaitlist(ctx, "u-w2")
	b.clk.set(b.clk.now().Add(DefaultOfferTTL + time.Minute))
	if n, err := b.res.ExpireHolds(ctx); err != nil || n != 2 {
		// the accepted offer's hold ends at the same time
		t.Logf("expired %d %v", n, err)
	}
	lapsed := b.agree(second[0].ReservationID)
	if lapsed.State != ResExpired || lapsed.NoShow || lapsed.Reason != "offer_lapsed" {
		t.Errorf("lapsed offer %+v", lapsed)
	}
	if w, _ := b.res.entry(ctx, second[0].ID); w.State != WaitLapsed {
		t.Errorf("lapsed place %s", w.State)
	}
	third, _ := b.res.MyWaitlist(ctx, "u-w3")
	if third[0].State != WaitOffered {
		t.Fatalf("u-w3 after the lapse %+v", third)
	}
	// Staff fulfil u-w3's offer.
	x := b.agree(third[0].ReservationID)
	if _, _, err := b.res.Fulfil(ctx, b.staffA1, x.ID, fulfilReq(x), staffActor); err != nil {
		t.Fatal(err)
	}
	if w, _ := b.res.entry(ctx, third[0].ID); w.State != WaitServed {
		t.Errorf("served place %s", w.State)
	}
	b.agree(x.ID)
}

// A unit cleaned at the desk (no hook in stations) reaches the first
// waiting person through the job's scan.
func TestOfferAfterCleaning(t *testing.T) {
	ctx := context.Background()
	b := newBooking(t)
	tag := b.unit(b.a1, b.wcA)
	if _, err := b.st.Move(ctx, tag, stations.Move{To: stations.Cleaning, By: staffActor}); err != nil {
		t.Fatal(err)
	}
	w, err := b.res.JoinWaitlist(ctx, "u-fang", JoinRequest{RenterID: b.father.ID, ProductID: b.wcA, StationID: b.a1.ID})
	if err != nil || w.Position != 1 {
		t.Fatalf("join %+v %v", w, err)
	}
	if n, err := b.res.OfferFreed(ctx); err != nil || n != 0 {
		t.Fatalf("offers with nothing free: %d %v", n, err)
	}
	if _, err := b.st.Move(ctx, tag, stations.Move{To: stations.Available, Kind: "cleaned", By: staffActor}); err != nil {
		t.Fatal(err)
	}
	if n, err := b.res.OfferFreed(ctx); err != nil || n != 1 {
		t.Fatalf("offers after cleaning: %d %v", n, err)
	}
	if n, err := b.res.OfferFreed(ctx); err != nil || n != 0 {
		t.Fatalf("a second pass offered again: %d %v", n, err)
	}
	got, _ := b.res.entry(ctx, w.ID)
	if x := b.agree(got.ReservationID); got.State != WaitOffered || x.UnitTag != tag {
		t.Errorf("place %+v offer %+v", got, x)
	}
}

// A slot with room for 3: 12 families reserving it at once (a unit each)
// make 3 holds and 9 clear slot_full answers, never a fourth; a cancelled
// reservation gives its place back at once; a place left by a reservation
// that was never written (a crash between the place and the hold) is taken
// over once it is older than placeStale.
func TestSlotCapacityRace(t *testing.T) {
	ctx := context.Background()
	b := newBooking(t)
	const room, n = 3, 12
	if _, err := b.st.SetSlotSettings(ctx, b.adminA, b.a1.ID, stations.SlotSettings{Capacity: room, GraceMinutes: 60}, staffActor); err != nil {
		t.Fatal(err)
	}
	for range n + 2 {
		b.unit(b.a1, b.wcA)
	}
	slot := b.slot(1, 9, 0)
	fams := make([]Renter, n)
	for i := range fams {
		fams[i] = b.family(fmt.Sprintf("u-s%02d", i), fmt.Sprintf("家属%d", i))
	}
	var wg sync.WaitGroup
	errs := make([]error, n)
	held := make([]Reservation, n)
	for i := range fams {
		wg.Go(func() { held[i], errs[i] = b.pickup(fmt.Sprintf("u-s%02d", i), fams[i], b.wcA, b.a1, slot) })
	}
	wg.Wait()
	var won []Reservation
	full := 0
	for i, err := range errs {
		switch {
		case err == nil:
			won = append(won, held[i])
		case slotCode(err) == "slot_full":
			full++
		default:
			t.Errorf("family %d: %v", i, err)
		}
	}
	if len(won) != room || full != n-room {
		t.Fatalf("%d holds and %d slot_full for a slot with room for %d", len(won), full, room)
	}
	places := b.db.Collection("slot_places")
	if c := count(t, places, bson.D{}); c != room {
		t.Errorf("%d places taken, want %d", c, room)
	}
	late := b.family("u-late", "迟到")
	if _, err := b.pickup("u-late", late, b.wcA, b.a1, slot); slotCode(err) != "slot_full" {
		t.Fatalf("a fourth reservation of a full slot: %v", err)
	}
	if _, err := b.res.CancelMine(ctx, won[0].UserID, won[0].ID); err != nil {
		t.Fatal(err)
	}
	again, err := b.pickup("u-late", late, b.wcA, b.a1, slot)
	if err != nil {
		t.Fatalf("the cancelled reservation's place: %v", err)
	}
	b.agree(again.ID)
	// A leftover place of a reservation that never was: the slot is full
	// until it is old, then it is taken over.
	if _, err := b.res.CancelMine(ctx, again.UserID, again.ID); err != nil {
		t.Fatal(err)
	}
	if c := count(t, places, bson.D{}); c != room-1 {
		t.Fatalf("%d places taken after a cancel, want %d", c, room-1)
	}
	var ghost placeDoc
	for k := range room {
		id := placeID(b.a1.ID, slot.UTC(), k)
		if count(t, places, bson.D{{Key: "_id", Value: id}}) == 0 {
			ghost = placeDoc{ID: id, ReservationID: "rs-ghost00000000", At: b.clk.now()}
		}
	}
	if _, err := places.InsertOne(ctx, ghost); err != nil {
		t.Fatal(err)
	}
	other := b.family("u-other", "另一位")
	if _, err := b.pickup("u-other", other, b.wcA, b.a1, slot); slotCode(err) != "slot_full" {
		t.Fatalf("a slot whose last place a reservation just took: %v", err)
	}
	b.clk.set(b.clk.now().Add(placeStale + time.Minute))
	if x, err := b.pickup("u-other", other, b.wcA, b.a1, slot); err != nil {
		t.Fatalf("a place left by a crash is not taken over: %v", err)
	} else if x.Place != ghost.ID {
		t.Errorf("took place %s, want the left one %s", x.Place, ghost.ID)
	}
	// Long after the slot, the expiry job sweeps its places, a crash's
	// leftover included; a place of a later slot stays.
	if _, err := places.InsertOne(ctx, placeDoc{ID: placeID(b.a1.ID, slot.UTC(), 7), ReservationID: "rs-ghost00000001",
		At: b.clk.now(), Slot: slot.UTC()}); err != nil {
		t.Fatal(err)
	}
	later := placeDoc{ID: placeID(b.a1.ID, slot.UTC().Add(72*time.Hour), 0), ReservationID: "rs-ghost00000002", At: b.clk.now(),
		Slot: slot.UTC().Add(72 * time.Hour)}
	if _, err := places.InsertOne(ctx, later); err != nil {
		t.Fatal(err)
	}
	if _, err := b.res.ExpireHolds(ctx); err != nil {
		t.Fatal(err)
	}
	if c := count(t, places, bson.D{}); c != room+2 {
		t.Fatalf("%d places before the slot is long past, want %d", c, room+2)
	}
	b.clk.set(slot.Add(placesKept + time.Hour))
	if _, err := b.res.ExpireHolds(ctx); err != nil {
		t.Fatal(err)
	}
	if c := count(t, places, bson.D{}); c != 1 || count(t, places, bson.D{{Key: "_id", Value: later.ID}}) != 1 {
		t.Errorf("%d places after the sweep, want only the later slot's", c)
	}
}

// slotCode is the problem code an error names for the field slot.
func slotCode(err error) string {
	f, _ := valid.Fields(err)
	return f["slot"].Code
}

// A reservation's messages and a waitlist offer's are written in the
// language the family used: English for a family reserving or joining in
// English, Chinese otherwise.
func TestReservationMessagesInFamilysLanguage(t *testing.T) {
	ctx := context.Background()
	b := newBooking(t)
	b.unit(b.a1, b.wcA)
	b.unit(b.a1, b.wcA)
	b.mustPickup("u-fang", b.father, b.slot(2, 9, 0))
	en := b.family("u-en", "Anna")
	x, err := b.res.Reserve(ctx, "u-en", ReserveRequest{RenterID: en.ID, ProductID: b.wcA, StationID: b.a1.ID, Mode: Pickup, Slot: b.slot(1, 9, 0), Lang: "en"})
	if err != nil {
		t.Fatal(err)
	}
	waiter := b.family("u-en2", "Ben")
	if _, err := b.res.JoinWaitlist(ctx, "u-en2", JoinRequest{RenterID: waiter.ID, ProductID: b.wcA, StationID: b.a1.ID, Lang: "en-GB"}); err != nil {
		t.Fatal(err)
	}
	zh := b.family("u-zh", "王芳")
	b.clk.set(b.clk.now().Add(time.Minute)) // Ben joined first
	if _, err := b.res.JoinWaitlist(ctx, "u-zh", JoinRequest{RenterID: zh.ID, ProductID: b.wcA, StationID: b.a1.ID}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.res.CancelMine(ctx, "u-en", x.ID); err != nil {
		t.Fatal(err)
	}
	langs := map[messages.Kind]map[messages.Lang]int{}
	for _, m := range b.box.sent {
		if langs[m.Kind] == nil {
			langs[m.Kind] = map[messages.Lang]int{}
		}
		langs[m.Kind][m.To.Lang]++
	}
	if langs[messages.ReservationConfirmed][messages.English] != 1 || langs[messages.WaitlistOffer][messages.English] != 1 {
		t.Errorf("messages by kind and language: %v, want the confirmation and the offer in English", langs)
	}
	for _, m := range b.box.sent {
		if m.Kind == messages.ReservationConfirmed && m.To.Key == messages.RenterKey(b.father.ID) && m.To.Lang != "" {
			t.Errorf("a family reserving in Chinese gets %q", m.To.Lang)
		}
	}
}
