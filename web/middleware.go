package web

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"regexp"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"fuju/internal/audit"
	"fuju/media"
)

const ridKey = "request_id"

var ridRe = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// withRequestID takes a sane X-Request-ID from the client (a load balancer) or
// makes one, and echoes it in the response.
func withRequestID(c *gin.Context) {
	rid := c.GetHeader("X-Request-ID")
	if !ridRe.MatchString(rid) {
		var b [12]byte
		_, _ = rand.Read(b[:])
		rid = hex.EncodeToString(b[:])
	}
	c.Set(ridKey, rid)
	// The services read it from the context for the audit entries they write.
	c.Request = c.Request.WithContext(audit.WithRequestID(c.Request.Context(), rid))
	c.Header("X-Request-ID", rid)
	c.Next()
}

func requestID(c *gin.Context) string {
	return c.GetString(ridKey)
}

// logRequests writes one structured line per request. The query string is not
// logged: it can carry a renter's phone number.
func (s *Server) logRequests(c *gin.Context) {
	start := time.Now()
	c.Next()
	status := c.Writer.Status()
	level := "info"
	attrs := []any{
		"request_id", requestID(c), "method", c.Request.Method, "path", c.Request.URL.Path,
		"route", c.FullPath(), "status", status, "bytes", c.Writer.Size(),
		"duration_ms", float64(time.Since(start).Microseconds()) / 1000, "client_ip", c.ClientIP(),
	}
	switch {
	case status >= 500:
		level = "error"
	case status >= 400:
		level = "warn"
	}
	switch level {
	case "error":
		s.logger.ErrorContext(c.Request.Context(), "request", attrs...)
	case "warn":
		s.logger.WarnContext(c.Request.Context(), "request", attrs...)
	default:
		s.logger.InfoContext(c.Request.Context(), "request", attrs...)
	}
}

// recoverPanics turns a panic into a logged 500 with a clean body.
func (s *Server) recoverPanics(c *gin.Context) {
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			s.logger.ErrorContext(c.Request.Context(), "panic", "request_id", requestID(c), "panic", fmt.Sprint(v),
				"stack", string(debug.Stack()))
			s.fail(c, fmt.Errorf("web: panic: %v", v), wantsJSON(c))
		}
	}()
	c.Next()
}

func wantsJSON(c *gin.Context) bool {
	return strings.HasPrefix(c.Request.URL.Path, "/api/")
}

// securityHeaders keeps pages from being framed, sniffed or loading foreign
// scripts.
func securityHeaders(c *gin.Context) {
	h := c.Writer.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data: blob: https:; script-src 'self'; style-src 'self'; object-src 'none'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'")
	c.Next()
}

type metrics struct {
	requests  *prometheus.CounterVec
	latency   *prometheus.HistogramVec
	pageCache *prometheus.CounterVec
}

func newMetrics(reg *prometheus.Registry) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "fuju_http_requests_total",
			Help: "HTTP requests by route, method and status.",
		}, []string{"route", "method", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "fuju_http_request_duration_seconds",
			Help:    "HTTP request latency by route and method.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"route", "method"}),
		pageCache: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "fuju_page_cache_total",
			Help: "Public page requests by what the page cache did: hit, miss (rendered and kept) or bypass (rendered for this visitor only).",
		}, []string{"result"}),
	}
	reg.MustRegister(m.requests, m.latency, m.pageCache,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// measure records request counts and latency by route pattern (not raw path,
// so ids do not explode the label space).
func (s *Server) measure(c *gin.Context) {
	start := time.Now()
	c.Next()
	route := c.FullPath()
	if route == "" {
		route = "unmatched"
	}
	s.metrics.requests.WithLabelValues(route, c.Request.Method, strconv.Itoa(c.Writer.Status())).Inc()
	s.metrics.latency.WithLabelValues(route, c.Request.Method).Observe(time.Since(start).Seconds())
}

// limitBody caps every request body before anything reads it (the CSRF check
// parses forms): an upload form gets the photo limit plus room for its fields,
// anything else 8 MiB (a CSV of thousands of units fits). Handlers may cap
// lower.
func (s *Server) limitBody(c *gin.Context) {
	if c.Request.Body != nil && c.Request.ContentLength != 0 {
		limit := int64(8 << 20)
		if strings.HasPrefix(c.GetHeader("Content-Type"), "multipart/") && s.media != nil {
			limit = s.media.Pipeline().MaxBytes + 1<<20
			if applicationUpload(c.Request.URL.Path) {
				limit = maxApplicationBody // up to three photos (account_tiers.go)
			}
		}
		if c.Request.ContentLength > limit {
			s.fail(c, fmt.Errorf("web: body of %d bytes: %w", c.Request.ContentLength, media.ErrTooLarge), wantsJSON(c))
			return
		}
		c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, limit)
	}
	c.Next()
}
