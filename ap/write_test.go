package ap

import (
	"context"
	"encoding/json"
	"net/url"
	"testing"
	"time"

	"code.superseriousbusiness.org/activity/streams"
	"code.superseriousbusiness.org/activity/streams/vocab"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// roundTrip serialises v, decodes the JSON for shape checks and parses it
// back.
func roundTrip(t *testing.T, v vocab.Type) (map[string]any, vocab.Type) {
	t.Helper()
	b, err := Serialize(v)
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(b, &m))
	back, err := Parse(context.Background(), b)
	require.NoError(t, err, string(b))
	return m, back
}

var when = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

func TestNewReplyToMastodonPost(t *testing.T) {
	parent := readObject(t, "activities/mastodon-create-note-sensitive-4.json")
	bot := iri(t, "https://bot.example/users/echo")
	reply := NewReply(iri(t, "https://bot.example/notes/1"), bot, parent, "<p>pong</p>",
		&ReplyOptions{Followers: iri(t, "https://bot.example/users/echo/followers"), Published: when})

	m, back := roundTrip(t, reply)
	assert.Equal(t, "Note", m["type"])
	assert.Equal(t, "http://mastodon.example.org/users/admin/statuses/99512778738411822", m["inReplyTo"])
	// One value is written bare, not as a one-element array (the
	// vocabulary's choice; Mastodon reads both).
	assert.Equal(t, map[string]any{
		"type": "Mention",
		"href": "http://mastodon.example.org/users/admin",
		"name": "@admin@mastodon.example.org",
	}, m["tag"])
	// The parent is public: so is the reply, with the mentioned author in cc.
	assert.Equal(t, PublicIRI, m["to"])
	assert.Equal(t, []any{"https://bot.example/users/echo/followers", "http://mastodon.example.org/users/admin"}, m["cc"])
	assert.Equal(t, `<p><span class="h-card" translate="no"><a href="http://mastodon.example.org/users/admin" class="u-url mention">@<span>admin</span></a></span> pong</p>`, m["content"])
	assert.Equal(t, "2025-03-01T12:00:00Z", m["published"])
	assert.Equal(t, "https://bot.example/users/echo", m["attributedTo"])
	// The content warning is carried over, as Mastodon's composer does.
	assert.Equal(t, "cw", m["summary"])
	assert.Equal(t, true, m["sensitive"])

	assert.Equal(t, "http://mastodon.example.org/users/admin/statuses/99512778738411822", str(InReplyTo(back)))
	assert.True(t, Mentioned(back, iri(t, "http://mastodon.example.org/users/admin")))
	assert.Equal(t, VisibilityPublic, VisibilityOf(back))
	assert.Equal(t, "@admin pong", PlainText(Content(back)))

	// Wrapped in a Create, the addressing is copied.
	c := NewCreate(iri(t, "https://bot.example/notes/1/activity"), bot, reply)
	cm, _ := roundTrip(t, c)
	assert.Equal(t, m["cc"], cm["cc"])
	assert.Equal(t, "2025-03-01T12:00:00Z", cm["published"])
}

func TestNewReplyDirectAndExplicitMentions(t *testing.T) {
	// A Misskey author: the IRI does not hold the username, so the bot
	// passes the exact mention (from the actor document).
	parent := readFixture(t, "objects/misskey-note-quote-1.json")
	author := Actor{ID: iri(t, "https://misskey.io/users/93492q0ip0"), PreferredUsername: "alice"}
	other := Mention{Href: iri(t, "https://mamot.fr/users/retiolus")}
	reply := NewReply(iri(t, "https://bot.example/notes/2"), iri(t, "https://bot.example/users/echo"), parent,
		`hi <a href="https://mamot.fr/users/retiolus">already linked</a>`,
		&ReplyOptions{Mentions: []Mention{author.Mention(), other}, Visibility: VisibilityDirect, Published: when})
	m, back := roundTrip(t, reply)
	assert.Equal(t, []any{
		map[string]any{"type": "Mention", "href": "https://misskey.io/users/93492q0ip0", "name": "@alice@misskey.io"},
		map[string]any{"type": "Mention", "href": "https://mamot.fr/users/retiolus", "name": "@retiolus@mamot.fr"},
	}, m["tag"])
	assert.Equal(t, []any{"https://misskey.io/users/93492q0ip0", "https://mamot.fr/users/retiolus"}, m["to"])
	assert.Nil(t, m["cc"])
	// Only the mention not yet linked is prepended.
	assert.Equal(t, `<span class="h-card" translate="no"><a href="https://misskey.io/users/93492q0ip0" class="u-url mention">@<span>alice</span></a></span> hi <a href="https://mamot.fr/users/retiolus">already linked</a>`, m["content"])
	assert.Equal(t, VisibilityDirect, VisibilityOf(back))
	assert.Nil(t, m["summary"])

	// A reply to a followers-only post defaults to direct.
	priv := readObject(t, "activities/mastodon-announce-private-2.json")
	r := NewReply(iri(t, "https://bot.example/notes/3"), iri(t, "https://bot.example/users/echo"), priv, "ok", nil)
	assert.Equal(t, VisibilityDirect, VisibilityOf(r))
	assert.Equal(t, strs(AttributedTo(priv)), strs(To(r)))
	assert.False(t, Published(r).IsZero())
}

func TestNewReplyCarriesThread(t *testing.T) {
	parent := readFixture(t, "objects/pleroma-note-1.json")
	r := NewReply(iri(t, "https://bot.example/notes/4"), iri(t, "https://bot.example/users/echo"), parent, "<p>x</p>",
		&ReplyOptions{Published: when})
	m, _ := roundTrip(t, r)
	assert.Equal(t, "https://queer.hacktivis.me/contexts/34cba3d2-2f35-4169-aeff-56af9bfeb753", m["context"])
	// Unlisted parent: unlisted reply (to followers, omitted here; cc Public and the author).
	assert.Nil(t, m["to"])
	assert.Equal(t, []any{PublicIRI, "https://queer.hacktivis.me/users/lanodan"}, m["cc"])
}

func TestAddMentionAndTags(t *testing.T) {
	n := NewNote(iri(t, "https://a.example/notes/1"), iri(t, "https://a.example/users/me"), "", when)
	Address(n, VisibilityPublic, iri(t, "https://a.example/users/me/followers"))
	bob := Mention{Href: iri(t, "https://b.example/users/bob"), Name: "@bob@b.example"}
	SetContent(n, "<p>"+MentionHTML(bob)+" look #fedi :blob:</p>")
	require.True(t, AddMention(n, bob))
	require.True(t, AddHashtag(n, Hashtag{Href: iri(t, "https://a.example/tags/fedi"), Name: "fedi"}))
	require.True(t, AddEmoji(n, Emoji{ID: iri(t, "https://a.example/emoji/blob"), Name: "blob",
		Icon: Media{URL: iri(t, "https://a.example/emoji/blob.png"), MediaType: "image/png"}, Updated: when}))
	require.True(t, AddAttachment(n, Media{MediaType: "image/jpeg", URL: iri(t, "https://a.example/media/1.jpg"),
		Name: "a cat", Blurhash: "LEHV6nWB2yk8pyo0adR*.7kCMdnj", Width: 640, Height: 480,
		FocalPoint: [2]float64{0.5, -0.25}, HasFocalPoint: true}))
	require.True(t, AddAttachment(n, Media{Type: "Image", MediaType: "image/png", URL: iri(t, "https://a.example/media/2.png"), Width: 10, Height: 20}))
	SetSummary(n, "spoilers")
	SetSensitive(n, true)

	m, back := roundTrip(t, n)
	assert.Equal(t, PublicIRI, m["to"])
	assert.Equal(t, []any{"https://a.example/users/me/followers", "https://b.example/users/bob"}, m["cc"])
	assert.Equal(t, []any{
		map[string]any{"type": "Mention", "href": "https://b.example/users/bob", "name": "@bob@b.example"},
		map[string]any{"type": "Hashtag", "href": "https://a.example/tags/fedi", "name": "#fedi"},
		map[string]any{"type": "Emoji", "id": "https://a.example/emoji/blob", "name": ":blob:", "updated": "2025-03-01T12:00:00Z",
			"icon": map[string]any{"type": "Image", "mediaType": "image/png", "url": "https://a.example/emoji/blob.png"}},
	}, m["tag"])
	assert.Equal(t, []any{
		map[string]any{"type": "Document", "mediaType": "image/jpeg", "url": "https://a.example/media/1.jpg", "name": "a cat",
			"blurhash": "LEHV6nWB2yk8pyo0adR*.7kCMdnj", "width": float64(640), "height": float64(480), "focalPoint": []any{0.5, -0.25}},
		map[string]any{"type": "Image", "mediaType": "image/png", "url": "https://a.example/media/2.png", "width": float64(10), "height": float64(20)},
	}, m["attachment"])
	ctx := m["@context"].([]any)
	terms := ctx[len(ctx)-1].(map[string]any)
	for _, k := range []string{"Hashtag", "Emoji", "blurhash", "focalPoint", "sensitive"} {
		assert.Contains(t, terms, k)
	}

	assert.Equal(t, []Mention{bob}, Mentions(back))
	assert.Equal(t, []Hashtag{{Href: iri(t, "https://a.example/tags/fedi"), Name: "#fedi"}}, Hashtags(back))
	assert.Equal(t, ":blob:", Emojis(back)[0].Name)
	assert.Equal(t, []Media{
		{Type: "Document", MediaType: "image/jpeg", URL: iri(t, "https://a.example/media/1.jpg"), Name: "a cat",
			Blurhash: "LEHV6nWB2yk8pyo0adR*.7kCMdnj", Width: 640, Height: 480, FocalPoint: [2]float64{0.5, -0.25}, HasFocalPoint: true},
		{Type: "Image", MediaType: "image/png", URL: iri(t, "https://a.example/media/2.png"), Width: 10, Height: 20},
	}, Attachments(back))
	assert.Equal(t, "spoilers", Summary(back))
	assert.True(t, Sensitive(back))

	// A mention on a post with no audience yet goes in to.
	d := NewNote(iri(t, "https://a.example/notes/2"), iri(t, "https://a.example/users/me"), "hi", when)
	AddMention(d, Mention{Href: iri(t, "https://b.example/users/bob")})
	assert.Equal(t, []string{"https://b.example/users/bob"}, strs(To(d)))
	assert.Equal(t, "@bob@b.example", Mentions(d)[0].Name)
	assert.Equal(t, VisibilityDirect, VisibilityOf(d))
	assert.False(t, AddMention(NewLike(iri(t, "https://a.example/l"), iri(t, "https://a.example/u"), iri(t, "https://b.example/n")), Mention{}))
}

func TestSetContentMapAndQuote(t *testing.T) {
	n := NewNote(iri(t, "https://a.example/notes/1"), iri(t, "https://a.example/users/me"), "", when)
	require.True(t, SetContentMap(n, map[string]string{"en": "<p>hello</p>", "fr": "<p>bonjour</p>"}))
	require.True(t, SetQuote(n, iri(t, "https://b.example/notes/9")))
	require.True(t, SetInReplyTo(n, iri(t, "https://b.example/notes/8")))
	require.True(t, SetContext(n, iri(t, "https://b.example/contexts/1")))
	m, back := roundTrip(t, n)
	assert.Equal(t, "<p>hello</p>", m["content"])
	assert.Equal(t, map[string]any{"en": "<p>hello</p>", "fr": "<p>bonjour</p>"}, m["contentMap"])
	assert.Equal(t, "https://b.example/notes/9", m["quote"])
	assert.Equal(t, "https://b.example/notes/9", m["quoteUrl"])
	assert.Equal(t, "https://b.example/notes/9", m["_misskey_quote"])
	assert.Equal(t, "https://b.example/notes/9", str(Quote(back)))
	assert.Equal(t, "https://b.example/notes/8", str(InReplyTo(back)))
	assert.Equal(t, "https://b.example/contexts/1", str(Context(back)))
	assert.Equal(t, "<p>hello</p>", Content(back))
	// In memory the map is there; once parsed, the vocabulary drops it.
	assert.Equal(t, map[string]string{"en": "<p>hello</p>", "fr": "<p>bonjour</p>"}, ContentMap(n))

	SetQuote(n, nil)
	SetContent(n, "plain")
	m, _ = roundTrip(t, n)
	assert.NotContains(t, m, "quote")
	assert.NotContains(t, m, "contentMap")
	assert.Equal(t, "plain", m["content"])
}

func TestNewBoost(t *testing.T) {
	post := readFixture(t, "objects/mastodon-note-2.json")
	me := iri(t, "https://a.example/users/me")
	b := NewBoost(iri(t, "https://a.example/users/me/statuses/1/activity"), me, iri(t, "https://a.example/users/me/followers"), post, when)
	m, back := roundTrip(t, b)
	assert.Equal(t, "Announce", m["type"])
	assert.Equal(t, "https://a.example/users/me", m["actor"])
	assert.Equal(t, "https://floss.social/users/kde/statuses/113306831140126616", m["object"])
	assert.Equal(t, PublicIRI, m["to"])
	assert.Equal(t, []any{"https://floss.social/users/kde", "https://a.example/users/me/followers"}, m["cc"])
	assert.Equal(t, "2025-03-01T12:00:00Z", m["published"])
	assert.True(t, IsPublicAddressed(back))

	// A followers-only post (a self-boost) stays with followers.
	priv := readObject(t, "activities/mastodon-announce-private-2.json")
	pb := NewBoost(iri(t, "https://a.example/b/2"), me, iri(t, "https://a.example/users/me/followers"), priv, when)
	assert.Equal(t, []string{"https://a.example/users/me/followers"}, strs(To(pb)))
	assert.False(t, IsPublicAddressed(pb))
}

func TestNewPollRoundTrip(t *testing.T) {
	q := NewPoll(iri(t, "https://a.example/polls/1"), iri(t, "https://a.example/users/me"), "<p>Tea or coffee?</p>", when,
		Poll{Options: []PollOption{{Name: "tea"}, {Name: "coffee", Votes: 2}}, EndTime: when.Add(24 * time.Hour), VotersCount: 2})
	Address(q, VisibilityPublic, iri(t, "https://a.example/users/me/followers"))
	m, back := roundTrip(t, q)
	assert.Equal(t, "Question", m["type"])
	assert.Equal(t, []any{
		map[string]any{"type": "Note", "name": "tea", "replies": map[string]any{"type": "Collection", "totalItems": float64(0)}},
		map[string]any{"type": "Note", "name": "coffee", "replies": map[string]any{"type": "Collection", "totalItems": float64(2)}},
	}, m["oneOf"])
	assert.Equal(t, "2025-03-02T12:00:00Z", m["endTime"])
	assert.Equal(t, float64(2), m["votersCount"])
	assert.NotContains(t, m, "anyOf")
	p, ok := ReadPoll(back)
	require.True(t, ok)
	assert.Equal(t, Poll{Options: []PollOption{{Name: "tea"}, {Name: "coffee", Votes: 2}}, EndTime: when.Add(24 * time.Hour), VotersCount: 2}, p)
	assert.Equal(t, "<p>Tea or coffee?</p>", Content(back))

	multi := NewPoll(iri(t, "https://a.example/polls/2"), iri(t, "https://a.example/users/me"), "?", time.Time{},
		Poll{Multiple: true, Options: []PollOption{{Name: "a"}, {Name: "b"}}, IsClosed: true, Closed: when})
	m, back = roundTrip(t, multi)
	assert.Len(t, m["anyOf"], 2)
	assert.Equal(t, "2025-03-01T12:00:00Z", m["closed"])
	p, _ = ReadPoll(back)
	assert.True(t, p.Multiple)
	assert.True(t, p.IsClosed)
	assert.Equal(t, when, p.Closed)

	// Voting in a real Mastodon poll.
	mq := readObject(t, "activities/mastodon-create-question-1.json")
	vote := NewPollVote(iri(t, "https://a.example/votes/1"), iri(t, "https://a.example/users/me"), mq, "Dunno")
	m, _ = roundTrip(t, vote)
	assert.Equal(t, "Dunno", m["name"])
	assert.Equal(t, "https://mastodon.sdf.org/users/rinpatch/statuses/102070944809637304", m["inReplyTo"])
	assert.Equal(t, "https://mastodon.sdf.org/users/rinpatch", m["to"])
	assert.NotContains(t, m, "content")
}

func TestNewProfileUpdate(t *testing.T) {
	p := streams.NewActivityStreamsPerson()
	me := iri(t, "https://a.example/users/me")
	SetID(p, me)
	SetName(p, "Me")
	SetSummary(p, "<p>bio</p>")
	require.True(t, SetProfileFields(p, Field{Name: "site", Value: `<a href="https://me.example">me.example</a>`}, Field{Name: "pronouns", Value: "they/them"}))
	require.True(t, SetIcon(p, Media{URL: iri(t, "https://a.example/avatar.png"), MediaType: "image/png"}))
	require.True(t, SetImage(p, Media{URL: iri(t, "https://a.example/header.jpg"), MediaType: "image/jpeg"}))
	require.True(t, SetAlsoKnownAs(p, iri(t, "https://old.example/users/me")))
	require.True(t, SetMovedTo(p, iri(t, "https://new.example/users/me")))
	require.True(t, SetDiscoverable(p, true))
	require.True(t, SetIndexable(p, true))
	require.True(t, SetManuallyApprovesFollowers(p, true))
	require.True(t, SetFeaturedTags(p, iri(t, "https://a.example/users/me/collections/tags")))
	require.True(t, SetInteractionPolicy(NewNote(me, me, "", when), InteractionPolicy{}))
	u := NewProfileUpdate(iri(t, "https://a.example/users/me#updates/1"), p)

	m, back := roundTrip(t, u)
	assert.Equal(t, "Update", m["type"])
	assert.Equal(t, "https://a.example/users/me", m["actor"])
	assert.Equal(t, PublicIRI, m["to"])
	obj := m["object"].(map[string]any)
	assert.Equal(t, "Person", obj["type"])
	assert.Equal(t, []any{
		map[string]any{"type": "PropertyValue", "name": "site", "value": `<a href="https://me.example">me.example</a>`},
		map[string]any{"type": "PropertyValue", "name": "pronouns", "value": "they/them"},
	}, obj["attachment"])
	assert.Equal(t, map[string]any{"type": "Image", "mediaType": "image/png", "url": "https://a.example/avatar.png"}, obj["icon"])
	assert.Equal(t, true, obj["discoverable"])
	assert.Equal(t, true, obj["indexable"])
	assert.Equal(t, true, obj["manuallyApprovesFollowers"])
	assert.Equal(t, "https://a.example/users/me/collections/tags", obj["featuredTags"])
	ctx := m["@context"].([]any)
	terms := ctx[len(ctx)-1].(map[string]any)
	for _, k := range []string{"PropertyValue", "value", "discoverable", "indexable", "featuredTags", "alsoKnownAs", "movedTo", "manuallyApprovesFollowers"} {
		assert.Contains(t, terms, k)
	}

	objs := EmbeddedObjects(back)
	require.Len(t, objs, 1)
	a := ReadActor(objs[0])
	assert.Equal(t, "Me", a.Name)
	assert.Equal(t, "<p>bio</p>", a.Summary)
	assert.Equal(t, []Field{{Name: "site", Value: `<a href="https://me.example">me.example</a>`}, {Name: "pronouns", Value: "they/them"}}, a.Fields)
	assert.Equal(t, "https://a.example/avatar.png", str(a.Icon.URL))
	assert.Equal(t, "https://a.example/header.jpg", str(a.Image.URL))
	assert.Equal(t, []string{"https://old.example/users/me"}, strs(a.AlsoKnownAs))
	assert.Equal(t, "https://new.example/users/me", str(a.MovedTo))
	assert.True(t, a.Discoverable)
	assert.True(t, a.Indexable)
	assert.True(t, a.ManuallyApprovesFollowers)
	assert.Equal(t, "https://a.example/users/me/collections/tags", str(a.FeaturedTags))

	// Replacing the fields keeps other attachments and drops the old fields.
	AddAttachment(p, Media{URL: iri(t, "https://a.example/x.png"), MediaType: "image/png"})
	SetProfileFields(p, Field{Name: "only", Value: "one"})
	assert.Equal(t, []Field{{Name: "only", Value: "one"}}, ProfileFields(p))
	assert.Len(t, Attachments(p), 1)
}

func TestSetInteractionPolicyRoundTrip(t *testing.T) {
	n := NewNote(iri(t, "https://a.example/notes/1"), iri(t, "https://a.example/users/me"), "x", when)
	followers := iri(t, "https://a.example/users/me/followers")
	require.True(t, SetInteractionPolicy(n, InteractionPolicy{
		CanReply: &InteractionRule{AutomaticApproval: []*url.URL{PublicURL()}},
		CanQuote: &InteractionRule{AutomaticApproval: []*url.URL{followers}, ManualApproval: []*url.URL{PublicURL()}},
	}))
	m, back := roundTrip(t, n)
	assert.Equal(t, map[string]any{
		"canReply": map[string]any{"automaticApproval": PublicIRI},
		"canQuote": map[string]any{"automaticApproval": followers.String(), "manualApproval": PublicIRI},
	}, m["interactionPolicy"])
	assert.Contains(t, m["@context"], "https://gotosocial.org/ns")
	p, ok := ReadInteractionPolicy(back)
	require.True(t, ok)
	assert.Nil(t, p.CanLike)
	assert.Equal(t, []string{PublicIRI}, strs(p.CanReply.AutomaticApproval))
	assert.Equal(t, []string{followers.String()}, strs(p.CanQuote.AutomaticApproval))
	assert.Equal(t, []string{PublicIRI}, strs(p.CanQuote.ManualApproval))
}
