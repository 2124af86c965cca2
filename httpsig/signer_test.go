package httpsig

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestSignerMatchesGenericBuilders checks the Signer's direct construction
// of signing strings and signature bases against the generic builders the
// Verifier uses: for each request shape, key and option set, the signature
// must verify over the base rebuilt from the headers the Signer set, and
// Signature-Input must be the canonical serialisation of what it parses to.
func TestSignerMatchesGenericBuilders(t *testing.T) {
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	noErr(t, err)
	keys := map[string]crypto.Signer{"rsa": testRSAKey(t), "ed25519": testEd25519Key(t), "ecdsa": ec}
	now := time.Unix(1_700_000_000, 0)
	requests := []struct {
		name, method, url string
		body              []byte
		date              string
	}{
		{"post", http.MethodPost, "https://remote.example/users/bob/inbox", []byte(`{"type":"Follow"}`), ""},
		{"empty body", http.MethodPost, "https://remote.example/inbox", []byte{}, ""},
		{"get with query and port", http.MethodGet, "https://Remote.Example:8443/users/bob?page=true&x=%20y", nil, ""},
		{"no method", "", "http://remote.example/a%2Fb/c", nil, ""},
		{"default port", http.MethodGet, "https://remote.example:443/users/bob", nil, ""},
		{"caller's date", http.MethodPost, "https://remote.example/inbox", []byte("x"), "Tue, 07 Jun 2014 20:51:35 GMT"},
	}
	options := map[string]SignerOptions{
		"defaults": {},
		"expiry":   {Expiry: time.Minute, Label: "mine"},
		"sha-512":  {Digest: DigestSHA512},
	}
	for kname, key := range keys {
		for oname, o := range options {
			o.Clock = fixedClock(now)
			s, err := NewSigner("https://local.example/users/alice#main-key", key, &o)
			noErr(t, err)
			schemes := []string{SchemeCavage, SchemeRFC9421}
			if kname == "ecdsa" {
				schemes = schemes[1:]
			}
			for _, scheme := range schemes {
				for _, rq := range requests {
					t.Run(strings.Join([]string{kname, oname, scheme, rq.name}, "/"), func(t *testing.T) {
						r, err := http.NewRequest(http.MethodGet, rq.url, nil)
						noErr(t, err)
						r.Method = rq.method
						if rq.date != "" {
							r.Header.Set("Date", rq.date)
						}
						noErr(t, s.SignRequestScheme(r, rq.body, scheme))
						if rq.date != "" && r.Header.Get("Date") != rq.date {
							t.Errorf("Date replaced: %q", r.Header.Get("Date"))
						}
						checkSignedGenerically(t, r, rq.body, key.Public(), scheme)
						// Each header value is its own slice: adding to one
						// leaves the others (and the signature) intact.
						before := r.Header.Clone()
						for name := range before {
							r.Header.Add(name, "extra")
						}
						for name, vs := range before {
							if got := r.Header[name]; len(got) != len(vs)+1 || got[0] != vs[0] {
								t.Errorf("%s after Add: %q, was %q", name, got, vs)
							}
						}
					})
				}
			}
		}
	}
}

// checkSignedGenerically verifies r's signature over the signing string or
// signature base that the Verifier's generic code builds from r's headers.
func checkSignedGenerically(t *testing.T, r *http.Request, body []byte, pub crypto.PublicKey, scheme string) {
	t.Helper()
	if scheme == SchemeCavage {
		p, err := parseCavageSignature(r.Header.Get("Signature"))
		noErr(t, err)
		if body != nil {
			noErr(t, checkDigest(r.Header.Get("Digest"), body))
		}
		msg, err := cavageSigningString(nil, r, p)
		noErr(t, err)
		algs, err := cavageAlgs(p.Algorithm, pub)
		noErr(t, err)
		for _, a := range algs {
			if verifyAlg(a, pub, msg, p.Signature) == nil {
				return
			}
		}
		t.Fatalf("signature does not verify over %q", msg)
	}
	sigs, err := parseRFC9421(r.Header)
	noErr(t, err)
	if len(sigs) != 1 {
		t.Fatalf("%d signatures", len(sigs))
	}
	if body != nil {
		noErr(t, checkContentDigest(r.Header.Get("Content-Digest"), body))
	}
	label, _, _ := strings.Cut(r.Header.Get("Signature-Input"), "=")
	canon, err := appendSFInnerList([]byte(label+"="), sigs[0].inner)
	noErr(t, err)
	if got := r.Header.Get("Signature-Input"); got != string(canon) {
		t.Errorf("Signature-Input %q, canonical %q", got, canon)
	}
	base, err := signatureBase(nil, requestMessage(r, ""), sigs[0].inner)
	noErr(t, err)
	for _, a := range rfc9421AlgsForKey(pub) {
		if sigs[0].alg != "" {
			a, _ = rfc9421Alg(sigs[0].alg)
		}
		if verifyAlg(a, pub, base, sigs[0].sig) == nil {
			return
		}
	}
	t.Fatalf("signature does not verify over %q", base)
}

// TestAppendHTTPDate compares appendHTTPDate with time.Time.Format over
// times spread across the years it formats itself and beyond them.
func TestAppendHTTPDate(t *testing.T) {
	for _, u := range []int64{0, 1, 951782400, 1_700_000_000, 4102444800, -62135596800, 253402300799, 253402300800, -62135596801} {
		for _, d := range []int64{0, 59, 3599, 86399, 86400 * 200} {
			tm := time.Unix(u+d, 0).In(time.FixedZone("X", -5*3600))
			want := tm.UTC().Format(http.TimeFormat)
			if got := string(appendHTTPDate(nil, tm)); got != want {
				t.Errorf("%d: %q, want %q", u+d, got, want)
			}
		}
	}
}

// TestSignerDigestMemo: a body signed again reuses its digest, and a body
// changed in place (same buffer, same length) is digested anew, also when
// several goroutines share the Signer.
func TestSignerDigestMemo(t *testing.T) {
	s, err := NewSigner("https://local.example/users/alice#main-key", testEd25519Key(t), nil)
	noErr(t, err)
	body := []byte(strings.Repeat("a", 2048))
	sign := func(scheme string, body []byte) http.Header {
		r, err := http.NewRequest(http.MethodPost, "https://remote.example/inbox", nil)
		noErr(t, err)
		noErr(t, s.SignRequestScheme(r, body, scheme))
		return r.Header
	}
	for _, scheme := range []string{SchemeCavage, SchemeRFC9421} {
		name := map[string]string{SchemeCavage: "Digest", SchemeRFC9421: "Content-Digest"}[scheme]
		want := map[string]func(DigestAlgorithm, []byte) string{SchemeCavage: DigestHeader, SchemeRFC9421: ContentDigestHeader}[scheme]
		for i := range 3 {
			body[i] = 'b' // changed in place, as a caller reusing its buffer would
			if got := sign(scheme, body).Get(name); got != want(DigestSHA256, body) {
				t.Fatalf("%s, change %d: %s %q, want %q", scheme, i, name, got, want(DigestSHA256, body))
			}
			if got := sign(scheme, body).Get(name); got != want(DigestSHA256, body) {
				t.Fatalf("%s, again: %s %q", scheme, name, got)
			}
		}
	}
	var m digestMemo
	d256 := m.appendDigest(nil, DigestSHA256, body)
	if d512 := m.appendDigest(nil, DigestSHA512, body); len(d512) != 64 || string(d512[:32]) == string(d256) {
		t.Fatalf("SHA-512 after SHA-256 of the same body: %x", d512)
	}

	// Concurrent signers of different bodies each get their own digest.
	done := make(chan error)
	for g := range 4 {
		go func() {
			b := []byte(strings.Repeat(string(rune('k'+g)), 1000+g))
			var err error
			for range 200 {
				r, _ := http.NewRequest(http.MethodPost, "https://remote.example/inbox", nil)
				if err = s.SignRequest(r, b); err == nil && r.Header.Get("Digest") != DigestHeader(DigestSHA256, b) {
					err = fmt.Errorf("goroutine %d: wrong digest", g)
				}
				if err != nil {
					break
				}
			}
			done <- err
		}()
	}
	for range 4 {
		noErr(t, <-done)
	}
}
