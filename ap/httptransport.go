package ap

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/slothpub/slothpub/httpsig"
	"github.com/slothpub/slothpub/internal/netguard"
	"github.com/slothpub/slothpub/store"
)

// Version is the slothpub release this package belongs to; it appears in
// the default User-Agent.
const Version = "0.1.0-dev"

// DefaultUserAgent is the User-Agent HTTPTransport sends unless told
// otherwise.
const DefaultUserAgent = "slothpub/" + Version + " (+https://github.com/slothpub/slothpub)"

// Accept and Content-Type values used on the wire.
const (
	// AcceptHeader is sent on every GET.
	AcceptHeader = `application/activity+json, application/ld+json; profile="https://www.w3.org/ns/activitystreams"`
	// ContentType is the media type of every POSTed activity.
	ContentType = "application/activity+json"
)

// Errors returned by HTTPTransport (wrapped; test with errors.Is).
var (
	// ErrForbiddenAddress: the destination resolved to a loopback,
	// private or otherwise non-public address and AllowPrivate is off.
	ErrForbiddenAddress = netguard.ErrForbidden
	// ErrResponseTooLarge: the response body exceeded MaxBodyBytes.
	ErrResponseTooLarge = errors.New("ap: response body too large")
	// ErrTooManyRedirects: the redirect chain exceeded MaxRedirects.
	ErrTooManyRedirects = errors.New("ap: too many redirects")
	// ErrUnsupportedScheme: a URL (or redirect target) was not http or https.
	ErrUnsupportedScheme = errors.New("ap: unsupported URL scheme")
)

// DefaultMaxPerHost is the default of HTTPTransportOptions.MaxPerHost: a
// few concurrent requests keep a busy peer's deliveries and fetches
// moving, and a slow or hostile one cannot tie up more than that many of
// ours (nor be flooded by us).
const DefaultMaxPerHost = 8

// DNSResolver looks up the IP addresses of a host name (network is "ip",
// "ip4" or "ip6"), as *net.Resolver does. See HTTPTransportOptions.Resolver.
type DNSResolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

type fetchDeadlineKey struct{}

// WithFetchDeadline returns a copy of ctx that carries d as the deadline of
// the requests made under it, and of nothing else ctx is used for: an
// inbox gives each inbound request one deadline for all the fetching it
// causes (however the fetches nest) without cutting short its store
// writes. HTTPTransport ends every request made under the context by d,
// waiting for a per-host slot included, with an error wrapping
// context.DeadlineExceeded; other Transports should do the same (see
// FetchDeadline). When ctx already carries an earlier deadline, that one
// stays.
func WithFetchDeadline(ctx context.Context, d time.Time) context.Context {
	if old, ok := FetchDeadline(ctx); ok && old.Before(d) {
		return ctx
	}
	return context.WithValue(ctx, fetchDeadlineKey{}, d)
}

// FetchDeadline returns the deadline WithFetchDeadline put in ctx, if any.
func FetchDeadline(ctx context.Context) (time.Time, bool) {
	d, ok := ctx.Value(fetchDeadlineKey{}).(time.Time)
	return d, ok
}

// HTTPTransportOptions configures NewHTTPTransport. The zero value (and
// nil) gives the defaults documented per field.
type HTTPTransportOptions struct {
	// UserAgent defaults to DefaultUserAgent.
	UserAgent string
	// DialTimeout bounds each TCP connect; default 5s.
	DialTimeout time.Duration
	// Timeout bounds a whole Get or Post, redirects and body included;
	// default 30s. The caller's context may set a shorter deadline, of
	// its own or for its requests only (WithFetchDeadline).
	Timeout time.Duration
	// MaxBodyBytes caps a response body; default 2 MiB. A larger body
	// fails the request with ErrResponseTooLarge and is not returned.
	MaxBodyBytes int64
	// MaxRedirects caps the redirect chain; default 5. A negative value
	// follows no redirect at all.
	MaxRedirects int
	// MaxPerHost caps the requests in flight to one host (name and port,
	// as the outbox counts its deliveries per host) at once,
	// across every caller of this transport (a slot is held from the
	// request until its response body is read, per redirect hop); default
	// DefaultMaxPerHost. A request waits for a slot within its context and
	// Timeout. A negative value removes the cap.
	MaxPerHost int
	// AllowPrivate lets the built-in RoundTripper reach loopback, private
	// and link-local addresses. Only for tests and closed networks.
	AllowPrivate bool
	// Resolver, if set, looks up the addresses of the hosts the built-in
	// RoundTripper connects to, in place of net.DefaultResolver. A
	// *net.Resolver (pointed at another DNS server with its Dial field)
	// implements it, and so does a test's fake. The private-address guard
	// stays on: each address the Resolver answers is checked when it is
	// dialled (unless AllowPrivate), and a name is resolved once per dial,
	// so that what is checked is what is connected to.
	Resolver DNSResolver
	// DialContext, if set, opens the built-in RoundTripper's TCP
	// connections in place of a net.Dialer with DialTimeout. It sits
	// beneath the guard: it is called only with an address that passed
	// the check, as an IP literal with port ("192.0.2.1:443"), and must
	// connect to exactly that address (no name resolution, no proxy) for
	// the guard to mean anything. ctx bounds it; DialTimeout does not
	// apply. Tests use it to map public addresses to loopback listeners.
	DialContext func(ctx context.Context, network, address string) (net.Conn, error)
	// RoundTripper, if set, is used instead of the built-in guarded one
	// (for in-process networks in tests); Resolver and DialContext are
	// then unused. The private-address guard is then the RoundTripper's
	// business. MaxPerHost applies to it too.
	RoundTripper http.RoundTripper
	// Logger receives debug records about redirects and failures; nil
	// discards them.
	Logger *slog.Logger

	// Values is where the transport remembers which signature scheme each
	// host accepted (see HTTPTransport), under SchemeKeyPrefix + host. Pass
	// the server's store.Store to share the memory between transports,
	// processes and restarts. nil: a map private to this transport,
	// bounded to 4096 hosts.
	Values store.Values
	// FirstScheme is the scheme a SchemeSigner signs with for a host the
	// transport knows nothing about: httpsig.SchemeCavage or
	// httpsig.SchemeRFC9421. "" (and any other value, with a warning):
	// DefaultFirstScheme, draft-cavage-12, which every fediverse server
	// accepts (Mastodon before 4.5 verifies nothing else).
	FirstScheme string
	// SchemeTTL is how long a host's scheme is remembered after it was
	// learnt. 0: DefaultSchemeTTL (7 days; see there for why).
	SchemeTTL time.Duration
}

// HTTPTransport is the Transport that speaks HTTP to real servers. It
// follows redirects itself so that every hop is signed for its own URL,
// caps bodies, redirects and time, and (by default) refuses to connect to
// non-public addresses, checking the address actually dialled. It is safe
// for concurrent use.
//
// # Addresses and limits
//
// The built-in RoundTripper resolves each host name itself, once per new
// connection (with HTTPTransportOptions.Resolver, default the system's),
// and connects only to the answers that pass the private-address guard,
// by IP; a redirect is followed by a new request, checked the same way.
// Resolver and DialContext let tests and closed networks decide where
// names go and how connections are made without switching the guard off
// (only RoundTripper does that). At most MaxPerHost requests to one host
// are in flight at once; the others wait, within their context.
//
// # Double knock
//
// The fediverse speaks two HTTP signature schemes, draft-cavage-12 and RFC
// 9421, and a server may verify only one of them. When the signer is a
// SchemeSigner (as *httpsig.Signer is), the transport signs each request
// with the scheme remembered for the target host, or with FirstScheme
// when it remembers nothing. If the host answers 401 Unauthorized or 400
// Bad Request, the request is sent once more:
//
//   - if the answer carries an Accept-Signature field (RFC 9421 section 5)
//     and the signer is an AcceptSigner, signed as that field asks (if the
//     signer cannot honour it, for instance because it names another key,
//     the other scheme is used instead);
//   - otherwise signed with the other scheme.
//
// A call makes at most one such retry (redirect hops are not retries, and
// each hop is signed for its own host); the body is re-sent byte for byte.
// If the retry fails too, its answer is returned as *RemoteError. When a
// host answers 2xx, the scheme that worked (and the Accept-Signature value
// honoured, unless it asked for a nonce) is remembered for that host, in
// Values, for SchemeTTL. The memory is written when it changes, not on
// every request, so an entry expires SchemeTTL after it was learnt and the
// next request learns it again.
//
// A plain RequestSigner signs every request its own way and is never
// retried; an AcceptSigner that is not a SchemeSigner is retried only to
// honour an Accept-Signature.
type HTTPTransport struct {
	client       *http.Client
	userAgent    string
	timeout      time.Duration
	maxBody      int64
	maxRedirects int
	log          *slog.Logger
	values       store.Values
	firstScheme  string
	schemeTTL    time.Duration
}

var _ Transport = (*HTTPTransport)(nil)

// NewHTTPTransport returns an HTTPTransport configured by opts (nil means
// all defaults).
func NewHTTPTransport(opts *HTTPTransportOptions) *HTTPTransport {
	var o HTTPTransportOptions
	if opts != nil {
		o = *opts
	}
	if o.UserAgent == "" {
		o.UserAgent = DefaultUserAgent
	}
	if o.DialTimeout <= 0 {
		o.DialTimeout = 5 * time.Second
	}
	if o.Timeout <= 0 {
		o.Timeout = 30 * time.Second
	}
	if o.MaxBodyBytes <= 0 {
		o.MaxBodyBytes = 2 << 20
	}
	switch {
	case o.MaxRedirects == 0:
		o.MaxRedirects = 5
	case o.MaxRedirects < 0:
		o.MaxRedirects = 0
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	switch o.FirstScheme {
	case httpsig.SchemeCavage, httpsig.SchemeRFC9421:
	case "":
		o.FirstScheme = DefaultFirstScheme
	default:
		o.Logger.Warn("ap: unknown FirstScheme, using the default", "scheme", o.FirstScheme, "default", DefaultFirstScheme)
		o.FirstScheme = DefaultFirstScheme
	}
	if o.SchemeTTL <= 0 {
		o.SchemeTTL = DefaultSchemeTTL
	}
	if o.Values == nil {
		o.Values = newHostMemory(defaultMemoryHosts)
	}
	rt := o.RoundTripper
	if rt == nil {
		rt = newRoundTripper(&o)
	}
	switch {
	case o.MaxPerHost == 0:
		rt = &hostLimiter{next: rt, max: DefaultMaxPerHost}
	case o.MaxPerHost > 0:
		rt = &hostLimiter{next: rt, max: o.MaxPerHost}
	}
	return &HTTPTransport{
		client: &http.Client{
			Transport: rt,
			// Redirects are followed by hand so each hop is re-signed.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		userAgent:    o.UserAgent,
		timeout:      o.Timeout,
		maxBody:      o.MaxBodyBytes,
		maxRedirects: o.MaxRedirects,
		log:          o.Logger,
		values:       o.Values,
		firstScheme:  o.FirstScheme,
		schemeTTL:    o.SchemeTTL,
	}
}

// newRoundTripper is the built-in RoundTripper: every connection goes
// through a netguard.Dialer, which resolves the name (o.Resolver), checks
// each address (unless o.AllowPrivate) and dials it by IP (o.DialContext,
// else a net.Dialer that checks the socket address once more).
func newRoundTripper(o *HTTPTransportOptions) *http.Transport {
	g := &netguard.Dialer{Dial: o.DialContext}
	if o.Resolver != nil {
		g.Resolver = o.Resolver
	}
	if o.AllowPrivate {
		g.Allow = func(netip.Addr) bool { return true }
	}
	if g.Dial == nil {
		d := &net.Dialer{Timeout: o.DialTimeout, KeepAlive: 30 * time.Second}
		if !o.AllowPrivate {
			d.Control = netguard.Control
		}
		g.Dial = d.DialContext
	}
	return &http.Transport{
		Proxy:                 nil, // a proxy would dial on our behalf, bypassing the guard
		DialContext:           g.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          100,
		MaxIdleConnsPerHost:   4,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
}

// Get fetches iri with the ActivityStreams Accept header, signing every
// hop with s when s is non-nil. Redirects (301, 302, 303, 307, 308) are
// followed up to MaxRedirects; Response.URL is the final URL.
func (t *HTTPTransport) Get(ctx context.Context, iri *url.URL, s RequestSigner) (*Response, error) {
	return t.do(ctx, http.MethodGet, iri, nil, s)
}

// Post delivers body to inbox, signed by s (required by every real
// server, but nil is allowed for tests). Only 307 and 308 redirects are
// followed for a POST, re-sending and re-signing the body; any other
// redirect is a *RemoteError.
func (t *HTTPTransport) Post(ctx context.Context, inbox *url.URL, body []byte, s RequestSigner) error {
	_, err := t.do(ctx, http.MethodPost, inbox, body, s)
	return err
}

func (t *HTTPTransport) do(ctx context.Context, method string, target *url.URL, body []byte, s RequestSigner) (*Response, error) {
	if target == nil {
		return nil, errors.New("ap: nil URL")
	}
	ctx, cancel := context.WithTimeout(ctx, t.timeout)
	defer cancel()
	if d, ok := FetchDeadline(ctx); ok {
		var cancelFetch context.CancelFunc
		ctx, cancelFetch = context.WithDeadline(ctx, d)
		defer cancelFetch()
	}

	u := target
	retried := false // the one retry of a call is spent
	for hop := 0; ; hop++ {
		if err := checkScheme(u); err != nil {
			return nil, err
		}
		var k knock
		loaded, fallback := "", ""
		if s != nil {
			k, loaded = t.firstKnock(ctx, u, s)
			fallback = httpsig.SchemeRFC9421
		}
		resp, used, err := t.roundTrip(ctx, method, u, body, s, k, fallback)
		if err != nil {
			return nil, fmt.Errorf("%s %s: %w", method, redact(u), err)
		}
		if (resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusBadRequest) && s != nil && !retried {
			if next, ok := t.retryKnock(used, resp, s); ok {
				retried = true
				discard(resp.Body)
				t.log.DebugContext(ctx, "signature refused, knocking again", "method", method, "url", redact(u),
					"status", resp.StatusCode, "scheme", used.scheme, "next", next.scheme, "accept-signature", next.accept)
				fallback = httpsig.SchemeRFC9421
				if used.scheme != "" {
					fallback = other(used.scheme)
				}
				if resp, used, err = t.roundTrip(ctx, method, u, body, s, next, fallback); err != nil {
					return nil, fmt.Errorf("%s %s: %w", method, redact(u), err)
				}
			}
		}
		if next, ok, err := t.redirect(method, u, resp); err != nil {
			return nil, err
		} else if ok {
			discard(resp.Body)
			if hop >= t.maxRedirects {
				return nil, fmt.Errorf("%s %s: %w (limit %d)", method, redact(target), ErrTooManyRedirects, t.maxRedirects)
			}
			t.log.DebugContext(ctx, "following redirect", "method", method, "from", redact(u), "to", redact(next), "status", resp.StatusCode)
			u = next
			continue
		}
		if resp.StatusCode < 200 || resp.StatusCode > 299 {
			discard(resp.Body)
			t.log.DebugContext(ctx, "remote error", "method", method, "url", redact(u), "status", resp.StatusCode)
			return nil, &RemoteError{Method: method, URL: u.String(), StatusCode: resp.StatusCode, Header: resp.Header}
		}
		if s != nil {
			t.remember(ctx, u, used, loaded)
		}
		data, err := t.readBody(resp)
		if err != nil {
			return nil, fmt.Errorf("%s %s: %w", method, redact(u), err)
		}
		return &Response{URL: u, StatusCode: resp.StatusCode, Header: resp.Header, Body: data}, nil
	}
}

// roundTrip sends one request, signed by s (when non-nil) as k says, and
// returns how it was actually signed.
func (t *HTTPTransport) roundTrip(ctx context.Context, method string, u *url.URL, body []byte, s RequestSigner, k knock, fallback string) (*http.Response, knock, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), rd)
	if err != nil {
		return nil, knock{}, err
	}
	req.Header.Set("User-Agent", t.userAgent)
	req.Header.Set("Date", time.Now().UTC().Format(http.TimeFormat))
	if method == http.MethodGet {
		req.Header.Set("Accept", AcceptHeader)
	} else {
		req.Header.Set("Content-Type", ContentType)
		req.Header.Set("Accept", AcceptHeader)
	}
	if s != nil {
		if k, err = t.sign(req, body, s, k, fallback); err != nil {
			return nil, knock{}, fmt.Errorf("sign request: %w", err)
		}
	}
	resp, err := t.client.Do(req)
	return resp, k, err
}

// redirect reports whether resp is a redirect to follow and where to.
func (t *HTTPTransport) redirect(method string, u *url.URL, resp *http.Response) (*url.URL, bool, error) {
	switch resp.StatusCode {
	case http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther:
		if method != http.MethodGet {
			return nil, false, nil
		}
	case http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
	default:
		return nil, false, nil
	}
	loc := resp.Header.Get("Location")
	if loc == "" {
		return nil, false, nil
	}
	next, err := u.Parse(loc)
	if err != nil {
		discard(resp.Body)
		return nil, false, fmt.Errorf("%s %s: bad redirect Location: %w", method, redact(u), err)
	}
	next.Fragment = ""
	if err := checkScheme(next); err != nil {
		discard(resp.Body)
		return nil, false, fmt.Errorf("%s %s: redirect: %w", method, redact(u), err)
	}
	return next, true, nil
}

func (t *HTTPTransport) readBody(resp *http.Response) ([]byte, error) {
	defer resp.Body.Close()
	if resp.ContentLength > t.maxBody {
		return nil, fmt.Errorf("%w: Content-Length %d > %d", ErrResponseTooLarge, resp.ContentLength, t.maxBody)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, t.maxBody+1))
	if err != nil {
		return nil, fmt.Errorf("read body: %w", err)
	}
	if int64(len(data)) > t.maxBody {
		return nil, fmt.Errorf("%w: more than %d bytes", ErrResponseTooLarge, t.maxBody)
	}
	return data, nil
}

// discard drains a little of an unwanted body (so the connection can be
// reused) and closes it.
func discard(body io.ReadCloser) {
	_, _ = io.Copy(io.Discard, io.LimitReader(body, 64<<10))
	_ = body.Close()
}

func checkScheme(u *url.URL) error {
	switch strings.ToLower(u.Scheme) {
	case "http", "https":
		if u.Host == "" {
			return fmt.Errorf("ap: URL %q has no host", redact(u))
		}
		return nil
	}
	return fmt.Errorf("%w: %q", ErrUnsupportedScheme, u.Scheme)
}

// redact drops userinfo from a URL for logs and errors.
func redact(u *url.URL) string {
	if u.User == nil {
		return u.String()
	}
	c := *u
	c.User = nil
	return c.String()
}

// hostLimiter is a RoundTripper that lets at most max requests to one host
// (name and port: two servers on one name are two hosts) be in flight at
// once. A slot is taken before the request is sent
// (waiting for it ends with the request's context) and given back when
// the response body is closed, or at once when there is no response.
// Hosts without requests in flight hold no memory.
type hostLimiter struct {
	next http.RoundTripper
	max  int

	mu    sync.Mutex
	hosts map[string]*hostSlots
}

// limiterKey is the host of u with its port, the scheme's default port
// when u names none: https://a.example and https://a.example:443 are one
// host.
func limiterKey(u *url.URL) string {
	port := u.Port()
	if port == "" {
		port = "443"
		if u.Scheme == "http" {
			port = "80"
		}
	}
	return net.JoinHostPort(strings.ToLower(u.Hostname()), port)
}

type hostSlots struct {
	slots chan struct{} // one element per request in flight
	users int           // requests holding or waiting for a slot
}

func (l *hostLimiter) RoundTrip(req *http.Request) (*http.Response, error) {
	host := limiterKey(req.URL)
	release, err := l.acquire(req.Context(), host)
	if err != nil {
		if req.Body != nil {
			_ = req.Body.Close() // a RoundTripper must close it, even on error
		}
		return nil, fmt.Errorf("waiting for a connection slot to %s: %w", host, err)
	}
	resp, err := l.next.RoundTrip(req)
	if err != nil {
		release()
		return nil, err
	}
	resp.Body = &releasingBody{ReadCloser: resp.Body, release: release}
	return resp, nil
}

func (l *hostLimiter) acquire(ctx context.Context, host string) (func(), error) {
	l.mu.Lock()
	if l.hosts == nil {
		l.hosts = make(map[string]*hostSlots)
	}
	h := l.hosts[host]
	if h == nil {
		h = &hostSlots{slots: make(chan struct{}, l.max)}
		l.hosts[host] = h
	}
	h.users++
	l.mu.Unlock()
	leave := func() {
		l.mu.Lock()
		if h.users--; h.users == 0 {
			delete(l.hosts, host)
		}
		l.mu.Unlock()
	}
	select {
	case h.slots <- struct{}{}:
		var once sync.Once
		return func() { once.Do(func() { <-h.slots; leave() }) }, nil
	case <-ctx.Done():
		leave()
		return nil, ctx.Err()
	}
}

// releasingBody gives the request's slot back when the body is closed.
type releasingBody struct {
	io.ReadCloser
	release func()
}

func (b *releasingBody) Close() error {
	err := b.ReadCloser.Close()
	b.release()
	return err
}
