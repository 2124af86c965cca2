package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/slothpub/slothpub/store"
)

// Handler runs one claimed job. ctx ends when the lease is lost (cause
// store.ErrLeaseLost), when Shutdown runs out of time (cause ErrShutdown)
// or when Run's ctx ends; a handler must return soon after.
//
// j is the claimed job: running, with Attempt counting this claim and
// LastError the error of the previous attempt. Its LeaseUntil is the lease
// of the claim; the worker's renewals do not change j. The handler must
// not keep j after it returns. Its return value is the outcome: see the
// package documentation.
type Handler func(ctx context.Context, j *store.Job) error

// Defaults of Options.
const (
	DefaultConcurrency  = 8
	DefaultLease        = time.Minute
	DefaultPollInterval = time.Second
	DefaultMaxAttempts  = 25
	// DefaultNotifyDelay is Options.NotifyDelay's default.
	DefaultNotifyDelay = time.Millisecond
	// DefaultRetention is how long finished jobs are kept: a week, as
	// long as the outbox remembers the order of its deliveries.
	DefaultRetention = 7 * 24 * time.Hour
)

// Options configures a Worker. The zero value (and nil) means the
// defaults.
type Options struct {
	// Concurrency is how many jobs run at once, over all kinds. Zero means
	// DefaultConcurrency.
	Concurrency int
	// Prefetch is how many jobs beyond Concurrency the worker may hold
	// claimed, waiting for a handler to return: under a backlog a handler
	// that returns takes the next job at once instead of waiting for a
	// claim, and each claim (a unit of work, a commit) takes more jobs. A
	// job that waited half its lease is put back instead of run (due at
	// once, the attempt not counted); Shutdown puts the waiting jobs back.
	// Zero means half of Concurrency; a negative Prefetch claims only for
	// free handlers.
	Prefetch int
	// Lease is the lease of each claim: while it holds, no other worker
	// gets the job. The worker renews it (store.DB.ExtendLease) every half
	// lease while the handler runs; when a renewal reports
	// store.ErrLeaseLost, or the lease ends before a renewal succeeds (the
	// store is failing), the handler's ctx is cancelled, and after lease
	// loss its result is dropped. A worker that dies stops renewing, and
	// its jobs are claimed again once their lease ends. Zero means
	// DefaultLease.
	Lease time.Duration
	// PollInterval is how often an idle worker looks for due jobs, and how
	// long it waits after the store failed a claim. Notify wakes it at
	// once, and a job this worker retries or snoozes to a time within the
	// interval wakes it at that time. Zero means DefaultPollInterval.
	PollInterval time.Duration
	// MaxAttempts is the most attempts of a job: after the failure of
	// attempt MaxAttempts (or later) the job is discarded, with the error
	// as its reason. Zero means DefaultMaxAttempts.
	MaxAttempts int
	// Backoff is the wait before the next attempt after the failure of
	// attempt n (1-based). Nil means DefaultBackoff.
	Backoff func(attempt int) time.Duration
	// Clock returns the current time, for the due times the worker
	// computes (retries, snoozes, releases). It must agree with the
	// store's clock (store.Options.Clock). Nil means time.Now.
	Clock func() time.Time
	// Logger receives the worker's records: errors of the store and of
	// handlers (with panics' stacks), retries and discards at warning,
	// completions at debug. Nil means slog.Default().
	Logger *slog.Logger
	// OnDiscard, when set, is called after the worker discarded a job
	// (dead: the Discard outcome or MaxAttempts reached), with the job as
	// it is now and the reason recorded. It runs on the job's goroutine and
	// must not block. Jobs a handler discards itself (ErrFinished) are not
	// reported.
	OnDiscard func(j *store.Job, reason string)
	// NotifyDelay is how long an idle worker that Notify woke waits
	// before it claims, so that the jobs enqueued just after are claimed
	// with the first: under a steady trickle of jobs (an inbox taking an
	// activity every few hundred microseconds) one claim, and one wakeup
	// of the worker's goroutines, then serves several jobs, instead of
	// each job paying for them, which on two cores cost about a fifth of
	// the CPU of processing a delivered activity (BENCHMARKS.md). A job
	// starts at most this much later. Zero means DefaultNotifyDelay; a
	// negative NotifyDelay claims at once.
	NotifyDelay time.Duration
	// Retention is how long a finished job (completed or discarded) is
	// kept, with its outcome and its unique key, for the status APIs
	// built on them: while Run runs, the worker deletes older ones
	// (store.DB.PruneJobs) a minute after it starts, then every quarter
	// of Retention (at most every hour). Several workers on one database
	// may all prune. Zero means DefaultRetention; a negative Retention
	// keeps every job until the application prunes.
	Retention time.Duration
}

// Stats are the counters of a Worker since New.
type Stats struct {
	ClaimCalls  int64 // Claim units run
	ClaimErrors int64 // Claim units the store failed
	Claimed     int64 // jobs claimed
	Completed   int64 // jobs the worker completed (the handler returned nil)
	Finished    int64 // jobs the handler finished itself (ErrFinished)
	Retried     int64 // failed attempts scheduled again (backoff or RetryAt)
	Snoozed     int64 // jobs put back without counting the attempt
	Discarded   int64 // jobs the worker discarded (Discard or MaxAttempts)
	Panicked    int64 // handler panics (also counted as retried or discarded)
	Released    int64 // jobs put back unfinished by Shutdown, the attempt not counted
	// Dropped counts outcomes not recorded: the lease was lost (the job is
	// another claimer's), Run's ctx ended, or the store failed. Such a job
	// runs again when its lease ends, unless another claimer has it.
	Dropped int64
	Running int64 // handlers running now
	Waiting int64 // jobs claimed ahead, waiting for a handler (Options.Prefetch)
	Pruned  int64 // finished jobs deleted past Options.Retention
}

type counters struct {
	claimCalls, claimErrors, claimed, completed, finished, retried,
	snoozed, discarded, panicked, released, dropped, pruned atomic.Int64
}

// Errors of Run.
var (
	ErrRunning    = errors.New("worker: Run called while the worker is running")
	ErrNoHandlers = errors.New("worker: Run without any handler")
)

// Worker claims jobs of the kinds it has handlers for from a store.DB and
// runs them, at most Options.Concurrency at once. Several workers, in one
// process or in several on one database, share the jobs: a lease keeps
// each job to one of them. The methods of Worker are safe for concurrent
// use.
type Worker struct {
	db          *store.DB
	concurrency int
	prefetch    int
	lease       time.Duration
	poll        time.Duration
	maxAttempts int
	backoff     func(int) time.Duration
	clock       func() time.Time
	log         *slog.Logger
	onDiscard   func(*store.Job, string)
	retention   time.Duration // < 0: never prune
	notifyDelay time.Duration // < 0: none

	mu             sync.Mutex
	handlers       map[string]Handler
	kinds          []string // sorted keys of handlers, fixed once Run starts
	started        bool     // Run was called: Handle panics
	running        bool     // a Run is in progress
	stopped        bool     // Shutdown was called
	runDone        chan struct{}
	cancelHandlers context.CancelCauseFunc // of the Run in progress

	stop     chan struct{} // closed by the first Shutdown
	hard     atomic.Bool   // Shutdown ran out of time: release unfinished jobs
	wake     chan struct{} // Notify
	resched  chan struct{} // an earlier wake time was set
	slotFree chan struct{} // a handler returned, or took a waiting job
	tasks    chan task     // to an idle runner (see dispatch)
	// completions go to the completer of the Run in progress (see
	// complete.go); set and cleared by Run, read by its handler
	// goroutines only.
	completions chan completion
	wg          sync.WaitGroup

	// qmu guards the handlers' slots: the active ones (a handler runs, or
	// its runner is about to take a waiting job) and the jobs claimed
	// ahead for them. A runner whose handler returned takes the next
	// waiting job, and the loop queues a job only when every slot is
	// active, so that no job waits while a slot is free.
	qmu     sync.Mutex
	active  int
	waiting []task

	soonMu  sync.Mutex
	wakeups []time.Time // sorted due times this worker set within the poll interval

	stats counters
}

// New returns a worker over db. opts may be nil. Register handlers with
// Handle, then call Run.
func New(db *store.DB, opts *Options) *Worker {
	if db == nil {
		panic("worker: New with a nil *store.DB")
	}
	var o Options
	if opts != nil {
		o = *opts
	}
	w := &Worker{
		db:          db,
		concurrency: o.Concurrency,
		prefetch:    o.Prefetch,
		lease:       o.Lease,
		poll:        o.PollInterval,
		maxAttempts: o.MaxAttempts,
		backoff:     o.Backoff,
		clock:       o.Clock,
		log:         o.Logger,
		onDiscard:   o.OnDiscard,
		retention:   o.Retention,
		notifyDelay: o.NotifyDelay,
		handlers:    make(map[string]Handler),
		stop:        make(chan struct{}),
		wake:        make(chan struct{}, 1),
		resched:     make(chan struct{}, 1),
		slotFree:    make(chan struct{}, 1),
		tasks:       make(chan task),
	}
	if w.concurrency <= 0 {
		w.concurrency = DefaultConcurrency
	}
	switch {
	case w.prefetch == 0:
		w.prefetch = w.concurrency / 2
	case w.prefetch < 0:
		w.prefetch = 0
	}
	if w.lease <= 0 {
		w.lease = DefaultLease
	}
	if w.poll <= 0 {
		w.poll = DefaultPollInterval
	}
	if w.maxAttempts <= 0 {
		w.maxAttempts = DefaultMaxAttempts
	}
	if w.backoff == nil {
		w.backoff = DefaultBackoff
	}
	if w.retention == 0 {
		w.retention = DefaultRetention
	}
	if w.notifyDelay == 0 {
		w.notifyDelay = DefaultNotifyDelay
	}
	if w.clock == nil {
		w.clock = time.Now
	}
	if w.log == nil {
		w.log = slog.Default()
	}
	return w
}

// Handle registers h for the jobs of kind. It must be called before Run;
// it panics when called after Run, for a kind already registered, an
// empty kind or a nil handler (programming errors).
func (w *Worker) Handle(kind string, h Handler) {
	if kind == "" || h == nil {
		panic("worker: Handle with an empty kind or a nil handler")
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.started {
		panic(fmt.Sprintf("worker: Handle(%q) after Run", kind))
	}
	if _, dup := w.handlers[kind]; dup {
		panic(fmt.Sprintf("worker: Handle(%q) twice", kind))
	}
	w.handlers[kind] = h
	w.kinds = append(w.kinds, kind)
	slices.Sort(w.kinds)
}

// Run claims and runs jobs of the registered kinds until ctx ends or
// Shutdown is called, and returns once every handler it started has
// returned. It returns nil after Shutdown (also when Shutdown came before
// Run), ctx.Err() when ctx ended, ErrRunning when another Run is in
// progress and ErrNoHandlers when no handler is registered.
//
// When ctx ends, Run stops as a process that dies does: handlers' ctx are
// cancelled, leases are no longer renewed and no outcome is recorded, so
// the jobs are claimed again (by any worker) once their leases end. Call
// Shutdown for a clean stop. Run may be called again after it returned,
// unless Shutdown was called.
func (w *Worker) Run(ctx context.Context) error {
	w.mu.Lock()
	if w.running {
		w.mu.Unlock()
		return ErrRunning
	}
	w.started = true
	if w.stopped {
		w.mu.Unlock()
		return nil
	}
	if len(w.kinds) == 0 {
		w.mu.Unlock()
		return ErrNoHandlers
	}
	hctx, cancel := context.WithCancelCause(ctx)
	done := make(chan struct{})
	w.running, w.runDone, w.cancelHandlers = true, done, cancel
	w.mu.Unlock()

	w.log.DebugContext(ctx, "worker: running", "kinds", w.kinds, "concurrency", w.concurrency, "prefetch", w.prefetch)
	completions, completed := make(chan completion, w.concurrency), make(chan struct{})
	w.completions = completions
	go w.completer(ctx, completions, completed)
	pruned := make(chan struct{})
	go w.pruner(ctx, pruned)
	w.loop(ctx, hctx)
	w.wg.Wait()
	w.putBackWaiting(ctx)
	<-pruned
	// Every handler returned: record the completions still waiting.
	w.completions = nil
	close(completions)
	<-completed
	cancel(nil)

	w.mu.Lock()
	w.running, w.cancelHandlers = false, nil
	stopped := w.stopped
	close(done)
	w.mu.Unlock()
	if stopped {
		w.log.DebugContext(ctx, "worker: shut down")
		return nil
	}
	return ctx.Err()
}

// Notify tells the worker that a job may be due now, so that an idle
// worker claims at once instead of at its next poll. It never blocks and
// costs a channel send: call it after a unit that enqueued work for this
// worker commits. Wakeups coalesce; a Notify while the worker is busy
// makes it claim again as soon as it can.
func (w *Worker) Notify() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// Shutdown stops the worker: it claims no more jobs and waits for the
// running handlers to return, recording their outcomes. If ctx ends first,
// it cancels the handlers' ctx (cause ErrShutdown) and puts back each job
// whose handler then returns an error, due at once with the attempt not
// counted, so that another worker takes it immediately; a handler that
// returns nil or ErrFinished all the same completes its job. Shutdown
// returns once Run has returned (every handler goroutine included): nil
// when every handler finished in time, ctx.Err() when they were
// cancelled. Handlers must honour ctx for it to return promptly. Calling
// Shutdown again, or before Run, is allowed; a Run after Shutdown returns
// nil at once.
func (w *Worker) Shutdown(ctx context.Context) error {
	w.mu.Lock()
	if !w.stopped {
		w.stopped = true
		close(w.stop)
	}
	running, done := w.running, w.runDone
	w.mu.Unlock()
	if !running {
		return nil
	}
	select {
	case <-done:
		return nil
	case <-ctx.Done():
	}
	w.hard.Store(true)
	w.mu.Lock()
	if w.runDone == done && w.cancelHandlers != nil {
		w.cancelHandlers(ErrShutdown)
	}
	w.mu.Unlock()
	<-done
	w.log.WarnContext(ctx, "worker: shutdown ran out of time; running jobs were cancelled and put back", "err", ctx.Err())
	return ctx.Err()
}

// MaxAttempts returns the most attempts the worker gives a job (its
// Options.MaxAttempts, or the default): the components that register
// handlers use it to give up themselves, with their own reporting, no
// later than the worker would.
func (w *Worker) MaxAttempts() int { return w.maxAttempts }

// Stats returns the worker's counters.
func (w *Worker) Stats() Stats {
	c := &w.stats
	w.qmu.Lock()
	running, waiting := w.active, len(w.waiting)
	w.qmu.Unlock()
	return Stats{
		ClaimCalls:  c.claimCalls.Load(),
		ClaimErrors: c.claimErrors.Load(),
		Claimed:     c.claimed.Load(),
		Completed:   c.completed.Load(),
		Finished:    c.finished.Load(),
		Retried:     c.retried.Load(),
		Snoozed:     c.snoozed.Load(),
		Discarded:   c.discarded.Load(),
		Panicked:    c.panicked.Load(),
		Released:    c.released.Load(),
		Dropped:     c.dropped.Load(),
		Running:     int64(running),
		Waiting:     int64(waiting),
		Pruned:      c.pruned.Load(),
	}
}

// now is the clock's time without its monotonic reading, as the store
// keeps times.
func (w *Worker) now() time.Time { return w.clock().Round(0) }

func (w *Worker) stopping(ctx context.Context) bool {
	select {
	case <-w.stop:
		return true
	default:
		return ctx.Err() != nil
	}
}

// loop claims jobs and starts their handlers until ctx ends or Shutdown.
// hctx is the parent of the handlers' contexts.
func (w *Worker) loop(ctx, hctx context.Context) {
	timer := time.NewTimer(w.poll)
	defer timer.Stop()
	var starting []task // start's buffer
	capacity := w.concurrency + w.prefetch
	backlog := false // the last claim was full: more jobs are due
	for !w.stopping(ctx) {
		room := capacity - w.held()
		if room <= 0 {
			select {
			case <-w.slotFree:
			case <-w.stop:
				return
			case <-ctx.Done():
				return
			}
			continue
		}
		if backlog && room < (capacity+1)/2 {
			// Under a backlog every returned slot would cost a claim (a
			// unit of work, a commit) of one job: wait a little for more
			// room, so that one claim fills several.
			if !w.coalesce(ctx, timer, capacity) {
				return
			}
			room = capacity - w.held()
		}
		n := min(room, store.MaxPageLimit)
		w.clearDue(w.now())
		w.stats.claimCalls.Add(1)
		jobs, err := w.db.Claim(ctx, w.kinds, n, w.lease)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			w.stats.claimErrors.Add(1)
			w.log.ErrorContext(ctx, "worker: claiming jobs failed; trying again after the poll interval", "err", err, "poll_interval", w.poll)
			timer.Reset(w.poll)
			select {
			case <-timer.C:
			case <-w.stop:
				return
			case <-ctx.Done():
				return
			}
			continue
		}
		w.stats.claimed.Add(int64(len(jobs)))
		if w.stopping(ctx) {
			w.putBack(ctx, jobs)
			return
		}
		starting = w.start(ctx, hctx, jobs, starting[:0])
		if backlog = len(jobs) == n; backlog {
			continue // a full batch: more may be due
		}
		if !w.idle(ctx, timer) {
			return
		}
	}
}

// start hands claimed jobs to runners while slots are free and queues the
// rest for the runners to take as their handlers return. buf is a buffer
// for the jobs started; start returns it.
func (w *Worker) start(ctx, hctx context.Context, jobs []*store.Job, buf []task) []task {
	var unknown []*store.Job // of a kind without a handler
	w.qmu.Lock()
	for _, j := range jobs {
		h := w.handlers[j.Kind]
		if h == nil {
			unknown = append(unknown, j)
			continue
		}
		if w.active < w.concurrency {
			w.active++
			buf = append(buf, task{h, j})
		} else {
			w.waiting = append(w.waiting, task{h, j})
		}
	}
	w.qmu.Unlock()
	for i, t := range buf {
		w.dispatch(ctx, hctx, t)
		buf[i] = task{}
	}
	if len(unknown) > 0 { // a driver that returned a kind not asked for
		for _, j := range unknown {
			w.log.ErrorContext(ctx, "worker: claimed a job of a kind without a handler; putting it back", "job", j.ID, "kind", j.Kind)
		}
		w.putBack(ctx, unknown)
	}
	return buf
}

// held is how many jobs the worker holds: running, or claimed and
// waiting for a slot.
func (w *Worker) held() int {
	w.qmu.Lock()
	defer w.qmu.Unlock()
	return w.active + len(w.waiting)
}

// next gives the runner whose handler returned the next waiting job, or,
// when none waits or the worker is stopping, frees its slot. A job that
// waited half its lease is put back instead: another worker may claim it
// before it could finish.
func (w *Worker) next(ctx context.Context) (task, bool) {
	for {
		w.qmu.Lock()
		if len(w.waiting) == 0 || w.stopping(ctx) {
			w.qmu.Unlock()
			w.freeSlot()
			return task{}, false
		}
		t := w.waiting[0]
		w.waiting[0] = task{}
		w.waiting = w.waiting[1:]
		w.qmu.Unlock()
		w.signalRoom()
		if t.j.LeaseUntil.Sub(w.now()) >= w.lease/2 {
			return t, true
		}
		w.release(ctx, w.jobLog(t.j), t.j)
	}
}

// freeSlot returns the slot of a runner whose handler returned.
func (w *Worker) freeSlot() {
	w.qmu.Lock()
	w.active--
	w.qmu.Unlock()
	w.signalRoom()
}

// signalRoom tells the loop that the worker holds one job fewer.
func (w *Worker) signalRoom() {
	select {
	case w.slotFree <- struct{}{}:
	default:
	}
}

// putBackWaiting, once every runner has returned, puts back the jobs
// still waiting for a slot; when ctx ended (the worker stops as a process
// that dies) they are left to their leases, as running jobs are.
func (w *Worker) putBackWaiting(ctx context.Context) {
	w.qmu.Lock()
	ts := w.waiting
	w.waiting = nil
	w.qmu.Unlock()
	if ctx.Err() != nil {
		w.stats.dropped.Add(int64(len(ts)))
		return
	}
	jobs := make([]*store.Job, len(ts))
	for i, t := range ts {
		jobs[i] = t.j
	}
	w.putBack(ctx, jobs)
}

// claimCoalesce bounds how long the worker, under a backlog, waits for
// room for half the jobs it may hold before it claims for what room
// there is.
const claimCoalesce = 2 * time.Millisecond

// coalesce waits until the worker holds at most half of capacity jobs or
// claimCoalesce has passed. It reports false when the worker is stopping.
func (w *Worker) coalesce(ctx context.Context, timer *time.Timer, capacity int) bool {
	timer.Reset(claimCoalesce)
	for capacity-w.held() < (capacity+1)/2 {
		select {
		case <-w.slotFree:
		case <-timer.C:
			return true
		case <-w.stop:
			return false
		case <-ctx.Done():
			return false
		}
	}
	timer.Stop()
	return true
}

// idle waits for the poll interval, a Notify or the earliest due time this
// worker set. It reports false when the worker is stopping.
func (w *Worker) idle(ctx context.Context, timer *time.Timer) bool {
	for {
		d := w.poll
		var target time.Time
		w.soonMu.Lock()
		if len(w.wakeups) > 0 {
			target = w.wakeups[0]
			d = min(d, max(target.Sub(w.now()), 0))
		}
		w.soonMu.Unlock()
		timer.Reset(d)
		select {
		case <-timer.C:
			// Forget the due time waited for even if the clock (a test's)
			// does not show it yet, so that it is not waited for again.
			w.clearDue(target)
			return true
		case <-w.wake:
			return w.gather(ctx, timer)
		case <-w.resched:
		case <-w.stop:
			return false
		case <-ctx.Done():
			return false
		}
	}
}

// gather waits the notify delay after a Notify woke the idle worker, then
// forgets the Notify calls made in the meantime: the claim that follows
// takes their jobs. It reports false when the worker is stopping.
func (w *Worker) gather(ctx context.Context, timer *time.Timer) bool {
	if w.notifyDelay < 0 {
		return true
	}
	timer.Reset(w.notifyDelay)
	select {
	case <-timer.C:
	case <-w.stop:
		return false
	case <-ctx.Done():
		return false
	}
	select {
	case <-w.wake:
	default:
	}
	return true
}

// maxWakeups bounds the due times a worker keeps to wake at; beyond them
// the latest are left to the poll.
const maxWakeups = 128

// wakeAt makes an idle worker claim at t, when t comes before its next
// poll.
func (w *Worker) wakeAt(t time.Time) {
	if t.Sub(w.now()) >= w.poll {
		return
	}
	w.soonMu.Lock()
	i, found := slices.BinarySearchFunc(w.wakeups, t, time.Time.Compare)
	added := !found && i < maxWakeups
	if added {
		w.wakeups = slices.Insert(w.wakeups, i, t)
		if len(w.wakeups) > maxWakeups {
			w.wakeups = w.wakeups[:maxWakeups]
		}
	}
	w.soonMu.Unlock()
	if added && i == 0 {
		select {
		case w.resched <- struct{}{}:
		default:
		}
	}
}

// clearDue forgets the due times up to t (that have come, or that the
// worker waited for): the claim about to run takes their jobs.
func (w *Worker) clearDue(t time.Time) {
	w.soonMu.Lock()
	i, found := slices.BinarySearchFunc(w.wakeups, t, time.Time.Compare)
	if found {
		i++
	}
	w.wakeups = slices.Delete(w.wakeups, 0, i)
	w.soonMu.Unlock()
}

// putBack puts jobs claimed but not run back, due now (the attempt not
// counted), in one unit of work (one commit for all); when that unit
// fails (a job among them whose lease another claimer holds now, a store
// error), each job on its own, so that the others still go back.
func (w *Worker) putBack(ctx context.Context, jobs []*store.Job) {
	if len(jobs) > 1 {
		now := w.now()
		err := w.db.Update(ctx, func(tx *store.Tx) error {
			for _, j := range jobs {
				if err := tx.Snooze(ctx, j, now); err != nil {
					return err
				}
			}
			return nil
		})
		if err == nil {
			w.stats.released.Add(int64(len(jobs)))
			w.log.DebugContext(ctx, "worker: jobs put back unfinished", "jobs", len(jobs))
			return
		}
		w.log.DebugContext(ctx, "worker: putting jobs back together failed; one by one", "jobs", len(jobs), "err", err)
	}
	for _, j := range jobs {
		w.release(ctx, w.jobLog(j), j)
	}
}

func (w *Worker) release(ctx context.Context, log *slog.Logger, j *store.Job) {
	if w.record(ctx, log, "release", func() error { return w.db.Snooze(ctx, j, w.now()) }) {
		w.stats.released.Add(1)
		log.DebugContext(ctx, "worker: job put back unfinished")
	}
}

// task is a claimed job and its handler.
type task struct {
	h Handler
	j *store.Job
}

// runnerIdle is how long a runner waits for another job before it ends.
const runnerIdle = 5 * time.Second

// dispatch runs t on a runner: one that is idle, else a new one. Runners
// outlive their jobs, so that a job starts on a goroutine whose stack has
// already grown to what jobs need, instead of growing a new one every
// time; they end when idle for runnerIdle, or when the worker stops.
func (w *Worker) dispatch(ctx, hctx context.Context, t task) {
	select {
	case w.tasks <- t:
	default:
		w.wg.Go(func() { w.runner(ctx, hctx, t) })
	}
}

// runner runs t, and the jobs given to it after, each holding a slot.
func (w *Worker) runner(ctx, hctx context.Context, t task) {
	idle := time.NewTimer(runnerIdle)
	defer idle.Stop()
	holding := true
	defer func() {
		if holding { // the handler ended the goroutine (runtime.Goexit)
			w.freeSlot()
		}
	}()
	for {
		w.work(ctx, hctx, t.h, t.j)
		var ok bool
		if t, ok = w.next(ctx); ok {
			continue
		}
		holding = false
		idle.Reset(runnerIdle)
		select {
		case t = <-w.tasks:
			holding = true
		case <-idle.C:
			return
		case <-w.stop:
			return
		case <-ctx.Done():
			return
		}
	}
}

// work runs one claimed job.
func (w *Worker) work(ctx, hctx context.Context, h Handler, j *store.Job) {
	log := w.jobLog(j)
	jctx, cancel := context.WithCancelCause(hctx)
	defer cancel(nil)

	lease := *j // the renewals' copy: ExtendLease writes LeaseUntil
	r := w.renew(ctx, log, &lease, cancel)
	start := time.Now()
	err := func() error {
		// Stop renewing even when the handler exits its goroutine
		// (runtime.Goexit); wait for a renewal in progress so that it
		// never races with the outcome.
		defer r.stop()
		return w.call(jctx, log, h, j)
	}()
	w.finish(ctx, jctx, log, j, err, time.Since(start))
}

// jobLog is the worker's logger with the job's id, kind and attempt on
// every record. They are added when a record is written, not formatted
// up front as Logger.With would: most jobs log nothing.
func (w *Worker) jobLog(j *store.Job) *slog.Logger {
	return slog.New(&jobHandler{inner: w.log.Handler(), job: j.ID, kind: j.Kind, attempt: j.Attempt})
}

// jobHandler adds a job's attributes to the records it passes on.
type jobHandler struct {
	inner   slog.Handler
	job     int64
	kind    string
	attempt int
}

func (h *jobHandler) Enabled(ctx context.Context, l slog.Level) bool { return h.inner.Enabled(ctx, l) }

func (h *jobHandler) Handle(ctx context.Context, r slog.Record) error {
	out := slog.NewRecord(r.Time, r.Level, r.Message, r.PC)
	out.AddAttrs(h.attrs()...)
	r.Attrs(func(a slog.Attr) bool { out.AddAttrs(a); return true })
	return h.inner.Handle(ctx, out)
}

func (h *jobHandler) attrs() []slog.Attr {
	return []slog.Attr{slog.Int64("job", h.job), slog.String("kind", h.kind), slog.Int("attempt", h.attempt)}
}

func (h *jobHandler) WithAttrs(as []slog.Attr) slog.Handler {
	c := *h
	c.inner = h.inner.WithAttrs(as)
	return &c
}

// WithGroup keeps the job's attributes outside the group, as Logger.With
// would have.
func (h *jobHandler) WithGroup(name string) slog.Handler {
	return h.inner.WithAttrs(h.attrs()).WithGroup(name)
}

// call runs h, turning a panic into the error of a failed attempt.
func (w *Worker) call(ctx context.Context, log *slog.Logger, h Handler, j *store.Job) (err error) {
	defer func() {
		if v := recover(); v != nil {
			w.stats.panicked.Add(1)
			log.ErrorContext(ctx, "worker: handler panicked", "panic", v, "stack", string(debug.Stack()))
			err = &panicError{value: v}
		}
	}()
	return h(ctx, j)
}

// renewal extends the lease of a running job every half lease, from a
// timer: no goroutine runs for it until a renewal is due, and most jobs
// end before.
type renewal struct {
	w      *Worker
	ctx    context.Context
	log    *slog.Logger
	j      *store.Job
	cancel context.CancelCauseFunc

	mu      sync.Mutex
	t       *time.Timer
	stopped bool
	busy    chan struct{} // closed when the renewal in progress ends; nil if none
}

// renew starts renewing the lease of j until stop. It cancels the handler
// when the lease is lost, or when it ends before a renewal succeeds.
func (w *Worker) renew(ctx context.Context, log *slog.Logger, j *store.Job, cancel context.CancelCauseFunc) *renewal {
	r := &renewal{w: w, ctx: ctx, log: log, j: j, cancel: cancel}
	r.mu.Lock()
	r.t = time.AfterFunc(w.lease/2, r.fire)
	r.mu.Unlock()
	return r
}

// stop ends the renewals, waiting for one in progress.
func (r *renewal) stop() {
	r.mu.Lock()
	r.stopped = true
	r.t.Stop()
	busy := r.busy
	r.mu.Unlock()
	if busy != nil {
		<-busy
	}
}

func (r *renewal) fire() {
	r.mu.Lock()
	if r.stopped || r.ctx.Err() != nil {
		r.mu.Unlock()
		return
	}
	busy := make(chan struct{})
	r.busy = busy
	r.mu.Unlock()
	next := r.extend()
	r.mu.Lock()
	if next > 0 && !r.stopped {
		r.t.Reset(next)
	}
	r.busy = nil
	r.mu.Unlock()
	close(busy)
}

// extend renews the lease once and returns when to renew it next (0:
// never again).
func (r *renewal) extend() time.Duration {
	w, ctx, log, j := r.w, r.ctx, r.log, r.j
	interval := w.lease / 2
	err := w.db.ExtendLease(ctx, j, w.lease)
	switch {
	case err == nil:
		return interval
	case errors.Is(err, store.ErrLeaseLost):
		log.WarnContext(ctx, "worker: lease lost while the handler ran; cancelling it, its result will be dropped", "err", err)
		r.cancel(err)
		return 0
	case ctx.Err() != nil:
		return 0
	}
	left := j.LeaseUntil.Sub(w.now())
	if left <= 0 {
		log.ErrorContext(ctx, "worker: lease ended before it could be renewed; cancelling the handler", "err", err)
		r.cancel(fmt.Errorf("worker: lease of job %d ended before it could be renewed: %w", j.ID, err))
		return 0
	}
	log.WarnContext(ctx, "worker: renewing the lease failed; trying again", "err", err, "lease_left", left)
	return min(interval, max(left/4, time.Millisecond))
}

// finish records the outcome of the attempt.
func (w *Worker) finish(ctx, jctx context.Context, log *slog.Logger, j *store.Job, err error, took time.Duration) {
	if cause := context.Cause(jctx); errors.Is(cause, store.ErrLeaseLost) {
		w.stats.dropped.Add(1)
		log.DebugContext(ctx, "worker: result dropped: the lease was lost", "err", err)
		return
	}
	if ctx.Err() != nil {
		w.stats.dropped.Add(1)
		log.DebugContext(ctx, "worker: stopped before recording the outcome; the job runs again when its lease ends", "err", err)
		return
	}
	if errors.Is(err, ErrFinished) {
		w.stats.finished.Add(1)
		log.DebugContext(ctx, "worker: job finished by its handler", "took", took)
		return
	}
	forget := errors.Is(err, errForget)
	if forget {
		err = nil
	}
	if err != nil && w.hard.Load() {
		w.release(ctx, log, j)
		return
	}

	var (
		disc   *discardError
		retry  *retryError
		snooze *snoozeError
	)
	switch {
	case err == nil:
		w.complete(ctx, log, j, took, forget)
	case errors.As(err, &disc):
		w.discardWith(ctx, log, j, err.Error(), disc.with)
	case errors.As(err, &snooze):
		at := snooze.until
		if at.IsZero() {
			at = w.now().Add(snooze.d)
		}
		if w.record(ctx, log, "snooze", func() error { return w.db.Snooze(ctx, j, at) }) {
			w.stats.snoozed.Add(1)
			log.DebugContext(ctx, "worker: job snoozed", "until", at, "took", took)
			w.wakeAt(at)
		}
	case errors.As(err, &retry):
		w.fail(ctx, log, j, err, func() time.Time { return retry.at }, took)
	default:
		w.fail(ctx, log, j, err, func() time.Time { return w.now().Add(max(w.backoff(j.Attempt), 0)) }, took)
	}
}

// fail records a failed attempt: a retry at next(), or the discard of the
// job after its last attempt.
func (w *Worker) fail(ctx context.Context, log *slog.Logger, j *store.Job, err error, next func() time.Time, took time.Duration) {
	if j.Attempt >= w.maxAttempts {
		w.discard(ctx, log, j, err.Error())
		return
	}
	at := next()
	if at.IsZero() {
		at = w.now()
	}
	if w.record(ctx, log, "retry", func() error { return w.db.Retry(ctx, j, at, err) }) {
		w.stats.retried.Add(1)
		log.WarnContext(ctx, "worker: job failed; retrying", "err", err, "retry_at", at, "took", took)
		w.wakeAt(at)
	}
}

func (w *Worker) discard(ctx context.Context, log *slog.Logger, j *store.Job, reason string) {
	w.discardWith(ctx, log, j, reason, nil)
}

// discardWith discards j, running with (if not nil) in the same unit.
func (w *Worker) discardWith(ctx context.Context, log *slog.Logger, j *store.Job, reason string, with func(context.Context, *store.Tx) error) {
	if !w.record(ctx, log, "discard", func() error {
		return w.db.Update(ctx, func(tx *store.Tx) error {
			if with != nil {
				if err := with(ctx, tx); err != nil {
					return err
				}
			}
			return tx.Discard(ctx, j, reason)
		})
	}) {
		return
	}
	w.stats.discarded.Add(1)
	log.WarnContext(ctx, "worker: job discarded", "reason", reason, "max_attempts", w.maxAttempts)
	if w.onDiscard == nil {
		return
	}
	dead := *j
	dead.State, dead.LastError, dead.Finished, dead.LeaseUntil = store.JobDiscarded, reason, w.now(), time.Time{}
	defer func() {
		if v := recover(); v != nil {
			log.ErrorContext(ctx, "worker: OnDiscard panicked", "panic", v, "stack", string(debug.Stack()))
		}
	}()
	w.onDiscard(&dead, reason)
}

// recordTries is how many times an outcome is written before the worker
// gives up on it (and the job's lease ends).
const recordTries = 3

// record runs the store call fn that writes an outcome, trying again after
// a failure of the store. ErrLeaseLost is dropped at debug level. It
// reports whether the outcome was written.
func (w *Worker) record(ctx context.Context, log *slog.Logger, what string, fn func() error) bool {
	delay := 50 * time.Millisecond
	for try := 1; ; try++ {
		err := fn()
		switch {
		case err == nil:
			return true
		case errors.Is(err, store.ErrLeaseLost):
			w.stats.dropped.Add(1)
			log.DebugContext(ctx, "worker: outcome dropped: another claimer holds the job", "outcome", what, "err", err)
			return false
		case try == recordTries || ctx.Err() != nil:
			w.stats.dropped.Add(1)
			log.ErrorContext(ctx, "worker: recording the outcome failed; the job runs again when its lease ends", "outcome", what, "err", err)
			return false
		}
		log.WarnContext(ctx, "worker: recording the outcome failed; trying again", "outcome", what, "err", err, "retry_in", delay)
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
		}
		delay *= 2
	}
}
