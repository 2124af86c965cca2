package ap

import (
	"context"
	"net/url"
	"testing"

	"code.superseriousbusiness.org/activity/streams/vocab"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDocMentioned(t *testing.T) {
	d, err := Decode([]byte(`{"@context":"https://www.w3.org/ns/activitystreams","type":"Note",
		"id":"https://social.example/users/alice/statuses/1","attributedTo":"https://social.example/users/alice",
		"to":["https://bot.example/users/pingbot"],
		"content":"<p>@pingbot @carol hi #bots</p>",
		"tag":[{"type":"Mention","href":"https://bot.example/users/pingbot","name":"@pingbot@bot.example"},
			{"type":"Hashtag","href":"https://bot.example/users/dora","name":"#bots"},
			{"type":"Mention","name":"@carol@else.example"},
			"https://bot.example/users/erin"]}`))
	require.NoError(t, err)
	u := func(s string) *url.URL {
		v, err := url.Parse(s)
		require.NoError(t, err)
		return v
	}
	assert.True(t, d.Mentioned(u("https://bot.example/users/pingbot")))
	for _, not := range []string{
		"https://bot.example/users/pingbot/", // another IRI
		"https://bot.example/users/dora",     // a Hashtag's href
		"https://bot.example/users/erin",     // a tag by IRI only
		"https://social.example/users/alice", // the author
	} {
		assert.False(t, d.Mentioned(u(not)), not)
	}
	assert.False(t, d.Mentioned(nil))
}

// On every fixture, the view and the generated value agree on who is
// mentioned, and on someone who is not.
func TestDocMentionedMatchesGeneratedTypes(t *testing.T) {
	ctx := context.Background()
	stranger, _ := url.Parse("https://nowhere.example/users/nobody")
	checked := 0
	for _, f := range fixtureFiles(t) {
		data := fixtureBody(t, f)
		v, err := Parse(ctx, data)
		if err != nil {
			continue // refused, or of a type the vocabulary lacks
		}
		d, err := Decode(data)
		require.NoError(t, err, f)
		docs := append([]*Doc{d}, d.EmbeddedObjects()...)
		vals := append([]vocab.Type{v}, EmbeddedObjects(v)...)
		require.Len(t, vals, len(docs), f)
		for i, doc := range docs {
			for _, m := range Mentions(vals[i]) {
				assert.True(t, doc.Mentioned(m.Href), "%s: %s", f, m.Href)
				checked++
			}
			assert.False(t, Mentioned(vals[i], stranger), f)
			assert.False(t, doc.Mentioned(stranger), f)
		}
	}
	require.Greater(t, checked, 5, "fixtures with mentions")
}
