package instances

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"fuju/accounts"
	"fuju/internal/tenancy"
	"fuju/stations"
)

// family is one signed-in family account with its own renter, calling the
// family API (/api/v1/me) on the instance each call names: its session and
// form token, made by one instance, work on the other.
type family struct {
	renter string
	csrf   string
	client *http.Client
}

var familySeq int

// newFamily creates a family account, a renter registered at the station
// and linked to it, and signs in on base.
func (c *cluster) newFamily(t *testing.T, base, stationID string) *family {
	t.Helper()
	ctx := context.Background()
	familySeq++
	phone := fmt.Sprintf("1360003%04d", familySeq)
	u, err := c.app.Auth.CreateUser(ctx, accounts.NewUser{Name: "家属", Phone: phone, Password: "fuju-demo-2026", Role: accounts.Renter})
	if err != nil {
		t.Fatal(err)
	}
	var r struct {
		ID string `json:"id"`
	}
	n := renterSeq.Add(1)
	c.api(t, "POST", "", "/api/v1/staff/renters", map[string]any{"name": "测试", "phone": fmt.Sprintf("1370001%04d", n),
		"id_number": testIDNumber(n), "station_id": stationID}, &r)
	if _, err := c.app.Rentals.LinkUser(ctx, r.ID, u.ID, tenancy.System); err != nil {
		t.Fatal(err)
	}
	jar, _ := cookiejar.New(nil)
	f := &family{renter: r.ID, client: &http.Client{Jar: jar, Timeout: 60 * time.Second}}
	var me struct {
		CSRF string `json:"csrf_token"`
	}
	if status, body := f.call(base, "POST", "/api/v1/auth/login", map[string]any{"login": phone, "password": "fuju-demo-2026"}); status != http.StatusOK {
		t.Fatalf("family login on %s: %d %s", base, status, body)
	} else if err := json.Unmarshal(body, &me); err != nil || me.CSRF == "" {
		t.Fatalf("family login: no form token in %s", body)
	}
	f.csrf = me.CSRF
	return f
}

// call sends a JSON request with the family's session; the cookie jar keys
// on the host (127.0.0.1), so both instances get the same session cookie.
func (f *family) call(base, method, path string, body any) (int, []byte) {
	var b []byte
	if body != nil {
		b, _ = json.Marshal(body)
	}
	req, err := http.NewRequest(method, base+path, bytes.NewReader(b))
	if err != nil {
		return 0, []byte(err.Error())
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if f.csrf != "" {
		req.Header.Set("X-CSRF-Token", f.csrf)
	}
	resp, err := f.client.Do(req)
	if err != nil {
		return 0, []byte(err.Error())
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, data
}

// takeGroup hands out the (station, product) group of available units
// with the fewest units, all of them, so the caller can make one the last.
func (c *cluster) takeGroup(t *testing.T) []stations.Unit {
	t.Helper()
	c.unitMu.Lock()
	defer c.unitMu.Unlock()
	groups := map[[2]string][]stations.Unit{}
	for _, u := range c.units {
		k := [2]string{u.StationID, u.ProductID}
		groups[k] = append(groups[k], u)
	}
	var best []stations.Unit
	for _, g := range groups {
		if best == nil || len(g) < len(best) || len(g) == len(best) && g[0].Tag < best[0].Tag {
			best = g
		}
	}
	if best == nil {
		t.Fatal("no available units left")
	}
	left := c.units[:0:0]
	for _, u := range c.units {
		if u.StationID != best[0].StationID || u.ProductID != best[0].ProductID {
			left = append(left, u)
		}
	}
	c.units = left
	return best
}

// reserveWorld is the product and station the reservation subtests share:
// one unit left, a held reservation of it, and the families.
type reserveWorld struct {
	unit     stations.Unit
	slot     time.Time
	families []*family
	hold     string // the reservation that won the unit
	winner   *family
}

// 200 families' reservations of a product's last unit at a station, spread
// over both instances, make one hold; the 199 others are 409 no_unit with
// the waitlist offered. The unit's log has one reserved event; the
// confirmation reaches the SMS gateway once.
func (c *cluster) testReservationRace(t *testing.T) {
	ctx := context.Background()
	group := c.takeGroup(t)
	last := group[len(group)-1]
	// The others of the group go out at the desk, so one unit is left.
	for _, u := range group[:len(group)-1] {
		c.api(t, "POST", "", "/api/v1/staff/checkouts", c.newDesk(t, u).checkout(), nil)
	}
	// Fifty pickups per slot: the slot's capacity is not what is raced for.
	c.api(t, "PUT", "", "/api/v1/operator/stations/"+last.StationID+"/slots", map[string]any{"capacity": 50, "grace_minutes": 120}, nil)
	var slots struct {
		Items []struct {
			Start time.Time `json:"start"`
		} `json:"items"`
	}
	c.api(t, "GET", "", "/api/v1/stations/"+last.StationID+"/slots", nil, &slots)
	if len(slots.Items) == 0 {
		t.Fatalf("station %s has no slots", last.StationID)
	}
	w := &reserveWorld{unit: last, slot: slots.Items[0].Start}
	c.reserve = w
	// Ten families, each signed in on one instance and reserving on both.
	for i := range 10 {
		w.families = append(w.families, c.newFamily(t, c.nodes[i%2].url(), last.StationID))
	}
	const n = 200
	type answer struct {
		status int
		body   []byte
		fam    *family
		base   string
		at     time.Time
	}
	// Both instances' public station API shows the one unit left.
	for _, nd := range c.nodes {
		waitSeen(t, time.Now(), nd.url()+"/api/v1/stations/"+last.StationID, func(b []byte) bool {
			n, ok := availableIn(b, last.ProductID)
			return ok && n == 1
		})
	}
	answers := make([]answer, n)
	var won answer
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			f := w.families[i%len(w.families)]
			base := c.nodes[(i/len(w.families))%2].url()
			<-start
			status, body := f.call(base, "POST", "/api/v1/me/reservations", map[string]any{"renter_id": f.renter,
				"product_id": last.ProductID, "station_id": last.StationID, "mode": "pickup", "slot": w.slot})
			answers[i] = answer{status, body, f, base, time.Now()}
		})
	}
	t0 := time.Now()
	close(start)
	wg.Wait()
	byStatus := map[int]int{}
	for i, a := range answers {
		byStatus[a.status]++
		switch {
		case a.status == http.StatusCreated:
			var x struct {
				ID      string `json:"id"`
				UnitTag string `json:"unit_tag"`
				State   string `json:"state"`
			}
			if err := json.Unmarshal(a.body, &x); err != nil || x.UnitTag != last.Tag || x.State != "held" {
				t.Errorf("the hold: %s", a.body)
			}
			w.hold, w.winner, won = x.ID, a.fam, a
		case a.status == http.StatusConflict:
			// no_unit is the answer whose page offers the waitlist.
			if !bytes.Contains(a.body, []byte(`"code":"no_unit"`)) {
				t.Errorf("reservation %d: 409 without the waitlist: %s", i, a.body)
			}
		default:
			t.Errorf("reservation %d: %d %s", i, a.status, a.body)
		}
	}
	t.Logf("%d reservations of the last unit %s in %s: %v by status", n, last.Tag, time.Since(t0).Round(time.Millisecond), byStatus)
	if byStatus[http.StatusCreated] != 1 || byStatus[http.StatusConflict] != n-1 {
		t.Fatalf("%d reservations of one unit: %v, want 1 created and %d conflicts", n, byStatus, n-1)
	}
	// The other instance's public station API shows none left within 2 s of
	// the hold's answer.
	other := c.nodes[0].url()
	if other == won.base {
		other = c.nodes[1].url()
	}
	seen := waitSeen(t, won.at, other+"/api/v1/stations/"+last.StationID, func(b []byte) bool {
		n, ok := availableIn(b, last.ProductID)
		return ok && n == 0
	})
	t.Logf("the hold made on %s shown as no unit left on %s %s after its answer", won.base, other, seen.Round(time.Millisecond))
	if seen > 2*time.Second {
		t.Errorf("the hold took %s to show on the other instance, want at most 2 s", seen)
	}
	// Both instances show the unit reserved once, for the winner.
	for _, nd := range c.nodes {
		var v unitView
		c.api(t, "GET", nd.url(), "/api/v1/staff/units/"+last.Tag, nil, &v)
		if v.State != "reserved" || countTo(v, "reserved") != 1 || v.LeaseID != w.hold {
			t.Errorf("instance %s shows the unit %s (for %q) with %d reserved events, want reserved once for %s", nd.name, v.State, v.LeaseID, countTo(v, "reserved"), w.hold)
		}
	}
	open, err := c.db.Collection("open_reservations").CountDocuments(ctx, bson.D{{Key: "product_id", Value: last.ProductID}, {Key: "station_id", Value: last.StationID}})
	if err != nil || open != 1 {
		t.Errorf("open reservations of %s at %s: %d (%v), want 1", last.ProductID, last.StationID, open, err)
	}
	// The confirmation (reservation/{id}/confirmed/{recipient}) reaches the
	// gateway once, from one instance.
	if reqs := c.gw.waitPrefix(t, "reservation/"+w.hold+"/confirmed/", time.Minute); len(reqs) != 1 {
		t.Errorf("the confirmation reached the gateway %d times: %v", len(reqs), reqs)
	}
}

// waitPrefix waits until a message whose id starts with prefix reached the
// gateway, waits one delivery poll (5 s) more, and returns who sent the
// messages with that prefix, all requests in order.
func (g *smsGateway) waitPrefix(t *testing.T, prefix string, within time.Duration) []string {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		if reqs := g.prefixed(prefix); len(reqs) > 0 {
			time.Sleep(6 * time.Second)
			return g.prefixed(prefix)
		}
		if time.Now().After(deadline) {
			t.Fatalf("no message %s… reached the gateway within %s", prefix, within)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func (g *smsGateway) prefixed(prefix string) []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	var out []string
	for id, from := range g.reqs {
		if strings.HasPrefix(id, prefix) {
			out = append(out, from...)
		}
	}
	return out
}

func countTo(v unitView, state string) int {
	n := 0
	for _, h := range v.History {
		if h.To == state {
			n++
		}
	}
	return n
}

var expiredLog = regexp.MustCompile(`"msg":"expire holds","count":(\d+)`)

// The hold of the race is past its end (its log and projection moved back,
// as the overdue test moves a due date: each instance runs its own clock,
// and the shortest hold the service offers ends 30 minutes after a slot
// that starts in the future); two other families wait for the product at
// the station. Both instances run the expiry job: the hold closes once as a
// no-show, the unit is freed once and offered to the first family waiting
// only, whose offer message reaches the gateway once.
func (c *cluster) testHoldExpiry(t *testing.T) {
	ctx := context.Background()
	w := c.reserve
	if w == nil || w.hold == "" {
		t.Fatal("no hold from the reservation race")
	}
	var waiting []*family
	var entries []string
	for _, f := range w.families {
		if f == w.winner {
			continue
		}
		var e struct {
			ID string `json:"id"`
		}
		status, body := f.call(c.nodes[len(waiting)%2].url(), "POST", "/api/v1/me/waitlist", map[string]any{"renter_id": f.renter,
			"product_id": w.unit.ProductID, "station_id": w.unit.StationID})
		if status != http.StatusCreated || json.Unmarshal(body, &e) != nil {
			t.Fatalf("join the waitlist: %d %s", status, body)
		}
		waiting, entries = append(waiting, f), append(entries, e.ID)
		if len(waiting) == 2 {
			break
		}
		time.Sleep(10 * time.Millisecond) // join times differ: the first is first
	}
	past := time.Now().Add(-time.Minute)
	for coll, set := range map[string]bson.D{
		"reservation_events": {{Key: "e.res.holduntil", Value: past}},
		"reservations":       {{Key: "res.holduntil", Value: past}},
		"open_reservations":  {{Key: "hold_until", Value: past}},
	} {
		filter := bson.D{{Key: "_id", Value: w.hold}}
		if coll == "reservation_events" {
			filter = bson.D{{Key: "entity", Value: w.hold}}
		}
		res, err := c.db.Collection(coll).UpdateMany(ctx, filter, bson.D{{Key: "$set", Value: set}})
		if err != nil || res.MatchedCount == 0 {
			t.Fatalf("moving the hold's end in %s: %+v %v", coll, res, err)
		}
	}
	t0 := time.Now()
	// The expiry job runs every 30 s on each instance.
	var x struct {
		State  string `json:"state"`
		NoShow bool   `json:"no_show"`
		Reason string `json:"reason"`
	}
	for {
		status, body := w.winner.call(c.nodes[0].url(), "GET", "/api/v1/me/reservations/"+w.hold, nil)
		if status != http.StatusOK || json.Unmarshal(body, &x) != nil {
			t.Fatalf("the hold: %d %s", status, body)
		}
		if x.State != "held" {
			break
		}
		if time.Since(t0) > 75*time.Second {
			t.Fatalf("the hold is still held 75 s after its end")
		}
		time.Sleep(500 * time.Millisecond)
	}
	if x.State != "expired" || !x.NoShow {
		t.Errorf("the hold ended %s (no-show %v, %s), want expired as a no-show", x.State, x.NoShow, x.Reason)
	}
	closed, err := c.db.Collection("reservation_events").CountDocuments(ctx, bson.D{{Key: "entity", Value: w.hold}, {Key: "e.kind", Value: "closed"}})
	if err != nil || closed != 1 {
		t.Errorf("the hold has %d closed events (%v), want 1", closed, err)
	}
	// The first family waiting gets the offer, held on the freed unit.
	offer := c.waitOffer(t, waiting[0], 75*time.Second)
	offeredAt := time.Now()
	t.Logf("hold expired and its unit offered %s after its end", time.Since(t0).Round(time.Millisecond))
	var v unitView
	for _, nd := range c.nodes {
		c.api(t, "GET", nd.url(), "/api/v1/staff/units/"+w.unit.Tag, nil, &v)
		// reserved (the hold) → available (expired, once) → reserved (the offer, once)
		if v.State != "reserved" || v.LeaseID != offer || countTo(v, "reserved") != 2 {
			t.Errorf("instance %s shows the unit %s for %q, history %+v; want reserved for the offer %s", nd.name, v.State, v.LeaseID, v.History, offer)
		}
	}
	if n := freedOnce(v); n != 1 {
		t.Errorf("the unit went back to available %d times after the hold, want 1: %+v", n, v.History)
	}
	// The offer message reaches the gateway once.
	if reqs := c.gw.waitPrefix(t, "reservation/"+offer+"/offer/", time.Minute); len(reqs) != 1 {
		t.Errorf("the offer reached the gateway %d times: %v", len(reqs), reqs)
	}
	// A further pass of both instances' jobs (every 30 s) offers nothing
	// more: the second family still waits.
	time.Sleep(time.Until(offeredAt.Add(31 * time.Second)))
	status, body := waiting[1].call(c.nodes[1].url(), "GET", "/api/v1/me/waitlist", nil)
	var places struct {
		Items []struct {
			ID    string `json:"id"`
			State string `json:"state"`
		} `json:"items"`
	}
	if status != http.StatusOK || json.Unmarshal(body, &places) != nil || len(places.Items) != 1 || places.Items[0].ID != entries[1] || places.Items[0].State != "waiting" {
		t.Errorf("the second family's place: %d %s, want still waiting", status, body)
	}
	offers, err := c.db.Collection("reservations").CountDocuments(ctx, bson.D{{Key: "res.unittag", Value: w.unit.Tag}, {Key: "res.offer", Value: true}})
	if err != nil || offers != 1 {
		t.Errorf("%d offers hold unit %s (%v), want 1", offers, w.unit.Tag, err)
	}
	noShows, err := c.db.Collection("reservations").CountDocuments(ctx, bson.D{{Key: "res.renterid", Value: w.winner.renter}, {Key: "res.noshow", Value: true}})
	if err != nil || noShows != 1 {
		t.Errorf("the winner has %d no-shows (%v), want 1", noShows, err)
	}
	expired := map[string]int{}
	for _, nd := range c.nodes {
		for _, m := range expiredLog.FindAllStringSubmatch(nd.logs.String(), -1) {
			var k int
			fmt.Sscan(m[1], &k)
			expired[nd.name] += k
		}
	}
	t.Logf("holds expired, by instance: %v", expired)
	if expired["a"]+expired["b"] != 1 {
		t.Errorf("the instances expired %v holds, want 1 in all", expired)
	}
}

// freedOnce counts the moves to available between the first reserved event
// and the next reserved one.
func freedOnce(v unitView) int {
	n, in := 0, false
	for _, h := range v.History {
		switch {
		case h.To == "reserved" && !in:
			in = true
		case h.To == "reserved" && in:
			return n
		case h.To == "available" && in:
			n++
		}
	}
	return n
}

// waitOffer waits until f's waitlist place holds an offer and returns the
// offer's reservation id.
func (c *cluster) waitOffer(t *testing.T, f *family, within time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		status, body := f.call(c.nodes[1].url(), "GET", "/api/v1/me/reservations", nil)
		var l struct {
			Items []struct {
				ID    string `json:"id"`
				State string `json:"state"`
				Offer bool   `json:"offer"`
			} `json:"items"`
		}
		if status == http.StatusOK && json.Unmarshal(body, &l) == nil {
			for _, x := range l.Items {
				if x.Offer && x.State == "held" {
					return x.ID
				}
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no offer within %s: %d %s", within, status, strings.TrimSpace(string(body)))
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// A family's reservation made on one instance, and its cancellation, show in
// the other instance's public station stock; three rounds, alternating the
// instances, each time measured from the answer to the write.
func (c *cluster) testReservationVisibility(t *testing.T) {
	w := c.reserve
	if w == nil || len(w.families) == 0 {
		t.Fatal("no families from the reservation race")
	}
	f := w.families[len(w.families)-1]
	var took []string
	var worst time.Duration
	for round := range 3 {
		writer, reader := c.nodes[round%2].url(), c.nodes[(round+1)%2].url()
		u := c.takeUnits(t, 1)[0]
		var slots struct {
			Items []struct {
				Start time.Time `json:"start"`
			} `json:"items"`
		}
		c.api(t, "GET", "", "/api/v1/stations/"+u.StationID+"/slots", nil, &slots)
		if len(slots.Items) == 0 {
			t.Fatalf("station %s has no slots", u.StationID)
		}
		before := available(t, reader, u)
		status, body := f.call(writer, "POST", "/api/v1/me/reservations", map[string]any{"renter_id": f.renter,
			"product_id": u.ProductID, "station_id": u.StationID, "mode": "pickup", "slot": slots.Items[len(slots.Items)-1].Start})
		t0 := time.Now()
		var x struct {
			ID string `json:"id"`
		}
		if status != http.StatusCreated || json.Unmarshal(body, &x) != nil {
			t.Fatalf("reserve on %s: %d %s", writer, status, body)
		}
		stock := func(want int) func([]byte) bool {
			return func(b []byte) bool { n, ok := availableIn(b, u.ProductID); return ok && n == want }
		}
		dHold := waitSeen(t, t0, reader+"/api/v1/stations/"+u.StationID, stock(before-1))
		status, body = f.call(writer, "POST", "/api/v1/me/reservations/"+x.ID+"/cancel", nil)
		t0 = time.Now()
		if status != http.StatusOK {
			t.Fatalf("cancel on %s: %d %s", writer, status, body)
		}
		dCancel := waitSeen(t, t0, reader+"/api/v1/stations/"+u.StationID, stock(before))
		took = append(took, fmt.Sprintf("hold %s, cancel %s", dHold.Round(time.Millisecond), dCancel.Round(time.Millisecond)))
		worst = max(worst, dHold, dCancel)
	}
	t.Logf("a reservation on one instance seen in the other's station stock after (FUJU_POLL_INTERVAL 1s): %s; worst %s", strings.Join(took, "; "), worst.Round(time.Millisecond))
	if worst > 2*time.Second {
		t.Errorf("a reservation took %s to show on the other instance, want at most 2 s", worst)
	}
}
