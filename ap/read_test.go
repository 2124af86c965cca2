package ap

import (
	"context"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"code.superseriousbusiness.org/activity/streams/vocab"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// readFixture parses a fixture document (path relative to the fixtures
// directory).
func readFixture(t *testing.T, rel string) vocab.Type {
	t.Helper()
	v, err := Parse(context.Background(), fixtureBody(t, filepath.Join(fixtures, rel)))
	require.NoError(t, err, rel)
	return v
}

// readObject parses an activity fixture and returns its embedded object.
func readObject(t *testing.T, rel string) vocab.Type {
	t.Helper()
	objs := EmbeddedObjects(readFixture(t, rel))
	require.NotEmpty(t, objs, rel)
	return objs[0]
}

func iri(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	require.NoError(t, err)
	return u
}

func str(u *url.URL) string {
	if u == nil {
		return ""
	}
	return u.String()
}

func TestReadMastodonReplyWithMention(t *testing.T) {
	n := readObject(t, "activities/mastodon-create-note-1.json")
	// content and contentMap differ in this document: Content is the plain one.
	assert.Equal(t, `<p><span class="h-card"><a href="https://mamot.fr/@retiolus" class="u-url mention">@<span>retiolus</span></a></span> i have never been disappointed by a thinkpad. if you want to save money, get a model from a few years ago, there isnt a huge difference anyway.</p>`, Content(n))
	// The vocabulary keeps content and drops contentMap when both are given.
	assert.Nil(t, ContentMap(n))
	assert.Equal(t, []Mention{{Href: iri(t, "https://mamot.fr/users/retiolus"), Name: "@retiolus@mamot.fr"}}, Mentions(n))
	assert.True(t, Mentioned(n, iri(t, "https://mamot.fr/users/retiolus")))
	assert.False(t, Mentioned(n, iri(t, "https://mastodon.madrid/users/felix")))
	assert.Equal(t, "https://mamot.fr/users/retiolus/statuses/107224244380204526", str(InReplyTo(n)))
	assert.Equal(t, "tag:mamot.fr,2021-11-05:objectId=64635960:objectType=Conversation", Conversation(n))
	assert.Equal(t, "tag:mamot.fr,2021-11-05:objectId=64635960:objectType=Conversation", Thread(n))
	assert.Equal(t, time.Date(2021, 11, 5, 11, 46, 50, 0, time.UTC), Published(n))
	assert.Equal(t, "https://mastodon.madrid/@felix/107224289116410645", str(URL(n)))
	assert.Empty(t, Summary(n))
	assert.False(t, Sensitive(n))
	assert.False(t, HasContentWarning(n))
	assert.Nil(t, Quote(n))
	// to followers, cc Public: unlisted.
	assert.Equal(t, VisibilityUnlisted, VisibilityOf(n))
	assert.Equal(t, "@retiolus i have never been disappointed by a thinkpad. if you want to save money, get a model from a few years ago, there isnt a huge difference anyway.", PlainText(Content(n)))
}

func TestReadMastodonContentWarningAndHashtag(t *testing.T) {
	n := readObject(t, "activities/mastodon-create-note-sensitive-4.json")
	assert.Equal(t, "cw", Summary(n))
	assert.True(t, HasContentWarning(n))
	assert.False(t, Sensitive(n)) // "sensitive" is absent here
	assert.Equal(t, []Hashtag{{Href: iri(t, "http://mastodon.example.org/tags/nsfw"), Name: "#NSFW"}}, Hashtags(n))
	assert.Equal(t, []Mention{{Href: iri(t, "http://localtesting.pleroma.lol/users/lain"), Name: "@lain@localtesting.pleroma.lol"}}, Mentions(n))
	tags := Tags(n)
	require.Len(t, tags, 2)
	assert.Equal(t, "Mention", tags[0].Type)
	assert.Equal(t, "Hashtag", tags[1].Type)
	assert.Nil(t, InReplyTo(n)) // "inReplyTo": null
	assert.Equal(t, VisibilityPublic, VisibilityOf(n))
	assert.Equal(t, "@lain #moo", PlainText(Content(n)))

	s := readObject(t, "activities/mastodon-create-note-2.json")
	assert.True(t, Sensitive(s))
	assert.NotEmpty(t, Summary(s))
}

func TestReadMastodonAttachments(t *testing.T) {
	n := readFixture(t, "objects/mastodon-note-2.json")
	att := Attachments(n)
	require.Len(t, att, 1)
	// Known loss: the vocabulary parses this blurhash as an IRI with the
	// scheme "USQv", which net/url lowercases. Everything after the colon
	// is exact.
	assert.Equal(t, "usqv:h-W-qI-^,W;RPs=^-R%NZxbo#sDobSc", att[0].Blurhash)
	assert.True(t, strings.EqualFold("USQv:h-W-qI-^,W;RPs=^-R%NZxbo#sDobSc", att[0].Blurhash))
	att[0].Blurhash = "USQv:h-W-qI-^,W;RPs=^-R%NZxbo#sDobSc"
	assert.Equal(t, []Media{{
		Type:          "Document",
		MediaType:     "image/jpeg",
		URL:           iri(t, "https://cdn.masto.host/floss/media_attachments/files/113/306/826/682/985/891/original/c8d906a2f2ab2334.jpg"),
		Name:          "The KDE dragons Katie and Konqi stand on either side of a pot filling up with gold coins. Donate!",
		Blurhash:      "USQv:h-W-qI-^,W;RPs=^-R%NZxbo#sDobSc",
		Width:         1500,
		Height:        1095,
		HasFocalPoint: true,
	}}, att)
	assert.Equal(t, "https://floss.social/users/kde/statuses/113306824627995724", str(InReplyTo(n)))
	assert.Equal(t, []Mention{{Href: iri(t, "https://lemmy.kde.social/c/kde"), Name: "@kde@lemmy.kde.social"}}, Mentions(n))
	assert.False(t, Sensitive(n))
	assert.Empty(t, Summary(n)) // "summary": null

	fp := readFixture(t, "objects/mastodon-docs-note-focalpoint.json")
	assert.Equal(t, []Media{{
		Type: "Image", MediaType: "image/png", URL: iri(t, "https://example.com/files/cats.png"),
		FocalPoint: [2]float64{-0.55, 0.43}, HasFocalPoint: true,
	}}, Attachments(fp))
	assert.Equal(t, "A picture attached!", Content(fp))
}

func TestReadCustomEmoji(t *testing.T) {
	// A single Emoji object as tag, not an array.
	n := readObject(t, "activities/kroeg-create-note-single-tag-2.json")
	assert.Equal(t, []Emoji{{
		ID:      iri(t, "https://puckipedia.com/forum/images/smilies/icon_e_smile"),
		Name:    ":icon_e_smile:",
		Icon:    Media{Type: "Image", MediaType: "image/png", URL: iri(t, "https://puckipedia.com/forum/images/smilies/icon_e_smile.png")},
		Updated: time.Date(2018, 9, 16, 11, 11, 11, 111e6, time.UTC),
	}}, Emojis(n))

	// A Misskey reaction carries its emoji as a tag of the Like.
	like := readFixture(t, "activities/misskey-like-custom-emoji-2.json")
	assert.Equal(t, ":hanapog:", Content(like))
	assert.Equal(t, []Emoji{{
		ID:      iri(t, "https://misskey.local.live/emojis/hanapog"),
		Name:    ":hanapog:",
		Icon:    Media{Type: "Image", MediaType: "image/png", URL: iri(t, "https://misskey.local.live/files/webpublic-8f8a9768-7264-4171-88d6-2356aabeadcd")},
		Updated: time.Date(2022, 6, 7, 12, 0, 5, 773e6, time.UTC),
	}}, Emojis(like))
}

func TestReadPleromaAndAkkomaThreads(t *testing.T) {
	n := readFixture(t, "objects/pleroma-note-1.json")
	assert.Equal(t, "Have what?", Content(n))
	assert.Equal(t, "https://queer.hacktivis.me/contexts/34cba3d2-2f35-4169-aeff-56af9bfeb753", str(Context(n)))
	assert.Equal(t, "https://queer.hacktivis.me/contexts/34cba3d2-2f35-4169-aeff-56af9bfeb753", Conversation(n))
	assert.Equal(t, "https://queer.hacktivis.me/contexts/34cba3d2-2f35-4169-aeff-56af9bfeb753", Thread(n))
	assert.Equal(t, "https://enterprise.lemmy.ml/post/55143", str(InReplyTo(n)))
	assert.Equal(t, []Mention{{Href: iri(t, "https://pleroma.popolon.org/users/popolon"), Name: "@popolon@pleroma.popolon.org"}}, Mentions(n))
	assert.Empty(t, Summary(n))
	assert.Equal(t, time.Date(2021, 10, 7, 18, 6, 52, 555500e3, time.UTC), Published(n))
	assert.Equal(t, VisibilityUnlisted, VisibilityOf(n))

	a := readObject(t, "activities/akkoma-create-note-reply-misskey-1.json")
	assert.Equal(t, "https://mk.absturztau.be/notes/93e7nm8wqg", str(InReplyTo(a)))
	assert.Equal(t, "https://p.helene.moe/contexts/cc324643-5583-4c3f-91d2-c6ed37db159d", str(Context(a)))
	// Misskey's actor IRI is an opaque id; the name carries the handle.
	assert.Equal(t, []Mention{{Href: iri(t, "https://mk.absturztau.be/users/8ozbzjs3o8"), Name: "@mametsuko@mk.absturztau.be"}}, Mentions(a))
	assert.Equal(t, "@mametsuko meow", PlainText(Content(a)))
}

func TestReadLemmyPage(t *testing.T) {
	p := readFixture(t, "objects/lemmy-page-1.json")
	assert.Equal(t, "Page", Type(p))
	assert.Equal(t, "Post title", Name(p))
	assert.Equal(t, "<p>This is a post in the /c/tenforward community</p>\n", Content(p))
	assert.Equal(t, []Media{{Type: "Link", URL: iri(t, "https://enterprise.lemmy.ml/pictrs/image/eOtYb9iEiB.png")}}, Attachments(p))
	assert.Equal(t, "https://enterprise.lemmy.ml/post/55143/context", str(Context(p)))
	assert.Equal(t, []Mention{{Href: iri(t, "https://enterprise.lemmy.ml/c/tenforward"), Name: "@tenforward@enterprise.lemmy.ml"}}, Mentions(p))
	assert.Equal(t, time.Date(2021, 2, 26, 12, 35, 34, 292626e3, time.UTC), Published(p))
	assert.False(t, Sensitive(p))
}

func TestReadLemmyComment(t *testing.T) {
	c := readFixture(t, "objects/lemmy-note-comment-1.json")
	assert.Equal(t, "<p>first comment!</p>\n", Content(c))
	assert.Equal(t, "https://enterprise.lemmy.ml/post/55143", str(InReplyTo(c)))
	assert.Equal(t, "https://enterprise.lemmy.ml/comment/38741/context", str(Context(c)))
	assert.Equal(t, []Mention{
		{Href: iri(t, "https://enterprise.lemmy.ml/u/picard"), Name: "@picard@enterprise.lemmy.ml"},
		{Href: iri(t, "https://enterprise.lemmy.ml/c/tenforward"), Name: "@tenforward@enterprise.lemmy.ml"},
	}, Mentions(c))
}

func TestReadPeerTubeURL(t *testing.T) {
	v := readFixture(t, "objects/peertube-video-1.json")
	assert.Equal(t, "https://tilvids.com/videos/watch/e7946124-7b72-4ad7-9d22-844a84bb2de1", str(URL(v)))
	assert.Greater(t, len(URLs(v)), 1)
	assert.Equal(t, "Mesa, Wayland & X.org in trouble, Debian leaves X, Facebook blocks Linux: Linux & Open Source News", Name(v))
}

func TestReadQuotes(t *testing.T) {
	for _, tc := range []struct{ file, want string }{
		{"objects/misskey-note-quote-1.json", "https://example.com/objects/43479e20-c0f8-4f49-bf7f-13fab8234924"},
		{"objects/fep-044f-note-quote.json", "https://example.com/users/alice/statuses/1"},
		{"objects/fep-044f-note-quote-compat.json", "https://example.com/users/alice/statuses/1"},
		{"objects/fedibird-note-quote-1.json", "https://example.com/objects/43479e20-c0f8-4f49-bf7f-13fab8234924"},
		{"objects/fep-e232-note-quote-tag.json", "https://server.example/objects/123"},
		{"objects/ccworld-note-edge.json", ""}, // quoteUrl ""
		{"objects/mastodon-note-2.json", ""},
	} {
		t.Run(tc.file, func(t *testing.T) {
			assert.Equal(t, tc.want, str(Quote(readFixture(t, tc.file))))
		})
	}
	assert.Equal(t, []Tag{{
		Type:      "Link",
		Href:      iri(t, "https://example.com/users/alice/statuses/1"),
		MediaType: `application/ld+json; profile="https://www.w3.org/ns/activitystreams"`,
		Rel:       []string{"https://misskey-hub.net/ns#_misskey_quote"},
	}}, Tags(readFixture(t, "objects/fep-044f-note-quote-compat.json")))
	misskey := readFixture(t, "objects/misskey-note-quote-1.json")
	assert.Empty(t, Tags(misskey))
	assert.Empty(t, Attachments(misskey))
	assert.Equal(t, time.Date(2022, 7, 25, 15, 21, 48, 208e6, time.UTC), Published(misskey))
	edge := readFixture(t, "objects/ccworld-note-edge.json")
	assert.Nil(t, InReplyTo(edge)) // inReplyTo ""
}

func TestReadInteractionPolicy(t *testing.T) {
	p, ok := ReadInteractionPolicy(readFixture(t, "objects/fep-044f-note-canquote-policy.json"))
	require.True(t, ok)
	assert.Nil(t, p.CanLike)
	assert.Nil(t, p.CanReply)
	assert.Nil(t, p.CanAnnounce)
	require.NotNil(t, p.CanQuote)
	assert.Equal(t, []string{"https://example.com/users/alice/followers"}, strs(p.CanQuote.AutomaticApproval))
	assert.Empty(t, p.CanQuote.ManualApproval)
	assert.True(t, p.CanQuote.Allows(iri(t, "https://x.example/users/bob"), iri(t, "https://example.com/users/alice/followers")))
	assert.False(t, p.CanQuote.Allows(iri(t, "https://x.example/users/bob")))
	assert.True(t, p.CanLike.Allows(iri(t, "https://x.example/users/bob")))

	// WordPress sends the current and the older ("always") names.
	w, ok := ReadInteractionPolicy(readFixture(t, "objects/wordpress-article-1.json"))
	require.True(t, ok)
	for _, r := range []*InteractionRule{w.CanLike, w.CanReply, w.CanAnnounce, w.CanQuote} {
		require.NotNil(t, r)
		assert.Equal(t, []string{PublicIRI}, strs(r.AutomaticApproval))
		assert.True(t, r.Allows(iri(t, "https://x.example/users/bob")))
	}

	_, ok = ReadInteractionPolicy(readFixture(t, "objects/mastodon-note-2.json"))
	assert.False(t, ok)
}

func TestReadPolls(t *testing.T) {
	q := readObject(t, "activities/mastodon-create-question-1.json")
	p, ok := ReadPoll(q)
	require.True(t, ok)
	assert.Equal(t, Poll{
		Options: []PollOption{
			{Name: "Dunno", Votes: 0},
			{Name: "Everyone knows that!", Votes: 1},
			{Name: "25 char limit is dumb", Votes: 0},
			{Name: "I can't even fit a funny", Votes: 1},
		},
		EndTime: time.Date(2019, 5, 11, 9, 3, 36, 0, time.UTC),
	}, p)
	assert.Equal(t, 2, p.TotalVotes())
	assert.Equal(t, "<p>Why is Tenshi eating a corndog so cute?</p>", Content(q))
	assert.Nil(t, ContentMap(q))

	p, ok = ReadPoll(readFixture(t, "objects/mastodon-docs-question-anyof.json"))
	require.True(t, ok)
	assert.Equal(t, Poll{
		Multiple:    true,
		Options:     []PollOption{{Name: "apple", Votes: 3}, {Name: "orange", Votes: 7}, {Name: "banana", Votes: 6}},
		EndTime:     time.Date(2023, 3, 6, 7, 40, 13, 0, time.UTC),
		VotersCount: 7,
	}, p)

	m := readFixture(t, "objects/misskey-question-no-endtime.json")
	p, ok = ReadPoll(m)
	require.True(t, ok)
	assert.Equal(t, Poll{Options: []PollOption{{Name: "Working"}, {Name: "Broken af", Votes: 1}}}, p)
	assert.Equal(t, []Mention{{Href: iri(t, "https://marchgenso.me/users/march"), Name: "@march@marchgenso.me"}}, Mentions(m))

	// Both oneOf and an empty anyOf: the options are oneOf's.
	pl := readFixture(t, "objects/pleroma-question-attachment.json")
	p, ok = ReadPoll(pl)
	require.True(t, ok)
	assert.False(t, p.Multiple)
	require.NotEmpty(t, p.Options)
	assert.Equal(t, PollOption{Name: "a"}, p.Options[0])
	assert.True(t, p.IsClosed)
	att := Attachments(pl)
	require.Len(t, att, 1)
	assert.Equal(t, "screenshot_mpv:Totoro@01:18:44.345.jpg", att[0].Name)
	assert.Equal(t, "image/jpeg", att[0].MediaType)

	_, ok = ReadPoll(readFixture(t, "objects/mastodon-note-2.json"))
	assert.False(t, ok)
}

func TestReadContentMapOnly(t *testing.T) {
	v, err := Parse(context.Background(), []byte(`{"type":"Note","id":"https://a.example/n/1",
		"contentMap":{"fr":"<p>bonjour</p>","en":"<p>hello</p>"}}`))
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"fr": "<p>bonjour</p>", "en": "<p>hello</p>"}, ContentMap(v))
	assert.Equal(t, "<p>hello</p>", Content(v))

	v, err = Parse(context.Background(), []byte(`{"type":"Note","id":"https://a.example/n/1",
		"contentMap":{"fr":"<p>bonjour</p>","de":"<p>hallo</p>"}}`))
	require.NoError(t, err)
	assert.Equal(t, "<p>hallo</p>", Content(v)) // first language in sorted order
}

// The vocabulary reads "CW: ..." and other "word:" strings as IRIs and
// lowercases the scheme; the text is still returned.
func TestReadSchemeLikeText(t *testing.T) {
	v, err := Parse(context.Background(), []byte(`{"type":"Note","id":"https://a.example/n/1",
		"summary":"CW: spoilers","content":"http://x.example/Page","name":"RE: https://b.example/1"}`))
	require.NoError(t, err)
	assert.Equal(t, "cw: spoilers", Summary(v)) // "CW" lowercased: a known loss
	assert.True(t, HasContentWarning(v))
	assert.Equal(t, "http://x.example/Page", Content(v))
	assert.Equal(t, "re: https://b.example/1", Name(v))
}

func TestPlainText(t *testing.T) {
	assert.Equal(t, "a\nb\n\nc & d", PlainText("<p>a<br>b</p><p>c &amp; d</p>"))
	assert.Equal(t, "x", PlainText("x<unclosed"))
	assert.Equal(t, "", PlainText(""))
}
