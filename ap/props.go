package ap

import (
	"net/url"
	"strings"

	"code.superseriousbusiness.org/activity/streams"
	"code.superseriousbusiness.org/activity/streams/vocab"
)

// Small interfaces over the generated vocabulary, one property each. Every
// vocabulary type that has the property satisfies the interface, so the
// helpers below work on activities, objects and actors alike.
type (
	// WithActor is a type with an "actor" property (every activity).
	WithActor interface {
		GetActivityStreamsActor() vocab.ActivityStreamsActorProperty
		SetActivityStreamsActor(vocab.ActivityStreamsActorProperty)
	}
	// WithObject is a type with an "object" property.
	WithObject interface {
		GetActivityStreamsObject() vocab.ActivityStreamsObjectProperty
		SetActivityStreamsObject(vocab.ActivityStreamsObjectProperty)
	}
	// WithAttributedTo is a type with an "attributedTo" property.
	WithAttributedTo interface {
		GetActivityStreamsAttributedTo() vocab.ActivityStreamsAttributedToProperty
		SetActivityStreamsAttributedTo(vocab.ActivityStreamsAttributedToProperty)
	}
	// WithTo is a type with a "to" property.
	WithTo interface {
		GetActivityStreamsTo() vocab.ActivityStreamsToProperty
		SetActivityStreamsTo(vocab.ActivityStreamsToProperty)
	}
	// WithCc is a type with a "cc" property.
	WithCc interface {
		GetActivityStreamsCc() vocab.ActivityStreamsCcProperty
		SetActivityStreamsCc(vocab.ActivityStreamsCcProperty)
	}
	// WithBto is a type with a "bto" property.
	WithBto interface {
		GetActivityStreamsBto() vocab.ActivityStreamsBtoProperty
		SetActivityStreamsBto(vocab.ActivityStreamsBtoProperty)
	}
	// WithBcc is a type with a "bcc" property.
	WithBcc interface {
		GetActivityStreamsBcc() vocab.ActivityStreamsBccProperty
		SetActivityStreamsBcc(vocab.ActivityStreamsBccProperty)
	}
	// WithAudience is a type with an "audience" property.
	WithAudience interface {
		GetActivityStreamsAudience() vocab.ActivityStreamsAudienceProperty
		SetActivityStreamsAudience(vocab.ActivityStreamsAudienceProperty)
	}
	// WithJSONLDType is a type whose "type" property can be read (every
	// generated type).
	WithJSONLDType interface {
		GetJSONLDType() vocab.JSONLDTypeProperty
	}
)

// iriOrType is the shape shared by the iterators of the relation
// properties (actor, object, to, ...): each value is an IRI or an
// embedded object.
type iriOrType interface {
	IsIRI() bool
	GetIRI() *url.URL
	GetType() vocab.Type
}

// listProp is the shape of a non-functional property with iterator I.
type listProp[I iriOrType] interface {
	Len() int
	At(int) I
}

// iris returns, for each value of p, its IRI or the id of the embedded
// object. Values with neither are skipped. A nil p gives nil.
func iris[I iriOrType](p listProp[I]) []*url.URL {
	if p == nil {
		return nil
	}
	var out []*url.URL
	for i := range p.Len() {
		if u := iterIRI(p.At(i)); u != nil {
			out = append(out, u)
		}
	}
	return out
}

func iterIRI(it iriOrType) *url.URL {
	if it.IsIRI() {
		return it.GetIRI()
	}
	if t := it.GetType(); t != nil {
		return ID(t)
	}
	return nil
}

// embedded returns the embedded objects among the values of p.
func embedded[I iriOrType](p listProp[I]) []vocab.Type {
	if p == nil {
		return nil
	}
	var out []vocab.Type
	for i := range p.Len() {
		if t := p.At(i).GetType(); t != nil {
			out = append(out, t)
		}
	}
	return out
}

// ID returns the id of t, or nil when t is nil or has none.
func ID(t vocab.Type) *url.URL {
	if t == nil {
		return nil
	}
	id := t.GetJSONLDId()
	if id == nil {
		return nil
	}
	return id.Get()
}

// Type returns the type name of t. For a document Parse read through one of
// its extension fallbacks (QuoteRequest, ChatMessage, ...) this is the
// original name, not the ActivityStreams base it was resolved as. Nil
// gives "".
func Type(t vocab.Type) string {
	if t == nil {
		return ""
	}
	if wt, ok := t.(WithJSONLDType); ok {
		if p := wt.GetJSONLDType(); p != nil {
			for i := range p.Len() {
				it := p.At(i)
				if !it.IsXMLSchemaString() {
					continue
				}
				s := it.GetXMLSchemaString()
				if _, ext := extensionTypes[s]; ext {
					return s
				}
			}
		}
	}
	return t.GetTypeName()
}

// Actors returns the actor property of t as IRIs: the IRI itself or the id
// of an embedded actor.
func Actors(t vocab.Type) []*url.URL {
	if a, ok := t.(WithActor); ok {
		return iris[vocab.ActivityStreamsActorPropertyIterator](a.GetActivityStreamsActor())
	}
	return nil
}

// Objects returns the object property of t as IRIs: the IRI itself or the
// id of an embedded object.
func Objects(t vocab.Type) []*url.URL {
	if o, ok := t.(WithObject); ok {
		return iris[vocab.ActivityStreamsObjectPropertyIterator](o.GetActivityStreamsObject())
	}
	return nil
}

// ObjectRefs returns t's objects in order, each as its IRI (an embedded
// object's id) and, when it was embedded, its value (nil for a bare IRI).
// Embedded objects without an id are left out, as in Objects.
func ObjectRefs(t vocab.Type) (ids []*url.URL, values []vocab.Type) {
	o, ok := t.(WithObject)
	if !ok || o.GetActivityStreamsObject() == nil {
		return nil, nil
	}
	p := o.GetActivityStreamsObject()
	for i := range p.Len() {
		it := p.At(i)
		if u := iterIRI(it); u != nil {
			ids = append(ids, u)
			values = append(values, it.GetType())
		}
	}
	return ids, values
}

// EmbeddedObjects returns the objects embedded in t's object property, in
// order; values given only as IRIs are left out. Whether an embedded object
// may be trusted is the caller's decision (same origin as the sender).
func EmbeddedObjects(t vocab.Type) []vocab.Type {
	if o, ok := t.(WithObject); ok {
		return embedded[vocab.ActivityStreamsObjectPropertyIterator](o.GetActivityStreamsObject())
	}
	return nil
}

// EmbeddedActors returns the actors embedded in t's actor property.
func EmbeddedActors(t vocab.Type) []vocab.Type {
	if a, ok := t.(WithActor); ok {
		return embedded[vocab.ActivityStreamsActorPropertyIterator](a.GetActivityStreamsActor())
	}
	return nil
}

// AttributedTo returns the attributedTo property of t as IRIs.
func AttributedTo(t vocab.Type) []*url.URL {
	if a, ok := t.(WithAttributedTo); ok {
		return iris[vocab.ActivityStreamsAttributedToPropertyIterator](a.GetActivityStreamsAttributedTo())
	}
	return nil
}

// To returns the to property of t as IRIs.
func To(t vocab.Type) []*url.URL {
	if a, ok := t.(WithTo); ok {
		return iris[vocab.ActivityStreamsToPropertyIterator](a.GetActivityStreamsTo())
	}
	return nil
}

// Cc returns the cc property of t as IRIs.
func Cc(t vocab.Type) []*url.URL {
	if a, ok := t.(WithCc); ok {
		return iris[vocab.ActivityStreamsCcPropertyIterator](a.GetActivityStreamsCc())
	}
	return nil
}

// Bto returns the bto property of t as IRIs.
func Bto(t vocab.Type) []*url.URL {
	if a, ok := t.(WithBto); ok {
		return iris[vocab.ActivityStreamsBtoPropertyIterator](a.GetActivityStreamsBto())
	}
	return nil
}

// Bcc returns the bcc property of t as IRIs.
func Bcc(t vocab.Type) []*url.URL {
	if a, ok := t.(WithBcc); ok {
		return iris[vocab.ActivityStreamsBccPropertyIterator](a.GetActivityStreamsBcc())
	}
	return nil
}

// Audience returns the audience property of t as IRIs.
func Audience(t vocab.Type) []*url.URL {
	if a, ok := t.(WithAudience); ok {
		return iris[vocab.ActivityStreamsAudiencePropertyIterator](a.GetActivityStreamsAudience())
	}
	return nil
}

// Recipients returns every addressee of t (to, cc, bto, bcc and audience,
// in that order) with duplicates removed. The Public collection is
// included when addressed; see IsPublicAddressed.
func Recipients(t vocab.Type) []*url.URL {
	var out []*url.URL
	seen := map[string]bool{}
	for _, list := range [][]*url.URL{To(t), Cc(t), Bto(t), Bcc(t), Audience(t)} {
		for _, u := range list {
			if k := u.String(); !seen[k] {
				seen[k] = true
				out = append(out, u)
			}
		}
	}
	return out
}

// IsPublicAddressed reports whether t is addressed to the Public collection
// in any of its addressing properties, in any spelling.
func IsPublicAddressed(t vocab.Type) bool {
	for _, u := range Recipients(t) {
		if IsPublicURL(u) {
			return true
		}
	}
	return false
}

// StripBlind removes bto and bcc from t and from the objects embedded in
// its object property, as must be done before delivery (ActivityPub 6.1).
func StripBlind(t vocab.Type) {
	if t == nil {
		return
	}
	if b, ok := t.(WithBto); ok {
		b.SetActivityStreamsBto(nil)
	}
	if b, ok := t.(WithBcc); ok {
		b.SetActivityStreamsBcc(nil)
	}
	for _, o := range EmbeddedObjects(t) {
		StripBlind(o)
	}
}

// SameOrigin reports whether a and b have the same scheme, host and port,
// comparing scheme and host case-insensitively and treating an absent port
// as the scheme's default. Nil URLs never match.
func SameOrigin(a, b *url.URL) bool {
	if a == nil || b == nil {
		return false
	}
	if !strings.EqualFold(a.Scheme, b.Scheme) {
		return false
	}
	return strings.EqualFold(a.Hostname(), b.Hostname()) && port(a) == port(b)
}

func port(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	switch strings.ToLower(u.Scheme) {
	case "http":
		return "80"
	case "https":
		return "443"
	}
	return ""
}

// SetTo replaces the to property of t with iris (none removes it).
func SetTo(t WithTo, iris ...*url.URL) {
	if len(iris) == 0 {
		t.SetActivityStreamsTo(nil)
		return
	}
	p := streams.NewActivityStreamsToProperty()
	for _, u := range iris {
		p.AppendIRI(u)
	}
	t.SetActivityStreamsTo(p)
}

// SetCc replaces the cc property of t with iris (none removes it).
func SetCc(t WithCc, iris ...*url.URL) {
	if len(iris) == 0 {
		t.SetActivityStreamsCc(nil)
		return
	}
	p := streams.NewActivityStreamsCcProperty()
	for _, u := range iris {
		p.AppendIRI(u)
	}
	t.SetActivityStreamsCc(p)
}

// SetBto replaces the bto property of t with iris (none removes it).
func SetBto(t WithBto, iris ...*url.URL) {
	if len(iris) == 0 {
		t.SetActivityStreamsBto(nil)
		return
	}
	p := streams.NewActivityStreamsBtoProperty()
	for _, u := range iris {
		p.AppendIRI(u)
	}
	t.SetActivityStreamsBto(p)
}

// SetBcc replaces the bcc property of t with iris (none removes it).
func SetBcc(t WithBcc, iris ...*url.URL) {
	if len(iris) == 0 {
		t.SetActivityStreamsBcc(nil)
		return
	}
	p := streams.NewActivityStreamsBccProperty()
	for _, u := range iris {
		p.AppendIRI(u)
	}
	t.SetActivityStreamsBcc(p)
}

// SetAudience replaces the audience property of t with iris (none removes
// it).
func SetAudience(t WithAudience, iris ...*url.URL) {
	if len(iris) == 0 {
		t.SetActivityStreamsAudience(nil)
		return
	}
	p := streams.NewActivityStreamsAudienceProperty()
	for _, u := range iris {
		p.AppendIRI(u)
	}
	t.SetActivityStreamsAudience(p)
}

// PublicURL returns a fresh *url.URL of the Public collection, for SetTo
// and SetCc.
func PublicURL() *url.URL {
	u, _ := url.Parse(PublicIRI)
	return u
}
