// Package sqlitestore is a store.Store in an SQLite database file: the
// embedded default of slothpub. It uses modernc.org/sqlite, a pure Go SQLite,
// so it needs no cgo and no server.
//
// Open creates the file if needed and brings its schema up to date. The
// database runs in WAL mode with synchronous=FULL, so a write that returned
// nil survives the process being killed and the machine losing power. SQLite
// allows one writer at a time: the Store sends every write through a single
// connection and serves reads from a separate pool of read-only connections,
// which WAL lets run alongside the writer. Another process may open the same
// file; it then waits up to Options.BusyTimeout for the write lock.
//
// The path ":memory:" opens a private in-memory database on one connection
// (nothing is durable; useful in tests).
//
// # Schema
//
// The schema version is kept in PRAGMA user_version. Open applies, in one
// transaction, every migration newer than the file's version, and refuses a
// file whose version is newer than this code knows (an older binary must not
// write to a newer schema).
//
// # Collections
//
// Collection items live in one table whose AUTOINCREMENT primary key is the
// insertion sequence; a page cursor is that sequence number in decimal. Items
// answers a cursor that is not a positive decimal number without sign or
// leading zeros with an error wrapping store.ErrNotFound, so a handler can
// answer a malformed page parameter from the network with 404.
//
// # Values
//
// store.Values live in the protocol_values table (schema version 2) with
// their expiry in Unix nanoseconds. An expired value is invisible at once;
// every 256th PutValue deletes all expired rows, so the table holds little
// more than the live values.
package sqlitestore
