package deref_test

import (
	"context"
	"testing"
)

// BenchmarkResolveKeyCached measures the hot path of signature
// verification: a key already in the memory cache.
func BenchmarkResolveKeyCached(b *testing.B) {
	ctx := context.Background()
	rm := newRemote(b)
	rm.set("/users/alice", actorJSON(b, rm.origin(), "/users/alice", rsaKeys()[0]))
	s := newSetup(b, nil)
	keyID := rm.iri("/users/alice#main-key")
	if _, err := s.r.ResolveKey(ctx, keyID, false); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.r.ResolveKey(ctx, keyID, false); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkActorCached measures Actor on a fresh document in the store:
// a store read plus parsing.
func BenchmarkActorCached(b *testing.B) {
	ctx := context.Background()
	rm := newRemote(b)
	rm.set("/users/alice", actorJSON(b, rm.origin(), "/users/alice", rsaKeys()[0]))
	s := newSetup(b, nil)
	u := rm.url("/users/alice")
	if _, err := s.r.Actor(ctx, u); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.r.Actor(ctx, u); err != nil {
			b.Fatal(err)
		}
	}
}
