package jsonld

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestIDs(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []string
	}{
		{"absent", ``, nil},
		{"null", `null`, nil},
		{"string", `"https://a.example/x"`, []string{"https://a.example/x"}},
		{"empty string", `""`, nil},
		{"object", `{"id":"https://a.example/x","type":"Person"}`, []string{"https://a.example/x"}},
		{"object @id", `{"@id":"https://a.example/x"}`, []string{"https://a.example/x"}},
		{"object without id", `{"type":"Link"}`, nil},
		{"object with numeric id", `{"id":5}`, nil},
		{"array", ` ["https://a.example/x", {"id":"https://a.example/y"}, 7, null, ["z"], {}] `,
			[]string{"https://a.example/x", "https://a.example/y"}},
		{"empty array", `[]`, []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := IDs(json.RawMessage(tt.in))
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestIDsErrors(t *testing.T) {
	for _, in := range []string{`5`, `true`, `"unterminated`, `[1,`, `{"id":`} {
		_, err := IDs(json.RawMessage(in))
		assert.Error(t, err, "input %s", in)
	}
}

func TestIsPublic(t *testing.T) {
	for _, s := range []string{PublicIRI, "as:Public", "Public"} {
		assert.True(t, IsPublic(s), s)
	}
	for _, s := range []string{"", "public", "https://www.w3.org/ns/activitystreams", "https://a.example/users/x/followers"} {
		assert.False(t, IsPublic(s), s)
	}
}

func TestIsPublicDocument(t *testing.T) {
	tests := []struct {
		doc  string
		want bool
	}{
		{`{"to":"https://www.w3.org/ns/activitystreams#Public"}`, true},
		{`{"to":["https://a.example/u"],"cc":["as:Public"]}`, true},
		{`{"cc":"Public"}`, true},
		{`{"to":[{"id":"https://www.w3.org/ns/activitystreams#Public"}]}`, true},
		{`{"to":["https://a.example/u/followers"]}`, false},
		{`{"bcc":["https://www.w3.org/ns/activitystreams#Public"]}`, false},
		{`{"bto":"as:Public"}`, false},
		{`{}`, false},
	}
	for _, tt := range tests {
		got, err := IsPublicDocument([]byte(tt.doc))
		require.NoError(t, err, tt.doc)
		assert.Equal(t, tt.want, got, tt.doc)
	}
	_, err := IsPublicDocument([]byte(`{"to":5}`))
	assert.Error(t, err)
	_, err = IsPublicDocument([]byte(`not json`))
	assert.Error(t, err)
}

// Real documents from other servers: their visibility is known.
func TestIsPublicDocumentFixtures(t *testing.T) {
	dir := filepath.Join("..", "testdata", "fixtures", "activities")
	tests := map[string]bool{
		"mastodon-create-note-1.json":        true,
		"mastodon-announce-private-2.json":   false,
		"lemmy-create-page-1.json":           true,
		"gotosocial-create-pollvotes-1.json": false,
	}
	for name, want := range tests {
		doc, err := os.ReadFile(filepath.Join(dir, name))
		require.NoError(t, err)
		got, err := IsPublicDocument(doc)
		require.NoError(t, err, name)
		assert.Equal(t, want, got, name)
	}
}

func TestStripHidden(t *testing.T) {
	in := `{"id":"https://a.example/a/1","type":"Create","to":"as:Public","bto":["https://b.example/x"],` +
		`"object":{"id":"https://a.example/n/1","bcc":"https://c.example/y","content":"a<b"}}`
	out, err := StripHidden([]byte(in))
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(out, &m))
	assert.NotContains(t, m, "bto")
	obj := m["object"].(map[string]any)
	assert.NotContains(t, obj, "bcc")
	assert.Equal(t, "a<b", obj["content"])
	assert.Equal(t, "as:Public", m["to"])
	assert.NotContains(t, string(out), `\u003c`, "HTML escaping must be off")

	arr := `{"object":[{"id":"x","bto":"y"},"z"]}`
	out, err = StripHidden([]byte(arr))
	require.NoError(t, err)
	assert.JSONEq(t, `{"object":[{"id":"x"},"z"]}`, string(out))

	clean := `{"id":"x",  "to":"as:Public","object":"y"}`
	out, err = StripHidden([]byte(clean))
	require.NoError(t, err)
	assert.Equal(t, clean, string(out), "a clean document is returned unchanged")

	_, err = StripHidden([]byte(`[1]`))
	assert.Error(t, err)
}

func FuzzIDs(f *testing.F) {
	for _, s := range []string{`"x"`, `["a",{"id":"b"}]`, `{"@id":"c"}`, `null`, `[[[]]]`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ids, err := IDs(json.RawMessage(s))
		if err == nil {
			for _, id := range ids {
				if id == "" {
					t.Fatalf("empty id from %q", s)
				}
			}
		}
		_, _ = StripHidden([]byte(s))
	})
}
