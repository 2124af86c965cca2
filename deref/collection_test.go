package deref_test

import (
	"context"
	"errors"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slothpub/slothpub/deref"
)

func iriStrings(us []*url.URL) []string {
	var out []string
	for _, u := range us {
		out = append(out, u.String())
	}
	return out
}

// A Mastodon-style followers collection (first page embedded, the next
// by IRI) and a paged one read page by page; each read is a fetch.
func TestCollectionPage(t *testing.T) {
	ctx := context.Background()
	rm := newRemote(t)
	rm.set("/users/a/followers", `{"@context":"https://www.w3.org/ns/activitystreams","id":"{{ORIGIN}}/users/a/followers",
		"type":"OrderedCollection","totalItems":3,
		"first":{"id":"{{ORIGIN}}/users/a/followers?page=1","type":"OrderedCollectionPage",
			"orderedItems":["{{ORIGIN}}/users/b",{"id":"{{ORIGIN}}/users/c","type":"Person"}],
			"next":"{{ORIGIN}}/users/a/followers?page=2"}}`)
	rm.set("/users/a/followers?page=2", `{"@context":"https://www.w3.org/ns/activitystreams","id":"{{ORIGIN}}/users/a/followers?page=2",
		"type":"OrderedCollectionPage","orderedItems":["{{ORIGIN}}/users/d"],"next":"https://elsewhere.example/page=3"}`)
	rm.set("/groups/g/members", `{"@context":"https://www.w3.org/ns/activitystreams","id":"{{ORIGIN}}/groups/g/members",
		"type":"Collection","items":["{{ORIGIN}}/users/e", 7, "not an iri"],"first":"{{ORIGIN}}/groups/g/members"}`)
	rm.set("/users/b", actorJSON(t, rm.origin(), "/users/b", nil))
	s := newSetup(t, nil)

	p, err := s.r.CollectionPage(ctx, rm.url("/users/a/followers"))
	require.NoError(t, err)
	assert.Equal(t, []string{rm.iri("/users/b"), rm.iri("/users/c")}, iriStrings(p.Items))
	require.NotNil(t, p.Next)
	assert.Equal(t, rm.iri("/users/a/followers?page=2"), p.Next.String())

	p, err = s.r.CollectionPage(ctx, p.Next)
	require.NoError(t, err)
	assert.Equal(t, []string{rm.iri("/users/d")}, iriStrings(p.Items))
	assert.Nil(t, p.Next, "a page on another origin is not followed")

	p, err = s.r.CollectionPage(ctx, rm.url("/groups/g/members"))
	require.NoError(t, err)
	assert.Equal(t, []string{rm.iri("/users/e")}, iriStrings(p.Items), "items that are not IRIs are left out")
	assert.Nil(t, p.Next, "a first page that is the collection itself is not followed")

	_, err = s.r.CollectionPage(ctx, rm.url("/users/b"))
	assert.ErrorIs(t, err, deref.ErrInvalidDocument, "an actor is not a collection")
	_, err = s.r.Actor(ctx, rm.url("/users/a/followers"))
	assert.True(t, errors.Is(err, deref.ErrNotActor) && errors.Is(err, deref.ErrInvalidDocument), "a collection is not an actor: %v", err)

	hits := func() int {
		rm.mu.Lock()
		defer rm.mu.Unlock()
		return rm.hits["/users/a/followers"]
	}
	before := hits()
	_, err = s.r.CollectionPage(ctx, rm.url("/users/a/followers"))
	require.NoError(t, err)
	assert.Equal(t, before+1, hits(), "a collection is fetched again, not read from the cache")
}
