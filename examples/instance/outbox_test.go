package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slothpub/slothpub/actor"
	"github.com/slothpub/slothpub/ap"
	"github.com/slothpub/slothpub/store/sqlitestore"
)

// collectionView is a collection as a reader sees it: the totalItems it
// announces and the ids of the items over all its pages.
type collectionView struct {
	total int
	items []string
}

func readCollection(t *testing.T, iri, limit string) collectionView {
	t.Helper()
	get := func(u string, into any) {
		req, err := http.NewRequest(http.MethodGet, u, nil)
		require.NoError(t, err)
		req.Header.Set("Accept", "application/activity+json")
		getJSON(t, req, into)
	}
	var coll struct {
		TotalItems *int   `json:"totalItems"`
		First      string `json:"first"`
	}
	get(iri, &coll)
	require.NotNil(t, coll.TotalItems, "%s has a totalItems", iri)
	v := collectionView{total: *coll.TotalItems, items: []string{}}
	for next, pages := coll.First+limit, 0; next != ""; pages++ {
		require.Less(t, pages, 100, "paging %s does not end", iri)
		var page struct {
			OrderedItems []json.RawMessage `json:"orderedItems"`
			Next         string            `json:"next"`
		}
		get(next, &page)
		for _, raw := range page.OrderedItems {
			var id string
			if json.Unmarshal(raw, &id) != nil {
				var doc struct{ ID string }
				require.NoError(t, json.Unmarshal(raw, &doc))
				id = doc.ID
			}
			v.items = append(v.items, id)
		}
		next = page.Next
	}
	return v
}

// The reference server's outbox holds what Mastodon's does (public and
// unlisted posts and boosts), and every collection's totalItems is the
// number of items over its pages, after a real follow, its Accept and every
// kind of post.
func TestOutboxCountsWhatItServes(t *testing.T) {
	ctx := t.Context()
	rem := newRemote(t)

	hs := httptest.NewUnstartedServer(nil)
	host := hs.Listener.Addr().String()
	st, err := sqlitestore.Open(ctx, filepath.Join(t.TempDir(), "slothpub.db"), nil)
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	log := slog.New(slog.NewTextHandler(&bytes.Buffer{}, nil))
	c := &config{host: host, protocol: "http", user: "alice", allowPrivate: true, data: "test"}
	srv, err := newServer(ctx, st, c, log)
	require.NoError(t, err)
	hs.Config.Handler = srv.handler
	hs.Start()
	t.Cleanup(hs.Close)
	workers, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.worker.Run(workers) }()
	t.Cleanup(func() { stop(); <-done })

	d := actor.NewDirectory(st, host, &actor.Options{Scheme: "http"})
	alice, err := d.Get(ctx, "alice")
	require.NoError(t, err)
	self := alice.IRI().String()

	// The remote actor follows alice; the server accepts.
	follow := fmt.Appendf(nil, `{"@context":"https://www.w3.org/ns/activitystreams","id":%q,"type":"Follow","actor":%q,"object":%q}`,
		rem.iri()+"/follows/1", rem.iri(), self)
	req, _ := http.NewRequest(http.MethodPost, self+"/inbox", bytes.NewReader(follow))
	req.Header.Set("Content-Type", "application/activity+json")
	rem.sign(req, follow)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusAccepted, resp.StatusCode)
	require.Eventually(t, func() bool {
		rem.mu.Lock()
		defer rem.mu.Unlock()
		return len(rem.received) > 0
	}, 20*time.Second, 20*time.Millisecond, "no Accept arrived")

	post := func(doc string) string {
		t.Helper()
		doc = strings.NewReplacer("$followers", alice.Followers().String(), "$remote", rem.iri(), "$public", ap.PublicIRI).Replace(doc)
		v, err := ap.Parse(ctx, []byte(`{"@context":"https://www.w3.org/ns/activitystreams",`+doc+`}`))
		require.NoError(t, err, doc)
		id, err := srv.outbox.Post(ctx, alice, v)
		require.NoError(t, err, doc)
		return id.String()
	}
	note := func(to, cc string) string {
		return post(`"type":"Create","to":[` + to + `],"cc":[` + cc + `],"object":{"type":"Note","content":"hi","to":[` + to + `],"cc":[` + cc + `]}`)
	}
	public := note(`"$public"`, `"$followers"`)
	unlisted := note(`"$followers"`, `"as:Public"`)
	note(`"$followers"`, ``)                                                              // followers only
	note(`"$remote"`, ``)                                                                 // direct
	post(`"type":"Create","bcc":["$public"],"object":{"type":"Note","content":"hidden"}`) // Public in bcc is not publication
	boost := post(`"type":"Announce","to":["$public"],"cc":["$followers"],"object":"` + rem.iri() + `/notes/1"`)
	post(`"type":"Announce","to":["$followers"],"object":"` + rem.iri() + `/notes/2"`) // a private boost
	undone := post(`"type":"Announce","to":["$public"],"object":"` + rem.iri() + `/notes/3"`)
	post(`"type":"Undo","object":"` + undone + `"`)
	deleted := note(`"$public"`, ``)
	var created struct{ Object struct{ ID string } }
	obj, err := st.GetObject(ctx, deleted)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(obj.Data, &created))
	post(`"type":"Delete","to":["$public"],"object":"` + created.Object.ID + `"`)
	post(`"type":"Like","object":"` + rem.iri() + `/notes/1"`)
	post(`"type":"Follow","object":"` + rem.iri() + `"`)

	want := []string{boost, unlisted, public} // newest first
	for _, limit := range []string{"", "&limit=1", "&limit=2"} {
		out := readCollection(t, alice.Outbox().String(), limit)
		assert.Equal(t, len(out.items), out.total, "outbox%s: totalItems is what the pages hold", limit)
		assert.Equal(t, want, out.items, "outbox%s", limit)
	}

	for name, want := range map[string][]string{
		"followers": {rem.iri()},
		"following": {}, // the Follow is pending: nobody accepted it
		"liked":     {rem.iri() + "/notes/1"},
		"featured":  {},
	} {
		iri := self + "/" + name
		v := readCollection(t, iri, "")
		assert.Equal(t, len(v.items), v.total, "%s: totalItems is what the pages hold", name)
		assert.Equal(t, want, v.items, name)
	}

	inst := readCollection(t, d.InstanceIRI().String()+"/outbox", "")
	assert.Equal(t, len(inst.items), inst.total, "instance outbox")
	assert.True(t, slices.Equal(inst.items, []string{}), "the instance actor posts nothing: %v", inst.items)
}
