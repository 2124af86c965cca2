package deref

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/url"

	"github.com/slothpub/slothpub/internal/origin"
)

// fields is a JSON object decoded one level deep. Keys are matched exactly
// (encoding/json's struct decoding folds case, which would let "ID" stand in
// for "id").
type fields map[string]json.RawMessage

// parseFields decodes a document that must be a JSON object.
func parseFields(data []byte) (fields, error) {
	data = bytes.TrimSpace(data)
	if len(data) == 0 || data[0] != '{' {
		return nil, errors.New("document is not a JSON object")
	}
	var f fields
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, err
	}
	return f, nil
}

// str returns the value of key when it is a JSON string, else "".
func (f fields) str(key string) string {
	return rawString(f[key])
}

// iri returns the value of key read as an IRI: a string, the "id" (or
// "href") of an embedded object, or the first such value of an array.
func (f fields) iri(key string) string {
	return rawIRI(f[key], true)
}

// strs returns the value of key as a list of strings: a single string or the
// strings of an array (other members are skipped).
func (f fields) strs(key string) []string {
	raw := bytes.TrimSpace(f[key])
	if len(raw) == 0 {
		return nil
	}
	switch raw[0] {
	case '"':
		if s := rawString(raw); s != "" {
			return []string{s}
		}
	case '[':
		var arr []json.RawMessage
		if json.Unmarshal(raw, &arr) != nil {
			return nil
		}
		var out []string
		for _, a := range arr {
			if s := rawString(a); s != "" {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// each returns the members of key's value: the value itself when it is not
// an array, else the array's members.
func (f fields) each(key string) []json.RawMessage {
	raw := bytes.TrimSpace(f[key])
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	if raw[0] != '[' {
		return []json.RawMessage{raw}
	}
	var arr []json.RawMessage
	if json.Unmarshal(raw, &arr) != nil {
		return nil
	}
	return arr
}

func rawString(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '"' {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return ""
	}
	return s
}

// rawIRI reads raw as an IRI; arrays are searched one level deep only.
func rawIRI(raw json.RawMessage, arrays bool) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return ""
	}
	switch raw[0] {
	case '"':
		return rawString(raw)
	case '{':
		var o fields
		if json.Unmarshal(raw, &o) != nil {
			return ""
		}
		if id := o.str("id"); id != "" {
			return id
		}
		return o.str("href")
	case '[':
		if !arrays {
			return ""
		}
		var arr []json.RawMessage
		if json.Unmarshal(raw, &arr) != nil {
			return ""
		}
		for _, a := range arr {
			if s := rawIRI(a, false); s != "" {
				return s
			}
		}
	}
	return ""
}

// parseIRI parses s as an absolute http or https IRI without user info.
func parseIRI(s string) (*url.URL, error) {
	if s == "" {
		return nil, errors.New("empty IRI")
	}
	u, err := url.Parse(s)
	if err != nil {
		return nil, err
	}
	if u.Scheme != "https" && u.Scheme != "http" {
		return nil, errors.New("IRI scheme is not http or https")
	}
	if u.Host == "" || u.Hostname() == "" || u.Opaque != "" {
		return nil, errors.New("IRI has no host")
	}
	if u.User != nil {
		return nil, errors.New("IRI carries user info")
	}
	return u, nil
}

// withoutFragment returns a copy of u without its fragment: the document an
// IRI such as https://example.com/users/alice#main-key lives in.
func withoutFragment(u *url.URL) *url.URL {
	c := *u
	c.Fragment, c.RawFragment = "", ""
	return &c
}

// originOf returns the scheme://host[:port] of u, normalised.
func originOf(u *url.URL) string {
	return u.Scheme + "://" + origin.Host(u.Scheme, u.Host)
}

// sameOrigin reports whether a and b share scheme, host and port.
func sameOrigin(a, b *url.URL) bool { return originOf(a) == originOf(b) }
