package httpsig

import (
	"crypto/ed25519"
	"encoding/json"
	"strings"
	"testing"
)

// TestMultikeyFEP8b32 parses the FEP-8b32 test actor's Multikey and checks
// it against the public half of the published secret key.
func TestMultikeyFEP8b32(t *testing.T) {
	var actor struct {
		AssertionMethod []struct {
			ID                 string `json:"id"`
			PublicKeyMultibase string `json:"publicKeyMultibase"`
		} `json:"assertionMethod"`
	}
	noErr(t, json.Unmarshal(readFixture(t, "fep-8b32-actor-multikey.json"), &actor))
	mb := actor.AssertionMethod[0].PublicKeyMultibase
	pub, err := ParseMultikey(mb)
	noErr(t, err)
	priv, err := ParseMultikeyPrivate(strings.TrimSpace(string(readFixture(t, "fep-8b32-ed25519-secret-key.multibase.txt"))))
	noErr(t, err)
	if !priv.Public().(ed25519.PublicKey).Equal(pub) {
		t.Fatal("multikey does not match the secret key's public half")
	}
	enc, err := EncodeMultikey(pub)
	noErr(t, err)
	if enc != mb {
		t.Errorf("EncodeMultikey = %q, want %q", enc, mb)
	}

	// A Multikey-resolved key verifies an Ed25519 signature end to end.
	srv := verifyServer(t, NewVerifier(newResolver(&PublicKey{ID: actor.AssertionMethod[0].ID, Owner: "https://server.example/users/alice", Key: pub}), nil))
	s, err := NewSigner(actor.AssertionMethod[0].ID, priv, nil)
	noErr(t, err)
	if got := send(t, srv, signedPost(t, s, srv.URL+"/inbox", activity)); got.Reason != "" {
		t.Fatalf("verdict %+v", got)
	}
}

func TestMultikeyRSARoundTrip(t *testing.T) {
	pub := testRSAKey(t).Public()
	enc, err := EncodeMultikey(pub)
	noErr(t, err)
	got, err := ParseMultikey(enc)
	noErr(t, err)
	if !testRSAKey(t).PublicKey.Equal(got) {
		t.Fatal("RSA multikey round trip lost the key")
	}
}

func TestMultikeyRejects(t *testing.T) {
	for _, s := range []string{"", "z", "u6MkrJV", "z0OIl", "z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ", "z" + strings.Repeat("2", 5000)} {
		if k, err := ParseMultikey(s); err == nil {
			t.Errorf("%q parsed as %T", s, k)
		}
	}
}
