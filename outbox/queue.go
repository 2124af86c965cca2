package outbox

import (
	"container/heap"
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/slothpub/slothpub/ap"
)

// DefaultBackoff waits 30s·4^(attempt-1), ±25% jitter, at most 6h: retries
// after about 30s, 2m, 8m, 32m... so a server that is down for an upgrade
// gets the activity when it is back, and a dead one is not hammered.
func DefaultBackoff(attempt int) time.Duration {
	d := 30 * time.Second
	for i := 1; i < attempt && d < 6*time.Hour; i++ {
		d *= 4
	}
	d = min(d, 6*time.Hour)
	jitter := time.Duration(rand.Int64N(int64(d/2))) - d/4
	return d + jitter
}

// queue holds deliveries: ready ones in FIFO order and retries in a heap
// by due time. It is bounded by capacity over both.
type queue struct {
	mu       sync.Mutex
	capacity int
	clock    func() time.Time
	ready    []*Delivery
	later    retryHeap
	inflight int
	wake     chan struct{} // signalled when work arrives or becomes due
	idle     chan struct{} // closed while the queue is empty and nothing is in flight
}

func newQueue(capacity int, clock func() time.Time) *queue {
	q := &queue{capacity: capacity, clock: clock, wake: make(chan struct{}, 1), idle: make(chan struct{})}
	close(q.idle)
	return q
}

func (q *queue) size() int { return len(q.ready) + len(q.later) + q.inflight }

func (q *queue) push(ds ...*Delivery) bool {
	if len(ds) == 0 {
		return true
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.size()+len(ds) > q.capacity {
		return false
	}
	q.markBusy()
	q.ready = append(q.ready, ds...)
	q.signal()
	return true
}

func (q *queue) markBusy() {
	if q.size() == 0 {
		q.idle = make(chan struct{})
	}
}

func (q *queue) signal() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// next returns a delivery that is due, or nil and how long until the
// earliest retry is due (0 when there is none).
func (q *queue) next() (*Delivery, time.Duration) {
	q.mu.Lock()
	defer q.mu.Unlock()
	now := q.clock()
	for len(q.later) > 0 && !q.later[0].due.After(now) {
		q.ready = append(q.ready, heap.Pop(&q.later).(*retry).d)
	}
	if len(q.ready) > 0 {
		d := q.ready[0]
		q.ready[0] = nil
		q.ready = q.ready[1:]
		q.inflight++
		return d, 0
	}
	if len(q.later) > 0 {
		return nil, q.later[0].due.Sub(now)
	}
	return nil, 0
}

// done finishes an in-flight delivery, rescheduling it at due if retry.
func (q *queue) done(d *Delivery, again bool, due time.Time) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.inflight--
	if again {
		heap.Push(&q.later, &retry{d: d, due: due})
		q.signal()
	}
	if q.size() == 0 {
		close(q.idle)
	}
}

func (q *queue) idleChan() chan struct{} {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.idle
}

type retry struct {
	d   *Delivery
	due time.Time
}

type retryHeap []*retry

func (h retryHeap) Len() int           { return len(h) }
func (h retryHeap) Less(i, j int) bool { return h[i].due.Before(h[j].due) }
func (h retryHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *retryHeap) Push(x any)        { *h = append(*h, x.(*retry)) }
func (h *retryHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return x
}

// Run delivers queued activities with Options.Workers workers until ctx
// ends, then returns ctx's error once every worker has stopped. Deliveries
// in flight when ctx ends are cancelled and stay queued for a later Run.
func (o *Outbox) Run(ctx context.Context) error {
	work := make(chan *Delivery)
	var wg sync.WaitGroup
	for range o.opts.Workers {
		wg.Go(func() {
			for d := range work {
				o.deliver(ctx, d)
			}
		})
	}
	o.dispatch(ctx, work)
	close(work)
	wg.Wait()
	return ctx.Err()
}

// dispatch hands due deliveries to the workers until ctx ends.
func (o *Outbox) dispatch(ctx context.Context, work chan<- *Delivery) {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		d, wait := o.q.next()
		if d != nil {
			select {
			case work <- d:
				continue
			case <-ctx.Done():
				o.q.done(d, true, o.opts.Clock())
				return
			}
		}
		var due <-chan time.Time
		if wait > 0 {
			timer.Reset(wait)
			due = timer.C
		}
		select {
		case <-ctx.Done():
			return
		case <-o.q.wake:
		case <-due:
		}
	}
}

func (o *Outbox) deliver(ctx context.Context, d *Delivery) {
	from, err := o.actors.Get(ctx, d.From)
	if err == nil {
		err = o.post(ctx, d.Inbox, d.Body, from.Signer())
	}
	if ctx.Err() != nil {
		// Shutting down: keep the delivery for the next Run, attempt not counted.
		o.q.done(d, true, o.opts.Clock())
		return
	}
	d.Attempts++
	if err == nil {
		o.log.Debug("outbox: delivered", "activity", d.Activity, "inbox", d.Inbox.String())
		o.q.done(d, false, time.Time{})
		return
	}
	var re *ap.RemoteError
	permanent := errors.As(err, &re) && re.Permanent()
	if permanent || d.Attempts >= o.opts.MaxAttempts {
		o.log.Warn("outbox: delivery failed for good", "activity", d.Activity, "inbox", d.Inbox.String(), "attempts", d.Attempts, "err", err)
		if o.opts.OnPermanentFailure != nil {
			o.opts.OnPermanentFailure(*d, err)
		}
		o.q.done(d, false, time.Time{})
		return
	}
	due := o.opts.Clock().Add(o.opts.Backoff(d.Attempts))
	o.log.Info("outbox: delivery will be retried", "activity", d.Activity, "inbox", d.Inbox.String(), "attempts", d.Attempts, "due", due, "err", err)
	o.q.done(d, true, due)
}

// Wait blocks until no delivery is queued, scheduled for retry or in flight,
// or ctx ends. Tests use it to let a federation settle.
func (o *Outbox) Wait(ctx context.Context) error {
	select {
	case <-o.q.idleChan():
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Pending returns the number of deliveries queued, awaiting retry or in
// flight.
func (o *Outbox) Pending() int {
	o.q.mu.Lock()
	defer o.q.mu.Unlock()
	return o.q.size()
}
