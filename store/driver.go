package store

import (
	"context"
	"errors"
	"time"
)

// This file is the driver surface: what a storage backend implements, for
// drivers only. Applications and the SDK's packages use the portable type
// (*DB) over it, which holds what every driver would otherwise repeat:
// cursor formats, paging limits, validation, job policy and the SDK's data
// model. A third-party driver implements Driver and DriverTx and passes
// storetest.RunDriver and storetest.RunJobs.
//
// Contracts every driver keeps:
//
//   - Arguments are already validated by the portable type: IRIs, keys and
//     kinds are non-empty, limits are in [1, MaxPageLimit], ranges and
//     times are sane. A driver need not check them again.
//   - Errors are the sentinels ErrNotFound, ErrExists and ErrLeaseLost
//     (wrapped with %w) where the method says so; anything else is an
//     internal failure and is passed up as is.
//   - A driver stores and returns copies: callers may reuse the slices and
//     structs they pass in or get back.
//   - Every method is safe for concurrent use across transactions; one
//     DriverTx is used by one goroutine at a time and never after its
//     Update or View returns.

// ErrLeaseLost is returned when a worker finishes or extends a job whose
// lease it no longer holds: the lease expired and the job was claimed
// again (or finished) by someone else. The worker must drop its result.
var ErrLeaseLost = errors.New("store: job lease lost")

// MaxPageLimit is the largest page a driver is ever asked for.
const MaxPageLimit = 1000

// Driver is a storage backend.
type Driver interface {
	// Update runs fn in one read-write unit of work. When fn returns nil,
	// every write it made is committed, durably, before Update returns;
	// when fn returns an error (or panics), none is, and Update returns
	// fn's error unchanged (or re-panics). Reads inside fn see its own
	// writes. Units never see each other's uncommitted writes.
	//
	// A driver may run concurrent units one after the other and may commit
	// several together (group commit: one fsync for many), provided each
	// unit still commits or rolls back on its own. fn must not block on
	// anything but the transaction (no network): the driver may hold a
	// write lock while it runs. A driver may call fn more than once if it
	// must retry a unit after a serialisation failure, so fn must not have
	// effects outside tx.
	Update(ctx context.Context, fn func(tx DriverTx) error) error
	// View runs fn against a consistent read-only view. Writes inside a
	// View fail.
	View(ctx context.Context, fn func(tx DriverTx) error) error
	// Close releases the backend. Units in progress finish first.
	Close() error
}

// DriverTx is what a unit of work can do. Objects, collections, keys,
// accounts and values behave as the interfaces of store.go document, with
// these differences: collections are paged by sequence numbers (Range)
// rather than string cursors, and objects carry the fields they are
// queried by.
type DriverTx interface {
	// Objects.

	// GetObject returns the object with that IRI or ErrNotFound.
	GetObject(ctx context.Context, iri string) (*Object, error)
	// InsertObject stores o if no object has its IRI, else ErrExists. It
	// sets o.Seq, o.Created and o.Updated.
	InsertObject(ctx context.Context, o *Object) error
	// PutObject stores o, replacing the object with its IRI; Created and
	// Seq are kept from the first write. It sets o.Seq, o.Created and
	// o.Updated.
	PutObject(ctx context.Context, o *Object) error
	// DeleteObject removes the object or returns ErrNotFound.
	DeleteObject(ctx context.Context, iri string) error
	// FindObjects returns the objects whose indexed fields equal every
	// non-empty field of q, ordered and bounded by q.Range over Seq. At
	// least one field of q is set. It must use an index, never a scan of
	// all objects.
	FindObjects(ctx context.Context, q ObjectQuery) ([]*Object, error)

	// Collections: ordered sets of strings, each member with a sequence
	// number that increases with every insertion in the whole store.

	// AddItem adds item and returns its sequence number; an item already
	// present is ErrExists and keeps its number.
	AddItem(ctx context.Context, collection, item string) (int64, error)
	// RemoveItem removes item or returns ErrNotFound.
	RemoveItem(ctx context.Context, collection, item string) error
	// HasItem reports whether item is a member, in O(1) or O(log n).
	HasItem(ctx context.Context, collection, item string) (bool, error)
	// CountItems returns the number of members (0 for a collection never
	// written), without reading them all.
	CountItems(ctx context.Context, collection string) (int, error)
	// Items returns the members inside r, in r's order.
	Items(ctx context.Context, collection string, r Range) ([]Item, error)

	// Keys, accounts and values: as Keys, Accounts and Values.
	GetKey(ctx context.Context, id string) (*Key, error)
	PutKey(ctx context.Context, k *Key) error
	DeleteKey(ctx context.Context, id string) error
	CreateAccount(ctx context.Context, a *Account) error
	GetAccount(ctx context.Context, username string) (*Account, error)
	CountAccounts(ctx context.Context) (int, error)
	// GetValue returns the value of key, or ErrNotFound when there is none
	// or it expired before now.
	GetValue(ctx context.Context, key string, now time.Time) ([]byte, error)
	PutValue(ctx context.Context, key string, value []byte, expires time.Time) error
	// DeleteValue removes key, or returns ErrNotFound (also for a value
	// that expired before now).
	DeleteValue(ctx context.Context, key string, now time.Time) error

	// Jobs: see Job for the states and what moves a job between them.

	// InsertJob stores j as a new job and sets j.ID; it reports false (and
	// changes nothing) when j.UniqueKey is not empty and a job with that
	// key exists, in any state. j.State is JobAvailable, j.Attempt 0 and
	// j.RunAt set.
	InsertJob(ctx context.Context, j *Job) (bool, error)
	// ClaimJobs takes up to p.Limit claimable jobs of p.Kinds, oldest
	// RunAt first (then lowest ID): a job is claimable when it is
	// available or retryable with RunAt <= p.Now, or running with a lease
	// that ended at or before p.Now. Each claimed job becomes running with
	// LeaseUntil p.LeaseUntil and Attempt one higher, and is returned so.
	// Concurrent claimers (also in other processes, for drivers that allow
	// them) never get the same job while its lease holds.
	ClaimJobs(ctx context.Context, p ClaimParams) ([]*Job, error)
	// FinishJob records the outcome of the attempt r.Attempt of job r.ID:
	// the job must be running with that attempt number, else ErrLeaseLost
	// (ErrNotFound when there is no such job). See JobResult.
	FinishJob(ctx context.Context, r JobResult) error
	// ExtendLease moves the lease of a running job (with that attempt) to
	// until, or returns ErrLeaseLost.
	ExtendLease(ctx context.Context, id int64, attempt int, until time.Time) error
	// GetJob returns the job with that id or ErrNotFound.
	GetJob(ctx context.Context, id int64) (*Job, error)
	// ListJobs returns the jobs that match q, by ascending ID after
	// q.AfterID, at most q.Limit.
	ListJobs(ctx context.Context, q JobQuery) ([]*Job, error)
	// CountJobs returns the number of jobs that match q (AfterID and Limit
	// ignored).
	CountJobs(ctx context.Context, q JobQuery) (int, error)
	// DeleteJobs removes the completed and discarded jobs that finished
	// before before, at most limit of them, and returns how many it
	// removed.
	DeleteJobs(ctx context.Context, before time.Time, limit int) (int, error)
}

// Item is a member of a collection and its sequence number.
type Item struct {
	Seq   int64
	Value string
}

// Range bounds and orders a page of sequence-numbered records.
type Range struct {
	// Before keeps records with Seq < Before; 0 means no upper bound.
	Before int64
	// After keeps records with Seq > After; 0 means no lower bound.
	After int64
	// Limit is the most records returned, in [1, MaxPageLimit].
	Limit int
	// Ascending returns the lowest sequence numbers first (the records
	// just after After: Mastodon's min_id); false, the default, returns
	// the highest first (newest first: max_id and since_id).
	Ascending bool
}

// ObjectQuery selects objects by their indexed fields; every non-empty
// field must match.
type ObjectQuery struct {
	Actor     string // Object.Actor: who it belongs to
	InReplyTo string // Object.InReplyTo: the thread parent
	Type      string // Object.Type
	Range     Range  // over Object.Seq
}

// JobState is where a job is in its life.
type JobState string

// The states of a job. A job is inserted available; ClaimJobs makes it
// running; its worker finishes it as completed, retryable (to run again
// at RunAt), available again (snoozed: the attempt is not counted) or
// discarded (dead, with its reason). A running job whose lease ends is
// claimable again, as if it were available.
const (
	JobAvailable JobState = "available"
	JobRunning   JobState = "running"
	JobRetryable JobState = "retryable"
	JobCompleted JobState = "completed"
	JobDiscarded JobState = "discarded"
)

// Job is a durable unit of background work.
type Job struct {
	ID   int64
	Kind string // what the job does, e.g. "inbox.process", "outbox.deliver"
	// Payload is the job's arguments, opaque to the store (JSON by the
	// SDK's convention).
	Payload []byte
	// UniqueKey, when set, makes the job unique: no second job with the
	// same key is inserted while the first exists (until it is deleted).
	UniqueKey string
	State     JobState
	// Attempt counts the claims of the job (snoozes not included).
	Attempt int
	// RunAt is when the job is due (available, retryable).
	RunAt time.Time
	// LeaseUntil is when the lease of a running job ends.
	LeaseUntil time.Time
	// LastError is the error of the last failed attempt, or the reason a
	// job was discarded.
	LastError string
	Created   time.Time
	// Finished is when the job was completed or discarded.
	Finished time.Time
}

// ClaimParams says what ClaimJobs takes.
type ClaimParams struct {
	Kinds      []string // at least one
	Limit      int      // in [1, MaxPageLimit]
	Now        time.Time
	LeaseUntil time.Time // after Now
}

// JobResult is the outcome of one attempt of a job.
type JobResult struct {
	ID      int64
	Attempt int
	// State is JobCompleted, JobRetryable (again at RunAt, with Error),
	// JobAvailable (snoozed until RunAt: Attempt is decremented so the
	// attempt does not count) or JobDiscarded (with Error as the reason).
	State JobState
	// Forget, with State JobCompleted, deletes the job instead of keeping
	// it completed: nothing reads its outcome later, and its unique key is
	// free again.
	Forget bool
	RunAt  time.Time
	Error  string
	At     time.Time // when it finished: Job.Finished for completed and discarded
}

// JobQuery selects jobs; empty fields match everything.
type JobQuery struct {
	Kinds     []string
	States    []JobState
	UniqueKey string
	// DueBy, when set, keeps the jobs due by then: available or retryable
	// with RunAt at or before it (the backlog a worker would claim now),
	// not those waiting for a later time, running or finished.
	DueBy   time.Time
	AfterID int64
	Limit   int // ListJobs only, in [1, MaxPageLimit]
}
