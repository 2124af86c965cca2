package inbox

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"code.superseriousbusiness.org/activity/streams/vocab"

	"github.com/slothpub/slothpub/actor"
	"github.com/slothpub/slothpub/ap"
	"github.com/slothpub/slothpub/httpsig"
	"github.com/slothpub/slothpub/internal/httpbody"
	"github.com/slothpub/slothpub/store"
	"github.com/slothpub/slothpub/store/worker"
)

// DefaultMaxBodyBytes is the default cap on an inbox request body. Mastodon
// caps at 1 MiB too; no legitimate activity comes close.
const DefaultMaxBodyBytes = 1 << 20

// Sender publishes activities of local actors inside a unit of work: the
// inbox uses it to answer Follows with Accept in the same unit that
// records the follower. *outbox.Outbox implements it.
type Sender interface {
	PostTx(ctx context.Context, tx *store.Tx, from *actor.Actor, activity vocab.Type) (*url.URL, error)
}

// Fetcher dereferences remote objects that arrive as bare IRIs (an
// Announce of a remote note, a Create whose object is an IRI).
// *deref.Resolver implements it.
type Fetcher interface {
	Object(ctx context.Context, iri *url.URL) (*store.Object, error)
}

// Policy decides, before the 202, whether to take an activity that passed
// every check: it returns nil to take it, or an error to refuse it (an
// *ap.Error with a 4xx status is answered as such; any other error is
// answered 500, so the sender retries). It runs on the request path, so
// it must be cheap and do no network I/O; ctx carries the request's.
type Policy func(ctx context.Context, a *Activity) error

// Options configure a Handler. A nil *Options means all defaults.
type Options struct {
	// Worker runs the processing of accepted activities (required): the
	// Handler registers ProcessKind with it, and wakes it for each
	// activity it accepts.
	Worker *worker.Worker
	// Sender answers Follows with Accept. Without one, follows are recorded
	// but never answered.
	Sender Sender
	// Fetcher dereferences objects that arrive by IRI. Without one they are
	// recorded by IRI only.
	Fetcher Fetcher
	// Policy, when set, may refuse activities before they are stored.
	Policy Policy
	// MaxBodyBytes caps the request body; default DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// ManualApproval keeps incoming Follows pending (in the followee's
	// follow-requests collection) instead of accepting them.
	ManualApproval bool
	// DisableDefaults turns off the default side effects: only the
	// idempotent store of the activity and the listeners run.
	DisableDefaults bool
	// Logger receives one line per rejected request; nil means slog.Default().
	Logger *slog.Logger
	// FetchTimeout bounds, together, all the fetching one request causes
	// while it is answered (the signer's key and the documents behind
	// it), and, separately, the fetching of one processing attempt (the
	// objects the default side effects dereference). It is one deadline,
	// carried in the context with ap.WithFetchDeadline: it ends the
	// requests of ap.HTTPTransport (and the waits of deref.Resolver on
	// fetches it shares), not the store writes. A key not fetched by then
	// fails the request with 503; an object not fetched is recorded by
	// IRI only, as when there is no Fetcher. Default DefaultFetchTimeout
	// (5s); a negative value sets no deadline of the Handler's own.
	FetchTimeout time.Duration
	// MaxInFlight bounds the requests the Handler serves at once, over
	// all its inboxes (mount one Handler for the personal and the shared
	// inbox). A request beyond it is answered at once, before its body
	// is read, with 503 Service Unavailable and Retry-After (FetchTimeout
	// in whole seconds, rounded up). Default DefaultMaxInFlight; a
	// negative value sets no bound.
	MaxInFlight int
}

// ProcessKind is the job kind of the processing of an accepted activity.
const ProcessKind = "inbox.process"

// Handler is the inbox endpoint. Mount it for both the personal and the
// shared inbox:
//
//	mux.Handle("POST /users/{name}/inbox", h)
//	mux.Handle("POST /inbox", h)
//
// On the personal pattern the {name} path value selects the receiving actor.
// Handler is safe for concurrent use; register listeners before serving.
type Handler struct {
	db       *store.DB
	actors   *actor.Directory
	verifier *httpsig.Verifier
	opts     Options
	log      *slog.Logger

	mu        sync.RWMutex
	listeners map[string][]Listener // by type name; "" for every type

	admission *admission // Options.MaxInFlight
	handoff   handoff    // accepted activities on their way to their job
}

// New returns an inbox Handler that keeps state in db, knows local actors
// from actors (a Directory over the same db) and authenticates requests
// with verifier. It registers the processing of accepted activities with
// opts.Worker, which is required.
func New(db *store.DB, actors *actor.Directory, verifier *httpsig.Verifier, opts *Options) (*Handler, error) {
	h := &Handler{db: db, actors: actors, verifier: verifier, listeners: map[string][]Listener{}}
	if opts != nil {
		h.opts = *opts
	}
	switch {
	case db == nil:
		return nil, errors.New("inbox: New without a store")
	case actors == nil:
		return nil, errors.New("inbox: New without an actor directory")
	case verifier == nil:
		return nil, errors.New("inbox: New without a verifier")
	case h.opts.Worker == nil:
		return nil, errors.New("inbox: New without Options.Worker: accepted activities would never be processed")
	}
	if h.opts.MaxBodyBytes <= 0 {
		h.opts.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if h.opts.FetchTimeout == 0 {
		h.opts.FetchTimeout = DefaultFetchTimeout
	}
	if h.opts.MaxInFlight == 0 {
		h.opts.MaxInFlight = DefaultMaxInFlight
	}
	h.admission = newAdmission(h.opts.MaxInFlight, h.opts.FetchTimeout)
	h.log = h.opts.Logger
	if h.log == nil {
		h.log = slog.Default()
	}
	h.opts.Worker.Handle(ProcessKind, h.processJob)
	return h, nil
}

// ServeHTTP runs the inbox pipeline described in the package documentation,
// within Options.MaxInFlight and Options.FetchTimeout.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !h.admission.enter() {
		h.log.WarnContext(r.Context(), "inbox: busy, request refused", "status", http.StatusServiceUnavailable,
			"path", r.URL.Path, "max_in_flight", h.opts.MaxInFlight)
		h.admission.refuse(w)
		return
	}
	defer h.admission.leave()
	if h.opts.FetchTimeout > 0 {
		r = r.WithContext(ap.WithFetchDeadline(r.Context(), time.Now().Add(h.opts.FetchTimeout)))
	}
	if err := h.serve(r); err != nil {
		status := ap.StatusOf(err)
		lvl := slog.LevelInfo
		if status >= 500 {
			lvl = slog.LevelError
		}
		h.log.Log(r.Context(), lvl, "inbox: rejected", "status", status, "path", r.URL.Path, "err", err)
		if status == http.StatusServiceUnavailable {
			w.Header().Set("Retry-After", h.admission.retryAfter)
		}
		ap.WriteError(w, err)
		return
	}
	w.WriteHeader(http.StatusAccepted)
}

func (h *Handler) serve(r *http.Request) error {
	if r.Method != http.MethodPost {
		return ap.Errorf(http.StatusMethodNotAllowed, "inbox accepts POST only", nil)
	}
	ctx := r.Context()
	var receiver *actor.Actor
	if name := r.PathValue("name"); name != "" {
		a, err := h.actors.Get(ctx, name)
		if errors.Is(err, store.ErrNotFound) {
			return ap.Errorf(http.StatusNotFound, "no such actor", err)
		} else if err != nil {
			return err
		}
		receiver = a
	}
	body, err := readBody(r, h.opts.MaxBodyBytes)
	if err != nil {
		return err
	}
	if !acceptableContentType(r.Header.Get("Content-Type")) {
		return ap.Errorf(http.StatusUnsupportedMediaType, "content type must be application/activity+json or application/ld+json", nil)
	}
	r.Body = httpsig.ReplayBody(body)
	res, err := h.verifier.Verify(r)
	if err != nil {
		if keyTemporarilyUnavailable(err) {
			// The signer's server is slow or down: not the sender's fault,
			// and retrying later may well succeed.
			return ap.Errorf(http.StatusServiceUnavailable, "signing key temporarily unavailable; retry later", err)
		}
		return ap.Errorf(http.StatusUnauthorized, "signature verification failed", err)
	}
	d, err := ap.Decode(body)
	if err != nil {
		return err
	}
	if !d.Known() {
		return ap.Errorf(http.StatusUnprocessableEntity, "unsupported type",
			fmt.Errorf("%w: %v", ap.ErrUnsupportedType, d.Get("type")))
	}
	act, err := newActivity(d, body, res, receiver)
	if err != nil {
		return err
	}
	return h.accept(ctx, act)
}

// processedKey names the internal collection of the keys (see
// Activity.key) of activities whose processing finished: a delivery that
// comes again after its job was pruned is still known. It is never served.
const processedKey = "slothpub:inbox-processed"

// accept runs the checks that need the store but no network, then the
// policy, then stores the activity and enqueues its processing in one
// unit of work: when it returns nil the activity is durable and will be
// processed, exactly once whatever the deliveries.
func (h *Handler) accept(ctx context.Context, act *Activity) error {
	local := h.actors.IsLocal(act.ID)
	act.local = local
	if !local {
		if err := act.distrust(); err != nil {
			return err
		}
		if err := h.admit(ctx, act); err != nil {
			return err
		}
	}
	if h.opts.Policy != nil {
		if err := h.opts.Policy(ctx, act); err != nil {
			return err
		}
	}
	payload, err := newJobPayload(act).marshal()
	if err != nil {
		return err
	}
	key := act.key()
	rec := &store.Object{IRI: act.idString(), Type: act.Type, Actor: act.actorString(), Data: act.Raw}
	var job int64 // the ID of the job enqueued, if one was
	err = h.db.Update(ctx, func(tx *store.Tx) error {
		job = 0
		if !local { // a local activity was stored by the outbox that sent it
			err := tx.CreateObject(ctx, rec)
			if err != nil && !errors.Is(err, store.ErrExists) {
				return fmt.Errorf("inbox: store activity: %w", err)
			}
		}
		if done, err := tx.HasItem(ctx, processedKey, key); err != nil || done {
			if err == nil {
				err = h.fileForReceiver(ctx, tx, act)
			}
			return err
		}
		id, ins, err := tx.Enqueue(ctx, ProcessKind, payload, &store.EnqueueOptions{UniqueKey: "inbox:" + key})
		if err != nil {
			return fmt.Errorf("inbox: enqueue processing: %w", err)
		}
		if !ins {
			// Delivered again while its processing is pending: a copy to
			// another personal inbox still reaches that actor's home
			// timeline.
			return h.fileForReceiver(ctx, tx, act)
		}
		job = id
		return nil
	})
	if err != nil {
		return err
	}
	if job != 0 {
		h.handoff.put(job, act)
		h.opts.Worker.Notify()
	}
	return nil
}

// fileForReceiver puts a duplicate Create or Announce that came to a
// personal inbox on that actor's home timeline.
func (h *Handler) fileForReceiver(ctx context.Context, tx store.Store, act *Activity) error {
	if act.Receiver == nil || (act.Type != "Create" && act.Type != "Announce") {
		return nil
	}
	return ignoreExists(tx.AddItem(ctx, act.Receiver.Inbox().String(), act.idString()))
}

// keyTemporarilyUnavailable reports whether a verification failed only
// because the signer's key could not be fetched for a reason that may pass:
// a timeout (the fetch deadline among them), a refused or broken connection,
// or a remote answer worth retrying (5xx, 408, 429). A key that is gone or
// not found, or a document that is not a key, is a permanent failure.
func keyTemporarilyUnavailable(err error) bool {
	if httpsig.ReasonOf(err) != httpsig.ReasonKeyUnavailable {
		return false
	}
	var re *ap.RemoteError
	if errors.As(err, &re) {
		return !re.Permanent()
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne)
}

func readBody(r *http.Request, limit int64) ([]byte, error) {
	if r.ContentLength > limit {
		return nil, ap.Errorf(http.StatusRequestEntityTooLarge, "request body too large", nil)
	}
	body, err := httpbody.Read(r.Body, r.ContentLength, limit)
	if err != nil {
		return nil, ap.Errorf(http.StatusBadRequest, "could not read request body", err)
	}
	if int64(len(body)) > limit {
		return nil, ap.Errorf(http.StatusRequestEntityTooLarge, "request body too large", nil)
	}
	return body, nil
}

// acceptableContentType accepts the ActivityStreams media types and plain
// JSON, which some implementations send.
func acceptableContentType(ct string) bool {
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil {
		return false
	}
	switch mt {
	case "application/activity+json", "application/json":
		return true
	case "application/ld+json":
		p, ok := params["profile"]
		return !ok || slices.Contains(strings.Fields(p), "https://www.w3.org/ns/activitystreams")
	}
	return false
}
