package sqlitestore_test

import (
	"path/filepath"
	"testing"

	"github.com/slothpub/slothpub/store"
	"github.com/slothpub/slothpub/store/sqlitestore"
	"github.com/slothpub/slothpub/store/storetest"
)

// openDB opens the store (sqlitestore.Open) on path and closes it at the
// end of the test.
func openDB(tb testing.TB, path string, opts *sqlitestore.Options) *store.DB {
	tb.Helper()
	s, err := sqlitestore.Open(tb.Context(), path, opts)
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

// TestConformance runs the portable store's suite on what Open returns:
// store.DB over the group-committing driver.
func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		return openDB(t, filepath.Join(t.TempDir(), "slothpub.db"), nil)
	})
}
