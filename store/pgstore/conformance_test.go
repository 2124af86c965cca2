package pgstore

import (
	"testing"

	"github.com/slothpub/slothpub/store"
	"github.com/slothpub/slothpub/store/storetest"
)

func TestRunDriver(t *testing.T) {
	storetest.RunDriver(t, func(t *testing.T) store.Driver { return newDriver(t) })
}

func TestRunJobs(t *testing.T) {
	storetest.RunJobs(t, func(t *testing.T) store.Driver { return newDriver(t) })
}
