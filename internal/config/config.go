// Package config reads Fuju's settings once, from the environment with
// command-line flags overriding, into one struct the main function passes on.
package config

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Config holds every setting. Zero values are the embedded defaults.
type Config struct {
	Addr     string
	MongoURI string
	DataDir  string
	Database string
	Demo     bool
	// DemoHistory adds a year of past rentals, reservations and statements
	// to the demo city (only with Demo).
	DemoHistory    bool
	LogLevel       slog.Level
	LogFormat      string // json or text
	TrustedProxies []string
	// ShutdownTimeout bounds how long in-flight requests may finish.
	ShutdownTimeout time.Duration
	// PollInterval is how often read models look for other instances' changes.
	PollInterval time.Duration
	// PublicURL is the site's address as visitors see it, for absolute links
	// in shared-link previews and language alternates; empty uses the
	// request's host.
	PublicURL string

	// Object storage; S3 is used when S3Endpoint is set, a directory under
	// DataDir otherwise.
	S3Endpoint      string
	S3AccessKey     string
	S3SecretKey     string
	S3Region        string
	S3TLS           bool
	S3PublicBucket  string
	S3PrivateBucket string
	MediaPublicURL  string
	// MediaSigningKey signs private media URLs; empty means a key kept in
	// DataDir/secrets (see Secret).
	MediaSigningKey []byte
	MediaMaxBytes   int64

	// SecretKey signs form (CSRF) tokens; empty means a key kept in
	// DataDir/secrets. Several instances must share it.
	SecretKey []byte
	// IDKey encrypts renters' ID numbers (32 bytes, AES-256); empty means a
	// key kept in DataDir/secrets.
	IDKey []byte

	// Online payment through Stripe is on only when StripeSecretKey is set.
	StripeSecretKey string
	// StripeWebhookSecrets are the signing secrets of the Stripe webhook
	// endpoints (the platform's and, for connected accounts' events, the
	// Connect endpoint's); an event signed with any of them is accepted.
	StripeWebhookSecrets []string
	// StripeAPIBase replaces https://api.stripe.com (stripe-mock in tests).
	StripeAPIBase string
	// PlatformFeeBP is the platform's application fee on online payments in
	// basis points; the fee is rounded down to the fen.
	PlatformFeeBP int
	// SMSSender is how messages to people leave: "log" (the default: written
	// to the log with numbers masked) or "http" (posted to SMSURL).
	SMSSender string
	SMSURL    string
	// SMSToken is the gateway's bearer secret.
	SMSToken string
	// SMSTimeout bounds one request to the gateway.
	SMSTimeout time.Duration
	// SMSClaim is how long an instance's claim on a message it is sending
	// holds before another instance may send it (after a crash); at least
	// four times SMSTimeout is used, so a slow gateway never gets a
	// message twice.
	SMSClaim time.Duration
	// ReportsFresh is how long what the reports compute from the logs
	// (today's dashboard figures, the subsidy moves of statement drafts)
	// serves further requests of the same operator or the city.
	ReportsFresh time.Duration
}

// SMS senders.
const (
	SMSLog  = "log"
	SMSHTTP = "http"
)

// Vars documents each environment variable with its flag and default; the
// README's configuration table is written from it.
var Vars = []struct{ Env, Flag, Default, Help string }{
	{"FUJU_ADDR", "addr", "127.0.0.1:8080", "address to listen on"},
	{"FUJU_PUBLIC_URL", "public-url", "", "the site's address as visitors see it (https://fuju.example.cn), for shared-link previews and language links; empty uses the request's host"},
	{"MONGODB_URI", "mongodb-uri", "", "MongoDB URI; empty starts the embedded FerretDB (SQLite) in DATA_DIR"},
	{"DATA_DIR", "data-dir", "./data", "directory for the embedded database and local media"},
	{"FUJU_DB_NAME", "db-name", "fuju", "database name"},
	{"FUJU_DEMO", "demo", "false", "seed the demo city when the database is empty"},
	{"FUJU_DEMO_HISTORY", "demo-history", "true", "with FUJU_DEMO, also seed a year of past rentals, reservations and statements (the dashboards' data; slower first start)"},
	{"FUJU_LOG_LEVEL", "log-level", "info", "debug, info, warn or error"},
	{"FUJU_LOG_FORMAT", "log-format", "json", "json or text"},
	{"FUJU_TRUSTED_PROXIES", "trusted-proxies", "", "comma-separated proxy addresses/CIDRs whose X-Forwarded-For is trusted"},
	{"FUJU_SHUTDOWN_TIMEOUT", "shutdown-timeout", "15s", "how long a graceful stop waits for requests"},
	{"FUJU_POLL_INTERVAL", "poll-interval", "1s", "how often to pick up other instances' changes"},
	{"FUJU_S3_ENDPOINT", "s3-endpoint", "", "S3/MinIO endpoint (host:port or URL); empty stores media in DATA_DIR/media"},
	{"FUJU_S3_ACCESS_KEY", "s3-access-key", "", "S3 access key"},
	{"FUJU_S3_SECRET_KEY", "s3-secret-key", "", "S3 secret key"},
	{"FUJU_S3_REGION", "s3-region", "us-east-1", "S3 region"},
	{"FUJU_S3_TLS", "s3-tls", "false", "use https to reach S3"},
	{"FUJU_S3_PUBLIC_BUCKET", "s3-public-bucket", "fuju-public", "bucket for product photos"},
	{"FUJU_S3_PRIVATE_BUCKET", "s3-private-bucket", "fuju-private", "bucket for renters' documents (never public)"},
	{"FUJU_MEDIA_PUBLIC_URL", "media-public-url", "", "base URL of public photos when a CDN or the bucket serves them; empty serves them at /media"},
	{"FUJU_MEDIA_SIGNING_KEY", "media-signing-key", "", "key (32+ bytes) signing private media links; empty keeps one in DATA_DIR/secrets"},
	{"FUJU_MEDIA_MAX_BYTES", "media-max-bytes", "10485760", "largest accepted upload in bytes"},
	{"FUJU_SECRET_KEY", "secret-key", "", "key (32+ characters) signing form tokens; empty keeps one in DATA_DIR/secrets; instances must share it"},
	{"FUJU_ID_KEY", "id-key", "", "64 hex characters (AES-256) encrypting renters' ID numbers and keying their search keys; empty keeps one in DATA_DIR/secrets"},
	{"STRIPE_SECRET_KEY", "stripe-secret-key", "", "Stripe secret key (sk_live_…, sk_test_… or a restricted rk_…); empty turns online payment off"},
	{"STRIPE_WEBHOOK_SECRET", "stripe-webhook-secret", "", "signing secret of the Stripe webhook endpoint (whsec_…); several, comma-separated, for a platform and a Connect endpoint; needed with STRIPE_SECRET_KEY"},
	{"STRIPE_API_BASE", "stripe-api-base", "", "Stripe API base URL; empty is https://api.stripe.com (tests point it at stripe-mock)"},
	{"FUJU_PLATFORM_FEE_BP", "platform-fee-bp", "0", "platform application fee on online payments in basis points (250 = 2.5%), rounded down to the fen; 0 to 5000"},
	{"FUJU_SMS_SENDER", "sms-sender", "log", "how messages to people are sent: log (written to the log, numbers masked) or http (posted to the SMS gateway)"},
	{"FUJU_SMS_URL", "sms-url", "", "the SMS gateway's URL; each message is POSTed to it as JSON (with FUJU_SMS_SENDER=http)"},
	{"FUJU_SMS_TOKEN", "sms-token", "", "bearer token sent to the SMS gateway (a secret: set it in the environment)"},
	{"FUJU_SMS_TIMEOUT", "sms-timeout", "10s", "how long one request to the SMS gateway may take"},
	{"FUJU_SMS_CLAIM", "sms-claim", "2m", "how long an instance that crashed while sending a message keeps it from the others (at least 4 × FUJU_SMS_TIMEOUT is used)"},
	{"FUJU_REPORTS_FRESH", "reports-fresh", "1m", "how long today's dashboard figures and the subsidy moves of statement drafts, once read from the logs, serve the same operator's or the city's further requests (0s: read for every request)"},
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
		if v.Default == "true" || v.Default == "false" {
			b := boolFlag(def)
			fs.Var(&b, v.Flag, v.Help+" ($"+v.Env+")")
			vals[v.Env] = (*string)(&b)
			continue
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
	if c.PublicURL, err = publicURL(get("FUJU_PUBLIC_URL")); err != nil {
		errs = append(errs, err)
	}
	if c.Demo, err = strconv.ParseBool(get("FUJU_DEMO")); err != nil {
		errs = append(errs, fmt.Errorf("FUJU_DEMO: want true or false, got %q", get("FUJU_DEMO")))
	}
	if c.DemoHistory, err = strconv.ParseBool(get("FUJU_DEMO_HISTORY")); err != nil {
		errs = append(errs, fmt.Errorf("FUJU_DEMO_HISTORY: want true or false, got %q", get("FUJU_DEMO_HISTORY")))
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
	c.S3Endpoint = get("FUJU_S3_ENDPOINT")
	c.S3AccessKey = get("FUJU_S3_ACCESS_KEY")
	c.S3SecretKey = get("FUJU_S3_SECRET_KEY")
	c.S3Region = get("FUJU_S3_REGION")
	c.S3PublicBucket = get("FUJU_S3_PUBLIC_BUCKET")
	c.S3PrivateBucket = get("FUJU_S3_PRIVATE_BUCKET")
	c.MediaPublicURL = get("FUJU_MEDIA_PUBLIC_URL")
	if k := get("FUJU_SECRET_KEY"); k != "" {
		if len(k) < 32 {
			errs = append(errs, errors.New("FUJU_SECRET_KEY: must be at least 32 characters"))
		}
		c.SecretKey = []byte(k)
	}
	if k := get("FUJU_ID_KEY"); k != "" {
		b, err := hex.DecodeString(k)
		if err != nil || len(b) != 32 {
			errs = append(errs, errors.New("FUJU_ID_KEY: must be 64 hex characters (32 bytes)"))
		}
		c.IDKey = b
	}
	if c.S3TLS, err = strconv.ParseBool(get("FUJU_S3_TLS")); err != nil {
		errs = append(errs, fmt.Errorf("FUJU_S3_TLS: want true or false, got %q", get("FUJU_S3_TLS")))
	}
	if k := get("FUJU_MEDIA_SIGNING_KEY"); k != "" {
		if len(k) < 32 {
			errs = append(errs, errors.New("FUJU_MEDIA_SIGNING_KEY: must be at least 32 characters"))
		}
		c.MediaSigningKey = []byte(k)
	}
	if c.MediaMaxBytes, err = strconv.ParseInt(get("FUJU_MEDIA_MAX_BYTES"), 10, 64); err != nil || c.MediaMaxBytes < 1<<10 || c.MediaMaxBytes > 100<<20 {
		errs = append(errs, fmt.Errorf("FUJU_MEDIA_MAX_BYTES: want a byte count between 1024 and 104857600, got %q", get("FUJU_MEDIA_MAX_BYTES")))
	}
	c.SMSSender, c.SMSURL, c.SMSToken = get("FUJU_SMS_SENDER"), get("FUJU_SMS_URL"), get("FUJU_SMS_TOKEN")
	switch c.SMSSender {
	case SMSLog:
	case SMSHTTP:
		if u, err := url.Parse(c.SMSURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("FUJU_SMS_URL: want the gateway's http(s) URL with FUJU_SMS_SENDER=http, got %q", c.SMSURL))
		}
		if c.SMSToken == "" {
			errs = append(errs, errors.New("FUJU_SMS_TOKEN: needed with FUJU_SMS_SENDER=http"))
		}
	default:
		errs = append(errs, fmt.Errorf("FUJU_SMS_SENDER: want log or http, got %q", c.SMSSender))
	}
	if c.SMSTimeout, err = time.ParseDuration(get("FUJU_SMS_TIMEOUT")); err != nil || c.SMSTimeout <= 0 || c.SMSTimeout > 2*time.Minute {
		errs = append(errs, fmt.Errorf("FUJU_SMS_TIMEOUT: want a duration between 1ms and 2m such as 10s, got %q", get("FUJU_SMS_TIMEOUT")))
	}
	if c.SMSClaim, err = time.ParseDuration(get("FUJU_SMS_CLAIM")); err != nil || c.SMSClaim < time.Second || c.SMSClaim > time.Hour {
		errs = append(errs, fmt.Errorf("FUJU_SMS_CLAIM: want a duration between 1s and 1h such as 2m, got %q", get("FUJU_SMS_CLAIM")))
	}
	if c.ReportsFresh, err = time.ParseDuration(get("FUJU_REPORTS_FRESH")); err != nil || c.ReportsFresh < 0 || c.ReportsFresh > time.Hour {
		errs = append(errs, fmt.Errorf("FUJU_REPORTS_FRESH: want a duration between 0s and 1h such as 1m, got %q", get("FUJU_REPORTS_FRESH")))
	}
	if c.S3Endpoint != "" && (c.S3AccessKey == "" || c.S3SecretKey == "") {
		errs = append(errs, errors.New("FUJU_S3_ACCESS_KEY and FUJU_S3_SECRET_KEY: needed with FUJU_S3_ENDPOINT"))
	}
	c.StripeSecretKey = get("STRIPE_SECRET_KEY")
	c.StripeAPIBase = get("STRIPE_API_BASE")
	for _, w := range strings.Split(get("STRIPE_WEBHOOK_SECRET"), ",") {
		if w = strings.TrimSpace(w); w != "" {
			c.StripeWebhookSecrets = append(c.StripeWebhookSecrets, w)
		}
	}
	if c.StripeSecretKey != "" {
		if !strings.HasPrefix(c.StripeSecretKey, "sk_") && !strings.HasPrefix(c.StripeSecretKey, "rk_") {
			errs = append(errs, errors.New("STRIPE_SECRET_KEY: must be a secret key starting with sk_ or rk_ (never the publishable pk_ key)"))
		}
		if len(c.StripeWebhookSecrets) == 0 {
			errs = append(errs, errors.New("STRIPE_WEBHOOK_SECRET: needed with STRIPE_SECRET_KEY, or webhook events cannot be verified"))
		}
	}
	if c.StripeAPIBase != "" {
		if u, err := url.Parse(c.StripeAPIBase); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("STRIPE_API_BASE: want a URL such as http://127.0.0.1:12111, got %q", c.StripeAPIBase))
		}
	}
	if c.PlatformFeeBP, err = strconv.Atoi(get("FUJU_PLATFORM_FEE_BP")); err != nil || c.PlatformFeeBP < 0 || c.PlatformFeeBP > 5000 {
		errs = append(errs, fmt.Errorf("FUJU_PLATFORM_FEE_BP: want basis points between 0 and 5000, got %q", get("FUJU_PLATFORM_FEE_BP")))
	}
	if c.MongoURI == "" && c.DataDir == "" {
		errs = append(errs, errors.New("DATA_DIR: needed for the embedded database when MONGODB_URI is empty"))
	}
	if c.Database == "" {
		errs = append(errs, errors.New("FUJU_DB_NAME: must not be empty"))
	}
	return c, errors.Join(errs...)
}

// publicURL checks the site's address: http or https, a host, no query; a
// trailing slash is dropped.
func publicURL(s string) (string, error) {
	if s == "" {
		return "", nil
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("FUJU_PUBLIC_URL: want an address such as https://fuju.example.cn, got %q", s)
	}
	return strings.TrimSuffix(u.String(), "/"), nil
}

// Secret returns the secret called name kept in dataDir/secrets, creating it
// with n random bytes on first use (file mode 0600). The embedded default uses
// it so links and encrypted fields survive restarts without configuration;
// deployments with several instances set the key in the environment instead.
func Secret(dataDir, name string, n int) ([]byte, error) {
	if dataDir == "" {
		return nil, errors.New("config: no DATA_DIR to keep secret " + name + " in; set it in the environment")
	}
	dir := filepath.Join(dataDir, "secrets")
	path := filepath.Join(dir, name)
	if b, err := os.ReadFile(path); err == nil {
		if len(b) < n {
			return nil, fmt.Errorf("config: secret %s is shorter than %d bytes", path, n)
		}
		return b, nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("config: read secret: %w", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return nil, err
	}
	// O_EXCL: when two processes start at once, one key wins and both use it.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return Secret(dataDir, name, n)
	}
	if err != nil {
		return nil, fmt.Errorf("config: create secret: %w", err)
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return nil, fmt.Errorf("config: write secret: %w", err)
	}
	return b, f.Close()
}

// boolFlag is a string flag that may be given without a value ("-demo").
type boolFlag string

func (b *boolFlag) String() string     { return string(*b) }
func (b *boolFlag) Set(v string) error { *b = boolFlag(v); return nil }
func (b *boolFlag) IsBoolFlag() bool   { return true }
