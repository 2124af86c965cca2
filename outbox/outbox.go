package outbox

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"code.superseriousbusiness.org/activity/streams/vocab"
	"github.com/google/uuid"

	"github.com/slothpub/slothpub/actor"
	"github.com/slothpub/slothpub/ap"
	"github.com/slothpub/slothpub/deref"
	"github.com/slothpub/slothpub/store"
)

// ErrQueueFull is returned by Post when the delivery queue cannot take the
// activity's deliveries. The activity itself has been stored.
var ErrQueueFull = errors.New("outbox: delivery queue full")

// ActorResolver finds a remote actor's inboxes. *deref.Resolver
// implements it.
type ActorResolver interface {
	Actor(ctx context.Context, iri *url.URL) (*deref.Actor, error)
}

// Options configure an Outbox. A nil *Options means all defaults.
type Options struct {
	// Workers is the number of concurrent deliveries; default 4.
	Workers int
	// QueueSize bounds the deliveries waiting in memory; default 10000.
	QueueSize int
	// MaxAttempts is how often a delivery is tried before it is given up;
	// default 5.
	MaxAttempts int
	// Backoff is the wait before retry number attempt (1-based); default:
	// 30s·4^(attempt-1) with ±25% jitter, capped at 6h.
	Backoff func(attempt int) time.Duration
	// OnPermanentFailure is called when a delivery is given up, with the
	// last error. It must not block.
	OnPermanentFailure func(d Delivery, err error)
	// LocalInbox, when set, receives deliveries to this server's own
	// inboxes in process (signed like any other, so they pass the same
	// verification) instead of over the network, where the private-address
	// guard or a NAT without hairpinning could stop them. Pass the
	// http.Handler the inbox is mounted on (the instance's ServeMux).
	LocalInbox http.Handler
	// Clock returns the current time; nil means time.Now.
	Clock func() time.Time
	// Logger; nil means slog.Default().
	Logger *slog.Logger
}

// Delivery is one activity on its way to one inbox.
type Delivery struct {
	Activity string   // activity IRI
	Inbox    *url.URL // target inbox
	From     string   // username of the sending local actor
	Body     []byte   // the activity as sent (bto/bcc removed)
	Attempts int      // attempts made so far
}

// Outbox publishes and delivers the activities of local actors. Create one
// with New, start its workers with Run; Post may be called before Run.
type Outbox struct {
	st       store.Store
	actors   *actor.Directory
	tr       ap.Transport
	resolver ActorResolver
	opts     Options
	log      *slog.Logger
	q        *queue
}

// New returns an Outbox storing in st, publishing for the local actors in
// actors, resolving remote recipients with resolver and sending with tr.
func New(st store.Store, actors *actor.Directory, tr ap.Transport, resolver ActorResolver, opts *Options) *Outbox {
	o := &Outbox{st: st, actors: actors, tr: tr, resolver: resolver}
	if opts != nil {
		o.opts = *opts
	}
	if o.opts.Workers <= 0 {
		o.opts.Workers = 4
	}
	if o.opts.QueueSize <= 0 {
		o.opts.QueueSize = 10000
	}
	if o.opts.MaxAttempts <= 0 {
		o.opts.MaxAttempts = 5
	}
	if o.opts.Backoff == nil {
		o.opts.Backoff = DefaultBackoff
	}
	if o.opts.Clock == nil {
		o.opts.Clock = time.Now
	}
	o.log = o.opts.Logger
	if o.log == nil {
		o.log = slog.Default()
	}
	o.q = newQueue(o.opts.QueueSize, o.opts.Clock)
	return o
}

// Post publishes activity as from: it assigns ids where missing (the
// activity's, and that of the object a Create carries), sets the actor,
// stores both, appends the activity to from's outbox when it is a public or
// unlisted post or boost (a Create or an Announce addressed to Public in
// "to" or "cc") and queues its deliveries. It returns the activity's id.
//
// Post runs the sender-side effects of the core activities: a Create stores
// its object, a Delete of a local object leaves a Tombstone, a Like is added
// to from's liked collection, a Follow is recorded as pending until it is
// answered (store.PendingFollowKey), an Undo(Follow) removes the
// followee from from's following collection and forgets the pending Follow,
// and an Undo(Announce), like the Delete of a post, takes the boost or the
// post's Create out of from's outbox.
func (o *Outbox) Post(ctx context.Context, from *actor.Actor, activity vocab.Type) (*url.URL, error) {
	now := o.opts.Clock().UTC()
	if acts := ap.Actors(activity); len(acts) == 0 {
		ap.SetActor(activity, from.IRI())
	} else if len(acts) != 1 || acts[0].String() != from.IRI().String() {
		return nil, ap.Errorf(http.StatusBadRequest, "an actor can only post its own activities", nil)
	}
	id := ap.ID(activity)
	if id == nil {
		id = o.newIRI(from, "activities")
		ap.SetID(activity, id)
	}
	if !o.actors.IsLocal(id) {
		return nil, ap.Errorf(http.StatusBadRequest, "activity id must be local", nil)
	}
	if err := o.senderEffects(ctx, from, activity, now); err != nil {
		return nil, err
	}
	stored, err := ap.Serialize(activity)
	if err != nil {
		return nil, fmt.Errorf("outbox: serialise: %w", err)
	}
	rec := &store.Object{IRI: id.String(), Type: activity.GetTypeName(), Actor: from.IRI().String(), Local: true, Data: stored}
	if err := o.st.CreateObject(ctx, rec); err != nil {
		return nil, fmt.Errorf("outbox: store activity: %w", err)
	}
	if listedInOutbox(activity) {
		if err := o.st.AddItem(ctx, from.Outbox().String(), id.String()); err != nil && !errors.Is(err, store.ErrExists) {
			return nil, fmt.Errorf("outbox: outbox collection: %w", err)
		}
	}
	inboxes, err := o.inboxes(ctx, from, activity)
	if err != nil {
		return nil, err
	}
	if inboxes, err = o.trackReach(ctx, activity, inboxes); err != nil {
		return nil, err
	}
	ap.StripBlind(activity)
	body, err := ap.Serialize(activity)
	if err != nil {
		return nil, fmt.Errorf("outbox: serialise: %w", err)
	}
	ds := make([]*Delivery, 0, len(inboxes))
	for _, in := range inboxes {
		ds = append(ds, &Delivery{Activity: id.String(), Inbox: in, From: from.Username, Body: body})
	}
	if !o.q.push(ds...) {
		return id, ErrQueueFull
	}
	return id, nil
}

// listedInOutbox reports whether activity belongs in the outbox collection
// that other servers read. As in Mastodon, that is public and unlisted
// posts and boosts: a Create or an Announce addressed to Public in "to" or
// "cc". Every other activity (Follow, Accept, Like, Undo, Delete, and posts
// to followers or to named actors only) is stored and delivered but not
// listed, so the collection's count is what a reader may see.
func listedInOutbox(activity vocab.Type) bool {
	switch activity.GetTypeName() {
	case "Create", "Announce":
	default:
		return false
	}
	for _, list := range [][]*url.URL{ap.To(activity), ap.Cc(activity)} {
		for _, u := range list {
			if ap.IsPublic(u.String()) {
				return true
			}
		}
	}
	return false
}

// post sends one delivery: through Options.LocalInbox for our own inboxes
// when it is set, else through the Transport.
func (o *Outbox) post(ctx context.Context, inbox *url.URL, body []byte, s ap.RequestSigner) error {
	if o.opts.LocalInbox == nil || !o.actors.IsLocal(inbox) {
		return o.tr.Post(ctx, inbox, body, s)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, inbox.String(), bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", ap.ContentType)
	if err := s.SignRequest(req, body); err != nil {
		return err
	}
	req.RequestURI = inbox.RequestURI()
	req.RemoteAddr = "127.0.0.1:0"
	w := &statusWriter{header: http.Header{}}
	o.opts.LocalInbox.ServeHTTP(w, req)
	if w.status == 0 {
		w.status = http.StatusOK
	}
	if w.status < 200 || w.status > 299 {
		return &ap.RemoteError{Method: http.MethodPost, URL: inbox.String(), StatusCode: w.status, Header: w.header}
	}
	return nil
}

// statusWriter is the http.ResponseWriter of an in-process delivery: it
// keeps the status and headers and discards the body.
type statusWriter struct {
	header http.Header
	status int
}

func (w *statusWriter) Header() http.Header { return w.header }

func (w *statusWriter) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
}

func (w *statusWriter) Write(b []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	return len(b), nil
}

func (o *Outbox) newIRI(from *actor.Actor, kind string) *url.URL {
	u := *from.IRI()
	u.Path = strings.TrimSuffix(u.Path, "/") + "/" + kind + "/" + uuid.NewString()
	return &u
}

// senderEffects gives a Create's object its id and stores it, and keeps
// from's collections in step with what it does.
func (o *Outbox) senderEffects(ctx context.Context, from *actor.Actor, activity vocab.Type, now time.Time) error {
	objs := ap.EmbeddedObjects(activity)
	iris := ap.Objects(activity)
	switch activity.GetTypeName() {
	case "Create":
		for _, obj := range objs {
			oid := ap.ID(obj)
			if oid == nil {
				oid = o.newIRI(from, "statuses")
				ap.SetID(obj, oid)
			}
			if !o.actors.IsLocal(oid) {
				return ap.Errorf(http.StatusBadRequest, "created object id must be local", nil)
			}
			if len(ap.AttributedTo(obj)) == 0 {
				ap.SetAttributedTo(obj, from.IRI())
			}
			ap.SetPublishedIfMissing(obj, now)
			ap.CopyAddressing(activity, obj)
			data, err := ap.Serialize(obj)
			if err != nil {
				return fmt.Errorf("outbox: serialise object: %w", err)
			}
			rec := &store.Object{IRI: oid.String(), Type: obj.GetTypeName(), Actor: from.IRI().String(), Local: true, Data: data}
			if err := o.st.CreateObject(ctx, rec); err != nil {
				return fmt.Errorf("outbox: store object: %w", err)
			}
			if err := o.st.PutValue(ctx, createdByKey(oid.String()), []byte(ap.ID(activity).String()), time.Time{}); err != nil {
				return fmt.Errorf("outbox: record the object's Create: %w", err)
			}
		}
	case "Delete":
		for _, iri := range iris {
			obj, err := o.st.GetObject(ctx, iri.String())
			if errors.Is(err, store.ErrNotFound) {
				continue
			} else if err != nil {
				return err
			}
			if !obj.Local || obj.Actor != from.IRI().String() {
				return ap.Errorf(http.StatusForbidden, "only the owner may delete an object", nil)
			}
			data, err := ap.TombstoneJSON(obj.IRI, obj.Type, now)
			if err != nil {
				return err
			}
			if err := o.st.PutObject(ctx, &store.Object{IRI: obj.IRI, Type: "Tombstone", Actor: obj.Actor, Local: true, Data: data}); err != nil {
				return err
			}
			// The Create embeds what was deleted: it leaves the outbox.
			create, err := o.st.GetValue(ctx, createdByKey(obj.IRI))
			if err == nil {
				err = o.st.RemoveItem(ctx, from.Outbox().String(), string(create))
			}
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				return err
			}
		}
	case "Follow":
		// Remember the Follow until it is answered or undone: only an
		// Accept or Reject of a Follow recorded here changes anything.
		id := ap.ID(activity)
		for _, target := range iris {
			if err := o.st.PutValue(ctx, store.PendingFollowKey(from.IRI().String(), target.String()), []byte(id.String()), time.Time{}); err != nil {
				return fmt.Errorf("outbox: record follow: %w", err)
			}
		}
	case "Like":
		for _, iri := range iris {
			if err := o.st.AddItem(ctx, from.Liked().String(), iri.String()); err != nil && !errors.Is(err, store.ErrExists) {
				return err
			}
		}
	case "Undo":
		for _, iri := range iris {
			undone, err := o.st.GetObject(ctx, iri.String())
			if errors.Is(err, store.ErrNotFound) {
				continue
			} else if err != nil {
				return err
			}
			if !undone.Local || undone.Actor != from.IRI().String() {
				return ap.Errorf(http.StatusForbidden, "an actor can only undo its own activities", nil)
			}
			if undone.Type == "Announce" {
				if err := o.st.RemoveItem(ctx, from.Outbox().String(), undone.IRI); err != nil && !errors.Is(err, store.ErrNotFound) {
					return err
				}
				continue
			}
			v, err := ap.Parse(ctx, undone.Data)
			if err != nil {
				return err
			}
			var coll string
			switch undone.Type {
			case "Follow":
				coll = from.Following().String()
			case "Like":
				coll = from.Liked().String()
			default:
				continue
			}
			for _, target := range ap.Objects(v) {
				if err := o.st.RemoveItem(ctx, coll, target.String()); err != nil && !errors.Is(err, store.ErrNotFound) {
					return err
				}
				if undone.Type != "Follow" {
					continue
				}
				if err := o.st.DeleteValue(ctx, store.PendingFollowKey(from.IRI().String(), target.String())); err != nil && !errors.Is(err, store.ErrNotFound) {
					return err
				}
			}
		}
	}
	return nil
}

// inboxes works out where activity goes: its recipients, with from's
// followers expanded and each actor resolved to its shared inbox when it has
// one, else its own inbox; duplicates merged, local actors included,
// Public and collections we cannot expand skipped.
func (o *Outbox) inboxes(ctx context.Context, from *actor.Actor, activity vocab.Type) ([]*url.URL, error) {
	seenActor := map[string]bool{from.IRI().String(): true}
	var actors []*url.URL
	add := func(u *url.URL) {
		if !seenActor[u.String()] {
			seenActor[u.String()] = true
			actors = append(actors, u)
		}
	}
	followers := from.Followers().String()
	recipients := ap.Recipients(activity)
	implicit, err := o.implicitRecipients(ctx, activity, 0)
	if err != nil {
		return nil, err
	}
	for _, r := range append(recipients, implicit...) {
		switch {
		case ap.IsPublic(r.String()):
		case r.String() == followers:
			if err := store.EachItem(ctx, o.st, followers, func(it string) error {
				if u, err := url.Parse(it); err == nil {
					add(u)
				}
				return nil
			}); err != nil {
				return nil, err
			}
		default:
			add(r)
		}
	}
	seenInbox := map[string]bool{}
	var out []*url.URL
	for _, a := range actors {
		in, err := o.inboxOf(ctx, a)
		if err != nil {
			// A recipient we cannot resolve (gone, a collection, offline)
			// does not stop delivery to the others.
			o.log.Warn("outbox: skipping recipient", "recipient", a.String(), "err", err)
			continue
		}
		if !seenInbox[in.String()] {
			seenInbox[in.String()] = true
			out = append(out, in)
		}
	}
	return out, nil
}

// implicitRecipients returns who must receive activity whatever its
// addressing says, as Mastodon does: the followee of a Follow or Block, the
// follower whose Follow is answered, the author of a liked or boosted object,
// and whoever the undone activity went to.
func (o *Outbox) implicitRecipients(ctx context.Context, activity vocab.Type, depth int) ([]*url.URL, error) {
	if depth > 1 {
		return nil, nil
	}
	var out []*url.URL
	switch activity.GetTypeName() {
	case "Follow", "Block":
		out = append(out, ap.Objects(activity)...)
	case "Accept", "Reject":
		for _, obj := range ap.EmbeddedObjects(activity) {
			out = append(out, ap.Actors(obj)...)
		}
		owners, err := o.owners(ctx, ap.Objects(activity))
		if err != nil {
			return nil, err
		}
		out = append(out, owners...)
	case "Like", "Announce", "Dislike", "EmojiReact":
		owners, err := o.owners(ctx, ap.Objects(activity))
		if err != nil {
			return nil, err
		}
		out = append(out, owners...)
	case "Undo":
		undone := ap.EmbeddedObjects(activity)
		for _, iri := range ap.Objects(activity) {
			if stored, err := o.st.GetObject(ctx, iri.String()); err == nil && stored.Local {
				v, err := ap.Parse(ctx, stored.Data)
				if err != nil {
					return nil, err
				}
				undone = append(undone, v)
			} else if err != nil && !errors.Is(err, store.ErrNotFound) {
				return nil, err
			}
		}
		for _, u := range undone {
			out = append(out, ap.Recipients(u)...)
			more, err := o.implicitRecipients(ctx, u, depth+1)
			if err != nil {
				return nil, err
			}
			out = append(out, more...)
		}
	}
	return out, nil
}

// owners returns the owners (stored actor or author) of the objects we
// know; objects we have never seen are skipped.
func (o *Outbox) owners(ctx context.Context, objects []*url.URL) ([]*url.URL, error) {
	var out []*url.URL
	for _, iri := range objects {
		stored, err := o.st.GetObject(ctx, iri.String())
		if errors.Is(err, store.ErrNotFound) {
			continue
		} else if err != nil {
			return nil, err
		}
		if u, err := url.Parse(stored.Actor); err == nil && stored.Actor != "" {
			out = append(out, u)
		}
	}
	return out, nil
}

// createdByKey names the store value that holds the IRI of the Create of a
// local object, so that its Delete takes that Create out of the outbox.
func createdByKey(object string) string { return "slothpub:created-by:" + object }

// reachKey names the internal collection of inboxes a local object was
// delivered to, so that its Delete or Update reaches them all even after
// followers have left. It is never served.
func reachKey(object string) string { return "slothpub:reach:" + object }

// trackReach records where a Create's objects go, and adds to a Delete or
// Update of a local object every inbox its Create went to.
func (o *Outbox) trackReach(ctx context.Context, activity vocab.Type, inboxes []*url.URL) ([]*url.URL, error) {
	seen := map[string]bool{}
	for _, in := range inboxes {
		seen[in.String()] = true
	}
	for _, obj := range ap.Objects(activity) {
		if !o.actors.IsLocal(obj) {
			continue
		}
		switch activity.GetTypeName() {
		case "Create":
			for _, in := range inboxes {
				if err := o.st.AddItem(ctx, reachKey(obj.String()), in.String()); err != nil && !errors.Is(err, store.ErrExists) {
					return nil, err
				}
			}
		case "Delete", "Update":
			if err := store.EachItem(ctx, o.st, reachKey(obj.String()), func(it string) error {
				if u, err := url.Parse(it); err == nil && !seen[it] {
					seen[it] = true
					inboxes = append(inboxes, u)
				}
				return nil
			}); err != nil {
				return nil, err
			}
		}
	}
	return inboxes, nil
}

func (o *Outbox) inboxOf(ctx context.Context, a *url.URL) (*url.URL, error) {
	if o.actors.IsLocal(a) {
		la, err := o.actors.ByIRI(ctx, a.String())
		if err != nil {
			return nil, err
		}
		return la.Inbox(), nil
	}
	ra, err := o.resolver.Actor(ctx, a)
	if err != nil {
		return nil, err
	}
	in := ra.SharedInbox
	if in == "" {
		in = ra.Inbox
	}
	if in == "" {
		return nil, errors.New("actor has no inbox")
	}
	u, err := url.Parse(in)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") {
		return nil, fmt.Errorf("actor inbox %q is not an http(s) URL", in)
	}
	return u, nil
}
