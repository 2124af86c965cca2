package inbox_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"code.superseriousbusiness.org/activity/streams/vocab"

	"github.com/slothpub/slothpub/actor"
	"github.com/slothpub/slothpub/ap"
	"github.com/slothpub/slothpub/deref"
	"github.com/slothpub/slothpub/httpsig"
	"github.com/slothpub/slothpub/inbox"
	"github.com/slothpub/slothpub/store/memstore"
	"github.com/slothpub/slothpub/store/worker"
)

func ExampleHandler() {
	ctx := context.Background()
	st := memstore.New()
	actors := actor.NewDirectory(st, "social.example", nil)
	if _, err := actors.Create(ctx, "alice"); err != nil {
		panic(err)
	}
	instance, _ := actors.Instance(ctx)
	resolver := deref.New(st, ap.NewHTTPTransport(nil), instance.Signer(), &deref.Options{LocalHost: "social.example"})
	jobs := worker.New(st, nil) // processes what the inbox accepts: go jobs.Run(ctx)
	h, err := inbox.New(st, actors, httpsig.NewVerifier(resolver, nil), &inbox.Options{Worker: jobs})
	if err != nil {
		panic(err)
	}

	// Typed listeners run after the default side effects, on the worker.
	inbox.OnType(h, func(ctx context.Context, a *inbox.Activity, like vocab.ActivityStreamsLike) error {
		fmt.Println("liked by", a.Actor)
		return nil
	})

	mux := http.NewServeMux()
	mux.Handle("POST /users/{name}/inbox", h)
	mux.Handle("POST /inbox", h)

	// An unsigned request is refused before anything is parsed or stored.
	req := httptest.NewRequest(http.MethodPost, "/users/alice/inbox", strings.NewReader(`{"type":"Like"}`))
	req.Header.Set("Content-Type", "application/activity+json")
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, req)
	fmt.Println(rec.Code)
	// Output: 401
}
