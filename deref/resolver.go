package deref

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/slothpub/slothpub/ap"
	"github.com/slothpub/slothpub/httpsig"
	"github.com/slothpub/slothpub/internal/origin"
	"github.com/slothpub/slothpub/store"
)

// Defaults for Options fields left zero.
const (
	// DefaultMaxAge is how long a fetched document is served from the store
	// before it is fetched again. A day matches what Mastodon and GoToSocial
	// do for remote accounts: profiles change rarely, updates arrive as
	// Update activities anyway, and a shorter window multiplies signed GETs
	// to busy servers.
	DefaultMaxAge = 24 * time.Hour
	// DefaultKeyMaxAge is how long a fetched public key is trusted without
	// refetching. Rotation is caught earlier by refresh requests, so the
	// window only bounds how long a revoked key stays usable.
	DefaultKeyMaxAge = 24 * time.Hour
	// DefaultMinRefreshInterval is how long after fetching a key a refresh
	// request is answered from the cache: it stops a stream of badly
	// signed requests from turning into a stream of key fetches.
	DefaultMinRefreshInterval = time.Minute
	// DefaultMaxDocumentBytes caps a fetched document (1 MiB, as Mastodon).
	DefaultMaxDocumentBytes = 1 << 20
	// DefaultKeyCacheSize caps the in-memory cache of parsed keys.
	DefaultKeyCacheSize = 4096
)

// Errors returned (wrapped) by the Resolver, in addition to store.ErrNotFound
// (the remote answered 404, or a local document is missing) and
// store.ErrGone (the remote answered 410 or serves a Tombstone).
var (
	// ErrInvalidIRI: the IRI or account handle given to the Resolver is
	// unusable (not absolute http(s), malformed). It comes wrapped in an
	// *ap.Error with status 400.
	ErrInvalidIRI = errors.New("deref: invalid IRI")
	// ErrInvalidDocument: a remote answered with a document that cannot be
	// trusted or used (malformed, too large, wrong origin, wrong id, not an
	// actor, key not claimed by its owner...). It comes wrapped in an
	// *ap.Error with status 502.
	ErrInvalidDocument = errors.New("deref: invalid remote document")
)

// Options configures a Resolver. A nil *Options means all defaults.
type Options struct {
	// Logger receives debug and warning messages. Nil discards them.
	Logger *slog.Logger
	// Clock returns the current time. Nil means time.Now.
	Clock func() time.Time
	// MaxAge is how long a remote document stays fresh in the store.
	// Zero means DefaultMaxAge.
	MaxAge time.Duration
	// KeyMaxAge is how long a remote public key stays fresh in the caches.
	// Zero means DefaultKeyMaxAge.
	KeyMaxAge time.Duration
	// MinRefreshInterval: a ResolveKey refresh for a key fetched less than
	// this long ago returns the cached key instead of fetching. Zero means
	// DefaultMinRefreshInterval; a negative value refetches on every
	// refresh.
	MinRefreshInterval time.Duration
	// MaxDocumentBytes caps the size of a fetched document (the Transport
	// caps too). Zero means DefaultMaxDocumentBytes.
	MaxDocumentBytes int64
	// KeyCacheSize caps the number of parsed keys kept in memory. Zero means
	// DefaultKeyCacheSize; a negative value disables the memory cache.
	KeyCacheSize int
	// LocalHost is this server's host (with port if not the default, e.g.
	// "example.com" or "127.0.0.1:8080"). Documents, keys and accounts of
	// this host are only read from the store, never fetched. Empty means
	// every host is remote.
	LocalHost string
	// WebFingerScheme is the scheme of WebFinger queries. Empty means
	// "https"; tests against httptest servers use "http".
	WebFingerScheme string
}

// Resolver fetches and caches remote documents, actors and keys. Create one
// with New; it is safe for concurrent use.
type Resolver struct {
	st     store.Store
	tr     ap.Transport
	signer ap.RequestSigner

	log        *slog.Logger
	now        func() time.Time
	maxAge     time.Duration
	keyMaxAge  time.Duration
	minRefresh time.Duration
	maxBytes   int64
	keyCap     int
	localHost  string
	wfScheme   string

	flights singleflight.Group

	mu   sync.Mutex
	keys map[string]memKey // parsed keys by key id
}

var _ httpsig.KeyResolver = (*Resolver)(nil)

// New returns a Resolver that caches in st and fetches through tr. signer is
// the instance actor's signer, used for every document GET (authorized
// fetch); nil sends unsigned requests. WebFinger queries are never signed.
func New(st store.Store, tr ap.Transport, signer ap.RequestSigner, opts *Options) *Resolver {
	var o Options
	if opts != nil {
		o = *opts
	}
	r := &Resolver{
		st:         st,
		tr:         tr,
		signer:     signer,
		log:        o.Logger,
		now:        o.Clock,
		maxAge:     o.MaxAge,
		keyMaxAge:  o.KeyMaxAge,
		minRefresh: o.MinRefreshInterval,
		maxBytes:   o.MaxDocumentBytes,
		keyCap:     o.KeyCacheSize,
		localHost:  o.LocalHost,
		wfScheme:   o.WebFingerScheme,
		keys:       make(map[string]memKey),
	}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	if r.now == nil {
		r.now = time.Now
	}
	if r.maxAge <= 0 {
		r.maxAge = DefaultMaxAge
	}
	if r.keyMaxAge <= 0 {
		r.keyMaxAge = DefaultKeyMaxAge
	}
	if r.minRefresh == 0 {
		r.minRefresh = DefaultMinRefreshInterval
	}
	if r.maxBytes <= 0 {
		r.maxBytes = DefaultMaxDocumentBytes
	}
	if r.keyCap == 0 {
		r.keyCap = DefaultKeyCacheSize
	}
	if r.wfScheme == "" {
		r.wfScheme = "https"
	}
	return r
}

// requestedIRI is the IRI a caller asked for, checked and without its
// fragment: what is fetched.
func requestedIRI(iri *url.URL) (*url.URL, error) {
	if iri == nil {
		return nil, invalidIRI("", errors.New("nil IRI"))
	}
	u, err := parseIRI(iri.String())
	if err != nil {
		return nil, invalidIRI(iri.String(), err)
	}
	return withoutFragment(u), nil
}

// invalidIRI wraps a problem with caller-supplied input.
func invalidIRI(s string, cause error) error {
	return ap.Errorf(http.StatusBadRequest, "invalid IRI",
		fmt.Errorf("%w %q: %v", ErrInvalidIRI, s, cause))
}

// rejectf wraps a problem with a remote document.
func rejectf(format string, args ...any) error { return rejectAs(ErrInvalidDocument, format, args...) }

// rejectAs wraps a problem of the kind kind (ErrInvalidDocument or an
// error wrapping it) with a remote document.
func rejectAs(kind error, format string, args ...any) error {
	return ap.Errorf(http.StatusBadGateway, "remote document rejected",
		fmt.Errorf("%w: %s", kind, fmt.Sprintf(format, args...)))
}

// isLocal reports whether u names a document of this server.
func (r *Resolver) isLocal(u *url.URL) bool {
	return r.isLocalHost(u.Scheme, u.Host)
}

func (r *Resolver) isLocalHost(scheme, host string) bool {
	if r.localHost == "" {
		return false
	}
	return origin.Host(scheme, host) == origin.Host(scheme, r.localHost)
}

// Object returns the document at iri: from the store when it is fresh
// (Options.MaxAge) or local, otherwise from a signed GET through the
// Transport, after which it is stored (Local false).
//
// The fragment of iri is ignored: the document fetched is the one the IRI
// lives in. The fetched document's id must share the origin of the URL
// finally fetched and equal iri; when it differs but is same-origin, the
// document is fetched once more by its own id and that answer is returned
// (its IRI is then the id, not iri). Concurrent calls for one IRI share one
// fetch.
//
// A remote 410 Gone, or a cached Tombstone, yields an error wrapping
// store.ErrGone; a remote 404, or a missing local document, one wrapping
// store.ErrNotFound. Documents of Options.LocalHost are never fetched.
func (r *Resolver) Object(ctx context.Context, iri *url.URL) (*store.Object, error) {
	u, err := requestedIRI(iri)
	if err != nil {
		return nil, err
	}
	return r.object(ctx, u, false)
}

// object is Object for a fragment-free u; force skips the store cache (but
// still never fetches local documents).
func (r *Resolver) object(ctx context.Context, u *url.URL, force bool) (*store.Object, error) {
	iri := u.String()
	if r.isLocal(u) {
		o, err := r.st.GetObject(ctx, iri)
		if err != nil {
			return nil, fmt.Errorf("deref: local object %s: %w", iri, err)
		}
		if o.Type == "Tombstone" {
			return nil, fmt.Errorf("deref: local object %s: %w", iri, store.ErrGone)
		}
		return o, nil
	}
	if !force {
		if o, err := r.cached(ctx, iri); o != nil || err != nil {
			return o, err
		}
	}
	key := "obj\x00" + iri
	if force {
		key = "objforce\x00" + iri
	}
	// A shared fetch runs under the context of the caller that started it;
	// share retries only when that caller gave up, never a timeout.
	v, err := r.share(ctx, key, func() (any, error) {
		if !force {
			// A flight that finished just before this one started
			// may have stored the document already.
			if o, err := r.cached(ctx, iri); o != nil || err != nil {
				return o, err
			}
		}
		return r.fetch(ctx, u)
	})
	if err != nil {
		return nil, err
	}
	return cloneObject(v.(*store.Object)), nil
}

// cached returns the stored copy of iri if it is fresh (or local), nil if
// it must be fetched, or an error (ErrGone for a fresh tombstone).
func (r *Resolver) cached(ctx context.Context, iri string) (*store.Object, error) {
	o, err := r.st.GetObject(ctx, iri)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("deref: store lookup %s: %w", iri, err)
	}
	if !o.Local && r.now().Sub(o.Updated) >= r.maxAge {
		return nil, nil
	}
	if o.Type == "Tombstone" {
		return nil, fmt.Errorf("deref: %s: %w", iri, store.ErrGone)
	}
	return o, nil
}

// fetch GETs u, validates the document (refetching it by its own id once
// when needed) and stores it.
func (r *Resolver) fetch(ctx context.Context, u *url.URL) (*store.Object, error) {
	iri := u.String()
	doc, id, err := r.get(ctx, u)
	if err != nil {
		if errors.Is(err, store.ErrGone) {
			r.tombstone(ctx, iri)
		}
		return nil, err
	}
	if id.String() != iri {
		// Same origin (get checked it) but another IRI: a redirect, an
		// alias or a key stub. Ask the document's own IRI, once, and
		// require an exact answer this time.
		r.log.DebugContext(ctx, "deref: document id differs from IRI, refetching by id",
			slog.String("iri", iri), slog.String("id", id.String()))
		want := id.String()
		doc, id, err = r.get(ctx, id)
		if err != nil {
			return nil, err
		}
		if id.String() != want {
			return nil, rejectf("%s: refetched document has id %s, want %s", iri, id, want)
		}
	}
	owner, err := ownerOf(id, doc.fields)
	if err != nil {
		return nil, rejectf("%s: %v", iri, err)
	}
	o := &store.Object{
		IRI:     id.String(),
		Type:    firstType(doc.fields),
		Actor:   owner,
		Data:    doc.body,
		Updated: r.now(),
	}
	if err := r.st.PutObject(ctx, o); err != nil {
		return nil, fmt.Errorf("deref: store %s: %w", o.IRI, err)
	}
	if o.Type == "Tombstone" {
		return nil, fmt.Errorf("deref: %s: %w", o.IRI, store.ErrGone)
	}
	return o, nil
}

type document struct {
	body   []byte
	fields fields
}

// get performs one GET of u and checks the answer: size, JSON object, an
// id that is an absolute IRI with the origin of the final URL and not of
// the local host.
func (r *Resolver) get(ctx context.Context, u *url.URL) (*document, *url.URL, error) {
	if r.isLocal(u) {
		return nil, nil, rejectf("%s: refusing to fetch a local document", u)
	}
	resp, err := r.tr.Get(ctx, u, r.signer)
	if err != nil {
		return nil, nil, remoteErr(u.String(), err)
	}
	if int64(len(resp.Body)) > r.maxBytes {
		return nil, nil, rejectf("%s: document larger than %d bytes", u, r.maxBytes)
	}
	f, err := parseFields(resp.Body)
	if err != nil {
		return nil, nil, rejectf("%s: %v", u, err)
	}
	rawID := f.str("id")
	id, err := parseIRI(rawID)
	if err != nil {
		return nil, nil, rejectf("%s: document id %q: %v", u, rawID, err)
	}
	id = withoutFragment(id)
	final := u
	if resp.URL != nil {
		final = resp.URL
	}
	if !sameOrigin(id, final) {
		return nil, nil, rejectf("%s: document id %s is not of origin %s", u, id, originOf(final))
	}
	if r.isLocal(id) || r.isLocal(final) {
		return nil, nil, rejectf("%s: remote document claims local id %s", u, id)
	}
	return &document{body: resp.Body, fields: f}, id, nil
}

// remoteErr maps a transport error: 410 to store.ErrGone, 404 to
// store.ErrNotFound; the *ap.RemoteError stays in the chain.
func remoteErr(iri string, err error) error {
	var re *ap.RemoteError
	if errors.As(err, &re) {
		switch re.StatusCode {
		case http.StatusGone:
			return fmt.Errorf("deref: %s: %w (%w)", iri, store.ErrGone, err)
		case http.StatusNotFound:
			return fmt.Errorf("deref: %s: %w (%w)", iri, store.ErrNotFound, err)
		}
	}
	return fmt.Errorf("deref: fetch %s: %w", iri, err)
}

// tombstone records that iri is gone, so that it is not fetched again
// while the record is fresh.
func (r *Resolver) tombstone(ctx context.Context, iri string) {
	data := fmt.Appendf(nil, `{"id":%q,"type":"Tombstone"}`, iri)
	o := &store.Object{IRI: iri, Type: "Tombstone", Data: data, Updated: r.now()}
	if err := r.st.PutObject(ctx, o); err != nil {
		r.log.WarnContext(ctx, "deref: storing tombstone", slog.String("iri", iri), slog.Any("err", err))
	}
}

// firstType returns the first type string of a document.
func firstType(f fields) string {
	if t := f.strs("type"); len(t) > 0 {
		return t[0]
	}
	return ""
}

// ownerOf returns who a document belongs to: an actor owns itself, an
// activity belongs to its actor, an object to its attributedTo. Every actor
// and attributedTo the document names must share the origin of its id
// (FEP-fe34): a server speaks only for its own actors, so a document that
// claims an author elsewhere is refused rather than filed under that
// author.
func ownerOf(id *url.URL, f fields) (string, error) {
	if isActorType(f.strs("type")) {
		return id.String(), nil
	}
	owner := ""
	for _, key := range [...]string{"actor", "attributedTo"} {
		for _, m := range f.each(key) {
			s := rawIRI(m, false)
			if s == "" {
				continue
			}
			u, err := parseIRI(s)
			if err != nil {
				return "", fmt.Errorf("%s %q: %v", key, s, err)
			}
			if !sameOrigin(u, id) {
				return "", fmt.Errorf("%s %s is not of the origin of id %s", key, s, id)
			}
			if owner == "" {
				owner = s
			}
		}
	}
	return owner, nil
}

func cloneObject(o *store.Object) *store.Object {
	c := *o
	c.Data = bytes.Clone(o.Data)
	return &c
}
