//go:build unix

package sqlitestore_test

import (
	"database/sql"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/slothpub/slothpub/store"
	"github.com/slothpub/slothpub/store/sqlitestore"
)

func TestOpenDriverNewerSchema(t *testing.T) {
	d, path := openDriver(t, nil)
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(t.Context(), `PRAGMA user_version = 99`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	d, err = sqlitestore.OpenDriver(t.Context(), path, nil)
	if err == nil {
		d.Close()
		t.Fatal("OpenDriver of a database with a newer schema succeeded")
	}
	t.Log(err)
	if !errors.Is(err, sqlitestore.ErrNewerSchema) || !strings.Contains(err.Error(), "99") || !strings.Contains(err.Error(), path) {
		t.Errorf("error %q: want ErrNewerSchema naming the path and version 99", err)
	}
}

func TestOpenDriverNotSQLite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "notes.txt")
	text := []byte(strings.Repeat("these are my notes, not a database\n", 200))
	if err := os.WriteFile(path, text, 0o600); err != nil {
		t.Fatal(err)
	}
	d, err := sqlitestore.OpenDriver(t.Context(), path, nil)
	if err == nil {
		d.Close()
		t.Fatal("OpenDriver of a text file succeeded")
	}
	t.Log(err)
	if !errors.Is(err, sqlitestore.ErrNotDatabase) || !strings.Contains(err.Error(), path) {
		t.Errorf("error %q: want ErrNotDatabase naming the path", err)
	}
	if got, _ := os.ReadFile(path); string(got) != string(text) {
		t.Error("OpenDriver changed the file that is not a database")
	}
}

// readOnlyDir makes dir unwritable, even for root (an immutable directory,
// chattr +i), until the test ends.
func readOnlyDir(t *testing.T, dir string) {
	t.Helper()
	if os.Geteuid() != 0 {
		if err := os.Chmod(dir, 0o555); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.Chmod(dir, 0o755) })
		return
	}
	if out, err := exec.Command("chattr", "+i", dir).CombinedOutput(); err != nil {
		t.Skipf("running as root and chattr +i fails (%v: %s): cannot make a read-only directory", err, out)
	}
	t.Cleanup(func() { exec.Command("chattr", "-i", dir).Run() })
}

func TestOpenDriverReadOnlyDirectory(t *testing.T) {
	t.Run("NewFile", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "ro")
		must(t, os.Mkdir(dir, 0o755))
		readOnlyDir(t, dir)
		path := filepath.Join(dir, "slothpub.db")
		d, err := sqlitestore.OpenDriver(t.Context(), path, nil)
		if err == nil {
			d.Close()
			t.Fatal("OpenDriver in a read-only directory succeeded")
		}
		t.Log(err)
		if !errors.Is(err, sqlitestore.ErrNotWritable) || !errors.Is(err, os.ErrPermission) || !strings.Contains(err.Error(), path) {
			t.Errorf("error %q: want ErrNotWritable and os.ErrPermission naming the path", err)
		}
	})
	// An existing database in a directory that became read-only: SQLite
	// cannot create its -wal file there.
	t.Run("ExistingFile", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "ro")
		must(t, os.Mkdir(dir, 0o755))
		path := filepath.Join(dir, "slothpub.db")
		d, err := sqlitestore.OpenDriver(t.Context(), path, nil)
		must(t, err)
		must(t, d.Update(t.Context(), func(tx store.DriverTx) error { return unitOfThree(t.Context(), tx, "x") }))
		must(t, d.Close())
		for _, side := range []string{"-wal", "-shm"} {
			if _, err := os.Stat(path + side); err == nil {
				t.Fatalf("%s still exists after Close", side)
			}
		}
		readOnlyDir(t, dir)
		d, err = sqlitestore.OpenDriver(t.Context(), path, nil)
		if err == nil {
			d.Close()
			t.Fatal("OpenDriver of a database in a read-only directory succeeded")
		}
		t.Log(err)
		if !errors.Is(err, sqlitestore.ErrNotWritable) || !strings.Contains(err.Error(), path) {
			t.Errorf("error %q: want ErrNotWritable naming the path", err)
		}
	})
}

// A file OpenDriver creates, and SQLite's side files, are 0600 whatever
// the umask; Options.FileMode is honoured as by Open.
func TestOpenDriverFileModes(t *testing.T) {
	withUmask(t, 0)
	for _, tc := range []struct {
		opts *sqlitestore.Options
		want os.FileMode
	}{{nil, 0o600}, {&sqlitestore.Options{FileMode: 0o640}, 0o640}} {
		path := filepath.Join(t.TempDir(), "slothpub.db")
		d, err := sqlitestore.OpenDriver(t.Context(), path, tc.opts)
		must(t, err)
		must(t, d.Update(t.Context(), func(tx store.DriverTx) error { return unitOfThree(t.Context(), tx, "x") }))
		for _, name := range []string{path, path + "-wal", path + "-shm"} {
			assertMode(t, name, tc.want)
		}
		must(t, d.Close())
	}
}

func TestOpenDriverPaths(t *testing.T) {
	for _, p := range []string{"", ":memory:"} {
		if d, err := sqlitestore.OpenDriver(t.Context(), p, nil); err == nil {
			d.Close()
			t.Errorf("OpenDriver(%q) succeeded", p)
		}
	}
	if d, err := sqlitestore.OpenDriver(t.Context(), filepath.Join(t.TempDir(), "missing", "x.db"), nil); err == nil {
		d.Close()
		t.Error("OpenDriver in a missing directory succeeded")
	}
}
