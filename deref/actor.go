package deref

import (
	"context"
	"crypto"
	"log/slog"
	"net/url"
	"strings"

	"github.com/slothpub/slothpub/httpsig"
)

// Actor is the part of a remote (or local) actor document that federation
// needs. Raw holds the whole document for anything else.
type Actor struct {
	IRI               string
	Type              string // first type, e.g. "Person", "Service", "Group"
	PreferredUsername string
	Name              string
	Inbox             string
	Outbox            string
	Followers         string
	Following         string
	SharedInbox       string // endpoints.sharedInbox, or ""
	// Keys are the actor's public keys: every publicKey entry with a PEM
	// key, then every assertionMethod Multikey (Ed25519 or RSA, FEP-521a)
	// not already listed. Each key's ID shares the actor's origin and its
	// Owner is the actor.
	Keys []httpsig.PublicKey
	Raw  []byte

	// claimed lists key ids the actor names by reference only.
	claimed []string
}

// Key returns the actor's key with that id, or nil.
func (a *Actor) Key(id string) *httpsig.PublicKey {
	for i := range a.Keys {
		if a.Keys[i].ID == id {
			k := a.Keys[i]
			return &k
		}
	}
	return nil
}

// claims reports whether the actor lists key id, embedded or by reference.
func (a *Actor) claims(id string) bool {
	if a.Key(id) != nil {
		return true
	}
	for _, c := range a.claimed {
		if c == id {
			return true
		}
	}
	return false
}

// isActorType reports whether types holds an ActivityStreams actor type.
func isActorType(types []string) bool {
	for _, t := range types {
		switch t {
		case "Person", "Service", "Application", "Group", "Organization":
			return true
		}
	}
	return false
}

// Actor returns the actor at iri, fetched and cached like Object. The
// document must have an actor type (Person, Service, Application, Group or
// Organization, possibly among others in a type array). Keys that do not
// belong to the actor (another owner, another origin) or cannot be parsed
// are left out.
func (r *Resolver) Actor(ctx context.Context, iri *url.URL) (*Actor, error) {
	u, err := requestedIRI(iri)
	if err != nil {
		return nil, err
	}
	return r.actor(ctx, u, false)
}

func (r *Resolver) actor(ctx context.Context, u *url.URL, force bool) (*Actor, error) {
	o, err := r.object(ctx, u, force)
	if err != nil {
		return nil, err
	}
	return r.parseActor(ctx, o.IRI, o.Data)
}

// parseActor decodes an actor document whose id is iri.
func (r *Resolver) parseActor(ctx context.Context, iri string, data []byte) (*Actor, error) {
	f, err := parseFields(data)
	if err != nil {
		return nil, rejectf("%s: %v", iri, err)
	}
	types := f.strs("type")
	if !isActorType(types) {
		return nil, rejectAs(ErrNotActor, "%s: type %q is not an actor type", iri, types)
	}
	a := &Actor{
		IRI:               iri,
		Type:              types[0],
		PreferredUsername: f.str("preferredUsername"),
		Name:              f.str("name"),
		Inbox:             f.iri("inbox"),
		Outbox:            f.iri("outbox"),
		Followers:         f.iri("followers"),
		Following:         f.iri("following"),
		Raw:               data,
	}
	if raw := f["endpoints"]; len(raw) > 0 {
		if ep, err := parseFields(raw); err == nil {
			a.SharedInbox = ep.iri("sharedInbox")
		}
	}
	owner, _ := url.Parse(iri)
	seen := make(map[string]bool)
	add := func(id string, k crypto.PublicKey) {
		if seen[id] {
			return
		}
		seen[id] = true
		a.Keys = append(a.Keys, httpsig.PublicKey{ID: id, Owner: iri, Key: k})
	}
	skip := func(id, why string) {
		r.log.DebugContext(ctx, "deref: skipping actor key",
			slog.String("actor", iri), slog.String("key", id), slog.String("reason", why))
	}
	check := func(id, claimedOwner string) bool {
		ku, err := parseIRI(id)
		if err != nil {
			skip(id, "bad key id")
			return false
		}
		if !sameOrigin(ku, owner) {
			skip(id, "key id of another origin")
			return false
		}
		if claimedOwner != "" && claimedOwner != iri {
			skip(id, "key of another owner")
			return false
		}
		return true
	}
	// Keys come as publicKey (PEM, with an owner) and as assertionMethod
	// (Multikey, FEP-521a, with a controller); both may also name a key by
	// id only, to be fetched when a signature uses it.
	for _, kind := range []struct {
		property, ownerField, keyField string
		parse                          func(string) (crypto.PublicKey, error)
	}{
		{"publicKey", "owner", "publicKeyPem", parsePEM},
		{"assertionMethod", "controller", "publicKeyMultibase", httpsig.ParseMultikey},
	} {
		for _, raw := range f.each(kind.property) {
			if s := rawString(raw); s != "" {
				if check(s, "") {
					a.claimed = append(a.claimed, s)
				}
				continue
			}
			m, err := parseFields(raw)
			if err != nil {
				continue
			}
			id := m.str("id")
			if !check(id, m.str(kind.ownerField)) {
				continue
			}
			material := m.str(kind.keyField)
			if material == "" {
				a.claimed = append(a.claimed, id)
				continue
			}
			k, err := kind.parse(material)
			if err != nil {
				skip(id, err.Error())
				continue
			}
			add(id, k)
		}
	}
	return a, nil
}

// keyDocument reads a standalone key document (CryptographicKey, Key,
// Multikey): its owner (or controller) and its key material.
func keyDocument(f fields) (owner string, key crypto.PublicKey, err error) {
	owner = f.iri("owner")
	if owner == "" {
		owner = f.iri("controller")
	}
	if pem := f.str("publicKeyPem"); pem != "" {
		key, err = parsePEM(pem)
	} else if mb := f.str("publicKeyMultibase"); mb != "" {
		key, err = httpsig.ParseMultikey(mb)
	}
	return owner, key, err
}

// parsePEM parses a publicKeyPem value. Besides proper PEM it accepts the
// variants seen in the wild: CRLF line ends, and the whole key on one line
// with spaces where the newlines were.
func parsePEM(s string) (crypto.PublicKey, error) {
	k, err := httpsig.ParsePublicKeyPEM(s)
	if err == nil {
		return k, nil
	}
	rest, ok := strings.CutPrefix(strings.TrimSpace(s), "-----BEGIN ")
	if !ok {
		return nil, err
	}
	label, rest, ok := strings.Cut(rest, "-----")
	if !ok {
		return nil, err
	}
	body, _, ok := strings.Cut(rest, "-----END "+label+"-----")
	if !ok {
		return nil, err
	}
	body = strings.Join(strings.Fields(body), "")
	var b strings.Builder
	b.WriteString("-----BEGIN " + label + "-----\n")
	for len(body) > 64 {
		b.WriteString(body[:64] + "\n")
		body = body[64:]
	}
	b.WriteString(body + "\n-----END " + label + "-----\n")
	return httpsig.ParsePublicKeyPEM(b.String())
}
