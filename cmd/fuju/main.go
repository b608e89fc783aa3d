// Command fuju runs the Fuju assistive-device rental service.
//
//	fuju [serve] [flags]   serve HTTP (the default)
//	fuju seed [flags]      load the demo city into an empty database
//
// Settings come from the environment, flags override; see internal/config.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/gin-gonic/gin"

	"fuju/catalog"
	"fuju/internal/changefeed"
	"fuju/internal/config"
	"fuju/internal/db"
	"fuju/rentals"
	"fuju/stations"
	"fuju/web"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "fuju:", err)
		os.Exit(1)
	}
}

// run is the whole program; tests call it with their own context, arguments,
// environment and output.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cmd := "serve"
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		cmd, args = args[0], args[1:]
	}
	cfg, err := config.Load("fuju "+cmd, args, getenv, stderr)
	if err != nil {
		return err
	}
	logger := newLogger(cfg, stderr)
	switch cmd {
	case "serve":
		return serve(ctx, cfg, logger, stdout)
	case "seed":
		return seedCmd(ctx, cfg, logger, stdout)
	}
	return fmt.Errorf("unknown command %q (want serve or seed)", cmd)
}

func newLogger(cfg config.Config, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.LogLevel}
	if cfg.LogFormat == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

// app is the wired program: database, change feed and services.
type app struct {
	db       *db.DB
	feed     *changefeed.Feed
	stations *stations.Service
	catalog  *catalog.Service
	policies *rentals.Policies
	logger   *slog.Logger
}

// open connects to the database and builds every service and read model.
func open(ctx context.Context, cfg config.Config, logger *slog.Logger) (*app, error) {
	d, err := db.Open(ctx, db.Config{URI: cfg.MongoURI, DataDir: cfg.DataDir, Name: cfg.Database, Logger: logger})
	if err != nil {
		return nil, err
	}
	a := &app{db: d, logger: logger}
	a.feed = changefeed.New(d.Database, "catalog", logger)
	a.stations = stations.NewService(d.Database, a.feed, logger)
	a.catalog = catalog.NewService(d.Database, a.stations.Index(), a.feed, logger)
	a.policies = rentals.NewPolicies(d.Database)
	a.feed.Handle("station", a.stations.ApplyStation)
	a.feed.Handle("unit", a.stations.ApplyUnit)
	a.feed.Handle("product", a.catalog.ApplyProduct)
	a.feed.Handle("policy", a.policies.Reload)
	// Mark the feed before loading, so changes made while loading are
	// applied afterwards rather than lost.
	if err := a.feed.Mark(ctx); err != nil {
		a.close()
		return nil, err
	}
	for _, step := range []func(context.Context) error{a.stations.Init, a.catalog.Init, a.policies.Init} {
		if err := step(ctx); err != nil {
			a.close()
			return nil, err
		}
	}
	return a, nil
}

func (a *app) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := a.db.Close(ctx); err != nil {
		a.logger.Warn("close database", "err", err)
	}
}

// background runs the jobs every instance runs: following the change feed,
// finishing abandoned transitions, and a periodic full reload of the read
// models as a safety net.
func (a *app) background(ctx context.Context, cfg config.Config) {
	go a.feed.Run(ctx, cfg.PollInterval)
	go func() {
		t := time.NewTicker(30 * time.Second)
		defer t.Stop()
		full := time.NewTicker(10 * time.Minute)
		defer full.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if n, err := a.stations.Reconcile(ctx, time.Minute); err != nil {
					a.logger.Warn("reconcile units", "err", err)
				} else if n > 0 {
					a.logger.Info("reconciled units", "fixed", n)
				}
			case <-full.C:
				if err := a.stations.Rebuild(ctx); err != nil {
					a.logger.Warn("rebuild stations read model", "err", err)
				}
				if err := a.catalog.Rebuild(ctx); err != nil {
					a.logger.Warn("rebuild catalog read model", "err", err)
				}
			}
		}
	}()
}

func serve(ctx context.Context, cfg config.Config, logger *slog.Logger, stdout io.Writer) error {
	gin.SetMode(gin.ReleaseMode)
	start := time.Now()
	a, err := open(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer a.close()
	logger.Info("database", "where", a.db.Where, "database", cfg.Database, "data_dir", cfg.DataDir)
	if cfg.Demo {
		seeded, err := seedIfEmpty(ctx, a)
		if err != nil {
			return fmt.Errorf("demo data: %w", err)
		}
		if seeded {
			logger.Info("demo city seeded", "units", a.stations.Index().UnitCount())
		}
	}
	srv, err := web.NewServer(web.Config{
		Catalog: a.catalog, Stations: a.stations, Policies: a.policies, DB: a.db,
		Logger: logger, TrustedProxies: cfg.TrustedProxies, Version: version,
	})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Addr, err)
	}
	hs := &http.Server{
		Handler:           srv,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	bg, stopBG := context.WithCancel(context.WithoutCancel(ctx))
	defer stopBG()
	a.background(bg, cfg)

	url := "http://" + ln.Addr().String()
	logger.Info("listening", "url", url, "startup_ms", time.Since(start).Milliseconds())
	fmt.Fprintf(stdout, "Fuju is running at %s (data: %s). Press Ctrl+C to stop.\n", url, a.db.Where)

	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	logger.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		logger.Warn("shutdown", "err", err)
	}
	stopBG()
	fmt.Fprintln(stdout, "Fuju stopped.")
	return nil
}

func seedCmd(ctx context.Context, cfg config.Config, logger *slog.Logger, stdout io.Writer) error {
	a, err := open(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer a.close()
	seeded, err := seedIfEmpty(ctx, a)
	if err != nil {
		return err
	}
	if !seeded {
		fmt.Fprintln(stdout, "The database already has data; nothing seeded.")
		return nil
	}
	fmt.Fprintf(stdout, "Seeded the demo city into %s: %d stations, %d units.\n", a.db.Where,
		len(a.stations.Index().Stations()), a.stations.Index().UnitCount())
	return nil
}
