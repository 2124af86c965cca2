package memstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/slothpub/slothpub/store"
)

// defaultLimit is the page size Items uses for a limit <= 0.
const defaultLimit = 20

// Store is an in-memory store.Store. The zero value is not usable; call New.
// All methods are safe for concurrent use.
type Store struct {
	mu       sync.RWMutex
	objects  map[string]store.Object // Data owned by the store
	colls    map[string]*collection
	keys     map[string]store.Key
	accounts map[string]store.Account // PrivateKeyPEM owned by the store
	seq      int64                    // last sequence number given to a collection item
	values   map[string]value         // data owned by the store
	puts     int                      // PutValue calls since the last sweep of expired values
}

// value is one entry of the store.Values space.
type value struct {
	data    []byte
	expires time.Time // zero: never
}

func (v value) expired(now time.Time) bool { return !v.expires.IsZero() && !now.Before(v.expires) }

// collection is an ordered set: entries in ascending sequence order (oldest
// first) plus an index from item to its sequence number.
type collection struct {
	seqOf   map[string]int64
	entries []entry
}

type entry struct {
	seq  int64
	item string
}

var _ store.Store = (*Store)(nil)

// New returns an empty store.
func New() *Store {
	return &Store{
		objects:  make(map[string]store.Object),
		colls:    make(map[string]*collection),
		keys:     make(map[string]store.Key),
		accounts: make(map[string]store.Account),
		values:   make(map[string]value),
	}
}

var errNilArg = errors.New("memstore: nil argument")

// now returns the current time without its monotonic reading, so stored
// times compare like the ones a database driver returns.
func now() time.Time { return time.Now().Round(0) }

func cloneObject(o *store.Object) *store.Object {
	c := *o
	c.Data = slices.Clone(o.Data)
	return &c
}

// GetObject returns a copy of the object with that IRI, or store.ErrNotFound.
func (s *Store) GetObject(ctx context.Context, iri string) (*store.Object, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	o, ok := s.objects[iri]
	if !ok {
		return nil, fmt.Errorf("memstore: object %q: %w", iri, store.ErrNotFound)
	}
	return cloneObject(&o), nil
}

// CreateObject stores a copy of o unless an object with o.IRI exists, in
// which case it returns store.ErrExists. A non-zero o.Created is kept;
// otherwise Created is now. Updated is always now.
func (s *Store) CreateObject(ctx context.Context, o *store.Object) error {
	if o == nil {
		return errNilArg
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.objects[o.IRI]; ok {
		return fmt.Errorf("memstore: object %q: %w", o.IRI, store.ErrExists)
	}
	s.put(o, time.Time{})
	return nil
}

// PutObject stores a copy of o, replacing any object with the same IRI but
// keeping its Created time.
func (s *Store) PutObject(ctx context.Context, o *store.Object) error {
	if o == nil {
		return errNilArg
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var created time.Time
	if old, ok := s.objects[o.IRI]; ok {
		created = old.Created
	}
	s.put(o, created)
	return nil
}

// put stores a copy of o; created, when non-zero, overrides o.Created.
// s.mu must be held for writing.
func (s *Store) put(o *store.Object, created time.Time) {
	c := cloneObject(o)
	c.Updated = now()
	switch {
	case !created.IsZero():
		c.Created = created
	case c.Created.IsZero():
		c.Created = c.Updated
	}
	s.objects[o.IRI] = *c
}

// DeleteObject removes the object, or returns store.ErrNotFound.
func (s *Store) DeleteObject(ctx context.Context, iri string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.objects[iri]; !ok {
		return fmt.Errorf("memstore: object %q: %w", iri, store.ErrNotFound)
	}
	delete(s.objects, iri)
	return nil
}

// AddItem appends item to the collection, or returns store.ErrExists if it
// is already there (its position is kept).
func (s *Store) AddItem(ctx context.Context, collectionIRI, item string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.colls[collectionIRI]
	if c == nil {
		c = &collection{seqOf: make(map[string]int64)}
		s.colls[collectionIRI] = c
	}
	if _, ok := c.seqOf[item]; ok {
		return fmt.Errorf("memstore: item %q of %q: %w", item, collectionIRI, store.ErrExists)
	}
	s.seq++
	c.seqOf[item] = s.seq
	c.entries = append(c.entries, entry{seq: s.seq, item: item})
	return nil
}

// RemoveItem removes item from the collection, or returns store.ErrNotFound.
func (s *Store) RemoveItem(ctx context.Context, collectionIRI, item string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.colls[collectionIRI]
	if c == nil {
		return fmt.Errorf("memstore: item %q of %q: %w", item, collectionIRI, store.ErrNotFound)
	}
	seq, ok := c.seqOf[item]
	if !ok {
		return fmt.Errorf("memstore: item %q of %q: %w", item, collectionIRI, store.ErrNotFound)
	}
	i, found := slices.BinarySearchFunc(c.entries, seq, func(e entry, seq int64) int { return cmpInt(e.seq, seq) })
	if !found {
		return fmt.Errorf("memstore: item %q of %q: collection index out of sync", item, collectionIRI)
	}
	c.entries = slices.Delete(c.entries, i, i+1)
	delete(c.seqOf, item)
	if len(c.entries) == 0 {
		delete(s.colls, collectionIRI)
	}
	return nil
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// HasItem reports whether item is in the collection.
func (s *Store) HasItem(ctx context.Context, collectionIRI, item string) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	c := s.colls[collectionIRI]
	if c == nil {
		return false, nil
	}
	_, ok := c.seqOf[item]
	return ok, nil
}

// CountItems returns the number of items in the collection.
func (s *Store) CountItems(ctx context.Context, collectionIRI string) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if c := s.colls[collectionIRI]; c != nil {
		return len(c.entries), nil
	}
	return 0, nil
}

// Items returns up to limit items, newest first, older than cursor. A limit
// <= 0 means 20. The cursor is a decimal sequence number as returned in
// Page.Next; any other non-empty cursor returns an error wrapping
// store.ErrNotFound.
func (s *Store) Items(ctx context.Context, collectionIRI, cursor string, limit int) (store.Page, error) {
	if err := ctx.Err(); err != nil {
		return store.Page{}, err
	}
	before, err := store.ParseSeqCursor(cursor)
	if err != nil {
		return store.Page{}, err
	}
	if limit <= 0 {
		limit = defaultLimit
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	c := s.colls[collectionIRI]
	if c == nil {
		return store.Page{}, nil
	}
	// end is the number of entries older than the cursor.
	end, _ := slices.BinarySearchFunc(c.entries, before, func(e entry, seq int64) int { return cmpInt(e.seq, seq) })
	start := max(end-limit, 0)
	p := store.Page{Items: make([]string, 0, end-start)}
	for i := end - 1; i >= start; i-- {
		p.Items = append(p.Items, c.entries[i].item)
	}
	if start > 0 {
		p.Next = store.FormatSeqCursor(c.entries[start].seq)
	}
	return p, nil
}

// GetKey returns the key with that id, or store.ErrNotFound.
func (s *Store) GetKey(ctx context.Context, id string) (*store.Key, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	k, ok := s.keys[id]
	if !ok {
		return nil, fmt.Errorf("memstore: key %q: %w", id, store.ErrNotFound)
	}
	return &k, nil
}

// PutKey stores a copy of k, replacing any key with the same id.
func (s *Store) PutKey(ctx context.Context, k *store.Key) error {
	if k == nil {
		return errNilArg
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keys[k.ID] = *k
	return nil
}

// DeleteKey removes the key, or returns store.ErrNotFound.
func (s *Store) DeleteKey(ctx context.Context, id string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.keys[id]; !ok {
		return fmt.Errorf("memstore: key %q: %w", id, store.ErrNotFound)
	}
	delete(s.keys, id)
	return nil
}

// CreateAccount stores a copy of a, or returns store.ErrExists if the
// username is taken. A zero a.Created is stored as now.
func (s *Store) CreateAccount(ctx context.Context, a *store.Account) error {
	if a == nil {
		return errNilArg
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.accounts[a.Username]; ok {
		return fmt.Errorf("memstore: account %q: %w", a.Username, store.ErrExists)
	}
	c := *a
	c.PrivateKeyPEM = slices.Clone(a.PrivateKeyPEM)
	if c.Created.IsZero() {
		c.Created = now()
	}
	s.accounts[a.Username] = c
	return nil
}

// GetAccount returns a copy of the account, or store.ErrNotFound.
func (s *Store) GetAccount(ctx context.Context, username string) (*store.Account, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	a, ok := s.accounts[username]
	if !ok {
		return nil, fmt.Errorf("memstore: account %q: %w", username, store.ErrNotFound)
	}
	a.PrivateKeyPEM = slices.Clone(a.PrivateKeyPEM)
	return &a, nil
}

// CountAccounts returns the number of accounts.
func (s *Store) CountAccounts(ctx context.Context) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.accounts), nil
}

// GetValue returns a copy of the value stored under key, or
// store.ErrNotFound if there is none or it has expired.
func (s *Store) GetValue(ctx context.Context, key string) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	v, ok := s.values[key]
	s.mu.RUnlock()
	if !ok || v.expired(time.Now()) {
		return nil, fmt.Errorf("memstore: value %q: %w", key, store.ErrNotFound)
	}
	return slices.Clone(v.data), nil
}

// PutValue stores a copy of data under key until expires (zero: never),
// replacing any previous value. Expired values are swept out now and then
// by PutValue, so the map does not grow with dead entries.
func (s *Store) PutValue(ctx context.Context, key string, data []byte, expires time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if data == nil {
		data = []byte{}
	} else {
		data = slices.Clone(data)
	}
	s.values[key] = value{data: data, expires: expires}
	// Sweep when the puts since the last sweep outnumber the values: the
	// cost is amortised to O(1) per put.
	if s.puts++; s.puts >= max(len(s.values), 64) {
		s.puts = 0
		t := time.Now()
		for k, v := range s.values {
			if v.expired(t) {
				delete(s.values, k)
			}
		}
	}
	return nil
}

// DeleteValue removes key, or returns store.ErrNotFound if there is no
// value under it or the value has expired.
func (s *Store) DeleteValue(ctx context.Context, key string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.values[key]
	if !ok {
		return fmt.Errorf("memstore: value %q: %w", key, store.ErrNotFound)
	}
	delete(s.values, key)
	if v.expired(time.Now()) {
		return fmt.Errorf("memstore: value %q: %w", key, store.ErrNotFound)
	}
	return nil
}
