package httpsig

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha512"
	"crypto/x509"
	"encoding/asn1"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// rfcAcceptExample is the Accept-Signature field of RFC 9421 section 5.1
// (the line continuations of the RFC text joined).
const rfcAcceptExample = `sig1=("@method" "@target-uri" "@authority" "content-digest" "cache-control");keyid="test-key-rsa-pss";created;tag="app-123"`

// acceptFixture reads a file of ../internal/testdata/fixtures/httpsig.
func acceptFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("../internal/testdata/fixtures/httpsig", name))
	require.NoError(t, err)
	return b
}

// rfcPSSKey returns RFC 9421's test-key-rsa-pss. Its PKCS#8 wrapping names
// the RSASSA-PSS algorithm, which crypto/x509 does not parse, so the inner
// PKCS#1 key is unwrapped by hand.
func rfcPSSKey(t testing.TB) *rsa.PrivateKey {
	t.Helper()
	block, _ := pem.Decode(acceptFixture(t, "rfc9421-test-key-rsa-pss.priv.pem"))
	require.NotNil(t, block)
	var p8 struct {
		Version int
		Algo    asn1.RawValue
		Key     []byte
	}
	_, err := asn1.Unmarshal(block.Bytes, &p8)
	require.NoError(t, err)
	k, err := x509.ParsePKCS1PrivateKey(p8.Key)
	require.NoError(t, err)
	return k
}

// acceptResolver is a KeyResolver over a fixed set of keys.
type acceptResolver map[string]crypto.PublicKey

func (m acceptResolver) ResolveKey(_ context.Context, id string, _ bool) (*PublicKey, error) {
	k, ok := m[id]
	if !ok {
		return nil, errors.New("no such key")
	}
	return &PublicKey{ID: id, Owner: "https://example.com/owner", Key: k}, nil
}

// verifyAt checks r's signature with the real Verifier at time now.
func verifyAt(t testing.TB, r *http.Request, now time.Time, id string, pub crypto.PublicKey) (*Result, error) {
	t.Helper()
	v := NewVerifier(acceptResolver{id: pub}, &VerifierOptions{Clock: func() time.Time { return now }})
	return v.Verify(r)
}

var acceptNow = time.Unix(1618884473, 0) // the created time of RFC 9421's examples

func TestParseAcceptSignatureRFCExample(t *testing.T) {
	reqs, err := ParseAcceptSignature(rfcAcceptExample)
	require.NoError(t, err)
	require.Len(t, reqs, 1)
	r := reqs[0]
	assert.Equal(t, "sig1", r.Label)
	assert.Equal(t, []string{`"@method"`, `"@target-uri"`, `"@authority"`, `"content-digest"`, `"cache-control"`}, r.Components)
	assert.Equal(t, "test-key-rsa-pss", r.KeyID)
	assert.True(t, r.Created)
	assert.False(t, r.Expires)
	assert.Zero(t, r.ExpiresAt)
	assert.Equal(t, "app-123", r.Tag)
	assert.Empty(t, r.Alg)
	assert.Empty(t, r.Nonce)
	assert.Empty(t, r.Unsupported)
}

func TestParseAcceptSignatureVariants(t *testing.T) {
	reqs, err := ParseAcceptSignature(`a=("@method" "@query-param";name="id");alg="ed25519";nonce="n-1";expires=1700000000;created=5;ext="x", b=()`)
	require.NoError(t, err)
	require.Len(t, reqs, 2)
	a := reqs[0]
	assert.Equal(t, []string{`"@method"`, `"@query-param";name="id"`}, a.Components)
	assert.Equal(t, "ed25519", a.Alg)
	assert.Equal(t, "n-1", a.Nonce)
	assert.True(t, a.Expires)
	assert.Equal(t, int64(1700000000), a.ExpiresAt)
	assert.True(t, a.Created)
	assert.Equal(t, []string{"ext"}, a.Unsupported)
	assert.Equal(t, "b", reqs[1].Label)
	assert.Empty(t, reqs[1].Components)
}

func TestParseAcceptSignatureErrors(t *testing.T) {
	for name, v := range map[string]string{
		"empty":           ``,
		"not a dict":      `("@method")`,
		"item member":     `sig1="@method"`,
		"token component": `sig1=(method)`,
		"int component":   `sig1=(1)`,
		"keyid type":      `sig1=("@method");keyid=1`,
		"alg type":        `sig1=("@method");alg=?1`,
		"nonce type":      `sig1=("@method");nonce=:AAAA:`,
		"tag type":        `sig1=("@method");tag=2`,
		"created type":    `sig1=("@method");created="now"`,
		"expires type":    `sig1=("@method");expires="later"`,
		"duplicate label": `sig1=("@method"), sig1=("@path")`,
		"unterminated":    `sig1=("@method"`,
		"too many":        `a=(), b=(), c=(), d=(), e=(), f=(), g=(), h=(), i=()`,
		"too long list":   `sig1=(` + strings.Repeat(`"x" `, 33) + `)`,
	} {
		t.Run(name, func(t *testing.T) {
			reqs, err := ParseAcceptSignature(v)
			assert.Error(t, err, "parsed as %+v", reqs)
		})
	}
}

// rfcRequest is RFC 9421's test request as a client sends it, with the
// Cache-Control header the section 5.1 example asks to cover.
func rfcRequest(t testing.TB) (*http.Request, []byte) {
	t.Helper()
	body := []byte(`{"hello": "world"}`)
	r, err := http.NewRequest(http.MethodPost, "https://example.com/foo?param=Value&Pet=dog", bytes.NewReader(body))
	require.NoError(t, err)
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("Cache-Control", "max-age=60")
	return r, body
}

func TestSignRequestAcceptingRFCExample(t *testing.T) {
	key := rfcPSSKey(t)
	s, err := NewSigner("test-key-rsa-pss", key, &SignerOptions{
		Clock: func() time.Time { return acceptNow }, RFC9421Algorithm: AlgRSAPSSSHA512, Digest: DigestSHA512,
	})
	require.NoError(t, err)
	r, body := rfcRequest(t)
	require.NoError(t, s.SignRequestAccepting(r, body, rfcAcceptExample))

	// The Content-Digest is the one RFC 9421 prints for this body.
	assert.Equal(t, "sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:",
		r.Header.Get("Content-Digest"))
	params := `("@method" "@target-uri" "@authority" "content-digest" "cache-control");created=1618884473;keyid="test-key-rsa-pss";alg="rsa-pss-sha512";tag="app-123"`
	assert.Equal(t, "sig1="+params, r.Header.Get("Signature-Input"))

	// The signature is over exactly this base (RFC 9421 section 2.5),
	// checked with crypto/rsa directly, independently of this package.
	base := `"@method": POST
"@target-uri": https://example.com/foo?param=Value&Pet=dog
"@authority": example.com
"content-digest": sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:
"cache-control": max-age=60
"@signature-params": ` + params
	sigHeader := r.Header.Get("Signature")
	require.True(t, strings.HasPrefix(sigHeader, "sig1=:") && strings.HasSuffix(sigHeader, ":"), sigHeader)
	raw, err := base64.StdEncoding.DecodeString(sigHeader[len("sig1=:") : len(sigHeader)-1])
	require.NoError(t, err)
	h := sha512.Sum512([]byte(base))
	require.NoError(t, rsa.VerifyPSS(&key.PublicKey, crypto.SHA512, h[:], raw, &rsa.PSSOptions{SaltLength: 64}))

	// And the real Verifier, with the published public key, accepts it.
	pub, err := ParsePublicKeyPEM(string(acceptFixture(t, "rfc9421-test-key-rsa-pss.pub.pem")))
	require.NoError(t, err)
	res, err := verifyAt(t, r, acceptNow, "test-key-rsa-pss", pub)
	require.NoError(t, err)
	assert.Equal(t, SchemeRFC9421, res.Scheme)
	assert.Equal(t, "test-key-rsa-pss", res.KeyID)
}

func TestSignRequestAcceptingAddsNeededComponents(t *testing.T) {
	key := rfcPSSKey(t)
	s, err := NewSigner("https://example.com/actor#main-key", key, &SignerOptions{Clock: func() time.Time { return acceptNow }})
	require.NoError(t, err)

	// A POST asked to cover only @authority gets @method, @target-uri and
	// content-digest too, and Content-Digest is set from the body.
	r, body := rfcRequest(t)
	require.NoError(t, s.SignRequestAccepting(r, body, `mine=("@authority");created`))
	assert.Equal(t, `mine=("@authority" "@method" "@target-uri" "content-digest");created=1618884473;keyid="https://example.com/actor#main-key"`,
		r.Header.Get("Signature-Input"))
	assert.Equal(t, "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:", r.Header.Get("Content-Digest"))
	_, err = verifyAt(t, r, acceptNow, "https://example.com/actor#main-key", &key.PublicKey)
	require.NoError(t, err)

	// A GET gets no content-digest.
	g, err := http.NewRequest(http.MethodGet, "https://example.com/users/alice?page=2", nil)
	require.NoError(t, err)
	require.NoError(t, s.SignRequestAccepting(g, nil, `sig2=("@path" "@query" "@authority")`))
	assert.Equal(t, `sig2=("@path" "@query" "@authority" "@method" "@target-uri");created=1618884473;keyid="https://example.com/actor#main-key"`,
		g.Header.Get("Signature-Input"))
	assert.Empty(t, g.Header.Get("Content-Digest"))
	_, err = verifyAt(t, g, acceptNow, "https://example.com/actor#main-key", &key.PublicKey)
	require.NoError(t, err)
}

func TestSignRequestAcceptingParameters(t *testing.T) {
	_, edKey, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	const id = "https://example.com/actor#ed"
	s, err := NewSigner(id, edKey, &SignerOptions{Clock: func() time.Time { return acceptNow }})
	require.NoError(t, err)

	for _, tc := range []struct {
		accept, wantParams string
	}{
		{`s=("@method");expires;nonce="abc"`, `created=1618884473;expires=1618884773;keyid="` + id + `";alg="ed25519";nonce="abc"`},
		{`s=("@method");expires=1618890000;alg="ed25519";tag="t"`, `created=1618884473;expires=1618890000;keyid="` + id + `";alg="ed25519";tag="t"`},
		{`s=("@method");keyid="` + id + `"`, `created=1618884473;keyid="` + id + `";alg="ed25519"`},
	} {
		r, body := rfcRequest(t)
		require.NoError(t, s.SignRequestAccepting(r, body, tc.accept), tc.accept)
		assert.Equal(t, `s=("@method" "@target-uri" "content-digest");`+tc.wantParams, r.Header.Get("Signature-Input"), tc.accept)
		_, err = verifyAt(t, r, acceptNow, id, edKey.Public())
		assert.NoError(t, err, tc.accept)
	}
}

func TestSignRequestAcceptingSwitchesAlgorithm(t *testing.T) {
	key := rfcPSSKey(t)
	// The signer's own RFC 9421 algorithm is rsa-v1_5-sha256; the server
	// asks for rsa-pss-sha512 and gets it.
	s, err := NewSigner("k", key, &SignerOptions{Clock: func() time.Time { return acceptNow }})
	require.NoError(t, err)
	r, body := rfcRequest(t)
	require.NoError(t, s.SignRequestAccepting(r, body, `sig1=("@method" "@target-uri" "content-digest");alg="rsa-pss-sha512"`))
	assert.Contains(t, r.Header.Get("Signature-Input"), `;alg="rsa-pss-sha512"`)
	res, err := verifyAt(t, r, acceptNow, "k", &key.PublicKey)
	require.NoError(t, err)
	assert.Equal(t, AlgRSAPSSSHA512, res.Algorithm)
}

func TestSignRequestAcceptingRefuses(t *testing.T) {
	key := rfcPSSKey(t)
	s, err := NewSigner("https://example.com/actor#main-key", key, &SignerOptions{Clock: func() time.Time { return acceptNow }})
	require.NoError(t, err)
	for name, tc := range map[string]struct {
		accept string
		get    bool
		want   string
	}{
		"foreign keyid":    {`sig1=("@method");keyid="https://evil.example/k"`, false, "not this signer's key"},
		"key type":         {`sig1=("@method");alg="ed25519"`, false, "cannot be used"},
		"unknown alg":      {`sig1=("@method");alg="hmac-sha256"`, false, "unsupported algorithm"},
		"missing header":   {`sig1=("@method" "x-missing")`, false, "x-missing"},
		"status":           {`sig1=("@status")`, false, "@status"},
		"digest on GET":    {`sig1=("content-digest")`, true, "without a body"},
		"expired":          {`sig1=("@method");expires=1618884000`, false, "not after now"},
		"unknown param":    {`sig1=("@method");wimse-aud="x"`, false, "unsupported parameters"},
		"component param":  {`sig1=("content-type";tr)`, false, "not supported"},
		"req on a request": {`sig1=("@method";req)`, false, "not supported"},
		"bs with key":      {`sig1=("content-type";bs;key="a")`, false, "cannot be combined"},
		"malformed":        {`sig1=("@method"`, false, "Accept-Signature"},
		"upper-case field": {`sig1=("Content-Type")`, false, "lower case"},
	} {
		t.Run(name, func(t *testing.T) {
			var (
				r    *http.Request
				body []byte
			)
			if tc.get {
				r, err = http.NewRequest(http.MethodGet, "https://example.com/x", nil)
				require.NoError(t, err)
			} else {
				r, body = rfcRequest(t)
			}
			r.Header.Set("Signature", "before")
			err := s.SignRequestAccepting(r, body, tc.accept)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			assert.Equal(t, "before", r.Header.Get("Signature"), "signature headers changed on failure")
			assert.Empty(t, r.Header.Get("Signature-Input"))
		})
	}
}

func TestSignRequestAcceptingSkipsUnfulfillable(t *testing.T) {
	key := rfcPSSKey(t)
	s, err := NewSigner("mine", key, &SignerOptions{Clock: func() time.Time { return acceptNow }})
	require.NoError(t, err)
	r, body := rfcRequest(t)
	// Alternatives: one for another key, one for an Ed25519 key, one ours.
	require.NoError(t, s.SignRequestAccepting(r, body,
		`other=("@method");keyid="theirs", ed=("@method");alg="ed25519", ok=("@method" "@target-uri" "content-digest"), ok2=("@authority")`))
	in := r.Header.Get("Signature-Input")
	assert.True(t, strings.HasPrefix(in, `ok=("@method" "@target-uri" "content-digest");`), in)
	assert.Contains(t, in, `, ok2=("@authority" "@method" "@target-uri" "content-digest");`)
	assert.NotContains(t, in, "other=(")
	assert.NotContains(t, in, " ed=(")
	sigs, err := parseRFC9421(r.Header)
	require.NoError(t, err)
	assert.Len(t, sigs, 2)
	_, err = verifyAt(t, r, acceptNow, "mine", &key.PublicKey)
	require.NoError(t, err)
}

func FuzzParseAcceptSignature(f *testing.F) {
	for _, s := range []string{
		rfcAcceptExample,
		`a=("@method" "@query-param";name="id");alg="ed25519";nonce="n-1";expires=1700000000;created=5;ext="x", b=()`,
		`sig1=("@method");keyid="k"`, `sig1=("date" "digest");expires`, `x`, `sig1=:AAAA:`,
	} {
		f.Add(s)
	}
	key := rfcPSSKey(f)
	s, err := NewSigner("k", key, &SignerOptions{Clock: func() time.Time { return acceptNow }})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, v string) {
		reqs, err := ParseAcceptSignature(v)
		if err != nil {
			return
		}
		if len(reqs) == 0 || len(reqs) > maxSignatures {
			t.Fatalf("%d requests from %q", len(reqs), v)
		}
		r, err := http.NewRequest(http.MethodPost, "https://example.com/inbox", nil)
		if err != nil {
			t.Fatal(err)
		}
		// Whatever is asked, signing must not panic, and what it signs
		// must verify.
		if err := s.SignRequestAccepting(r, []byte("{}"), v); err != nil {
			return
		}
		r.Body = io.NopCloser(strings.NewReader("{}"))
		if _, err := verifyAt(t, r, acceptNow, "k", &key.PublicKey); err != nil {
			t.Fatalf("signed as %q but does not verify: %v", v, err)
		}
	})
}
