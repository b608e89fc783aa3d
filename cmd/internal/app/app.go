// Package app wires Fuju together: the database, the change feed, the domain
// services and their read models, and the jobs every instance runs. The fuju
// command and the benchmark both start from here.
package app

import (
	"cmp"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"log/slog"
	"net/url"
	"path/filepath"
	"time"

	"fuju/accounts"
	"fuju/catalog"
	"fuju/internal/audit"
	"fuju/internal/changefeed"
	"fuju/internal/config"
	"fuju/internal/db"
	"fuju/internal/throttle"
	"fuju/media"
	"fuju/messages"
	"fuju/payments"
	"fuju/rentals"
	"fuju/reports"
	"fuju/stations"
)

// App is the wired program: database, change feed and services.
type App struct {
	DB       *db.DB
	Feed     *changefeed.Feed
	Stations *stations.Service
	Catalog  *catalog.Service
	Policies *rentals.Policies
	Rentals  *rentals.Service
	// Reservations runs online holds and the waitlist on top of Rentals.
	Reservations *rentals.Reservations
	Media        *media.Service
	Auth         *accounts.Service
	// Payments is nil when online payment is off (no STRIPE_SECRET_KEY).
	Payments *payments.Service
	// Messages is the outbox every message to a person goes through.
	Messages *messages.Service
	// Reports makes the monthly subsidy statements.
	Reports *reports.Service
	// SecretKey signs form tokens (from config or DATA_DIR/secrets).
	SecretKey []byte
	// Throttle keeps rate-limit counters in the database, shared by every
	// instance.
	Throttle *throttle.Store
	Logger   *slog.Logger
}

// Open connects to the database and builds every service and read model.
func Open(ctx context.Context, cfg config.Config, logger *slog.Logger) (*App, error) {
	d, err := db.Open(ctx, db.Config{URI: cfg.MongoURI, DataDir: cfg.DataDir, Name: cfg.Database, Logger: logger})
	if err != nil {
		return nil, err
	}
	if cfg.DataDir == "" && cfg.S3Endpoint == "" {
		d.Close(ctx)
		return nil, errors.New("app: media needs DATA_DIR or FUJU_S3_ENDPOINT")
	}
	a := &App{DB: d, Logger: logger}
	mcfg := media.Config{
		Dir: filepath.Join(cfg.DataDir, "media"),
		S3: media.S3Config{Endpoint: cfg.S3Endpoint, AccessKey: cfg.S3AccessKey, SecretKey: cfg.S3SecretKey,
			Region: cfg.S3Region, TLS: cfg.S3TLS, PublicBucket: cfg.S3PublicBucket, PrivateBucket: cfg.S3PrivateBucket},
		PublicURL: cfg.MediaPublicURL, SigningKey: cfg.MediaSigningKey, MaxBytes: cfg.MediaMaxBytes,
		Logger: logger,
	}
	if len(mcfg.SigningKey) == 0 && cfg.DataDir != "" {
		if mcfg.SigningKey, err = config.Secret(cfg.DataDir, "media-signing.key", 32); err != nil {
			a.Close()
			return nil, err
		}
	}
	if a.Media, err = media.Open(ctx, mcfg); err != nil {
		a.Close()
		return nil, err
	}
	if a.SecretKey = cfg.SecretKey; len(a.SecretKey) == 0 {
		if a.SecretKey, err = config.Secret(cfg.DataDir, "app.key", 32); err != nil {
			a.Close()
			return nil, err
		}
	}
	// The counters' _ids are keyed with a key derived from the app key, so
	// every instance with the same secret counts alike.
	tk := hmac.New(sha256.New, a.SecretKey)
	tk.Write([]byte("throttle"))
	a.Throttle = throttle.NewStore(d.Database, tk.Sum(nil))
	a.Feed = changefeed.New(d.Database, "catalog", logger)
	// The accounts store keeps the audit log every service writes to.
	a.Auth = accounts.NewService(d.Database, logger)
	a.Stations = stations.NewService(d.Database, a.Feed, a.Auth, logger)
	a.Catalog = catalog.NewService(d.Database, a.Stations.Index(), a.Feed, a.Auth, logger)
	a.Stations.UseChecklists(a.Catalog)
	a.Stations.ProductsNamed = a.Catalog.Named
	a.Policies = rentals.NewPolicies(d.Database, a.Auth)
	idKey := cfg.IDKey
	if len(idKey) == 0 {
		if idKey, err = config.Secret(cfg.DataDir, "id-number.key", 32); err != nil {
			a.Close()
			return nil, err
		}
	}
	if a.Rentals, err = rentals.NewService(d.Database, a.Stations, a.Catalog, a.Policies, idKey[:32], a.Auth, logger); err != nil {
		a.Close()
		return nil, err
	}
	a.Rentals.UseProofStore(a.Media)
	a.Auth.StationOf = func(ctx context.Context, id string) (string, error) {
		st, err := a.Stations.Station(ctx, id)
		return st.OperatorID, err
	}
	a.Auth.OperatorExists = func(ctx context.Context, id string) error {
		_, err := a.Stations.Operator(ctx, id)
		return err
	}
	if a.Messages, err = openMessages(d, cfg, a.Auth, logger); err != nil {
		a.Close()
		return nil, err
	}
	a.Auth.SendCode = func(ctx context.Context, c accounts.PhoneCode) error {
		_, err := a.Messages.Enqueue(ctx, messages.NewMessage{Event: c.Event, Kind: messages.PhoneCode,
			To:     messages.Recipient{Key: c.Key, Phone: c.Phone, Lang: messages.Lang(c.Lang)},
			Params: messages.Params{Code: c.Code, Minutes: c.Minutes}})
		return err
	}
	a.Rentals.UseTierNotifier(func(ctx context.Context, n rentals.TierNotice) error {
		_, err := a.Messages.Enqueue(ctx, messages.NewMessage{Event: n.Event, Kind: messages.Kind(n.Kind),
			To:         messages.Recipient{Key: messages.RenterKey(n.RenterID), Phone: n.Phone, Lang: a.Messages.LangOf(ctx, messages.RenterKey(n.RenterID), userKey(n.UserID))},
			OperatorID: n.OperatorID, StationID: n.StationID,
			Params: messages.Params{Tier: string(n.Tier), Date: n.Date, Days: n.Days, Note: n.Note}})
		return err
	})
	a.Reports = reports.NewService(d.Database, a.Rentals, a.Stations, a.Auth)
	a.Reports.SetFresh(cfg.ReportsFresh)
	a.Reservations = rentals.NewReservations(d.Database, a.Rentals, a.Stations, a.Messages)
	a.Reports.UseDemand(a.Reservations)
	steps := []func(context.Context) error{a.Stations.Init, a.Catalog.Init, a.Policies.Init, a.Auth.Init, a.Rentals.Init, a.Reservations.Init, a.Messages.Init, a.Throttle.Init, a.Reports.Init,
		a.Stations.EnsureDashboardIndexes, a.Rentals.EnsureDashboardIndexes}
	if cfg.StripeSecretKey != "" {
		a.Payments, err = payments.NewService(d.Database, payments.Config{
			SecretKey: cfg.StripeSecretKey, WebhookSecrets: cfg.StripeWebhookSecrets, APIBase: cfg.StripeAPIBase, FeeBP: cfg.PlatformFeeBP,
		}, leaseLedger{a.Reservations}, a.Auth, logger)
		if err != nil {
			a.Close()
			return nil, err
		}
		a.Reservations.Prepaid = PrepaidMoney{a.Payments}
		a.Rentals.UseDepositRefunds(PrepaidMoney{a.Payments})
		steps = append(steps, a.Payments.Init)
		logger.Info("online payment on", "stripe_api", cmp.Or(cfg.StripeAPIBase, "https://api.stripe.com"), "platform_fee_bp", cfg.PlatformFeeBP)
	} else {
		logger.Info("online payment off (no STRIPE_SECRET_KEY)")
	}
	a.Feed.Handle("station", a.Stations.ApplyStation)
	a.Feed.Handle("unit", a.Stations.ApplyUnit)
	a.Feed.Handle("unit-batch", a.Stations.ApplyUnitBatch)
	a.Feed.Handle("product", a.Catalog.ApplyProduct)
	a.Feed.Handle("policy", a.Policies.Reload)
	// Mark the feed before loading, so changes made while loading are
	// applied afterwards rather than lost.
	if err := a.Feed.Mark(ctx); err != nil {
		a.Close()
		return nil, err
	}
	for _, step := range append(steps, d.Tune) {
		if err := step(ctx); err != nil {
			a.Close()
			return nil, err
		}
	}
	return a, nil
}

// openMessages builds the outbox with the configured sender. A claim on a
// message must outlast a send, so it is at least four gateway timeouts.
func openMessages(d *db.DB, cfg config.Config, audit *accounts.Service, logger *slog.Logger) (*messages.Service, error) {
	var sender messages.Sender = messages.NewLogSender(logger)
	if cfg.SMSSender == config.SMSHTTP {
		h, err := messages.NewHTTPSender(messages.HTTPConfig{URL: cfg.SMSURL, Token: cfg.SMSToken, Timeout: cfg.SMSTimeout})
		if err != nil {
			return nil, err
		}
		sender = h
		logger.Info("messages go to the SMS gateway", "url", redactURL(cfg.SMSURL))
	} else {
		logger.Info("messages are written to the log, not sent (FUJU_SMS_SENDER=log)")
	}
	return messages.NewService(d.Database, sender, auditor{audit}, messages.Options{
		Logger: logger, ClaimTTL: max(cfg.SMSClaim, 4*cfg.SMSTimeout),
	})
}

// auditor writes the outbox's audit entries to the audit log: field names
// only, never values.
type auditor struct{ auth *accounts.Service }

func (a auditor) Audit(ctx context.Context, e messages.AuditEntry) error {
	changes := make([]audit.Change, len(e.Fields))
	for i, f := range e.Fields {
		changes[i] = audit.Change{Field: f}
	}
	return a.auth.Record(ctx, audit.Entry{Actor: audit.Actor{ID: e.Actor.ID, Role: e.Actor.Role}, OperatorID: e.OperatorID, Action: e.Action,
		Target: e.Target, Changes: changes, RequestID: audit.RequestID(ctx)})
}

// redactURL keeps a URL's scheme, host and path for the log.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(unreadable)"
	}
	return u.Scheme + "://" + u.Host + u.Path
}

// Close disconnects and stops the embedded database.
func (a *App) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if a.Media != nil {
		_ = a.Media.Close()
	}
	if err := a.DB.Close(ctx); err != nil {
		a.Logger.Warn("close database", "err", err)
	}
}

// Background runs the jobs every instance runs: following the change feed,
// delivering messages, finishing abandoned transitions, rolling up the days
// that are over, and every ten minutes the lease and tier reminders, a full
// reload of the read models as a safety net and the purge of ended throttle
// windows.
func (a *App) Background(ctx context.Context, cfg config.Config) {
	go a.Feed.Run(ctx, cfg.PollInterval)
	go a.Messages.Run(ctx)
	go func() {
		t := time.NewTicker(30 * time.Second)
		defer t.Stop()
		full := time.NewTicker(10 * time.Minute)
		defer full.Stop()
		// Renters registered before search keys existed get theirs once;
		// until that has finished, every run of the jobs tries again.
		indexed := false
		indexRenters := func() {
			n, err := a.Rentals.IndexRenters(ctx)
			if err != nil {
				a.Logger.Warn("index renters for search", "err", err)
				return
			}
			if n > 0 {
				a.Logger.Info("indexed renters for search", "renters", n)
			}
			indexed = true
		}
		indexRenters()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if !indexed {
					indexRenters()
				}
				// Collections created since the last run get their _id index.
				if err := a.DB.Tune(ctx); err != nil {
					a.Logger.Warn("tune embedded database", "err", err)
				}
				if _, err := a.Auth.PurgeSessions(ctx); err != nil {
					a.Logger.Warn("purge sessions", "err", err)
				}
				if _, err := a.Auth.ReconcilePending(ctx, 5*time.Minute); err != nil {
					a.Logger.Warn("reconcile half-made accounts", "err", err)
				}
				if n, err := a.Rentals.Reconcile(ctx, time.Minute); err != nil {
					a.Logger.Warn("reconcile leases", "err", err)
				} else if n > 0 {
					a.Logger.Info("reconciled leases", "fixed", n)
				}
				if n, err := a.Rentals.MarkOverdue(ctx, time.Now()); err != nil {
					a.Logger.Warn("mark overdue leases", "err", err)
				} else if n > 0 {
					a.Logger.Info("leases now overdue", "count", n)
				}
				if n, err := a.Rentals.ReconcileTierApplications(ctx, 5*time.Minute); err != nil {
					a.Logger.Warn("reconcile tier applications", "err", err)
				} else if n > 0 {
					a.Logger.Info("reconciled tier applications", "fixed", n)
				}
				a.reservationJobs(ctx)
				if n, err := a.Messages.Reconcile(ctx, time.Minute); err != nil {
					a.Logger.Warn("reconcile messages", "err", err)
				} else if n > 0 {
					a.Logger.Info("reconciled messages", "fixed", n)
				}
				if n, err := a.Stations.Reconcile(ctx, time.Minute); err != nil {
					a.Logger.Warn("reconcile units", "err", err)
				} else if n > 0 {
					a.Logger.Info("reconciled units", "fixed", n)
				}
				// Days that are over go into the daily roll-up the
				// dashboards read; a roll cut short is finished here.
				if st, err := a.Reports.Roll(ctx); err != nil {
					a.Logger.Warn("roll up days", "err", err)
				} else if st.Stored+st.Fixed > 0 {
					a.Logger.Info("rolled up days", "stored", st.Stored, "fixed", st.Fixed)
				}
				if a.Payments != nil {
					// Flows stopped for a minute are repaired; what waits on
					// Stripe for 30 minutes is asked about.
					if n, err := a.Payments.Reconcile(ctx, time.Minute, 30*time.Minute); err != nil {
						a.Logger.Warn("reconcile payments", "err", err)
					} else if n > 0 {
						a.Logger.Info("reconciled payments", "fixed", n)
					}
				}
			case <-full.C:
				// Tier-expiring reminders: each is written once per tier and
				// expiry date, so running every ten minutes sends nothing twice.
				if _, err := a.Rentals.RemindTierExpiring(ctx); err != nil {
					a.Logger.Warn("remind expiring tiers", "err", err)
				}
				// Lease reminders are owed by the day: every ten minutes is
				// plenty, and what was written is skipped by _id.
				if n, err := a.RemindLeases(ctx, time.Now()); err != nil {
					a.Logger.Warn("lease reminders", "err", err)
				} else if n > 0 {
					a.Logger.Info("lease reminders written", "count", n)
				}
				if err := a.Stations.Rebuild(ctx); err != nil {
					a.Logger.Warn("rebuild stations read model", "err", err)
				}
				if err := a.Catalog.Rebuild(ctx); err != nil {
					a.Logger.Warn("rebuild catalog read model", "err", err)
				}
				// Throttle windows last 15 minutes to a day: removing ended
				// ones every ten minutes keeps the collection small.
				if _, err := a.Throttle.Purge(ctx); err != nil {
					a.Logger.Warn("purge throttle counters", "err", err)
				}
			}
		}
	}()
}

// reservationJobs runs one pass of the reservation jobs: finish interrupted
// flows, release expired holds, offer freed units to the waitlist, and
// enqueue hold-expiring notices.
func (a *App) reservationJobs(ctx context.Context) {
	for _, j := range []struct {
		name string
		run  func(context.Context) (int, error)
	}{
		{"reconcile reservations", func(ctx context.Context) (int, error) { return a.Reservations.Reconcile(ctx, time.Minute) }},
		{"expire holds", a.Reservations.ExpireHolds},
		{"offer freed units to the waitlist", a.Reservations.OfferFreed},
		{"hold-expiring notices", a.Reservations.Remind},
	} {
		if n, err := j.run(ctx); err != nil {
			a.Logger.Warn(j.name, "err", err)
		} else if n > 0 {
			a.Logger.Info(j.name, "count", n)
		}
	}
}

// userKey is the message recipient key of account id, "" for none.
func userKey(id string) string {
	if id == "" {
		return ""
	}
	return messages.UserKey(id)
}
