package actor

import (
	"crypto"
	"fmt"
	"net/url"
	"time"

	"github.com/slothpub/slothpub/httpsig"
	"github.com/slothpub/slothpub/internal/jsonld"
)

// Actor is a local actor: a user (type Person) or the instance actor (type
// Application). Its methods are safe for concurrent use; URLs are returned
// as fresh copies the caller may modify.
type Actor struct {
	// Username is the actor's local name (its preferredUsername), always
	// lower case. For the instance actor it is the host name.
	Username string

	iri      *url.URL
	key      crypto.Signer
	pubPEM   string
	signer   *httpsig.Signer
	doc      []byte
	created  time.Time
	instance bool
}

func (a *Actor) sub(suffix string) *url.URL {
	u := *a.iri
	u.Path += suffix
	return &u
}

// IRI returns the actor's id.
func (a *Actor) IRI() *url.URL { return a.sub("") }

// Inbox returns {actor}/inbox.
func (a *Actor) Inbox() *url.URL { return a.sub("/inbox") }

// Outbox returns {actor}/outbox.
func (a *Actor) Outbox() *url.URL { return a.sub("/outbox") }

// Followers returns {actor}/followers, also the key of the followers
// collection in store.Collections.
func (a *Actor) Followers() *url.URL { return a.sub("/followers") }

// Following returns {actor}/following.
func (a *Actor) Following() *url.URL { return a.sub("/following") }

// Featured returns {actor}/featured (pinned objects).
func (a *Actor) Featured() *url.URL { return a.sub("/featured") }

// Liked returns {actor}/liked.
func (a *Actor) Liked() *url.URL { return a.sub("/liked") }

// KeyID returns the id of the actor's public key, {actor}#main-key.
func (a *Actor) KeyID() string { return a.iri.String() + "#main-key" }

// Signer returns the HTTP signer that signs requests as this actor.
func (a *Actor) Signer() *httpsig.Signer { return a.signer }

// PublicKeyPEM returns the actor's public key as PKIX PEM.
func (a *Actor) PublicKeyPEM() string { return a.pubPEM }

// IsInstance reports whether a is the instance actor.
func (a *Actor) IsInstance() bool { return a.instance }

// Document returns the actor's JSON document as it was when the actor was
// loaded. The HTTP handlers serve the stored copy, so edits stored later
// (a new display name, say) are served without a reload. The caller must
// not modify the returned slice.
func (a *Actor) Document() []byte { return a.doc }

// Context of actor documents: ActivityStreams, the security vocabulary
// (publicKey) and the Mastodon extensions the document uses, declared as
// Mastodon declares them.
func actorContext() []any {
	return []any{
		"https://www.w3.org/ns/activitystreams",
		"https://w3id.org/security/v1",
		map[string]any{
			"manuallyApprovesFollowers": "as:manuallyApprovesFollowers",
			"toot":                      "http://joinmastodon.org/ns#",
			"featured":                  map[string]string{"@id": "toot:featured", "@type": "@id"},
			"discoverable":              "toot:discoverable",
		},
	}
}

type actorDocument struct {
	Context                   []any         `json:"@context"`
	ID                        string        `json:"id"`
	Type                      string        `json:"type"`
	PreferredUsername         string        `json:"preferredUsername"`
	Name                      string        `json:"name"`
	Inbox                     string        `json:"inbox"`
	Outbox                    string        `json:"outbox"`
	Followers                 string        `json:"followers,omitempty"`
	Following                 string        `json:"following,omitempty"`
	Featured                  string        `json:"featured,omitempty"`
	Liked                     string        `json:"liked,omitempty"`
	URL                       string        `json:"url"`
	ManuallyApprovesFollowers bool          `json:"manuallyApprovesFollowers"`
	Discoverable              bool          `json:"discoverable"`
	Endpoints                 endpoints     `json:"endpoints"`
	PublicKey                 publicKeyJSON `json:"publicKey"`
	Published                 string        `json:"published"`
}

type endpoints struct {
	SharedInbox string `json:"sharedInbox"`
}

type publicKeyJSON struct {
	ID           string `json:"id"`
	Owner        string `json:"owner"`
	PublicKeyPem string `json:"publicKeyPem"`
}

// document renders a's actor document. Users are Persons with all their
// collections; the instance actor is an Application with an inbox and an
// outbox only, which approves followers manually.
func (d *Directory) document(a *Actor) ([]byte, error) {
	id := a.iri.String()
	doc := actorDocument{
		Context:           actorContext(),
		ID:                id,
		Type:              "Person",
		PreferredUsername: a.Username,
		Name:              a.Username,
		Inbox:             a.Inbox().String(),
		Outbox:            a.Outbox().String(),
		Followers:         a.Followers().String(),
		Following:         a.Following().String(),
		Featured:          a.Featured().String(),
		Liked:             a.Liked().String(),
		URL:               id,
		Endpoints:         endpoints{SharedInbox: d.SharedInbox().String()},
		PublicKey:         publicKeyJSON{ID: a.KeyID(), Owner: id, PublicKeyPem: a.pubPEM},
		Published:         a.created.UTC().Format(time.RFC3339),
	}
	if a.instance {
		doc.Type = "Application"
		doc.Followers, doc.Following, doc.Featured, doc.Liked = "", "", "", ""
		doc.ManuallyApprovesFollowers = true
		doc.URL = d.iri("/").String()
	}
	b, err := jsonld.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("actor: encode document of %q: %w", a.Username, err)
	}
	return b, nil
}
