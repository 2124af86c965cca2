package store

import (
	"context"
	"fmt"
	"time"
)

// The job API: a durable queue in the same store as the data, in River's
// model. A job enqueued with Tx.Enqueue exists if and only if its unit
// commits, so the data that causes work and the work are written together
// (the transactional outbox). Workers Claim jobs with a lease, run them
// outside any unit, and report the outcome with Complete, Retry, Snooze or
// Discard; a worker that dies simply lets its lease end, and the job is
// claimed again with the next attempt number. A worker whose lease ended
// and whose job was claimed again gets ErrLeaseLost and must drop its
// result.

// EnqueueOptions tunes Enqueue. Nil means: due now, not unique.
type EnqueueOptions struct {
	// RunAt is when the job becomes due; zero means now.
	RunAt time.Time
	// UniqueKey makes the job unique: while a job with this key exists (in
	// any state, until PruneJobs deletes it) no other is enqueued.
	UniqueKey string
}

// DefaultJobListLimit is the page size of Jobs when q.Limit is <= 0.
const DefaultJobListLimit = 100

// Enqueue adds a job of kind with payload (opaque; JSON by convention) to
// the queue, inside the unit. It returns the job's id and true, or, when
// opts.UniqueKey is held by an existing job, that job's id and false.
func (tx *Tx) Enqueue(ctx context.Context, kind string, payload []byte, opts *EnqueueOptions) (int64, bool, error) {
	if kind == "" {
		return 0, false, invalid("job without a kind")
	}
	now := tx.db.now()
	j := &Job{Kind: kind, Payload: payload, State: JobAvailable, RunAt: now, Created: now}
	if opts != nil {
		if !opts.RunAt.IsZero() {
			j.RunAt = opts.RunAt.Round(0)
		}
		j.UniqueKey = opts.UniqueKey
	}
	ok, err := tx.tx.InsertJob(ctx, j)
	if err != nil || ok {
		return j.ID, ok, err
	}
	held, err := tx.tx.ListJobs(ctx, JobQuery{UniqueKey: j.UniqueKey, Limit: 1})
	if err != nil {
		return 0, false, err
	}
	if len(held) == 0 {
		return 0, false, fmt.Errorf("store: job with unique key %q was not inserted, yet none holds the key", j.UniqueKey)
	}
	return held[0].ID, false, nil
}

// Claim takes up to n due jobs of the given kinds, oldest first, and
// leases them for lease: until it ends, no other claimer gets them. Each
// claimed job is running, with Attempt counting this claim. n is clamped
// to [1, MaxPageLimit].
func (tx *Tx) Claim(ctx context.Context, kinds []string, n int, lease time.Duration) ([]*Job, error) {
	if len(kinds) == 0 {
		return nil, invalid("Claim without kinds")
	}
	for _, k := range kinds {
		if k == "" {
			return nil, invalid("Claim of an empty kind")
		}
	}
	if lease <= 0 {
		return nil, invalid("Claim with lease %v", lease)
	}
	now := tx.db.now()
	return tx.tx.ClaimJobs(ctx, ClaimParams{Kinds: kinds, Limit: min(max(n, 1), MaxPageLimit), Now: now, LeaseUntil: now.Add(lease)})
}

// finish records r for the claimed job j. It leaves j as it is: a driver
// may run a unit twice, and the second run must finish the same attempt.
func (tx *Tx) finish(ctx context.Context, j *Job, r JobResult) error {
	if j == nil {
		return invalid("nil job")
	}
	r.ID, r.Attempt, r.At = j.ID, j.Attempt, tx.db.now()
	return tx.tx.FinishJob(ctx, r)
}

// Complete records that the claimed job j succeeded. ErrLeaseLost means
// another claimer holds it now.
func (tx *Tx) Complete(ctx context.Context, j *Job) error {
	return tx.finish(ctx, j, JobResult{State: JobCompleted})
}

// Forget records that the claimed job j succeeded by deleting it, for
// jobs whose success nothing reads later (or that the caller records in
// its own way): the store does not keep it completed until it is pruned,
// and its unique key is free again. ErrLeaseLost means another claimer
// holds it now.
func (tx *Tx) Forget(ctx context.Context, j *Job) error {
	return tx.finish(ctx, j, JobResult{State: JobCompleted, Forget: true})
}

// Retry records that the attempt failed with cause and schedules the job
// again at at (zero: now). The error is kept in Job.LastError.
func (tx *Tx) Retry(ctx context.Context, j *Job, at time.Time, cause error) error {
	msg := "unknown error"
	if cause != nil {
		msg = cause.Error()
	}
	if at.IsZero() {
		at = tx.db.now()
	}
	return tx.finish(ctx, j, JobResult{State: JobRetryable, RunAt: at.Round(0), Error: msg})
}

// Snooze puts the job back, due at at, without counting the attempt (for
// work that is not ready yet, such as a rate-limited peer).
func (tx *Tx) Snooze(ctx context.Context, j *Job, at time.Time) error {
	if at.IsZero() {
		at = tx.db.now()
	}
	return tx.finish(ctx, j, JobResult{State: JobAvailable, RunAt: at.Round(0)})
}

// Discard gives the job up for good, with reason kept in LastError.
func (tx *Tx) Discard(ctx context.Context, j *Job, reason string) error {
	return tx.finish(ctx, j, JobResult{State: JobDiscarded, Error: reason})
}

// ExtendLease moves the lease of the claimed job j to lease from now, for
// work that runs longer than its first lease, or returns ErrLeaseLost.
func (tx *Tx) ExtendLease(ctx context.Context, j *Job, lease time.Duration) error {
	if j == nil {
		return invalid("nil job")
	}
	if lease <= 0 {
		return invalid("ExtendLease with lease %v", lease)
	}
	until := tx.db.now().Add(lease)
	if err := tx.tx.ExtendLease(ctx, j.ID, j.Attempt, until); err != nil {
		return err
	}
	j.LeaseUntil = until
	return nil
}

// GetJob returns the job with that id, or ErrNotFound.
func (tx *Tx) GetJob(ctx context.Context, id int64) (*Job, error) { return tx.tx.GetJob(ctx, id) }

// Jobs returns the jobs matching q by ascending id after q.AfterID (for
// operators and tests; page with AfterID). A q.Limit <= 0 means
// DefaultJobListLimit; above MaxPageLimit, MaxPageLimit.
func (tx *Tx) Jobs(ctx context.Context, q JobQuery) ([]*Job, error) {
	if q.Limit <= 0 {
		q.Limit = DefaultJobListLimit
	}
	q.Limit = min(q.Limit, MaxPageLimit)
	return tx.tx.ListJobs(ctx, q)
}

// CountJobs returns the number of jobs matching q (AfterID and Limit
// ignored).
func (tx *Tx) CountJobs(ctx context.Context, q JobQuery) (int, error) {
	q.AfterID, q.Limit = 0, 0
	return tx.tx.CountJobs(ctx, q)
}

// PruneJobs deletes the completed and discarded jobs that finished more
// than olderThan ago (releasing their unique keys) and returns how many.
func (tx *Tx) PruneJobs(ctx context.Context, olderThan time.Duration) (int, error) {
	before := tx.db.now().Add(-olderThan)
	total := 0
	for {
		n, err := tx.tx.DeleteJobs(ctx, before, MaxPageLimit)
		total += n
		if err != nil || n < MaxPageLimit {
			return total, err
		}
	}
}

// Enqueue is Tx.Enqueue in a unit of its own.
func (db *DB) Enqueue(ctx context.Context, kind string, payload []byte, opts *EnqueueOptions) (id int64, inserted bool, err error) {
	err = db.Update(ctx, func(tx *Tx) error {
		var err error
		id, inserted, err = tx.Enqueue(ctx, kind, payload, opts)
		return err
	})
	return id, inserted, err
}

// Claim is Tx.Claim in a unit of its own: the usual way workers take jobs.
func (db *DB) Claim(ctx context.Context, kinds []string, n int, lease time.Duration) ([]*Job, error) {
	return update1(ctx, db, func(tx *Tx) ([]*Job, error) { return tx.Claim(ctx, kinds, n, lease) })
}

// Complete is Tx.Complete in a unit of its own.
func (db *DB) Complete(ctx context.Context, j *Job) error {
	return db.Update(ctx, func(tx *Tx) error { return tx.Complete(ctx, j) })
}

// Retry is Tx.Retry in a unit of its own.
func (db *DB) Retry(ctx context.Context, j *Job, at time.Time, cause error) error {
	return db.Update(ctx, func(tx *Tx) error { return tx.Retry(ctx, j, at, cause) })
}

// Snooze is Tx.Snooze in a unit of its own.
func (db *DB) Snooze(ctx context.Context, j *Job, at time.Time) error {
	return db.Update(ctx, func(tx *Tx) error { return tx.Snooze(ctx, j, at) })
}

// Discard is Tx.Discard in a unit of its own.
func (db *DB) Discard(ctx context.Context, j *Job, reason string) error {
	return db.Update(ctx, func(tx *Tx) error { return tx.Discard(ctx, j, reason) })
}

// ExtendLease is Tx.ExtendLease in a unit of its own.
func (db *DB) ExtendLease(ctx context.Context, j *Job, lease time.Duration) error {
	return db.Update(ctx, func(tx *Tx) error { return tx.ExtendLease(ctx, j, lease) })
}

// GetJob is Tx.GetJob in a unit of its own.
func (db *DB) GetJob(ctx context.Context, id int64) (*Job, error) {
	return view1(ctx, db, func(tx *Tx) (*Job, error) { return tx.GetJob(ctx, id) })
}

// Jobs is Tx.Jobs in a unit of its own.
func (db *DB) Jobs(ctx context.Context, q JobQuery) ([]*Job, error) {
	return view1(ctx, db, func(tx *Tx) ([]*Job, error) { return tx.Jobs(ctx, q) })
}

// CountJobs is Tx.CountJobs in a unit of its own.
func (db *DB) CountJobs(ctx context.Context, q JobQuery) (int, error) {
	return view1(ctx, db, func(tx *Tx) (int, error) { return tx.CountJobs(ctx, q) })
}

// PruneJobs is Tx.PruneJobs, one unit per batch of MaxPageLimit jobs, so a
// large backlog does not hold the writer for long.
func (db *DB) PruneJobs(ctx context.Context, olderThan time.Duration) (int, error) {
	before := db.now().Add(-olderThan)
	total := 0
	for {
		n, err := update1(ctx, db, func(tx *Tx) (int, error) { return tx.tx.DeleteJobs(ctx, before, MaxPageLimit) })
		total += n
		if err != nil {
			return total, err
		}
		if n < MaxPageLimit {
			db.log.DebugContext(ctx, "store: pruned finished jobs", "count", total, "before", before)
			return total, nil
		}
	}
}
