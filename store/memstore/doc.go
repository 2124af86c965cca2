// Package memstore keeps a store in memory.
//
// It is meant for tests and for whole federations run inside one test
// binary: it is fast, needs no setup and forgets everything when the
// process ends. New returns the portable store.DB over a Driver, so a test
// exercises the same units of work, job queue, paging and validation as a
// server on SQLite or PostgreSQL; Driver is the store.Driver itself, for
// drivers' own tests and for wrapping. It is safe for concurrent use and
// copies every byte slice in and out, so callers can never alias the stored
// data. It passes storetest.Run, RunDriver and RunJobs.
//
// A unit of work takes one lock for writing and keeps an undo log, replayed
// when the unit fails; Views take the lock for reading. Objects are indexed
// by actor, inReplyTo and type, collections by member and sequence, jobs by
// kind and unique key. Expired values are invisible at once but never
// purged: the store lives as long as a test.
package memstore
