package httpsig

import (
	"bytes"
	"context"
	"crypto"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

var activity = []byte(`{"@context":"https://www.w3.org/ns/activitystreams","type":"Follow","actor":"https://a.example/users/alice","object":"https://b.example/users/bob"}`)

func TestRoundTrip(t *testing.T) {
	rsaKey := testRSAKey(t)
	edKey := testEd25519Key(t)
	cases := []struct {
		name    string
		key     crypto.Signer
		alg     string
		wantAlg string
	}{
		{"rsa default", rsaKey, "", "rsa-sha256"},
		{"rsa-sha256", rsaKey, "rsa-sha256", "rsa-sha256"},
		{"rsa-sha512", rsaKey, "rsa-sha512", "rsa-sha512"},
		{"rsa hs2019", rsaKey, "hs2019", "hs2019"},
		{"ed25519 default", edKey, "", "hs2019"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			kr := newResolver(pubKey(aliceKeyID, tc.key))
			srv := verifyServer(t, NewVerifier(kr, nil))
			s, err := NewSigner(aliceKeyID, tc.key, &SignerOptions{Algorithm: tc.alg})
			noErr(t, err)
			if s.KeyID() != aliceKeyID {
				t.Fatalf("KeyID = %q", s.KeyID())
			}

			post := signedPost(t, s, srv.URL+"/users/bob/inbox?x=1", activity)
			if !strings.Contains(post.Header.Get("Signature"), `algorithm="`+tc.wantAlg+`"`) {
				t.Errorf("Signature %q lacks algorithm %q", post.Header.Get("Signature"), tc.wantAlg)
			}
			if !strings.Contains(post.Header.Get("Signature"), `headers="(request-target) host date digest"`) {
				t.Errorf("POST Signature %q has wrong headers", post.Header.Get("Signature"))
			}
			got := send(t, srv, post)
			if got.Reason != "" || got.Owner != aliceIRI || got.Scheme != SchemeCavage {
				t.Fatalf("POST verdict %+v", got)
			}
			if got.Body != string(activity) {
				t.Errorf("handler read body %q after Verify, want the original", got.Body)
			}

			get := signedGet(t, s, srv.URL+"/users/bob")
			if !strings.Contains(get.Header.Get("Signature"), `headers="(request-target) host date"`) {
				t.Errorf("GET Signature %q has wrong headers", get.Header.Get("Signature"))
			}
			if get.Header.Get("Digest") != "" {
				t.Errorf("GET got a Digest header")
			}
			if got := send(t, srv, get); got.Reason != "" || got.Owner != aliceIRI {
				t.Fatalf("GET verdict %+v", got)
			}
		})
	}
}

func TestSignerSetsHeaders(t *testing.T) {
	now := time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)
	s, err := NewSigner(aliceKeyID, testRSAKey(t), &SignerOptions{Clock: fixedClock(now)})
	noErr(t, err)
	r := signedPost(t, s, "https://b.example/inbox", []byte(`{"hello": "world"}`))
	if got := r.Header.Get("Date"); got != "Fri, 01 Mar 2024 12:00:00 GMT" {
		t.Errorf("Date = %q", got)
	}
	if r.Host != "b.example" {
		t.Errorf("Host = %q", r.Host)
	}
	// RFC 9530 Appendix D: sha-256 of {"hello": "world"}.
	if got := r.Header.Get("Digest"); got != "SHA-256=X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=" {
		t.Errorf("Digest = %q", got)
	}
	// A Date already present is kept.
	r2, _ := http.NewRequest(http.MethodGet, "https://b.example/x", nil)
	r2.Header.Set("Date", "Sun, 05 Jan 2014 21:31:40 GMT")
	noErr(t, s.SignRequest(r2, nil))
	if r2.Header.Get("Date") != "Sun, 05 Jan 2014 21:31:40 GMT" {
		t.Errorf("Date overwritten: %q", r2.Header.Get("Date"))
	}
}

func TestNewSignerRejects(t *testing.T) {
	if _, err := NewSigner(aliceKeyID, testEd25519Key(t), &SignerOptions{Algorithm: "rsa-sha256"}); err == nil {
		t.Error("rsa-sha256 with an Ed25519 key accepted")
	}
	if _, err := NewSigner(aliceKeyID, testRSAKey(t), &SignerOptions{Algorithm: "hmac-sha256"}); err == nil {
		t.Error("unknown algorithm accepted")
	}
	if _, err := NewSigner(`bad"id`, testRSAKey(t), nil); err == nil {
		t.Error("key id with a quote accepted")
	}
	if _, err := NewSigner(aliceKeyID, nil, nil); err == nil {
		t.Error("nil key accepted")
	}
}

// failCase mutates a freshly signed request so that verification fails.
type failCase struct {
	name   string
	mutate func(t *testing.T, r *http.Request, s *Signer)
	opts   func(o *VerifierOptions)
	kr     func(kr *keyResolver)
	want   Reason
}

func TestVerifyFailures(t *testing.T) {
	key := testRSAKey(t)
	now := time.Now()
	cases := []failCase{
		{name: "wrong key", kr: func(kr *keyResolver) {
			k := pubKey(aliceKeyID, otherRSAKey(t))
			kr.cached[aliceKeyID], kr.fresh[aliceKeyID] = k, k
		}, want: ReasonBadSignature},
		{name: "altered date header", mutate: func(t *testing.T, r *http.Request, _ *Signer) {
			r.Header.Set("Date", now.Add(time.Second).UTC().Format(http.TimeFormat))
		}, want: ReasonBadSignature},
		{name: "altered path", mutate: func(t *testing.T, r *http.Request, _ *Signer) {
			r.URL.Path = "/users/mallory/inbox"
		}, want: ReasonBadSignature},
		{name: "altered body", mutate: func(t *testing.T, r *http.Request, _ *Signer) {
			setBody(r, bytes.Replace(activity, []byte("Follow"), []byte("Block"), 1))
		}, want: ReasonDigestMismatch},
		{name: "altered body and digest", mutate: func(t *testing.T, r *http.Request, _ *Signer) {
			b := bytes.Replace(activity, []byte("Follow"), []byte("Block"), 1)
			setBody(r, b)
			r.Header.Set("Digest", DigestHeader(DigestSHA256, b))
		}, want: ReasonBadSignature},
		{name: "digest of unsupported algorithm only", mutate: func(t *testing.T, r *http.Request, _ *Signer) {
			r.Header.Set("Digest", "MD5=Sd/dVLAcvNLSq16eXua5uQ==")
		}, want: ReasonDigestMismatch},
		{name: "digest removed", mutate: func(t *testing.T, r *http.Request, _ *Signer) {
			r.Header.Del("Digest")
		}, want: ReasonMissingComponent},
		{name: "stale date", opts: func(o *VerifierOptions) {
			o.Clock = fixedClock(now.Add(DefaultWindow + time.Minute))
		}, want: ReasonOutsideWindow},
		{name: "future date", opts: func(o *VerifierOptions) {
			o.Clock = fixedClock(now.Add(-DefaultWindow - time.Minute))
		}, want: ReasonOutsideWindow},
		{name: "custom window", opts: func(o *VerifierOptions) {
			o.Window = time.Minute
			o.Clock = fixedClock(now.Add(2 * time.Minute))
		}, want: ReasonOutsideWindow},
		{name: "unparsable date", mutate: func(t *testing.T, r *http.Request, _ *Signer) {
			r.Header.Set("Date", "yesterday")
		}, want: ReasonMalformed},
		{name: "POST signature without digest", mutate: func(t *testing.T, r *http.Request, s *Signer) {
			resignWithHeaders(t, r, s, "(request-target) host date")
		}, want: ReasonMissingComponent},
		{name: "signature without host", mutate: func(t *testing.T, r *http.Request, s *Signer) {
			resignWithHeaders(t, r, s, "(request-target) date digest")
		}, want: ReasonMissingComponent},
		{name: "signature without request-target", mutate: func(t *testing.T, r *http.Request, s *Signer) {
			resignWithHeaders(t, r, s, "host date digest")
		}, want: ReasonMissingComponent},
		{name: "signature without date", mutate: func(t *testing.T, r *http.Request, s *Signer) {
			resignWithHeaders(t, r, s, "(request-target) host digest")
		}, want: ReasonMissingComponent},
		{name: "covered header absent", mutate: func(t *testing.T, r *http.Request, s *Signer) {
			resignWithHeaders(t, r, s, "(request-target) host date digest content-type")
			r.Header.Del("Content-Type")
		}, want: ReasonMissingComponent},
		{name: "duplicate Signature headers", mutate: func(t *testing.T, r *http.Request, _ *Signer) {
			r.Header.Add("Signature", r.Header.Get("Signature"))
		}, want: ReasonMalformed},
		{name: "Signature and Authorization", mutate: func(t *testing.T, r *http.Request, _ *Signer) {
			r.Header.Set("Authorization", "Signature "+r.Header.Get("Signature"))
		}, want: ReasonMalformed},
		{name: "duplicate keyId parameter", mutate: func(t *testing.T, r *http.Request, _ *Signer) {
			r.Header.Set("Signature", `keyId="https://evil.example/k",`+r.Header.Get("Signature"))
		}, want: ReasonMalformed},
		{name: "duplicate headers parameter", mutate: func(t *testing.T, r *http.Request, _ *Signer) {
			r.Header.Set("Signature", r.Header.Get("Signature")+`,headers="date"`)
		}, want: ReasonMalformed},
		{name: "duplicate unknown parameter", mutate: func(t *testing.T, r *http.Request, _ *Signer) {
			r.Header.Set("Signature", r.Header.Get("Signature")+`,foo="1",FOO="2"`)
		}, want: ReasonMalformed},
		{name: "unknown algorithm", mutate: func(t *testing.T, r *http.Request, _ *Signer) {
			r.Header.Set("Signature", strings.Replace(r.Header.Get("Signature"), "rsa-sha256", "rsa-md5", 1))
		}, want: ReasonUnsupportedAlgorithm},
		{name: "algorithm not fitting key", mutate: func(t *testing.T, r *http.Request, _ *Signer) {
			r.Header.Set("Signature", strings.Replace(r.Header.Get("Signature"), "rsa-sha256", "ed25519", 1))
		}, want: ReasonUnsupportedAlgorithm},
		{name: "rsa-sha512 label on sha256 signature", mutate: func(t *testing.T, r *http.Request, _ *Signer) {
			r.Header.Set("Signature", strings.Replace(r.Header.Get("Signature"), "rsa-sha256", "rsa-sha512", 1))
		}, want: ReasonBadSignature},
		{name: "no signature", mutate: func(t *testing.T, r *http.Request, _ *Signer) {
			r.Header.Del("Signature")
		}, want: ReasonNoSignature},
		{name: "garbage signature header", mutate: func(t *testing.T, r *http.Request, _ *Signer) {
			r.Header.Set("Signature", `keyId="x",signature="not base64!"`)
		}, want: ReasonMalformed},
		{name: "resolver error", kr: func(kr *keyResolver) { kr.err = errors.New("remote answered 410") }, want: ReasonKeyUnavailable},
		{name: "unknown key", mutate: func(t *testing.T, r *http.Request, _ *Signer) {
			r.Header.Set("Signature", strings.Replace(r.Header.Get("Signature"), "alice", "mallory", 1))
		}, want: ReasonKeyUnavailable},
		{name: "body too large", opts: func(o *VerifierOptions) { o.MaxBodyBytes = 16 }, want: ReasonBodyTooLarge},
		{name: "expired", mutate: func(t *testing.T, r *http.Request, s *Signer) {
			r.Header.Set("Signature", r.Header.Get("Signature")+`,expires=1000`)
		}, want: ReasonOutsideWindow},
	}
	runFailCases(t, key, SchemeCavage, now, cases)
}

// runFailCases signs a POST with key in scheme for each case, applies the
// case's resolver, options and mutation, and expects the case's Reason
// from a Verifier behind a real HTTP server.
func runFailCases(t *testing.T, key crypto.Signer, scheme string, now time.Time, cases []failCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			kr := newResolver(pubKey(aliceKeyID, key))
			if tc.kr != nil {
				tc.kr(kr)
			}
			opts := &VerifierOptions{Clock: fixedClock(now)}
			if tc.opts != nil {
				tc.opts(opts)
			}
			srv := verifyServer(t, NewVerifier(kr, opts))
			s, err := NewSigner(aliceKeyID, key, &SignerOptions{Clock: fixedClock(now), Scheme: scheme})
			noErr(t, err)
			r := signedPost(t, s, srv.URL+"/users/bob/inbox", activity)
			if tc.mutate != nil {
				tc.mutate(t, r, s)
			}
			got := send(t, srv, r)
			if Reason(got.Reason) != tc.want {
				t.Fatalf("reason = %q (%s), want %q", got.Reason, got.Error, tc.want)
			}
		})
	}
}

func setBody(r *http.Request, b []byte) {
	r.Body = io.NopCloser(bytes.NewReader(b))
	r.ContentLength = int64(len(b))
	r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
}

// resignWithHeaders replaces r's signature by a valid one over headers.
func resignWithHeaders(t *testing.T, r *http.Request, s *Signer, headers string) {
	t.Helper()
	p := &cavageParams{KeyID: s.keyID, Algorithm: s.cavage, Headers: strings.Fields(headers)}
	msg, err := cavageSigningString(nil, r, p)
	noErr(t, err)
	p.Signature, err = signAlg(s.prim, s.key, msg)
	noErr(t, err)
	r.Header.Set("Signature", formatCavageSignature(p))
}

func TestVerifyKeyRotation(t *testing.T) {
	oldKey, newKey := testRSAKey(t), otherRSAKey(t)
	kr := newResolver(pubKey(aliceKeyID, oldKey))
	kr.fresh[aliceKeyID] = pubKey(aliceKeyID, newKey)
	srv := verifyServer(t, NewVerifier(kr, nil))
	s, err := NewSigner(aliceKeyID, newKey, nil)
	noErr(t, err)
	if got := send(t, srv, signedPost(t, s, srv.URL+"/inbox", activity)); got.Reason != "" {
		t.Fatalf("rotated key not picked up: %+v", got)
	}
	if calls := kr.Calls(); len(calls) != 2 || calls[0] || !calls[1] {
		t.Errorf("resolver calls (refresh flags) = %v, want [false true]", calls)
	}

	// A good signature costs one cached lookup and no refresh.
	kr2 := newResolver(pubKey(aliceKeyID, newKey))
	srv2 := verifyServer(t, NewVerifier(kr2, nil))
	if got := send(t, srv2, signedPost(t, s, srv2.URL+"/inbox", activity)); got.Reason != "" {
		t.Fatalf("verdict %+v", got)
	}
	if calls := kr2.Calls(); len(calls) != 1 || calls[0] {
		t.Errorf("resolver calls = %v, want [false]", calls)
	}
}

func TestVerifyWrongKeyAsksForFreshKeyOnce(t *testing.T) {
	kr := newResolver(pubKey(aliceKeyID, otherRSAKey(t)))
	v := NewVerifier(kr, nil)
	s, _ := NewSigner(aliceKeyID, testRSAKey(t), nil)
	r := signedPost(t, s, "https://b.example/inbox", activity)
	_, err := v.Verify(r)
	if ReasonOf(err) != ReasonBadSignature {
		t.Fatalf("err = %v", err)
	}
	var e *Error
	if !errors.As(err, &e) || e.Unwrap() == nil {
		t.Fatalf("error is not an *Error with a cause: %#v", err)
	}
	if calls := kr.Calls(); len(calls) != 2 || !calls[1] {
		t.Errorf("resolver calls = %v, want [false true]", calls)
	}
}

func TestHandler(t *testing.T) {
	key := testRSAKey(t)
	v := NewVerifier(newResolver(pubKey(aliceKeyID, key)), nil)
	var called int
	srv := httptest.NewServer(v.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		called++
		res, ok := ResultFromContext(r.Context())
		if !ok {
			http.Error(w, "no result", 500)
			return
		}
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("X-Owner", res.Owner)
		w.WriteHeader(http.StatusAccepted)
		_, _ = w.Write(b)
	})))
	defer srv.Close()
	s, _ := NewSigner(aliceKeyID, key, nil)

	resp, err := srv.Client().Do(signedPost(t, s, srv.URL+"/inbox", activity))
	noErr(t, err)
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted || resp.Header.Get("X-Owner") != aliceIRI || !bytes.Equal(b, activity) {
		t.Fatalf("signed POST: %d %q %q", resp.StatusCode, resp.Header.Get("X-Owner"), b)
	}

	unsigned, _ := http.NewRequest(http.MethodPost, srv.URL+"/inbox", bytes.NewReader(activity))
	resp, err = srv.Client().Do(unsigned)
	noErr(t, err)
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(string(b), "no_signature") ||
		!strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Signature") {
		t.Fatalf("unsigned POST: %d %q %v", resp.StatusCode, b, resp.Header)
	}
	if called != 1 {
		t.Errorf("next called %d times, want 1", called)
	}

	small := NewVerifier(newResolver(pubKey(aliceKeyID, key)), &VerifierOptions{MaxBodyBytes: 10})
	srv2 := httptest.NewServer(small.Handler(http.NotFoundHandler()))
	defer srv2.Close()
	resp, err = srv2.Client().Do(signedPost(t, s, srv2.URL+"/inbox", activity))
	noErr(t, err)
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("oversized body: status %d, want 413", resp.StatusCode)
	}
}

func TestResultContext(t *testing.T) {
	if _, ok := ResultFromContext(context.Background()); ok {
		t.Error("empty context has a Result")
	}
	want := &Result{KeyID: "k"}
	got, ok := ResultFromContext(NewContext(context.Background(), want))
	if !ok || got != want {
		t.Errorf("got %v %v", got, ok)
	}
}

func TestVerifyAuthorizationHeader(t *testing.T) {
	key := testRSAKey(t)
	srv := verifyServer(t, NewVerifier(newResolver(pubKey(aliceKeyID, key)), nil))
	s, _ := NewSigner(aliceKeyID, key, nil)
	r := signedGet(t, s, srv.URL+"/users/bob")
	r.Header.Set("Authorization", "Signature "+r.Header.Get("Signature"))
	r.Header.Del("Signature")
	if got := send(t, srv, r); got.Reason != "" {
		t.Fatalf("Authorization: Signature rejected: %+v", got)
	}
}

func TestVerifyHS2019RSAPSS(t *testing.T) {
	// draft-cavage-12 suggests RSASSA-PSS for hs2019; accept it as a fallback.
	key := testRSAKey(t)
	srv := verifyServer(t, NewVerifier(newResolver(pubKey(aliceKeyID, key)), nil))
	r, _ := http.NewRequest(http.MethodGet, srv.URL+"/users/bob", nil)
	r.Host = r.URL.Host
	r.Header.Set("Date", time.Now().UTC().Format(http.TimeFormat))
	p := &cavageParams{KeyID: aliceKeyID, Algorithm: "hs2019", Headers: getHeaders}
	msg, err := cavageSigningString(nil, r, p)
	noErr(t, err)
	p.Signature, err = signAlg(algRSAPSSSHA512, key, msg)
	noErr(t, err)
	r.Header.Set("Signature", formatCavageSignature(p))
	if got := send(t, srv, r); got.Reason != "" {
		t.Fatalf("hs2019 PSS rejected: %+v", got)
	}
}

// TestCavageCreatedExpires: an hs2019 Signer with Expiry covers (created)
// and (expires); the Verifier checks both.
func TestCavageCreatedExpires(t *testing.T) {
	key := testEd25519Key(t)
	now := time.Now()
	s, err := NewSigner(aliceKeyID, key, &SignerOptions{Expiry: 5 * time.Minute, Clock: fixedClock(now), Digest: DigestSHA512})
	noErr(t, err)
	r := signedPost(t, s, "https://b.example/inbox", activity)
	sig := r.Header.Get("Signature")
	if !strings.Contains(sig, `headers="(request-target) host date digest (created) (expires)"`) || !strings.Contains(sig, "created=") {
		t.Fatalf("Signature %q", sig)
	}
	if !strings.HasPrefix(r.Header.Get("Digest"), "SHA-512=") {
		t.Fatalf("Digest %q", r.Header.Get("Digest"))
	}
	kr := newResolver(pubKey(aliceKeyID, key))
	if _, err := NewVerifier(kr, &VerifierOptions{Clock: fixedClock(now)}).Verify(r); err != nil {
		t.Fatal(err)
	}
	setBody(r, activity)
	late := NewVerifier(kr, &VerifierOptions{Clock: fixedClock(now.Add(5*time.Minute + 2*time.Minute)), Window: time.Minute})
	if _, err := late.Verify(r); ReasonOf(err) != ReasonOutsideWindow {
		t.Fatalf("expired signature: %v", err)
	}
}

// TestReplayBody: a body read before Verify and given back as ReplayBody
// is verified as the body sent (a changed one fails its digest, one over
// the cap is too large), and still reads whole afterwards.
func TestReplayBody(t *testing.T) {
	key := testRSAKey(t)
	v := NewVerifier(newResolver(pubKey(aliceKeyID, key)), &VerifierOptions{MaxBodyBytes: int64(len(activity))})
	s, err := NewSigner(aliceKeyID, key, nil)
	noErr(t, err)
	for _, scheme := range []string{SchemeCavage, SchemeRFC9421} {
		sign := func(body []byte) *http.Request {
			r, err := http.NewRequest(http.MethodPost, "https://b.example/inbox", bytes.NewReader(body))
			noErr(t, err)
			noErr(t, s.SignRequestScheme(r, body, scheme))
			r.Body = ReplayBody(body)
			return r
		}
		r := sign(activity)
		if _, err := v.Verify(r); err != nil {
			t.Fatalf("%s: %v", scheme, err)
		}
		if got, _ := io.ReadAll(r.Body); !bytes.Equal(got, activity) {
			t.Fatalf("%s: body after Verify %q", scheme, got)
		}

		r = sign(activity)
		r.Body = ReplayBody(bytes.Replace(activity, []byte("Follow"), []byte("Folloz"), 1))
		if _, err := v.Verify(r); ReasonOf(err) != ReasonDigestMismatch {
			t.Fatalf("%s: changed body: %v", scheme, err)
		}

		long := append(bytes.Clone(activity), ' ')
		r = sign(long)
		r.ContentLength = -1 // the cap is found by reading
		if _, err := v.Verify(r); ReasonOf(err) != ReasonBodyTooLarge {
			t.Fatalf("%s: body over the cap: %v", scheme, err)
		}
	}
}
