package storetest

import (
	"fmt"
	"testing"

	"github.com/slothpub/slothpub/store"
)

// BenchCreateObject measures CreateObject of new, distinct objects of a
// typical size (about 600 bytes of JSON). s should be empty.
func BenchCreateObject(b *testing.B, s store.Store) {
	ctx := b.Context()
	data := make([]byte, 0, 600)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		iri := fmt.Sprintf("https://example.com/bench/create/%d", i)
		i++
		data = fmt.Appendf(data[:0], `{"@context":"https://www.w3.org/ns/activitystreams","id":%q,"type":"Note",`+
			`"attributedTo":"https://example.com/users/alice","to":["https://www.w3.org/ns/activitystreams#Public"],`+
			`"cc":["https://example.com/users/alice/followers"],"published":"2024-05-01T12:00:00Z",`+
			`"content":"<p>A benchmark note of a typical length, long enough to look like a real post on a `+
			`fediverse server, with a few words in it and a link or two.</p>"}`, iri)
		if err := s.CreateObject(ctx, &store.Object{
			IRI: iri, Type: "Note", Actor: "https://example.com/users/alice", Local: true, Data: data,
		}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchItemsPage measures reading pages of 20 items from a collection of
// 10,000, walking from the newest page to the oldest and starting over.
// s should be empty.
func BenchItemsPage(b *testing.B, s store.Store) {
	ctx := b.Context()
	const n, limit = 10000, 20
	const collection = "https://example.com/users/alice/followers"
	for i := range n {
		if err := s.AddItem(ctx, collection, fmt.Sprintf("https://remote.example/users/u%d", i)); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	cursor := ""
	for b.Loop() {
		p, err := s.Items(ctx, collection, cursor, limit)
		if err != nil {
			b.Fatal(err)
		}
		if len(p.Items) == 0 {
			b.Fatal("empty page")
		}
		cursor = p.Next
	}
}
