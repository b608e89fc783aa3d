// Package config reads Fuju's settings once, from the environment with
// command-line flags overriding, into one struct the main function passes on.
package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"time"
)

// Config holds every setting. Zero values are the embedded defaults.
type Config struct {
	Addr           string
	MongoURI       string
	DataDir        string
	Database       string
	Demo           bool
	LogLevel       slog.Level
	LogFormat      string // json or text
	TrustedProxies []string
	// ShutdownTimeout bounds how long in-flight requests may finish.
	ShutdownTimeout time.Duration
	// PollInterval is how often read models look for other instances' changes.
	PollInterval time.Duration
}

// Vars documents each environment variable with its flag and default; the
// README's configuration table is written from it.
var Vars = []struct{ Env, Flag, Default, Help string }{
	{"FUJU_ADDR", "addr", "127.0.0.1:8080", "address to listen on"},
	{"MONGODB_URI", "mongodb-uri", "", "MongoDB URI; empty starts the embedded FerretDB (SQLite) in DATA_DIR"},
	{"DATA_DIR", "data-dir", "./data", "directory for the embedded database and local media"},
	{"FUJU_DB_NAME", "db-name", "fuju", "database name"},
	{"FUJU_DEMO", "demo", "false", "seed the demo city when the database is empty"},
	{"FUJU_LOG_LEVEL", "log-level", "info", "debug, info, warn or error"},
	{"FUJU_LOG_FORMAT", "log-format", "json", "json or text"},
	{"FUJU_TRUSTED_PROXIES", "trusted-proxies", "", "comma-separated proxy addresses/CIDRs whose X-Forwarded-For is trusted"},
	{"FUJU_SHUTDOWN_TIMEOUT", "shutdown-timeout", "15s", "how long a graceful stop waits for requests"},
	{"FUJU_POLL_INTERVAL", "poll-interval", "1s", "how often to pick up other instances' changes"},
}

// Load reads the environment through getenv, then flags from args.
func Load(name string, args []string, getenv func(string) string, stderr io.Writer) (Config, error) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	vals := map[string]*string{}
	for _, v := range Vars {
		def := getenv(v.Env)
		if def == "" {
			def = v.Default
		}
		vals[v.Env] = fs.String(v.Flag, def, v.Help+" ($"+v.Env+")")
	}
	if err := fs.Parse(args); err != nil {
		return Config{}, err
	}
	if fs.NArg() > 0 {
		return Config{}, fmt.Errorf("config: unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	get := func(env string) string { return strings.TrimSpace(*vals[env]) }
	var errs []error
	c := Config{
		Addr:      get("FUJU_ADDR"),
		MongoURI:  get("MONGODB_URI"),
		DataDir:   get("DATA_DIR"),
		Database:  get("FUJU_DB_NAME"),
		LogFormat: get("FUJU_LOG_FORMAT"),
	}
	var err error
	if c.Demo, err = strconv.ParseBool(get("FUJU_DEMO")); err != nil {
		errs = append(errs, fmt.Errorf("FUJU_DEMO: want true or false, got %q", get("FUJU_DEMO")))
	}
	if err := c.LogLevel.UnmarshalText([]byte(get("FUJU_LOG_LEVEL"))); err != nil {
		errs = append(errs, fmt.Errorf("FUJU_LOG_LEVEL: %w", err))
	}
	if c.LogFormat != "json" && c.LogFormat != "text" {
		errs = append(errs, fmt.Errorf("FUJU_LOG_FORMAT: want json or text, got %q", c.LogFormat))
	}
	for _, p := range strings.Split(get("FUJU_TRUSTED_PROXIES"), ",") {
		if p = strings.TrimSpace(p); p != "" {
			c.TrustedProxies = append(c.TrustedProxies, p)
		}
	}
	if c.ShutdownTimeout, err = time.ParseDuration(get("FUJU_SHUTDOWN_TIMEOUT")); err != nil {
		errs = append(errs, fmt.Errorf("FUJU_SHUTDOWN_TIMEOUT: %w", err))
	}
	if c.PollInterval, err = time.ParseDuration(get("FUJU_POLL_INTERVAL")); err != nil || c.PollInterval <= 0 {
		errs = append(errs, fmt.Errorf("FUJU_POLL_INTERVAL: want a positive duration such as 1s, got %q", get("FUJU_POLL_INTERVAL")))
	}
	if c.MongoURI == "" && c.DataDir == "" {
		errs = append(errs, errors.New("DATA_DIR: needed for the embedded database when MONGODB_URI is empty"))
	}
	if c.Database == "" {
		errs = append(errs, errors.New("FUJU_DB_NAME: must not be empty"))
	}
	return c, errors.Join(errs...)
}
