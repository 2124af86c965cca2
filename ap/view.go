package ap

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"code.superseriousbusiness.org/activity/streams"
	"code.superseriousbusiness.org/activity/streams/vocab"
)

// Doc is the fast view of an ActivityStreams document, read directly
// without the generated vocabulary types, with the normalisation Parse
// applies (see ParseMap). Decode checks the whole document and finds where
// each of its properties is in the bytes; a property is decoded the first
// time it is read, and an embedded object (the Note of a Create) is itself
// a Doc read the same way. What fediverse software handles on every
// delivery (ids, types, actors, objects, addressing, authorship) thus
// costs a scan of the bytes and the decoding of a few short values, not
// the decoding of the whole document, and the generated value is built
// only when a caller asks for it (Vocab).
//
// Doc reads the document as it was sent: text that looks like an IRI
// ("CW: spoilers") keeps its case, contentMap is kept beside content, and
// properties the vocabulary has no term for are there as JSON values
// (Get).
//
// A Doc is safe for concurrent reads. Its methods that change it
// (ReferObjects) must not run concurrently with anything else.
type Doc struct {
	// m is the decoded, normalised document of a Doc made from a decoded
	// value (a tag, say); nil for one read from bytes.
	m map[string]any

	// Of a Doc read from bytes: the bytes, its members (where each is in
	// them and, once read, its value; see member), and those ReferObjects
	// replaced.
	raw     []byte
	members members
	top     bool // a whole document, not an embedded object
	mu      sync.Mutex
	over    map[string]bool
	// The IRIs read so far, parsed (see parse).
	parsed map[string]parsedIRI

	once sync.Once
	v    vocab.Type
	verr error
}

// Decode decodes data into a Doc, with Parse's limits and normalisation:
// the same documents are refused, with the same statuses (413, 400), except
// that a type the vocabulary does not know is accepted here (Vocab then
// reports it, with 422).
func Decode(data []byte) (*Doc, error) {
	if len(data) > MaxDocumentBytes {
		return nil, Errorf(http.StatusRequestEntityTooLarge, "document too large",
			fmt.Errorf("%d bytes exceeds the %d byte limit", len(data), MaxDocumentBytes))
	}
	d := &Doc{raw: data, top: true}
	var buf [scratchSize]member // most documents' members, on the stack
	found := buf[:0]
	res := scanDocument(data, MaxDepth, func(key, value []byte) { found = appendToken(found, key, value) })
	d.members = membersOf(found)
	switch res {
	case scanEmpty:
		return nil, Errorf(http.StatusBadRequest, "empty document", nil)
	case scanNotObject:
		return nil, Errorf(http.StatusBadRequest, "document is not a JSON object", nil)
	case scanTooDeep:
		return nil, Errorf(http.StatusBadRequest, "document nested too deeply",
			fmt.Errorf("nesting exceeds %d", MaxDepth))
	case scanMalformed:
		// Decoded for the error's sake only.
		var v any
		err := json.Unmarshal(data, &v)
		if err == nil {
			err = errors.New("data after the top-level value")
		}
		return nil, Errorf(http.StatusBadRequest, "malformed JSON", err)
	}
	// What normalize checks of the top level, from the members alone.
	if err := checkType(d.get("type")); err != nil {
		return nil, err
	}
	if d.has("id") {
		id := d.get("id")
		if err := checkID(id); err != nil {
			return nil, err
		}
		if id == nil {
			d.members.remove("id")
		}
	}
	return d, nil
}

// lazyDoc is the Doc of the JSON object data (valid JSON), its members
// found but not decoded; nil when data is not an object.
func lazyDoc(data []byte) *Doc {
	var buf [scratchSize]member
	found := buf[:0]
	if !eachMember(data, func(key, value []byte) { found = appendToken(found, key, value) }) {
		return nil
	}
	return &Doc{raw: data, members: membersOf(found)}
}

// commonKeys maps the JSON tokens of the property names fediverse
// documents use most to the names.
var commonKeys = func() map[string]string {
	m := map[string]string{}
	for _, k := range [...]string{"@context", "id", "type", "actor", "object", "target", "origin", "result",
		"instrument", "to", "cc", "bto", "bcc", "audience", "attributedTo", "inReplyTo", "published", "updated",
		"url", "content", "contentMap", "summary", "summaryMap", "name", "nameMap", "sensitive", "atomUri",
		"inReplyToAtomUri", "conversation", "context", "attachment", "tag", "replies", "likes", "shares",
		"signature", "icon", "image", "mediaType", "endTime", "oneOf", "anyOf", "closed", "votersCount",
		"quoteUrl", "quote", "_misskey_quote", "_misskey_content", "source", "interactionPolicy",
		"preferredUsername", "inbox", "outbox", "followers", "following", "featured", "featuredTags",
		"endpoints", "publicKey", "assertionMethod", "manuallyApprovesFollowers", "discoverable",
		"indexable", "alsoKnownAs", "movedTo", "memorial", "devices", "href", "width", "height", "blurhash",
		"focalPoint", "startTime", "duration", "first", "next", "totalItems", "items", "orderedItems",
		"partOf", "prev", "last", "current", "directMessage", "state"} {
		m[`"`+k+`"`] = k
	}
	return m
}()

// embeddedDoc is the view of an object nested in another document, given
// decoded; it was normalised with it.
func embeddedDoc(m map[string]any) *Doc { return &Doc{m: m} }

// get returns member k, decoded and normalised, or nil.
func (d *Doc) get(k string) any {
	if d.raw == nil {
		return d.m[k]
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	m := d.members.find(k)
	if m == nil {
		return nil
	}
	if !m.read {
		m.val, m.read = decodeMember(k, m.raw), true
	}
	return m.val
}

// has reports whether the document has member k.
func (d *Doc) has(k string) bool {
	if d.raw == nil {
		_, ok := d.m[k]
		return ok
	}
	return d.members.find(k) != nil
}

// decodeJSON decodes one valid JSON value as Decode does: numbers that are
// exact in a float64 become one, others stay json.Number.
func decodeJSON(data []byte) any {
	if len(data) == 0 {
		return nil
	}
	switch data[0] { // the scalars most values are, without a decoder
	case '"':
		if s, ok := stringValue(data); ok {
			return s
		}
		return nil
	case 't':
		return true
	case 'f':
		return false
	case 'n':
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if dec.Decode(&v) != nil {
		return nil
	}
	return fixNumbers(v)
}

// decodeMember decodes the member k of an object and applies the rewrites
// normalizeTree applies to it. The values of the relations (actor,
// object, to, ...) keep their embedded objects undecoded, as Docs.
func decodeMember(k string, span []byte) any {
	if slices.Contains(relationKeys[:], k) {
		addressing := slices.Contains(addressingKeys[:], k)
		elem := func(e []byte) any {
			switch e[0] {
			case '{':
				sub := lazyDoc(e)
				if sub == nil {
					return nil
				}
				if !sub.has("type") {
					if id, ok := sub.get("id").(string); ok {
						return id
					}
				}
				return sub
			case '"':
				s, _ := stringValue(e)
				if addressing && IsPublic(s) {
					return PublicIRI
				}
				return s
			}
			v := decodeJSON(e)
			walkValue(v)
			return v
		}
		if span[0] == '[' {
			out := []any{}
			eachElement(span, func(e []byte) { out = append(out, elem(e)) })
			return out
		}
		return elem(span)
	}
	v := decodeJSON(span)
	if s, ok := v.(string); ok && k == "type" {
		if ext, ok := extensionTypes[s]; ok {
			return []any{s, ext.base}
		}
	}
	walkValue(v)
	return v
}

// full returns the whole document, decoded and normalised, as a new map:
// what Map, JSON and Vocab work on.
func (d *Doc) full() map[string]any {
	if d.raw == nil {
		return deepCopy(d.m).(map[string]any)
	}
	m, _ := decodeJSON(d.raw).(map[string]any)
	if m == nil {
		m = map[string]any{}
	}
	if d.top {
		normalize(m) // checked by Decode: it does not fail
	} else {
		normalizeTree(m)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	for k := range d.over {
		m[k] = materialize(d.members.find(k).val)
	}
	return m
}

// materialize turns the Docs in a decoded value into maps.
func materialize(v any) any {
	switch x := v.(type) {
	case *Doc:
		return x.full()
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = materialize(e)
		}
		return out
	case map[string]any:
		return deepCopy(x)
	}
	return v
}

// asDoc returns an embedded object of a decoded value as a Doc.
func asDoc(v any) (*Doc, bool) {
	switch x := v.(type) {
	case *Doc:
		return x, true
	case map[string]any:
		return embeddedDoc(x), true
	}
	return nil, false
}

// Vocab returns the document's generated vocabulary value, built on the
// first call (with ParseMap's errors: 422 for a type the vocabulary lacks,
// 400 for a document it cannot read). The value shares nothing with the
// Doc: changing one does not change the other.
func (d *Doc) Vocab(ctx context.Context) (vocab.Type, error) {
	d.once.Do(func() {
		d.v, d.verr = ParseMap(ctx, d.full())
	})
	return d.v, d.verr
}

// deepCopy copies a decoded JSON value.
func deepCopy(v any) any {
	switch x := v.(type) {
	case map[string]any:
		c := make(map[string]any, len(x))
		for k, e := range x {
			c[k] = deepCopy(e)
		}
		return c
	case []any:
		c := make([]any, len(x))
		for i, e := range x {
			c[i] = deepCopy(e)
		}
		return c
	}
	return v
}

// Get returns the JSON value of property key as decoded (strings, numbers
// as float64 or json.Number, bools, nil, []any, map[string]any), or nil.
// It must not be changed.
func (d *Doc) Get(key string) any { return materialize(d.get(key)) }

// Map returns a copy of the whole normalised document.
func (d *Doc) Map() map[string]any { return d.full() }

// JSON encodes the document (as normalised) as JSON.
func (d *Doc) JSON() ([]byte, error) { return json.Marshal(d.full()) }

// absIRI parses s as an absolute IRI (with a scheme), as the vocabulary
// reads IRIs; anything else is nil.
func absIRI(s string) *url.URL {
	if s == "" {
		return nil
	}
	u, err := url.Parse(s)
	if err != nil || u.Scheme == "" {
		return nil
	}
	return u
}

// parsedIRI is a string read as an IRI: u is nil when it is not an
// absolute one; s is u.String(), once asked for (see parse).
type parsedIRI struct {
	u *url.URL
	s string
}

// parse is absIRI(s), parsed once per Doc: the same IRIs (the ids, the
// actor, the addressing) are read several times on the way through the
// inbox. With withString, the IRI's string form is in the result too,
// also made once. The URL is the Doc's: callers must not change it.
func (d *Doc) parse(s string, withString bool) parsedIRI {
	if s == "" {
		return parsedIRI{}
	}
	d.mu.Lock()
	p, ok := d.parsed[s]
	d.mu.Unlock()
	if ok && (p.u == nil || p.s != "" || !withString) {
		return p
	}
	if !ok {
		p.u = absIRI(s)
	}
	if p.u != nil && withString {
		p.s = p.u.String()
	}
	d.mu.Lock()
	if d.parsed == nil {
		d.parsed = map[string]parsedIRI{}
	}
	d.parsed[s] = p
	d.mu.Unlock()
	return p
}

// iri is absIRI(s), parsed once per Doc (see parse). Each caller gets its
// own copy.
func (d *Doc) iri(s string) *url.URL {
	p := d.parse(s, false)
	if p.u == nil {
		return nil
	}
	c := *p.u
	return &c
}

// ID returns the document's id, or nil.
func (d *Doc) ID() *url.URL {
	s, _ := d.get("id").(string)
	return d.iri(s)
}

// Types returns the document's type names in order; for an extension type
// read as an ActivityStreams base type (see ParseMap) the original name
// comes first.
func (d *Doc) Types() []string {
	switch t := d.get("type").(type) {
	case string:
		return []string{t}
	case []any:
		out := make([]string, 0, len(t))
		for _, e := range t {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// Type returns the document's type name, as the Type function does for
// the generated value: the first type the vocabulary knows (an extension
// type's original name, if it is one), else the first one.
func (d *Doc) Type() string {
	ts := d.Types()
	for _, t := range ts {
		if _, ext := extensionTypes[t]; ext {
			return t
		}
	}
	for _, t := range ts {
		if knownType(t) {
			return t
		}
	}
	if len(ts) > 0 {
		return ts[0]
	}
	return ""
}

// Known reports whether the vocabulary resolves the document's type (one
// of its types is an extension type ParseMap reads, or a type of the
// vocabulary): whether Vocab can build a value of that type.
func (d *Doc) Known() bool { return resolvable(d.get("type")) }

// values returns the values of property key as a list (a single value is
// a list of one). Embedded objects of no type the vocabulary resolves are
// left out, as the vocabulary leaves them out, so that the view and the
// generated value never disagree on what an activity is about.
func (d *Doc) values(key string) []any {
	var vs []any
	switch v := d.get(key).(type) {
	case nil:
		return nil
	case []any:
		vs = v
	default:
		vs = []any{v}
	}
	for i, v := range vs {
		if o, ok := asDoc(v); ok && !o.Known() {
			// Copy once, without the unresolvable values.
			out := append(make([]any, 0, len(vs)-1), vs[:i]...)
			for _, v := range vs[i+1:] {
				if o, ok := asDoc(v); !ok || o.Known() {
					out = append(out, v)
				}
			}
			return out
		}
	}
	return vs
}

// resolvable reports whether the vocabulary resolves an object of type t
// (the decoded type member): one of its types is an extension type or
// known to it.
func resolvable(t any) bool {
	switch t := t.(type) {
	case string:
		_, ext := extensionTypes[t]
		return ext || knownType(t)
	case []any:
		for _, e := range t {
			if s, ok := e.(string); ok {
				if _, ext := extensionTypes[s]; ext || knownType(s) {
					return true
				}
			}
		}
	}
	return false
}

// refIRI is the IRI of one value of a relation: the IRI itself, or an
// embedded object's id.
func (d *Doc) refIRI(v any) *url.URL {
	switch x := v.(type) {
	case string:
		return d.iri(x)
	case *Doc:
		return x.ID()
	case map[string]any:
		s, _ := x["id"].(string)
		return absIRI(s)
	}
	return nil
}

// iris returns property key's values as IRIs, skipping values with none.
func (d *Doc) iris(key string) []*url.URL {
	var out []*url.URL
	for _, v := range d.values(key) {
		if u := d.refIRI(v); u != nil {
			out = append(out, u)
		}
	}
	return out
}

// Actors returns the actor property as IRIs (an embedded actor's id).
func (d *Doc) Actors() []*url.URL { return d.iris("actor") }

// Objects returns the object property as IRIs (an embedded object's id).
func (d *Doc) Objects() []*url.URL { return d.iris("object") }

// ObjectRefs returns the objects in order, each as its IRI and, when it was
// embedded, its view (nil for a bare IRI). Embedded objects without an id
// are left out, as in Objects.
func (d *Doc) ObjectRefs() (ids []*url.URL, docs []*Doc) {
	for _, v := range d.values("object") {
		u := d.refIRI(v)
		if u == nil {
			continue
		}
		ids = append(ids, u)
		o, _ := asDoc(v)
		docs = append(docs, o)
	}
	return ids, docs
}

// EmbeddedObjects returns the objects embedded in the object property,
// with or without an id.
func (d *Doc) EmbeddedObjects() []*Doc {
	var out []*Doc
	for _, v := range d.values("object") {
		if o, ok := asDoc(v); ok {
			out = append(out, o)
		}
	}
	return out
}

// AttributedTo returns the attributedTo property as IRIs.
func (d *Doc) AttributedTo() []*url.URL { return d.iris("attributedTo") }

// To, Cc, Bto, Bcc and Audience return the addressing properties as IRIs;
// Public is always in its full form (PublicIRI).
func (d *Doc) To() []*url.URL       { return d.iris("to") }
func (d *Doc) Cc() []*url.URL       { return d.iris("cc") }
func (d *Doc) Bto() []*url.URL      { return d.iris("bto") }
func (d *Doc) Bcc() []*url.URL      { return d.iris("bcc") }
func (d *Doc) Audience() []*url.URL { return d.iris("audience") }

// Recipients returns to, cc, bto, bcc and audience together, duplicates
// removed, in that order.
func (d *Doc) Recipients() []*url.URL {
	var out []*url.URL
	seen := map[string]bool{}
	d.eachRecipient(func(p parsedIRI) {
		if seen[p.s] {
			return
		}
		seen[p.s] = true
		c := *p.u
		out = append(out, &c)
	})
	return out
}

// eachRecipient calls fn with each value of to, cc, bto, bcc and audience
// that has an IRI, in that order, duplicates included.
func (d *Doc) eachRecipient(fn func(parsedIRI)) {
	for _, k := range addressingKeys {
		for _, v := range d.values(k) {
			var p parsedIRI
			if s, ok := v.(string); ok {
				p = d.parse(s, true)
			} else if u := d.refIRI(v); u != nil {
				p = parsedIRI{u: u, s: u.String()}
			}
			if p.u != nil {
				fn(p)
			}
		}
	}
}

// IsPublicAddressed reports whether Public is among the recipients.
func (d *Doc) IsPublicAddressed() bool {
	public := false
	d.eachRecipient(func(p parsedIRI) { public = public || p.s == PublicIRI })
	return public
}

// InReplyTo returns the id of the post the document answers, or nil.
func (d *Doc) InReplyTo() *url.URL {
	if l := d.iris("inReplyTo"); len(l) > 0 {
		return l[0]
	}
	return nil
}

// langValue reads a natural-language property: its plain value, else the
// "und" or "en" entry of its map, else the map's first language in sorted
// order.
func (d *Doc) langValue(key string) string {
	for _, v := range d.values(key) {
		if s, ok := v.(string); ok {
			return s
		}
	}
	if s, ok := d.get(key + "Map").(string); ok {
		// Not a map but one string: the vocabulary reads it as the
		// value, and so does the view.
		return s
	}
	return pickLanguage(d.langMap(key))
}

// langMap reads the language map of a natural-language property (keyMap),
// or nil.
func (d *Doc) langMap(key string) map[string]string {
	raw, ok := d.get(key + "Map").(map[string]any)
	if !ok {
		return nil
	}
	m := map[string]string{}
	for k, v := range raw {
		if s, ok := v.(string); ok {
			m[k] = s
		}
	}
	return m
}

// Content returns the HTML content: the plain "content" value, else the
// "und" or "en" entry of contentMap, else its first language in sorted
// order.
func (d *Doc) Content() string { return d.langValue("content") }

// ContentMap returns contentMap (language tag → HTML), or nil. Unlike the
// generated types, the view keeps it when content is there too.
func (d *Doc) ContentMap() map[string]string { return d.langMap("content") }

// Summary returns the summary: a post's content warning, an actor's bio.
func (d *Doc) Summary() string { return d.langValue("summary") }

// Name returns the name: a title, a poll option, alt text, a display name.
func (d *Doc) Name() string { return d.langValue("name") }

// Sensitive reports whether the document is marked sensitive.
func (d *Doc) Sensitive() bool {
	for _, v := range d.values("sensitive") {
		if b, ok := v.(bool); ok && b {
			return true
		}
	}
	return false
}

// parseTime reads an xsd:dateTime as the vocabulary does.
func parseTime(v any) time.Time {
	s, ok := v.(string)
	if !ok {
		return time.Time{}
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04Z07:00"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t
		}
	}
	return time.Time{}
}

// Published returns the publication time, or the zero time.
func (d *Doc) Published() time.Time { return parseTime(d.get("published")) }

// Updated returns the time of the last edit, or the zero time.
func (d *Doc) Updated() time.Time { return parseTime(d.get("updated")) }

// Tags returns every tag in document order, of whatever type; a tag given
// only as an IRI has just ID set.
func (d *Doc) Tags() []Tag {
	var out []Tag
	for _, v := range d.values("tag") {
		switch x := v.(type) {
		case string:
			if u := absIRI(x); u != nil {
				out = append(out, Tag{ID: u})
			}
		case map[string]any:
			t := embeddedDoc(x)
			tag := Tag{Type: t.Type(), ID: t.ID(), Name: t.Name(), Updated: t.Updated()}
			if s, ok := x["href"].(string); ok {
				tag.Href = absIRI(s)
			}
			tag.MediaType, _ = x["mediaType"].(string)
			for _, r := range t.values("rel") {
				if s, ok := r.(string); ok {
					tag.Rel = append(tag.Rel, s)
				}
			}
			out = append(out, tag)
		}
	}
	return out
}

// Mentions returns the Mention tags that name an actor.
func (d *Doc) Mentions() []Mention {
	var out []Mention
	for _, tag := range d.Tags() {
		if tag.Type == "Mention" && tag.Href != nil {
			out = append(out, Mention{Href: tag.Href, Name: tag.Name})
		}
	}
	return out
}

// Hashtags returns the Hashtag tags.
func (d *Doc) Hashtags() []Hashtag {
	var out []Hashtag
	for _, tag := range d.Tags() {
		if tag.Type == "Hashtag" {
			out = append(out, Hashtag{Href: tag.Href, Name: tag.Name})
		}
	}
	return out
}

// ReferObjects replaces each object embedded in the object property that
// keep refuses by its id, as the function ReferObjects does on a generated
// value, and reports whether it changed anything. It must run before
// Vocab is first called to have an effect on the generated value.
func (d *Doc) ReferObjects(keep func(id *url.URL, o *Doc) bool) bool {
	changed := false
	refer := func(v any) any {
		o, ok := asDoc(v)
		if !ok {
			return v
		}
		id := o.ID()
		if id == nil || keep(id, o) {
			return v
		}
		changed = true
		return id.String()
	}
	var nv any
	switch v := d.get("object").(type) {
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = refer(e)
		}
		nv = out
	case nil:
		return false
	default:
		nv = refer(v)
	}
	if !changed {
		return false
	}
	if d.raw == nil {
		d.m["object"] = nv
		return true
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	o := d.members.find("object") // read above
	o.val = nv
	if d.over == nil {
		d.over = map[string]bool{}
	}
	d.over["object"] = true
	return true
}

// knownType reports whether the vocabulary resolves a type of that name,
// by asking it once per name (a small document of that type alone); the
// answers are kept, for up to maxKnownTypes unknown names.
func knownType(name string) bool {
	if v, ok := knownTypes.Load(name); ok {
		return v.(bool)
	}
	known := func() (ok bool) {
		defer func() {
			if recover() != nil {
				ok = false
			}
		}()
		t, err := streams.ToType(context.Background(), map[string]any{"@context": asContext, "type": name})
		return err == nil && t != nil
	}()
	// The names the vocabulary knows are finitely many: they are always
	// kept. Of the others, which a sender can invent without end, only
	// the first maxKnownTypes are.
	if known || knownTypesCount.Add(1) <= maxKnownTypes {
		knownTypes.Store(name, known)
	}
	return known
}

const maxKnownTypes = 1024

var (
	knownTypes      sync.Map // type name → bool
	knownTypesCount atomic.Int64
)
