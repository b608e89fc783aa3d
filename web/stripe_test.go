package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// webStripe is the transport between the test server's payments and
// stripe-mock. Every request goes to stripe-mock, which checks its
// parameters against Stripe's API document and answers with a fixture;
// webStripe adds the little memory stripe-mock lacks and these tests need:
// the sessions and refunds created (their amounts, metadata, destination
// and fee, under ids of their own), accounts that can take charges once a
// test says the operator finished onboarding, and a family paying a
// session (pay). Nothing in the service is replaced.
type webStripe struct {
	t testing.TB
	// charges makes every connected account able to take charges.
	charges atomic.Bool
	// refuseRefunds plays Stripe refusing every refund at once (as it
	// does for a disputed charge), with Stripe's error body.
	refuseRefunds atomic.Bool
	// down plays Stripe unreachable for refunds: the connection fails
	// before Stripe sees the request.
	down atomic.Bool

	mu       sync.Mutex
	seq      int
	sessions map[string]url.Values // created sessions' forms
	paid     map[string]string     // session → intent that paid it
	expired  map[string]bool       // sessions expired through the API
	intents  map[string]url.Values // paying intent → its session's form
	// mobile are the PaymentIntents created for mobile clients (their
	// forms), canceled those canceled through the API.
	mobile   map[string]url.Values
	canceled map[string]bool
	refunds  []url.Values
	posts    map[string]int // path → POSTs
}

func newWebStripe(t testing.TB) *webStripe {
	return &webStripe{t: t, sessions: map[string]url.Values{}, paid: map[string]string{}, expired: map[string]bool{}, intents: map[string]url.Values{}, posts: map[string]int{},
		mobile: map[string]url.Values{}, canceled: map[string]bool{}}
}

// webStripes finds a test server's webStripe.
var webStripes sync.Map // *Server → *webStripe

func stripeOf(t *testing.T, s *Server) *webStripe {
	t.Helper()
	w, ok := webStripes.Load(s)
	if !ok {
		t.Fatal("no webStripe for this server")
	}
	return w.(*webStripe)
}

var stripeObject = regexp.MustCompile(`^/v1/(checkout/sessions|payment_intents)/([A-Za-z0-9_]+)$`)

var sessionExpiry = regexp.MustCompile(`^/v1/checkout/sessions/([A-Za-z0-9_]+)/expire$`)

var intentCancel = regexp.MustCompile(`^/v1/payment_intents/([A-Za-z0-9_]+)/cancel$`)

func (w *webStripe) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil {
		body, _ = io.ReadAll(req.Body)
		req.Body.Close()
	}
	form, _ := url.ParseQuery(string(body))
	if w.down.Load() && req.URL.Path == "/v1/refunds" {
		return nil, errors.New("dial tcp: connection refused")
	}
	if w.refuseRefunds.Load() && req.Method == http.MethodPost && req.URL.Path == "/v1/refunds" {
		w.mu.Lock()
		w.posts[req.URL.Path]++
		w.mu.Unlock()
		raw := `{"error":{"type":"invalid_request_error","code":"charge_disputed","message":"This charge has been disputed and cannot be refunded."}}`
		return &http.Response{StatusCode: http.StatusBadRequest, Status: "400 Bad Request", Header: http.Header{"Content-Type": {"application/json"}, "Request-Id": {"req_refused"}},
			Body: io.NopCloser(strings.NewReader(raw)), ContentLength: int64(len(raw)), Request: req}, nil
	}
	out := req.Clone(req.Context())
	out.Body = io.NopCloser(bytes.NewReader(body))
	out.ContentLength = int64(len(body))
	resp, err := http.DefaultTransport.RoundTrip(out)
	if err != nil {
		return nil, err
	}
	raw, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	var obj map[string]any
	if resp.StatusCode == http.StatusOK && json.Unmarshal(raw, &obj) == nil {
		w.overlay(req.Method, req.URL.Path, form, obj)
		raw, _ = json.Marshal(obj)
	}
	resp.Body = io.NopCloser(bytes.NewReader(raw))
	resp.ContentLength = int64(len(raw))
	resp.Header.Del("Content-Length")
	return resp, nil
}

func (w *webStripe) overlay(method, path string, form url.Values, obj map[string]any) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if method == http.MethodPost {
		w.posts[path]++
	}
	switch {
	case strings.HasPrefix(path, "/v1/accounts") && !strings.HasPrefix(path, "/v1/account_links"):
		if w.charges.Load() {
			obj["charges_enabled"], obj["payouts_enabled"], obj["details_submitted"] = true, true, true
			obj["requirements"] = map[string]any{"currently_due": []string{}, "eventually_due": []string{}, "past_due": []string{}, "disabled_reason": nil}
		}
	case method == http.MethodPost && path == "/v1/checkout/sessions":
		w.seq++
		id := fmt.Sprintf("cs_test_web%04d", w.seq)
		w.sessions[id] = form
		w.session(id, obj)
	case method == http.MethodPost && path == "/v1/payment_intents":
		w.seq++
		id := fmt.Sprintf("pi_webm%04d", w.seq)
		w.mobile[id] = form
		w.mobileIntent(id, obj)
	case method == http.MethodPost && intentCancel.MatchString(path):
		id := intentCancel.FindStringSubmatch(path)[1]
		if w.mobile[id] != nil {
			w.canceled[id] = true
			w.mobileIntent(id, obj)
		}
	case method == http.MethodPost && path == "/v1/refunds":
		w.seq++
		w.refunds = append(w.refunds, form)
		obj["id"], obj["status"], obj["currency"] = fmt.Sprintf("re_web%04d", w.seq), "succeeded", "cny"
		obj["amount"], obj["payment_intent"], obj["metadata"] = atoi(form.Get("amount")), form.Get("payment_intent"), metadata(form, "")
	case method == http.MethodPost && sessionExpiry.MatchString(path):
		id := sessionExpiry.FindStringSubmatch(path)[1]
		if w.sessions[id] != nil && w.paid[id] == "" {
			w.expired[id] = true
			w.session(id, obj)
		}
	case stripeObject.MatchString(path):
		m := stripeObject.FindStringSubmatch(path)
		if m[1] == "checkout/sessions" && w.sessions[m[2]] != nil {
			w.session(m[2], obj)
		}
		if f := w.intents[m[2]]; m[1] == "payment_intents" && f != nil {
			w.intent(m[2], f, obj)
		}
		if m[1] == "payment_intents" && w.mobile[m[2]] != nil {
			w.mobileIntent(m[2], obj)
		}
	}
}

// session makes obj the session id as created (and paid, once pay said so).
func (w *webStripe) session(id string, obj map[string]any) {
	form := w.sessions[id]
	amount := atoi(form.Get("line_items[0][price_data][unit_amount]"))
	obj["id"], obj["amount_total"], obj["currency"], obj["metadata"] = id, amount, "cny", metadata(form, "")
	obj["client_reference_id"] = form.Get("client_reference_id")
	obj["expires_at"] = atoi(form.Get("expires_at"))
	obj["url"] = "https://checkout.stripe.com/c/pay/" + id
	obj["status"], obj["payment_status"], obj["payment_intent"] = "open", "unpaid", nil
	if w.expired[id] {
		obj["status"] = "expired"
	}
	if pi := w.paid[id]; pi != "" {
		obj["status"], obj["payment_status"] = "complete", "paid"
		intent := map[string]any{"object": "payment_intent"}
		w.intent(pi, form, intent)
		obj["payment_intent"] = intent
	}
}

// mobileIntent makes obj the PaymentIntent id as a mobile client's was
// created, waiting for its payment (or canceled).
func (w *webStripe) mobileIntent(id string, obj map[string]any) {
	form := w.mobile[id]
	obj["id"], obj["amount"], obj["amount_received"], obj["currency"] = id, atoi(form.Get("amount")), 0, "cny"
	obj["status"], obj["client_secret"] = "requires_payment_method", id+"_secret_web"
	if w.canceled[id] {
		obj["status"] = "canceled"
	}
	obj["application_fee_amount"] = atoi(form.Get("application_fee_amount"))
	obj["metadata"] = metadata(form, "")
	obj["transfer_data"] = map[string]any{"destination": form.Get("transfer_data[destination]")}
	obj["latest_charge"] = nil
}

// intent is the PaymentIntent that paid the session of form.
func (w *webStripe) intent(id string, form url.Values, obj map[string]any) {
	amount := atoi(form.Get("line_items[0][price_data][unit_amount]"))
	obj["id"], obj["status"], obj["amount"], obj["amount_received"], obj["currency"] = id, "succeeded", amount, amount, "cny"
	obj["application_fee_amount"] = atoi(form.Get("payment_intent_data[application_fee_amount]"))
	obj["metadata"] = metadata(form, "payment_intent_data")
	obj["transfer_data"] = map[string]any{"destination": form.Get("payment_intent_data[transfer_data][destination]")}
	obj["latest_charge"] = "ch_" + strings.TrimPrefix(id, "pi_")
}

// pay plays the family paying session id on Stripe's page.
func (w *webStripe) pay(id string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.sessions[id] == nil {
		w.t.Fatalf("webStripe: no session %s was created", id)
	}
	pi := "pi_web" + strings.TrimPrefix(id, "cs_test_web")
	w.paid[id], w.intents[pi] = pi, w.sessions[id]
}

// created returns the forms of the sessions created, and how many POSTs
// went to path.
func (w *webStripe) created() map[string]url.Values {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := map[string]url.Values{}
	for k, v := range w.sessions {
		out[k] = v
	}
	return out
}

// isExpired reports whether session id was expired through the API.
func (w *webStripe) isExpired(id string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.expired[id]
}

func (w *webStripe) refundForms() []url.Values {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]url.Values(nil), w.refunds...)
}

func metadata(form url.Values, prefix string) map[string]any {
	md := map[string]any{}
	for k, v := range form {
		if prefix != "" {
			if name, ok := strings.CutPrefix(k, prefix+"[metadata]["); ok {
				md[strings.TrimSuffix(name, "]")] = v[0]
			}
		} else if name, ok := strings.CutPrefix(k, "metadata["); ok {
			md[strings.TrimSuffix(name, "]")] = v[0]
		}
	}
	return md
}

func atoi(s string) int64 {
	n, _ := strconv.ParseInt(s, 10, 64)
	return n
}
