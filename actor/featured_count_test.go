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

// Featured is filtered on read like the outbox: its totalItems counts the
// pinned objects its pages show, not those it holds.
func TestFeaturedCountsWhatItShows(t *testing.T) {
	ctx := context.Background()
	st := memstore.New()
	d := actor.NewDirectory(st, "social.example", nil)
	alice, err := d.Create(ctx, "alice")
	require.NoError(t, err)
	pin := func(id, to string) {
		iri := alice.IRI().String() + "/statuses/" + id
		require.NoError(t, st.CreateObject(ctx, &store.Object{IRI: iri, Type: "Note", Actor: alice.IRI().String(), Local: true,
			Data: []byte(`{"id":"` + iri + `","type":"Note","to":[` + to + `]}`)}))
		require.NoError(t, st.AddItem(ctx, alice.Featured().String(), iri))
	}
	pin("public", `"https://www.w3.org/ns/activitystreams#Public"`)
	pin("followers", `"`+alice.Followers().String()+`"`)
	require.NoError(t, st.AddItem(ctx, alice.Featured().String(), alice.IRI().String()+"/statuses/missing"))
	mux := http.NewServeMux()
	d.Register(mux)
	get := func(iri string, into any) {
		req := httptest.NewRequest(http.MethodGet, iri, nil)
		req.Header.Set("Accept", "application/activity+json")
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, req)
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		require.NoError(t, json.Unmarshal(rec.Body.Bytes(), into))
	}
	var coll struct{ TotalItems int }
	get(alice.Featured().String(), &coll)
	var page struct{ OrderedItems []json.RawMessage }
	get(alice.Featured().String()+"?page=true", &page)
	assert.Equal(t, 1, coll.TotalItems)
	assert.Len(t, page.OrderedItems, coll.TotalItems)
}
