package memstore_test

import (
	"testing"

	"github.com/slothpub/slothpub/store"
	"github.com/slothpub/slothpub/store/memstore"
	"github.com/slothpub/slothpub/store/storetest"
)

// BenchmarkDriver runs the drivers' common benchmarks
// (storetest.BenchDriver) on the in-memory driver: the ceiling the durable
// drivers are compared with (nothing is written to disk).
func BenchmarkDriver(b *testing.B) {
	storetest.BenchDriver(b, func(b *testing.B) *store.DB {
		db := memstore.New()
		b.Cleanup(func() { db.Close() })
		return db
	})
}
