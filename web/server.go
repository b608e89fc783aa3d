// Package web is Fuju's HTTP face: the Gin router, middleware, the JSON API
// under /api/v1 and the server-rendered pages. Handlers return errors and one
// place (fail) turns them into statuses. web never talks to the database: it
// calls the domain services.
package web

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"

	"fuju/accounts"
	"fuju/catalog"
	"fuju/internal/throttle"
	"fuju/media"
	"fuju/messages"
	online "fuju/payments"
	"fuju/rentals"
	"fuju/reports"
	"fuju/stations"
)

// Database is what the web layer asks of the database itself, never its
// driver: whether it answers (/readyz), and whether an error means it did
// not answer in time (503 busy, see Server.status).
type Database interface {
	Ping(ctx context.Context) error
	Overloaded(err error) bool
}

// Config is what the server needs from the rest of the program.
type Config struct {
	Catalog  *catalog.Service
	Stations *stations.Service
	Policies *rentals.Policies
	Rentals  *rentals.Service
	// Reservations runs online holds and the waitlist.
	Reservations *rentals.Reservations
	Media        *media.Service
	DB           Database
	Logger       *slog.Logger
	// TrustedProxies are the addresses whose X-Forwarded-For is believed;
	// empty trusts none, so the client IP is the peer address.
	TrustedProxies []string
	// Version is shown in /healthz.
	Version string
	// Now is the clock; tests set it. Defaults to time.Now.
	Now func() time.Time
	// Auth is identity: users, sessions, API tokens, audit log.
	Auth *accounts.Service
	// SecretKey signs form tokens; at least 32 bytes, the same on every
	// instance.
	SecretKey []byte
	// Throttle keeps the login and sign-up throttles' counters in the
	// database, shared by every instance (internal/throttle).
	Throttle *throttle.Store
	// PublicURL is the site's address as visitors see it
	// (https://fuju.example.cn), for absolute links in shared-link previews
	// and language alternates; empty uses the request's host.
	PublicURL string
	// Reports makes the monthly subsidy statements.
	Reports *reports.Service
	// Payments takes money online through Stripe; nil when online payment
	// is off (no STRIPE_SECRET_KEY).
	Payments *online.Service
	// Messages is the outbox: families' inboxes and stations' message logs.
	Messages *messages.Service
}

// Server serves Fuju over HTTP.
type Server struct {
	cfg      Config
	catalog  *catalog.Service
	stations *stations.Service
	policies *rentals.Policies
	rentals  *rentals.Service
	reserve  *rentals.Reservations
	media    *media.Service
	reports  *reports.Service
	payments *online.Service
	messages *messages.Service
	auth     *accounts.Service
	logger   *slog.Logger
	engine   *gin.Engine
	// handler serves every request: the router, which tests wrap in a
	// check of each API exchange against the OpenAPI document.
	handler  http.Handler
	pages    *renderer
	metrics  *metrics
	registry *prometheus.Registry
	started  time.Time
	// openAPIDoc is the merged OpenAPI document.
	openAPIDoc []byte
	// Login attempts per account and per client IP, sign-ups per client IP
	// and per phone number or e-mail address.
	loginByAccount, loginByIP limiter
	signupByIP, signupByLogin limiter
	// renterLookups throttles renter searches per desk person or token.
	renterLookups limiter
	// payLinksByIP throttles presses of payment links' pay button.
	payLinksByIP limiter
	// cache keeps the public pages visitors see alike (pagecache.go).
	cache *pageCache
	// stopping is set when the instance begins a graceful stop (Stop).
	stopping atomic.Bool
}

// Stop tells the server that its instance is stopping. From then on /readyz
// answers 503, so a load balancer sends it nothing new, while the requests
// already accepted are served. A request that fails while the instance stops
// (its work cut by the shutdown timeout) is answered 503 "busy" with
// Retry-After instead of 500: a cut desk flow is left to its pending marker
// and the reconciler (docs/transitions.md), and trying again is safe.
func (s *Server) Stop() { s.stopping.Store(true) }

// NewServer builds the router and parses the templates once.
func NewServer(cfg Config) (*Server, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	s := &Server{
		cfg:      cfg,
		catalog:  cfg.Catalog,
		stations: cfg.Stations,
		policies: cfg.Policies,
		rentals:  cfg.Rentals,
		reserve:  cfg.Reservations,
		media:    cfg.Media,
		reports:  cfg.Reports,
		payments: cfg.Payments,
		messages: cfg.Messages,
		auth:     cfg.Auth,
		logger:   cfg.Logger,
		started:  time.Now(),
		cache:    newPageCache(pageCacheBytes),
	}
	var err error
	if s.pages, err = newRenderer(); err != nil {
		return nil, fmt.Errorf("web: templates: %w", err)
	}
	if cfg.Now == nil {
		s.cfg.Now = time.Now
	}
	if len(cfg.SecretKey) < 32 {
		return nil, fmt.Errorf("web: the secret key must be at least 32 bytes")
	}
	if cfg.Throttle == nil {
		return nil, fmt.Errorf("web: the throttle counters are required")
	}
	s.loginByAccount = limiter{cfg.Throttle.Limit("login-account", LoginsPerAccount, LoginWindow)}
	s.loginByIP = limiter{cfg.Throttle.Limit("login-ip", LoginsPerIP, LoginWindow)}
	s.signupByIP = limiter{cfg.Throttle.Limit("signup-ip", SignupsPerIP, time.Hour)}
	s.signupByLogin = limiter{cfg.Throttle.Limit("signup-login", SignupsPerLogin, 24*time.Hour)}
	s.renterLookups = limiter{cfg.Throttle.Limit("renter-lookups", RenterLookupsPerMinute, time.Minute)}
	s.payLinksByIP = limiter{cfg.Throttle.Limit("paylink-ip", PayLinksPerIP, 10*time.Minute)}
	if s.openAPIDoc, err = buildOpenAPI(); err != nil {
		return nil, fmt.Errorf("web: openapi: %w", err)
	}
	s.registry = prometheus.NewRegistry()
	s.metrics = newMetrics(s.registry)
	s.engine = gin.New()
	s.engine.ContextWithFallback = true
	if err := s.engine.SetTrustedProxies(cfg.TrustedProxies); err != nil {
		return nil, fmt.Errorf("web: trusted proxies: %w", err)
	}
	s.routes()
	s.handler = s.engine
	return s, nil
}

func (s *Server) now() time.Time { return s.cfg.Now() }

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.handler.ServeHTTP(w, r)
}

// Routes lists every registered route as "METHOD path" (for the OpenAPI test).
func (s *Server) Routes() []gin.RouteInfo {
	return s.engine.Routes()
}
