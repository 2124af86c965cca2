package storetest_test

import (
	"testing"

	"github.com/slothpub/slothpub/store"
	"github.com/slothpub/slothpub/store/memstore"
	"github.com/slothpub/slothpub/store/storetest"
)

// A driver's test file runs the suite with a constructor that returns a new,
// empty store for each subtest, and the shared benchmarks on one store: the
// consumer-level suite for a store.Store (ExampleRunDriver shows the
// driver suites). It compiles but does not run, since the suite needs a
// *testing.T (store/memstore's own tests run it).
func ExampleRun() {
	// func TestConformance(t *testing.T) {
	testConformance := func(t *testing.T) {
		storetest.Run(t, func(t *testing.T) store.Store {
			s := memstore.New() // s, err := mystore.Open(t.Context(), mystore.TestDSN(t))
			// t.Cleanup(func() { s.Close() }): memstore has nothing to close
			return s
		})
	}

	// func BenchmarkItemsPage(b *testing.B) {
	benchmarkItemsPage := func(b *testing.B) {
		s := memstore.New() // s, err := mystore.Open(b.Context(), mystore.TestDSN(b)); b.Cleanup(...)
		storetest.BenchItemsPage(b, s)
	}

	_, _ = testConformance, benchmarkItemsPage
}
