package httpsig

import (
	"bufio"
	"bytes"
	"context"
	"crypto"
	"crypto/ed25519"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// incoming returns r as a server reads it off the wire; r can be sent
// again.
func incoming(t testing.TB, r *http.Request) *http.Request {
	t.Helper()
	if r.GetBody != nil {
		body, err := r.GetBody()
		noErr(t, err)
		r.Body = body
	}
	var wire bytes.Buffer
	noErr(t, r.Write(&wire))
	in, err := http.ReadRequest(bufio.NewReader(&wire))
	noErr(t, err)
	return in
}

// wantReason fails unless err is an *Error with reason want.
func wantReason(t testing.TB, err error, want Reason) {
	t.Helper()
	if got := ReasonOf(err); got != want {
		t.Fatalf("reason %q (%v), want %q", got, err, want)
	}
}

func TestNonceAndTag(t *testing.T) {
	key := testEd25519Key(t)
	now := time.Unix(1_700_000_000, 0)
	kr := newResolver(pubKey(aliceKeyID, key))
	signer := func(t *testing.T, o SignerOptions) *Signer {
		o.Clock, o.Scheme = fixedClock(now), SchemeRFC9421
		s, err := NewSigner(aliceKeyID, key, &o)
		noErr(t, err)
		return s
	}
	verifier := func(o VerifierOptions) *Verifier {
		o.Clock, o.TargetScheme = fixedClock(now.Add(time.Second)), "https"
		return NewVerifier(kr, &o)
	}
	const url = "https://remote.example/users/bob/inbox"

	t.Run("signed and reported", func(t *testing.T) {
		s := signer(t, SignerOptions{Tag: "fedi", Nonce: true, Expiry: time.Minute, Label: "mine"})
		r := signedPost(t, s, url, activity)
		in := r.Header.Get("Signature-Input")
		if !strings.Contains(in, `;tag="fedi"`) || !strings.Contains(in, `;nonce="`) {
			t.Fatalf("Signature-Input %q lacks tag or nonce", in)
		}
		res, err := verifier(VerifierOptions{Tag: "fedi"}).Verify(incoming(t, r))
		noErr(t, err)
		if res.Tag != "fedi" || len(res.Nonce) != 22 || res.Label != "mine" ||
			!res.Created.Equal(now) || !res.Expires.Equal(now.Add(time.Minute)) {
			t.Fatalf("result %+v", res)
		}
		// Every signature gets its own nonce.
		if other := signedPost(t, s, url, activity); other.Header.Get("Signature-Input") == in {
			t.Fatal("two signatures with the same nonce")
		}
	})

	t.Run("tag chooses among signatures", func(t *testing.T) {
		a := signedGet(t, signer(t, SignerOptions{Tag: "a", Label: "one"}), url)
		b := signedGet(t, signer(t, SignerOptions{Tag: "b", Label: "two"}), url)
		a.Header.Add("Signature-Input", b.Header.Get("Signature-Input"))
		a.Header.Add("Signature", b.Header.Get("Signature"))
		res, err := verifier(VerifierOptions{Tag: "b"}).Verify(incoming(t, a))
		noErr(t, err)
		if res.Label != "two" || res.Tag != "b" {
			t.Fatalf("verified %q tagged %q, want two/b", res.Label, res.Tag)
		}
		_, err = verifier(VerifierOptions{Tag: "c"}).Verify(incoming(t, a))
		wantReason(t, err, ReasonNoSignature)
		untagged := signedGet(t, signer(t, SignerOptions{}), url)
		_, err = verifier(VerifierOptions{Tag: "a"}).Verify(incoming(t, untagged))
		wantReason(t, err, ReasonNoSignature)
	})

	t.Run("draft-cavage has neither", func(t *testing.T) {
		s, err := NewSigner(aliceKeyID, key, &SignerOptions{Clock: fixedClock(now), Tag: "a", Nonce: true})
		noErr(t, err)
		r := signedGet(t, s, url)
		_, err = verifier(VerifierOptions{Tag: "a"}).Verify(incoming(t, r))
		wantReason(t, err, ReasonNoSignature)
		_, err = verifier(VerifierOptions{RequireNonce: true}).Verify(incoming(t, r))
		wantReason(t, err, ReasonMissingComponent)
		res, err := verifier(VerifierOptions{}).Verify(incoming(t, r))
		noErr(t, err)
		if !res.Created.Equal(now) || res.Nonce != "" || res.Tag != "" {
			t.Fatalf("cavage result %+v", res)
		}
	})

	t.Run("replay refused", func(t *testing.T) {
		// The cache runs on the Verifier's clock.
		v := verifier(VerifierOptions{Nonces: NewNonceCache(0, fixedClock(now.Add(time.Second))), RequireNonce: true})
		s := signer(t, SignerOptions{Nonce: true})
		r := signedPost(t, s, url, activity)
		// A forged copy (bad signature) does not use up the nonce.
		forged := incoming(t, r)
		forged.Header.Set("Signature", "sig1=:"+strings.Repeat("AAAA", 22)+":")
		_, err := v.Verify(forged)
		wantReason(t, err, ReasonBadSignature)
		_, err = v.Verify(incoming(t, r))
		noErr(t, err)
		_, err = v.Verify(incoming(t, r))
		wantReason(t, err, ReasonReplayed)
		_, err = v.Verify(incoming(t, signedPost(t, s, url, activity)))
		noErr(t, err) // a fresh nonce
		_, err = v.Verify(incoming(t, signedPost(t, signer(t, SignerOptions{}), url, activity)))
		wantReason(t, err, ReasonMissingComponent)
	})

	t.Run("checker failure fails closed", func(t *testing.T) {
		v := verifier(VerifierOptions{Nonces: failingNonces{}})
		_, err := v.Verify(incoming(t, signedGet(t, signer(t, SignerOptions{Nonce: true}), url)))
		wantReason(t, err, ReasonReplayed)
	})

	t.Run("accept-signature keeps the signer's", func(t *testing.T) {
		s := signer(t, SignerOptions{Tag: "fedi", Nonce: true})
		r, err := http.NewRequest(http.MethodGet, url, nil)
		noErr(t, err)
		noErr(t, s.SignRequestAccepting(r, nil, `sig9=("@method" "@target-uri");keyid="`+aliceKeyID+`"`))
		in := r.Header.Get("Signature-Input")
		if !strings.Contains(in, `;tag="fedi"`) || !strings.Contains(in, `;nonce="`) {
			t.Fatalf("Signature-Input %q lacks tag or nonce", in)
		}
		noErr(t, r.Context().Err())
		r2, _ := http.NewRequest(http.MethodGet, url, nil)
		noErr(t, s.SignRequestAccepting(r2, nil, `sig9=("@method" "@target-uri");tag="asked";nonce="n-1"`))
		if in := r2.Header.Get("Signature-Input"); !strings.Contains(in, `;nonce="n-1"`) || !strings.Contains(in, `;tag="asked"`) {
			t.Fatalf("requested nonce and tag not used: %q", in)
		}
	})

	t.Run("invalid tag", func(t *testing.T) {
		if _, err := NewSigner(aliceKeyID, key, &SignerOptions{Tag: "é"}); err == nil {
			t.Fatal("non-ASCII tag accepted")
		}
	})
}

type failingNonces struct{}

func (failingNonces) CheckNonce(context.Context, string, string, time.Time) error {
	return errors.New("database down")
}

func TestNonceCache(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	c := NewNonceCache(3, func() time.Time { return now })
	ctx := context.Background()
	check := func(key, nonce string, ttl time.Duration, want error) {
		t.Helper()
		if err := c.CheckNonce(ctx, key, nonce, now.Add(ttl)); !errors.Is(err, want) || (want == nil && err != nil) {
			t.Fatalf("CheckNonce(%s, %s) = %v, want %v", key, nonce, err, want)
		}
	}
	check("k1", "n", time.Minute, nil)
	check("k1", "n", time.Minute, ErrReplayed)
	check("k2", "n", time.Minute, nil) // same nonce, other key
	check("k1\x00n", "", time.Minute, nil)
	if c.Len() != 3 {
		t.Fatalf("Len %d", c.Len())
	}
	// Full: the oldest (k1/n) is forgotten to make room.
	check("k3", "n", time.Minute, nil)
	if c.Len() != 3 {
		t.Fatalf("Len %d after eviction", c.Len())
	}
	check("k2", "n", time.Minute, ErrReplayed)
	// Expired nonces are forgotten and may be used again.
	now = now.Add(2 * time.Minute)
	check("k2", "n", time.Minute, nil)
	if c.Len() != 1 {
		t.Fatalf("Len %d after expiry", c.Len())
	}
	// Many insertions stay within the bound and keep the FIFO compact.
	for i := range 1000 {
		check("k", fmt.Sprint(i), time.Hour, nil)
	}
	if c.Len() != 3 || len(c.order)-c.head != 3 || len(c.order) > 200 {
		t.Fatalf("Len %d, order %d (head %d)", c.Len(), len(c.order), c.head)
	}
	check("k", "999", time.Hour, ErrReplayed)
}

// TestQuerylessRequestTarget: older Mastodon versions left the query out
// of (request-target); such rsa-sha256 signatures verify unless
// StrictRequestTarget is set, and bind everything but the query.
func TestQuerylessRequestTarget(t *testing.T) {
	rsaKey, edKey := testRSAKey(t), testEd25519Key(t)
	now := time.Unix(1_700_000_000, 0)
	const url = "https://remote.example/users/bob/outbox?page=true"
	// signPathOnly signs a GET of target the way those versions did.
	signPathOnly := func(t *testing.T, key crypto.Signer, alg string, signedPath string) *http.Request {
		r, err := http.NewRequest(http.MethodGet, url, nil)
		noErr(t, err)
		r.Header.Set("Date", now.UTC().Format(http.TimeFormat))
		p := &cavageParams{KeyID: aliceKeyID, Algorithm: alg, Headers: getHeaders}
		msg := []byte("(request-target): get " + signedPath + "\nhost: remote.example\ndate: " + r.Header.Get("Date"))
		prim := algRSAPKCS1SHA256
		if _, ok := key.(ed25519.PrivateKey); ok {
			prim = algEd25519
		}
		p.Signature, err = signAlg(prim, key, msg)
		noErr(t, err)
		r.Header.Set("Signature", formatCavageSignature(p))
		return r
	}
	kr := newResolver(pubKey(aliceKeyID, rsaKey))
	lenient := NewVerifier(kr, &VerifierOptions{Clock: fixedClock(now), TargetScheme: "https"})
	strict := NewVerifier(kr, &VerifierOptions{Clock: fixedClock(now), TargetScheme: "https", StrictRequestTarget: true})

	for _, alg := range []string{"rsa-sha256", "hs2019"} {
		r := signPathOnly(t, rsaKey, alg, "/users/bob/outbox")
		_, err := lenient.Verify(incoming(t, r))
		noErr(t, err)
		_, err = strict.Verify(incoming(t, r))
		wantReason(t, err, ReasonBadSignature)
	}
	// The path is still bound.
	_, err := lenient.Verify(incoming(t, signPathOnly(t, rsaKey, "rsa-sha256", "/users/bob/inbox")))
	wantReason(t, err, ReasonBadSignature)
	// Only the RSA PKCS#1 SHA-256 signatures Mastodon made get the fallback.
	edVerifier := NewVerifier(newResolver(pubKey(aliceKeyID, edKey)), &VerifierOptions{Clock: fixedClock(now), TargetScheme: "https"})
	_, err = edVerifier.Verify(incoming(t, signPathOnly(t, edKey, "hs2019", "/users/bob/outbox")))
	wantReason(t, err, ReasonBadSignature)
	// A correct signature over the full target verifies in both modes.
	s, err := NewSigner(aliceKeyID, rsaKey, &SignerOptions{Clock: fixedClock(now)})
	noErr(t, err)
	_, err = strict.Verify(incoming(t, signedGet(t, s, url)))
	noErr(t, err)
	// The fallback costs one more verification, not a second key lookup.
	calls := len(kr.Calls())
	_, err = lenient.Verify(incoming(t, signPathOnly(t, rsaKey, "rsa-sha256", "/users/bob/outbox")))
	noErr(t, err)
	if got := len(kr.Calls()) - calls; got != 1 {
		t.Fatalf("%d key lookups, want 1", got)
	}
}
