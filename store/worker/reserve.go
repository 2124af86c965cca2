package worker

import (
	"context"
	"sync"
	"time"

	"github.com/slothpub/slothpub/store"
)

// Reservation is a handler slot of a running worker, held for one job
// that its holder enqueues already claimed (store.EnqueueOptions.Lease,
// with Lease) in a unit of work: when the unit has committed, Start runs
// the job in the slot, without the claim (a unit of work, a commit on a
// database) the worker would otherwise make for it; when it did not
// enqueue the job, Cancel gives the slot back. Exactly one of Start and
// Cancel must be called, promptly: a Run does not return while a
// reservation is held.
type Reservation struct {
	w    *Worker
	h    Handler
	ctx  context.Context // of the Run the slot is in
	hctx context.Context
	once sync.Once
}

// Reserve takes a free handler slot for a job of kind, for a caller about
// to enqueue that job claimed (see Reservation). It succeeds only when
// the worker is running, has a handler for kind, and has a slot free
// with no claimed job waiting for one: a busy worker takes its jobs in
// the order it claims them, so that a job enqueued claimed never runs
// ahead of due jobs (retries, other kinds) nor holds the worker away from
// them. When ok is false, enqueue the job as usual and Notify.
func (w *Worker) Reserve(kind string) (r *Reservation, ok bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	h := w.handlers[kind]
	if !w.accepting || w.stopped || h == nil {
		return nil, false
	}
	w.qmu.Lock()
	free := w.active < w.concurrency && len(w.waiting) == 0
	if free {
		w.active++
	}
	w.qmu.Unlock()
	if !free {
		return nil, false
	}
	w.reserved++
	return &Reservation{w: w, h: h, ctx: w.runCtx, hctx: w.runHctx}, true
}

// Lease is the lease to enqueue the job with: the worker's
// (Options.Lease), which it renews while the handler runs.
func (r *Reservation) Lease() time.Duration { return r.w.lease }

// Start runs j, the job enqueued claimed in a unit that committed
// (store.Tx.EnqueueJob's result: running, attempt 1), in the reserved
// slot, as a job the worker claimed. If the worker is stopping, j is put
// back unfinished instead (or, when Run's ctx ended, left to its lease).
func (r *Reservation) Start(j *store.Job) {
	r.once.Do(func() {
		w := r.w
		defer w.unreserve()
		if w.stopping(r.ctx) {
			w.freeSlot()
			if r.ctx.Err() == nil {
				w.putBack(r.ctx, []*store.Job{j})
			} else {
				w.stats.dropped.Add(1)
			}
			return
		}
		w.stats.adopted.Add(1)
		w.dispatch(r.ctx, r.hctx, task{r.h, j})
	})
}

// Cancel gives the slot back: the job was not enqueued (the unit failed,
// or the job's unique key was held already).
func (r *Reservation) Cancel() {
	r.once.Do(func() {
		r.w.freeSlot()
		r.w.unreserve()
	})
}

// unreserve ends a reservation, waking the Run that waits for the last.
func (w *Worker) unreserve() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.reserved--; w.reserved == 0 && w.unreserved != nil {
		close(w.unreserved)
		w.unreserved = nil
	}
}

// stopReserving, once Run's loop returned, makes Reserve refuse and waits
// for the reservations held to end, so that no runner starts after Run
// waits for its runners.
func (w *Worker) stopReserving() {
	w.mu.Lock()
	w.accepting = false
	var wait chan struct{}
	if w.reserved > 0 {
		wait = make(chan struct{})
		w.unreserved = wait
	}
	w.mu.Unlock()
	if wait != nil {
		<-wait
	}
}
