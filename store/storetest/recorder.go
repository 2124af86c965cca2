package storetest

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/slothpub/slothpub/store"
)

// Recorder is a store.Driver that records the data writes of the units
// it commits: tests open a store.DB over it to check what a request
// wrote, or that it wrote nothing. Writes of a unit that fails are not
// recorded, as they are not kept. Recorded are object, collection, key,
// account and value writes, and job inserts ("InsertJob kind"); the job
// life cycle (claims, leases, outcomes) is not, being the machinery rather
// than the data.
type Recorder struct {
	store.Driver

	mu     sync.Mutex
	writes []string
}

// NewRecorder returns a Recorder over d.
func NewRecorder(d store.Driver) *Recorder { return &Recorder{Driver: d} }

// Writes returns every write recorded so far, in commit order, as
// "Op args", e.g. "AddItem https://b.example/users/bob/followers https://a.example/users/alice".
func (r *Recorder) Writes() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.writes...)
}

// Count returns the number of writes recorded so far.
func (r *Recorder) Count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.writes)
}

// Since returns the writes recorded after the first n.
func (r *Recorder) Since(n int) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.writes[min(n, len(r.writes)):]...)
}

// Update runs fn over a recording unit and records its writes if it
// commits.
func (r *Recorder) Update(ctx context.Context, fn func(tx store.DriverTx) error) error {
	var unit *recordingTx
	err := r.Driver.Update(ctx, func(tx store.DriverTx) error {
		unit = &recordingTx{DriverTx: tx} // a retried unit starts over
		return fn(unit)
	})
	if err == nil && unit != nil {
		r.mu.Lock()
		r.writes = append(r.writes, unit.writes...)
		r.mu.Unlock()
	}
	return err
}

type recordingTx struct {
	store.DriverTx
	writes []string
}

func (t *recordingTx) note(err error, op string, args ...any) error {
	if err == nil {
		t.writes = append(t.writes, op+" "+fmt.Sprint(args...))
	}
	return err
}

func (t *recordingTx) InsertObject(ctx context.Context, o *store.Object) error {
	return t.note(t.DriverTx.InsertObject(ctx, o), "CreateObject", o.IRI, " ", string(o.Data))
}

func (t *recordingTx) PutObject(ctx context.Context, o *store.Object) error {
	return t.note(t.DriverTx.PutObject(ctx, o), "PutObject", o.IRI, " ", string(o.Data))
}

func (t *recordingTx) DeleteObject(ctx context.Context, iri string) error {
	return t.note(t.DriverTx.DeleteObject(ctx, iri), "DeleteObject", iri)
}

func (t *recordingTx) AddItem(ctx context.Context, collection, item string) (int64, error) {
	seq, err := t.DriverTx.AddItem(ctx, collection, item)
	return seq, t.note(err, "AddItem", collection, " ", item)
}

func (t *recordingTx) RemoveItem(ctx context.Context, collection, item string) error {
	return t.note(t.DriverTx.RemoveItem(ctx, collection, item), "RemoveItem", collection, " ", item)
}

func (t *recordingTx) PutKey(ctx context.Context, k *store.Key) error {
	return t.note(t.DriverTx.PutKey(ctx, k), "PutKey", k.ID)
}

func (t *recordingTx) DeleteKey(ctx context.Context, id string) error {
	return t.note(t.DriverTx.DeleteKey(ctx, id), "DeleteKey", id)
}

func (t *recordingTx) CreateAccount(ctx context.Context, a *store.Account) error {
	return t.note(t.DriverTx.CreateAccount(ctx, a), "CreateAccount", a.Username)
}

func (t *recordingTx) PutValue(ctx context.Context, key string, value []byte, expires time.Time) error {
	return t.note(t.DriverTx.PutValue(ctx, key, value, expires), "PutValue", key, " ", string(value))
}

func (t *recordingTx) DeleteValue(ctx context.Context, key string, now time.Time) error {
	return t.note(t.DriverTx.DeleteValue(ctx, key, now), "DeleteValue", key)
}

func (t *recordingTx) InsertJob(ctx context.Context, j *store.Job) (bool, error) {
	ok, err := t.DriverTx.InsertJob(ctx, j)
	if ok {
		err = t.note(err, "InsertJob", j.Kind, " ", string(j.Payload))
	}
	return ok, err
}
