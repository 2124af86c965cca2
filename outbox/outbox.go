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

	"code.superseriousbusiness.org/activity/streams"
	"code.superseriousbusiness.org/activity/streams/vocab"
	"github.com/google/uuid"

	"github.com/slothpub/slothpub/actor"
	"github.com/slothpub/slothpub/ap"
	"github.com/slothpub/slothpub/deref"
	"github.com/slothpub/slothpub/store"
	"github.com/slothpub/slothpub/store/worker"
)

// Job kinds of the outbox: the fan-out of one activity to its audience,
// and one delivery of one activity to one inbox.
const (
	FanoutKind  = "outbox.fanout"
	DeliverKind = "outbox.deliver"
)

// ActorResolver finds a remote actor's inboxes. *deref.Resolver
// implements it.
type ActorResolver interface {
	Actor(ctx context.Context, iri *url.URL) (*deref.Actor, error)
}

// CollectionResolver is an ActorResolver that also reads remote
// collections page by page, as *deref.Resolver does. With one, the
// fan-out delivers to the members of a remote collection among the
// recipients (a recipient whose Actor error wraps deref.ErrNotActor):
// at most Options.MaxCollectionItems of each, on at most
// maxCollectionPages pages; members that are collections themselves are
// not expanded.
type CollectionResolver interface {
	ActorResolver
	CollectionPage(ctx context.Context, iri *url.URL) (*deref.CollectionPage, error)
}

var _ CollectionResolver = (*deref.Resolver)(nil)

// Options configure an Outbox. A nil *Options means all defaults.
type Options struct {
	// Worker runs the fan-out and delivery jobs (required): the Outbox
	// registers FanoutKind and DeliverKind with it. Its Concurrency bounds
	// the deliveries in flight in this process.
	Worker *worker.Worker
	// MaxPerHost bounds the deliveries in flight to one host in this
	// process; default 8. A delivery beyond it waits (snoozed, its attempt
	// not counted).
	MaxPerHost int
	// MaxAttempts is how often a delivery is tried before it is given up
	// (dead); default DefaultMaxAttempts, which with DefaultBackoff
	// retries for about two days, as Mastodon does. A Worker whose
	// MaxAttempts is lower lowers it.
	MaxAttempts int
	// Backoff is the wait before the attempt after failed attempt n
	// (1-based); default DefaultBackoff. A 429 or 503 with Retry-After
	// waits what the peer asked instead.
	Backoff func(attempt int) time.Duration
	// OnPermanentFailure is called when a delivery is given up: refused
	// for good by the peer (a 4xx other than 408 and 429), or out of
	// attempts. It must not block.
	OnPermanentFailure func(d Delivery, err error)
	// BreakerThreshold is how many deliveries to one host must fail in a
	// row (timeouts, refused connections, 5xx) before its circuit breaker
	// opens: deliveries to it then wait, without using attempts, until a
	// single probe after BreakerCooldown succeeds. Default 10.
	BreakerThreshold int
	// BreakerCooldown is how long an open breaker waits before its first
	// probe; each failed probe doubles it, up to an hour. Default one
	// minute.
	BreakerCooldown time.Duration
	// FanoutPage is how many followers one fan-out step reads, resolves
	// and enqueues deliveries for; default 500.
	FanoutPage int
	// MaxQueued pauses fan-outs while this many deliveries are due and
	// waiting for a worker, so that a huge audience is enqueued at the
	// pace it is delivered and the queue stays short; default 10000.
	// Deliveries waiting for a later attempt (a host that is down, a
	// Retry-After) do not count: they never hold up other fan-outs.
	MaxQueued int
	// MaxCollectionItems bounds the members of one remote collection
	// among the recipients that are delivered to (see
	// CollectionResolver); default 10000.
	MaxCollectionItems int
	// ResolveTimeout bounds the resolution of the actors of one fan-out
	// step to their inboxes; default 30s.
	ResolveTimeout time.Duration
	// LocalInbox, when set, receives deliveries to this server's own
	// inboxes in process (signed like any other, so they pass the same
	// verification) instead of over the network, where the private-address
	// guard or a NAT without hairpinning could stop them. Pass the
	// http.Handler the inbox is mounted on (the instance's ServeMux).
	LocalInbox http.Handler
	// ForgetSent deletes the job of each delivery the inbox accepted,
	// instead of keeping it completed for the worker's Retention (a week
	// by default): the store then does not grow by one job per delivery
	// (on memstore, about 190 bytes of memory each). DeliveryStatus reports
	// such a delivery sent, from the activity's deliveries, without its
	// Attempts and Finished; failures are recorded either way and keep
	// their state (failed, dead) after their jobs are gone.
	ForgetSent bool
	// Clock returns the current time; nil means time.Now. It must agree
	// with the store's.
	Clock func() time.Time
	// Logger; nil means slog.Default().
	Logger *slog.Logger
}

// DefaultMaxAttempts is the default of Options.MaxAttempts.
const DefaultMaxAttempts = 16

// Delivery is one activity on its way to one inbox.
type Delivery struct {
	Activity string   // activity IRI
	Inbox    *url.URL // target inbox
	From     string   // username of the sending local actor
	Attempts int      // attempts made so far
}

// Outbox publishes and delivers the activities of local actors. Create one
// with New; its jobs run on Options.Worker.
type Outbox struct {
	db       *store.DB
	actors   *actor.Directory
	tr       ap.Transport
	resolver ActorResolver
	opts     Options
	log      *slog.Logger
	hosts    *hostTable
	bodies   bodyCache
	memo     memo // of the inbox cache and the gone inboxes
}

// New returns an Outbox storing in db, publishing for the local actors in
// actors (a Directory over the same db), resolving remote recipients with
// resolver and sending with tr. It registers its jobs with opts.Worker,
// which is required.
func New(db *store.DB, actors *actor.Directory, tr ap.Transport, resolver ActorResolver, opts *Options) (*Outbox, error) {
	o := &Outbox{db: db, actors: actors, tr: tr, resolver: resolver}
	if opts != nil {
		o.opts = *opts
	}
	switch {
	case db == nil:
		return nil, errors.New("outbox: New without a store")
	case actors == nil:
		return nil, errors.New("outbox: New without an actor directory")
	case tr == nil:
		return nil, errors.New("outbox: New without a transport")
	case resolver == nil:
		return nil, errors.New("outbox: New without an actor resolver")
	case o.opts.Worker == nil:
		return nil, errors.New("outbox: New without Options.Worker: nothing would be delivered")
	}
	if o.opts.MaxPerHost <= 0 {
		o.opts.MaxPerHost = 8
	}
	if o.opts.MaxAttempts <= 0 {
		o.opts.MaxAttempts = DefaultMaxAttempts
	}
	// The worker would discard a delivery after its own last attempt,
	// without the outbox's state (dead) or OnPermanentFailure: the
	// outbox gives up no later.
	o.opts.MaxAttempts = min(o.opts.MaxAttempts, o.opts.Worker.MaxAttempts())
	if o.opts.Backoff == nil {
		o.opts.Backoff = DefaultBackoff
	}
	if o.opts.BreakerThreshold <= 0 {
		o.opts.BreakerThreshold = 10
	}
	if o.opts.BreakerCooldown <= 0 {
		o.opts.BreakerCooldown = time.Minute
	}
	if o.opts.FanoutPage <= 0 {
		o.opts.FanoutPage = 500
	}
	o.opts.FanoutPage = min(o.opts.FanoutPage, store.MaxPageLimit)
	if o.opts.MaxQueued <= 0 {
		o.opts.MaxQueued = 10000
	}
	if o.opts.MaxCollectionItems <= 0 {
		o.opts.MaxCollectionItems = 10000
	}
	if o.opts.ResolveTimeout <= 0 {
		o.opts.ResolveTimeout = 30 * time.Second
	}
	if o.opts.Clock == nil {
		o.opts.Clock = time.Now
	}
	o.log = o.opts.Logger
	if o.log == nil {
		o.log = slog.Default()
	}
	o.hosts = newHostTable(o.opts.MaxPerHost, o.opts.BreakerThreshold, o.opts.BreakerCooldown)
	o.opts.Worker.Handle(FanoutKind, o.orderedFanoutJob)
	o.opts.Worker.Handle(DeliverKind, o.deliverJob)
	return o, nil
}

// Post publishes activity as from in a unit of work of its own (see
// PostTx) and wakes the worker. When it returns nil the activity is
// stored and its delivery is durable: it happens even if the process
// stops right after.
func (o *Outbox) Post(ctx context.Context, from *actor.Actor, activity vocab.Type) (*url.URL, error) {
	var id *url.URL
	err := o.db.Update(ctx, func(tx *store.Tx) error {
		var err error
		id, err = o.PostTx(store.WithTx(ctx, tx), tx, from, activity)
		return err
	})
	if err != nil {
		return nil, err
	}
	o.opts.Worker.Notify()
	return id, nil
}

// PostTx publishes activity as from inside the unit tx: it assigns ids
// where missing (the activity's, and that of the object a Create
// carries), sets the actor, and in tx stores both, appends the activity
// to from's outbox when it is a public or unlisted post or boost (a
// Create or an Announce addressed to Public in "to" or "cc"), and enqueues
// one fan-out job, which works out the audience and enqueues the
// deliveries. It returns the activity's id. A bare object (a Note, say) is
// wrapped in a Create carrying its addressing, as the client-to-server
// rules say. What is stored and sent has bto and bcc removed; they are
// kept, with the other recipients, in the fan-out job only.
//
// Call the Worker's Notify after tx commits, for the fan-out to start at
// once; Post does. activity is changed in place (ids, actor, bto/bcc).
//
// PostTx runs the sender-side effects of the core activities: a Create stores
// its object, a Delete of a local object leaves a Tombstone, a Like is added
// to from's liked collection, a Follow is recorded as pending until it is
// answered (store.PendingFollowKey), a Block adds its object to from's
// blocked collection (store.BlocksCollection), an Undo(Follow) removes the
// followee from from's following collection and forgets the pending Follow,
// an Undo(Block) takes the actor out of the blocked collection, and an
// Undo(Announce), like the Delete of a post, takes the boost or the post's
// Create out of from's outbox.
func (o *Outbox) PostTx(ctx context.Context, tx *store.Tx, from *actor.Actor, activity vocab.Type) (*url.URL, error) {
	now := o.opts.Clock().UTC()
	if activity == nil {
		return nil, ap.Errorf(http.StatusBadRequest, "nothing to post", nil)
	}
	if !isActivity(activity) {
		activity = ap.NewCreate(nil, from.IRI(), activity)
	}
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
	if err := o.prepareCreate(from, activity, now); err != nil {
		return nil, err
	}
	recipients, err := o.recipients(ctx, tx, activity)
	if err != nil {
		return nil, err
	}
	ap.StripBlind(activity)
	if err := o.senderEffects(ctx, tx, from, activity, now); err != nil {
		return nil, err
	}
	body, err := ap.Serialize(activity)
	if err != nil {
		return nil, fmt.Errorf("outbox: serialise: %w", err)
	}
	rec := &store.Object{IRI: id.String(), Type: activity.GetTypeName(), Actor: from.IRI().String(), Local: true, Data: body}
	if err := tx.CreateObject(ctx, rec); err != nil {
		return nil, fmt.Errorf("outbox: store activity: %w", err)
	}
	if listedInOutbox(activity) {
		if err := tx.AddItem(ctx, from.Outbox().String(), id.String()); err != nil && !errors.Is(err, store.ErrExists) {
			return nil, fmt.Errorf("outbox: outbox collection: %w", err)
		}
	}
	if err := o.enqueueFanout(ctx, tx, newFanout(o, from, activity, recipients)); err != nil {
		return nil, err
	}
	return id, nil
}

// isActivity reports whether v is an activity rather than an object to
// wrap in a Create. A Question is an activity in the vocabulary, but it is
// posted as a poll, an object.
func isActivity(v vocab.Type) bool {
	return streams.IsOrExtendsActivityStreamsActivity(v) && v.GetTypeName() != "Question"
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
			if ap.IsPublicURL(u) {
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

// prepareCreate gives the objects a Create carries their id, author,
// published time and the Create's addressing.
func (o *Outbox) prepareCreate(from *actor.Actor, activity vocab.Type, now time.Time) error {
	if activity.GetTypeName() != "Create" {
		return nil
	}
	for _, obj := range ap.EmbeddedObjects(activity) {
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
	}
	return nil
}

func iriString(u *url.URL) string {
	if u == nil {
		return ""
	}
	return u.String()
}

// senderEffects stores the objects a Create carries and the new versions
// an Update carries, tombstones what a Delete deletes, and keeps from's
// collections in step with what the activity does, in tx.
func (o *Outbox) senderEffects(ctx context.Context, tx *store.Tx, from *actor.Actor, activity vocab.Type, now time.Time) error {
	objs := ap.EmbeddedObjects(activity)
	iris := ap.Objects(activity)
	switch activity.GetTypeName() {
	case "Create":
		for _, obj := range objs {
			data, err := ap.Serialize(obj)
			if err != nil {
				return fmt.Errorf("outbox: serialise object: %w", err)
			}
			oid := ap.ID(obj)
			rec := &store.Object{IRI: oid.String(), Type: obj.GetTypeName(), Actor: from.IRI().String(), Local: true,
				InReplyTo: iriString(ap.InReplyTo(obj)), Data: data}
			if err := tx.CreateObject(ctx, rec); err != nil {
				return fmt.Errorf("outbox: store object: %w", err)
			}
			if err := tx.PutValue(ctx, createdByKey(oid.String()), []byte(ap.ID(activity).String()), time.Time{}); err != nil {
				return fmt.Errorf("outbox: record the object's Create: %w", err)
			}
		}
	case "Update":
		// The stored copy becomes the new version, which is what the
		// outbox serves and what a later Delete tombstones. An actor
		// updating its own profile is the Directory's business.
		for _, obj := range objs {
			oid := ap.ID(obj)
			if oid == nil || oid.String() == from.IRI().String() {
				continue
			}
			old, err := tx.GetObject(ctx, oid.String())
			switch {
			case errors.Is(err, store.ErrNotFound):
				return ap.Errorf(http.StatusNotFound, "no such object to update", err)
			case err != nil:
				return err
			case !old.Local || old.Actor != from.IRI().String():
				return ap.Errorf(http.StatusForbidden, "only the owner may update an object", nil)
			case old.Type == "Tombstone":
				return ap.Errorf(http.StatusGone, "the object was deleted", nil)
			}
			data, err := ap.Serialize(obj)
			if err != nil {
				return fmt.Errorf("outbox: serialise object: %w", err)
			}
			rec := &store.Object{IRI: old.IRI, Type: obj.GetTypeName(), Actor: old.Actor, Local: true,
				InReplyTo: iriString(ap.InReplyTo(obj)), Data: data}
			if err := tx.PutObject(ctx, rec); err != nil {
				return fmt.Errorf("outbox: store object: %w", err)
			}
		}
	case "Delete":
		for _, iri := range iris {
			obj, err := tx.GetObject(ctx, iri.String())
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
			if err := tx.PutObject(ctx, &store.Object{IRI: obj.IRI, Type: "Tombstone", Actor: obj.Actor, Local: true, Data: data}); err != nil {
				return err
			}
			// The Create embeds what was deleted: it leaves the outbox.
			create, err := tx.GetValue(ctx, createdByKey(obj.IRI))
			if err == nil {
				err = tx.RemoveItem(ctx, from.Outbox().String(), string(create))
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
			if err := tx.PutValue(ctx, store.PendingFollowKey(from.IRI().String(), target.String()), []byte(id.String()), time.Time{}); err != nil {
				return fmt.Errorf("outbox: record follow: %w", err)
			}
		}
	case "Block":
		for _, iri := range iris {
			if err := tx.AddItem(ctx, store.BlocksCollection(from.IRI().String()), iri.String()); err != nil && !errors.Is(err, store.ErrExists) {
				return err
			}
		}
	case "Like":
		for _, iri := range iris {
			if err := tx.AddItem(ctx, from.Liked().String(), iri.String()); err != nil && !errors.Is(err, store.ErrExists) {
				return err
			}
		}
	case "Undo":
		for _, iri := range iris {
			undone, err := tx.GetObject(ctx, iri.String())
			if errors.Is(err, store.ErrNotFound) {
				continue
			} else if err != nil {
				return err
			}
			if !undone.Local || undone.Actor != from.IRI().String() {
				return ap.Errorf(http.StatusForbidden, "an actor can only undo its own activities", nil)
			}
			if undone.Type == "Announce" {
				if err := tx.RemoveItem(ctx, from.Outbox().String(), undone.IRI); err != nil && !errors.Is(err, store.ErrNotFound) {
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
			case "Block":
				coll = store.BlocksCollection(from.IRI().String())
			default:
				continue
			}
			for _, target := range ap.Objects(v) {
				if err := tx.RemoveItem(ctx, coll, target.String()); err != nil && !errors.Is(err, store.ErrNotFound) {
					return err
				}
				if undone.Type != "Follow" {
					continue
				}
				if err := tx.DeleteValue(ctx, store.PendingFollowKey(from.IRI().String(), target.String())); err != nil && !errors.Is(err, store.ErrNotFound) {
					return err
				}
			}
		}
	}
	return nil
}

// recipients returns everyone activity is for, as IRIs: its to, cc, bto,
// bcc and audience (the sender's followers collection and Public among
// them, for the fan-out to expand or skip), and whoever must receive it
// whatever its addressing says (implicitRecipients). Read in tx, before
// bto and bcc are removed.
func (o *Outbox) recipients(ctx context.Context, tx *store.Tx, activity vocab.Type) ([]string, error) {
	implicit, err := o.implicitRecipients(ctx, tx, activity, 0)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var out []string
	for _, r := range append(ap.Recipients(activity), implicit...) {
		if k := r.String(); !seen[k] {
			seen[k] = true
			out = append(out, k)
		}
	}
	return out, nil
}

// implicitRecipients returns who must receive activity whatever its
// addressing says, as Mastodon does: the followee of a Follow or Block, the
// follower whose Follow is answered, the author of a liked or boosted object,
// and whoever the undone activity went to.
func (o *Outbox) implicitRecipients(ctx context.Context, tx store.Store, activity vocab.Type, depth int) ([]*url.URL, error) {
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
		owners, err := o.owners(ctx, tx, ap.Objects(activity))
		if err != nil {
			return nil, err
		}
		out = append(out, owners...)
	case "Like", "Announce", "Dislike", "EmojiReact":
		owners, err := o.owners(ctx, tx, ap.Objects(activity))
		if err != nil {
			return nil, err
		}
		out = append(out, owners...)
	case "Undo":
		undone := ap.EmbeddedObjects(activity)
		for _, iri := range ap.Objects(activity) {
			if stored, err := tx.GetObject(ctx, iri.String()); err == nil && stored.Local {
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
			more, err := o.implicitRecipients(ctx, tx, u, depth+1)
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
func (o *Outbox) owners(ctx context.Context, tx store.Store, objects []*url.URL) ([]*url.URL, error) {
	var out []*url.URL
	for _, iri := range objects {
		stored, err := tx.GetObject(ctx, iri.String())
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
