package worker_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/slothpub/slothpub/store"
	"github.com/slothpub/slothpub/store/memstore"
	"github.com/slothpub/slothpub/store/sqlitestore"
	"github.com/slothpub/slothpub/store/worker"
)

// backends are the real stores every test runs on.
var backends = []struct {
	name   string
	driver func(t testing.TB) store.Driver
}{
	{"memstore", func(testing.TB) store.Driver { return memstore.NewDriver() }},
	{"sqlite", func(t testing.TB) store.Driver {
		d, err := sqlitestore.OpenDriver(context.Background(), filepath.Join(t.TempDir(), "jobs.db"), nil)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}},
}

// eachStore runs fn on a new, empty store of every backend.
func eachStore(t *testing.T, fn func(t *testing.T, db *store.DB)) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			var db *store.DB
			if b.name == "memstore" {
				db = memstore.New()
			} else {
				db = store.Open(b.driver(t), nil)
			}
			t.Cleanup(func() { db.Close() })
			fn(t, db)
		})
	}
}

// countingDriver counts the units of work run on it.
type countingDriver struct {
	store.Driver
	units atomic.Int64
}

func (d *countingDriver) Update(ctx context.Context, fn func(tx store.DriverTx) error) error {
	d.units.Add(1)
	return d.Driver.Update(ctx, fn)
}

// quiet is the logger of tests that do not look at the logs.
var quiet = slog.New(slog.DiscardHandler)

// logSink keeps the records of a logger.
type logSink struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (s *logSink) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Write(p)
}

func (s *logSink) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}

// wallNow is the wall-clock time alone: what the worker and the store
// schedule jobs by (a job's RunAt is a stored time, without a monotonic
// reading). Comparing due times by the monotonic clock instead fails
// while the system slews its wall clock (on one VM it ran 0.5 % fast,
// half a millisecond in 100 ms).
func wallNow() time.Time { return time.Now().Round(0) }

// running is a Run in progress.
type running struct {
	cancel context.CancelFunc
	done   chan struct{}
	err    error
}

// start runs w until the test ends (then shuts it down).
func start(t *testing.T, w *worker.Worker) *running {
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{cancel: cancel, done: make(chan struct{})}
	go func() {
		r.err = w.Run(ctx)
		close(r.done)
	}()
	t.Cleanup(func() {
		sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer scancel()
		w.Shutdown(sctx)
		cancel()
		<-r.done
	})
	return r
}

// wait returns Run's result, failing the test if it takes longer than d.
func (r *running) wait(t *testing.T, d time.Duration) error {
	t.Helper()
	select {
	case <-r.done:
		return r.err
	case <-time.After(d):
		t.Fatalf("Run did not return within %v", d)
		return nil
	}
}

func (r *running) returned() bool {
	select {
	case <-r.done:
		return true
	default:
		return false
	}
}

// waitFor polls cond until it holds, failing the test after d.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func enqueue(t *testing.T, db *store.DB, kind, payload string) int64 {
	t.Helper()
	id, _, err := db.Enqueue(context.Background(), kind, []byte(payload), nil)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func getJob(t *testing.T, db *store.DB, id int64) *store.Job {
	t.Helper()
	j, err := db.GetJob(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return j
}

func countState(t *testing.T, db *store.DB, states ...store.JobState) int {
	t.Helper()
	n, err := db.CountJobs(context.Background(), store.JobQuery{States: states})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func allJobs(t *testing.T, db *store.DB) []*store.Job {
	t.Helper()
	var all []*store.Job
	for after := int64(0); ; {
		js, err := db.Jobs(context.Background(), store.JobQuery{AfterID: after, Limit: store.MaxPageLimit})
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, js...)
		if len(js) < store.MaxPageLimit {
			return all
		}
		after = js[len(js)-1].ID
	}
}

// Many jobs, 8 at a time, each run and completed exactly once. The poll
// interval is a minute, so finishing in seconds also shows that a full
// batch is followed by another claim at once.
func TestEveryJobCompletesExactlyOnce(t *testing.T) {
	eachStore(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		const n = 300
		for i := 0; i < n; i += 50 {
			err := db.Update(ctx, func(tx *store.Tx) error {
				for k := i; k < i+50; k++ {
					if _, _, err := tx.Enqueue(ctx, "count", []byte(fmt.Sprint(k)), nil); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		var mu sync.Mutex
		runs := make(map[int64]int)
		w := worker.New(db, &worker.Options{Concurrency: 8, PollInterval: time.Minute, Logger: quiet})
		w.Handle("count", func(ctx context.Context, j *store.Job) error {
			mu.Lock()
			runs[j.ID]++
			mu.Unlock()
			return nil
		})
		start(t, w)
		waitFor(t, 10*time.Second, "every job completed", func() bool { return w.Stats().Completed == n })

		if got := countState(t, db, store.JobCompleted); got != n {
			t.Errorf("%d jobs completed in the store, want %d", got, n)
		}
		mu.Lock()
		defer mu.Unlock()
		if len(runs) != n {
			t.Errorf("%d distinct jobs ran, want %d", len(runs), n)
		}
		for _, j := range allJobs(t, db) {
			if runs[j.ID] != 1 || j.Attempt != 1 || j.State != store.JobCompleted {
				t.Errorf("job %d: ran %d times, attempt %d, %s; want once, attempt 1, completed", j.ID, runs[j.ID], j.Attempt, j.State)
			}
		}
		if s := w.Stats(); s.Claimed != n || s.Retried+s.Discarded+s.Dropped+s.Panicked != 0 || s.Running != 0 {
			t.Errorf("stats %+v, want %d claimed and nothing else", s, n)
		}
	})
}

// No more handlers run at once than Concurrency, and Concurrency is used.
func TestConcurrencyLimit(t *testing.T) {
	eachStore(t, func(t *testing.T, db *store.DB) {
		const conc, n = 3, 24
		for i := range n {
			enqueue(t, db, "slow", fmt.Sprint(i))
		}
		var cur, peak, statsPeak atomic.Int64
		w := worker.New(db, &worker.Options{Concurrency: conc, PollInterval: time.Minute, Logger: quiet})
		w.Handle("slow", func(ctx context.Context, j *store.Job) error {
			c := cur.Add(1)
			defer cur.Add(-1)
			for p := peak.Load(); c > p && !peak.CompareAndSwap(p, c); p = peak.Load() {
			}
			if r := w.Stats().Running; r > statsPeak.Load() {
				statsPeak.Store(r)
			}
			time.Sleep(15 * time.Millisecond)
			return nil
		})
		start(t, w)
		waitFor(t, 10*time.Second, "every job completed", func() bool { return w.Stats().Completed == n })
		if p := peak.Load(); p != conc {
			t.Errorf("at most %d handlers ran at once, want exactly %d", p, conc)
		}
		if p := statsPeak.Load(); p > conc {
			t.Errorf("Stats().Running reached %d, above Concurrency %d", p, conc)
		}
	})
}

// A failing handler is retried after the backoff and discarded after
// MaxAttempts with its last error; OnDiscard is called once. The poll
// interval is a minute: the retries run because the worker wakes at the
// due time of the jobs it retried.
func TestRetryThenDiscard(t *testing.T) {
	eachStore(t, func(t *testing.T, db *store.DB) {
		const backoff = 30 * time.Millisecond
		var (
			mu        sync.Mutex
			backoffs  []int
			ran       []time.Time
			lastErrs  []string
			discarded []*store.Job
			reasons   []string
		)
		w := worker.New(db, &worker.Options{
			MaxAttempts:  3,
			PollInterval: time.Minute,
			Logger:       quiet,
			Backoff: func(attempt int) time.Duration {
				mu.Lock()
				defer mu.Unlock()
				backoffs = append(backoffs, attempt)
				return backoff
			},
			OnDiscard: func(j *store.Job, reason string) {
				mu.Lock()
				defer mu.Unlock()
				discarded, reasons = append(discarded, j), append(reasons, reason)
			},
		})
		w.Handle("fail", func(ctx context.Context, j *store.Job) error {
			mu.Lock()
			ran, lastErrs = append(ran, wallNow()), append(lastErrs, j.LastError)
			mu.Unlock()
			return fmt.Errorf("boom %d", j.Attempt)
		})
		id := enqueue(t, db, "fail", "")
		start(t, w)
		waitFor(t, 5*time.Second, "the job discarded", func() bool { return getJob(t, db, id).State == store.JobDiscarded })
		waitFor(t, 5*time.Second, "the discard counted", func() bool { return w.Stats().Discarded == 1 })
		time.Sleep(100 * time.Millisecond) // time for a wrong extra attempt or callback

		j := getJob(t, db, id)
		if j.Attempt != 3 || j.LastError != "boom 3" || j.Finished.IsZero() {
			t.Errorf("discarded job: attempt %d, last error %q, finished %v; want 3, \"boom 3\", set", j.Attempt, j.LastError, j.Finished)
		}
		mu.Lock()
		defer mu.Unlock()
		if len(ran) != 3 {
			t.Fatalf("handler ran %d times, want 3", len(ran))
		}
		for i := 1; i < len(ran); i++ {
			if gap := ran[i].Sub(ran[i-1]); gap < backoff {
				t.Errorf("attempt %d ran %v after attempt %d, before the backoff of %v", i+1, gap, i, backoff)
			}
		}
		if want := []string{"", "boom 1", "boom 2"}; fmt.Sprint(lastErrs) != fmt.Sprint(want) {
			t.Errorf("LastError seen by the attempts = %q, want %q", lastErrs, want)
		}
		if fmt.Sprint(backoffs) != "[1 2]" {
			t.Errorf("Backoff called with %v, want [1 2]", backoffs)
		}
		if len(discarded) != 1 || reasons[0] != "boom 3" || discarded[0].ID != id || discarded[0].State != store.JobDiscarded {
			t.Errorf("OnDiscard called %d times (reasons %q), want once with \"boom 3\"", len(discarded), reasons)
		}
		if s := w.Stats(); s.Retried != 2 || s.Discarded != 1 || s.Completed != 0 {
			t.Errorf("stats %+v, want 2 retried, 1 discarded", s)
		}
	})
}

// RetryAt, Snooze, SnoozeUntil, Discard and Permanent (wrapped, too) give
// the expected states and attempt counts.
func TestOutcomes(t *testing.T) {
	eachStore(t, func(t *testing.T, db *store.DB) {
		var (
			mu        sync.Mutex
			runs      = map[string]int{}
			problems  []string
			retryDue  time.Time
			snoozeDue time.Time
			discards  = map[int64]string{}
		)
		problem := func(format string, args ...any) {
			problems = append(problems, fmt.Sprintf(format, args...))
		}
		w := worker.New(db, &worker.Options{
			MaxAttempts:  2,
			PollInterval: time.Minute,
			Backoff:      func(int) time.Duration { return time.Hour }, // only RetryAt brings a job back
			Logger:       quiet,
			OnDiscard: func(j *store.Job, reason string) {
				mu.Lock()
				defer mu.Unlock()
				discards[j.ID] = reason
			},
		})
		h := func(ctx context.Context, j *store.Job) error {
			mu.Lock()
			defer mu.Unlock()
			kind := j.Kind
			runs[kind]++
			n := runs[kind]
			switch kind {
			case "retryat":
				if n == 1 {
					retryDue = wallNow().Add(150 * time.Millisecond)
					return fmt.Errorf("wrapped: %w", worker.RetryAt(retryDue, errors.New("429 retry later")))
				}
				if j.Attempt != 2 || j.LastError != "wrapped: 429 retry later" || wallNow().Before(retryDue) {
					problem("retryat run 2: attempt %d, last error %q, %v before due", j.Attempt, j.LastError, retryDue.Sub(wallNow()))
				}
				return nil
			case "retryat-max":
				return worker.RetryAt(time.Time{}, errors.New("still 503"))
			case "snooze":
				if j.Attempt != 1 {
					problem("snooze run %d: attempt %d, want 1", n, j.Attempt)
				}
				if n > 1 && wallNow().Before(snoozeDue) {
					problem("snooze run %d: %v before due", n, snoozeDue.Sub(wallNow()))
				}
				switch n {
				case 1:
					snoozeDue = wallNow().Add(100 * time.Millisecond)
					return worker.Snooze(100 * time.Millisecond)
				case 2:
					snoozeDue = wallNow().Add(50 * time.Millisecond)
					return fmt.Errorf("later: %w", worker.SnoozeUntil(snoozeDue))
				}
				return nil
			case "discard":
				return fmt.Errorf("deliver: %w", worker.Discard(errors.New("410 gone")))
			case "permanent":
				return worker.Permanent(errors.New("bad payload"))
			}
			return errors.New("unexpected kind")
		}
		for _, k := range []string{"retryat", "retryat-max", "snooze", "discard", "permanent"} {
			w.Handle(k, h)
		}
		ids := map[string]int64{}
		for _, k := range []string{"retryat", "retryat-max", "snooze", "discard", "permanent"} {
			ids[k] = enqueue(t, db, k, "")
		}
		start(t, w)
		waitFor(t, 5*time.Second, "every job finished", func() bool {
			return countState(t, db, store.JobCompleted, store.JobDiscarded) == len(ids)
		})
		// The worker counts outcomes after their units commit.
		waitFor(t, 5*time.Second, "every outcome counted", func() bool { s := w.Stats(); return s.Completed+s.Discarded == int64(len(ids)) })

		want := map[string]struct {
			state     store.JobState
			attempt   int
			lastError string
			runs      int
		}{
			"retryat":     {store.JobCompleted, 2, "wrapped: 429 retry later", 2},
			"retryat-max": {store.JobDiscarded, 2, "still 503", 2},
			"snooze":      {store.JobCompleted, 1, "", 3},
			"discard":     {store.JobDiscarded, 1, "deliver: 410 gone", 1},
			"permanent":   {store.JobDiscarded, 1, "bad payload", 1},
		}
		mu.Lock()
		defer mu.Unlock()
		for k, wt := range want {
			j := getJob(t, db, ids[k])
			if j.State != wt.state || j.Attempt != wt.attempt || j.LastError != wt.lastError || runs[k] != wt.runs {
				t.Errorf("%s: %s, attempt %d, last error %q, %d runs; want %s, %d, %q, %d",
					k, j.State, j.Attempt, j.LastError, runs[k], wt.state, wt.attempt, wt.lastError, wt.runs)
			}
			if wt.state == store.JobDiscarded && discards[j.ID] != wt.lastError {
				t.Errorf("%s: OnDiscard reason %q, want %q", k, discards[j.ID], wt.lastError)
			}
		}
		if len(discards) != 3 {
			t.Errorf("OnDiscard called for %d jobs, want 3", len(discards))
		}
		for _, p := range problems {
			t.Error(p)
		}
		if s := w.Stats(); s.Completed != 2 || s.Snoozed != 2 || s.Retried != 2 || s.Discarded != 3 {
			t.Errorf("stats %+v, want 2 completed, 2 snoozed, 2 retried, 3 discarded", s)
		}
	})
}

// ErrFinished: a handler that completes its job in the unit of its effects
// commits both; when that unit fails, neither is written and the attempt
// fails.
func TestErrFinished(t *testing.T) {
	eachStore(t, func(t *testing.T, db *store.DB) {
		const done = "test:done"
		w := worker.New(db, &worker.Options{PollInterval: time.Minute, Backoff: func(int) time.Duration { return time.Hour }, Logger: quiet})
		w.Handle("with", func(ctx context.Context, j *store.Job) error {
			return worker.CompleteWith(ctx, db, j, func(tx *store.Tx) error {
				return tx.AddItem(ctx, done, fmt.Sprint(j.ID))
			})
		})
		w.Handle("raw", func(ctx context.Context, j *store.Job) error {
			err := db.Update(ctx, func(tx *store.Tx) error {
				if err := tx.AddItem(ctx, done, fmt.Sprint(j.ID)); err != nil {
					return err
				}
				return tx.Complete(ctx, j)
			})
			if err != nil {
				return err
			}
			return fmt.Errorf("raw: %w", worker.ErrFinished) // wrapped
		})
		w.Handle("failing", func(ctx context.Context, j *store.Job) error {
			return worker.CompleteWith(ctx, db, j, func(tx *store.Tx) error {
				if err := tx.AddItem(ctx, done, fmt.Sprint(j.ID)); err != nil {
					return err
				}
				return errors.New("the effect could not be stored")
			})
		})
		with, raw, failing := enqueue(t, db, "with", ""), enqueue(t, db, "raw", ""), enqueue(t, db, "failing", "")
		start(t, w)
		waitFor(t, 5*time.Second, "every job handled", func() bool { s := w.Stats(); return s.Finished+s.Retried == 3 })

		ctx := context.Background()
		for _, id := range []int64{with, raw} {
			j := getJob(t, db, id)
			has, err := db.HasItem(ctx, done, fmt.Sprint(id))
			if err != nil {
				t.Fatal(err)
			}
			if j.State != store.JobCompleted || j.Attempt != 1 || !has {
				t.Errorf("job %s: %s, attempt %d, effect written %v; want completed, 1, true", j.Kind, j.State, j.Attempt, has)
			}
		}
		j := getJob(t, db, failing)
		has, err := db.HasItem(ctx, done, fmt.Sprint(failing))
		if err != nil {
			t.Fatal(err)
		}
		if j.State != store.JobRetryable || j.Attempt != 1 || j.LastError != "the effect could not be stored" || has {
			t.Errorf("failing job: %s, attempt %d, last error %q, effect written %v; want retryable, 1, the unit's error, false",
				j.State, j.Attempt, j.LastError, has)
		}
		if s := w.Stats(); s.Finished != 2 || s.Completed != 0 || s.Retried != 1 || s.Dropped != 0 {
			t.Errorf("stats %+v, want 2 finished by their handler, 1 retried, none completed by the worker", s)
		}
	})
}

// A panic is recovered, logged with its stack at error level, and counts
// as a failed attempt.
func TestPanicRecovered(t *testing.T) {
	eachStore(t, func(t *testing.T, db *store.DB) {
		var sink logSink
		var lastErr atomic.Value
		w := worker.New(db, &worker.Options{
			PollInterval: time.Minute,
			Backoff:      func(int) time.Duration { return 10 * time.Millisecond },
			Logger:       slog.New(slog.NewTextHandler(&sink, &slog.HandlerOptions{Level: slog.LevelError})),
		})
		w.Handle("panics", func(ctx context.Context, j *store.Job) error {
			if j.Attempt == 1 {
				panic("kaboom")
			}
			lastErr.Store(j.LastError)
			return nil
		})
		id := enqueue(t, db, "panics", "")
		start(t, w)
		waitFor(t, 5*time.Second, "the job completed", func() bool { return w.Stats().Completed == 1 })

		if j := getJob(t, db, id); j.State != store.JobCompleted || j.Attempt != 2 {
			t.Errorf("job: %s, attempt %d; want completed, 2", j.State, j.Attempt)
		}
		if got, _ := lastErr.Load().(string); !strings.Contains(got, "kaboom") {
			t.Errorf("LastError after the panic = %q, want the panic value", got)
		}
		logs := sink.String()
		if !strings.Contains(logs, "level=ERROR") || !strings.Contains(logs, "handler panicked") ||
			!strings.Contains(logs, "kaboom") || !strings.Contains(logs, "worker_test.go") {
			t.Errorf("log lacks the panic at error level with its stack:\n%s", logs)
		}
		if s := w.Stats(); s.Panicked != 1 || s.Retried != 1 {
			t.Errorf("stats %+v, want 1 panicked, 1 retried", s)
		}
		// The job's record names it, before the record's own attributes.
		want := fmt.Sprintf(`msg="worker: handler panicked" job=%d kind=panics attempt=1 panic=kaboom`, id)
		if !strings.Contains(logs, want) {
			t.Errorf("log lacks %s:\n%s", want, logs)
		}
	})
}

// A handler that runs for more than 3 leases keeps its job: the worker
// renews the lease, and a second worker on the same store never gets it.
func TestLeaseRenewal(t *testing.T) {
	eachStore(t, func(t *testing.T, db *store.DB) {
		// Long enough that a renewal every half lease is not missed on a
		// loaded machine (the race detector, packages tested in parallel):
		// at 300 ms the lease sometimes ran out and the second worker
		// rightly took the job.
		const lease = 600 * time.Millisecond
		started := make(chan struct{})
		var cancelled atomic.Bool
		a := worker.New(db, &worker.Options{Concurrency: 1, Lease: lease, PollInterval: time.Minute, Logger: quiet})
		a.Handle("long", func(ctx context.Context, j *store.Job) error {
			close(started)
			select {
			case <-time.After(3*lease + 200*time.Millisecond):
				return nil
			case <-ctx.Done():
				cancelled.Store(true)
				return ctx.Err()
			}
		})
		var stolen atomic.Int64
		b := worker.New(db, &worker.Options{Lease: lease, PollInterval: 20 * time.Millisecond, Logger: quiet})
		b.Handle("long", func(ctx context.Context, j *store.Job) error {
			stolen.Add(1)
			return nil
		})
		start(t, a)
		id := enqueue(t, db, "long", "")
		a.Notify()
		<-started
		start(t, b)
		waitFor(t, 5*time.Second, "the job completed", func() bool { return getJob(t, db, id).State == store.JobCompleted })
		// The worker counts the completion after its unit commits.
		waitFor(t, 5*time.Second, "the first worker counted the completion", func() bool { return a.Stats().Completed == 1 })

		if n := stolen.Load(); n != 0 {
			t.Errorf("the second worker ran the job %d times while the first held it", n)
		}
		if cancelled.Load() {
			t.Error("the long handler's ctx was cancelled")
		}
		if j := getJob(t, db, id); j.Attempt != 1 {
			t.Errorf("job attempt %d, want 1", j.Attempt)
		}
		if s := a.Stats(); s.Completed != 1 || s.Dropped != 0 {
			t.Errorf("first worker stats %+v, want 1 completed", s)
		}
	})
}

// A worker whose Run ctx ends (its process dies) records nothing and stops
// renewing; a second worker takes the job once the lease has ended.
func TestDeadWorkersJobTakenAfterLease(t *testing.T) {
	eachStore(t, func(t *testing.T, db *store.DB) {
		const lease = 300 * time.Millisecond
		started := make(chan struct{})
		var cause atomic.Value
		a := worker.New(db, &worker.Options{Lease: lease, PollInterval: time.Minute, Logger: quiet})
		a.Handle("job", func(ctx context.Context, j *store.Job) error {
			close(started)
			<-ctx.Done()
			cause.Store(context.Cause(ctx))
			return ctx.Err()
		})
		ra := start(t, a)
		id := enqueue(t, db, "job", "")
		a.Notify()
		<-started
		time.Sleep(lease / 2) // past one renewal
		ra.cancel()
		if err := ra.wait(t, 2*time.Second); !errors.Is(err, context.Canceled) {
			t.Errorf("Run after its ctx was cancelled = %v, want context.Canceled", err)
		}
		if c, _ := cause.Load().(error); !errors.Is(c, context.Canceled) {
			t.Errorf("handler ctx cause = %v, want context.Canceled", c)
		}
		j := getJob(t, db, id)
		if j.State != store.JobRunning || j.Attempt != 1 {
			t.Fatalf("job after the first worker died: %s, attempt %d; want running, 1 (nothing recorded)", j.State, j.Attempt)
		}
		leaseEnd := j.LeaseUntil

		var (
			mu      sync.Mutex
			ranAt   time.Time
			attempt int
		)
		b := worker.New(db, &worker.Options{Lease: lease, PollInterval: 20 * time.Millisecond, Logger: quiet})
		b.Handle("job", func(ctx context.Context, j *store.Job) error {
			mu.Lock()
			defer mu.Unlock()
			ranAt, attempt = wallNow(), j.Attempt
			return nil
		})
		start(t, b)
		waitFor(t, 5*time.Second, "the job completed", func() bool { return getJob(t, db, id).State == store.JobCompleted })
		mu.Lock()
		defer mu.Unlock()
		if ranAt.Before(leaseEnd) {
			t.Errorf("second worker ran the job %v before the dead worker's lease ended", leaseEnd.Sub(ranAt))
		}
		if attempt != 2 {
			t.Errorf("second worker ran attempt %d, want 2", attempt)
		}
		if s := a.Stats(); s.Dropped != 1 || s.Completed+s.Retried+s.Released != 0 {
			t.Errorf("dead worker stats %+v, want its outcome dropped and nothing recorded", s)
		}
	})
}

// Shutdown with time to spare waits for the running handlers, records
// their outcomes and claims nothing more.
func TestShutdownWaitsForHandlers(t *testing.T) {
	eachStore(t, func(t *testing.T, db *store.DB) {
		const conc = 4
		var started, cancelled, returned atomic.Int64
		w := worker.New(db, &worker.Options{Concurrency: conc, PollInterval: time.Minute, Logger: quiet})
		w.Handle("job", func(ctx context.Context, j *store.Job) error {
			started.Add(1)
			defer returned.Add(1)
			select {
			case <-time.After(300 * time.Millisecond):
				return nil
			case <-ctx.Done():
				cancelled.Add(1)
				return ctx.Err()
			}
		})
		var first []int64
		for range conc {
			first = append(first, enqueue(t, db, "job", ""))
		}
		r := start(t, w)
		waitFor(t, 5*time.Second, "the handlers started", func() bool { return started.Load() == conc })
		later := []int64{enqueue(t, db, "job", ""), enqueue(t, db, "job", "")}
		w.Notify()

		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := w.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown = %v, want nil", err)
		}
		if n := returned.Load(); n != conc {
			t.Errorf("%d of %d handlers had returned when Shutdown did", n, conc)
		}
		if err := r.wait(t, time.Second); err != nil {
			t.Errorf("Run after Shutdown = %v, want nil", err)
		}
		for _, id := range first {
			if j := getJob(t, db, id); j.State != store.JobCompleted {
				t.Errorf("running job %d after Shutdown: %s, want completed", id, j.State)
			}
		}
		for _, id := range later {
			if j := getJob(t, db, id); j.State != store.JobAvailable || j.Attempt != 0 {
				t.Errorf("job enqueued during shutdown: %s, attempt %d; want available, 0", j.State, j.Attempt)
			}
		}
		if n := cancelled.Load(); n != 0 {
			t.Errorf("%d handlers cancelled by a graceful Shutdown", n)
		}
		if n := started.Load(); n != conc {
			t.Errorf("%d handlers started, want %d", n, conc)
		}
	})
}

// Shutdown whose ctx has ended cancels the handlers, puts their jobs back
// (available, attempt not counted) and returns promptly; another worker
// then takes them at once.
func TestShutdownCancelsAndReleases(t *testing.T) {
	eachStore(t, func(t *testing.T, db *store.DB) {
		const conc = 3
		var (
			started, returned atomic.Int64
			mu                sync.Mutex
			causes            []error
		)
		w := worker.New(db, &worker.Options{Concurrency: conc, PollInterval: time.Minute, Logger: quiet})
		w.Handle("job", func(ctx context.Context, j *store.Job) error {
			started.Add(1)
			defer returned.Add(1)
			<-ctx.Done()
			mu.Lock()
			causes = append(causes, context.Cause(ctx))
			mu.Unlock()
			return ctx.Err()
		})
		var ids []int64
		for range conc {
			ids = append(ids, enqueue(t, db, "job", ""))
		}
		r := start(t, w)
		waitFor(t, 5*time.Second, "the handlers started", func() bool { return started.Load() == conc })

		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		t0 := time.Now()
		if err := w.Shutdown(ctx); !errors.Is(err, context.Canceled) {
			t.Errorf("Shutdown with an ended ctx = %v, want context.Canceled", err)
		}
		if d := time.Since(t0); d > time.Second {
			t.Errorf("Shutdown took %v", d)
		}
		if n := returned.Load(); n != conc {
			t.Errorf("%d of %d handlers had returned when Shutdown did", n, conc)
		}
		if err := r.wait(t, time.Second); err != nil {
			t.Errorf("Run after Shutdown = %v, want nil", err)
		}
		mu.Lock()
		if len(causes) != conc {
			t.Errorf("%d handlers saw their ctx cancelled, want %d", len(causes), conc)
		}
		for _, c := range causes {
			if !errors.Is(c, worker.ErrShutdown) {
				t.Errorf("handler ctx cause %v, want ErrShutdown", c)
			}
		}
		mu.Unlock()
		for _, id := range ids {
			if j := getJob(t, db, id); j.State != store.JobAvailable || j.Attempt != 0 || j.RunAt.After(time.Now()) {
				t.Errorf("released job %d: %s, attempt %d, due in %v; want available, attempt 0, due now", id, j.State, j.Attempt, time.Until(j.RunAt))
			}
		}
		if s := w.Stats(); s.Released != conc || s.Retried+s.Completed != 0 {
			t.Errorf("stats %+v, want %d released", s, conc)
		}

		// Another worker (another process) takes them at once: its first
		// claim, with a poll interval of a minute.
		next := worker.New(db, &worker.Options{PollInterval: time.Minute, Logger: quiet})
		next.Handle("job", func(ctx context.Context, j *store.Job) error { return nil })
		start(t, next)
		waitFor(t, 2*time.Second, "the released jobs completed", func() bool { return next.Stats().Completed == conc })
		for _, id := range ids {
			if j := getJob(t, db, id); j.Attempt != 1 {
				t.Errorf("job %d completed at attempt %d, want 1", id, j.Attempt)
			}
		}
	})
}

// startIdle starts a worker with opts whose "job" handler sends each job's
// ID on ran, and returns once its first claim (of nothing) is made: the
// worker is idle, waiting for its poll interval or a Notify.
func startIdle(t *testing.T, db *store.DB, opts *worker.Options) (w *worker.Worker, ran chan int64) {
	t.Helper()
	ran = make(chan int64, 2)
	w = worker.New(db, opts)
	w.Handle("job", func(ctx context.Context, j *store.Job) error {
		ran <- j.ID
		return nil
	})
	start(t, w)
	waitFor(t, 2*time.Second, "the first claim", func() bool { return w.Stats().ClaimCalls == 1 })
	return w, ran
}

// An idle worker waits for its poll interval (a minute here) but Notify
// makes it claim at once.
func TestNotifyWakesIdleWorker(t *testing.T) {
	eachStore(t, func(t *testing.T, db *store.DB) {
		w, ran := startIdle(t, db, &worker.Options{PollInterval: time.Minute, Logger: quiet})

		quietID := enqueue(t, db, "job", "")
		select {
		case id := <-ran:
			t.Fatalf("job %d ran without Notify, before the poll interval", id)
		case <-time.After(300 * time.Millisecond):
		}
		notified := enqueue(t, db, "job", "")
		t0 := time.Now()
		w.Notify()
		got := map[int64]bool{}
		for len(got) < 2 {
			select {
			case id := <-ran:
				got[id] = true
			case <-time.After(2 * time.Second):
				t.Fatalf("after Notify, ran %v within 2s; want jobs %d and %d", got, quietID, notified)
			}
		}
		if d := time.Since(t0); d > 2*time.Second {
			t.Errorf("jobs ran %v after Notify", d)
		}
		if n := w.Stats().ClaimCalls; n != 2 {
			t.Errorf("%d claims, want 2 (the first and the notified one)", n)
		}
	})
}

// An idle worker polls at its interval: it does not spin, and it finds a
// job enqueued without Notify.
func TestIdlePolling(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			d := &countingDriver{Driver: b.driver(t)}
			db := store.Open(d, nil)
			t.Cleanup(func() { db.Close() })
			const poll = 50 * time.Millisecond
			w := worker.New(db, &worker.Options{PollInterval: poll, Logger: quiet})
			w.Handle("job", func(ctx context.Context, j *store.Job) error { return nil })
			start(t, w)
			waitFor(t, 2*time.Second, "the first claim", func() bool { return w.Stats().ClaimCalls >= 1 })
			before := d.units.Load()
			time.Sleep(10 * poll)
			if n := d.units.Load() - before; n < 5 || n > 15 {
				t.Errorf("%d units in %v of idling with a poll interval of %v, want about 10", n, 10*poll, poll)
			}
			enqueue(t, db, "job", "")
			waitFor(t, 4*poll, "a job enqueued without Notify to run", func() bool { return w.Stats().Completed == 1 })
		})
	}
}

// When the store fails every claim (it is closed), the worker logs, waits
// for the poll interval and tries again: no crash, no tight loop, even
// under a storm of Notify.
func TestClaimErrorsDoNotSpin(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			d := &countingDriver{Driver: b.driver(t)}
			db := store.Open(d, nil)
			var sink logSink
			const poll = 100 * time.Millisecond
			w := worker.New(db, &worker.Options{PollInterval: poll, Logger: slog.New(slog.NewTextHandler(&sink, nil))})
			w.Handle("job", func(ctx context.Context, j *store.Job) error { return nil })
			r := start(t, w)
			waitFor(t, 2*time.Second, "the first claim", func() bool { return w.Stats().ClaimCalls >= 1 })
			if err := db.Close(); err != nil {
				t.Fatal(err)
			}
			time.Sleep(poll) // let the loop meet the closed store
			before, errsBefore := d.units.Load(), w.Stats().ClaimErrors
			stop := time.Now().Add(time.Second)
			for time.Now().Before(stop) {
				w.Notify()
				time.Sleep(time.Millisecond)
			}
			units, errs := d.units.Load()-before, w.Stats().ClaimErrors-errsBefore
			if units < 5 || units > 15 {
				t.Errorf("%d claims in 1s against a closed store with a poll interval of %v, want about 10", units, poll)
			}
			if errs != units {
				t.Errorf("%d claim errors counted for %d failed claims", errs, units)
			}
			if r.returned() {
				t.Fatalf("Run returned %v on store errors", r.err)
			}
			if !strings.Contains(sink.String(), "claiming jobs failed") {
				t.Errorf("claim errors not logged:\n%s", sink.String())
			}
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			if err := w.Shutdown(ctx); err != nil {
				t.Errorf("Shutdown = %v", err)
			}
			if err := r.wait(t, time.Second); err != nil {
				t.Errorf("Run = %v, want nil after Shutdown", err)
			}
		})
	}
}

// Programming errors: Handle twice or after Run panics; Run twice at once,
// or without handlers, fails; Run after Shutdown returns nil at once.
func TestMisuse(t *testing.T) {
	eachStore(t, func(t *testing.T, db *store.DB) {
		mustPanic := func(what string, f func()) {
			t.Helper()
			defer func() {
				if recover() == nil {
					t.Errorf("%s did not panic", what)
				}
			}()
			f()
		}
		nop := func(context.Context, *store.Job) error { return nil }

		if err := worker.New(db, nil).Run(context.Background()); !errors.Is(err, worker.ErrNoHandlers) {
			t.Errorf("Run without handlers = %v, want ErrNoHandlers", err)
		}
		w := worker.New(db, &worker.Options{Logger: quiet})
		w.Handle("a", nop)
		mustPanic("Handle of a kind twice", func() { w.Handle("a", nop) })
		mustPanic("Handle of an empty kind", func() { w.Handle("", nop) })
		mustPanic("Handle with a nil handler", func() { w.Handle("b", nil) })
		r := start(t, w)
		waitFor(t, 2*time.Second, "Run to start", func() bool { return w.Stats().ClaimCalls >= 1 })
		mustPanic("Handle after Run", func() { w.Handle("b", nop) })
		if err := w.Run(context.Background()); !errors.Is(err, worker.ErrRunning) {
			t.Errorf("second concurrent Run = %v, want ErrRunning", err)
		}
		if err := w.Shutdown(context.Background()); err != nil {
			t.Errorf("Shutdown = %v", err)
		}
		if err := r.wait(t, time.Second); err != nil {
			t.Errorf("Run = %v", err)
		}
		if err := w.Run(context.Background()); err != nil {
			t.Errorf("Run after Shutdown = %v, want nil", err)
		}
		if err := w.Shutdown(context.Background()); err != nil {
			t.Errorf("second Shutdown = %v", err)
		}

		early := worker.New(db, &worker.Options{Logger: quiet})
		early.Handle("a", nop)
		if err := early.Shutdown(context.Background()); err != nil {
			t.Errorf("Shutdown before Run = %v", err)
		}
		if err := early.Run(context.Background()); err != nil {
			t.Errorf("Run after an early Shutdown = %v, want nil", err)
		}
	})
}

func TestDefaultBackoff(t *testing.T) {
	for n := 1; n <= 30; n++ {
		limit := worker.MaxBackoff
		if n < 18 {
			limit = min(time.Duration(n*n*n*n)*time.Second, worker.MaxBackoff)
		}
		lo, hi := time.Duration(1<<62), time.Duration(0)
		for range 200 {
			d := worker.DefaultBackoff(n)
			if d < time.Second || d >= time.Second+limit {
				t.Fatalf("DefaultBackoff(%d) = %v, want in [1s, %v)", n, d, time.Second+limit)
			}
			lo, hi = min(lo, d), max(hi, d)
		}
		if n > 1 && lo == hi {
			t.Errorf("DefaultBackoff(%d) always %v: no jitter", n, lo)
		}
	}
	if d := worker.DefaultBackoff(0); d < time.Second || d >= 2*time.Second {
		t.Errorf("DefaultBackoff(0) = %v, want as attempt 1", d)
	}
}

func TestOutcomeErrors(t *testing.T) {
	cause := errors.New("503")
	if err := worker.RetryAt(time.Now(), cause); err.Error() != "503" || !errors.Is(err, cause) {
		t.Errorf("RetryAt: %q, wraps cause %v", err, errors.Is(err, cause))
	}
	d := fmt.Errorf("ctx: %w", worker.Discard(cause))
	if d.Error() != "ctx: 503" || !errors.Is(d, cause) || !worker.IsPermanent(d) {
		t.Errorf("Discard: %q, wraps %v, permanent %v", d, errors.Is(d, cause), worker.IsPermanent(d))
	}
	if !worker.IsPermanent(worker.Permanent(cause)) || worker.IsPermanent(cause) || worker.IsPermanent(worker.Snooze(time.Second)) {
		t.Error("IsPermanent wrong")
	}
	if worker.Discard(nil).Error() == "" || worker.RetryAt(time.Time{}, nil).Error() == "" || worker.Snooze(time.Second).Error() == "" {
		t.Error("empty outcome message")
	}
}

// Under a backlog the worker claims several jobs at a time, not one per
// slot as each handler returns: 400 jobs on 8 slots take at most one
// claim per two jobs.
func TestClaimsCoalesceUnderBacklog(t *testing.T) {
	eachStore(t, func(t *testing.T, db *store.DB) {
		const n, conc = 400, 8
		w := worker.New(db, &worker.Options{Concurrency: conc, PollInterval: time.Minute, Logger: quiet})
		var done atomic.Int64
		w.Handle("quick", func(ctx context.Context, j *store.Job) error {
			time.Sleep(time.Duration(j.ID%3) * 100 * time.Microsecond)
			done.Add(1)
			return nil
		})
		for range n {
			enqueue(t, db, "quick", "")
		}
		start(t, w)
		waitFor(t, 20*time.Second, "every job completed", func() bool { return w.Stats().Completed == n })
		if c := w.Stats().ClaimCalls; c > n/2 {
			t.Errorf("%d claims for %d jobs on %d slots, want at most %d", c, n, conc, n/2)
		} else {
			t.Logf("%d claims for %d jobs on %d slots", c, n, conc)
		}
	})
}

// Completions recorded in batches are all recorded, and a clean Shutdown
// records those still waiting before it returns: every job whose handler
// returned nil is completed in the store, none left running.
func TestShutdownRecordsBatchedCompletions(t *testing.T) {
	eachStore(t, func(t *testing.T, db *store.DB) {
		const jobs = 200
		w := worker.New(db, &worker.Options{Concurrency: 16, PollInterval: time.Minute, Logger: quiet})
		var ran atomic.Int64
		w.Handle("quick", func(ctx context.Context, j *store.Job) error {
			ran.Add(1)
			return nil
		})
		ids := make([]int64, jobs)
		for i := range ids {
			ids[i] = enqueue(t, db, "quick", "")
		}
		r := start(t, w)
		waitFor(t, 10*time.Second, "every handler ran", func() bool { return ran.Load() == jobs })
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := w.Shutdown(sctx); err != nil {
			t.Fatal(err)
		}
		if s := w.Stats(); s.Completed != jobs || s.Dropped != 0 {
			t.Errorf("stats after Shutdown %+v, want %d completed, none dropped", s, jobs)
		}
		<-r.done
		for _, id := range ids {
			if j := getJob(t, db, id); j.State != store.JobCompleted {
				t.Fatalf("job %d is %s after Shutdown, want completed", id, j.State)
			}
		}
	})
}

// Finished jobs are deleted once older than Options.Retention, by the
// worker, while it runs; jobs not finished stay whatever their age.
func TestRetentionPrunesFinishedJobs(t *testing.T) {
	eachStore(t, func(t *testing.T, db *store.DB) {
		const retention = time.Second // pruned every 250 ms
		w := worker.New(db, &worker.Options{Retention: retention, Logger: quiet})
		w.Handle("ok", func(context.Context, *store.Job) error { return nil })
		w.Handle("bad", func(context.Context, *store.Job) error { return worker.Discard(errors.New("no")) })
		waiting := enqueue(t, db, "unhandled", "") // never claimed: no handler
		ok, bad := enqueue(t, db, "ok", ""), enqueue(t, db, "bad", "")
		start(t, w)
		waitFor(t, 5*time.Second, "both jobs finished", func() bool {
			return w.Stats().Completed == 1 && w.Stats().Discarded == 1
		})
		finished := time.Now()
		if a, b := getJob(t, db, ok).State, getJob(t, db, bad).State; a != store.JobCompleted || b != store.JobDiscarded {
			t.Fatalf("right after they finished: %s and %s, want completed and discarded (kept for the retention)", a, b)
		}
		waitFor(t, 10*time.Second, "the finished jobs pruned", func() bool { return w.Stats().Pruned == 2 })
		if d := time.Since(finished); d < retention-100*time.Millisecond {
			t.Errorf("finished jobs pruned %v after they finished, before the retention of %v", d, retention)
		}
		for _, id := range []int64{ok, bad} {
			if _, err := db.GetJob(context.Background(), id); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("job %d after pruning: %v, want ErrNotFound", id, err)
			}
		}
		if st := getJob(t, db, waiting).State; st != store.JobAvailable {
			t.Errorf("the job without a handler is %s; a job not finished is never pruned", st)
		}
	})
}

// An idle worker that Notify woke waits Options.NotifyDelay, then claims
// the jobs enqueued meanwhile together; with a negative delay it claims
// at once.
func TestNotifyDelay(t *testing.T) {
	eachStore(t, func(t *testing.T, db *store.DB) {
		for _, c := range []struct {
			name   string
			delay  time.Duration
			claims int64 // for the two jobs
		}{{"gathers", 300 * time.Millisecond, 1}, {"none", -1, 2}} {
			t.Run(c.name, func(t *testing.T) {
				w, ran := startIdle(t, db, &worker.Options{PollInterval: time.Minute, NotifyDelay: c.delay, Logger: quiet})
				first := enqueue(t, db, "job", "")
				t0 := time.Now()
				w.Notify()
				got := map[int64]bool{}
				if c.delay < 0 {
					select {
					case id := <-ran:
						if id != first {
							t.Fatalf("ran job %d, want %d", id, first)
						}
						got[id] = true
					case <-time.After(2 * time.Second):
						t.Fatal("without a notify delay, the job did not run within 2s of Notify")
					}
				} else {
					time.Sleep(c.delay / 10)
				}
				second := enqueue(t, db, "job", "")
				w.Notify()
				for len(got) < 2 {
					select {
					case id := <-ran:
						got[id] = true
					case <-time.After(5 * time.Second):
						t.Fatalf("ran %v within 5s; want jobs %d and %d", got, first, second)
					}
				}
				if c.delay > 0 {
					if d := time.Since(t0); d < c.delay {
						t.Errorf("the jobs ran %v after Notify, before the delay of %v", d, c.delay)
					}
				}
				if n := w.Stats().ClaimCalls - 1; n != c.claims {
					t.Errorf("%d claims for the two jobs, want %d", n, c.claims)
				}
				sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				if err := w.Shutdown(sctx); err != nil {
					t.Fatal(err)
				}
			})
		}
	})
}

// Jobs whose handlers return Forget are completed, batched like the
// others, and deleted: none is left in the store, their unique keys are
// free again; the ones returning nil beside them are kept completed.
func TestForget(t *testing.T) {
	eachStore(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		const jobs = 200
		w := worker.New(db, &worker.Options{Concurrency: 16, PollInterval: time.Minute, Logger: quiet})
		w.Handle("forget", func(ctx context.Context, j *store.Job) error {
			if j.UniqueKey == "keep" {
				return nil
			}
			return fmt.Errorf("wrapped: %w", worker.Forget())
		})
		keyed := func(key string) int64 {
			id, _, err := db.Enqueue(ctx, "forget", nil, &store.EnqueueOptions{UniqueKey: key})
			if err != nil {
				t.Fatal(err)
			}
			return id
		}
		for i := range jobs {
			keyed(fmt.Sprintf("k%d", i))
		}
		kept := keyed("keep")
		start(t, w)
		waitFor(t, 10*time.Second, "every job completed", func() bool { return w.Stats().Completed == jobs+1 })

		if s := w.Stats(); s.Claimed != jobs+1 || s.Retried+s.Discarded+s.Dropped+s.Panicked != 0 {
			t.Errorf("stats %+v, want %d claimed and completed, nothing else", s, jobs+1)
		}
		all := allJobs(t, db)
		if len(all) != 1 || all[0].ID != kept || all[0].State != store.JobCompleted {
			t.Fatalf("jobs left: %+v, want only job %d, completed", all, kept)
		}
		_, inserted, err := db.Enqueue(ctx, "other", nil, &store.EnqueueOptions{UniqueKey: "k0"})
		if err != nil || !inserted {
			t.Errorf("Enqueue with a forgotten job's key: inserted %v, %v; want a new job", inserted, err)
		}
	})
}

// DiscardWith's writes commit with the discard: the job is discarded with
// the reason, OnDiscard is called, and the value fn wrote is there; when
// fn fails, nothing of the unit is kept and the job is not discarded.
func TestDiscardWith(t *testing.T) {
	eachStore(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		var discarded atomic.Int64
		w := worker.New(db, &worker.Options{Concurrency: 2, PollInterval: time.Minute, Logger: quiet,
			OnDiscard: func(*store.Job, string) { discarded.Add(1) }})
		failing := errors.New("record refused")
		w.Handle("d", func(ctx context.Context, j *store.Job) error {
			key := "failure:" + string(j.Payload)
			return worker.DiscardWith(errors.New("refused for good"), func(ctx context.Context, tx *store.Tx) error {
				if err := tx.PutValue(ctx, key, []byte("x"), time.Time{}); err != nil {
					return err
				}
				if string(j.Payload) == "bad" {
					return failing
				}
				return nil
			})
		})
		good, bad := enqueue(t, db, "d", "good"), enqueue(t, db, "d", "bad")
		start(t, w)
		waitFor(t, 10*time.Second, "the good job discarded and the bad one given up", func() bool {
			s := w.Stats()
			return s.Discarded == 1 && s.Dropped == 1
		})
		if j := getJob(t, db, good); j.State != store.JobDiscarded || j.LastError != "refused for good" {
			t.Errorf("good job %+v, want discarded for its reason", j)
		}
		if _, err := db.GetValue(ctx, "failure:good"); err != nil {
			t.Errorf("the value written with the discard: %v", err)
		}
		if j := getJob(t, db, bad); j.State != store.JobRunning {
			t.Errorf("bad job %s, want running (its discard was never recorded)", j.State)
		}
		if _, err := db.GetValue(ctx, "failure:bad"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("the value of a discard that failed: %v, want ErrNotFound", err)
		}
		if n := discarded.Load(); n != 1 {
			t.Errorf("OnDiscard called %d times, want 1", n)
		}
	})
}
