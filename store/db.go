package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// ErrInvalid is returned (wrapped) for an argument the portable type
// rejects before a driver sees it: an empty IRI, kind or query, a nil
// record, a negative lease.
var ErrInvalid = errors.New("store: invalid argument")

// DefaultPageLimit is the page size used when a caller asks for none
// (limit <= 0).
const DefaultPageLimit = 20

// Options configures a DB. The zero value (and nil) means the defaults.
type Options struct {
	// Clock returns the current time: job due times and leases, value
	// expiry, account creation. Nil means time.Now.
	Clock func() time.Time
	// Logger receives debug records of job maintenance. Nil means
	// slog.Default().
	Logger *slog.Logger
}

// DB is the store: the portable type over a Driver. It holds what every
// driver would otherwise repeat (validation, string cursors, page limits,
// Mastodon-style paging, job policy) and implements Store, so the SDK's
// packages take a *DB (or a *Tx) wherever they take a Store.
//
// A method of DB is a unit of work of its own; DB.Update groups several
// writes, data and jobs alike, into one that commits or rolls back whole.
// DB is safe for concurrent use.
type DB struct {
	d     Driver
	clock func() time.Time
	log   *slog.Logger
}

// Tx is one unit of work, given to the function passed to DB.Update or
// DB.View. It implements Store; its methods read and write inside the
// unit. A Tx is used by one goroutine and never after the function
// returns.
type Tx struct {
	db    *DB
	tx    DriverTx
	write bool
}

// txKey is the context key of the unit WithTx binds.
type txKey struct{}

// WithTx returns ctx bound to the unit tx: every method of tx's DB called
// with the returned context (or one derived from it) runs inside tx
// instead of in a unit of its own, and so do DB.Update and DB.View, whose
// function then gets tx itself. That lets code that holds only the DB, or
// a Store that is the DB (an actor.Directory, a cache), take part in a
// unit its caller opened, without knowing of it, and without the deadlock
// a second unit would meet where the driver holds a write lock (memstore,
// SQLite's writer).
//
// A unit joined this way has no boundary of its own: a nested Update whose
// function fails leaves the writes it made in tx, so its error must fail
// the outer unit (return it), as it would any other. The context must not
// outlive the function tx was given to. A context bound to a read-only
// unit (DB.View) makes a nested Update fail.
func WithTx(ctx context.Context, tx *Tx) context.Context {
	return context.WithValue(ctx, txKey{}, tx)
}

// bound returns the unit of db that ctx is bound to, or nil.
func (db *DB) bound(ctx context.Context) *Tx {
	if tx, ok := ctx.Value(txKey{}).(*Tx); ok && tx.db == db {
		return tx
	}
	return nil
}

var (
	_ Store = (*DB)(nil)
	_ Store = (*Tx)(nil)
)

// Open returns the store backed by d. opts may be nil.
func Open(d Driver, opts *Options) *DB {
	db := &DB{d: d, clock: time.Now, log: slog.Default()}
	if opts != nil {
		if opts.Clock != nil {
			db.clock = opts.Clock
		}
		if opts.Logger != nil {
			db.log = opts.Logger
		}
	}
	return db
}

// now returns the clock's time without its monotonic reading.
func (db *DB) now() time.Time { return db.clock().Round(0) }

// Update runs fn in one read-write unit of work: when fn returns nil
// every write it made, jobs included, is committed before Update returns;
// when it returns an error (or panics) none is, and Update returns that
// error (or panics again). fn must not have effects outside tx: a driver
// may run it more than once to retry a unit that lost a serialisation
// conflict. Do no network I/O in fn; drivers may hold a write lock.
//
// With a context bound to a unit of db (WithTx), fn runs in that unit.
func (db *DB) Update(ctx context.Context, fn func(tx *Tx) error) error {
	if tx := db.bound(ctx); tx != nil {
		if !tx.write {
			return invalid("Update inside a read-only unit")
		}
		return fn(tx)
	}
	return db.d.Update(ctx, func(dt DriverTx) error { return fn(&Tx{db: db, tx: dt, write: true}) })
}

// View runs fn against a consistent read-only view of the store. Writes
// inside it fail. With a context bound to a unit of db (WithTx), fn runs
// in that unit, which may then be read-write.
func (db *DB) View(ctx context.Context, fn func(tx *Tx) error) error {
	if tx := db.bound(ctx); tx != nil {
		return fn(tx)
	}
	return db.d.View(ctx, func(dt DriverTx) error { return fn(&Tx{db: db, tx: dt}) })
}

// Close closes the driver; units in progress finish first.
func (db *DB) Close() error { return db.d.Close() }

// view1 and update1 run one Tx method as its own unit.
func view1[T any](ctx context.Context, db *DB, fn func(tx *Tx) (T, error)) (T, error) {
	var v T
	err := db.View(ctx, func(tx *Tx) error {
		var err error
		v, err = fn(tx)
		return err
	})
	return v, err
}

func update1[T any](ctx context.Context, db *DB, fn func(tx *Tx) (T, error)) (T, error) {
	var v T
	err := db.Update(ctx, func(tx *Tx) error {
		var err error
		v, err = fn(tx)
		return err
	})
	return v, err
}

func invalid(format string, args ...any) error {
	return fmt.Errorf("store: "+format+": %w", append(args, ErrInvalid)...)
}

func clampLimit(limit int) int {
	switch {
	case limit <= 0:
		return DefaultPageLimit
	case limit > MaxPageLimit:
		return MaxPageLimit
	}
	return limit
}

// ---------------------------------------------------------------- objects

// GetObject returns the object with that IRI, or ErrNotFound.
func (tx *Tx) GetObject(ctx context.Context, iri string) (*Object, error) {
	if iri == "" {
		return nil, fmt.Errorf("store: object with an empty IRI: %w", ErrNotFound)
	}
	return tx.tx.GetObject(ctx, iri)
}

// CreateObject stores o only if no object has its IRI, else ErrExists.
// It sets o.Seq, o.Created and o.Updated.
func (tx *Tx) CreateObject(ctx context.Context, o *Object) error {
	if err := checkObject(o); err != nil {
		return err
	}
	return tx.tx.InsertObject(ctx, o)
}

// PutObject stores o, replacing the object with its IRI (Created and Seq
// are kept from the first write).
func (tx *Tx) PutObject(ctx context.Context, o *Object) error {
	if err := checkObject(o); err != nil {
		return err
	}
	return tx.tx.PutObject(ctx, o)
}

func checkObject(o *Object) error {
	if o == nil {
		return invalid("nil object")
	}
	if o.IRI == "" {
		return invalid("object without an IRI")
	}
	return nil
}

// DeleteObject removes the object, or returns ErrNotFound.
func (tx *Tx) DeleteObject(ctx context.Context, iri string) error {
	if iri == "" {
		return fmt.Errorf("store: object with an empty IRI: %w", ErrNotFound)
	}
	return tx.tx.DeleteObject(ctx, iri)
}

// GetObject is Tx.GetObject in a unit of its own.
func (db *DB) GetObject(ctx context.Context, iri string) (*Object, error) {
	return view1(ctx, db, func(tx *Tx) (*Object, error) { return tx.GetObject(ctx, iri) })
}

// CreateObject is Tx.CreateObject in a unit of its own.
func (db *DB) CreateObject(ctx context.Context, o *Object) error {
	return db.Update(ctx, func(tx *Tx) error { return tx.CreateObject(ctx, o) })
}

// PutObject is Tx.PutObject in a unit of its own.
func (db *DB) PutObject(ctx context.Context, o *Object) error {
	return db.Update(ctx, func(tx *Tx) error { return tx.PutObject(ctx, o) })
}

// DeleteObject is Tx.DeleteObject in a unit of its own.
func (db *DB) DeleteObject(ctx context.Context, iri string) error {
	return db.Update(ctx, func(tx *Tx) error { return tx.DeleteObject(ctx, iri) })
}

// FindQuery selects objects by their indexed fields (every non-empty one
// must match; at least one must be set) and pages them like PageQuery.
// The cursors are object ids in the sense of PageQuery: the decimal Seq.
type FindQuery struct {
	Actor     string // actor of an activity, attributedTo of an object
	InReplyTo string // the thread parent
	Type      string
	PageQuery
}

// ObjectsPage is a page of objects, newest first, with the cursors of its
// neighbours.
type ObjectsPage struct {
	Objects []*Object
	// Older is the MaxID of the next older page, "" when there is none.
	// Newer is the MinID of the page of newer objects ("" when the page is
	// empty); newer objects may come later, so it is set even when none
	// exist yet, as Mastodon's prev link is.
	Older, Newer string
}

// FindObjects returns the objects matching q, newest first. It is served
// from an index by every driver, never by a scan.
func (tx *Tx) FindObjects(ctx context.Context, q FindQuery) (ObjectsPage, error) {
	if q.Actor == "" && q.InReplyTo == "" && q.Type == "" {
		return ObjectsPage{}, invalid("FindObjects without a field to match")
	}
	r, err := q.PageQuery.rangeOf()
	if err != nil {
		return ObjectsPage{}, err
	}
	dq := ObjectQuery{Actor: q.Actor, InReplyTo: q.InReplyTo, Type: q.Type, Range: r}
	os, err := tx.tx.FindObjects(ctx, dq)
	if err != nil {
		return ObjectsPage{}, err
	}
	if r.Ascending {
		reverse(os)
	}
	p := ObjectsPage{Objects: os}
	if len(os) == 0 {
		return p, nil
	}
	p.Newer = FormatSeqCursor(os[0].Seq)
	dq.Range = Range{Before: os[len(os)-1].Seq, Limit: 1}
	older, err := tx.tx.FindObjects(ctx, dq)
	if err != nil {
		return ObjectsPage{}, err
	}
	if len(older) > 0 {
		p.Older = FormatSeqCursor(os[len(os)-1].Seq)
	}
	return p, nil
}

// FindObjects is Tx.FindObjects in a unit of its own.
func (db *DB) FindObjects(ctx context.Context, q FindQuery) (ObjectsPage, error) {
	return view1(ctx, db, func(tx *Tx) (ObjectsPage, error) { return tx.FindObjects(ctx, q) })
}

func reverse[T any](s []T) {
	for i, j := 0, len(s)-1; i < j; i, j = i+1, j-1 {
		s[i], s[j] = s[j], s[i]
	}
}

// ---------------------------------------------------------------- collections

// AddItem appends item to the collection; an item already present is
// ErrExists and keeps its position.
func (tx *Tx) AddItem(ctx context.Context, collection, item string) error {
	_, err := tx.Add(ctx, collection, item)
	return err
}

// Add is AddItem returning the item's sequence number, its id in paging
// (FormatSeqCursor of it is what PageQuery cursors name).
func (tx *Tx) Add(ctx context.Context, collection, item string) (int64, error) {
	if collection == "" || item == "" {
		return 0, invalid("AddItem(%q, %q): empty collection or item", collection, item)
	}
	return tx.tx.AddItem(ctx, collection, item)
}

// RemoveItem removes item, or returns ErrNotFound.
func (tx *Tx) RemoveItem(ctx context.Context, collection, item string) error {
	if collection == "" || item == "" {
		return fmt.Errorf("store: item %q of %q: %w", item, collection, ErrNotFound)
	}
	return tx.tx.RemoveItem(ctx, collection, item)
}

// HasItem reports whether item is in the collection.
func (tx *Tx) HasItem(ctx context.Context, collection, item string) (bool, error) {
	if collection == "" || item == "" {
		return false, nil
	}
	return tx.tx.HasItem(ctx, collection, item)
}

// CountItems returns the number of items in the collection.
func (tx *Tx) CountItems(ctx context.Context, collection string) (int, error) {
	if collection == "" {
		return 0, nil
	}
	return tx.tx.CountItems(ctx, collection)
}

// Items returns up to limit items, newest first, from cursor on ("" is
// the newest); see Collections.Items. The cursor is the decimal sequence
// number of the newest item not yet returned (FormatSeqCursor). limit <= 0
// means DefaultPageLimit; a limit above MaxPageLimit is MaxPageLimit.
func (tx *Tx) Items(ctx context.Context, collection, cursor string, limit int) (Page, error) {
	r := Range{Limit: clampLimit(limit)}
	if cursor != "" {
		seq, err := ParseSeqCursor(cursor)
		if err != nil {
			return Page{}, err
		}
		if seq < 1<<63-1 {
			r.Before = seq + 1
		}
	}
	if collection == "" {
		return Page{}, nil
	}
	its, err := tx.tx.Items(ctx, collection, r)
	if err != nil {
		return Page{}, err
	}
	p := Page{Items: make([]string, len(its))}
	for i, it := range its {
		p.Items[i] = it.Value
	}
	if len(its) == r.Limit {
		next, err := tx.tx.Items(ctx, collection, Range{Before: its[len(its)-1].Seq, Limit: 1})
		if err != nil {
			return Page{}, err
		}
		if len(next) > 0 {
			p.Next = FormatSeqCursor(next[0].Seq)
		}
	}
	return p, nil
}

// PageQuery pages a sequence-numbered list the way Mastodon's API does.
// An id is the decimal sequence number of an item (FormatSeqCursor), and
// pages are returned newest first whatever the query:
//
//   - MaxID: only items older than it (the next page down).
//   - SinceID: only items newer than it, the newest of them first (gaps
//     are possible: a client polls with it).
//   - MinID: the items immediately newer than it (the previous page);
//     it takes precedence over SinceID, as in Mastodon. MinID "0" is the
//     oldest page.
//
// Limit <= 0 means DefaultPageLimit; above MaxPageLimit, MaxPageLimit.
// A malformed id is an error wrapping ErrNotFound.
type PageQuery struct {
	MaxID, SinceID, MinID string
	Limit                 int
}

func parseID(id string) (int64, error) {
	if id == "" {
		return 0, nil
	}
	return ParseSeqCursor(id)
}

// rangeOf is the driver Range q stands for.
func (q PageQuery) rangeOf() (Range, error) {
	r := Range{Limit: clampLimit(q.Limit)}
	var err error
	if r.Before, err = parseID(q.MaxID); err != nil {
		return Range{}, err
	}
	lower := q.SinceID
	if q.MinID != "" {
		lower, r.Ascending = q.MinID, true
	}
	// "0" is before every item: min_id=0 is the oldest page.
	if lower != "0" {
		if r.After, err = parseID(lower); err != nil {
			return Range{}, err
		}
	}
	return r, nil
}

// ItemsPage is a page of a collection, newest first, with the cursors of
// its neighbours for a Link header: next is max_id=Older, prev is
// min_id=Newer.
type ItemsPage struct {
	Items []Item // newest first; FormatSeqCursor(Item.Seq) is the item's id
	// Older is the MaxID of the next older page, "" when there is none.
	// Newer is the MinID of newer items, "" only for an empty page.
	Older, Newer string
}

// Page returns a page of the collection as q selects it.
func (tx *Tx) Page(ctx context.Context, collection string, q PageQuery) (ItemsPage, error) {
	r, err := q.rangeOf()
	if err != nil {
		return ItemsPage{}, err
	}
	if collection == "" {
		return ItemsPage{}, nil
	}
	its, err := tx.tx.Items(ctx, collection, r)
	if err != nil {
		return ItemsPage{}, err
	}
	if r.Ascending {
		reverse(its)
	}
	p := ItemsPage{Items: its}
	if len(its) == 0 {
		return p, nil
	}
	p.Newer = FormatSeqCursor(its[0].Seq)
	last := its[len(its)-1].Seq
	older, err := tx.tx.Items(ctx, collection, Range{Before: last, Limit: 1})
	if err != nil {
		return ItemsPage{}, err
	}
	if len(older) > 0 {
		p.Older = FormatSeqCursor(last)
	}
	return p, nil
}

// AddItem is Tx.AddItem in a unit of its own.
func (db *DB) AddItem(ctx context.Context, collection, item string) error {
	return db.Update(ctx, func(tx *Tx) error { return tx.AddItem(ctx, collection, item) })
}

// RemoveItem is Tx.RemoveItem in a unit of its own.
func (db *DB) RemoveItem(ctx context.Context, collection, item string) error {
	return db.Update(ctx, func(tx *Tx) error { return tx.RemoveItem(ctx, collection, item) })
}

// HasItem is Tx.HasItem in a unit of its own.
func (db *DB) HasItem(ctx context.Context, collection, item string) (bool, error) {
	return view1(ctx, db, func(tx *Tx) (bool, error) { return tx.HasItem(ctx, collection, item) })
}

// CountItems is Tx.CountItems in a unit of its own.
func (db *DB) CountItems(ctx context.Context, collection string) (int, error) {
	return view1(ctx, db, func(tx *Tx) (int, error) { return tx.CountItems(ctx, collection) })
}

// Items is Tx.Items in a unit of its own.
func (db *DB) Items(ctx context.Context, collection, cursor string, limit int) (Page, error) {
	return view1(ctx, db, func(tx *Tx) (Page, error) { return tx.Items(ctx, collection, cursor, limit) })
}

// Page is Tx.Page in a unit of its own.
func (db *DB) Page(ctx context.Context, collection string, q PageQuery) (ItemsPage, error) {
	return view1(ctx, db, func(tx *Tx) (ItemsPage, error) { return tx.Page(ctx, collection, q) })
}

// ---------------------------------------------------------------- keys

// GetKey returns the key with that id, or ErrNotFound.
func (tx *Tx) GetKey(ctx context.Context, id string) (*Key, error) {
	if id == "" {
		return nil, fmt.Errorf("store: key with an empty id: %w", ErrNotFound)
	}
	return tx.tx.GetKey(ctx, id)
}

// PutKey stores k, replacing any key with its id.
func (tx *Tx) PutKey(ctx context.Context, k *Key) error {
	if k == nil || k.ID == "" {
		return invalid("key without an id")
	}
	return tx.tx.PutKey(ctx, k)
}

// DeleteKey removes the key, or returns ErrNotFound.
func (tx *Tx) DeleteKey(ctx context.Context, id string) error {
	if id == "" {
		return fmt.Errorf("store: key with an empty id: %w", ErrNotFound)
	}
	return tx.tx.DeleteKey(ctx, id)
}

// GetKey is Tx.GetKey in a unit of its own.
func (db *DB) GetKey(ctx context.Context, id string) (*Key, error) {
	return view1(ctx, db, func(tx *Tx) (*Key, error) { return tx.GetKey(ctx, id) })
}

// PutKey is Tx.PutKey in a unit of its own.
func (db *DB) PutKey(ctx context.Context, k *Key) error {
	return db.Update(ctx, func(tx *Tx) error { return tx.PutKey(ctx, k) })
}

// DeleteKey is Tx.DeleteKey in a unit of its own.
func (db *DB) DeleteKey(ctx context.Context, id string) error {
	return db.Update(ctx, func(tx *Tx) error { return tx.DeleteKey(ctx, id) })
}

// ---------------------------------------------------------------- accounts

// CreateAccount stores a, or returns ErrExists if the username is taken.
// A zero a.Created is stored (and set in a) as the clock's now.
func (tx *Tx) CreateAccount(ctx context.Context, a *Account) error {
	if a == nil || a.Username == "" {
		return invalid("account without a username")
	}
	created := a.Created
	if created.IsZero() {
		created = tx.db.now()
	}
	c := *a
	c.Created = created
	if err := tx.tx.CreateAccount(ctx, &c); err != nil {
		return err
	}
	a.Created = created
	return nil
}

// GetAccount returns the account with that username, or ErrNotFound.
func (tx *Tx) GetAccount(ctx context.Context, username string) (*Account, error) {
	if username == "" {
		return nil, fmt.Errorf("store: account with an empty username: %w", ErrNotFound)
	}
	return tx.tx.GetAccount(ctx, username)
}

// CountAccounts returns the number of local accounts.
func (tx *Tx) CountAccounts(ctx context.Context) (int, error) { return tx.tx.CountAccounts(ctx) }

// CreateAccount is Tx.CreateAccount in a unit of its own.
func (db *DB) CreateAccount(ctx context.Context, a *Account) error {
	return db.Update(ctx, func(tx *Tx) error { return tx.CreateAccount(ctx, a) })
}

// GetAccount is Tx.GetAccount in a unit of its own.
func (db *DB) GetAccount(ctx context.Context, username string) (*Account, error) {
	return view1(ctx, db, func(tx *Tx) (*Account, error) { return tx.GetAccount(ctx, username) })
}

// CountAccounts is Tx.CountAccounts in a unit of its own.
func (db *DB) CountAccounts(ctx context.Context) (int, error) {
	return view1(ctx, db, func(tx *Tx) (int, error) { return tx.CountAccounts(ctx) })
}

// ---------------------------------------------------------------- values

// GetValue returns the value under key, or ErrNotFound if there is none
// or it expired by the clock.
func (tx *Tx) GetValue(ctx context.Context, key string) ([]byte, error) {
	if key == "" {
		return nil, fmt.Errorf("store: value with an empty key: %w", ErrNotFound)
	}
	return tx.tx.GetValue(ctx, key, tx.db.now())
}

// PutValue stores value under key until expires (zero: never).
func (tx *Tx) PutValue(ctx context.Context, key string, value []byte, expires time.Time) error {
	if key == "" {
		return invalid("value with an empty key")
	}
	return tx.tx.PutValue(ctx, key, value, expires)
}

// DeleteValue removes key, or returns ErrNotFound (also for an expired
// value).
func (tx *Tx) DeleteValue(ctx context.Context, key string) error {
	if key == "" {
		return fmt.Errorf("store: value with an empty key: %w", ErrNotFound)
	}
	return tx.tx.DeleteValue(ctx, key, tx.db.now())
}

// GetValue is Tx.GetValue in a unit of its own.
func (db *DB) GetValue(ctx context.Context, key string) ([]byte, error) {
	return view1(ctx, db, func(tx *Tx) ([]byte, error) { return tx.GetValue(ctx, key) })
}

// PutValue is Tx.PutValue in a unit of its own.
func (db *DB) PutValue(ctx context.Context, key string, value []byte, expires time.Time) error {
	return db.Update(ctx, func(tx *Tx) error { return tx.PutValue(ctx, key, value, expires) })
}

// DeleteValue is Tx.DeleteValue in a unit of its own.
func (db *DB) DeleteValue(ctx context.Context, key string) error {
	return db.Update(ctx, func(tx *Tx) error { return tx.DeleteValue(ctx, key) })
}
