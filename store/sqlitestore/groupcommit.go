package sqlitestore

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/slothpub/slothpub/store"
)

// The bounds of a batch of units committed together.
const (
	// maxBatch is the most units one COMMIT holds.
	maxBatch = 128
	// maxBatchOpen is how long a batch keeps taking newly queued units
	// after its BEGIN; past it, the batch commits what it ran.
	maxBatchOpen = 10 * time.Millisecond
)

// The states of a queued unit. The writer moves it from queued to started
// before its fn runs; its caller moves it from queued to cancelled when its
// ctx ends first. Exactly one of them wins.
const (
	unitQueued int32 = iota
	unitStarted
	unitCancelled
)

// errAborted is what a caller reports when its fn panicked or called
// runtime.Goexit: the unit is rolled back.
var errAborted = errors.New("sqlitestore: unit aborted by a panic")

// unit is one Update waiting for, or inside, the writer.
type unit struct {
	fn    func(store.DriverTx) error
	state atomic.Int32
	// tx is the unit's transaction, set by the writer before it closes
	// start; nil when the writer could not open the unit (done then holds
	// why).
	tx    *dtx
	start chan struct{} // closed by the writer: the unit may run
	ran   chan error    // caller → writer: fn's result, or errAborted
	done  chan error    // writer → caller: the unit's outcome
}

// writer owns the writer connection and the goroutine that runs units.
type writer struct {
	d       *Driver
	c       *conn
	commits atomic.Int64

	mu      sync.Mutex
	queue   []*unit
	closed  bool
	wake    chan struct{} // capacity 1: the queue changed
	stopped chan struct{} // closed when the goroutine returns

	// broken is the error that aborted the current transaction (SQLite
	// rolls a transaction back by itself on some errors: a full disk, an
	// I/O error); it is only touched by whoever holds the transaction.
	broken error
}

func newWriter(d *Driver, c *conn) *writer {
	w := &writer{d: d, c: c, wake: make(chan struct{}, 1), stopped: make(chan struct{})}
	go w.loop()
	return w
}

// enqueue adds u to the queue, or fails once the writer is stopping.
func (w *writer) enqueue(u *unit) error {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return errClosed
	}
	w.queue = append(w.queue, u)
	w.mu.Unlock()
	w.signal()
	return nil
}

func (w *writer) signal() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// stop makes later units fail, lets the writer run those already queued,
// and waits for its goroutine to return.
func (w *writer) stop() {
	w.mu.Lock()
	w.closed = true
	w.mu.Unlock()
	w.signal()
	<-w.stopped
}

// next returns the next queued unit that is not cancelled, marked started.
// When the queue is empty it waits if block is set (returning nil once the
// writer is closed), else returns nil.
func (w *writer) next(block bool) *unit {
	for {
		w.mu.Lock()
		for len(w.queue) > 0 {
			u := w.queue[0]
			w.queue[0] = nil
			w.queue = w.queue[1:]
			if u.state.CompareAndSwap(unitQueued, unitStarted) {
				w.mu.Unlock()
				return u
			}
		}
		w.queue = nil // let the backing array go
		closed := w.closed
		w.mu.Unlock()
		if !block || closed {
			return nil
		}
		<-w.wake
	}
}

func (w *writer) loop() {
	defer close(w.stopped)
	for {
		u := w.next(true)
		if u == nil {
			return
		}
		w.batch(u)
	}
}

// batch runs first and the units queued behind it in one transaction and
// commits them.
func (w *writer) batch(first *unit) {
	ctx := context.Background()
	w.broken = nil
	if _, err := w.c.exec(ctx, `BEGIN IMMEDIATE`); err != nil {
		w.reject(first, fmt.Errorf("sqlitestore: begin: %w", err))
		return
	}
	began := time.Now()
	var pending []*unit // units that ran and wait for the COMMIT
	for n, u := 1, first; u != nil; n++ {
		if !w.run(ctx, u, &pending) {
			return // the transaction is gone; run has failed every unit
		}
		if n >= maxBatch || time.Since(began) >= maxBatchOpen {
			break
		}
		u = w.next(false)
	}
	if len(pending) == 0 {
		// Every unit failed: nothing to make durable.
		if _, err := w.c.exec(ctx, `ROLLBACK`); err != nil {
			w.d.log.Warn("sqlitestore: roll back an empty batch", "error", err)
		}
		return
	}
	_, err := w.c.exec(ctx, `COMMIT`)
	w.commits.Add(1)
	if err != nil {
		if _, rerr := w.c.exec(ctx, `ROLLBACK`); rerr != nil {
			w.d.log.Debug("sqlitestore: roll back after a failed commit", "error", rerr)
		}
		err = fmt.Errorf("sqlitestore: commit: %w", err)
		w.d.log.Error("sqlitestore: commit failed", "units", len(pending), "error", err)
	} else {
		w.d.units.Add(int64(len(pending)))
	}
	for _, p := range pending {
		p.done <- err
	}
}

// reject fails u before its fn ran.
func (w *writer) reject(u *unit, err error) {
	u.done <- err
	close(u.start)
}

// run runs u inside its own savepoint, adding it to pending when its fn
// succeeded. It reports false when the transaction was lost, after failing
// u and every pending unit.
func (w *writer) run(ctx context.Context, u *unit, pending *[]*unit) bool {
	if _, err := w.c.exec(ctx, `SAVEPOINT unit`); err != nil {
		err = fmt.Errorf("sqlitestore: savepoint: %w", err)
		w.reject(u, err)
		w.abandon(ctx, *pending, err)
		return false
	}
	u.tx = &dtx{d: w.d, c: w.c, w: w}
	close(u.start)
	ferr := <-u.ran // the caller runs fn and waits for done
	if ferr == nil && w.broken == nil {
		if _, err := w.c.exec(ctx, `RELEASE unit`); err == nil {
			*pending = append(*pending, u)
			return true
		} else {
			w.broken = err
		}
	}
	w.d.rolledBack.Add(1)
	if w.broken == nil {
		_, err := w.c.exec(ctx, `ROLLBACK TO unit`)
		if err == nil {
			_, err = w.c.exec(ctx, `RELEASE unit`)
		}
		if err == nil {
			u.done <- ferr
			return true
		}
		w.broken = err
	}
	// The transaction is gone (or cannot be trusted): nothing of this
	// batch is committed.
	lost := fmt.Errorf("sqlitestore: unit lost with its transaction: %w", w.broken)
	if ferr != nil {
		u.done <- ferr
	} else {
		u.done <- lost
	}
	w.abandon(ctx, *pending, lost)
	return false
}

// abandon rolls the transaction back and fails the units that waited for
// its COMMIT.
func (w *writer) abandon(ctx context.Context, pending []*unit, err error) {
	if _, rerr := w.c.exec(ctx, `ROLLBACK`); rerr != nil {
		w.d.log.Debug("sqlitestore: roll back a lost transaction", "error", rerr)
	}
	w.d.log.Error("sqlitestore: transaction lost", "units", len(pending), "error", err)
	for _, p := range pending {
		p.done <- err
	}
}

// Update runs fn as a unit of work in the writer's next batch and returns
// once the COMMIT of that batch is durable; see store.Driver. A ctx that
// ends before the unit starts makes Update return ctx.Err() without
// running fn; once fn runs, Update waits for the COMMIT whatever ctx does.
func (d *Driver) Update(ctx context.Context, fn func(tx store.DriverTx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	u := &unit{fn: fn, start: make(chan struct{}), ran: make(chan error, 1), done: make(chan error, 1)}
	if err := d.w.enqueue(u); err != nil {
		return err
	}
	select {
	case <-u.start:
	case <-ctx.Done():
		if u.state.CompareAndSwap(unitQueued, unitCancelled) {
			return ctx.Err()
		}
		<-u.start // the writer took it first
	}
	if u.tx == nil {
		return <-u.done
	}
	return u.run()
}

// run calls fn on the caller's goroutine and hands the outcome to the
// writer. A panic (or runtime.Goexit) in fn rolls the unit back before it
// goes on up the caller's stack.
func (u *unit) run() error {
	returned := false
	defer func() {
		if !returned {
			u.tx.ended.Store(true)
			u.ran <- errAborted
			<-u.done
		}
	}()
	err := u.fn(u.tx)
	if err == nil {
		// The counts of the members fn added, before the unit ends.
		err = u.tx.flushCounts(context.Background(), "")
	}
	returned = true
	u.tx.ended.Store(true)
	u.ran <- err
	return <-u.done
}
