package ap_test

import (
	"context"
	"fmt"
	"net/url"
	"time"

	"github.com/slothpub/slothpub/ap"
)

func ExampleParse() {
	// A Follow as Lemmy sends it: no @context at all.
	body := []byte(`{
		"id": "https://lemmy.example/activities/follow/1",
		"type": "Follow",
		"actor": "https://lemmy.example/u/alice",
		"object": "https://social.example/users/bob"
	}`)
	v, err := ap.Parse(context.Background(), body)
	if err != nil {
		fmt.Println(ap.StatusOf(err), ap.PublicText(err))
		return
	}
	fmt.Println(ap.Type(v), ap.ID(v))
	fmt.Println("actor:", ap.Actors(v)[0])
	fmt.Println("object:", ap.Objects(v)[0])

	_, err = ap.Parse(context.Background(), []byte(`[{"type":"Note"}]`))
	fmt.Println(ap.StatusOf(err), ap.PublicText(err))
	// Output:
	// Follow https://lemmy.example/activities/follow/1
	// actor: https://lemmy.example/u/alice
	// object: https://social.example/users/bob
	// 400 document is not a JSON object
}

func ExampleNewCreate() {
	alice, _ := url.Parse("https://social.example/users/alice")
	followers, _ := url.Parse("https://social.example/users/alice/followers")
	noteID, _ := url.Parse("https://social.example/notes/1")
	createID, _ := url.Parse("https://social.example/notes/1/activity")

	note := ap.NewNote(noteID, alice, "<p>Hello, fediverse!</p>", time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC))
	ap.SetTo(note, ap.PublicURL())
	ap.SetCc(note, followers)
	create := ap.NewCreate(createID, alice, note) // copies to/cc from the note

	out, err := ap.Serialize(create)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(string(out))
	// Output:
	// {"@context":"https://www.w3.org/ns/activitystreams","actor":"https://social.example/users/alice","cc":"https://social.example/users/alice/followers","id":"https://social.example/notes/1/activity","object":{"attributedTo":"https://social.example/users/alice","cc":"https://social.example/users/alice/followers","content":"<p>Hello, fediverse!</p>","id":"https://social.example/notes/1","published":"2025-01-02T03:04:05Z","to":"https://www.w3.org/ns/activitystreams#Public","type":"Note"},"published":"2025-01-02T03:04:05Z","to":"https://www.w3.org/ns/activitystreams#Public","type":"Create"}
}

func ExampleNewHTTPTransport() {
	t := ap.NewHTTPTransport(&ap.HTTPTransportOptions{
		Timeout:      10 * time.Second,
		MaxBodyBytes: 1 << 20,
	})
	iri, _ := url.Parse("https://social.example/users/alice")
	// A real server requires a signer (an *httpsig.Signer); nil sends the
	// GET unsigned.
	resp, err := t.Get(context.Background(), iri, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	actor, err := ap.Parse(context.Background(), resp.Body)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(ap.Type(actor))
}
