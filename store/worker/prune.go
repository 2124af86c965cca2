package worker

import (
	"context"
	"time"
)

// Pruning: finished jobs are kept for Options.Retention, then deleted.

const (
	// firstPrune is how long after Run starts the worker first prunes:
	// not at once, so that a process that restarts often does not prune
	// at every start, and not an interval later, so that one that runs
	// for less than an interval prunes too.
	firstPrune = time.Minute
	// maxPruneInterval bounds the wait between two prunes.
	maxPruneInterval = time.Hour
)

// pruneInterval is the wait between two prunes for a retention.
func pruneInterval(retention time.Duration) time.Duration {
	return max(min(retention/4, maxPruneInterval), time.Millisecond)
}

// pruner deletes the finished jobs older than the retention, at
// firstPrune (or the interval, if shorter) and then every interval,
// until the worker stops or ctx ends; then it closes done. A failed
// prune is logged and tried again at the next interval.
func (w *Worker) pruner(ctx context.Context, done chan<- struct{}) {
	defer close(done)
	if w.retention < 0 {
		return
	}
	// A prune of a large backlog takes several units: Shutdown stops it
	// between two.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-w.stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	every := pruneInterval(w.retention)
	timer := time.NewTimer(min(firstPrune, every))
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
		n, err := w.db.PruneJobs(ctx, w.retention)
		w.stats.pruned.Add(int64(n))
		switch {
		case err != nil && ctx.Err() == nil:
			w.log.ErrorContext(ctx, "worker: pruning finished jobs failed; trying again later", "err", err, "pruned", n, "next", every)
		case n > 0:
			w.log.DebugContext(ctx, "worker: pruned finished jobs", "pruned", n, "retention", w.retention)
		}
		timer.Reset(every)
	}
}
