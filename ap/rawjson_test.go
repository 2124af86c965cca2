package ap

import (
	"encoding/json"
	"net/url"
	"reflect"
	"slices"
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

// embeddedOracle is what EmbeddedJSON must return, decoded: the first
// member of the top-level object with that id, the activity's @context
// added when it has none, read with encoding/json.
func embeddedOracle(raw []byte, id string) (map[string]any, bool) {
	var doc map[string]any
	if json.Unmarshal(raw, &doc) != nil {
		return nil, false
	}
	members, ok := doc["object"].([]any)
	if !ok {
		members = []any{doc["object"]}
	}
	for _, m := range members {
		obj, ok := m.(map[string]any)
		if !ok {
			continue
		}
		if mid, ok := obj["id"].(string); !ok || mid == "" || !sameIRI(mid, id) {
			continue
		}
		if _, has := obj["@context"]; !has && doc["@context"] != nil {
			obj["@context"] = doc["@context"]
		}
		return obj, true
	}
	return nil, false
}

// checkEmbedded compares EmbeddedJSON with the oracle for every id the
// document's object names.
func checkEmbedded(t *testing.T, raw []byte) {
	t.Helper()
	var doc map[string]any
	if json.Unmarshal(raw, &doc) != nil {
		return
	}
	ids := []string{"https://a.example/notes/1", ""}
	members, ok := doc["object"].([]any)
	if !ok {
		members = []any{doc["object"]}
	}
	for _, m := range members {
		if obj, ok := m.(map[string]any); ok {
			if id, ok := obj["id"].(string); ok {
				ids = append(ids, id)
			}
		}
	}
	checkDocEmbedded(t, raw)
	for _, id := range ids {
		want, wok := embeddedOracle(raw, id)
		got, gok := EmbeddedJSON(raw, id)
		if wok != gok {
			t.Fatalf("id %q: found %v, want %v (got %s)", id, gok, wok, got)
		}
		if !gok {
			continue
		}
		var gm map[string]any
		if err := json.Unmarshal(got, &gm); err != nil {
			t.Fatalf("id %q: %s is not JSON: %v", id, got, err)
		}
		if !reflect.DeepEqual(gm, want) {
			t.Fatalf("id %q: got %s, want %v", id, got, want)
		}
	}
}

// checkDocEmbedded compares Doc.EmbeddedJSON, for each object Decode
// finds embedded in raw, with decoding: the object's own members, with
// the activity's @context added when it has none, and, for the first
// object of each id, with EmbeddedJSON.
func checkDocEmbedded(t *testing.T, raw []byte) {
	t.Helper()
	d, err := Decode(raw)
	if err != nil {
		return
	}
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("Decode accepted what encoding/json refuses: %v", err)
	}
	var earlier []string // ids of the objects before
	for _, o := range d.EmbeddedObjects() {
		got, ok := d.EmbeddedJSON(o)
		if !ok {
			t.Fatalf("Doc.EmbeddedJSON refused an object decoded from the bytes: %s", o.raw)
		}
		var gm, want map[string]any
		if err := json.Unmarshal(got, &gm); err != nil {
			t.Fatalf("%s is not JSON: %v", got, err)
		}
		if err := json.Unmarshal(o.raw, &want); err != nil {
			t.Fatal(err)
		}
		if _, has := want["@context"]; !has && doc["@context"] != nil {
			want["@context"] = doc["@context"]
		}
		if !reflect.DeepEqual(gm, want) {
			t.Fatalf("Doc.EmbeddedJSON %s, want %v", got, want)
		}
		id, ok := want["id"].(string)
		if !ok || id == "" || slices.ContainsFunc(earlier, func(e string) bool { return sameIRI(e, id) || sameIRI(id, e) }) {
			continue
		}
		earlier = append(earlier, id)
		if wm, ok := embeddedOracle(raw, id); ok && !reflect.DeepEqual(gm, wm) {
			t.Fatalf("Doc.EmbeddedJSON %s, EmbeddedJSON %v", got, wm)
		}
	}
}

// EmbeddedJSON, which scans the bytes, finds what decoding finds in every
// fixture and in the tricky cases.
func TestEmbeddedJSONMatchesDecoding(t *testing.T) {
	for _, f := range fixtureFiles(t) {
		checkEmbedded(t, fixtureBody(t, f))
	}
	for _, raw := range []string{
		`{"@context":null,"object":{"id":"https://a.example/notes/1"}}`,
		`{"object":{"id":"https://a.example/notes/1","id":"https://a.example/notes/2"}}`,
		`{"object":{"id":"https://a.example/notes/2"},"object":{"id":"https://a.example/notes/1","x":"}]\"{"}}`,
		`{"\u006fbject":{"\u0069d":"https:\/\/a.example\/notes\/1"},"@context":["a",{"b":"c"}]}`,
		`{"object":[1,"x",null,{"id":"https://a.example/notes/1"},{"id":"https://a.example/notes/1","n":2}]}`,
		`{"@context":"x","object":{"id":"https://a.example/notes/1","@context":null}}`,
		` { "object" : { "id" : "https://a.example/notes/1" } , "@context" : "x" } `,
		`{"object":{"id":"HTTPS://A.EXAMPLE/notes/1"}}`,
	} {
		checkEmbedded(t, []byte(raw))
	}
}

// FuzzEmbeddedJSON: on any JSON, EmbeddedJSON agrees with decoding, and
// on anything else it returns valid JSON or nothing.
func FuzzEmbeddedJSON(f *testing.F) {
	for _, file := range fixtureFiles(f) {
		f.Add(fixtureBody(f, file))
	}
	f.Add([]byte(rawCreate))
	f.Fuzz(func(t *testing.T, raw []byte) {
		if got, ok := EmbeddedJSON(raw, "https://a.example/notes/1"); ok && !json.Valid(got) {
			t.Fatalf("invalid JSON %q", got)
		}
		checkEmbedded(t, raw)
	})
}
