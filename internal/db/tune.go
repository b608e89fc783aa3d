package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	_ "modernc.org/sqlite" // the driver FerretDB's SQLite backend uses
)

// idExpr is the expression FerretDB v1's SQLite backend filters on when a query
// is exactly {_id: x}. Its own unique _id index is built on a different
// spelling (sjson->"_id"), which SQLite's planner does not match, so without an
// index on this exact expression every lookup by _id scans the collection until
// it finds the document (measured: 0.4 ms for the first document of 40,000,
// 80 ms for the last or for a miss).
const idExpr = `_ferretdb_sjson->'$._id'`

// Tune adds, in the embedded engine, an index on the expression lookups by _id
// use, to every collection of the database that lacks it. It is idempotent and
// cheap, so the service runs it at start and periodically to cover collections
// created later. With MongoDB it does nothing. The indexes are invisible to
// FerretDB (it lists indexes from its own metadata) and are dropped with their
// collection.
func (d *DB) Tune(ctx context.Context) error {
	if !d.Embedded {
		return nil
	}
	return TuneSQLite(ctx, d.dir, d.Database.Name())
}

// TuneSQLite is Tune for the SQLite file of database name under dir.
func TuneSQLite(ctx context.Context, dir, name string) error {
	path := filepath.Join(dir, name+".sqlite")
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return nil // nothing written yet
	}
	conn, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)&_pragma=journal_mode(wal)")
	if err != nil {
		return fmt.Errorf("db: tune %s: %w", path, err)
	}
	defer conn.Close()
	rows, err := conn.QueryContext(ctx, `SELECT table_name FROM _ferretdb_collections`)
	if err != nil {
		if strings.Contains(err.Error(), "no such table") {
			return nil
		}
		return fmt.Errorf("db: tune %s: %w", path, err)
	}
	var tables []string
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			rows.Close()
			return fmt.Errorf("db: tune %s: %w", path, err)
		}
		tables = append(tables, t)
	}
	rows.Close()
	for _, t := range tables {
		if strings.ContainsAny(t, `"`) {
			continue
		}
		q := fmt.Sprintf(`CREATE INDEX IF NOT EXISTS "%s_fuju_id" ON "%s" (%s)`, t, t, idExpr)
		if _, err := conn.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("db: index %s: %w", t, err)
		}
	}
	return nil
}
