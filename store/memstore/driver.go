package memstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
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
// a map, a hash index (collections and values, see compact.go) or a sorted
// slice: FindObjects reads the index of one of the query's fields, never
// all objects.
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
	values  valueTable
	jobSeq  int64                     // last job ID
	jobs    jobTable                  // id -> job (see jobRec)
	unique  uniqueIndex               // unique key -> job ID
	ready   map[string]*readyHeap     // kind -> available and retryable jobs by (RunAt, ID)
	running map[string]map[int64]bool // kind -> IDs of running jobs
	counts  map[string]map[store.JobState]int
	names   []string         // the kinds and states of jobs (see name)
	nameIdx map[string]name  // name -> index in names
	locs    []*time.Location // the locations of the jobs' times (see stamp)
	// lastKey and lastPayload are the unique key and the payload of the
	// last jobs stored, which the next ones share (see jobRec).
	lastKey, lastPayload string
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
		unique:  newUniqueIndex(),
		ready:   make(map[string]*readyHeap),
		running: make(map[string]map[int64]bool),
		counts:  make(map[string]map[store.JobState]int),
		nameIdx: make(map[string]name),
		locs:    []*time.Location{time.UTC},
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
		return nil, notFound("object", iri)
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
		return notFound("object", iri)
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
	scanRange(len(seqs), func(i int) int64 { return seqs[i] }, q.Range, func(i int) bool {
		o := t.d.objects[t.d.bySeq[seqs[i]]]
		if got := indexed(o); (want[byActor] == "" || got[byActor] == want[byActor]) &&
			(want[byInReplyTo] == "" || got[byInReplyTo] == want[byInReplyTo]) &&
			(want[byType] == "" || got[byType] == want[byType]) {
			out = append(out, cloneObject(o))
		}
		return len(out) < q.Range.Limit
	})
	return out, nil
}

// scanRange calls yield with the places inside r of a sequence of n
// elements sorted by ascending seq (seqAt(i) is the seq of the element at
// place i), in r's order, until yield returns false.
func scanRange(n int, seqAt func(i int) int64, r store.Range, yield func(i int) bool) {
	// lo is the first element above After; hi is one past the last below Before.
	lo := sort.Search(n, func(i int) bool { return seqAt(i) > r.After })
	hi := n
	if r.Before != 0 {
		hi = sort.Search(n, func(i int) bool { return seqAt(i) >= r.Before })
	}
	if r.Ascending {
		for i := lo; i < hi; i++ {
			if !yield(i) {
				return
			}
		}
		return
	}
	for i := hi - 1; i >= lo; i-- {
		if !yield(i) {
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
		if _, ok := c.seqOf(item); ok {
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
		c = &collection{}
		d.colls[collectionIRI] = c
	}
	c.add(item, seq)
}

// dropItem removes item and reports its sequence number, or false if it
// was not there.
func (d *Driver) dropItem(collectionIRI, item string) (int64, bool) {
	c := d.colls[collectionIRI]
	if c == nil {
		return 0, false
	}
	seq, ok := c.remove(item)
	if ok && c.live() == 0 {
		delete(d.colls, collectionIRI)
	}
	return seq, ok
}

func (t *tx) HasItem(ctx context.Context, collectionIRI, item string) (bool, error) {
	if err := t.check(ctx, false); err != nil {
		return false, err
	}
	c := t.d.colls[collectionIRI]
	if c == nil {
		return false, nil
	}
	_, ok := c.seqOf(item)
	return ok, nil
}

func (t *tx) CountItems(ctx context.Context, collectionIRI string) (int, error) {
	if err := t.check(ctx, false); err != nil {
		return 0, err
	}
	if c := t.d.colls[collectionIRI]; c != nil {
		return c.live(), nil
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
	scanRange(len(c.entries), func(i int) int64 { return c.entries[i].seq }, r, func(i int) bool {
		if !c.isDead(i) {
			out = append(out, store.Item{Seq: c.entries[i].seq, Value: c.entries[i].item})
		}
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
		return nil, notFound("key", id)
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
		return notFound("key", id)
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
		return nil, notFound("account", username)
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
	v, ok := t.d.values.get(key)
	if !ok || v.expired(now) {
		return nil, notFound("value", key)
	}
	return []byte(v.data), nil
}

func (t *tx) PutValue(ctx context.Context, key string, data []byte, expires time.Time) error {
	if err := t.check(ctx, true); err != nil {
		return err
	}
	t.setValue(key, value{data: string(data), expires: at(expires)}, true)
	return nil
}

func (t *tx) DeleteValue(ctx context.Context, key string, now time.Time) error {
	if err := t.check(ctx, true); err != nil {
		return err
	}
	v, ok := t.d.values.get(key)
	if !ok {
		return notFound("value", key)
	}
	t.setValue(key, value{}, false)
	if v.expired(now) {
		return notFound("value", key)
	}
	return nil
}

func (t *tx) setValue(key string, v value, present bool) {
	old, had := t.d.values.get(key)
	if present {
		t.d.values.set(key, v)
	} else {
		t.d.values.remove(key)
	}
	t.undo = append(t.undo, func() { t.setValue(key, old, had) })
}

// missing is the ErrNotFound of a thing looked up by name, whose message
// is made only when it is read: lookups of what is absent are routine
// (caches, progress records, objects not fetched yet), and formatting the
// message for each was a measurable part of an inbox delivery's CPU.
type missing struct{ what, name string }

func notFound(what, name string) error { return &missing{what: what, name: name} }

func (e *missing) Error() string {
	return "memstore: " + e.what + " " + strconv.Quote(e.name) + ": " + store.ErrNotFound.Error()
}

func (e *missing) Unwrap() error { return store.ErrNotFound }
