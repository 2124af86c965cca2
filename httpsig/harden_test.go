package httpsig

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// TestRFC9421TriesAtMostTwoSignatures: a request carrying several RFC 9421
// signatures makes Verify try only the first MaxRFC9421Signatures, with at
// most one fresh-key lookup in all, so a sender cannot make one request
// cost many key fetches and public-key operations.
func TestRFC9421TriesAtMostTwoSignatures(t *testing.T) {
	alice, mallory := testRSAKey(t), otherRSAKey(t)
	// Each of the labels bad0..bad3 names its own keyid, all resolving to
	// alice's key, but is signed by mallory: they all fail to verify.
	var keys []*PublicKey
	var inputs, sigs []string
	for i := range 4 {
		id := fmt.Sprintf("https://a.example/users/alice#key%d", i)
		keys = append(keys, &PublicKey{ID: id, Owner: aliceIRI, Key: alice.Public()})
		s, err := NewSigner(id, mallory, &SignerOptions{Scheme: SchemeRFC9421, Label: fmt.Sprintf("bad%d", i)})
		noErr(t, err)
		r, _ := http.NewRequest(http.MethodGet, "https://b.example/users/bob", nil)
		noErr(t, s.SignRequest(r, nil))
		inputs, sigs = append(inputs, r.Header.Get("Signature-Input")), append(sigs, r.Header.Get("Signature"))
	}
	good, err := NewSigner(aliceKeyID, alice, &SignerOptions{Scheme: SchemeRFC9421, Label: "good"})
	noErr(t, err)
	r, _ := http.NewRequest(http.MethodGet, "https://b.example/users/bob", nil)
	noErr(t, good.SignRequest(r, nil))
	goodIn, goodSig := r.Header.Get("Signature-Input"), r.Header.Get("Signature")

	request := func(in, sig []string) *http.Request {
		r, _ := http.NewRequest(http.MethodGet, "https://b.example/users/bob", nil)
		r.Header.Set("Signature-Input", strings.Join(in, ", "))
		r.Header.Set("Signature", strings.Join(sig, ", "))
		return r
	}

	t.Run("good signature third", func(t *testing.T) {
		kr := newResolver(append(keys, pubKey(aliceKeyID, alice))...)
		_, err := NewVerifier(kr, nil).Verify(request(append(inputs[:2:2], goodIn), append(sigs[:2:2], goodSig)))
		if ReasonOf(err) != ReasonBadSignature {
			t.Fatalf("third signature was tried: err = %v", err)
		}
		if calls := kr.Calls(); len(calls) != 3 || calls[0] || !calls[1] || calls[2] {
			t.Errorf("resolver calls (refresh flags) = %v, want [false true false]", calls)
		}
	})
	t.Run("four bad signatures", func(t *testing.T) {
		kr := newResolver(keys...)
		_, err := NewVerifier(kr, nil).Verify(request(inputs, sigs))
		if ReasonOf(err) != ReasonBadSignature {
			t.Fatalf("err = %v", err)
		}
		if n := len(kr.Calls()); n != 3 {
			t.Errorf("%d key lookups, want 3", n)
		}
	})
	t.Run("good signature second", func(t *testing.T) {
		kr := newResolver(append(keys, pubKey(aliceKeyID, alice))...)
		res, err := NewVerifier(kr, nil).Verify(request([]string{inputs[0], goodIn}, []string{sigs[0], goodSig}))
		noErr(t, err)
		if res.KeyID != aliceKeyID {
			t.Errorf("verified by %q", res.KeyID)
		}
	})
	t.Run("label selects past the cap", func(t *testing.T) {
		kr := newResolver(append(keys, pubKey(aliceKeyID, alice))...)
		res, err := NewVerifier(kr, &VerifierOptions{Label: "good"}).Verify(request(append(inputs[:3:3], goodIn), append(sigs[:3:3], goodSig)))
		noErr(t, err)
		if res.KeyID != aliceKeyID || len(kr.Calls()) != 1 {
			t.Errorf("verified by %q with %d lookups", res.KeyID, len(kr.Calls()))
		}
	})
	t.Run("more than eight signatures", func(t *testing.T) {
		var in, sig []string
		for i := range 9 {
			in = append(in, strings.Replace(goodIn, "good=", fmt.Sprintf("l%d=", i), 1))
			sig = append(sig, strings.Replace(goodSig, "good=", fmt.Sprintf("l%d=", i), 1))
		}
		kr := newResolver(pubKey(aliceKeyID, alice))
		if _, err := NewVerifier(kr, nil).Verify(request(in, sig)); ReasonOf(err) != ReasonMalformed {
			t.Fatalf("err = %v", err)
		}
		if n := len(kr.Calls()); n != 0 {
			t.Errorf("%d key lookups for a rejected request", n)
		}
	})
}
