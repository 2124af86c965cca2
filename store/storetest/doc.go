// Package storetest holds the conformance suites of the store package.
//
// There are three, one per surface:
//
//   - RunDriver checks a store.Driver: units of work (a unit that fails by
//     error or by panic leaves nothing, reads inside see its own writes, a
//     concurrent View sees neither uncommitted nor half-committed units,
//     one of concurrent inserts of an IRI wins), InsertObject, PutObject,
//     Seq, Created and Updated, FindObjects by every field and their
//     combinations with Range both ways, collections paged by Range both
//     ways also while other units add and remove items, counts,
//     membership, removal, keys, accounts, and values with expiry by the
//     now argument.
//   - RunJobs checks the job queue of a store.Driver: insert and unique-key
//     dedupe (also against finished jobs, until deleted), claim order
//     (RunAt, then ID), due jobs only, kinds, limits, leases (an expired
//     lease makes a job claimable again with the next attempt; the stale
//     worker gets store.ErrLeaseLost), the completed, retryable, snoozed
//     and discarded transitions, ExtendLease, ListJobs and CountJobs with
//     AfterID paging, DeleteJobs retention, concurrent claimers (each job
//     claimed once), and jobs in units that roll back.
//   - Run checks a store.Store, the consumer interface: what the SDK's
//     packages rely on. store.Open over a driver passes it; so do the
//     older Store implementations.
//
// Every sentinel is tested with errors.Is, so drivers may wrap them.
// RunDriver also checks that a sentinel error leaves the unit usable: the
// SDK ignores ErrExists and goes on in the same unit, so a SQL driver must
// not let a unique violation abort its transaction. The
// suites drive time through the driver's now arguments, never the clock,
// and never call t.Fatal inside a unit of work (a driver may run the
// unit's function on another goroutine).
//
// Beyond store.go, Run asks one thing that callers rely on when a cursor
// comes from the network: Items must answer a cursor it cannot parse with
// an error wrapping store.ErrNotFound (never a panic, never a silent
// restart from the newest item).
//
// A driver's test is a few lines (ExampleRunDriver is this sample with
// memstore in mystore's place):
//
//	package mystore_test
//
//	import (
//		"testing"
//
//		"example.com/mystore"
//		"github.com/slothpub/slothpub/store"
//		"github.com/slothpub/slothpub/store/storetest"
//	)
//
//	func newDriver(t *testing.T) store.Driver {
//		d, err := mystore.Open(t.Context(), mystore.TestDSN(t))
//		if err != nil {
//			t.Fatal(err)
//		}
//		t.Cleanup(func() { d.Close() })
//		return d
//	}
//
//	func TestDriver(t *testing.T) { storetest.RunDriver(t, newDriver) }
//
//	func TestJobs(t *testing.T) { storetest.RunJobs(t, newDriver) }
//
//	func TestStore(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) store.Store { return store.Open(newDriver(t), nil) })
//	}
//
// newDriver (and Run's newStore) is called once per subtest and must
// return an empty store; use t.Cleanup to release it.
//
// BenchCreateObject and BenchItemsPage are shared benchmarks of a
// store.Store, so figures of different drivers compare.
package storetest
