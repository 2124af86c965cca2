//go:build unix

package sqlitestore_test

import (
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/slothpub/slothpub/store"
	"github.com/slothpub/slothpub/store/sqlitestore"
)

// openers are the two ways to open a database file, which fail alike: the
// store (Open) and the bare driver (OpenDriver).
var openers = []struct {
	name string
	open func(ctx context.Context, path string, opts *sqlitestore.Options) (io.Closer, error)
}{
	{"Open", func(ctx context.Context, path string, opts *sqlitestore.Options) (io.Closer, error) {
		s, err := sqlitestore.Open(ctx, path, opts)
		if err != nil {
			return nil, err
		}
		return s, nil
	}},
	{"OpenDriver", func(ctx context.Context, path string, opts *sqlitestore.Options) (io.Closer, error) {
		d, err := sqlitestore.OpenDriver(ctx, path, opts)
		if err != nil {
			return nil, err
		}
		return d, nil
	}},
}

// writeThrough commits a write through what an opener returned.
func writeThrough(t *testing.T, c io.Closer) {
	t.Helper()
	ctx := t.Context()
	switch c := c.(type) {
	case *store.DB:
		must(t, c.PutValue(ctx, "k", []byte("v"), time.Time{}))
	case *sqlitestore.Driver:
		must(t, c.Update(ctx, func(tx store.DriverTx) error { return unitOfThree(ctx, tx, "x") }))
	default:
		t.Fatalf("writeThrough(%T)", c)
	}
}

// refused opens path with each opener: each must fail with an error that
// names path and is as want says (what describes want in a failure).
func refused(t *testing.T, path, what string, want func(error) bool) {
	t.Helper()
	for _, op := range openers {
		c, err := op.open(t.Context(), path, nil)
		if err == nil {
			c.Close()
			t.Fatalf("%s(%s) succeeded, want %s", op.name, path, what)
		}
		t.Log(err)
		if !want(err) || !strings.Contains(err.Error(), path) {
			t.Errorf("%s: error %q: want %s naming the path", op.name, err, what)
		}
	}
}

func TestOpenNotSQLite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "notes.txt")
	text := []byte(strings.Repeat("these are my notes, not a database\n", 200))
	must(t, os.WriteFile(path, text, 0o600))
	refused(t, path, "ErrNotDatabase", func(err error) bool { return errors.Is(err, sqlitestore.ErrNotDatabase) })
	if got, _ := os.ReadFile(path); string(got) != string(text) {
		t.Error("opening changed the file that is not a database")
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

func TestOpenReadOnlyDirectory(t *testing.T) {
	t.Run("NewFile", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "ro")
		must(t, os.Mkdir(dir, 0o755))
		readOnlyDir(t, dir)
		refused(t, filepath.Join(dir, "slothpub.db"), "ErrNotWritable and os.ErrPermission", func(err error) bool {
			return errors.Is(err, sqlitestore.ErrNotWritable) && errors.Is(err, os.ErrPermission)
		})
	})
	// An existing database in a directory that became read-only: SQLite
	// cannot create its -wal file there.
	t.Run("ExistingFile", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "ro")
		must(t, os.Mkdir(dir, 0o755))
		path := filepath.Join(dir, "slothpub.db")
		d, err := sqlitestore.OpenDriver(t.Context(), path, nil)
		must(t, err)
		writeThrough(t, d)
		must(t, d.Close())
		for _, side := range []string{"-wal", "-shm"} {
			if _, err := os.Stat(path + side); err == nil {
				t.Fatalf("%s still exists after Close", side)
			}
		}
		readOnlyDir(t, dir)
		refused(t, path, "ErrNotWritable", func(err error) bool { return errors.Is(err, sqlitestore.ErrNotWritable) })
	})
}

func TestOpenPaths(t *testing.T) {
	dir := t.TempDir()
	for _, op := range openers {
		for _, p := range []string{"", ":memory:", filepath.Join(dir, "missing", "x.db")} {
			if c, err := op.open(t.Context(), p, nil); err == nil {
				c.Close()
				t.Errorf("%s(%q) succeeded", op.name, p)
			}
		}
		// Characters that mean something in a URI are part of the file
		// name.
		name := filepath.Join(dir, op.name+" we?ird #name%20.db")
		c, err := op.open(t.Context(), name, nil)
		must(t, err)
		writeThrough(t, c)
		must(t, c.Close())
		if _, err := os.Stat(name); err != nil {
			t.Errorf("%s: database not created under its exact name: %v", op.name, err)
		}
	}
}
