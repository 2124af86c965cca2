package storetest_test

import (
	"testing"

	"github.com/slothpub/slothpub/store"
	"github.com/slothpub/slothpub/store/memstore"
	"github.com/slothpub/slothpub/store/storetest"
)

// A driver's test file runs the driver suite, the job suite, and the
// consumer suite on the portable type over the driver. This is the package
// doc's sample with memstore.NewDriver in mystore.Open's place; it compiles
// but does not run, since the suites need a *testing.T (store/memstore and
// store run them).
func ExampleRunDriver() {
	newDriver := func(t *testing.T) store.Driver {
		d := memstore.NewDriver() // d, err := mystore.Open(t.Context(), mystore.TestDSN(t))
		t.Cleanup(func() { d.Close() })
		return d
	}

	// func TestDriver(t *testing.T) { storetest.RunDriver(t, newDriver) }
	testDriver := func(t *testing.T) { storetest.RunDriver(t, newDriver) }

	// func TestJobs(t *testing.T) { storetest.RunJobs(t, newDriver) }
	testJobs := func(t *testing.T) { storetest.RunJobs(t, newDriver) }

	// func TestStore(t *testing.T) { ... }
	testStore := func(t *testing.T) {
		storetest.Run(t, func(t *testing.T) store.Store { return store.Open(newDriver(t), nil) })
	}

	_, _, _ = testDriver, testJobs, testStore
}
