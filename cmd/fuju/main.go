// Command fuju runs the Fuju assistive-device rental service.
//
//	fuju [serve] [flags]   serve HTTP (the default)
//	fuju seed [flags]      load the demo city into an empty database
//	fuju admin create-user --role platform_admin --phone 13800000000 --name 管理员
//	                       create an account (the first platform admin); prints
//	                       a one-time password, or reads one with --password-stdin
//
// Settings come from the environment, flags override; see internal/config.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/gin-gonic/gin"

	"fuju/accounts"
	"fuju/cmd/internal/app"
	"fuju/cmd/internal/demo"
	"fuju/internal/config"
	"fuju/internal/valid"
	"fuju/reports"
	"fuju/web"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	config.TuneGC(os.Getenv)
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "fuju:", err)
		os.Exit(1)
	}
}

// run is the whole program; tests call it with their own context, arguments,
// environment and output.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	cmd := "serve"
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		cmd, args = args[0], args[1:]
	}
	if cmd == "admin" {
		return adminCmd(ctx, args, getenv, stdin, stdout, stderr)
	}
	var rest []string
	if cmd == "rollup" {
		rest, args = args, nil // its words are its own; settings come from the environment
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
	case "rollup":
		return rollupCmd(ctx, cfg, logger, stdout, rest)
	}
	return fmt.Errorf("unknown command %q (want serve, seed, rollup or admin)", cmd)
}

func newLogger(cfg config.Config, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.LogLevel}
	if cfg.LogFormat == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

func serve(ctx context.Context, cfg config.Config, logger *slog.Logger, stdout io.Writer) error {
	gin.SetMode(gin.ReleaseMode)
	start := time.Now()
	a, err := app.Open(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer a.Close()
	logger.Info("database", "where", a.DB.Where, "database", cfg.Database, "data_dir", cfg.DataDir)
	if cfg.Demo {
		seeded, err := demo.SeedIfEmpty(ctx, a, 1, cfg.DemoHistory)
		if err != nil {
			return fmt.Errorf("demo data: %w", err)
		}
		if seeded {
			logger.Info("demo city seeded", "units", a.Stations.Index().UnitCount())
			if err := a.DB.Tune(ctx); err != nil {
				return err
			}
		}
	}
	srv, err := web.NewServer(web.Config{
		Catalog: a.Catalog, Stations: a.Stations, Policies: a.Policies, Rentals: a.Rentals, Media: a.Media, DB: a.DB, Auth: a.Auth,
		SecretKey: a.SecretKey, Throttle: a.Throttle, Logger: logger, TrustedProxies: cfg.TrustedProxies, Version: version, PublicURL: cfg.PublicURL,
		Reports: a.Reports, Payments: a.Payments, Messages: a.Messages, Reservations: a.Reservations,
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
	a.Background(bg, cfg)

	url := "http://" + ln.Addr().String()
	logger.Info("listening", "url", url, "startup_ms", time.Since(start).Milliseconds())
	fmt.Fprintf(stdout, "Fuju is running at %s (data: %s). Press Ctrl+C to stop.\n", url, a.DB.Where)

	// Requests run under reqs, which a graceful stop cancels when its
	// timeout has passed, before the database closes: a request still
	// running then ends with an answer (503, see web.Server.Stop) rather
	// than failing against a closed database or being dropped.
	reqs, cutRequests := context.WithCancel(context.WithoutCancel(ctx))
	defer cutRequests()
	hs.BaseContext = func(net.Listener) context.Context { return reqs }
	conns := &connCount{}
	hs.ConnState = conns.track
	dl := newDrainingListener(ln.(*net.TCPListener))
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(dl) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	logger.Info("shutting down")
	srv.Stop()
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	if err := stopServing(sctx, hs, dl, conns, errc); err != nil && !errors.Is(err, http.ErrServerClosed) {
		logger.Warn("shutdown: requests still running were cut", "err", err, "connections", conns.open())
		cutRequests()
		for end := time.Now().Add(cutGrace); conns.open() > 0 && time.Now().Before(end); {
			time.Sleep(10 * time.Millisecond)
		}
	}
	stopBG()
	fmt.Fprintln(stdout, "Fuju stopped.")
	return nil
}

func seedCmd(ctx context.Context, cfg config.Config, logger *slog.Logger, stdout io.Writer) error {
	a, err := app.Open(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer a.Close()
	seeded, err := demo.SeedIfEmpty(ctx, a, 1, cfg.DemoHistory)
	if err != nil {
		return err
	}
	if !seeded {
		fmt.Fprintln(stdout, "The database already has data; nothing seeded.")
		return nil
	}
	fmt.Fprintf(stdout, "Seeded the demo city into %s: %d stations, %d units.\n", a.DB.Where,
		len(a.Stations.Index().Stations()), a.Stations.Index().UnitCount())
	return nil
}

// rollupCmd stores the daily roll-up's days that are over (what every
// instance does every 30 seconds), or with "rebuild" computes every stored
// day again from the logs and corrects those that differ, for every
// operator or the one named.
func rollupCmd(ctx context.Context, cfg config.Config, logger *slog.Logger, stdout io.Writer, args []string) error {
	rebuild, operator := false, ""
	switch {
	case len(args) == 0:
	case args[0] == "rebuild" && len(args) <= 2:
		rebuild = true
		if len(args) == 2 {
			operator = args[1]
		}
	default:
		return errors.New("usage: fuju rollup [rebuild [OPERATOR]]")
	}
	a, err := app.Open(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer a.Close()
	start := time.Now()
	var st reports.RollStats
	if rebuild {
		st, err = a.Reports.RebuildRollup(ctx, operator)
	} else {
		st, err = a.Reports.Roll(ctx)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Roll-up of %d operators: %d days stored, %d corrected, in %s.\n", st.Operators, st.Stored, st.Fixed,
		time.Since(start).Round(time.Millisecond))
	return nil
}

// adminCmd runs administrative commands against the configured database
// (settings from the environment).
func adminCmd(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "create-user" {
		return errors.New("usage: fuju admin create-user --role ROLE (--phone N | --email E) --name NAME [--operator ID] [--stations ID,ID] [--password-stdin]")
	}
	fs := flag.NewFlagSet("fuju admin create-user", flag.ContinueOnError)
	fs.SetOutput(stderr)
	role := fs.String("role", "platform_admin", "renter, staff, operator_admin or platform_admin")
	phone := fs.String("phone", "", "mainland mobile number to log in with")
	email := fs.String("email", "", "e-mail address to log in with")
	name := fs.String("name", "", "the person's name")
	operator := fs.String("operator", "", "operator id (staff and operator admins)")
	stationList := fs.String("stations", "", "comma-separated station ids (staff)")
	fromStdin := fs.Bool("password-stdin", false, "read the password from standard input instead of generating a one-time password")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	cfg, err := config.Load("fuju admin", nil, getenv, stderr)
	if err != nil {
		return err
	}
	logger := newLogger(cfg, stderr)
	password, oneTime := "", true
	if *fromStdin {
		line, err := bufio.NewReader(stdin).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("read password: %w", err)
		}
		password, oneTime = strings.TrimRight(line, "\r\n"), false
	} else {
		password = accounts.OneTimePassword()
	}
	a, err := app.Open(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer a.Close()
	var stationIDs []string
	for _, id := range strings.Split(*stationList, ",") {
		if id = strings.TrimSpace(id); id != "" {
			stationIDs = append(stationIDs, id)
		}
	}
	u, err := a.Auth.CreateUser(ctx, accounts.NewUser{Name: *name, Phone: *phone, Email: *email, Password: password,
		Role: accounts.Role(*role), OperatorID: *operator, StationIDs: stationIDs, MustChangePassword: oneTime})
	if err != nil {
		if fields, ok := valid.Fields(err); ok {
			var b strings.Builder
			for _, k := range (&valid.Error{Fields: fields}).Keys() {
				fmt.Fprintf(&b, "\n  --%s: %s", strings.ReplaceAll(strings.TrimSuffix(k, "_id"), "_", "-"), fields[k].Message)
			}
			return fmt.Errorf("cannot create the user:%s", b.String())
		}
		return err
	}
	fmt.Fprintf(stdout, "Created %s %s (%s), id %s.\n", u.Role, u.Name, u.Login(), u.ID)
	if oneTime {
		fmt.Fprintf(stdout, "One-time password: %s\nIt must be changed at the first login.\n", password)
	}
	return nil
}
