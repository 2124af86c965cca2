// Package storetest is the conformance suite for store.Store drivers.
//
// Every driver, the ones in this module and any written by a third party,
// must pass Run. The suite checks each method of store.Store and every
// contract documented in package store: the sentinel errors (tested with
// errors.Is, so drivers may wrap them), that exactly one of many concurrent
// CreateObject calls for one IRI succeeds, that PutObject keeps Created, that
// tombstones round-trip, that Data and PrivateKeyPEM are copied in and out,
// and that collections keep insertion order, reject duplicates, page with
// stable cursors while items are added and removed, and stay isolated from
// each other.
//
// Beyond store.go, the suite asks one thing that callers rely on when a
// cursor comes from the network: Items must answer a cursor it cannot parse
// with an error wrapping store.ErrNotFound (never a panic, never a silent
// restart from the newest item).
//
// A third-party driver's test is a few lines (ExampleRun is this file
// with memstore in mystore's place):
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
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) store.Store {
//			s, err := mystore.Open(t.Context(), mystore.TestDSN(t))
//			if err != nil {
//				t.Fatal(err)
//			}
//			t.Cleanup(func() { s.Close() })
//			return s
//		})
//	}
//
//	func BenchmarkItemsPage(b *testing.B) {
//		s, err := mystore.Open(b.Context(), mystore.TestDSN(b))
//		if err != nil {
//			b.Fatal(err)
//		}
//		b.Cleanup(func() { s.Close() })
//		storetest.BenchItemsPage(b, s)
//	}
//
// BenchCreateObject and BenchItemsPage are shared benchmarks, so figures of
// different drivers compare.
//
// newStore is called once per subtest and must return an empty store; use
// t.Cleanup to release it.
package storetest
