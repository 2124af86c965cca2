package memstore

import (
	"hash/maphash"
	"strings"
)

// The store's big tables (the members of a collection, the values) hold
// hundreds of thousands of short strings: IRIs, cache entries. Kept as a Go
// map of strings, each costs its own allocation (rounded up to a size
// class) plus a map slot of two to three times its header; a follower
// cost about 117 bytes of heap in a collection, 40 of them its IRI. The
// types here keep such a table in about the bytes of its strings plus 30:
// the strings' bytes packed in a few large chunks (arena) and a hash index
// of 4-byte row numbers (index).

// arena packs the bytes of many small strings into a few chunks. A string
// it returns shares a chunk's bytes, which are written once and never
// changed (a chunk is a strings.Builder that never grows: a full one is
// left as it is and a new one begun), so the string stays valid for as
// long as anything refers to it. A referenced string keeps its whole chunk
// alive (at most maxChunk bytes).
type arena struct {
	chunk strings.Builder // the chunk being filled
	held  int             // bytes put in this arena
}

const (
	// maxChunk is the largest chunk: the largest size class of small
	// objects. Chunks grow from the size of the first string to this, each
	// as large as what the arena held before it, so a collection of one
	// item costs one allocation, as a string of its own would.
	maxChunk = 32 << 10
	// ownString is the length from which a string gets an allocation of
	// its own instead of a place in a chunk.
	ownString = 1 << 10
)

// put returns a copy of s kept in the arena.
func (a *arena) put(s string) string {
	if s == "" {
		return ""
	}
	a.held += len(s)
	if len(s) >= ownString {
		return strings.Clone(s)
	}
	if a.chunk.Cap()-a.chunk.Len() < len(s) {
		a.chunk = strings.Builder{}
		a.chunk.Grow(min(max(a.held, len(s)), maxChunk))
	}
	at := a.chunk.Len()
	a.chunk.WriteString(s)
	return a.chunk.String()[at:]
}

// index maps the strings of a table's rows to their row numbers: open
// addressing with linear probing over slots holding row+1 (0 is an empty
// slot), at most 3/4 full, and backward-shift removal (no tombstones). It
// does not hold the strings: the caller passes keyOf, the string of a row.
type index struct {
	slots []uint32
	n     int
}

// seed is the hash seed of every index in the process.
var seed = maphash.MakeSeed()

func hashOf(s string) uint64 { return maphash.String(seed, s) }

// find returns the row whose string is key.
func (x *index) find(key string, keyOf func(row uint32) string) (uint32, bool) {
	i, ok := x.slot(key, keyOf)
	if !ok {
		return 0, false
	}
	return x.slots[i] - 1, true
}

// slot returns the slot that holds key's row.
func (x *index) slot(key string, keyOf func(row uint32) string) (uint64, bool) {
	if x.n == 0 {
		return 0, false
	}
	mask := uint64(len(x.slots) - 1)
	for i := hashOf(key) & mask; ; i = (i + 1) & mask {
		r := x.slots[i]
		if r == 0 {
			return 0, false
		}
		if keyOf(r-1) == key {
			return i, true
		}
	}
}

// add indexes row under key, which no row in the index has.
func (x *index) add(key string, row uint32, keyOf func(row uint32) string) {
	if 4*(x.n+1) > 3*len(x.slots) {
		x.resize(max(16, 2*len(x.slots)), keyOf)
	}
	x.place(hashOf(key), row)
	x.n++
}

func (x *index) place(h uint64, row uint32) {
	mask := uint64(len(x.slots) - 1)
	i := h & mask
	for x.slots[i] != 0 {
		i = (i + 1) & mask
	}
	x.slots[i] = row + 1
}

// resize moves the rows to a table of size slots (a power of two).
func (x *index) resize(size int, keyOf func(row uint32) string) {
	old := x.slots
	x.slots = make([]uint32, size)
	for _, r := range old {
		if r != 0 {
			x.place(hashOf(keyOf(r-1)), r-1)
		}
	}
}

// remove takes key out of the index and returns its row.
func (x *index) remove(key string, keyOf func(row uint32) string) (uint32, bool) {
	i, ok := x.slot(key, keyOf)
	if !ok {
		return 0, false
	}
	mask := uint64(len(x.slots) - 1)
	row := x.slots[i] - 1
	// Close the gap: move back each later row of the run that may not
	// stay behind the emptied slot (its home slot is not after the gap).
	for j := (i + 1) & mask; x.slots[j] != 0; j = (j + 1) & mask {
		home := hashOf(keyOf(x.slots[j]-1)) & mask
		if (j-home)&mask >= (j-i)&mask {
			x.slots[i] = x.slots[j]
			i = j
		}
	}
	x.slots[i] = 0
	x.n--
	return row, true
}

// reset empties the index, keeping room for n rows.
func (x *index) reset(n int) {
	size := 16
	for 4*n > 3*size {
		size *= 2
	}
	x.slots, x.n = make([]uint32, size), 0
}

// valueTable is the store.Values space: rows of key, data and expiry,
// their strings in an arena, an index from key to row, and the rows whose
// value was deleted, for reuse. Data replaced or deleted leaves its bytes
// in the arena until they are as many as the living ones; then compact
// copies the living strings to a new arena.
type valueTable struct {
	rows  []valueRow
	free  []uint32
	byKey index
	text  arena
	held  int // bytes of the living rows' strings
}

type valueRow struct {
	key string
	value
}

// garbage is the bytes put in the arena that no row refers to any more.
func (v *valueTable) garbage() int { return v.text.held - v.held }

func (v *valueTable) keyOf(row uint32) string { return v.rows[row].key }

// get returns the value of key.
func (v *valueTable) get(key string) (value, bool) {
	row, ok := v.byKey.find(key, v.keyOf)
	if !ok {
		return value{}, false
	}
	return v.rows[row].value, true
}

// set stores val under key, replacing the value it had.
func (v *valueTable) set(key string, val value) {
	if row, ok := v.byKey.find(key, v.keyOf); ok {
		r := &v.rows[row]
		v.held += len(val.data) - len(r.data)
		r.data, r.expires = v.text.put(val.data), val.expires
		v.compactIfWasteful()
		return
	}
	r := valueRow{key: v.text.put(key), value: value{data: v.text.put(val.data), expires: val.expires}}
	v.held += len(key) + len(val.data)
	var row uint32
	if n := len(v.free); n > 0 {
		row = v.free[n-1]
		v.free = v.free[:n-1]
		v.rows[row] = r
	} else {
		row = uint32(len(v.rows))
		v.rows = append(v.rows, r)
	}
	v.byKey.add(key, row, v.keyOf)
}

// remove deletes the value of key.
func (v *valueTable) remove(key string) {
	row, ok := v.byKey.remove(key, v.keyOf)
	if !ok {
		return
	}
	r := &v.rows[row]
	v.held -= len(r.key) + len(r.data)
	*r = valueRow{}
	v.free = append(v.free, row)
	if len(v.free) == len(v.rows) {
		*v = valueTable{} // empty: give back the rows and the arena
		return
	}
	v.compactIfWasteful()
}

// compactIfWasteful copies the living strings to a new arena, and drops
// the free rows, when the arena holds more garbage than living bytes (and
// more than a chunk of it), or the rows are mostly free.
func (v *valueTable) compactIfWasteful() {
	if g := v.garbage(); (g <= maxChunk || g <= v.held) && (len(v.free) <= 64 || 2*len(v.free) <= len(v.rows)) {
		return
	}
	old := *v
	*v = valueTable{rows: make([]valueRow, 0, old.byKey.n)}
	v.byKey.reset(old.byKey.n)
	for _, row := range old.byKey.slots {
		if row != 0 {
			r := old.rows[row-1]
			v.set(r.key, r.value)
		}
	}
}
