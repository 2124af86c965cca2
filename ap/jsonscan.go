package ap

import (
	"bytes"
	"encoding/json"
	"unicode/utf8"
)

// A small scanner over JSON text that finds the byte spans of members
// without decoding them: EmbeddedJSON uses it to cut an embedded object
// out of the body received, in one pass over the bytes instead of the
// three decodings encoding/json would need. It does not validate what it
// skips; callers check the bytes they return with json.Valid.

// skipSpace returns the index of the first byte at or after i that is not
// JSON whitespace.
func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// skipString returns the index just after the string starting at b[i]
// (a '"'), or -1 when it does not end.
func skipString(b []byte, i int) int {
	start := i + 1
	for i = start; ; {
		q := bytes.IndexByte(b[i:], '"')
		if q < 0 {
			return -1
		}
		q += i
		// The quote ends the string unless an odd run of backslashes
		// escapes it.
		n := 0
		for p := q - 1; p >= start && b[p] == '\\'; p-- {
			n++
		}
		if n%2 == 0 {
			return q + 1
		}
		i = q + 1
	}
}

// skipValue returns the index just after the value starting at b[i], or
// -1 when it does not end.
func skipValue(b []byte, i int) int {
	if i >= len(b) {
		return -1
	}
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for ; i < len(b); i++ {
			switch b[i] {
			case '"':
				if i = skipString(b, i); i < 0 {
					return -1
				}
				i--
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return i + 1
				}
			}
		}
		return -1
	}
	// A number, true, false or null: up to the next delimiter, and not
	// empty.
	start := i
	for ; i < len(b); i++ {
		switch b[i] {
		case ',', '}', ']', ':', '{', '[', '"', ' ', '\t', '\n', '\r':
			if i == start {
				return -1
			}
			return i
		}
	}
	return i
}

// eachEntry scans the object or array b (open and close its brackets):
// entry reads the entry that starts at b[i] and returns the index just
// after it, or -1. It reports false when b is not such a container it can
// scan.
func eachEntry(b []byte, open, close byte, entry func(i int) int) bool {
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != open {
		return false
	}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == close {
		return true
	}
	for i < len(b) {
		end := entry(i)
		if end < 0 {
			return false
		}
		i = skipSpace(b, end)
		if i >= len(b) {
			return false
		}
		switch b[i] {
		case close:
			return true
		case ',':
			i = skipSpace(b, i+1)
		default:
			return false
		}
	}
	return false
}

// eachMember calls fn with the key (as a JSON string token, quotes
// included) and the value of each member of the object b, in order. It
// reports false when b is not an object it can scan.
func eachMember(b []byte, fn func(key, value []byte)) bool {
	return eachEntry(b, '{', '}', func(i int) int {
		if b[i] != '"' {
			return -1
		}
		k := skipString(b, i)
		if k < 0 {
			return -1
		}
		key := b[i:k]
		i = skipSpace(b, k)
		if i >= len(b) || b[i] != ':' {
			return -1
		}
		i = skipSpace(b, i+1)
		end := skipValue(b, i)
		if end >= 0 {
			fn(key, b[i:end])
		}
		return end
	})
}

// eachElement calls fn with each element of the array b. It reports false
// when b is not an array it can scan.
func eachElement(b []byte, fn func(value []byte)) bool {
	return eachEntry(b, '[', ']', func(i int) int {
		end := skipValue(b, i)
		if end >= 0 {
			fn(b[i:end])
		}
		return end
	})
}

// keyIs reports whether the JSON string token key is name, escapes
// decoded.
func keyIs(key []byte, name string) bool {
	if len(key) == len(name)+2 && string(key[1:len(key)-1]) == name {
		return true
	}
	if bytes.IndexByte(key, '\\') < 0 && utf8.Valid(key) {
		return false // the bytes are the name: they differ
	}
	s, ok := stringValue(key)
	return ok && s == name
}

// stringValue decodes the JSON string token v; ok is false when v is not
// a string.
func stringValue(v []byte) (s string, ok bool) {
	if len(v) < 2 || v[0] != '"' {
		return "", false
	}
	if inner := v[1 : len(v)-1]; bytes.IndexByte(inner, '\\') < 0 && utf8.Valid(inner) {
		return string(inner), true
	}
	// Escapes, or bytes that are not UTF-8, which encoding/json decodes
	// as U+FFFD: decoded as it does.
	return s, json.Unmarshal(v, &s) == nil
}

// A document's scan: scanDocument checks in one pass over the bytes what
// Decode needs checked of a document (that it is a JSON object, valid as
// encoding/json.Valid has it, whose containers nest at most maxDepth deep)
// and finds where each of its top-level members is.

// scanResult is what scanDocument found wrong with a document, if anything.
type scanResult int

const (
	scanOK        scanResult = iota
	scanEmpty                // nothing but whitespace
	scanNotObject            // a value other than an object at the top level
	scanTooDeep              // containers nested beyond the limit
	scanMalformed            // not JSON
)

// strSafe marks the bytes a JSON string holds as they are: all but the
// quote, the backslash and the control characters (encoding/json accepts
// bytes that are not UTF-8, as this does).
var strSafe = func() (t [256]bool) {
	for c := 0x20; c < 256; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// scanString returns the index just after the string starting at b[i] (a
// '"'), checked, or -1 when it is not a valid JSON string.
func scanString(b []byte, i int) int {
	for i++; i < len(b); i++ {
		c := b[i]
		if strSafe[c] {
			continue
		}
		switch c {
		case '"':
			return i + 1
		case '\\':
			if i++; i >= len(b) {
				return -1
			}
			switch b[i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if i+4 >= len(b) {
					return -1
				}
				for _, h := range b[i+1 : i+5] {
					if !('0' <= h && h <= '9' || 'a' <= h && h <= 'f' || 'A' <= h && h <= 'F') {
						return -1
					}
				}
				i += 4
			default:
				return -1
			}
		default: // a control character
			return -1
		}
	}
	return -1
}

// scanNumber returns the index just after the number starting at b[i], or
// -1 when there is none there: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func scanNumber(b []byte, i int) int {
	digits := func(i int) int { // one or more
		start := i
		for i < len(b) && '0' <= b[i] && b[i] <= '9' {
			i++
		}
		if i == start {
			return -1
		}
		return i
	}
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i >= len(b):
		return -1
	case b[i] == '0':
		i++
	default:
		if i = digits(i); i < 0 {
			return -1
		}
	}
	if i < len(b) && b[i] == '.' {
		if i = digits(i + 1); i < 0 {
			return -1
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i = digits(i); i < 0 {
			return -1
		}
	}
	return i
}

// scanDocument checks data as Decode requires it (see scanResult) and
// calls member with the key (a JSON string token, quotes included) and the
// value of each top-level member, in order, if it is not nil. It allocates
// nothing and does not recurse, whatever the input; member may have been
// called for a document it then finds wrong.
func scanDocument(data []byte, maxDepth int, member func(key, value []byte)) scanResult {
	i := skipSpace(data, 0)
	if i == len(data) {
		return scanEmpty
	}
	if data[i] != '{' {
		return scanNotObject
	}
	// Whether each open container is an object: a bit per level.
	var kinds [4]uint64
	bits := kinds[:]
	if maxDepth > 64*len(kinds) {
		bits = make([]uint64, (maxDepth+63)/64)
	}
	setObject := func(depth int, obj bool) {
		w, m := (depth-1)/64, uint64(1)<<((depth-1)%64)
		if obj {
			bits[w] |= m
		} else {
			bits[w] &^= m
		}
	}
	isObject := func(depth int) bool { return bits[(depth-1)/64]&(uint64(1)<<((depth-1)%64)) != 0 }
	depth := 0
	var key []byte // of the top-level member being read
	valStart := 0
	// objectKey reads, at b[i], a member's key and its colon, and returns
	// the index of its value, or -1.
	objectKey := func(i int) int {
		if i >= len(data) || data[i] != '"' {
			return -1
		}
		end := scanString(data, i)
		if end < 0 {
			return -1
		}
		if depth == 1 {
			key = data[i:end]
		}
		i = skipSpace(data, end)
		if i >= len(data) || data[i] != ':' {
			return -1
		}
		i = skipSpace(data, i+1)
		if depth == 1 {
			valStart = i
		}
		return i
	}
	for {
		// A value starts at data[i] (whitespace skipped).
		if i >= len(data) {
			return scanMalformed
		}
		switch c := data[i]; c {
		case '{', '[':
			if depth++; depth > maxDepth {
				return scanTooDeep
			}
			setObject(depth, c == '{')
			i = skipSpace(data, i+1)
			if i < len(data) && (c == '{' && data[i] == '}' || c == '[' && data[i] == ']') {
				i++
				depth--
				break // an empty container: a value read
			}
			if c == '{' {
				if i = objectKey(i); i < 0 {
					return scanMalformed
				}
			}
			continue
		case '"':
			i = scanString(data, i)
		case 't':
			i = literal(data, i, "true")
		case 'f':
			i = literal(data, i, "false")
		case 'n':
			i = literal(data, i, "null")
		default:
			i = scanNumber(data, i)
		}
		if i < 0 {
			return scanMalformed
		}
		// A value ends at data[i]: what follows it in its containers.
		for {
			if depth == 0 {
				if skipSpace(data, i) != len(data) {
					return scanMalformed
				}
				return scanOK
			}
			if depth == 1 && member != nil {
				member(key, data[valStart:i])
			}
			i = skipSpace(data, i)
			if i >= len(data) {
				return scanMalformed
			}
			obj := isObject(depth)
			if data[i] == ',' {
				i = skipSpace(data, i+1)
				if obj {
					if i = objectKey(i); i < 0 {
						return scanMalformed
					}
				}
				break // the next value
			}
			if obj && data[i] != '}' || !obj && data[i] != ']' {
				return scanMalformed
			}
			i++
			depth--
		}
	}
}

// literal returns the index just after the literal word at b[i], or -1
// when it is not there.
func literal(b []byte, i int, word string) int {
	if len(b)-i < len(word) || string(b[i:i+len(word)]) != word {
		return -1
	}
	return i + len(word)
}
