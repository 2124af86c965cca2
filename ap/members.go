package ap

// member is one member of a Doc read from bytes: its name, where its value
// is in the bytes, and once read (Doc.get) its value, decoded and
// normalised.
type member struct {
	key  string
	raw  []byte
	val  any
	read bool
}

// members are a document's members in the order they came, with one entry
// a name: a name given twice keeps its place and takes the last value, as
// encoding/json reads it. A fediverse document has about twenty members:
// they are found by a walk of the slice, cheaper than a map's hashing and
// growth on every delivery; a document with more than indexFrom also gets
// an index, so that one made of many members costs no walk of them all on
// each read.
type members struct {
	list  []member
	index map[string]int // by key, once there are more than indexFrom
}

// indexFrom is how many members a document has before members indexes
// them.
const indexFrom = 32

// find returns the member named k, or nil. The pointer stays valid until
// the next add or remove.
func (ms *members) find(k string) *member {
	if ms.index != nil {
		if i, ok := ms.index[k]; ok {
			return &ms.list[i]
		}
		return nil
	}
	for i := range ms.list {
		if ms.list[i].key == k {
			return &ms.list[i]
		}
	}
	return nil
}

// add records member k with the value raw, replacing the value of an
// earlier member of that name.
func (ms *members) add(k string, raw []byte) {
	if m := ms.find(k); m != nil {
		*m = member{key: k, raw: raw}
		return
	}
	ms.list = append(ms.list, member{key: k, raw: raw})
	switch n := len(ms.list); {
	case ms.index != nil:
		ms.index[k] = n - 1
	case n > indexFrom:
		ms.index = make(map[string]int, 2*n)
		for i, m := range ms.list {
			ms.index[m.key] = i
		}
	}
}

// scratchSize is how many members the decoders gather on the stack
// (appendToken) before the list moves to the heap; a Mastodon Note has
// about twenty. membersOf then makes the Doc's members from them, in a
// list of their number: a document costs one allocation of its members,
// not one sized by a guess.
const scratchSize = 24

// appendToken appends to list the member with the JSON string token key
// and the value raw, as the scan found it (a repeated name included).
func appendToken(list []member, key, raw []byte) []member {
	if k, ok := commonKeys[string(key)]; ok {
		return append(list, member{key: k, raw: raw}) // no new string for the usual names
	}
	if k, ok := stringValue(key); ok {
		return append(list, member{key: k, raw: raw})
	}
	return list
}

// membersOf returns the members of the list appendToken gathered, a name
// given twice keeping its first place and its last value.
func membersOf(found []member) members {
	ms := members{list: make([]member, 0, len(found))}
	for _, m := range found {
		ms.add(m.key, m.raw)
	}
	return ms
}

// remove drops member k, if there is one.
func (ms *members) remove(k string) {
	for i := range ms.list {
		if ms.list[i].key == k {
			ms.list = append(ms.list[:i], ms.list[i+1:]...)
			if ms.index != nil {
				delete(ms.index, k)
				for j := i; j < len(ms.list); j++ {
					ms.index[ms.list[j].key] = j
				}
			}
			return
		}
	}
}
