package messages

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"fuju/internal/testenv"
)

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }

// clock is a settable clock shared by the instances of a test.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

// newClock starts at the given city time.
func newClock(cityTime string) *clock {
	t, err := time.ParseInLocation("2006-01-02 15:04", cityTime, Local)
	if err != nil {
		panic(err)
	}
	return &clock{t: t.UTC()}
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// gatewayRequest is one request the test gateway received.
type gatewayRequest struct {
	Raw         []byte
	Body        Outgoing
	Auth        string
	Idempotency string
	ContentType string
	Method      string
}

// gateway is a real HTTP server standing in for the SMS gateway. respond
// decides each answer from how many times this message id was posted (1 for
// the first); nil answers 200.
type gateway struct {
	srv     *httptest.Server
	mu      sync.Mutex
	reqs    []gatewayRequest
	perID   map[string]int
	respond func(n int, r gatewayRequest, w http.ResponseWriter) bool
}

func newGateway(t testing.TB) *gateway {
	g := &gateway{perID: map[string]int{}}
	g.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(r.Body)
		req := gatewayRequest{Raw: raw, Auth: r.Header.Get("Authorization"), Idempotency: r.Header.Get("Idempotency-Key"),
			ContentType: r.Header.Get("Content-Type"), Method: r.Method}
		_ = json.Unmarshal(raw, &req.Body)
		g.mu.Lock()
		g.reqs = append(g.reqs, req)
		g.perID[req.Body.ID]++
		n := g.perID[req.Body.ID]
		respond := g.respond
		g.mu.Unlock()
		if respond != nil && respond(n, req, w) {
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"ok":true,"id":%q}`, req.Body.ID)
	}))
	t.Cleanup(g.srv.Close)
	return g
}

func (g *gateway) sender(t testing.TB, timeout time.Duration) *HTTPSender {
	t.Helper()
	s, err := NewHTTPSender(HTTPConfig{URL: g.srv.URL + "/sms", Token: "gw-secret", Timeout: timeout})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func (g *gateway) setRespond(f func(n int, r gatewayRequest, w http.ResponseWriter) bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.respond = f
}

func (g *gateway) requests() []gatewayRequest {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]gatewayRequest(nil), g.reqs...)
}

func (g *gateway) count(id string) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.perID[id]
}

// auditLog records audit entries like the real audit log would.
type auditLog struct {
	mu      sync.Mutex
	entries []AuditEntry
}

func (a *auditLog) Audit(_ context.Context, e AuditEntry) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.entries = append(a.entries, e)
	return nil
}

type env struct {
	db    *mongo.Database
	clock *clock
	logs  *testenv.Buffer
	audit *auditLog
}

func newEnv(t testing.TB, cityTime string) *env {
	return &env{db: testenv.DB(t), clock: newClock(cityTime), logs: &testenv.Buffer{}, audit: &auditLog{}}
}

// service returns one instance of the outbox over the test's database; a
// test that wants several instances calls it several times.
func (e *env) service(t testing.TB, sender Sender, o Options) *Service {
	t.Helper()
	o.Now = e.clock.Now
	o.Logger = slog.New(slog.NewJSONHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	s, err := NewService(e.db, sender, e.audit, o)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Init(context.Background()); err != nil {
		t.Fatal(err)
	}
	s.jitter = func() float64 { return 0.5 }
	return s
}

func (e *env) count(t testing.TB, coll string, filter bson.D) int64 {
	t.Helper()
	if filter == nil {
		filter = bson.D{}
	}
	n, err := e.db.Collection(coll).CountDocuments(context.Background(), filter)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// at returns a city time on the clock's day.
func cityTime(s string) time.Time {
	t, err := time.ParseInLocation("2006-01-02 15:04", s, Local)
	if err != nil {
		panic(err)
	}
	return t.UTC()
}

// sample returns parameters every kind can be rendered with.
func sample() Params {
	return Params{
		Code: "482913", Minutes: 5,
		Product: Text{Zh: "轻便铝合金轮椅", En: "light aluminium wheelchair"},
		Station: Text{Zh: "民主路站", En: "Minzhu Road station"},
		From:    cityTime("2026-03-02 09:00"), To: cityTime("2026-03-02 11:30"),
		At:   cityTime("2026-03-01 18:00"),
		Date: "2026-03-05", Days: 3, Tier: "low_income",
		AmountFen: 1250, URL: "https://pay.example.cn/l/abc", Note: "证明已过期",
	}
}

const phone = "13800000005"

// reminder is a lease-due reminder to renter r.
func reminder(event, renter string) NewMessage {
	return NewMessage{Event: event, Kind: LeaseDueSoon, To: Recipient{Key: RenterKey(renter), Phone: phone, Lang: Chinese},
		OperatorID: "op-a", StationID: "st-1", Params: sample()}
}

// drain runs delivery passes until nothing is due (or rounds run out).
func drain(t testing.TB, s *Service, rounds int) {
	t.Helper()
	for range rounds {
		n, err := s.Deliver(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return
		}
	}
}

func mustEnqueue(t testing.TB, s *Service, m NewMessage) Message {
	t.Helper()
	got, err := s.Enqueue(context.Background(), m)
	if err != nil {
		t.Fatalf("Enqueue(%s): %v", m.Event, err)
	}
	return got
}

func mustMessage(t testing.TB, s *Service, id string) Message {
	t.Helper()
	m, err := s.Message(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return m
}
