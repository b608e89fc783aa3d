package messages

import (
	"context"
	"errors"
	"fmt"
	"fuju/internal/tenancy"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// Fifty callers enqueue the same message at once: one message, one outbox
// entry, one inbox line, one send.
func TestEnqueueIsIdempotent(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, "2026-03-01 10:00")
	g := newGateway(t)
	s := e.service(t, g.sender(t, time.Second), Options{})
	in := reminder("lease/l-1/due-3d", "r-1")
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
		ids  = map[string]int{}
	)
	start := make(chan struct{})
	for range 50 {
		wg.Go(func() {
			<-start
			m, err := s.Enqueue(ctx, in)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
				return
			}
			ids[m.ID]++
		})
	}
	close(start)
	wg.Wait()
	if len(errs) > 0 {
		t.Fatalf("enqueue failed: %v", errs)
	}
	const id = "lease/l-1/due-3d/renter-r-1"
	if ids[id] != 50 || len(ids) != 1 {
		t.Fatalf("ids returned: %v", ids)
	}
	for coll, want := range map[string]int64{"messages": 1, "outbox_due": 1, "message_index": 2, "pending_transitions": 0} {
		if n := e.count(t, coll, nil); n != want {
			t.Errorf("%s holds %d documents, want %d", coll, n, want)
		}
	}
	// Enqueueing again after it was sent changes nothing either.
	drain(t, s, 5)
	again := mustEnqueue(t, s, in)
	drain(t, s, 5)
	if again.State != Sent || g.count(id) != 1 {
		t.Errorf("after a repeat: state %s, sent %d times", again.State, g.count(id))
	}
	if items, total, _ := s.Inbox(ctx, RenterKey("r-1"), 0, 10); total != 1 || len(items) != 1 {
		t.Errorf("inbox has %d (%d items), want 1", total, len(items))
	}
}

// Four instances deliver 200 messages at once: each reaches the gateway
// exactly once.
func TestConcurrentWorkersDeliverEachOnce(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, "2026-03-01 10:00")
	g := newGateway(t)
	sender := g.sender(t, 5*time.Second)
	var instances []*Service
	for range 4 {
		instances = append(instances, e.service(t, sender, Options{Batch: 50, Workers: 3}))
	}
	var want []string
	for i := range 200 {
		in := reminder(fmt.Sprintf("lease/l-%d/due-3d", i), fmt.Sprintf("r-%d", i%37))
		if i%3 == 0 {
			in.Kind, in.Params = ReservationConfirmed, sample()
		}
		want = append(want, mustEnqueue(t, instances[i%4], in).ID)
	}
	var wg sync.WaitGroup
	for _, s := range instances {
		wg.Go(func() {
			for range 50 {
				n, err := s.Deliver(ctx)
				if err != nil {
					t.Error(err)
					return
				}
				if n == 0 {
					return
				}
			}
		})
	}
	wg.Wait()
	if n := len(g.requests()); n != 200 {
		t.Errorf("gateway got %d requests for 200 messages", n)
	}
	for _, id := range want {
		if c := g.count(id); c != 1 {
			t.Errorf("%s reached the gateway %d times", id, c)
		}
		if m := mustMessage(t, instances[0], id); m.State != Sent || m.Attempts != 1 {
			t.Errorf("%s: %s after %d attempts", id, m.State, m.Attempts)
		}
	}
	if n := e.count(t, "outbox_due", nil); n != 0 {
		t.Errorf("%d messages left in the outbox", n)
	}
}

// A worker that dies after claiming holds the message until its claim runs
// out; then another instance sends it.
func TestCrashAfterClaimIsRetriedWhenTheClaimExpires(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, "2026-03-01 10:00")
	g := newGateway(t)
	crashing := e.service(t, g.sender(t, time.Second), Options{ClaimTTL: time.Minute})
	crashing.crash = func(point string) error {
		if point == "claimed" {
			return errStopped
		}
		return nil
	}
	other := e.service(t, g.sender(t, time.Second), Options{ClaimTTL: time.Minute})
	m := mustEnqueue(t, crashing, reminder("lease/l-1/due-3d", "r-1"))
	if _, err := crashing.Deliver(ctx); err != nil {
		t.Fatal(err)
	}
	if g.count(m.ID) != 0 {
		t.Fatal("sent despite the crash")
	}
	// Within the claim, the other instance leaves it alone.
	e.clock.Advance(30 * time.Second)
	drain(t, other, 3)
	if g.count(m.ID) != 0 {
		t.Fatal("another instance sent a claimed message")
	}
	e.clock.Advance(31 * time.Second)
	drain(t, other, 3)
	got := mustMessage(t, other, m.ID)
	if g.count(m.ID) != 1 || got.State != Sent || got.Attempts != 2 {
		t.Errorf("after the claim ran out: sent %d times, %s after %d attempts", g.count(m.ID), got.State, got.Attempts)
	}
	hist, err := other.log.History(ctx, m.ID, 3)
	if err != nil {
		t.Fatal(err)
	}
	if hist[0].Event.Worker != crashing.worker || hist[1].Event.Worker != other.worker || hist[2].Event.Type != evSent {
		t.Errorf("log: %+v", hist)
	}
}

// A crash after the gateway took the message and before the log says so
// sends it again after the claim: at least once, with the same id both
// times, so the gateway can drop the repeat.
func TestCrashAfterSendResendsWithTheSameID(t *testing.T) {
	e := newEnv(t, "2026-03-01 10:00")
	g := newGateway(t)
	crashing := e.service(t, g.sender(t, time.Second), Options{ClaimTTL: time.Minute})
	crashing.crash = func(point string) error {
		if point == "sent" {
			return errStopped
		}
		return nil
	}
	m := mustEnqueue(t, crashing, reminder("lease/l-1/due-3d", "r-1"))
	drain(t, crashing, 1)
	e.clock.Advance(2 * time.Minute)
	drain(t, e.service(t, g.sender(t, time.Second), Options{}), 3)
	reqs := g.requests()
	if len(reqs) != 2 || reqs[0].Idempotency != m.ID || reqs[1].Idempotency != m.ID || reqs[1].Body.ID != m.ID {
		t.Fatalf("requests: %+v", reqs)
	}
	if got := mustMessage(t, crashing, m.ID); got.State != Sent {
		t.Errorf("state %s", got.State)
	}
}

// A crash after the final event and before its projections leaves the
// message in the outbox; another worker finishes the projections, without
// sending it again.
func TestCrashBeforeProjectionsIsRepaired(t *testing.T) {
	e := newEnv(t, "2026-03-01 10:00")
	g := newGateway(t)
	crashing := e.service(t, g.sender(t, time.Second), Options{ClaimTTL: time.Minute})
	crashing.crash = func(point string) error {
		if point == "ended" {
			return errStopped
		}
		return nil
	}
	other := e.service(t, g.sender(t, time.Second), Options{ClaimTTL: time.Minute})
	m := mustEnqueue(t, crashing, reminder("lease/l-1/due-3d", "r-1"))
	drain(t, crashing, 1)
	if n := e.count(t, "outbox_due", nil); n != 1 {
		t.Fatalf("outbox holds %d", n)
	}
	// Fresh, the final event is left to its own worker.
	drain(t, other, 2)
	if n := e.count(t, "message_outcomes", nil); n != 0 {
		t.Fatal("another worker raced the projections of a fresh outcome")
	}
	e.clock.Advance(time.Minute)
	drain(t, other, 2)
	if n := e.count(t, "outbox_due", nil); n != 0 || g.count(m.ID) != 1 {
		t.Errorf("after repair: %d in the outbox, sent %d times", n, g.count(m.ID))
	}
	if got := mustMessage(t, other, m.ID); got.State != Sent {
		t.Errorf("state %s", got.State)
	}
}

// A reminder enqueued at 22:00 goes out at 08:00, and so does a tier
// decision; a phone code, a reservation's confirmation, a waitlist offer and
// a payment link go at once.
func TestQuietHoursHoldRemindersNotCodes(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, "2026-03-01 22:00")
	g := newGateway(t)
	s := e.service(t, g.sender(t, time.Second), Options{})
	rem := mustEnqueue(t, s, reminder("lease/l-1/due-3d", "r-1"))
	code := mustEnqueue(t, s, NewMessage{Event: "login/att-1", Kind: PhoneCode,
		To: Recipient{Key: UserKey("u-1"), Phone: "13900000001"}, Params: Params{Code: "482913", Minutes: 5}})
	notice := func(event string, k Kind) Message {
		m := reminder(event, "r-2")
		m.Kind = k
		return mustEnqueue(t, s, m)
	}
	tier := notice("tier/ta-1/approved", TierApproved)
	atOnce := []Message{notice("reservation/rs-1/confirmed", ReservationConfirmed),
		notice("reservation/rs-2/offer", WaitlistOffer), notice("lease/l-3/payment", PaymentLink)}
	for _, m := range []Message{rem, tier} {
		if !m.NextAttemptAt.Equal(cityTime("2026-03-02 08:00")) {
			t.Errorf("%s due at %s", m.Kind, m.NextAttemptAt.In(Local))
		}
	}
	drain(t, s, 3)
	if g.count(code.ID) != 1 || g.count(rem.ID) != 0 || g.count(tier.ID) != 0 {
		t.Fatalf("at 22:00: code sent %d times, reminder %d, tier decision %d", g.count(code.ID), g.count(rem.ID), g.count(tier.ID))
	}
	for _, m := range atOnce {
		if g.count(m.ID) != 1 {
			t.Errorf("at 22:00: %s sent %d times, want at once", m.Kind, g.count(m.ID))
		}
	}
	for _, r := range g.requests() {
		if strings.HasPrefix(r.Body.ID, "login/") && (r.Body.To != "13900000001" || !strings.Contains(r.Body.Text, "482913") || r.Body.Lang != Chinese) {
			t.Errorf("code request %+v", r.Body)
		}
	}
	e.clock.Advance(9*time.Hour + 59*time.Minute) // 07:59
	drain(t, s, 3)
	if g.count(rem.ID) != 0 {
		t.Fatal("reminder sent before 08:00")
	}
	e.clock.Advance(time.Minute)
	drain(t, s, 3)
	if g.count(rem.ID) != 1 {
		t.Fatal("reminder not sent at 08:00")
	}
	if got := mustMessage(t, s, rem.ID); got.State != Sent || !got.FinishedAt.Equal(cityTime("2026-03-02 08:00")) {
		t.Errorf("reminder %s at %s", got.State, got.FinishedAt.In(Local))
	}
	// A retry that would fall in quiet hours waits for the morning too.
	e.clock.Advance(12*time.Hour + 59*time.Minute + 50*time.Second) // 20:59:50
	g.setRespond(func(n int, _ gatewayRequest, w http.ResponseWriter) bool {
		if n == 1 {
			w.WriteHeader(http.StatusBadGateway)
			return true
		}
		return false
	})
	late := mustEnqueue(t, s, reminder("lease/l-2/due-3d", "r-1"))
	drain(t, s, 3)
	if got := mustMessage(t, s, late.ID); got.State != Retrying || !got.NextAttemptAt.Equal(cityTime("2026-03-03 08:00")) {
		t.Errorf("failed at 20:59:50: %s, next at %s", got.State, got.NextAttemptAt.In(Local))
	}
	_ = ctx
}

// Reminders turned off are not sent (and say so); notices and phone codes
// are. The change is audited without a number.
func TestOptOutSuppressesRemindersOnly(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, "2026-03-01 10:00")
	g := newGateway(t)
	s := e.service(t, g.sender(t, time.Second), Options{})
	key := RenterKey("r-1")
	queuedBefore := mustEnqueue(t, s, reminder("lease/l-0/due-3d", "r-1"))
	if p, _ := s.Preferences(ctx, key); !p.Reminders {
		t.Fatal("reminders off by default")
	}
	family := Actor{ID: "u-9", Name: "李家", Role: "renter"}
	if p, err := s.SetReminders(ctx, family, key, false); err != nil || p.Reminders {
		t.Fatalf("SetReminders = %+v, %v", p, err)
	}
	rem := mustEnqueue(t, s, reminder("lease/l-1/due-3d", "r-1"))
	notice := reminder("res/rs-1/confirmed", "r-1")
	notice.Kind = ReservationConfirmed
	note := mustEnqueue(t, s, notice)
	code := mustEnqueue(t, s, NewMessage{Event: "login/att-1", Kind: PhoneCode, To: Recipient{Key: key, Phone: phone}, Params: Params{Code: "1234", Minutes: 5}})
	drain(t, s, 3)
	for id, want := range map[string]State{queuedBefore.ID: Suppressed, rem.ID: Suppressed, note.ID: Sent, code.ID: Sent} {
		got := mustMessage(t, s, id)
		if got.State != want {
			t.Errorf("%s: %s, want %s", id, got.State, want)
		}
		if sent := g.count(id); (want == Sent) != (sent == 1) {
			t.Errorf("%s reached the gateway %d times", id, sent)
		}
	}
	// The family still sees the reminder in their inbox, marked not sent.
	items, _, _ := s.Inbox(ctx, key, 0, 10)
	if len(items) != 3 || items[0].ID != note.ID || items[1].State != Suppressed {
		t.Errorf("inbox %+v", items)
	}
	if _, err := s.SetReminders(ctx, family, key, true); err != nil {
		t.Fatal(err)
	}
	back := mustEnqueue(t, s, reminder("lease/l-2/due-3d", "r-1"))
	drain(t, s, 3)
	if g.count(back.ID) != 1 {
		t.Error("reminder not sent after turning reminders back on")
	}
	// Setting the same choice again is no change and no audit entry.
	if _, err := s.SetReminders(ctx, family, key, true); err != nil {
		t.Fatal(err)
	}
	if len(e.audit.entries) != 2 {
		t.Fatalf("audit entries %+v", e.audit.entries)
	}
	first := e.audit.entries[0]
	if first.Action != "messages.reminders_off" || first.Actor != family || first.Target != "recipient/"+key ||
		len(first.Fields) != 1 || first.Fields[0] != "reminders" || e.audit.entries[1].Action != "messages.reminders_on" {
		t.Errorf("audit %+v", e.audit.entries)
	}
	if _, err := s.SetReminders(ctx, family, "13800000005", false); err == nil {
		t.Error("a phone number accepted as a recipient key")
	}
}

// The inbox lists a person's messages newest first, in pages, with the
// number masked; phone codes never appear; other people's never do.
func TestInboxNewestFirstPaged(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, "2026-03-01 10:00")
	g := newGateway(t)
	s := e.service(t, g.sender(t, time.Second), Options{})
	for i := range 25 {
		mustEnqueue(t, s, reminder(fmt.Sprintf("lease/l-%02d/due-3d", i), "r-1"))
		e.clock.Advance(time.Minute)
	}
	mustEnqueue(t, s, reminder("lease/l-x/due-3d", "r-2"))
	mustEnqueue(t, s, NewMessage{Event: "login/att-1", Kind: PhoneCode, To: Recipient{Key: RenterKey("r-1"), Phone: phone}, Params: Params{Code: "1234", Minutes: 5}})
	drain(t, s, 5)
	page1, total, err := s.Inbox(ctx, RenterKey("r-1"), 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if total != 25 || len(page1) != 10 || page1[0].Event != "lease/l-24/due-3d" || page1[9].Event != "lease/l-15/due-3d" {
		t.Fatalf("page 1: total %d, %d items, first %s", total, len(page1), page1[0].Event)
	}
	for _, m := range page1 {
		if m.Phone != "138****0005" || m.State != Sent || m.Text == "" || m.Recipient != RenterKey("r-1") {
			t.Errorf("inbox item %+v", m)
		}
	}
	page3, _, _ := s.Inbox(ctx, RenterKey("r-1"), 20, 10)
	if len(page3) != 5 || page3[4].Event != "lease/l-00/due-3d" {
		t.Errorf("page 3: %d items", len(page3))
	}
	if beyond, total, _ := s.Inbox(ctx, RenterKey("r-1"), 40, 10); len(beyond) != 0 || total != 25 {
		t.Errorf("past the end: %d items, total %d", len(beyond), total)
	}
	if none, total, err := s.Inbox(ctx, RenterKey("r-404"), 0, 10); err != nil || total != 0 || len(none) != 0 {
		t.Errorf("empty inbox: %v %d %v", none, total, err)
	}
	one, err := s.InboxMessage(ctx, RenterKey("r-1"), page1[0].ID)
	if err != nil || one.ID != page1[0].ID || one.Phone != "138****0005" {
		t.Errorf("InboxMessage = %+v, %v", one, err)
	}
	if _, err := s.InboxMessage(ctx, RenterKey("r-2"), page1[0].ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("someone else's message: %v", err)
	}
	if _, err := s.InboxMessage(ctx, RenterKey("r-1"), "login/att-1/renter-r-1"); !errors.Is(err, ErrNotFound) {
		t.Errorf("a phone code through the inbox: %v", err)
	}
	if _, _, err := s.Inbox(ctx, "r/../x", 0, 10); err == nil {
		t.Error("a path accepted as a recipient key")
	}
}

// A station's log shows its messages with masked numbers, to those whose
// scope covers it; another operator gets not found.
func TestStationLogTenancy(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, "2026-03-01 10:00")
	g := newGateway(t)
	s := e.service(t, g.sender(t, time.Second), Options{})
	a := reminder("lease/l-1/due-3d", "r-1")
	b := reminder("lease/l-2/due-3d", "r-2")
	b.OperatorID, b.StationID, b.To.Phone = "op-b", "st-9", "13900000009"
	code := NewMessage{Event: "desk/link-1", Kind: PhoneCode, To: Recipient{Key: RenterKey("r-1"), Phone: phone},
		OperatorID: "op-a", StationID: "st-1", Params: Params{Code: "5678", Minutes: 5}}
	for _, m := range []NewMessage{a, b, code} {
		mustEnqueue(t, s, m)
	}
	drain(t, s, 3)
	for name, who := range map[string]tenancy.Scope{
		"operator":       tenancy.OperatorScope("op-a"),
		"staff":          tenancy.StaffScope("op-a", []string{"st-1"}),
		"platform admin": tenancy.PlatformScope,
	} {
		items, total, err := s.StationLog(ctx, who, "op-a", "st-1", 0, 20)
		if err != nil || total != 2 || len(items) != 2 {
			t.Fatalf("%s: %d items, total %d, %v", name, len(items), total, err)
		}
		if items[0].Kind != PhoneCode || items[0].Text != "" || items[0].Phone != "138****0005" {
			t.Errorf("%s: phone code listed as %+v", name, items[0])
		}
		if items[1].ID != "lease/l-1/due-3d/renter-r-1" || items[1].Phone != "138****0005" || items[1].Text == "" {
			t.Errorf("%s: %+v", name, items[1])
		}
	}
	for name, who := range map[string]tenancy.Scope{
		"other operator":       tenancy.OperatorScope("op-b"),
		"staff elsewhere":      tenancy.StaffScope("op-a", []string{"st-2"}),
		"other operator staff": tenancy.StaffScope("op-b", []string{"st-1"}),
		"no scope":             {},
	} {
		if _, _, err := s.StationLog(ctx, who, "op-a", "st-1", 0, 20); !errors.Is(err, ErrNotFound) {
			t.Errorf("%s sees op-a's station: %v", name, err)
		}
	}
	// Naming its own operator with another operator's station shows nothing:
	// the log is keyed by operator.
	if items, total, err := s.StationLog(ctx, tenancy.OperatorScope("op-b"), "op-b", "st-1", 0, 20); err != nil || total != 0 || len(items) != 0 {
		t.Errorf("op-b/st-1: %d items, %v", total, err)
	}
	if items, _, _ := s.StationLog(ctx, tenancy.OperatorScope("op-b"), "op-b", "st-9", 0, 20); len(items) != 1 || items[0].Phone != "139****0009" {
		t.Errorf("op-b's own log: %+v", items)
	}
	// One message with its history, for the same scopes only.
	id := ID(a.Event, a.To.Key)
	m, steps, err := s.StationMessage(ctx, tenancy.StaffScope("op-a", []string{"st-1"}), id)
	if err != nil || m.Phone != "138****0005" || len(steps) != 2 || steps[0].State != Sending || steps[1].State != Sent {
		t.Errorf("StationMessage = %+v, %+v, %v", m, steps, err)
	}
	for _, who := range []tenancy.Scope{tenancy.OperatorScope("op-b"), tenancy.StaffScope("op-a", []string{"st-2"})} {
		if _, _, err := s.StationMessage(ctx, who, id); !errors.Is(err, ErrNotFound) {
			t.Errorf("%+v sees %s: %v", who, id, err)
		}
	}
	if _, _, err := s.StationLog(ctx, tenancy.PlatformScope, "op-a", "st-1/../x", 0, 20); err == nil {
		t.Error("a path accepted as a station id")
	}
}

// A crash between the enqueue's writes leaves a marker; the reconciler
// queues and lists the message, and it is sent once.
func TestReconcileFinishesAnInterruptedEnqueue(t *testing.T) {
	ctx := context.Background()
	for _, point := range []string{"archived", "queued"} {
		t.Run(point, func(t *testing.T) {
			e := newEnv(t, "2026-03-01 10:00")
			g := newGateway(t)
			s := e.service(t, g.sender(t, time.Second), Options{})
			s.crash = func(p string) error {
				if p == point {
					return errStopped
				}
				return nil
			}
			in := reminder("lease/l-1/due-3d", "r-1")
			if _, err := s.Enqueue(ctx, in); !errors.Is(err, errStopped) {
				t.Fatalf("Enqueue = %v", err)
			}
			s.crash = nil
			if _, total, _ := s.Inbox(ctx, RenterKey("r-1"), 0, 10); total != 0 {
				t.Fatalf("listed before the reconciler: %d", total)
			}
			if n, err := s.Reconcile(ctx, -time.Second); err != nil || n != 1 {
				t.Fatalf("Reconcile = %d, %v", n, err)
			}
			// A second reconciler (another instance) finds nothing to do.
			if n, err := s.Reconcile(ctx, -time.Second); err != nil || n != 0 {
				t.Fatalf("second Reconcile = %d, %v", n, err)
			}
			drain(t, s, 3)
			id := ID(in.Event, in.To.Key)
			if g.count(id) != 1 {
				t.Errorf("sent %d times", g.count(id))
			}
			for list, want := range map[string]int64{inboxList("renter-r-1"): 1, stationList("op-a", "st-1"): 1} {
				if _, total, _ := s.page(ctx, list, 0, 10); total != want {
					t.Errorf("%s lists %d", list, total)
				}
			}
		})
	}
}

// Adding a message to a list twice (an enqueue and a reconciler racing)
// lists it once.
func TestListAppendIsOncePerMessage(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, "2026-03-01 10:00")
	s := e.service(t, nil, Options{})
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() {
			if err := s.addToList(ctx, "r/x", fmt.Sprintf("m-%d", i%5), e.clock.Now()); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if n := e.count(t, "message_index", nil); n != 5 {
		t.Errorf("%d entries for 5 messages", n)
	}
	if head, _ := s.listHead(ctx, "r/x", 0); head != 5 {
		t.Errorf("head %d", head)
	}
}

// Cancelled before it was sent, a reminder is never sent; a sent one cannot
// be cancelled.
func TestCancel(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, "2026-03-01 10:00")
	g := newGateway(t)
	s := e.service(t, g.sender(t, time.Second), Options{})
	in := reminder("res/rs-1/pickup-reminder", "r-1")
	in.Kind = PickupReminder
	in.SendAt = cityTime("2026-03-02 09:00")
	m := mustEnqueue(t, s, in)
	if !m.NextAttemptAt.Equal(in.SendAt) || m.State != Queued {
		t.Fatalf("scheduled %+v", m)
	}
	got, err := s.Cancel(ctx, m.ID)
	if err != nil || got.State != Cancelled {
		t.Fatalf("Cancel = %+v, %v", got, err)
	}
	e.clock.Advance(24 * time.Hour)
	drain(t, s, 3)
	if g.count(m.ID) != 0 {
		t.Error("a cancelled message was sent")
	}
	sent := mustEnqueue(t, s, reminder("lease/l-1/due-3d", "r-1"))
	drain(t, s, 3)
	if _, err := s.Cancel(ctx, sent.ID); !errors.Is(err, ErrConflict) {
		t.Errorf("cancelling a sent message: %v", err)
	}
	if _, err := s.Cancel(ctx, "nope/x/renter-1"); !errors.Is(err, ErrNotFound) {
		t.Errorf("cancelling nothing: %v", err)
	}
}
