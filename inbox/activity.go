package inbox

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/url"

	"code.superseriousbusiness.org/activity/streams/vocab"

	"github.com/slothpub/slothpub/actor"
	"github.com/slothpub/slothpub/ap"
	"github.com/slothpub/slothpub/httpsig"
)

// Activity is an authenticated incoming activity, read through the fast
// view (ap.Doc); the generated vocabulary value is built on demand
// (Vocab).
type Activity struct {
	// ID is the activity's id; for an activity sent without one, a
	// "urn:sha256:" name derived from its body.
	ID    *url.URL
	Type  string   // its type name, e.g. "Follow" (an extension type's own name, e.g. "QuoteRequest")
	Actor *url.URL // the actor, proven by the signature
	// Doc is the activity as decoded, with the embedded copies of objects
	// the actor cannot vouch for replaced by their ids. Listeners must
	// not change it.
	Doc *ap.Doc
	// Raw is the body as received, except that embedded copies of objects
	// the actor cannot vouch for are replaced by their ids.
	Raw []byte
	// Signature is what the HTTP signature proved.
	Signature *httpsig.Result
	// Receiver is the owner of the personal inbox it arrived at; nil for
	// the shared inbox.
	Receiver *actor.Actor

	answers []*actor.Actor // for an Accept or Reject: the local followers it answers, once admitted
	local   bool           // one of our own, delivered in process (outbox.Options.LocalInbox)
	// id and actor are ID and Actor as strings, made once by the
	// constructors (the store keys everything by them); empty in an
	// Activity made otherwise.
	id, actor string
}

// idString returns a.ID as a string.
func (a *Activity) idString() string {
	if a.id == "" {
		return a.ID.String()
	}
	return a.id
}

// actorString returns a.Actor as a string.
func (a *Activity) actorString() string {
	if a.actor == "" {
		return a.Actor.String()
	}
	return a.actor
}

// Vocab returns the activity as a generated vocabulary value, built from
// Doc on the first call (ap.Doc.Vocab). Reading it through Doc and the ap
// readers is cheaper and enough for most listeners.
func (a *Activity) Vocab(ctx context.Context) (vocab.Type, error) { return a.Doc.Vocab(ctx) }

// Listener handles one incoming activity, after the 202, from the
// processing job. An error whose ap status is 5xx (or that carries none)
// makes the worker try again later, with backoff: the next attempt runs
// this listener and the ones after it again, never the default side
// effects nor the listeners that already succeeded. An *ap.Error with a
// 4xx status ends the activity's processing: it stays recorded, its job is
// discarded with the error as the reason, and it is not run again. A
// listener runs at least once per activity (more when its process dies
// before its success is recorded), so it should be idempotent.
type Listener func(ctx context.Context, a *Activity) error

// On registers fn for activities of the given type name ("Follow",
// "Create", ...); the empty name registers it for every activity.
// Listeners run after the default side effects: those registered for the
// type first, then those for every type, each group in registration order.
func (h *Handler) On(typeName string, fn Listener) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.listeners[typeName] = append(h.listeners[typeName], fn)
}

// OnType registers fn for every activity whose generated value is a T,
// for instance vocab.ActivityStreamsFollow:
//
//	inbox.OnType(h, func(ctx context.Context, a *inbox.Activity, f vocab.ActivityStreamsFollow) error { ... })
//
// It builds the generated value of every activity (see Activity.Vocab);
// On with a type name and the ap.Doc readers costs less. An activity the
// vocabulary cannot read is not a T.
func OnType[T vocab.Type](h *Handler, fn func(ctx context.Context, a *Activity, v T) error) {
	h.On("", func(ctx context.Context, a *Activity) error {
		v, err := a.Vocab(ctx)
		if err != nil {
			return nil
		}
		if v, ok := v.(T); ok {
			return fn(ctx, a, v)
		}
		return nil
	})
}

// newActivity checks what the signature proves against what the activity
// claims: it must have an id and exactly one actor, the signer must speak for
// that actor and the id must share the actor's origin.
func newActivity(d *ap.Doc, raw []byte, sig *httpsig.Result, receiver *actor.Actor) (*Activity, error) {
	id := d.ID()
	anonymous := id == nil
	if anonymous {
		// Some servers send transient activities without an id (GoToSocial
		// Deletes, for one); the body's digest keys their idempotency.
		sum := sha256.Sum256(raw)
		id = &url.URL{Scheme: "urn", Opaque: "sha256:" + hex.EncodeToString(sum[:])}
	}
	actors := d.Actors()
	if len(actors) != 1 {
		return nil, ap.Errorf(http.StatusBadRequest, "activity must have exactly one actor", nil)
	}
	a := actors[0]
	as := a.String()
	if sig == nil || sig.Owner != as {
		return nil, ap.Errorf(http.StatusForbidden, "signer does not speak for the activity's actor", nil)
	}
	if !anonymous && !ap.SameOrigin(id, a) {
		return nil, ap.Errorf(http.StatusForbidden, "activity id and actor have different origins", nil)
	}
	return &Activity{ID: id, Type: d.Type(), Actor: a, Doc: d, Raw: raw, Signature: sig, Receiver: receiver, id: id.String(), actor: as}, nil
}

// admit runs the checks that need the store but no network, before the
// activity is stored, so that what they refuse changes nothing: the
// ownership of what it creates, updates, deletes or undoes
// (checkOwnership), and, for an Accept
// or Reject that claims to answer a Follow by a local actor must answer one
// that actor sent to the signer's actor (see answeredFollows). With
// Options.DisableDefaults the application decides, and nothing is refused
// here.
func (h *Handler) admit(ctx context.Context, act *Activity) error {
	if h.opts.DisableDefaults {
		return nil
	}
	if err := h.checkOwnership(ctx, h.db, act); err != nil {
		return err
	}
	if act.Type != "Accept" && act.Type != "Reject" {
		return nil
	}
	if done, err := h.db.HasItem(ctx, processedKey, act.idString()); err != nil || done {
		return err // a repeated delivery of an answer processed before
	}
	locals, claimed, err := h.answeredFollows(ctx, h.db, act)
	if err != nil {
		return err
	}
	if claimed && len(locals) == 0 {
		return ap.Errorf(http.StatusForbidden, act.Type+" does not answer a Follow sent to its actor", nil)
	}
	act.answers = locals
	return nil
}

// vouchesFor reports whether an activity by actor may carry v embedded as
// the copy of object id: the object must share actor's origin, and so must
// every attributedTo it names (FEP-fe34). Any other copy is unverified; it
// is replaced by a reference, and the object is fetched from its origin.
func vouchesFor(actor *url.URL) func(id *url.URL, o *ap.Doc) bool {
	return func(id *url.URL, o *ap.Doc) bool {
		if !ap.SameOrigin(id, actor) {
			return false
		}
		for _, by := range o.AttributedTo() {
			if !ap.SameOrigin(by, id) {
				return false
			}
		}
		return true
	}
}

// distrust replaces the embedded objects the activity's actor cannot
// vouch for by references to their ids, in both the decoded document and
// the raw one: what is stored and what listeners see never carries an
// unverified copy of someone else's object.
//
// The raw document keeps the bytes received for everything else: the
// decoded document is encoded again only for a document whose object
// cannot be found in the JSON itself.
func (a *Activity) distrust() error {
	keep := vouchesFor(a.Actor)
	var refused []*url.URL
	if !a.Doc.ReferObjects(func(id *url.URL, o *ap.Doc) bool {
		if keep(id, o) {
			return true
		}
		refused = append(refused, id)
		return false
	}) {
		return nil
	}
	raw, err := ap.ReferJSON(a.Raw, refused)
	if err != nil {
		if raw, err = a.Doc.JSON(); err != nil {
			return ap.Errorf(http.StatusBadRequest, "activity cannot be serialised", err)
		}
	}
	a.Raw = raw
	return nil
}
