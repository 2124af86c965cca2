package deref_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/slothpub/slothpub/ap"
	"github.com/slothpub/slothpub/deref"
	"github.com/slothpub/slothpub/httpsig"
	"github.com/slothpub/slothpub/store/memstore"
)

func ExampleResolver() {
	// A stand-in for a remote fediverse server with one user.
	pub, _, _ := ed25519.GenerateKey(rand.Reader)
	pemKey, _ := httpsig.EncodePublicKeyPEM(pub)
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	actor := srv.URL + "/users/alice"
	mux.HandleFunc("GET /.well-known/webfinger", func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]any{
			"subject": "acct:alice@" + host,
			"links":   []any{map[string]string{"rel": "self", "type": "application/activity+json", "href": actor}},
		})
	})
	mux.HandleFunc("GET /users/alice", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/activity+json")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"id": actor, "type": "Person", "preferredUsername": "alice",
			"inbox":     actor + "/inbox",
			"publicKey": map[string]string{"id": actor + "#main-key", "owner": actor, "publicKeyPem": pemKey},
		})
	})

	// In production: the instance actor's *httpsig.Signer instead of nil,
	// and a transport that refuses private addresses.
	tr := ap.NewHTTPTransport(&ap.HTTPTransportOptions{AllowPrivate: true})
	r := deref.New(memstore.New(), tr, nil, &deref.Options{WebFingerScheme: "http"})
	ctx := context.Background()

	iri, err := r.WebFinger(ctx, "@alice@"+host)
	if err != nil {
		fmt.Println(err)
		return
	}
	a, err := r.Actor(ctx, iri)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(a.Type, a.PreferredUsername, strings.TrimPrefix(a.Inbox, srv.URL))

	// The Resolver is the httpsig.KeyResolver of a signature Verifier.
	k, err := r.ResolveKey(ctx, actor+"#main-key", false)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(k.Owner == actor, pub.Equal(k.Key))
	// Output:
	// Person alice /users/alice/inbox
	// true true
}
