package httpsig

import (
	"bufio"
	"bytes"
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

const fixtureDir = "../internal/testdata/fixtures/httpsig"

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fixtureDir, name))
	noErr(t, err)
	return b
}

// readFixtureRequest parses an .http fixture into a server-side request.
func readFixtureRequest(t testing.TB, name string) *http.Request {
	t.Helper()
	raw := readFixture(t, name)
	head, body, _ := bytes.Cut(raw, []byte("\n\n"))
	msg := append(bytes.ReplaceAll(head, []byte("\n"), []byte("\r\n")), "\r\n\r\n"...)
	r, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(msg)))
	noErr(t, err)
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.ContentLength = int64(len(body))
	return r
}

var (
	rsaKeyOnce = sync.OnceValues(func() (*rsa.PrivateKey, error) { return rsa.GenerateKey(rand.Reader, 2048) })
	rsaKey2    = sync.OnceValues(func() (*rsa.PrivateKey, error) { return rsa.GenerateKey(rand.Reader, 2048) })
)

func testRSAKey(t testing.TB) *rsa.PrivateKey {
	t.Helper()
	k, err := rsaKeyOnce()
	noErr(t, err)
	return k
}

func otherRSAKey(t testing.TB) *rsa.PrivateKey {
	t.Helper()
	k, err := rsaKey2()
	noErr(t, err)
	return k
}

func testEd25519Key(t testing.TB) ed25519.PrivateKey {
	t.Helper()
	_, k, err := ed25519.GenerateKey(rand.Reader)
	noErr(t, err)
	return k
}

// keyResolver is an in-memory KeyResolver: fresh holds what a refetch
// returns (key rotation); calls records every request.
type keyResolver struct {
	mu     sync.Mutex
	cached map[string]*PublicKey
	fresh  map[string]*PublicKey
	err    error
	calls  []bool // refresh flag of each call
}

func newResolver(keys ...*PublicKey) *keyResolver {
	kr := &keyResolver{cached: map[string]*PublicKey{}, fresh: map[string]*PublicKey{}}
	for _, k := range keys {
		kr.cached[k.ID] = k
		kr.fresh[k.ID] = k
	}
	return kr
}

func (kr *keyResolver) ResolveKey(_ context.Context, keyID string, refresh bool) (*PublicKey, error) {
	kr.mu.Lock()
	defer kr.mu.Unlock()
	kr.calls = append(kr.calls, refresh)
	if kr.err != nil {
		return nil, kr.err
	}
	m := kr.cached
	if refresh {
		m = kr.fresh
	}
	if k, ok := m[keyID]; ok {
		return k, nil
	}
	return nil, errors.New("no such key")
}

func (kr *keyResolver) Calls() []bool {
	kr.mu.Lock()
	defer kr.mu.Unlock()
	return append([]bool(nil), kr.calls...)
}

const (
	aliceKeyID = "https://a.example/users/alice#main-key"
	aliceIRI   = "https://a.example/users/alice"
)

func pubKey(id string, k crypto.Signer) *PublicKey {
	return &PublicKey{ID: id, Owner: strings.TrimSuffix(id, "#main-key"), Key: k.Public()}
}

// verdict is what the test server reports about a request.
type verdict struct {
	Reason string `json:"reason"`
	Error  string `json:"error"`
	Owner  string `json:"owner"`
	Scheme string `json:"scheme"`
	Body   string `json:"body"` // the body as the handler reads it after Verify
}

// verifyServer starts a loopback server that runs v.Verify on each request
// and answers with a JSON verdict.
func verifyServer(t testing.TB, v *Verifier) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var out verdict
		res, err := v.Verify(r)
		if err != nil {
			out.Reason, out.Error = string(ReasonOf(err)), err.Error()
		} else {
			out.Owner, out.Scheme = res.Owner, res.Scheme
		}
		b, _ := io.ReadAll(r.Body)
		out.Body = string(b)
		_ = json.NewEncoder(w).Encode(out)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// send performs r against srv and decodes the verdict.
func send(t testing.TB, srv *httptest.Server, r *http.Request) verdict {
	t.Helper()
	resp, err := srv.Client().Do(r)
	noErr(t, err)
	defer resp.Body.Close()
	var v verdict
	noErr(t, json.NewDecoder(resp.Body).Decode(&v))
	return v
}

// newPost builds a POST to srv with body, signed by s.
func signedPost(t testing.TB, s *Signer, url string, body []byte) *http.Request {
	t.Helper()
	r, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	noErr(t, err)
	r.Header.Set("Content-Type", "application/activity+json")
	noErr(t, s.SignRequest(r, body))
	return r
}

func signedGet(t testing.TB, s *Signer, url string) *http.Request {
	t.Helper()
	r, err := http.NewRequest(http.MethodGet, url, nil)
	noErr(t, err)
	noErr(t, s.SignRequest(r, nil))
	return r
}

func fixedClock(t time.Time) func() time.Time { return func() time.Time { return t } }

// noErr fails the test at once when err is non-nil. (testify is not used:
// its assert/yaml dependency is missing from go.sum.)
func noErr(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("unexpected error: %v", err)
	}
}

func timeNow() time.Time { return time.Now() }

// signRFC9421Components signs r over the components and parameters in in
// (any set, unlike SignRequestScheme's fixed ones) and sets
// Signature-Input and Signature, for tests that need signatures the Signer
// would not make by itself.
func (s *Signer) signRFC9421Components(r *http.Request, in *sfInnerList) error {
	base, err := signatureBase(nil, requestMessage(r, ""), in)
	if err != nil {
		return fmt.Errorf("httpsig: %w", err)
	}
	sig, err := signAlg(s.rfcPrim, s.key, base)
	if err != nil {
		return fmt.Errorf("httpsig: signing: %w", err)
	}
	input, err := appendSFInnerList([]byte(s.label+"="), in)
	if err != nil {
		return fmt.Errorf("httpsig: %w", err)
	}
	r.Header["Signature-Input"] = []string{string(input)}
	value, _ := appendSFBare([]byte(s.label+"="), sig)
	r.Header["Signature"] = []string{string(value)}
	dropCavageAuthorization(r)
	return nil
}
