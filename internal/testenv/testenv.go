// Package testenv starts the real parts tests run against: the database (the
// embedded engine, or PostgreSQL with a FerretDB server in front of it, or any
// MongoDB: one per test binary, a fresh database per test), a MinIO server,
// stripe-mock and Chromium. Nothing here is a fake.
package testenv

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"regexp"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/mongo"

	"fuju/internal/config"
	"fuju/internal/db"
)

var (
	engineOnce sync.Once
	engineErr  error
	client     *mongo.Client
	engine     *db.Embedded
	engineDir  string
	dbCounter  atomic.Int64
	cleanups   []func()
	cleanupsMu sync.Mutex
)

// Main runs a package's tests and then stops whatever testenv started for them.
// Use it from TestMain: func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }.
func Main(m *testing.M) int {
	config.TuneGC(os.Getenv)
	code := m.Run()
	cleanupsMu.Lock()
	for i := len(cleanups) - 1; i >= 0; i-- {
		cleanups[i]()
	}
	cleanupsMu.Unlock()
	return code
}

func atExit(f func()) {
	cleanupsMu.Lock()
	cleanups = append(cleanups, f)
	cleanupsMu.Unlock()
}

// The database backends tests can run against (Backend).
const (
	// BackendEmbedded is FerretDB with SQLite inside the test binary, the
	// engine of `go run ./cmd/fuju` without MONGODB_URI.
	BackendEmbedded = "embedded"
	// BackendPostgres is a PostgreSQL server started by the tests with a
	// FerretDB server in front of it (PostgresURI).
	BackendPostgres = "postgres"
	// BackendMongoDB is the deployment FUJU_TEST_MONGODB_URI names.
	BackendMongoDB = "mongodb"
)

// Backend says which database the tests run against: FUJU_TEST_MONGODB_URI
// when set (any MongoDB, e.g. a replica set), else FUJU_TEST_BACKEND
// ("postgres" or "embedded", the default; anything else fails MongoURI).
func Backend() string {
	if os.Getenv("FUJU_TEST_MONGODB_URI") != "" {
		return BackendMongoDB
	}
	if b := os.Getenv("FUJU_TEST_BACKEND"); b != "" {
		return b
	}
	return BackendEmbedded
}

// MongoURI returns the URI of the database tests use (see Backend): the
// FUJU_TEST_MONGODB_URI deployment, the PostgreSQL-backed FerretDB server,
// or an embedded FerretDB started once for this test binary.
func MongoURI(t testing.TB) string {
	t.Helper()
	switch Backend() {
	case BackendMongoDB:
		return os.Getenv("FUJU_TEST_MONGODB_URI")
	case BackendPostgres:
		return PostgresURI(t)
	case BackendEmbedded:
	default:
		t.Fatalf("testenv: FUJU_TEST_BACKEND=%s: want %s or %s", Backend(), BackendPostgres, BackendEmbedded)
	}
	engineOnce.Do(startEngine)
	if engineErr != nil {
		t.Fatalf("testenv: embedded database: %v", engineErr)
	}
	return engine.URI
}

func startEngine() {
	dir, err := os.MkdirTemp("", "fuju-testdb-")
	if err != nil {
		engineErr = err
		return
	}
	engineDir = dir
	quiet := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	engine, engineErr = db.StartEmbedded(context.Background(), dir, quiet)
	if engineErr != nil {
		return
	}
	atExit(func() {
		if client != nil {
			_ = client.Disconnect(context.Background())
		}
		engine.Stop()
		_ = os.RemoveAll(engineDir)
	})
}

// Tune gives the database name of the tests' embedded engine the indexes
// the service gives its own engine (db.Tune), on the collections that exist
// now; on other backends it does nothing. A test that opens the service by
// URI, as the program does with MONGODB_URI, reaches the embedded engine
// as a server, so the service's own Tune does nothing there.
func Tune(t testing.TB, name string) {
	t.Helper()
	if Backend() != BackendEmbedded {
		return
	}
	MongoURI(t)
	if err := db.TuneSQLite(context.Background(), engine.Dir, name); err != nil {
		t.Fatalf("testenv: tune %s: %v", name, err)
	}
}

var clientOnce sync.Once

// DB returns a fresh, empty database named after the test and drops it when the
// test ends.
func DB(t testing.TB) *mongo.Database {
	t.Helper()
	uri := MongoURI(t)
	clientOnce.Do(func() {
		if Backend() != BackendEmbedded {
			if client, engineErr = db.Connect(context.Background(), uri); client != nil {
				atExit(func() { _ = client.Disconnect(context.Background()) })
			}
			return
		}
		// The same bounded pool as the service, so tests see its behaviour
		// under concurrency.
		client, engineErr = db.ConnectEmbedded(context.Background(), uri)
	})
	if client == nil {
		t.Fatalf("testenv: connect: %v", engineErr)
	}
	name := DBName(t.Name())
	d := client.Database(name)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = d.Drop(ctx)
	})
	return d
}

var unsafeName = regexp.MustCompile(`[^a-zA-Z0-9_-]+`)

// DBName turns a test name into a unique database name the engine accepts.
func DBName(testName string) string {
	n := unsafeName.ReplaceAllString(testName, "_")
	suffix := fmt.Sprintf("_%d_%d", os.Getpid()%100000, dbCounter.Add(1))
	if max := 63 - len(suffix); len(n) > max {
		n = n[len(n)-max:]
	}
	return n + suffix
}
