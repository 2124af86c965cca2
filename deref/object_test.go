package deref_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slothpub/slothpub/ap"
	"github.com/slothpub/slothpub/deref"
	"github.com/slothpub/slothpub/store"
)

const noteJSON = `{
  "@context": "https://www.w3.org/ns/activitystreams",
  "id": "{{ORIGIN}}/notes/1",
  "type": "Note",
  "attributedTo": [{"type": "Person", "id": "{{ORIGIN}}/users/alice"}],
  "content": "hello"
}`

func TestObjectFetchesAndCaches(t *testing.T) {
	ctx := context.Background()
	rm := newRemote(t)
	rm.requireSig = true
	rm.set("/notes/1", noteJSON)
	s := newSetup(t, nil)

	o, err := s.r.Object(ctx, rm.url("/notes/1"))
	require.NoError(t, err)
	assert.Equal(t, rm.iri("/notes/1"), o.IRI)
	assert.Equal(t, "Note", o.Type)
	assert.Equal(t, rm.iri("/users/alice"), o.Actor, "attributedTo array of objects")
	assert.False(t, o.Local)
	assert.Contains(t, string(o.Data), `"content": "hello"`)
	assert.Equal(t, int64(1), s.signer.n.Load(), "the GET is signed")

	stored, err := s.st.GetObject(ctx, rm.iri("/notes/1"))
	require.NoError(t, err)
	assert.Equal(t, "Note", stored.Type)
	assert.False(t, stored.Local)

	// A second call, and a call with a fragment, are served from the store.
	_, err = s.r.Object(ctx, rm.url("/notes/1"))
	require.NoError(t, err)
	_, err = s.r.Object(ctx, rm.url("/notes/1#frag"))
	require.NoError(t, err)
	assert.Equal(t, 1, rm.hitsOf("/notes/1"))

	// Mutating a returned object does not touch the cache.
	o.Data[0] = 'X'
	again, err := s.r.Object(ctx, rm.url("/notes/1"))
	require.NoError(t, err)
	assert.Equal(t, byte('{'), again.Data[0])
}

func TestObjectStaleIsRefetched(t *testing.T) {
	ctx := context.Background()
	rm := newRemote(t)
	rm.set("/notes/1", noteJSON)
	s := newSetup(t, &deref.Options{MaxAge: time.Hour})

	_, err := s.r.Object(ctx, rm.url("/notes/1"))
	require.NoError(t, err)
	s.clock.Advance(59 * time.Minute)
	_, err = s.r.Object(ctx, rm.url("/notes/1"))
	require.NoError(t, err)
	assert.Equal(t, 1, rm.hitsOf("/notes/1"), "still fresh")

	rm.set("/notes/1", strings.Replace(noteJSON, "hello", "edited", 1))
	s.clock.Advance(2 * time.Minute)
	o, err := s.r.Object(ctx, rm.url("/notes/1"))
	require.NoError(t, err)
	assert.Equal(t, 2, rm.hitsOf("/notes/1"), "stale: refetched")
	assert.Contains(t, string(o.Data), "edited")
}

func TestObjectDefaultMaxAgeIsADay(t *testing.T) {
	ctx := context.Background()
	rm := newRemote(t)
	rm.set("/notes/1", noteJSON)
	s := newSetup(t, nil)
	_, err := s.r.Object(ctx, rm.url("/notes/1"))
	require.NoError(t, err)
	s.clock.Advance(23 * time.Hour)
	_, err = s.r.Object(ctx, rm.url("/notes/1"))
	require.NoError(t, err)
	assert.Equal(t, 1, rm.hitsOf("/notes/1"))
	s.clock.Advance(2 * time.Hour)
	_, err = s.r.Object(ctx, rm.url("/notes/1"))
	require.NoError(t, err)
	assert.Equal(t, 2, rm.hitsOf("/notes/1"))
}

func TestObjectConcurrentCallsShareOneFetch(t *testing.T) {
	ctx := context.Background()
	rm := newRemote(t)
	rm.set("/notes/1", noteJSON)
	gate := make(chan struct{})
	rm.gate = gate
	rm.arrived = make(chan struct{}, 1)
	s := newSetup(t, nil)

	const n = 32
	var wg sync.WaitGroup
	errs := make([]error, n)
	iris := make([]string, n)
	for i := range n {
		wg.Go(func() {
			o, err := s.r.Object(ctx, rm.url("/notes/1"))
			errs[i] = err
			if err == nil {
				iris[i] = o.IRI
			}
		})
	}
	<-rm.arrived                      // the first fetch is in the server
	time.Sleep(50 * time.Millisecond) // let the others pile up behind it
	close(gate)
	wg.Wait()
	for i := range n {
		require.NoError(t, errs[i])
		assert.Equal(t, rm.iri("/notes/1"), iris[i])
	}
	assert.Equal(t, 1, rm.hitsOf("/notes/1"))
}

func TestObjectRejectsForeignOrigin(t *testing.T) {
	ctx := context.Background()
	evil, victim := newRemote(t), newRemote(t)
	// evil serves a document claiming to be victim's.
	evil.set("/notes/1", strings.ReplaceAll(noteJSON, "{{ORIGIN}}", victim.origin()))
	s := newSetup(t, nil)

	_, err := s.r.Object(ctx, evil.url("/notes/1"))
	require.ErrorIs(t, err, deref.ErrInvalidDocument)
	assert.Equal(t, http.StatusBadGateway, ap.StatusOf(err))
	assert.Equal(t, 0, victim.totalHits(), "the foreign id is not fetched")
	_, err = s.st.GetObject(ctx, victim.iri("/notes/1"))
	assert.ErrorIs(t, err, store.ErrNotFound, "nothing stored")
	_, err = s.st.GetObject(ctx, evil.iri("/notes/1"))
	assert.ErrorIs(t, err, store.ErrNotFound, "nothing stored")
}

// A server speaks only for its own actors (FEP-fe34): a document served
// by its own origin that names an author or actor of another origin is
// refused, not filed under that author.
func TestObjectRejectsCrossOriginAttribution(t *testing.T) {
	ctx := context.Background()
	evil, victim := newRemote(t), newRemote(t)
	cases := map[string]string{
		"/notes/attributed":   fmt.Sprintf(`{"id":"{{ORIGIN}}/notes/attributed","type":"Note","content":"I am B","attributedTo":%q}`, victim.iri("/users/bob")),
		"/notes/embedded":     fmt.Sprintf(`{"id":"{{ORIGIN}}/notes/embedded","type":"Note","attributedTo":{"id":%q,"type":"Person"}}`, victim.iri("/users/bob")),
		"/notes/second":       fmt.Sprintf(`{"id":"{{ORIGIN}}/notes/second","type":"Note","attributedTo":["{{ORIGIN}}/users/eve",%q]}`, victim.iri("/users/bob")),
		"/activities/create1": fmt.Sprintf(`{"id":"{{ORIGIN}}/activities/create1","type":"Create","actor":%q,"object":"{{ORIGIN}}/notes/x"}`, victim.iri("/users/bob")),
	}
	for path, body := range cases {
		evil.set(path, body)
	}
	s := newSetup(t, nil)
	for path := range cases {
		t.Run(path, func(t *testing.T) {
			_, err := s.r.Object(ctx, evil.url(path))
			require.ErrorIs(t, err, deref.ErrInvalidDocument)
			_, err = s.st.GetObject(ctx, evil.iri(path))
			assert.ErrorIs(t, err, store.ErrNotFound, "nothing stored")
		})
	}
	assert.Equal(t, 0, victim.totalHits())

	// The same documents attributed within their own origin are kept, owned
	// by that author.
	evil.set("/notes/own", `{"id":"{{ORIGIN}}/notes/own","type":"Note","attributedTo":["{{ORIGIN}}/users/eve","{{ORIGIN}}/channels/eve"]}`)
	o, err := s.r.Object(ctx, evil.url("/notes/own"))
	require.NoError(t, err)
	assert.Equal(t, evil.iri("/users/eve"), o.Actor)
}

func TestObjectSameOriginIDIsRefetchedOnce(t *testing.T) {
	ctx := context.Background()
	rm := newRemote(t)
	rm.set("/@alice/1", noteJSON) // an alias URL serving the canonical document
	rm.set("/notes/1", noteJSON)
	s := newSetup(t, nil)

	o, err := s.r.Object(ctx, rm.url("/@alice/1"))
	require.NoError(t, err)
	assert.Equal(t, rm.iri("/notes/1"), o.IRI)
	assert.Equal(t, 1, rm.hitsOf("/@alice/1"))
	assert.Equal(t, 1, rm.hitsOf("/notes/1"), "refetched by its own id")
	_, err = s.st.GetObject(ctx, rm.iri("/notes/1"))
	require.NoError(t, err, "stored under its id")

	// A chain of ids is not followed: only one refetch.
	rm.set("/a", `{"id":"{{ORIGIN}}/b","type":"Note"}`)
	rm.set("/b", `{"id":"{{ORIGIN}}/c","type":"Note"}`)
	rm.set("/c", `{"id":"{{ORIGIN}}/c","type":"Note"}`)
	_, err = s.r.Object(ctx, rm.url("/a"))
	require.ErrorIs(t, err, deref.ErrInvalidDocument)
	assert.Equal(t, 0, rm.hitsOf("/c"))
}

func TestObjectRedirects(t *testing.T) {
	ctx := context.Background()
	a, b := newRemote(t), newRemote(t)
	s := newSetup(t, nil)

	// a redirects to b, which serves its own document: accepted under b's id.
	a.redirect("/notes/1", b.iri("/notes/9"))
	b.set("/notes/9", `{"id":"{{ORIGIN}}/notes/9","type":"Note"}`)
	o, err := s.r.Object(ctx, a.url("/notes/1"))
	require.NoError(t, err)
	assert.Equal(t, b.iri("/notes/9"), o.IRI)

	// a redirects to b, which claims a's id: b cannot speak for a.
	a.redirect("/notes/2", b.iri("/fake"))
	b.set("/fake", fmt.Sprintf(`{"id":%q,"type":"Note"}`, a.iri("/notes/2")))
	_, err = s.r.Object(ctx, a.url("/notes/2"))
	require.ErrorIs(t, err, deref.ErrInvalidDocument)
	_, err = s.st.GetObject(ctx, a.iri("/notes/2"))
	assert.ErrorIs(t, err, store.ErrNotFound)
}

func TestObjectGoneAndNotFound(t *testing.T) {
	ctx := context.Background()
	rm := newRemote(t)
	rm.setStatus("/notes/gone", http.StatusGone, `{"error":"gone"}`)
	s := newSetup(t, nil)

	_, err := s.r.Object(ctx, rm.url("/notes/gone"))
	require.ErrorIs(t, err, store.ErrGone)
	var re *ap.RemoteError
	require.ErrorAs(t, err, &re)
	assert.Equal(t, http.StatusGone, re.StatusCode)

	// The tombstone is cached: no second fetch while fresh.
	_, err = s.r.Object(ctx, rm.url("/notes/gone"))
	require.ErrorIs(t, err, store.ErrGone)
	assert.Equal(t, 1, rm.hitsOf("/notes/gone"))

	// A served Tombstone is gone too.
	rm.set("/notes/tomb", `{"id":"{{ORIGIN}}/notes/tomb","type":"Tombstone"}`)
	_, err = s.r.Object(ctx, rm.url("/notes/tomb"))
	require.ErrorIs(t, err, store.ErrGone)

	_, err = s.r.Object(ctx, rm.url("/notes/missing"))
	require.ErrorIs(t, err, store.ErrNotFound)
	_, err = s.st.GetObject(ctx, rm.iri("/notes/missing"))
	assert.ErrorIs(t, err, store.ErrNotFound)

	// Other remote errors pass through as *ap.RemoteError.
	rm.setStatus("/notes/boom", http.StatusServiceUnavailable, "")
	_, err = s.r.Object(ctx, rm.url("/notes/boom"))
	require.ErrorAs(t, err, &re)
	assert.Equal(t, http.StatusServiceUnavailable, re.StatusCode)
}

func TestObjectLocalIsNeverFetched(t *testing.T) {
	ctx := context.Background()
	rm := newRemote(t)
	rm.set("/notes/1", noteJSON)
	s := newSetup(t, &deref.Options{LocalHost: rm.host()})

	_, err := s.r.Object(ctx, rm.url("/notes/1"))
	require.ErrorIs(t, err, store.ErrNotFound)
	assert.Equal(t, 0, rm.totalHits())

	require.NoError(t, s.st.PutObject(ctx, &store.Object{
		IRI: rm.iri("/notes/1"), Type: "Note", Local: true, Data: []byte(`{"id":"x"}`),
	}))
	s.clock.Advance(1000 * time.Hour)
	o, err := s.r.Object(ctx, rm.url("/notes/1"))
	require.NoError(t, err)
	assert.True(t, o.Local)
	assert.Equal(t, 0, rm.totalHits())
}

func TestObjectRemoteClaimingLocalID(t *testing.T) {
	ctx := context.Background()
	local, evil := newRemote(t), newRemote(t)
	s := newSetup(t, &deref.Options{LocalHost: local.host()})
	// evil redirects to our own host: the resolver must not fetch it.
	evil.redirect("/x", local.iri("/notes/1"))
	local.set("/notes/1", noteJSON)
	_, err := s.r.Object(ctx, evil.url("/x"))
	require.Error(t, err)
	_, err = s.st.GetObject(ctx, local.iri("/notes/1"))
	assert.ErrorIs(t, err, store.ErrNotFound, "nothing stored under a local IRI")
}

func TestObjectHostileInput(t *testing.T) {
	ctx := context.Background()
	rm := newRemote(t)
	s := newSetup(t, &deref.Options{MaxDocumentBytes: 64 << 10})

	numberID, err := os.ReadFile("../internal/testdata/fixtures/invalid/w3c-as2-number-as-id.json")
	require.NoError(t, err)
	arrayTop, err := os.ReadFile("../internal/testdata/fixtures/invalid/w3c-as2-array-at-top.json")
	require.NoError(t, err)

	docs := map[string]string{
		"/huge":       `{"id":"{{ORIGIN}}/huge","type":"Note","content":"` + strings.Repeat("A", 100<<10) + `"}`,
		"/malformed":  `{"id":"{{ORIGIN}}/malformed",`,
		"/html":       `<!doctype html><html><body>hello</body></html>`,
		"/null":       `null`,
		"/empty":      ``,
		"/string":     `"{{ORIGIN}}/string"`,
		"/noid":       `{"type":"Note"}`,
		"/relid":      `{"id":"/relid","type":"Note"}`,
		"/ftpid":      `{"id":"ftp://127.0.0.1/ftpid","type":"Note"}`,
		"/objid":      `{"id":{"id":"{{ORIGIN}}/objid"},"type":"Note"}`,
		"/deep":       strings.Repeat(`{"a":`, 20000) + "1" + strings.Repeat("}", 20000),
		"/deeparray":  `{"id":"{{ORIGIN}}/deeparray","type":` + strings.Repeat("[", 20000) + strings.Repeat("]", 20000) + `}`,
		"/numberid":   string(numberID),
		"/arraytop":   string(arrayTop),
		"/userinfoid": `{"id":"http://user@{{HOST}}/userinfoid","type":"Note"}`,
	}
	for path, body := range docs {
		t.Run(path, func(t *testing.T) {
			rm.set(path, strings.ReplaceAll(body, "{{HOST}}", rm.host()))
			_, err := s.r.Object(ctx, rm.url(path))
			require.Error(t, err)
			assert.ErrorIs(t, err, deref.ErrInvalidDocument)
			_, err = s.st.GetObject(ctx, rm.iri(path))
			assert.ErrorIs(t, err, store.ErrNotFound, "nothing stored")
		})
	}
}

func TestObjectInvalidIRI(t *testing.T) {
	ctx := context.Background()
	s := newSetup(t, nil)
	for _, iri := range []string{"", "/relative", "ftp://example.com/x", "mailto:a@example.com", "https://user:pw@example.com/x", "https:///nohost"} {
		t.Run(iri, func(t *testing.T) {
			_, err := s.r.Object(ctx, mustURL(t, iri))
			require.ErrorIs(t, err, deref.ErrInvalidIRI)
			assert.Equal(t, http.StatusBadRequest, ap.StatusOf(err))
			_, err = s.r.Actor(ctx, mustURL(t, iri))
			require.ErrorIs(t, err, deref.ErrInvalidIRI)
			_, err = s.r.ResolveKey(ctx, iri, false)
			require.ErrorIs(t, err, deref.ErrInvalidIRI)
		})
	}
	_, err := s.r.Object(ctx, nil)
	require.ErrorIs(t, err, deref.ErrInvalidIRI)
	assert.Equal(t, int64(0), s.tr.gets.Load())
}

func TestObjectCancelledContext(t *testing.T) {
	rm := newRemote(t)
	rm.set("/notes/1", noteJSON)
	s := newSetup(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := s.r.Object(ctx, rm.url("/notes/1"))
	require.Error(t, err)
	assert.True(t, errors.Is(err, context.Canceled))
}
