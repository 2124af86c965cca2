package deref_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/slothpub/slothpub/ap"
	"github.com/slothpub/slothpub/deref"
	"github.com/slothpub/slothpub/httpsig"
	"github.com/slothpub/slothpub/store"
	"github.com/slothpub/slothpub/store/memstore"
)

// rsaKeys are generated once per test binary: RSA-2048 generation is slow.
var rsaKeys = sync.OnceValue(func() []*rsa.PrivateKey {
	keys := make([]*rsa.PrivateKey, 2)
	for i := range keys {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		keys[i] = k
	}
	return keys
})

func publicPEM(t testing.TB, k *rsa.PrivateKey) string {
	t.Helper()
	s, err := httpsig.EncodePublicKeyPEM(&k.PublicKey)
	require.NoError(t, err)
	return s
}

// clock is a settable clock that starts at the real time, because store
// drivers stamp Updated with their own clock.
type clock struct {
	mu     sync.Mutex
	offset time.Duration
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.offset += d
	c.mu.Unlock()
}

// testTransport is the real ap.HTTPTransport (private addresses allowed,
// for httptest) behind a guard that refuses anything but loopback and
// counts GETs. Its body cap is larger than the resolver's default so that
// the resolver's own cap is what tests exercise.
type testTransport struct {
	inner *ap.HTTPTransport
	gets  atomic.Int64
}

func newTestTransport() *testTransport {
	return &testTransport{inner: ap.NewHTTPTransport(&ap.HTTPTransportOptions{
		AllowPrivate: true,
		MaxBodyBytes: 8 << 20,
		Timeout:      10 * time.Second,
	})}
}

func checkLoopback(u *url.URL) error {
	ip := net.ParseIP(u.Hostname())
	if ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("test transport: refusing non-loopback host %q", u.Host)
	}
	return nil
}

func (t *testTransport) Get(ctx context.Context, iri *url.URL, s ap.RequestSigner) (*ap.Response, error) {
	t.gets.Add(1)
	if err := checkLoopback(iri); err != nil {
		return nil, err
	}
	return t.inner.Get(ctx, iri, s)
}

func (t *testTransport) Post(ctx context.Context, inbox *url.URL, body []byte, s ap.RequestSigner) error {
	return errors.New("test transport: POST not supported")
}

// markSigner is a RequestSigner that marks requests and counts them; the
// remote test server can require the mark.
type markSigner struct{ n atomic.Int64 }

func (s *markSigner) SignRequest(r *http.Request, body []byte) error {
	s.n.Add(1)
	r.Header.Set("Signature", `keyId="test-instance-actor"`)
	return nil
}

// route is one canned answer of a remote test server.
type route struct {
	status   int
	body     []byte
	location string
}

// remote is an httptest server that plays a fediverse server: it serves
// canned documents by request URI and counts hits.
type remote struct {
	t   testing.TB
	srv *httptest.Server

	mu         sync.Mutex
	routes     map[string]route
	hits       map[string]int
	requireSig bool
	gate       chan struct{} // when non-nil, requests wait for it to close
	arrived    chan struct{} // receives (without blocking) on each request
}

func newRemote(t testing.TB) *remote {
	rm := &remote{t: t, routes: make(map[string]route), hits: make(map[string]int)}
	rm.srv = httptest.NewServer(http.HandlerFunc(rm.serve))
	t.Cleanup(rm.srv.Close)
	return rm
}

func (rm *remote) serve(w http.ResponseWriter, r *http.Request) {
	key := r.RequestURI
	rm.mu.Lock()
	rm.hits[key]++
	rt, ok := rm.routes[key]
	requireSig, gate, arrived := rm.requireSig, rm.gate, rm.arrived
	rm.mu.Unlock()
	if arrived != nil {
		select {
		case arrived <- struct{}{}:
		default:
		}
	}
	if gate != nil {
		<-gate
	}
	if !strings.HasPrefix(r.URL.Path, "/.well-known/") {
		a := r.Header.Get("Accept")
		if !strings.Contains(a, "application/activity+json") && !strings.Contains(a, "application/ld+json") {
			http.Error(w, "not acceptable", http.StatusNotAcceptable)
			return
		}
		if requireSig && r.Header.Get("Signature") == "" {
			http.Error(w, "signature required", http.StatusUnauthorized)
			return
		}
	}
	if !ok {
		http.NotFound(w, r)
		return
	}
	if rt.location != "" {
		http.Redirect(w, r, rt.location, http.StatusFound)
		return
	}
	w.Header().Set("Content-Type", "application/activity+json")
	w.WriteHeader(rt.status)
	_, _ = w.Write(rt.body)
}

// origin is the server's origin, e.g. http://127.0.0.1:41234.
func (rm *remote) origin() string { return rm.srv.URL }

// host is the server's host:port.
func (rm *remote) host() string { return strings.TrimPrefix(rm.srv.URL, "http://") }

// iri returns the absolute IRI of path on this server.
func (rm *remote) iri(path string) string { return rm.srv.URL + path }

// url is iri parsed.
func (rm *remote) url(path string) *url.URL {
	u, err := url.Parse(rm.iri(path))
	require.NoError(rm.t, err)
	return u
}

// set serves body at requestURI with status 200; "{{ORIGIN}}" in body is
// replaced by the server's origin.
func (rm *remote) set(requestURI, body string) {
	rm.setStatus(requestURI, http.StatusOK, body)
}

func (rm *remote) setStatus(requestURI string, status int, body string) {
	rm.mu.Lock()
	defer rm.mu.Unlock()
	rm.routes[requestURI] = route{status: status, body: []byte(strings.ReplaceAll(body, "{{ORIGIN}}", rm.srv.URL))}
}

func (rm *remote) redirect(requestURI, location string) {
	rm.mu.Lock()
	defer rm.mu.Unlock()
	rm.routes[requestURI] = route{location: location}
}

// setWebFinger serves a JRD for resource.
func (rm *remote) setWebFinger(resource, body string) {
	rm.set("/.well-known/webfinger?"+url.Values{"resource": {resource}}.Encode(), body)
}

func (rm *remote) hitsOf(requestURI string) int {
	rm.mu.Lock()
	defer rm.mu.Unlock()
	return rm.hits[requestURI]
}

func (rm *remote) totalHits() int {
	rm.mu.Lock()
	defer rm.mu.Unlock()
	n := 0
	for _, h := range rm.hits {
		n += h
	}
	return n
}

// actorJSON returns a Mastodon-style actor document at origin+path with
// one RSA key id origin+path+"#main-key".
func actorJSON(t testing.TB, origin, path string, key *rsa.PrivateKey) string {
	t.Helper()
	id := origin + path
	doc := map[string]any{
		"@context":          []string{"https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"},
		"id":                id,
		"type":              "Person",
		"preferredUsername": path[strings.LastIndexByte(path, '/')+1:],
		"name":              "Test Actor",
		"inbox":             id + "/inbox",
		"outbox":            id + "/outbox",
		"followers":         id + "/followers",
		"following":         id + "/following",
		"endpoints":         map[string]any{"sharedInbox": origin + "/inbox"},
	}
	if key != nil {
		doc["publicKey"] = map[string]any{
			"id":           id + "#main-key",
			"owner":        id,
			"publicKeyPem": publicPEM(t, key),
		}
	}
	b, err := json.Marshal(doc)
	require.NoError(t, err)
	return string(b)
}

// setup is a resolver wired to a fresh memstore and the real-HTTP test
// transport.
type setup struct {
	r      *deref.Resolver
	st     *store.DB
	tr     *testTransport
	clock  *clock
	signer *markSigner
}

func newSetup(t testing.TB, opts *deref.Options) *setup {
	t.Helper()
	s := &setup{st: memstore.New(), tr: newTestTransport(), clock: &clock{}, signer: &markSigner{}}
	var o deref.Options
	if opts != nil {
		o = *opts
	}
	if o.Clock == nil {
		o.Clock = s.clock.Now
	}
	if o.WebFingerScheme == "" {
		o.WebFingerScheme = "http"
	}
	s.r = deref.New(s.st, s.tr, s.signer, &o)
	return s
}

func mustURL(t testing.TB, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	require.NoError(t, err)
	return u
}
