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

// RunDriver runs the driver conformance suite: every contract of
// store.Driver and store.DriverTx except the jobs (RunJobs checks those).
// newDriver is called once per subtest with that subtest's t and must
// return a new, empty driver; it should register its cleanup (Close) with
// t.Cleanup.
//
// The suite never calls t.Fatal inside a unit of work (a driver may run fn
// on another goroutine); a function passed to Update or View returns an
// error instead, which the suite reports after the unit.
func RunDriver(t *testing.T, newDriver func(t *testing.T) store.Driver) {
	t.Helper()
	runDriverGroups(t, newDriver, []driverGroup{
		{"Units", unitTests},
		{"Objects", driverObjectTests},
		{"FindObjects", findTests},
		{"Collections", driverCollectionTests},
		{"Keys", driverKeyTests},
		{"Accounts", driverAccountTests},
		{"Values", driverValueTests},
	})
}

type driverTest struct {
	name string
	fn   func(t *testing.T, d store.Driver)
}

type driverGroup struct {
	name  string
	tests []driverTest
}

func runDriverGroups(t *testing.T, newDriver func(t *testing.T) store.Driver, groups []driverGroup) {
	t.Helper()
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) {
			for _, tc := range g.tests {
				t.Run(tc.name, func(t *testing.T) {
					tc.fn(t, newDriver(t))
				})
			}
		})
	}
}

// ---------------------------------------------------------------- helpers

// update runs fn in a unit of work and fails the test if the unit fails.
func update(t *testing.T, d store.Driver, fn func(tx store.DriverTx) error) {
	t.Helper()
	if err := d.Update(t.Context(), fn); err != nil {
		t.Fatalf("Update: %v", err)
	}
}

// view runs fn in a View and fails the test if it fails.
func view(t *testing.T, d store.Driver, fn func(tx store.DriverTx) error) {
	t.Helper()
	if err := d.View(t.Context(), fn); err != nil {
		t.Fatalf("View: %v", err)
	}
}

// failf returns an error for a mismatch found inside a unit of work.
func failf(format string, args ...any) error { return fmt.Errorf(format, args...) }

func dobj(iri, typ, actor, inReplyTo string) *store.Object {
	return &store.Object{
		IRI: iri, Type: typ, Actor: actor, InReplyTo: inReplyTo, Local: true,
		Data: fmt.Appendf(nil, `{"id":%q,"type":%q,"attributedTo":%q}`, iri, typ, actor),
	}
}

func insertObject(t *testing.T, d store.Driver, o *store.Object) *store.Object {
	t.Helper()
	update(t, d, func(tx store.DriverTx) error { return tx.InsertObject(t.Context(), o) })
	return o
}

func getObject(t *testing.T, d store.Driver, iri string) (*store.Object, error) {
	t.Helper()
	var o *store.Object
	err := d.View(t.Context(), func(tx store.DriverTx) error {
		var err error
		o, err = tx.GetObject(t.Context(), iri)
		return err
	})
	return o, err
}

func mustObject(t *testing.T, d store.Driver, iri string) *store.Object {
	t.Helper()
	o, err := getObject(t, d, iri)
	if err != nil {
		t.Fatalf("GetObject(%q): %v", iri, err)
	}
	return o
}

func find(t *testing.T, d store.Driver, q store.ObjectQuery) []string {
	t.Helper()
	var iris []string
	view(t, d, func(tx store.DriverTx) error {
		iris = nil
		os, err := tx.FindObjects(t.Context(), q)
		for _, o := range os {
			iris = append(iris, o.IRI)
		}
		return err
	})
	return iris
}

func addItem(t *testing.T, d store.Driver, collection, item string) int64 {
	t.Helper()
	var seq int64
	update(t, d, func(tx store.DriverTx) error {
		var err error
		seq, err = tx.AddItem(t.Context(), collection, item)
		return err
	})
	return seq
}

func items(t *testing.T, d store.Driver, collection string, r store.Range) []store.Item {
	t.Helper()
	var its []store.Item
	view(t, d, func(tx store.DriverTx) error {
		var err error
		its, err = tx.Items(t.Context(), collection, r)
		return err
	})
	return its
}

func countItems(t *testing.T, d store.Driver, collection string) int {
	t.Helper()
	var n int
	view(t, d, func(tx store.DriverTx) error {
		var err error
		n, err = tx.CountItems(t.Context(), collection)
		return err
	})
	return n
}

func hasItem(t *testing.T, d store.Driver, collection, item string) bool {
	t.Helper()
	var ok bool
	view(t, d, func(tx store.DriverTx) error {
		var err error
		ok, err = tx.HasItem(t.Context(), collection, item)
		return err
	})
	return ok
}

func within(got, want time.Time) bool {
	d := got.Sub(want)
	return d <= timeSlack && d >= -timeSlack
}

// base is a time with millisecond precision near the present, which every
// driver keeps exactly; tests offset fake clocks from it.
func base() time.Time { return time.Now().UTC().Truncate(time.Millisecond) }

var errBoom = errors.New("storetest: boom")

// ---------------------------------------------------------------- units

var unitTests = []driverTest{
	{"RollbackOnError", testRollbackOnError},
	{"RollbackOnPanic", testRollbackOnPanic},
	{"ReadsOwnWrites", testReadsOwnWrites},
	{"ViewIsolated", testViewIsolated},
	{"ViewReadOnly", testViewReadOnly},
	{"ViewConsistent", testViewConsistent},
	{"ConcurrentInsertOne", testConcurrentInsertOne},
	{"Commit", testCommit},
	{"ErrorsKeepUnit", testErrorsKeepUnit},
}

const (
	ucoll   = "https://example.com/users/alice/followers"
	ukept   = "https://example.com/notes/kept"
	unew    = "https://example.com/notes/new"
	ukey    = "https://example.com/users/alice#main-key"
	unewKey = "https://example.com/users/bob#main-key"
)

// seedUnit writes the records mutateAll changes.
func seedUnit(t *testing.T, d store.Driver) {
	t.Helper()
	update(t, d, func(tx store.DriverTx) error {
		ctx := t.Context()
		if err := tx.InsertObject(ctx, dobj(ukept, "Note", "https://example.com/users/alice", "")); err != nil {
			return err
		}
		if _, err := tx.AddItem(ctx, ucoll, "https://remote.example/users/kept"); err != nil {
			return err
		}
		if err := tx.PutKey(ctx, &store.Key{ID: ukey, Owner: "https://example.com/users/alice", PublicPEM: "old", Fetched: fetched}); err != nil {
			return err
		}
		return tx.PutValue(ctx, "v:kept", []byte("kept"), time.Time{})
	})
}

// mutateAll changes every kind of record that seedUnit wrote and adds new
// ones, reading its own writes as it goes.
func mutateAll(ctx context.Context, tx store.DriverTx) error {
	if err := tx.InsertObject(ctx, dobj(unew, "Note", "https://example.com/users/alice", ukept)); err != nil {
		return err
	}
	changed := dobj(ukept, "Article", "https://example.com/users/mallory", "")
	if err := tx.PutObject(ctx, changed); err != nil {
		return err
	}
	if _, err := tx.AddItem(ctx, ucoll, "https://remote.example/users/new"); err != nil {
		return err
	}
	if err := tx.RemoveItem(ctx, ucoll, "https://remote.example/users/kept"); err != nil {
		return err
	}
	if err := tx.PutKey(ctx, &store.Key{ID: ukey, Owner: "x", PublicPEM: "new", Fetched: fetched}); err != nil {
		return err
	}
	if err := tx.PutKey(ctx, &store.Key{ID: unewKey, Owner: "y", PublicPEM: "new", Fetched: fetched}); err != nil {
		return err
	}
	if err := tx.DeleteValue(ctx, "v:kept", time.Now()); err != nil {
		return err
	}
	if err := tx.PutValue(ctx, "v:new", []byte("new"), time.Time{}); err != nil {
		return err
	}
	if err := tx.CreateAccount(ctx, &store.Account{Username: "carol", ActorIRI: "https://example.com/users/carol", PrivateKeyPEM: []byte("k"), Created: fetched}); err != nil {
		return err
	}
	now := base()
	if _, err := tx.InsertJob(ctx, &store.Job{Kind: "k", Payload: []byte("{}"), UniqueKey: "u", State: store.JobAvailable, RunAt: now, Created: now}); err != nil {
		return err
	}
	// The unit sees what it wrote.
	if o, err := tx.GetObject(ctx, ukept); err != nil || o.Type != "Article" {
		return failf("GetObject inside the unit = %+v, %v; want its own Article", o, err)
	}
	if ok, err := tx.HasItem(ctx, ucoll, "https://remote.example/users/kept"); err != nil || ok {
		return failf("HasItem(removed) inside the unit = %v, %v; want false", ok, err)
	}
	return nil
}

// assertUntouched checks that nothing mutateAll did is visible.
func assertUntouched(t *testing.T, d store.Driver) {
	t.Helper()
	ctx := t.Context()
	view(t, d, func(tx store.DriverTx) error {
		if _, err := tx.GetObject(ctx, unew); !errors.Is(err, store.ErrNotFound) {
			return failf("object inserted by a failed unit: GetObject = %v, want ErrNotFound", err)
		}
		o, err := tx.GetObject(ctx, ukept)
		if err != nil {
			return failf("GetObject(kept): %v", err)
		}
		if o.Type != "Note" || o.Actor != "https://example.com/users/alice" {
			return failf("object replaced by a failed unit: %+v", o)
		}
		if os, err := tx.FindObjects(ctx, store.ObjectQuery{Type: "Article", Range: store.Range{Limit: 10}}); err != nil || len(os) != 0 {
			return failf("FindObjects(Type Article) after rollback = %d objects, %v; want none", len(os), err)
		}
		if os, err := tx.FindObjects(ctx, store.ObjectQuery{Actor: "https://example.com/users/alice", Range: store.Range{Limit: 10}}); err != nil || len(os) != 1 || os[0].IRI != ukept {
			return failf("FindObjects(Actor alice) after rollback = %d objects, %v; want only the kept one", len(os), err)
		}
		if os, err := tx.FindObjects(ctx, store.ObjectQuery{InReplyTo: ukept, Range: store.Range{Limit: 10}}); err != nil || len(os) != 0 {
			return failf("FindObjects(InReplyTo) after rollback = %d objects, %v; want none", len(os), err)
		}
		if ok, err := tx.HasItem(ctx, ucoll, "https://remote.example/users/kept"); err != nil || !ok {
			return failf("item removed by a failed unit: HasItem = %v, %v", ok, err)
		}
		if ok, err := tx.HasItem(ctx, ucoll, "https://remote.example/users/new"); err != nil || ok {
			return failf("item added by a failed unit: HasItem = %v, %v", ok, err)
		}
		if n, err := tx.CountItems(ctx, ucoll); err != nil || n != 1 {
			return failf("CountItems after rollback = %d, %v; want 1", n, err)
		}
		if its, err := tx.Items(ctx, ucoll, store.Range{Limit: 10}); err != nil || len(its) != 1 || its[0].Value != "https://remote.example/users/kept" {
			return failf("Items after rollback = %v, %v; want only the kept item", its, err)
		}
		if k, err := tx.GetKey(ctx, ukey); err != nil || k.PublicPEM != "old" {
			return failf("key replaced by a failed unit: %+v, %v", k, err)
		}
		if _, err := tx.GetKey(ctx, unewKey); !errors.Is(err, store.ErrNotFound) {
			return failf("key stored by a failed unit: GetKey = %v, want ErrNotFound", err)
		}
		if v, err := tx.GetValue(ctx, "v:kept", time.Now()); err != nil || string(v) != "kept" {
			return failf("value deleted by a failed unit: %q, %v", v, err)
		}
		if _, err := tx.GetValue(ctx, "v:new", time.Now()); !errors.Is(err, store.ErrNotFound) {
			return failf("value stored by a failed unit: GetValue = %v, want ErrNotFound", err)
		}
		if _, err := tx.GetAccount(ctx, "carol"); !errors.Is(err, store.ErrNotFound) {
			return failf("account created by a failed unit: GetAccount = %v, want ErrNotFound", err)
		}
		if n, err := tx.CountAccounts(ctx); err != nil || n != 0 {
			return failf("CountAccounts after rollback = %d, %v; want 0", n, err)
		}
		if n, err := tx.CountJobs(ctx, store.JobQuery{}); err != nil || n != 0 {
			return failf("CountJobs after rollback = %d, %v; want 0", n, err)
		}
		return nil
	})
	// The store still takes writes, and the unique key and IRIs are free.
	update(t, d, func(tx store.DriverTx) error {
		if err := tx.InsertObject(ctx, dobj(unew, "Note", "a", "")); err != nil {
			return failf("InsertObject after rollback: %v", err)
		}
		now := base()
		ok, err := tx.InsertJob(ctx, &store.Job{Kind: "k", UniqueKey: "u", State: store.JobAvailable, RunAt: now, Created: now})
		if err != nil || !ok {
			return failf("InsertJob(unique key of a rolled-back job) = %v, %v; want inserted", ok, err)
		}
		return nil
	})
}

func testRollbackOnError(t *testing.T, d store.Driver) {
	seedUnit(t, d)
	err := d.Update(t.Context(), func(tx store.DriverTx) error {
		if err := mutateAll(t.Context(), tx); err != nil {
			return fmt.Errorf("mutate: %w (%w)", err, errSetup)
		}
		return fmt.Errorf("unit: %w", errBoom)
	})
	if errors.Is(err, errSetup) {
		t.Fatal(err)
	}
	if !errors.Is(err, errBoom) {
		t.Fatalf("Update = %v, want fn's error (errors.Is errBoom)", err)
	}
	assertUntouched(t, d)
}

var errSetup = errors.New("storetest: setup inside the unit failed")

type boomPanic struct{ n int }

func testRollbackOnPanic(t *testing.T, d store.Driver) {
	seedUnit(t, d)
	var setupErr error
	got := func() (p any) {
		defer func() { p = recover() }()
		_ = d.Update(t.Context(), func(tx store.DriverTx) error {
			if err := mutateAll(t.Context(), tx); err != nil {
				setupErr = err
				return err
			}
			panic(boomPanic{42})
		})
		return nil
	}()
	if setupErr != nil {
		t.Fatal(setupErr)
	}
	if bp, ok := got.(boomPanic); !ok || bp.n != 42 {
		t.Fatalf("Update re-panicked with %v, want fn's panic value boomPanic{42}", got)
	}
	assertUntouched(t, d)
}

func testReadsOwnWrites(t *testing.T, d store.Driver) {
	ctx := t.Context()
	update(t, d, func(tx store.DriverTx) error {
		o := dobj("https://example.com/notes/1", "Note", "https://example.com/users/alice", "https://remote.example/p")
		if err := tx.InsertObject(ctx, o); err != nil {
			return err
		}
		if got, err := tx.GetObject(ctx, o.IRI); err != nil || !bytes.Equal(got.Data, o.Data) || got.Seq != o.Seq {
			return failf("GetObject of own insert = %+v, %v", got, err)
		}
		for _, q := range []store.ObjectQuery{
			{Actor: o.Actor}, {Type: "Note"}, {InReplyTo: o.InReplyTo}, {Actor: o.Actor, Type: "Note", InReplyTo: o.InReplyTo},
		} {
			q.Range.Limit = 10
			if os, err := tx.FindObjects(ctx, q); err != nil || len(os) != 1 || os[0].IRI != o.IRI {
				return failf("FindObjects(%+v) of own insert = %d objects, %v", q, len(os), err)
			}
		}
		if err := tx.InsertObject(ctx, dobj(o.IRI, "Note", "", "")); !errors.Is(err, store.ErrExists) {
			return failf("InsertObject twice in one unit = %v, want ErrExists", err)
		}
		seq, err := tx.AddItem(ctx, ucoll, "https://remote.example/users/a")
		if err != nil {
			return err
		}
		if ok, err := tx.HasItem(ctx, ucoll, "https://remote.example/users/a"); err != nil || !ok {
			return failf("HasItem of own add = %v, %v", ok, err)
		}
		if n, err := tx.CountItems(ctx, ucoll); err != nil || n != 1 {
			return failf("CountItems of own add = %d, %v", n, err)
		}
		if its, err := tx.Items(ctx, ucoll, store.Range{Limit: 5}); err != nil || len(its) != 1 || its[0].Seq != seq {
			return failf("Items of own add = %v, %v; want seq %d", its, err, seq)
		}
		if err := tx.PutKey(ctx, &store.Key{ID: ukey, Owner: "o", PublicPEM: "p", Fetched: fetched}); err != nil {
			return err
		}
		if k, err := tx.GetKey(ctx, ukey); err != nil || k.PublicPEM != "p" {
			return failf("GetKey of own put = %+v, %v", k, err)
		}
		if err := tx.CreateAccount(ctx, &store.Account{Username: "alice", ActorIRI: "a", Created: fetched}); err != nil {
			return err
		}
		if n, err := tx.CountAccounts(ctx); err != nil || n != 1 {
			return failf("CountAccounts of own create = %d, %v", n, err)
		}
		if err := tx.PutValue(ctx, "v", []byte("1"), time.Time{}); err != nil {
			return err
		}
		if v, err := tx.GetValue(ctx, "v", time.Now()); err != nil || string(v) != "1" {
			return failf("GetValue of own put = %q, %v", v, err)
		}
		now := base()
		j := &store.Job{Kind: "k", State: store.JobAvailable, RunAt: now, Created: now}
		if _, err := tx.InsertJob(ctx, j); err != nil {
			return err
		}
		if g, err := tx.GetJob(ctx, j.ID); err != nil || g.Kind != "k" {
			return failf("GetJob of own insert = %+v, %v", g, err)
		}
		if err := tx.DeleteObject(ctx, o.IRI); err != nil {
			return err
		}
		if _, err := tx.GetObject(ctx, o.IRI); !errors.Is(err, store.ErrNotFound) {
			return failf("GetObject of own delete = %v, want ErrNotFound", err)
		}
		return nil
	})
}

// testViewIsolated: a View that runs while a unit is open does not see the
// unit's writes. A driver whose View waits for the writer is allowed (it
// then sees the committed state); the suite only checks a View that
// finishes while the unit is still open.
func testViewIsolated(t *testing.T, d store.Driver) {
	ctx := t.Context()
	const iri = "https://example.com/notes/uncommitted"
	type result struct{ err error }
	done := make(chan result, 1)
	var viewFinishedEarly bool
	err := d.Update(ctx, func(tx store.DriverTx) error {
		if err := tx.InsertObject(ctx, dobj(iri, "Note", "a", "")); err != nil {
			return err
		}
		if _, err := tx.AddItem(ctx, ucoll, "https://remote.example/users/u"); err != nil {
			return err
		}
		go func() {
			done <- result{d.View(ctx, func(vtx store.DriverTx) error {
				if _, err := vtx.GetObject(ctx, iri); !errors.Is(err, store.ErrNotFound) {
					return fmt.Errorf("a View saw an uncommitted object: GetObject = %v", err)
				}
				if n, err := vtx.CountItems(ctx, ucoll); err != nil || n != 0 {
					return fmt.Errorf("a View saw an uncommitted item: CountItems = %d, %v", n, err)
				}
				return nil
			})}
		}()
		select {
		case r := <-done:
			viewFinishedEarly = true
			done <- r
		case <-time.After(200 * time.Millisecond):
		}
		return nil
	})
	if err != nil {
		t.Fatalf("Update: %v", err)
	}
	r := <-done
	if viewFinishedEarly && r.err != nil {
		t.Error(r.err)
	}
	if _, err := getObject(t, d, iri); err != nil {
		t.Errorf("GetObject after commit: %v", err)
	}
}

func testViewReadOnly(t *testing.T, d store.Driver) {
	ctx := t.Context()
	now := base()
	_ = d.View(ctx, func(tx store.DriverTx) error {
		writes := map[string]error{}
		writes["InsertObject"] = tx.InsertObject(ctx, dobj("https://example.com/notes/v1", "Note", "a", ""))
		writes["PutObject"] = tx.PutObject(ctx, dobj("https://example.com/notes/v2", "Note", "a", ""))
		_, writes["AddItem"] = tx.AddItem(ctx, ucoll, "x")
		writes["PutKey"] = tx.PutKey(ctx, &store.Key{ID: ukey, Fetched: fetched})
		writes["CreateAccount"] = tx.CreateAccount(ctx, &store.Account{Username: "u", Created: fetched})
		writes["PutValue"] = tx.PutValue(ctx, "v", []byte("x"), time.Time{})
		_, writes["InsertJob"] = tx.InsertJob(ctx, &store.Job{Kind: "k", State: store.JobAvailable, RunAt: now, Created: now})
		for name, err := range writes {
			if err == nil {
				t.Errorf("%s inside a View succeeded, want an error", name)
			}
		}
		return nil
	})
	view(t, d, func(tx store.DriverTx) error {
		for _, iri := range []string{"https://example.com/notes/v1", "https://example.com/notes/v2"} {
			if _, err := tx.GetObject(ctx, iri); !errors.Is(err, store.ErrNotFound) {
				return failf("object written in a View: GetObject = %v", err)
			}
		}
		if n, _ := tx.CountItems(ctx, ucoll); n != 0 {
			return failf("item added in a View")
		}
		if n, _ := tx.CountJobs(ctx, store.JobQuery{}); n != 0 {
			return failf("job inserted in a View")
		}
		if _, err := tx.GetValue(ctx, "v", time.Now()); !errors.Is(err, store.ErrNotFound) {
			return failf("value written in a View: GetValue = %v", err)
		}
		return nil
	})
}

// testViewConsistent: units that write two collections together are seen
// whole by concurrent Views, whose reads all come from one state.
func testViewConsistent(t *testing.T, d store.Driver) {
	ctx := t.Context()
	const a, b = "https://example.com/c/a", "https://example.com/c/b"
	const rounds = 40
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Go(func() {
		defer close(stop)
		for i := range rounds {
			err := d.Update(ctx, func(tx store.DriverTx) error {
				if _, err := tx.AddItem(ctx, a, fmt.Sprint(i)); err != nil {
					return err
				}
				_, err := tx.AddItem(ctx, b, fmt.Sprint(i))
				return err
			})
			if err != nil {
				t.Errorf("Update %d: %v", i, err)
				return
			}
		}
	})
	for range 2 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				var na, nb int
				err := d.View(ctx, func(tx store.DriverTx) error {
					var err error
					if na, err = tx.CountItems(ctx, a); err != nil {
						return err
					}
					nb, err = tx.CountItems(ctx, b)
					return err
				})
				if err != nil {
					t.Errorf("View: %v", err)
					return
				}
				if na != nb {
					t.Errorf("a View saw half a unit: %d items in a, %d in b", na, nb)
					return
				}
			}
		})
	}
	wg.Wait()
	if n := countItems(t, d, a); n != rounds {
		t.Errorf("CountItems = %d, want %d", n, rounds)
	}
}

func testConcurrentInsertOne(t *testing.T, d store.Driver) {
	ctx := t.Context()
	const n = 8
	const iri = "https://example.com/notes/contested"
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			errs[i] = d.Update(ctx, func(tx store.DriverTx) error {
				return tx.InsertObject(ctx, dobj(iri, "Note", fmt.Sprint(i), ""))
			})
		})
	}
	wg.Wait()
	wins := 0
	for i, err := range errs {
		switch {
		case err == nil:
			wins++
		case !errors.Is(err, store.ErrExists):
			t.Errorf("InsertObject %d: %v, want nil or ErrExists", i, err)
		}
	}
	if wins != 1 {
		t.Errorf("%d of %d concurrent inserts of one IRI succeeded, want exactly 1", wins, n)
	}
}

func testCommit(t *testing.T, d store.Driver) {
	seedUnit(t, d)
	update(t, d, func(tx store.DriverTx) error { return mutateAll(t.Context(), tx) })
	ctx := t.Context()
	view(t, d, func(tx store.DriverTx) error {
		if _, err := tx.GetObject(ctx, unew); err != nil {
			return failf("committed object: %v", err)
		}
		if o, err := tx.GetObject(ctx, ukept); err != nil || o.Type != "Article" {
			return failf("committed replacement = %+v, %v", o, err)
		}
		if ok, _ := tx.HasItem(ctx, ucoll, "https://remote.example/users/kept"); ok {
			return failf("committed removal not seen")
		}
		if _, err := tx.GetValue(ctx, "v:kept", time.Now()); !errors.Is(err, store.ErrNotFound) {
			return failf("committed DeleteValue not seen: %v", err)
		}
		if n, err := tx.CountJobs(ctx, store.JobQuery{}); err != nil || n != 1 {
			return failf("CountJobs after commit = %d, %v; want 1", n, err)
		}
		if n, err := tx.CountAccounts(ctx); err != nil || n != 1 {
			return failf("CountAccounts after commit = %d, %v; want 1", n, err)
		}
		return nil
	})
}

// testErrorsKeepUnit: a method that returns a sentinel (ErrExists,
// ErrNotFound, ErrLeaseLost) leaves the unit usable, and the unit's other
// writes commit. The SDK relies on it: it ignores ErrExists of an AddItem
// and goes on inside the same unit. (A SQL driver must not let a unique
// violation abort the transaction: ON CONFLICT DO NOTHING, or a savepoint.)
func testErrorsKeepUnit(t *testing.T, d store.Driver) {
	ctx := t.Context()
	seedUnit(t, d)
	now := base()
	var jobID int64
	update(t, d, func(tx store.DriverTx) error {
		j := newJob("k", "held", now)
		if _, err := tx.InsertJob(ctx, j); err != nil {
			return err
		}
		jobID = j.ID
		_, err := tx.AddItem(ctx, ucoll, "https://remote.example/users/x")
		return err
	})
	update(t, d, func(tx store.DriverTx) error {
		checks := []struct {
			name string
			err  error
			want error
		}{
			{"InsertObject(existing)", tx.InsertObject(ctx, dobj(ukept, "Note", "a", "")), store.ErrExists},
			{"AddItem(present)", second(tx.AddItem(ctx, ucoll, "https://remote.example/users/kept")), store.ErrExists},
			{"RemoveItem(missing)", tx.RemoveItem(ctx, ucoll, "https://remote.example/users/none"), store.ErrNotFound},
			{"DeleteObject(missing)", tx.DeleteObject(ctx, unew), store.ErrNotFound},
			{"GetObject(missing)", second(tx.GetObject(ctx, unew)), store.ErrNotFound},
			{"DeleteKey(missing)", tx.DeleteKey(ctx, unewKey), store.ErrNotFound},
			{"DeleteValue(missing)", tx.DeleteValue(ctx, "v:none", now), store.ErrNotFound},
			{"FinishJob(not running)", tx.FinishJob(ctx, store.JobResult{ID: jobID, Attempt: 1, State: store.JobCompleted, At: now}), store.ErrLeaseLost},
			{"GetJob(missing)", second(tx.GetJob(ctx, jobID+1000)), store.ErrNotFound},
		}
		for _, c := range checks {
			if !errors.Is(c.err, c.want) {
				return failf("%s = %v, want %v", c.name, c.err, c.want)
			}
		}
		if err := tx.CreateAccount(ctx, &store.Account{Username: "dup", Created: fetched}); err != nil {
			return err
		}
		if err := tx.CreateAccount(ctx, &store.Account{Username: "dup", Created: fetched}); !errors.Is(err, store.ErrExists) {
			return failf("CreateAccount(taken) = %v, want ErrExists", err)
		}
		if ok, err := tx.InsertJob(ctx, newJob("k", "held", now)); err != nil || ok {
			return failf("InsertJob(held key) = %v, %v; want false, nil", ok, err)
		}
		// The unit goes on after all of them.
		if err := tx.InsertObject(ctx, dobj(unew, "Note", "a", "")); err != nil {
			return failf("InsertObject after sentinel errors: %v", err)
		}
		if _, err := tx.AddItem(ctx, ucoll, "https://remote.example/users/after"); err != nil {
			return failf("AddItem after sentinel errors: %v", err)
		}
		return nil
	})
	if _, err := getObject(t, d, unew); err != nil {
		t.Errorf("the write after sentinel errors was not committed: %v", err)
	}
	if !hasItem(t, d, ucoll, "https://remote.example/users/after") {
		t.Error("the item added after sentinel errors was not committed")
	}
	if n := countItems(t, d, ucoll); n != 3 {
		t.Errorf("CountItems = %d, want 3", n)
	}
}

// second returns the error of a two-result call.
func second[T any](_ T, err error) error { return err }

// ---------------------------------------------------------------- objects

var driverObjectTests = []driverTest{
	{"GetMissing", testDriverGetMissing},
	{"InsertSetsFields", testInsertSetsFields},
	{"InsertExisting", testInsertExisting},
	{"SeqIncreases", testObjectSeqIncreases},
	{"PutNew", testPutNew},
	{"PutReplaces", testPutReplaces},
	{"CopiedInOut", testDriverObjectCopies},
	{"Delete", testDriverDeleteObject},
}

func testDriverGetMissing(t *testing.T, d store.Driver) {
	if o, err := getObject(t, d, "https://example.com/missing"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetObject(missing) = %v, %v; want ErrNotFound", o, err)
	}
	err := d.Update(t.Context(), func(tx store.DriverTx) error { return tx.DeleteObject(t.Context(), "https://example.com/missing") })
	if !errors.Is(err, store.ErrNotFound) {
		t.Errorf("DeleteObject(missing) = %v, want ErrNotFound", err)
	}
}

func testInsertSetsFields(t *testing.T, d store.Driver) {
	o := dobj("https://example.com/notes/1", "Note", "https://example.com/users/alice", "https://remote.example/notes/p")
	before := time.Now()
	insertObject(t, d, o)
	after := time.Now()
	if o.Seq <= 0 {
		t.Errorf("InsertObject set Seq %d, want > 0", o.Seq)
	}
	assertWithin(t, "Created", o.Created, before, after)
	assertWithin(t, "Updated", o.Updated, before, after)
	got := mustObject(t, d, o.IRI)
	want := dobj(o.IRI, "Note", "https://example.com/users/alice", "https://remote.example/notes/p")
	if got.IRI != want.IRI || got.Type != want.Type || got.Actor != want.Actor || got.InReplyTo != want.InReplyTo ||
		got.Local != want.Local || !bytes.Equal(got.Data, want.Data) {
		t.Errorf("GetObject = %+v, want %+v", got, want)
	}
	if got.Seq != o.Seq {
		t.Errorf("GetObject Seq = %d, want %d (as InsertObject set it)", got.Seq, o.Seq)
	}
	if !within(got.Created, o.Created) || !within(got.Updated, o.Updated) {
		t.Errorf("GetObject Created, Updated = %v, %v; want %v, %v", got.Created, got.Updated, o.Created, o.Updated)
	}
}

func testInsertExisting(t *testing.T, d store.Driver) {
	first := insertObject(t, d, dobj("https://example.com/notes/1", "Note", "a", ""))
	dup := dobj(first.IRI, "Article", "b", "c")
	err := d.Update(t.Context(), func(tx store.DriverTx) error { return tx.InsertObject(t.Context(), dup) })
	if !errors.Is(err, store.ErrExists) {
		t.Fatalf("InsertObject(existing) = %v, want ErrExists", err)
	}
	got := mustObject(t, d, first.IRI)
	if got.Type != "Note" || got.Actor != "a" || got.Seq != first.Seq {
		t.Errorf("a failed InsertObject changed the object: %+v", got)
	}
	if ids := find(t, d, store.ObjectQuery{Actor: "b", Range: store.Range{Limit: 10}}); len(ids) != 0 {
		t.Errorf("a failed InsertObject indexed its fields: %v", ids)
	}
}

func testObjectSeqIncreases(t *testing.T, d store.Driver) {
	var last int64
	for i := range 5 {
		o := insertObject(t, d, dobj(fmt.Sprintf("https://example.com/notes/%d", i), "Note", "a", ""))
		if o.Seq <= last {
			t.Errorf("object %d Seq = %d, not above the previous %d", i, o.Seq, last)
		}
		last = o.Seq
	}
	// Collection items share the store-wide increasing numbering with each
	// other; an object inserted after an item still numbers above earlier
	// objects.
	addItem(t, d, ucoll, "x")
	o := insertObject(t, d, dobj("https://example.com/notes/after", "Note", "a", ""))
	if o.Seq <= last {
		t.Errorf("Seq = %d after an AddItem, not above %d", o.Seq, last)
	}
}

func testPutNew(t *testing.T, d store.Driver) {
	o := dobj("https://example.com/notes/1", "Note", "a", "")
	before := time.Now()
	update(t, d, func(tx store.DriverTx) error { return tx.PutObject(t.Context(), o) })
	if o.Seq <= 0 {
		t.Errorf("PutObject(new) set Seq %d, want > 0", o.Seq)
	}
	assertWithin(t, "Created", o.Created, before, time.Now())
	if got := mustObject(t, d, o.IRI); got.Seq != o.Seq || got.Type != "Note" {
		t.Errorf("GetObject = %+v", got)
	}
}

func testPutReplaces(t *testing.T, d store.Driver) {
	other := insertObject(t, d, dobj("https://example.com/notes/0", "Note", "a", ""))
	first := insertObject(t, d, dobj("https://example.com/notes/1", "Note", "a", "p"))
	insertObject(t, d, dobj("https://example.com/notes/2", "Note", "a", ""))
	time.Sleep(3 * time.Millisecond)
	repl := dobj(first.IRI, "Tombstone", "b", "q")
	repl.Local = false
	repl.Data = []byte(`{"type":"Tombstone"}`)
	before := time.Now()
	update(t, d, func(tx store.DriverTx) error { return tx.PutObject(t.Context(), repl) })
	if repl.Seq != first.Seq {
		t.Errorf("PutObject(existing) Seq = %d, want the first write's %d", repl.Seq, first.Seq)
	}
	if !within(repl.Created, first.Created) {
		t.Errorf("PutObject(existing) Created = %v, want the first write's %v", repl.Created, first.Created)
	}
	assertWithin(t, "Updated", repl.Updated, before, time.Now())
	got := mustObject(t, d, first.IRI)
	if got.Type != "Tombstone" || got.Actor != "b" || got.InReplyTo != "q" || got.Local || string(got.Data) != `{"type":"Tombstone"}` {
		t.Errorf("GetObject after PutObject = %+v", got)
	}
	if got.Seq != first.Seq || !within(got.Created, first.Created) {
		t.Errorf("GetObject after PutObject: Seq %d Created %v; want %d %v", got.Seq, got.Created, first.Seq, first.Created)
	}
	if other.Seq >= got.Seq {
		t.Errorf("Seq order broken: %d >= %d", other.Seq, got.Seq)
	}
}

func testDriverObjectCopies(t *testing.T, d store.Driver) {
	o := dobj("https://example.com/notes/1", "Note", "a", "")
	want := slices.Clone(o.Data)
	insertObject(t, d, o)
	for i := range o.Data {
		o.Data[i] = 'X'
	}
	got := mustObject(t, d, o.IRI)
	if !bytes.Equal(got.Data, want) {
		t.Fatalf("the store kept the caller's Data slice: %q", got.Data)
	}
	for i := range got.Data {
		got.Data[i] = 'Y'
	}
	got.Type = "Changed"
	if again := mustObject(t, d, o.IRI); !bytes.Equal(again.Data, want) || again.Type != "Note" {
		t.Errorf("the store handed out its own copy: %q %q", again.Type, again.Data)
	}
	os := findObjects(t, d, store.ObjectQuery{Actor: "a", Range: store.Range{Limit: 1}})
	if len(os) != 1 {
		t.Fatalf("FindObjects = %d objects", len(os))
	}
	os[0].Data[0] = 'Z'
	if again := mustObject(t, d, o.IRI); !bytes.Equal(again.Data, want) {
		t.Errorf("FindObjects handed out the store's own Data: %q", again.Data)
	}
}

func findObjects(t *testing.T, d store.Driver, q store.ObjectQuery) []*store.Object {
	t.Helper()
	var os []*store.Object
	view(t, d, func(tx store.DriverTx) error {
		var err error
		os, err = tx.FindObjects(t.Context(), q)
		return err
	})
	return os
}

func testDriverDeleteObject(t *testing.T, d store.Driver) {
	o := insertObject(t, d, dobj("https://example.com/notes/1", "Note", "a", "p"))
	keep := insertObject(t, d, dobj("https://example.com/notes/2", "Note", "a", "p"))
	update(t, d, func(tx store.DriverTx) error { return tx.DeleteObject(t.Context(), o.IRI) })
	if _, err := getObject(t, d, o.IRI); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetObject(deleted) = %v, want ErrNotFound", err)
	}
	for _, q := range []store.ObjectQuery{{Actor: "a"}, {Type: "Note"}, {InReplyTo: "p"}} {
		q.Range.Limit = 10
		if got := find(t, d, q); !slices.Equal(got, []string{keep.IRI}) {
			t.Errorf("FindObjects(%+v) after delete = %v, want [%s]", q, got, keep.IRI)
		}
	}
	err := d.Update(t.Context(), func(tx store.DriverTx) error { return tx.DeleteObject(t.Context(), o.IRI) })
	if !errors.Is(err, store.ErrNotFound) {
		t.Errorf("DeleteObject twice = %v, want ErrNotFound", err)
	}
	// The IRI is free again.
	again := insertObject(t, d, dobj(o.IRI, "Article", "b", ""))
	if got := mustObject(t, d, o.IRI); got.Type != "Article" || got.Seq != again.Seq {
		t.Errorf("re-inserted object = %+v", got)
	}
}

// ---------------------------------------------------------------- find

var findTests = []driverTest{
	{"ByField", testFindByField},
	{"Range", testFindRange},
	{"AfterPut", testFindAfterPut},
	{"Fields", testFindFields},
	{"Random", testFindRandom},
}

const (
	alice  = "https://example.com/users/alice"
	bob    = "https://example.com/users/bob"
	parent = "https://remote.example/notes/parent"
)

func testFindByField(t *testing.T, d store.Driver) {
	n1 := insertObject(t, d, dobj("https://example.com/n1", "Note", alice, "")).IRI
	n2 := insertObject(t, d, dobj("https://example.com/n2", "Note", bob, parent)).IRI
	c1 := insertObject(t, d, dobj("https://example.com/c1", "Create", alice, "")).IRI
	n3 := insertObject(t, d, dobj("https://example.com/n3", "Note", alice, parent)).IRI
	a4 := insertObject(t, d, dobj("https://example.com/a4", "Article", bob, parent)).IRI
	cases := []struct {
		q    store.ObjectQuery
		want []string // newest first
	}{
		{store.ObjectQuery{Actor: alice}, []string{n3, c1, n1}},
		{store.ObjectQuery{Actor: bob}, []string{a4, n2}},
		{store.ObjectQuery{Type: "Note"}, []string{n3, n2, n1}},
		{store.ObjectQuery{Type: "Create"}, []string{c1}},
		{store.ObjectQuery{InReplyTo: parent}, []string{a4, n3, n2}},
		{store.ObjectQuery{Actor: alice, Type: "Note"}, []string{n3, n1}},
		{store.ObjectQuery{InReplyTo: parent, Actor: bob}, []string{a4, n2}},
		{store.ObjectQuery{InReplyTo: parent, Type: "Note"}, []string{n3, n2}},
		{store.ObjectQuery{Actor: alice, Type: "Note", InReplyTo: parent}, []string{n3}},
		{store.ObjectQuery{Actor: bob, Type: "Create"}, nil},
		{store.ObjectQuery{Actor: "https://example.com/users/nobody"}, nil},
		{store.ObjectQuery{InReplyTo: n1}, nil},
	}
	for _, c := range cases {
		q := c.q
		q.Range = store.Range{Limit: 10}
		if got := find(t, d, q); !slices.Equal(got, c.want) {
			t.Errorf("FindObjects(%+v) = %v, want %v", c.q, got, c.want)
		}
		q.Range.Ascending = true
		want := slices.Clone(c.want)
		slices.Reverse(want)
		if got := find(t, d, q); !slices.Equal(got, want) {
			t.Errorf("FindObjects(%+v, Ascending) = %v, want %v", c.q, got, want)
		}
	}
}

func testFindRange(t *testing.T, d store.Driver) {
	const n = 30
	var seqs []int64
	var iris []string // oldest first
	update(t, d, func(tx store.DriverTx) error {
		seqs, iris = nil, nil
		for i := range n {
			a := dobj(fmt.Sprintf("https://example.com/a/%d", i), "Note", alice, "")
			if err := tx.InsertObject(t.Context(), a); err != nil {
				return err
			}
			seqs = append(seqs, a.Seq)
			iris = append(iris, a.IRI)
			if err := tx.InsertObject(t.Context(), dobj(fmt.Sprintf("https://example.com/b/%d", i), "Note", bob, "")); err != nil {
				return err
			}
		}
		return nil
	})
	rev := func(s []string) []string { s = slices.Clone(s); slices.Reverse(s); return s }
	q := func(r store.Range) []string {
		return find(t, d, store.ObjectQuery{Actor: alice, Range: r})
	}
	cases := []struct {
		name string
		r    store.Range
		want []string
	}{
		{"newest", store.Range{Limit: 5}, rev(iris[n-5:])},
		{"all", store.Range{Limit: 100}, rev(iris)},
		{"before", store.Range{Before: seqs[10], Limit: 4}, rev(iris[6:10])},
		{"before-near-start", store.Range{Before: seqs[2], Limit: 4}, rev(iris[:2])},
		{"after-desc", store.Range{After: seqs[20], Limit: 4}, rev(iris[n-4:])},
		{"after-asc", store.Range{After: seqs[20], Limit: 4, Ascending: true}, iris[21:25]},
		{"oldest", store.Range{Limit: 3, Ascending: true}, iris[:3]},
		{"window-desc", store.Range{After: seqs[3], Before: seqs[9], Limit: 100}, rev(iris[4:9])},
		{"window-asc", store.Range{After: seqs[3], Before: seqs[9], Limit: 2, Ascending: true}, iris[4:6]},
		{"before-first", store.Range{Before: seqs[0], Limit: 10}, nil},
		{"after-last", store.Range{After: seqs[n-1], Limit: 10, Ascending: true}, nil},
	}
	for _, c := range cases {
		if got := q(c.r); !slices.Equal(got, c.want) {
			t.Errorf("%s: FindObjects(Actor alice, %+v) = %v, want %v", c.name, c.r, got, c.want)
		}
	}
	// Paging down with Before and up with After visits every object once.
	var down []string
	for before := int64(0); ; {
		os := findObjects(t, d, store.ObjectQuery{Actor: alice, Range: store.Range{Before: before, Limit: 7}})
		if len(os) == 0 {
			break
		}
		for _, o := range os {
			down = append(down, o.IRI)
		}
		before = os[len(os)-1].Seq
		if len(down) > n {
			break
		}
	}
	if !slices.Equal(down, rev(iris)) {
		t.Errorf("paging with Before = %v, want %v", down, rev(iris))
	}
	var up []string
	for after := int64(0); ; {
		os := findObjects(t, d, store.ObjectQuery{Actor: alice, Range: store.Range{After: after, Limit: 7, Ascending: true}})
		if len(os) == 0 {
			break
		}
		for _, o := range os {
			up = append(up, o.IRI)
		}
		after = os[len(os)-1].Seq
		if len(up) > n {
			break
		}
	}
	if !slices.Equal(up, iris) {
		t.Errorf("paging with After = %v, want %v", up, iris)
	}
}

func testFindAfterPut(t *testing.T, d store.Driver) {
	o1 := insertObject(t, d, dobj("https://example.com/n1", "Note", alice, parent))
	o2 := insertObject(t, d, dobj("https://example.com/n2", "Note", alice, parent))
	o3 := insertObject(t, d, dobj("https://example.com/n3", "Note", bob, ""))
	// Move n1 to bob, another type and no parent.
	update(t, d, func(tx store.DriverTx) error {
		return tx.PutObject(t.Context(), dobj(o1.IRI, "Article", bob, ""))
	})
	lim := store.Range{Limit: 10}
	if got := find(t, d, store.ObjectQuery{Actor: alice, Range: lim}); !slices.Equal(got, []string{o2.IRI}) {
		t.Errorf("FindObjects(old actor) = %v, want [%s]", got, o2.IRI)
	}
	// n1 keeps its Seq, so it stays older than n3.
	if got := find(t, d, store.ObjectQuery{Actor: bob, Range: lim}); !slices.Equal(got, []string{o3.IRI, o1.IRI}) {
		t.Errorf("FindObjects(new actor) = %v, want [%s %s]", got, o3.IRI, o1.IRI)
	}
	if got := find(t, d, store.ObjectQuery{InReplyTo: parent, Range: lim}); !slices.Equal(got, []string{o2.IRI}) {
		t.Errorf("FindObjects(old parent) = %v, want [%s]", got, o2.IRI)
	}
	if got := find(t, d, store.ObjectQuery{Type: "Article", Range: lim}); !slices.Equal(got, []string{o1.IRI}) {
		t.Errorf("FindObjects(new type) = %v, want [%s]", got, o1.IRI)
	}
	if got := find(t, d, store.ObjectQuery{Type: "Note", Range: lim}); !slices.Equal(got, []string{o3.IRI, o2.IRI}) {
		t.Errorf("FindObjects(old type) = %v, want [%s %s]", got, o3.IRI, o2.IRI)
	}
}

func testFindFields(t *testing.T, d store.Driver) {
	o := insertObject(t, d, dobj("https://example.com/n1", "Note", alice, parent))
	os := findObjects(t, d, store.ObjectQuery{InReplyTo: parent, Range: store.Range{Limit: 10}})
	if len(os) != 1 {
		t.Fatalf("FindObjects = %d objects, want 1", len(os))
	}
	g := os[0]
	if g.IRI != o.IRI || g.Type != "Note" || g.Actor != alice || g.InReplyTo != parent || !g.Local ||
		!bytes.Equal(g.Data, o.Data) || g.Seq != o.Seq || !within(g.Created, o.Created) {
		t.Errorf("FindObjects returned %+v, want %+v", g, o)
	}
}

// ---------------------------------------------------------------- collections

var driverCollectionTests = []driverTest{
	{"Empty", testDriverCollectionEmpty},
	{"AddSeq", testAddSeq},
	{"Duplicate", testDriverDuplicate},
	{"Remove", testDriverRemove},
	{"Range", testItemsRange},
	{"Isolated", testDriverIsolated},
	{"PagingConcurrent", testPagingConcurrent},
	{"UnusualStrings", testDriverUnusualStrings},
	{"Random", testItemsRandom},
}

func testDriverCollectionEmpty(t *testing.T, d store.Driver) {
	if n := countItems(t, d, ucoll); n != 0 {
		t.Errorf("CountItems(never written) = %d", n)
	}
	if hasItem(t, d, ucoll, "x") {
		t.Error("HasItem(never written) = true")
	}
	if its := items(t, d, ucoll, store.Range{Limit: 10}); len(its) != 0 {
		t.Errorf("Items(never written) = %v", its)
	}
	err := d.Update(t.Context(), func(tx store.DriverTx) error { return tx.RemoveItem(t.Context(), ucoll, "x") })
	if !errors.Is(err, store.ErrNotFound) {
		t.Errorf("RemoveItem(never written) = %v, want ErrNotFound", err)
	}
}

func testAddSeq(t *testing.T, d store.Driver) {
	var last int64
	for i := range 6 {
		c := ucoll
		if i%2 == 1 {
			c = "https://example.com/users/bob/followers"
		}
		seq := addItem(t, d, c, fmt.Sprint(i))
		if seq <= last {
			t.Errorf("AddItem %d = seq %d, not above the previous %d (sequence numbers increase across the store)", i, seq, last)
		}
		last = seq
	}
	its := items(t, d, ucoll, store.Range{Limit: 10})
	if len(its) != 3 || its[0].Value != "4" || its[1].Value != "2" || its[2].Value != "0" {
		t.Errorf("Items = %v, want 4, 2, 0", its)
	}
}

func testDriverDuplicate(t *testing.T, d store.Driver) {
	s1 := addItem(t, d, ucoll, "a")
	s2 := addItem(t, d, ucoll, "b")
	var dupSeq int64
	err := d.Update(t.Context(), func(tx store.DriverTx) error {
		var err error
		dupSeq, err = tx.AddItem(t.Context(), ucoll, "a")
		return err
	})
	if !errors.Is(err, store.ErrExists) {
		t.Fatalf("AddItem(duplicate) = %d, %v; want ErrExists", dupSeq, err)
	}
	its := items(t, d, ucoll, store.Range{Limit: 10})
	want := []store.Item{{Seq: s2, Value: "b"}, {Seq: s1, Value: "a"}}
	if !slices.Equal(its, want) {
		t.Errorf("Items after a duplicate add = %v, want %v", its, want)
	}
	if n := countItems(t, d, ucoll); n != 2 {
		t.Errorf("CountItems = %d, want 2", n)
	}
}

func testDriverRemove(t *testing.T, d store.Driver) {
	s1 := addItem(t, d, ucoll, "a")
	addItem(t, d, ucoll, "b")
	s3 := addItem(t, d, ucoll, "c")
	update(t, d, func(tx store.DriverTx) error { return tx.RemoveItem(t.Context(), ucoll, "b") })
	if hasItem(t, d, ucoll, "b") {
		t.Error("HasItem(removed) = true")
	}
	if !hasItem(t, d, ucoll, "a") || !hasItem(t, d, ucoll, "c") {
		t.Error("RemoveItem removed another item")
	}
	if n := countItems(t, d, ucoll); n != 2 {
		t.Errorf("CountItems = %d, want 2", n)
	}
	want := []store.Item{{Seq: s3, Value: "c"}, {Seq: s1, Value: "a"}}
	if its := items(t, d, ucoll, store.Range{Limit: 10}); !slices.Equal(its, want) {
		t.Errorf("Items = %v, want %v", its, want)
	}
	err := d.Update(t.Context(), func(tx store.DriverTx) error { return tx.RemoveItem(t.Context(), ucoll, "b") })
	if !errors.Is(err, store.ErrNotFound) {
		t.Errorf("RemoveItem twice = %v, want ErrNotFound", err)
	}
	// Re-added, an item is new: it gets a new, higher number.
	if s := addItem(t, d, ucoll, "b"); s <= s3 {
		t.Errorf("re-added item seq %d, want above %d", s, s3)
	}
	if its := items(t, d, ucoll, store.Range{Limit: 1}); len(its) != 1 || its[0].Value != "b" {
		t.Errorf("newest item after re-add = %v, want b", its)
	}
}

func testItemsRange(t *testing.T, d store.Driver) {
	const n = 20
	var all []store.Item // oldest first
	update(t, d, func(tx store.DriverTx) error {
		all = nil
		for i := range n {
			v := fmt.Sprintf("https://remote.example/users/u%02d", i)
			seq, err := tx.AddItem(t.Context(), ucoll, v)
			if err != nil {
				return err
			}
			if _, err := tx.AddItem(t.Context(), "https://example.com/other", v); err != nil {
				return err
			}
			all = append(all, store.Item{Seq: seq, Value: v})
		}
		return nil
	})
	rev := func(s []store.Item) []store.Item { s = slices.Clone(s); slices.Reverse(s); return s }
	s := func(i int) int64 { return all[i].Seq }
	cases := []struct {
		name string
		r    store.Range
		want []store.Item
	}{
		{"newest", store.Range{Limit: 5}, rev(all[n-5:])},
		{"all", store.Range{Limit: 1000}, rev(all)},
		{"max_id", store.Range{Before: s(10), Limit: 3}, rev(all[7:10])},
		{"since_id", store.Range{After: s(10), Limit: 3}, rev(all[n-3:])},
		{"min_id", store.Range{After: s(10), Limit: 3, Ascending: true}, all[11:14]},
		{"oldest", store.Range{Limit: 2, Ascending: true}, all[:2]},
		{"window", store.Range{After: s(3), Before: s(8), Limit: 100}, rev(all[4:8])},
		{"window-asc", store.Range{After: s(3), Before: s(8), Limit: 100, Ascending: true}, all[4:8]},
		{"window-limited", store.Range{After: s(3), Before: s(8), Limit: 2}, rev(all[6:8])},
		{"before-oldest", store.Range{Before: s(0), Limit: 10}, nil},
		{"after-newest", store.Range{After: s(n - 1), Limit: 10}, nil},
		{"after-newest-asc", store.Range{After: s(n - 1), Limit: 10, Ascending: true}, nil},
		{"limit-1", store.Range{Limit: 1}, rev(all[n-1:])},
		// Bounds between two numbers: ranges are over Seq, not positions.
		{"before-gap", store.Range{Before: s(5) + 1, Limit: 2}, rev(all[4:6])},
	}
	for _, c := range cases {
		got := items(t, d, ucoll, c.r)
		if len(got) == 0 && len(c.want) == 0 {
			continue
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("%s: Items(%+v) = %v, want %v", c.name, c.r, got, c.want)
		}
	}
}

func testDriverIsolated(t *testing.T, d store.Driver) {
	const other = "https://example.com/users/bob/followers"
	addItem(t, d, ucoll, "a")
	addItem(t, d, other, "b")
	addItem(t, d, other, "a")
	if hasItem(t, d, ucoll, "b") {
		t.Error("HasItem sees another collection's item")
	}
	if n := countItems(t, d, other); n != 2 {
		t.Errorf("CountItems(other) = %d, want 2", n)
	}
	update(t, d, func(tx store.DriverTx) error { return tx.RemoveItem(t.Context(), other, "a") })
	if !hasItem(t, d, ucoll, "a") {
		t.Error("RemoveItem removed the item from another collection")
	}
	if its := items(t, d, ucoll, store.Range{Limit: 10}); len(its) != 1 || its[0].Value != "a" {
		t.Errorf("Items = %v", its)
	}
	// A prefix of a collection name is another collection.
	if n := countItems(t, d, ucoll[:len(ucoll)-1]); n != 0 {
		t.Errorf("CountItems(prefix) = %d, want 0", n)
	}
}

// testPagingConcurrent pages a collection down (Before) and up (After,
// Ascending) while other units add and remove items: every item that was
// there before paging started and stayed is seen exactly once; no item is
// seen twice.
func testPagingConcurrent(t *testing.T, d store.Driver) {
	ctx := t.Context()
	const n, extra, limit = 150, 60, 11
	var orig []store.Item
	update(t, d, func(tx store.DriverTx) error {
		orig = nil
		for i := range n {
			v := fmt.Sprintf("orig-%03d", i)
			seq, err := tx.AddItem(ctx, ucoll, v)
			if err != nil {
				return err
			}
			orig = append(orig, store.Item{Seq: seq, Value: v})
		}
		return nil
	})
	var mu sync.Mutex
	removed := map[string]bool{}
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := range extra {
			// Remove every fifth original item, from both ends.
			victim := orig[(i*5)%n].Value
			if i%2 == 1 {
				victim = orig[n-1-(i*5)%n].Value
			}
			err := d.Update(ctx, func(tx store.DriverTx) error {
				if _, err := tx.AddItem(ctx, ucoll, fmt.Sprintf("new-%03d", i)); err != nil {
					return err
				}
				err := tx.RemoveItem(ctx, ucoll, victim)
				if errors.Is(err, store.ErrNotFound) {
					return nil
				}
				return err
			})
			if err != nil {
				t.Errorf("writer unit %d: %v", i, err)
				return
			}
			// A unit may be retried, so the removal is recorded after it.
			mu.Lock()
			removed[victim] = true
			mu.Unlock()
		}
	})
	pager := func(name string, ascending bool) {
		seen := map[string]int{}
		var cursor int64
		for page := 0; ; page++ {
			if page > 3*(n+extra) {
				t.Errorf("%s: paging does not end", name)
				return
			}
			r := store.Range{Limit: limit, Ascending: ascending}
			if ascending {
				r.After = cursor
			} else {
				r.Before = cursor
			}
			var its []store.Item
			err := d.View(ctx, func(tx store.DriverTx) error {
				var err error
				its, err = tx.Items(ctx, ucoll, r)
				return err
			})
			if err != nil {
				t.Errorf("%s: Items: %v", name, err)
				return
			}
			if len(its) == 0 {
				break
			}
			for i, it := range its {
				seen[it.Value]++
				if i > 0 && (ascending && it.Seq <= its[i-1].Seq || !ascending && it.Seq >= its[i-1].Seq) {
					t.Errorf("%s: page out of order: %v", name, its)
				}
			}
			cursor = its[len(its)-1].Seq
		}
		wg.Wait() // removed is complete once the writer is done
		mu.Lock()
		defer mu.Unlock()
		for v, k := range seen {
			if k > 1 {
				t.Errorf("%s: %s seen %d times", name, v, k)
			}
		}
		for _, it := range orig {
			if seen[it.Value] == 0 && !removed[it.Value] {
				t.Errorf("%s: %s stayed in the collection but was skipped", name, it.Value)
			}
		}
	}
	var pagers sync.WaitGroup
	pagers.Go(func() { pager("down", false) })
	pagers.Go(func() { pager("up", true) })
	pagers.Wait()
	wg.Wait()
	// Every new item was added exactly once and the count agrees with Items.
	all := items(t, d, ucoll, store.Range{Limit: store.MaxPageLimit})
	if c := countItems(t, d, ucoll); c != len(all) {
		t.Errorf("CountItems = %d, Items returns %d", c, len(all))
	}
	for _, it := range all {
		if removed[it.Value] {
			t.Errorf("removed item %s still listed", it.Value)
		}
	}
}

func testDriverUnusualStrings(t *testing.T, d store.Driver) {
	coll := "https://example.com/users/ünïcödé/followers?page=1&x='\"%00"
	vals := []string{
		"https://example.com/users/a b",
		"https://example.com/ü/😀",
		"'; DROP TABLE items; --",
		"https://example.com/" + strings.Repeat("x", 2000),
		"https://example.com/%",
		"https://example.com/_",
	}
	for _, v := range vals {
		addItem(t, d, coll, v)
	}
	for _, v := range vals {
		if !hasItem(t, d, coll, v) {
			t.Errorf("HasItem(%.40q) = false", v)
		}
	}
	if hasItem(t, d, coll, "https://example.com/x") {
		t.Error("HasItem matched a pattern, not the exact item")
	}
	its := items(t, d, coll, store.Range{Limit: 10, Ascending: true})
	var got []string
	for _, it := range its {
		got = append(got, it.Value)
	}
	if !slices.Equal(got, vals) {
		t.Errorf("Items = %q, want %q", got, vals)
	}
}

// ---------------------------------------------------------------- keys

var driverKeyTests = []driverTest{
	{"Lifecycle", testDriverKeys},
}

func testDriverKeys(t *testing.T, d store.Driver) {
	ctx := t.Context()
	view(t, d, func(tx store.DriverTx) error {
		if _, err := tx.GetKey(ctx, ukey); !errors.Is(err, store.ErrNotFound) {
			return failf("GetKey(missing) = %v, want ErrNotFound", err)
		}
		return nil
	})
	k := &store.Key{ID: ukey, Owner: alice, PublicPEM: testPEM, Fetched: fetched}
	update(t, d, func(tx store.DriverTx) error { return tx.PutKey(ctx, k) })
	k.PublicPEM = "mutated after PutKey"
	view(t, d, func(tx store.DriverTx) error {
		g, err := tx.GetKey(ctx, ukey)
		if err != nil || g.Owner != alice || g.PublicPEM != testPEM || !g.Fetched.Equal(fetched) {
			return failf("GetKey = %+v, %v", g, err)
		}
		return nil
	})
	later := fetched.Add(time.Hour)
	update(t, d, func(tx store.DriverTx) error {
		return tx.PutKey(ctx, &store.Key{ID: ukey, Owner: bob, PublicPEM: "new", Fetched: later})
	})
	view(t, d, func(tx store.DriverTx) error {
		g, err := tx.GetKey(ctx, ukey)
		if err != nil || g.Owner != bob || g.PublicPEM != "new" || !g.Fetched.Equal(later) {
			return failf("GetKey after replace = %+v, %v", g, err)
		}
		return nil
	})
	update(t, d, func(tx store.DriverTx) error { return tx.DeleteKey(ctx, ukey) })
	err := d.Update(ctx, func(tx store.DriverTx) error { return tx.DeleteKey(ctx, ukey) })
	if !errors.Is(err, store.ErrNotFound) {
		t.Errorf("DeleteKey twice = %v, want ErrNotFound", err)
	}
	view(t, d, func(tx store.DriverTx) error {
		if _, err := tx.GetKey(ctx, ukey); !errors.Is(err, store.ErrNotFound) {
			return failf("GetKey(deleted) = %v, want ErrNotFound", err)
		}
		return nil
	})
}

// ---------------------------------------------------------------- accounts

var driverAccountTests = []driverTest{
	{"Lifecycle", testDriverAccounts},
}

func testDriverAccounts(t *testing.T, d store.Driver) {
	ctx := t.Context()
	view(t, d, func(tx store.DriverTx) error {
		if _, err := tx.GetAccount(ctx, "alice"); !errors.Is(err, store.ErrNotFound) {
			return failf("GetAccount(missing) = %v, want ErrNotFound", err)
		}
		if n, err := tx.CountAccounts(ctx); err != nil || n != 0 {
			return failf("CountAccounts(empty) = %d, %v", n, err)
		}
		return nil
	})
	a := &store.Account{Username: "alice", ActorIRI: alice, PrivateKeyPEM: []byte("secret"), Created: fetched}
	update(t, d, func(tx store.DriverTx) error { return tx.CreateAccount(ctx, a) })
	a.PrivateKeyPEM[0] = 'X'
	err := d.Update(ctx, func(tx store.DriverTx) error {
		return tx.CreateAccount(ctx, &store.Account{Username: "alice", ActorIRI: "impostor", Created: fetched})
	})
	if !errors.Is(err, store.ErrExists) {
		t.Errorf("CreateAccount(taken) = %v, want ErrExists", err)
	}
	update(t, d, func(tx store.DriverTx) error {
		return tx.CreateAccount(ctx, &store.Account{Username: "Alice", ActorIRI: "upper", Created: fetched})
	})
	view(t, d, func(tx store.DriverTx) error {
		g, err := tx.GetAccount(ctx, "alice")
		if err != nil || g.ActorIRI != alice || string(g.PrivateKeyPEM) != "secret" || !g.Created.Equal(fetched) {
			return failf("GetAccount = %+v, %v", g, err)
		}
		g.PrivateKeyPEM[0] = 'Y'
		if g2, _ := tx.GetAccount(ctx, "alice"); string(g2.PrivateKeyPEM) != "secret" {
			return failf("GetAccount handed out the store's own key slice")
		}
		if g, err := tx.GetAccount(ctx, "Alice"); err != nil || g.ActorIRI != "upper" {
			return failf("usernames must be case-sensitive: GetAccount(Alice) = %+v, %v", g, err)
		}
		if n, err := tx.CountAccounts(ctx); err != nil || n != 2 {
			return failf("CountAccounts = %d, %v; want 2", n, err)
		}
		return nil
	})
}

// ---------------------------------------------------------------- values

var driverValueTests = []driverTest{
	{"Lifecycle", testDriverValues},
	{"Expiry", testDriverValueExpiry},
}

func getValue(t *testing.T, d store.Driver, key string, now time.Time) ([]byte, error) {
	t.Helper()
	var v []byte
	err := d.View(t.Context(), func(tx store.DriverTx) error {
		var err error
		v, err = tx.GetValue(t.Context(), key, now)
		return err
	})
	return v, err
}

func putValue(t *testing.T, d store.Driver, key string, v []byte, expires time.Time) {
	t.Helper()
	update(t, d, func(tx store.DriverTx) error { return tx.PutValue(t.Context(), key, v, expires) })
}

func testDriverValues(t *testing.T, d store.Driver) {
	now := base()
	if _, err := getValue(t, d, "k", now); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetValue(missing) = %v, want ErrNotFound", err)
	}
	in := []byte("one")
	putValue(t, d, "k", in, time.Time{})
	in[0] = 'X'
	v, err := getValue(t, d, "k", now)
	if err != nil || string(v) != "one" {
		t.Fatalf("GetValue = %q, %v; want one (copied in)", v, err)
	}
	v[0] = 'Y'
	if v, _ := getValue(t, d, "k", now); string(v) != "one" {
		t.Errorf("GetValue handed out the store's own slice: %q", v)
	}
	putValue(t, d, "k", []byte("two"), time.Time{})
	if v, _ := getValue(t, d, "k", now); string(v) != "two" {
		t.Errorf("GetValue after replace = %q, want two", v)
	}
	putValue(t, d, "empty", []byte{}, time.Time{})
	if v, err := getValue(t, d, "empty", now); err != nil || len(v) != 0 {
		t.Errorf("GetValue(empty value) = %q, %v; want empty, nil", v, err)
	}
	update(t, d, func(tx store.DriverTx) error { return tx.DeleteValue(t.Context(), "k", now) })
	if _, err := getValue(t, d, "k", now); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetValue(deleted) = %v, want ErrNotFound", err)
	}
	err = d.Update(t.Context(), func(tx store.DriverTx) error { return tx.DeleteValue(t.Context(), "k", now) })
	if !errors.Is(err, store.ErrNotFound) {
		t.Errorf("DeleteValue twice = %v, want ErrNotFound", err)
	}
}

func testDriverValueExpiry(t *testing.T, d store.Driver) {
	now := base()
	putValue(t, d, "exp", []byte("x"), now.Add(time.Hour))
	putValue(t, d, "forever", []byte("f"), time.Time{})
	if v, err := getValue(t, d, "exp", now); err != nil || string(v) != "x" {
		t.Errorf("GetValue before expiry = %q, %v", v, err)
	}
	if v, err := getValue(t, d, "exp", now.Add(59*time.Minute)); err != nil || string(v) != "x" {
		t.Errorf("GetValue just before expiry = %q, %v", v, err)
	}
	if _, err := getValue(t, d, "exp", now.Add(2*time.Hour)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetValue after expiry (by the now argument) = %v, want ErrNotFound", err)
	}
	if v, err := getValue(t, d, "forever", now.AddDate(100, 0, 0)); err != nil || string(v) != "f" {
		t.Errorf("GetValue(no expiry, 100 years on) = %q, %v", v, err)
	}
	err := d.Update(t.Context(), func(tx store.DriverTx) error { return tx.DeleteValue(t.Context(), "exp", now.Add(2*time.Hour)) })
	if !errors.Is(err, store.ErrNotFound) {
		t.Errorf("DeleteValue(expired) = %v, want ErrNotFound", err)
	}
	// A put replaces an expired value, and its new expiry counts.
	putValue(t, d, "old", []byte("1"), now.Add(-time.Hour))
	if _, err := getValue(t, d, "old", now); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetValue(stored expired) = %v, want ErrNotFound", err)
	}
	putValue(t, d, "old", []byte("2"), now.Add(time.Hour))
	if v, err := getValue(t, d, "old", now); err != nil || string(v) != "2" {
		t.Errorf("GetValue after replacing an expired value = %q, %v", v, err)
	}
	putValue(t, d, "old", []byte("3"), time.Time{})
	if v, err := getValue(t, d, "old", now.AddDate(1, 0, 0)); err != nil || string(v) != "3" {
		t.Errorf("GetValue after clearing the expiry = %q, %v", v, err)
	}
}
