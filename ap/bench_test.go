package ap

import (
	"context"
	"encoding/json"
	"path/filepath"
	"testing"
)

func BenchmarkParseCreateNote(b *testing.B) {
	data := fixtureBody(b, filepath.Join(fixtures, "activities/mastodon-create-note-1.json"))
	ctx := context.Background()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(ctx, data); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSerialize(b *testing.B) {
	v := parseFixture(b, "activities/mastodon-create-note-1.json")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Serialize(v); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkPrecheckDeep(b *testing.B) {
	deep := make([]byte, 0, 200002)
	deep = append(deep, '{', '"', 'x', '"', ':')
	for range 100000 {
		deep = append(deep, '[')
	}
	b.SetBytes(int64(len(deep)))
	for b.Loop() {
		if err := precheck(deep, MaxDepth); err == nil {
			b.Fatal("deep document accepted")
		}
	}
}

// BenchmarkDecodeCreateNote measures the fast view's Decode of the real
// Mastodon Create(Note), next to encoding/json decoding the same body into
// a map (the floor's part) and to EmbeddedJSON cutting its Note out.
func BenchmarkDecodeCreateNote(b *testing.B) {
	data := fixtureBody(b, filepath.Join(fixtures, "activities/mastodon-create-note-1.json"))
	b.Run("Decode", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		b.ReportAllocs()
		for b.Loop() {
			if _, err := Decode(data); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("json.Unmarshal", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		b.ReportAllocs()
		for b.Loop() {
			var m map[string]any
			if err := json.Unmarshal(data, &m); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Decode+Note", func(b *testing.B) {
		// What an inbox reads of a Create: the activity, its Note's id
		// and authors, the Note cut out to be stored.
		b.SetBytes(int64(len(data)))
		b.ReportAllocs()
		for b.Loop() {
			d, err := Decode(data)
			if err != nil {
				b.Fatal(err)
			}
			ids, notes := d.ObjectRefs()
			if len(ids) != 1 || notes[0] == nil || len(notes[0].AttributedTo()) != 1 {
				b.Fatal("no Note")
			}
			if _, ok := d.EmbeddedJSON(notes[0]); !ok {
				b.Fatal("Note not cut out")
			}
		}
	})
	b.Run("EmbeddedJSON", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		b.ReportAllocs()
		for b.Loop() {
			if _, ok := EmbeddedJSON(data, "https://mastodon.madrid/users/felix/statuses/107224289116410645"); !ok {
				b.Fatal("not found")
			}
		}
	})
}
