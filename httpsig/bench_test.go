package httpsig

import (
	"bufio"
	"bytes"
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"sync"
	"testing"
	"time"
)

// Each benchmark below runs our code ("httpsig") and the bare primitive
// ("bare") as sub-benchmarks, one after the other, on the same key and the
// same signing string (the one our code builds for that request), so that
// their ratio is the cost of everything around the cryptography: header
// parsing, the signing string, the body Digest of a real ~2 KB Mastodon
// activity, base64, the key lookup and the Result. See BENCHMARKS.md for
// the command and the figures.

// benchBody is a real Mastodon Create(Question) as Mastodon sends it
// (compact JSON, 2 087 bytes).
var benchBody = sync.OnceValues(func() ([]byte, error) {
	return compactFixture("activities/mastodon-create-question-1.json")
})

// compactFixture returns a JSON fixture compacted, as servers send it.
func compactFixture(name string) ([]byte, error) {
	raw, err := os.ReadFile("../internal/testdata/fixtures/" + name)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	err = json.Compact(&buf, raw)
	return buf.Bytes(), err
}

// benchFollow is a real Mastodon Follow (compact JSON, 1 114 bytes with
// its LD signature): the size of most deliveries (Follow, Like, Accept,
// Undo), against benchBody's large Create.
var benchFollow = sync.OnceValues(func() ([]byte, error) {
	return compactFixture("activities/mastodon-follow-2.json")
})

var benchEd25519Key = sync.OnceValue(func() ed25519.PrivateKey {
	_, k, _ := ed25519.GenerateKey(rand.Reader)
	return k
})

const benchInbox = "https://b.example/users/bob/inbox"

// benchCase holds a request signed by s as the Verifier's server sees it
// (parsed from the wire, with RequestURI set), the Verifier for it, and
// the signing string and signature our code computes, for the bare
// benchmarks.
type benchCase struct {
	s      *Signer
	v      *Verifier
	r      *http.Request
	body   []byte
	msg    []byte // the signing string / signature base
	fresh  []byte // a copy of body that signOnce changes
	follow []byte // a smaller body, changed by signFollow
	// getMsg is the signing string of a bodiless GET to the same URL.
	getMsg []byte
	sig    []byte
}

func newBenchCase(b *testing.B, key crypto.Signer, scheme string) *benchCase {
	b.Helper()
	body, err := benchBody()
	noErr(b, err)
	now := time.Now()
	s, err := NewSigner(aliceKeyID, key, &SignerOptions{Clock: fixedClock(now), Scheme: scheme})
	noErr(b, err)
	v := NewVerifier(&benchResolver{keys: map[string]*PublicKey{aliceKeyID: pubKey(aliceKeyID, key)}}, &VerifierOptions{Clock: fixedClock(now), TargetScheme: "https"})

	out, err := http.NewRequest(http.MethodPost, benchInbox, bytes.NewReader(body))
	noErr(b, err)
	out.Header.Set("Content-Type", "application/activity+json")
	out.Header.Set("User-Agent", "Mastodon/4.5.0 (http.rb/5.2.0; +https://a.example/)")
	noErr(b, s.SignRequest(out, body))
	var wire bytes.Buffer
	noErr(b, out.Write(&wire))
	r, err := http.ReadRequest(bufio.NewReader(&wire))
	noErr(b, err)

	follow, err := benchFollow()
	noErr(b, err)
	c := &benchCase{s: s, v: v, r: r, body: body, fresh: bytes.Clone(body), follow: follow}
	c.msg, c.sig = signedInput(b, r, scheme)
	get, err := http.NewRequest(http.MethodGet, benchInbox, nil)
	noErr(b, err)
	noErr(b, s.SignRequest(get, nil))
	c.getMsg, _ = signedInput(b, get, scheme)
	return c
}

// signedInput returns the signing string (or signature base) and the
// signature of the signed request r, rebuilt by the generic code.
func signedInput(b *testing.B, r *http.Request, scheme string) (msg, sig []byte) {
	if scheme == SchemeRFC9421 {
		sigs, err := parseRFC9421(r.Header)
		noErr(b, err)
		msg, err = signatureBase(nil, requestMessage(r, "https"), sigs[0].inner)
		noErr(b, err)
		return msg, sigs[0].sig
	}
	p, err := parseCavageSignature(r.Header.Get("Signature"))
	noErr(b, err)
	msg, err = cavageSigningString(nil, r, p)
	noErr(b, err)
	return msg, p.Signature
}

// benchResolver is a KeyResolver with the cost of a real cache hit (a
// read-locked map lookup) and none of the test resolver's bookkeeping.
type benchResolver struct {
	mu   sync.RWMutex
	keys map[string]*PublicKey
}

func (kr *benchResolver) ResolveKey(_ context.Context, keyID string, _ bool) (*PublicKey, error) {
	kr.mu.RLock()
	defer kr.mu.RUnlock()
	if k, ok := kr.keys[keyID]; ok {
		return k, nil
	}
	return nil, errors.New("no such key")
}

// verifyOnce runs Verify on c's request, with its body reset.
func (c *benchCase) verifyOnce(rd *bytes.Reader, rc io.ReadCloser) error {
	rd.Reset(c.body)
	c.r.Body = rc
	_, err := c.v.Verify(c.r)
	return err
}

// signOnce signs a POST of a body the Signer has not just signed, the way
// a Transport sends one activity to one inbox: Date, the body digest and
// the signature headers are computed anew each time. The body is c's with
// its last byte but one changed, so that the digest memo (which compares
// whole bodies) misses after a full compare.
func (c *benchCase) signOnce(r *http.Request) error {
	c.fresh[len(c.fresh)-2]++
	r.Header.Del("Date")
	return c.s.SignRequest(r, c.fresh)
}

// signFollow is signOnce with the Follow body.
func (c *benchCase) signFollow(r *http.Request) error {
	c.follow[len(c.follow)-2]++
	r.Header.Del("Date")
	return c.s.SignRequest(r, c.follow)
}

// signAgain signs a POST of the body the Signer signed last, as in a
// fan-out of one activity to many inboxes: the digest comes from the memo.
func (c *benchCase) signAgain(r *http.Request) error {
	r.Header.Del("Date")
	return c.s.SignRequest(r, c.body)
}

// pair is one comparison: our operation and the bare primitive it wraps.
type pair struct {
	name       string
	ours, bare func() error
}

// pairs returns the verify and sign comparisons for key with scheme.
func pairs(b *testing.B, key crypto.Signer, scheme string) []pair {
	c := newBenchCase(b, key, scheme)
	rd := bytes.NewReader(c.body)
	rc := io.NopCloser(rd)
	out, err := http.NewRequest(http.MethodPost, benchInbox, nil)
	noErr(b, err)
	out.Header.Set("Content-Type", "application/activity+json")
	get, err := http.NewRequest(http.MethodGet, benchInbox, nil)
	noErr(b, err)
	verify := func() error { return c.verifyOnce(rd, rc) }
	sign := func() error { return c.signOnce(out) }
	again := func() error { return c.signAgain(out) }
	switch k := key.(type) {
	case *rsa.PrivateKey:
		return []pair{
			{"verify", verify, func() error {
				h := sha256.Sum256(c.msg)
				return rsa.VerifyPKCS1v15(&k.PublicKey, crypto.SHA256, h[:], c.sig)
			}},
			{"sign", sign, func() error {
				h := sha256.Sum256(c.msg)
				_, err := rsa.SignPKCS1v15(rand.Reader, k, crypto.SHA256, h[:])
				return err
			}},
			{"sign-fanout", again, func() error {
				h := sha256.Sum256(c.msg)
				_, err := rsa.SignPKCS1v15(rand.Reader, k, crypto.SHA256, h[:])
				return err
			}},
		}
	case ed25519.PrivateKey:
		pub := k.Public().(ed25519.PublicKey)
		return []pair{
			{"verify", verify, func() error {
				if !ed25519.Verify(pub, c.msg, c.sig) {
					return errors.New("signature does not verify")
				}
				return nil
			}},
			{"sign", sign, func() error {
				_ = ed25519.Sign(k, c.msg)
				return nil
			}},
			{"sign-fanout", again, func() error {
				_ = ed25519.Sign(k, c.msg)
				return nil
			}},
			// The signing string of the Follow has the same length as
			// the Create's (it differs only in the digest).
			{"sign-follow", func() error { return c.signFollow(out) }, func() error {
				_ = ed25519.Sign(k, c.msg)
				return nil
			}},
			// A bodiless GET (a signed fetch): our cost without the body
			// digest, against the bare signature of the GET's own
			// signing string.
			{"sign-get", func() error {
				get.Header.Del("Date")
				return c.s.SignRequest(get, nil)
			}, func() error {
				_ = ed25519.Sign(k, c.getMsg)
				return nil
			}},
		}
	}
	b.Fatalf("no bare primitive for %T", key)
	return nil
}

// run benchmarks each pair as sub-benchmarks NAME/httpsig and NAME/bare,
// run one after the other, and NAME/paired, which alternates one operation
// of each, timing each one, so that both see the same machine load, and
// reports their ratio ("ratio") besides each one's ns/op.
func run(b *testing.B, ps []pair) {
	for _, p := range ps {
		for _, side := range []struct {
			name string
			op   func() error
		}{{"httpsig", p.ours}, {"bare", p.bare}} {
			b.Run(p.name+"/"+side.name, func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if err := side.op(); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
		b.Run(p.name+"/paired", func(b *testing.B) {
			var ours, bare time.Duration
			for b.Loop() {
				t0 := time.Now()
				err := p.ours()
				t1 := time.Now()
				if err == nil {
					err = p.bare()
				}
				t2 := time.Now()
				if err != nil {
					b.Fatal(err)
				}
				ours += t1.Sub(t0)
				bare += t2.Sub(t1)
			}
			b.ReportMetric(float64(ours.Nanoseconds())/float64(b.N), "httpsig-ns/op")
			b.ReportMetric(float64(bare.Nanoseconds())/float64(b.N), "bare-ns/op")
			b.ReportMetric(float64(ours)/float64(bare), "ratio")
		})
	}
}

// BenchmarkCavageRSA: draft-cavage rsa-sha256 over (request-target) host
// date digest, RSA-2048, against rsa.VerifyPKCS1v15 / rsa.SignPKCS1v15
// (with the SHA-256 of the signing string).
func BenchmarkCavageRSA(b *testing.B) { run(b, pairs(b, testRSAKey(b), SchemeCavage)) }

// BenchmarkRFC9421RSA: RFC 9421 rsa-v1_5-sha256 over @method @target-uri
// content-digest, as Mastodon 4.5 signs, against the same primitives.
func BenchmarkRFC9421RSA(b *testing.B) { run(b, pairs(b, testRSAKey(b), SchemeRFC9421)) }

// BenchmarkCavageEd25519: draft-cavage hs2019 with an Ed25519 key,
// against ed25519.Verify / ed25519.Sign.
func BenchmarkCavageEd25519(b *testing.B) { run(b, pairs(b, benchEd25519Key(), SchemeCavage)) }

// BenchmarkRFC9421Ed25519: RFC 9421 ed25519, against the same primitives.
func BenchmarkRFC9421Ed25519(b *testing.B) { run(b, pairs(b, benchEd25519Key(), SchemeRFC9421)) }

// BenchmarkBodyDigest is the SHA-256 Digest header of the benchmark body
// alone: the part of the signing cost that no code around the primitive
// can avoid.
func BenchmarkBodyDigest(b *testing.B) {
	body, err := benchBody()
	noErr(b, err)
	b.ReportAllocs()
	for b.Loop() {
		_ = DigestHeader(DigestSHA256, body)
	}
}
