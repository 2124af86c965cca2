package worker_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/slothpub/slothpub/store"
	"github.com/slothpub/slothpub/store/worker"
)

// enqueueClaimed enqueues a job claimed for r in one unit, as the inbox
// does, and returns it.
func enqueueClaimed(t *testing.T, db *store.DB, r *worker.Reservation, kind string) *store.Job {
	t.Helper()
	var j *store.Job
	err := db.Update(context.Background(), func(tx *store.Tx) error {
		var err error
		j, _, err = tx.EnqueueJob(context.Background(), kind, []byte(`{}`), &store.EnqueueOptions{Lease: r.Lease()})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return j
}

// A job enqueued claimed in a reservation runs once, in the reserved
// slot, and completes, with no claim of it; a worker whose slots are
// taken, or that is not running, reserves none.
func TestReservationRunsWithoutClaim(t *testing.T) {
	eachStore(t, func(t *testing.T, db *store.DB) {
		w := worker.New(db, &worker.Options{Concurrency: 2, PollInterval: time.Minute, Logger: quiet})
		var runs atomic.Int64
		release := make(chan struct{})
		w.Handle("job", func(ctx context.Context, j *store.Job) error {
			runs.Add(1)
			if j.Attempt != 1 || j.State != store.JobRunning {
				t.Errorf("handler got %+v, want running, attempt 1", j)
			}
			<-release
			return nil
		})
		if _, ok := w.Reserve("job"); ok {
			t.Fatal("Reserve before Run succeeded")
		}
		start(t, w)
		waitFor(t, 5*time.Second, "Run accepts reservations", func() bool {
			r, ok := w.Reserve("job")
			if ok {
				r.Cancel()
			}
			return ok
		})
		if _, ok := w.Reserve("other"); ok {
			t.Error("Reserve of a kind without a handler succeeded")
		}
		r1, ok1 := w.Reserve("job")
		r2, ok2 := w.Reserve("job")
		if !ok1 || !ok2 {
			t.Fatalf("Reserve of the two free slots = %v, %v", ok1, ok2)
		}
		if _, ok := w.Reserve("job"); ok {
			t.Fatal("Reserve with every slot reserved succeeded")
		}
		r2.Cancel()
		r2.Cancel() // a second call does nothing
		j := enqueueClaimed(t, db, r1, "job")
		r1.Start(j)
		waitFor(t, 5*time.Second, "the handler ran", func() bool { return runs.Load() == 1 })
		if r, ok := w.Reserve("job"); !ok {
			t.Error("Reserve of the slot r2 gave back failed")
		} else {
			r.Cancel()
		}
		close(release)
		waitFor(t, 5*time.Second, "the job completed", func() bool { return getJob(t, db, j.ID).State == store.JobCompleted })
		s := w.Stats()
		if s.Claimed != 0 || s.Adopted != 1 || s.Completed != 1 || runs.Load() != 1 {
			t.Errorf("stats %+v, runs %d; want 0 claimed, 1 adopted, 1 completed, 1 run", s, runs.Load())
		}
	})
}

// Shutdown waits for a reservation held; the job started in it after
// Shutdown began is put back unfinished (available, its attempt not
// counted) and runs on the next worker.
func TestShutdownWithReservationHeld(t *testing.T) {
	eachStore(t, func(t *testing.T, db *store.DB) {
		w := worker.New(db, &worker.Options{Concurrency: 2, PollInterval: time.Minute, Logger: quiet})
		w.Handle("job", func(ctx context.Context, j *store.Job) error {
			t.Errorf("job %d ran on a worker shutting down", j.ID)
			return nil
		})
		r := start(t, w)
		var res *worker.Reservation
		waitFor(t, 5*time.Second, "a reservation", func() bool {
			var ok bool
			res, ok = w.Reserve("job")
			return ok
		})
		j := enqueueClaimed(t, db, res, "job")
		shut := make(chan error, 1)
		go func() { shut <- w.Shutdown(context.Background()) }()
		time.Sleep(50 * time.Millisecond)
		if r.returned() {
			t.Fatal("Run returned while a reservation was held")
		}
		if _, ok := w.Reserve("job"); ok {
			t.Error("Reserve during Shutdown succeeded")
		}
		res.Start(j)
		if err := <-shut; err != nil {
			t.Errorf("Shutdown = %v", err)
		}
		if err := r.wait(t, 5*time.Second); err != nil {
			t.Errorf("Run = %v", err)
		}
		if g := getJob(t, db, j.ID); g.State != store.JobAvailable || g.Attempt != 0 {
			t.Fatalf("job started after Shutdown began: %s, attempt %d; want available, 0", g.State, g.Attempt)
		}
		next := worker.New(db, &worker.Options{PollInterval: 10 * time.Millisecond, Logger: quiet})
		ran := make(chan int, 1)
		next.Handle("job", func(ctx context.Context, j *store.Job) error { ran <- j.Attempt; return nil })
		start(t, next)
		select {
		case a := <-ran:
			if a != 1 {
				t.Errorf("next worker ran attempt %d, want 1", a)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("the job put back never ran on the next worker")
		}
	})
}
