package sqlitestore

import (
	"bytes"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/slothpub/slothpub/store"
)

// fileAtVersion writes a database at path as a binary that knew only the
// first version migrations would have left it: those migrations, exactly as
// they shipped (they are never edited), then stmts, then user_version. It
// is how the migration tests make a file of an older schema.
func fileAtVersion(t *testing.T, path string, version int, stmts ...string) {
	t.Helper()
	db, err := sql.Open("sqlite", dsn(path, time.Second, SyncFull, true))
	must(t, err)
	defer db.Close()
	var all []string
	for _, m := range migrations[:version] {
		all = append(all, m...)
	}
	all = append(append(all, stmts...), fmt.Sprintf(`PRAGMA user_version = %d`, version))
	for _, stmt := range all {
		if _, err := db.ExecContext(t.Context(), stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	must(t, db.Close())
}

// userVersion reads the schema version of the file at path.
func userVersion(t *testing.T, path string) int {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	must(t, err)
	defer db.Close()
	var v int
	must(t, db.QueryRowContext(t.Context(), `PRAGMA user_version`).Scan(&v))
	return v
}

// TestPragmas reads the pragmas on the driver's own connections: the
// writer's inside a unit, a reader's inside a View, with each Sync (and an
// unknown one, which is SyncFull).
func TestPragmas(t *testing.T) {
	for _, c := range []struct {
		sync Sync
		want string // PRAGMA synchronous: 2 is FULL, 1 NORMAL
	}{{SyncFull, "2"}, {SyncNormal, "1"}, {Sync(7), "2"}} {
		t.Run(c.sync.String(), func(t *testing.T) { testPragmas(t, c.sync, c.want) })
	}
}

func testPragmas(t *testing.T, sync Sync, synchronous string) {
	ctx := t.Context()
	d, err := OpenDriver(ctx, filepath.Join(t.TempDir(), "p.db"), &Options{BusyTimeout: 1234 * time.Millisecond, Sync: sync})
	must(t, err)
	defer d.Close()
	check := func(name string, tx store.DriverTx, want map[string]string) error {
		for pragma, want := range want {
			var got string
			if err := tx.(*dtx).scanRow(ctx, "PRAGMA "+pragma, nil, &got); err != nil {
				return fmt.Errorf("%s: PRAGMA %s: %w", name, pragma, err)
			}
			if got != want {
				t.Errorf("%s: PRAGMA %s = %s, want %s", name, pragma, got, want)
			}
		}
		return nil
	}
	must(t, d.Update(ctx, func(tx store.DriverTx) error {
		return check("writer", tx, map[string]string{
			"journal_mode": "wal", "foreign_keys": "1", "busy_timeout": "1234",
			"synchronous": synchronous, "user_version": strconv.Itoa(schemaVersion), "query_only": "0",
			"temp_store": "2", // MEMORY
		})
	}))
	must(t, d.View(ctx, func(tx store.DriverTx) error {
		if err := check("reader", tx, map[string]string{
			"journal_mode": "wal", "foreign_keys": "1", "busy_timeout": "1234",
			"synchronous": synchronous, "query_only": "1", "temp_store": "2",
		}); err != nil {
			return err
		}
		if _, err := tx.(*dtx).c.exec(ctx, `DELETE FROM accounts`); err == nil {
			t.Error("a write on a read connection succeeded; readers must be read-only")
		}
		return nil
	}))
}

func TestParseSync(t *testing.T) {
	for _, s := range []Sync{SyncFull, SyncNormal} {
		got, err := ParseSync(strings.ToUpper(s.String()))
		if err != nil || got != s {
			t.Errorf("ParseSync(%q) = %v, %v; want %v", strings.ToUpper(s.String()), got, err, s)
		}
	}
	for _, bad := range []string{"", "off", "extra", "fulll"} {
		if _, err := ParseSync(bad); err == nil {
			t.Errorf("ParseSync(%q) succeeded; only full and normal are modes", bad)
		}
	}
}

func TestMigrationRunsOnce(t *testing.T) {
	path := filepath.Join(t.TempDir(), "m.db")
	var logs bytes.Buffer
	opts := &Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))}
	for range 3 {
		d, err := OpenDriver(t.Context(), path, opts)
		must(t, err)
		must(t, d.Close())
	}
	if n := strings.Count(logs.String(), "migrated schema"); n != 1 {
		t.Errorf("schema migrated %d times over three opens, want once; log:\n%s", n, logs.String())
	}
	if !strings.Contains(logs.String(), fmt.Sprintf("from=0 to=%d", schemaVersion)) {
		t.Errorf("migration log lacks versions: %s", logs.String())
	}
}

// A file of the schema version after this code's (written by a newer
// binary) is refused by Open and OpenDriver, and left as it was.
func TestNewerSchemaRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "new.db")
	fileAtVersion(t, path, 0, `CREATE TABLE from_the_future (x)`)
	db, err := sql.Open("sqlite", path)
	must(t, err)
	_, err = db.ExecContext(t.Context(), fmt.Sprintf(`PRAGMA user_version = %d`, schemaVersion+1))
	must(t, err)
	must(t, db.Close())
	for name, open := range map[string]func() (interface{ Close() error }, error){
		"Open":       func() (interface{ Close() error }, error) { return Open(t.Context(), path, nil) },
		"OpenDriver": func() (interface{ Close() error }, error) { return OpenDriver(t.Context(), path, nil) },
	} {
		s, err := open()
		if err == nil {
			s.Close()
			t.Fatalf("%s of a database of schema %d succeeded", name, schemaVersion+1)
		}
		want := fmt.Sprintf("schema version %d is newer than this code's %d", schemaVersion+1, schemaVersion)
		if !errors.Is(err, ErrNewerSchema) || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), path) {
			t.Errorf("%s: error %q: want ErrNewerSchema naming the path and %q", name, err, want)
		}
	}
	if v := userVersion(t, path); v != schemaVersion+1 {
		t.Errorf("user_version after the refused opens = %d, want %d", v, schemaVersion+1)
	}
}

// TestMigrateFromV1 opens a database written by the first schema: its data
// stays and the values table appears.
func TestMigrateFromV1(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "v1.db")
	fileAtVersion(t, path, 1, `INSERT INTO public_keys (id, owner, public_pem, fetched) VALUES ('k', 'o', 'pem', 0)`)

	var logs bytes.Buffer
	s, err := Open(ctx, path, &Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	must(t, err)
	defer s.Close()
	if !strings.Contains(logs.String(), fmt.Sprintf("from=1 to=%d", schemaVersion)) {
		t.Errorf("migration log = %q, want from=1 to=%d", logs.String(), schemaVersion)
	}
	if k, err := s.GetKey(ctx, "k"); err != nil || k.PublicPEM != "pem" {
		t.Errorf("key after migration = %+v, %v", k, err)
	}
	if err := s.PutValue(ctx, "httpsig-scheme:a.example", []byte("rfc9421"), time.Now().Add(time.Hour)); err != nil {
		t.Fatalf("PutValue after migration: %v", err)
	}
	if v, err := s.GetValue(ctx, "httpsig-scheme:a.example"); err != nil || string(v) != "rfc9421" {
		t.Errorf("GetValue after migration = %q, %v", v, err)
	}
}

// TestPurgeExpiredValues checks that expired rows are deleted, not only
// hidden, once enough values have been written.
func TestPurgeExpiredValues(t *testing.T) {
	ctx := t.Context()
	d, err := OpenDriver(ctx, filepath.Join(t.TempDir(), "purge.db"), nil)
	must(t, err)
	defer d.Close()
	s := store.Open(d, nil)
	past := time.Now().Add(-time.Minute)
	must(t, s.Update(ctx, func(tx *store.Tx) error {
		for i := range purgeEvery - 1 {
			if err := tx.PutValue(ctx, "dead-"+strconv.Itoa(i), []byte("x"), past); err != nil {
				return err
			}
		}
		return nil
	}))
	must(t, s.PutValue(ctx, "live", []byte("y"), time.Time{}))
	var n int
	must(t, d.View(ctx, func(tx store.DriverTx) error {
		return tx.(*dtx).scanRow(ctx, `SELECT count(*) FROM protocol_values`, nil, &n)
	}))
	// The purge ran at the purgeEvery-th put, the live value's: only it
	// remains.
	if n != 1 {
		t.Errorf("%d rows after %d puts of expired values and a live one, want 1 (the live one)", n, purgeEvery-1)
	}
}
