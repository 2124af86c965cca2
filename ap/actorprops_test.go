package ap

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestReadMastodonVideoAndHashtags(t *testing.T) {
	n := readFixture(t, "objects/mastodon-note-raw.json")
	assert.Equal(t, []Media{{
		Type:      "Document",
		MediaType: "video/mp4",
		URL:       iri(t, "https://todon.eu/system/media_attachments/files/112/341/916/300/016/369/original/f83659866f94054f.mp4"),
		Name:      "The demo video on my terminal",
		Blurhash:  "U87_4lWB_3WBt7bHazWV~qbHaybFozj[ayfj",
		Width:     1092,
		Height:    954,
	}}, Attachments(n))
	assert.Equal(t, []Hashtag{
		{Href: iri(t, "https://todon.eu/tags/fedify"), Name: "#fedify"},
		{Href: iri(t, "https://todon.eu/tags/fedidev"), Name: "#fedidev"},
		{Href: iri(t, "https://todon.eu/tags/activitypub"), Name: "#activitypub"},
	}, Hashtags(n))
	assert.Empty(t, Mentions(n))
}

func TestReadMastodonBotActor(t *testing.T) {
	a := ReadActor(readFixture(t, "actors/mastodon-service-bot.json"))
	assert.Equal(t, "https://mastodont.cat/users/fediverse", str(a.ID))
	assert.Equal(t, "Service", a.Type)
	assert.True(t, a.IsBot())
	assert.Equal(t, "fediverse", a.PreferredUsername)
	assert.Equal(t, "@fediverse@mastodont.cat", a.Handle())
	assert.Equal(t, Mention{Href: iri(t, "https://mastodont.cat/users/fediverse"), Name: "@fediverse@mastodont.cat"}, a.Mention())
	assert.Equal(t, "fediverse's stats", a.Name)
	assert.Contains(t, a.Summary, "<p>All fediverse alive servers stats. New refactored code!</p>")
	assert.Equal(t, "https://mastodont.cat/@fediverse", str(a.URL))
	assert.Equal(t, time.Date(2020, 5, 13, 0, 0, 0, 0, time.UTC), a.Published)
	assert.Equal(t, []Field{
		{Name: "code", Value: `<a href="https://codeberg.org/spla/stats" target="_blank" rel="nofollow noopener noreferrer me" translate="no"><span class="invisible">https://</span><span class="">codeberg.org/spla/stats</span><span class="invisible"></span></a>`},
		{Name: "my user-agent", Value: "&quot;fediverse&#39;s stats (fediverse@mastodont.cat)&quot;"},
		{Name: "coded by", Value: `<span class="h-card" translate="no"><a href="https://mastodont.cat/@spla" class="u-url mention">@<span>spla</span></a></span>`},
	}, a.Fields)
	assert.Equal(t, &Media{Type: "Image", MediaType: "image/png", URL: iri(t, "https://mastodont.cat/system/accounts/avatars/000/149/323/original/33201dbeb139a24a.png")}, a.Icon)
	assert.Equal(t, &Media{Type: "Image", MediaType: "image/jpeg", URL: iri(t, "https://mastodont.cat/system/accounts/headers/000/149/323/original/75c861d59e5a8860.jpeg")}, a.Image)
	assert.Equal(t, "https://mastodont.cat/users/fediverse/inbox", str(a.Inbox))
	assert.Equal(t, "https://mastodont.cat/users/fediverse/outbox", str(a.Outbox))
	assert.Equal(t, "https://mastodont.cat/users/fediverse/followers", str(a.Followers))
	assert.Equal(t, "https://mastodont.cat/users/fediverse/following", str(a.Following))
	assert.Equal(t, "https://mastodont.cat/inbox", str(a.SharedInbox))
	assert.Equal(t, "https://mastodont.cat/users/fediverse/collections/featured", str(a.Featured))
	assert.Equal(t, "https://mastodont.cat/users/fediverse/collections/tags", str(a.FeaturedTags))
	assert.False(t, a.ManuallyApprovesFollowers)
	assert.True(t, a.Discoverable)
	assert.False(t, a.Indexable)
	require.Len(t, a.PublicKeys, 1)
	assert.Equal(t, "https://mastodont.cat/users/fediverse#main-key", str(a.PublicKeys[0].ID))
	assert.Equal(t, "https://mastodont.cat/users/fediverse", str(a.PublicKeys[0].Owner))
	assert.Contains(t, a.PublicKeys[0].PEM, "-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAu2X8LqAR/6j95UUTG02T\n")
	assert.Empty(t, a.AssertionMethods)
	assert.Empty(t, a.AlsoKnownAs)
	assert.Nil(t, a.MovedTo)
}

func TestReadMastodonPerson(t *testing.T) {
	a := ReadActor(readFixture(t, "actors/mastodon-person.json"))
	assert.Equal(t, "https://masto.qa.urbanwildlife.biz/users/mastodon", str(a.ID))
	assert.Equal(t, "mastodon", a.PreferredUsername)
	assert.Equal(t, "https://masto.qa.urbanwildlife.biz/users/mastodon/collections/featured", str(a.Featured))
	assert.Equal(t, "https://masto.qa.urbanwildlife.biz/users/mastodon/collections/tags", str(a.FeaturedTags))
	assert.False(t, a.Indexable) // "indexable": null
	assert.False(t, a.Discoverable)
	assert.Equal(t, "https://masto.qa.urbanwildlife.biz/inbox", str(a.SharedInbox))
}

func TestReadGoToSocialProfileFields(t *testing.T) {
	a := ReadActor(readFixture(t, "actors/gotosocial-person-profile-fields.json"))
	assert.Equal(t, "http://example.org/users/1happyturtle", str(a.ID))
	assert.Equal(t, "1happyturtle", a.PreferredUsername)
	assert.Equal(t, "happy little turtle :3", a.Name)
	assert.Equal(t, "<p>i post about things that concern me</p>", a.Summary)
	assert.Equal(t, []Field{{Name: "should you follow me?", Value: "maybe!"}, {Name: "age", Value: "120"}}, a.Fields)
	assert.Equal(t, "http://example.org/users/1happyturtle/collections/featured", str(a.Featured))
	assert.False(t, a.Discoverable)
	assert.True(t, a.ManuallyApprovesFollowers)
	require.Len(t, a.PublicKeys, 1)
	assert.Equal(t, "http://example.org/users/1happyturtle#main-key", str(a.PublicKeys[0].ID))
	assert.Equal(t, "http://example.org/users/1happyturtle", str(a.PublicKeys[0].Owner))

	// Takahē sends one PropertyValue, not an array.
	tk := ReadActor(readFixture(t, "actors/takahe-person.json"))
	assert.Equal(t, []Field{{Name: "More details", Value: `<a href="https://fedivision.party/vote" rel="nofollow"><span class="invisible">https://</span>fedivision.party/vote</a>`}}, tk.Fields)

	// A profile update carries the same fields.
	up := readObject(t, "activities/mastodon-update-person-1.json")
	assert.Equal(t, []Field{{Name: "foo", Value: "updated"}, {Name: "foo1", Value: "updated"}}, ProfileFields(up))
}

func TestReadMultikeyActor(t *testing.T) {
	a := ReadActor(readFixture(t, "actors/mitra-person-multikey.json"))
	assert.Equal(t, "洪 民憙 (Hong Minhee)", a.Name)
	assert.Equal(t, "@hongminhee@wizard.casa", a.Handle())
	assert.True(t, a.ManuallyApprovesFollowers)
	assert.Equal(t, "https://wizard.casa/users/hongminhee/collections/featured", str(a.Featured))
	require.Len(t, a.AssertionMethods, 2)
	assert.Equal(t, Multikey{
		ID:                 iri(t, "https://wizard.casa/users/hongminhee#ed25519-key"),
		Type:               "Multikey",
		Controller:         iri(t, "https://wizard.casa/users/hongminhee"),
		PublicKeyMultibase: "z6MkweqJajqa5jRAJTBVxxu47oCdB7HzmYbBKN8VGbFJmKkC",
	}, a.AssertionMethods[1])
	assert.Equal(t, "https://wizard.casa/users/hongminhee#main-key", str(a.AssertionMethods[0].ID))
	require.Len(t, a.PublicKeys, 1)
	assert.Equal(t, "https://wizard.casa/users/hongminhee#main-key", str(a.PublicKeys[0].ID))

	f := ReadActor(readFixture(t, "httpsig/fep-8b32-actor-multikey.json"))
	require.NotEmpty(t, f.AssertionMethods)
	assert.Equal(t, "https://server.example/users/alice#ed25519-key", str(f.AssertionMethods[0].ID))
}

func TestReadPleromaActor(t *testing.T) {
	a := ReadActor(readFixture(t, "actors/pleroma-person.json"))
	assert.Equal(t, "https://queer.hacktivis.me/inbox", str(a.SharedInbox))
	assert.Equal(t, &Media{Type: "Image", URL: iri(t, "https://queer.hacktivis.me/media/d23cf9b0-5586-4592-aca5-9a52777a6042/avatar_HD.png")}, a.Icon)
	assert.Equal(t, "https://queer.hacktivis.me/users/lanodan/collections/featured", str(a.Featured))
	assert.Empty(t, a.AlsoKnownAs)
	require.NotEmpty(t, a.Emojis)
	assert.Equal(t, Emoji{
		ID:      iri(t, "https://queer.hacktivis.me/emoji/custom/symbols/anarchy.png"),
		Name:    ":anarchy:",
		Icon:    Media{Type: "Image", URL: iri(t, "https://queer.hacktivis.me/emoji/custom/symbols/anarchy.png")},
		Updated: time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC),
	}, a.Emojis[0])

	// microblog.pub puts a non-URL in alsoKnownAs.
	m := ReadActor(readFixture(t, "actors/microblogpub-person.json"))
	for _, u := range m.AlsoKnownAs {
		assert.NotEmpty(t, u.String())
	}
}
