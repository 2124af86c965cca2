package httpsig_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"

	"github.com/slothpub/slothpub/httpsig"
)

// keys is a KeyResolver over a fixed set of keys; deref.Resolver plays this
// part in a real server.
type keys map[string]*httpsig.PublicKey

func (k keys) ResolveKey(_ context.Context, id string, _ bool) (*httpsig.PublicKey, error) {
	if pk, ok := k[id]; ok {
		return pk, nil
	}
	return nil, errors.New("unknown key")
}

// A signed POST travels to an inbox guarded by Verifier.Handler.
func Example() {
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	const keyID = "https://a.example/users/alice#main-key"

	v := httpsig.NewVerifier(keys{keyID: {ID: keyID, Owner: "https://a.example/users/alice", Key: pub}}, nil)
	inbox := v.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		res, _ := httpsig.ResultFromContext(r.Context())
		body, _ := io.ReadAll(r.Body)
		fmt.Printf("%s from %s: %s\n", res.Scheme, res.Owner, body)
		w.WriteHeader(http.StatusAccepted)
	}))
	srv := httptest.NewServer(inbox)
	defer srv.Close()

	signer, err := httpsig.NewSigner(keyID, priv, nil)
	if err != nil {
		panic(err)
	}
	body := []byte(`{"type":"Follow"}`)
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/users/bob/inbox", bytes.NewReader(body))
	if err := signer.SignRequest(req, body); err != nil {
		panic(err)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		panic(err)
	}
	resp.Body.Close()
	fmt.Println(resp.Status)

	// An unsigned request never reaches the inbox.
	resp, _ = srv.Client().Post(srv.URL+"/users/bob/inbox", "application/activity+json", bytes.NewReader(body))
	resp.Body.Close()
	fmt.Println(resp.Status)
	// Output:
	// draft-cavage-12 from https://a.example/users/alice: {"type":"Follow"}
	// 202 Accepted
	// 401 Unauthorized
}

// A Signer signs a POST with draft-cavage-12 (what every fediverse server
// verifies) or, on request, with RFC 9421.
func ExampleSigner() {
	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	s, err := httpsig.NewSigner("https://example.com/users/alice#main-key", key, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	body := []byte(`{"type":"Follow"}`)
	req, _ := http.NewRequest(http.MethodPost, "https://remote.example/inbox", bytes.NewReader(body))
	err = s.SignRequest(req, body) // Date, Host, Digest, Signature
	fmt.Println(err, signedHeaders(req))
	fmt.Println(strings.HasPrefix(req.Header.Get("Signature"), `keyId="https://example.com/users/alice#main-key",algorithm="rsa-sha256",`))

	req, _ = http.NewRequest(http.MethodPost, "https://remote.example/inbox", bytes.NewReader(body))
	err = s.SignRequestScheme(req, body, httpsig.SchemeRFC9421) // Content-Digest, Signature-Input, Signature
	fmt.Println(err, signedHeaders(req))
	// Output:
	// <nil> [Date Digest Host Signature]
	// true
	// <nil> [Content-Digest Host Signature Signature-Input]
}

// signedHeaders lists the header names a request carries, Host included.
func signedHeaders(r *http.Request) []string {
	names := slices.Sorted(maps.Keys(r.Header))
	if r.Header.Get("Host") == "" && r.Host != "" {
		names = append(names, "Host")
		slices.Sort(names)
	}
	return names
}
