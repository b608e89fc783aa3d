package messages

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"fuju/internal/tenancy"
	"fuju/internal/testenv"
)

// The http sender posts {"id","to","text","lang"} with the bearer token and
// the message id as idempotency key.
func TestHTTPSenderRequest(t *testing.T) {
	g := newGateway(t)
	s := g.sender(t, time.Second)
	out := Outgoing{ID: "lease/l-1/due-3d/renter-r-1", To: phone, Text: "您租用的轮椅将于3月5日到期", Lang: Chinese}
	if err := s.Send(context.Background(), out); err != nil {
		t.Fatal(err)
	}
	reqs := g.requests()
	if len(reqs) != 1 {
		t.Fatalf("%d requests", len(reqs))
	}
	r := reqs[0]
	if r.Method != http.MethodPost || r.Auth != "Bearer gw-secret" || r.Idempotency != out.ID || r.ContentType != "application/json" {
		t.Errorf("request %s, auth %q, idempotency %q, type %q", r.Method, r.Auth, r.Idempotency, r.ContentType)
	}
	var body map[string]any
	if err := json.Unmarshal(r.Raw, &body); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"id": out.ID, "to": phone, "text": out.Text, "lang": "zh-CN"}
	if len(body) != len(want) {
		t.Errorf("body has keys %v, want exactly id, to, text, lang", body)
	}
	for k, v := range want {
		if body[k] != v {
			t.Errorf("body[%s] = %v, want %v", k, body[k], v)
		}
	}
}

// How the sender reads the gateway's answers.
func TestHTTPSenderReadsAnswers(t *testing.T) {
	g := newGateway(t)
	s := g.sender(t, time.Second)
	cases := []struct {
		name       string
		status     int
		header     map[string]string
		body       string
		ok         bool
		permanent  bool
		retryAfter time.Duration
	}{
		{"accepted", http.StatusAccepted, nil, "", true, false, 0},
		{"already have it", http.StatusConflict, nil, `{"error":"duplicate id"}`, true, false, 0},
		{"server error", http.StatusInternalServerError, nil, "oops", false, false, 0},
		{"busy", http.StatusTooManyRequests, map[string]string{"Retry-After": "120"}, "", false, false, 2 * time.Minute},
		{"unavailable", http.StatusServiceUnavailable, map[string]string{"Retry-After": "7"}, "", false, false, 7 * time.Second},
		{"bad request", http.StatusBadRequest, nil, `{"error":"number 13800000005 is not reachable"}`, false, true, 0},
		{"wrong token", http.StatusUnauthorized, nil, "", false, true, 0},
		{"redirect", http.StatusFound, map[string]string{"Location": "https://elsewhere.example/"}, "", false, true, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			g.setRespond(func(_ int, _ gatewayRequest, w http.ResponseWriter) bool {
				for k, v := range c.header {
					w.Header().Set(k, v)
				}
				w.WriteHeader(c.status)
				_, _ = w.Write([]byte(c.body))
				return true
			})
			err := s.Send(context.Background(), Outgoing{ID: "x/" + c.name, To: phone, Text: "t", Lang: English})
			if c.ok {
				if err != nil {
					t.Fatalf("Send = %v", err)
				}
				return
			}
			var se *SendError
			if !errors.As(err, &se) {
				t.Fatalf("Send = %v, want a SendError", err)
			}
			if se.Status != c.status || se.Permanent != c.permanent || se.RetryAfter != c.retryAfter {
				t.Errorf("got %+v", se)
			}
			if strings.Contains(se.Error(), phone) {
				t.Errorf("error shows the number: %s", se.Error())
			}
		})
	}
	if reqs := g.requests(); len(reqs) != len(cases) {
		t.Errorf("%d requests for %d cases (a redirect was followed?)", len(reqs), len(cases))
	}
}

// A gateway that does not answer within the timeout is a failed attempt.
func TestHTTPSenderTimeout(t *testing.T) {
	g := newGateway(t)
	g.setRespond(func(_ int, _ gatewayRequest, w http.ResponseWriter) bool {
		time.Sleep(time.Second)
		return false
	})
	s := g.sender(t, 100*time.Millisecond)
	start := time.Now()
	err := s.Send(context.Background(), Outgoing{ID: "x/1", To: phone, Text: "t"})
	var se *SendError
	if !errors.As(err, &se) || se.Permanent || !strings.Contains(se.Msg, "did not answer within 100ms") {
		t.Fatalf("Send = %#v", err)
	}
	if d := time.Since(start); d > 800*time.Millisecond {
		t.Errorf("gave up after %s", d)
	}
	if _, err := NewHTTPSender(HTTPConfig{URL: "ftp://x", Token: "t"}); err == nil {
		t.Error("ftp URL accepted")
	}
	if _, err := NewHTTPSender(HTTPConfig{URL: g.srv.URL}); err == nil {
		t.Error("no token accepted")
	}
}

// A 500 is retried after the backoff; the second send, with the same id,
// succeeds.
func TestServerErrorRetriedWithBackoff(t *testing.T) {
	e := newEnv(t, "2026-03-01 10:00")
	g := newGateway(t)
	g.setRespond(func(n int, _ gatewayRequest, w http.ResponseWriter) bool {
		if n == 1 {
			http.Error(w, "down for a moment", http.StatusInternalServerError)
			return true
		}
		return false
	})
	s := e.service(t, g.sender(t, time.Second), Options{Retry: Retry{Base: time.Minute, Max: time.Hour, Attempts: 5}})
	m := mustEnqueue(t, s, reminder("lease/l-1/due-3d", "r-1"))
	drain(t, s, 3)
	got := mustMessage(t, s, m.ID)
	// Equal jitter at 0.5: three quarters of the first step.
	if got.State != Retrying || got.Attempts != 1 || !got.NextAttemptAt.Equal(e.clock.Now().Add(45*time.Second)) ||
		!strings.Contains(got.Error, "gateway answered 500") {
		t.Fatalf("after a 500: %+v", got)
	}
	e.clock.Advance(44 * time.Second)
	drain(t, s, 3)
	if g.count(m.ID) != 1 {
		t.Fatal("retried before the backoff")
	}
	e.clock.Advance(time.Second)
	drain(t, s, 3)
	got = mustMessage(t, s, m.ID)
	if g.count(m.ID) != 2 || got.State != Sent || got.Attempts != 2 {
		t.Errorf("after the retry: sent %d times, %+v", g.count(m.ID), got)
	}
	_, steps, err := s.StationMessage(context.Background(), tenancy.OperatorScope("op-a"), m.ID)
	if err != nil || len(steps) != 4 || steps[1].State != Retrying || steps[1].Status != http.StatusInternalServerError ||
		steps[3].State != Sent || steps[3].Attempt != 2 {
		t.Errorf("history %+v, %v", steps, err)
	}
}

// 429 with Retry-After holds the message at least that long, even when the
// backoff is shorter.
func TestTooManyRequestsHonoursRetryAfter(t *testing.T) {
	e := newEnv(t, "2026-03-01 10:00")
	g := newGateway(t)
	g.setRespond(func(n int, _ gatewayRequest, w http.ResponseWriter) bool {
		if n == 1 {
			w.Header().Set("Retry-After", "600")
			w.WriteHeader(http.StatusTooManyRequests)
			return true
		}
		return false
	})
	s := e.service(t, g.sender(t, time.Second), Options{Retry: Retry{Base: 10 * time.Second, Max: time.Hour, Attempts: 5}})
	m := mustEnqueue(t, s, reminder("lease/l-1/due-3d", "r-1"))
	drain(t, s, 3)
	if got := mustMessage(t, s, m.ID); !got.NextAttemptAt.Equal(e.clock.Now().Add(10 * time.Minute)) {
		t.Fatalf("next attempt at %s, want in 10 minutes", got.NextAttemptAt)
	}
	e.clock.Advance(9*time.Minute + 59*time.Second)
	drain(t, s, 3)
	if g.count(m.ID) != 1 {
		t.Fatal("retried before Retry-After")
	}
	e.clock.Advance(time.Second)
	drain(t, s, 3)
	if got := mustMessage(t, s, m.ID); got.State != Sent || g.count(m.ID) != 2 {
		t.Errorf("after Retry-After: %s, sent %d times", got.State, g.count(m.ID))
	}
}

// A gateway that hangs costs one attempt; the message is retried.
func TestGatewayTimeoutIsRetried(t *testing.T) {
	e := newEnv(t, "2026-03-01 10:00")
	g := newGateway(t)
	g.setRespond(func(n int, _ gatewayRequest, w http.ResponseWriter) bool {
		if n == 1 {
			time.Sleep(500 * time.Millisecond)
		}
		return false
	})
	s := e.service(t, g.sender(t, 100*time.Millisecond), Options{})
	m := mustEnqueue(t, s, reminder("lease/l-1/due-3d", "r-1"))
	drain(t, s, 3)
	got := mustMessage(t, s, m.ID)
	if got.State != Retrying || !strings.Contains(got.Error, "did not answer") {
		t.Fatalf("after a timeout: %+v", got)
	}
	e.clock.Advance(time.Minute)
	drain(t, s, 3)
	if got := mustMessage(t, s, m.ID); got.State != Sent || got.Attempts != 2 {
		t.Errorf("after the retry: %+v", got)
	}
}

// Every attempt failing ends in failed after the maximum; a refusal ends it at
// once. Numbers the gateway echoes are masked in the message and the logs.
func TestFailures(t *testing.T) {
	e := newEnv(t, "2026-03-01 10:00")
	g := newGateway(t)
	g.setRespond(func(_ int, r gatewayRequest, w http.ResponseWriter) bool {
		if strings.Contains(r.Body.ID, "refused") {
			http.Error(w, `{"error":"13800000005 is on the blocklist"}`, http.StatusUnprocessableEntity)
		} else {
			http.Error(w, "number 13800000005: upstream carrier down", http.StatusBadGateway)
		}
		return true
	})
	s := e.service(t, g.sender(t, time.Second), Options{Retry: Retry{Base: time.Second, Max: time.Minute, Attempts: 3}})
	down := mustEnqueue(t, s, reminder("lease/l-1/due-3d", "r-1"))
	refused := mustEnqueue(t, s, reminder("lease/l-1/refused", "r-1"))
	for range 5 {
		drain(t, s, 3)
		e.clock.Advance(time.Minute)
	}
	got := mustMessage(t, s, down.ID)
	if got.State != Failed || got.Attempts != 3 || g.count(down.ID) != 3 {
		t.Errorf("always down: %s after %d attempts, %d requests", got.State, got.Attempts, g.count(down.ID))
	}
	if got := mustMessage(t, s, refused.ID); got.State != Failed || g.count(refused.ID) != 1 || !strings.Contains(got.Error, "138****0005 is on the blocklist") {
		t.Errorf("refused: %+v after %d requests", got, g.count(refused.ID))
	}
	// Staff see why; the family sees that it failed.
	if inbox, _, _ := s.Inbox(context.Background(), RenterKey("r-1"), 0, 10); len(inbox) != 2 || inbox[0].State != Failed || inbox[0].Error != "" {
		t.Errorf("inbox %+v", inbox)
	}
	if log, _, _ := s.StationLog(context.Background(), tenancy.OperatorScope("op-a"), "op-a", "st-1", 0, 10); len(log) != 2 || log[0].Error == "" {
		t.Errorf("station log %+v", log)
	}
	for _, m := range []Message{got, mustMessage(t, s, refused.ID)} {
		if strings.Contains(m.Error, phone) {
			t.Errorf("error shows the number: %s", m.Error)
		}
	}
	if logs := e.logs.String(); strings.Contains(logs, phone) || !strings.Contains(logs, "138****0005") {
		t.Errorf("logs show the number, or no masked one:\n%s", logs)
	}
	if n := e.count(t, "outbox_due", nil); n != 0 {
		t.Errorf("%d failed messages left in the outbox", n)
	}
}

// A phone code that cannot be sent within its validity expires.
func TestPhoneCodeExpires(t *testing.T) {
	e := newEnv(t, "2026-03-01 10:00")
	g := newGateway(t)
	g.setRespond(func(_ int, _ gatewayRequest, w http.ResponseWriter) bool {
		w.WriteHeader(http.StatusServiceUnavailable)
		return true
	})
	s := e.service(t, g.sender(t, time.Second), Options{Retry: Retry{Base: 2 * time.Minute, Max: time.Hour, Attempts: 8}})
	m := mustEnqueue(t, s, NewMessage{Event: "login/att-1", Kind: PhoneCode, To: Recipient{Key: UserKey("u-1"), Phone: phone}, Params: Params{Code: "1234", Minutes: 5}})
	for range 4 {
		drain(t, s, 3)
		e.clock.Advance(2 * time.Minute)
	}
	if got := mustMessage(t, s, m.ID); got.State != Expired || g.count(m.ID) < 1 || g.count(m.ID) > 3 {
		t.Errorf("code: %+v after %d requests", got, g.count(m.ID))
	}
}

// The log sender writes messages to the log with the number masked.
func TestLogSenderMasksTheNumber(t *testing.T) {
	var buf testenv.Buffer
	s := NewLogSender(slog.New(slog.NewJSONHandler(&buf, nil)))
	if err := s.Send(context.Background(), Outgoing{ID: "lease/l-1/due-3d/renter-r-1", To: phone, Text: "您租用的轮椅", Lang: Chinese}); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	if strings.Contains(out, phone) || !strings.Contains(out, `"to":"138****0005"`) || !strings.Contains(out, "您租用的轮椅") {
		t.Errorf("log: %s", out)
	}
}
