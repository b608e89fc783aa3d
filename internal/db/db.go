// Package db connects Fuju to its document database: a MongoDB deployment named by
// a URI, or FerretDB embedded in the process with its SQLite files under the data
// directory. Everything above this package sees only *mongo.Database.
package db

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/FerretDB/FerretDB/ferretdb"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"go.mongodb.org/mongo-driver/v2/mongo/readpref"
)

// Config says which database to use.
type Config struct {
	// URI of a MongoDB deployment. Empty starts the embedded FerretDB.
	URI string
	// DataDir holds the embedded database's files (DataDir/db).
	DataDir string
	// Name of the database; "fuju" when empty.
	Name string
	// Logger for the embedded engine; it logs at warning level and above.
	Logger *slog.Logger
}

// DB is an open connection.
type DB struct {
	Client   *mongo.Client
	Database *mongo.Database
	// Embedded is true when FerretDB runs inside this process.
	Embedded bool
	// Where describes where the data lives, for the start-up log.
	Where string

	stopEngine func()
	dir        string
}

// Open connects to the configured database, starting the embedded engine when no
// URI is given, and waits until it answers a ping.
func Open(ctx context.Context, cfg Config) (*DB, error) {
	if cfg.Name == "" {
		cfg.Name = "fuju"
	}
	d := &DB{}
	uri := cfg.URI
	if uri == "" {
		e, err := StartEmbedded(ctx, cfg.DataDir, cfg.Logger)
		if err != nil {
			return nil, err
		}
		uri = e.URI
		d.Embedded = true
		d.Where = "embedded FerretDB (SQLite) in " + e.Dir
		d.stopEngine = e.Stop
		d.dir = e.Dir
	} else {
		d.Where = "MongoDB at " + redact(uri)
	}
	pool, wait := uint64(0), networkWait
	if d.Embedded {
		pool, wait = embeddedPoolSize(), embeddedPoolWait
	}
	client, err := connect(ctx, uri, pool, wait)
	if err != nil {
		if d.stopEngine != nil {
			d.stopEngine()
		}
		return nil, err
	}
	d.Client = client
	d.Database = client.Database(cfg.Name)
	return d, nil
}

// Connect opens a client to uri and pings it.
func Connect(ctx context.Context, uri string) (*mongo.Client, error) {
	return connect(ctx, uri, 0, networkWait)
}

// networkWait bounds how long an operation waits for a server of a MongoDB
// deployment (and for a connection to it) when the caller's context has no
// earlier deadline.
const networkWait = 10 * time.Second

// embeddedPoolWait is how long an operation on the embedded engine may wait
// for one of its few connections when the caller's context has no earlier
// deadline (the driver bounds that wait by the server selection timeout).
// The small pool is the queue in front of SQLite's single writer, and the
// engine runs in this process, so there is no server to look for: waiting
// is how a burst is served. 200 desks checking out the same unit at once on
// two busy cores queued for more than 10 s; 60 s is the HTTP server's write
// timeout, past which no answer could be delivered anyway. An operation that
// still found no connection never reached the engine (Overloaded).
const embeddedPoolWait = 60 * time.Second

// embeddedPoolSize bounds the connections to the embedded engine. FerretDB
// opens up to 100 SQLite connections per database, and SQLite has one writer:
// with many concurrent writers the losers sleep in SQLite's busy handler
// (coarse steps up to 100 ms). Letting only a few operations in at a time
// keeps the writer busy instead. Measured with 20 concurrent desks doing
// check-out, check-in and cleaning (go run ./cmd/fujubench): unbounded 5.7
// cycles/s (p99 check-in 2.8 s); 1 connection 7.2; 2 13.3; 4 12.2; 8 12.6.
// Measured again with the collector at GOGC=800 (internal/config/gc.go), on
// a quiet machine: 1 connection 15.4 cycles/s; 2 31.0 and 31.1 (48 ms of
// CPU a cycle, check-out p99 342–415 ms); 3 21.3; 4 20.6; 8 22.1 (66–69
// ms a cycle): past two, operations mostly wait on each other inside the
// engine, spending CPU. Public reads are served from memory, so a small
// pool costs them nothing; a long scan (a dashboard's today, an operator's
// unit list) holds one of the two while it runs.
func embeddedPoolSize() uint64 { return 2 }

// ConnectEmbedded opens a client to an embedded engine with the same bounded
// pool the service uses (see embeddedPoolSize).
func ConnectEmbedded(ctx context.Context, uri string) (*mongo.Client, error) {
	return connect(ctx, uri, embeddedPoolSize(), embeddedPoolWait)
}

// connect opens a client; pool, when not 0, bounds its connections, and wait
// bounds how long an operation waits for a server and a connection.
func connect(ctx context.Context, uri string, pool uint64, wait time.Duration) (*mongo.Client, error) {
	opts := options.Client().ApplyURI(uri).
		SetServerSelectionTimeout(wait).
		SetConnectTimeout(10 * time.Second)
	if pool > 0 {
		opts.SetMaxPoolSize(pool)
	}
	client, err := mongo.Connect(opts)
	if err != nil {
		return nil, fmt.Errorf("db: connect: %w", err)
	}
	pctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if err := client.Ping(pctx, readpref.Primary()); err != nil {
		_ = client.Disconnect(context.Background())
		return nil, fmt.Errorf("db: ping %s: %w", redact(uri), err)
	}
	return client, nil
}

// Ping reports whether the database answers within the context's deadline.
func (d *DB) Ping(ctx context.Context) error {
	return d.Client.Ping(ctx, readpref.Primary())
}

// Overloaded reports whether err is this database not answering in time
// (see the function Overloaded); it lets callers that must not import the
// driver, such as the web layer, tell a busy database from a failure.
func (d *DB) Overloaded(err error) bool {
	return Overloaded(err)
}

// Close disconnects and, for the embedded engine, stops it after its
// connections are closed so SQLite files are left consistent.
func (d *DB) Close(ctx context.Context) error {
	err := d.Client.Disconnect(ctx)
	if d.stopEngine != nil {
		d.stopEngine()
	}
	return err
}

// Embedded is a FerretDB engine running in this process.
type Embedded struct {
	URI string
	Dir string

	once   sync.Once
	cancel context.CancelFunc
	done   chan struct{}
}

// StartEmbedded starts FerretDB with the SQLite backend storing files in
// dataDir/db, listening on a free loopback port.
func StartEmbedded(ctx context.Context, dataDir string, logger *slog.Logger) (*Embedded, error) {
	if dataDir == "" {
		return nil, errors.New("db: embedded database needs a data directory")
	}
	dir, err := filepath.Abs(filepath.Join(dataDir, "db"))
	if err != nil {
		return nil, fmt.Errorf("db: %w", err)
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("db: create %s: %w", dir, err)
	}
	if logger == nil {
		logger = slog.Default()
	}
	engineLog := slog.New(levelFilter{logger.Handler(), slog.LevelError}).With("component", "ferretdb")
	f, err := ferretdb.New(&ferretdb.Config{
		Listener: ferretdb.ListenerConfig{TCP: "127.0.0.1:0"},
		Handler:  "sqlite",
		// synchronous=NORMAL: in WAL mode a commit no longer waits for an
		// fsync. A crash of the process loses nothing; a power cut may lose
		// the last commits but never corrupts the files. Every write here
		// is a transaction of its own, so a full fsync per write made the
		// desk's multi-write flows disk-bound (measured: see README).
		SQLiteURL: "file:" + dir + "/?_pragma=synchronous(normal)",
		Logger:    engineLog,
	})
	if err != nil {
		return nil, fmt.Errorf("db: start embedded FerretDB in %s: %w", dir, err)
	}
	// The engine must outlive ctx (a start-up context); it stops on Stop.
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	e := &Embedded{Dir: dir, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(e.done)
		_ = f.Run(runCtx)
	}()
	e.URI = f.MongoDBURI()
	return e, nil
}

// Stop stops the engine and waits until it has closed its files.
func (e *Embedded) Stop() {
	e.once.Do(func() {
		e.cancel()
		<-e.done
	})
}

// redact hides a password in a URI for logs.
func redact(uri string) string {
	for i := 0; i+3 < len(uri); i++ {
		if uri[i:i+3] == "://" {
			rest := uri[i+3:]
			for j := 0; j < len(rest) && rest[j] != '/'; j++ {
				if rest[j] == '@' {
					return uri[:i+3] + "***@" + rest[j+1:]
				}
			}
			break
		}
	}
	return uri
}

type levelFilter struct {
	slog.Handler
	min slog.Level
}

func (h levelFilter) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.min && h.Handler.Enabled(ctx, l)
}
func (h levelFilter) WithAttrs(a []slog.Attr) slog.Handler {
	return levelFilter{h.Handler.WithAttrs(a), h.min}
}
func (h levelFilter) WithGroup(n string) slog.Handler {
	return levelFilter{h.Handler.WithGroup(n), h.min}
}

// EnsureCollections creates the collections that do not exist yet, so they
// exist (and Tune indexes them) before their first write.
func EnsureCollections(ctx context.Context, colls ...*mongo.Collection) error {
	for _, c := range colls {
		err := c.Database().CreateCollection(ctx, c.Name())
		var ce mongo.CommandError
		if err != nil && !(errors.As(err, &ce) && ce.Code == 48) { // NamespaceExists
			return fmt.Errorf("db: create %s: %w", c.Name(), err)
		}
	}
	return nil
}
