package storetest_test

import (
	"testing"

	"github.com/slothpub/slothpub/store"
	"github.com/slothpub/slothpub/store/memstore"
	"github.com/slothpub/slothpub/store/storetest"
)

// A driver's test file runs the suite with a constructor that returns a new,
// empty store for each subtest.
func ExampleRun() {
	// In the driver's package, e.g. mystore_test.go:
	testConformance := func(t *testing.T) {
		storetest.Run(t, func(t *testing.T) store.Store {
			s := memstore.New() // mystore.Open(t.Context(), ...), closed in t.Cleanup
			return s
		})
	}
	_ = testConformance // a Test function in the driver's package
}
