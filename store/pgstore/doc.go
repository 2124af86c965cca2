// Package pgstore is a store.Driver on PostgreSQL, through pgx v5 and its
// connection pool: the driver for several server processes sharing one
// database.
//
// Open connects, creates the store's schema (Options.Schema, default
// "slothpub") if it is missing and migrates it. Nothing in the package
// reads the environment or starts work of its own beyond pgxpool's health
// check, which Close stops.
//
// # Schema and migrations
//
// The migrations are SQL files embedded in the binary (migrations/NNNN_*.sql),
// applied forward only, in order, each recorded in slothpub_migrations. Open
// runs every missing one in a single transaction that first takes a
// transaction-level advisory lock keyed by the schema's name, so processes
// that start together migrate once: the first migrates, the others wait
// and then find nothing to do. A schema at a version newer than the binary
// knows makes Open fail: an older binary must not write to tables it does
// not understand. Times are bigint Unix nanoseconds, so every time a caller
// stores comes back exactly.
//
// # Units of work
//
// Update is a READ COMMITTED transaction and View a REPEATABLE READ READ
// ONLY one (see Driver.Update for why). Update calls fn again, up to
// Options.MaxAttempts times, when PostgreSQL aborts the transaction with a
// serialisation failure or a deadlock, as store.Driver allows. Commits are
// as durable as the server is configured to be: with the defaults (fsync
// on, synchronous_commit on) a unit is on disk when Update returns.
//
// # Sequence numbers
//
// Object.Seq is an identity column; collection members draw from one
// sequence (collection_item_seq), so a member's number increases with every
// insertion in the whole store. Within a collection the numbers also
// follow commit order: AddItem and RemoveItem take a per-collection
// advisory lock held to the end of the unit before they draw a number, so
// a reader paging with Range.After never misses a member committed after
// its page. Units writing the same collection therefore run one after the
// other. Object sequence numbers carry no such lock: they follow the order
// of insertion, and two units inserting at once may commit in the other
// order.
//
// # Jobs
//
// ClaimJobs is one statement: a SELECT ... FOR UPDATE SKIP LOCKED in a CTE,
// ordered by run_at and id, feeding an UPDATE that marks the jobs running,
// counts the attempt and sets the lease. Claimers in any number of
// processes pass over each other's rows instead of waiting. The partial
// index jobs_to_claim holds only unfinished jobs in that order, so a claim
// reads the due jobs and stops after its limit however many finished jobs
// the table keeps. FinishJob and ExtendLease are updates guarded by state
// and attempt, so a worker whose lease was lost changes nothing and gets
// store.ErrLeaseLost.
package pgstore
