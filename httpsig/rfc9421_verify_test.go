package httpsig

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestRFC9421RoundTrip(t *testing.T) {
	rsaKey, edKey := testRSAKey(t), testEd25519Key(t)
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	noErr(t, err)
	cases := []struct {
		name, alg string
		key       crypto.Signer
		digest    DigestAlgorithm
	}{
		{"rsa-v1_5-sha256", "", rsaKey, ""},
		{"rsa-pss-sha512", AlgRSAPSSSHA512, rsaKey, DigestSHA512},
		{"ecdsa-p256-sha256", "", ecKey, ""},
		{"ed25519", "", edKey, DigestSHA512},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := verifyServer(t, NewVerifier(newResolver(pubKey(aliceKeyID, tc.key)), nil))
			s, err := NewSigner(aliceKeyID, tc.key, &SignerOptions{Scheme: SchemeRFC9421, RFC9421Algorithm: tc.alg, Digest: tc.digest, Expiry: 5 * time.Minute})
			noErr(t, err)
			post := signedPost(t, s, srv.URL+"/users/bob/inbox?a=1", activity)
			if !strings.HasPrefix(post.Header.Get("Signature-Input"), `sig1=("@method" "@target-uri" "content-digest");created=`) {
				t.Errorf("Signature-Input %q", post.Header.Get("Signature-Input"))
			}
			if post.Header.Get("Digest") != "" || !strings.HasPrefix(post.Header.Get("Content-Digest"), string(s.digest)+"=:") {
				t.Errorf("digest headers %v", post.Header)
			}
			got := send(t, srv, post)
			if got.Reason != "" || got.Scheme != SchemeRFC9421 || got.Owner != aliceIRI || got.Body != string(activity) {
				t.Fatalf("POST verdict %+v", got)
			}
			if got := send(t, srv, signedGet(t, s, srv.URL+"/users/bob")); got.Reason != "" {
				t.Fatalf("GET verdict %+v", got)
			}
		})
	}
}

// TestSignRequestScheme re-signs one request with both schemes, as a
// double-knocking transport would, and checks that stale headers of the
// other scheme do not linger.
func TestSignRequestScheme(t *testing.T) {
	key := testRSAKey(t)
	srv := verifyServer(t, NewVerifier(newResolver(pubKey(aliceKeyID, key)), nil))
	s, err := NewSigner(aliceKeyID, key, nil)
	noErr(t, err)
	r, _ := http.NewRequest(http.MethodPost, srv.URL+"/inbox", bytes.NewReader(activity))
	noErr(t, s.SignRequestScheme(r, activity, SchemeRFC9421))
	noErr(t, s.SignRequestScheme(r, activity, SchemeCavage))
	if r.Header.Get("Signature-Input") != "" {
		t.Fatal("Signature-Input left behind")
	}
	if got := send(t, srv, r); got.Scheme != SchemeCavage || got.Reason != "" {
		t.Fatalf("verdict %+v", got)
	}
	r, _ = http.NewRequest(http.MethodPost, srv.URL+"/inbox", bytes.NewReader(activity))
	noErr(t, s.SignRequestScheme(r, activity, SchemeCavage))
	noErr(t, s.SignRequestScheme(r, activity, SchemeRFC9421))
	if got := send(t, srv, r); got.Scheme != SchemeRFC9421 || got.Reason != "" {
		t.Fatalf("verdict %+v", got)
	}
	if err := s.SignRequestScheme(r, nil, "rfc9999"); err == nil {
		t.Error("unknown scheme accepted")
	}
}

func TestRFC9421Failures(t *testing.T) {
	key := testRSAKey(t)
	now := time.Now()
	resign := func(t *testing.T, r *http.Request, s *Signer, input string) {
		t.Helper()
		d, err := parseSFDictionary(input)
		noErr(t, err)
		noErr(t, s.signRFC9421Components(r, d[0].Inner))
	}
	cases := []failCase{
		{name: "wrong key", kr: func(kr *keyResolver) {
			k := pubKey(aliceKeyID, otherRSAKey(t))
			kr.cached[aliceKeyID], kr.fresh[aliceKeyID] = k, k
		}, want: ReasonBadSignature},
		{name: "altered path", mutate: func(t *testing.T, r *http.Request, _ *Signer) { r.URL.Path = "/other" }, want: ReasonBadSignature},
		{name: "altered method", mutate: func(t *testing.T, r *http.Request, _ *Signer) { r.Method = http.MethodPut }, want: ReasonBadSignature},
		{name: "altered body", mutate: func(t *testing.T, r *http.Request, _ *Signer) { setBody(r, []byte(`{}`)) }, want: ReasonDigestMismatch},
		{name: "stale", opts: func(o *VerifierOptions) { o.Clock = fixedClock(now.Add(2 * time.Hour)) }, want: ReasonOutsideWindow},
		{name: "future", opts: func(o *VerifierOptions) { o.Clock = fixedClock(now.Add(-2 * time.Hour)) }, want: ReasonOutsideWindow},
		{name: "no content-digest covered", mutate: func(t *testing.T, r *http.Request, s *Signer) {
			resign(t, r, s, `sig1=("@method" "@target-uri");created=`+itoa(now.Unix())+`;keyid="`+aliceKeyID+`"`)
		}, want: ReasonMissingComponent},
		{name: "no method covered", mutate: func(t *testing.T, r *http.Request, s *Signer) {
			resign(t, r, s, `sig1=("@target-uri" "content-digest");created=`+itoa(now.Unix())+`;keyid="`+aliceKeyID+`"`)
		}, want: ReasonMissingComponent},
		{name: "path without query", mutate: func(t *testing.T, r *http.Request, s *Signer) {
			r.URL.RawQuery = "page=2"
			resign(t, r, s, `sig1=("@method" "@authority" "@path" "content-digest");created=`+itoa(now.Unix())+`;keyid="`+aliceKeyID+`"`)
		}, want: ReasonMissingComponent},
		{name: "no created", mutate: func(t *testing.T, r *http.Request, s *Signer) {
			resign(t, r, s, `sig1=("@method" "@target-uri" "content-digest");keyid="`+aliceKeyID+`"`)
		}, want: ReasonMissingComponent},
		{name: "no keyid", mutate: func(t *testing.T, r *http.Request, s *Signer) {
			r.Header.Set("Signature-Input", strings.Replace(r.Header.Get("Signature-Input"), `;keyid="`+aliceKeyID+`"`, "", 1))
		}, want: ReasonMalformed},
		{name: "unknown alg", mutate: func(t *testing.T, r *http.Request, _ *Signer) {
			r.Header.Set("Signature-Input", r.Header.Get("Signature-Input")+`;alg="hmac-sha256"`)
		}, want: ReasonUnsupportedAlgorithm},
		{name: "duplicate label", mutate: func(t *testing.T, r *http.Request, _ *Signer) {
			r.Header.Add("Signature-Input", r.Header.Get("Signature-Input"))
		}, want: ReasonMalformed},
		{name: "duplicate parameter", mutate: func(t *testing.T, r *http.Request, _ *Signer) {
			r.Header.Set("Signature-Input", r.Header.Get("Signature-Input")+`;keyid="https://evil.example/k"`)
		}, want: ReasonMalformed},
		{name: "signature missing for label", mutate: func(t *testing.T, r *http.Request, _ *Signer) {
			r.Header.Set("Signature", strings.Replace(r.Header.Get("Signature"), "sig1=", "sig2=", 1))
		}, want: ReasonMalformed},
		{name: "component covered twice", mutate: func(t *testing.T, r *http.Request, _ *Signer) {
			r.Header.Set("Signature-Input", strings.Replace(r.Header.Get("Signature-Input"), `"@method"`, `"@method" "@method"`, 1))
		}, want: ReasonMalformed},
		{name: "covered header absent", mutate: func(t *testing.T, r *http.Request, s *Signer) {
			resign(t, r, s, `sig1=("@method" "@target-uri" "content-digest" "content-type");created=`+itoa(now.Unix())+`;keyid="`+aliceKeyID+`"`)
			r.Header.Del("Content-Type")
		}, want: ReasonMissingComponent},
		{name: "garbage", mutate: func(t *testing.T, r *http.Request, _ *Signer) { r.Header.Set("Signature-Input", "sig1=(") }, want: ReasonMalformed},
	}
	runFailCases(t, key, SchemeRFC9421, now, cases)
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// TestRFC9421MultipleSignatures: a request with two signatures verifies by
// either; Label selects one.
func TestRFC9421MultipleSignatures(t *testing.T) {
	alice, other := testRSAKey(t), testEd25519Key(t)
	const proxyKeyID = "https://proxy.example/actor#key"
	kr := newResolver(pubKey(aliceKeyID, alice), &PublicKey{ID: proxyKeyID, Owner: "https://proxy.example/actor", Key: other.Public()})
	sa, _ := NewSigner(aliceKeyID, alice, &SignerOptions{Scheme: SchemeRFC9421})
	sp, _ := NewSigner(proxyKeyID, other, &SignerOptions{Scheme: SchemeRFC9421, Label: "proxy"})
	r, _ := http.NewRequest(http.MethodGet, "https://b.example/users/bob", nil)
	noErr(t, sp.SignRequest(r, nil))
	pin, psig := r.Header.Get("Signature-Input"), r.Header.Get("Signature")
	noErr(t, sa.SignRequest(r, nil))
	r.Header.Add("Signature-Input", pin)
	r.Header.Add("Signature", psig)

	res, err := NewVerifier(kr, nil).Verify(r)
	noErr(t, err)
	if res.KeyID != aliceKeyID {
		t.Errorf("default picked %q, want the first signature", res.KeyID)
	}
	res, err = NewVerifier(kr, &VerifierOptions{Label: "proxy"}).Verify(r)
	noErr(t, err)
	if res.KeyID != proxyKeyID {
		t.Errorf("Label proxy picked %q", res.KeyID)
	}
	if _, err := NewVerifier(kr, &VerifierOptions{Label: "nope"}).Verify(r); ReasonOf(err) != ReasonNoSignature {
		t.Errorf("unknown label: %v", err)
	}
	// A broken first signature does not hide a good second one.
	r.Header.Set("Signature-Input", strings.Replace(r.Header.Get("Signature-Input"), "sig1=(", `sig1=("@path" `, 1))
	r.Header.Add("Signature-Input", pin)
	res, err = NewVerifier(kr, nil).Verify(r)
	noErr(t, err)
	if res.KeyID != proxyKeyID {
		t.Errorf("picked %q", res.KeyID)
	}
}

// TestRFC9421B26SignerByteForByte signs the RFC 9421 test request with the
// published Ed25519 key over the B.2.6 components and gets the published
// Signature-Input and Signature byte for byte.
func TestRFC9421B26SignerByteForByte(t *testing.T) {
	priv, err := ParsePrivateKeyPEM(readFixture(t, "rfc9421-test-key-ed25519.priv.pem"))
	noErr(t, err)
	s, err := NewSigner("test-key-ed25519", priv, &SignerOptions{Label: "sig-b26"})
	noErr(t, err)
	r := readFixtureRequest(t, "rfc9421-test-request.http")
	want := rfcHeaders(t, "rfc9421-b2-6-signature-headers.txt")
	d, err := parseSFDictionary(want.Get("Signature-Input"))
	noErr(t, err)
	noErr(t, s.signRFC9421Components(r, d[0].Inner))
	for _, h := range []string{"Signature-Input", "Signature"} {
		if r.Header.Get(h) != want.Get(h) {
			t.Errorf("%s\n%s\nwant\n%s", h, r.Header.Get(h), want.Get(h))
		}
	}
}

// TestMastodonRFC9421Headers parses the Signature-Input Mastodon documents
// (its signature is a placeholder) and verifies a real signature with the
// same components and parameters.
func TestMastodonRFC9421Headers(t *testing.T) {
	h := rfcHeaders(t, "mastodon-docs-rfc9421-headers.txt")
	if _, err := parseRFC9421(h); err == nil {
		t.Fatal("placeholder signature accepted as a byte sequence")
	}
	in, err := parseSFDictionary(h.Get("Signature-Input"))
	noErr(t, err)
	key := testRSAKey(t)
	const keyID = "https://my.example.com/actor#main-key"
	s, _ := NewSigner(keyID, key, nil)
	r, _ := http.NewRequest(http.MethodPost, "https://mastodon.example/users/username/inbox", bytes.NewReader(activity))
	r.Header.Set("Content-Digest", ContentDigestHeader(DigestSHA256, activity))
	noErr(t, s.signRFC9421Components(r, in[0].Inner))
	if r.Header.Get("Signature-Input") != h.Get("Signature-Input") {
		t.Fatalf("Signature-Input %q, want %q", r.Header.Get("Signature-Input"), h.Get("Signature-Input"))
	}
	v := NewVerifier(newResolver(&PublicKey{ID: keyID, Owner: "https://my.example.com/actor", Key: key.Public()}),
		&VerifierOptions{Clock: fixedClock(time.Unix(1748341414, 0))})
	res, err := v.Verify(r)
	noErr(t, err)
	if res.Scheme != SchemeRFC9421 || res.Algorithm != "" {
		t.Errorf("result %+v", res)
	}
}
