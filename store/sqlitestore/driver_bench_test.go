package sqlitestore_test

import (
	"path/filepath"
	"testing"

	"github.com/slothpub/slothpub/store"
	"github.com/slothpub/slothpub/store/sqlitestore"
	"github.com/slothpub/slothpub/store/storetest"
)

// BenchmarkDriver runs the drivers' common benchmarks (storetest.BenchDriver)
// on a new file in b.TempDir(), through Open: WAL, synchronous=FULL, group
// commit. commits/op counts the driver's COMMITs (Stats().Commits), one
// fsync of the WAL each; below 1, units shared them.
//
//	go test -run '^$' -bench BenchmarkDriver ./store/sqlitestore
func BenchmarkDriver(b *testing.B) {
	storetest.BenchDriver(b, func(b *testing.B) *store.DB {
		d, err := sqlitestore.OpenDriver(b.Context(), filepath.Join(b.TempDir(), "bench.db"), nil)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() {
			if err := d.Close(); err != nil {
				b.Error(err)
			}
		})
		storetest.ReportCommits(b, func() int64 { return d.Stats().Commits })
		return store.Open(d, nil)
	})
}
