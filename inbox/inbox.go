package inbox

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
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
	"github.com/slothpub/slothpub/store"
)

// DefaultMaxBodyBytes is the default cap on an inbox request body. Mastodon
// caps at 1 MiB too; no legitimate activity comes close.
const DefaultMaxBodyBytes = 1 << 20

// Sender delivers activities on behalf of local actors. *outbox.Outbox
// implements it; the inbox uses it to answer Follows with Accept.
type Sender interface {
	Post(ctx context.Context, from *actor.Actor, activity vocab.Type) (*url.URL, error)
}

// Fetcher dereferences remote objects that arrive as bare IRIs (an
// Announce of a remote note, a Create whose object is an IRI).
// *deref.Resolver implements it.
type Fetcher interface {
	Object(ctx context.Context, iri *url.URL) (*store.Object, error)
}

// Options configure a Handler. A nil *Options means all defaults.
type Options struct {
	// Sender answers Follows with Accept. Without one, follows are recorded
	// but never answered.
	Sender Sender
	// Fetcher dereferences objects that arrive by IRI. Without one they are
	// recorded by IRI only.
	Fetcher Fetcher
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
	// while it is answered: the signer's key (and the documents behind
	// it) and, for now, the objects the default side effects dereference
	// inline. It is one deadline from the moment the request arrives,
	// carried in the request's context with ap.WithFetchDeadline: it ends
	// the requests of ap.HTTPTransport (and the waits of deref.Resolver
	// on fetches it shares), not the store writes of the pipeline. A key
	// not fetched by then fails the request with 401; an object not
	// fetched is recorded by IRI only, as when there is no Fetcher.
	// Default DefaultFetchTimeout (5s); a negative value sets no deadline
	// of the Handler's own.
	FetchTimeout time.Duration
	// MaxInFlight bounds the requests the Handler serves at once, over
	// all its inboxes (mount one Handler for the personal and the shared
	// inbox). A request beyond it is answered at once, before its body
	// is read, with 503 Service Unavailable and Retry-After (FetchTimeout
	// in whole seconds, rounded up). Default DefaultMaxInFlight; a
	// negative value sets no bound.
	MaxInFlight int
}

// Handler is the inbox endpoint. Mount it for both the personal and the
// shared inbox:
//
//	mux.Handle("POST /users/{name}/inbox", h)
//	mux.Handle("POST /inbox", h)
//
// On the personal pattern the {name} path value selects the receiving actor.
// Handler is safe for concurrent use; register listeners before serving.
type Handler struct {
	st       store.Store
	actors   *actor.Directory
	verifier *httpsig.Verifier
	opts     Options
	log      *slog.Logger

	mu        sync.RWMutex
	listeners map[string][]Listener // by type name; "" for every type

	inFlight keyedLock // one request at a time per activity id

	admission *admission // Options.MaxInFlight
}

// New returns an inbox Handler that keeps state in st, knows local actors
// from actors and authenticates requests with verifier.
func New(st store.Store, actors *actor.Directory, verifier *httpsig.Verifier, opts *Options) *Handler {
	h := &Handler{st: st, actors: actors, verifier: verifier, listeners: map[string][]Listener{}}
	if opts != nil {
		h.opts = *opts
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
	return h
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
	r.Body = io.NopCloser(bytes.NewReader(body))
	res, err := h.verifier.Verify(r)
	if err != nil {
		if keyTemporarilyUnavailable(err) {
			// The signer's server is slow or down: not the sender's fault,
			// and retrying later may well succeed.
			return ap.Errorf(http.StatusServiceUnavailable, "signing key temporarily unavailable; retry later", err)
		}
		return ap.Errorf(http.StatusUnauthorized, "signature verification failed", err)
	}
	v, err := ap.Parse(ctx, body)
	if err != nil {
		if ap.StatusOf(err) == http.StatusInternalServerError {
			return ap.Errorf(http.StatusBadRequest, "malformed activity", err)
		}
		return err
	}
	act, err := newActivity(v, body, res, receiver)
	if err != nil {
		return err
	}
	return h.process(ctx, act)
}

// processedKey names the internal collection of activity ids whose
// processing finished. It is never served.
const processedKey = "slothpub:inbox-processed"

// claimTimeout is how long an activity that was stored but never marked
// processed is taken to be in flight in another request. After it, the
// claim is taken to be left by a crash and a redelivery processes it again:
// accepted data is never lost, and the default side effects are idempotent.
const claimTimeout = time.Minute

// process stores the activity once and runs its effects. It is the part of
// the pipeline after authentication.
func (h *Handler) process(ctx context.Context, act *Activity) error {
	if h.actors.IsLocal(act.ID) {
		return h.processLocal(ctx, act)
	}
	if err := act.distrust(); err != nil {
		return err
	}
	id := act.ID.String()
	unlock := h.inFlight.lock(id)
	defer unlock()
	if err := h.admit(ctx, act); err != nil {
		return err
	}
	rec := &store.Object{IRI: id, Type: act.Type, Actor: act.Actor.String(), Data: act.Raw}
	resume := progress{}
	if err := h.st.CreateObject(ctx, rec); errors.Is(err, store.ErrExists) {
		p, again, err := h.unfinished(ctx, id)
		if err != nil {
			return err
		}
		if !again {
			// Done, or in flight elsewhere: idempotent success. A copy
			// delivered to another personal inbox still reaches that
			// actor's home timeline.
			return h.fileForReceiver(ctx, act)
		}
		resume = p
	} else if err != nil {
		return fmt.Errorf("inbox: store activity: %w", err)
	}
	return h.run(ctx, act, id, resume)
}

// processLocal handles an activity of our own, delivered in process to a
// local actor's inbox (outbox.Options.LocalInbox): the outbox stored it
// already, so it is processed once per receiving inbox.
func (h *Handler) processLocal(ctx context.Context, act *Activity) error {
	marker := act.ID.String() + " "
	if act.Receiver != nil {
		marker += act.Receiver.IRI().String()
	}
	unlock := h.inFlight.lock(marker)
	defer unlock()
	if done, err := h.st.HasItem(ctx, processedKey, marker); err != nil || done {
		return err
	}
	p, _, err := h.loadProgress(ctx, marker)
	if err != nil {
		return err
	}
	return h.run(ctx, act, marker, p)
}

// run applies the default side effects and then the listeners, resuming
// after what an earlier attempt (p) finished: a retried activity never
// repeats an effect that already happened. The progress is recorded under
// key after each step that has another after it; when everything is done,
// key is marked processed.
//
// An error with a 5xx status (or none) leaves the activity unfinished and
// released, so that the sender's retry resumes it at once; a 4xx error
// ends it: it stays recorded, marked processed, and the error is answered.
func (h *Handler) run(ctx context.Context, act *Activity, key string, p progress) error {
	h.mu.RLock()
	ls := append(append([]Listener(nil), h.listeners[act.Type]...), h.listeners[""]...)
	h.mu.RUnlock()
	saved := p != progress{}
	save := func(p progress) error {
		saved = true
		return h.saveProgress(context.WithoutCancel(ctx), key, p)
	}
	err := func() error {
		if !p.Effects {
			if !h.opts.DisableDefaults {
				if err := h.sideEffects(ctx, act); err != nil {
					return err
				}
			}
			p.Effects = true
			if len(ls) > p.Listeners {
				if err := save(p); err != nil {
					return err
				}
			}
		}
		for p.Listeners < len(ls) {
			if err := ls[p.Listeners](ctx, act); err != nil {
				return err
			}
			p.Listeners++
			if p.Listeners < len(ls) {
				if err := save(p); err != nil {
					return err
				}
			}
		}
		return nil
	}()
	if err != nil && ap.StatusOf(err) >= 500 {
		p.Released = true
		if serr := save(p); serr != nil {
			h.log.Error("inbox: recording progress of failed activity", "id", key, "err", serr)
		}
		return err
	}
	if merr := h.st.AddItem(context.WithoutCancel(ctx), processedKey, key); merr != nil && !errors.Is(merr, store.ErrExists) {
		return fmt.Errorf("inbox: mark processed: %w", merr)
	}
	if saved {
		if derr := h.st.DeleteValue(context.WithoutCancel(ctx), progressKey(key)); derr != nil && !errors.Is(derr, store.ErrNotFound) {
			h.log.Warn("inbox: forgetting progress", "id", key, "err", derr)
		}
	}
	return err
}

// fileForReceiver puts a duplicate Create or Announce that came to a
// personal inbox on that actor's home timeline.
func (h *Handler) fileForReceiver(ctx context.Context, act *Activity) error {
	if act.Receiver == nil || (act.Type != "Create" && act.Type != "Announce") {
		return nil
	}
	return ignoreExists(h.st.AddItem(ctx, act.Receiver.Inbox().String(), act.ID.String()))
}

// unfinished reports whether an activity already stored must be processed
// again, and from where: it was never marked processed, and either an
// earlier attempt failed and released it, or its claim is stale (the
// process handling it died).
func (h *Handler) unfinished(ctx context.Context, id string) (progress, bool, error) {
	done, err := h.st.HasItem(ctx, processedKey, id)
	if err != nil || done {
		return progress{}, false, err
	}
	p, found, err := h.loadProgress(ctx, id)
	if err != nil {
		return progress{}, false, err
	}
	if found && p.Released {
		return p, true, nil
	}
	old, err := h.st.GetObject(ctx, id)
	if err != nil {
		return progress{}, false, ignoreNotFound(err)
	}
	return p, time.Since(old.Created) > claimTimeout, nil
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
	body, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
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
