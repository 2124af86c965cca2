package worker_test

import (
	"context"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/slothpub/slothpub/store"
	"github.com/slothpub/slothpub/store/memstore"
	"github.com/slothpub/slothpub/store/worker"
)

// strayDriver is a driver whose claims also take jobs of a kind the
// worker did not ask for, as a faulty third-party driver might.
type strayDriver struct {
	store.Driver
	kind string
}

func (d *strayDriver) Update(ctx context.Context, fn func(tx store.DriverTx) error) error {
	return d.Driver.Update(ctx, func(tx store.DriverTx) error { return fn(strayTx{tx, d.kind}) })
}

type strayTx struct {
	store.DriverTx
	kind string
}

func (t strayTx) ClaimJobs(ctx context.Context, p store.ClaimParams) ([]*store.Job, error) {
	p.Kinds = append(slices.Clone(p.Kinds), t.kind)
	return t.DriverTx.ClaimJobs(ctx, p)
}

// A job of a kind without a handler that a driver returns from a claim is
// put back unfinished (available, its attempt not counted), never run,
// never failed; a worker that handles its kind runs it as its first
// attempt. The worker's own jobs run as usual meanwhile.
func TestClaimedJobOfUnknownKindPutBack(t *testing.T) {
	mem := memstore.NewDriver()
	db := store.Open(&strayDriver{Driver: mem, kind: "stray"}, nil)
	t.Cleanup(func() { db.Close() })
	sink := &logSink{}
	w := worker.New(db, &worker.Options{PollInterval: 20 * time.Millisecond, Logger: slog.New(slog.NewTextHandler(sink, &slog.HandlerOptions{Level: slog.LevelError}))})
	ran := make(chan int64, 10)
	w.Handle("job", func(ctx context.Context, j *store.Job) error { ran <- j.ID; return nil })
	stray := enqueue(t, db, "stray", "")
	own := enqueue(t, db, "job", "")
	start(t, w)
	select {
	case id := <-ran:
		if id != own {
			t.Fatalf("handler ran job %d, want %d", id, own)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the worker's own job never ran")
	}
	waitFor(t, 5*time.Second, "the stray job put back", func() bool { return w.Stats().Released >= 1 })
	if err := w.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if j := getJob(t, db, stray); j.State != store.JobAvailable || j.Attempt != 0 || j.LastError != "" {
		t.Fatalf("stray job after the worker: %s, attempt %d, error %q; want available, 0, none", j.State, j.Attempt, j.LastError)
	}
	if logs := sink.String(); !strings.Contains(logs, "kind without a handler") || !strings.Contains(logs, "kind=stray") {
		t.Errorf("no error logged for the stray job: %s", sink.String())
	}

	// A worker with a handler for it, on the same store without the fault.
	other := worker.New(store.Open(mem, nil), &worker.Options{PollInterval: 20 * time.Millisecond, Logger: quiet})
	attempt := make(chan int, 1)
	other.Handle("stray", func(ctx context.Context, j *store.Job) error { attempt <- j.Attempt; return nil })
	start(t, other)
	select {
	case a := <-attempt:
		if a != 1 {
			t.Errorf("the stray job ran as attempt %d, want 1", a)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the stray job never ran on a worker that handles it")
	}
}
