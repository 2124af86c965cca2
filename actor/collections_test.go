package actor

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slothpub/slothpub/store"
)

// walk follows a collection from its first page to the last, returning
// the items and the number of pages.
func walk(t *testing.T, s *testServer, collection string, firstSuffix string) (items []any, pages int) {
	t.Helper()
	coll := s.getJSON(collection)
	require.Equal(t, "OrderedCollection", coll["type"])
	require.Equal(t, collection, coll["id"])
	next := coll["first"].(string) + firstSuffix
	for next != "" {
		pages++
		require.Less(t, pages, 100, "paging does not end")
		page := s.getJSON(next)
		require.Equal(t, "OrderedCollectionPage", page["type"])
		require.Equal(t, collection, page["partOf"])
		require.Equal(t, next, page["id"])
		ordered, ok := page["orderedItems"].([]any)
		require.True(t, ok, "orderedItems is an array, also when empty: %v", page["orderedItems"])
		items = append(items, ordered...)
		next, _ = page["next"].(string)
	}
	return items, pages
}

func TestFollowersPaging(t *testing.T) {
	ctx := context.Background()
	s := newTestServer(t, nil)
	a := s.create("alice")
	coll := a.Followers().String()
	const n = 45
	var want []any
	for i := range n {
		iri := fmt.Sprintf("https://remote%d.example/users/u%d", i%3, i)
		require.NoError(t, s.st.AddItem(ctx, coll, iri))
		want = append(want, iri)
	}
	slices.Reverse(want) // newest first

	summary := s.getJSON(coll)
	assert.Equal(t, "https://www.w3.org/ns/activitystreams", summary["@context"])
	assert.Equal(t, float64(n), summary["totalItems"])
	assert.Equal(t, coll+"?page=true", summary["first"])
	assert.NotContains(t, summary, "orderedItems")

	items, pages := walk(t, s, coll, "")
	assert.Equal(t, want, items)
	assert.Equal(t, 3, pages, "20 + 20 + 5")

	items, pages = walk(t, s, coll, "&limit=7")
	assert.Equal(t, want, items)
	assert.Equal(t, 7, pages)

	// A client cannot ask for more than the page size.
	page := s.getJSON(coll + "?page=true&limit=1000")
	assert.Len(t, page["orderedItems"], DefaultPageSize)

	// Following is served the same way; empty means totalItems 0 and [].
	following := a.Following().String()
	assert.Equal(t, 0.0, s.getJSON(following)["totalItems"])
	items, pages = walk(t, s, following, "")
	assert.Empty(t, items)
	assert.Equal(t, 1, pages)
}

func TestCollectionPageSizeOption(t *testing.T) {
	ctx := context.Background()
	s := newTestServer(t, func(o *Options) { o.PageSize = 4 })
	a := s.create("alice")
	for i := range 9 {
		require.NoError(t, s.st.AddItem(ctx, a.Following().String(), fmt.Sprintf("https://r.example/u/%d", i)))
	}
	items, pages := walk(t, s, a.Following().String(), "")
	assert.Len(t, items, 9)
	assert.Equal(t, 3, pages)
}

func TestCollectionBadQueries(t *testing.T) {
	ctx := context.Background()
	s := newTestServer(t, nil)
	a := s.create("alice")
	require.NoError(t, s.st.AddItem(ctx, a.Followers().String(), "https://r.example/u/1"))
	base := "/users/alice/followers"
	for _, q := range []string{
		"?page=true&cursor=!!!", // not base64url
		"?page=true&cursor=",    // empty
		"?page=true&cursor=" + encodeCursor("not-a-store-cursor"),      // decodes, store rejects
		"?page=true&cursor=" + encodeCursor(string(make([]byte, 600))), // too long
		"?page=false",
		"?page=true&limit=0",
		"?page=true&limit=-3",
		"?page=true&limit=ten",
		"?cursor=" + url.QueryEscape("%%%"),
	} {
		for _, coll := range []string{base, "/users/alice/outbox"} {
			resp, body := s.get(coll+q, "")
			assert.Equal(t, http.StatusBadRequest, resp.StatusCode, "%s%s: %s", coll, q, body)
		}
	}
	// Bad queries changed nothing.
	n, err := s.st.CountItems(ctx, a.Followers().String())
	require.NoError(t, err)
	assert.Equal(t, 1, n)
}

// addActivity stores an activity and appends it to alice's outbox.
func addActivity(t *testing.T, s *testServer, a *Actor, id string, local bool, doc string) {
	t.Helper()
	ctx := context.Background()
	if doc != "" {
		typ := "Create"
		var m map[string]any
		require.NoError(t, json.Unmarshal([]byte(doc), &m))
		if ty, ok := m["type"].(string); ok {
			typ = ty
		}
		require.NoError(t, s.st.PutObject(ctx, &store.Object{IRI: id, Type: typ, Actor: a.IRI().String(), Local: local, Data: []byte(doc)}))
	}
	require.NoError(t, s.st.AddItem(ctx, a.Outbox().String(), id))
}

func TestOutboxPublicOnly(t *testing.T) {
	s := newTestServer(t, nil)
	a := s.create("alice")
	actor := a.IRI().String()
	act := func(id, addressing string) (string, string) {
		iri := actor + "/activities/" + id
		return iri, fmt.Sprintf(`{"@context":"https://www.w3.org/ns/activitystreams","id":%q,"type":"Create","actor":%q,%s,"object":{"id":%q,"type":"Note","content":"<p>%s</p>"}}`,
			iri, actor, addressing, iri+"/note", id)
	}

	var wantPublic []string
	// 30 activities over two pages, cycling through the kinds.
	for i := range 30 {
		var (
			iri, doc string
			public   bool
			local    = true
		)
		switch i % 10 {
		case 0:
			iri, doc = act(fmt.Sprint(i), `"to":["https://www.w3.org/ns/activitystreams#Public"],"cc":[]`)
			public = true
		case 1:
			iri, doc = act(fmt.Sprint(i), `"to":[],"cc":"as:Public"`)
			public = true
		case 2:
			iri, doc = act(fmt.Sprint(i), `"to":"Public"`)
			public = true
		case 3:
			iri, doc = act(fmt.Sprint(i), `"to":[`+fmt.Sprintf("%q", a.Followers().String())+`]`)
		case 4:
			iri, doc = act(fmt.Sprint(i), `"to":["https://r.example/users/bob"]`)
		case 5:
			iri, doc = act(fmt.Sprint(i), `"bcc":["https://www.w3.org/ns/activitystreams#Public"]`)
		case 6:
			iri = actor + "/activities/missing" + fmt.Sprint(i) // in the collection, not in the store
		case 7:
			iri = actor + "/activities/" + fmt.Sprint(i)
			doc = fmt.Sprintf(`{"id":%q,"type":"Tombstone","to":"as:Public"}`, iri)
		case 8:
			iri, doc = act(fmt.Sprint(i), `"to":"as:Public"`)
			local = false // not ours: never served from our outbox
		case 9:
			iri, doc = act(fmt.Sprint(i), `"to":"as:Public","bcc":["https://secret.example/users/x"],"bto":"https://secret.example/users/y"`)
			public = true
		}
		addActivity(t, s, a, iri, local, doc)
		if public {
			wantPublic = append(wantPublic, iri)
		}
	}
	slices.Reverse(wantPublic)

	outbox := a.Outbox().String()
	// totalItems counts what the pages show, not what the store holds.
	assert.Equal(t, float64(len(wantPublic)), s.getJSON(outbox)["totalItems"])
	items, pages := walk(t, s, outbox, "")
	assert.Equal(t, 2, pages)
	assert.Len(t, items, len(wantPublic))
	assert.NotContains(t, s.getJSON(outbox+"?page=true"), "totalItems", "a filtered collection's pages do not count")
	var got []string
	for _, it := range items {
		m, ok := it.(map[string]any)
		require.True(t, ok, "outbox items are embedded documents: %v", it)
		got = append(got, m["id"].(string))
		assert.NotContains(t, m, "bcc")
		assert.NotContains(t, m, "bto")
		assert.Equal(t, "Create", m["type"])
		assert.NotNil(t, m["object"])
	}
	assert.Equal(t, wantPublic, got)
}

func TestOutboxEmbedsRealActivity(t *testing.T) {
	s := newTestServer(t, nil)
	a := s.create("alice")
	// A Mastodon Create(Note), stored as if alice had posted it.
	doc := `{"@context":["https://www.w3.org/ns/activitystreams"],"id":"` + a.IRI().String() + `/statuses/1/activity","type":"Create","actor":"` + a.IRI().String() + `","to":["https://www.w3.org/ns/activitystreams#Public"],"cc":["` + a.Followers().String() + `"],"object":{"id":"` + a.IRI().String() + `/statuses/1","type":"Note","content":"<p>a &amp; b</p>","bcc":["https://hidden.example/u"]}}`
	addActivity(t, s, a, a.IRI().String()+"/statuses/1/activity", true, doc)
	page := s.getJSON(a.Outbox().String() + "?page=true")
	items := page["orderedItems"].([]any)
	require.Len(t, items, 1)
	obj := items[0].(map[string]any)["object"].(map[string]any)
	assert.Equal(t, "<p>a &amp; b</p>", obj["content"])
	assert.NotContains(t, obj, "bcc", "hidden recipients of the embedded object are removed too")
}

// readCounter counts the documents read from a store.
type readCounter struct {
	store.Store
	reads atomic.Int64
}

func (c *readCounter) GetObject(ctx context.Context, iri string) (*store.Object, error) {
	c.reads.Add(1)
	return c.Store.GetObject(ctx, iri)
}

// An unsigned GET of a large outbox never reads every item to count it:
// beyond maxCountedItems the store counts.
func TestLargeOutboxCountIsBounded(t *testing.T) {
	ctx := context.Background()
	s := newTestServer(t, nil)
	a := s.create("alice")
	rc := &readCounter{Store: s.st}
	s.d.st = rc
	for i := range maxCountedItems + 50 {
		require.NoError(t, s.st.AddItem(ctx, a.Outbox().String(), fmt.Sprintf("%s/activities/%d", a.IRI(), i)))
	}
	rc.reads.Store(0)
	assert.EqualValues(t, maxCountedItems+50, s.getJSON(a.Outbox().String())["totalItems"])
	assert.Zero(t, rc.reads.Load(), "documents read to count")
}
