package ap

import (
	"encoding/json"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const rawCreate = `{"@context":["https://www.w3.org/ns/activitystreams",{"sensitive":"as:sensitive"}],
 "id":"https://a.example/creates/1","type":"Create","actor":"https://a.example/users/alice","summary":"CW: activity",
 "object":{"id":"https://a.example/notes/1","type":"Note","summary":"CW: spoilers","content":"<p>RE: https://x.example/1 &amp; more</p>","_misskey_content":"kept"}}`

func TestEmbeddedJSONKeepsBytes(t *testing.T) {
	got, ok := EmbeddedJSON([]byte(rawCreate), "https://a.example/notes/1")
	require.True(t, ok)
	s := string(got)
	assert.Contains(t, s, `"summary":"CW: spoilers"`)
	assert.Contains(t, s, `"content":"<p>RE: https://x.example/1 &amp; more</p>"`, "no HTML escaping, no lower-casing")
	assert.Contains(t, s, `"_misskey_content":"kept"`, "properties the vocabulary does not know are kept")
	var m map[string]any
	require.NoError(t, json.Unmarshal(got, &m))
	assert.Equal(t, []any{"https://www.w3.org/ns/activitystreams", map[string]any{"sensitive": "as:sensitive"}}, m["@context"], "the activity's context")

	_, ok = EmbeddedJSON([]byte(rawCreate), "https://a.example/notes/2")
	assert.False(t, ok)
	_, ok = EmbeddedJSON([]byte(`{"object":"https://a.example/notes/1"}`), "https://a.example/notes/1")
	assert.False(t, ok, "an IRI embeds nothing")

	// The vocabulary's round trip, for contrast, loses both.
	v, err := Parse(t.Context(), []byte(rawCreate))
	require.NoError(t, err)
	data, err := Serialize(EmbeddedObjects(v)[0])
	require.NoError(t, err)
	assert.NotContains(t, string(data), "CW: spoilers", "if this fails, the vocabulary became lossless: simplify")
}

func TestReferJSON(t *testing.T) {
	note := &url.URL{Scheme: "https", Host: "a.example", Path: "/notes/1"}
	got, err := ReferJSON([]byte(rawCreate), []*url.URL{note})
	require.NoError(t, err)
	s := string(got)
	assert.Contains(t, s, `"object":"https://a.example/notes/1"`)
	assert.NotContains(t, s, "spoilers")
	assert.Contains(t, s, `"summary":"CW: activity"`, "the rest keeps its bytes")

	arr := `{"id":"https://a.example/a/1","type":"Announce","object":[{"id":"https://b.example/n/1","content":"fake"},{"id":"https://a.example/n/2","content":"<b>own</b>"},"https://c.example/n/3"]}`
	got, err = ReferJSON([]byte(arr), []*url.URL{{Scheme: "https", Host: "b.example", Path: "/n/1"}})
	require.NoError(t, err)
	var m struct{ Object []json.RawMessage }
	require.NoError(t, json.Unmarshal(got, &m))
	require.Len(t, m.Object, 3)
	assert.JSONEq(t, `"https://b.example/n/1"`, string(m.Object[0]))
	assert.JSONEq(t, `{"id":"https://a.example/n/2","content":"<b>own</b>"}`, string(m.Object[1]))
	assert.Contains(t, string(got), `<b>own</b>`)
	assert.JSONEq(t, `"https://c.example/n/3"`, string(m.Object[2]))

	_, err = ReferJSON([]byte(`{"https://www.w3.org/ns/activitystreams#object":{}}`), []*url.URL{note})
	assert.ErrorIs(t, err, errNoObject)
	_, err = ReferJSON([]byte(`not json`), []*url.URL{note})
	assert.Error(t, err)
}
