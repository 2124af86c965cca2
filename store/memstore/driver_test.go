package memstore_test

import (
	"testing"

	"github.com/slothpub/slothpub/store"
	"github.com/slothpub/slothpub/store/memstore"
	"github.com/slothpub/slothpub/store/storetest"
)

func newDriver(t *testing.T) store.Driver {
	d := memstore.NewDriver()
	t.Cleanup(func() { d.Close() })
	return d
}

func TestDriverConformance(t *testing.T) { storetest.RunDriver(t, newDriver) }

func TestDriverJobs(t *testing.T) { storetest.RunJobs(t, newDriver) }
