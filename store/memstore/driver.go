package memstore

import (
	"cmp"
	"container/heap"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/slothpub/slothpub/store"
)

// Driver is an in-memory store.Driver: the backend of store.Open for tests
// and for federations that live in one test binary. The zero value is not
// usable; call NewDriver.
//
// Units of work are serialised by one lock: Update holds it for writing
// while fn runs and keeps an undo log, which a failing or panicking fn
// replays backwards; View holds it for reading, so Views run together but
// wait for a unit in progress (they never see its writes). Every index is
// a map or a sorted slice: FindObjects reads the index of one of the
// query's fields, never all objects.
//
// Expired values are not purged (GetValue hides them); the store is meant
// for tests and short-lived processes.
type Driver struct {
	mu     sync.RWMutex
	closed bool

	seq     int64 // last sequence number given to an object or an item
	objects map[string]*store.Object
	bySeq   map[int64]string          // object Seq -> IRI
	index   [3]map[string][]int64     // by field (actor, inReplyTo, type): value -> sorted Seqs
	colls   map[string]*collection    // collection -> members
	keys    map[string]store.Key      // id -> key
	accts   map[string]*store.Account // username -> account
	values  map[string]value          // key -> value
	jobSeq  int64                     // last job ID
	jobs    map[int64]*store.Job      // id -> job; stored jobs are never mutated, only replaced
	jobIDs  []int64                   // every job ID, ascending
	unique  map[string]int64          // unique key -> job ID
	ready   map[string]*readyHeap     // kind -> available and retryable jobs by (RunAt, ID)
	running map[string]map[int64]bool // kind -> IDs of running jobs
	counts  map[string]map[store.JobState]int
	done    map[int64]bool // IDs of completed and discarded jobs
}

// The fields FindObjects can select by, as indexes into Driver.index.
const (
	byActor = iota
	byInReplyTo
	byType
)

var _ store.Driver = (*Driver)(nil)

// NewDriver returns an empty in-memory driver.
func NewDriver() *Driver {
	d := &Driver{
		objects: make(map[string]*store.Object),
		bySeq:   make(map[int64]string),
		colls:   make(map[string]*collection),
		keys:    make(map[string]store.Key),
		accts:   make(map[string]*store.Account),
		values:  make(map[string]value),
		jobs:    make(map[int64]*store.Job),
		unique:  make(map[string]int64),
		ready:   make(map[string]*readyHeap),
		running: make(map[string]map[int64]bool),
		counts:  make(map[string]map[store.JobState]int),
		done:    make(map[int64]bool),
	}
	for i := range d.index {
		d.index[i] = make(map[string][]int64)
	}
	return d
}

var (
	errClosed   = errors.New("memstore: driver closed")
	errReadOnly = errors.New("memstore: write inside a View")
	errTxDone   = errors.New("memstore: transaction used after its unit ended")
)

// Update runs fn in a unit of work; see store.Driver.
func (d *Driver) Update(ctx context.Context, fn func(tx store.DriverTx) error) (err error) {
	if err := ctx.Err(); err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return errClosed
	}
	tx := &tx{d: d, write: true, seq: d.seq, jobSeq: d.jobSeq}
	committed := false
	defer func() {
		tx.done = true
		if !committed {
			tx.rollback()
		}
	}()
	if err := fn(tx); err != nil {
		return err
	}
	committed = true
	return nil
}

// View runs fn against the committed state; see store.Driver.
func (d *Driver) View(ctx context.Context, fn func(tx store.DriverTx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	d.mu.RLock()
	defer d.mu.RUnlock()
	if d.closed {
		return errClosed
	}
	tx := &tx{d: d}
	defer func() { tx.done = true }()
	return fn(tx)
}

// Close makes later units fail. It waits for units in progress.
func (d *Driver) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.closed = true
	return nil
}

// tx is a unit of work: the driver's state plus, for Update, an undo log.
type tx struct {
	d      *Driver
	write  bool
	done   bool
	undo   []func()
	seq    int64 // d.seq when the unit began
	jobSeq int64
}

func (t *tx) rollback() {
	for i := len(t.undo) - 1; i >= 0; i-- {
		t.undo[i]()
	}
	t.undo = nil
	t.d.seq, t.d.jobSeq = t.seq, t.jobSeq
}

// check returns why tx cannot run a method now: ctx is done, the unit is
// over, or (for writes) the unit is a View.
func (t *tx) check(ctx context.Context, write bool) error {
	if t.done {
		return errTxDone
	}
	if write && !t.write {
		return errReadOnly
	}
	return ctx.Err()
}

// ---------------------------------------------------------------- objects

func (t *tx) GetObject(ctx context.Context, iri string) (*store.Object, error) {
	if err := t.check(ctx, false); err != nil {
		return nil, err
	}
	o, ok := t.d.objects[iri]
	if !ok {
		return nil, fmt.Errorf("memstore: object %q: %w", iri, store.ErrNotFound)
	}
	return cloneObject(o), nil
}

func (t *tx) InsertObject(ctx context.Context, o *store.Object) error {
	if err := t.check(ctx, true); err != nil {
		return err
	}
	if _, ok := t.d.objects[o.IRI]; ok {
		return fmt.Errorf("memstore: object %q: %w", o.IRI, store.ErrExists)
	}
	t.storeObject(o, nil)
	return nil
}

func (t *tx) PutObject(ctx context.Context, o *store.Object) error {
	if err := t.check(ctx, true); err != nil {
		return err
	}
	t.storeObject(o, t.d.objects[o.IRI])
	return nil
}

// storeObject stores a copy of o in place of old (nil for a new object)
// and sets o's Seq, Created and Updated.
func (t *tx) storeObject(o, old *store.Object) {
	c := cloneObject(o)
	c.Updated = now()
	if old != nil {
		c.Seq, c.Created = old.Seq, old.Created
	} else {
		t.d.seq++
		c.Seq, c.Created = t.d.seq, c.Updated
	}
	t.setObject(o.IRI, c)
	o.Seq, o.Created, o.Updated = c.Seq, c.Created, c.Updated
}

// setObject replaces the object stored under iri (nil deletes it), keeps
// the indexes in step, and logs the inverse.
func (t *tx) setObject(iri string, o *store.Object) {
	d := t.d
	old := d.objects[iri]
	if old != nil {
		delete(d.objects, iri)
		delete(d.bySeq, old.Seq)
		for f, v := range indexed(old) {
			if v != "" {
				d.index[f][v] = removeSeq(d.index[f][v], old.Seq)
				if len(d.index[f][v]) == 0 {
					delete(d.index[f], v)
				}
			}
		}
	}
	if o != nil {
		d.objects[iri] = o
		d.bySeq[o.Seq] = iri
		for f, v := range indexed(o) {
			if v != "" {
				d.index[f][v] = insertSeq(d.index[f][v], o.Seq)
			}
		}
	}
	if t.write {
		t.undo = append(t.undo, func() { t.setObject(iri, old) })
	}
}

func indexed(o *store.Object) [3]string {
	var v [3]string
	v[byActor], v[byInReplyTo], v[byType] = o.Actor, o.InReplyTo, o.Type
	return v
}

func insertSeq(s []int64, seq int64) []int64 {
	i, found := slices.BinarySearch(s, seq)
	if found {
		return s
	}
	return slices.Insert(s, i, seq)
}

func removeSeq(s []int64, seq int64) []int64 {
	if i, found := slices.BinarySearch(s, seq); found {
		return slices.Delete(s, i, i+1)
	}
	return s
}

func (t *tx) DeleteObject(ctx context.Context, iri string) error {
	if err := t.check(ctx, true); err != nil {
		return err
	}
	if _, ok := t.d.objects[iri]; !ok {
		return fmt.Errorf("memstore: object %q: %w", iri, store.ErrNotFound)
	}
	t.setObject(iri, nil)
	return nil
}

func (t *tx) FindObjects(ctx context.Context, q store.ObjectQuery) ([]*store.Object, error) {
	if err := t.check(ctx, false); err != nil {
		return nil, err
	}
	want := [3]string{byActor: q.Actor, byInReplyTo: q.InReplyTo, byType: q.Type}
	// Read the shortest index among the fields the query sets.
	var seqs []int64
	best := -1
	for f, v := range want {
		if v == "" {
			continue
		}
		s := t.d.index[f][v]
		if best < 0 || len(s) < len(seqs) {
			best, seqs = f, s
		}
	}
	if best < 0 {
		return nil, errors.New("memstore: FindObjects without a field")
	}
	var out []*store.Object
	scanRange(seqs, func(s int64) int64 { return s }, q.Range, func(seq int64) bool {
		o := t.d.objects[t.d.bySeq[seq]]
		if got := indexed(o); (want[byActor] == "" || got[byActor] == want[byActor]) &&
			(want[byInReplyTo] == "" || got[byInReplyTo] == want[byInReplyTo]) &&
			(want[byType] == "" || got[byType] == want[byType]) {
			out = append(out, cloneObject(o))
		}
		return len(out) < q.Range.Limit
	})
	return out, nil
}

// scanRange calls yield for the elements of s (sorted by ascending seq)
// inside r, in r's order, until yield returns false.
func scanRange[T any](s []T, seq func(T) int64, r store.Range, yield func(T) bool) {
	// lo is the first element above After; hi is one past the last below Before.
	lo, _ := slices.BinarySearchFunc(s, r.After+1, func(e T, target int64) int { return cmp.Compare(seq(e), target) })
	hi := len(s)
	if r.Before != 0 {
		hi, _ = slices.BinarySearchFunc(s, r.Before, func(e T, target int64) int { return cmp.Compare(seq(e), target) })
	}
	if r.Ascending {
		for i := lo; i < hi; i++ {
			if !yield(s[i]) {
				return
			}
		}
		return
	}
	for i := hi - 1; i >= lo; i-- {
		if !yield(s[i]) {
			return
		}
	}
}

// ---------------------------------------------------------------- collections

func (t *tx) AddItem(ctx context.Context, collectionIRI, item string) (int64, error) {
	if err := t.check(ctx, true); err != nil {
		return 0, err
	}
	if c := t.d.colls[collectionIRI]; c != nil {
		if _, ok := c.seqOf[item]; ok {
			return 0, fmt.Errorf("memstore: item %q of %q: %w", item, collectionIRI, store.ErrExists)
		}
	}
	t.d.seq++
	seq := t.d.seq
	t.d.putItem(collectionIRI, item, seq)
	t.undo = append(t.undo, func() { t.d.dropItem(collectionIRI, item) })
	return seq, nil
}

func (t *tx) RemoveItem(ctx context.Context, collectionIRI, item string) error {
	if err := t.check(ctx, true); err != nil {
		return err
	}
	seq, ok := t.d.dropItem(collectionIRI, item)
	if !ok {
		return fmt.Errorf("memstore: item %q of %q: %w", item, collectionIRI, store.ErrNotFound)
	}
	t.undo = append(t.undo, func() { t.d.putItem(collectionIRI, item, seq) })
	return nil
}

// putItem adds item with its sequence number to the collection.
func (d *Driver) putItem(collectionIRI, item string, seq int64) {
	c := d.colls[collectionIRI]
	if c == nil {
		c = &collection{seqOf: make(map[string]int64)}
		d.colls[collectionIRI] = c
	}
	c.seqOf[item] = seq
	i, _ := slices.BinarySearchFunc(c.entries, seq, func(e entry, seq int64) int { return cmp.Compare(e.seq, seq) })
	c.entries = slices.Insert(c.entries, i, entry{seq: seq, item: item})
}

// dropItem removes item and reports its sequence number, or false if it
// was not there.
func (d *Driver) dropItem(collectionIRI, item string) (int64, bool) {
	c := d.colls[collectionIRI]
	if c == nil {
		return 0, false
	}
	seq, ok := c.seqOf[item]
	if !ok {
		return 0, false
	}
	if i, found := slices.BinarySearchFunc(c.entries, seq, func(e entry, seq int64) int { return cmp.Compare(e.seq, seq) }); found {
		c.entries = slices.Delete(c.entries, i, i+1)
	}
	delete(c.seqOf, item)
	if len(c.entries) == 0 {
		delete(d.colls, collectionIRI)
	}
	return seq, true
}

func (t *tx) HasItem(ctx context.Context, collectionIRI, item string) (bool, error) {
	if err := t.check(ctx, false); err != nil {
		return false, err
	}
	c := t.d.colls[collectionIRI]
	if c == nil {
		return false, nil
	}
	_, ok := c.seqOf[item]
	return ok, nil
}

func (t *tx) CountItems(ctx context.Context, collectionIRI string) (int, error) {
	if err := t.check(ctx, false); err != nil {
		return 0, err
	}
	if c := t.d.colls[collectionIRI]; c != nil {
		return len(c.entries), nil
	}
	return 0, nil
}

func (t *tx) Items(ctx context.Context, collectionIRI string, r store.Range) ([]store.Item, error) {
	if err := t.check(ctx, false); err != nil {
		return nil, err
	}
	c := t.d.colls[collectionIRI]
	if c == nil {
		return nil, nil
	}
	var out []store.Item
	scanRange(c.entries, func(e entry) int64 { return e.seq }, r, func(e entry) bool {
		out = append(out, store.Item{Seq: e.seq, Value: e.item})
		return len(out) < r.Limit
	})
	return out, nil
}

// ---------------------------------------------------------------- keys, accounts, values

func (t *tx) GetKey(ctx context.Context, id string) (*store.Key, error) {
	if err := t.check(ctx, false); err != nil {
		return nil, err
	}
	k, ok := t.d.keys[id]
	if !ok {
		return nil, fmt.Errorf("memstore: key %q: %w", id, store.ErrNotFound)
	}
	return &k, nil
}

func (t *tx) PutKey(ctx context.Context, k *store.Key) error {
	if err := t.check(ctx, true); err != nil {
		return err
	}
	t.setKey(k.ID, *k, true)
	return nil
}

func (t *tx) DeleteKey(ctx context.Context, id string) error {
	if err := t.check(ctx, true); err != nil {
		return err
	}
	if _, ok := t.d.keys[id]; !ok {
		return fmt.Errorf("memstore: key %q: %w", id, store.ErrNotFound)
	}
	t.setKey(id, store.Key{}, false)
	return nil
}

func (t *tx) setKey(id string, k store.Key, present bool) {
	old, had := t.d.keys[id]
	if present {
		t.d.keys[id] = k
	} else {
		delete(t.d.keys, id)
	}
	t.undo = append(t.undo, func() { t.setKey(id, old, had) })
}

func (t *tx) CreateAccount(ctx context.Context, a *store.Account) error {
	if err := t.check(ctx, true); err != nil {
		return err
	}
	if _, ok := t.d.accts[a.Username]; ok {
		return fmt.Errorf("memstore: account %q: %w", a.Username, store.ErrExists)
	}
	c := *a
	c.PrivateKeyPEM = slices.Clone(a.PrivateKeyPEM)
	if c.Created.IsZero() {
		c.Created = now()
	}
	t.d.accts[a.Username] = &c
	t.undo = append(t.undo, func() { delete(t.d.accts, a.Username) })
	return nil
}

func (t *tx) GetAccount(ctx context.Context, username string) (*store.Account, error) {
	if err := t.check(ctx, false); err != nil {
		return nil, err
	}
	a, ok := t.d.accts[username]
	if !ok {
		return nil, fmt.Errorf("memstore: account %q: %w", username, store.ErrNotFound)
	}
	c := *a
	c.PrivateKeyPEM = slices.Clone(a.PrivateKeyPEM)
	return &c, nil
}

func (t *tx) CountAccounts(ctx context.Context) (int, error) {
	if err := t.check(ctx, false); err != nil {
		return 0, err
	}
	return len(t.d.accts), nil
}

func (t *tx) GetValue(ctx context.Context, key string, now time.Time) ([]byte, error) {
	if err := t.check(ctx, false); err != nil {
		return nil, err
	}
	v, ok := t.d.values[key]
	if !ok || v.expired(now) {
		return nil, fmt.Errorf("memstore: value %q: %w", key, store.ErrNotFound)
	}
	return slices.Clone(v.data), nil
}

func (t *tx) PutValue(ctx context.Context, key string, data []byte, expires time.Time) error {
	if err := t.check(ctx, true); err != nil {
		return err
	}
	if data == nil {
		data = []byte{}
	}
	t.setValue(key, value{data: slices.Clone(data), expires: expires}, true)
	return nil
}

func (t *tx) DeleteValue(ctx context.Context, key string, now time.Time) error {
	if err := t.check(ctx, true); err != nil {
		return err
	}
	v, ok := t.d.values[key]
	if !ok {
		return fmt.Errorf("memstore: value %q: %w", key, store.ErrNotFound)
	}
	t.setValue(key, value{}, false)
	if v.expired(now) {
		return fmt.Errorf("memstore: value %q: %w", key, store.ErrNotFound)
	}
	return nil
}

func (t *tx) setValue(key string, v value, present bool) {
	old, had := t.d.values[key]
	if present {
		t.d.values[key] = v
	} else {
		delete(t.d.values, key)
	}
	t.undo = append(t.undo, func() { t.setValue(key, old, had) })
}

// ---------------------------------------------------------------- jobs

func cloneJob(j *store.Job) *store.Job {
	c := *j
	c.Payload = slices.Clone(j.Payload)
	return &c
}

// setJob stores j under id (nil deletes the job), keeps the indexes in
// step and logs the inverse. Stored jobs are never changed in place.
//
// The ready heap of a kind is validated when read: an entry stands for
// its job only while the job is available or retryable with the entry's
// RunAt. A job leaves those states only by being claimed, which pops its
// entry, or by a rollback, which stores the earlier job again and so
// pushes an entry for it; stale entries are rare and dropped when met.
func (t *tx) setJob(id int64, j *store.Job) {
	d := t.d
	old := d.jobs[id]
	if old != nil {
		delete(d.jobs, id)
		if old.UniqueKey != "" {
			delete(d.unique, old.UniqueKey)
		}
		if old.State == store.JobRunning {
			delete(d.running[old.Kind], id)
		}
		c := d.counts[old.Kind]
		if c[old.State]--; c[old.State] == 0 {
			delete(c, old.State)
		}
		delete(d.done, id)
		if j == nil {
			d.jobIDs = removeSeq(d.jobIDs, id)
		}
	}
	if j != nil {
		d.jobs[id] = j
		if j.UniqueKey != "" {
			d.unique[j.UniqueKey] = id
		}
		switch j.State {
		case store.JobCompleted, store.JobDiscarded:
			d.done[id] = true
		case store.JobRunning:
			r := d.running[j.Kind]
			if r == nil {
				r = make(map[int64]bool)
				d.running[j.Kind] = r
			}
			r[id] = true
		default:
			h := d.ready[j.Kind]
			if h == nil {
				h = &readyHeap{}
				d.ready[j.Kind] = h
			}
			heap.Push(h, readyEntry{runAt: j.RunAt, id: id})
		}
		c := d.counts[j.Kind]
		if c == nil {
			c = make(map[store.JobState]int)
			d.counts[j.Kind] = c
		}
		c[j.State]++
		if old == nil {
			d.jobIDs = insertSeq(d.jobIDs, id)
		}
	}
	t.undo = append(t.undo, func() { t.setJob(id, old) })
}

func (t *tx) InsertJob(ctx context.Context, j *store.Job) (bool, error) {
	if err := t.check(ctx, true); err != nil {
		return false, err
	}
	if j.UniqueKey != "" {
		if _, ok := t.d.unique[j.UniqueKey]; ok {
			return false, nil
		}
	}
	t.d.jobSeq++
	c := cloneJob(j)
	c.ID = t.d.jobSeq
	if c.Created.IsZero() {
		c.Created = now()
	}
	t.setJob(c.ID, c)
	j.ID, j.Created = c.ID, c.Created
	return true, nil
}

func (t *tx) ClaimJobs(ctx context.Context, p store.ClaimParams) ([]*store.Job, error) {
	if err := t.check(ctx, true); err != nil {
		return nil, err
	}
	older := func(a, b *store.Job) int { return claimOrder(a.RunAt, a.ID, b.RunAt, b.ID) }
	// The candidates: of each kind, the p.Limit first due jobs of its
	// ready heap (popped: claimed, or pushed back below) and the running
	// jobs whose lease expired (as many as the kind's workers run, not
	// the backlog). A claim costs O(Limit log n), not a walk of the n
	// queued jobs.
	var cands []*store.Job
	seen := make(map[int64]bool)
	// A job has one kind: listing a kind twice must not claim it twice.
	for _, kind := range slices.Compact(slices.Sorted(slices.Values(p.Kinds))) {
		if h := t.d.ready[kind]; h != nil {
			taken := 0
			for h.Len() > 0 && taken < p.Limit && !h.entries[0].runAt.After(p.Now) {
				e := heap.Pop(h).(readyEntry)
				j := t.d.jobs[e.id]
				if j == nil || seen[e.id] || (j.State != store.JobAvailable && j.State != store.JobRetryable) || !j.RunAt.Equal(e.runAt) {
					continue // stale
				}
				seen[e.id] = true
				cands = append(cands, j)
				taken++
			}
		}
		for id := range t.d.running[kind] {
			if j := t.d.jobs[id]; !j.LeaseUntil.After(p.Now) {
				cands = append(cands, j)
			}
		}
	}
	slices.SortFunc(cands, older)
	for _, j := range cands[min(p.Limit, len(cands)):] {
		if j.State != store.JobRunning { // not claimed: back in its heap
			heap.Push(t.d.ready[j.Kind], readyEntry{runAt: j.RunAt, id: j.ID})
		}
	}
	cands = cands[:min(p.Limit, len(cands))]
	out := make([]*store.Job, 0, len(cands))
	for _, j := range cands {
		c := cloneJob(j)
		c.State, c.Attempt, c.LeaseUntil = store.JobRunning, j.Attempt+1, p.LeaseUntil
		t.setJob(c.ID, c)
		out = append(out, cloneJob(c))
	}
	return out, nil
}

// running returns the job id if it is running with that attempt.
func (t *tx) running(id int64, attempt int) (*store.Job, error) {
	j, ok := t.d.jobs[id]
	if !ok {
		return nil, fmt.Errorf("memstore: job %d: %w", id, store.ErrNotFound)
	}
	if j.State != store.JobRunning || j.Attempt != attempt {
		return nil, fmt.Errorf("memstore: job %d attempt %d (now %s, attempt %d): %w", id, attempt, j.State, j.Attempt, store.ErrLeaseLost)
	}
	return j, nil
}

func (t *tx) FinishJob(ctx context.Context, r store.JobResult) error {
	if err := t.check(ctx, true); err != nil {
		return err
	}
	j, err := t.running(r.ID, r.Attempt)
	if err != nil {
		return err
	}
	c := cloneJob(j)
	c.State = r.State
	switch r.State {
	case store.JobCompleted:
		c.Finished = r.At
	case store.JobRetryable:
		c.RunAt, c.LastError = r.RunAt, r.Error
	case store.JobAvailable:
		c.RunAt = r.RunAt
		c.Attempt--
	case store.JobDiscarded:
		c.LastError, c.Finished = r.Error, r.At
	default:
		return fmt.Errorf("memstore: job %d: cannot finish as %q", r.ID, r.State)
	}
	t.setJob(c.ID, c)
	return nil
}

func (t *tx) ExtendLease(ctx context.Context, id int64, attempt int, until time.Time) error {
	if err := t.check(ctx, true); err != nil {
		return err
	}
	j, err := t.running(id, attempt)
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("memstore: job %d: %w", id, store.ErrLeaseLost)
	}
	if err != nil {
		return err
	}
	c := cloneJob(j)
	c.LeaseUntil = until
	t.setJob(id, c)
	return nil
}

func (t *tx) GetJob(ctx context.Context, id int64) (*store.Job, error) {
	if err := t.check(ctx, false); err != nil {
		return nil, err
	}
	j, ok := t.d.jobs[id]
	if !ok {
		return nil, fmt.Errorf("memstore: job %d: %w", id, store.ErrNotFound)
	}
	return cloneJob(j), nil
}

func jobMatches(j *store.Job, q store.JobQuery) bool {
	return (len(q.Kinds) == 0 || slices.Contains(q.Kinds, j.Kind)) &&
		(len(q.States) == 0 || slices.Contains(q.States, j.State)) &&
		(q.UniqueKey == "" || j.UniqueKey == q.UniqueKey)
}

// ListJobs reads the jobs in ID order from q.AfterID (a unique key is
// looked up directly); it is meant for operators, not hot paths.
func (t *tx) ListJobs(ctx context.Context, q store.JobQuery) ([]*store.Job, error) {
	if err := t.check(ctx, false); err != nil {
		return nil, err
	}
	var out []*store.Job
	t.eachJob(q, func(j *store.Job) bool {
		if j.ID > q.AfterID {
			out = append(out, cloneJob(j))
		}
		return len(out) < q.Limit
	})
	return out, nil
}

func (t *tx) CountJobs(ctx context.Context, q store.JobQuery) (int, error) {
	if err := t.check(ctx, false); err != nil {
		return 0, err
	}
	n := 0
	if q.UniqueKey == "" { // from the counts, not a walk of every job
		for kind, c := range t.d.counts {
			if len(q.Kinds) > 0 && !slices.Contains(q.Kinds, kind) {
				continue
			}
			for state, k := range c {
				if len(q.States) == 0 || slices.Contains(q.States, state) {
					n += k
				}
			}
		}
		return n, nil
	}
	q.AfterID = 0
	t.eachJob(q, func(*store.Job) bool { n++; return true })
	return n, nil
}

// eachJob calls fn for the jobs matching q with ID > q.AfterID, by
// ascending ID, until fn returns false.
func (t *tx) eachJob(q store.JobQuery, fn func(*store.Job) bool) {
	if q.UniqueKey != "" {
		if id, ok := t.d.unique[q.UniqueKey]; ok {
			if j := t.d.jobs[id]; jobMatches(j, q) && j.ID > q.AfterID {
				fn(j)
			}
		}
		return
	}
	i, _ := slices.BinarySearch(t.d.jobIDs, q.AfterID+1)
	for _, id := range t.d.jobIDs[i:] {
		if j := t.d.jobs[id]; jobMatches(j, q) && !fn(j) {
			return
		}
	}
}

func (t *tx) DeleteJobs(ctx context.Context, before time.Time, limit int) (int, error) {
	if err := t.check(ctx, true); err != nil {
		return 0, err
	}
	var old []*store.Job
	for id := range t.d.done {
		if j := t.d.jobs[id]; j.Finished.Before(before) {
			old = append(old, j)
		}
	}
	slices.SortFunc(old, func(a, b *store.Job) int {
		if c := a.Finished.Compare(b.Finished); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	if len(old) > limit {
		old = old[:limit]
	}
	for _, j := range old {
		t.setJob(j.ID, nil)
	}
	return len(old), nil
}

// readyEntry is a job of a ready heap: available or retryable from runAt.
type readyEntry struct {
	runAt time.Time
	id    int64
}

// readyHeap is a min-heap of readyEntry by (runAt, id): the root is the
// job to claim first.
type readyHeap struct{ entries []readyEntry }

func (h *readyHeap) Len() int { return len(h.entries) }
func (h *readyHeap) Less(i, k int) bool {
	a, b := h.entries[i], h.entries[k]
	return claimOrder(a.runAt, a.id, b.runAt, b.id) < 0
}

// claimOrder orders jobs as they are claimed: by due time, then by ID.
func claimOrder(atA time.Time, idA int64, atB time.Time, idB int64) int {
	if c := atA.Compare(atB); c != 0 {
		return c
	}
	return cmp.Compare(idA, idB)
}
func (h *readyHeap) Swap(i, k int) { h.entries[i], h.entries[k] = h.entries[k], h.entries[i] }
func (h *readyHeap) Push(x any)    { h.entries = append(h.entries, x.(readyEntry)) }
func (h *readyHeap) Pop() any {
	e := h.entries[len(h.entries)-1]
	h.entries = h.entries[:len(h.entries)-1]
	return e
}
