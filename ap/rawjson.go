package ap

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/url"
)

// The vocabulary's round trip is not lossless: text that looks like an IRI
// ("CW: spoilers", "RE: https://...") comes back with its "scheme" in lower
// case, and properties it does not know are dropped. What the SDK stores
// of a received document is therefore cut from the bytes received, never
// re-serialised from the parsed value. These helpers work on the JSON.

// errNoObject is returned when a document has no top-level "object" to
// work on (expanded JSON-LD, say); callers fall back to the parsed value.
var errNoObject = errors.New("ap: no top-level object property")

// sameIRI reports whether the IRI s (as written in a document) names u.
func sameIRI(s string, u string) bool {
	if s == u {
		return true
	}
	p, err := url.Parse(s)
	return err == nil && p.String() == u
}

// embeddedMembers returns the members of the top-level "object" of doc
// (one, or those of an array) and whether it was an array.
func embeddedMembers(doc map[string]json.RawMessage) ([]json.RawMessage, bool, error) {
	raw, ok := doc["object"]
	if !ok {
		return nil, false, errNoObject
	}
	raw = bytes.TrimSpace(raw)
	if len(raw) > 0 && raw[0] == '[' {
		var arr []json.RawMessage
		if err := json.Unmarshal(raw, &arr); err != nil {
			return nil, false, err
		}
		return arr, true, nil
	}
	return []json.RawMessage{raw}, false, nil
}

// memberID returns the id of an embedded object member, "" for an IRI or
// an object without one.
func memberID(m json.RawMessage) (string, map[string]json.RawMessage) {
	m = bytes.TrimSpace(m)
	if len(m) == 0 || m[0] != '{' {
		return "", nil
	}
	var obj map[string]json.RawMessage
	if json.Unmarshal(m, &obj) != nil {
		return "", nil
	}
	var id string
	if json.Unmarshal(obj["id"], &id) != nil {
		return "", obj
	}
	return id, obj
}

// EmbeddedJSON returns the object with the given id embedded in the
// activity document raw (its "object", or a member of it) exactly as
// received, with the activity's @context added when the object has none of
// its own. It reports false when raw embeds no such object.
func EmbeddedJSON(raw []byte, id string) ([]byte, bool) {
	// One pass over the bytes (see jsonscan.go); a member given twice
	// counts as its last occurrence, as encoding/json decodes it.
	var context, object []byte
	if !eachMember(raw, func(key, value []byte) {
		switch {
		case keyIs(key, "@context"):
			context = value
		case keyIs(key, "object"):
			object = value
		}
	}) || object == nil {
		return nil, false
	}
	var found []byte
	var own bool // the object has its own @context
	check := func(m []byte) {
		if found != nil || len(m) == 0 || m[0] != '{' {
			return
		}
		var mid string
		var hasID, hasContext bool
		if !eachMember(m, func(key, value []byte) {
			switch {
			case keyIs(key, "id"):
				mid, hasID = stringValue(value)
			case keyIs(key, "@context"):
				hasContext = true
			}
		}) || !hasID || mid == "" || !sameIRI(mid, id) {
			return
		}
		found, own = m, hasContext
	}
	if object[0] == '[' {
		if !eachElement(object, check) {
			return nil, false
		}
	} else {
		check(object)
	}
	if found == nil {
		return nil, false
	}
	out := prependContext(found, context, own)
	if !json.Valid(out) {
		return nil, false
	}
	return out, true
}

// EmbeddedJSON returns o, an object embedded in d (one of its
// ObjectRefs or EmbeddedObjects), as EmbeddedJSON(raw, id) cuts it out of
// the bytes d was decoded from: exactly as received, with d's @context
// added when o has none of its own. It needs no new pass over the
// document: o is already a span of it. It reports false when o was not
// read from d's bytes (a Doc made from a decoded value, or one whose
// members ReferObjects replaced).
func (d *Doc) EmbeddedJSON(o *Doc) ([]byte, bool) {
	if d.raw == nil || o == nil || o.raw == nil || len(o.over) > 0 || len(o.raw) == 0 || o.raw[0] != '{' {
		return nil, false
	}
	var context []byte
	if c := d.members.find("@context"); c != nil {
		context = c.raw
	}
	return prependContext(o.raw, context, o.has("@context")), true
}

// prependContext returns a copy of the JSON object obj, with context (an
// activity's @context value) as its first member when obj has no
// @context of its own (own) and context is not absent or null; then
// obj's members as they are.
func prependContext(obj, context []byte, own bool) []byte {
	if own || context == nil || string(context) == "null" {
		return bytes.Clone(obj)
	}
	rest := obj[skipSpace(obj, 1):]
	out := make([]byte, 0, len(obj)+len(context)+14)
	out = append(out, `{"@context":`...)
	out = append(out, context...)
	if rest[0] != '}' {
		out = append(out, ',')
	}
	return append(out, rest...)
}

// ReferJSON returns the activity document raw with each object embedded in
// its "object" whose id is among ids replaced by that id, as a bare IRI;
// everything else keeps the bytes it was received with.
func ReferJSON(raw []byte, ids []*url.URL) ([]byte, error) {
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, err
	}
	members, array, err := embeddedMembers(doc)
	if err != nil {
		return nil, err
	}
	for i, m := range members {
		mid, _ := memberID(m)
		if mid == "" {
			continue
		}
		for _, u := range ids {
			if sameIRI(mid, u.String()) {
				s, err := json.Marshal(mid)
				if err != nil {
					return nil, err
				}
				members[i] = s
				break
			}
		}
	}
	if array {
		if doc["object"], err = marshalRaw(members); err != nil {
			return nil, err
		}
	} else {
		doc["object"] = members[0]
	}
	return marshalRaw(doc)
}

// marshalRaw encodes v without escaping HTML, so that the strings of the
// members it carries keep their bytes.
func marshalRaw(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}
