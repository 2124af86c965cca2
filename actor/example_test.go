package actor_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/slothpub/slothpub/actor"
	"github.com/slothpub/slothpub/store/memstore"
)

func Example() {
	ctx := context.Background()
	st := memstore.New()
	d := actor.NewDirectory(st, "social.example", nil)
	alice, err := d.Create(ctx, "alice")
	if err != nil {
		fmt.Println(err)
		return
	}
	mux := http.NewServeMux()
	d.Register(mux)

	// A peer looks alice up with WebFinger, then fetches her actor.
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet,
		"/.well-known/webfinger?resource=acct:alice@social.example", nil))
	var jrd actor.JRD
	if err := json.Unmarshal(rec.Body.Bytes(), &jrd); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(jrd.Subject)
	fmt.Println(jrd.Links[0].Rel, jrd.Links[0].Type, jrd.Links[0].Href)

	req := httptest.NewRequest(http.MethodGet, "/users/alice", nil)
	req.Header.Set("Accept", "application/activity+json")
	rec = httptest.NewRecorder()
	mux.ServeHTTP(rec, req)
	var doc struct {
		Inbox     string `json:"inbox"`
		PublicKey struct {
			ID string `json:"id"`
		} `json:"publicKey"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &doc); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(rec.Header().Get("Content-Type"))
	fmt.Println(doc.Inbox)
	fmt.Println(doc.PublicKey.ID == alice.KeyID())
	// Output:
	// acct:alice@social.example
	// self application/activity+json https://social.example/users/alice
	// application/activity+json
	// https://social.example/users/alice/inbox
	// true
}
