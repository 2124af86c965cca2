package httpsig

import (
	"bytes"
	"crypto"
	"net/http"
	"testing"

	gofed "github.com/go-fed/httpsig"
)

// go-fed/httpsig is an independent implementation: requests it signs must
// verify with our Verifier, and requests we sign must verify with it.

func TestCrossCheckGoFedSigns(t *testing.T) {
	rsaKey, edKey := testRSAKey(t), testEd25519Key(t)
	cases := []struct {
		name string
		alg  gofed.Algorithm
		key  crypto.Signer
	}{
		{"rsa-sha256", gofed.RSA_SHA256, rsaKey},
		{"rsa-sha512", gofed.RSA_SHA512, rsaKey},
		{"ed25519", gofed.ED25519, edKey},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := verifyServer(t, NewVerifier(newResolver(pubKey(aliceKeyID, tc.key)), nil))
			for _, method := range []string{http.MethodPost, http.MethodGet} {
				headers := []string{gofed.RequestTarget, "host", "date"}
				var body []byte
				if method == http.MethodPost {
					headers = append(headers, "digest")
					body = activity
				}
				signer, _, err := gofed.NewSigner([]gofed.Algorithm{tc.alg}, gofed.DigestSha256, headers, gofed.Signature, 0)
				noErr(t, err)
				r, err := http.NewRequest(method, srv.URL+"/users/bob/inbox?page=1", bytes.NewReader(body))
				noErr(t, err)
				r.Header.Set("Date", nowHTTP())
				r.Header.Set("Host", r.URL.Host) // go-fed signs header values only
				noErr(t, signer.SignRequest(tc.key, aliceKeyID, r, body))
				if got := send(t, srv, r); got.Reason != "" || got.Owner != aliceIRI {
					t.Fatalf("%s signed by go-fed: %+v", method, got)
				}
			}
		})
	}
}

func TestCrossCheckGoFedVerifies(t *testing.T) {
	rsaKey, edKey := testRSAKey(t), testEd25519Key(t)
	cases := []struct {
		name  string
		alg   string
		gofed gofed.Algorithm
		key   crypto.Signer
	}{
		{"rsa-sha256", "rsa-sha256", gofed.RSA_SHA256, rsaKey},
		{"rsa-sha512", "rsa-sha512", gofed.RSA_SHA512, rsaKey},
		{"hs2019 rsa", "hs2019", gofed.RSA_SHA256, rsaKey},
		{"hs2019 ed25519", "hs2019", gofed.ED25519, edKey},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, err := NewSigner(aliceKeyID, tc.key, &SignerOptions{Algorithm: tc.alg})
			noErr(t, err)
			for _, r := range []*http.Request{
				signedPost(t, s, "https://b.example/users/bob/inbox?page=1", activity),
				signedGet(t, s, "https://b.example/users/bob"),
			} {
				v, err := gofed.NewVerifier(r)
				noErr(t, err)
				if v.KeyId() != aliceKeyID {
					t.Errorf("go-fed read keyId %q", v.KeyId())
				}
				if err := v.Verify(tc.key.Public(), tc.gofed); err != nil {
					t.Fatalf("go-fed rejects our %s: %v", r.Method, err)
				}
				// And go-fed notices tampering, so the check above is real.
				r.Header.Set("Date", "Mon, 01 Jan 2001 00:00:00 GMT")
				v, _ = gofed.NewVerifier(r)
				if err := v.Verify(tc.key.Public(), tc.gofed); err == nil {
					t.Fatal("go-fed accepted a tampered request")
				}
			}
		})
	}
}

func nowHTTP() string { return timeNow().UTC().Format(http.TimeFormat) }
