package ap

import (
	"context"
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
