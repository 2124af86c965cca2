package aptest_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"code.superseriousbusiness.org/activity/streams"
	"code.superseriousbusiness.org/activity/streams/vocab"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slothpub/slothpub/actor"
	"github.com/slothpub/slothpub/ap"
	"github.com/slothpub/slothpub/ap/aptest"
	"github.com/slothpub/slothpub/httpsig"
	"github.com/slothpub/slothpub/inbox"
)

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	require.NoError(t, err)
	return u
}

func publicURL(t *testing.T) *url.URL { return mustURL(t, ap.PublicIRI) }

// note builds a Create(Note) by author with a fixed note id.
func note(t *testing.T, author *actor.Actor, id, content string, to, cc []*url.URL) vocab.ActivityStreamsCreate {
	t.Helper()
	n := streams.NewActivityStreamsNote()
	ap.SetID(n, mustURL(t, author.IRI().String()+"/statuses/"+id))
	c := streams.NewActivityStreamsContentProperty()
	c.AppendXMLSchemaString(content)
	n.SetActivityStreamsContent(c)
	ap.SetTo(n, to...)
	ap.SetCc(n, cc...)
	create := streams.NewActivityStreamsCreate()
	obj := streams.NewActivityStreamsObjectProperty()
	obj.AppendActivityStreamsNote(n)
	create.SetActivityStreamsObject(obj)
	ap.SetTo(create, to...)
	ap.SetCc(create, cc...)
	return create
}

func withObject[T interface {
	vocab.Type
	SetActivityStreamsObject(vocab.ActivityStreamsObjectProperty)
}](a T, iri *url.URL) T {
	p := streams.NewActivityStreamsObjectProperty()
	p.AppendIRI(iri)
	a.SetActivityStreamsObject(p)
	return a
}

func federate(t *testing.T, opts *aptest.Options) {
	n := aptest.NewNetwork(t, opts)
	a, b := n.Instance("a.example"), n.Instance("b.example")
	alice, bob := a.User("alice"), b.User("bob")

	// alice follows bob; bob's server accepts automatically.
	follow := withObject(streams.NewActivityStreamsFollow(), bob.IRI())
	ap.SetTo(follow, bob.IRI())
	followID := a.Post(alice, follow)
	n.Settle()
	assert.True(t, b.Has(bob.Followers().String(), alice.IRI().String()), "bob's followers hold alice")
	assert.True(t, a.Has(alice.Following().String(), bob.IRI().String()), "alice's following holds bob")

	// bob posts a public note and a followers-only note.
	public := note(t, bob, "public", "hello world", []*url.URL{publicURL(t)}, []*url.URL{bob.Followers()})
	private := note(t, bob, "private", "for my followers", []*url.URL{bob.Followers()}, nil)
	publicCreate := b.Post(bob, public)
	privateCreate := b.Post(bob, private)
	n.Settle()
	publicNote := bob.IRI().String() + "/statuses/public"
	privateNote := bob.IRI().String() + "/statuses/private"
	assert.Contains(t, string(a.Object(publicNote).Data), "hello world")
	assert.Contains(t, string(a.Object(privateNote).Data), "for my followers")
	assert.True(t, a.Has(alice.Inbox().String(), publicCreate.String()), "public note on alice's home timeline")
	assert.True(t, a.Has(alice.Inbox().String(), privateCreate.String()), "followers-only note on alice's home timeline")

	// alice likes and boosts bob's note.
	like := withObject(streams.NewActivityStreamsLike(), mustURL(t, publicNote))
	ap.SetTo(like, bob.IRI())
	a.Post(alice, like)
	boost := withObject(streams.NewActivityStreamsAnnounce(), mustURL(t, publicNote))
	ap.SetTo(boost, publicURL(t))
	ap.SetCc(boost, bob.IRI(), alice.Followers())
	a.Post(alice, boost)
	n.Settle()
	assert.True(t, b.Has(inbox.Likes(publicNote), alice.IRI().String()), "bob's side records the like")
	assert.True(t, b.Has(inbox.Shares(publicNote), alice.IRI().String()), "bob's side records the boost")
	assert.True(t, a.Has(alice.Liked().String(), publicNote), "alice's liked collection holds the note")

	// alice undoes her follow.
	undo := withObject(streams.NewActivityStreamsUndo(), followID)
	ap.SetTo(undo, bob.IRI())
	a.Post(alice, undo)
	n.Settle()
	assert.False(t, b.Has(bob.Followers().String(), alice.IRI().String()), "bob's followers no longer hold alice")
	assert.False(t, a.Has(alice.Following().String(), bob.IRI().String()), "alice's following no longer holds bob")

	// bob deletes his note; alice's copy becomes a Tombstone although she
	// no longer follows him: deletes go wherever the note went.
	del := withObject(streams.NewActivityStreamsDelete(), mustURL(t, publicNote))
	ap.SetTo(del, publicURL(t))
	ap.SetCc(del, bob.Followers())
	b.Post(bob, del)
	n.Settle()
	assert.Equal(t, "Tombstone", a.Object(publicNote).Type, "alice's copy is a tombstone")
	assert.Equal(t, "Tombstone", b.Object(publicNote).Type, "bob's original is a tombstone")
	assert.Equal(t, "Note", a.Object(privateNote).Type, "the other note is untouched")

	// Every hop was a signed request that its receiver accepted.
	ex := n.Exchanges()
	require.NotEmpty(t, ex)
	posts := 0
	want := httpsig.SchemeCavage
	if opts != nil && opts.FirstScheme != "" {
		want = opts.FirstScheme
	}
	for _, e := range ex {
		assert.True(t, e.Signed, "%s %s was not signed", e.Method, e.URL)
		assert.Equal(t, want, e.Scheme, "%s %s", e.Method, e.URL)
		if e.Method == http.MethodPost {
			posts++
			assert.Equal(t, http.StatusAccepted, e.Status, "POST %s", e.URL)
			assert.True(t, strings.HasSuffix(e.URL, "/inbox"), e.URL)
		} else {
			assert.Equal(t, http.StatusOK, e.Status, "GET %s", e.URL)
		}
	}
	// follow, accept, 2 creates, like, announce, undo, delete
	assert.Equal(t, 8, posts)
}

func TestFederationInProcess(t *testing.T) { federate(t, nil) }

func TestFederationOverSockets(t *testing.T) { federate(t, &aptest.Options{Sockets: true}) }

// Mastodon 4.5 and others sign with RFC 9421: the same federation, every
// hop signed and verified with HTTP Message Signatures.
func TestFederationRFC9421(t *testing.T) {
	federate(t, &aptest.Options{FirstScheme: httpsig.SchemeRFC9421})
}

// Two users of one instance follow each other in process: the deliveries
// never leave the server, and nothing crosses the network.
func TestLocalFollow(t *testing.T) {
	n := aptest.NewNetwork(t, nil)
	a := n.Instance("a.example")
	alice, carol := a.User("alice"), a.User("carol")
	a.Post(alice, ap.NewFollow(nil, alice.IRI(), carol.IRI()))
	n.Settle()
	assert.True(t, a.Has(carol.Followers().String(), alice.IRI().String()))
	assert.True(t, a.Has(alice.Following().String(), carol.IRI().String()))

	c := note(t, carol, "1", "hello, neighbour", []*url.URL{carol.Followers()}, nil)
	create := a.Post(carol, c)
	n.Settle()
	assert.True(t, a.Has(alice.Inbox().String(), create.String()), "on alice's home timeline")
	assert.Empty(t, n.Exchanges(), "nothing went over the network")
}
