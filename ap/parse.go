package ap

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"code.superseriousbusiness.org/activity/streams"
	"code.superseriousbusiness.org/activity/streams/vocab"
)

// Limits applied by Parse before any JSON decoding.
const (
	// MaxDepth is the deepest nesting of JSON objects and arrays Parse
	// accepts. Real documents stay well below 16.
	MaxDepth = 64
	// MaxDocumentBytes is the largest document Parse accepts. Callers
	// should cap their reads at this size too.
	MaxDocumentBytes = 4 << 20
)

// ErrUnsupportedType is wrapped by the error Parse returns when a document
// is well-formed but none of its types is known to the vocabulary. That
// error is an *Error with status 422 (Unprocessable Entity): the document is
// valid JSON of a kind we do not handle. An inbox that prefers to accept
// and ignore such activities (as Mastodon does) checks
// errors.Is(err, ErrUnsupportedType) and answers 202 instead.
var ErrUnsupportedType = errors.New("ap: unsupported ActivityStreams type")

// asContext is the ActivityStreams 2.0 JSON-LD context IRI.
const asContext = "https://www.w3.org/ns/activitystreams"

// Parse decodes an ActivityStreams document into its vocabulary type.
//
// Parse first runs a cheap structural check over the raw bytes (size at
// most MaxDocumentBytes, a JSON object at the top level, nesting at most
// MaxDepth) so hostile input costs no recursion. It then decodes the JSON,
// normalises real-world quirks (see ParseMap) and resolves the type.
//
// Errors are *Error values: 413 for an oversized document, 400 for
// malformed or structurally invalid input and 422 (wrapping
// ErrUnsupportedType) for an unknown type.
func Parse(ctx context.Context, data []byte) (vocab.Type, error) {
	if len(data) > MaxDocumentBytes {
		return nil, Errorf(http.StatusRequestEntityTooLarge, "document too large",
			fmt.Errorf("%d bytes exceeds the %d byte limit", len(data), MaxDocumentBytes))
	}
	if err := precheck(data, MaxDepth); err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, Errorf(http.StatusBadRequest, "malformed JSON", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, Errorf(http.StatusBadRequest, "malformed JSON", errors.New("data after the top-level value"))
	}
	if m == nil {
		return nil, Errorf(http.StatusBadRequest, "document is not a JSON object", nil)
	}
	return ParseMap(ctx, m)
}

// ParseMap resolves an already decoded JSON object into its vocabulary
// type. m is normalised in place first:
//
//   - a missing or unusable @context is taken to be the ActivityStreams
//     context (Lemmy and GoToSocial send none on some documents);
//   - a top-level "id" must be an absolute IRI and "type" a string or a
//     list of strings;
//   - the Public collection in to, cc, bto, bcc and audience is rewritten
//     to its full IRI from the "Public" and "as:Public" spellings, at every
//     level of the document;
//   - a few widespread extension types the vocabulary lacks (FEP-044f
//     QuoteRequest and QuoteAuthorization, Lemmy Resolve, LitePub
//     ChatMessage) are read as their ActivityStreams base type while keeping
//     the original type name first in "type", which Type reports.
//
// Numbers in m may be float64 (json.Unmarshal's default) or json.Number
// (from a decoder with UseNumber); json.Number values a float64 holds
// exactly are converted. The errors are those of Parse. ParseMap does not
// check nesting depth: callers passing maps from untrusted input should go
// through Parse.
func ParseMap(ctx context.Context, m map[string]any) (t vocab.Type, err error) {
	if m == nil {
		return nil, Errorf(http.StatusBadRequest, "document is not a JSON object", nil)
	}
	fixNumbers(m)
	if err := normalize(m); err != nil {
		return nil, err
	}
	// The generated vocabulary is large and built for trusted input; turn
	// any panic on hostile input into a plain 400 rather than crashing.
	defer func() {
		if r := recover(); r != nil {
			t, err = nil, Errorf(http.StatusBadRequest, "malformed document", fmt.Errorf("vocabulary panic: %v", r))
		}
	}()
	t, err = streams.ToType(ctx, m)
	switch {
	case err == nil:
		return t, nil
	case errors.Is(err, streams.ErrUnhandledType):
		return nil, Errorf(http.StatusUnprocessableEntity, "unsupported type",
			fmt.Errorf("%w: %v", ErrUnsupportedType, m["type"]))
	default:
		return nil, Errorf(http.StatusBadRequest, "malformed document", err)
	}
}

// precheck verifies, without recursion or allocation, that data holds a
// JSON object at the top level whose containers nest at most maxDepth deep.
// Full JSON validity is left to the decoder.
func precheck(data []byte, maxDepth int) error {
	i := 0
	for i < len(data) && isSpace(data[i]) {
		i++
	}
	if i == len(data) {
		return Errorf(http.StatusBadRequest, "empty document", nil)
	}
	if data[i] != '{' {
		return Errorf(http.StatusBadRequest, "document is not a JSON object", nil)
	}
	depth, inString := 0, false
	for ; i < len(data); i++ {
		c := data[i]
		if inString {
			switch c {
			case '\\':
				i++ // skip the escaped byte
			case '"':
				inString = false
			}
			continue
		}
		switch c {
		case '"':
			inString = true
		case '{', '[':
			depth++
			if depth > maxDepth {
				return Errorf(http.StatusBadRequest, "document nested too deeply",
					fmt.Errorf("nesting exceeds %d", maxDepth))
			}
		case '}', ']':
			depth--
		}
	}
	return nil
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// fixNumbers converts json.Number values in place: numbers a float64
// holds exactly become float64 (what the vocabulary expects); integers
// beyond 2^53 and out-of-range values stay json.Number, so unknown
// properties keep their exact text on re-serialisation and known numeric
// properties reject them.
func fixNumbers(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = fixNumbers(e)
		}
	case []any:
		for i, e := range x {
			x[i] = fixNumbers(e)
		}
	case json.Number:
		s := string(x)
		if !strings.ContainsAny(s, ".eE") {
			n, err := strconv.ParseInt(s, 10, 64)
			if err != nil || n > 1<<53 || n < -(1<<53) {
				return x
			}
			return float64(n)
		}
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || math.IsInf(f, 0) {
			return x
		}
		return f
	}
	return v
}

// extensionType describes a type the vocabulary lacks that we read as an
// ActivityStreams base type.
type extensionType struct {
	base string // ActivityStreams type to resolve as
	iri  string // full IRI of the type, for the serialised @context
}

var extensionTypes = map[string]extensionType{
	"QuoteRequest":       {base: "Activity", iri: "https://w3id.org/fep/044f#QuoteRequest"},
	"QuoteAuthorization": {base: "Object", iri: "https://w3id.org/fep/044f#QuoteAuthorization"},
	"ChatMessage":        {base: "Note", iri: "http://litepub.social/ns#ChatMessage"},
	"Resolve":            {base: "Activity"},
}

// addressingKeys are the properties whose values may name Public.
var addressingKeys = [...]string{"to", "cc", "bto", "bcc", "audience"}

func normalize(m map[string]any) error {
	switch c := m["@context"].(type) {
	case string:
		if c == "" {
			m["@context"] = asContext
		}
	case map[string]any:
		dropIRITerms(c)
	case []any:
		for _, e := range c {
			if em, ok := e.(map[string]any); ok {
				dropIRITerms(em)
			}
		}
	default:
		m["@context"] = asContext
	}
	if err := checkType(m["type"]); err != nil {
		return err
	}
	if id, ok := m["id"]; ok {
		if err := checkID(id); err != nil {
			return err
		}
		if id == nil {
			delete(m, "id")
		}
	}
	normalizeTree(m)
	return nil
}

// checkType checks a document's top-level type: a non-empty string or a
// non-empty list of them.
func checkType(typ any) error {
	switch typ := typ.(type) {
	case string:
		if typ == "" {
			return Errorf(http.StatusBadRequest, "missing type", nil)
		}
	case []any:
		if len(typ) == 0 {
			return Errorf(http.StatusBadRequest, "missing type", nil)
		}
		for _, e := range typ {
			if s, ok := e.(string); !ok || s == "" {
				return Errorf(http.StatusBadRequest, "invalid type", nil)
			}
		}
	case nil:
		return Errorf(http.StatusBadRequest, "missing type", nil)
	default:
		return Errorf(http.StatusBadRequest, "invalid type", nil)
	}
	return nil
}

// checkID checks a document's top-level id, when it has one: an absolute
// IRI, or null (read as no id).
func checkID(id any) error {
	switch s := id.(type) {
	case nil:
	case string:
		u, err := url.Parse(s)
		if err != nil || !u.IsAbs() {
			return Errorf(http.StatusBadRequest, "invalid id", err)
		}
	default:
		return Errorf(http.StatusBadRequest, "invalid id", fmt.Errorf("id is a %T", id))
	}
	return nil
}

// dropIRITerms removes context entries whose term is itself an IRI. The
// vocabulary would read {"https://www.w3.org/ns/activitystreams": "x"} as
// renaming every ActivityStreams term to "x:..." and then serialise
// documents no peer understands; no real server sends such a context.
func dropIRITerms(c map[string]any) {
	for k := range c {
		if strings.HasPrefix(k, "http://") || strings.HasPrefix(k, "https://") {
			delete(c, k)
		}
	}
}

// normalizeTree applies the per-object rewrites to m and every object
// nested in it. Depth is bounded by the precheck (or the caller).
func normalizeTree(m map[string]any) {
	for _, k := range addressingKeys {
		switch v := m[k].(type) {
		case string:
			if IsPublic(v) {
				m[k] = PublicIRI
			}
		case []any:
			for i, e := range v {
				if s, ok := e.(string); ok && IsPublic(s) {
					v[i] = PublicIRI
				}
			}
		}
	}
	for _, k := range relationKeys {
		if v, ok := m[k]; ok {
			m[k] = untypedToIRI(v)
		}
	}
	if s, ok := m["type"].(string); ok {
		if ext, ok := extensionTypes[s]; ok {
			m["type"] = []any{s, ext.base}
		}
	}
	for _, v := range m {
		walkValue(v)
	}
}

// relationKeys are the properties whose values are objects or links
// named by id. An embedded value there without a type (Hubzilla embeds its
// actor so) cannot be read as an object; it is read as its id instead.
var relationKeys = [...]string{"actor", "object", "attributedTo", "target", "origin", "result",
	"instrument", "inReplyTo", "to", "cc", "bto", "bcc", "audience"}

func untypedToIRI(v any) any {
	switch x := v.(type) {
	case map[string]any:
		if _, typed := x["type"]; !typed {
			if id, ok := x["id"].(string); ok {
				return id
			}
		}
	case []any:
		for i, e := range x {
			x[i] = untypedToIRI(e)
		}
	}
	return v
}

func walkValue(v any) {
	switch x := v.(type) {
	case map[string]any:
		normalizeTree(x)
	case []any:
		for _, e := range x {
			walkValue(e)
		}
	}
}

// Serialize encodes t as a JSON document with an @context covering the
// vocabularies it uses: ActivityStreams always, the security vocabulary
// when a public key is present, and inline term definitions for the
// Mastodon, schema.org, LitePub and extension terms. Nested @context
// values are dropped. HTML in content is not escaped.
func Serialize(t vocab.Type) ([]byte, error) {
	if t == nil {
		return nil, errors.New("ap: Serialize of nil")
	}
	m, err := t.Serialize()
	if err != nil {
		return nil, fmt.Errorf("ap: serialize %s: %w", t.GetTypeName(), err)
	}
	stripNestedContext(m)
	m["@context"] = buildContext(t.JSONLDContext(), m)
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(m); err != nil {
		return nil, fmt.Errorf("ap: encode %s: %w", t.GetTypeName(), err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

func stripNestedContext(m map[string]any) {
	for _, v := range m {
		stripContextValue(v)
	}
}

func stripContextValue(v any) {
	switch x := v.(type) {
	case map[string]any:
		delete(x, "@context")
		stripNestedContext(x)
	case []any:
		for _, e := range x {
			stripContextValue(e)
		}
	}
}

// Vocabulary namespaces as reported by vocab.Type.JSONLDContext.
const (
	nsToot    = "http://joinmastodon.org/ns"
	nsSchema  = "http://schema.org"
	nsLitePub = "http://litepub.social/ns"
)

// Term definitions added inline when a namespace without a dereferenceable
// context document is in use (Mastodon's and schema.org's are not served
// as JSON-LD contexts).
var (
	asTerms = map[string]any{
		"Hashtag":                   "as:Hashtag",
		"sensitive":                 "as:sensitive",
		"manuallyApprovesFollowers": "as:manuallyApprovesFollowers",
		"movedTo":                   map[string]any{"@id": "as:movedTo", "@type": "@id"},
		"alsoKnownAs":               map[string]any{"@id": "as:alsoKnownAs", "@type": "@id"},
	}
	tootTerms = map[string]any{
		"toot":         nsToot + "#",
		"Emoji":        "toot:Emoji",
		"blurhash":     "toot:blurhash",
		"discoverable": "toot:discoverable",
		"indexable":    "toot:indexable",
		"memorial":     "toot:memorial",
		"suspended":    "toot:suspended",
		"votersCount":  "toot:votersCount",
		"featured":     map[string]any{"@id": "toot:featured", "@type": "@id"},
		"featuredTags": map[string]any{"@id": "toot:featuredTags", "@type": "@id"},
		"focalPoint":   map[string]any{"@id": "toot:focalPoint", "@container": "@list"},
	}
	schemaTerms = map[string]any{
		"schema":        nsSchema + "#",
		"PropertyValue": "schema:PropertyValue",
		"value":         "schema:value",
	}
	litepubTerms = map[string]any{
		"litepub":    nsLitePub + "#",
		"EmojiReact": "litepub:EmojiReact",
	}
)

func buildContext(used map[string]string, m map[string]any) any {
	ctx := []any{asContext}
	present := map[string]bool{}
	collectTerms(m, present)
	inline := map[string]any{}
	// add copies the terms of a table the document uses, and the table's
	// prefix definition.
	add := func(terms map[string]any) {
		for k, v := range terms {
			if s, ok := v.(string); present[k] || (ok && strings.HasSuffix(s, "#")) {
				inline[k] = v
			}
		}
	}
	add(asTerms)
	var extra []string
	for ns := range used {
		switch ns {
		case asContext:
		case nsToot:
			add(tootTerms)
		case nsSchema:
			add(schemaTerms)
		case nsLitePub:
			add(litepubTerms)
		default: // security, GoToSocial, Funkwhale: real context documents
			extra = append(extra, ns)
		}
	}
	if types, ok := m["type"].([]any); ok {
		for _, e := range types {
			if s, ok := e.(string); ok && extensionTypes[s].iri != "" {
				inline[s] = extensionTypes[s].iri
			}
		}
	}
	slices.Sort(extra)
	for _, ns := range extra {
		ctx = append(ctx, ns)
	}
	if len(inline) == 0 {
		if len(ctx) == 1 {
			return asContext
		}
		return ctx
	}
	return append(ctx, inline)
}

// collectTerms records every property name and type name used in v.
func collectTerms(v any, into map[string]bool) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			into[k] = true
			if k == "type" {
				switch t := e.(type) {
				case string:
					into[t] = true
				case []any:
					for _, s := range t {
						if s, ok := s.(string); ok {
							into[s] = true
						}
					}
				}
				continue
			}
			collectTerms(e, into)
		}
	case []any:
		for _, e := range x {
			collectTerms(e, into)
		}
	}
}
