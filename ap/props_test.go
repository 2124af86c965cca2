package ap

import (
	"context"
	"encoding/json"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"code.superseriousbusiness.org/activity/streams/vocab"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func parseFixture(t testing.TB, rel string) vocab.Type {
	t.Helper()
	v, err := Parse(context.Background(), fixtureBody(t, filepath.Join(fixtures, rel)))
	require.NoError(t, err)
	return v
}

func u(t testing.TB, s string) *url.URL {
	t.Helper()
	p, err := url.Parse(s)
	require.NoError(t, err)
	return p
}

func strs(us []*url.URL) []string {
	out := make([]string, len(us))
	for i, u := range us {
		out[i] = u.String()
	}
	return out
}

func TestPropertiesFromFixtures(t *testing.T) {
	// Mastodon Create(Note): actor IRI, embedded Note.
	v := parseFixture(t, "activities/mastodon-create-note-1.json")
	var raw struct {
		ID     string   `json:"id"`
		Actor  string   `json:"actor"`
		To     []string `json:"to"`
		Cc     []string `json:"cc"`
		Object struct {
			ID           string `json:"id"`
			AttributedTo string `json:"attributedTo"`
		} `json:"object"`
	}
	require.NoError(t, json.Unmarshal(fixtureBody(t, filepath.Join(fixtures, "activities/mastodon-create-note-1.json")), &raw))
	assert.Equal(t, raw.ID, ID(v).String())
	assert.Equal(t, []string{raw.Actor}, strs(Actors(v)))
	assert.Equal(t, []string{raw.Object.ID}, strs(Objects(v)))
	assert.Equal(t, raw.To, strs(To(v)))
	assert.Equal(t, raw.Cc, strs(Cc(v)))
	require.Len(t, EmbeddedObjects(v), 1)
	note := EmbeddedObjects(v)[0]
	assert.Equal(t, "Note", Type(note))
	assert.Equal(t, []string{raw.Object.AttributedTo}, strs(AttributedTo(note)))
	assert.Empty(t, EmbeddedActors(v))

	// Kroeg: the actor is embedded as a full object.
	v = parseFixture(t, "activities/kroeg-announce-inline-actor-1.json")
	require.Len(t, Actors(v), 1)
	require.Len(t, EmbeddedActors(v), 1)
	assert.Equal(t, ID(EmbeddedActors(v)[0]), Actors(v)[0])

	// GoToSocial poll votes: object is an array of two Notes.
	v = parseFixture(t, "activities/gotosocial-create-pollvotes-1.json")
	assert.Len(t, Objects(v), 2)
	assert.Len(t, EmbeddedObjects(v), 2)

	// Undo whose object is only an IRI.
	v = parseFixture(t, "activities/mastodon-undo-like-iri-3.json")
	assert.Len(t, Objects(v), 1)
	assert.Empty(t, EmbeddedObjects(v))

	// Lemmy: audience.
	v = parseFixture(t, "activities/lemmy-create-page-1.json")
	assert.NotEmpty(t, Audience(v))
	for _, a := range Audience(v) {
		assert.Contains(t, strs(Recipients(v)), a.String())
	}

	// Followers-only Announce is not public; a direct message neither.
	assert.False(t, IsPublicAddressed(parseFixture(t, "activities/mastodon-announce-private-2.json")))
	assert.False(t, IsPublicAddressed(parseFixture(t, "objects/mastodon-note-direct-4.json")))
	assert.True(t, IsPublicAddressed(parseFixture(t, "activities/mastodon-create-note-1.json")))

	// Types without the property give nil, as does nil.
	assert.Nil(t, Actors(note))
	assert.Nil(t, ID(nil))
	assert.Equal(t, "", Type(nil))
	assert.Nil(t, To(nil))
}

func TestRecipientsDeduplicated(t *testing.T) {
	alice, bob := u(t, "https://a.example/users/alice"), u(t, "https://b.example/users/bob")
	followers := u(t, "https://a.example/users/alice/followers")
	n := NewNote(u(t, "https://a.example/notes/1"), alice, "hi", time.Time{})
	SetTo(n, PublicURL(), bob)
	SetCc(n, followers, bob)
	SetBto(n, u(t, "https://c.example/users/carol"))
	SetBcc(n, bob, u(t, "https://d.example/users/dave"))
	SetAudience(n, followers)
	assert.Equal(t, []string{
		PublicIRI, bob.String(), followers.String(),
		"https://c.example/users/carol", "https://d.example/users/dave",
	}, strs(Recipients(n)))
	assert.True(t, IsPublicAddressed(n))

	SetTo(n)
	SetCc(n)
	SetAudience(n)
	assert.Nil(t, To(n))
	assert.False(t, IsPublicAddressed(n))
}

func TestIsPublicAddressedSpellings(t *testing.T) {
	for _, spelling := range []string{PublicIRI, "as:Public"} {
		n := NewNote(u(t, "https://a.example/notes/1"), u(t, "https://a.example/u/a"), "x", time.Time{})
		SetCc(n, u(t, spelling))
		assert.True(t, IsPublicAddressed(n), spelling)
	}
	// The bare "Public" is not a URL; Parse rewrites it.
	v, err := Parse(context.Background(), []byte(`{"type":"Note","cc":["Public"]}`))
	require.NoError(t, err)
	assert.True(t, IsPublicAddressed(v))
}

func TestStripBlind(t *testing.T) {
	alice := u(t, "https://a.example/users/alice")
	n := NewNote(u(t, "https://a.example/notes/1"), alice, "secret", time.Time{})
	SetTo(n, u(t, "https://b.example/users/bob"))
	SetBto(n, u(t, "https://c.example/users/carol"))
	SetBcc(n, u(t, "https://d.example/users/dave"))
	c := NewCreate(u(t, "https://a.example/notes/1/activity"), alice, n)
	require.Len(t, Bto(c), 1, "NewCreate copies addressing")
	require.Len(t, Bcc(c), 1)

	StripBlind(c)
	assert.Empty(t, Bto(c))
	assert.Empty(t, Bcc(c))
	assert.Empty(t, Bto(n), "embedded object stripped too")
	assert.Empty(t, Bcc(n))
	assert.Len(t, To(c), 1)
	out, err := Serialize(c)
	require.NoError(t, err)
	assert.NotContains(t, string(out), "bto")
	assert.NotContains(t, string(out), "bcc")
	assert.NotContains(t, string(out), "carol")
	StripBlind(nil) // no panic
}

func TestSameOrigin(t *testing.T) {
	tests := []struct {
		a, b string
		want bool
	}{
		{"https://a.example/users/x", "https://a.example/notes/1", true},
		{"https://A.Example/x", "https://a.example/y", true},
		{"HTTPS://a.example/x", "https://a.example/y", true},
		{"https://a.example:443/x", "https://a.example/y", true},
		{"http://a.example:80/x", "http://a.example/y", true},
		{"https://a.example:8443/x", "https://a.example/y", false},
		{"http://a.example/x", "https://a.example/x", false},
		{"https://a.example/x", "https://b.example/x", false},
		{"https://a.example/x", "https://sub.a.example/x", false},
		{"https://[::1]:443/x", "https://[::1]/y", true},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, SameOrigin(u(t, tt.a), u(t, tt.b)), "%s vs %s", tt.a, tt.b)
	}
	assert.False(t, SameOrigin(nil, u(t, "https://a.example")))
	assert.False(t, SameOrigin(u(t, "https://a.example"), nil))
}

func TestBuilders(t *testing.T) {
	ctx := context.Background()
	alice, bob := u(t, "https://a.example/users/alice"), u(t, "https://b.example/users/bob")
	now := time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)

	follow := NewFollow(u(t, "https://b.example/follows/1"), bob, alice)
	accept := NewAccept(u(t, "https://a.example/accepts/1"), alice, follow)
	reject := NewReject(u(t, "https://a.example/rejects/1"), alice, follow)
	undo := NewUndo(u(t, "https://b.example/follows/1/undo"), bob, follow)
	note := NewNote(u(t, "https://a.example/notes/1"), alice, "<p>hello</p>", now)
	SetTo(note, PublicURL())
	SetCc(note, u(t, "https://a.example/users/alice/followers"))
	create := NewCreate(u(t, "https://a.example/notes/1/activity"), alice, note)
	update := NewUpdate(u(t, "https://a.example/notes/1/update"), alice, note)
	like := NewLike(u(t, "https://b.example/likes/1"), bob, ID(note))
	announce := NewAnnounce(u(t, "https://b.example/boosts/1"), bob, ID(note))
	tomb := NewTombstone(ID(note), "Note", now)
	del := NewDelete(u(t, "https://a.example/notes/1#delete"), alice, tomb)

	tests := []struct {
		v       vocab.Type
		typ     string
		actor   *url.URL
		object  string
		embeds  bool
		public  bool
		snippet string
	}{
		{follow, "Follow", bob, alice.String(), false, false, `"object":"https://a.example/users/alice"`},
		{accept, "Accept", alice, "https://b.example/follows/1", true, false, `"type":"Follow"`},
		{reject, "Reject", alice, "https://b.example/follows/1", true, false, `"type":"Follow"`},
		{undo, "Undo", bob, "https://b.example/follows/1", true, false, `"type":"Follow"`},
		{create, "Create", alice, "https://a.example/notes/1", true, true, `"published":"2024-05-06T07:08:09Z"`},
		{update, "Update", alice, "https://a.example/notes/1", true, true, `"content":"<p>hello</p>"`},
		{like, "Like", bob, "https://a.example/notes/1", false, false, `"type":"Like"`},
		{announce, "Announce", bob, "https://a.example/notes/1", false, false, `"type":"Announce"`},
		{del, "Delete", alice, "https://a.example/notes/1", true, false, `"formerType":"Note"`},
	}
	for _, tt := range tests {
		t.Run(tt.typ, func(t *testing.T) {
			assert.Equal(t, tt.typ, Type(tt.v))
			assert.Equal(t, []*url.URL{tt.actor}, Actors(tt.v))
			assert.Equal(t, []string{tt.object}, strs(Objects(tt.v)))
			assert.Equal(t, tt.embeds, len(EmbeddedObjects(tt.v)) == 1)
			assert.Equal(t, tt.public, IsPublicAddressed(tt.v))
			out, err := Serialize(tt.v)
			require.NoError(t, err)
			assert.Contains(t, string(out), tt.snippet)
			back, err := Parse(ctx, out)
			require.NoError(t, err)
			assert.Equal(t, tt.typ, Type(back))
			assert.Equal(t, ID(tt.v).String(), ID(back).String())
			assert.Equal(t, strs(Recipients(tt.v)), strs(Recipients(back)))
		})
	}
	out, err := Serialize(tomb)
	require.NoError(t, err)
	assert.True(t, strings.Contains(string(out), `"deleted":"2024-05-06T07:08:09Z"`), string(out))
	assert.Equal(t, strs(To(note)), strs(To(create)))
	assert.Equal(t, strs(Cc(note)), strs(Cc(create)))
}
