// Package worker runs the jobs of a store.DB: the job runner of the SDK's
// inbox processing, outbox fan-out and delivery, and of applications.
//
// A Worker claims due jobs of the kinds it has a Handler for (Handle), at
// most Options.Concurrency at once over all kinds, each with a lease that
// it renews while the handler runs, and records the outcome the handler
// returns. Several workers, in one process or in several processes on one
// database, share the jobs; a job whose worker died is claimed again once
// its lease ends.
//
//	w := worker.New(db, &worker.Options{Concurrency: 16})
//	w.Handle("outbox.deliver", deliver)
//	go w.Run(ctx)
//	...
//	db.Update(ctx, func(tx *store.Tx) error { ...; _, _, err := tx.Enqueue(ctx, "outbox.deliver", p, nil); return err })
//	w.Notify() // run it now rather than at the next poll
//	...
//	w.Shutdown(shutdownCtx)
//
// # Outcomes
//
// What a handler returns decides what becomes of the job (wrapped outcomes
// work too: the worker looks with errors.Is and errors.As):
//
//   - nil: the job is completed. Its slot is free at once; completions
//     are recorded by one goroutine, several in one unit when jobs end
//     faster than units commit (within a few milliseconds), else each at
//     once. Until its completion is recorded the job is running, under
//     its lease; Shutdown records the completions still waiting.
//   - Forget(): the job succeeded, as with nil, and is deleted instead of
//     kept completed until it is pruned (store.Tx.Forget): for jobs whose
//     success nothing reads later, or that the handler records its own way.
//   - ErrFinished: the handler finished the job itself, inside the unit
//     of work that made its effects (tx.Complete, or tx.Retry, tx.Snooze,
//     tx.Discard, in the same db.Update), so that effects and completion
//     commit together; the worker records nothing. CompleteWith does this.
//   - Snooze(d) or SnoozeUntil(t): the job is put back, due later, and the
//     attempt is not counted.
//   - RetryAt(t, cause): the attempt failed; the job runs again at t
//     rather than after the backoff (a Retry-After), and the attempt
//     counts toward MaxAttempts.
//   - Discard(reason) or Permanent(err): the job is discarded at once, with
//     the reason as its LastError, and OnDiscard is called.
//   - any other error, or a panic (recovered, logged with its stack at
//     error level): the attempt failed; the job is retried after
//     Backoff(attempt) with the error as its LastError or, when that was
//     attempt MaxAttempts, discarded with it.
//
// Delivery is at least once: a job whose outcome could not be recorded (the
// worker died, the store failed) runs again after its lease ends, so
// handlers must be idempotent, or finish the job in the unit of their
// effects (ErrFinished), which makes effects and completion exactly once.
//
// # Claiming
//
// The worker claims, in one unit, up to as many jobs as it has free slots
// plus Options.Prefetch (half of Concurrency by default): the jobs beyond
// its free slots wait, claimed and leased to it, for a handler to return,
// which takes the next one at once instead of waiting for a claim. A
// waiting job whose lease is half gone is put back rather than run, and
// Shutdown puts the waiting jobs back. After a full batch it claims again
// at once (under a backlog, once it has room for half of what it may hold,
// or after 2 ms), and otherwise waits for Options.PollInterval, for
// Notify, or for the due time of a job it retried or snoozed within that
// interval. Woken by Notify, it
// waits Options.NotifyDelay (1 ms) before it claims, so that the jobs of a
// trickle are claimed together. A failing store is logged and tried again
// after the poll interval. An idle worker costs one small unit of work per
// poll interval.
//
// # Retention
//
// Finished jobs (completed or discarded) stay in the store, with their
// outcome and unique key, for Options.Retention (a week by default): the
// worker deletes older ones while it runs (store.DB.PruneJobs). Status
// APIs built on jobs (the outbox's delivery status) must read a missing
// job as one finished long ago.
//
// # Stopping
//
// Jobs run on goroutines that outlive them (an idle one takes the next
// job, and ends after a few seconds without one, or when the worker
// stops), so that a job does not pay for a new goroutine's stack.
//
// Shutdown stops claiming and waits for the running handlers; when its ctx
// ends first it cancels them and puts their jobs back, due at once and the
// attempt not counted, so another process takes them immediately. Ending
// Run's ctx instead stops the worker as if its process died: nothing more
// is recorded and the leases are left to end.
package worker
