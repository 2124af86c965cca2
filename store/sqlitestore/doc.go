// Package sqlitestore keeps the store in an SQLite database file: the
// embedded default of slothpub. It uses modernc.org/sqlite, a pure Go SQLite,
// so it needs no cgo and no server.
//
// Open returns the store (a *store.DB, which implements store.Store) over
// the package's Driver; OpenDriver returns the Driver alone, for a caller
// that passes it to store.Open itself. Either creates the file if needed
// (mode 0600 by default: it holds private keys) and brings its schema up to
// date.
//
// The database runs in WAL mode with synchronous=FULL by default, so a
// unit of work that returned nil survives the process being killed and the
// machine losing power; Options.Sync = SyncNormal (GoToSocial's default)
// trades the power loss for fewer fsyncs: see Sync. SQLite allows one
// writer at a time: the Driver runs every unit on one writer connection
// and group-commits the units that concurrent callers queue (one COMMIT,
// one fsync, for many; see Driver), and serves Views from a pool of
// read-only connections, which WAL lets run alongside the writer. Another process may open the same file; it
// then waits up to Options.BusyTimeout for the write lock.
//
// # Schema
//
// The schema version is kept in PRAGMA user_version. Opening applies, in
// one transaction, every migration newer than the file's version, and
// refuses a file whose version is newer than this code knows
// (ErrNewerSchema: an older binary must not write to a newer schema).
//
// # Collections
//
// Collection members live in one table whose AUTOINCREMENT primary key is
// the store-wide insertion sequence, indexed by (collection, seq) to page
// both ways. CountItems reads one row of collection_counts (schema version
// 4), which AddItem and RemoveItem keep in the same unit as every add and
// remove (schema version 5; triggers did it before): O(1), whatever the
// collection's size. AddItem's counts are written once per collection when
// the unit ends (or before the unit counts or removes members of it), so
// that a unit adding a member per delivery writes a count once.
//
// Write statements avoid what makes SQLite open a statement journal
// (RETURNING, triggers): inside a unit of a group commit, a SAVEPOINT,
// a statement journal copies every page the statement touches to the
// sub-journal. Temporary files, the sub-journal included, are kept in
// memory (PRAGMA temp_store = MEMORY).
//
// # Values
//
// store.Values live in the protocol_values table (schema version 2) with
// their expiry in Unix nanoseconds. An expired value is invisible at once;
// every 256th PutValue deletes all expired rows, so the table holds little
// more than the live values.
package sqlitestore
