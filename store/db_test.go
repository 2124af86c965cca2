package store_test

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/slothpub/slothpub/store"
	"github.com/slothpub/slothpub/store/memstore"
	"github.com/slothpub/slothpub/store/storetest"
)

// The portable type over a driver passes the consumer suite that the
// older store.Store drivers pass: the SDK's packages keep working on it.
func TestDBConformance(t *testing.T) {
	storetest.Run(t, func(*testing.T) store.Store { return store.Open(memstore.NewDriver(), nil) })
}

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *fakeClock) Add(d time.Duration) { c.mu.Lock(); defer c.mu.Unlock(); c.t = c.t.Add(d) }

func newDB(t *testing.T) (*store.DB, *fakeClock) {
	clock := &fakeClock{t: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)}
	db := store.Open(memstore.NewDriver(), &store.Options{Clock: clock.Now})
	t.Cleanup(func() { db.Close() })
	return db, clock
}

var errBoom = errors.New("boom")

func TestEnqueueInFailedUnit(t *testing.T) {
	db, _ := newDB(t)
	ctx := t.Context()
	err := db.Update(ctx, func(tx *store.Tx) error {
		if err := tx.CreateObject(ctx, &store.Object{IRI: "https://example.com/notes/1", Type: "Note", Actor: "a"}); err != nil {
			return err
		}
		if _, _, err := tx.Enqueue(ctx, "outbox.deliver", []byte(`{}`), &store.EnqueueOptions{UniqueKey: "deliver:1"}); err != nil {
			return err
		}
		if n, err := tx.CountJobs(ctx, store.JobQuery{}); err != nil || n != 1 {
			return fmt.Errorf("CountJobs inside the unit = %d, %v", n, err)
		}
		return errBoom
	})
	if !errors.Is(err, errBoom) {
		t.Fatalf("Update = %v, want errBoom", err)
	}
	if n, err := db.CountJobs(ctx, store.JobQuery{}); err != nil || n != 0 {
		t.Errorf("CountJobs = %d, %v after a failed unit; want 0", n, err)
	}
	if js, err := db.Claim(ctx, []string{"outbox.deliver"}, 10, time.Minute); err != nil || len(js) != 0 {
		t.Errorf("Claim = %d jobs, %v; want none", len(js), err)
	}
	if _, err := db.GetObject(ctx, "https://example.com/notes/1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetObject = %v, want ErrNotFound", err)
	}
	// The unique key was never held.
	if _, ok, err := db.Enqueue(ctx, "outbox.deliver", nil, &store.EnqueueOptions{UniqueKey: "deliver:1"}); err != nil || !ok {
		t.Errorf("Enqueue after rollback = %v, %v; want inserted", ok, err)
	}
}

func TestEnqueueUnique(t *testing.T) {
	db, _ := newDB(t)
	ctx := t.Context()
	id, ok, err := db.Enqueue(ctx, "k", nil, &store.EnqueueOptions{UniqueKey: "u"})
	if err != nil || !ok || id <= 0 {
		t.Fatalf("Enqueue = %d, %v, %v", id, ok, err)
	}
	id2, ok, err := db.Enqueue(ctx, "k", nil, &store.EnqueueOptions{UniqueKey: "u"})
	if err != nil || ok || id2 != id {
		t.Errorf("Enqueue(duplicate) = %d, %v, %v; want %d, false, nil", id2, ok, err, id)
	}
	if _, _, err := db.Enqueue(ctx, "", nil, nil); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("Enqueue(no kind) = %v, want ErrInvalid", err)
	}
}

func TestClaimComplete(t *testing.T) {
	db, clock := newDB(t)
	ctx := t.Context()
	id, _, err := db.Enqueue(ctx, "inbox.process", []byte(`{"id":"x"}`), nil)
	if err != nil {
		t.Fatal(err)
	}
	later, _, _ := db.Enqueue(ctx, "inbox.process", nil, &store.EnqueueOptions{RunAt: clock.Now().Add(time.Hour)})
	js, err := db.Claim(ctx, []string{"inbox.process"}, 10, time.Minute)
	if err != nil || len(js) != 1 || js[0].ID != id || js[0].Attempt != 1 || string(js[0].Payload) != `{"id":"x"}` {
		t.Fatalf("Claim = %+v, %v; want only the due job %d", js, err, id)
	}
	if !js[0].LeaseUntil.Equal(clock.Now().Add(time.Minute)) {
		t.Errorf("LeaseUntil = %v, want the clock plus the lease", js[0].LeaseUntil)
	}
	clock.Add(time.Second)
	if err := db.Complete(ctx, js[0]); err != nil {
		t.Fatal(err)
	}
	j, err := db.GetJob(ctx, id)
	if err != nil || j.State != store.JobCompleted || !j.Finished.Equal(clock.Now()) {
		t.Errorf("GetJob = %+v, %v; want completed at the clock's time", j, err)
	}
	if err := db.Complete(ctx, js[0]); !errors.Is(err, store.ErrLeaseLost) {
		t.Errorf("Complete twice = %v, want ErrLeaseLost", err)
	}
	clock.Add(time.Hour)
	if js, _ := db.Claim(ctx, []string{"inbox.process"}, 10, time.Minute); len(js) != 1 || js[0].ID != later {
		t.Errorf("Claim an hour later = %+v, want job %d", js, later)
	}
}

func TestRetryRecordsError(t *testing.T) {
	db, clock := newDB(t)
	ctx := t.Context()
	id, _, _ := db.Enqueue(ctx, "k", nil, nil)
	js, _ := db.Claim(ctx, []string{"k"}, 1, time.Minute)
	if len(js) != 1 {
		t.Fatal("no job claimed")
	}
	at := clock.Now().Add(30 * time.Second)
	if err := db.Retry(ctx, js[0], at, fmt.Errorf("deliver: %w", errBoom)); err != nil {
		t.Fatal(err)
	}
	j, _ := db.GetJob(ctx, id)
	if j.State != store.JobRetryable || j.LastError != "deliver: boom" || !j.RunAt.Equal(at) {
		t.Errorf("job after Retry = %+v", j)
	}
	if js, _ := db.Claim(ctx, []string{"k"}, 1, time.Minute); len(js) != 0 {
		t.Error("claimed before the retry was due")
	}
	clock.Add(30 * time.Second)
	js, _ = db.Claim(ctx, []string{"k"}, 1, time.Minute)
	if len(js) != 1 || js[0].Attempt != 2 {
		t.Fatalf("Claim when due = %+v, want attempt 2", js)
	}
	if err := db.Discard(ctx, js[0], "gone"); err != nil {
		t.Fatal(err)
	}
	if n, _ := db.CountJobs(ctx, store.JobQuery{States: []store.JobState{store.JobDiscarded}}); n != 1 {
		t.Errorf("CountJobs(discarded) = %d, want 1", n)
	}
}

func TestLeaseExpiryWithClock(t *testing.T) {
	db, clock := newDB(t)
	ctx := t.Context()
	db.Enqueue(ctx, "k", nil, nil)
	first, _ := db.Claim(ctx, []string{"k"}, 1, time.Minute)
	if len(first) != 1 {
		t.Fatal("no job claimed")
	}
	clock.Add(30 * time.Second)
	if err := db.ExtendLease(ctx, first[0], time.Minute); err != nil {
		t.Fatalf("ExtendLease: %v", err)
	}
	clock.Add(45 * time.Second) // past the first lease, inside the extended one
	if js, _ := db.Claim(ctx, []string{"k"}, 1, time.Minute); len(js) != 0 {
		t.Fatal("claimed inside an extended lease")
	}
	clock.Add(time.Minute) // the worker died: its lease ends
	second, _ := db.Claim(ctx, []string{"k"}, 1, time.Minute)
	if len(second) != 1 || second[0].Attempt != 2 {
		t.Fatalf("Claim after the lease ended = %+v, want attempt 2", second)
	}
	if err := db.Complete(ctx, first[0]); !errors.Is(err, store.ErrLeaseLost) {
		t.Errorf("Complete by the first worker = %v, want ErrLeaseLost", err)
	}
	if err := db.Snooze(ctx, second[0], clock.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	clock.Add(time.Minute)
	third, _ := db.Claim(ctx, []string{"k"}, 1, time.Minute)
	if len(third) != 1 || third[0].Attempt != 2 {
		t.Errorf("Claim after a snooze = %+v, want attempt 2 (the snoozed attempt does not count)", third)
	}
}

func TestPruneJobs(t *testing.T) {
	db, clock := newDB(t)
	ctx := t.Context()
	old, _, _ := db.Enqueue(ctx, "k", nil, &store.EnqueueOptions{UniqueKey: "u"})
	js, _ := db.Claim(ctx, []string{"k"}, 1, time.Minute)
	db.Complete(ctx, js[0])
	clock.Add(48 * time.Hour)
	recent, _, _ := db.Enqueue(ctx, "k", nil, nil)
	js, _ = db.Claim(ctx, []string{"k"}, 1, time.Minute)
	db.Complete(ctx, js[0])
	pending, _, _ := db.Enqueue(ctx, "k", nil, nil)
	n, err := db.PruneJobs(ctx, 24*time.Hour)
	if err != nil || n != 1 {
		t.Fatalf("PruneJobs = %d, %v; want 1", n, err)
	}
	left, _ := db.Jobs(ctx, store.JobQuery{})
	var ids []int64
	for _, j := range left {
		ids = append(ids, j.ID)
	}
	if !slices.Equal(ids, []int64{recent, pending}) {
		t.Errorf("jobs left = %v, want %v (pruned %d)", ids, []int64{recent, pending}, old)
	}
	if _, ok, _ := db.Enqueue(ctx, "k", nil, &store.EnqueueOptions{UniqueKey: "u"}); !ok {
		t.Error("the unique key of a pruned job is still held")
	}
}

func TestValuesUseClock(t *testing.T) {
	db, clock := newDB(t)
	ctx := t.Context()
	if err := db.PutValue(ctx, "k", []byte("v"), clock.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if v, err := db.GetValue(ctx, "k"); err != nil || string(v) != "v" {
		t.Fatalf("GetValue = %q, %v", v, err)
	}
	clock.Add(2 * time.Hour)
	if _, err := db.GetValue(ctx, "k"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetValue after the clock passed expiry = %v, want ErrNotFound", err)
	}
}

// values returns the item values of a page.
func values(p store.ItemsPage) []string {
	var vs []string
	for _, it := range p.Items {
		vs = append(vs, it.Value)
	}
	return vs
}

func TestPageMastodon(t *testing.T) {
	db, _ := newDB(t)
	ctx := t.Context()
	const c = "https://example.com/users/alice/inbox"
	var ids []string // item i has id ids[i]
	for i := range 10 {
		var seq int64
		err := db.Update(ctx, func(tx *store.Tx) error {
			var err error
			seq, err = tx.Add(ctx, c, fmt.Sprint(i))
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, store.FormatSeqCursor(seq))
	}
	page := func(q store.PageQuery) store.ItemsPage {
		t.Helper()
		p, err := db.Page(ctx, c, q)
		if err != nil {
			t.Fatalf("Page(%+v): %v", q, err)
		}
		return p
	}
	p := page(store.PageQuery{Limit: 3})
	if got := values(p); !slices.Equal(got, []string{"9", "8", "7"}) || p.Older != ids[7] || p.Newer != ids[9] {
		t.Errorf("first page = %v older %q newer %q; want [9 8 7] %q %q", got, p.Older, p.Newer, ids[7], ids[9])
	}
	p = page(store.PageQuery{MaxID: p.Older, Limit: 3})
	if got := values(p); !slices.Equal(got, []string{"6", "5", "4"}) {
		t.Errorf("max_id page = %v, want [6 5 4]", got)
	}
	p = page(store.PageQuery{MaxID: ids[2], Limit: 3})
	if got := values(p); !slices.Equal(got, []string{"1", "0"}) || p.Older != "" {
		t.Errorf("last page = %v older %q; want [1 0] and no older", got, p.Older)
	}
	p = page(store.PageQuery{SinceID: ids[2], Limit: 3})
	if got := values(p); !slices.Equal(got, []string{"9", "8", "7"}) {
		t.Errorf("since_id page = %v, want the newest [9 8 7]", got)
	}
	p = page(store.PageQuery{MinID: ids[2], Limit: 3})
	if got := values(p); !slices.Equal(got, []string{"5", "4", "3"}) || p.Newer != ids[5] || p.Older != ids[3] {
		t.Errorf("min_id page = %v older %q newer %q; want [5 4 3] %q %q", got, p.Older, p.Newer, ids[3], ids[5])
	}
	p = page(store.PageQuery{MinID: ids[2], SinceID: ids[8], Limit: 3})
	if got := values(p); !slices.Equal(got, []string{"5", "4", "3"}) {
		t.Errorf("min_id with since_id = %v, want min_id to win: [5 4 3]", got)
	}
	p = page(store.PageQuery{MaxID: ids[8], SinceID: ids[5]})
	if got := values(p); !slices.Equal(got, []string{"7", "6"}) {
		t.Errorf("max_id with since_id = %v, want [7 6]", got)
	}
	p = page(store.PageQuery{MinID: "0", Limit: 3})
	if got := values(p); !slices.Equal(got, []string{"2", "1", "0"}) || p.Older != "" {
		t.Errorf("min_id 0 page = %v older %q; want the oldest [2 1 0] and no older", got, p.Older)
	}
	p = page(store.PageQuery{MinID: ids[9]})
	if len(p.Items) != 0 || p.Newer != "" || p.Older != "" {
		t.Errorf("min_id of the newest = %+v, want an empty page", p)
	}
	for _, bad := range []string{"x", "-1", "01"} {
		if _, err := db.Page(ctx, c, store.PageQuery{MaxID: bad}); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Page(max_id %q) = %v, want ErrNotFound", bad, err)
		}
	}
	// Items keeps its own newest-first cursor semantics on the same data.
	it, err := db.Items(ctx, c, "", 4)
	if err != nil || !slices.Equal(it.Items, []string{"9", "8", "7", "6"}) || it.Next != ids[5] {
		t.Errorf("Items = %+v, %v; want [9 8 7 6] next %q", it, err, ids[5])
	}
}

func TestFindObjects(t *testing.T) {
	db, _ := newDB(t)
	ctx := t.Context()
	const alice, parent = "https://example.com/users/alice", "https://remote.example/notes/p"
	for i := range 5 {
		o := &store.Object{IRI: fmt.Sprintf("https://example.com/notes/%d", i), Type: "Note", Actor: alice}
		if i%2 == 0 {
			o.InReplyTo = parent
		}
		if err := db.CreateObject(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	iris := func(p store.ObjectsPage) []string {
		var s []string
		for _, o := range p.Objects {
			s = append(s, o.IRI[len("https://example.com/notes/"):])
		}
		return s
	}
	p, err := db.FindObjects(ctx, store.FindQuery{Actor: alice, PageQuery: store.PageQuery{Limit: 2}})
	if err != nil || !slices.Equal(iris(p), []string{"4", "3"}) || p.Older == "" {
		t.Fatalf("FindObjects = %v (older %q), %v; want [4 3] and an older page", iris(p), p.Older, err)
	}
	p, _ = db.FindObjects(ctx, store.FindQuery{Actor: alice, PageQuery: store.PageQuery{MaxID: p.Older, Limit: 2}})
	if !slices.Equal(iris(p), []string{"2", "1"}) {
		t.Errorf("next page = %v, want [2 1]", iris(p))
	}
	p, _ = db.FindObjects(ctx, store.FindQuery{InReplyTo: parent, Actor: alice})
	if !slices.Equal(iris(p), []string{"4", "2", "0"}) || p.Older != "" {
		t.Errorf("replies = %v (older %q), want [4 2 0] and no older", iris(p), p.Older)
	}
	p, _ = db.FindObjects(ctx, store.FindQuery{Type: "Note", PageQuery: store.PageQuery{MinID: store.FormatSeqCursor(p.Objects[2].Seq), Limit: 2}})
	if !slices.Equal(iris(p), []string{"2", "1"}) {
		t.Errorf("min_id page = %v, want [2 1]", iris(p))
	}
	if _, err := db.FindObjects(ctx, store.FindQuery{}); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("FindObjects(no field) = %v, want ErrInvalid", err)
	}
}

// Code written against the small interfaces runs inside a unit on a *Tx.
func TestTxIsAStore(t *testing.T) {
	db, _ := newDB(t)
	ctx := t.Context()
	const c = "https://example.com/users/alice/followers"
	addAll := func(cs store.Collections, items ...string) error {
		for _, it := range items {
			if err := cs.AddItem(ctx, c, it); err != nil && !errors.Is(err, store.ErrExists) {
				return err
			}
		}
		return nil
	}
	err := db.Update(ctx, func(tx *store.Tx) error {
		if err := addAll(tx, "a", "b", "a", "c"); err != nil {
			return err
		}
		var got []string
		if err := store.EachItem(ctx, tx, c, func(it string) error { got = append(got, it); return nil }); err != nil {
			return err
		}
		if !slices.Equal(got, []string{"c", "b", "a"}) {
			return fmt.Errorf("EachItem inside the unit = %v", got)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := db.CountItems(ctx, c); n != 3 {
		t.Errorf("CountItems = %d, want 3", n)
	}
}

func TestUpdatePanicRollsBack(t *testing.T) {
	db, _ := newDB(t)
	ctx := t.Context()
	func() {
		defer func() {
			if p := recover(); p != "boom" {
				t.Errorf("recovered %v, want the unit's panic", p)
			}
		}()
		db.Update(ctx, func(tx *store.Tx) error {
			tx.CreateObject(ctx, &store.Object{IRI: "https://example.com/n", Type: "Note", Actor: "a"})
			tx.Enqueue(ctx, "k", nil, nil)
			panic("boom")
		})
	}()
	if _, err := db.GetObject(ctx, "https://example.com/n"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetObject after a panicking unit = %v, want ErrNotFound", err)
	}
	if n, _ := db.CountJobs(ctx, store.JobQuery{}); n != 0 {
		t.Errorf("CountJobs after a panicking unit = %d, want 0", n)
	}
}

func TestValidation(t *testing.T) {
	db, _ := newDB(t)
	ctx := t.Context()
	for name, err := range map[string]error{
		"CreateObject(nil)":      db.CreateObject(ctx, nil),
		"CreateObject(no IRI)":   db.CreateObject(ctx, &store.Object{Type: "Note"}),
		"PutObject(no IRI)":      db.PutObject(ctx, &store.Object{}),
		"AddItem(empty)":         db.AddItem(ctx, "c", ""),
		"PutKey(no id)":          db.PutKey(ctx, &store.Key{}),
		"CreateAccount(no name)": db.CreateAccount(ctx, &store.Account{}),
		"PutValue(no key)":       db.PutValue(ctx, "", nil, time.Time{}),
		"Claim(no kinds)":        second(db.Claim(ctx, nil, 1, time.Minute)),
		"Claim(no lease)":        second(db.Claim(ctx, []string{"k"}, 1, 0)),
		"Complete(nil)":          db.Complete(ctx, nil),
	} {
		if !errors.Is(err, store.ErrInvalid) {
			t.Errorf("%s = %v, want ErrInvalid", name, err)
		}
	}
	if _, err := db.GetObject(ctx, ""); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetObject(\"\") = %v, want ErrNotFound", err)
	}
	a := &store.Account{Username: "alice", ActorIRI: "https://example.com/users/alice"}
	if err := db.CreateAccount(ctx, a); err != nil {
		t.Fatal(err)
	}
	if got, _ := db.GetAccount(ctx, "alice"); !got.Created.Equal(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)) || !a.Created.Equal(got.Created) {
		t.Errorf("account Created = %v (caller's %v), want the clock's time", got.Created, a.Created)
	}
}

func second[T any](_ T, err error) error { return err }
