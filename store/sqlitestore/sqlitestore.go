package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/url"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/slothpub/slothpub/store"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

const (
	defaultBusyTimeout = 5 * time.Second
	defaultMaxReaders  = 4
	// defaultLimit is the page size Items uses for a limit <= 0.
	defaultLimit = 20
	// memoryPath is SQLite's name for a private in-memory database.
	memoryPath = ":memory:"
)

// Options configure Open. A nil *Options means all defaults.
type Options struct {
	// BusyTimeout is how long a connection waits for a lock held by
	// another process before failing. Zero means 5 seconds.
	BusyTimeout time.Duration
	// MaxReaders is the number of connections that serve reads
	// concurrently. Zero means 4. Ignored for ":memory:".
	MaxReaders int
	// Logger receives schema migration messages. Nil discards them.
	Logger *slog.Logger
	// FileMode is the permission of a database file Open creates (further
	// limited by the process umask). SQLite gives its -wal and -shm side
	// files the mode of the database file. Zero means 0600: the database
	// holds private keys. An existing file keeps its mode.
	FileMode os.FileMode
}

// defaultFileMode is the mode of a database file Open creates.
const defaultFileMode os.FileMode = 0o600

// Store is a store.Store backed by an SQLite database. It is safe for
// concurrent use. Close it when done.
type Store struct {
	w   *pool // the single writer connection
	r   *pool // read-only connections; the same as w for ":memory:"
	log *slog.Logger

	puts atomic.Uint32 // PutValue calls; every purgeEvery-th purges expired values
}

var _ store.Store = (*Store)(nil)

// Open opens (creating if needed) the SQLite database at path and migrates
// its schema to the current version. path is a file name or ":memory:".
func Open(ctx context.Context, path string, opts *Options) (*Store, error) {
	if path == "" {
		return nil, errors.New("sqlitestore: empty database path")
	}
	o := driverOptions(opts)
	s := &Store{log: o.Logger}
	if path != memoryPath {
		if err := createFile(path, o.FileMode.Perm()); err != nil {
			return nil, fmt.Errorf("sqlitestore: open %s: %w", path, err)
		}
	}

	w, err := sql.Open("sqlite", dsn(path, o.BusyTimeout, true))
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: open %s: %w", path, err)
	}
	// One connection: SQLite has one writer, and for ":memory:" the
	// connection is the database, so it must never be closed while open.
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	s.w = &pool{db: w}
	if err := s.migrate(ctx); err != nil {
		s.w.Close()
		return nil, fmt.Errorf("sqlitestore: open %s: %w", path, err)
	}

	if path == memoryPath {
		s.r = s.w
		return s, nil
	}
	r, err := sql.Open("sqlite", dsn(path, o.BusyTimeout, false))
	if err != nil {
		s.w.Close()
		return nil, fmt.Errorf("sqlitestore: open %s: %w", path, err)
	}
	r.SetMaxOpenConns(o.MaxReaders)
	r.SetMaxIdleConns(o.MaxReaders)
	if err := r.PingContext(ctx); err != nil {
		r.Close()
		s.w.Close()
		return nil, fmt.Errorf("sqlitestore: open %s: %w", path, err)
	}
	s.r = &pool{db: r}
	return s, nil
}

// createFile creates path, empty, with mode unless it exists, so that SQLite
// opens a file of that mode instead of creating one with its default 0644.
// An empty file is an empty database.
func createFile(path string, mode os.FileMode) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, mode)
	if errors.Is(err, os.ErrExist) {
		return nil
	}
	if err != nil {
		return err
	}
	return f.Close()
}

// dsn returns the modernc.org/sqlite data source name for path: a file: URI
// (so names with '?' or '#' work) carrying the per-connection pragmas.
func dsn(path string, busy time.Duration, writer bool) string {
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busy.Milliseconds()))
	q.Add("_pragma", "foreign_keys(1)")
	if path == memoryPath {
		return memoryPath + "?" + q.Encode()
	}
	q.Add("_pragma", "synchronous(FULL)")
	if writer {
		q.Add("_pragma", "journal_mode(WAL)")
		// Take the write lock when a transaction begins, not on its first
		// write, so a transaction never fails half way with SQLITE_BUSY.
		q.Set("_txlock", "immediate")
	} else {
		q.Add("_pragma", "query_only(1)")
	}
	return "file:" + uriEscaper.Replace(path) + "?" + q.Encode()
}

// uriEscaper escapes the characters that end or alter the path of an SQLite
// file: URI.
var uriEscaper = strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23")

// Close closes the database. Writes that returned nil are on disk.
func (s *Store) Close() error {
	var err error
	if s.r != s.w {
		err = s.r.Close()
	}
	return errors.Join(err, s.w.Close())
}

// ---------------------------------------------------------------- time

// Times are stored as Unix nanoseconds; 0 stands for the zero time.
func toNanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromNanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

// nonNil makes a nil slice an empty one: the columns are NOT NULL.
func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// ---------------------------------------------------------------- objects

// GetObject returns the object with that IRI, or store.ErrNotFound.
func (s *Store) GetObject(ctx context.Context, iri string) (*store.Object, error) {
	o := &store.Object{IRI: iri}
	var created, updated int64
	err := s.r.QueryRowContext(ctx,
		`SELECT type, actor, local, data, created, updated FROM objects WHERE iri = ?`, iri).
		Scan(&o.Type, &o.Actor, &o.Local, &o.Data, &created, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("sqlitestore: object %q: %w", iri, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: get object %q: %w", iri, err)
	}
	o.Created, o.Updated = fromNanos(created), fromNanos(updated)
	return o, nil
}

// CreateObject stores o unless an object with o.IRI exists, in which case
// it returns store.ErrExists. A non-zero o.Created is kept; otherwise
// Created is now. Updated is always now.
func (s *Store) CreateObject(ctx context.Context, o *store.Object) error {
	if o == nil {
		return errors.New("sqlitestore: nil object")
	}
	now := time.Now()
	created := o.Created
	if created.IsZero() {
		created = now
	}
	res, err := s.w.ExecContext(ctx,
		`INSERT INTO objects (iri, type, actor, local, data, created, updated)
		 VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (iri) DO NOTHING`,
		o.IRI, o.Type, o.Actor, o.Local, nonNil(o.Data), toNanos(created), toNanos(now))
	if err != nil {
		return fmt.Errorf("sqlitestore: create object %q: %w", o.IRI, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("sqlitestore: create object %q: %w", o.IRI, err)
	} else if n == 0 {
		return fmt.Errorf("sqlitestore: object %q: %w", o.IRI, store.ErrExists)
	}
	return nil
}

// PutObject stores o, replacing any object with the same IRI but keeping
// its Created time.
func (s *Store) PutObject(ctx context.Context, o *store.Object) error {
	if o == nil {
		return errors.New("sqlitestore: nil object")
	}
	now := time.Now()
	created := o.Created
	if created.IsZero() {
		created = now
	}
	_, err := s.w.ExecContext(ctx,
		`INSERT INTO objects (iri, type, actor, local, data, created, updated)
		 VALUES (?, ?, ?, ?, ?, ?, ?)
		 ON CONFLICT (iri) DO UPDATE SET type = excluded.type, actor = excluded.actor,
		   local = excluded.local, data = excluded.data, updated = excluded.updated`,
		o.IRI, o.Type, o.Actor, o.Local, nonNil(o.Data), toNanos(created), toNanos(now))
	if err != nil {
		return fmt.Errorf("sqlitestore: put object %q: %w", o.IRI, err)
	}
	return nil
}

// DeleteObject removes the object, or returns store.ErrNotFound.
func (s *Store) DeleteObject(ctx context.Context, iri string) error {
	return s.deleteOne(ctx, `DELETE FROM objects WHERE iri = ?`, "object", iri)
}

// deleteOne runs a DELETE of one row and maps "no row" to store.ErrNotFound.
func (s *Store) deleteOne(ctx context.Context, query, what string, args ...any) error {
	res, err := s.w.ExecContext(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("sqlitestore: delete %s %q: %w", what, args, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("sqlitestore: delete %s %q: %w", what, args, err)
	} else if n == 0 {
		return fmt.Errorf("sqlitestore: %s %q: %w", what, args, store.ErrNotFound)
	}
	return nil
}

// ---------------------------------------------------------------- collections

// AddItem appends item to the collection, or returns store.ErrExists if it
// is already there (its position is kept).
func (s *Store) AddItem(ctx context.Context, collection, item string) error {
	res, err := s.w.ExecContext(ctx,
		`INSERT INTO collection_items (collection, item) VALUES (?, ?)
		 ON CONFLICT (collection, item) DO NOTHING`, collection, item)
	if err != nil {
		return fmt.Errorf("sqlitestore: add %q to %q: %w", item, collection, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("sqlitestore: add %q to %q: %w", item, collection, err)
	} else if n == 0 {
		return fmt.Errorf("sqlitestore: item %q of %q: %w", item, collection, store.ErrExists)
	}
	return nil
}

// RemoveItem removes item from the collection, or returns store.ErrNotFound.
func (s *Store) RemoveItem(ctx context.Context, collection, item string) error {
	return s.deleteOne(ctx, `DELETE FROM collection_items WHERE collection = ? AND item = ?`,
		"collection item", collection, item)
}

// HasItem reports whether item is in the collection.
func (s *Store) HasItem(ctx context.Context, collection, item string) (bool, error) {
	var one int
	err := s.r.QueryRowContext(ctx,
		`SELECT 1 FROM collection_items WHERE collection = ? AND item = ?`, collection, item).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("sqlitestore: has %q in %q: %w", item, collection, err)
	}
	return true, nil
}

// CountItems returns the number of items in the collection.
func (s *Store) CountItems(ctx context.Context, collection string) (int, error) {
	var n int
	err := s.r.QueryRowContext(ctx,
		`SELECT count(*) FROM collection_items WHERE collection = ?`, collection).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("sqlitestore: count items of %q: %w", collection, err)
	}
	return n, nil
}

// Items returns up to limit items, newest first, older than cursor. A limit
// <= 0 means 20. The cursor is a sequence number as returned in Page.Next;
// any other non-empty cursor returns an error wrapping store.ErrNotFound.
func (s *Store) Items(ctx context.Context, collection, cursor string, limit int) (store.Page, error) {
	before, err := store.ParseSeqCursor(cursor)
	if err != nil {
		return store.Page{}, err
	}
	if limit <= 0 {
		limit = defaultLimit
	}
	// One more than asked tells whether an older page exists.
	rows, err := s.r.QueryContext(ctx,
		`SELECT seq, item FROM collection_items WHERE collection = ? AND seq < ?
		 ORDER BY seq DESC LIMIT ?`, collection, before, int64(limit)+1)
	if err != nil {
		return store.Page{}, fmt.Errorf("sqlitestore: items of %q: %w", collection, err)
	}
	defer rows.Close()
	var (
		p    store.Page
		last int64
	)
	for rows.Next() {
		if len(p.Items) == limit {
			p.Next = store.FormatSeqCursor(last)
			break
		}
		var item string
		if err := rows.Scan(&last, &item); err != nil {
			return store.Page{}, fmt.Errorf("sqlitestore: items of %q: %w", collection, err)
		}
		p.Items = append(p.Items, item)
	}
	if err := rows.Err(); err != nil {
		return store.Page{}, fmt.Errorf("sqlitestore: items of %q: %w", collection, err)
	}
	return p, nil
}

// ---------------------------------------------------------------- keys

// GetKey returns the key with that id, or store.ErrNotFound.
func (s *Store) GetKey(ctx context.Context, id string) (*store.Key, error) {
	k := &store.Key{ID: id}
	var fetched int64
	err := s.r.QueryRowContext(ctx,
		`SELECT owner, public_pem, fetched FROM public_keys WHERE id = ?`, id).
		Scan(&k.Owner, &k.PublicPEM, &fetched)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("sqlitestore: key %q: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: get key %q: %w", id, err)
	}
	k.Fetched = fromNanos(fetched)
	return k, nil
}

// PutKey stores k, replacing any key with the same id.
func (s *Store) PutKey(ctx context.Context, k *store.Key) error {
	if k == nil {
		return errors.New("sqlitestore: nil key")
	}
	_, err := s.w.ExecContext(ctx,
		`INSERT INTO public_keys (id, owner, public_pem, fetched) VALUES (?, ?, ?, ?)
		 ON CONFLICT (id) DO UPDATE SET owner = excluded.owner, public_pem = excluded.public_pem,
		   fetched = excluded.fetched`,
		k.ID, k.Owner, k.PublicPEM, toNanos(k.Fetched))
	if err != nil {
		return fmt.Errorf("sqlitestore: put key %q: %w", k.ID, err)
	}
	return nil
}

// DeleteKey removes the key, or returns store.ErrNotFound.
func (s *Store) DeleteKey(ctx context.Context, id string) error {
	return s.deleteOne(ctx, `DELETE FROM public_keys WHERE id = ?`, "key", id)
}

// ---------------------------------------------------------------- accounts

// CreateAccount stores a, or returns store.ErrExists if the username is
// taken. A zero a.Created is stored as now.
func (s *Store) CreateAccount(ctx context.Context, a *store.Account) error {
	if a == nil {
		return errors.New("sqlitestore: nil account")
	}
	created := a.Created
	if created.IsZero() {
		created = time.Now()
	}
	res, err := s.w.ExecContext(ctx,
		`INSERT INTO accounts (username, actor_iri, private_key_pem, created) VALUES (?, ?, ?, ?)
		 ON CONFLICT (username) DO NOTHING`,
		a.Username, a.ActorIRI, nonNil(a.PrivateKeyPEM), toNanos(created))
	if err != nil {
		return fmt.Errorf("sqlitestore: create account %q: %w", a.Username, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("sqlitestore: create account %q: %w", a.Username, err)
	} else if n == 0 {
		return fmt.Errorf("sqlitestore: account %q: %w", a.Username, store.ErrExists)
	}
	return nil
}

// GetAccount returns the account with that username, or store.ErrNotFound.
func (s *Store) GetAccount(ctx context.Context, username string) (*store.Account, error) {
	a := &store.Account{Username: username}
	var created int64
	err := s.r.QueryRowContext(ctx,
		`SELECT actor_iri, private_key_pem, created FROM accounts WHERE username = ?`, username).
		Scan(&a.ActorIRI, &a.PrivateKeyPEM, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("sqlitestore: account %q: %w", username, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: get account %q: %w", username, err)
	}
	a.Created = fromNanos(created)
	return a, nil
}

// CountAccounts returns the number of accounts.
func (s *Store) CountAccounts(ctx context.Context) (int, error) {
	var n int
	if err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM accounts`).Scan(&n); err != nil {
		return 0, fmt.Errorf("sqlitestore: count accounts: %w", err)
	}
	return n, nil
}

// ---------------------------------------------------------------- values

// purgeEvery is how many PutValue calls pass between two purges of expired
// values.
const purgeEvery = 256

// GetValue returns the value stored under key, or store.ErrNotFound if there
// is none or it has expired.
func (s *Store) GetValue(ctx context.Context, key string) ([]byte, error) {
	var v []byte
	err := s.r.QueryRowContext(ctx,
		`SELECT value FROM protocol_values WHERE key = ? AND (expires = 0 OR expires > ?)`,
		key, time.Now().UnixNano()).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("sqlitestore: value %q: %w", key, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: get value %q: %w", key, err)
	}
	return nonNil(v), nil
}

// PutValue stores value under key until expires (zero: never), replacing
// any previous value. Every 256th call also deletes the expired values, so
// the table does not grow with dead rows.
func (s *Store) PutValue(ctx context.Context, key string, value []byte, expires time.Time) error {
	_, err := s.w.ExecContext(ctx,
		`INSERT INTO protocol_values (key, value, expires) VALUES (?, ?, ?)
		 ON CONFLICT (key) DO UPDATE SET value = excluded.value, expires = excluded.expires`,
		key, nonNil(value), expiryNanos(expires))
	if err != nil {
		return fmt.Errorf("sqlitestore: put value %q: %w", key, err)
	}
	if s.puts.Add(1)%purgeEvery == 0 {
		if _, err := s.w.ExecContext(ctx,
			`DELETE FROM protocol_values WHERE expires != 0 AND expires <= ?`, time.Now().UnixNano()); err != nil {
			s.log.WarnContext(ctx, "sqlitestore: purge expired values", "error", err)
		}
	}
	return nil
}

// DeleteValue removes key, or returns store.ErrNotFound if there is no
// value under it or the value has expired.
func (s *Store) DeleteValue(ctx context.Context, key string) error {
	var expires int64
	err := s.w.QueryRowContext(ctx,
		`DELETE FROM protocol_values WHERE key = ? RETURNING expires`, key).Scan(&expires)
	if errors.Is(err, sql.ErrNoRows) || err == nil && expires != 0 && expires <= time.Now().UnixNano() {
		return fmt.Errorf("sqlitestore: value %q: %w", key, store.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("sqlitestore: delete value %q: %w", key, err)
	}
	return nil
}

// expiryNanos stores an expiry as Unix nanoseconds; the zero time (never)
// is 0, a time before 1970 is 1 (already expired, not "never") and one
// beyond the year 2262 is the largest int64.
func expiryNanos(t time.Time) int64 {
	switch {
	case t.IsZero():
		return 0
	case t.Unix() >= math.MaxInt64/int64(time.Second):
		return math.MaxInt64
	case t.Unix() < 0:
		return 1
	}
	return max(t.UnixNano(), 1)
}
