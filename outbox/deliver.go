package outbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/slothpub/slothpub/actor"
	"github.com/slothpub/slothpub/ap"
	"github.com/slothpub/slothpub/store"
	"github.com/slothpub/slothpub/store/worker"
)

// DefaultBackoff is Mastodon's retry schedule (Sidekiq's): after failed
// attempt n it waits n⁴ + 15 + rand(10)·(n+1) seconds, so that the 16
// attempts of DefaultMaxAttempts span about two days: a server down for
// an upgrade gets the activity when it is back, and a dead one is not
// hammered.
func DefaultBackoff(attempt int) time.Duration {
	n := int64(max(attempt, 1))
	s := n*n*n*n + 15 + rand.Int64N(10)*(n+1)
	return time.Duration(s) * time.Second
}

// Prefixes of the reason a discarded delivery keeps, which DeliveryStatus
// reads back.
const (
	reasonFailed = "failed: " // refused for good by the peer
	reasonDead   = "dead: "   // out of attempts
	reasonGone   = "gone: "   // the inbox answered 410
)

// deliverJob makes one delivery: it waits for the delivery before it in
// its inbox's order, for the host's breaker and for a slot among the
// host's deliveries in flight (each without using an attempt), then POSTs
// the stored activity, signed by its sender, and classifies the outcome.
func (o *Outbox) deliverJob(ctx context.Context, j *store.Job) error {
	var d delivery
	if err := json.Unmarshal(j.Payload, &d); err != nil {
		return worker.Discard(fmt.Errorf("outbox: unreadable delivery payload: %v", err))
	}
	if d.Activity == "" {
		var ok bool
		if d.Activity, d.Inbox, ok = fromDeliveryKey(j.UniqueKey); !ok {
			return worker.Discard(fmt.Errorf("outbox: delivery job without an activity and an inbox (unique key %q)", j.UniqueKey))
		}
	}
	inbox, err := url.Parse(d.Inbox)
	if err != nil || inbox.Host == "" {
		return o.discard(d, reasonFailed, fmt.Errorf("outbox: bad inbox %q", d.Inbox))
	}
	if wait, err := o.waitForPrevious(ctx, d); err != nil || wait != nil {
		if err != nil {
			return err
		}
		return wait
	}
	host := strings.ToLower(inbox.Host)
	now := o.opts.Clock()
	until, probe, ok := o.hosts.admit(host, now)
	if !ok {
		return worker.SnoozeUntil(until)
	}
	defer o.hosts.release(host)
	from, act, err := o.load(ctx, d)
	if worker.IsPermanent(err) {
		err = o.discard(d, reasonFailed, err)
	}
	if err != nil {
		if probe {
			// No POST, so no outcome to close or reopen the breaker
			// with: let the next delivery probe.
			o.hosts.abandon(host)
		}
		return err
	}
	err = o.post(ctx, inbox, act.Data, from.Signer())
	if ctx.Err() != nil {
		if probe {
			o.hosts.abandon(host)
		}
		return ctx.Err() // shutting down or lease lost: the job is released
	}
	now = o.opts.Clock()
	if err == nil {
		o.hosts.succeeded(host)
		o.log.DebugContext(ctx, "outbox: delivered", "activity", d.Activity, "inbox", d.Inbox, "attempt", j.Attempt)
		if o.opts.ForgetSent {
			return worker.Forget()
		}
		return nil
	}
	dl := Delivery{Activity: d.Activity, Inbox: inbox, From: d.From, Attempts: j.Attempt}
	var re *ap.RemoteError
	if errors.As(err, &re) && re.Permanent() {
		o.hosts.refused(host)
		o.log.WarnContext(ctx, "outbox: delivery refused", "activity", d.Activity, "inbox", d.Inbox, "status", re.StatusCode)
		reason := reasonFailed
		var markGone func(context.Context, *store.Tx) error
		if re.StatusCode == http.StatusGone {
			reason = reasonGone
			// A shared inbox serves every actor of its server: its 410
			// says nothing of the others, so only a personal inbox is
			// marked gone.
			if d.Personal {
				markGone = func(ctx context.Context, tx *store.Tx) error {
					return ignoreExists(tx.AddItem(ctx, store.GoneInboxesCollection, d.Inbox))
				}
			}
		}
		o.permanentFailure(dl, err)
		return o.discardWith(d, reason, err, markGone)
	}
	o.hosts.failed(host, now)
	if j.Attempt >= o.opts.MaxAttempts {
		o.log.WarnContext(ctx, "outbox: delivery given up", "activity", d.Activity, "inbox", d.Inbox, "attempts", j.Attempt, "err", err)
		o.permanentFailure(dl, err)
		return o.discard(d, reasonDead, err)
	}
	at := now.Add(o.opts.Backoff(j.Attempt))
	if re != nil && (re.StatusCode == http.StatusTooManyRequests || re.StatusCode == http.StatusServiceUnavailable) {
		if ra, ok := retryAfter(re.Header.Get("Retry-After"), now); ok {
			at = ra
		}
	}
	o.log.InfoContext(ctx, "outbox: delivery will be retried", "activity", d.Activity, "inbox", d.Inbox, "attempt", j.Attempt, "at", at, "err", err)
	return worker.RetryAt(at, err)
}

// discard is the outcome of d failed for good, for reason (reasonFailed,
// reasonDead, reasonGone): its job is discarded with reason and err as its
// LastError, and in the same unit the failure is recorded in the
// activity's FailedDeliveriesCollection, for its status after the job is
// gone.
func (o *Outbox) discard(d delivery, reason string, err error) error {
	return o.discardWith(d, reason, err, nil)
}

// discardWith is discard with more writes in its unit: also's (if not nil).
func (o *Outbox) discardWith(d delivery, reason string, err error, also func(context.Context, *store.Tx) error) error {
	return worker.DiscardWith(errors.New(reason+err.Error()), func(ctx context.Context, tx *store.Tx) error {
		if also != nil {
			if err := also(ctx, tx); err != nil {
				return err
			}
		}
		return ignoreExists(tx.AddItem(ctx, store.FailedDeliveriesCollection(d.Activity), failureItem(reason, d.Inbox)))
	})
}

// failureItem is the member of a FailedDeliveriesCollection that records
// a failure for reason to inbox: "failed <inbox>", "dead <inbox>", "gone
// <inbox>".
func failureItem(reason, inbox string) string { return strings.TrimSuffix(reason, ": ") + " " + inbox }

// load reads the sender and the stored activity of d; a missing one
// discards the delivery.
func (o *Outbox) load(ctx context.Context, d delivery) (*actor.Actor, *store.Object, error) {
	from, err := o.actors.Get(ctx, d.From)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil, worker.Discard(err)
	} else if err != nil {
		return nil, nil, err
	}
	if body, ok := o.bodies.get(d.Activity); ok {
		return from, &store.Object{IRI: d.Activity, Data: body}, nil
	}
	act, err := o.db.GetObject(ctx, d.Activity)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil, worker.Discard(err)
	} else if err != nil {
		return nil, nil, err
	}
	o.bodies.put(d.Activity, act.Data)
	return from, act, nil
}

// bodyCache keeps the bodies of the activities delivered last: the
// deliveries of one fan-out all POST the same stored activity, which is
// then read from the store once, not once per inbox. An activity is not
// changed once posted (an Update is an activity of its own), so a cached
// body is the stored one. It is bounded in entries and bytes; the oldest
// entry goes first.
type bodyCache struct {
	mu    sync.Mutex
	m     map[string][]byte
	order []string // keys, oldest first
	bytes int
}

const (
	bodyCacheEntries = 32
	bodyCacheBytes   = 4 << 20
	bodyCacheMax     = 256 << 10 // a larger body is not cached
)

func (c *bodyCache) get(activity string) ([]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	b, ok := c.m[activity]
	return b, ok
}

// put caches body, which the caller no longer changes.
func (c *bodyCache) put(activity string, body []byte) {
	if len(body) > bodyCacheMax {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.m[activity]; ok {
		return
	}
	if c.m == nil {
		c.m = make(map[string][]byte)
	}
	for len(c.order) > 0 && (len(c.order) >= bodyCacheEntries || c.bytes+len(body) > bodyCacheBytes) {
		old := c.order[0]
		c.order = c.order[1:]
		c.bytes -= len(c.m[old])
		delete(c.m, old)
	}
	c.m[activity] = body
	c.order = append(c.order, activity)
	c.bytes += len(body)
}

// maxRetryAfter caps what a peer's Retry-After may ask for.
const maxRetryAfter = 24 * time.Hour

// retryAfter parses a Retry-After value, in seconds or an HTTP date, as
// a time from now, capped at maxRetryAfter.
func retryAfter(v string, now time.Time) (time.Time, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return time.Time{}, false
	}
	var at time.Time
	if s, err := strconv.ParseInt(v, 10, 64); err == nil {
		if s < 0 {
			return time.Time{}, false
		}
		at = now.Add(time.Duration(min(s, int64(maxRetryAfter/time.Second))) * time.Second)
	} else if t, err := http.ParseTime(v); err == nil {
		at = t
	} else {
		return time.Time{}, false
	}
	if at.Before(now) {
		at = now
	}
	if at.After(now.Add(maxRetryAfter)) {
		at = now.Add(maxRetryAfter)
	}
	return at, true
}

func (o *Outbox) permanentFailure(d Delivery, err error) {
	if o.opts.OnPermanentFailure != nil {
		o.opts.OnPermanentFailure(d, err)
	}
}

// orderWait is how long a delivery waits before it looks again at the
// delivery it must follow, while that one is pending or in flight;
// fanoutOrderWait the same for a fan-out and the fan-out before it.
const (
	orderWait       = 500 * time.Millisecond
	fanoutOrderWait = 100 * time.Millisecond
)

// waitForPrevious returns a snooze outcome while the delivery enqueued
// before d to the same inbox with the same order key is not done: d then
// waits for it (until its next attempt when it is waiting for a retry),
// without using an attempt.
func (o *Outbox) waitForPrevious(ctx context.Context, d delivery) (error, error) {
	if d.After != 0 {
		return o.waitForJob(ctx, d.After, orderWait)
	}
	for _, act := range d.Prev {
		jobs, err := o.db.Jobs(ctx, store.JobQuery{Kinds: []string{DeliverKind}, UniqueKey: deliveryKey(act, d.Inbox), Limit: 1})
		if err != nil {
			return nil, err
		}
		if len(jobs) == 0 {
			continue // none to this inbox, or pruned: long done
		}
		if wait := o.waitFor(jobs[0], orderWait); wait != nil {
			return wait, nil
		}
	}
	return nil, nil
}

// waitForJob returns a snooze outcome while the job id (0: none) is not
// done (see waitFor).
func (o *Outbox) waitForJob(ctx context.Context, id int64, wait time.Duration) (error, error) {
	if id == 0 {
		return nil, nil
	}
	prev, err := o.db.GetJob(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil // pruned: long done
	} else if err != nil {
		return nil, err
	}
	return o.waitFor(prev, wait), nil
}

// waitFor returns a snooze outcome while prev is not done: until its due
// time when that is later than wait from now, else for wait; nil once it
// is done.
func (o *Outbox) waitFor(prev *store.Job, wait time.Duration) error {
	switch prev.State {
	case store.JobCompleted, store.JobDiscarded:
		return nil
	case store.JobRetryable, store.JobAvailable:
		if now := o.opts.Clock(); prev.RunAt.After(now.Add(wait)) {
			return worker.SnoozeUntil(prev.RunAt.Add(wait))
		}
	}
	return worker.Snooze(wait)
}

// fanoutOrderKey names the value that holds the order chain of an order
// key (see fanout.Order): an orderChain, or, as versions before it wrote,
// the id of the last fan-out job alone.
func fanoutOrderKey(order string) string { return "slothpub:fanout-order:" + order }

// orderChain is the last fan-out job enqueued with an order key and the
// activities posted with it, newest first.
type orderChain struct {
	Job  int64    `json:"job"`
	Acts []string `json:"acts,omitempty"`
}

// maxOrderChain is how many earlier activities a delivery waits for: an
// Update waits for the Create, a Delete for the last Updates and the
// Create.
const maxOrderChain = 8

// orderedFanout is the payload of a fan-out job as PostTx enqueues it:
// the fan-out, and the fan-out job enqueued before it with the same order
// key, which it waits for.
type orderedFanout struct {
	fanout
	After int64 `json:"after,omitempty"`
}

// enqueueFanout enqueues the fan-out f in tx, after the fan-out of the
// activity posted before it with the same order key (the Create of a
// note before its Update and its Delete, a Like before its Undo). Each
// delivery waits for the deliveries to its inbox of the activities posted
// before with the key (fanout.Prev); waiting for the fan-out before makes
// sure those are queued when the deliveries that wait for them are, and
// lets an Update or Delete read the whole reach of its object.
func (o *Outbox) enqueueFanout(ctx context.Context, tx *store.Tx, f fanout) error {
	var chain orderChain
	key := fanoutOrderKey(f.Order)
	if prev, err := tx.GetValue(ctx, key); err == nil {
		if json.Unmarshal(prev, &chain) != nil {
			chain = orderChain{} // an older version's: the job id alone
			chain.Job, _ = strconv.ParseInt(string(prev), 10, 64)
		}
	} else if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	f.Prev = chain.Acts
	of := orderedFanout{fanout: f, After: chain.Job}
	payload, err := json.Marshal(of)
	if err != nil {
		return err
	}
	id, inserted, err := tx.Enqueue(ctx, FanoutKind, payload, &store.EnqueueOptions{UniqueKey: "fanout:" + f.Activity})
	if err != nil {
		return fmt.Errorf("outbox: enqueue fan-out: %w", err)
	}
	if !inserted {
		return nil
	}
	next := orderChain{Job: id, Acts: append([]string{f.Activity}, chain.Acts[:min(len(chain.Acts), maxOrderChain-1)]...)}
	raw, err := json.Marshal(next)
	if err != nil {
		return err
	}
	return tx.PutValue(ctx, key, raw, o.opts.Clock().Add(orderHorizon))
}

// orderedFanoutJob runs the fan-out job j once the fan-out it must follow
// (orderedFanout.After) is done, waiting without using an attempt.
func (o *Outbox) orderedFanoutJob(ctx context.Context, j *store.Job) error {
	var of struct {
		After int64 `json:"after"`
	}
	if json.Unmarshal(j.Payload, &of) == nil { // else fanoutJob discards it
		if wait, err := o.waitForJob(ctx, of.After, fanoutOrderWait); err != nil {
			return err
		} else if wait != nil {
			return wait
		}
	}
	return o.fanoutJob(ctx, j)
}

// hostTable is the per-host state of this process's deliveries: how many
// are in flight (bounded by MaxPerHost), the circuit breaker, and
// counters. It is a cache of the process, not shared state: each process
// of a cluster keeps its own.
type hostTable struct {
	limit     int
	threshold int
	cooldown  time.Duration

	mu    sync.Mutex
	hosts map[string]*hostState
}

type hostState struct {
	inFlight int
	fails    int       // consecutive failures
	openTill time.Time // breaker open until then
	cooldown time.Duration
	probing  bool // half open: one probe in flight
	stats    HostStats
}

// HostStats counts one host's deliveries in this process.
type HostStats struct {
	Sent     int64 // 2xx answers
	Failed   int64 // attempts that failed and will be retried
	Refused  int64 // attempts refused for good (4xx other than 408, 429)
	InFlight int
	// BreakerOpen reports whether deliveries to the host wait for its
	// breaker, and until when.
	BreakerOpen  bool
	BreakerUntil time.Time
}

func newHostTable(limit, threshold int, cooldown time.Duration) *hostTable {
	return &hostTable{limit: limit, threshold: threshold, cooldown: cooldown, hosts: map[string]*hostState{}}
}

func (t *hostTable) get(host string) *hostState {
	h := t.hosts[host]
	if h == nil {
		h = &hostState{cooldown: t.cooldown}
		t.hosts[host] = h
	}
	return h
}

// hostWait is how long a delivery waits for a slot among its host's
// deliveries in flight, or for the probe of a half-open breaker.
const hostWait = 200 * time.Millisecond

// admit takes a slot for a delivery to host, or says until when to wait:
// while the breaker is open, until it may be probed; while a probe is in
// flight, or every slot is taken, a moment. probe reports that the
// delivery admitted is the probe of a half-open breaker: its outcome
// (succeeded, refused, failed), or abandon when it has none, must follow.
func (t *hostTable) admit(host string, now time.Time) (until time.Time, probe, ok bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	h := t.get(host)
	if h.fails >= t.threshold {
		switch {
		case now.Before(h.openTill):
			return h.openTill, false, false
		case h.probing:
			return now.Add(hostWait), false, false
		}
		h.probing, probe = true, true // half open: this delivery is the probe
	} else if h.inFlight >= t.limit {
		return now.Add(hostWait + rand.N(hostWait)), false, false
	}
	h.inFlight++
	return time.Time{}, probe, true
}

func (t *hostTable) release(host string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.get(host).inFlight--
}

func (t *hostTable) succeeded(host string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	h := t.get(host)
	h.stats.Sent++
	h.fails, h.probing, h.cooldown = 0, false, t.cooldown
}

// refused counts a permanent refusal: the host is up, so the breaker
// closes as on a success.
func (t *hostTable) refused(host string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	h := t.get(host)
	h.stats.Refused++
	h.fails, h.probing, h.cooldown = 0, false, t.cooldown
}

// abandon forgets a probe that made no POST, or did not finish it
// (shutdown).
func (t *hostTable) abandon(host string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.get(host).probing = false
}

// failed counts a failure that may pass, opening the breaker at the
// threshold, and again, for twice as long (up to an hour), when a probe
// fails.
func (t *hostTable) failed(host string, now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	h := t.get(host)
	h.stats.Failed++
	h.fails++
	if h.fails < t.threshold {
		return
	}
	if h.probing {
		h.cooldown = min(2*h.cooldown, time.Hour)
	}
	h.probing = false
	h.openTill = now.Add(h.cooldown)
}

// Hosts returns the delivery counters of every host this process has
// delivered to, and the state of their breakers.
func (o *Outbox) Hosts() map[string]HostStats {
	t := o.hosts
	t.mu.Lock()
	defer t.mu.Unlock()
	now := o.opts.Clock()
	out := make(map[string]HostStats, len(t.hosts))
	for host, h := range t.hosts {
		s := h.stats
		s.InFlight = h.inFlight
		if h.fails >= t.threshold {
			s.BreakerOpen, s.BreakerUntil = true, h.openTill
			if !now.Before(h.openTill) {
				s.BreakerUntil = now
			}
		}
		out[host] = s
	}
	return out
}

// DeliveryState is where one delivery stands.
type DeliveryState string

const (
	DeliveryPending  DeliveryState = "pending"  // not tried yet (or being tried for the first time)
	DeliverySent     DeliveryState = "sent"     // the inbox answered 2xx
	DeliveryRetrying DeliveryState = "retrying" // failed, will be tried again at NextAttempt
	DeliveryFailed   DeliveryState = "failed"   // refused for good by the peer (4xx other than 408, 429; 410 Gone)
	DeliveryDead     DeliveryState = "dead"     // out of attempts
	// DeliveryPruned: queued and finished long enough ago that its job
	// was pruned (the worker's Options.Retention, a week by default, or
	// store.DB.PruneJobs), and not recorded as failed: sent, or failed
	// before failures were recorded. (With Options.ForgetSent, such a
	// delivery is DeliverySent.)
	DeliveryPruned DeliveryState = "pruned"
)

// DeliveryStatus is the state of one activity's delivery to one inbox.
type DeliveryStatus struct {
	Inbox       string
	State       DeliveryState
	Attempts    int
	NextAttempt time.Time // when retrying (or pending)
	LastError   string    // of the last failed attempt, or why it failed for good
	Finished    time.Time // when sent, failed or dead
}

// DeliveryStatus returns the state of the delivery of activity to inbox,
// or an error wrapping store.ErrNotFound when none was queued. A delivery
// whose job is gone is DeliveryFailed or DeliveryDead (without Attempts,
// LastError, Finished) when it failed for good, else DeliverySent with
// Options.ForgetSent, else DeliveryPruned.
func (o *Outbox) DeliveryStatus(ctx context.Context, activity, inbox string) (DeliveryStatus, error) {
	s, found, err := o.jobStatus(ctx, activity, inbox)
	if err != nil || found {
		return s, err
	}
	// The activity's deliveries collection records every delivery queued
	// (in the unit that enqueued it), and outlives the jobs.
	queued, err := o.db.HasItem(ctx, store.DeliveriesCollection(activity), inbox)
	if err != nil {
		return DeliveryStatus{}, err
	}
	if !queued {
		return DeliveryStatus{}, fmt.Errorf("outbox: no delivery of %s to %s: %w", activity, inbox, store.ErrNotFound)
	}
	return o.finishedStatus(ctx, activity, inbox)
}

// finishedStatus is the status of a delivery queued whose job is gone:
// failed or dead when its failure was recorded, else sent when sent
// deliveries are forgotten (Options.ForgetSent), else pruned.
func (o *Outbox) finishedStatus(ctx context.Context, activity, inbox string) (DeliveryStatus, error) {
	for _, f := range []struct {
		reason string
		state  DeliveryState
	}{{reasonFailed, DeliveryFailed}, {reasonGone, DeliveryFailed}, {reasonDead, DeliveryDead}} {
		failed, err := o.db.HasItem(ctx, store.FailedDeliveriesCollection(activity), failureItem(f.reason, inbox))
		if err != nil {
			return DeliveryStatus{}, err
		}
		if failed {
			return DeliveryStatus{Inbox: inbox, State: f.state}, nil
		}
	}
	if o.opts.ForgetSent {
		return DeliveryStatus{Inbox: inbox, State: DeliverySent}, nil
	}
	return pruned(inbox), nil
}

// jobStatus is the status of the delivery of activity to inbox from its
// job; found is false when there is no such job (never queued, or pruned).
func (o *Outbox) jobStatus(ctx context.Context, activity, inbox string) (s DeliveryStatus, found bool, err error) {
	jobs, err := o.db.Jobs(ctx, store.JobQuery{Kinds: []string{DeliverKind}, UniqueKey: deliveryKey(activity, inbox), Limit: 1})
	if err != nil || len(jobs) == 0 {
		return DeliveryStatus{}, false, err
	}
	return statusOf(inbox, jobs[0]), true, nil
}

// pruned is the status of a delivery queued whose job was pruned.
func pruned(inbox string) DeliveryStatus { return DeliveryStatus{Inbox: inbox, State: DeliveryPruned} }

func statusOf(inbox string, j *store.Job) DeliveryStatus {
	s := DeliveryStatus{Inbox: inbox, Attempts: j.Attempt, LastError: j.LastError, Finished: j.Finished}
	switch j.State {
	case store.JobCompleted:
		s.State = DeliverySent
	case store.JobDiscarded:
		s.State = DeliveryFailed
		switch {
		case strings.HasPrefix(j.LastError, reasonDead):
			s.State, s.LastError = DeliveryDead, strings.TrimPrefix(j.LastError, reasonDead)
		case strings.HasPrefix(j.LastError, reasonFailed):
			s.LastError = strings.TrimPrefix(j.LastError, reasonFailed)
		case strings.HasPrefix(j.LastError, reasonGone):
			s.LastError = strings.TrimPrefix(j.LastError, reasonGone)
		}
	case store.JobRetryable:
		s.State, s.NextAttempt = DeliveryRetrying, j.RunAt
	default: // available, running
		s.State, s.NextAttempt = DeliveryPending, j.RunAt
		if j.LastError != "" {
			s.State = DeliveryRetrying
		}
	}
	return s
}

// Deliveries returns the status of up to limit deliveries of activity,
// in the order they were queued, after the cursor ("" for the first page);
// next is the cursor of the page after, "" on the last one. While the
// fan-out runs, more may appear.
func (o *Outbox) Deliveries(ctx context.Context, activity, cursor string, limit int) (page []DeliveryStatus, next string, err error) {
	limit = min(max(limit, 1), store.MaxPageLimit)
	if cursor == "" {
		cursor = "0" // the oldest page
	}
	items, err := o.db.Page(ctx, store.DeliveriesCollection(activity), store.PageQuery{MinID: cursor, Limit: limit})
	if err != nil {
		return nil, "", err
	}
	// MinID pages come newest first, like every page: walk them oldest first.
	for i := len(items.Items) - 1; i >= 0; i-- {
		it := items.Items[i]
		s, found, err := o.jobStatus(ctx, activity, it.Value)
		if err != nil {
			return nil, "", err
		}
		if !found { // a member of the deliveries collection: it was queued
			if s, err = o.finishedStatus(ctx, activity, it.Value); err != nil {
				return nil, "", err
			}
		}
		page = append(page, s)
		next = store.FormatSeqCursor(it.Seq)
	}
	if len(items.Items) < limit {
		next = ""
	}
	return page, next, nil
}

// Pending returns how many fan-outs and deliveries are not finished:
// waiting, in flight or waiting for a retry.
func (o *Outbox) Pending(ctx context.Context) (int, error) {
	return o.db.CountJobs(ctx, store.JobQuery{Kinds: []string{FanoutKind, DeliverKind},
		States: []store.JobState{store.JobAvailable, store.JobRunning, store.JobRetryable}})
}
