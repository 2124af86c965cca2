package store

import (
	"context"
	"errors"
	"time"
)

// Sentinel errors. Drivers return them (possibly wrapped with %w); callers
// test with errors.Is.
var (
	// ErrNotFound: no record with that key.
	ErrNotFound = errors.New("store: not found")
	// ErrExists: a create met an existing record with that key.
	ErrExists = errors.New("store: already exists")
	// ErrGone: the object was deleted and only its tombstone remains.
	ErrGone = errors.New("store: gone")
)

// Store is everything the SDK keeps. A driver implements all of it; every
// driver must pass storetest.Run. All methods must be safe for concurrent use.
type Store interface {
	Objects
	Collections
	Keys
	Accounts
	Values
}

// Object is an ActivityStreams document (activity, object or actor) kept as
// raw JSON plus the few fields the SDK queries by.
type Object struct {
	IRI   string // the document's id; the primary key
	Type  string // its ActivityStreams type, e.g. "Note", "Create", "Person"
	Actor string // who it belongs to: actor of an activity, attributedTo of an object, "" if unknown
	// InReplyTo is the IRI of the object this one replies to ("" if none),
	// the index threads are read by.
	InReplyTo string
	// Local is true for documents this server created.
	Local bool
	// Data is the JSON document. For a deleted object it is its Tombstone.
	Data []byte
	// Created is when the record was first stored; Updated when it was
	// last written. Drivers set both (callers may leave them zero).
	Created time.Time
	Updated time.Time
	// Seq orders objects by first insertion across the store; drivers of
	// the Driver interface set it (0 from the older Objects drivers).
	Seq int64
}

// Objects stores documents by IRI.
type Objects interface {
	// GetObject returns the object with that IRI, or ErrNotFound. A
	// tombstoned object is returned with its Tombstone data, Type
	// "Tombstone" and no error: callers decide what Gone means to them.
	GetObject(ctx context.Context, iri string) (*Object, error)
	// CreateObject stores o only if no object with o.IRI exists; otherwise
	// it returns ErrExists and changes nothing. It is the idempotency
	// primitive: exactly one of concurrent creates of one IRI succeeds.
	CreateObject(ctx context.Context, o *Object) error
	// PutObject stores o, replacing any object with the same IRI (Created
	// is kept from the first write).
	PutObject(ctx context.Context, o *Object) error
	// DeleteObject removes the object, or returns ErrNotFound.
	DeleteObject(ctx context.Context, iri string) error
}

// Page is one page of a collection, newest item first.
type Page struct {
	Items []string // item IRIs, newest first
	// Next is the cursor of the following (older) page, "" on the last page.
	Next string
}

// Collections stores ordered sets of IRIs (followers, following, outbox,
// inbox, likes, shares...) keyed by the collection's IRI. An item appears
// in a collection at most once; order is insertion order.
type Collections interface {
	// AddItem appends item to the collection. Adding an item already
	// present returns ErrExists and keeps its position.
	AddItem(ctx context.Context, collection, item string) error
	// RemoveItem removes item, or returns ErrNotFound.
	RemoveItem(ctx context.Context, collection, item string) error
	// HasItem reports whether item is in the collection.
	HasItem(ctx context.Context, collection, item string) (bool, error)
	// CountItems returns the number of items in the collection (0 for a
	// collection never written).
	CountItems(ctx context.Context, collection string) (int, error)
	// Items returns up to limit items, newest first, starting after cursor
	// ("" starts at the newest). A cursor stays valid when items are added
	// or removed: paging never repeats nor skips an item that stayed in the
	// collection. Drivers may treat limit <= 0 as a small default.
	Items(ctx context.Context, collection, cursor string, limit int) (Page, error)
}

// Key is a public key of an actor, local or remote.
type Key struct {
	ID        string // key id, e.g. https://example.com/users/alice#main-key
	Owner     string // actor IRI that owns the key
	PublicPEM string // PKIX or PKCS#1 PEM (or a multibase, for Multikey)
	Fetched   time.Time
}

// Keys caches public keys by key id.
type Keys interface {
	// GetKey returns the key with that id, or ErrNotFound.
	GetKey(ctx context.Context, id string) (*Key, error)
	// PutKey stores k, replacing any key with the same id.
	PutKey(ctx context.Context, k *Key) error
	// DeleteKey removes the key, or returns ErrNotFound.
	DeleteKey(ctx context.Context, id string) error
}

// Account is a local user: the private half of a local actor.
type Account struct {
	Username      string // local part, unique, case-sensitive as stored
	ActorIRI      string
	PrivateKeyPEM []byte // PKCS#8 PEM
	Created       time.Time
}

// Accounts stores local users.
type Accounts interface {
	// CreateAccount stores a, or returns ErrExists if the username is taken.
	CreateAccount(ctx context.Context, a *Account) error
	// GetAccount returns the account with that username, or ErrNotFound.
	GetAccount(ctx context.Context, username string) (*Account, error)
	// CountAccounts returns the number of local accounts.
	CountAccounts(ctx context.Context) (int, error)
}

// Values is a small key-value space for protocol state (per-host signature
// scheme, later breaker state). Keys are short ASCII strings namespaced by a
// prefix, e.g. "httpsig-scheme:example.com"; values are small opaque bytes.
// A driver stores and returns copies: the caller may reuse the slices it
// passed in or got back.
type Values interface {
	// GetValue returns the value stored under key, or ErrNotFound if there
	// is none or it has expired.
	GetValue(ctx context.Context, key string) ([]byte, error)
	// PutValue stores value under key until expires (zero: never expires),
	// replacing any previous value. An expires in the past stores a value
	// that is already expired; drivers may purge expired values lazily.
	PutValue(ctx context.Context, key string, value []byte, expires time.Time) error
	// DeleteValue removes key, or returns ErrNotFound (also when its value
	// has expired).
	DeleteValue(ctx context.Context, key string) error
}

// EachItem calls fn for every item of a collection, newest first, reading
// it page by page, and stops at the first error.
func EachItem(ctx context.Context, c Collections, collection string, fn func(item string) error) error {
	cursor := ""
	for {
		p, err := c.Items(ctx, collection, cursor, 200)
		if err != nil {
			return err
		}
		for _, it := range p.Items {
			if err := fn(it); err != nil {
				return err
			}
		}
		if p.Next == "" {
			return nil
		}
		cursor = p.Next
	}
}
