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

// writeSomething makes SQLite create its -wal and -shm files.
func writeSomething(t *testing.T, s *sqlitestore.Store) {
	t.Helper()
	if err := s.PutValue(t.Context(), "k", []byte("v"), time.Time{}); err != nil {
		t.Fatal(err)
	}
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

// The database holds private keys: a file Open creates, and SQLite's side
// files, are readable by their owner only even when the umask allows more.
func TestOpenCreatesOwnerOnlyFiles(t *testing.T) {
	withUmask(t, 0)
	path := filepath.Join(t.TempDir(), "slothpub.db")
	s := openFile(t, path)
	writeSomething(t, s)
	for _, name := range []string{path, path + "-wal", path + "-shm"} {
		assertMode(t, name, 0o600)
	}
}

func TestOpenFileModeOption(t *testing.T) {
	withUmask(t, 0)
	path := filepath.Join(t.TempDir(), "slothpub.db")
	s, err := sqlitestore.Open(t.Context(), path, &sqlitestore.Options{FileMode: 0o640})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	writeSomething(t, s)
	for _, name := range []string{path, path + "-wal", path + "-shm"} {
		assertMode(t, name, 0o640)
	}
}

// An existing database keeps its mode: Open does not change what the
// user chose.
func TestOpenKeepsModeOfExistingFile(t *testing.T) {
	withUmask(t, 0)
	path := filepath.Join(t.TempDir(), "slothpub.db")
	s := openFile(t, path)
	writeSomething(t, s)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	s2, err := sqlitestore.Open(t.Context(), path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if _, err := s2.GetValue(t.Context(), "k"); err != nil {
		t.Fatalf("the reopened database lost its data: %v", err)
	}
	assertMode(t, path, 0o644)
}
