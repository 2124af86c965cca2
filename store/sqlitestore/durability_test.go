package sqlitestore_test

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/slothpub/slothpub/store"
	"github.com/slothpub/slothpub/store/sqlitestore"
)

// TestDurableAcrossReopen writes every kind of record, closes the store and
// reopens the file: all is there, and a removed member's sequence number is
// not reused.
func TestDurableAcrossReopen(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "durable.db")
	s, err := sqlitestore.Open(ctx, path, nil)
	must(t, err)
	obj := &store.Object{IRI: "https://example.com/notes/1", Type: "Note", Actor: "https://example.com/users/alice",
		Local: true, Data: []byte(`{"id":"https://example.com/notes/1","type":"Note"}`)}
	key := &store.Key{ID: "https://example.com/users/alice#main-key", Owner: "https://example.com/users/alice",
		PublicPEM: "pem", Fetched: time.Date(2024, 1, 2, 3, 4, 5, 6, time.UTC)}
	acct := &store.Account{Username: "alice", ActorIRI: "https://example.com/users/alice",
		PrivateKeyPEM: []byte("secret"), Created: time.Date(2023, 1, 2, 3, 4, 5, 6, time.UTC)}
	const coll = "https://example.com/users/alice/followers"
	must(t, s.CreateObject(ctx, obj))
	must(t, s.PutKey(ctx, key))
	must(t, s.CreateAccount(ctx, acct))
	for i := range 5 {
		must(t, s.AddItem(ctx, coll, fmt.Sprint("https://remote.example/u", i)))
	}
	must(t, s.RemoveItem(ctx, coll, "https://remote.example/u4")) // the newest: its sequence must not be reused
	before, err := s.GetObject(ctx, obj.IRI)
	must(t, err)
	must(t, s.Close())

	s, err = sqlitestore.Open(ctx, path, nil)
	must(t, err)
	defer s.Close()
	got, err := s.GetObject(ctx, obj.IRI)
	must(t, err)
	if string(got.Data) != string(obj.Data) || got.Type != "Note" || !got.Local || !got.Created.Equal(before.Created) {
		t.Errorf("object after reopen = %+v, want %+v", got, before)
	}
	k, err := s.GetKey(ctx, key.ID)
	must(t, err)
	if k.ID != key.ID || k.Owner != key.Owner || k.PublicPEM != key.PublicPEM || !k.Fetched.Equal(key.Fetched) {
		t.Errorf("key after reopen = %+v, want %+v", k, key)
	}
	a, err := s.GetAccount(ctx, "alice")
	must(t, err)
	if string(a.PrivateKeyPEM) != "secret" || !a.Created.Equal(acct.Created) {
		t.Errorf("account after reopen = %+v", a)
	}
	must(t, s.AddItem(ctx, coll, "https://remote.example/new"))
	p, err := s.Items(ctx, coll, "", 10)
	must(t, err)
	want := []string{"https://remote.example/new", "https://remote.example/u3", "https://remote.example/u2",
		"https://remote.example/u1", "https://remote.example/u0"}
	if !slices.Equal(p.Items, want) {
		t.Errorf("items after reopen = %q, want %q", p.Items, want)
	}
}

// TestTwoHandlesOneFile opens one file twice, as two processes would (two
// drivers, each with its writer: one waits for the other's write lock):
// creates stay idempotent and items unique across both.
func TestTwoHandlesOneFile(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "shared.db")
	a := openDB(t, path, nil)
	b := openDB(t, path, nil)
	const n = 16
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		s := a
		if i%2 == 1 {
			s = b
		}
		wg.Go(func() {
			errs[i] = s.CreateObject(ctx, &store.Object{IRI: "https://example.com/once", Type: "Note", Data: []byte(`{}`)})
			if err := s.AddItem(ctx, "https://example.com/c", fmt.Sprint("https://example.com/i", i)); err != nil {
				t.Errorf("AddItem: %v", err)
			}
		})
	}
	wg.Wait()
	wins := 0
	for _, err := range errs {
		switch {
		case err == nil:
			wins++
		case !errors.Is(err, store.ErrExists):
			t.Errorf("CreateObject = %v, want nil or ErrExists", err)
		}
	}
	if wins != 1 {
		t.Errorf("%d creates of one IRI through two handles succeeded, want 1", wins)
	}
	for _, s := range []*store.DB{a, b} {
		if c, err := s.CountItems(ctx, "https://example.com/c"); err != nil || c != n {
			t.Errorf("CountItems = %d, %v; want %d", c, err, n)
		}
	}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
