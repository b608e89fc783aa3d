package messages

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"
)

// Sender hands one message to whatever delivers it. The delivery job calls it
// concurrently. A nil error means the message was accepted; any error is a
// failed attempt, retried unless it is a *SendError with Permanent set.
type Sender interface {
	Send(ctx context.Context, m Outgoing) error
}

// Outgoing is a message as a sender sees it, and the JSON body the http
// sender posts: {"id", "to", "text", "lang"}. ID is the same on every attempt,
// so a gateway can drop repeats.
type Outgoing struct {
	ID   string `json:"id"`
	To   string `json:"to"`
	Text string `json:"text"`
	Lang Lang   `json:"lang"`
}

// String masks the number, so printing an Outgoing never leaks it.
func (m Outgoing) String() string {
	return fmt.Sprintf("{id:%s to:%s lang:%s}", m.ID, MaskPhone(m.To), m.Lang)
}

// LogValue masks the number in structured logs.
func (m Outgoing) LogValue() slog.Value {
	return slog.GroupValue(slog.String("id", m.ID), slog.String("to", MaskPhone(m.To)), slog.String("lang", string(m.Lang)))
}

// SendError is a failed attempt with what the job needs to decide what next.
type SendError struct {
	// Status is the gateway's HTTP status; 0 when it never answered.
	Status int
	// Permanent means retrying cannot help (the gateway refused the message).
	Permanent bool
	// RetryAfter is how long the gateway asked us to wait (429, 503).
	RetryAfter time.Duration
	// Msg says what went wrong, numbers masked.
	Msg string
}

func (e *SendError) Error() string { return e.Msg }

// LogSender writes messages to the log instead of sending them, with the
// number masked: the development default, and what a deployment without a
// gateway does.
type LogSender struct {
	logger *slog.Logger
}

// NewLogSender returns a sender that logs through logger.
func NewLogSender(logger *slog.Logger) *LogSender {
	if logger == nil {
		logger = slog.Default()
	}
	return &LogSender{logger: logger}
}

// Send logs m.
func (s *LogSender) Send(ctx context.Context, m Outgoing) error {
	s.logger.InfoContext(ctx, "message (log sender, not sent)", "id", m.ID, "to", MaskPhone(m.To), "lang", m.Lang, "text", m.Text)
	return nil
}

// HTTPConfig configures the http sender.
type HTTPConfig struct {
	// URL the messages are posted to.
	URL string
	// Token is sent as "Authorization: Bearer <token>".
	Token string
	// Timeout bounds one request; 10 s when zero.
	Timeout time.Duration
	// Client, when set, is used instead of a plain http.Client (tests).
	Client *http.Client
}

// HTTPSender posts each message as JSON to an SMS gateway.
type HTTPSender struct {
	url     string
	token   string
	timeout time.Duration
	client  *http.Client
	now     func() time.Time
}

// NewHTTPSender checks cfg and returns the sender.
func NewHTTPSender(cfg HTTPConfig) (*HTTPSender, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, errors.New("messages: the SMS gateway URL must be an http(s) URL")
	}
	if cfg.Token == "" {
		return nil, errors.New("messages: the SMS gateway needs a token")
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	client := cfg.Client
	if client == nil {
		client = &http.Client{}
	}
	// A gateway that redirects is misconfigured; following it would turn the
	// POST into a GET or send the token elsewhere.
	c := *client
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &HTTPSender{url: cfg.URL, token: cfg.Token, timeout: cfg.Timeout, client: &c, now: time.Now}, nil
}

// Send posts m. It answers nil for 2xx, and for 409, which gateways that
// deduplicate by id answer for a message they already have. 408, 425, 429 and
// 5xx are temporary (with the gateway's Retry-After); other answers are
// permanent.
func (s *HTTPSender) Send(ctx context.Context, m Outgoing) error {
	body, err := json.Marshal(m)
	if err != nil {
		return &SendError{Permanent: true, Msg: "messages: encode request: " + err.Error()}
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url, bytes.NewReader(body))
	if err != nil {
		return &SendError{Permanent: true, Msg: "messages: gateway request: " + err.Error()}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+s.token)
	req.Header.Set("Idempotency-Key", m.ID)
	resp, err := s.client.Do(req)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return &SendError{Msg: fmt.Sprintf("messages: gateway did not answer within %s", s.timeout)}
		}
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the URL is the same for every message; say what failed
		}
		return &SendError{Msg: "messages: gateway unreachable: " + scrub(err.Error())}
	}
	defer resp.Body.Close()
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode/100 == 2 || resp.StatusCode == http.StatusConflict {
		return nil
	}
	e := &SendError{Status: resp.StatusCode, Msg: fmt.Sprintf("messages: gateway answered %d", resp.StatusCode)}
	if t := describeBody(snippet); t != "" {
		e.Msg += ": " + t
	}
	switch {
	case resp.StatusCode == http.StatusTooManyRequests, resp.StatusCode == http.StatusServiceUnavailable:
		e.RetryAfter = retryAfter(resp.Header.Get("Retry-After"), s.now())
	case resp.StatusCode == http.StatusRequestTimeout, resp.StatusCode == http.StatusTooEarly, resp.StatusCode >= 500:
	default:
		e.Permanent = true
	}
	return e
}

// describeBody is the start of a gateway's answer, on one line, numbers
// masked, for the message's log.
func describeBody(b []byte) string {
	s := strings.Join(strings.Fields(string(b)), " ")
	if !utf8.ValidString(s) {
		return ""
	}
	if r := []rune(s); len(r) > 120 {
		s = string(r[:120]) + "…"
	}
	return scrub(s)
}
