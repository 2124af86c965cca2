package worker

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/slothpub/slothpub/store"
)

// Completions are recorded in batches: when jobs end faster than a unit of
// work commits (the deliveries of a fan-out), one unit completes several
// of them, instead of one unit and, on a store that syncs its commits, one
// fsync each. A job's slot is free as soon as its handler returns; its
// completion follows within completeWindow. Until it is recorded the job
// is still running in the store, under its lease: a process that dies
// before leaves it to be run again when the lease ends, as a process
// that dies during the handler does (jobs run at least once).

const (
	// completeWindow is how long a completion waits for others to be
	// recorded with, when the last batch held more than one (under load);
	// otherwise it is recorded at once.
	completeWindow = 5 * time.Millisecond
	// maxCompleteBatch bounds the completions of one unit.
	maxCompleteBatch = 128
)

// completion is a job whose handler returned nil, or Forget.
type completion struct {
	j      *store.Job
	log    *slog.Logger
	took   time.Duration
	forget bool // Forget: delete the job rather than keep it completed
}

// record writes c's outcome in tx.
func (c *completion) record(ctx context.Context, tx *store.Tx) error {
	if c.forget {
		return tx.Forget(ctx, c.j)
	}
	return tx.Complete(ctx, c.j)
}

// completer records the completions sent on in, until in is closed.
func (w *Worker) completer(ctx context.Context, in <-chan completion, done chan<- struct{}) {
	defer close(done)
	timer := time.NewTimer(completeWindow)
	timer.Stop()
	var batch []completion
	last := 0 // size of the last batch recorded
	for {
		c, ok := <-in
		if !ok {
			return
		}
		batch = append(batch[:0], c)
		if last > 1 || len(in) > 0 {
			timer.Reset(completeWindow)
		collect:
			for len(batch) < maxCompleteBatch {
				select {
				case c, ok := <-in:
					if !ok {
						break collect
					}
					batch = append(batch, c)
				case <-timer.C:
					break collect
				}
			}
			timer.Stop()
		}
		w.completeBatch(ctx, batch)
		last = len(batch)
		clear(batch)
	}
}

// complete records that j's handler returned nil (or Forget, forget set):
// through the completer when the worker runs one, else at once.
func (w *Worker) complete(ctx context.Context, log *slog.Logger, j *store.Job, took time.Duration, forget bool) {
	c := completion{j: j, log: log, took: took, forget: forget}
	if w.completions != nil {
		w.completions <- c
		return
	}
	w.completeOne(ctx, c)
}

func (w *Worker) completeOne(ctx context.Context, c completion) {
	if w.record(ctx, c.log, "complete", func() error {
		return w.db.Update(ctx, func(tx *store.Tx) error { return c.record(ctx, tx) })
	}) {
		w.stats.completed.Add(1)
		c.log.DebugContext(ctx, "worker: job completed", "took", c.took)
	}
}

// completeBatch completes the jobs of batch in one unit. A job whose
// lease was lost is left to its new claimer; if the unit fails, each is
// recorded on its own (with record's retries).
func (w *Worker) completeBatch(ctx context.Context, batch []completion) {
	if ctx.Err() != nil {
		w.stats.dropped.Add(int64(len(batch)))
		return
	}
	if len(batch) == 1 {
		w.completeOne(ctx, batch[0])
		return
	}
	lost := make([]bool, len(batch))
	err := w.db.Update(ctx, func(tx *store.Tx) error {
		clear(lost)
		for i := range batch {
			err := batch[i].record(ctx, tx)
			if errors.Is(err, store.ErrLeaseLost) {
				lost[i] = true
			} else if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		w.log.WarnContext(ctx, "worker: recording a batch of completions failed; recording them one by one", "jobs", len(batch), "err", err)
		for _, c := range batch {
			w.completeOne(ctx, c)
		}
		return
	}
	for i, c := range batch {
		if lost[i] {
			w.stats.dropped.Add(1)
			c.log.DebugContext(ctx, "worker: outcome dropped: another claimer holds the job", "outcome", "complete")
			continue
		}
		w.stats.completed.Add(1)
		c.log.DebugContext(ctx, "worker: job completed", "took", c.took)
	}
}
