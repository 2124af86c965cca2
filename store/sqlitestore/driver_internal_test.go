package sqlitestore

import (
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/slothpub/slothpub/store"
)

// TestMigrateV2ToV3 opens a database of schema version 2 holding objects:
// they get seq in their rowid order and their in_reply_to from their JSON,
// the Driver finds them, and Store keeps working on the new schema.
func TestMigrateV2ToV3(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "v2.db")
	fileAtVersion(t, path, 2,
		`INSERT INTO objects VALUES ('https://a.example/1', 'Note', 'https://a.example/u', 1, CAST('{"id":"https://a.example/1","inReplyTo":"https://b.example/p"}' AS BLOB), 1, 1)`,
		`INSERT INTO objects VALUES ('https://a.example/0', 'Note', 'https://a.example/u', 1, CAST('{"inReplyTo":{"id":"https://b.example/p"}}' AS BLOB), 2, 2)`,
		`INSERT INTO objects VALUES ('https://a.example/2', 'Tombstone', '', 0, CAST('not json' AS BLOB), 3, 3)`,
		`INSERT INTO objects VALUES ('https://a.example/3', 'Person', 'https://a.example/3', 0, CAST('{"inReplyTo":42}' AS BLOB), 4, 4)`,
		`INSERT INTO collection_items (collection, item) VALUES ('c', 'x')`)

	d, err := OpenDriver(ctx, path, nil)
	must(t, err)
	want := []struct {
		iri, inReplyTo string
	}{{"https://a.example/1", "https://b.example/p"}, {"https://a.example/0", "https://b.example/p"},
		{"https://a.example/2", ""}, {"https://a.example/3", ""}}
	err = d.View(ctx, func(tx store.DriverTx) error {
		for i, w := range want {
			o, err := tx.GetObject(ctx, w.iri)
			if err != nil {
				return err
			}
			if o.Seq != int64(i+1) || o.InReplyTo != w.inReplyTo || o.Created != fromNanos(int64(i+1)) {
				return fmt.Errorf("migrated %s: seq %d, inReplyTo %q, created %v; want seq %d, inReplyTo %q",
					w.iri, o.Seq, o.InReplyTo, o.Created, i+1, w.inReplyTo)
			}
		}
		os, err := tx.FindObjects(ctx, store.ObjectQuery{InReplyTo: "https://b.example/p", Range: store.Range{Limit: 10}})
		if err != nil || len(os) != 2 || os[0].IRI != "https://a.example/0" {
			return fmt.Errorf("FindObjects(InReplyTo) after migration = %d objects, %v", len(os), err)
		}
		if its, err := tx.Items(ctx, "c", store.Range{Limit: 10}); err != nil || len(its) != 1 {
			return fmt.Errorf("Items after migration = %v, %v", its, err)
		}
		return nil
	})
	must(t, err)

	// After the migration a new object gets the next seq, a replaced one
	// keeps its own, and a deleted one's is not reused.
	s := store.Open(d, nil)
	defer s.Close()
	must(t, s.CreateObject(ctx, &store.Object{IRI: "https://a.example/new", Type: "Note", Data: []byte(`{}`)}))
	must(t, s.PutObject(ctx, &store.Object{IRI: "https://a.example/1", Type: "Article", Data: []byte(`{}`)}))
	if err := s.CreateObject(ctx, &store.Object{IRI: "https://a.example/0", Data: []byte(`{}`)}); !errors.Is(err, store.ErrExists) {
		t.Errorf("CreateObject(existing) after the migration = %v, want ErrExists", err)
	}
	must(t, s.DeleteObject(ctx, "https://a.example/new"))
	must(t, s.CreateObject(ctx, &store.Object{IRI: "https://a.example/newer", Type: "Note", Data: []byte(`{}`)}))
	if o, err := s.GetObject(ctx, "https://a.example/1"); err != nil || o.Seq != 1 || o.Type != "Article" {
		t.Errorf("replaced object = %+v, %v; want seq 1, Article", o, err)
	}
	// AUTOINCREMENT: the deleted object's seq 5 is not reused (an upsert
	// may use a number up too: only growth is promised).
	if o, err := s.GetObject(ctx, "https://a.example/newer"); err != nil || o.Seq <= 5 {
		t.Errorf("object created after a delete = %+v, %v; want seq above 5", o, err)
	}
}

// TestMigrateV3ToV4 opens a file of schema version 3 (the driver schema
// before collection_counts) with members in several collections: the
// migration counts them, and the counts then follow adds, removes and
// re-adds, in units that commit and in units that roll back. Since
// version 5 AddItem and RemoveItem keep the counts, not triggers.
func TestMigrateV3ToV4(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "v3.db")
	sizes := map[string]int{"https://a.example/big": 1500, "https://a.example/small": 3, "https://a.example/one": 1}
	var stmts []string
	for c, n := range sizes {
		stmts = append(stmts, fmt.Sprintf(`WITH RECURSIVE i(k) AS (SELECT 1 UNION ALL SELECT k + 1 FROM i WHERE k < %d)
			INSERT INTO collection_items (collection, item) SELECT '%s', 'https://r.example/u' || k FROM i`, n, c))
	}
	// A collection emptied before the migration has no members to count.
	stmts = append(stmts, `INSERT INTO collection_items (collection, item) VALUES ('https://a.example/gone', 'x')`,
		`DELETE FROM collection_items WHERE collection = 'https://a.example/gone'`)
	fileAtVersion(t, path, 3, stmts...)

	d, err := OpenDriver(ctx, path, nil)
	must(t, err)
	s := store.Open(d, nil)
	defer s.Close()
	if v := userVersion(t, path); v != schemaVersion || schemaVersion != 5 {
		t.Fatalf("user_version after Open = %d (this code's %d), want 5", v, schemaVersion)
	}
	var triggers int
	must(t, d.View(ctx, func(tx store.DriverTx) error {
		return tx.(*dtx).scanRow(ctx, `SELECT count(*) FROM sqlite_schema WHERE type = 'trigger'`, nil, &triggers)
	}))
	if triggers != 0 {
		t.Errorf("%d triggers after the migration to version 5, want none", triggers)
	}
	counts := func(when string, want map[string]int) {
		t.Helper()
		for c, n := range want {
			if got, err := s.CountItems(ctx, c); err != nil || got != n {
				t.Errorf("%s: CountItems(%s) = %d, %v; want %d", when, c, got, err, n)
			}
		}
		// The table holds exactly the non-empty collections and their
		// counts.
		var bad int
		must(t, d.View(ctx, func(tx store.DriverTx) error {
			return tx.(*dtx).scanRow(ctx, `SELECT count(*) FROM (
				SELECT collection, n FROM collection_counts
				EXCEPT SELECT collection, count(*) FROM collection_items GROUP BY collection)`, nil, &bad)
		}))
		var rows, colls int
		must(t, d.View(ctx, func(tx store.DriverTx) error {
			return tx.(*dtx).scanRow(ctx, `SELECT (SELECT count(*) FROM collection_counts),
				(SELECT count(DISTINCT collection) FROM collection_items)`, nil, &rows, &colls)
		}))
		if bad != 0 || rows != colls {
			t.Errorf("%s: %d rows of collection_counts differ from a count of the members; %d rows for %d collections",
				when, bad, rows, colls)
		}
	}
	counts("after the migration", map[string]int{"https://a.example/big": 1500, "https://a.example/small": 3,
		"https://a.example/one": 1, "https://a.example/gone": 0, "https://a.example/never": 0})

	must(t, s.AddItem(ctx, "https://a.example/small", "https://r.example/new"))
	if err := s.AddItem(ctx, "https://a.example/small", "https://r.example/u1"); !errors.Is(err, store.ErrExists) {
		t.Errorf("AddItem of a member = %v, want ErrExists", err)
	}
	must(t, s.RemoveItem(ctx, "https://a.example/one", "https://r.example/u1"))
	if err := s.RemoveItem(ctx, "https://a.example/one", "https://r.example/u1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("RemoveItem of a removed member = %v, want ErrNotFound", err)
	}
	must(t, s.AddItem(ctx, "https://a.example/gone", "x"))
	counts("after add, remove", map[string]int{"https://a.example/small": 4, "https://a.example/one": 0, "https://a.example/gone": 1})

	// Re-adds, and a unit that rolls back with its count changes.
	must(t, s.AddItem(ctx, "https://a.example/one", "https://r.example/u1"))
	must(t, s.RemoveItem(ctx, "https://a.example/small", "https://r.example/new"))
	must(t, s.AddItem(ctx, "https://a.example/small", "https://r.example/new"))
	errRollback := errors.New("roll back")
	if err := s.Update(ctx, func(tx *store.Tx) error {
		for i := range 10 {
			if err := tx.AddItem(ctx, "https://a.example/big", fmt.Sprint("https://r.example/extra", i)); err != nil {
				return err
			}
		}
		if err := tx.RemoveItem(ctx, "https://a.example/one", "https://r.example/u1"); err != nil {
			return err
		}
		if n, err := tx.CountItems(ctx, "https://a.example/big"); err != nil || n != 1510 {
			return fmt.Errorf("CountItems inside the unit = %d, %v; want 1510", n, err)
		}
		return errRollback
	}); !errors.Is(err, errRollback) {
		t.Fatalf("Update = %v, want the unit's error", err)
	}
	counts("after re-adds and a rollback", map[string]int{"https://a.example/big": 1500, "https://a.example/small": 4,
		"https://a.example/one": 1, "https://a.example/gone": 1})

	// Removing members down to none drops the collection's row.
	for _, it := range []string{"https://r.example/u1", "https://r.example/u2", "https://r.example/u3", "https://r.example/new"} {
		must(t, s.RemoveItem(ctx, "https://a.example/small", it))
	}
	counts("after emptying one", map[string]int{"https://a.example/small": 0, "https://a.example/one": 1, "https://a.example/big": 1500})
}

// TestQueriesUseIndexes checks the plans of FindObjects, Items,
// CountItems and ClaimJobs: no scan of a whole table.
func TestQueriesUseIndexes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "plan.db")
	d, err := OpenDriver(t.Context(), path, nil)
	must(t, err)
	must(t, d.Close())
	db, err := sql.Open("sqlite", path)
	must(t, err)
	defer db.Close()
	for _, tc := range []struct {
		query, index string
	}{
		{`SELECT ` + objectColumns + ` FROM objects WHERE actor = ? AND seq > ? AND seq < ? ORDER BY seq DESC LIMIT ?`, "objects_by_actor"},
		{`SELECT ` + objectColumns + ` FROM objects WHERE in_reply_to = ? AND seq > ? AND seq < ? ORDER BY seq ASC LIMIT ?`, "objects_by_in_reply_to"},
		{`SELECT ` + objectColumns + ` FROM objects WHERE type = ? AND seq > ? AND seq < ? ORDER BY seq DESC LIMIT ?`, "objects_by_type"},
		{`SELECT seq, item FROM collection_items WHERE collection = ? AND seq > ? AND seq < ? ORDER BY seq ASC LIMIT ?`, "collection_items_by_seq"},
		{`SELECT n FROM collection_counts WHERE collection = ? AND ? AND ? AND ?`, "USING PRIMARY KEY (collection=?)"},
		{`SELECT id, run_at FROM jobs WHERE state = ? AND kind = ? AND run_at <= ? ORDER BY run_at, id LIMIT ?`, "jobs_claim"},
		{`SELECT id FROM jobs WHERE finished != 0 AND finished < ? AND +state IN ('completed', 'discarded') ORDER BY finished, id LIMIT ?`, "jobs_finished"},
	} {
		rows, err := db.QueryContext(t.Context(), `EXPLAIN QUERY PLAN `+tc.query, 1, 2, 3, 4)
		must(t, err)
		var plan []string
		for rows.Next() {
			var id, parent, unused int
			var detail string
			must(t, rows.Scan(&id, &parent, &unused, &detail))
			plan = append(plan, detail)
		}
		rows.Close()
		p := strings.Join(plan, "; ")
		if !strings.Contains(p, tc.index) || strings.Contains(p, "TEMP B-TREE") {
			t.Errorf("%s\nplan: %s\nwant %s without a sort", tc.query, p, tc.index)
		}
	}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestCountsWithinUnit: AddItem leaves its count to the end of the unit
// (one write of collection_counts per collection), so the counts read
// inside the unit, lowered by RemoveItem inside it and left after a unit
// that failed must all be what a count of the members says.
func TestCountsWithinUnit(t *testing.T) {
	ctx := t.Context()
	d, err := OpenDriver(ctx, filepath.Join(t.TempDir(), "c.db"), nil)
	must(t, err)
	defer d.Close()
	const a, b = "https://a.example/a", "https://a.example/b"
	count := func(tx store.DriverTx, c string, want int) {
		t.Helper()
		if got, err := tx.CountItems(ctx, c); err != nil || got != want {
			t.Errorf("CountItems(%s) = %d, %v; want %d", c, got, err, want)
		}
	}
	must(t, d.Update(ctx, func(tx store.DriverTx) error {
		for i := range 3 {
			if _, err := tx.AddItem(ctx, a, fmt.Sprint("https://r.example/u", i)); err != nil {
				return err
			}
		}
		count(tx, a, 3)
		if _, err := tx.AddItem(ctx, a, "https://r.example/u0"); !errors.Is(err, store.ErrExists) {
			t.Errorf("AddItem of a member = %v, want ErrExists", err)
		}
		if err := tx.RemoveItem(ctx, a, "https://r.example/u1"); err != nil {
			return err
		}
		count(tx, a, 2)
		for i := range 2 {
			if _, err := tx.AddItem(ctx, b, fmt.Sprint("https://r.example/u", i)); err != nil {
				return err
			}
		}
		_, err := tx.AddItem(ctx, a, "https://r.example/u9")
		return err
	}))
	// A unit that fails after adding members leaves no count behind.
	boom := errors.New("boom")
	if err := d.Update(ctx, func(tx store.DriverTx) error {
		if _, err := tx.AddItem(ctx, a, "https://r.example/u10"); err != nil {
			return err
		}
		if _, err := tx.AddItem(ctx, "https://a.example/new", "https://r.example/u10"); err != nil {
			return err
		}
		return boom
	}); !errors.Is(err, boom) {
		t.Fatalf("failing unit: %v", err)
	}
	// Removing every member of a collection added in the same unit drops
	// its row.
	must(t, d.Update(ctx, func(tx store.DriverTx) error {
		if _, err := tx.AddItem(ctx, "https://a.example/brief", "x"); err != nil {
			return err
		}
		return tx.RemoveItem(ctx, "https://a.example/brief", "x")
	}))
	must(t, d.View(ctx, func(tx store.DriverTx) error {
		count(tx, a, 3)
		count(tx, b, 2)
		count(tx, "https://a.example/new", 0)
		count(tx, "https://a.example/brief", 0)
		var bad, rows, colls int
		if err := tx.(*dtx).scanRow(ctx, `SELECT count(*) FROM (
			SELECT collection, n FROM collection_counts
			EXCEPT SELECT collection, count(*) FROM collection_items GROUP BY collection)`, nil, &bad); err != nil {
			return err
		}
		if err := tx.(*dtx).scanRow(ctx, `SELECT (SELECT count(*) FROM collection_counts),
			(SELECT count(DISTINCT collection) FROM collection_items)`, nil, &rows, &colls); err != nil {
			return err
		}
		if bad != 0 || rows != colls {
			t.Errorf("%d rows of collection_counts differ from a count of the members; %d rows for %d collections", bad, rows, colls)
		}
		return nil
	}))
}
