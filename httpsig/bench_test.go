package httpsig

import (
	"bytes"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"io"
	"net/http"
	"testing"
	"time"
)

// The Verify and Sign benchmarks are meant to be read against their bare
// counterparts on the same key: run
//
//	go test -run '^$' -bench 'CavageRSA|BareRSA' -benchmem ./httpsig/

func benchPost(b *testing.B) (*Signer, *Verifier, *http.Request, []byte) {
	key := testRSAKey(b)
	now := time.Now()
	s, err := NewSigner(aliceKeyID, key, &SignerOptions{Clock: fixedClock(now)})
	noErr(b, err)
	v := NewVerifier(newResolver(pubKey(aliceKeyID, key)), &VerifierOptions{Clock: fixedClock(now)})
	r := signedPost(b, s, "https://b.example/users/bob/inbox", activity)
	return s, v, r, activity
}

func BenchmarkVerifyCavageRSA(b *testing.B) {
	_, v, r, body := benchPost(b)
	rd := bytes.NewReader(body)
	rc := io.NopCloser(rd)
	b.ReportAllocs()
	for b.Loop() {
		rd.Reset(body)
		r.Body = rc
		if _, err := v.Verify(r); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkBareRSAVerifyPKCS1v15(b *testing.B) {
	key := testRSAKey(b)
	msg := []byte("(request-target): post /users/bob/inbox\nhost: b.example\ndate: Fri, 01 Mar 2024 12:00:00 GMT\ndigest: SHA-256=X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=")
	h := sha256.Sum256(msg)
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, h[:])
	noErr(b, err)
	b.ReportAllocs()
	for b.Loop() {
		h := sha256.Sum256(msg)
		if err := rsa.VerifyPKCS1v15(&key.PublicKey, crypto.SHA256, h[:], sig); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSignCavageRSA(b *testing.B) {
	s, _, r, body := benchPost(b)
	b.ReportAllocs()
	for b.Loop() {
		if err := s.SignRequest(r, body); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkBareRSASignPKCS1v15(b *testing.B) {
	key := testRSAKey(b)
	msg := []byte("(request-target): post /users/bob/inbox\nhost: b.example\ndate: Fri, 01 Mar 2024 12:00:00 GMT\ndigest: SHA-256=X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=")
	b.ReportAllocs()
	for b.Loop() {
		h := sha256.Sum256(msg)
		if _, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, h[:]); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifyRFC9421RSA(b *testing.B) {
	key := testRSAKey(b)
	s, err := NewSigner(aliceKeyID, key, &SignerOptions{Scheme: SchemeRFC9421})
	noErr(b, err)
	v := NewVerifier(newResolver(pubKey(aliceKeyID, key)), nil)
	r := signedPost(b, s, "https://b.example/users/bob/inbox", activity)
	benchVerify(b, v, r, activity)
}

func BenchmarkSignRFC9421RSA(b *testing.B) {
	s, err := NewSigner(aliceKeyID, testRSAKey(b), &SignerOptions{Scheme: SchemeRFC9421})
	noErr(b, err)
	r := signedPost(b, s, "https://b.example/users/bob/inbox", activity)
	b.ReportAllocs()
	for b.Loop() {
		if err := s.SignRequest(r, activity); err != nil {
			b.Fatal(err)
		}
	}
}

func benchVerify(b *testing.B, v *Verifier, r *http.Request, body []byte) {
	rd := bytes.NewReader(body)
	rc := io.NopCloser(rd)
	b.ReportAllocs()
	for b.Loop() {
		rd.Reset(body)
		r.Body = rc
		if _, err := v.Verify(r); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifyCavageEd25519(b *testing.B) {
	key := testEd25519Key(b)
	s, err := NewSigner(aliceKeyID, key, nil)
	noErr(b, err)
	v := NewVerifier(newResolver(pubKey(aliceKeyID, key)), nil)
	benchVerify(b, v, signedPost(b, s, "https://b.example/users/bob/inbox", activity), activity)
}

func BenchmarkVerifyRFC9421Ed25519(b *testing.B) {
	key := testEd25519Key(b)
	s, err := NewSigner(aliceKeyID, key, &SignerOptions{Scheme: SchemeRFC9421})
	noErr(b, err)
	v := NewVerifier(newResolver(pubKey(aliceKeyID, key)), nil)
	benchVerify(b, v, signedPost(b, s, "https://b.example/users/bob/inbox", activity), activity)
}

func BenchmarkBareEd25519Verify(b *testing.B) {
	key := testEd25519Key(b)
	msg := []byte("(request-target): post /users/bob/inbox\nhost: b.example\ndate: Fri, 01 Mar 2024 12:00:00 GMT\ndigest: SHA-256=X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=")
	sig := ed25519.Sign(key, msg)
	pub := key.Public().(ed25519.PublicKey)
	b.ReportAllocs()
	for b.Loop() {
		if !ed25519.Verify(pub, msg, sig) {
			b.Fatal("bad")
		}
	}
}

func BenchmarkSignCavageEd25519(b *testing.B) {
	key := testEd25519Key(b)
	s, err := NewSigner(aliceKeyID, key, nil)
	noErr(b, err)
	r := signedPost(b, s, "https://b.example/users/bob/inbox", activity)
	b.ReportAllocs()
	for b.Loop() {
		if err := s.SignRequest(r, activity); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkBareEd25519Sign(b *testing.B) {
	key := testEd25519Key(b)
	msg := []byte("(request-target): post /users/bob/inbox\nhost: b.example\ndate: Fri, 01 Mar 2024 12:00:00 GMT\ndigest: SHA-256=X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=")
	b.ReportAllocs()
	for b.Loop() {
		_ = ed25519.Sign(key, msg)
	}
}
