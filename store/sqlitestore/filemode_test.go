//go:build unix

package sqlitestore_test

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/slothpub/slothpub/store/sqlitestore"
)

// withUmask runs the test under umask mask, restoring the previous one.
// The umask is process-wide: tests using it must not run in parallel.
func withUmask(t *testing.T, mask int) {
	old := syscall.Umask(mask)
	t.Cleanup(func() { syscall.Umask(old) })
}

func assertMode(t *testing.T, name string, want os.FileMode) {
	t.Helper()
	fi, err := os.Stat(name)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != want {
		t.Errorf("%s: mode %04o, want %04o", filepath.Base(name), got, want)
	}
}

// The database holds private keys: a file Open or OpenDriver creates, and
// SQLite's -wal and -shm side files, are readable by their owner only
// (0600) even when the umask allows more; Options.FileMode is honoured.
func TestOpenFileModes(t *testing.T) {
	withUmask(t, 0)
	for _, op := range openers {
		t.Run(op.name, func(t *testing.T) {
			for _, tc := range []struct {
				opts *sqlitestore.Options
				want os.FileMode
			}{{nil, 0o600}, {&sqlitestore.Options{FileMode: 0o640}, 0o640}} {
				path := filepath.Join(t.TempDir(), "slothpub.db")
				c, err := op.open(t.Context(), path, tc.opts)
				must(t, err)
				writeThrough(t, c) // SQLite creates its -wal and -shm files
				for _, name := range []string{path, path + "-wal", path + "-shm"} {
					assertMode(t, name, tc.want)
				}
				must(t, c.Close())
			}
		})
	}
}

// An existing database keeps its mode: Open does not change what the
// user chose.
func TestOpenKeepsModeOfExistingFile(t *testing.T) {
	withUmask(t, 0)
	path := filepath.Join(t.TempDir(), "slothpub.db")
	s, err := sqlitestore.Open(t.Context(), path, nil)
	must(t, err)
	must(t, s.PutValue(t.Context(), "k", []byte("v"), time.Time{}))
	must(t, s.Close())
	must(t, os.Chmod(path, 0o644))
	s = openDB(t, path, nil)
	if _, err := s.GetValue(t.Context(), "k"); err != nil {
		t.Fatalf("the reopened database lost its data: %v", err)
	}
	assertMode(t, path, 0o644)
}
