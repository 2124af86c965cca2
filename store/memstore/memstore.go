package memstore

import (
	"slices"
	"time"

	"github.com/slothpub/slothpub/store"
)

// New returns an empty store kept in memory: the portable store.DB over a
// new Driver, so that it offers units of work, durable jobs (for the life
// of the process), paging both ways and indexed queries, as every store
// does.
func New() *store.DB { return store.Open(NewDriver(), nil) }

// value is one entry of the store.Values space, in 32 bytes: its data as
// a string, its expiry as a stamp without location (it is only compared).
type value struct {
	data    string
	expires stamp // never: no expiry
}

// never is the stamp of the zero time: a value that does not expire.
var never = at(time.Time{})

func (v value) expired(now time.Time) bool {
	return v.expires != never && at(now).compare(v.expires) >= 0
}

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

// now returns the current time without its monotonic reading, so stored
// times compare like the ones a database driver returns.
func now() time.Time { return time.Now().Round(0) }

func cloneObject(o *store.Object) *store.Object {
	c := *o
	c.Data = slices.Clone(o.Data)
	return &c
}
