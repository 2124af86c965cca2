package deref_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slothpub/slothpub/ap"
	"github.com/slothpub/slothpub/deref"
	"github.com/slothpub/slothpub/store"
)

// jrdFor is a WebFinger answer about subject ("user@host") whose self link
// is actor.
func jrdFor(subject, actor string) string {
	return `{"subject":"acct:` + subject + `","aliases":["` + actor + `"],"links":[
		{"rel":"http://webfinger.net/rel/profile-page","type":"text/html","href":"` + actor + `"},
		{"rel":"self","type":"application/activity+json","href":"` + actor + `"}]}`
}

// serveActor serves a Mastodon-style actor at path of rm (preferredUsername
// the last path segment) and returns its IRI.
func serveActor(t *testing.T, rm *remote, path string) *url.URL {
	t.Helper()
	rm.set(path, actorJSON(t, rm.origin(), path, nil))
	return rm.url(path)
}

func wfURI(resource string) string {
	return "/.well-known/webfinger?" + url.Values{"resource": {resource}}.Encode()
}

func TestHandle(t *testing.T) {
	ctx := context.Background()
	rm := newRemote(t)
	alice := serveActor(t, rm, "/users/alice")
	rm.setWebFinger("acct:alice@"+rm.host(), jrdFor("alice@"+rm.host(), alice.String()))
	s := newSetup(t, nil)

	h, err := s.r.Handle(ctx, alice)
	require.NoError(t, err)
	assert.Equal(t, "alice@"+rm.host(), h)
	assert.Equal(t, 1, rm.hitsOf("/users/alice"))
	assert.Equal(t, 1, rm.hitsOf(wfURI("acct:alice@"+rm.host())))

	// Round trip: the handle finds the actor again.
	back, err := s.r.WebFinger(ctx, h)
	require.NoError(t, err)
	assert.Equal(t, alice.String(), back.String())

	// The handle is kept with the resolver's clock: a second call, with
	// a fragment, fetches nothing; after MaxAge it is looked up again.
	before := rm.totalHits()
	h, err = s.r.Handle(ctx, mustURL(t, alice.String()+"#main-key"))
	require.NoError(t, err)
	assert.Equal(t, "alice@"+rm.host(), h)
	assert.Equal(t, before, rm.totalHits())
	v, err := s.st.GetValue(ctx, deref.HandleKeyPrefix+alice.String())
	require.NoError(t, err)
	assert.True(t, strings.HasSuffix(string(v), " alice@"+rm.host()), "%s", v)

	s.clock.Advance(deref.DefaultMaxAge)
	h, err = s.r.Handle(ctx, alice)
	require.NoError(t, err)
	assert.Equal(t, "alice@"+rm.host(), h)
	assert.Equal(t, 2, rm.hitsOf("/users/alice"))
	assert.Equal(t, 3, rm.hitsOf(wfURI("acct:alice@"+rm.host()))) // and one by the round trip
	assert.Equal(t, int64(2), s.signer.n.Load(), "the actor GETs are signed, WebFinger is not")
}

func TestHandleSubjectCase(t *testing.T) {
	// The subject's spelling of the user is the canonical one; the host
	// is lower case.
	ctx := context.Background()
	rm := newRemote(t)
	g := serveActor(t, rm, "/users/gargron")
	rm.setWebFinger("acct:gargron@"+rm.host(), jrdFor("Gargron@"+strings.ToUpper(rm.host()), g.String()))
	s := newSetup(t, nil)
	h, err := s.r.Handle(ctx, g)
	require.NoError(t, err)
	assert.Equal(t, "Gargron@"+rm.host(), h)
	assert.Equal(t, 2, rm.totalHits(), "the actor and one WebFinger query, no confirmation needed")
}

func TestHandleSplitDomainConfirmed(t *testing.T) {
	// The actor lives on social (rm); its handle is on web, whose
	// WebFinger names the same actor.
	ctx := context.Background()
	social, web := newRemote(t), newRemote(t)
	ann := serveActor(t, social, "/users/ann")
	social.setWebFinger("acct:ann@"+social.host(), jrdFor("ann@"+web.host(), ann.String()))
	web.setWebFinger("acct:ann@"+web.host(), jrdFor("ann@"+web.host(), ann.String()))
	s := newSetup(t, nil)

	h, err := s.r.Handle(ctx, ann)
	require.NoError(t, err)
	assert.Equal(t, "ann@"+web.host(), h)
	assert.Equal(t, 1, web.hitsOf(wfURI("acct:ann@"+web.host())))

	back, err := s.r.WebFinger(ctx, h)
	require.NoError(t, err)
	assert.Equal(t, ann.String(), back.String())
}

func TestHandleSplitDomainNotConfirmed(t *testing.T) {
	ctx := context.Background()
	social, other := newRemote(t), newRemote(t)
	other.set("/users/bea", actorJSON(t, other.origin(), "/users/bea", nil))
	s := newSetup(t, nil)

	// The actor's host names a handle on other, which is someone else
	// there, unknown there, or an answer about yet another handle: the
	// actor keeps the handle of its own host, whose answer linked it.
	cases := map[string]func(actor string) string{
		"claims": func(string) string { return jrdFor("bea@"+other.host(), other.iri("/users/bea")) },
		"absent": nil,
		"moved":  func(actor string) string { return jrdFor("cleo@"+other.host(), actor) },
		"broken": func(string) string { return `<html>` },
	}
	for name, answer := range cases {
		t.Run(name, func(t *testing.T) {
			path := "/users/" + name
			actor := serveActor(t, social, path)
			social.setWebFinger("acct:"+name+"@"+social.host(), jrdFor("bea@"+other.host(), actor.String()))
			if answer != nil {
				other.setWebFinger("acct:bea@"+other.host(), answer(actor.String()))
			} else {
				other.setStatus(wfURI("acct:bea@"+other.host()), http.StatusNotFound, `{}`)
			}
			h, err := s.r.Handle(ctx, actor)
			require.NoError(t, err)
			assert.Equal(t, name+"@"+social.host(), h)
		})
	}

	// When the actor's own host does not link the actor either, there is
	// no handle at all: a WebFinger host claiming another server's actor
	// (here the answer links bea on other) gets it no handle.
	dan := serveActor(t, social, "/users/dan")
	social.setWebFinger("acct:dan@"+social.host(), jrdFor("bea@"+other.host(), other.iri("/users/bea")))
	other.setWebFinger("acct:bea@"+other.host(), jrdFor("bea@"+other.host(), other.iri("/users/bea")))
	_, err := s.r.Handle(ctx, dan)
	require.ErrorIs(t, err, deref.ErrNoHandle)
	assert.Equal(t, http.StatusBadGateway, ap.StatusOf(err))
	_, err = s.st.GetValue(ctx, deref.HandleKeyPrefix+dan.String())
	require.ErrorIs(t, err, store.ErrNotFound, "a failure is not kept")
}

func TestHandleImpostor(t *testing.T) {
	// mallory's server claims that mallory is alice of victim. victim
	// names its own alice: mallory stays mallory of evil.
	ctx := context.Background()
	evil, victim := newRemote(t), newRemote(t)
	mallory := serveActor(t, evil, "/users/mallory")
	alice := serveActor(t, victim, "/users/alice")
	evil.setWebFinger("acct:mallory@"+evil.host(), jrdFor("alice@"+victim.host(), mallory.String()))
	victim.setWebFinger("acct:alice@"+victim.host(), jrdFor("alice@"+victim.host(), alice.String()))
	s := newSetup(t, nil)

	h, err := s.r.Handle(ctx, mallory)
	require.NoError(t, err)
	assert.Equal(t, "mallory@"+evil.host(), h)
	h, err = s.r.Handle(ctx, alice)
	require.NoError(t, err)
	assert.Equal(t, "alice@"+victim.host(), h)
}

func TestHandleSubjectMismatch(t *testing.T) {
	ctx := context.Background()
	rm := newRemote(t)
	s := newSetup(t, nil)

	// Another user of the same host that links this actor too is the
	// canonical handle (a rename).
	dora := serveActor(t, rm, "/users/dora")
	rm.setWebFinger("acct:dora@"+rm.host(), jrdFor("dorothy@"+rm.host(), dora.String()))
	rm.setWebFinger("acct:dorothy@"+rm.host(), jrdFor("dorothy@"+rm.host(), dora.String()))
	h, err := s.r.Handle(ctx, dora)
	require.NoError(t, err)
	assert.Equal(t, "dorothy@"+rm.host(), h)

	// One that is someone else is not; the actor's own handle is.
	carl := serveActor(t, rm, "/users/carl")
	admin := serveActor(t, rm, "/users/admin")
	rm.setWebFinger("acct:carl@"+rm.host(), jrdFor("admin@"+rm.host(), carl.String()))
	rm.setWebFinger("acct:admin@"+rm.host(), jrdFor("admin@"+rm.host(), admin.String()))
	h, err = s.r.Handle(ctx, carl)
	require.NoError(t, err)
	assert.Equal(t, "carl@"+rm.host(), h)

	// An answer about the actor's own handle that links another actor
	// gives no handle.
	eve := serveActor(t, rm, "/users/eve")
	rm.setWebFinger("acct:eve@"+rm.host(), jrdFor("eve@"+rm.host(), admin.String()))
	_, err = s.r.Handle(ctx, eve)
	require.ErrorIs(t, err, deref.ErrNoHandle)

	// Neither does an answer without a subject, or without a self link.
	fay := serveActor(t, rm, "/users/fay")
	rm.setWebFinger("acct:fay@"+rm.host(), `{"links":[{"rel":"self","type":"application/activity+json","href":"`+fay.String()+`"}]}`)
	_, err = s.r.Handle(ctx, fay)
	require.ErrorIs(t, err, deref.ErrNoHandle)
	require.ErrorIs(t, err, deref.ErrInvalidDocument)
	gus := serveActor(t, rm, "/users/gus")
	rm.setWebFinger("acct:gus@"+rm.host(), `{"subject":"acct:gus@`+rm.host()+`","links":[]}`)
	_, err = s.r.Handle(ctx, gus)
	require.ErrorIs(t, err, deref.ErrNoHandle)
}

func TestHandleNoPreferredUsername(t *testing.T) {
	ctx := context.Background()
	rm := newRemote(t)
	rm.set("/actors/7", `{"@context":"https://www.w3.org/ns/activitystreams","id":"{{ORIGIN}}/actors/7","type":"Service","inbox":"{{ORIGIN}}/actors/7/inbox"}`)
	s := newSetup(t, nil)
	_, err := s.r.Handle(ctx, rm.url("/actors/7"))
	require.ErrorIs(t, err, deref.ErrNoHandle)
	assert.Equal(t, 1, rm.totalHits(), "no WebFinger query without a user name")

	// A user name WebFinger cannot carry is no handle either.
	rm.set("/actors/8", `{"id":"{{ORIGIN}}/actors/8","type":"Person","preferredUsername":"a/b@c","inbox":"{{ORIGIN}}/actors/8/inbox"}`)
	_, err = s.r.Handle(ctx, rm.url("/actors/8"))
	require.ErrorIs(t, err, deref.ErrNoHandle)
	assert.Equal(t, 2, rm.totalHits())
}

func TestHandleNotFound(t *testing.T) {
	ctx := context.Background()
	rm := newRemote(t)
	s := newSetup(t, nil)

	// No actor: the 404 of the actor.
	_, err := s.r.Handle(ctx, rm.url("/users/nobody"))
	require.ErrorIs(t, err, store.ErrNotFound)
	assert.NotErrorIs(t, err, deref.ErrNoHandle)

	// An actor whose host has no WebFinger answer for it.
	hal := serveActor(t, rm, "/users/hal")
	_, err = s.r.Handle(ctx, hal)
	require.ErrorIs(t, err, deref.ErrNoHandle)
	require.ErrorIs(t, err, store.ErrNotFound)

	// An actor of a host that answers 410 Gone.
	rm.setStatus("/users/ida", http.StatusGone, `{}`)
	_, err = s.r.Handle(ctx, rm.url("/users/ida"))
	require.ErrorIs(t, err, store.ErrGone)
}

func TestHandleTransientFailure(t *testing.T) {
	// A WebFinger host that fails (503) gives that error, not
	// ErrNoHandle, and nothing is kept: once it answers, the handle is
	// found.
	ctx := context.Background()
	social, web := newRemote(t), newRemote(t)
	jo := serveActor(t, social, "/users/jo")
	social.setStatus(wfURI("acct:jo@"+social.host()), http.StatusServiceUnavailable, `{}`)
	s := newSetup(t, nil)
	_, err := s.r.Handle(ctx, jo)
	require.Error(t, err)
	assert.NotErrorIs(t, err, deref.ErrNoHandle)
	var re *ap.RemoteError
	require.ErrorAs(t, err, &re)
	assert.Equal(t, http.StatusServiceUnavailable, re.StatusCode)

	// Likewise the confirming domain of a split domain: its failure is
	// not taken for a refusal (which would fall back to social's handle).
	social.setWebFinger("acct:jo@"+social.host(), jrdFor("jo@"+web.host(), jo.String()))
	web.setStatus(wfURI("acct:jo@"+web.host()), http.StatusBadGateway, `{}`)
	_, err = s.r.Handle(ctx, jo)
	require.ErrorAs(t, err, &re)
	assert.Equal(t, http.StatusBadGateway, re.StatusCode)

	web.setWebFinger("acct:jo@"+web.host(), jrdFor("jo@"+web.host(), jo.String()))
	h, err := s.r.Handle(ctx, jo)
	require.NoError(t, err)
	assert.Equal(t, "jo@"+web.host(), h)
}

func TestHandleLocal(t *testing.T) {
	ctx := context.Background()
	rm := newRemote(t)
	s := newSetup(t, &deref.Options{LocalHost: rm.host()})
	alice := rm.iri("/users/alice")
	require.NoError(t, s.st.CreateAccount(ctx, &store.Account{Username: "alice", ActorIRI: alice}))
	require.NoError(t, s.st.PutObject(ctx, &store.Object{IRI: alice, Type: "Person", Actor: alice, Local: true,
		Data: []byte(actorJSON(t, rm.origin(), "/users/alice", nil))}))

	h, err := s.r.Handle(ctx, mustURL(t, alice))
	require.NoError(t, err)
	assert.Equal(t, "alice@"+rm.host(), h)
	back, err := s.r.WebFinger(ctx, h)
	require.NoError(t, err)
	assert.Equal(t, alice, back.String())

	// A local document whose account is another actor's, and a missing
	// one.
	bob := rm.iri("/users/bob")
	require.NoError(t, s.st.PutObject(ctx, &store.Object{IRI: bob, Type: "Person", Actor: bob, Local: true,
		Data: []byte(strings.ReplaceAll(actorJSON(t, rm.origin(), "/users/bob", nil), `"preferredUsername":"bob"`, `"preferredUsername":"alice"`))}))
	_, err = s.r.Handle(ctx, mustURL(t, bob))
	require.ErrorIs(t, err, deref.ErrNoHandle)
	_, err = s.r.Handle(ctx, rm.url("/users/carol"))
	require.ErrorIs(t, err, store.ErrNotFound)
	assert.Equal(t, 0, rm.totalHits(), "nothing local is fetched")
}

func TestHandleInvalidIRI(t *testing.T) {
	ctx := context.Background()
	s := newSetup(t, nil)
	for _, iri := range []string{"", "mailto:a@b.example", "https://user@host.example/users/a", "/users/a"} {
		var u *url.URL
		if iri != "" {
			u = mustURL(t, iri)
		}
		_, err := s.r.Handle(ctx, u)
		require.ErrorIs(t, err, deref.ErrInvalidIRI, "%q", iri)
		assert.Equal(t, http.StatusBadRequest, ap.StatusOf(err))
	}
	assert.Equal(t, int64(0), s.tr.gets.Load())
}
