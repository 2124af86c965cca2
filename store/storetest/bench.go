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
		data = noteJSON(data[:0], iri, "https://example.com/users/alice")
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
