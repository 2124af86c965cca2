package outbox_test

import (
	"context"
	"net/url"
	"testing"

	"code.superseriousbusiness.org/activity/streams"

	"github.com/slothpub/slothpub/ap"
	"github.com/slothpub/slothpub/ap/aptest"
)

// BenchmarkOutboxDeliver measures publishing one public Create(Note) to a
// follower on another instance: Post (ids, storage, recipient resolution,
// queueing), a signed POST through the Transport and its verification and
// processing by the receiving inbox, in process: the whole round, until
// the network settled.
func BenchmarkOutboxDeliver(b *testing.B) {
	n := aptest.NewNetwork(b, nil)
	a, c := n.Instance("a.example"), n.Instance("c.example")
	alice, carol := a.User("alice"), c.User("carol")
	follow := streams.NewActivityStreamsFollow()
	obj := streams.NewActivityStreamsObjectProperty()
	obj.AppendIRI(alice.IRI())
	follow.SetActivityStreamsObject(obj)
	ap.SetTo(follow, alice.IRI())
	c.Post(carol, follow)
	n.Settle()
	public, _ := url.Parse(ap.PublicIRI)
	ctx := context.Background()

	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		note := streams.NewActivityStreamsNote()
		content := streams.NewActivityStreamsContentProperty()
		content.AppendXMLSchemaString("<p>benchmark</p>")
		note.SetActivityStreamsContent(content)
		create := streams.NewActivityStreamsCreate()
		o := streams.NewActivityStreamsObjectProperty()
		o.AppendActivityStreamsNote(note)
		create.SetActivityStreamsObject(o)
		ap.SetTo(create, public)
		ap.SetCc(create, alice.Followers())
		if _, err := a.Outbox.Post(ctx, alice, create); err != nil {
			b.Fatal(err)
		}
		n.Settle()
	}
}
