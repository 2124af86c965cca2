package ap

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"code.superseriousbusiness.org/activity/streams/vocab"
	"github.com/stretchr/testify/require"
)

// diffDoc compares what the fast view reads with what the reading API
// reads from the generated value, for one document and, recursively, for
// the objects it embeds. It returns the differences, one per line.
//
// The view reads more than the vocabulary in one place, which is skipped:
// "actor" on types the vocabulary gives no actor property (Pleroma, Akkoma
// and Mobilizon put it on Notes and Events).
//
// Two differences are the vocabulary's known losses, not the view's, and
// are accepted where they occur (langEqual): text that looks like an IRI
// ("CW: spoilers") has its scheme lower-cased by the vocabulary, and a
// document with both content and contentMap loses the map there.
func diffDoc(path string, d *Doc, v vocab.Type) []string {
	var out []string
	add := func(what string, fast, gen any) {
		if !reflect.DeepEqual(fast, gen) {
			out = append(out, fmt.Sprintf("%s: %s: fast %v, generated %v", path, what, fast, gen))
		}
	}
	iris := func(us []*url.URL) []string {
		var s []string
		for _, u := range us {
			s = append(s, u.String())
		}
		return s
	}
	iri := func(u *url.URL) string {
		if u == nil {
			return ""
		}
		return u.String()
	}
	add("ID", iri(d.ID()), iri(ID(v)))
	add("Type", d.Type(), Type(v))
	if _, ok := v.(WithActor); ok || len(Actors(v)) > 0 {
		add("Actors", iris(d.Actors()), iris(Actors(v)))
	}
	add("Objects", iris(d.Objects()), iris(Objects(v)))
	add("AttributedTo", iris(d.AttributedTo()), iris(AttributedTo(v)))
	add("To", iris(d.To()), iris(To(v)))
	add("Cc", iris(d.Cc()), iris(Cc(v)))
	add("Bto", iris(d.Bto()), iris(Bto(v)))
	add("Bcc", iris(d.Bcc()), iris(Bcc(v)))
	add("Audience", iris(d.Audience()), iris(Audience(v)))
	add("Recipients", iris(d.Recipients()), iris(Recipients(v)))
	add("IsPublicAddressed", d.IsPublicAddressed(), IsPublicAddressed(v))
	add("InReplyTo", iri(d.InReplyTo()), iri(InReplyTo(v)))
	for _, p := range []struct {
		what      string
		fast, gen string
	}{{"Content", d.Content(), Content(v)}, {"Summary", d.Summary(), Summary(v)}, {"Name", d.Name(), Name(v)}} {
		if !langEqual(p.fast, p.gen) {
			add(p.what, p.fast, p.gen)
		}
	}
	if gm := ContentMap(v); gm != nil || d.Get("content") == nil {
		add("ContentMap", d.ContentMap(), gm)
	}
	add("Sensitive", d.Sensitive(), Sensitive(v))
	add("Published", d.Published().UTC(), Published(v).UTC())
	add("Updated", d.Updated().UTC(), Updated(v).UTC())
	add("Mentions", fmt.Sprint(d.Mentions()), fmt.Sprint(Mentions(v)))
	add("Hashtags", fmt.Sprint(d.Hashtags()), fmt.Sprint(Hashtags(v)))
	ft, gt := d.Tags(), Tags(v)
	if len(ft) != len(gt) {
		add("Tags", len(ft), len(gt))
	} else {
		for i := range ft {
			g := gt[i]
			g.Icon = nil // the view's tags do not read icons
			if !langEqual(ft[i].Name, g.Name) {
				add(fmt.Sprintf("Tags[%d].Name", i), ft[i].Name, g.Name)
			}
			ft[i].Name, g.Name = "", ""
			add(fmt.Sprintf("Tags[%d]", i), fmt.Sprint(ft[i]), fmt.Sprint(g))
		}
	}
	ids, docs := d.ObjectRefs()
	gids, vals := ObjectRefs(v)
	add("ObjectRefs", iris(ids), iris(gids))
	if len(docs) == len(vals) {
		for i := range docs {
			if (docs[i] == nil) != (vals[i] == nil) {
				add(fmt.Sprintf("ObjectRefs[%d] embedded", i), docs[i] != nil, vals[i] != nil)
				continue
			}
			if docs[i] != nil {
				out = append(out, diffDoc(path+".object", docs[i], vals[i])...)
			}
		}
	}
	add("EmbeddedObjects", len(d.EmbeddedObjects()), len(EmbeddedObjects(v)))
	return out
}

// langEqual accepts the vocabulary's lower-casing of an IRI-like text's
// scheme.
func langEqual(fast, gen string) bool {
	if fast == gen {
		return true
	}
	if i := strings.IndexByte(fast, ':'); i > 0 && strings.EqualFold(fast[:i], gen[:min(i, len(gen))]) {
		if u, err := url.Parse(fast); err == nil && u.Scheme != "" && u.String() == gen {
			return true
		}
	}
	return false
}

// Every document fixture reads through the fast view with the values the
// reading API gets from the generated types.
func TestDocMatchesGeneratedTypes(t *testing.T) {
	ctx := context.Background()
	checked := 0
	for _, f := range fixtureFiles(t) {
		data := fixtureBody(t, f)
		v, perr := Parse(ctx, data)
		d, derr := Decode(data)
		if perr != nil {
			if errors.Is(perr, ErrUnsupportedType) {
				require.NoError(t, derr, "%s: the view reads documents of types the vocabulary lacks", f)
				continue
			}
			require.Error(t, derr, "%s: Parse refused it (%v), Decode must too", f, perr)
			require.Equal(t, StatusOf(perr), StatusOf(derr), f)
			continue
		}
		require.NoError(t, derr, f)
		for _, diff := range diffDoc(filepath.Base(f), d, v) {
			t.Error(diff)
		}
		// The generated value the view builds on demand is the same.
		lv, err := d.Vocab(ctx)
		require.NoError(t, err, f)
		a, _ := Serialize(v)
		b, _ := Serialize(lv)
		require.JSONEq(t, string(a), string(b), f)
		checked++
	}
	require.Greater(t, checked, 50)
}

// Invalid documents are refused by Decode as by Parse, with the same
// status.
func TestDocRefusesWhatParseRefuses(t *testing.T) {
	entries, err := os.ReadDir(filepath.Join(fixtures, "invalid"))
	require.NoError(t, err)
	for _, e := range entries {
		data := fixtureBody(t, filepath.Join(fixtures, "invalid", e.Name()))
		_, perr := Parse(context.Background(), data)
		_, derr := Decode(data)
		if perr == nil || errors.Is(perr, ErrUnsupportedType) {
			continue
		}
		require.Error(t, derr, e.Name())
		require.Equal(t, StatusOf(perr), StatusOf(derr), e.Name())
	}
}

// The view keeps what the vocabulary loses: the case of IRI-like text and
// contentMap beside content.
func TestDocKeepsWhatTheVocabularyLoses(t *testing.T) {
	d, err := Decode([]byte(`{"@context":"https://www.w3.org/ns/activitystreams","type":"Note","id":"https://a.example/n/1",
		"summary":"CW: spoilers","content":"<p>hi</p>","contentMap":{"en":"<p>hi</p>","de":"<p>hallo</p>"}}`))
	require.NoError(t, err)
	require.Equal(t, "CW: spoilers", d.Summary())
	require.Equal(t, map[string]string{"en": "<p>hi</p>", "de": "<p>hallo</p>"}, d.ContentMap())
	v, err := d.Vocab(context.Background())
	require.NoError(t, err)
	require.Equal(t, "cw: spoilers", Summary(v), "the vocabulary's loss, which the view avoids")
}

// ReferObjects on the view replaces refused embedded copies by their ids,
// and the generated value built afterwards agrees.
func TestDocReferObjects(t *testing.T) {
	d, err := Decode([]byte(`{"@context":"https://www.w3.org/ns/activitystreams","type":"Announce","id":"https://a.example/a/1",
		"actor":"https://a.example/u","object":[{"id":"https://b.example/n/1","type":"Note","content":"FORGED"},
		{"id":"https://a.example/n/2","type":"Note","content":"mine"}]}`))
	require.NoError(t, err)
	changed := d.ReferObjects(func(id *url.URL, _ *Doc) bool { return id.Host == "a.example" })
	require.True(t, changed)
	ids, docs := d.ObjectRefs()
	require.Len(t, ids, 2)
	require.Nil(t, docs[0])
	require.NotNil(t, docs[1])
	v, err := d.Vocab(context.Background())
	require.NoError(t, err)
	require.Len(t, EmbeddedObjects(v), 1)
	out, _ := Serialize(v)
	require.NotContains(t, string(out), "FORGED")
}

// FuzzDecode checks that no input makes Decode panic or answer with
// anything but a 4xx, and that on every input Parse also accepts, the
// view reads what the generated types read.
func FuzzDecode(f *testing.F) {
	addFixtureSeeds(f)
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := Decode(data)
		v, perr := Parse(ctx, data)
		if err != nil {
			if s := StatusOf(err); s < 400 || s > 499 {
				t.Fatalf("status %d for %v", s, err)
			}
			if perr == nil {
				t.Fatalf("Decode refused (%v) what Parse accepts", err)
			}
			if StatusOf(err) != StatusOf(perr) {
				t.Fatalf("Decode refused with %d (%v), Parse with %d (%v)", StatusOf(err), err, StatusOf(perr), perr)
			}
			return
		}
		if perr != nil {
			return
		}
		for _, diff := range diffDoc("input", d, v) {
			t.Error(diff)
		}
		// The generated value built from the view is Parse's.
		lv, err := d.Vocab(ctx)
		if err != nil {
			t.Fatalf("Vocab: %v, Parse accepted it", err)
		}
		a, aerr := Serialize(v)
		b, berr := Serialize(lv)
		if (aerr == nil) != (berr == nil) || string(a) != string(b) {
			t.Fatalf("Vocab serialises to %s (%v), Parse's value to %s (%v)", b, berr, a, aerr)
		}
	})
}

// What the builders write reads back through the fast view with the
// values the generated readers get, embedded objects included.
func TestDocReadsWhatTheBuildersWrite(t *testing.T) {
	ctx := context.Background()
	u := func(s string) *url.URL { p, _ := url.Parse(s); return p }
	alice, bob := u("https://a.example/users/alice"), u("https://b.example/users/bob")
	at := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	parent := NewNote(u("https://b.example/users/bob/statuses/1"), bob, "<p>CW: hi @alice</p>", at)
	SetTo(parent, u(PublicIRI))
	SetCc(parent, u("https://b.example/users/bob/followers"))
	AddMention(parent, Mention{Href: alice, Name: "@alice@a.example"})
	AddHashtag(parent, Hashtag{Href: u("https://b.example/tags/go"), Name: "#go"})
	SetSummary(parent, "CW: spoilers")
	reply := NewReply(u("https://a.example/users/alice/statuses/2"), alice, parent, "<p>hello</p>",
		&ReplyOptions{Followers: u("https://a.example/users/alice/followers"), Published: at})
	poll := NewPoll(u("https://a.example/users/alice/statuses/3"), alice, "<p>which?</p>", at,
		Poll{Options: []PollOption{{Name: "this", Votes: 2}, {Name: "that"}}, EndTime: at.Add(time.Hour)})
	docs := map[string]vocab.Type{
		"create(reply)": NewCreate(u("https://a.example/users/alice/activities/1"), alice, reply),
		"create(poll)":  NewCreate(u("https://a.example/users/alice/activities/2"), alice, poll),
		"boost":         NewBoost(u("https://a.example/users/alice/activities/3"), alice, u("https://a.example/users/alice/followers"), parent, at),
		"update(note)":  NewUpdate(u("https://b.example/users/bob/activities/4"), bob, parent),
		"like":          NewLike(u("https://a.example/users/alice/activities/5"), alice, u("https://b.example/users/bob/statuses/1")),
		"follow":        NewFollow(u("https://a.example/users/alice/activities/6"), alice, bob),
	}
	for name, v := range docs {
		data, err := Serialize(v)
		require.NoError(t, err, name)
		d, err := Decode(data)
		require.NoError(t, err, name)
		pv, err := Parse(ctx, data)
		require.NoError(t, err, name)
		for _, diff := range diffDoc(name, d, pv) {
			t.Error(diff)
		}
	}
	// And the values the builders set are the ones read.
	data, err := Serialize(docs["create(reply)"])
	require.NoError(t, err)
	d, err := Decode(data)
	require.NoError(t, err)
	_, objs := d.ObjectRefs()
	require.Len(t, objs, 1)
	r := objs[0]
	require.Equal(t, "https://b.example/users/bob/statuses/1", r.InReplyTo().String())
	require.Contains(t, r.Content(), `class="u-url mention">@<span>bob</span></a></span> hello</p>`, "NewReply mentions the parent's author first")
	require.NotEmpty(t, r.Mentions())
	require.Equal(t, bob.String(), r.Mentions()[0].Href.String())
	require.True(t, r.IsPublicAddressed())
}

// A Doc reads each member as encoding/json does, the last of a name given
// twice winning, whether it has a few members or enough to be indexed,
// at the top level and embedded.
func TestDocMembersAsEncodingJSON(t *testing.T) {
	for _, n := range []int{3, indexFrom - 4, indexFrom - 3, indexFrom - 2, 3 * indexFrom} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			var obj bytes.Buffer
			obj.WriteString(`{"type":"Note","id":"https://a.example/n/1","content":"first"`)
			for i := range n {
				fmt.Fprintf(&obj, `,"x%d":%d`, i, i)
				if i%7 == 0 { // given again, later, with another value
					fmt.Fprintf(&obj, `,"x%d":"again %d"`, i/2, i)
				}
			}
			obj.WriteString(`,"content":"last"}`)
			doc := fmt.Sprintf(`{"@context":"https://www.w3.org/ns/activitystreams","type":"Create","id":null,
				"actor":"https://a.example/u","object":%s}`, obj.String())
			d, err := Decode([]byte(doc))
			require.NoError(t, err)
			require.Nil(t, d.ID())
			require.False(t, d.has("id"), "a null id is no member")
			var want map[string]any
			require.NoError(t, json.Unmarshal(obj.Bytes(), &want))
			_, notes := d.ObjectRefs()
			require.Len(t, notes, 1)
			note := notes[0]
			require.Equal(t, "last", note.Content())
			for k, v := range want {
				require.Equal(t, v, note.Get(k), k)
			}
			require.Nil(t, note.Get("absent"))
			require.Len(t, note.members.list, len(want), "one member a name")
			require.Equal(t, len(want) > indexFrom, note.members.index != nil, "indexed beyond indexFrom")
		})
	}
}

// The view's Recipients agree with the generated value's, duplicates
// removed in order, with few recipients or many,
// each caller getting URLs of its own.
func TestDocRecipientsAsGenerated(t *testing.T) {
	for _, n := range []int{2, 15, 16, 17, 60} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			var cc []string
			for i := range n {
				cc = append(cc, fmt.Sprintf(`"https://b.example/users/u%d"`, i%(n/2+1)))
			}
			doc := fmt.Sprintf(`{"@context":"https://www.w3.org/ns/activitystreams","type":"Note","id":"https://a.example/n/1",
				"to":["https://b.example/users/u0","as:Public"],"cc":[%s],"bcc":"https://www.w3.org/ns/activitystreams#Public",
				"audience":{"type":"Group","id":"https://c.example/g"}}`, strings.Join(cc, ","))
			d, err := Decode([]byte(doc))
			require.NoError(t, err)
			v, err := Parse(context.Background(), []byte(doc))
			require.NoError(t, err)
			got := d.Recipients()
			require.Equal(t, strs(Recipients(v)), strs(got))
			require.Len(t, got, n/2+1+2, "u0 ... and Public, and the group")
			require.True(t, d.IsPublicAddressed())
			got[0].Path = "/changed"
			require.Equal(t, "https://b.example/users/u0", d.Recipients()[0].String())
		})
	}
	d, err := Decode([]byte(`{"type":"Note","id":"https://a.example/n/1","to":"https://b.example/u","cc":"x"}`))
	require.NoError(t, err)
	require.False(t, d.IsPublicAddressed())
}
