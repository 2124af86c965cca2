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
	out := outbox.New(st, actors, tr, deref.New(st, tr, instance.Signer(), nil), nil)

	// A public note; with no followers yet there is nobody to deliver to.
	note := ap.NewNote(nil, alice.IRI(), "<p>Hello, fediverse!</p>", time.Now())
	create := ap.NewCreate(nil, alice.IRI(), note)
	ap.SetTo(create, ap.PublicURL())
	ap.SetCc(create, alice.Followers())
	id, err := out.Post(ctx, alice, create)
	if err != nil {
		panic(err)
	}
	inOutbox, _ := st.HasItem(ctx, alice.Outbox().String(), id.String())
	fmt.Println(strings.HasPrefix(id.String(), "https://social.example/users/alice/activities/"))
	fmt.Println("in alice's outbox:", inOutbox)
	fmt.Println("deliveries pending:", out.Pending())
	// Output:
	// true
	// in alice's outbox: true
	// deliveries pending: 0
}
