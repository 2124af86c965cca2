package worker

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/slothpub/slothpub/store"
)

// ErrFinished is returned by a handler that finished its job itself, in
// the unit of work that made the job's effects (tx.Complete, tx.Retry,
// tx.Snooze or tx.Discard inside the same db.Update), so that the effects
// and the outcome commit together or not at all. The worker then records
// nothing. It does not check that the handler really finished the job: a
// job left running is claimed again when its lease ends. CompleteWith is
// the usual way to return it.
var ErrFinished = errors.New("worker: job finished by its handler")

// ErrShutdown is the cause (context.Cause) of a handler's ctx cancelled
// because Shutdown ran out of time; store.ErrLeaseLost is the cause when
// the job's lease was lost.
var ErrShutdown = errors.New("worker: shut down")

// CompleteWith runs fn and the completion of j in one unit of work on db:
// the job is completed if and only if fn's writes commit. It returns
// ErrFinished when the unit committed, for the handler to return, and the
// unit's error otherwise (fn's error, or store.ErrLeaseLost wrapped when
// another claimer holds the job now), which the worker treats as any
// failure. fn must not have effects outside tx (see store.DB.Update).
func CompleteWith(ctx context.Context, db *store.DB, j *store.Job, fn func(tx *store.Tx) error) error {
	err := db.Update(ctx, func(tx *store.Tx) error {
		if err := fn(tx); err != nil {
			return err
		}
		return tx.Complete(ctx, j)
	})
	if err != nil {
		return err
	}
	return ErrFinished
}

// errForget is the outcome Forget returns.
var errForget = errors.New("worker: job succeeded; forget it")

// Forget returns the outcome of a job that succeeded and is not to be
// kept: the worker completes it as it does when the handler returns nil
// (batched, counted in Stats.Completed), but deletes it (store.Tx.Forget)
// instead of keeping it completed until it is pruned. For jobs done in
// great numbers whose success is recorded elsewhere or not needed, so
// that the store does not grow by one finished job each.
func Forget() error { return errForget }

// snoozeError is the outcome Snooze and SnoozeUntil return.
type snoozeError struct {
	until time.Time     // when set, the absolute due time
	d     time.Duration // otherwise, from the moment the outcome is recorded
}

func (e *snoozeError) Error() string {
	if !e.until.IsZero() {
		return "worker: snoozed until " + e.until.Format(time.RFC3339Nano)
	}
	return "worker: snoozed for " + e.d.String()
}

// Snooze returns the outcome that puts the job back, due d from now,
// without counting the attempt (work that is not ready yet, a peer that
// asked to wait). A d <= 0 makes it due at once. A job may be snoozed any
// number of times: MaxAttempts does not bound snoozes.
func Snooze(d time.Duration) error { return &snoozeError{d: max(d, 0)} }

// SnoozeUntil is Snooze with a due time: the job is due at t (at once when
// t is zero or past), the attempt not counted.
func SnoozeUntil(t time.Time) error {
	if t.IsZero() {
		return &snoozeError{}
	}
	return &snoozeError{until: t}
}

// retryError is the outcome RetryAt returns.
type retryError struct {
	at    time.Time
	cause error
}

func (e *retryError) Error() string {
	if e.cause == nil {
		return "worker: retry requested"
	}
	return e.cause.Error()
}

func (e *retryError) Unwrap() error { return e.cause }

// RetryAt returns the outcome of a failed attempt to be tried again at t
// instead of after the Backoff (to honour a Retry-After, for instance; a
// zero or past t means at once). The attempt counts: after the last of
// MaxAttempts the job is discarded all the same. cause is recorded as the
// job's LastError; the returned error's message is cause's.
func RetryAt(t time.Time, cause error) error { return &retryError{at: t, cause: cause} }

// discardError is the outcome Discard, DiscardWith and Permanent return.
type discardError struct {
	reason error
	with   func(ctx context.Context, tx *store.Tx) error // DiscardWith's fn
}

func (e *discardError) Error() string {
	if e.reason == nil {
		return "worker: discarded"
	}
	return e.reason.Error()
}

func (e *discardError) Unwrap() error { return e.reason }

// Discard returns the outcome that gives the job up at once, without
// retries, with reason recorded as its LastError (a gone actor, a
// malformed payload). The returned error's message is reason's.
func Discard(reason error) error { return &discardError{reason: reason} }

// DiscardWith is Discard with effects: the worker runs fn in the unit of
// work that discards the job, so that what fn writes (a record of the
// failure) commits with the discard or not at all. fn must not have
// effects outside tx; if it fails, the discard is not recorded this time
// (the worker tries again, then leaves the job to run again when its
// lease ends).
func DiscardWith(reason error, fn func(ctx context.Context, tx *store.Tx) error) error {
	return &discardError{reason: reason, with: fn}
}

// Permanent marks err as a permanent failure: it is Discard(err), for code
// that classifies errors where they occur.
func Permanent(err error) error { return Discard(err) }

// IsPermanent reports whether err is, or wraps, the outcome of Discard or
// Permanent.
func IsPermanent(err error) bool {
	var d *discardError
	return errors.As(err, &d)
}

// panicError is the failure of a handler that panicked.
type panicError struct{ value any }

func (e *panicError) Error() string { return fmt.Sprintf("worker: handler panicked: %v", e.value) }

// MaxBackoff caps the wait of DefaultBackoff.
const MaxBackoff = 24 * time.Hour

// DefaultBackoff is the default Options.Backoff: after failed attempt n it
// waits 1s plus a random duration, uniform in [0, min(n⁴ seconds,
// MaxBackoff)): River's n⁴-second schedule with full jitter (so that jobs
// that failed together, on one unreachable server, do not come back
// together), capped at a day. Attempt 1 waits 1–2s, 2 up to 17s, 5 up to
// about 10 minutes, 10 up to about 2.8 hours, 17 and later up to a day.
// Over the default 25 attempts the waits add up to about 11 days at most
// and 5.4 days on average.
func DefaultBackoff(attempt int) time.Duration {
	base := MaxBackoff
	if n := max(attempt, 1); n < 18 { // 18⁴ s > MaxBackoff
		base = min(time.Duration(n*n*n*n)*time.Second, MaxBackoff)
	}
	return time.Second + rand.N(base)
}
