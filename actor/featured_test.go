package actor_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slothpub/slothpub/actor"
	"github.com/slothpub/slothpub/store"
	"github.com/slothpub/slothpub/store/memstore"
)

// Every collection the actor document advertises is served.
func TestAdvertisedCollectionsAreServed(t *testing.T) {
	ctx := context.Background()
	st := memstore.New()
	d := actor.NewDirectory(st, "social.example", nil)
	alice, err := d.Create(ctx, "alice")
	require.NoError(t, err)
	pinned := alice.IRI().String() + "/statuses/1"
	require.NoError(t, st.CreateObject(ctx, &store.Object{IRI: pinned, Type: "Note", Actor: alice.IRI().String(), Local: true,
		Data: []byte(`{"id":"` + pinned + `","type":"Note","to":["https://www.w3.org/ns/activitystreams#Public"],"content":"pinned"}`)}))
	require.NoError(t, st.AddItem(ctx, alice.Featured().String(), pinned))
	require.NoError(t, st.AddItem(ctx, alice.Liked().String(), "https://b.example/notes/9"))
	mux := http.NewServeMux()
	d.Register(mux)

	var doc map[string]any
	require.NoError(t, json.Unmarshal(alice.Document(), &doc))
	for _, prop := range []string{"outbox", "followers", "following", "featured", "liked"} {
		iri, ok := doc[prop].(string)
		require.True(t, ok, prop)
		req := httptest.NewRequest(http.MethodGet, iri+"?page=true", nil)
		req.Header.Set("Accept", "application/activity+json")
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, req)
		require.Equal(t, http.StatusOK, rec.Code, "%s: %s", prop, rec.Body)
		var page struct {
			Type         string            `json:"type"`
			OrderedItems []json.RawMessage `json:"orderedItems"`
		}
		require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &page), prop)
		assert.Equal(t, "OrderedCollectionPage", page.Type, prop)
		switch prop {
		case "featured":
			require.Len(t, page.OrderedItems, 1)
			assert.Contains(t, string(page.OrderedItems[0]), `"content":"pinned"`, "featured embeds the object")
		case "liked":
			require.Len(t, page.OrderedItems, 1)
			assert.JSONEq(t, `"https://b.example/notes/9"`, string(page.OrderedItems[0]))
		}
	}
}
