package sqlitestore_test

import (
	"path/filepath"
	"testing"

	"github.com/slothpub/slothpub/store"
	"github.com/slothpub/slothpub/store/sqlitestore"
	"github.com/slothpub/slothpub/store/storetest"
)

func openFile(tb testing.TB, path string) *sqlitestore.Store {
	tb.Helper()
	s, err := sqlitestore.Open(tb.Context(), path, nil)
	if err != nil {
		tb.Fatalf("Open(%q): %v", path, err)
	}
	tb.Cleanup(func() {
		if err := s.Close(); err != nil {
			tb.Errorf("Close: %v", err)
		}
	})
	return s
}

func TestConformanceFile(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		return openFile(t, filepath.Join(t.TempDir(), "slothpub.db"))
	})
}

func TestConformanceMemory(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return openFile(t, ":memory:") })
}

func BenchmarkCreateObject(b *testing.B) {
	storetest.BenchCreateObject(b, openFile(b, filepath.Join(b.TempDir(), "bench.db")))
}

func BenchmarkItemsPage(b *testing.B) {
	storetest.BenchItemsPage(b, openFile(b, filepath.Join(b.TempDir(), "bench.db")))
}
