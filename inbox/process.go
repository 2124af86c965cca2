package inbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"sync"
	"time"

	"github.com/slothpub/slothpub/actor"
	"github.com/slothpub/slothpub/ap"
	"github.com/slothpub/slothpub/httpsig"
	"github.com/slothpub/slothpub/store"
	"github.com/slothpub/slothpub/store/worker"
)

// jobPayload is what the processing job of an accepted activity carries:
// the activity itself is in the store, under ID.
type jobPayload struct {
	ID string `json:"id"`
	// Receiver is the username of the personal inbox it came to; "" for
	// the shared inbox.
	Receiver string `json:"to,omitempty"`
	// What the HTTP signature proved (the key itself is not kept).
	KeyID     string    `json:"kid,omitempty"`
	Owner     string    `json:"owner,omitempty"`
	Algorithm string    `json:"alg,omitempty"`
	Scheme    string    `json:"scheme,omitempty"`
	Signed    time.Time `json:"signed,omitzero"`
}

func newJobPayload(a *Activity) jobPayload {
	p := jobPayload{ID: a.idString()}
	if a.Receiver != nil {
		p.Receiver = a.Receiver.Username
	}
	if s := a.Signature; s != nil {
		p.KeyID, p.Owner, p.Algorithm, p.Scheme, p.Signed = s.KeyID, s.Owner, s.Algorithm, s.Scheme, s.Created
	}
	return p
}

// marshal encodes p as json.Marshal does, without its reflection: one is
// encoded for every activity accepted.
func (p jobPayload) marshal() ([]byte, error) {
	if y := p.Signed.Year(); y < 0 || y > 9999 {
		return json.Marshal(p) // which refuses it, as it refuses such a time
	}
	b := make([]byte, 0, 128+len(p.ID)+len(p.Receiver)+len(p.KeyID)+len(p.Owner)+len(p.Algorithm)+len(p.Scheme))
	b = append(b, `{"id":`...)
	b = appendJSONString(b, p.ID)
	for _, f := range [...]struct{ name, v string }{
		{`,"to":`, p.Receiver}, {`,"kid":`, p.KeyID}, {`,"owner":`, p.Owner}, {`,"alg":`, p.Algorithm}, {`,"scheme":`, p.Scheme},
	} {
		if f.v != "" {
			b = appendJSONString(append(b, f.name...), f.v)
		}
	}
	if !p.Signed.IsZero() {
		b = append(b, `,"signed":"`...)
		b = append(p.Signed.AppendFormat(b, time.RFC3339Nano), '"')
	}
	return append(b, '}'), nil
}

// appendJSONString appends s as a JSON string, as json.Marshal encodes it.
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			enc, _ := json.Marshal(s) // escapes needed: never fails on a string
			return append(b, enc...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// key is what the idempotency of the activity's processing is keyed by:
// its id, and for an activity of our own (delivered in process to a local
// inbox, stored once by the outbox) the receiving actor too, so that each
// local receiver processes it once.
func (a *Activity) key() string {
	if a.local {
		k := a.idString() + " "
		if a.Receiver != nil {
			k += a.Receiver.IRI().String()
		}
		return k
	}
	return a.idString()
}

// load rebuilds the Activity a job is about from the store.
func (h *Handler) load(ctx context.Context, p jobPayload) (*Activity, error) {
	o, err := h.db.GetObject(ctx, p.ID)
	if err != nil {
		return nil, fmt.Errorf("inbox: stored activity %s: %w", p.ID, err)
	}
	if o.Type == "Tombstone" {
		return nil, fmt.Errorf("inbox: stored activity %s was deleted: %w", p.ID, store.ErrNotFound)
	}
	d, err := ap.Decode(o.Data)
	if err != nil {
		return nil, fmt.Errorf("inbox: stored activity %s: %w", p.ID, err)
	}
	id, err := url.Parse(p.ID)
	if err != nil {
		return nil, err
	}
	var receiver *actor.Actor
	if p.Receiver != "" {
		if receiver, err = h.actors.Get(ctx, p.Receiver); err != nil {
			return nil, fmt.Errorf("inbox: receiver of %s: %w", p.ID, err)
		}
	}
	acts := d.Actors()
	if len(acts) != 1 {
		return nil, fmt.Errorf("inbox: stored activity %s has %d actors", p.ID, len(acts))
	}
	sig := &httpsig.Result{KeyID: p.KeyID, Owner: p.Owner, Algorithm: p.Algorithm, Scheme: p.Scheme, Created: p.Signed}
	return &Activity{ID: id, Type: d.Type(), Actor: acts[0], Doc: d, Raw: o.Data, Signature: sig,
		Receiver: receiver, local: h.actors.IsLocal(id), id: id.String(), actor: acts[0].String()}, nil
}

// processJob is the worker's handler of ProcessKind: it applies the
// default side effects in one unit of work, then runs the listeners in
// order, recording after each step how far it got, so that an attempt
// after a failure (or a crash) runs only what did not happen yet. An error
// with a 4xx status ends the activity (its job is discarded with the
// reason, the activity stays stored); any other error is retried by the
// worker, with backoff.
func (h *Handler) processJob(ctx context.Context, j *store.Job) error {
	act := h.handoff.take(j.ID)
	if act == nil {
		var p jobPayload
		if err := json.Unmarshal(j.Payload, &p); err != nil || p.ID == "" {
			return worker.Discard(fmt.Errorf("inbox: unreadable job payload: %v", err))
		}
		var err error
		act, err = h.load(ctx, p)
		if errors.Is(err, store.ErrNotFound) {
			return worker.Discard(err)
		} else if err != nil {
			return err
		}
	}
	key := act.key()
	h.mu.RLock()
	ls := append(append([]Listener(nil), h.listeners[act.Type]...), h.listeners[""]...)
	h.mu.RUnlock()
	prog, saved, err := h.loadProgress(ctx, h.db, key)
	if err != nil {
		return err
	}
	if !prog.Effects {
		if !h.opts.DisableDefaults {
			h.prefetch(ctx, act)
		}
		err := h.db.Update(ctx, func(tx *store.Tx) error {
			ctx := store.WithTx(ctx, tx)
			if !h.opts.DisableDefaults {
				if err := h.sideEffects(ctx, tx, act); err != nil {
					return err
				}
			}
			if len(ls) == 0 {
				return h.finish(ctx, tx, j, key, saved)
			}
			return h.saveProgress(ctx, tx, key, progress{Effects: true})
		})
		if err != nil {
			return h.failed(ctx, j, key, err)
		}
		// The effects may have enqueued work (the fan-out of an Accept).
		h.opts.Worker.Notify()
		if len(ls) == 0 {
			return worker.ErrFinished
		}
		prog.Effects, saved = true, true
	}
	for prog.Listeners < len(ls) {
		if err := ls[prog.Listeners](ctx, act); err != nil {
			return h.failed(ctx, j, key, err)
		}
		prog.Listeners++
		if prog.Listeners < len(ls) {
			if err := h.saveProgress(ctx, h.db, key, prog); err != nil {
				return err
			}
		}
	}
	if err := h.db.Update(ctx, func(tx *store.Tx) error { return h.finish(ctx, tx, j, key, saved) }); err != nil {
		return err
	}
	return worker.ErrFinished
}

// finish marks the activity processed and completes its job, in tx.
func (h *Handler) finish(ctx context.Context, tx *store.Tx, j *store.Job, key string, saved bool) error {
	if err := ignoreExists(tx.AddItem(ctx, processedKey, key)); err != nil {
		return fmt.Errorf("inbox: mark processed: %w", err)
	}
	if saved {
		if err := ignoreNotFound(tx.DeleteValue(ctx, progressKey(key))); err != nil {
			return err
		}
	}
	return tx.Complete(ctx, j)
}

// failed decides what a failed step means: a 4xx error ends the activity
// (it is marked processed and its job discarded with the error as the
// reason: trying again cannot help); any other is returned for the worker
// to retry.
func (h *Handler) failed(ctx context.Context, j *store.Job, key string, err error) error {
	status := ap.StatusOf(err)
	if status < 400 || status >= 500 || errors.Is(err, store.ErrLeaseLost) {
		return err
	}
	h.log.InfoContext(ctx, "inbox: activity refused while processing", "key", key, "status", status, "err", err)
	if uerr := h.db.Update(ctx, func(tx *store.Tx) error {
		if err := ignoreExists(tx.AddItem(ctx, processedKey, key)); err != nil {
			return err
		}
		if err := ignoreNotFound(tx.DeleteValue(ctx, progressKey(key))); err != nil {
			return err
		}
		return tx.Discard(ctx, j, err.Error())
	}); uerr != nil {
		return uerr
	}
	return worker.ErrFinished
}

// prefetch dereferences, before the unit of work that applies the side
// effects (which must do no network I/O), the objects they refer to by
// IRI: the object of an Announce (an embedded copy was replaced by its id:
// see distrust) and the objects a Create or Update gives by IRI. It is
// best effort, within one FetchTimeout: an object that cannot be fetched
// is recorded by IRI only.
func (h *Handler) prefetch(ctx context.Context, a *Activity) {
	if h.opts.Fetcher == nil {
		return
	}
	var iris []*url.URL
	ids, vals := a.Doc.ObjectRefs()
	switch a.Type {
	case "Announce":
		iris = ids
	case "Create", "Update":
		for i, id := range ids {
			if vals[i] == nil {
				iris = append(iris, id)
			}
		}
	}
	if len(iris) == 0 {
		return
	}
	if h.opts.FetchTimeout > 0 {
		ctx = ap.WithFetchDeadline(ctx, time.Now().Add(h.opts.FetchTimeout))
	}
	for _, iri := range iris {
		if h.actors.IsLocal(iri) {
			continue
		}
		if _, err := h.opts.Fetcher.Object(ctx, iri); err != nil {
			h.log.WarnContext(ctx, "inbox: dereferencing object", "iri", iri.String(), "err", err)
		}
	}
}

// handoff passes activities from the request that accepted them to the
// job that processes them in the same process, so that the job does not
// read and parse again what the request just parsed. It is only a cache:
// a job that finds nothing (run by another process, after a restart, or
// when the handoff was full) loads the activity from the store.
type handoff struct {
	mu    sync.Mutex
	acts  map[int64]handed // by the ID of their job
	bytes int              // of their Raw documents
}

type handed struct {
	a  *Activity
	at time.Time
}

// maxHandoffBytes bounds the documents the handoff holds; handoffAge is
// how long one is kept for a job that may have run elsewhere.
const (
	maxHandoffBytes = 16 << 20
	handoffAge      = time.Minute
)

func (ho *handoff) put(job int64, a *Activity) {
	ho.mu.Lock()
	defer ho.mu.Unlock()
	if ho.acts == nil {
		ho.acts = map[int64]handed{}
	}
	if _, ok := ho.acts[job]; ok {
		return
	}
	now := time.Now()
	if ho.bytes+len(a.Raw) > maxHandoffBytes {
		for k, e := range ho.acts { // taken by jobs of another process
			if now.Sub(e.at) > handoffAge {
				delete(ho.acts, k)
				ho.bytes -= len(e.a.Raw)
			}
		}
		if ho.bytes+len(a.Raw) > maxHandoffBytes {
			return
		}
	}
	ho.acts[job] = handed{a: a, at: now}
	ho.bytes += len(a.Raw)
}

func (ho *handoff) take(job int64) *Activity {
	ho.mu.Lock()
	defer ho.mu.Unlock()
	e, ok := ho.acts[job]
	if !ok {
		return nil
	}
	delete(ho.acts, job)
	ho.bytes -= len(e.a.Raw)
	return e.a
}
