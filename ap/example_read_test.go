package ap_test

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/slothpub/slothpub/ap"
)

// A bot that answers "ping" with "pong" when mentioned: read the Create it
// received, check the mention, and build the reply Mastodon expects.
func Example_botAnswersMention() {
	me, _ := url.Parse("https://bot.example/users/pingbot")
	body := []byte(`{"@context":"https://www.w3.org/ns/activitystreams","type":"Create",
		"id":"https://social.example/users/alice/statuses/1/activity","actor":"https://social.example/users/alice",
		"object":{"type":"Note","id":"https://social.example/users/alice/statuses/1",
			"attributedTo":"https://social.example/users/alice",
			"to":["https://www.w3.org/ns/activitystreams#Public"],"cc":["https://bot.example/users/pingbot"],
			"content":"<p><span class=\"h-card\"><a href=\"https://bot.example/@pingbot\" class=\"u-url mention\">@<span>pingbot</span></a></span> ping</p>",
			"tag":[{"type":"Mention","href":"https://bot.example/users/pingbot","name":"@pingbot@bot.example"}]}}`)

	create, _ := ap.Parse(context.Background(), body)
	note := ap.EmbeddedObjects(create)[0]
	if ap.Mentioned(note, me) && strings.HasSuffix(ap.PlainText(ap.Content(note)), "ping") {
		id, _ := url.Parse("https://bot.example/notes/2")
		reply := ap.NewReply(id, me, note, "<p>pong</p>", &ap.ReplyOptions{Published: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)})
		fmt.Println("in reply to", ap.InReplyTo(reply))
		fmt.Println("to", ap.To(reply), "cc", ap.Cc(reply))
		fmt.Println(ap.Mentions(reply)[0].Name, "|", ap.PlainText(ap.Content(reply)))
	}
	// Output:
	// in reply to https://social.example/users/alice/statuses/1
	// to [https://www.w3.org/ns/activitystreams#Public] cc [https://social.example/users/alice]
	// @alice@social.example | @alice pong
}

func ExampleReadActor() {
	body := []byte(`{"@context":["https://www.w3.org/ns/activitystreams",{"schema":"http://schema.org#","PropertyValue":"schema:PropertyValue","value":"schema:value"}],
		"type":"Person","id":"https://social.example/users/alice","preferredUsername":"alice","name":"Alice",
		"inbox":"https://social.example/users/alice/inbox","endpoints":{"sharedInbox":"https://social.example/inbox"},
		"attachment":[{"type":"PropertyValue","name":"Pronouns","value":"she/her"}]}`)
	v, _ := ap.Parse(context.Background(), body)
	a := ap.ReadActor(v)
	fmt.Println(a.Name, a.Handle(), a.SharedInbox)
	for _, f := range a.Fields {
		fmt.Println(f.Name+":", f.Value)
	}
	// Output:
	// Alice @alice@social.example https://social.example/inbox
	// Pronouns: she/her
}
