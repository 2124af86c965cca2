package outbox_test

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/slothpub/slothpub/actor"
	"github.com/slothpub/slothpub/ap"
	"github.com/slothpub/slothpub/deref"
	"github.com/slothpub/slothpub/outbox"
	"github.com/slothpub/slothpub/store/memstore"
	"github.com/slothpub/slothpub/store/worker"
)

func ExampleOutbox_Post() {
	ctx := context.Background()
	st := memstore.New()
	actors := actor.NewDirectory(st, "social.example", nil)
	alice, err := actors.Create(ctx, "alice")
	if err != nil {
		panic(err)
	}
	instance, _ := actors.Instance(ctx)
	tr := ap.NewHTTPTransport(nil)
	jobs := worker.New(st, nil) // runs fan-outs and deliveries: go jobs.Run(ctx)
	out, err := outbox.New(st, actors, tr, deref.New(st, tr, instance.Signer(), nil), &outbox.Options{Worker: jobs})
	if err != nil {
		panic(err)
	}

	// A public note, posted as a bare object: the outbox wraps it in a
	// Create. When Post returns, it is stored and its fan-out is queued.
	note := ap.NewNote(nil, alice.IRI(), "<p>Hello, fediverse!</p>", time.Now())
	ap.SetTo(note, ap.PublicURL())
	ap.SetCc(note, alice.Followers())
	id, err := out.Post(ctx, alice, note)
	if err != nil {
		panic(err)
	}
	inOutbox, _ := st.HasItem(ctx, alice.Outbox().String(), id.String())
	pending, _ := out.Pending(ctx)
	fmt.Println(strings.HasPrefix(id.String(), "https://social.example/users/alice/activities/"))
	fmt.Println("in alice's outbox:", inOutbox)
	fmt.Println("jobs pending:", pending)
	// Output:
	// true
	// in alice's outbox: true
	// jobs pending: 1
}
