package ap_test

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slothpub/slothpub/ap"
	"github.com/slothpub/slothpub/httpsig"
	"github.com/slothpub/slothpub/store"
	"github.com/slothpub/slothpub/store/memstore"
)

const knockKeyID = "https://local.example/users/alice#main-key"

var knockKey = sync.OnceValues(func() (*rsa.PrivateKey, error) { return rsa.GenerateKey(rand.Reader, 2048) })

// knockSigner is a real *httpsig.Signer with a real RSA key.
func knockSigner(t *testing.T) *httpsig.Signer {
	t.Helper()
	k, err := knockKey()
	require.NoError(t, err)
	s, err := httpsig.NewSigner(knockKeyID, k, nil)
	require.NoError(t, err)
	return s
}

// staticKeys resolves the one test key.
type staticKeys map[string]crypto.PublicKey

func (m staticKeys) ResolveKey(_ context.Context, id string, _ bool) (*httpsig.PublicKey, error) {
	k, ok := m[id]
	if !ok {
		return nil, errors.New("unknown key")
	}
	return &httpsig.PublicKey{ID: id, Owner: "https://local.example/users/alice", Key: k}, nil
}

// attempt is one request a knockServer received.
type attempt struct {
	method, path string
	scheme       string // scheme of a valid signature, "" if none verified
	sigInput     string
	body         string
}

// knockServer is a loopback server that verifies signatures with the real
// httpsig.Verifier and accepts a request only when ok says so; otherwise it
// answers refuse (401 by default), with Accept-Signature: acceptSig when
// that is set.
type knockServer struct {
	*httptest.Server
	mu       sync.Mutex
	attempts []attempt
}

func newKnockServer(t *testing.T, ok func(r *http.Request, res *httpsig.Result) bool, refuse int, acceptSig string) *knockServer {
	t.Helper()
	k, err := knockKey()
	require.NoError(t, err)
	v := httpsig.NewVerifier(staticKeys{knockKeyID: &k.PublicKey}, &httpsig.VerifierOptions{Logger: discardLogger()})
	if refuse == 0 {
		refuse = http.StatusUnauthorized
	}
	ks := &knockServer{}
	ks.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		res, verr := v.Verify(r)
		body, _ := io.ReadAll(r.Body)
		a := attempt{method: r.Method, path: r.URL.Path, sigInput: r.Header.Get("Signature-Input"), body: string(body)}
		if verr == nil {
			a.scheme = res.Scheme
		}
		ks.mu.Lock()
		ks.attempts = append(ks.attempts, a)
		ks.mu.Unlock()
		if verr != nil || !ok(r, res) {
			if acceptSig != "" {
				w.Header().Set("Accept-Signature", acceptSig)
			}
			w.WriteHeader(refuse)
			return
		}
		w.Header().Set("Content-Type", ap.ContentType)
		_, _ = io.WriteString(w, `{"id":"`+r.URL.Path+`"}`)
	}))
	t.Cleanup(ks.Close)
	return ks
}

func (ks *knockServer) take() []attempt {
	ks.mu.Lock()
	defer ks.mu.Unlock()
	a := ks.attempts
	ks.attempts = nil
	return a
}

func (ks *knockServer) url(t *testing.T, path string) *url.URL {
	t.Helper()
	u, err := url.Parse(ks.URL + path)
	require.NoError(t, err)
	return u
}

func (ks *knockServer) hostKey(t *testing.T) string {
	return ap.SchemeKeyPrefix + ks.url(t, "/").Host
}

func only(scheme string) func(*http.Request, *httpsig.Result) bool {
	return func(_ *http.Request, res *httpsig.Result) bool { return res.Scheme == scheme }
}

func schemes(as []attempt) []string {
	out := make([]string, len(as))
	for i, a := range as {
		out[i] = a.scheme
	}
	return out
}

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

func knockTransport(o ap.HTTPTransportOptions) *ap.HTTPTransport {
	o.AllowPrivate = true
	return ap.NewHTTPTransport(&o)
}

const activity = `{"@context":"https://www.w3.org/ns/activitystreams","type":"Follow","id":"https://local.example/f/1"}`

func TestDoubleKnockCavageOnlyServer(t *testing.T) {
	srv := newKnockServer(t, only(httpsig.SchemeCavage), 0, "")
	mem := memstore.New()
	tr := knockTransport(ap.HTTPTransportOptions{Values: mem, FirstScheme: httpsig.SchemeRFC9421})
	s := knockSigner(t)

	// Unknown host: RFC 9421 first (as configured), refused, then cavage.
	require.NoError(t, tr.Post(t.Context(), srv.url(t, "/inbox"), []byte(activity), s))
	got := srv.take()
	require.Len(t, got, 2)
	assert.Equal(t, []string{httpsig.SchemeRFC9421, httpsig.SchemeCavage}, schemes(got))
	for _, a := range got {
		assert.Equal(t, http.MethodPost, a.method)
		assert.Equal(t, activity, a.body, "body not re-sent exactly")
	}
	v, err := mem.GetValue(t.Context(), srv.hostKey(t))
	require.NoError(t, err)
	assert.Equal(t, httpsig.SchemeCavage, string(v))

	// Remembered: right the first time, for POST and GET alike.
	require.NoError(t, tr.Post(t.Context(), srv.url(t, "/inbox"), []byte(activity), s))
	resp, err := tr.Get(t.Context(), srv.url(t, "/users/bob"), s)
	require.NoError(t, err)
	assert.JSONEq(t, `{"id":"/users/bob"}`, string(resp.Body))
	assert.Equal(t, []string{httpsig.SchemeCavage, httpsig.SchemeCavage}, schemes(srv.take()))
}

func TestDoubleKnockRFC9421OnlyServer(t *testing.T) {
	srv := newKnockServer(t, only(httpsig.SchemeRFC9421), 0, "")
	tr := knockTransport(ap.HTTPTransportOptions{}) // defaults: cavage first, built-in memory
	s := knockSigner(t)

	resp, err := tr.Get(t.Context(), srv.url(t, "/users/bob"), s)
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	got := srv.take()
	assert.Equal(t, []string{httpsig.SchemeCavage, httpsig.SchemeRFC9421}, schemes(got))
	assert.Equal(t, []string{http.MethodGet, http.MethodGet}, []string{got[0].method, got[1].method})

	// The built-in memory serves the next calls: one attempt each.
	for range 3 {
		require.NoError(t, tr.Post(t.Context(), srv.url(t, "/inbox"), []byte(activity), s))
	}
	got = srv.take()
	assert.Equal(t, []string{httpsig.SchemeRFC9421, httpsig.SchemeRFC9421, httpsig.SchemeRFC9421}, schemes(got))
	for _, a := range got {
		assert.Equal(t, activity, a.body)
		assert.Contains(t, a.sigInput, `"content-digest"`)
	}
}

func TestDoubleKnockMemorySharedThroughStore(t *testing.T) {
	srv := newKnockServer(t, only(httpsig.SchemeRFC9421), 0, "")
	mem := memstore.New()
	s := knockSigner(t)

	first := knockTransport(ap.HTTPTransportOptions{Values: mem})
	require.NoError(t, first.Post(t.Context(), srv.url(t, "/inbox"), []byte(activity), s))
	assert.Len(t, srv.take(), 2)

	// A second transport (another process, or after a restart) over the
	// same store signs right the first time.
	second := knockTransport(ap.HTTPTransportOptions{Values: mem})
	require.NoError(t, second.Post(t.Context(), srv.url(t, "/inbox"), []byte(activity), s))
	assert.Equal(t, []string{httpsig.SchemeRFC9421}, schemes(srv.take()))

	// A transport with its own memory knows nothing.
	third := knockTransport(ap.HTTPTransportOptions{})
	require.NoError(t, third.Post(t.Context(), srv.url(t, "/inbox"), []byte(activity), s))
	assert.Len(t, srv.take(), 2)
}

// recordingValues is a memstore that also records every PutValue.
type recordingValues struct {
	store.Store
	mu   sync.Mutex
	puts []put
}

type put struct {
	key, value string
	expires    time.Time
}

func (r *recordingValues) PutValue(ctx context.Context, key string, v []byte, exp time.Time) error {
	r.mu.Lock()
	r.puts = append(r.puts, put{key, string(v), exp})
	r.mu.Unlock()
	return r.Store.PutValue(ctx, key, v, exp)
}

func TestDoubleKnockMemoryExpiry(t *testing.T) {
	srv := newKnockServer(t, only(httpsig.SchemeRFC9421), 0, "")
	s := knockSigner(t)

	// The default TTL is a week, and the memory is written once, not on
	// every request.
	rec := &recordingValues{Store: memstore.New()}
	tr := knockTransport(ap.HTTPTransportOptions{Values: rec})
	before := time.Now()
	for range 3 {
		require.NoError(t, tr.Post(t.Context(), srv.url(t, "/inbox"), []byte(activity), s))
	}
	assert.Len(t, srv.take(), 4) // 2 + 1 + 1
	require.Len(t, rec.puts, 1)
	assert.Equal(t, srv.hostKey(t), rec.puts[0].key)
	assert.Equal(t, httpsig.SchemeRFC9421, rec.puts[0].value)
	assert.WithinDuration(t, before.Add(ap.DefaultSchemeTTL), rec.puts[0].expires, 5*time.Second)

	// With a short TTL the memory lapses and the host is learnt again.
	short := knockTransport(ap.HTTPTransportOptions{Values: memstore.New(), SchemeTTL: 50 * time.Millisecond})
	require.NoError(t, short.Post(t.Context(), srv.url(t, "/inbox"), []byte(activity), s))
	require.NoError(t, short.Post(t.Context(), srv.url(t, "/inbox"), []byte(activity), s))
	assert.Len(t, srv.take(), 3)
	time.Sleep(100 * time.Millisecond)
	require.NoError(t, short.Post(t.Context(), srv.url(t, "/inbox"), []byte(activity), s))
	assert.Equal(t, []string{httpsig.SchemeCavage, httpsig.SchemeRFC9421}, schemes(srv.take()))
}

func TestDoubleKnockBothRefused(t *testing.T) {
	for _, status := range []int{http.StatusUnauthorized, http.StatusBadRequest} {
		t.Run(http.StatusText(status), func(t *testing.T) {
			srv := newKnockServer(t, func(*http.Request, *httpsig.Result) bool { return false }, status, "")
			mem := memstore.New()
			tr := knockTransport(ap.HTTPTransportOptions{Values: mem})
			err := tr.Post(t.Context(), srv.url(t, "/inbox"), []byte(activity), knockSigner(t))
			var re *ap.RemoteError
			require.ErrorAs(t, err, &re)
			assert.Equal(t, status, re.StatusCode)
			got := srv.take()
			assert.Equal(t, []string{httpsig.SchemeCavage, httpsig.SchemeRFC9421}, schemes(got), "exactly two attempts")
			_, err = mem.GetValue(t.Context(), srv.hostKey(t))
			assert.ErrorIs(t, err, store.ErrNotFound, "a refusal is not remembered")

			_, err = tr.Get(t.Context(), srv.url(t, "/users/bob"), knockSigner(t))
			require.ErrorAs(t, err, &re)
			assert.Len(t, srv.take(), 2)
		})
	}
}

func TestDoubleKnockOtherErrorsNotRetried(t *testing.T) {
	for _, status := range []int{http.StatusForbidden, http.StatusNotFound, http.StatusInternalServerError} {
		srv := newKnockServer(t, func(*http.Request, *httpsig.Result) bool { return false }, status, "")
		err := knockTransport(ap.HTTPTransportOptions{}).Post(t.Context(), srv.url(t, "/inbox"), []byte(activity), knockSigner(t))
		var re *ap.RemoteError
		require.ErrorAs(t, err, &re)
		assert.Equal(t, status, re.StatusCode)
		assert.Len(t, srv.take(), 1, "status %d retried", status)
	}
}

// acceptWanted is what the Accept-Signature server asks for.
const acceptWanted = `want=("@method" "@authority" "@path" "content-digest");created;tag="knock-test"`

// wantsAccepted accepts only an RFC 9421 signature labelled "want" that
// covers what acceptWanted asks.
func wantsAccepted(r *http.Request, res *httpsig.Result) bool {
	in := r.Header.Get("Signature-Input")
	return res.Scheme == httpsig.SchemeRFC9421 &&
		strings.HasPrefix(in, `want=("@method" "@authority" "@path" "content-digest"`) &&
		strings.Contains(in, `;tag="knock-test"`)
}

func TestDoubleKnockAcceptSignature(t *testing.T) {
	srv := newKnockServer(t, wantsAccepted, 0, acceptWanted)
	mem := memstore.New()
	tr := knockTransport(ap.HTTPTransportOptions{Values: mem})
	s := knockSigner(t)

	require.NoError(t, tr.Post(t.Context(), srv.url(t, "/inbox"), []byte(activity), s))
	got := srv.take()
	require.Len(t, got, 2)
	assert.Equal(t, httpsig.SchemeCavage, got[0].scheme)
	assert.True(t, strings.HasPrefix(got[1].sigInput, `want=(`), got[1].sigInput)
	assert.Equal(t, activity, got[1].body)

	// What was asked is remembered and honoured from the start.
	v, err := mem.GetValue(t.Context(), srv.hostKey(t))
	require.NoError(t, err)
	assert.Equal(t, httpsig.SchemeRFC9421+"\n"+acceptWanted, string(v))
	require.NoError(t, tr.Post(t.Context(), srv.url(t, "/inbox"), []byte(activity), s))
	got = srv.take()
	require.Len(t, got, 1)
	assert.True(t, strings.HasPrefix(got[0].sigInput, `want=(`))
}

func TestDoubleKnockAcceptSignatureRemembersSchemeNotNonce(t *testing.T) {
	const withNonce = `want=("@method" "@authority" "@path" "content-digest");nonce="once-only";tag="knock-test"`
	srv := newKnockServer(t, wantsAccepted, 0, withNonce)
	mem := memstore.New()
	tr := knockTransport(ap.HTTPTransportOptions{Values: mem})
	require.NoError(t, tr.Post(t.Context(), srv.url(t, "/inbox"), []byte(activity), knockSigner(t)))
	got := srv.take()
	require.Len(t, got, 2)
	assert.Contains(t, got[1].sigInput, `nonce="once-only"`)
	v, err := mem.GetValue(t.Context(), srv.hostKey(t))
	require.NoError(t, err)
	assert.Equal(t, httpsig.SchemeRFC9421, string(v), "a nonce request must not be replayed")
}

func TestDoubleKnockAcceptSignatureForeignKey(t *testing.T) {
	// The server asks for a key that is not ours: the transport does not
	// pretend, and knocks with the other scheme instead.
	srv := newKnockServer(t, only(httpsig.SchemeRFC9421), 0, `sig1=("@method");keyid="https://elsewhere.example/key"`)
	tr := knockTransport(ap.HTTPTransportOptions{})
	require.NoError(t, tr.Post(t.Context(), srv.url(t, "/inbox"), []byte(activity), knockSigner(t)))
	got := srv.take()
	require.Len(t, got, 2)
	assert.Equal(t, []string{httpsig.SchemeCavage, httpsig.SchemeRFC9421}, schemes(got))
	assert.NotContains(t, got[1].sigInput, "elsewhere")
}

// plainSigner hides everything of *httpsig.Signer but SignRequest.
type plainSigner struct{ s *httpsig.Signer }

func (p plainSigner) SignRequest(r *http.Request, body []byte) error { return p.s.SignRequest(r, body) }

func TestDoubleKnockPlainSignerNotRetried(t *testing.T) {
	srv := newKnockServer(t, only(httpsig.SchemeRFC9421), 0, acceptWanted)
	err := knockTransport(ap.HTTPTransportOptions{}).Post(t.Context(), srv.url(t, "/inbox"), []byte(activity), plainSigner{knockSigner(t)})
	var re *ap.RemoteError
	require.ErrorAs(t, err, &re)
	assert.Equal(t, http.StatusUnauthorized, re.StatusCode)
	assert.Equal(t, "want=(\"@method\" \"@authority\" \"@path\" \"content-digest\");created;tag=\"knock-test\"",
		re.Header.Get("Accept-Signature"), "the caller still sees what the server asked")
	assert.Len(t, srv.take(), 1)
}

func TestDoubleKnockThroughRedirect(t *testing.T) {
	srv := newKnockServer(t, only(httpsig.SchemeRFC9421), 0, "")
	// A front server that moves the inbox with 307; the target verifies.
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, srv.URL+"/new-inbox", http.StatusTemporaryRedirect)
	}))
	t.Cleanup(front.Close)
	u, err := url.Parse(front.URL + "/inbox")
	require.NoError(t, err)
	mem := memstore.New()
	tr := knockTransport(ap.HTTPTransportOptions{Values: mem})
	require.NoError(t, tr.Post(t.Context(), u, []byte(activity), knockSigner(t)))
	got := srv.take()
	assert.Equal(t, []string{httpsig.SchemeCavage, httpsig.SchemeRFC9421}, schemes(got))
	for _, a := range got {
		assert.Equal(t, "/new-inbox", a.path)
		assert.Equal(t, activity, a.body)
	}
	// The scheme is remembered for the host that verified, not the front.
	v, err := mem.GetValue(t.Context(), srv.hostKey(t))
	require.NoError(t, err)
	assert.Equal(t, httpsig.SchemeRFC9421, string(v))
	_, err = mem.GetValue(t.Context(), ap.SchemeKeyPrefix+u.Host)
	assert.ErrorIs(t, err, store.ErrNotFound)
}

func TestDoubleKnockFirstSchemeRFC9421(t *testing.T) {
	srv := newKnockServer(t, func(*http.Request, *httpsig.Result) bool { return true }, 0, "")
	tr := knockTransport(ap.HTTPTransportOptions{FirstScheme: httpsig.SchemeRFC9421})
	require.NoError(t, tr.Post(t.Context(), srv.url(t, "/inbox"), []byte(activity), knockSigner(t)))
	assert.Equal(t, []string{httpsig.SchemeRFC9421}, schemes(srv.take()))
}
