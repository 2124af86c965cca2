package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slothpub/slothpub/store"
)

// timeSlack is how far a driver-set timestamp may lie outside the interval
// around the call that set it: drivers may store times with coarser precision
// than the Go clock (PostgreSQL keeps microseconds).
const timeSlack = time.Millisecond

// Run runs the conformance suite against the driver made by newStore.
// newStore is called once per subtest with that subtest's t and must return
// a new, empty store; it should register any cleanup with t.Cleanup.
func Run(t *testing.T, newStore func(t *testing.T) store.Store) {
	t.Helper()
	groups := []struct {
		name  string
		tests []test
	}{
		{"Objects", objectTests},
		{"Collections", collectionTests},
		{"Keys", keyTests},
		{"Accounts", accountTests},
		{"Values", valueTests},
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) {
			for _, tc := range g.tests {
				t.Run(tc.name, func(t *testing.T) {
					tc.fn(t, newStore(t))
				})
			}
		})
	}
}

type test struct {
	name string
	fn   func(t *testing.T, s store.Store)
}

// ---------------------------------------------------------------- objects

var objectTests = []test{
	{"GetMissing", testGetObjectMissing},
	{"CreateGet", testCreateGet},
	{"CreateExisting", testCreateExisting},
	{"CreateConcurrent", testCreateConcurrent},
	{"PutCreates", testPutCreates},
	{"PutKeepsCreated", testPutKeepsCreated},
	{"Tombstone", testTombstone},
	{"DataCopiedIn", testObjectDataCopiedIn},
	{"DataCopiedOut", testObjectDataCopiedOut},
	{"Delete", testDeleteObject},
	{"UnusualIRIs", testUnusualIRIs},
	{"LargeData", testLargeData},
}

func note(iri, actor, content string) *store.Object {
	return &store.Object{
		IRI:   iri,
		Type:  "Note",
		Actor: actor,
		Local: true,
		Data: fmt.Appendf(nil, `{"@context":"https://www.w3.org/ns/activitystreams","id":%q,"type":"Note","attributedTo":%q,"content":%q}`,
			iri, actor, content),
	}
}

func mustGetObject(t *testing.T, s store.Store, iri string) *store.Object {
	t.Helper()
	o, err := s.GetObject(t.Context(), iri)
	if err != nil {
		t.Fatalf("GetObject(%q): %v", iri, err)
	}
	if o == nil {
		t.Fatalf("GetObject(%q) returned nil object and nil error", iri)
	}
	return o
}

func assertSameObject(t *testing.T, got, want *store.Object) {
	t.Helper()
	if got.IRI != want.IRI || got.Type != want.Type || got.Actor != want.Actor || got.Local != want.Local {
		t.Errorf("object = {IRI:%q Type:%q Actor:%q Local:%v}, want {IRI:%q Type:%q Actor:%q Local:%v}",
			got.IRI, got.Type, got.Actor, got.Local, want.IRI, want.Type, want.Actor, want.Local)
	}
	if !bytes.Equal(got.Data, want.Data) {
		t.Errorf("object %q Data = %q, want %q", want.IRI, got.Data, want.Data)
	}
}

func assertWithin(t *testing.T, what string, got, before, after time.Time) {
	t.Helper()
	if got.IsZero() {
		t.Errorf("%s is zero; the driver must set it", what)
		return
	}
	if got.Before(before.Add(-timeSlack)) || got.After(after.Add(timeSlack)) {
		t.Errorf("%s = %v, want between %v and %v", what, got, before, after)
	}
}

func testGetObjectMissing(t *testing.T, s store.Store) {
	o, err := s.GetObject(t.Context(), "https://example.com/missing")
	if !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("GetObject(missing) = %v, %v; want ErrNotFound", o, err)
	}
}

func testCreateGet(t *testing.T, s store.Store) {
	ctx := t.Context()
	want := note("https://example.com/notes/1", "https://example.com/users/alice", "hello")
	before := time.Now()
	if err := s.CreateObject(ctx, want); err != nil {
		t.Fatalf("CreateObject: %v", err)
	}
	after := time.Now()
	got := mustGetObject(t, s, want.IRI)
	assertSameObject(t, got, want)
	assertWithin(t, "Created", got.Created, before, after)
	assertWithin(t, "Updated", got.Updated, before, after)
	if got.Updated.Before(got.Created) {
		t.Errorf("Updated %v before Created %v", got.Updated, got.Created)
	}

	remote := &store.Object{
		IRI:  "https://remote.example/activities/9",
		Type: "Create",
		Data: []byte(`{"id":"https://remote.example/activities/9","type":"Create"}`),
	}
	if err := s.CreateObject(ctx, remote); err != nil {
		t.Fatalf("CreateObject(remote): %v", err)
	}
	assertSameObject(t, mustGetObject(t, s, remote.IRI), remote)
}

func testCreateExisting(t *testing.T, s store.Store) {
	ctx := t.Context()
	first := note("https://example.com/notes/1", "https://example.com/users/alice", "first")
	if err := s.CreateObject(ctx, first); err != nil {
		t.Fatalf("CreateObject: %v", err)
	}
	orig := mustGetObject(t, s, first.IRI)

	second := note(first.IRI, "https://example.com/users/bob", "second")
	second.Type = "Article"
	second.Local = false
	if err := s.CreateObject(ctx, second); !errors.Is(err, store.ErrExists) {
		t.Fatalf("second CreateObject = %v, want ErrExists", err)
	}
	got := mustGetObject(t, s, first.IRI)
	assertSameObject(t, got, first)
	if !got.Created.Equal(orig.Created) || !got.Updated.Equal(orig.Updated) {
		t.Errorf("failed create changed times: Created %v→%v Updated %v→%v",
			orig.Created, got.Created, orig.Updated, got.Updated)
	}
}

func testCreateConcurrent(t *testing.T, s store.Store) {
	ctx := t.Context()
	const n = 16
	const iri = "https://example.com/activities/once"
	var (
		wg    sync.WaitGroup
		start = make(chan struct{})
		errs  = make([]error, n)
	)
	for i := range n {
		wg.Go(func() {
			<-start
			errs[i] = s.CreateObject(ctx, note(iri, "https://example.com/users/alice", fmt.Sprint("writer ", i)))
		})
	}
	close(start)
	wg.Wait()

	winner := -1
	for i, err := range errs {
		switch {
		case err == nil:
			if winner >= 0 {
				t.Errorf("CreateObject succeeded for writers %d and %d; want exactly one", winner, i)
			}
			winner = i
		case !errors.Is(err, store.ErrExists):
			t.Errorf("writer %d: CreateObject = %v, want nil or ErrExists", i, err)
		}
	}
	if winner < 0 {
		t.Fatal("no concurrent CreateObject succeeded")
	}
	assertSameObject(t, mustGetObject(t, s, iri), note(iri, "https://example.com/users/alice", fmt.Sprint("writer ", winner)))
}

func testPutCreates(t *testing.T, s store.Store) {
	want := note("https://example.com/notes/put", "https://example.com/users/alice", "put")
	before := time.Now()
	if err := s.PutObject(t.Context(), want); err != nil {
		t.Fatalf("PutObject: %v", err)
	}
	after := time.Now()
	got := mustGetObject(t, s, want.IRI)
	assertSameObject(t, got, want)
	assertWithin(t, "Created", got.Created, before, after)
	assertWithin(t, "Updated", got.Updated, before, after)
	if err := s.CreateObject(t.Context(), want); !errors.Is(err, store.ErrExists) {
		t.Errorf("CreateObject after PutObject = %v, want ErrExists", err)
	}
}

func testPutKeepsCreated(t *testing.T, s store.Store) {
	ctx := t.Context()
	first := note("https://example.com/notes/1", "https://example.com/users/alice", "v1")
	if err := s.CreateObject(ctx, first); err != nil {
		t.Fatalf("CreateObject: %v", err)
	}
	orig := mustGetObject(t, s, first.IRI)

	time.Sleep(5 * time.Millisecond) // let a coarse clock move on
	second := note(first.IRI, "https://example.com/users/alice", "v2")
	second.Type = "Article"
	second.Local = false
	// A caller-provided Created must not override the first write's.
	second.Created = time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC)
	before := time.Now()
	if err := s.PutObject(ctx, second); err != nil {
		t.Fatalf("PutObject: %v", err)
	}
	after := time.Now()
	got := mustGetObject(t, s, first.IRI)
	assertSameObject(t, got, second)
	if !got.Created.Equal(orig.Created) {
		t.Errorf("Created = %v after PutObject, want the first write's %v", got.Created, orig.Created)
	}
	assertWithin(t, "Updated", got.Updated, before, after)
	if !got.Updated.After(orig.Updated) {
		t.Errorf("Updated = %v, want after the first write's %v", got.Updated, orig.Updated)
	}
}

func testTombstone(t *testing.T, s store.Store) {
	ctx := t.Context()
	const iri = "https://example.com/notes/doomed"
	if err := s.CreateObject(ctx, note(iri, "https://example.com/users/alice", "soon gone")); err != nil {
		t.Fatalf("CreateObject: %v", err)
	}
	tomb := &store.Object{
		IRI:   iri,
		Type:  "Tombstone",
		Actor: "https://example.com/users/alice",
		Local: true,
		Data: []byte(`{"id":"` + iri + `","type":"Tombstone","formerType":"Note",` +
			`"deleted":"2024-05-01T12:00:00Z"}`),
	}
	if err := s.PutObject(ctx, tomb); err != nil {
		t.Fatalf("PutObject(tombstone): %v", err)
	}
	got, err := s.GetObject(ctx, iri)
	if err != nil {
		t.Fatalf("GetObject(tombstoned) = %v, want the tombstone and no error", err)
	}
	assertSameObject(t, got, tomb)
	if err := s.CreateObject(ctx, note(iri, "https://example.com/users/alice", "back")); !errors.Is(err, store.ErrExists) {
		t.Errorf("CreateObject over a tombstone = %v, want ErrExists", err)
	}
}

func testObjectDataCopiedIn(t *testing.T, s store.Store) {
	ctx := t.Context()
	o := note("https://example.com/notes/1", "https://example.com/users/alice", "original")
	want := slices.Clone(o.Data)
	if err := s.CreateObject(ctx, o); err != nil {
		t.Fatalf("CreateObject: %v", err)
	}
	clear(o.Data)
	o.Type = "Changed"
	if got := mustGetObject(t, s, o.IRI); !bytes.Equal(got.Data, want) || got.Type != "Note" {
		t.Errorf("mutating the caller's object after CreateObject changed the stored one: %s %q", got.Type, got.Data)
	}

	p := note("https://example.com/notes/2", "https://example.com/users/alice", "original")
	wantP := slices.Clone(p.Data)
	if err := s.PutObject(ctx, p); err != nil {
		t.Fatalf("PutObject: %v", err)
	}
	clear(p.Data)
	if got := mustGetObject(t, s, p.IRI); !bytes.Equal(got.Data, wantP) {
		t.Errorf("mutating the caller's slice after PutObject changed the stored data: %q", got.Data)
	}
}

func testObjectDataCopiedOut(t *testing.T, s store.Store) {
	o := note("https://example.com/notes/1", "https://example.com/users/alice", "original")
	if err := s.CreateObject(t.Context(), o); err != nil {
		t.Fatalf("CreateObject: %v", err)
	}
	got := mustGetObject(t, s, o.IRI)
	clear(got.Data)
	got.Data = append(got.Data[:0], "overwritten"...)
	got.Type = "Changed"
	again := mustGetObject(t, s, o.IRI)
	assertSameObject(t, again, o)
}

func testDeleteObject(t *testing.T, s store.Store) {
	ctx := t.Context()
	o := note("https://example.com/notes/1", "https://example.com/users/alice", "x")
	other := note("https://example.com/notes/2", "https://example.com/users/alice", "y")
	for _, x := range []*store.Object{o, other} {
		if err := s.CreateObject(ctx, x); err != nil {
			t.Fatalf("CreateObject: %v", err)
		}
	}
	if err := s.DeleteObject(ctx, o.IRI); err != nil {
		t.Fatalf("DeleteObject: %v", err)
	}
	if _, err := s.GetObject(ctx, o.IRI); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetObject after DeleteObject = %v, want ErrNotFound", err)
	}
	if err := s.DeleteObject(ctx, o.IRI); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("second DeleteObject = %v, want ErrNotFound", err)
	}
	if err := s.DeleteObject(ctx, "https://example.com/never"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("DeleteObject(never stored) = %v, want ErrNotFound", err)
	}
	assertSameObject(t, mustGetObject(t, s, other.IRI), other)
	if err := s.CreateObject(ctx, o); err != nil {
		t.Errorf("CreateObject after DeleteObject = %v, want nil", err)
	}
}

func testUnusualIRIs(t *testing.T, s store.Store) {
	ctx := t.Context()
	iris := []string{
		"https://example.com/notes/1?page=2#frag",
		"https://example.com/notes/it's%20quoted\"",
		"https://exämple.com/ノート/😀",
		"https://example.com/notes/1'; DROP TABLE objects; --",
		"https://EXAMPLE.com/Notes/1", // differs from the next one only by case
		"https://example.com/notes/1",
	}
	for i, iri := range iris {
		if err := s.CreateObject(ctx, note(iri, "https://example.com/users/alice", fmt.Sprint(i))); err != nil {
			t.Fatalf("CreateObject(%q): %v", iri, err)
		}
	}
	for i, iri := range iris {
		assertSameObject(t, mustGetObject(t, s, iri), note(iri, "https://example.com/users/alice", fmt.Sprint(i)))
	}
}

func testLargeData(t *testing.T, s store.Store) {
	o := note("https://example.com/notes/big", "https://example.com/users/alice", strings.Repeat("ü€ab", 1<<18))
	if err := s.CreateObject(t.Context(), o); err != nil {
		t.Fatalf("CreateObject: %v", err)
	}
	assertSameObject(t, mustGetObject(t, s, o.IRI), o)
}

// ---------------------------------------------------------------- collections

var collectionTests = []test{
	{"Empty", testCollectionEmpty},
	{"Order", testCollectionOrder},
	{"DuplicateKeepsPosition", testDuplicateKeepsPosition},
	{"Remove", testRemoveItem},
	{"Isolated", testCollectionsIsolated},
	{"Paging", testPaging},
	{"PagingExactMultiple", testPagingExactMultiple},
	{"LimitDefaults", testLimitDefaults},
	{"CursorStable", testCursorStable},
	{"MalformedCursor", testMalformedCursor},
	{"ConcurrentAdds", testConcurrentAdds},
}

const coll = "https://example.com/users/alice/followers"

func itemIRI(i int) string { return fmt.Sprintf("https://remote%d.example/users/u%d", i%7, i) }

// addItems adds items 0..n-1 in order and returns them newest first.
func addItems(t *testing.T, s store.Store, collection string, n int) []string {
	t.Helper()
	out := make([]string, n)
	for i := range n {
		if err := s.AddItem(t.Context(), collection, itemIRI(i)); err != nil {
			t.Fatalf("AddItem(%d): %v", i, err)
		}
		out[n-1-i] = itemIRI(i)
	}
	return out
}

// pageAll pages through a collection and returns every item in order.
func pageAll(t *testing.T, s store.Store, collection string, limit int) []string {
	t.Helper()
	var all []string
	cursor := ""
	for pages := 0; ; pages++ {
		if pages > 10000 {
			t.Fatal("paging does not terminate")
		}
		p, err := s.Items(t.Context(), collection, cursor, limit)
		if err != nil {
			t.Fatalf("Items(cursor %q): %v", cursor, err)
		}
		if limit > 0 && len(p.Items) > limit {
			t.Fatalf("Items returned %d items, limit %d", len(p.Items), limit)
		}
		all = append(all, p.Items...)
		if p.Next == "" {
			return all
		}
		if len(p.Items) == 0 {
			t.Fatalf("Items returned an empty page with Next %q", p.Next)
		}
		cursor = p.Next
	}
}

func assertItems(t *testing.T, s store.Store, collection string, want []string) {
	t.Helper()
	got := pageAll(t, s, collection, 1000)
	if !slices.Equal(got, want) {
		t.Errorf("items of %s = %q, want %q", collection, got, want)
	}
	n, err := s.CountItems(t.Context(), collection)
	if err != nil {
		t.Fatalf("CountItems: %v", err)
	}
	if n != len(want) {
		t.Errorf("CountItems(%s) = %d, want %d", collection, n, len(want))
	}
}

func assertHas(t *testing.T, s store.Store, collection, item string, want bool) {
	t.Helper()
	got, err := s.HasItem(t.Context(), collection, item)
	if err != nil {
		t.Fatalf("HasItem: %v", err)
	}
	if got != want {
		t.Errorf("HasItem(%s, %s) = %v, want %v", collection, item, got, want)
	}
}

func testCollectionEmpty(t *testing.T, s store.Store) {
	p, err := s.Items(t.Context(), coll, "", 20)
	if err != nil {
		t.Fatalf("Items(never written): %v", err)
	}
	if len(p.Items) != 0 || p.Next != "" {
		t.Errorf("Items(never written) = %+v, want an empty last page", p)
	}
	assertItems(t, s, coll, nil)
	assertHas(t, s, coll, itemIRI(0), false)
}

func testCollectionOrder(t *testing.T, s store.Store) {
	want := addItems(t, s, coll, 5)
	assertItems(t, s, coll, want)
	for i := range 5 {
		assertHas(t, s, coll, itemIRI(i), true)
	}
	assertHas(t, s, coll, itemIRI(5), false)
	// A different item that only differs by case is a different item.
	assertHas(t, s, coll, strings.ToUpper(itemIRI(0)), false)
}

func testDuplicateKeepsPosition(t *testing.T, s store.Store) {
	want := addItems(t, s, coll, 5)
	for _, i := range []int{0, 2, 4} {
		if err := s.AddItem(t.Context(), coll, itemIRI(i)); !errors.Is(err, store.ErrExists) {
			t.Errorf("AddItem(duplicate %d) = %v, want ErrExists", i, err)
		}
	}
	assertItems(t, s, coll, want)
}

func testRemoveItem(t *testing.T, s store.Store) {
	ctx := t.Context()
	addItems(t, s, coll, 4) // items 3,2,1,0 newest first
	if err := s.RemoveItem(ctx, coll, itemIRI(1)); err != nil {
		t.Fatalf("RemoveItem: %v", err)
	}
	assertItems(t, s, coll, []string{itemIRI(3), itemIRI(2), itemIRI(0)})
	assertHas(t, s, coll, itemIRI(1), false)
	if err := s.RemoveItem(ctx, coll, itemIRI(1)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("second RemoveItem = %v, want ErrNotFound", err)
	}
	if err := s.RemoveItem(ctx, "https://example.com/never", itemIRI(1)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("RemoveItem(never written collection) = %v, want ErrNotFound", err)
	}
	// Removing the newest and the oldest.
	for _, i := range []int{3, 0} {
		if err := s.RemoveItem(ctx, coll, itemIRI(i)); err != nil {
			t.Fatalf("RemoveItem(%d): %v", i, err)
		}
	}
	assertItems(t, s, coll, []string{itemIRI(2)})
	// An item added back is the newest.
	for _, i := range []int{1, 3} {
		if err := s.AddItem(ctx, coll, itemIRI(i)); err != nil {
			t.Fatalf("AddItem(%d) after removal: %v", i, err)
		}
	}
	assertItems(t, s, coll, []string{itemIRI(3), itemIRI(1), itemIRI(2)})
}

func testCollectionsIsolated(t *testing.T, s store.Store) {
	ctx := t.Context()
	const other = "https://example.com/users/alice/following"
	const prefix = "https://example.com/users/alice/followers/x" // shares a prefix with coll
	a := addItems(t, s, coll, 3)
	b := addItems(t, s, other, 5)
	if err := s.AddItem(ctx, prefix, itemIRI(0)); err != nil {
		t.Fatalf("AddItem: %v", err)
	}
	assertItems(t, s, coll, a)
	assertItems(t, s, other, b)
	assertItems(t, s, prefix, []string{itemIRI(0)})

	if err := s.RemoveItem(ctx, coll, itemIRI(1)); err != nil {
		t.Fatalf("RemoveItem: %v", err)
	}
	assertHas(t, s, coll, itemIRI(1), false)
	assertHas(t, s, other, itemIRI(1), true)
	assertHas(t, s, coll, itemIRI(4), false)
	assertItems(t, s, other, b)
	if err := s.RemoveItem(ctx, coll, itemIRI(4)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("RemoveItem(item of another collection) = %v, want ErrNotFound", err)
	}
	// A cursor from one collection never leaks items of another.
	p, err := s.Items(ctx, other, "", 2)
	if err != nil {
		t.Fatalf("Items: %v", err)
	}
	if p.Next != "" {
		q, err := s.Items(ctx, coll, p.Next, 100)
		if err == nil {
			for _, it := range q.Items {
				if !slices.Contains(a, it) {
					t.Errorf("Items(%s) with a cursor of %s returned foreign item %s", coll, other, it)
				}
			}
		}
	}
}

func testPaging(t *testing.T, s store.Store) {
	want := addItems(t, s, coll, 250)
	for _, limit := range []int{20, 1, 7, 249, 250, 251} {
		got := pageAll(t, s, coll, limit)
		if !slices.Equal(got, want) {
			t.Errorf("limit %d: paged %d items, want all 250 once, newest first; first differences: %s",
				limit, len(got), firstDiff(got, want))
		}
	}
	p, err := s.Items(t.Context(), coll, "", 20)
	if err != nil {
		t.Fatalf("Items: %v", err)
	}
	if !slices.Equal(p.Items, want[:20]) || p.Next == "" {
		t.Errorf("first page = %d items, Next %q; want the newest 20 and a Next cursor", len(p.Items), p.Next)
	}
}

func firstDiff(got, want []string) string {
	for i := range min(len(got), len(want)) {
		if got[i] != want[i] {
			return fmt.Sprintf("at %d got %s want %s", i, got[i], want[i])
		}
	}
	return fmt.Sprintf("lengths %d and %d", len(got), len(want))
}

func testPagingExactMultiple(t *testing.T, s store.Store) {
	ctx := t.Context()
	want := addItems(t, s, coll, 40)
	p1, err := s.Items(ctx, coll, "", 20)
	if err != nil {
		t.Fatalf("Items: %v", err)
	}
	p2, err := s.Items(ctx, coll, p1.Next, 20)
	if err != nil {
		t.Fatalf("Items(page 2): %v", err)
	}
	if !slices.Equal(append(p1.Items, p2.Items...), want) {
		t.Fatalf("two pages of 20 do not hold the 40 items in order")
	}
	if p2.Next != "" {
		t.Errorf("last page Next = %q, want \"\" (the page holding the oldest item is the last)", p2.Next)
	}
}

func testLimitDefaults(t *testing.T, s store.Store) {
	want := addItems(t, s, coll, 3)
	for _, limit := range []int{0, -1} {
		p, err := s.Items(t.Context(), coll, "", limit)
		if err != nil {
			t.Errorf("Items(limit %d): %v", limit, err)
			continue
		}
		if len(p.Items) == 0 || !slices.Equal(p.Items, want[:len(p.Items)]) {
			t.Errorf("Items(limit %d) = %q, want a non-empty newest-first prefix of %q", limit, p.Items, want)
		}
		if got := pageAll(t, s, coll, limit); !slices.Equal(got, want) {
			t.Errorf("paging with limit %d = %q, want %q", limit, got, want)
		}
	}
}

// testCursorStable pages through a collection while items are added and
// removed between pages: every item that stays is seen exactly once, and
// removed items that were not yet seen are not returned.
func testCursorStable(t *testing.T, s store.Store) {
	ctx := t.Context()
	const n, limit = 100, 10
	order := addItems(t, s, coll, n) // newest first
	seen := map[string]int{}
	removed := map[string]bool{}
	cursor := ""
	extra := n
	for page := 0; ; page++ {
		if page > n {
			t.Fatal("paging does not terminate")
		}
		p, err := s.Items(ctx, coll, cursor, limit)
		if err != nil {
			t.Fatalf("page %d: Items: %v", page, err)
		}
		for _, it := range p.Items {
			seen[it]++
			if removed[it] {
				t.Errorf("page %d returned %s, removed before the page was read", page, it)
			}
		}
		if p.Next == "" {
			break
		}
		cursor = p.Next
		// Between pages: add new items, remove the last item returned (the
		// one the cursor points at), one already seen and one not yet seen.
		for range 3 {
			if err := s.AddItem(ctx, coll, itemIRI(extra)); err != nil {
				t.Fatal(err)
			}
			extra++
		}
		victims := []string{p.Items[len(p.Items)-1]}
		if len(p.Items) > 1 {
			victims = append(victims, p.Items[0])
		}
		// The item two past the end of this page, if it is still there.
		if idx := slices.Index(order, p.Items[len(p.Items)-1]); idx >= 0 && idx+2 < len(order) {
			victims = append(victims, order[idx+2])
		}
		for _, v := range victims {
			if removed[v] {
				continue
			}
			if err := s.RemoveItem(ctx, coll, v); err != nil {
				t.Fatalf("RemoveItem(%s): %v", v, err)
			}
			removed[v] = true
		}
	}
	for _, it := range order {
		switch {
		case seen[it] > 1:
			t.Errorf("%s returned %d times", it, seen[it])
		case seen[it] == 0 && !removed[it]:
			t.Errorf("%s stayed in the collection but was skipped", it)
		}
	}
	for i := n; i < extra; i++ {
		if seen[itemIRI(i)] > 1 {
			t.Errorf("new item %s returned %d times", itemIRI(i), seen[itemIRI(i)])
		}
	}
}

func testMalformedCursor(t *testing.T, s store.Store) {
	addItems(t, s, coll, 5)
	for _, c := range []string{
		"not a cursor!",
		"\x00\xff\xfe",
		"'; DROP TABLE items; --",
		strings.Repeat("9", 400),
		strings.Repeat("z", 10000),
	} {
		p, err := s.Items(t.Context(), coll, c, 10)
		if !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Items(cursor %.20q) = %d items, %v; want an error wrapping ErrNotFound", c, len(p.Items), err)
		}
	}
}

func testConcurrentAdds(t *testing.T, s store.Store) {
	ctx := t.Context()
	const writers, each = 8, 25
	var wg sync.WaitGroup
	errs := make(chan error, writers*each*2)
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				// Every writer also tries an item shared by all of them.
				if err := s.AddItem(ctx, coll, itemIRI(w*each+i)); err != nil {
					errs <- err
				}
				if err := s.AddItem(ctx, coll, fmt.Sprint("https://shared.example/", i)); err != nil && !errors.Is(err, store.ErrExists) {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("concurrent AddItem: %v", err)
	}
	got := pageAll(t, s, coll, 13)
	if len(got) != writers*each+each {
		t.Errorf("paged %d items, want %d", len(got), writers*each+each)
	}
	slices.Sort(got)
	if len(slices.Compact(got)) != len(got) {
		t.Error("paging returned duplicates")
	}
	if n, err := s.CountItems(ctx, coll); err != nil || n != writers*each+each {
		t.Errorf("CountItems = %d, %v; want %d", n, err, writers*each+each)
	}
}

// ---------------------------------------------------------------- keys

var keyTests = []test{
	{"GetMissing", testGetKeyMissing},
	{"PutGet", testPutGetKey},
	{"PutReplaces", testPutKeyReplaces},
	{"Delete", testDeleteKey},
}

const testPEM = `-----BEGIN PUBLIC KEY-----
MCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=
-----END PUBLIC KEY-----
`

// fetched is a time with microsecond precision, which every driver keeps.
var fetched = time.Date(2024, 3, 14, 15, 9, 26, 535897000, time.UTC)

func testGetKeyMissing(t *testing.T, s store.Store) {
	if k, err := s.GetKey(t.Context(), "https://example.com/users/alice#main-key"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetKey(missing) = %v, %v; want ErrNotFound", k, err)
	}
}

func assertKey(t *testing.T, s store.Store, want store.Key) {
	t.Helper()
	got, err := s.GetKey(t.Context(), want.ID)
	if err != nil {
		t.Fatalf("GetKey(%q): %v", want.ID, err)
	}
	if got.ID != want.ID || got.Owner != want.Owner || got.PublicPEM != want.PublicPEM || !got.Fetched.Equal(want.Fetched) {
		t.Errorf("GetKey = %+v, want %+v", *got, want)
	}
}

func testPutGetKey(t *testing.T, s store.Store) {
	k := store.Key{
		ID:        "https://example.com/users/alice#main-key",
		Owner:     "https://example.com/users/alice",
		PublicPEM: testPEM,
		Fetched:   fetched,
	}
	if err := s.PutKey(t.Context(), &k); err != nil {
		t.Fatalf("PutKey: %v", err)
	}
	assertKey(t, s, k)
	// A Multikey value and a zero Fetched round-trip too.
	mk := store.Key{
		ID:        "https://example.com/users/alice#ed25519-key",
		Owner:     "https://example.com/users/alice",
		PublicPEM: "z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2",
	}
	if err := s.PutKey(t.Context(), &mk); err != nil {
		t.Fatalf("PutKey(multikey): %v", err)
	}
	assertKey(t, s, mk)
	assertKey(t, s, k)
}

func testPutKeyReplaces(t *testing.T, s store.Store) {
	k := store.Key{ID: "https://example.com/users/alice#main-key", Owner: "https://example.com/users/alice",
		PublicPEM: testPEM, Fetched: fetched}
	if err := s.PutKey(t.Context(), &k); err != nil {
		t.Fatalf("PutKey: %v", err)
	}
	k2 := k
	k2.PublicPEM = "z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2"
	k2.Owner = "https://example.com/users/bob"
	k2.Fetched = fetched.Add(time.Hour)
	if err := s.PutKey(t.Context(), &k2); err != nil {
		t.Fatalf("second PutKey: %v", err)
	}
	assertKey(t, s, k2)
	// The caller's struct is not retained.
	k2.PublicPEM = "changed"
	assertKey(t, s, store.Key{ID: k.ID, Owner: "https://example.com/users/bob",
		PublicPEM: "z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2", Fetched: fetched.Add(time.Hour)})
}

func testDeleteKey(t *testing.T, s store.Store) {
	ctx := t.Context()
	k := store.Key{ID: "https://example.com/users/alice#main-key", Owner: "https://example.com/users/alice",
		PublicPEM: testPEM, Fetched: fetched}
	other := k
	other.ID = "https://example.com/users/bob#main-key"
	for _, x := range []*store.Key{&k, &other} {
		if err := s.PutKey(ctx, x); err != nil {
			t.Fatalf("PutKey: %v", err)
		}
	}
	if err := s.DeleteKey(ctx, k.ID); err != nil {
		t.Fatalf("DeleteKey: %v", err)
	}
	if _, err := s.GetKey(ctx, k.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetKey after DeleteKey = %v, want ErrNotFound", err)
	}
	if err := s.DeleteKey(ctx, k.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("second DeleteKey = %v, want ErrNotFound", err)
	}
	assertKey(t, s, other)
}

// ---------------------------------------------------------------- accounts

var accountTests = []test{
	{"GetMissing", testGetAccountMissing},
	{"CreateGet", testCreateGetAccount},
	{"Duplicate", testDuplicateAccount},
	{"CaseSensitive", testAccountCaseSensitive},
	{"Count", testCountAccounts},
	{"KeyCopied", testAccountKeyCopied},
	{"CreateConcurrent", testCreateAccountConcurrent},
}

func account(name string) *store.Account {
	return &store.Account{
		Username:      name,
		ActorIRI:      "https://example.com/users/" + name,
		PrivateKeyPEM: []byte("-----BEGIN PRIVATE KEY-----\n" + name + "\n-----END PRIVATE KEY-----\n"),
		Created:       fetched,
	}
}

func assertAccount(t *testing.T, s store.Store, want *store.Account) {
	t.Helper()
	got, err := s.GetAccount(t.Context(), want.Username)
	if err != nil {
		t.Fatalf("GetAccount(%q): %v", want.Username, err)
	}
	if got.Username != want.Username || got.ActorIRI != want.ActorIRI ||
		!bytes.Equal(got.PrivateKeyPEM, want.PrivateKeyPEM) || !got.Created.Equal(want.Created) {
		t.Errorf("GetAccount = %+v, want %+v", *got, *want)
	}
}

func testGetAccountMissing(t *testing.T, s store.Store) {
	if a, err := s.GetAccount(t.Context(), "nobody"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetAccount(missing) = %v, %v; want ErrNotFound", a, err)
	}
}

func testCreateGetAccount(t *testing.T, s store.Store) {
	a := account("alice")
	if err := s.CreateAccount(t.Context(), a); err != nil {
		t.Fatalf("CreateAccount: %v", err)
	}
	assertAccount(t, s, account("alice"))
}

func testDuplicateAccount(t *testing.T, s store.Store) {
	if err := s.CreateAccount(t.Context(), account("alice")); err != nil {
		t.Fatalf("CreateAccount: %v", err)
	}
	dup := account("alice")
	dup.ActorIRI = "https://example.com/users/impostor"
	dup.PrivateKeyPEM = []byte("other")
	if err := s.CreateAccount(t.Context(), dup); !errors.Is(err, store.ErrExists) {
		t.Fatalf("CreateAccount(duplicate) = %v, want ErrExists", err)
	}
	assertAccount(t, s, account("alice"))
}

func testAccountCaseSensitive(t *testing.T, s store.Store) {
	for _, name := range []string{"alice", "Alice", "ALICE"} {
		if err := s.CreateAccount(t.Context(), account(name)); err != nil {
			t.Fatalf("CreateAccount(%q): %v", name, err)
		}
	}
	for _, name := range []string{"alice", "Alice", "ALICE"} {
		assertAccount(t, s, account(name))
	}
	if _, err := s.GetAccount(t.Context(), "aLICE"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetAccount(aLICE) = %v, want ErrNotFound", err)
	}
}

func testCountAccounts(t *testing.T, s store.Store) {
	count := func() int {
		t.Helper()
		n, err := s.CountAccounts(t.Context())
		if err != nil {
			t.Fatalf("CountAccounts: %v", err)
		}
		return n
	}
	if n := count(); n != 0 {
		t.Errorf("CountAccounts(empty) = %d, want 0", n)
	}
	for i, name := range []string{"alice", "bob", "carol"} {
		if err := s.CreateAccount(t.Context(), account(name)); err != nil {
			t.Fatal(err)
		}
		if n := count(); n != i+1 {
			t.Errorf("CountAccounts = %d, want %d", n, i+1)
		}
	}
	_ = s.CreateAccount(t.Context(), account("bob"))
	if n := count(); n != 3 {
		t.Errorf("CountAccounts after a duplicate create = %d, want 3", n)
	}
}

func testAccountKeyCopied(t *testing.T, s store.Store) {
	a := account("alice")
	if err := s.CreateAccount(t.Context(), a); err != nil {
		t.Fatal(err)
	}
	clear(a.PrivateKeyPEM)
	a.ActorIRI = "changed"
	assertAccount(t, s, account("alice"))
	got, err := s.GetAccount(t.Context(), "alice")
	if err != nil {
		t.Fatal(err)
	}
	clear(got.PrivateKeyPEM)
	assertAccount(t, s, account("alice"))
}

func testCreateAccountConcurrent(t *testing.T, s store.Store) {
	const n = 16
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		wins int
	)
	start := make(chan struct{})
	for range n {
		wg.Go(func() {
			<-start
			err := s.CreateAccount(context.WithoutCancel(t.Context()), account("alice"))
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				wins++
			case !errors.Is(err, store.ErrExists):
				t.Errorf("CreateAccount = %v, want nil or ErrExists", err)
			}
		})
	}
	close(start)
	wg.Wait()
	if wins != 1 {
		t.Errorf("%d concurrent CreateAccount calls for one username succeeded, want exactly 1", wins)
	}
	if c, err := s.CountAccounts(t.Context()); err != nil || c != 1 {
		t.Errorf("CountAccounts = %d, %v; want 1", c, err)
	}
}

// ---------------------------------------------------------------- values

var valueTests = []test{
	{"GetMissing", testGetValueMissing},
	{"PutGet", testPutGetValue},
	{"Replace", testPutValueReplaces},
	{"Expired", testValueExpired},
	{"ExpiryReplaced", testValueExpiryReplaced},
	{"CopiedIn", testValueCopiedIn},
	{"CopiedOut", testValueCopiedOut},
	{"Delete", testDeleteValue},
	{"ConcurrentPuts", testConcurrentPuts},
	{"ManyExpired", testManyExpiredValues},
}

func assertValue(t *testing.T, s store.Store, key, want string) {
	t.Helper()
	got, err := s.GetValue(t.Context(), key)
	if err != nil {
		t.Fatalf("GetValue(%q): %v", key, err)
	}
	if string(got) != want {
		t.Errorf("GetValue(%q) = %q, want %q", key, got, want)
	}
}

func assertNoValue(t *testing.T, s store.Store, key string) {
	t.Helper()
	if v, err := s.GetValue(t.Context(), key); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetValue(%q) = %q, %v; want ErrNotFound", key, v, err)
	}
}

func mustPutValue(t *testing.T, s store.Store, key, value string, expires time.Time) {
	t.Helper()
	if err := s.PutValue(t.Context(), key, []byte(value), expires); err != nil {
		t.Fatalf("PutValue(%q): %v", key, err)
	}
}

func testGetValueMissing(t *testing.T, s store.Store) {
	assertNoValue(t, s, "httpsig-scheme:missing.example")
}

func testPutGetValue(t *testing.T, s store.Store) {
	mustPutValue(t, s, "httpsig-scheme:a.example", "rfc9421", time.Time{})
	mustPutValue(t, s, "httpsig-scheme:b.example", "draft-cavage-12", time.Now().Add(time.Hour))
	mustPutValue(t, s, "empty", "", time.Time{})
	mustPutValue(t, s, "binary", "\x00\xff\n", time.Time{})
	assertValue(t, s, "httpsig-scheme:a.example", "rfc9421")
	assertValue(t, s, "httpsig-scheme:b.example", "draft-cavage-12")
	assertValue(t, s, "empty", "")
	assertValue(t, s, "binary", "\x00\xff\n")
	// Keys are exact: no case folding, no prefix match.
	assertNoValue(t, s, "httpsig-scheme:A.example")
	assertNoValue(t, s, "httpsig-scheme:")
}

func testPutValueReplaces(t *testing.T, s store.Store) {
	mustPutValue(t, s, "k", "one", time.Now().Add(time.Hour))
	mustPutValue(t, s, "k", "two", time.Time{})
	assertValue(t, s, "k", "two")
}

func testValueExpired(t *testing.T, s store.Store) {
	ctx := t.Context()
	mustPutValue(t, s, "past", "stale", time.Now().Add(-time.Second))
	mustPutValue(t, s, "epoch", "stale", time.Unix(0, 0))
	mustPutValue(t, s, "future", "fresh", time.Now().Add(time.Hour))
	mustPutValue(t, s, "far-future", "fresh", time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC))
	assertNoValue(t, s, "past")
	assertNoValue(t, s, "epoch")
	assertValue(t, s, "future", "fresh")
	assertValue(t, s, "far-future", "fresh")
	if err := s.DeleteValue(ctx, "past"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("DeleteValue(expired) = %v, want ErrNotFound", err)
	}
	// A value that expires while stored disappears too.
	mustPutValue(t, s, "soon", "brief", time.Now().Add(50*time.Millisecond))
	assertValue(t, s, "soon", "brief")
	time.Sleep(100 * time.Millisecond)
	assertNoValue(t, s, "soon")
}

func testValueExpiryReplaced(t *testing.T, s store.Store) {
	// Replacing an expired value revives the key; replacing a live value
	// with an expired one removes it.
	mustPutValue(t, s, "k", "old", time.Now().Add(-time.Minute))
	mustPutValue(t, s, "k", "new", time.Now().Add(time.Hour))
	assertValue(t, s, "k", "new")
	mustPutValue(t, s, "k", "gone", time.Now().Add(-time.Minute))
	assertNoValue(t, s, "k")
}

func testValueCopiedIn(t *testing.T, s store.Store) {
	v := []byte("rfc9421")
	if err := s.PutValue(t.Context(), "k", v, time.Time{}); err != nil {
		t.Fatalf("PutValue: %v", err)
	}
	copy(v, "XXXXXXX")
	assertValue(t, s, "k", "rfc9421")
}

func testValueCopiedOut(t *testing.T, s store.Store) {
	mustPutValue(t, s, "k", "rfc9421", time.Time{})
	v, err := s.GetValue(t.Context(), "k")
	if err != nil {
		t.Fatalf("GetValue: %v", err)
	}
	copy(v, "XXXXXXX")
	assertValue(t, s, "k", "rfc9421")
}

func testDeleteValue(t *testing.T, s store.Store) {
	ctx := t.Context()
	mustPutValue(t, s, "a", "1", time.Time{})
	mustPutValue(t, s, "b", "2", time.Now().Add(time.Hour))
	if err := s.DeleteValue(ctx, "a"); err != nil {
		t.Fatalf("DeleteValue: %v", err)
	}
	assertNoValue(t, s, "a")
	if err := s.DeleteValue(ctx, "a"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("second DeleteValue = %v, want ErrNotFound", err)
	}
	if err := s.DeleteValue(ctx, "never-written"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("DeleteValue(missing) = %v, want ErrNotFound", err)
	}
	assertValue(t, s, "b", "2")
	// A deleted key can be written again.
	mustPutValue(t, s, "a", "3", time.Time{})
	assertValue(t, s, "a", "3")
}

func testConcurrentPuts(t *testing.T, s store.Store) {
	ctx := t.Context()
	const writers, rounds = 8, 20
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range rounds {
				// All writers race on "shared"; each also owns a key.
				if err := s.PutValue(ctx, "shared", fmt.Appendf(nil, "w%d-%d", w, i), time.Time{}); err != nil {
					t.Errorf("PutValue(shared): %v", err)
					return
				}
				if err := s.PutValue(ctx, fmt.Sprint("own-", w), fmt.Appendf(nil, "%d", i), time.Now().Add(time.Hour)); err != nil {
					t.Errorf("PutValue(own): %v", err)
					return
				}
				if _, err := s.GetValue(ctx, "shared"); err != nil {
					t.Errorf("GetValue(shared) during puts: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
	got, err := s.GetValue(ctx, "shared")
	if err != nil {
		t.Fatalf("GetValue(shared): %v", err)
	}
	// The survivor is one whole value some writer put last, never a mix.
	var w, i int
	if n, err := fmt.Sscanf(string(got), "w%d-%d", &w, &i); n != 2 || err != nil || w < 0 || w >= writers || i != rounds-1 {
		t.Errorf("shared = %q, want the last value of one writer", got)
	}
	for w := range writers {
		assertValue(t, s, fmt.Sprint("own-", w), fmt.Sprint(rounds-1))
	}
}

func testManyExpiredValues(t *testing.T, s store.Store) {
	// Drivers may purge expired values lazily while writing others: live
	// values must survive any purge.
	past, future := time.Now().Add(-time.Minute), time.Now().Add(time.Hour)
	for i := range 600 {
		mustPutValue(t, s, fmt.Sprint("dead-", i), "x", past)
		if i%100 == 0 {
			mustPutValue(t, s, fmt.Sprint("live-", i), "y", future)
			mustPutValue(t, s, fmt.Sprint("forever-", i), "z", time.Time{})
		}
	}
	for i := 0; i < 600; i += 100 {
		assertNoValue(t, s, fmt.Sprint("dead-", i))
		assertValue(t, s, fmt.Sprint("live-", i), "y")
		assertValue(t, s, fmt.Sprint("forever-", i), "z")
	}
}
