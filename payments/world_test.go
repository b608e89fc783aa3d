package payments

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76/webhook"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"fuju/internal/audit"
	"fuju/internal/tenancy"
	"fuju/internal/testenv"
)

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }

// world is the HTTP transport between the service and stripe-mock. Every
// request goes to stripe-mock, which validates its parameters against
// Stripe's OpenAPI document (API 2023-10-16) and answers with a fixture; the
// world records what the service sent and adds what stripe-mock, being
// stateless, cannot: Stripe's memory. It replays the first answer to a
// repeated idempotency key (as Stripe does for 24 hours), remembers what was
// created (amounts, metadata, destinations) so reading an object back
// returns it, and plays the parts that happen outside Fuju: a family paying,
// a bank failing a refund, a dispute. Nothing in the service is replaced.
type world struct {
	t    testing.TB
	base string

	mu      sync.Mutex
	calls   []stripeCall
	replies map[string]reply
	keyMu   map[string]*sync.Mutex
	objects map[string]map[string]any
	created map[string]url.Values
	seq     int
	// refundStatus is the status Stripe gives new refunds.
	refundStatus string
	// down makes Stripe unreachable.
	down atomic.Bool
}

type stripeCall struct {
	Method, Path, Key string
	Form              url.Values
}

type reply struct {
	status int
	body   []byte
}

func newWorld(t testing.TB) *world {
	return &world{t: t, base: testenv.StripeMock(t), replies: map[string]reply{}, keyMu: map[string]*sync.Mutex{},
		objects: map[string]map[string]any{}, created: map[string]url.Values{}, refundStatus: "succeeded"}
}

var objectPath = regexp.MustCompile(`^/v1/([a-z_/]+?)/([A-Za-z0-9_]+)(/(expire|cancel))?$`)

func (w *world) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil {
		body, _ = io.ReadAll(req.Body)
		req.Body.Close()
	}
	form, _ := url.ParseQuery(string(body))
	if req.Method == http.MethodGet {
		form = req.URL.Query()
	}
	key := req.Header.Get("Idempotency-Key")
	w.mu.Lock()
	w.calls = append(w.calls, stripeCall{Method: req.Method, Path: req.URL.Path, Key: key, Form: form})
	w.mu.Unlock()
	if w.down.Load() {
		return nil, fmt.Errorf("simulated network failure reaching %s", req.URL.Host)
	}
	if req.Method == http.MethodPost && key != "" {
		w.mu.Lock()
		m := w.keyMu[key]
		if m == nil {
			m = &sync.Mutex{}
			w.keyMu[key] = m
		}
		w.mu.Unlock()
		m.Lock() // Stripe runs one request per key at a time
		defer m.Unlock()
		w.mu.Lock()
		r, ok := w.replies[key]
		w.mu.Unlock()
		if ok {
			return w.response(req, r), nil
		}
	}
	r, err := w.forward(req, body, form)
	if err != nil {
		return nil, err
	}
	if req.Method == http.MethodPost && key != "" && r.status < 500 {
		w.mu.Lock()
		w.replies[key] = r
		w.mu.Unlock()
	}
	return w.response(req, r), nil
}

func (w *world) response(req *http.Request, r reply) *http.Response {
	return &http.Response{StatusCode: r.status, Status: strconv.Itoa(r.status) + " " + http.StatusText(r.status),
		Header: http.Header{"Content-Type": {"application/json"}, "Request-Id": {"req_sim"}},
		Body:   io.NopCloser(bytes.NewReader(r.body)), Request: req, ContentLength: int64(len(r.body))}
}

func (w *world) forward(req *http.Request, body []byte, form url.Values) (reply, error) {
	out := req.Clone(req.Context())
	out.Body = io.NopCloser(bytes.NewReader(body))
	out.ContentLength = int64(len(body))
	resp, err := http.DefaultTransport.RoundTrip(out)
	if err != nil {
		return reply{}, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return reply{}, err
	}
	if resp.StatusCode != http.StatusOK {
		w.t.Logf("stripe-mock refused %s %s: %s", req.Method, req.URL.Path, raw)
		return reply{status: resp.StatusCode, body: raw}, nil
	}
	var obj map[string]any
	if err := json.Unmarshal(raw, &obj); err != nil {
		return reply{status: resp.StatusCode, body: raw}, nil
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if status, code := w.learn(req.Method, req.URL.Path, form, obj); status != 0 {
		b, _ := json.Marshal(map[string]any{"error": map[string]any{"type": "invalid_request_error", "code": code, "message": "refused by the simulated Stripe: " + code}})
		return reply{status: status, body: b}, nil
	}
	w.overlay(obj)
	b, _ := json.Marshal(obj)
	return reply{status: http.StatusOK, body: b}, nil
}

func metadataOf(form url.Values, prefix string) map[string]any {
	md := map[string]any{}
	for k, v := range form {
		if name, ok := strings.CutPrefix(k, prefix+"[metadata]["); ok {
			md[strings.TrimSuffix(name, "]")] = v[0]
		} else if name, ok := strings.CutPrefix(k, "metadata["); ok && prefix == "" {
			md[strings.TrimSuffix(name, "]")] = v[0]
		}
	}
	return md
}

func num(form url.Values, k string) any {
	if v := form.Get(k); v != "" {
		n, _ := strconv.ParseInt(v, 10, 64)
		return n
	}
	return nil
}

func toInt(v any) int64 {
	switch n := v.(type) {
	case int64:
		return n
	case int:
		return int64(n)
	case float64:
		return int64(n)
	}
	return 0
}

// learn remembers what a write created or changed, as Stripe would. A
// non-zero status refuses the write with an error code (expiring a paid
// session, canceling a paid intent, refunding more than a payment has left).
func (w *world) learn(method, path string, form url.Values, obj map[string]any) (int, string) {
	id, _ := obj["id"].(string)
	if method != http.MethodPost {
		return 0, ""
	}
	switch path {
	case "/v1/checkout/sessions":
		w.created[id] = form
		w.objects[id] = map[string]any{"metadata": metadataOf(form, ""), "amount_total": num(form, "line_items[0][price_data][unit_amount]"),
			"currency": form.Get("line_items[0][price_data][currency]"), "payment_intent": nil, "status": "open",
			"payment_status": "unpaid", "expires_at": num(form, "expires_at"), "url": "https://checkout.stripe.com/c/pay/" + id}
		return 0, ""
	case "/v1/payment_intents":
		w.created[id] = form
		w.objects[id] = map[string]any{"amount": num(form, "amount"), "currency": form.Get("currency"), "metadata": metadataOf(form, ""),
			"application_fee_amount": num(form, "application_fee_amount"), "status": "requires_payment_method",
			"transfer_data": map[string]any{"destination": form.Get("transfer_data[destination]")},
			"client_secret": id + "_secret_sim", "amount_received": 0, "latest_charge": nil}
		return 0, ""
	case "/v1/refunds":
		pi := w.objects[form.Get("payment_intent")]
		left := toInt(pi["amount_received"])
		for oid, o := range w.objects {
			if strings.HasPrefix(oid, "re_") && o["payment_intent"] == form.Get("payment_intent") && o["status"] != "failed" && o["status"] != "canceled" {
				left -= toInt(o["amount"])
			}
		}
		if pi != nil && toInt(num(form, "amount")) > left {
			return http.StatusBadRequest, "amount_too_large"
		}
		w.objects[id] = map[string]any{"amount": num(form, "amount"), "payment_intent": form.Get("payment_intent"), "currency": "cny",
			"metadata": metadataOf(form, ""), "status": w.refundStatus, "failure_reason": nil}
		return 0, ""
	case "/v1/accounts":
		w.objects[id] = map[string]any{"metadata": metadataOf(form, ""), "charges_enabled": false, "details_submitted": false, "payouts_enabled": false}
		return 0, ""
	}
	m := objectPath.FindStringSubmatch(path)
	if m == nil {
		return 0, ""
	}
	obj["id"] = m[2] // stripe-mock answers actions with a fixture of a random id
	st := w.objects[m[2]]
	if st == nil {
		return 0, ""
	}
	switch m[4] {
	case "expire":
		if st["status"] != "open" {
			return http.StatusBadRequest, "checkout_session_not_open"
		}
		st["status"] = "expired"
	case "cancel":
		if st["status"] == "succeeded" || st["status"] == "canceled" {
			return http.StatusBadRequest, "payment_intent_unexpected_state"
		}
		st["status"] = "canceled"
	}
	return 0, ""
}

// overlay lays what the world knows of an object over stripe-mock's fixture,
// and over the expanded PaymentIntent of a session.
func (w *world) overlay(obj map[string]any) {
	id, _ := obj["id"].(string)
	st := w.objects[id]
	for k, v := range st {
		if k == "payment_intent" {
			if fixture, ok := obj[k].(map[string]any); ok && v != nil {
				pi := map[string]any{}
				for fk, fv := range fixture {
					pi[fk] = fv
				}
				pi["id"] = v
				w.overlay(pi)
				obj[k] = pi
				continue
			}
		}
		obj[k] = v
	}
}

func (w *world) next(prefix string) string {
	w.seq++
	return fmt.Sprintf("%s_sim%04d", prefix, w.seq)
}

// pay plays the family paying a Checkout Session; it returns the intent.
func (w *world) pay(sessionID string) string {
	w.mu.Lock()
	defer w.mu.Unlock()
	form := w.created[sessionID]
	if form == nil {
		w.t.Fatalf("world: no session %s was created", sessionID)
	}
	pi, ch := w.next("pi"), w.next("ch")
	amount := num(form, "line_items[0][price_data][unit_amount]")
	w.objects[pi] = map[string]any{"amount": amount, "amount_received": amount, "currency": "cny", "status": "succeeded",
		"latest_charge": ch, "metadata": metadataOf(form, "payment_intent_data"),
		"application_fee_amount": num(form, "payment_intent_data[application_fee_amount]"),
		"transfer_data":          map[string]any{"destination": form.Get("payment_intent_data[transfer_data][destination]")}}
	w.objects[ch] = map[string]any{"payment_intent": pi, "amount": amount, "currency": "cny", "status": "succeeded"}
	s := w.objects[sessionID]
	s["status"], s["payment_status"], s["payment_intent"] = "complete", "paid", pi
	return pi
}

// payIntent plays a mobile client confirming a PaymentIntent.
func (w *world) payIntent(id string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	st := w.objects[id]
	ch := w.next("ch")
	st["status"], st["amount_received"], st["latest_charge"] = "succeeded", st["amount"], ch
	w.objects[ch] = map[string]any{"payment_intent": id, "amount": st["amount"], "currency": "cny", "status": "succeeded"}
}

// set changes what Stripe says about an object.
func (w *world) set(id string, fields map[string]any) {
	w.mu.Lock()
	defer w.mu.Unlock()
	st := w.objects[id]
	if st == nil {
		st = map[string]any{}
		w.objects[id] = st
	}
	for k, v := range fields {
		st[k] = v
	}
}

// newObject makes an object outside Fuju (a refund in Stripe's dashboard,
// a dispute) and returns its id.
func (w *world) newObject(prefix string, fields map[string]any) string {
	w.mu.Lock()
	id := w.next(prefix)
	w.mu.Unlock()
	w.set(id, fields)
	return id
}

// createdIDs lists the objects created with a POST to path (each distinct
// object once, however often its key was replayed).
func (w *world) createdIDs(prefix string) []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []string
	for id := range w.objects {
		if strings.HasPrefix(id, prefix) && !strings.Contains(id, "_sim") {
			out = append(out, id)
		}
	}
	return out
}

func (w *world) posts(path string) []stripeCall {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []stripeCall
	for _, c := range w.calls {
		if c.Method == http.MethodPost && c.Path == path {
			out = append(out, c)
		}
	}
	return out
}

func (w *world) count(method, prefix string) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := 0
	for _, c := range w.calls {
		if c.Method == method && strings.HasPrefix(c.Path, prefix) {
			n++
		}
	}
	return n
}

// memLedger is the Ledger as rentals must implement it: each outcome key
// applied once. It counts deliveries, so tests see repeats.
type memLedger struct {
	mu    sync.Mutex
	got   map[string]outcome
	order []string
	calls map[string]int
	fail  error
}

func newLedger() *memLedger {
	return &memLedger{got: map[string]outcome{}, calls: map[string]int{}}
}

func (l *memLedger) take(kind string, o Outcome) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.fail != nil {
		return l.fail
	}
	l.calls[o.Key]++
	if _, ok := l.got[o.Key]; !ok {
		l.got[o.Key] = outcome{kind, o}
		l.order = append(l.order, o.Key)
	}
	return nil
}

func (l *memLedger) PaidOnline(_ context.Context, o Outcome) error     { return l.take(outPaid, o) }
func (l *memLedger) RefundedOnline(_ context.Context, o Outcome) error { return l.take(outRefunded, o) }
func (l *memLedger) RefundFailed(_ context.Context, o Outcome) error {
	return l.take(outRefundFailed, o)
}
func (l *memLedger) Disputed(_ context.Context, o Outcome) error { return l.take(outDisputed, o) }

// entries lists "kind key amount" in the order first received.
func (l *memLedger) entries() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, k := range l.order {
		o := l.got[k]
		out = append(out, fmt.Sprintf("%s %s %d", o.kind, k, o.AmountFen))
	}
	return out
}

func (l *memLedger) deliveries(key string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.calls[key]
}

// memAudit is the audit log.
type memAudit struct {
	mu      sync.Mutex
	entries []audit.Entry
}

func (a *memAudit) Record(_ context.Context, e audit.Entry) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.entries = append(a.entries, e)
	return nil
}

func (a *memAudit) actions() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []string
	for _, e := range a.entries {
		out = append(out, e.Action)
	}
	return out
}

const testSecret = "whsec_fuju_test"

// harness is a payments service on a fresh embedded database, talking to
// stripe-mock through a world.
type harness struct {
	t      testing.TB
	ctx    context.Context
	db     *mongo.Database
	w      *world
	svc    *Service
	ledger *memLedger
	audit  *memAudit
	logs   *testenv.Buffer
	clock  *clock
	evSeq  atomic.Int64
}

// clock is the service's time, moved by tests.
type clock struct {
	mu sync.Mutex
	at time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.at
}

func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.at = c.at.Add(d)
}

func newHarness(t testing.TB) *harness {
	t.Helper()
	return newHarnessOn(t, testenv.DB(t))
}

// newHarnessOn is newHarness on database d.
func newHarnessOn(t testing.TB, d *mongo.Database) *harness {
	t.Helper()
	h := &harness{t: t, ctx: context.Background(), db: d, w: newWorld(t), ledger: newLedger(), audit: &memAudit{}, logs: &testenv.Buffer{},
		clock: &clock{at: time.Now().UTC().Truncate(time.Second)}}
	logger := slog.New(slog.NewTextHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	svc, err := NewService(h.db, Config{SecretKey: "sk_test_fuju", WebhookSecrets: []string{"whsec_other", testSecret}, APIBase: h.w.base,
		FeeBP: 250, HTTPClient: &http.Client{Transport: h.w, Timeout: 10 * time.Second}}, h.ledger, h.audit, logger)
	if err != nil {
		t.Fatal(err)
	}
	svc.now = h.clock.now
	if err := svc.Init(h.ctx); err != nil {
		t.Fatal(err)
	}
	h.svc = svc
	return h
}

var (
	adminA = tenancy.Actor{ID: "u-admin-a", Name: "王经理", Role: "operator_admin"}
	family = tenancy.Actor{ID: "u-family", Name: "李奶奶", Role: "family"}
	scopeA = tenancy.OperatorScope("op-a")
	scopeB = tenancy.OperatorScope("op-b")
)

// connect gives operator op an enabled connected account.
func (h *harness) connect(op string) Account {
	h.t.Helper()
	a, err := h.svc.ConnectAccount(h.ctx, tenancy.OperatorScope(op), adminA, op)
	if err != nil {
		h.t.Fatal(err)
	}
	h.w.set(a.StripeID, map[string]any{"charges_enabled": true, "details_submitted": true, "payouts_enabled": true,
		"requirements": map[string]any{"currently_due": []any{}, "eventually_due": []any{}, "past_due": []any{}, "disabled_reason": nil}})
	if a, err = h.svc.RefreshAccount(h.ctx, tenancy.OperatorScope(op), op); err != nil || !a.CanTakeCharges() {
		h.t.Fatalf("account %+v, %v", a, err)
	}
	return a
}

func request(ref, lease, op string, amount int64) PaymentRequest {
	return PaymentRequest{Ref: ref, LeaseID: lease, OperatorID: op, Purpose: FirstPeriod, AmountFen: amount,
		SuccessURL: "https://fuju.example/pay/done", CancelURL: "https://fuju.example/pay/cancel"}
}

func (h *harness) checkout(ref, lease, op string, amount int64) Page {
	h.t.Helper()
	p, err := h.svc.StartCheckout(h.ctx, family, request(ref, lease, op, amount))
	if err != nil {
		h.t.Fatalf("checkout %s: %v", ref, err)
	}
	return p
}

// sessionOf returns the Checkout Session id of a payment's open attempt.
func (h *harness) sessionOf(lease, ref string) string {
	h.t.Helper()
	t, err := h.svc.head(h.ctx, lease)
	if err != nil {
		h.t.Fatal(err)
	}
	i := t.payment(ref)
	if i < 0 {
		h.t.Fatalf("no payment %s on %s", ref, lease)
	}
	return t.Payments[i].current().SessionID
}

// event returns a signed webhook request for an event about an object.
func (h *harness) event(id, typ, objectType, objectID string, at time.Time, mutate func(map[string]any)) ([]byte, string) {
	ev := map[string]any{"id": id, "object": "event", "api_version": apiVersion, "created": at.Unix(), "type": typ,
		"livemode": false, "pending_webhooks": 1, "request": map[string]any{"id": nil, "idempotency_key": nil},
		"data": map[string]any{"object": map[string]any{"id": objectID, "object": objectType}}}
	if mutate != nil {
		mutate(ev)
	}
	payload, _ := json.Marshal(ev)
	signed := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: payload, Secret: testSecret, Timestamp: at})
	return signed.Payload, signed.Header
}

// deliver sends a fresh event about an object and returns the handler's
// error.
func (h *harness) deliver(typ, objectType, objectID string) error {
	id := fmt.Sprintf("evt_%s_%d", strings.ReplaceAll(h.t.Name(), "/", "_"), h.evSeq.Add(1))
	payload, sig := h.event(id, typ, objectType, objectID, time.Now(), nil)
	return h.svc.HandleWebhook(h.ctx, payload, sig)
}

func (h *harness) mustDeliver(typ, objectType, objectID string) {
	h.t.Helper()
	if err := h.deliver(typ, objectType, objectID); err != nil {
		h.t.Fatalf("deliver %s %s: %v", typ, objectID, err)
	}
}

// paid runs a whole checkout: page, the family pays, the webhook arrives.
func (h *harness) paid(ref, lease, op string, amount int64) string {
	h.t.Helper()
	h.checkout(ref, lease, op, amount)
	sid := h.sessionOf(lease, ref)
	pi := h.w.pay(sid)
	h.mustDeliver("checkout.session.completed", "checkout.session", sid)
	return pi
}

func (h *harness) tab(lease string) Tab {
	h.t.Helper()
	t, err := h.svc.Tab(h.ctx, tenancy.PlatformScope, lease)
	if err != nil {
		h.t.Fatal(err)
	}
	return t
}

func (h *harness) reconcile() int {
	h.t.Helper()
	n, err := h.svc.Reconcile(h.ctx, -time.Second, -time.Second)
	if err != nil {
		h.t.Fatalf("reconcile: %v", err)
	}
	return n
}
