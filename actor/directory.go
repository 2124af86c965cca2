package actor

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/slothpub/slothpub/httpsig"
	"github.com/slothpub/slothpub/internal/origin"
	"github.com/slothpub/slothpub/store"
)

// Version is the slothpub version reported in NodeInfo when
// Options.Software is left empty.
const Version = "0.1.0-dev"

// Defaults for Options.
const (
	DefaultPageSize = 20
	DefaultKeyBits  = 2048
	// MinKeyBits is the smallest RSA key Create generates: Mastodon and
	// most peers reject anything smaller.
	MinKeyBits = 2048
	// MaxUsernameLen is the longest username Create accepts.
	MaxUsernameLen = 30
)

// instanceUsername is the store.Account name that holds the instance
// actor's key. It contains a '.', so no user can ever register it.
const instanceUsername = "instance.actor"

// ErrInvalidUsername is returned (wrapped) by Create for a username that is
// not 1-30 characters of [a-z0-9_], or that is reserved.
var ErrInvalidUsername = errors.New("actor: invalid username")

// Software names the server software in NodeInfo.
type Software struct {
	// Name must match [a-z0-9-]+ (NodeInfo's rule); other characters are
	// lowered or replaced by '-'. "": "slothpub".
	Name string
	// Version is free text. "": Version when Name is also empty.
	Version string
	// Repository and Homepage are URLs, reported in NodeInfo 2.1 only.
	Repository string
	Homepage   string
}

// Options configures a Directory. The zero value (or nil) means the
// documented defaults.
type Options struct {
	// Scheme of every IRI the directory mints: "https" (default) or
	// "http" for local testing.
	Scheme string
	// Logger receives server-side errors (store failures). nil:
	// slog.Default().
	Logger *slog.Logger
	// Software is reported in NodeInfo. Zero: slothpub and Version.
	Software Software
	// OpenRegistrations is reported in NodeInfo.
	OpenRegistrations bool
	// PageSize is the number of items per collection page. <= 0:
	// DefaultPageSize. A client may ask for smaller pages with ?limit=N,
	// never larger.
	PageSize int
	// HTML, when set, serves browsers on actor URLs: a request whose Accept
	// header prefers text/html over every ActivityStreams type is handed
	// to it (with the "name" path value set; for the instance actor it is
	// empty).
	HTML http.Handler
	// KeyBits is the RSA key size of new actors. Values below MinKeyBits
	// (including 0) mean DefaultKeyBits.
	KeyBits int
	// Metadata is NodeInfo's free-form metadata object. nil: {}.
	Metadata map[string]any
}

// Directory manages the local actors of one host: it creates them with
// their keys, loads them (parsing each key once), and serves their actor
// documents, collections, WebFinger, host-meta and NodeInfo.
//
// A Directory is safe for concurrent use.
type Directory struct {
	st       store.Store
	host     string // host[:port], lower case
	hostname string // host without port
	scheme   string
	log      *slog.Logger
	software Software
	openReg  bool
	pageSize int
	html     http.Handler
	keyBits  int
	metadata map[string]any

	mu    sync.RWMutex
	cache map[string]*Actor // by username; instanceUsername for the instance actor

	instanceMu sync.Mutex // serialises creation of the instance actor
}

// NewDirectory returns a Directory for the actors of host, a bare host
// name with an optional port ("example.com", "127.0.0.1:8080"), kept in
// st. Host names compare case-insensitively; the Directory uses the
// lower-case form in every IRI.
func NewDirectory(st store.Store, host string, opts *Options) *Directory {
	if opts == nil {
		opts = &Options{}
	}
	d := &Directory{
		st:       st,
		host:     strings.ToLower(host),
		scheme:   opts.Scheme,
		log:      opts.Logger,
		software: opts.Software,
		openReg:  opts.OpenRegistrations,
		pageSize: opts.PageSize,
		html:     opts.HTML,
		keyBits:  opts.KeyBits,
		metadata: maps.Clone(opts.Metadata),
		cache:    make(map[string]*Actor),
	}
	d.hostname = d.host
	if h, _, err := net.SplitHostPort(d.host); err == nil {
		d.hostname = h
	}
	if d.scheme == "" {
		d.scheme = "https"
	}
	if d.log == nil {
		d.log = slog.Default()
	}
	if d.software.Name == "" {
		d.software.Name = "slothpub"
		if d.software.Version == "" {
			d.software.Version = Version
		}
	}
	d.software.Name = sanitizeSoftwareName(d.software.Name)
	if d.pageSize <= 0 {
		d.pageSize = DefaultPageSize
	}
	if d.keyBits < MinKeyBits {
		d.keyBits = DefaultKeyBits
	}
	if d.metadata == nil {
		d.metadata = map[string]any{}
	}
	return d
}

// sanitizeSoftwareName lowers name and replaces characters NodeInfo does
// not allow with '-'.
func sanitizeSoftwareName(name string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '-':
			return r
		case r >= 'A' && r <= 'Z':
			return r + ('a' - 'A')
		}
		return '-'
	}, name)
}

// Host returns the directory's host, with its port if it has one.
func (d *Directory) Host() string { return d.host }

func (d *Directory) iri(path string) *url.URL {
	return &url.URL{Scheme: d.scheme, Host: d.host, Path: path}
}

// ActorIRI returns the IRI of the local actor username,
// {scheme}://{host}/users/{username}, whether or not it exists.
func (d *Directory) ActorIRI(username string) *url.URL {
	return d.iri("/users/" + strings.ToLower(username))
}

// InstanceIRI returns the IRI of the instance actor, {scheme}://{host}/actor.
func (d *Directory) InstanceIRI() *url.URL { return d.iri("/actor") }

// SharedInbox returns the shared inbox IRI, {scheme}://{host}/inbox.
func (d *Directory) SharedInbox() *url.URL { return d.iri("/inbox") }

// IsLocal reports whether iri belongs to this host: same scheme and same
// host (compared case-insensitively, a default port being the same as
// none).
func (d *Directory) IsLocal(iri *url.URL) bool {
	if iri == nil || !strings.EqualFold(iri.Scheme, d.scheme) {
		return false
	}
	return d.sameHost(iri.Host)
}

// sameHost compares host (as found in a URL or an acct: URI) with the
// directory's host, ignoring case and a default port.
func (d *Directory) sameHost(host string) bool {
	return origin.Host(d.scheme, host) == origin.Host(d.scheme, d.host)
}

// NormalizeUsername folds a username to the form Create stores: lower
// case. Usernames are unique case-insensitively, so "Alice" and "alice"
// are the same actor.
func NormalizeUsername(username string) string { return strings.ToLower(username) }

// validUsername reports whether u (already folded) is 1-30 of [a-z0-9_].
func validUsername(u string) bool {
	if len(u) == 0 || len(u) > MaxUsernameLen {
		return false
	}
	for i := 0; i < len(u); i++ {
		c := u[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// Create makes a new local actor (type Person) with a fresh RSA key pair.
//
// The username is folded to lower case and must then be 1-30 characters of
// [a-z0-9_]; a username equal to the host name is reserved for the
// instance actor (so that acct:host@host stays unambiguous). Otherwise the
// error wraps ErrInvalidUsername. A taken username gives an error wrapping
// store.ErrExists.
//
// Create stores the store.Account (with the PKCS#8 private key), the actor
// document as a Local store.Object and the public store.Key.
func (d *Directory) Create(ctx context.Context, username string) (*Actor, error) {
	u := NormalizeUsername(username)
	if !validUsername(u) {
		return nil, fmt.Errorf("%w %q: want 1-%d characters of a-z, 0-9 and _", ErrInvalidUsername, username, MaxUsernameLen)
	}
	if u == d.hostname {
		return nil, fmt.Errorf("%w %q: reserved for the instance actor", ErrInvalidUsername, username)
	}
	// Fail fast before the (slow) key generation; CreateAccount below
	// remains the authority under concurrency.
	if _, err := d.st.GetAccount(ctx, u); err == nil {
		return nil, fmt.Errorf("actor: username %q is taken: %w", u, store.ErrExists)
	} else if !errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("actor: create %q: %w", u, err)
	}
	return d.create(ctx, u, d.ActorIRI(u), false)
}

// create generates a key and stores account, document and key for an
// actor. kind is false for a Person, true for the instance Application.
func (d *Directory) create(ctx context.Context, username string, iri *url.URL, instance bool) (*Actor, error) {
	key, err := rsa.GenerateKey(rand.Reader, d.keyBits)
	if err != nil {
		return nil, fmt.Errorf("actor: generate key: %w", err)
	}
	privPEM, err := httpsig.EncodePrivateKeyPEM(key)
	if err != nil {
		return nil, fmt.Errorf("actor: encode key: %w", err)
	}
	now := time.Now().UTC().Truncate(time.Second)
	a, err := d.newActor(username, iri, key, now, instance)
	if err != nil {
		return nil, err
	}
	acct := &store.Account{Username: username, ActorIRI: iri.String(), PrivateKeyPEM: privPEM, Created: now}
	if err := d.unit(ctx, func(ctx context.Context) error {
		if err := d.st.CreateAccount(ctx, acct); err != nil {
			if errors.Is(err, store.ErrExists) {
				return fmt.Errorf("actor: username %q is taken: %w", username, err)
			}
			return fmt.Errorf("actor: create account %q: %w", username, err)
		}
		return d.persist(ctx, a)
	}); err != nil {
		return nil, err
	}
	return d.remember(a), nil
}

// unit runs fn in one unit of work when the Directory's store can run
// units (a *store.DB), so that an account never exists without its
// document and key; on any other Store, fn's writes are separate.
func (d *Directory) unit(ctx context.Context, fn func(ctx context.Context) error) error {
	db, ok := d.st.(*store.DB)
	if !ok {
		return fn(ctx)
	}
	return db.Update(ctx, func(tx *store.Tx) error { return fn(store.WithTx(ctx, tx)) })
}

// persist stores a's document and public key.
func (d *Directory) persist(ctx context.Context, a *Actor) error {
	typ := "Person"
	if a.instance {
		typ = "Application"
	}
	obj := &store.Object{IRI: a.iri.String(), Type: typ, Actor: a.iri.String(), Local: true, Data: a.doc}
	if err := d.st.PutObject(ctx, obj); err != nil {
		return fmt.Errorf("actor: store document of %q: %w", a.Username, err)
	}
	k := &store.Key{ID: a.KeyID(), Owner: a.iri.String(), PublicPEM: a.pubPEM, Fetched: time.Now()}
	if err := d.st.PutKey(ctx, k); err != nil {
		return fmt.Errorf("actor: store key of %q: %w", a.Username, err)
	}
	return nil
}

// remember caches a unless another goroutine got there first, and returns
// the cached actor.
func (d *Directory) remember(a *Actor) *Actor {
	name := a.Username
	if a.instance {
		name = instanceUsername
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if old, ok := d.cache[name]; ok {
		return old
	}
	d.cache[name] = a
	return a
}

func (d *Directory) cached(name string) *Actor {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return d.cache[name]
}

// Get returns the local actor username (compared case-insensitively). An
// unknown (or invalid) username gives an error wrapping store.ErrNotFound.
// Actors are cached after the first load: keys are parsed once.
func (d *Directory) Get(ctx context.Context, username string) (*Actor, error) {
	u := NormalizeUsername(username)
	if !validUsername(u) {
		return nil, fmt.Errorf("actor: no user %q: %w", username, store.ErrNotFound)
	}
	if a := d.cached(u); a != nil {
		return a, nil
	}
	return d.load(ctx, u, d.ActorIRI(u), false)
}

// load reads an account from the store and builds its actor. The stored
// document is authoritative; a missing one (a crash between the writes of
// create) is rebuilt and stored.
func (d *Directory) load(ctx context.Context, username string, iri *url.URL, instance bool) (*Actor, error) {
	acct, err := d.st.GetAccount(ctx, username)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil, fmt.Errorf("actor: no user %q: %w", username, err)
		}
		return nil, fmt.Errorf("actor: load %q: %w", username, err)
	}
	key, err := httpsig.ParsePrivateKeyPEM(acct.PrivateKeyPEM)
	if err != nil {
		return nil, fmt.Errorf("actor: private key of %q: %w", username, err)
	}
	a, err := d.newActor(username, iri, key, acct.Created, instance)
	if err != nil {
		return nil, err
	}
	obj, err := d.st.GetObject(ctx, a.iri.String())
	switch {
	case err == nil && obj.Type != "Tombstone":
		a.doc = obj.Data
	case err == nil || errors.Is(err, store.ErrNotFound):
		if err := d.persist(ctx, a); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("actor: load document of %q: %w", username, err)
	}
	return d.remember(a), nil
}

// ByIRI returns the local actor whose IRI is iri (a fragment, as in a key
// id, is ignored): a user or the instance actor. Anything else gives an
// error wrapping store.ErrNotFound. It never creates the instance actor.
func (d *Directory) ByIRI(ctx context.Context, iri string) (*Actor, error) {
	u, err := url.Parse(iri)
	if err != nil || !d.IsLocal(u) || u.RawQuery != "" {
		return nil, fmt.Errorf("actor: %q is not a local actor: %w", iri, store.ErrNotFound)
	}
	if u.Path == "/actor" {
		if a := d.cached(instanceUsername); a != nil {
			return a, nil
		}
		return d.load(ctx, instanceUsername, d.InstanceIRI(), true)
	}
	name, ok := strings.CutPrefix(u.Path, "/users/")
	if !ok || strings.Contains(name, "/") {
		return nil, fmt.Errorf("actor: %q is not a local actor: %w", iri, store.ErrNotFound)
	}
	return d.Get(ctx, name)
}

// Instance returns the instance actor (type Application, at /actor), the
// server's own identity, used to sign GETs that no user asked for (key
// fetches, authorized-fetch lookups). It is created with its key on first
// use. WebFinger resolves it as acct:{hostname}@{host}.
func (d *Directory) Instance(ctx context.Context) (*Actor, error) {
	if a := d.cached(instanceUsername); a != nil {
		return a, nil
	}
	d.instanceMu.Lock()
	defer d.instanceMu.Unlock()
	a, err := d.load(ctx, instanceUsername, d.InstanceIRI(), true)
	if !errors.Is(err, store.ErrNotFound) {
		return a, err
	}
	a, err = d.create(ctx, instanceUsername, d.InstanceIRI(), true)
	if errors.Is(err, store.ErrExists) {
		// Another process sharing the store won the race.
		return d.load(ctx, instanceUsername, d.InstanceIRI(), true)
	}
	return a, err
}

// countUsers returns the number of local users, the instance actor aside.
func (d *Directory) countUsers(ctx context.Context) (int, error) {
	n, err := d.st.CountAccounts(ctx)
	if err != nil {
		return 0, err
	}
	if _, err := d.st.GetAccount(ctx, instanceUsername); err == nil {
		n--
	} else if !errors.Is(err, store.ErrNotFound) {
		return 0, err
	}
	return max(n, 0), nil
}

// newActor builds an Actor and its document around a private key.
func (d *Directory) newActor(username string, iri *url.URL, key crypto.Signer, created time.Time, instance bool) (*Actor, error) {
	a := &Actor{Username: username, iri: iri, key: key, instance: instance, created: created}
	if instance {
		a.Username = d.hostname
	}
	pub, err := httpsig.EncodePublicKeyPEM(key.Public())
	if err != nil {
		return nil, fmt.Errorf("actor: public key of %q: %w", username, err)
	}
	a.pubPEM = pub
	if a.signer, err = httpsig.NewSigner(a.KeyID(), key, nil); err != nil {
		return nil, fmt.Errorf("actor: signer of %q: %w", username, err)
	}
	if a.doc, err = d.document(a); err != nil {
		return nil, err
	}
	return a, nil
}
