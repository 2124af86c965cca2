package actor

import (
	"context"
	"crypto/rsa"
	"errors"
	"net/url"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slothpub/slothpub/httpsig"
	"github.com/slothpub/slothpub/store"
	"github.com/slothpub/slothpub/store/memstore"
)

func TestCreateGet(t *testing.T) {
	ctx := context.Background()
	st := memstore.New()
	// A KeyBits below the minimum must not weaken keys.
	d := NewDirectory(st, "Social.Example", &Options{KeyBits: 1024, Logger: quietLogger()})
	assert.Equal(t, "social.example", d.Host())

	a, err := d.Create(ctx, "Alice_1")
	require.NoError(t, err)
	assert.Equal(t, "alice_1", a.Username)
	assert.Equal(t, "https://social.example/users/alice_1", a.IRI().String())
	assert.Equal(t, "https://social.example/users/alice_1/inbox", a.Inbox().String())
	assert.Equal(t, "https://social.example/users/alice_1/outbox", a.Outbox().String())
	assert.Equal(t, "https://social.example/users/alice_1/followers", a.Followers().String())
	assert.Equal(t, "https://social.example/users/alice_1/following", a.Following().String())
	assert.Equal(t, "https://social.example/users/alice_1/featured", a.Featured().String())
	assert.Equal(t, "https://social.example/users/alice_1/liked", a.Liked().String())
	assert.Equal(t, "https://social.example/users/alice_1#main-key", a.KeyID())
	assert.Equal(t, "https://social.example/inbox", d.SharedInbox().String())
	assert.Equal(t, a.KeyID(), a.Signer().KeyID())

	// URLs handed out are copies.
	a.IRI().Path = "/mutated"
	assert.Equal(t, "/users/alice_1", a.IRI().Path)

	pub, err := httpsig.ParsePublicKeyPEM(a.PublicKeyPEM())
	require.NoError(t, err)
	rsaPub, ok := pub.(*rsa.PublicKey)
	require.True(t, ok)
	assert.Equal(t, 2048, rsaPub.N.BitLen())

	// What Create stored.
	acct, err := st.GetAccount(ctx, "alice_1")
	require.NoError(t, err)
	assert.Equal(t, a.IRI().String(), acct.ActorIRI)
	priv, err := httpsig.ParsePrivateKeyPEM(acct.PrivateKeyPEM)
	require.NoError(t, err)
	assert.True(t, rsaPub.Equal(priv.Public()), "stored private key matches the published public key")
	obj, err := st.GetObject(ctx, a.IRI().String())
	require.NoError(t, err)
	assert.Equal(t, "Person", obj.Type)
	assert.True(t, obj.Local)
	assert.Equal(t, a.IRI().String(), obj.Actor)
	assert.JSONEq(t, string(a.Document()), string(obj.Data))
	key, err := st.GetKey(ctx, a.KeyID())
	require.NoError(t, err)
	assert.Equal(t, a.IRI().String(), key.Owner)
	assert.Equal(t, a.PublicKeyPEM(), key.PublicPEM)

	// Get is case-insensitive and cached.
	g, err := d.Get(ctx, "ALICE_1")
	require.NoError(t, err)
	assert.Same(t, a, g)

	// A fresh directory over the same store loads the same actor.
	d2 := NewDirectory(st, "social.example", nil)
	g2, err := d2.Get(ctx, "alice_1")
	require.NoError(t, err)
	assert.NotSame(t, a, g2)
	assert.Equal(t, a.PublicKeyPEM(), g2.PublicKeyPEM())
	assert.JSONEq(t, string(a.Document()), string(g2.Document()))

	// Taken, whatever the case.
	_, err = d.Create(ctx, "ALICE_1")
	assert.ErrorIs(t, err, store.ErrExists)
	_, err = d2.Get(ctx, "nobody")
	assert.ErrorIs(t, err, store.ErrNotFound)
}

func TestCreateInvalidUsername(t *testing.T) {
	ctx := context.Background()
	st := memstore.New()
	d := NewDirectory(st, "localhost:8080", nil)
	for _, name := range []string{
		"", "a.b", "with space", "ümlaut", "a/b", "../x", "alice@host",
		"abcdefghijklmnopqrstuvwxyz12345", // 31
		"localhost",                       // the host name: the instance actor's
		"instance.actor",
	} {
		_, err := d.Create(ctx, name)
		assert.ErrorIs(t, err, ErrInvalidUsername, "%q", name)
		_, err = d.Get(ctx, name)
		assert.ErrorIs(t, err, store.ErrNotFound, "%q", name)
	}
	n, err := st.CountAccounts(ctx)
	require.NoError(t, err)
	assert.Zero(t, n, "rejected usernames store nothing")
}

func TestCreateConcurrentSameName(t *testing.T) {
	ctx := context.Background()
	d := NewDirectory(memstore.New(), "social.example", nil)
	const n = 3
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { _, errs[i] = d.Create(ctx, "bob") })
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		if err == nil {
			ok++
		} else {
			assert.ErrorIs(t, err, store.ErrExists)
		}
	}
	assert.Equal(t, 1, ok, "exactly one create wins")
}

func TestByIRI(t *testing.T) {
	ctx := context.Background()
	d := NewDirectory(memstore.New(), "social.example:8443", nil)
	a, err := d.Create(ctx, "alice")
	require.NoError(t, err)
	inst, err := d.Instance(ctx)
	require.NoError(t, err)

	for _, iri := range []string{
		"https://social.example:8443/users/alice",
		"https://social.example:8443/users/alice#main-key",
		"https://SOCIAL.example:8443/users/ALICE",
	} {
		got, err := d.ByIRI(ctx, iri)
		require.NoError(t, err, iri)
		assert.Same(t, a, got, iri)
	}
	got, err := d.ByIRI(ctx, "https://social.example:8443/actor")
	require.NoError(t, err)
	assert.Same(t, inst, got)

	for _, iri := range []string{
		"https://social.example/users/alice",     // other port
		"http://social.example:8443/users/alice", // other scheme
		"https://other.example:8443/users/alice", // other host
		"https://social.example:8443/users/alice/inbox",
		"https://social.example:8443/users/bob",
		"https://social.example:8443/users/alice?x=1",
		"https://social.example:8443/",
		"::not a url",
	} {
		_, err := d.ByIRI(ctx, iri)
		assert.ErrorIs(t, err, store.ErrNotFound, iri)
	}
}

func TestIsLocal(t *testing.T) {
	d := NewDirectory(memstore.New(), "social.example", nil)
	p := NewDirectory(memstore.New(), "127.0.0.1:8080", &Options{Scheme: "http"})
	tests := []struct {
		d    *Directory
		iri  string
		want bool
	}{
		{d, "https://social.example/users/a", true},
		{d, "https://Social.Example/x", true},
		{d, "https://social.example:443/x", true},
		{d, "http://social.example/x", false},
		{d, "https://social.example:8443/x", false},
		{d, "https://evil.example/x", false},
		{d, "https://social.example.evil.example/x", false},
		{p, "http://127.0.0.1:8080/users/a", true},
		{p, "http://127.0.0.1/users/a", false},
		{p, "http://127.0.0.1:8081/users/a", false},
	}
	for _, tt := range tests {
		u, err := url.Parse(tt.iri)
		require.NoError(t, err)
		assert.Equal(t, tt.want, tt.d.IsLocal(u), tt.iri)
	}
	assert.False(t, d.IsLocal(nil))
}

func TestInstanceActorPersistsAndIsUnique(t *testing.T) {
	ctx := context.Background()
	st := memstore.New()
	d := NewDirectory(st, "social.example:8443", nil)
	var wg sync.WaitGroup
	got := make([]*Actor, 4)
	for i := range got {
		wg.Go(func() {
			a, err := d.Instance(ctx)
			assert.NoError(t, err)
			got[i] = a
		})
	}
	wg.Wait()
	for _, a := range got[1:] {
		assert.Same(t, got[0], a)
	}
	inst := got[0]
	assert.True(t, inst.IsInstance())
	assert.Equal(t, "social.example", inst.Username)
	assert.Equal(t, "https://social.example:8443/actor", inst.IRI().String())
	assert.Equal(t, "https://social.example:8443/actor/inbox", inst.Inbox().String())
	n, err := st.CountAccounts(ctx)
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	obj, err := st.GetObject(ctx, inst.IRI().String())
	require.NoError(t, err)
	assert.Equal(t, "Application", obj.Type)

	// Another process over the same store gets the same key.
	again, err := NewDirectory(st, "social.example:8443", nil).Instance(ctx)
	require.NoError(t, err)
	assert.Equal(t, inst.PublicKeyPEM(), again.PublicKeyPEM())
}

func TestLoadRepairsMissingDocument(t *testing.T) {
	ctx := context.Background()
	st := memstore.New()
	a, err := NewDirectory(st, "social.example", nil).Create(ctx, "alice")
	require.NoError(t, err)
	require.NoError(t, st.DeleteObject(ctx, a.IRI().String()))
	require.NoError(t, st.DeleteKey(ctx, a.KeyID()))

	b, err := NewDirectory(st, "social.example", nil).Get(ctx, "alice")
	require.NoError(t, err)
	assert.Equal(t, a.PublicKeyPEM(), b.PublicKeyPEM())
	obj, err := st.GetObject(ctx, a.IRI().String())
	require.NoError(t, err)
	assert.JSONEq(t, string(b.Document()), string(obj.Data))
	_, err = st.GetKey(ctx, a.KeyID())
	assert.NoError(t, err)
}

// failingStore fails every account read, to check errors other than
// ErrNotFound are not reported as "no such user".
type failingStore struct{ store.Store }

var errBroken = errors.New("disk on fire")

func (failingStore) GetAccount(context.Context, string) (*store.Account, error) {
	return nil, errBroken
}

func TestGetStoreFailure(t *testing.T) {
	d := NewDirectory(failingStore{memstore.New()}, "social.example", nil)
	_, err := d.Get(context.Background(), "alice")
	assert.ErrorIs(t, err, errBroken)
	assert.NotErrorIs(t, err, store.ErrNotFound)
}
