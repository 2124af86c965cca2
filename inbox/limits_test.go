package inbox_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slothpub/slothpub/actor"
	"github.com/slothpub/slothpub/ap"
	"github.com/slothpub/slothpub/deref"
	"github.com/slothpub/slothpub/httpsig"
	"github.com/slothpub/slothpub/inbox"
	"github.com/slothpub/slothpub/store"
	"github.com/slothpub/slothpub/store/memstore"
	"github.com/slothpub/slothpub/store/worker"
)

// silentKeyServer accepts connections and requests and never answers
// (until the test's cleanup); it counts the requests it saw.
type silentKeyServer struct {
	srv     *httptest.Server
	gets    atomic.Int64
	arrived chan struct{}
}

func newSilentKeyServer(t *testing.T) *silentKeyServer {
	s := &silentKeyServer{arrived: make(chan struct{}, 16)}
	release := make(chan struct{})
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet {
			s.gets.Add(1)
		}
		select {
		case s.arrived <- struct{}{}:
		default:
		}
		<-release
	}))
	t.Cleanup(s.srv.Close)               // second: no handler is held any more
	t.Cleanup(func() { close(release) }) // first
	return s
}

var senderKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
})

// realInbox is bob's inbox wired as a server is: the real deref.Resolver
// over the real ap.HTTPTransport (loopback allowed, its own 30 s timeout
// left at the default), the real httpsig.Verifier, served over HTTP.
type realInbox struct {
	t   *testing.T
	srv *httptest.Server
	bob *actor.Actor
	st  *store.DB
}

func newRealInbox(t *testing.T, opts *inbox.Options) *realInbox {
	ctx := context.Background()
	st := memstore.New()
	const host = "b.example"
	actors := actor.NewDirectory(st, host, &actor.Options{Scheme: "https"})
	inst, err := actors.Instance(ctx)
	require.NoError(t, err)
	bob, err := actors.Create(ctx, "bob")
	require.NoError(t, err)
	tr := ap.NewHTTPTransport(&ap.HTTPTransportOptions{AllowPrivate: true})
	res := deref.New(st, tr, inst.Signer(), &deref.Options{LocalHost: host})
	ver := httpsig.NewVerifier(res, &httpsig.VerifierOptions{TargetScheme: "https"})
	o := *opts
	o.Fetcher = res
	o.Logger = slog.New(slog.DiscardHandler)
	w := worker.New(st, &worker.Options{Logger: o.Logger, PollInterval: 10 * time.Millisecond})
	o.Worker = w
	ib, err := inbox.New(st, actors, ver, &o)
	require.NoError(t, err)
	done := make(chan struct{})
	go func() { defer close(done); _ = w.Run(ctx) }()
	t.Cleanup(func() {
		sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		_ = w.Shutdown(sctx)
		<-done
	})
	mux := http.NewServeMux()
	mux.Handle("POST /users/{name}/inbox", ib)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return &realInbox{t: t, srv: srv, bob: bob, st: st}
}

// processed waits up to timeout for bob's server to have processed
// everything it accepted, and reports whether it did.
func (ri *realInbox) processed(timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		n, err := ri.st.CountJobs(context.Background(), store.JobQuery{States: []store.JobState{store.JobAvailable, store.JobRunning, store.JobRetryable}})
		require.NoError(ri.t, err)
		if n == 0 {
			return true
		}
		time.Sleep(5 * time.Millisecond)
	}
	return false
}

// request builds a POST of body to bob's inbox, addressed to b.example
// (what a signature covers) and sent to the test server.
func (ri *realInbox) request(body io.Reader) *http.Request {
	req, err := http.NewRequest(http.MethodPost, "https://b.example/users/bob/inbox", body)
	require.NoError(ri.t, err)
	req.Header.Set("Content-Type", "application/activity+json")
	return req
}

// send sends req to the test server, giving up after timeout.
func (ri *realInbox) send(req *http.Request, timeout time.Duration) (*http.Response, error) {
	req.URL.Scheme = "http"
	req.URL.Host = strings.TrimPrefix(ri.srv.URL, "http://")
	client := &http.Client{Timeout: timeout}
	resp, err := client.Do(req)
	if err == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	return resp, err
}

// signedFollow is a Follow of bob by mallory, whose key lives on origin,
// signed with that key.
func (ri *realInbox) signedFollow(origin string) *http.Request {
	mallory := origin + "/users/mallory"
	body := fmt.Appendf(nil, `{"@context":"https://www.w3.org/ns/activitystreams","id":%q,"type":"Follow","actor":%q,"object":%q}`,
		mallory+"/follows/1", mallory, ri.bob.IRI())
	s, err := httpsig.NewSigner(mallory+"#main-key", senderKey(), nil)
	require.NoError(ri.t, err)
	req := ri.request(bytes.NewReader(body))
	require.NoError(ri.t, s.SignRequest(req, body))
	return req
}

// One signed POST whose key lives on a server that never answers holds
// the inbox no longer than FetchTimeout and costs the key server one GET.
func TestSilentKeyServerAnsweredWithinFetchTimeout(t *testing.T) {
	ks := newSilentKeyServer(t)
	const fetchTimeout = 500 * time.Millisecond
	ri := newRealInbox(t, &inbox.Options{FetchTimeout: fetchTimeout})

	start := time.Now()
	resp, err := ri.send(ri.signedFollow(ks.srv.URL), fetchTimeout+3*time.Second)
	elapsed := time.Since(start)
	require.NoError(t, err, "the inbox did not answer within %v", fetchTimeout+3*time.Second)
	assert.GreaterOrEqual(t, resp.StatusCode, 400)
	assert.Less(t, elapsed, fetchTimeout+time.Second, "answered after %v", elapsed)
	assert.Equal(t, int64(1), ks.gets.Load(), "GETs to the key server")
}

// Beyond MaxInFlight a request is answered 503 with Retry-After at once,
// without its body being read; a slot given back admits the next one.
func TestMaxInFlight(t *testing.T) {
	ks := newSilentKeyServer(t)
	ri := newRealInbox(t, &inbox.Options{FetchTimeout: 1500 * time.Millisecond, MaxInFlight: 1})

	first := make(chan int, 1)
	go func() {
		resp, err := ri.send(ri.signedFollow(ks.srv.URL), 5*time.Second)
		if err != nil {
			first <- 0
			return
		}
		first <- resp.StatusCode
	}()
	<-ks.arrived // the first request holds the only slot, waiting on the key

	// A body that does not arrive for two seconds: reading it would hold
	// the answer that long (and then fail).
	pr, pw := io.Pipe()
	defer pw.Close()
	time.AfterFunc(2*time.Second, func() { pw.CloseWithError(errors.New("test: the body never came")) })
	start := time.Now()
	resp, err := ri.send(ri.request(pr), 3*time.Second)
	require.NoError(t, err)
	assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	assert.Equal(t, "2", resp.Header.Get("Retry-After"), "FetchTimeout rounded up to whole seconds")
	assert.Less(t, time.Since(start), time.Second)

	assert.Equal(t, http.StatusServiceUnavailable, <-first, "the key never came: retry later")
	resp, err = ri.send(ri.request(strings.NewReader(`{}`)), 3*time.Second)
	require.NoError(t, err)
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode, "admitted again once the slot is free")
	assert.Equal(t, int64(1), ks.gets.Load())
}

// keyServer serves mallory's actor document, with senderKey's public key.
func keyServer(t *testing.T) *httptest.Server {
	pemText, err := httpsig.EncodePublicKeyPEM(&senderKey().PublicKey)
	require.NoError(t, err)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/users/mallory" {
			http.NotFound(w, r)
			return
		}
		id := "http://" + r.Host + "/users/mallory"
		doc, _ := json.Marshal(map[string]any{
			"@context":          []string{"https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"},
			"id":                id,
			"type":              "Person",
			"preferredUsername": "mallory",
			"inbox":             id + "/inbox",
			"publicKey":         map[string]any{"id": id + "#main-key", "owner": id, "publicKeyPem": pemText},
		})
		w.Header().Set("Content-Type", "application/activity+json")
		_, _ = w.Write(doc)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// The 202 waits for no object: a Create whose object lives on a server
// that never answers is accepted at once, without a GET to that server.
// Its processing then fetches the object within FetchTimeout, with one
// GET, and, the object not fetched, records it by IRI and finishes.
func TestSilentObjectServerCreateAcceptedWithinFetchTimeout(t *testing.T) {
	ks := keyServer(t)
	objects := newSilentKeyServer(t)
	const fetchTimeout = 500 * time.Millisecond
	ri := newRealInbox(t, &inbox.Options{FetchTimeout: fetchTimeout})

	mallory := ks.URL + "/users/mallory"
	body := fmt.Appendf(nil, `{"@context":"https://www.w3.org/ns/activitystreams","id":%q,"type":"Create","actor":%q,"object":%q,"to":[%q]}`,
		mallory+"/creates/1", mallory, objects.srv.URL+"/notes/1", ri.bob.IRI())
	s, err := httpsig.NewSigner(mallory+"#main-key", senderKey(), nil)
	require.NoError(t, err)
	req := ri.request(bytes.NewReader(body))
	require.NoError(t, s.SignRequest(req, body))

	start := time.Now()
	resp, err := ri.send(req, fetchTimeout+3*time.Second)
	elapsed := time.Since(start)
	require.NoError(t, err)
	assert.Equal(t, http.StatusAccepted, resp.StatusCode)
	assert.Less(t, elapsed, fetchTimeout, "answered after %v", elapsed)

	require.True(t, ri.processed(fetchTimeout+2*time.Second), "processed within the fetch timeout")
	assert.Less(t, time.Since(start), fetchTimeout+time.Second)
	assert.Equal(t, int64(1), objects.gets.Load(), "GETs to the object server")
	ok, err := ri.st.HasItem(t.Context(), ri.bob.Inbox().String(), mallory+"/creates/1")
	require.NoError(t, err)
	assert.True(t, ok, "the Create reached bob's timeline, its object by IRI")
}

// A key that cannot be fetched for a reason that may pass is answered 503
// with Retry-After, so the sender retries later; a key that is not there is
// a permanent 401.
func TestKeyUnavailableStatus(t *testing.T) {
	answer := func(status int) string {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(status)
		}))
		t.Cleanup(srv.Close)
		return srv.URL
	}
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close() // connection refused
	for _, tt := range []struct {
		name   string
		origin string
		want   int
	}{
		{"key server 503", answer(http.StatusServiceUnavailable), http.StatusServiceUnavailable},
		{"key server 500", answer(http.StatusInternalServerError), http.StatusServiceUnavailable},
		{"key server 429", answer(http.StatusTooManyRequests), http.StatusServiceUnavailable},
		{"connection refused", closed.URL, http.StatusServiceUnavailable},
		{"key not found", answer(http.StatusNotFound), http.StatusUnauthorized},
		{"key gone", answer(http.StatusGone), http.StatusUnauthorized},
		{"key server 403", answer(http.StatusForbidden), http.StatusUnauthorized},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ri := newRealInbox(t, &inbox.Options{FetchTimeout: 3 * time.Second})
			resp, err := ri.send(ri.signedFollow(tt.origin), 10*time.Second)
			require.NoError(t, err)
			assert.Equal(t, tt.want, resp.StatusCode)
			if tt.want == http.StatusServiceUnavailable {
				assert.Equal(t, "3", resp.Header.Get("Retry-After"))
			} else {
				assert.Empty(t, resp.Header.Get("Retry-After"))
			}
		})
	}
}
