package httpsig

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// A minimal RFC 8941 (Structured Field Values) parser and serialiser,
// enough for Signature-Input, Signature and Content-Digest. It departs from
// RFC 8941 in one way, on purpose: a key repeated in a dictionary or in a
// parameter list is an error instead of "last one wins", because in a
// signature header that ambiguity can be exploited.

// sfToken is a Token bare item (distinct from a String).
type sfToken string

// sfParam is one parameter of an item or inner list.
type sfParam struct {
	Key   string
	Value any // int64, float64, string, sfToken, []byte, bool
}

// sfItem is an item: a bare value with parameters.
type sfItem struct {
	Value  any
	Params []sfParam
}

// sfInnerList is an inner list with parameters.
type sfInnerList struct {
	Items  []sfItem
	Params []sfParam
}

// sfMember is one dictionary member; exactly one of Item and Inner is set.
type sfMember struct {
	Key   string
	Item  *sfItem
	Inner *sfInnerList
}

const maxSFLength = 16 << 10

type sfParser struct {
	s string
	i int
}

func (p *sfParser) errf(format string, args ...any) error {
	return fmt.Errorf("structured field at offset %d: %s", p.i, fmt.Sprintf(format, args...))
}

func (p *sfParser) skipSP() {
	for p.i < len(p.s) && p.s[p.i] == ' ' {
		p.i++
	}
}

func (p *sfParser) skipOWS() {
	for p.i < len(p.s) && (p.s[p.i] == ' ' || p.s[p.i] == '\t') {
		p.i++
	}
}

// parseSFDictionary parses an RFC 8941 dictionary.
func parseSFDictionary(s string) ([]sfMember, error) {
	if len(s) > maxSFLength {
		return nil, errors.New("structured field too long")
	}
	p := &sfParser{s: s}
	p.skipSP()
	var out []sfMember
	if len(s) > 0 {
		out = make([]sfMember, 0, 2)
	}
	var seen keySet
	for p.i < len(p.s) {
		key, err := p.key()
		if err != nil {
			return nil, err
		}
		if seen.add(key, len(out), func(i int) string { return out[i].Key }) {
			return nil, p.errf("duplicate dictionary key %q", key)
		}
		m := sfMember{Key: key}
		if p.i < len(p.s) && p.s[p.i] == '=' {
			p.i++
			if err := p.memberValue(&m); err != nil {
				return nil, err
			}
		} else {
			params, err := p.params()
			if err != nil {
				return nil, err
			}
			m.Item = &sfItem{Value: true, Params: params}
		}
		out = append(out, m)
		if end, err := p.separator(); err != nil {
			return nil, err
		} else if end {
			return out, nil
		}
	}
	return out, nil
}

// memberValue parses a List or Dictionary member's value, an Item or an
// Inner List, into m.
func (p *sfParser) memberValue(m *sfMember) error {
	if p.i < len(p.s) && p.s[p.i] == '(' {
		in, err := p.innerList()
		m.Inner = in
		return err
	}
	it, err := p.item()
	m.Item = &it
	return err
}

// separator consumes the comma (and whitespace) after a List or
// Dictionary member, and reports whether the field ended instead.
func (p *sfParser) separator() (end bool, err error) {
	p.skipOWS()
	if p.i == len(p.s) {
		return true, nil
	}
	if p.s[p.i] != ',' {
		return false, p.errf("expected ','")
	}
	p.i++
	p.skipOWS()
	if p.i == len(p.s) {
		return false, p.errf("trailing comma")
	}
	return false, nil
}

// keySet detects duplicate dictionary keys and parameter names: by a scan
// of the keys so far while they are few (typical headers have two to
// four), by a map beyond that, so that a 16 KiB field of distinct keys
// costs linear time, not quadratic.
type keySet struct {
	m map[string]struct{}
}

// keySetScan is how many keys are scanned before keySet builds its map.
const keySetScan = 16

// add reports whether key is among the n keys so far (key(i) returns the
// i-th), and records it.
func (ks *keySet) add(key string, n int, keyAt func(int) string) bool {
	if n < keySetScan {
		for i := range n {
			if keyAt(i) == key {
				return true
			}
		}
		return false
	}
	if ks.m == nil {
		ks.m = make(map[string]struct{}, 2*n)
		for i := range n {
			ks.m[keyAt(i)] = struct{}{}
		}
	}
	if _, dup := ks.m[key]; dup {
		return true
	}
	ks.m[key] = struct{}{}
	return false
}

func (p *sfParser) key() (string, error) {
	if p.i >= len(p.s) || !(p.s[p.i] >= 'a' && p.s[p.i] <= 'z' || p.s[p.i] == '*') {
		return "", p.errf("expected key")
	}
	start := p.i
	for p.i < len(p.s) {
		c := p.s[p.i]
		if c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.' || c == '*' {
			p.i++
			continue
		}
		break
	}
	return p.s[start:p.i], nil
}

func (p *sfParser) innerList() (*sfInnerList, error) {
	p.i++ // '('
	in := &sfInnerList{}
	for {
		p.skipSP()
		if p.i >= len(p.s) {
			return nil, p.errf("unterminated inner list")
		}
		if p.s[p.i] == ')' {
			p.i++
			params, err := p.params()
			if err != nil {
				return nil, err
			}
			in.Params = params
			return in, nil
		}
		it, err := p.item()
		if err != nil {
			return nil, err
		}
		if in.Items == nil {
			in.Items = make([]sfItem, 0, 8) // one allocation for a typical list
		}
		in.Items = append(in.Items, it)
		if p.i >= len(p.s) || (p.s[p.i] != ' ' && p.s[p.i] != ')') {
			return nil, p.errf("expected ' ' or ')' in inner list")
		}
	}
}

func (p *sfParser) item() (sfItem, error) {
	v, err := p.bare()
	if err != nil {
		return sfItem{}, err
	}
	params, err := p.params()
	if err != nil {
		return sfItem{}, err
	}
	return sfItem{Value: v, Params: params}, nil
}

func (p *sfParser) params() ([]sfParam, error) {
	var out []sfParam
	var seen keySet
	for p.i < len(p.s) && p.s[p.i] == ';' {
		p.i++
		p.skipSP()
		key, err := p.key()
		if err != nil {
			return nil, err
		}
		if seen.add(key, len(out), func(i int) string { return out[i].Key }) {
			return nil, p.errf("duplicate parameter %q", key)
		}
		var v any = true
		if p.i < len(p.s) && p.s[p.i] == '=' {
			p.i++
			if v, err = p.bare(); err != nil {
				return nil, err
			}
		}
		if out == nil {
			out = make([]sfParam, 0, 4) // created, expires, keyid, alg
		}
		out = append(out, sfParam{Key: key, Value: v})
	}
	return out, nil
}

func (p *sfParser) bare() (any, error) {
	if p.i >= len(p.s) {
		return nil, p.errf("expected a value")
	}
	switch c := p.s[p.i]; {
	case c == '-' || c >= '0' && c <= '9':
		return p.number()
	case c == '"':
		return p.str()
	case c == ':':
		return p.bytes()
	case c == '?':
		if p.i+1 < len(p.s) && (p.s[p.i+1] == '0' || p.s[p.i+1] == '1') {
			p.i += 2
			return p.s[p.i-1] == '1', nil
		}
		return nil, p.errf("bad boolean")
	case c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '*':
		start := p.i
		for p.i < len(p.s) && (isTokenChar(p.s[p.i]) || p.s[p.i] == ':' || p.s[p.i] == '/') {
			p.i++
		}
		return sfToken(p.s[start:p.i]), nil
	}
	return nil, p.errf("unexpected %q", p.s[p.i])
}

func (p *sfParser) number() (any, error) {
	start := p.i
	if p.s[p.i] == '-' {
		p.i++
	}
	digits, dot := 0, -1
	for p.i < len(p.s) {
		c := p.s[p.i]
		if c >= '0' && c <= '9' {
			digits++
		} else if c == '.' && dot < 0 {
			dot = digits
		} else {
			break
		}
		p.i++
	}
	num := p.s[start:p.i]
	if digits == 0 {
		return nil, p.errf("bad number")
	}
	if dot < 0 {
		if digits > 15 {
			return nil, p.errf("integer too long")
		}
		n, err := strconv.ParseInt(num, 10, 64)
		if err != nil {
			return nil, p.errf("bad integer")
		}
		return n, nil
	}
	if dot == 0 || dot > 12 || digits-dot == 0 || digits-dot > 3 {
		return nil, p.errf("bad decimal")
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil {
		return nil, p.errf("bad decimal")
	}
	return f, nil
}

func (p *sfParser) str() (any, error) {
	p.i++ // '"'
	// Fast path: a string without escapes is a substring of the input.
	for j := p.i; j < len(p.s); j++ {
		c := p.s[j]
		if c == '"' {
			v := p.s[p.i:j]
			p.i = j + 1
			return v, nil
		}
		if c == '\\' || c < 0x20 || c > 0x7e {
			break
		}
	}
	var b strings.Builder
	for p.i < len(p.s) {
		c := p.s[p.i]
		p.i++
		switch {
		case c == '\\':
			if p.i >= len(p.s) || (p.s[p.i] != '"' && p.s[p.i] != '\\') {
				return nil, p.errf("bad escape in string")
			}
			b.WriteByte(p.s[p.i])
			p.i++
		case c == '"':
			return b.String(), nil
		case c < 0x20 || c > 0x7e:
			return nil, p.errf("bad character in string")
		default:
			b.WriteByte(c)
		}
	}
	return nil, p.errf("unterminated string")
}

func (p *sfParser) bytes() (any, error) {
	p.i++ // ':'
	n := strings.IndexByte(p.s[p.i:], ':')
	if n < 0 {
		return nil, p.errf("unterminated byte sequence")
	}
	enc := p.s[p.i : p.i+n]
	// The base64 decoder rejects every byte but the alphabet and '=', save
	// CR and LF, which it skips; RFC 8941 allows neither.
	if strings.ContainsAny(enc, "\r\n") {
		return nil, p.errf("bad character in byte sequence")
	}
	p.i += n + 1
	b, err := base64.StdEncoding.DecodeString(enc)
	if err != nil {
		if b, err = base64.RawStdEncoding.DecodeString(strings.TrimRight(enc, "=")); err != nil {
			return nil, p.errf("bad base64 in byte sequence")
		}
	}
	return b, nil
}

// Serialisation (RFC 8941 section 4.1).

func appendSFBare(buf []byte, v any) ([]byte, error) {
	switch v := v.(type) {
	case int64:
		return strconv.AppendInt(buf, v, 10), nil
	case float64:
		s := strconv.FormatFloat(v, 'f', 3, 64)
		s = strings.TrimRight(s, "0")
		if strings.HasSuffix(s, ".") {
			s += "0"
		}
		return append(buf, s...), nil
	case string:
		buf = append(buf, '"')
		for i := 0; i < len(v); i++ {
			c := v[i]
			if c < 0x20 || c > 0x7e {
				return nil, errors.New("string not serialisable")
			}
			if c == '"' || c == '\\' {
				buf = append(buf, '\\')
			}
			buf = append(buf, c)
		}
		return append(buf, '"'), nil
	case sfToken:
		return append(buf, v...), nil
	case []byte:
		return appendSFByteSequence(buf, v), nil
	case bool:
		if v {
			return append(buf, "?1"...), nil
		}
		return append(buf, "?0"...), nil
	}
	return nil, fmt.Errorf("cannot serialise %T", v)
}

// appendSFByteSequence appends b as a Byte Sequence (":base64:"). Callers
// with a []byte in hand use it rather than appendSFBare, whose interface
// argument would make b escape to the heap.
func appendSFByteSequence(buf, b []byte) []byte {
	buf = append(buf, ':')
	buf = base64.StdEncoding.AppendEncode(buf, b)
	return append(buf, ':')
}

func appendSFParams(buf []byte, ps []sfParam) ([]byte, error) {
	var err error
	for _, p := range ps {
		buf = append(buf, ';')
		buf = append(buf, p.Key...)
		if b, ok := p.Value.(bool); ok && b {
			continue
		}
		buf = append(buf, '=')
		if buf, err = appendSFBare(buf, p.Value); err != nil {
			return nil, err
		}
	}
	return buf, nil
}

func appendSFItem(buf []byte, it sfItem) ([]byte, error) {
	buf, err := appendSFBare(buf, it.Value)
	if err != nil {
		return nil, err
	}
	return appendSFParams(buf, it.Params)
}

func appendSFInnerList(buf []byte, in *sfInnerList) ([]byte, error) {
	buf = append(buf, '(')
	var err error
	for i, it := range in.Items {
		if i > 0 {
			buf = append(buf, ' ')
		}
		if buf, err = appendSFItem(buf, it); err != nil {
			return nil, err
		}
	}
	buf = append(buf, ')')
	return appendSFParams(buf, in.Params)
}

// parseSFList parses an RFC 8941 List; the members have no Key.
func parseSFList(s string) ([]sfMember, error) {
	if len(s) > maxSFLength {
		return nil, errors.New("structured field too long")
	}
	p := &sfParser{s: s}
	p.skipSP()
	var out []sfMember
	for p.i < len(p.s) {
		var m sfMember
		if err := p.memberValue(&m); err != nil {
			return nil, err
		}
		out = append(out, m)
		if end, err := p.separator(); err != nil {
			return nil, err
		} else if end {
			return out, nil
		}
	}
	return out, nil
}

// parseSFItem parses an RFC 8941 Item.
func parseSFItem(s string) (sfItem, error) {
	if len(s) > maxSFLength {
		return sfItem{}, errors.New("structured field too long")
	}
	p := &sfParser{s: s}
	p.skipSP()
	it, err := p.item()
	if err != nil {
		return sfItem{}, err
	}
	p.skipSP()
	if p.i != len(p.s) {
		return sfItem{}, p.errf("trailing characters after item")
	}
	return it, nil
}

// appendSFMemberValue appends a dictionary or list member's value: an item
// or an inner list, with its parameters.
func appendSFMemberValue(buf []byte, m sfMember) ([]byte, error) {
	if m.Inner != nil {
		return appendSFInnerList(buf, m.Inner)
	}
	return appendSFItem(buf, *m.Item)
}

// appendSFDictionary appends a dictionary in its RFC 8941 serialisation
// (section 4.1.2): a member whose value is true is written as its key and
// parameters alone.
func appendSFDictionary(buf []byte, ms []sfMember) ([]byte, error) {
	var err error
	for i, m := range ms {
		if i > 0 {
			buf = append(buf, ", "...)
		}
		buf = append(buf, m.Key...)
		if m.Item != nil && m.Item.Value == true {
			buf, err = appendSFParams(buf, m.Item.Params)
		} else {
			buf = append(buf, '=')
			buf, err = appendSFMemberValue(buf, m)
		}
		if err != nil {
			return nil, err
		}
	}
	return buf, nil
}

// appendSFList appends a list in its RFC 8941 serialisation (section
// 4.1.1).
func appendSFList(buf []byte, ms []sfMember) ([]byte, error) {
	var err error
	for i, m := range ms {
		if i > 0 {
			buf = append(buf, ", "...)
		}
		if buf, err = appendSFMemberValue(buf, m); err != nil {
			return nil, err
		}
	}
	return buf, nil
}
