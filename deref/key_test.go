package deref_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slothpub/slothpub/ap"
	"github.com/slothpub/slothpub/deref"
	"github.com/slothpub/slothpub/httpsig"
	"github.com/slothpub/slothpub/store"
)

func TestResolveKeyInActor(t *testing.T) {
	ctx := context.Background()
	key := rsaKeys()[0]
	rm := newRemote(t)
	rm.set("/users/alice", actorJSON(t, rm.origin(), "/users/alice", key))
	s := newSetup(t, nil)
	keyID := rm.iri("/users/alice#main-key")

	k, err := s.r.ResolveKey(ctx, keyID, false)
	require.NoError(t, err)
	assert.Equal(t, keyID, k.ID)
	assert.Equal(t, rm.iri("/users/alice"), k.Owner)
	require.True(t, key.PublicKey.Equal(k.Key), "the served key")

	stored, err := s.st.GetKey(ctx, keyID)
	require.NoError(t, err)
	assert.Equal(t, rm.iri("/users/alice"), stored.Owner)
	assert.Equal(t, publicPEM(t, key), stored.PublicPEM)

	// Hot key: memory cache, no fetch.
	_, err = s.r.ResolveKey(ctx, keyID, false)
	require.NoError(t, err)
	assert.Equal(t, 1, rm.totalHits())

	// Another resolver on the same store (another replica) reads the PEM.
	other := deref.New(s.st, s.tr, nil, &deref.Options{Clock: s.clock.Now})
	k2, err := other.ResolveKey(ctx, keyID, false)
	require.NoError(t, err)
	assert.True(t, key.PublicKey.Equal(k2.Key))
	assert.Equal(t, k.Owner, k2.Owner)
	assert.Equal(t, 1, rm.totalHits())
}

func TestResolveKeyActorIsKey(t *testing.T) {
	// Hubzilla and Osada: the key id is the actor id itself.
	ctx := context.Background()
	rm := newRemote(t)
	iri := serveFixture(t, rm, "hubzilla-person.json")
	s := newSetup(t, nil)
	k, err := s.r.ResolveKey(ctx, iri, false)
	require.NoError(t, err)
	assert.Equal(t, iri, k.ID)
	assert.Equal(t, iri, k.Owner)
}

func TestResolveKeyGoToSocialStub(t *testing.T) {
	// GoToSocial serves a stub at /main-key whose id is the actor's; the
	// resolver refetches the actor by that id.
	ctx := context.Background()
	key := rsaKeys()[0]
	rm := newRemote(t)
	stub := fmt.Sprintf(`{"@context":["https://w3id.org/security/v1","https://www.w3.org/ns/activitystreams"],
		"id":"{{ORIGIN}}/users/example_user","preferredUsername":"example_user","type":"Person",
		"publicKey":{"id":"{{ORIGIN}}/users/example_user/main-key","owner":"{{ORIGIN}}/users/example_user","publicKeyPem":%s}}`,
		jsonString(publicPEM(t, key)))
	rm.set("/users/example_user/main-key", stub)
	full := strings.Replace(actorJSON(t, rm.origin(), "/users/example_user", key),
		"/users/example_user#main-key", "/users/example_user/main-key", 1)
	rm.set("/users/example_user", full)
	s := newSetup(t, nil)

	keyID := rm.iri("/users/example_user/main-key")
	k, err := s.r.ResolveKey(ctx, keyID, false)
	require.NoError(t, err)
	assert.Equal(t, keyID, k.ID)
	assert.Equal(t, rm.iri("/users/example_user"), k.Owner)
	assert.True(t, key.PublicKey.Equal(k.Key))
	assert.Equal(t, 1, rm.hitsOf("/users/example_user/main-key"))
	assert.Equal(t, 1, rm.hitsOf("/users/example_user"))

	// The real fixture's stub, when the owner actor does not list that id,
	// is refused.
	rm.set("/users/example_user", actorJSON(t, rm.origin(), "/users/example_user", key))
	s2 := newSetup(t, nil)
	_, err = s2.r.ResolveKey(ctx, keyID, false)
	require.ErrorIs(t, err, deref.ErrInvalidDocument)
}

func TestResolveKeyDocumentWithOwner(t *testing.T) {
	ctx := context.Background()
	key := rsaKeys()[0]
	pemJSON := jsonString(publicPEM(t, key))
	rm := newRemote(t)
	keyDoc := func(id, owner string) string {
		return fmt.Sprintf(`{"id":%q,"type":"CryptographicKey","owner":%q,"publicKeyPem":%s}`, id, owner, pemJSON)
	}
	// The owner lists the key by reference.
	rm.set("/keys/1", keyDoc(rm.iri("/keys/1"), rm.iri("/users/bob")))
	rm.set("/users/bob", `{"id":"{{ORIGIN}}/users/bob","type":"Service","inbox":"{{ORIGIN}}/users/bob/inbox","publicKey":"{{ORIGIN}}/keys/1"}`)
	// An owner that does not list the key.
	rm.set("/keys/2", keyDoc(rm.iri("/keys/2"), rm.iri("/users/carol")))
	rm.set("/users/carol", actorJSON(t, rm.origin(), "/users/carol", key))
	s := newSetup(t, nil)

	k, err := s.r.ResolveKey(ctx, rm.iri("/keys/1"), false)
	require.NoError(t, err)
	assert.Equal(t, rm.iri("/users/bob"), k.Owner)
	assert.True(t, key.PublicKey.Equal(k.Key))

	_, err = s.r.ResolveKey(ctx, rm.iri("/keys/2"), false)
	require.ErrorIs(t, err, deref.ErrInvalidDocument)
	_, err = s.st.GetKey(ctx, rm.iri("/keys/2"))
	assert.ErrorIs(t, err, store.ErrNotFound, "a refused key is not cached")

	// An owner on another origin is refused without fetching it.
	other := newRemote(t)
	other.set("/users/dave", actorJSON(t, other.origin(), "/users/dave", key))
	rm.set("/keys/3", keyDoc(rm.iri("/keys/3"), other.iri("/users/dave")))
	_, err = s.r.ResolveKey(ctx, rm.iri("/keys/3"), false)
	require.ErrorIs(t, err, deref.ErrInvalidDocument)
	assert.Equal(t, 0, other.totalHits())

	// A key document without owner is refused.
	rm.set("/keys/4", fmt.Sprintf(`{"id":"{{ORIGIN}}/keys/4","type":"CryptographicKey","publicKeyPem":%s}`, pemJSON))
	_, err = s.r.ResolveKey(ctx, rm.iri("/keys/4"), false)
	require.ErrorIs(t, err, deref.ErrInvalidDocument)
}

func TestResolveKeyNotListedByActor(t *testing.T) {
	ctx := context.Background()
	rm := newRemote(t)
	rm.set("/users/alice", actorJSON(t, rm.origin(), "/users/alice", rsaKeys()[0]))
	s := newSetup(t, nil)
	_, err := s.r.ResolveKey(ctx, rm.iri("/users/alice#other-key"), false)
	require.ErrorIs(t, err, deref.ErrInvalidDocument)
	assert.Equal(t, http.StatusBadGateway, ap.StatusOf(err))
}

func TestResolveKeyRefreshRefetches(t *testing.T) {
	ctx := context.Background()
	oldKey, newKey := rsaKeys()[0], rsaKeys()[1]
	rm := newRemote(t)
	rm.set("/users/alice", actorJSON(t, rm.origin(), "/users/alice", oldKey))
	s := newSetup(t, nil)
	keyID := rm.iri("/users/alice#main-key")

	k, err := s.r.ResolveKey(ctx, keyID, false)
	require.NoError(t, err)
	require.True(t, oldKey.PublicKey.Equal(k.Key))

	// The remote rotates its key.
	rm.set("/users/alice", actorJSON(t, rm.origin(), "/users/alice", newKey))
	k, err = s.r.ResolveKey(ctx, keyID, false)
	require.NoError(t, err)
	assert.True(t, oldKey.PublicKey.Equal(k.Key), "cached")
	assert.Equal(t, 1, rm.totalHits())

	// A refresh right after a fetch is answered from the cache.
	k, err = s.r.ResolveKey(ctx, keyID, true)
	require.NoError(t, err)
	assert.True(t, oldKey.PublicKey.Equal(k.Key))
	assert.Equal(t, 1, rm.totalHits())

	s.clock.Advance(2 * time.Minute)
	k, err = s.r.ResolveKey(ctx, keyID, true)
	require.NoError(t, err)
	assert.True(t, newKey.PublicKey.Equal(k.Key), "refresh sees the new key")
	assert.Equal(t, 2, rm.totalHits(), "refresh bypassed the fresh actor in the store")

	stored, err := s.st.GetKey(ctx, keyID)
	require.NoError(t, err)
	assert.Equal(t, publicPEM(t, newKey), stored.PublicPEM)
	k, err = s.r.ResolveKey(ctx, keyID, false)
	require.NoError(t, err)
	assert.True(t, newKey.PublicKey.Equal(k.Key))
	assert.Equal(t, 2, rm.totalHits())
}

func TestResolveKeyRefreshEveryTimeWhenIntervalNegative(t *testing.T) {
	ctx := context.Background()
	rm := newRemote(t)
	rm.set("/users/alice", actorJSON(t, rm.origin(), "/users/alice", rsaKeys()[0]))
	s := newSetup(t, &deref.Options{MinRefreshInterval: -1})
	keyID := rm.iri("/users/alice#main-key")
	for range 3 {
		_, err := s.r.ResolveKey(ctx, keyID, true)
		require.NoError(t, err)
	}
	assert.Equal(t, 3, rm.totalHits())
}

func TestResolveKeyExpires(t *testing.T) {
	ctx := context.Background()
	rm := newRemote(t)
	rm.set("/users/alice", actorJSON(t, rm.origin(), "/users/alice", rsaKeys()[0]))
	s := newSetup(t, &deref.Options{KeyMaxAge: time.Hour, MaxAge: 48 * time.Hour})
	keyID := rm.iri("/users/alice#main-key")
	_, err := s.r.ResolveKey(ctx, keyID, false)
	require.NoError(t, err)
	s.clock.Advance(30 * time.Minute)
	_, err = s.r.ResolveKey(ctx, keyID, false)
	require.NoError(t, err)
	assert.Equal(t, 1, rm.totalHits())
	s.clock.Advance(31 * time.Minute)
	_, err = s.r.ResolveKey(ctx, keyID, false)
	require.NoError(t, err)
	// The key expired but the actor document is still fresh: no fetch
	// needed to re-derive it.
	assert.Equal(t, 1, rm.totalHits())
	s.clock.Advance(48 * time.Hour)
	_, err = s.r.ResolveKey(ctx, keyID, false)
	require.NoError(t, err)
	assert.Equal(t, 2, rm.totalHits())
}

func TestResolveKeyGone(t *testing.T) {
	ctx := context.Background()
	rm := newRemote(t)
	rm.set("/users/alice", actorJSON(t, rm.origin(), "/users/alice", rsaKeys()[0]))
	s := newSetup(t, nil)
	keyID := rm.iri("/users/alice#main-key")
	_, err := s.r.ResolveKey(ctx, keyID, false)
	require.NoError(t, err)

	rm.setStatus("/users/alice", http.StatusGone, "")
	s.clock.Advance(2 * time.Minute)
	_, err = s.r.ResolveKey(ctx, keyID, true)
	require.ErrorIs(t, err, store.ErrGone)
	_, err = s.st.GetKey(ctx, keyID)
	assert.ErrorIs(t, err, store.ErrNotFound, "the key of a gone actor is dropped")
	_, err = s.r.ResolveKey(ctx, keyID, false)
	require.ErrorIs(t, err, store.ErrGone, "and not served from memory either")
}

func TestResolveKeyLocal(t *testing.T) {
	ctx := context.Background()
	key := rsaKeys()[0]
	rm := newRemote(t)
	rm.set("/users/alice", actorJSON(t, rm.origin(), "/users/alice", key))
	s := newSetup(t, &deref.Options{LocalHost: rm.host()})
	keyID := rm.iri("/users/alice#main-key")

	_, err := s.r.ResolveKey(ctx, keyID, false)
	require.ErrorIs(t, err, store.ErrNotFound)

	// From the local actor document in the store.
	require.NoError(t, s.st.PutObject(ctx, &store.Object{
		IRI: rm.iri("/users/alice"), Type: "Person", Local: true,
		Data: []byte(actorJSON(t, rm.origin(), "/users/alice", key)),
	}))
	k, err := s.r.ResolveKey(ctx, keyID, true)
	require.NoError(t, err)
	assert.True(t, key.PublicKey.Equal(k.Key))

	// From store.Keys, however old.
	other := rsaKeys()[1]
	bobKey := rm.iri("/users/bob#main-key")
	require.NoError(t, s.st.PutKey(ctx, &store.Key{ID: bobKey, Owner: rm.iri("/users/bob"), PublicPEM: publicPEM(t, other), Fetched: time.Unix(0, 0)}))
	k, err = s.r.ResolveKey(ctx, bobKey, true)
	require.NoError(t, err)
	assert.True(t, other.PublicKey.Equal(k.Key))
	assert.Equal(t, 0, rm.totalHits(), "local keys are never fetched")
}

func TestResolveKeyConcurrent(t *testing.T) {
	ctx := context.Background()
	rm := newRemote(t)
	rm.set("/users/alice", actorJSON(t, rm.origin(), "/users/alice", rsaKeys()[0]))
	gate := make(chan struct{})
	rm.gate = gate
	rm.arrived = make(chan struct{}, 1)
	s := newSetup(t, nil)
	keyID := rm.iri("/users/alice#main-key")
	var wg sync.WaitGroup
	errs := make([]error, 16)
	for i := range errs {
		wg.Go(func() { _, errs[i] = s.r.ResolveKey(ctx, keyID, false) })
	}
	<-rm.arrived
	time.Sleep(50 * time.Millisecond)
	close(gate)
	wg.Wait()
	for _, err := range errs {
		require.NoError(t, err)
	}
	assert.Equal(t, 1, rm.totalHits())
}

// TestResolveKeyWithVerifier runs the whole authorized-fetch loop: the
// remote only answers GETs signed by a key it resolves, through its own
// Resolver, from our instance actor.
func TestResolveKeyWithVerifier(t *testing.T) {
	ctx := context.Background()
	ourKey, theirKey := rsaKeys()[0], rsaKeys()[1]

	// Our server serves the instance actor (publicly, as servers must).
	ours := newRemote(t)
	ours.set("/actor", strings.Replace(actorJSON(t, ours.origin(), "/actor", ourKey), `"Person"`, `"Application"`, 1))

	// Their server verifies every GET with a resolver of its own.
	theirStore := newSetup(t, nil)
	verifier := httpsig.NewVerifier(theirStore.r, nil)
	theirs := newRemote(t)
	theirs.set("/users/zoe", actorJSON(t, theirs.origin(), "/users/zoe", theirKey))
	inner := theirs.srv.Config.Handler
	theirs.srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		res, err := verifier.Verify(r)
		if err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		if res.Owner != ours.iri("/actor") {
			http.Error(w, "wrong owner", http.StatusForbidden)
			return
		}
		inner.ServeHTTP(w, r)
	})

	signer, err := httpsig.NewSigner(ours.iri("/actor#main-key"), ourKey, nil)
	require.NoError(t, err)
	s := newSetup(t, nil)
	r := deref.New(s.st, s.tr, signer, &deref.Options{Clock: s.clock.Now})
	a, err := r.Actor(ctx, theirs.url("/users/zoe"))
	require.NoError(t, err)
	assert.Equal(t, theirs.iri("/users/zoe"), a.IRI)
	require.Len(t, a.Keys, 1)
	assert.True(t, theirKey.PublicKey.Equal(a.Keys[0].Key))
	assert.Equal(t, 1, ours.hitsOf("/actor"), "they fetched our key once")

	// Unsigned, they refuse.
	unsigned := deref.New(newSetup(t, nil).st, s.tr, nil, nil)
	_, err = unsigned.Actor(ctx, theirs.url("/users/zoe"))
	require.Error(t, err)
	assert.Equal(t, http.StatusUnauthorized, remoteStatus(err))
}

// remoteStatus is the status of the *ap.RemoteError in err's chain, or 0.
func remoteStatus(err error) int {
	var re *ap.RemoteError
	if errors.As(err, &re) {
		return re.StatusCode
	}
	return 0
}
