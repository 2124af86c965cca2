package memstore

import (
	"cmp"
	"container/heap"
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"slices"
	"strings"
	"time"
	"unsafe"

	"github.com/slothpub/slothpub/store"
)

// The jobs are kept in a compact form, since a busy instance holds many:
// every delivery of a fan-out is a job, kept (completed) until it is
// pruned. A job is a jobRec in a jobTable, at its ID's place, with no map
// entry or pointer of its own; its kind and state are small indexes into
// the driver's table of names, its times stamps. The API still reads
// every field back as it was stored.

// jobChunkSize is how many consecutive job IDs share a jobChunk: as many
// as fill the largest size class of small objects (32 KiB).
const jobChunkSize = int((32<<10 - 2*8) / unsafe.Sizeof(jobRec{}))

// jobTable holds the jobs by ID: the job id is record
// (id-1)%jobChunkSize of chunk (id-1)/jobChunkSize. IDs are given in
// ascending order, so records are dense; a chunk whose jobs are all
// deleted is freed (its place in chunks stays, nil).
type jobTable struct {
	chunks []*jobChunk
}

// jobChunk holds the records of jobChunkSize consecutive job IDs.
type jobChunk struct {
	recs [jobChunkSize]jobRec
	live int // records that hold a job
	done int // of those, completed or discarded: DeleteJobs skips chunks without
}

func jobPlace(id int64) (chunk, i int) {
	return int((id - 1) / int64(jobChunkSize)), int((id - 1) % int64(jobChunkSize))
}

// get returns the record of job id, or nil if there is no such job. The
// record must not be changed: setJob replaces it.
func (t *jobTable) get(id int64) *jobRec {
	if id <= 0 {
		return nil
	}
	c, i := jobPlace(id)
	if c >= len(t.chunks) || t.chunks[c] == nil || !t.chunks[c].recs[i].live {
		return nil
	}
	return &t.chunks[c].recs[i]
}

// all calls fn with the jobs whose ID is at least from, by ascending ID,
// until fn returns false.
func (t *jobTable) all(from int64, fn func(id int64, r *jobRec) bool) {
	from = max(from, 1)
	c0, i0 := jobPlace(from)
	for c := c0; c < len(t.chunks); c++ {
		ch := t.chunks[c]
		if ch == nil {
			continue
		}
		i := 0
		if c == c0 {
			i = i0
		}
		for ; i < jobChunkSize; i++ {
			if r := &ch.recs[i]; r.live && !fn(int64(c)*int64(jobChunkSize)+int64(i)+1, r) {
				return
			}
		}
	}
}

// jobRec is a stored job. A zero jobRec (live false) holds none.
//
// Jobs enqueued together tend to be alike (the deliveries of a fan-out:
// one payload, unique keys that differ in their ends), so a record shares
// what it can with the job stored before it: its unique key is keyHead,
// a prefix of an earlier key (sharing its bytes), then keyTail; its
// payload may be the same string as the one before.
type jobRec struct {
	keyHead   string
	keyTail   string
	payload   string
	lastError string
	runAt     stamp
	lease     stamp // LeaseUntil
	created   stamp
	finished  stamp
	kind      name
	state     name
	attempt   int32
	// nilPayload tells a nil Payload from an empty one.
	nilPayload bool
	live       bool
}

// name is the index of a string in the driver's table of names, which
// holds the kinds and states of the jobs.
type name uint32

// nameOf returns the name of s, adding it to the table if it is new.
func (d *Driver) nameOf(s string) name {
	if n, ok := d.nameIdx[s]; ok {
		return n
	}
	n := name(len(d.names))
	d.names = append(d.names, s)
	d.nameIdx[s] = n
	return n
}

// noName is the name of no string: no record has it.
const noName = ^name(0)

// lookupName returns the name of s if s is in the table; it never adds
// one, so that read units may call it.
func (d *Driver) lookupName(s string) (name, bool) {
	n, ok := d.nameIdx[s]
	return n, ok
}

// uniqueKey returns the unique key of r.
func (r *jobRec) uniqueKey() string {
	if r.keyHead == "" {
		return r.keyTail
	}
	return r.keyHead + r.keyTail
}

// keyed reports whether r has a unique key.
func (r *jobRec) keyed() bool { return r.keyHead != "" || r.keyTail != "" }

// hasKey reports whether key is the unique key of r.
func (r *jobRec) hasKey(key string) bool {
	n := len(r.keyHead)
	return len(key) == n+len(r.keyTail) && key[:n] == r.keyHead && key[n:] == r.keyTail
}

func (d *Driver) kindOf(r *jobRec) string          { return d.names[r.kind] }
func (d *Driver) stateOf(r *jobRec) store.JobState { return store.JobState(d.names[r.state]) }

// stamp is a time.Time without its monotonic reading, in 16 bytes instead
// of 24: its Unix seconds and nanoseconds, and its location as an index
// in the driver's table of locations. Driver.time gives back a time.Time
// == to the one stored, location included. Stamps compare like their times.
type stamp struct {
	sec  int64
	nsec int32
	loc  uint32
}

// at is the stamp of t to compare with, without its location.
func at(t time.Time) stamp { return stamp{sec: t.Unix(), nsec: int32(t.Nanosecond())} }

func (s stamp) compare(o stamp) int {
	if c := cmp.Compare(s.sec, o.sec); c != 0 {
		return c
	}
	return cmp.Compare(s.nsec, o.nsec)
}

// maxLocations bounds the driver's table of locations. Times in the
// locations beyond it read back in UTC (the same instant), as the SQL
// drivers' do: each time.LoadLocation or FixedZone call makes a new one.
const maxLocations = 64

// stamp returns the stamp of t, adding t's location to the table if it is
// new (there are few: UTC, Local, perhaps one more; see maxLocations).
func (d *Driver) stamp(t time.Time) stamp {
	s := at(t)
	loc := t.Location()
	for i, l := range d.locs {
		if l == loc {
			s.loc = uint32(i)
			return s
		}
	}
	if len(d.locs) >= maxLocations {
		return s // locs[0] is UTC
	}
	s.loc = uint32(len(d.locs))
	d.locs = append(d.locs, loc)
	return s
}

// time is the time.Time of s.
func (d *Driver) time(s stamp) time.Time { return time.Unix(s.sec, int64(s.nsec)).In(d.locs[s.loc]) }

// minSharedKey is the shortest prefix a unique key shares with an earlier
// one: for less, the key is stored whole.
const minSharedKey = 16

// record returns j as a record, to store under j.ID. Its unique key and
// payload share the bytes of the last ones stored (Driver.lastKey,
// Driver.lastPayload) where they are the same.
func (d *Driver) record(j *store.Job) jobRec {
	r := jobRec{keyTail: j.UniqueKey, payload: d.lastPayload}
	if n := commonPrefix(d.lastKey, j.UniqueKey); n >= minSharedKey {
		r.keyHead, r.keyTail = d.lastKey[:n], strings.Clone(j.UniqueKey[n:])
	} else if j.UniqueKey != "" {
		d.lastKey = j.UniqueKey
	}
	if string(j.Payload) != d.lastPayload {
		r.payload = string(j.Payload)
		d.lastPayload = r.payload
	}
	r.nilPayload = j.Payload == nil
	r.lastError = j.LastError
	r.runAt, r.lease = d.stamp(j.RunAt), d.stamp(j.LeaseUntil)
	r.created, r.finished = d.stamp(j.Created), d.stamp(j.Finished)
	r.kind, r.state = d.nameOf(j.Kind), d.nameOf(string(j.State))
	r.attempt = int32(j.Attempt)
	r.live = true
	return r
}

// commonPrefix returns the length of the longest common prefix of a and b.
func commonPrefix(a, b string) int {
	n := min(len(a), len(b))
	for i := range n {
		if a[i] != b[i] {
			return i
		}
	}
	return n
}

// job returns a new store.Job of the record r of job id.
func (d *Driver) job(id int64, r *jobRec) *store.Job {
	j := &store.Job{
		ID:         id,
		Kind:       d.kindOf(r),
		UniqueKey:  r.uniqueKey(),
		State:      d.stateOf(r),
		Attempt:    int(r.attempt),
		RunAt:      d.time(r.runAt),
		LeaseUntil: d.time(r.lease),
		LastError:  r.lastError,
		Created:    d.time(r.created),
		Finished:   d.time(r.finished),
	}
	if !r.nilPayload {
		j.Payload = []byte(r.payload)
	}
	return j
}

// isDone reports whether the state of r is final: completed or discarded.
func (d *Driver) isDone(r *jobRec) bool {
	s := d.stateOf(r)
	return s == store.JobCompleted || s == store.JobDiscarded
}

// ---------------------------------------------------------------- jobs

// setJob stores r as job id (a zero r deletes the job), keeps the
// indexes in step and logs the inverse.
//
// The ready heap of a kind is validated when read: an entry stands for
// its job only while the job is available or retryable with the entry's
// RunAt. A job leaves those states only by being claimed, which pops its
// entry, or by a rollback, which stores the earlier job again and so
// pushes an entry for it; stale entries are rare and dropped when met.
func (t *tx) setJob(id int64, r jobRec) {
	d := t.d
	c, i := jobPlace(id)
	if c >= len(d.jobs.chunks) {
		d.jobs.chunks = append(d.jobs.chunks, make([]*jobChunk, c+1-len(d.jobs.chunks))...)
	}
	ch := d.jobs.chunks[c]
	if ch == nil {
		ch = &jobChunk{}
		d.jobs.chunks[c] = ch
	}
	old := ch.recs[i]
	// A job keeps its unique key through its states: the index is left
	// alone then (no key made, hashed and indexed again for each claim,
	// renewal or completion).
	sameKey := old.live && r.live && old.keyHead == r.keyHead && old.keyTail == r.keyTail
	if old.live {
		if !sameKey && old.keyed() {
			d.unique.remove(old.uniqueKey(), id)
		}
		kind, state := d.kindOf(&old), d.stateOf(&old)
		if state == store.JobRunning {
			delete(d.running[kind], id)
		}
		counts := d.counts[kind]
		if counts[state]--; counts[state] == 0 {
			delete(counts, state)
		}
		if d.isDone(&old) {
			ch.done--
		}
		ch.live--
	}
	ch.recs[i] = r
	if r.live {
		kind, state := d.kindOf(&r), d.stateOf(&r)
		if !sameKey && r.keyed() {
			d.unique.add(r.uniqueKey(), id)
		}
		switch state {
		case store.JobCompleted, store.JobDiscarded:
			ch.done++
		case store.JobRunning:
			running := d.running[kind]
			if running == nil {
				running = make(map[int64]bool)
				d.running[kind] = running
			}
			running[id] = true
		default:
			h := d.ready[kind]
			if h == nil {
				h = &readyHeap{}
				d.ready[kind] = h
			}
			heap.Push(h, readyEntry{runAt: r.runAt, id: id})
		}
		counts := d.counts[kind]
		if counts == nil {
			counts = make(map[store.JobState]int)
			d.counts[kind] = counts
		}
		counts[state]++
		ch.live++
	}
	if ch.live == 0 {
		d.jobs.chunks[c] = nil
	}
	t.undo = append(t.undo, func() { t.setJob(id, old) })
}

func (t *tx) InsertJob(ctx context.Context, j *store.Job) (bool, error) {
	if err := t.check(ctx, true); err != nil {
		return false, err
	}
	if j.UniqueKey != "" {
		if _, ok := t.d.uniqueID(j.UniqueKey); ok {
			return false, nil
		}
	}
	t.d.jobSeq++
	id, created := t.d.jobSeq, j.Created
	if created.IsZero() {
		created = now()
	}
	r := t.d.record(j)
	r.created = t.d.stamp(created)
	t.setJob(id, r)
	j.ID, j.Created = id, created
	return true, nil
}

func (t *tx) ClaimJobs(ctx context.Context, p store.ClaimParams) ([]*store.Job, error) {
	if err := t.check(ctx, true); err != nil {
		return nil, err
	}
	d := t.d
	now := at(p.Now)
	// cand is a job that may be claimed, with its record.
	type cand struct {
		id int64
		r  *jobRec
	}
	older := func(a, b cand) int { return claimOrder(a.r.runAt, a.id, b.r.runAt, b.id) }
	// The candidates: of each kind, the p.Limit first due jobs of its
	// ready heap (popped: claimed, or pushed back below) and the running
	// jobs whose lease expired (as many as the kind's workers run, not
	// the backlog). A claim costs O(Limit log n), not a walk of the n
	// queued jobs.
	var cands []cand
	seen := make(map[int64]bool)
	// A job has one kind: listing a kind twice must not claim it twice.
	for _, kind := range slices.Compact(slices.Sorted(slices.Values(p.Kinds))) {
		if h := d.ready[kind]; h != nil {
			taken := 0
			for h.Len() > 0 && taken < p.Limit && h.entries[0].runAt.compare(now) <= 0 {
				e := heap.Pop(h).(readyEntry)
				r := d.current(e)
				if r == nil || seen[e.id] {
					continue // stale
				}
				seen[e.id] = true
				cands = append(cands, cand{e.id, r})
				taken++
			}
		}
		for id := range d.running[kind] {
			if r := d.jobs.get(id); r.lease.compare(now) <= 0 {
				cands = append(cands, cand{id, r})
			}
		}
	}
	slices.SortFunc(cands, older)
	for _, c := range cands[min(p.Limit, len(cands)):] {
		if d.stateOf(c.r) != store.JobRunning { // not claimed: back in its heap
			heap.Push(d.ready[d.kindOf(c.r)], readyEntry{runAt: c.r.runAt, id: c.id})
		}
	}
	cands = cands[:min(p.Limit, len(cands))]
	out := make([]*store.Job, 0, len(cands))
	lease, running := d.stamp(p.LeaseUntil), d.nameOf(string(store.JobRunning))
	for _, c := range cands {
		r := *c.r
		r.state, r.attempt, r.lease = running, r.attempt+1, lease
		t.setJob(c.id, r)
		out = append(out, d.job(c.id, &r))
	}
	return out, nil
}

// running returns the record of job id if it is running with that
// attempt.
func (t *tx) running(id int64, attempt int) (*jobRec, error) {
	r := t.d.jobs.get(id)
	if r == nil {
		return nil, fmt.Errorf("memstore: job %d: %w", id, store.ErrNotFound)
	}
	if s := t.d.stateOf(r); s != store.JobRunning || int(r.attempt) != attempt {
		return nil, fmt.Errorf("memstore: job %d attempt %d (now %s, attempt %d): %w", id, attempt, s, r.attempt, store.ErrLeaseLost)
	}
	return r, nil
}

func (t *tx) FinishJob(ctx context.Context, res store.JobResult) error {
	if err := t.check(ctx, true); err != nil {
		return err
	}
	old, err := t.running(res.ID, res.Attempt)
	if err != nil {
		return err
	}
	r := *old
	switch res.State {
	case store.JobCompleted:
		if res.Forget {
			t.setJob(res.ID, jobRec{})
			return nil
		}
		r.finished = t.d.stamp(res.At)
	case store.JobRetryable:
		r.runAt, r.lastError = t.d.stamp(res.RunAt), res.Error
	case store.JobAvailable:
		r.runAt = t.d.stamp(res.RunAt)
		r.attempt--
	case store.JobDiscarded:
		r.lastError, r.finished = res.Error, t.d.stamp(res.At)
	default:
		return fmt.Errorf("memstore: job %d: cannot finish as %q", res.ID, res.State)
	}
	r.state = t.d.nameOf(string(res.State))
	t.setJob(res.ID, r)
	return nil
}

func (t *tx) ExtendLease(ctx context.Context, id int64, attempt int, until time.Time) error {
	if err := t.check(ctx, true); err != nil {
		return err
	}
	old, err := t.running(id, attempt)
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("memstore: job %d: %w", id, store.ErrLeaseLost)
	}
	if err != nil {
		return err
	}
	r := *old
	r.lease = t.d.stamp(until)
	t.setJob(id, r)
	return nil
}

func (t *tx) GetJob(ctx context.Context, id int64) (*store.Job, error) {
	if err := t.check(ctx, false); err != nil {
		return nil, err
	}
	r := t.d.jobs.get(id)
	if r == nil {
		return nil, fmt.Errorf("memstore: job %d: %w", id, store.ErrNotFound)
	}
	return t.d.job(id, r), nil
}

// jobFilter is a store.JobQuery's kinds and states as names, to match
// records with.
type jobFilter struct {
	kinds, states []name
	none          bool // a kind or state of q is not in the table: no job matches
	uniqueKey     string
	due           bool  // q.DueBy is set: available or retryable by dueBy only
	dueBy         stamp // q.DueBy
	ready         [2]name
}

func (d *Driver) filter(q store.JobQuery) jobFilter {
	f := jobFilter{uniqueKey: q.UniqueKey, due: !q.DueBy.IsZero(), dueBy: at(q.DueBy)}
	if f.due {
		for i, s := range []store.JobState{store.JobAvailable, store.JobRetryable} {
			f.ready[i] = noName
			if n, ok := d.lookupName(string(s)); ok {
				f.ready[i] = n
			}
		}
	}
	for _, k := range q.Kinds {
		if n, ok := d.lookupName(k); ok {
			f.kinds = append(f.kinds, n)
		}
	}
	for _, s := range q.States {
		if n, ok := d.lookupName(string(s)); ok {
			f.states = append(f.states, n)
		}
	}
	f.none = (len(q.Kinds) > 0 && len(f.kinds) == 0) || (len(q.States) > 0 && len(f.states) == 0)
	return f
}

func (f *jobFilter) matches(r *jobRec) bool {
	return !f.none && (len(f.kinds) == 0 || slices.Contains(f.kinds, r.kind)) &&
		(len(f.states) == 0 || slices.Contains(f.states, r.state)) &&
		(f.uniqueKey == "" || r.hasKey(f.uniqueKey)) &&
		(!f.due || (r.state == f.ready[0] || r.state == f.ready[1]) && r.runAt.compare(f.dueBy) <= 0)
}

// ListJobs reads the jobs in ID order from q.AfterID (a unique key is
// looked up directly); it is meant for operators, not hot paths.
func (t *tx) ListJobs(ctx context.Context, q store.JobQuery) ([]*store.Job, error) {
	if err := t.check(ctx, false); err != nil {
		return nil, err
	}
	var out []*store.Job
	t.eachJob(q, func(id int64, r *jobRec) bool {
		out = append(out, t.d.job(id, r))
		return len(out) < q.Limit
	})
	return out, nil
}

func (t *tx) CountJobs(ctx context.Context, q store.JobQuery) (int, error) {
	if err := t.check(ctx, false); err != nil {
		return 0, err
	}
	n := 0
	if q.UniqueKey == "" && !q.DueBy.IsZero() {
		return t.countDue(q), nil
	}
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
	t.eachJob(q, func(int64, *jobRec) bool { n++; return true })
	return n, nil
}

// countDue counts the jobs matching q, whose DueBy is set, from the ready
// heaps of its kinds (the jobs due, by when), not a walk of every job.
// An entry may be stale or, after a rolled-back unit, there twice: each
// is checked against its job, and a job counted once.
func (t *tx) countDue(q store.JobQuery) int {
	f := t.d.filter(q)
	if f.none {
		return 0
	}
	seen := make(map[int64]struct{})
	for kind, h := range t.d.ready {
		if len(q.Kinds) > 0 && !slices.Contains(q.Kinds, kind) {
			continue
		}
		for _, e := range h.entries {
			if e.runAt.compare(f.dueBy) > 0 {
				continue
			}
			if r := t.d.current(e); r != nil && f.matches(r) {
				seen[e.id] = struct{}{}
			}
		}
	}
	return len(seen)
}

// eachJob calls fn for the jobs matching q with ID > q.AfterID, by
// ascending ID, until fn returns false.
func (t *tx) eachJob(q store.JobQuery, fn func(id int64, r *jobRec) bool) {
	f := t.d.filter(q)
	if f.none {
		return
	}
	if q.UniqueKey != "" {
		if id, ok := t.d.uniqueID(q.UniqueKey); ok && id > q.AfterID {
			if r := t.d.jobs.get(id); f.matches(r) {
				fn(id, r)
			}
		}
		return
	}
	t.d.jobs.all(q.AfterID+1, func(id int64, r *jobRec) bool {
		return !f.matches(r) || fn(id, r)
	})
}

func (t *tx) DeleteJobs(ctx context.Context, before time.Time, limit int) (int, error) {
	if err := t.check(ctx, true); err != nil {
		return 0, err
	}
	type finished struct {
		id int64
		at stamp
	}
	var old []finished
	end := at(before)
	for c, ch := range t.d.jobs.chunks {
		if ch == nil || ch.done == 0 {
			continue
		}
		for i := range ch.recs {
			if r := &ch.recs[i]; r.live && t.d.isDone(r) && r.finished.compare(end) < 0 {
				old = append(old, finished{int64(c)*int64(jobChunkSize) + int64(i) + 1, r.finished})
			}
		}
	}
	slices.SortFunc(old, func(a, b finished) int {
		if c := a.at.compare(b.at); c != 0 {
			return c
		}
		return cmp.Compare(a.id, b.id)
	})
	if len(old) > limit {
		old = old[:limit]
	}
	for _, f := range old {
		t.setJob(f.id, jobRec{})
	}
	return len(old), nil
}

// uniqueIndex maps the unique keys of jobs to their IDs, like a
// map[string]int64 but with a 64-bit hash of the key in place of the key,
// which the job's record holds (see Driver.uniqueID). Keys with the hash
// of another key in byHash (rare) are in clash, whole.
type uniqueIndex struct {
	seed   maphash.Seed
	mask   uint64 // of the hash: all ones, but tests narrow it to make keys clash
	byHash map[uint64]int64
	clash  map[string]int64
}

func newUniqueIndex() uniqueIndex {
	return uniqueIndex{seed: maphash.MakeSeed(), mask: ^uint64(0), byHash: make(map[uint64]int64), clash: make(map[string]int64)}
}

func (u *uniqueIndex) hash(key string) uint64 { return maphash.String(u.seed, key) & u.mask }

// add indexes key, which no job holds, as the key of job id.
func (u *uniqueIndex) add(key string, id int64) {
	h := u.hash(key)
	if _, taken := u.byHash[h]; taken {
		u.clash[key] = id
		return
	}
	u.byHash[h] = id
}

// remove drops key, the key of job id.
func (u *uniqueIndex) remove(key string, id int64) {
	h := u.hash(key)
	if held, ok := u.byHash[h]; ok && held == id {
		delete(u.byHash, h)
		return
	}
	delete(u.clash, key)
}

// uniqueID returns the ID of the job that holds the unique key.
func (d *Driver) uniqueID(key string) (int64, bool) {
	if id, ok := d.unique.byHash[d.unique.hash(key)]; ok && d.jobs.get(id).hasKey(key) {
		return id, true
	}
	id, ok := d.unique.clash[key]
	return id, ok
}

// readyEntry is a job of a ready heap: available or retryable from runAt.
type readyEntry struct {
	runAt stamp
	id    int64
}

// current returns the record of e's job if e stands for it (the job is
// available or retryable with e's RunAt), nil if e is stale.
func (d *Driver) current(e readyEntry) *jobRec {
	r := d.jobs.get(e.id)
	if r == nil || r.runAt.compare(e.runAt) != 0 {
		return nil
	}
	if s := d.stateOf(r); s != store.JobAvailable && s != store.JobRetryable {
		return nil
	}
	return r
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
func claimOrder(atA stamp, idA int64, atB stamp, idB int64) int {
	if c := atA.compare(atB); c != 0 {
		return c
	}
	return cmp.Compare(idA, idB)
}
func (h *readyHeap) Swap(i, k int) { h.entries[i], h.entries[k] = h.entries[k], h.entries[i] }
func (h *readyHeap) Push(x any)    { h.entries = append(h.entries, x.(readyEntry)) }

// Pop removes the last entry. When the heap has shrunk to a quarter of
// its array, the entries move to a smaller one: a backlog once queued
// does not keep its array for the life of the driver.
func (h *readyHeap) Pop() any {
	e := h.entries[len(h.entries)-1]
	h.entries = h.entries[:len(h.entries)-1]
	if cap(h.entries) > 64 && len(h.entries) < cap(h.entries)/4 {
		h.entries = slices.Clone(h.entries)
	}
	return e
}
