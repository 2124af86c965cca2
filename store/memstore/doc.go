// Package memstore is a store.Store kept in memory.
//
// It is meant for tests and for whole federations run inside one test
// binary: it is fast, needs no setup and forgets everything when the
// process ends. It is safe for concurrent use and copies every byte slice in
// and out, so callers can never alias the stored data. It passes the
// storetest conformance suite.
//
// Collection cursors are decimal sequence numbers; a cursor that is not one
// makes Items return an error wrapping store.ErrNotFound.
//
// Expired values (store.Values) are invisible at once and swept out of the
// map by later PutValue calls, at an amortised constant cost per call.
package memstore
