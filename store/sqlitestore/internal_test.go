package sqlitestore

import (
	"bytes"
	"database/sql"
	"fmt"
	"log/slog"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestPragmas(t *testing.T) {
	s, err := Open(t.Context(), filepath.Join(t.TempDir(), "p.db"), &Options{BusyTimeout: 1234 * 1e6})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, db := range []struct {
		name string
		db   *sql.DB
		want map[string]string
	}{
		{"writer", s.w.db, map[string]string{
			"journal_mode": "wal", "foreign_keys": "1", "busy_timeout": "1234",
			"synchronous": "2", "user_version": strconv.Itoa(schemaVersion), "query_only": "0",
		}},
		{"reader", s.r.db, map[string]string{
			"journal_mode": "wal", "foreign_keys": "1", "busy_timeout": "1234",
			"synchronous": "2", "query_only": "1",
		}},
	} {
		for pragma, want := range db.want {
			var got string
			if err := db.db.QueryRowContext(t.Context(), "PRAGMA "+pragma).Scan(&got); err != nil {
				t.Fatalf("%s: PRAGMA %s: %v", db.name, pragma, err)
			}
			if got != want {
				t.Errorf("%s: PRAGMA %s = %s, want %s", db.name, pragma, got, want)
			}
		}
	}
	if _, err := s.r.db.ExecContext(t.Context(), `DELETE FROM accounts`); err == nil {
		t.Error("a write through the read pool succeeded; readers must be read-only")
	}
}

func TestMigrationRunsOnce(t *testing.T) {
	path := filepath.Join(t.TempDir(), "m.db")
	var logs bytes.Buffer
	opts := &Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))}
	for range 3 {
		s, err := Open(t.Context(), path, opts)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if n := strings.Count(logs.String(), "migrated schema"); n != 1 {
		t.Errorf("schema migrated %d times over three opens, want once; log:\n%s", n, logs.String())
	}
	if !strings.Contains(logs.String(), fmt.Sprintf("from=0 to=%d", schemaVersion)) {
		t.Errorf("migration log lacks versions: %s", logs.String())
	}
}

func TestNewerSchemaRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "new.db")
	s, err := Open(t.Context(), path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.w.db.ExecContext(t.Context(), `PRAGMA user_version = 99`); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = Open(t.Context(), path, nil)
	if err == nil {
		s.Close()
		t.Fatal("Open of a database with a newer schema succeeded")
	}
	if !strings.Contains(err.Error(), "newer") {
		t.Errorf("error %q does not say the schema is newer", err)
	}
}

// TestMigrateFromV1 opens a database written by the first schema: its data
// stays and the values table appears.
func TestMigrateFromV1(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "v1.db")
	db, err := sql.Open("sqlite", dsn(path, time.Second, true))
	if err != nil {
		t.Fatal(err)
	}
	for _, stmt := range append(migrations[0],
		`INSERT INTO public_keys (id, owner, public_pem, fetched) VALUES ('k', 'o', 'pem', 0)`,
		`PRAGMA user_version = 1`) {
		if _, err := db.ExecContext(ctx, stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	var logs bytes.Buffer
	s, err := Open(ctx, path, &Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
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
	s, err := Open(ctx, ":memory:", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	past := time.Now().Add(-time.Minute)
	for i := range purgeEvery {
		if err := s.PutValue(ctx, "dead-"+strconv.Itoa(i), []byte("x"), past); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.PutValue(ctx, "live", []byte("y"), time.Time{}); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := s.r.db.QueryRowContext(ctx, `SELECT count(*) FROM protocol_values`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	// The purge ran at the purgeEvery-th put; only the value written
	// after it remains.
	if n != 1 {
		t.Errorf("%d rows after %d puts of expired values, want 1 (the live one)", n, purgeEvery)
	}
}
