package httpsig_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"

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
