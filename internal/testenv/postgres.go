package testenv

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/FerretDB/FerretDB/ferretdb"
)

// Postgres is a PostgreSQL server started from Debian's postgresql package
// in a temporary directory, listening on a free 127.0.0.1 port. PostgreSQL
// refuses to run as root, so as root the cluster belongs to Debian's
// postgres user.
type Postgres struct {
	// URL is the connection string of the database "fuju" for its
	// superuser "fuju" (trust authentication on loopback only).
	URL string
	// Dir holds the cluster (Dir/data) and the server's log (Dir/postgres-N.log).
	Dir string

	once   sync.Once
	cmd    *exec.Cmd
	exited chan struct{}
}

// PostgresOptions say how durable the server is.
type PostgresOptions struct {
	// Durable keeps PostgreSQL's fsync and full-page writes on; commits
	// still do not wait for the disk (synchronous_commit=off: a crash of the
	// machine may lose the last commits, never corrupt the data), which is
	// what the embedded engine's synchronous=NORMAL does. Tests turn
	// durability off altogether: their data is thrown away.
	Durable bool
	// Logf reports slow steps (installing the package).
	Logf func(format string, args ...any)
}

// PostgresBinDir finds PostgreSQL's programs: $FUJU_PG_BIN, else the newest
// /usr/lib/postgresql/*/bin (Debian's layout), else the directory of initdb
// on PATH. As root with apt-get and none found, it installs Debian's
// postgresql package first, as .ci/run does.
func PostgresBinDir(logf func(string, ...any)) (string, error) {
	if d := os.Getenv("FUJU_PG_BIN"); d != "" {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err != nil {
			return "", fmt.Errorf("FUJU_PG_BIN=%s: %w", d, err)
		}
		return d, nil
	}
	find := func() string {
		dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
		sort.Slice(dirs, func(i, j int) bool { return pgMajor(dirs[i]) > pgMajor(dirs[j]) })
		for _, d := range dirs {
			if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
				return d
			}
		}
		if p, err := exec.LookPath("initdb"); err == nil {
			return filepath.Dir(p)
		}
		return ""
	}
	if d := find(); d != "" {
		return d, nil
	}
	if os.Geteuid() != 0 {
		return "", errors.New("PostgreSQL is not installed (install Debian's postgresql or set FUJU_PG_BIN)")
	}
	if logf != nil {
		logf("testenv: installing Debian's postgresql with apt-get (once)")
	}
	out, err := exec.Command("sh", "-c", "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("apt-get install postgresql: %w\n%s", err, lastBytes(out, 4000))
	}
	if d := find(); d != "" {
		return d, nil
	}
	return "", errors.New("postgresql installed but initdb not found")
}

func pgMajor(binDir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return n
}

// StartPostgres creates a cluster in a new temporary directory (initdb) and
// starts PostgreSQL on a free loopback port, with a database "fuju". Stop
// stops it and removes the directory.
func StartPostgres(ctx context.Context, o PostgresOptions) (*Postgres, error) {
	if o.Logf == nil {
		o.Logf = func(string, ...any) {}
	}
	bin, err := PostgresBinDir(o.Logf)
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "fuju-postgres-")
	if err != nil {
		return nil, err
	}
	// As root, everything runs as Debian's postgres user, which owns dir.
	var cred *userIDs
	if os.Geteuid() == 0 {
		if cred, err = lookupUser("postgres"); err != nil {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("PostgreSQL refuses to run as root and there is no postgres user (install Debian's postgresql): %w", err)
		}
		if err := os.Chown(dir, cred.uid, cred.gid); err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
	}
	p := &Postgres{Dir: dir}
	data := filepath.Join(dir, "data")
	initdb := exec.CommandContext(ctx, filepath.Join(bin, "initdb"), "-D", data, "-U", "fuju", "--auth=trust",
		"-E", "UTF8", "--locale=C", "--no-instructions")
	if out, err := runAs(initdb, cred); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("initdb: %w\n%s", err, lastBytes(out, 4000))
	}
	settings := []string{"listen_addresses=127.0.0.1", "unix_socket_directories=" + dir,
		"max_connections=200", "shared_buffers=128MB", "synchronous_commit=off", "logging_collector=off"}
	if !o.Durable {
		settings = append(settings, "fsync=off", "full_page_writes=off")
	}
	// A port taken between freePort and the server's bind makes it exit; try again.
	for attempt := range 3 {
		port, err := minioPort()
		if err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
		args := []string{"-D", data, "-p", strconv.Itoa(port)}
		for _, s := range settings {
			args = append(args, "-c", s)
		}
		logPath := filepath.Join(dir, fmt.Sprintf("postgres-%d.log", attempt))
		logFile, err := os.Create(logPath)
		if err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
		if cred != nil {
			_ = logFile.Chown(cred.uid, cred.gid)
		}
		cmd := exec.Command(filepath.Join(bin, "postgres"), args...)
		cmd.Stdout, cmd.Stderr = logFile, logFile
		ConfigureChild(cmd)
		cred.apply(cmd)
		if err := cmd.Start(); err != nil {
			logFile.Close()
			os.RemoveAll(dir)
			return nil, fmt.Errorf("start postgres: %w", err)
		}
		exited := make(chan struct{})
		go func() { _ = cmd.Wait(); logFile.Close(); close(exited) }()
		p.cmd, p.exited = cmd, exited
		err = p.waitReady(ctx, bin, port, cred, 60*time.Second)
		if err == nil {
			p.URL = fmt.Sprintf("postgres://fuju@127.0.0.1:%d/fuju", port)
			return p, nil
		}
		p.kill()
		logged, _ := os.ReadFile(logPath)
		err = fmt.Errorf("PostgreSQL on port %d did not start: %w\n%s", port, err, lastBytes(logged, 4000))
		if attempt == 2 || ctx.Err() != nil {
			os.RemoveAll(dir)
			return nil, err
		}
		o.Logf("testenv: %v; retrying on another port", err)
	}
	panic("unreachable")
}

// waitReady waits until the server accepts connections, then creates the
// database "fuju".
func (p *Postgres) waitReady(ctx context.Context, bin string, port int, cred *userIDs, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		ready := exec.CommandContext(ctx, filepath.Join(bin, "pg_isready"), "-q", "-h", "127.0.0.1", "-p", strconv.Itoa(port))
		if _, err := runAs(ready, cred); err == nil {
			break
		}
		select {
		case <-p.exited:
			return errors.New("postgres exited")
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	create := exec.CommandContext(ctx, filepath.Join(bin, "createdb"), "-h", "127.0.0.1", "-p", strconv.Itoa(port), "-U", "fuju", "fuju")
	if out, err := runAs(create, cred); err != nil {
		return fmt.Errorf("createdb: %w: %s", err, out)
	}
	return nil
}

func (p *Postgres) kill() {
	_ = p.cmd.Process.Kill()
	<-p.exited
}

// Stop shuts the server down (fast shutdown: open sessions are ended) and
// removes its directory.
func (p *Postgres) Stop() {
	p.once.Do(func() {
		_ = p.cmd.Process.Signal(os.Interrupt)
		select {
		case <-p.exited:
		case <-time.After(20 * time.Second):
			p.kill()
		}
		_ = os.RemoveAll(p.Dir)
	})
}

// Log returns the end of the server's log, for a failing test's message.
func (p *Postgres) Log() string {
	files, _ := filepath.Glob(filepath.Join(p.Dir, "postgres-*.log"))
	if len(files) == 0 {
		return ""
	}
	b, _ := os.ReadFile(files[len(files)-1])
	return string(lastBytes(b, 4000))
}

type userIDs struct{ uid, gid int }

func lookupUser(name string) (*userIDs, error) {
	u, err := user.Lookup(name)
	if err != nil {
		return nil, err
	}
	uid, err := strconv.Atoi(u.Uid)
	if err != nil {
		return nil, err
	}
	gid, err := strconv.Atoi(u.Gid)
	if err != nil {
		return nil, err
	}
	return &userIDs{uid, gid}, nil
}

// runAs runs cmd as u (nil: as this process) and returns its output.
func runAs(cmd *exec.Cmd, u *userIDs) ([]byte, error) {
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	u.apply(cmd)
	// The working directory must be readable by u: root's home is not.
	cmd.Dir = os.TempDir()
	err := cmd.Run()
	return out.Bytes(), err
}

// FerretDBServer is FerretDB v1's PostgreSQL handler serving the MongoDB wire
// protocol on a free loopback port, in front of a PostgreSQL database. It
// runs in this process (the ferretdb package), as a small stand-in for the
// ferretdb binary a deployment would run.
type FerretDBServer struct {
	// URI is the MongoDB URI clients connect to.
	URI string

	once   sync.Once
	cancel context.CancelFunc
	done   chan struct{}
}

// StartFerretDB starts FerretDB in front of the PostgreSQL database at pgURL,
// listening on listen (host:port; port 0 picks a free one). logger receives
// FerretDB's errors only.
func StartFerretDB(pgURL, listen string, logger *slog.Logger) (*FerretDBServer, error) {
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	}
	f, err := ferretdb.New(&ferretdb.Config{
		Listener:      ferretdb.ListenerConfig{TCP: listen},
		Handler:       "postgresql",
		PostgreSQLURL: pgURL,
		Logger:        slog.New(errorsOnly{logger.Handler()}).With("component", "ferretdb"),
	})
	if err != nil {
		return nil, fmt.Errorf("start FerretDB on PostgreSQL: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &FerretDBServer{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		_ = f.Run(ctx)
	}()
	s.URI = f.MongoDBURI()
	return s, nil
}

// Stop stops FerretDB and waits until it has closed its connections.
func (s *FerretDBServer) Stop() {
	s.once.Do(func() {
		s.cancel()
		<-s.done
	})
}

// errorsOnly passes on only records at error level (FerretDB logs every
// connection at info level), less the duplicate-key errors PostgreSQL
// reports for every insert that loses a race: in Fuju that is the
// transition pattern working, not a fault.
type errorsOnly struct{ slog.Handler }

func (h errorsOnly) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= slog.LevelError && h.Handler.Enabled(ctx, l)
}

func (h errorsOnly) Handle(ctx context.Context, r slog.Record) error {
	duplicate := false
	r.Attrs(func(a slog.Attr) bool {
		duplicate = a.Key == "err" && strings.Contains(a.Value.String(), "(SQLSTATE 23505)")
		return !duplicate
	})
	if duplicate {
		return nil
	}
	return h.Handler.Handle(ctx, r)
}
func (h errorsOnly) WithAttrs(a []slog.Attr) slog.Handler { return errorsOnly{h.Handler.WithAttrs(a)} }
func (h errorsOnly) WithGroup(n string) slog.Handler      { return errorsOnly{h.Handler.WithGroup(n)} }

// PostgresFerretDB is a PostgreSQL server and FerretDB in front of it.
type PostgresFerretDB struct {
	Postgres *Postgres
	FerretDB *FerretDBServer
}

// StartPostgresFerretDB starts PostgreSQL and FerretDB in front of it.
func StartPostgresFerretDB(ctx context.Context, o PostgresOptions) (*PostgresFerretDB, error) {
	pg, err := StartPostgres(ctx, o)
	if err != nil {
		return nil, err
	}
	f, err := StartFerretDB(pg.URL, "127.0.0.1:0", nil)
	if err != nil {
		pg.Stop()
		return nil, err
	}
	return &PostgresFerretDB{Postgres: pg, FerretDB: f}, nil
}

// Stop stops FerretDB, then PostgreSQL.
func (s *PostgresFerretDB) Stop() {
	s.FerretDB.Stop()
	s.Postgres.Stop()
}

var (
	pgOnce   sync.Once
	pgServer *PostgresFerretDB
	pgErr    error
)

// PostgresURI returns the MongoDB URI of the FerretDB server in front of the
// PostgreSQL server of this test binary, starting both on first use and
// stopping them at exit (Main). Tests of several instances share it.
func PostgresURI(t testing.TB) string {
	t.Helper()
	pgOnce.Do(func() {
		start := time.Now()
		pgServer, pgErr = StartPostgresFerretDB(context.Background(), PostgresOptions{Logf: t.Logf})
		if pgErr == nil {
			atExit(pgServer.Stop)
			t.Logf("testenv: PostgreSQL + FerretDB ready in %s", time.Since(start).Round(time.Millisecond))
		}
	})
	if pgErr != nil {
		t.Fatalf("testenv: PostgreSQL + FerretDB: %v", pgErr)
	}
	return pgServer.FerretDB.URI
}

// ServerURI returns the URI of a database server that several processes can
// share, for tests of several instances: FUJU_TEST_MONGODB_URI when set,
// otherwise the PostgreSQL-backed FerretDB server of this test binary
// (PostgresURI), whatever the backend of the other tests.
func ServerURI(t testing.TB) string {
	t.Helper()
	if uri := os.Getenv("FUJU_TEST_MONGODB_URI"); uri != "" {
		return uri
	}
	return PostgresURI(t)
}

// PostgresLog returns the end of the test binary's PostgreSQL log, if one runs.
func PostgresLog() string {
	if pgServer == nil {
		return ""
	}
	return strings.TrimSpace(pgServer.Postgres.Log())
}
