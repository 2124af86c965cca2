package sqlitestore_test

import (
	"path/filepath"
	"testing"

	"github.com/slothpub/slothpub/store"
	"github.com/slothpub/slothpub/store/sqlitestore"
	"github.com/slothpub/slothpub/store/storetest"
)

// openDriver opens a driver on a new file in tb's temporary directory and
// closes it at the end of the test.
func openDriver(tb testing.TB, opts *sqlitestore.Options) (*sqlitestore.Driver, string) {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "driver.db")
	d, err := sqlitestore.OpenDriver(tb.Context(), path, opts)
	if err != nil {
		tb.Fatalf("OpenDriver(%q): %v", path, err)
	}
	tb.Cleanup(func() {
		if err := d.Close(); err != nil {
			tb.Errorf("Close: %v", err)
		}
	})
	return d, path
}

func TestDriverConformance(t *testing.T) {
	storetest.RunDriver(t, func(t *testing.T) store.Driver { d, _ := openDriver(t, nil); return d })
}

func TestDriverJobs(t *testing.T) {
	storetest.RunJobs(t, func(t *testing.T) store.Driver { d, _ := openDriver(t, nil); return d })
}
