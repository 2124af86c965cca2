package worker_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/slothpub/slothpub/store"
	"github.com/slothpub/slothpub/store/memstore"
	"github.com/slothpub/slothpub/store/worker"
)

// gated is a handler that blocks until its gate is opened (or its ctx
// ends), recording how many of it run at once.
type gated struct {
	gate             chan struct{}
	running, maxSeen atomic.Int64
	mu               sync.Mutex
	ran              map[int64]int // job ID -> calls
}

func newGated() *gated { return &gated{gate: make(chan struct{}), ran: make(map[int64]int)} }

func (g *gated) handle(ctx context.Context, j *store.Job) error {
	n := g.running.Add(1)
	defer g.running.Add(-1)
	for {
		m := g.maxSeen.Load()
		if n <= m || g.maxSeen.CompareAndSwap(m, n) {
			break
		}
	}
	g.mu.Lock()
	g.ran[j.ID]++
	g.mu.Unlock()
	select {
	case <-g.gate:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (g *gated) calls(id int64) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.ran[id]
}

// With every handler busy the worker claims up to Prefetch jobs more, in
// the store running and leased to it, and starts each as a handler
// returns; never more handlers than Concurrency run at once.
func TestPrefetchHoldsJobsForBusyHandlers(t *testing.T) {
	eachStore(t, func(t *testing.T, db *store.DB) {
		const conc, prefetch, n = 2, 3, 9
		w := worker.New(db, &worker.Options{Concurrency: conc, Prefetch: prefetch, PollInterval: 20 * time.Millisecond, Logger: quiet})
		g := newGated()
		w.Handle("job", g.handle)
		var ids []int64
		for range n {
			ids = append(ids, enqueue(t, db, "job", ""))
		}
		start(t, w)
		waitFor(t, 5*time.Second, "the handlers started and the prefetch filled", func() bool {
			s := w.Stats()
			return s.Running == conc && s.Waiting == prefetch
		})
		if got := countState(t, db, store.JobRunning); got != conc+prefetch {
			t.Errorf("%d jobs running in the store, want %d (the handlers' and the prefetched)", got, conc+prefetch)
		}
		if got := countState(t, db, store.JobAvailable); got != n-conc-prefetch {
			t.Errorf("%d jobs available, want %d", got, n-conc-prefetch)
		}
		close(g.gate)
		waitFor(t, 5*time.Second, "every job completed", func() bool { return w.Stats().Completed == n })
		if m := g.maxSeen.Load(); m > conc {
			t.Errorf("%d handlers ran at once, Concurrency is %d", m, conc)
		}
		for _, id := range ids {
			if c := g.calls(id); c != 1 {
				t.Errorf("job %d ran %d times, want once", id, c)
			}
			if j := getJob(t, db, id); j.State != store.JobCompleted || j.Attempt != 1 {
				t.Errorf("job %d: %s at attempt %d, want completed at attempt 1", id, j.State, j.Attempt)
			}
		}
		if s := w.Stats(); s.Released != 0 || s.Waiting != 0 || s.Running != 0 {
			t.Errorf("stats after the backlog %+v, want nothing released, waiting or running", s)
		}
	})
}

// startPrefetched runs a worker of one handler (g, gated) and prefetch
// more jobs over db, with 1+prefetch jobs queued, and waits until the
// first job runs and the others wait, claimed ahead. It returns the IDs
// of the first and of the waiting jobs.
func startPrefetched(t *testing.T, db *store.DB, prefetch int) (w *worker.Worker, g *gated, r *running, first int64, waiting []int64) {
	t.Helper()
	w = worker.New(db, &worker.Options{Concurrency: 1, Prefetch: prefetch, PollInterval: time.Minute, Logger: quiet})
	g = newGated()
	w.Handle("job", g.handle)
	first = enqueue(t, db, "job", "")
	for range prefetch {
		waiting = append(waiting, enqueue(t, db, "job", ""))
	}
	r = start(t, w)
	waitFor(t, 5*time.Second, "one handler running, the rest prefetched", func() bool {
		s := w.Stats()
		return s.Running == 1 && s.Waiting == int64(prefetch)
	})
	return w, g, r, first, waiting
}

// shutdownThenRelease shuts w down while its handler is held by g, then
// releases the handler, and checks that Shutdown and Run return nil.
// Shutdown comes first: a handler released before could take the next
// prefetched job before Shutdown began.
func shutdownThenRelease(t *testing.T, w *worker.Worker, g *gated, r *running) {
	t.Helper()
	shut := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		shut <- w.Shutdown(ctx)
	}()
	time.Sleep(20 * time.Millisecond) // Shutdown is waiting for the handler
	close(g.gate)
	if err := <-shut; err != nil {
		t.Fatalf("Shutdown = %v", err)
	}
	if err := r.wait(t, time.Second); err != nil {
		t.Errorf("Run after Shutdown = %v, want nil", err)
	}
}

// Shutdown lets the running handlers finish and puts the prefetched jobs
// back, available at once with the attempt not counted, for another
// worker to take.
func TestShutdownPutsBackPrefetchedJobs(t *testing.T) {
	eachStore(t, func(t *testing.T, db *store.DB) {
		const prefetch = 3
		w, g, r, first, waiting := startPrefetched(t, db, prefetch)
		shutdownThenRelease(t, w, g, r)
		if j := getJob(t, db, first); j.State != store.JobCompleted {
			t.Errorf("the running job after Shutdown: %s, want completed", j.State)
		}
		for _, id := range waiting {
			if c := g.calls(id); c != 0 {
				t.Errorf("prefetched job %d ran %d times during Shutdown", id, c)
			}
			if j := getJob(t, db, id); j.State != store.JobAvailable || j.Attempt != 0 || j.RunAt.After(time.Now()) {
				t.Errorf("prefetched job %d after Shutdown: %s, attempt %d, due in %v; want available, attempt 0, due now", id, j.State, j.Attempt, time.Until(j.RunAt))
			}
		}
		if s := w.Stats(); s.Released != prefetch || s.Completed != 1 || s.Waiting != 0 {
			t.Errorf("stats %+v, want 1 completed, %d released, none waiting", s, prefetch)
		}
	})
}

// When one of the prefetched jobs is no longer the worker's (its lease was
// lost) as Shutdown puts them back, the others still go back: one unit
// for all fails, then each job is put back on its own.
func TestShutdownPutsBackPrefetchedJobsOneLost(t *testing.T) {
	eachStore(t, func(t *testing.T, db *store.DB) {
		const prefetch = 3
		w, g, r, _, waiting := startPrefetched(t, db, prefetch)
		// Another process finishes the attempt of the second prefetched
		// job (as if its lease had ended and it had been claimed and run).
		lost := getJob(t, db, waiting[1])
		if err := db.Complete(context.Background(), lost); err != nil {
			t.Fatal(err)
		}
		shutdownThenRelease(t, w, g, r)
		for i, id := range waiting {
			want := store.JobAvailable
			if i == 1 {
				want = store.JobCompleted
			}
			if j := getJob(t, db, id); j.State != want {
				t.Errorf("prefetched job %d after Shutdown: %s, want %s", id, j.State, want)
			}
		}
		if s := w.Stats(); s.Released != prefetch-1 || s.Dropped != 1 {
			t.Errorf("stats %+v, want %d released, 1 dropped", s, prefetch-1)
		}
	})
}

// testClock is a clock the test moves.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// A prefetched job that waited half its lease is not run on a lease that
// may end before it finishes: it is put back (the attempt not counted)
// and claimed again with a fresh lease, and runs once.
func TestPrefetchedJobPastHalfLeaseIsPutBack(t *testing.T) {
	clock := &testClock{now: time.Now().Round(0)}
	db := store.Open(memstore.NewDriver(), &store.Options{Clock: clock.Now})
	defer db.Close()
	const lease = time.Minute
	w := worker.New(db, &worker.Options{Concurrency: 1, Prefetch: 1, Lease: lease, Clock: clock.Now, PollInterval: 10 * time.Millisecond, Logger: quiet})
	g := newGated()
	w.Handle("job", g.handle)
	first, second := enqueue(t, db, "job", ""), enqueue(t, db, "job", "")
	start(t, w)
	waitFor(t, 5*time.Second, "the first job running, the second prefetched", func() bool {
		s := w.Stats()
		return s.Running == 1 && s.Waiting == 1
	})
	clock.advance(lease/2 + time.Second)
	close(g.gate)
	waitFor(t, 5*time.Second, "both jobs completed", func() bool { return w.Stats().Completed == 2 })
	if c := g.calls(second); c != 1 {
		t.Errorf("the stale prefetched job ran %d times, want once (after it was put back)", c)
	}
	if j := getJob(t, db, second); j.State != store.JobCompleted || j.Attempt != 1 {
		t.Errorf("the stale prefetched job: %s at attempt %d, want completed at attempt 1", j.State, j.Attempt)
	}
	if j := getJob(t, db, first); j.State != store.JobCompleted {
		t.Errorf("the first job: %s, want completed", j.State)
	}
	if s := w.Stats(); s.Released != 1 || s.Claimed != 3 {
		t.Errorf("stats %+v, want 1 released and 3 claimed (the stale job twice)", s)
	}
}

// A worker with a negative Prefetch claims only for free handlers.
func TestNoPrefetch(t *testing.T) {
	db := memstore.New()
	defer db.Close()
	w := worker.New(db, &worker.Options{Concurrency: 2, Prefetch: -1, PollInterval: 10 * time.Millisecond, Logger: quiet})
	g := newGated()
	w.Handle("job", g.handle)
	for range 5 {
		enqueue(t, db, "job", "")
	}
	start(t, w)
	waitFor(t, 5*time.Second, "the handlers started", func() bool { return w.Stats().Running == 2 })
	time.Sleep(50 * time.Millisecond) // several polls
	if got := countState(t, db, store.JobRunning); got != 2 {
		t.Errorf("%d jobs claimed with two handlers busy and no prefetch, want 2", got)
	}
	close(g.gate)
	waitFor(t, 5*time.Second, "every job completed", func() bool { return w.Stats().Completed == 5 })
}
