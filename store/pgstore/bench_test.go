package pgstore

import (
	"testing"

	"github.com/slothpub/slothpub/store"
	"github.com/slothpub/slothpub/store/storetest"
)

// BenchmarkDriver runs the drivers' common benchmarks
// (storetest.BenchDriver) on a fresh schema of the test server (see
// pg_test.go), over TCP through pgxpool; every op is a whole unit of work,
// committed as the server's synchronous_commit has it. The driver counts
// no commits, so no commits/op is reported.
//
//	go test -run '^$' -bench BenchmarkDriver ./store/pgstore
func BenchmarkDriver(b *testing.B) {
	storetest.BenchDriver(b, func(b *testing.B) *store.DB { return store.Open(newDriver(b), nil) })
}
