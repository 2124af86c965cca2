package inbox_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"code.superseriousbusiness.org/activity/streams/vocab"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slothpub/slothpub/ap"
	"github.com/slothpub/slothpub/ap/aptest"
	"github.com/slothpub/slothpub/inbox"
	"github.com/slothpub/slothpub/store"
	"github.com/slothpub/slothpub/store/memstore"
	"github.com/slothpub/slothpub/store/storetest"
)

// watchedRig is a rig whose instance b (bob's) keeps its state in a
// watched store.
func watchedRig(t *testing.T, opts *aptest.Options) (*rig, *storetest.Recorder) {
	w := storetest.NewRecorder(memstore.NewDriver())
	o := aptest.Options{}
	if opts != nil {
		o = *opts
	}
	o.Store = func(host string) *store.DB {
		if host == "b.example" {
			return store.Open(w, nil)
		}
		return memstore.New()
	}
	return newRigWith(t, &o), w
}

// postsTo counts the POSTs made to host's inboxes so far.
func postsTo(n *aptest.Network, host string) int {
	c := 0
	for _, e := range n.Exchanges() {
		if e.Method == http.MethodPost && strings.Contains(e.URL, "://"+host+"/") {
			c++
		}
	}
	return c
}

// An Accept changes state only when it answers a Follow that the local
// actor sent to the Accept's actor. Each forgery is refused before anything
// is stored: nothing in bob's store changes and nothing is sent.
func TestForgedAcceptChangesNothing(t *testing.T) {
	r, w := watchedRig(t, &aptest.Options{ManualApproval: true})
	ctx := context.Background()
	// bob really follows alice (pending: alice approves manually).
	followID := r.b.Post(r.bob, ap.NewFollow(nil, r.bob.IRI(), r.alice.IRI()))
	r.n.Settle()
	// bob's server knows eve's and alice's keys already, so verifying their
	// requests writes nothing either.
	for _, who := range []string{r.eve.KeyID(), r.alice.KeyID()} {
		_, err := r.b.Resolver.ResolveKey(ctx, who, false)
		require.NoError(t, err)
	}
	eve := reqOpts{signer: r.eve.Signer()}
	bobFollows := func(who string) bool { return r.b.Has(r.bob.Following().String(), who) }

	forgeries := map[string][]byte{}
	// eve claims bob followed her, with a Follow of her own making.
	_, forgeries["embedded follow never sent"] = r.activity(r.eve, "Accept",
		fmt.Sprintf(`{"id":"%s/follows/fake","type":"Follow","actor":%q,"object":%q}`, r.eve.IRI(), r.bob.IRI(), r.eve.IRI()), "")
	// ... without an id.
	_, forgeries["embedded follow without id"] = r.activity(r.eve, "Accept",
		fmt.Sprintf(`{"type":"Follow","actor":%q,"object":%q}`, r.bob.IRI(), r.eve.IRI()), "")
	// eve answers bob's real Follow, which went to alice, by its id ...
	_, forgeries["follow sent to someone else, by id"] = r.activity(r.eve, "Accept", fmt.Sprintf("%q", followID), "")
	// ... and with it embedded.
	_, forgeries["follow sent to someone else, embedded"] = r.activity(r.eve, "Accept",
		fmt.Sprintf(`{"id":%q,"type":"Follow","actor":%q,"object":%q}`, followID, r.bob.IRI(), r.alice.IRI()), "")
	// eve rewrites the followee of bob's real Follow to herself.
	_, forgeries["follow sent to someone else, rewritten"] = r.activity(r.eve, "Accept",
		fmt.Sprintf(`{"id":%q,"type":"Follow","actor":%q,"object":%q}`, followID, r.bob.IRI(), r.eve.IRI()), "")

	for name, body := range forgeries {
		t.Run(name, func(t *testing.T) {
			before, sent := w.Count(), postsTo(r.n, "a.example")
			assert.Equal(t, http.StatusForbidden, r.post(body, eve))
			r.n.Settle()
			assert.Empty(t, w.Since(before), "bob's store is unchanged")
			assert.Equal(t, sent, postsTo(r.n, "a.example"), "nothing was sent")
			assert.False(t, bobFollows(r.eve.IRI().String()))
			assert.False(t, bobFollows(r.alice.IRI().String()))
		})
	}

	// alice's real answer, with a fresh id and the Follow embedded without
	// its id (as some servers send), is matched by the pending pair.
	_, accept := r.activity(r.alice, "Accept", fmt.Sprintf(`{"type":"Follow","actor":%q,"object":%q}`, r.bob.IRI(), r.alice.IRI()), "")
	require.Equal(t, http.StatusAccepted, r.post(accept, reqOpts{signer: r.alice.Signer()}))
	assert.True(t, bobFollows(r.alice.IRI().String()))
	_, err := r.b.Store.GetValue(ctx, store.PendingFollowKey(r.bob.IRI().String(), r.alice.IRI().String()))
	assert.ErrorIs(t, err, store.ErrNotFound, "no longer pending")

	// Once bob undoes his Follow, a late answer changes nothing either.
	r.b.Post(r.bob, ap.NewUndo(nil, r.bob.IRI(), mustParse(t, r.b.Object(followID.String()).Data)))
	r.n.Settle()
	require.False(t, bobFollows(r.alice.IRI().String()))
	_, late := r.activity(r.alice, "Accept", fmt.Sprintf("%q", followID), "")
	before := w.Count()
	assert.Equal(t, http.StatusForbidden, r.post(late, reqOpts{signer: r.alice.Signer()}))
	assert.Empty(t, w.Since(before))
	assert.False(t, bobFollows(r.alice.IRI().String()))
}

// A Reject of a follow already accepted (Mastodon's "remove follower")
// still ends it: the Follow is matched by its id.
func TestRejectOfAcceptedFollowByID(t *testing.T) {
	r := newRig(t)
	followID := r.b.Post(r.bob, ap.NewFollow(nil, r.bob.IRI(), r.alice.IRI()))
	r.n.Settle()
	require.True(t, r.b.Has(r.bob.Following().String(), r.alice.IRI().String()))
	_, reject := r.activity(r.alice, "Reject", fmt.Sprintf("%q", followID), "")
	require.Equal(t, http.StatusAccepted, r.post(reject, reqOpts{signer: r.alice.Signer()}))
	assert.False(t, r.b.Has(r.bob.Following().String(), r.alice.IRI().String()))
}

func mustParse(t *testing.T, data []byte) vocab.Type {
	t.Helper()
	v, err := ap.Parse(context.Background(), data)
	require.NoError(t, err)
	return v
}

// An Announce that embeds an altered copy of someone else's Note: what is
// stored, filed into bob's timeline and handed to listeners refers to the
// Note, whose copy comes from its origin; the forged text is nowhere.
func TestAnnounceOfForgedCopyKeepsOnlyTheVerifiedCopy(t *testing.T) {
	r, w := watchedRig(t, nil)
	ctx := context.Background()
	mallory := r.n.Instance("c.example").User("mallory")
	note := ap.NewNote(nil, r.alice.IRI(), "<p>the real text</p>", time.Now())
	create := ap.NewCreate(nil, r.alice.IRI(), note)
	ap.SetTo(create, ap.PublicURL())
	r.a.Post(r.alice, create)
	r.n.Settle()
	noteID := ap.ID(note).String()

	var seen []byte
	var seenEmbedded int
	r.b.Inbox.On("Announce", func(ctx context.Context, a *inbox.Activity) error {
		seen = bytes.Clone(a.Raw)
		seenEmbedded = len(a.Doc.EmbeddedObjects())
		return nil
	})

	announceID := mallory.IRI().String() + "/announces/1"
	body := fmt.Appendf(nil, `{"@context":"https://www.w3.org/ns/activitystreams","id":%q,"type":"Announce","actor":%q,
		"to":["https://www.w3.org/ns/activitystreams#Public"],
		"object":{"id":%q,"type":"Note","attributedTo":%q,"content":"FORGED by mallory","to":["https://www.w3.org/ns/activitystreams#Public"]}}`,
		announceID, mallory.IRI(), noteID, r.alice.IRI())
	before := w.Count()
	require.Equal(t, http.StatusAccepted, r.post(body, reqOpts{signer: mallory.Signer()}))

	for _, wr := range w.Since(before) {
		assert.NotContains(t, wr, "FORGED", "nothing written carries the forged copy")
	}
	stored, err := r.b.Store.GetObject(ctx, announceID)
	require.NoError(t, err)
	assert.NotContains(t, string(stored.Data), "FORGED")
	assert.Contains(t, string(stored.Data), noteID, "the Announce refers to the note")
	assert.True(t, r.b.Has(r.bob.Inbox().String(), announceID), "filed in bob's timeline")
	assert.NotContains(t, string(seen), "FORGED", "listeners never see the forged copy")
	assert.Zero(t, seenEmbedded)
	fetched, err := r.b.Store.GetObject(ctx, noteID)
	require.NoError(t, err)
	assert.Contains(t, string(fetched.Data), "the real text", "the note was fetched from its origin")
	assert.Equal(t, r.alice.IRI().String(), fetched.Actor)
}

// A listener's error is retried by the worker, with backoff, never
// answered 5xx to the sender (whose redelivery would be a second copy of
// the work); the retry resumes where the failed attempt stopped. The
// default side effects (here the Accept of a Follow) and the listeners that
// already finished never run again.
func TestListenerErrorDoesNotRepeatEffects(t *testing.T) {
	r := newRig(t)
	var first, flaky atomic.Int32
	r.b.Inbox.On("Follow", func(context.Context, *inbox.Activity) error {
		first.Add(1)
		return nil
	})
	r.b.Inbox.On("", func(context.Context, *inbox.Activity) error {
		if flaky.Add(1) <= 3 {
			return errors.New("listener: database busy")
		}
		return nil
	})
	id, body := r.follow()
	alice := reqOpts{signer: r.alice.Signer()}
	assert.Equal(t, http.StatusAccepted, r.post(body, alice), "accepted before any listener runs")
	assert.Equal(t, http.StatusAccepted, r.post(body, alice), "a redelivery after success is a duplicate")

	assert.Equal(t, int32(1), first.Load(), "a listener that finished runs once")
	assert.Equal(t, int32(4), flaky.Load(), "the failing listener runs until it succeeds, then never again")
	assert.Equal(t, 1, r.followers())
	assert.Equal(t, 1, postsTo(r.n, "a.example"), "one Accept is sent, not one per attempt")
	assert.True(t, r.a.Has(r.alice.Following().String(), r.bob.IRI().String()))
	jobs, err := r.b.Store.Jobs(t.Context(), store.JobQuery{Kinds: []string{inbox.ProcessKind}, UniqueKey: "inbox:" + id})
	require.NoError(t, err)
	require.Len(t, jobs, 1, "one processing job for the activity, however often it was delivered")
	assert.Equal(t, store.JobCompleted, jobs[0].State)
	assert.Equal(t, 4, jobs[0].Attempt, "three failed attempts, then the one that finished")
}

// A listener that refuses the activity (an *ap.Error with a 4xx status)
// ends its processing: its job is discarded with the reason, the
// activity stays stored, and a redelivery does not run it again.
func TestListenerRefusalEndsProcessing(t *testing.T) {
	r := newRig(t)
	var calls atomic.Int32
	r.b.Inbox.On("Follow", func(context.Context, *inbox.Activity) error {
		calls.Add(1)
		return ap.Errorf(http.StatusUnprocessableEntity, "not today", nil)
	})
	id, body := r.follow()
	alice := reqOpts{signer: r.alice.Signer()}
	assert.Equal(t, http.StatusAccepted, r.post(body, alice))
	assert.Equal(t, http.StatusAccepted, r.post(body, alice))
	assert.Equal(t, int32(1), calls.Load())
	jobs, err := r.b.Store.Jobs(t.Context(), store.JobQuery{Kinds: []string{inbox.ProcessKind}, UniqueKey: "inbox:" + id})
	require.NoError(t, err)
	require.Len(t, jobs, 1)
	assert.Equal(t, store.JobDiscarded, jobs[0].State)
	assert.Contains(t, jobs[0].LastError, "not today")
	assert.True(t, r.stored(id), "the activity stays recorded")
}
