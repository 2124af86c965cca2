package memstore

import (
	"cmp"
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

// collection is an ordered set: its members by ascending sequence number
// (oldest first), their strings in an arena, and an index from member to
// its place. A removed member stays in entries, marked in dead, until the
// dead outnumber the living and compact drops them: so places do not move
// on removal, and the undo of a removal revives the member in its place.
type collection struct {
	entries []entry
	dead    []uint64 // bit i set: entries[i] was removed
	ndead   int
	byItem  index // of the living entries
	text    arena
}

type entry struct {
	seq  int64
	item string
}

func (c *collection) itemAt(row uint32) string { return c.entries[row].item }

func (c *collection) isDead(i int) bool { return c.dead[i/64]&(1<<(i%64)) != 0 }

func (c *collection) setDead(i int, dead bool) {
	if dead {
		c.dead[i/64] |= 1 << (i % 64)
	} else {
		c.dead[i/64] &^= 1 << (i % 64)
	}
}

// live is the number of members.
func (c *collection) live() int { return len(c.entries) - c.ndead }

// seqOf returns the sequence number of item.
func (c *collection) seqOf(item string) (int64, bool) {
	row, ok := c.byItem.find(item, c.itemAt)
	if !ok {
		return 0, false
	}
	return c.entries[row].seq, true
}

// add adds item, which is not a member, with its sequence number.
func (c *collection) add(item string, seq int64) {
	n := len(c.entries)
	if n > 0 && c.entries[n-1].seq >= seq {
		c.insert(item, seq)
		return
	}
	c.entries = append(c.entries, entry{seq: seq, item: c.text.put(item)})
	if n/64 >= len(c.dead) {
		c.dead = append(c.dead, 0)
	}
	c.byItem.add(item, uint32(n), c.itemAt)
}

// insert adds item with a sequence number below the last one's: the undo
// of a removal. It revives the entry if it is still there, else makes the
// entries again with it.
func (c *collection) insert(item string, seq int64) {
	i := c.find(seq)
	if i < len(c.entries) && c.entries[i].seq == seq && c.isDead(i) {
		c.setDead(i, false)
		c.ndead--
		c.byItem.add(item, uint32(i), c.itemAt)
		return
	}
	c.compact(&entry{seq: seq, item: item})
}

// remove takes item out and returns its sequence number.
func (c *collection) remove(item string) (int64, bool) {
	row, ok := c.byItem.remove(item, c.itemAt)
	if !ok {
		return 0, false
	}
	i := int(row)
	seq := c.entries[i].seq
	c.setDead(i, true)
	c.ndead++
	// Dead entries at the end go at once (the undo of a unit's additions
	// removes them last first); others when they outnumber the living.
	for n := len(c.entries); n > 0 && c.isDead(n-1); n-- {
		c.setDead(n-1, false)
		c.entries[n-1] = entry{}
		c.entries = c.entries[:n-1]
		c.ndead--
	}
	if c.ndead > 32 && c.ndead > c.live() {
		c.compact(nil)
	}
	return seq, true
}

// find returns the place of the first entry whose seq is at least seq.
func (c *collection) find(seq int64) int {
	i, _ := slices.BinarySearchFunc(c.entries, seq, func(e entry, seq int64) int { return cmp.Compare(e.seq, seq) })
	return i
}

// compact makes the entries, their arena and index again without the dead
// entries, and with extra if it is not nil.
func (c *collection) compact(extra *entry) {
	old := *c
	n := old.live()
	if extra != nil {
		n++
	}
	*c = collection{entries: make([]entry, 0, n), dead: make([]uint64, (n+63)/64)}
	c.byItem.reset(n)
	keep := func(e entry) {
		c.entries = append(c.entries, entry{seq: e.seq, item: c.text.put(e.item)})
		c.byItem.add(e.item, uint32(len(c.entries)-1), c.itemAt)
	}
	for i, e := range old.entries {
		if extra != nil && extra.seq < e.seq {
			keep(*extra)
			extra = nil
		}
		if !old.isDead(i) {
			keep(e)
		}
	}
	if extra != nil {
		keep(*extra)
	}
}

// now returns the current time without its monotonic reading, so stored
// times compare like the ones a database driver returns.
func now() time.Time { return time.Now().Round(0) }

func cloneObject(o *store.Object) *store.Object {
	c := *o
	c.Data = slices.Clone(o.Data)
	return &c
}
