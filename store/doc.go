// Package store defines what slothpub keeps and how: one transactional
// store for data and jobs, in the portable-type-over-driver model of
// gocloud.dev.
//
// Stores hold protocol state only: documents as raw JSON with the fields
// they are queried by (type, actor/attributedTo, inReplyTo), ordered
// collections of IRIs, public keys, local accounts, a small key-value
// space with expiry (Values) for per-host protocol memory, and durable
// jobs. They never parse ActivityStreams vocabulary, so a driver is small
// and needs no vocabulary imports.
//
// # The portable type
//
// Applications and the SDK's packages use *DB, made by Open over a
// Driver. DB holds, once, what every driver would otherwise repeat:
// validation, string cursors and page limits, Mastodon-style paging
// (PageQuery: max_id, since_id, min_id; ItemsPage and ObjectsPage carry
// the cursors of a Link header), lookups by indexed field (FindObjects),
// and the job policy (clocks, leases, unique keys, retention).
//
// DB.Update runs a function in one unit of work: every write in it, data
// and jobs alike, commits or none does. DB.View gives a consistent
// read-only view. Both *DB and *Tx implement Store, so code written
// against the small interfaces (Objects, Collections, Keys, Accounts,
// Values) runs unchanged on either: a DB method is a unit of its own, a Tx
// method is part of the caller's unit.
//
// # Jobs
//
// The job queue lives in the same store, in River's model (see the
// comment at the top of jobs.go): Tx.Enqueue inside the unit that writes
// the data the job acts on (the job exists if and only if the unit
// commits), Claim with a lease, then Complete, Retry (with the error),
// Snooze (not counted as an attempt) or Discard. A job whose lease ended
// is claimed again with the next attempt; its first worker then gets
// ErrLeaseLost. UniqueKey deduplicates enqueues until PruneJobs deletes
// the finished job.
//
// # The data model
//
// model.go names every collection and record the SDK keeps (followers,
// following, follow requests, pending follows, likes, shares, replies,
// inboxes as home timelines, processed activity ids, delivery reach), so
// no package spells a key string.
//
// # Drivers
//
// A driver implements Driver and DriverTx (driver.go documents every
// contract) and passes storetest.RunDriver and storetest.RunJobs; the
// portable type over it then passes storetest.Run. memstore.NewDriver is
// the in-memory driver (tests); sqlitestore is the embedded default and
// pgstore the PostgreSQL driver for several processes on one database.
// memstore.New and sqlitestore.Open are conveniences that return the DB over
// their driver; there is no Store implementation beside DB (and Tx). The
// drivers run one benchmark set, storetest.BenchDriver, side by side.
package store
