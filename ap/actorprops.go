package ap

import (
	"net/url"
	"strings"
	"time"

	"code.superseriousbusiness.org/activity/streams/vocab"
)

// Actor is what fediverse software shows and uses of an actor document
// (Person, Service, Group, Application, Organization), read by ReadActor.
// Absent properties are zero.
type Actor struct {
	ID                *url.URL
	Type              string // "Person", "Service" (a bot), "Group", ...
	PreferredUsername string
	Name              string // display name
	Summary           string // bio, HTML
	URL               *url.URL
	Published         time.Time
	Icon              *Media // avatar
	Image             *Media // header
	Fields            []Field
	Emojis            []Emoji // custom emoji used in name, summary and fields

	Inbox, Outbox, Followers, Following *url.URL
	SharedInbox                         *url.URL // endpoints.sharedInbox
	Featured                            *url.URL // pinned posts collection
	FeaturedTags                        *url.URL // featured hashtags collection

	AlsoKnownAs               []*url.URL
	MovedTo                   *url.URL
	ManuallyApprovesFollowers bool
	Discoverable              bool // may be listed in directories
	Indexable                 bool // posts may be full-text searched

	PublicKeys       []PublicKey // publicKey (RSA, for HTTP signatures)
	AssertionMethods []Multikey  // assertionMethod (FEP-521a, Ed25519 keys)
}

// Field is a profile field: a PropertyValue attachment of an actor.
type Field struct {
	Name  string
	Value string // HTML
}

// PublicKey is an actor's publicKey entry.
type PublicKey struct {
	ID    *url.URL
	Owner *url.URL
	PEM   string
}

// Multikey is an entry of an actor's assertionMethod (FEP-521a).
type Multikey struct {
	ID                 *url.URL
	Type               string // "Multikey"
	Controller         *url.URL
	PublicKeyMultibase string // "z6Mk..." for Ed25519
}

// Handle returns the actor's handle, "@user@host", from its
// preferredUsername and the host of its id; "" without either. It is the
// usual WebFinger handle but not a verified one (the WebFinger domain may
// differ from the id's).
func (a Actor) Handle() string {
	if a.PreferredUsername == "" || a.ID == nil || a.ID.Host == "" {
		return ""
	}
	return "@" + a.PreferredUsername + "@" + a.ID.Host
}

// Mention returns a Mention of the actor, for AddMention and NewReply.
func (a Actor) Mention() Mention {
	return Mention{Href: a.ID, Name: a.Handle()}
}

// IsBot reports whether the actor is automated: a Service or an
// Application.
func (a Actor) IsBot() bool {
	return a.Type == "Service" || a.Type == "Application"
}

type singleIRI interface {
	IsIRI() bool
	GetIRI() *url.URL
	GetType() vocab.Type
}

// oneIRI reads a functional relation property: its IRI or the id of the
// embedded object.
func oneIRI(p singleIRI) *url.URL {
	if p == nil {
		return nil
	}
	if p.IsIRI() {
		return p.GetIRI()
	}
	return ID(p.GetType())
}

// ReadActor reads an actor document. featuredTags and assertionMethod,
// which the vocabulary lacks, come from the unknown properties; the rest
// from the vocabulary's own properties.
func ReadActor(t vocab.Type) Actor {
	a := Actor{
		ID: ID(t), Type: Type(t), Name: Name(t), Summary: Summary(t), URL: URL(t),
		Published: Published(t), Icon: Icon(t), Image: Image(t), Fields: ProfileFields(t),
		Emojis: Emojis(t),
	}
	if t == nil {
		return a
	}
	if p, ok := t.(interface {
		GetActivityStreamsPreferredUsername() vocab.ActivityStreamsPreferredUsernameProperty
	}); ok && p.GetActivityStreamsPreferredUsername() != nil {
		pu := p.GetActivityStreamsPreferredUsername()
		if pu.IsXMLSchemaString() {
			a.PreferredUsername = pu.GetXMLSchemaString()
		} else if pu.IsRDFLangString() {
			a.PreferredUsername = pickLanguage(pu.GetRDFLangString())
		} else if pu.IsIRI() {
			a.PreferredUsername = pu.GetIRI().String()
		}
	}
	if p, ok := t.(interface {
		GetActivityStreamsInbox() vocab.ActivityStreamsInboxProperty
	}); ok && p.GetActivityStreamsInbox() != nil {
		a.Inbox = oneIRI(p.GetActivityStreamsInbox())
	}
	if p, ok := t.(interface {
		GetActivityStreamsOutbox() vocab.ActivityStreamsOutboxProperty
	}); ok && p.GetActivityStreamsOutbox() != nil {
		a.Outbox = oneIRI(p.GetActivityStreamsOutbox())
	}
	if p, ok := t.(interface {
		GetActivityStreamsFollowers() vocab.ActivityStreamsFollowersProperty
	}); ok && p.GetActivityStreamsFollowers() != nil {
		a.Followers = oneIRI(p.GetActivityStreamsFollowers())
	}
	if p, ok := t.(interface {
		GetActivityStreamsFollowing() vocab.ActivityStreamsFollowingProperty
	}); ok && p.GetActivityStreamsFollowing() != nil {
		a.Following = oneIRI(p.GetActivityStreamsFollowing())
	}
	if p, ok := t.(interface {
		GetTootFeatured() vocab.TootFeaturedProperty
	}); ok && p.GetTootFeatured() != nil {
		a.Featured = oneIRI(p.GetTootFeatured())
	}
	a.FeaturedTags = rawIRI(unknownProp(t, "featuredTags"))
	if p, ok := t.(interface {
		GetActivityStreamsEndpoints() vocab.ActivityStreamsEndpointsProperty
	}); ok && p.GetActivityStreamsEndpoints() != nil {
		for i := range p.GetActivityStreamsEndpoints().Len() {
			e := p.GetActivityStreamsEndpoints().At(i).Get()
			if e == nil || e.GetActivityStreamsSharedInbox() == nil {
				continue
			}
			if si := e.GetActivityStreamsSharedInbox(); si.IsXMLSchemaAnyURI() {
				a.SharedInbox = si.Get()
			} else if si.IsIRI() {
				a.SharedInbox = si.GetIRI()
			}
			break
		}
	}
	if p, ok := t.(interface {
		GetActivityStreamsAlsoKnownAs() vocab.ActivityStreamsAlsoKnownAsProperty
	}); ok && p.GetActivityStreamsAlsoKnownAs() != nil {
		for i := range p.GetActivityStreamsAlsoKnownAs().Len() {
			it := p.GetActivityStreamsAlsoKnownAs().At(i)
			switch {
			case it.IsXMLSchemaAnyURI():
				a.AlsoKnownAs = append(a.AlsoKnownAs, it.Get())
			case it.IsIRI():
				a.AlsoKnownAs = append(a.AlsoKnownAs, it.GetIRI())
			}
		}
	}
	if p, ok := t.(interface {
		GetActivityStreamsMovedTo() vocab.ActivityStreamsMovedToProperty
	}); ok && p.GetActivityStreamsMovedTo() != nil {
		if m := p.GetActivityStreamsMovedTo(); m.IsXMLSchemaAnyURI() {
			a.MovedTo = m.Get()
		} else if m.IsIRI() {
			a.MovedTo = m.GetIRI()
		}
	}
	if p, ok := t.(interface {
		GetActivityStreamsManuallyApprovesFollowers() vocab.ActivityStreamsManuallyApprovesFollowersProperty
	}); ok && p.GetActivityStreamsManuallyApprovesFollowers() != nil && p.GetActivityStreamsManuallyApprovesFollowers().IsXMLSchemaBoolean() {
		a.ManuallyApprovesFollowers = p.GetActivityStreamsManuallyApprovesFollowers().Get()
	}
	if p, ok := t.(interface {
		GetTootDiscoverable() vocab.TootDiscoverableProperty
	}); ok && p.GetTootDiscoverable() != nil && p.GetTootDiscoverable().IsXMLSchemaBoolean() {
		a.Discoverable = p.GetTootDiscoverable().Get()
	} else {
		a.Discoverable, _ = rawBool(unknownProp(t, "discoverable"))
	}
	if p, ok := t.(interface {
		GetTootIndexable() vocab.TootIndexableProperty
	}); ok && p.GetTootIndexable() != nil && p.GetTootIndexable().IsXMLSchemaBoolean() {
		a.Indexable = p.GetTootIndexable().Get()
	} else {
		a.Indexable, _ = rawBool(unknownProp(t, "indexable"))
	}
	a.PublicKeys = PublicKeys(t)
	a.AssertionMethods = AssertionMethods(t)
	return a
}

// ProfileFields returns the PropertyValue attachments of t, an actor's
// profile fields, in order.
func ProfileFields(t vocab.Type) []Field {
	var out []Field
	for _, it := range attachmentsOf(t) {
		v := it.GetType()
		if v == nil || Type(v) != "PropertyValue" {
			continue
		}
		f := Field{Name: Name(v)}
		if pv, ok := v.(interface {
			GetSchemaValue() vocab.SchemaValueProperty
		}); ok && pv.GetSchemaValue() != nil {
			f.Value = pv.GetSchemaValue().Get()
		} else {
			f.Value = rawString(unknownProp(v, "value"))
		}
		out = append(out, f)
	}
	return out
}

type withPublicKey interface {
	GetW3IDSecurityV1PublicKey() vocab.W3IDSecurityV1PublicKeyProperty
	SetW3IDSecurityV1PublicKey(vocab.W3IDSecurityV1PublicKeyProperty)
}

// PublicKeys returns the entries of t's publicKey property. A key given
// only by IRI has just ID set.
func PublicKeys(t vocab.Type) []PublicKey {
	w, ok := t.(withPublicKey)
	if !ok || w.GetW3IDSecurityV1PublicKey() == nil {
		return nil
	}
	p := w.GetW3IDSecurityV1PublicKey()
	var out []PublicKey
	for i := range p.Len() {
		it := p.At(i)
		if it.IsIRI() {
			out = append(out, PublicKey{ID: it.GetIRI()})
			continue
		}
		k := it.Get()
		if k == nil {
			continue
		}
		pk := PublicKey{ID: ID(k)}
		if o := k.GetW3IDSecurityV1Owner(); o != nil {
			if o.IsXMLSchemaAnyURI() {
				pk.Owner = o.Get()
			} else if o.IsIRI() {
				pk.Owner = o.GetIRI()
			}
		}
		if pem := k.GetW3IDSecurityV1PublicKeyPem(); pem != nil {
			pk.PEM = pem.Get()
		}
		out = append(out, pk)
	}
	return out
}

// AssertionMethods returns the Multikey entries of t's assertionMethod
// (FEP-521a). The vocabulary has no term for assertionMethod; it is read
// from the unknown properties. Entries given only by IRI have just ID set.
func AssertionMethods(t vocab.Type) []Multikey {
	raw := unknownProp(t, "assertionMethod")
	var list []any
	switch x := raw.(type) {
	case []any:
		list = x
	case nil:
		return nil
	default:
		list = []any{x}
	}
	var out []Multikey
	for _, e := range list {
		switch x := e.(type) {
		case string:
			if u := rawIRI(x); u != nil {
				out = append(out, Multikey{ID: u})
			}
		case map[string]any:
			k := Multikey{
				ID:                 rawIRI(x["id"]),
				Controller:         rawIRI(x["controller"]),
				PublicKeyMultibase: rawString(x["publicKeyMultibase"]),
			}
			switch typ := x["type"].(type) {
			case string:
				k.Type = typ
			case []any:
				if len(typ) > 0 {
					k.Type = rawString(typ[0])
				}
			}
			out = append(out, k)
		}
	}
	return out
}

// handleFromIRI guesses "@user@host" from an actor IRI whose last path
// segment is the username (/users/alice, /@alice, /u/alice,
// /accounts/alice), for a Mention when the actor document is not at hand.
func handleFromIRI(u *url.URL) string {
	if u == nil || u.Host == "" {
		return ""
	}
	p := strings.TrimRight(u.Path, "/")
	seg := strings.TrimPrefix(p[strings.LastIndexByte(p, '/')+1:], "@")
	if seg == "" {
		return ""
	}
	return "@" + seg + "@" + u.Host
}
