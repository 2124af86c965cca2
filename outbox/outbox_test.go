package outbox_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"code.superseriousbusiness.org/activity/streams"
	"code.superseriousbusiness.org/activity/streams/vocab"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slothpub/slothpub/actor"
	"github.com/slothpub/slothpub/ap"
	"github.com/slothpub/slothpub/deref"
	"github.com/slothpub/slothpub/outbox"
	"github.com/slothpub/slothpub/store"
	"github.com/slothpub/slothpub/store/memstore"
	"github.com/slothpub/slothpub/store/worker"
)

// resolver serves remote actors from a map.
type resolver map[string]*deref.Actor

func (r resolver) Actor(_ context.Context, iri *url.URL) (*deref.Actor, error) {
	if a, ok := r[iri.String()]; ok {
		return a, nil
	}
	return nil, store.ErrNotFound
}

// transport records POSTs and answers each inbox with the statuses queued
// for it (then 202).
type transport struct {
	mu      sync.Mutex
	posts   map[string][][]byte
	answers map[string][]int
	signed  int
}

func newTransport() *transport {
	return &transport{posts: map[string][][]byte{}, answers: map[string][]int{}}
}

func (t *transport) Get(context.Context, *url.URL, ap.RequestSigner) (*ap.Response, error) {
	return nil, errors.New("not used")
}

func (t *transport) Post(_ context.Context, inbox *url.URL, body []byte, s ap.RequestSigner) error {
	req, _ := http.NewRequest(http.MethodPost, inbox.String(), nil)
	if err := s.SignRequest(req, body); err != nil {
		return err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if req.Header.Get("Signature") != "" {
		t.signed++
	}
	t.posts[inbox.String()] = append(t.posts[inbox.String()], body)
	if q := t.answers[inbox.String()]; len(q) > 0 {
		t.answers[inbox.String()] = q[1:]
		if q[0] >= 300 {
			return &ap.RemoteError{Method: http.MethodPost, URL: inbox.String(), StatusCode: q[0]}
		}
	}
	return nil
}

func (t *transport) count(inbox string) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.posts[inbox])
}

type fixture struct {
	st     *store.DB
	actors *actor.Directory
	res    resolver
	alice  *actor.Actor
	tr     *transport
	w      *worker.Worker
	ob     *outbox.Outbox
	opts   outbox.Options
	failed chan outbox.Delivery
	cancel context.CancelFunc
	done   chan struct{}
}

func setup(t *testing.T, opts *outbox.Options) *fixture {
	ctx := context.Background()
	st := memstore.New()
	actors := actor.NewDirectory(st, "local.example", nil)
	alice, err := actors.Create(ctx, "alice")
	require.NoError(t, err)
	res := resolver{
		"https://one.example/users/a":  {IRI: "https://one.example/users/a", Inbox: "https://one.example/users/a/inbox", SharedInbox: "https://one.example/inbox"},
		"https://one.example/users/b":  {IRI: "https://one.example/users/b", Inbox: "https://one.example/users/b/inbox", SharedInbox: "https://one.example/inbox"},
		"https://two.example/u/c":      {IRI: "https://two.example/u/c", Inbox: "https://two.example/u/c/inbox"},
		"https://three.example/secret": {IRI: "https://three.example/secret", Inbox: "https://three.example/secret/inbox"},
	}
	for _, f := range []string{"https://one.example/users/a", "https://one.example/users/b", "https://two.example/u/c"} {
		require.NoError(t, st.AddItem(ctx, alice.Followers().String(), f))
	}
	f := &fixture{st: st, actors: actors, res: res, alice: alice, tr: newTransport(), failed: make(chan outbox.Delivery, 16)}
	f.opts = outbox.Options{Backoff: func(int) time.Duration { return time.Millisecond }}
	if opts != nil {
		f.opts = *opts
	}
	f.opts.OnPermanentFailure = func(d outbox.Delivery, _ error) { f.failed <- d }
	f.restart(t)
	return f
}

// restart gives the fixture a new worker and outbox over the same store,
// as a restarted process has.
func (f *fixture) restart(t *testing.T) {
	f.w = worker.New(f.st, &worker.Options{PollInterval: 5 * time.Millisecond, Logger: slog.New(slog.DiscardHandler)})
	o := f.opts
	o.Worker = f.w
	ob, err := outbox.New(f.st, f.actors, f.tr, f.res, &o)
	require.NoError(t, err)
	f.ob = ob
}

func (f *fixture) run(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	f.cancel = cancel
	done := make(chan struct{})
	f.done = done
	w := f.w
	go func() {
		defer close(done)
		_ = w.Run(ctx)
	}()
	t.Cleanup(func() { cancel(); <-done })
}

// wait waits until the outbox has nothing left to do.
func (f *fixture) wait(t *testing.T) {
	t.Helper()
	require.Eventually(t, func() bool {
		n, err := f.ob.Pending(context.Background())
		require.NoError(t, err)
		return n == 0
	}, 5*time.Second, time.Millisecond)
}

func iri(s string) *url.URL { u, _ := url.Parse(s); return u }

func createNote(to, cc, bcc []*url.URL) vocab.ActivityStreamsCreate {
	note := streams.NewActivityStreamsNote()
	content := streams.NewActivityStreamsContentProperty()
	content.AppendXMLSchemaString("hello")
	note.SetActivityStreamsContent(content)
	create := streams.NewActivityStreamsCreate()
	obj := streams.NewActivityStreamsObjectProperty()
	obj.AppendActivityStreamsNote(note)
	create.SetActivityStreamsObject(obj)
	ap.SetTo(create, to...)
	ap.SetCc(create, cc...)
	ap.SetBcc(create, bcc...)
	return create
}

func TestPostAddressesAndDelivers(t *testing.T) {
	f := setup(t, nil)
	f.run(t)
	ctx := context.Background()
	create := createNote([]*url.URL{iri(ap.PublicIRI)}, []*url.URL{f.alice.Followers()}, []*url.URL{iri("https://three.example/secret")})
	id, err := f.ob.Post(ctx, f.alice, create)
	require.NoError(t, err)
	f.wait(t)

	assert.True(t, strings.HasPrefix(id.String(), f.alice.IRI().String()+"/activities/"), id.String())
	// Two followers on one.example share an inbox: one delivery.
	assert.Equal(t, 1, f.tr.count("https://one.example/inbox"))
	assert.Equal(t, 0, f.tr.count("https://one.example/users/a/inbox"))
	assert.Equal(t, 1, f.tr.count("https://two.example/u/c/inbox"))
	assert.Equal(t, 1, f.tr.count("https://three.example/secret/inbox"), "bcc recipients get it")
	assert.Equal(t, 3, f.tr.signed, "every delivery is signed")
	for _, bodies := range f.tr.posts {
		for _, b := range bodies {
			assert.NotContains(t, string(b), "three.example/secret", "bcc never leaves the server")
			assert.NotContains(t, string(b), `"bcc"`)
		}
	}

	// Stored: the activity in the outbox collection, the note with a local id.
	ok, err := f.st.HasItem(ctx, f.alice.Outbox().String(), id.String())
	require.NoError(t, err)
	assert.True(t, ok)
	act, err := f.st.GetObject(ctx, id.String())
	require.NoError(t, err)
	assert.True(t, act.Local)
	v, err := ap.Parse(ctx, act.Data)
	require.NoError(t, err)
	objs := ap.Objects(v)
	require.Len(t, objs, 1)
	assert.True(t, strings.HasPrefix(objs[0].String(), f.alice.IRI().String()+"/statuses/"))
	note, err := f.st.GetObject(ctx, objs[0].String())
	require.NoError(t, err)
	assert.Equal(t, "Note", note.Type)
	assert.Contains(t, string(note.Data), f.alice.IRI().String(), "attributedTo is set")
}

func TestRetriesThenDelivers(t *testing.T) {
	f := setup(t, nil)
	f.tr.answers["https://two.example/u/c/inbox"] = []int{503, 500}
	f.run(t)
	_, err := f.ob.Post(context.Background(), f.alice, createNote([]*url.URL{iri("https://two.example/u/c")}, nil, nil))
	require.NoError(t, err)
	f.wait(t)
	assert.Equal(t, 3, f.tr.count("https://two.example/u/c/inbox"))
	assert.Empty(t, f.failed)
}

func TestPermanentFailureIsNotRetried(t *testing.T) {
	f := setup(t, nil)
	f.tr.answers["https://two.example/u/c/inbox"] = []int{410}
	f.run(t)
	_, err := f.ob.Post(context.Background(), f.alice, createNote([]*url.URL{iri("https://two.example/u/c")}, nil, nil))
	require.NoError(t, err)
	f.wait(t)
	assert.Equal(t, 1, f.tr.count("https://two.example/u/c/inbox"))
	require.Len(t, f.failed, 1)
	assert.Equal(t, 1, (<-f.failed).Attempts)
}

func TestGivesUpAfterMaxAttempts(t *testing.T) {
	f := setup(t, &outbox.Options{MaxAttempts: 3, Backoff: func(int) time.Duration { return time.Millisecond }})
	f.tr.answers["https://two.example/u/c/inbox"] = []int{500, 502, 429, 500}
	f.run(t)
	_, err := f.ob.Post(context.Background(), f.alice, createNote([]*url.URL{iri("https://two.example/u/c")}, nil, nil))
	require.NoError(t, err)
	f.wait(t)
	assert.Equal(t, 3, f.tr.count("https://two.example/u/c/inbox"))
	require.Len(t, f.failed, 1)
	assert.Equal(t, 3, (<-f.failed).Attempts)
}

// Post returns once the activity and its fan-out are committed: nothing
// runs yet, and a new process over the same store delivers it.
func TestPostIsDurableBeforeAnyWorkerRuns(t *testing.T) {
	f := setup(t, nil)
	id, err := f.ob.Post(context.Background(), f.alice, createNote([]*url.URL{f.alice.Followers()}, nil, nil))
	require.NoError(t, err)
	n, err := f.ob.Pending(context.Background())
	require.NoError(t, err)
	assert.Equal(t, 1, n, "one fan-out job")
	assert.Zero(t, f.tr.count("https://one.example/inbox"))

	f.restart(t)
	f.run(t)
	f.wait(t)
	assert.Equal(t, 1, f.tr.count("https://one.example/inbox"))
	assert.Equal(t, 1, f.tr.count("https://two.example/u/c/inbox"))
	page, next, err := f.ob.Deliveries(context.Background(), id.String(), "", 10)
	require.NoError(t, err)
	assert.Empty(t, next)
	require.Len(t, page, 2)
	for _, s := range page {
		assert.Equal(t, outbox.DeliverySent, s.State, s.Inbox)
		assert.Equal(t, 1, s.Attempts)
	}
}

// Once the finished jobs are pruned, the deliveries of an activity are
// still listed, as pruned, and one never queued is still not found.
func TestDeliveriesAfterPruning(t *testing.T) {
	f := setup(t, nil)
	f.run(t)
	id, err := f.ob.Post(context.Background(), f.alice, createNote([]*url.URL{f.alice.Followers()}, nil, nil))
	require.NoError(t, err)
	f.wait(t)
	n, err := f.st.PruneJobs(context.Background(), 0)
	require.NoError(t, err)
	assert.Equal(t, 3, n, "the fan-out and its two deliveries")
	page, next, err := f.ob.Deliveries(context.Background(), id.String(), "", 10)
	require.NoError(t, err)
	assert.Empty(t, next)
	var inboxes []string
	for _, s := range page {
		assert.Equal(t, outbox.DeliveryStatus{Inbox: s.Inbox, State: outbox.DeliveryPruned}, s)
		inboxes = append(inboxes, s.Inbox)
	}
	assert.ElementsMatch(t, []string{"https://one.example/inbox", "https://two.example/u/c/inbox"}, inboxes)
	s, err := f.ob.DeliveryStatus(context.Background(), id.String(), "https://two.example/u/c/inbox")
	require.NoError(t, err)
	assert.Equal(t, outbox.DeliveryPruned, s.State)
	_, err = f.ob.DeliveryStatus(context.Background(), id.String(), "https://three.example/inbox")
	assert.ErrorIs(t, err, store.ErrNotFound, "never queued")
}

func TestPostRefusesForeignActor(t *testing.T) {
	f := setup(t, nil)
	like := streams.NewActivityStreamsLike()
	ap.SetActor(like, iri("https://one.example/users/a"))
	_, err := f.ob.Post(context.Background(), f.alice, like)
	require.Error(t, err)
	assert.Equal(t, http.StatusBadRequest, ap.StatusOf(err))
}

// A delivery waiting for its retry when the worker stops stays queued,
// with its next attempt and last error queryable.
func TestShutdownKeepsUndelivered(t *testing.T) {
	f := setup(t, &outbox.Options{Backoff: func(int) time.Duration { return time.Hour }})
	f.tr.answers["https://two.example/u/c/inbox"] = []int{503}
	f.run(t)
	id, err := f.ob.Post(context.Background(), f.alice, createNote([]*url.URL{iri("https://two.example/u/c")}, nil, nil))
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		s, err := f.ob.DeliveryStatus(context.Background(), id.String(), "https://two.example/u/c/inbox")
		return err == nil && s.State == outbox.DeliveryRetrying
	}, 5*time.Second, time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	require.NoError(t, f.w.Shutdown(ctx))
	<-f.done
	assert.Equal(t, 1, f.tr.count("https://two.example/u/c/inbox"))
	n, err := f.ob.Pending(context.Background())
	require.NoError(t, err)
	assert.Equal(t, 1, n, "the retry stays queued")
	s, err := f.ob.DeliveryStatus(context.Background(), id.String(), "https://two.example/u/c/inbox")
	require.NoError(t, err)
	assert.Equal(t, outbox.DeliveryRetrying, s.State)
	assert.Equal(t, 1, s.Attempts)
	assert.Contains(t, s.LastError, "503")
	assert.WithinDuration(t, time.Now().Add(time.Hour), s.NextAttempt, time.Minute)
}

// With LocalInbox set, deliveries to this server's own inboxes are served
// in process, signed, and never touch the Transport.
func TestLocalInboxDelivery(t *testing.T) {
	ctx := context.Background()
	st := memstore.New()
	actors := actor.NewDirectory(st, "local.example", nil)
	alice, err := actors.Create(ctx, "alice")
	require.NoError(t, err)
	bob, err := actors.Create(ctx, "bob")
	require.NoError(t, err)
	require.NoError(t, st.AddItem(ctx, alice.Followers().String(), bob.IRI().String()))

	var got []*http.Request
	local := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = append(got, r)
		if r.Header.Get("Signature") == "" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.WriteHeader(http.StatusAccepted)
	})
	tr := newTransport()
	w := worker.New(st, &worker.Options{PollInterval: 5 * time.Millisecond})
	ob, err := outbox.New(st, actors, tr, resolver{}, &outbox.Options{Worker: w, LocalInbox: local})
	require.NoError(t, err)
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); _ = w.Run(runCtx) }()
	t.Cleanup(func() { cancel(); <-done })

	_, err = ob.Post(ctx, alice, createNote([]*url.URL{alice.Followers()}, nil, nil))
	require.NoError(t, err)
	require.Eventually(t, func() bool { n, err := ob.Pending(ctx); return err == nil && n == 0 }, 5*time.Second, time.Millisecond)
	require.Len(t, got, 1)
	assert.Equal(t, "/users/bob/inbox", got[0].URL.Path)
	assert.Equal(t, "local.example", got[0].Host)
	assert.NotEmpty(t, got[0].Header.Get("Digest"))
	assert.Empty(t, tr.posts, "the transport was not used")
}

// Posting an Update of one's own note stores the new version; an Update
// of someone else's note, of a note never posted or of a deleted one is
// refused and changes nothing.
func TestPostUpdateStoresTheNewVersion(t *testing.T) {
	f := setup(t, nil)
	f.run(t)
	ctx := context.Background()
	_, err := f.ob.Post(ctx, f.alice, createNote([]*url.URL{iri(ap.PublicIRI)}, nil, nil))
	require.NoError(t, err)
	f.wait(t)
	var noteID string
	require.NoError(t, f.st.View(ctx, func(tx *store.Tx) error {
		p, err := tx.FindObjects(ctx, store.FindQuery{Actor: f.alice.IRI().String(), Type: "Note"})
		if err == nil && len(p.Objects) == 1 {
			noteID = p.Objects[0].IRI
		}
		return err
	}))
	require.NotEmpty(t, noteID)

	edited := streams.NewActivityStreamsNote()
	ap.SetID(edited, iri(noteID))
	ap.SetAttributedTo(edited, f.alice.IRI())
	require.True(t, ap.SetContent(edited, "edited"))
	_, err = f.ob.Post(ctx, f.alice, ap.NewUpdate(nil, f.alice.IRI(), edited))
	require.NoError(t, err)
	o, err := f.st.GetObject(ctx, noteID)
	require.NoError(t, err)
	assert.Contains(t, string(o.Data), `"edited"`)
	assert.NotContains(t, string(o.Data), `"hello"`)
	assert.True(t, o.Local)

	bob, err := f.actors.Create(ctx, "bob")
	require.NoError(t, err)
	forged := streams.NewActivityStreamsNote()
	ap.SetID(forged, iri(noteID))
	require.True(t, ap.SetContent(forged, "bob was here"))
	_, err = f.ob.Post(ctx, bob, ap.NewUpdate(nil, bob.IRI(), forged))
	assert.Equal(t, http.StatusForbidden, ap.StatusOf(err), "%v", err)

	missing := streams.NewActivityStreamsNote()
	ap.SetID(missing, iri(f.alice.IRI().String()+"/statuses/never"))
	_, err = f.ob.Post(ctx, f.alice, ap.NewUpdate(nil, f.alice.IRI(), missing))
	assert.Equal(t, http.StatusNotFound, ap.StatusOf(err), "%v", err)

	_, err = f.ob.Post(ctx, f.alice, ap.NewDelete(nil, f.alice.IRI(), edited))
	require.NoError(t, err)
	_, err = f.ob.Post(ctx, f.alice, ap.NewUpdate(nil, f.alice.IRI(), edited))
	assert.Equal(t, http.StatusGone, ap.StatusOf(err), "%v", err)
	o, err = f.st.GetObject(ctx, noteID)
	require.NoError(t, err)
	assert.Equal(t, "Tombstone", o.Type)
}
