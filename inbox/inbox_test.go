package inbox_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slothpub/slothpub/actor"
	"github.com/slothpub/slothpub/ap"
	"github.com/slothpub/slothpub/ap/aptest"
	"github.com/slothpub/slothpub/store"
)

// rig is bob's instance served over real HTTP, and alice and eve on a
// second instance whose keys bob's server fetches in process.
type rig struct {
	t          testing.TB
	n          *aptest.Network
	a, b       *aptest.Instance
	alice, eve *actor.Actor
	bob        *actor.Actor
	srv        *httptest.Server
	seq        int
}

func newRig(t testing.TB) *rig { return newRigWith(t, nil) }

func newRigWith(t testing.TB, opts *aptest.Options) *rig {
	n := aptest.NewNetwork(t, opts)
	r := &rig{t: t, n: n, a: n.Instance("a.example"), b: n.Instance("b.example")}
	r.alice, r.eve, r.bob = r.a.User("alice"), r.a.User("eve"), r.b.User("bob")
	r.srv = httptest.NewServer(r.b.Handler)
	t.Cleanup(r.srv.Close)
	return r
}

// follow returns a fresh Follow of bob by alice, recorded on alice's server
// as sent (stored, and pending its answer), as its outbox would.
func (r *rig) follow() (id string, body []byte) {
	r.t.Helper()
	r.seq++
	id = fmt.Sprintf("%s/follows/%d", r.alice.IRI(), r.seq)
	body = fmt.Appendf(nil, `{"@context":"https://www.w3.org/ns/activitystreams","id":%q,"type":"Follow","actor":%q,"object":%q}`,
		id, r.alice.IRI(), r.bob.IRI())
	ctx := context.Background()
	require.NoError(r.t, r.a.Store.PutObject(ctx, &store.Object{IRI: id, Type: "Follow", Actor: r.alice.IRI().String(), Local: true, Data: body}))
	require.NoError(r.t, r.a.Store.PutValue(ctx, store.PendingFollowKey(r.alice.IRI().String(), r.bob.IRI().String()), []byte(id), time.Time{}))
	return id, body
}

type reqOpts struct {
	inbox       string // path; "" is bob's personal inbox
	signer      ap.RequestSigner
	signedBody  []byte // body the signature covers, when it differs from the one sent
	contentType string
	date        time.Time
}

// post sends body to bob's inbox over HTTP and returns the status; after
// a 202 it waits until the network settled (bob's server processed what
// it accepted, and everything that caused), so the caller sees the
// effects.
func (r *rig) post(body []byte, o reqOpts) int {
	r.t.Helper()
	status := r.send(body, o)
	if status == http.StatusAccepted {
		r.n.Settle()
	}
	return status
}

// send sends body to bob's inbox over HTTP and returns the status.
func (r *rig) send(body []byte, o reqOpts) int {
	r.t.Helper()
	path := o.inbox
	if path == "" {
		path = "/users/bob/inbox"
	}
	req, err := http.NewRequest(http.MethodPost, r.srv.URL+path, bytes.NewReader(body))
	require.NoError(r.t, err)
	req.Host = "b.example"
	req.URL.Host = "b.example" // what the signature covers; the dial goes to srv below
	ct := o.contentType
	if ct == "" {
		ct = "application/activity+json"
	}
	req.Header.Set("Content-Type", ct)
	if !o.date.IsZero() {
		req.Header.Set("Date", o.date.UTC().Format(http.TimeFormat))
	}
	if o.signer != nil {
		signed := body
		if o.signedBody != nil {
			signed = o.signedBody
		}
		require.NoError(r.t, o.signer.SignRequest(req, signed))
	}
	req.URL.Host = strings.TrimPrefix(r.srv.URL, "http://")
	resp, err := r.srv.Client().Do(req)
	require.NoError(r.t, err)
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode
}

func (r *rig) followers() int {
	r.t.Helper()
	c, err := r.b.Store.CountItems(context.Background(), r.bob.Followers().String())
	require.NoError(r.t, err)
	return c
}

func (r *rig) stored(id string) bool {
	_, err := r.b.Store.GetObject(context.Background(), id)
	return err == nil
}

func TestInboxRejectsBadInput(t *testing.T) {
	r := newRig(t)
	deep := append(append([]byte(`{"type":"Follow","x":`), bytes.Repeat([]byte("["), 100_000)...), bytes.Repeat([]byte("]"), 100_000)...)
	deep = append(deep, '}')
	huge := append([]byte(`{"type":"Note","content":"`), bytes.Repeat([]byte("a"), 1<<20)...)
	huge = append(huge, `"}`...)

	cases := []struct {
		name   string
		status int
		send   func(body []byte) int
	}{
		{"unsigned", http.StatusUnauthorized, func(b []byte) int { return r.post(b, reqOpts{}) }},
		{"signer is not the actor", http.StatusForbidden, func(b []byte) int { return r.post(b, reqOpts{signer: r.eve.Signer()}) }},
		{"tampered body", http.StatusUnauthorized, func(b []byte) int {
			tampered := bytes.Replace(b, []byte("Follow"), []byte("Block"), 1)
			return r.post(tampered, reqOpts{signer: r.alice.Signer(), signedBody: b})
		}},
		{"body over the cap", http.StatusRequestEntityTooLarge, func([]byte) int { return r.post(huge, reqOpts{signer: r.alice.Signer()}) }},
		{"malformed JSON", http.StatusBadRequest, func([]byte) int {
			return r.post([]byte(`{"type":"Follow",`), reqOpts{signer: r.alice.Signer()})
		}},
		{"nested 100000 deep", http.StatusBadRequest, func([]byte) int { return r.post(deep, reqOpts{signer: r.alice.Signer()}) }},
		{"wrong content type", http.StatusUnsupportedMediaType, func(b []byte) int {
			return r.post(b, reqOpts{signer: r.alice.Signer(), contentType: "text/plain"})
		}},
		{"date two days old", http.StatusUnauthorized, func(b []byte) int {
			return r.post(b, reqOpts{signer: r.alice.Signer(), date: time.Now().Add(-48 * time.Hour)})
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			id, body := r.follow()
			assert.Equal(t, c.status, c.send(body))
			r.n.Settle()
			assert.False(t, r.stored(id), "the activity must not be stored")
			assert.Zero(t, r.followers(), "bob's followers must not change")
			assert.False(t, r.a.Has(r.alice.Following().String(), r.bob.IRI().String()), "no Accept may be sent")
		})
	}

	// The server kept serving: a good request still works.
	id, body := r.follow()
	assert.Equal(t, http.StatusAccepted, r.post(body, reqOpts{signer: r.alice.Signer()}))
	r.n.Settle()
	assert.True(t, r.stored(id))
	assert.Equal(t, 1, r.followers())
}

func TestInboxIsIdempotent(t *testing.T) {
	r := newRig(t)
	_, body := r.follow()
	for range 3 {
		assert.Equal(t, http.StatusAccepted, r.post(body, reqOpts{signer: r.alice.Signer()}))
	}
	r.n.Settle()
	assert.Equal(t, 1, r.followers())
	// Exactly one Accept went back for the one Follow.
	accepts := 0
	for _, e := range r.n.Exchanges() {
		if e.Method == http.MethodPost && strings.HasPrefix(e.URL, "https://a.example/") {
			accepts++
		}
	}
	assert.Equal(t, 1, accepts)
}

func TestInboxUnknownUser(t *testing.T) {
	r := newRig(t)
	req := httptest.NewRequest(http.MethodPost, "/users/nobody/inbox", strings.NewReader("{}"))
	req.Header.Set("Content-Type", "application/activity+json")
	rec := httptest.NewRecorder()
	r.b.Handler.ServeHTTP(rec, req)
	assert.Equal(t, http.StatusNotFound, rec.Code)
}

func TestInboxForeignEmbeddedObjectRejected(t *testing.T) {
	r := newRig(t)
	// alice claims to create a note that lives on b.example: an embedded
	// object of another origin is never trusted.
	forged := r.bob.IRI().String() + "/statuses/forged"
	body := fmt.Appendf(nil, `{"@context":"https://www.w3.org/ns/activitystreams","id":"%s/creates/1","type":"Create","actor":%q,
		"to":["https://www.w3.org/ns/activitystreams#Public"],
		"object":{"id":%q,"type":"Note","attributedTo":%q,"content":"forged"}}`, r.alice.IRI(), r.alice.IRI(), forged, r.bob.IRI())
	// Accepted, but the copy is never stored: the object is looked up at
	// its origin (here bob's own server, which has no such note).
	assert.Equal(t, http.StatusAccepted, r.post(body, reqOpts{signer: r.alice.Signer()}))
	_, err := r.b.Store.GetObject(context.Background(), forged)
	assert.ErrorIs(t, err, store.ErrNotFound)
	// The Create is kept, referring to the object by its id only.
	create, err := r.b.Store.GetObject(context.Background(), r.alice.IRI().String()+"/creates/1")
	require.NoError(t, err)
	assert.NotContains(t, string(create.Data), `"content"`)
	assert.Contains(t, string(create.Data), forged)
}

func TestInboxContentTypes(t *testing.T) {
	r := newRig(t)
	for ct, want := range map[string]int{
		"application/activity+json":                                            http.StatusAccepted,
		"application/activity+json; charset=utf-8":                             http.StatusAccepted,
		`application/ld+json; profile="https://www.w3.org/ns/activitystreams"`: http.StatusAccepted,
		"application/ld+json":                                                  http.StatusAccepted,
		"application/json":                                                     http.StatusAccepted,
		`application/ld+json; profile="https://example.com/other"`:             http.StatusUnsupportedMediaType,
		"text/html":                         http.StatusUnsupportedMediaType,
		"application/x-www-form-urlencoded": http.StatusUnsupportedMediaType,
		"garbage;;;":                        http.StatusUnsupportedMediaType,
	} {
		_, body := r.follow()
		assert.Equal(t, want, r.post(body, reqOpts{signer: r.alice.Signer(), contentType: ct}), ct)
	}
}
