package sqlitestore_test

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/slothpub/slothpub/store"
	"github.com/slothpub/slothpub/store/sqlitestore"
)

func TestDurableAcrossReopen(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "durable.db")
	s, err := sqlitestore.Open(ctx, path, nil)
	if err != nil {
		t.Fatal(err)
	}
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

// TestSurvivesKill writes from a child process that is then killed with
// SIGKILL, without Close: every write that returned nil must be there.
func TestSurvivesKill(t *testing.T) {
	if path := os.Getenv("SQLITESTORE_KILL_CHILD"); path != "" {
		killChild(t, path)
		return
	}
	path := filepath.Join(t.TempDir(), "killed.db")
	cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestSurvivesKill$")
	cmd.Env = append(os.Environ(), "SQLITESTORE_KILL_CHILD="+path)
	out, err := cmd.StdoutPipe()
	must(t, err)
	cmd.Stderr = os.Stderr
	must(t, cmd.Start())
	sc := bufio.NewScanner(out)
	acked := 0
	for sc.Scan() {
		if sc.Text() == "acked" {
			acked++
			if acked == 50 {
				break
			}
		}
	}
	must(t, cmd.Process.Kill())
	_ = cmd.Wait()
	if acked < 50 {
		t.Fatalf("child acknowledged only %d writes", acked)
	}

	s, err := sqlitestore.Open(t.Context(), path, nil)
	must(t, err)
	defer s.Close()
	for i := range acked {
		if _, err := s.GetObject(t.Context(), fmt.Sprint("https://example.com/activities/", i)); err != nil {
			t.Errorf("acknowledged write %d lost after kill: %v", i, err)
		}
	}
}

// killChild writes objects forever, printing "acked" after each returns,
// until its parent kills it.
func killChild(t *testing.T, path string) {
	s, err := sqlitestore.Open(t.Context(), path, nil)
	must(t, err)
	for i := 0; ; i++ {
		iri := fmt.Sprint("https://example.com/activities/", i)
		must(t, s.CreateObject(t.Context(), &store.Object{IRI: iri, Type: "Create", Data: []byte(`{}`)}))
		fmt.Println("acked")
		if i > 10000 {
			t.Fatal("parent never killed the child")
		}
	}
}

// TestTwoHandlesOneFile opens one file twice, as two processes would:
// creates stay idempotent and items unique across both.
func TestTwoHandlesOneFile(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "shared.db")
	a := openFile(t, path)
	b := openFile(t, path)
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
	for _, s := range []*sqlitestore.Store{a, b} {
		if c, err := s.CountItems(ctx, "https://example.com/c"); err != nil || c != n {
			t.Errorf("CountItems = %d, %v; want %d", c, err, n)
		}
	}
}

func TestOpenPaths(t *testing.T) {
	dir := t.TempDir()
	// Characters that mean something in a URI are part of the file name.
	name := filepath.Join(dir, "we?ird #name%20.db")
	s := openFile(t, name)
	must(t, s.PutKey(t.Context(), &store.Key{ID: "k"}))
	if _, err := os.Stat(name); err != nil {
		t.Errorf("database not created under its exact name: %v", err)
	}
	if _, err := sqlitestore.Open(t.Context(), "", nil); err == nil {
		t.Error("Open(\"\") succeeded")
	}
	if s, err := sqlitestore.Open(t.Context(), filepath.Join(dir, "missing", "dir", "x.db"), nil); err == nil {
		s.Close()
		t.Error("Open in a missing directory succeeded")
	}
}

func TestMemoryIsPrivate(t *testing.T) {
	a := openFile(t, ":memory:")
	b := openFile(t, ":memory:")
	must(t, a.CreateAccount(t.Context(), &store.Account{Username: "alice"}))
	if n, err := b.CountAccounts(t.Context()); err != nil || n != 0 {
		t.Errorf("second :memory: store sees %d accounts (%v), want 0", n, err)
	}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
