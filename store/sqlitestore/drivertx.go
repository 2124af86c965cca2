package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync/atomic"
	"time"

	"github.com/slothpub/slothpub/store"
)

// dtx is a store.DriverTx: a unit of work on the writer connection (w set)
// or a View on a read connection.
type dtx struct {
	d     *Driver
	c     *conn
	w     *writer // nil for a View
	ended atomic.Bool
	// added counts the members AddItem added to each collection and
	// collection_counts does not hold yet: flushCounts writes them, once
	// per collection, before the unit ends and before anything in the
	// unit reads or lowers a count.
	added map[string]int
}

var _ store.DriverTx = (*dtx)(nil)

// check returns the context to run a statement with, or why the statement
// must not run: the unit ended, it is a View and the method writes, ctx is
// done, or SQLite aborted the transaction. Inside a unit, statements run
// without ctx's cancellation: SQLite answers an interrupted write by
// rolling back the whole transaction, which holds other units too.
func (t *dtx) check(ctx context.Context, write bool) (context.Context, error) {
	if t.ended.Load() {
		return nil, errTxDone
	}
	if t.w == nil {
		if write {
			return nil, errReadOnly
		}
		return ctx, ctx.Err()
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if t.w.broken != nil {
		return nil, fmt.Errorf("sqlitestore: transaction aborted: %w", t.w.broken)
	}
	return context.WithoutCancel(ctx), nil
}

// fail records err if it aborted the transaction, and returns it.
func (t *dtx) fail(err error) error {
	if t.w != nil && err != nil {
		switch sqliteCode(err) {
		case sqliteFull, sqliteIOErr, sqliteBusy, sqliteNoMem, sqliteInterrupt, sqliteCorrupt:
			if t.w.broken == nil {
				t.w.broken = err
			}
		}
	}
	return err
}

func (t *dtx) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	r, err := t.c.exec(ctx, query, args...)
	return r, t.fail(err)
}

func (t *dtx) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	r, err := t.c.query(ctx, query, args...)
	return r, t.fail(err)
}

func (t *dtx) scanRow(ctx context.Context, query string, args []any, dest ...any) error {
	return t.fail(t.c.queryRow(ctx, query, args...).Scan(dest...))
}

// affected returns the rows a statement changed.
func affected(r sql.Result, err error) (int64, error) {
	if err != nil {
		return 0, err
	}
	return r.RowsAffected()
}

// insertedID reads the result of a one-row INSERT ... ON CONFLICT DO
// NOTHING: the rowid of the new row, or inserted false when it conflicted.
// The write statements use it rather than RETURNING, which makes SQLite
// open a statement journal: inside a unit of a group commit (a SAVEPOINT)
// that writes each page the statement touches to the sub-journal file,
// which cost more than the insert itself.
func insertedID(r sql.Result, err error) (id int64, inserted bool, _ error) {
	n, err := affected(r, err)
	if err != nil || n == 0 {
		return 0, false, err
	}
	id, err = r.LastInsertId()
	return id, err == nil, err
}

// nowNanos is the present in the stored form.
func nowNanos() int64 { return time.Now().UnixNano() }

// bounds returns a Range's exclusive bounds for "seq > ? AND seq < ?".
func bounds(r store.Range) (after, before int64) {
	before = r.Before
	if before <= 0 {
		before = math.MaxInt64
	}
	return max(r.After, 0), before
}

func order(r store.Range) string {
	if r.Ascending {
		return "ASC"
	}
	return "DESC"
}

// ---------------------------------------------------------------- objects

const objectColumns = `seq, iri, type, actor, in_reply_to, local, data, created, updated`

func scanObject(sc interface{ Scan(...any) error }) (*store.Object, error) {
	o := &store.Object{}
	var created, updated int64
	if err := sc.Scan(&o.Seq, &o.IRI, &o.Type, &o.Actor, &o.InReplyTo, &o.Local, &o.Data, &created, &updated); err != nil {
		return nil, err
	}
	o.Data = nonNil(o.Data)
	o.Created, o.Updated = fromNanos(created), fromNanos(updated)
	return o, nil
}

func (t *dtx) GetObject(ctx context.Context, iri string) (*store.Object, error) {
	ctx, err := t.check(ctx, false)
	if err != nil {
		return nil, err
	}
	o, err := scanObject(t.c.queryRow(ctx, `SELECT `+objectColumns+` FROM objects WHERE iri = ?`, iri))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("sqlitestore: object %q: %w", iri, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: get object %q: %w", iri, t.fail(err))
	}
	return o, nil
}

func (t *dtx) InsertObject(ctx context.Context, o *store.Object) error {
	ctx, err := t.check(ctx, true)
	if err != nil {
		return err
	}
	now := nowNanos()
	seq, inserted, err := t.insertObject(ctx, o, now)
	if err != nil {
		return fmt.Errorf("sqlitestore: insert object %q: %w", o.IRI, err)
	}
	if !inserted {
		return fmt.Errorf("sqlitestore: object %q: %w", o.IRI, store.ErrExists)
	}
	o.Seq, o.Created, o.Updated = seq, fromNanos(now), fromNanos(now)
	return nil
}

// insertObject inserts o, created and updated at now, unless its IRI is
// stored already (inserted false).
func (t *dtx) insertObject(ctx context.Context, o *store.Object, now int64) (seq int64, inserted bool, err error) {
	return insertedID(t.exec(ctx,
		`INSERT INTO objects (iri, type, actor, in_reply_to, local, data, created, updated)
		 VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (iri) DO NOTHING`,
		o.IRI, o.Type, o.Actor, o.InReplyTo, o.Local, nonNil(o.Data), now, now))
}

func (t *dtx) PutObject(ctx context.Context, o *store.Object) error {
	ctx, err := t.check(ctx, true)
	if err != nil {
		return err
	}
	now := nowNanos()
	// An insert, else an update and a read of what it kept: not an upsert
	// with RETURNING, which needs a statement journal (see insertedID).
	seq, inserted, err := t.insertObject(ctx, o, now)
	created := now
	if err == nil && !inserted {
		_, err = t.exec(ctx, `UPDATE objects SET type = ?, actor = ?, in_reply_to = ?, local = ?, data = ?, updated = ?
			WHERE iri = ?`, o.Type, o.Actor, o.InReplyTo, o.Local, nonNil(o.Data), now, o.IRI)
		if err == nil {
			err = t.scanRow(ctx, `SELECT seq, created FROM objects WHERE iri = ?`, []any{o.IRI}, &seq, &created)
		}
	}
	if err != nil {
		return fmt.Errorf("sqlitestore: put object %q: %w", o.IRI, err)
	}
	o.Seq, o.Created, o.Updated = seq, fromNanos(created), fromNanos(now)
	return nil
}

func (t *dtx) DeleteObject(ctx context.Context, iri string) error {
	ctx, err := t.check(ctx, true)
	if err != nil {
		return err
	}
	n, err := affected(t.exec(ctx, `DELETE FROM objects WHERE iri = ?`, iri))
	if err != nil {
		return fmt.Errorf("sqlitestore: delete object %q: %w", iri, err)
	}
	if n == 0 {
		return fmt.Errorf("sqlitestore: object %q: %w", iri, store.ErrNotFound)
	}
	return nil
}

// FindObjects reads one of the indexes (actor, seq), (in_reply_to, seq) or
// (type, seq): each serves an equality on its field, the range on seq and
// the order, so a page costs O(log n + limit) when one field is set.
func (t *dtx) FindObjects(ctx context.Context, q store.ObjectQuery) ([]*store.Object, error) {
	ctx, err := t.check(ctx, false)
	if err != nil {
		return nil, err
	}
	var (
		where []string
		args  []any
	)
	for _, f := range []struct {
		col, v string
	}{{"actor", q.Actor}, {"in_reply_to", q.InReplyTo}, {"type", q.Type}} {
		if f.v != "" {
			where = append(where, f.col+" = ?")
			args = append(args, f.v)
		}
	}
	if len(where) == 0 {
		return nil, errors.New("sqlitestore: FindObjects without a field")
	}
	after, before := bounds(q.Range)
	args = append(args, after, before, q.Range.Limit)
	// The query text depends only on which fields are set and the order:
	// 14 statements at most, each prepared once.
	rows, err := t.query(ctx, `SELECT `+objectColumns+` FROM objects WHERE `+strings.Join(where, " AND ")+
		` AND seq > ? AND seq < ? ORDER BY seq `+order(q.Range)+` LIMIT ?`, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: find objects: %w", err)
	}
	defer rows.Close()
	var out []*store.Object
	for rows.Next() {
		o, err := scanObject(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlitestore: find objects: %w", t.fail(err))
		}
		out = append(out, o)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlitestore: find objects: %w", t.fail(err))
	}
	return out, nil
}

// ---------------------------------------------------------------- collections

func (t *dtx) AddItem(ctx context.Context, collection, item string) (int64, error) {
	ctx, err := t.check(ctx, true)
	if err != nil {
		return 0, err
	}
	seq, inserted, err := insertedID(t.exec(ctx,
		`INSERT INTO collection_items (collection, item) VALUES (?, ?)
		 ON CONFLICT (collection, item) DO NOTHING`, collection, item))
	if err != nil {
		return 0, fmt.Errorf("sqlitestore: add %q to %q: %w", item, collection, err)
	}
	if !inserted {
		return 0, fmt.Errorf("sqlitestore: item %q of %q: %w", item, collection, store.ErrExists)
	}
	if t.added == nil {
		t.added = map[string]int{}
	}
	t.added[collection]++
	return seq, nil
}

// flushCounts adds to collection_counts what AddItem added to collection
// in this unit, or to every collection when collection is "". A unit that
// adds a member per delivery of a fan-out step writes each collection's
// count once, not once per member.
func (t *dtx) flushCounts(ctx context.Context, collection string) error {
	flush := func(c string, n int) error {
		if _, err := t.exec(ctx, `INSERT INTO collection_counts (collection, n) VALUES (?, ?)
			ON CONFLICT (collection) DO UPDATE SET n = n + excluded.n`, c, n); err != nil {
			return fmt.Errorf("sqlitestore: count %q: %w", c, err)
		}
		delete(t.added, c)
		return nil
	}
	if collection != "" {
		if n := t.added[collection]; n > 0 {
			return flush(collection, n)
		}
		return nil
	}
	for c, n := range t.added {
		if err := flush(c, n); err != nil {
			return err
		}
	}
	return nil
}

func (t *dtx) RemoveItem(ctx context.Context, collection, item string) error {
	ctx, err := t.check(ctx, true)
	if err != nil {
		return err
	}
	if err := t.flushCounts(ctx, collection); err != nil {
		return err
	}
	n, err := affected(t.exec(ctx, `DELETE FROM collection_items WHERE collection = ? AND item = ?`, collection, item))
	if err != nil {
		return fmt.Errorf("sqlitestore: remove %q from %q: %w", item, collection, err)
	}
	if n == 0 {
		return fmt.Errorf("sqlitestore: item %q of %q: %w", item, collection, store.ErrNotFound)
	}
	// A collection's row goes with its last member.
	if n, err = affected(t.exec(ctx, `DELETE FROM collection_counts WHERE collection = ? AND n = 1`, collection)); err == nil && n == 0 {
		_, err = t.exec(ctx, `UPDATE collection_counts SET n = n - 1 WHERE collection = ?`, collection)
	}
	if err != nil {
		return fmt.Errorf("sqlitestore: count %q: %w", collection, err)
	}
	return nil
}

func (t *dtx) HasItem(ctx context.Context, collection, item string) (bool, error) {
	ctx, err := t.check(ctx, false)
	if err != nil {
		return false, err
	}
	var one int
	err = t.scanRow(ctx, `SELECT 1 FROM collection_items WHERE collection = ? AND item = ?`,
		[]any{collection, item}, &one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("sqlitestore: has %q in %q: %w", item, collection, err)
	}
	return true, nil
}

// CountItems reads the collection's row of collection_counts (schema
// version 4), which AddItem and RemoveItem keep equal to its number of
// members: one primary-key lookup, whatever the collection's size.
func (t *dtx) CountItems(ctx context.Context, collection string) (int, error) {
	ctx, err := t.check(ctx, false)
	if err != nil {
		return 0, err
	}
	if err := t.flushCounts(ctx, collection); err != nil {
		return 0, err
	}
	var n int
	err = t.scanRow(ctx, `SELECT n FROM collection_counts WHERE collection = ?`, []any{collection}, &n)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("sqlitestore: count items of %q: %w", collection, err)
	}
	return n, nil
}

func (t *dtx) Items(ctx context.Context, collection string, r store.Range) ([]store.Item, error) {
	ctx, err := t.check(ctx, false)
	if err != nil {
		return nil, err
	}
	after, before := bounds(r)
	rows, err := t.query(ctx, `SELECT seq, item FROM collection_items
		WHERE collection = ? AND seq > ? AND seq < ? ORDER BY seq `+order(r)+` LIMIT ?`,
		collection, after, before, r.Limit)
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: items of %q: %w", collection, err)
	}
	defer rows.Close()
	var out []store.Item
	for rows.Next() {
		var it store.Item
		if err := rows.Scan(&it.Seq, &it.Value); err != nil {
			return nil, fmt.Errorf("sqlitestore: items of %q: %w", collection, t.fail(err))
		}
		out = append(out, it)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlitestore: items of %q: %w", collection, t.fail(err))
	}
	return out, nil
}

// ---------------------------------------------------------------- keys

func (t *dtx) GetKey(ctx context.Context, id string) (*store.Key, error) {
	ctx, err := t.check(ctx, false)
	if err != nil {
		return nil, err
	}
	k := &store.Key{ID: id}
	var fetched int64
	err = t.scanRow(ctx, `SELECT owner, public_pem, fetched FROM public_keys WHERE id = ?`,
		[]any{id}, &k.Owner, &k.PublicPEM, &fetched)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("sqlitestore: key %q: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: get key %q: %w", id, err)
	}
	k.Fetched = fromNanos(fetched)
	return k, nil
}

func (t *dtx) PutKey(ctx context.Context, k *store.Key) error {
	ctx, err := t.check(ctx, true)
	if err != nil {
		return err
	}
	if _, err := t.exec(ctx,
		`INSERT INTO public_keys (id, owner, public_pem, fetched) VALUES (?, ?, ?, ?)
		 ON CONFLICT (id) DO UPDATE SET owner = excluded.owner, public_pem = excluded.public_pem,
		   fetched = excluded.fetched`,
		k.ID, k.Owner, k.PublicPEM, toNanos(k.Fetched)); err != nil {
		return fmt.Errorf("sqlitestore: put key %q: %w", k.ID, err)
	}
	return nil
}

func (t *dtx) DeleteKey(ctx context.Context, id string) error {
	ctx, err := t.check(ctx, true)
	if err != nil {
		return err
	}
	n, err := affected(t.exec(ctx, `DELETE FROM public_keys WHERE id = ?`, id))
	if err != nil {
		return fmt.Errorf("sqlitestore: delete key %q: %w", id, err)
	}
	if n == 0 {
		return fmt.Errorf("sqlitestore: key %q: %w", id, store.ErrNotFound)
	}
	return nil
}

// ---------------------------------------------------------------- accounts

func (t *dtx) CreateAccount(ctx context.Context, a *store.Account) error {
	ctx, err := t.check(ctx, true)
	if err != nil {
		return err
	}
	created := toNanos(a.Created)
	if created == 0 {
		created = nowNanos()
	}
	n, err := affected(t.exec(ctx,
		`INSERT INTO accounts (username, actor_iri, private_key_pem, created) VALUES (?, ?, ?, ?)
		 ON CONFLICT (username) DO NOTHING`,
		a.Username, a.ActorIRI, nonNil(a.PrivateKeyPEM), created))
	if err != nil {
		return fmt.Errorf("sqlitestore: create account %q: %w", a.Username, err)
	}
	if n == 0 {
		return fmt.Errorf("sqlitestore: account %q: %w", a.Username, store.ErrExists)
	}
	return nil
}

func (t *dtx) GetAccount(ctx context.Context, username string) (*store.Account, error) {
	ctx, err := t.check(ctx, false)
	if err != nil {
		return nil, err
	}
	a := &store.Account{Username: username}
	var created int64
	err = t.scanRow(ctx, `SELECT actor_iri, private_key_pem, created FROM accounts WHERE username = ?`,
		[]any{username}, &a.ActorIRI, &a.PrivateKeyPEM, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("sqlitestore: account %q: %w", username, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: get account %q: %w", username, err)
	}
	a.Created = fromNanos(created)
	return a, nil
}

func (t *dtx) CountAccounts(ctx context.Context) (int, error) {
	ctx, err := t.check(ctx, false)
	if err != nil {
		return 0, err
	}
	var n int
	if err := t.scanRow(ctx, `SELECT count(*) FROM accounts`, nil, &n); err != nil {
		return 0, fmt.Errorf("sqlitestore: count accounts: %w", err)
	}
	return n, nil
}

// ---------------------------------------------------------------- values

func (t *dtx) GetValue(ctx context.Context, key string, now time.Time) ([]byte, error) {
	ctx, err := t.check(ctx, false)
	if err != nil {
		return nil, err
	}
	var v []byte
	err = t.scanRow(ctx, `SELECT value FROM protocol_values WHERE key = ? AND (expires = 0 OR expires > ?)`,
		[]any{key, expiryNanos(now)}, &v)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("sqlitestore: value %q: %w", key, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: get value %q: %w", key, err)
	}
	return nonNil(v), nil
}

// PutValue stores the value; every 256th call also deletes the values
// expired by then, as Store does.
func (t *dtx) PutValue(ctx context.Context, key string, value []byte, expires time.Time) error {
	ctx, err := t.check(ctx, true)
	if err != nil {
		return err
	}
	if _, err := t.exec(ctx,
		`INSERT INTO protocol_values (key, value, expires) VALUES (?, ?, ?)
		 ON CONFLICT (key) DO UPDATE SET value = excluded.value, expires = excluded.expires`,
		key, nonNil(value), expiryNanos(expires)); err != nil {
		return fmt.Errorf("sqlitestore: put value %q: %w", key, err)
	}
	if t.d.puts.Add(1)%purgeEvery == 0 {
		if _, err := t.exec(ctx, `DELETE FROM protocol_values WHERE expires != 0 AND expires <= ? AND key != ?`,
			nowNanos(), key); err != nil {
			return fmt.Errorf("sqlitestore: purge expired values: %w", err)
		}
	}
	return nil
}

func (t *dtx) DeleteValue(ctx context.Context, key string, now time.Time) error {
	ctx, err := t.check(ctx, true)
	if err != nil {
		return err
	}
	var expires int64
	err = t.scanRow(ctx, `DELETE FROM protocol_values WHERE key = ? RETURNING expires`, []any{key}, &expires)
	if errors.Is(err, sql.ErrNoRows) || err == nil && expires != 0 && expires <= expiryNanos(now) {
		return fmt.Errorf("sqlitestore: value %q: %w", key, store.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("sqlitestore: delete value %q: %w", key, err)
	}
	return nil
}
