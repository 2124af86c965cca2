package deref_test

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slothpub/slothpub/ap"
	"github.com/slothpub/slothpub/deref"
	"github.com/slothpub/slothpub/store"
)

// webfingerFixture reads a JRD fixture and rewrites its hosts: every
// occurrence of from (a host name) becomes to.
func webfingerFixture(t *testing.T, name string, rewrites ...string) string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(fixtures, "webfinger", name))
	require.NoError(t, err)
	s := string(raw)
	r := strings.NewReplacer(rewrites...)
	return r.Replace(s)
}

func TestWebFinger(t *testing.T) {
	ctx := context.Background()
	rm := newRemote(t)
	jrd := webfingerFixture(t, "mastodon-docs-gargron.json",
		"https://mastodon.social", rm.origin(), "mastodon.social", rm.host())
	rm.setWebFinger("acct:Gargron@"+rm.host(), jrd)
	s := newSetup(t, nil)

	for _, handle := range []string{
		"acct:Gargron@" + rm.host(),
		"Gargron@" + rm.host(),
		"@Gargron@" + rm.host(),
	} {
		u, err := s.r.WebFinger(ctx, handle)
		require.NoError(t, err, handle)
		assert.Equal(t, rm.iri("/users/Gargron"), u.String())
	}
	assert.Equal(t, int64(0), s.signer.n.Load(), "WebFinger queries are not signed")
}

func TestWebFingerLDJSONSelfLink(t *testing.T) {
	ctx := context.Background()
	rm := newRemote(t)
	jrd := webfingerFixture(t, "osada-mike.json",
		"https://osada.macgirvin.com", rm.origin(), "osada.macgirvin.com", rm.host())
	rm.setWebFinger("acct:mike@"+rm.host(), jrd)
	s := newSetup(t, nil)
	u, err := s.r.WebFinger(ctx, "mike@"+rm.host())
	require.NoError(t, err)
	assert.Equal(t, rm.iri("/channel/mike"), u.String())
}

func TestWebFingerSplitDomain(t *testing.T) {
	// The queried host may name an actor on another host: it vouches.
	ctx := context.Background()
	rm, web := newRemote(t), newRemote(t)
	rm.setWebFinger("acct:ann@"+rm.host(), `{"subject":"acct:ann@`+rm.host()+`",
		"links":[{"rel":"self","type":"application/activity+json","href":"`+web.iri("/users/ann")+`"}]}`)
	s := newSetup(t, nil)
	u, err := s.r.WebFinger(ctx, "ann@"+rm.host())
	require.NoError(t, err)
	assert.Equal(t, web.iri("/users/ann"), u.String())
}

func TestWebFingerForeignSubject(t *testing.T) {
	ctx := context.Background()
	rm := newRemote(t)
	// The imposter fixture answers about someone on another domain.
	rm.setWebFinger("acct:oopsie@"+rm.host(), webfingerFixture(t, "edge-imposter.json"))
	// Same user name on another host.
	rm.setWebFinger("acct:bob@"+rm.host(), `{"subject":"acct:bob@elsewhere.example",
		"links":[{"rel":"self","type":"application/activity+json","href":"`+rm.iri("/users/bob")+`"}]}`)
	// Another user on the right host.
	rm.setWebFinger("acct:carl@"+rm.host(), `{"subject":"acct:admin@`+rm.host()+`",
		"links":[{"rel":"self","type":"application/activity+json","href":"`+rm.iri("/users/admin")+`"}]}`)
	// No subject at all.
	rm.setWebFinger("acct:dora@"+rm.host(), `{"links":[{"rel":"self","type":"application/activity+json","href":"`+rm.iri("/users/dora")+`"}]}`)
	s := newSetup(t, nil)
	for _, user := range []string{"oopsie", "bob", "carl", "dora"} {
		_, err := s.r.WebFinger(ctx, user+"@"+rm.host())
		require.ErrorIs(t, err, deref.ErrInvalidDocument, user)
	}
}

func TestWebFingerSubjectCaseInsensitive(t *testing.T) {
	ctx := context.Background()
	rm := newRemote(t)
	rm.setWebFinger("acct:gargron@"+rm.host(), `{"subject":"acct:Gargron@`+strings.ToUpper(rm.host())+`",
		"links":[{"rel":"self","type":"application/activity+json","href":"`+rm.iri("/users/Gargron")+`"}]}`)
	s := newSetup(t, nil)
	u, err := s.r.WebFinger(ctx, "gargron@"+rm.host())
	require.NoError(t, err)
	assert.Equal(t, rm.iri("/users/Gargron"), u.String())
}

func TestWebFingerMissingSelfLink(t *testing.T) {
	ctx := context.Background()
	rm := newRemote(t)
	subject := `"subject":"acct:eve@` + rm.host() + `"`
	rm.setWebFinger("acct:eve@"+rm.host(), `{`+subject+`,"links":[
		{"rel":"http://webfinger.net/rel/profile-page","type":"text/html","href":"`+rm.iri("/@eve")+`"},
		{"rel":"self","type":"text/html","href":"`+rm.iri("/@eve")+`"},
		{"rel":"self","type":"application/activity+json"},
		"junk", 42]}`)
	rm.setWebFinger("acct:fay@"+rm.host(), `{`+strings.Replace(subject, "eve", "fay", 1)+`}`)
	rm.setWebFinger("acct:gus@"+rm.host(), `{`+strings.Replace(subject, "eve", "gus", 1)+`,"links":[
		{"rel":"self","type":"application/activity+json","href":"javascript:alert(1)"}]}`)
	s := newSetup(t, nil)
	for _, user := range []string{"eve", "fay", "gus"} {
		_, err := s.r.WebFinger(ctx, user+"@"+rm.host())
		require.ErrorIs(t, err, deref.ErrInvalidDocument, user)
	}
}

func TestWebFingerRemoteErrors(t *testing.T) {
	ctx := context.Background()
	rm := newRemote(t)
	rm.setWebFinger("acct:huge@"+rm.host(), `{"subject":"acct:huge@`+rm.host()+`","x":"`+strings.Repeat("A", 2<<20)+`"}`)
	rm.setWebFinger("acct:html@"+rm.host(), `<html></html>`)
	s := newSetup(t, nil)
	_, err := s.r.WebFinger(ctx, "nobody@"+rm.host())
	require.ErrorIs(t, err, store.ErrNotFound)
	_, err = s.r.WebFinger(ctx, "huge@"+rm.host())
	require.ErrorIs(t, err, deref.ErrInvalidDocument)
	_, err = s.r.WebFinger(ctx, "html@"+rm.host())
	require.ErrorIs(t, err, deref.ErrInvalidDocument)
}

func TestWebFingerInvalidHandles(t *testing.T) {
	ctx := context.Background()
	s := newSetup(t, nil)
	for _, h := range []string{
		"", "@", "user", "user@", "@host.example", "acct:", "a@b@c.example",
		"user@host.example/path", "user@host.example?x=1", "us/er@host.example",
		"user@host.example#f", "user name@host.example", "user@host\n.example",
		"user%40x@host.example", "user@[::1]", "user@:80", strings.Repeat("a", 300) + "@host.example",
	} {
		_, err := s.r.WebFinger(ctx, h)
		require.ErrorIs(t, err, deref.ErrInvalidIRI, "%q", h)
		assert.Equal(t, http.StatusBadRequest, ap.StatusOf(err))
	}
	assert.Equal(t, int64(0), s.tr.gets.Load(), "nothing was fetched")
}

func TestWebFingerLocal(t *testing.T) {
	ctx := context.Background()
	rm := newRemote(t)
	s := newSetup(t, &deref.Options{LocalHost: rm.host()})
	require.NoError(t, s.st.CreateAccount(ctx, &store.Account{Username: "alice", ActorIRI: rm.iri("/users/alice")}))
	u, err := s.r.WebFinger(ctx, "@alice@"+rm.host())
	require.NoError(t, err)
	assert.Equal(t, rm.iri("/users/alice"), u.String())
	_, err = s.r.WebFinger(ctx, "@nobody@"+rm.host())
	require.ErrorIs(t, err, store.ErrNotFound)
	assert.Equal(t, 0, rm.totalHits())
}
