package pgstore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/slothpub/slothpub/store"
)

// ---------------------------------------------------------------- migrations

func TestMigrationsNumbered(t *testing.T) {
	ms, err := loadMigrations()
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) == 0 {
		t.Fatal("no migrations embedded")
	}
	for i, m := range ms {
		if m.version != i+1 {
			t.Errorf("migration %d is %s", i+1, m.name)
		}
	}
}

// Processes that open a new schema together migrate it once; the others
// wait on the advisory lock and find it done.
func TestOpenConcurrentMigratesOnce(t *testing.T) {
	schema := newSchema(t)
	const n = 8
	var wg sync.WaitGroup
	errs := make([]error, n)
	drivers := make([]*Driver, n)
	for i := range n {
		wg.Go(func() {
			drivers[i], errs[i] = Open(t.Context(), testDSN(t), &Options{Schema: schema, Logger: quiet})
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("Open %d: %v", i, err)
		}
		defer drivers[i].Close()
	}
	ms, _ := loadMigrations()
	var rows, max int
	err := drivers[0].pool.QueryRow(t.Context(),
		`SELECT count(*), max(version) FROM slothpub_migrations`).Scan(&rows, &max)
	if err != nil {
		t.Fatal(err)
	}
	if rows != len(ms) || max != len(ms) {
		t.Errorf("slothpub_migrations has %d rows up to version %d, want %d", rows, max, len(ms))
	}
}

func TestOpenTwiceKeepsData(t *testing.T) {
	schema := newSchema(t)
	d := openSchema(t, schema)
	if err := d.Update(t.Context(), func(tx store.DriverTx) error {
		return tx.InsertObject(t.Context(), &store.Object{IRI: "https://a.example/1", Type: "Note"})
	}); err != nil {
		t.Fatal(err)
	}
	d.Close()
	d = openSchema(t, schema)
	if err := d.View(t.Context(), func(tx store.DriverTx) error {
		_, err := tx.GetObject(t.Context(), "https://a.example/1")
		return err
	}); err != nil {
		t.Fatalf("after reopening: %v", err)
	}
}

func TestOpenNewerSchemaFails(t *testing.T) {
	schema := newSchema(t)
	d := openSchema(t, schema)
	if _, err := d.pool.Exec(t.Context(), `INSERT INTO slothpub_migrations (version, name) VALUES (999, '0999_future.sql')`); err != nil {
		t.Fatal(err)
	}
	d.Close()
	d2, err := Open(t.Context(), testDSN(t), &Options{Schema: schema, Logger: quiet})
	if err == nil {
		d2.Close()
		t.Fatal("Open of a schema at version 999 succeeded")
	}
	if !strings.Contains(err.Error(), "version 999, newer than this binary's") {
		t.Errorf("Open: %v, want a newer-schema error", err)
	}
}

func TestOpenBadConnString(t *testing.T) {
	if d, err := Open(t.Context(), "postgres://nobody@127.0.0.1:1/none?connect_timeout=2", &Options{Logger: quiet}); err == nil {
		d.Close()
		t.Fatal("Open of an unreachable server succeeded")
	}
}

// ---------------------------------------------------------------- units

// Two units that lock two rows in opposite orders deadlock; PostgreSQL
// aborts one and Update runs it again, so both succeed.
func TestUpdateRetriesDeadlock(t *testing.T) {
	d := newDriver(t)
	ctx := t.Context()
	if err := d.Update(ctx, func(tx store.DriverTx) error {
		for _, k := range []string{"a", "b"} {
			if err := tx.PutKey(ctx, &store.Key{ID: k, Owner: "o", PublicPEM: "0"}); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	var calls atomic.Int32
	start := make(chan struct{})
	var both sync.WaitGroup
	both.Add(2)
	unit := func(first, second string) error {
		first1 := true
		return d.Update(ctx, func(tx store.DriverTx) error {
			calls.Add(1)
			if err := tx.PutKey(ctx, &store.Key{ID: first, Owner: "o", PublicPEM: "1"}); err != nil {
				return err
			}
			if first1 {
				// Both units hold their first row before either asks
				// for its second: a certain deadlock, once.
				first1 = false
				both.Done()
				both.Wait()
			}
			return tx.PutKey(ctx, &store.Key{ID: second, Owner: "o", PublicPEM: "1"})
		})
	}
	errs := make(chan error, 2)
	go func() { <-start; errs <- unit("a", "b") }()
	go func() { <-start; errs <- unit("b", "a") }()
	close(start)
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatalf("Update: %v", err)
		}
	}
	if calls.Load() < 3 {
		t.Errorf("fn ran %d times, want at least 3 (one unit retried)", calls.Load())
	}
}

func TestUpdateReturnsFnErrorUnchanged(t *testing.T) {
	d := newDriver(t)
	boom := errors.New("boom")
	err := d.Update(t.Context(), func(tx store.DriverTx) error {
		if err := tx.PutKey(t.Context(), &store.Key{ID: "k", Owner: "o", PublicPEM: "p"}); err != nil {
			return err
		}
		return boom
	})
	if err != boom {
		t.Fatalf("Update = %v, want boom itself", err)
	}
	if err := d.View(t.Context(), func(tx store.DriverTx) error {
		_, err := tx.GetKey(t.Context(), "k")
		return err
	}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetKey after rollback: %v, want ErrNotFound", err)
	}
}

func TestUpdatePanicRollsBack(t *testing.T) {
	d := newDriver(t)
	func() {
		defer func() {
			if r := recover(); r != "oops" {
				t.Errorf("recovered %v, want the panic of fn", r)
			}
		}()
		d.Update(t.Context(), func(tx store.DriverTx) error {
			tx.PutKey(t.Context(), &store.Key{ID: "k", Owner: "o", PublicPEM: "p"})
			panic("oops")
		})
	}()
	if err := d.View(t.Context(), func(tx store.DriverTx) error {
		_, err := tx.GetKey(t.Context(), "k")
		return err
	}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetKey after panic: %v, want ErrNotFound", err)
	}
	// The connection went back to the pool usable.
	for range 20 {
		if err := d.Update(t.Context(), func(tx store.DriverTx) error {
			return tx.PutKey(t.Context(), &store.Key{ID: "k2", Owner: "o", PublicPEM: "p"})
		}); err != nil {
			t.Fatal(err)
		}
	}
}

func TestViewIsReadOnly(t *testing.T) {
	d := newDriver(t)
	err := d.View(t.Context(), func(tx store.DriverTx) error {
		return tx.PutKey(t.Context(), &store.Key{ID: "k", Owner: "o", PublicPEM: "p"})
	})
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Code != "25006" {
		t.Fatalf("write in View = %v, want SQLSTATE 25006", err)
	}
}

func TestCloseWaitsForUnits(t *testing.T) {
	schema := newSchema(t)
	d, err := Open(t.Context(), testDSN(t), &Options{Schema: schema, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	in := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- d.Update(context.Background(), func(tx store.DriverTx) error {
			close(in)
			time.Sleep(200 * time.Millisecond)
			return tx.PutKey(context.Background(), &store.Key{ID: "k", Owner: "o", PublicPEM: "p"})
		})
	}()
	<-in
	d.Close()
	// The unit committed before Close returned: another connection sees
	// its write at once. (Its goroutine may not have sent its result yet.)
	other, err := Open(t.Context(), testDSN(t), &Options{Schema: schema, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if err := other.View(t.Context(), func(tx store.DriverTx) error {
		_, err := tx.GetKey(t.Context(), "k")
		return err
	}); err != nil {
		t.Fatalf("Close returned before the unit in progress committed: %v", err)
	}
	if err := <-done; err != nil {
		t.Fatalf("unit in progress at Close: %v", err)
	}
	if err := d.Update(t.Context(), func(tx store.DriverTx) error { return nil }); err == nil {
		t.Error("Update after Close succeeded")
	}
}

// ---------------------------------------------------------------- collections

// A member committed later never has a smaller number than one a reader
// already saw in that collection: concurrent adders commit in the order of
// their numbers, so polling with Range.After misses nothing.
func TestCollectionSeqFollowsCommitOrder(t *testing.T) {
	d := newDriver(t)
	ctx := t.Context()
	const writers, each = 8, 25
	var wg sync.WaitGroup
	stop := make(chan struct{})
	seen := map[string]bool{}
	var pollErr error
	var pollWG sync.WaitGroup
	pollWG.Go(func() {
		var after int64
		poll := func() bool {
			var items []store.Item
			err := d.View(ctx, func(tx store.DriverTx) error {
				var err error
				items, err = tx.Items(ctx, "c", store.Range{After: after, Limit: store.MaxPageLimit, Ascending: true})
				return err
			})
			if err != nil {
				pollErr = err
				return false
			}
			for _, it := range items {
				seen[it.Value] = true
				after = it.Seq
			}
			return true
		}
		for {
			select {
			case <-stop:
				poll()
				return
			default:
				if !poll() {
					return
				}
			}
		}
	})
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				err := d.Update(ctx, func(tx store.DriverTx) error {
					_, err := tx.AddItem(ctx, "c", fmt.Sprintf("w%d-%d", w, i))
					return err
				})
				if err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(stop)
	pollWG.Wait()
	if pollErr != nil {
		t.Fatal(pollErr)
	}
	if len(seen) != writers*each {
		t.Errorf("a reader paging After saw %d members, want %d (some committed behind its cursor)", len(seen), writers*each)
	}
}

// ---------------------------------------------------------------- indexes

// explain returns the plan of sql.
func explain(t *testing.T, d *Driver, sql string, args ...any) string {
	t.Helper()
	var plan strings.Builder
	err := pgx.BeginFunc(t.Context(), d.pool, func(tx pgx.Tx) error {
		rows, err := tx.Query(t.Context(), `EXPLAIN `+sql, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var line string
			if err := rows.Scan(&line); err != nil {
				return err
			}
			plan.WriteString(line + "\n")
		}
		return rows.Err()
	})
	if err != nil {
		t.Fatal(err)
	}
	return plan.String()
}

// fill gives the tables a realistic shape for the planner: 20,000
// objects of 10 types by 1,000 actors (every 10th a reply), 20,000 members
// of 100 collections, and 20,000 jobs of which 19,000 are finished.
func fill(t *testing.T, d *Driver) {
	t.Helper()
	for _, sql := range []string{
		`INSERT INTO objects (iri, type, actor, in_reply_to, local, data, created, updated)
		 SELECT 'https://a.example/o/' || i, 'T' || (i % 10), 'https://a.example/u/' || (i % 1000),
		        CASE WHEN i % 10 = 0 THEN 'https://a.example/o/' || (i / 10) ELSE '' END, true, '{}', i, i
		 FROM generate_series(1, 20000) i`,
		`INSERT INTO collection_items (collection, item)
		 SELECT 'c' || (i % 100), 'https://a.example/u/' || i FROM generate_series(1, 20000) i`,
		`INSERT INTO jobs (kind, payload, state, attempt, run_at, lease_until, last_error, created, finished)
		 SELECT 'k' || (i % 3), '', CASE WHEN i > 19000 THEN 'available' ELSE 'completed' END, 1, i, 0, '', i,
		        CASE WHEN i > 19000 THEN 0 ELSE i END
		 FROM generate_series(1, 20000) i`,
		`ANALYZE`,
	} {
		if _, err := d.pool.Exec(t.Context(), sql); err != nil {
			t.Fatal(err)
		}
	}
}

// No query of FindObjects, Items, HasItem, ClaimJobs and DeleteJobs scans
// its table. Those that page a large set (Items, ClaimJobs, DeleteJobs)
// read one ordered range of their index and stop at the limit, without a
// sort; FindObjects may let the planner choose among the object indexes
// (a bitmap scan and a sort of one actor's 20 rows is cheaper than an
// ordered scan).
func TestQueriesUseIndexes(t *testing.T) {
	d := newDriver(t)
	fill(t, d)
	cases := []struct {
		name, sql, index string // index "": any index, sort allowed
		args             []any
	}{
		{"FindObjects actor", `SELECT seq FROM objects WHERE actor = $1 AND seq < $2 ORDER BY seq DESC LIMIT 20`, "", []any{"https://a.example/u/7", 100000}},
		{"FindObjects inReplyTo", `SELECT seq FROM objects WHERE in_reply_to = $1 AND seq > $2 ORDER BY seq ASC LIMIT 20`, "", []any{"https://a.example/o/7", 0}},
		{"FindObjects type", `SELECT seq FROM objects WHERE type = $1 ORDER BY seq DESC LIMIT 20`, "", []any{"T3"}},
		{"Items newest first", `SELECT seq, item FROM collection_items WHERE collection = $1 AND seq < $2 ORDER BY seq DESC LIMIT 20`, "collection_items_by_seq", []any{"c7", 100000}},
		{"Items ascending", `SELECT seq, item FROM collection_items WHERE collection = $1 AND seq > $2 ORDER BY seq ASC LIMIT 20`, "collection_items_by_seq", []any{"c7", 0}},
		{"HasItem", `SELECT EXISTS (SELECT 1 FROM collection_items WHERE collection = $1 AND item = $2)`, "collection_items_pkey", []any{"c7", "https://a.example/u/7"}},
		{"ClaimJobs", `SELECT id FROM jobs WHERE state IN ('available', 'retryable', 'running') AND kind = ANY($1)
			AND CASE WHEN state = 'running' THEN lease_until <= $2 ELSE run_at <= $2 END
			ORDER BY run_at, id LIMIT 10 FOR UPDATE SKIP LOCKED`, "jobs_to_claim", []any{[]string{"k1", "k2"}, 19500}},
		{"DeleteJobs", `SELECT id FROM jobs WHERE state IN ('completed', 'discarded') AND finished < $1 ORDER BY finished LIMIT 10`, "jobs_finished", []any{500}},
	}
	for _, c := range cases {
		plan := explain(t, d, c.sql, c.args...)
		if strings.Contains(plan, "Seq Scan") || !strings.Contains(plan, "Index") {
			t.Errorf("%s: want an index scan, plan:\n%s", c.name, plan)
		}
		if c.index != "" && (!strings.Contains(plan, c.index) || strings.Contains(plan, "Sort")) {
			t.Errorf("%s: want an ordered scan of %s, plan:\n%s", c.name, c.index, plan)
		}
	}
}
