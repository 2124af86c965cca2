package jsonld

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// PublicIRI is the special collection that addresses everyone.
const PublicIRI = "https://www.w3.org/ns/activitystreams#Public"

// IsPublic reports whether an addressing value denotes the Public
// collection, in any of the three spellings seen in the wild: the full IRI,
// the compacted "as:Public" and the bare "Public".
func IsPublic(iri string) bool {
	switch iri {
	case PublicIRI, "as:Public", "Public":
		return true
	}
	return false
}

// IDs reads a property value that names one or more objects and returns
// their IRIs in order. The value may be a string, an object with an "id"
// (or "@id"), or an array mixing both; JSON null or an absent (empty) value
// gives no IDs. Array members that are neither (numbers, objects without
// an id, nested arrays) are skipped. Only a value that is not valid JSON,
// or one of another kind altogether (a number, a bool), is an error.
func IDs(raw json.RawMessage) ([]string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return nil, nil
	}
	switch raw[0] {
	case '"', '{':
		id, ok, err := oneID(raw)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, nil
		}
		return []string{id}, nil
	case '[':
		var members []json.RawMessage
		if err := json.Unmarshal(raw, &members); err != nil {
			return nil, fmt.Errorf("jsonld: %w", err)
		}
		ids := make([]string, 0, len(members))
		for _, m := range members {
			id, ok, err := oneID(bytes.TrimSpace(m))
			if err != nil {
				return nil, err
			}
			if ok {
				ids = append(ids, id)
			}
		}
		return ids, nil
	}
	return nil, fmt.Errorf("jsonld: want an IRI, an object or an array, got %.20q", raw)
}

// oneID reads the id of a single string or object value; ok is false for
// members of other kinds.
func oneID(raw json.RawMessage) (id string, ok bool, err error) {
	if len(raw) == 0 {
		return "", false, nil
	}
	switch raw[0] {
	case '"':
		if err := json.Unmarshal(raw, &id); err != nil {
			return "", false, fmt.Errorf("jsonld: %w", err)
		}
		return id, id != "", nil
	case '{':
		var obj struct {
			ID   *string `json:"id"`
			AtID *string `json:"@id"`
		}
		if err := json.Unmarshal(raw, &obj); err != nil {
			// A member of the wrong shape (e.g. "id": 5) is skipped,
			// but broken JSON is not.
			if !json.Valid(raw) {
				return "", false, fmt.Errorf("jsonld: %w", err)
			}
			return "", false, nil
		}
		switch {
		case obj.ID != nil && *obj.ID != "":
			return *obj.ID, true, nil
		case obj.AtID != nil && *obj.AtID != "":
			return *obj.AtID, true, nil
		}
	}
	return "", false, nil
}

// Addressing is the audience of a document as read from its top level.
type Addressing struct {
	To, Cc, Bto, Bcc, Audience []string
}

// ReadAddressing reads "to", "cc", "bto", "bcc" and "audience" from the
// top level of a JSON object.
func ReadAddressing(doc []byte) (Addressing, error) {
	var raw struct {
		To       json.RawMessage `json:"to"`
		Cc       json.RawMessage `json:"cc"`
		Bto      json.RawMessage `json:"bto"`
		Bcc      json.RawMessage `json:"bcc"`
		Audience json.RawMessage `json:"audience"`
	}
	if err := json.Unmarshal(doc, &raw); err != nil {
		return Addressing{}, fmt.Errorf("jsonld: %w", err)
	}
	var (
		a    Addressing
		errs []error
		read = func(dst *[]string, v json.RawMessage) {
			ids, err := IDs(v)
			errs = append(errs, err)
			*dst = ids
		}
	)
	read(&a.To, raw.To)
	read(&a.Cc, raw.Cc)
	read(&a.Bto, raw.Bto)
	read(&a.Bcc, raw.Bcc)
	read(&a.Audience, raw.Audience)
	return a, errors.Join(errs...)
}

// IsPublicDocument reports whether a JSON document is addressed to the
// Public collection in its "to" or "cc", in any spelling. Public in bto or
// bcc does not count: hidden addressing is not publication.
func IsPublicDocument(doc []byte) (bool, error) {
	a, err := ReadAddressing(doc)
	if err != nil {
		return false, err
	}
	for _, list := range [][]string{a.To, a.Cc} {
		for _, iri := range list {
			if IsPublic(iri) {
				return true, nil
			}
		}
	}
	return false, nil
}

// StripHidden returns doc without its hidden recipients: the "bto" and
// "bcc" properties of the top-level object and of an embedded "object"
// (or each object of an "object" array). Other bytes of the document are
// kept as they are when nothing needs removing; otherwise the document is
// re-encoded (the order of its top-level keys may change).
func StripHidden(doc []byte) ([]byte, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(doc, &top); err != nil {
		return nil, fmt.Errorf("jsonld: %w", err)
	}
	changed := deleteHidden(top)
	if obj, ok := top["object"]; ok {
		newObj, objChanged, err := stripEmbedded(obj)
		if err != nil {
			return nil, err
		}
		if objChanged {
			top["object"] = newObj
			changed = true
		}
	}
	if !changed {
		return doc, nil
	}
	return Marshal(top)
}

// stripEmbedded removes bto/bcc from an embedded object or array of them.
func stripEmbedded(raw json.RawMessage) (json.RawMessage, bool, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return raw, false, nil
	}
	switch raw[0] {
	case '{':
		var m map[string]json.RawMessage
		if err := json.Unmarshal(raw, &m); err != nil {
			return nil, false, fmt.Errorf("jsonld: %w", err)
		}
		if !deleteHidden(m) {
			return raw, false, nil
		}
		b, err := Marshal(m)
		return b, true, err
	case '[':
		var members []json.RawMessage
		if err := json.Unmarshal(raw, &members); err != nil {
			return nil, false, fmt.Errorf("jsonld: %w", err)
		}
		changed := false
		for i, m := range members {
			nm, c, err := stripEmbedded(m)
			if err != nil {
				return nil, false, err
			}
			if c {
				members[i], changed = nm, true
			}
		}
		if !changed {
			return raw, false, nil
		}
		b, err := Marshal(members)
		return b, true, err
	}
	return raw, false, nil
}

func deleteHidden(m map[string]json.RawMessage) bool {
	_, bto := m["bto"]
	_, bcc := m["bcc"]
	delete(m, "bto")
	delete(m, "bcc")
	return bto || bcc
}

// Marshal encodes v as compact JSON without HTML escaping, so that IRIs
// with query strings ("?page=true&cursor=...") stay readable. It has no
// trailing newline.
func Marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("jsonld: %w", err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}
