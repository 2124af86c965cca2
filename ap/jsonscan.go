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
	for i++; i < len(b); i++ {
		switch b[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return -1
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
