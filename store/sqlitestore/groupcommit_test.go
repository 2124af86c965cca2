package sqlitestore_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/slothpub/slothpub/store"
	"github.com/slothpub/slothpub/store/sqlitestore"
)

// unitOfThree is the unit the group-commit tests and benchmarks run: three
// writes (an object, a collection item, a value) sharing one tag.
func unitOfThree(ctx context.Context, tx store.DriverTx, tag string) error {
	iri := "https://example.com/notes/" + tag
	if err := tx.InsertObject(ctx, &store.Object{IRI: iri, Type: "Note", Actor: "https://example.com/users/" + tag,
		Data: []byte(`{"type":"Note"}`)}); err != nil {
		return err
	}
	if _, err := tx.AddItem(ctx, "https://example.com/outbox", iri); err != nil {
		return err
	}
	return tx.PutValue(ctx, "tag:"+tag, []byte(tag), time.Time{})
}

// TestGroupCommitShares runs 64 units at once: they must complete with
// fewer COMMITs (fsyncs) than units, each unit still whole.
func TestGroupCommitShares(t *testing.T) {
	d, _ := openDriver(t, nil)
	ctx := t.Context()
	const units = 64
	before := d.Stats()
	start := make(chan struct{})
	var wg sync.WaitGroup
	errs := make([]error, units)
	for i := range units {
		wg.Go(func() {
			<-start
			errs[i] = d.Update(ctx, func(tx store.DriverTx) error { return unitOfThree(ctx, tx, fmt.Sprint(i)) })
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("unit %d: %v", i, err)
		}
	}
	st := d.Stats()
	commits, done := st.Commits-before.Commits, st.Units-before.Units
	t.Logf("%d units, %d commits", done, commits)
	if done != units {
		t.Errorf("Stats counts %d units committed, want %d", done, units)
	}
	if commits >= units {
		t.Errorf("%d concurrent units took %d commits, want fewer than %d (group commit)", units, commits, units)
	}
	assertTags(t, d, units)
}

// assertTags checks that the units tagged 0..n-1 are all there, whole.
func assertTags(t *testing.T, d store.Driver, n int) {
	t.Helper()
	ctx := t.Context()
	err := d.View(ctx, func(tx store.DriverTx) error {
		if c, err := tx.CountItems(ctx, "https://example.com/outbox"); err != nil || c != n {
			return fmt.Errorf("CountItems = %d, %v; want %d", c, err, n)
		}
		for i := range n {
			tag := fmt.Sprint(i)
			if _, err := tx.GetObject(ctx, "https://example.com/notes/"+tag); err != nil {
				return fmt.Errorf("object of unit %s: %v", tag, err)
			}
			if v, err := tx.GetValue(ctx, "tag:"+tag, time.Now()); err != nil || string(v) != tag {
				return fmt.Errorf("value of unit %s = %q, %v", tag, v, err)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestGroupCommitFailuresAlone runs good, failing and panicking units
// together: the failing ones are rolled back alone, a panic reaches its
// own caller, and every good unit commits.
func TestGroupCommitFailuresAlone(t *testing.T) {
	d, _ := openDriver(t, nil)
	ctx := t.Context()
	const units = 48
	errBad := errors.New("bad unit")
	start := make(chan struct{})
	var wg sync.WaitGroup
	errs := make([]error, units)
	panics := make([]any, units)
	for i := range units {
		wg.Go(func() {
			defer func() { panics[i] = recover() }()
			<-start
			errs[i] = d.Update(ctx, func(tx store.DriverTx) error {
				if err := unitOfThree(ctx, tx, fmt.Sprint(i)); err != nil {
					return err
				}
				switch i % 4 {
				case 1:
					return fmt.Errorf("unit %d: %w", i, errBad)
				case 2:
					panic(fmt.Sprint("panic ", i))
				}
				return nil
			})
		})
	}
	close(start)
	wg.Wait()
	ok := 0
	for i := range units {
		var want any
		switch i % 4 {
		case 1:
			if !errors.Is(errs[i], errBad) {
				t.Errorf("failing unit %d: Update = %v, want its error", i, errs[i])
			}
		case 2:
			want = fmt.Sprint("panic ", i)
		default:
			ok++
			if errs[i] != nil {
				t.Errorf("good unit %d: %v", i, errs[i])
			}
		}
		if panics[i] != want {
			t.Errorf("unit %d: caller recovered %v, want %v", i, panics[i], want)
		}
	}
	err := d.View(ctx, func(tx store.DriverTx) error {
		for i := range units {
			_, err := tx.GetObject(ctx, fmt.Sprint("https://example.com/notes/", i))
			good := i%4 == 0 || i%4 == 3
			if good && err != nil {
				return fmt.Errorf("good unit %d lost: %v", i, err)
			}
			if !good && !errors.Is(err, store.ErrNotFound) {
				return fmt.Errorf("failed unit %d visible: GetObject = %v", i, err)
			}
		}
		if n, err := tx.CountItems(ctx, "https://example.com/outbox"); err != nil || n != ok {
			return fmt.Errorf("CountItems = %d, %v; want %d", n, err, ok)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	st := d.Stats()
	t.Logf("stats %+v", st)
	if st.Units != int64(ok) || st.RolledBack != units-int64(ok) {
		t.Errorf("Stats = %+v, want %d units committed and %d rolled back", st, ok, units-ok)
	}
}

// TestUpdateCancelledBeforeStart: a unit whose ctx ends while it waits
// behind another returns ctx.Err() and never runs.
func TestUpdateCancelledBeforeStart(t *testing.T) {
	d, _ := openDriver(t, nil)
	ctx := t.Context()
	inside, release := make(chan struct{}), make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		err := d.Update(ctx, func(tx store.DriverTx) error {
			close(inside)
			<-release // holds the writer
			return unitOfThree(ctx, tx, "0")
		})
		if err != nil {
			t.Errorf("blocking unit: %v", err)
		}
	})
	<-inside
	cctx, cancel := context.WithCancel(ctx)
	ran := make(chan struct{}, 1)
	got := make(chan error, 1)
	go func() {
		got <- d.Update(cctx, func(tx store.DriverTx) error {
			ran <- struct{}{}
			return unitOfThree(ctx, tx, "1")
		})
	}()
	time.Sleep(20 * time.Millisecond) // let it queue
	cancel()
	if err := <-got; !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled Update = %v, want context.Canceled", err)
	}
	close(release)
	wg.Wait()
	// The writer goes on; the cancelled unit never ran.
	if err := d.Update(ctx, func(tx store.DriverTx) error { return nil }); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ran:
		t.Error("the fn of a unit cancelled before it started ran")
	default:
	}
}

// TestCloseStopsWriter: Close runs the queued units, stops the writer
// goroutine, and later units fail.
func TestCloseStopsWriter(t *testing.T) {
	before := runtime.NumGoroutine()
	d, err := sqlitestore.OpenDriver(t.Context(), t.TempDir()+"/close.db", nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			if err := d.Update(ctx, func(tx store.DriverTx) error { return unitOfThree(ctx, tx, fmt.Sprint(i)) }); err != nil {
				t.Errorf("unit %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if err := d.Update(ctx, func(tx store.DriverTx) error { return nil }); err == nil {
		t.Error("Update after Close succeeded")
	}
	if err := d.View(ctx, func(tx store.DriverTx) error { return nil }); err == nil {
		t.Error("View after Close succeeded")
	}
	deadline := time.Now().Add(2 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		t.Errorf("%d goroutines after Close, %d before OpenDriver: the driver leaks", n, before)
	}
}
