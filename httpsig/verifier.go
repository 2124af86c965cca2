package httpsig

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/slothpub/slothpub/internal/httpbody"
)

// DefaultWindow is the default VerifierOptions.Window.
//
// Mastodon accepts a Date up to one hour ahead of its clock
// (CLOCK_SKEW_MARGIN) and up to about 1h05m behind it (a default 5-minute
// expiry plus the same margin). One hour each way interoperates with it and
// the other fediverse servers, which sign at send time (a retried delivery
// is re-signed), tolerates peers with badly synchronised clocks, and bounds
// the lifetime of a captured request to two hours.
const DefaultWindow = time.Hour

// DefaultMaxBodyBytes is the default VerifierOptions.MaxBodyBytes: 1 MiB,
// far above any real activity.
const DefaultMaxBodyBytes = 1 << 20

// VerifierOptions configures a Verifier. nil means all defaults.
type VerifierOptions struct {
	// Clock returns the current time. nil: time.Now.
	Clock func() time.Time
	// Window is the largest allowed |now - Date| (or |now - created|); a
	// signature with an expires parameter is also accepted until
	// expires+Window. 0: DefaultWindow (1 hour; see there for why).
	Window time.Duration
	// MaxBodyBytes caps the body read to check its digest. 0:
	// DefaultMaxBodyBytes (1 MiB).
	MaxBodyBytes int64
	// Logger receives one debug record per rejected request. nil:
	// slog.Default().
	Logger *slog.Logger
	// TargetScheme is the URL scheme ("https") of the requests as their
	// senders addressed them, for the RFC 9421 @target-uri and @scheme
	// components. "": "https" when the request arrived over TLS, else
	// "http". A server behind a TLS-terminating proxy must set "https".
	TargetScheme string
	// Label, when set, is the only RFC 9421 signature label Verify
	// considers. "": the signatures in the request are tried in order and
	// the first that verifies wins; only the first MaxRFC9421Signatures are
	// tried (a request with more than 8 is rejected as malformed).
	Label string
	// Tag, when set, is the only RFC 9421 tag parameter Verify accepts:
	// signatures with another tag, or none, are ignored (RFC 9421 section
	// 2.3: an application picks the signatures meant for it by tag).
	// draft-cavage signatures, which have no tag, are refused with
	// ReasonNoSignature.
	Tag string
	// Nonces, when set, remembers the nonce of every verified RFC 9421
	// signature that has one until the signature could no longer pass the
	// window, and Verify refuses a second request with the same keyid and
	// nonce (ReasonReplayed). NewNonceCache is an in-memory one.
	Nonces NonceChecker
	// RequireNonce refuses signatures without a nonce parameter
	// (ReasonMissingComponent), which includes every draft-cavage
	// signature: no fediverse server sends nonces yet, so only a Verifier
	// for peers known to send them should set it.
	RequireNonce bool
	// StrictRequestTarget refuses draft-cavage signatures whose
	// (request-target) leaves out the query string. By default an
	// rsa-sha256 signature (or hs2019 with an RSA key) over a request with a
	// query is also checked against the target without its query, once,
	// because older Mastodon versions signed that way and Mastodon itself
	// still accepts it (SignedRequest::HttpSignature#verified? in Mastodon
	// 4.5); such a signature does not bind the query string.
	StrictRequestTarget bool
}

// MaxRFC9421Signatures is how many of one request's RFC 9421 signatures
// Verify tries: each may cost a key lookup (a fetch, when the key is not
// cached) and a public-key operation, and a sender needs only one
// (Mastodon sends one). Further labels are ignored.
const MaxRFC9421Signatures = 2

// Verifier checks HTTP signatures on incoming requests. It is safe for
// concurrent use.
type Verifier struct {
	keys    KeyResolver
	clock   func() time.Time
	window  time.Duration
	maxBody int64
	log     *slog.Logger
	scheme  string
	label   string
	tag     string
	nonces  NonceChecker
	reqNonc bool
	strict  bool
}

// NewVerifier returns a Verifier that finds keys with keys.
func NewVerifier(keys KeyResolver, opts *VerifierOptions) *Verifier {
	if opts == nil {
		opts = &VerifierOptions{}
	}
	v := &Verifier{
		keys:    keys,
		clock:   opts.Clock,
		window:  opts.Window,
		maxBody: opts.MaxBodyBytes,
		log:     opts.Logger,
		scheme:  opts.TargetScheme,
		label:   opts.Label,
		tag:     opts.Tag,
		nonces:  opts.Nonces,
		reqNonc: opts.RequireNonce,
		strict:  opts.StrictRequestTarget,
	}
	if v.clock == nil {
		v.clock = time.Now
	}
	if v.window <= 0 {
		v.window = DefaultWindow
	}
	if v.maxBody <= 0 {
		v.maxBody = DefaultMaxBodyBytes
	}
	if v.log == nil {
		v.log = slog.Default()
	}
	return v
}

// Result describes a verified signature.
type Result struct {
	KeyID     string     // keyId (cavage) or keyid (RFC 9421) of the signature
	Owner     string     // Key.Owner: the actor the signer speaks for
	Algorithm string     // algorithm as named in the signature ("" if absent)
	Scheme    string     // SchemeCavage or SchemeRFC9421
	Key       *PublicKey // the key that verified the signature
	// Created is when the signature was made: its created parameter, else
	// the covered Date header.
	Created time.Time
	// Expires is the signature's expires parameter; zero if it has none.
	Expires time.Time
	// Label, Nonce and Tag are the RFC 9421 signature's label and its
	// nonce and tag parameters ("" when absent, and for draft-cavage).
	Label, Nonce, Tag string
}

// bufPool holds buffers for signing strings and signature header values,
// so that signing and verifying do not allocate them.
var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

// maxPooledBuf is the largest buffer bufPool keeps: a request whose covered
// headers are huge does not leave a huge buffer behind.
const maxPooledBuf = 16 << 10

// keepBuf makes buf, grown from *bp, the buffer bp returns to the pool,
// unless it grew too large to keep.
func keepBuf(bp *[]byte, buf []byte) {
	if cap(buf) <= maxPooledBuf {
		*bp = buf[:0]
	}
}

// Verify checks r's signature: RFC 9421 Signature-Input and Signature
// headers when Signature-Input is present, else a draft-cavage-12
// Signature header (or "Authorization: Signature ...").
//
// An RFC 9421 signature must cover "@method" and the target ("@target-uri",
// or "@authority" with "@request-target" or with "@path" and, when the
// request has a query, "@query"), carry a keyid and a created parameter
// (or cover "date"), and, for requests with a body, cover
// "content-digest", which must match the body (RFC 9530).
//
// The signature must cover "(request-target)", "host" and "date" (or
// "(created)"), and the Date (created) must lie within the window. When the
// request can carry a body (POST, PUT, PATCH, or any request with a non-zero
// Content-Length) the signature must also cover "digest", and the Digest
// header must match the body: Verify reads r.Body (at most MaxBodyBytes) and
// replaces it with an equivalent reader, so handlers can read it again.
//
// The key comes from the KeyResolver (ResolveKey(ctx, keyID, false)); when
// the signature does not verify, the resolver is asked once more with
// refresh=true, in case the remote rotated its key, before Verify fails.
//
// A request may carry several RFC 9421 signatures (labels). Verify tries
// them in the order of Signature-Input, and the first that verifies wins;
// but it tries at most MaxRFC9421Signatures of them (2; with
// VerifierOptions.Label set, only that one) and asks the resolver for a
// fresh key at most once per request, so that one request costs at most
// 2 + 1 key lookups, however many signatures it carries. The labels it does
// not try are ignored. (Choosing among the several keys of one actor,
// assertionMethod, is the KeyResolver's business: a keyid names one key.)
//
// Every failure is an *Error with a Reason.
func (v *Verifier) Verify(r *http.Request) (*Result, error) {
	if len(r.Header.Values("Signature-Input")) > 0 {
		return v.verifyRFC9421(r)
	}
	raw, err := cavageHeader(r.Header)
	if err != nil {
		return nil, err
	}
	switch {
	case v.tag != "":
		return nil, fail(ReasonNoSignature, "a draft-cavage signature has no tag (%q required)", v.tag)
	case v.reqNonc:
		return nil, fail(ReasonMissingComponent, "a draft-cavage signature has no nonce")
	}
	pc := cavagePool.Get().(*parsedCavage)
	defer cavagePool.Put(pc)
	if err := pc.parse(raw); err != nil {
		return nil, failErr(ReasonMalformed, err)
	}
	p := &pc.cavageParams
	if !knownCavageAlgorithm(p.Algorithm) {
		return nil, fail(ReasonUnsupportedAlgorithm, "algorithm %q", p.Algorithm)
	}
	if err := v.checkCavageCoverage(r, p); err != nil {
		return nil, err
	}
	created, err := v.checkCavageTime(r, p)
	if err != nil {
		return nil, err
	}
	if requiresBody(r) || coversCavage(p, "digest") {
		if err := v.checkBodyDigest(r, "Digest", checkDigest); err != nil {
			return nil, err
		}
	}

	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	msg, err := cavageSigningString((*bp)[:0], r, p)
	if err != nil {
		return nil, failErr(ReasonMissingComponent, err)
	}
	keepBuf(bp, msg)

	var pathOnly []byte // msg without the query in (request-target), built once if needed
	var refreshed bool
	key, err := v.verifyWithKey(r.Context(), p.KeyID, &refreshed, func(k *PublicKey) error {
		algs, err := cavageAlgs(p.Algorithm, k.Key)
		if err != nil {
			return err
		}
		for _, a := range algs {
			if err = verifyAlg(a, k.Key, msg, p.Signature); err == nil {
				return nil
			}
		}
		if len(algs) > 0 && algs[0] == algRSAPKCS1SHA256 && v.queryLessTarget(r, p) {
			if pathOnly == nil {
				pathOnly, _ = cavageSigningStringWith(nil, r, p, &signedValues{pathOnly: true})
			}
			if verifyAlg(algRSAPKCS1SHA256, k.Key, pathOnly, p.Signature) == nil {
				return nil
			}
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	res := &Result{KeyID: p.KeyID, Owner: key.Owner, Algorithm: p.Algorithm, Scheme: SchemeCavage, Key: key, Created: created}
	if p.HasExpires {
		res.Expires = time.Unix(p.Expires, 0)
	}
	return res, nil
}

// queryLessTarget reports whether a draft-cavage signature that failed
// may be tried again without the query in (request-target)
// (VerifierOptions.StrictRequestTarget).
func (v *Verifier) queryLessTarget(r *http.Request, p *cavageParams) bool {
	return !v.strict && coversCavage(p, "(request-target)") && strings.Contains(requestTarget(r), "?")
}

// verifyWithKey resolves keyID and runs check with it; on failure, unless
// *refreshed says this request already had its fresh key, it asks the
// resolver for a fresh key once (setting *refreshed) and retries.
func (v *Verifier) verifyWithKey(ctx context.Context, keyID string, refreshed *bool, check func(*PublicKey) error) (*PublicKey, error) {
	key, err := v.resolve(ctx, keyID, false)
	if err != nil {
		return nil, err
	}
	first := check(key)
	if first == nil {
		return key, nil
	}
	if *refreshed {
		return nil, signatureFailure(first, first)
	}
	*refreshed = true
	fresh, err := v.resolve(ctx, keyID, true)
	if err != nil {
		return nil, err
	}
	if second := check(fresh); second != nil {
		return nil, signatureFailure(first, second)
	}
	return fresh, nil
}

// signatureFailure classifies the failures of a signature with the cached
// key (first) and the fresh one (second).
func signatureFailure(first, second error) error {
	if errors.Is(second, errKeyMismatch) && errors.Is(first, errKeyMismatch) {
		return failErr(ReasonUnsupportedAlgorithm, second)
	}
	return failErr(ReasonBadSignature, second)
}

func (v *Verifier) resolve(ctx context.Context, keyID string, refresh bool) (*PublicKey, error) {
	if v.keys == nil {
		return nil, fail(ReasonKeyUnavailable, "no key resolver configured")
	}
	k, err := v.keys.ResolveKey(ctx, keyID, refresh)
	if err != nil {
		return nil, failErr(ReasonKeyUnavailable, fmt.Errorf("resolving %q: %w", keyID, err))
	}
	if k == nil || k.Key == nil {
		return nil, fail(ReasonKeyUnavailable, "resolver returned no key for %q", keyID)
	}
	return k, nil
}

// cavageHeader returns the one draft-cavage signature in h. Several
// Signature headers, or a Signature and an Authorization: Signature, are
// ambiguous and rejected.
func cavageHeader(h http.Header) (string, error) {
	var found string
	n := 0
	for _, s := range h["Signature"] {
		found = s
		n++
	}
	for _, a := range h["Authorization"] {
		scheme, rest, _ := strings.Cut(a, " ")
		if strings.EqualFold(scheme, "Signature") {
			found = rest
			n++
		}
	}
	switch n {
	case 0:
		return "", fail(ReasonNoSignature, "no Signature or Authorization: Signature header")
	case 1:
		return found, nil
	}
	return "", fail(ReasonMalformed, "%d signature headers", n)
}

// requiresBody reports whether r must have its body covered by a digest.
func requiresBody(r *http.Request) bool {
	switch r.Method {
	case http.MethodPost, http.MethodPut, http.MethodPatch:
		return true
	}
	return r.ContentLength != 0 && r.Body != nil && r.Body != http.NoBody
}

func (v *Verifier) checkCavageCoverage(r *http.Request, p *cavageParams) error {
	var target, host, date, created, digest bool
	for _, h := range p.Headers {
		switch h {
		case "(request-target)":
			target = true
		case "host":
			host = true
		case "date":
			date = true
		case "(created)":
			created = true
		case "digest":
			digest = true
		}
	}
	switch {
	case !target:
		return fail(ReasonMissingComponent, "signature does not cover (request-target)")
	case !host:
		return fail(ReasonMissingComponent, "signature does not cover host")
	case !date && !created:
		return fail(ReasonMissingComponent, "signature covers neither date nor (created)")
	case !digest && requiresBody(r):
		return fail(ReasonMissingComponent, "signature of a %s does not cover digest", r.Method)
	}
	return nil
}

// checkCavageTime checks the Date and (created) a draft-cavage signature
// covers against the window and its expires parameter, and returns when the
// signature was made: (created), else Date, else the zero time.
func (v *Verifier) checkCavageTime(r *http.Request, p *cavageParams) (time.Time, error) {
	now := v.clock()
	var created time.Time
	if coversCavage(p, "date") {
		d := r.Header.Get("Date")
		if d == "" {
			return created, fail(ReasonMissingComponent, "covered header \"date\" is absent")
		}
		t, err := parseHTTPDate(d)
		if err != nil {
			return created, fail(ReasonMalformed, "Date %q: %v", d, err)
		}
		if err := v.inWindow(now, t, "Date"); err != nil {
			return created, err
		}
		created = t
	}
	if coversCavage(p, "(created)") {
		if !p.HasCreated {
			return created, fail(ReasonMissingComponent, "(created) covered but created parameter absent")
		}
		created = time.Unix(p.Created, 0)
		if err := v.inWindow(now, created, "created"); err != nil {
			return created, err
		}
	}
	if p.HasExpires && now.After(time.Unix(p.Expires, 0).Add(v.window)) {
		return created, fail(ReasonOutsideWindow, "signature expired at %d", p.Expires)
	}
	return created, nil
}

func coversCavage(p *cavageParams, name string) bool {
	for _, h := range p.Headers {
		if h == name {
			return true
		}
	}
	return false
}

func (v *Verifier) inWindow(now, t time.Time, what string) error {
	d := now.Sub(t)
	if d > v.window {
		return fail(ReasonOutsideWindow, "%s is %v in the past (window %v)", what, d.Round(time.Second), v.window)
	}
	if -d > v.window {
		return fail(ReasonOutsideWindow, "%s is %v in the future (window %v)", what, (-d).Round(time.Second), v.window)
	}
	return nil
}

// parseHTTPDate parses an HTTP date; besides the forms http.ParseTime
// accepts it takes IMF-fixdate without the weekday, as in Mastodon's docs.
func parseHTTPDate(s string) (time.Time, error) {
	if t, err := http.ParseTime(s); err == nil {
		return t, nil
	}
	return time.Parse("2 Jan 2006 15:04:05 GMT", s)
}

// readBody reads r.Body up to the cap and puts an equivalent reader back.
// With a Content-Length, as fediverse servers send, it reads into one
// buffer of that size (up to httpbody.MaxHint).
func (v *Verifier) readBody(r *http.Request) ([]byte, error) {
	if r.Body == nil || r.Body == http.NoBody {
		return nil, nil
	}
	if r.ContentLength > v.maxBody {
		return nil, fail(ReasonBodyTooLarge, "Content-Length %d exceeds %d", r.ContentLength, v.maxBody)
	}
	if rb, ok := r.Body.(*replayBody); ok { // read before: no copy
		body := rb.b[len(rb.b)-rb.Len():]
		if int64(len(body)) > v.maxBody {
			return nil, fail(ReasonBodyTooLarge, "body exceeds %d bytes", v.maxBody)
		}
		rb.reset(body)
		return body, nil
	}
	body, err := httpbody.Read(r.Body, r.ContentLength, v.maxBody)
	_ = r.Body.Close()
	rb := &replayBody{}
	rb.reset(body)
	r.Body = rb
	if err != nil {
		return nil, fail(ReasonMalformed, "reading body: %v", err)
	}
	if int64(len(body)) > v.maxBody {
		return nil, fail(ReasonBodyTooLarge, "body exceeds %d bytes", v.maxBody)
	}
	return body, nil
}

// replayBody is the request body Verify puts back after reading it, and
// the one ReplayBody makes.
type replayBody struct {
	r bytes.Reader
	b []byte // what r reads
}

func (rb *replayBody) reset(b []byte) {
	rb.r.Reset(b)
	rb.b = b
}

// Len is the number of bytes not read yet.
func (rb *replayBody) Len() int { return rb.r.Len() }

func (rb *replayBody) Read(p []byte) (int, error) { return rb.r.Read(p) }

// WriteTo lets io.Copy take the bytes without a buffer.
func (rb *replayBody) WriteTo(w io.Writer) (int64, error) { return rb.r.WriteTo(w) }

func (*replayBody) Close() error { return nil }

// ReplayBody returns a request body that reads body, for a handler that
// read a request's body before verifying its signature: Verify reads it
// without copying it (and leaves a body that reads it again). body must
// not be changed while the request is in use.
func ReplayBody(body []byte) io.ReadCloser {
	rb := &replayBody{}
	rb.reset(body)
	return rb
}

// checkBodyDigest checks the digest header named header against the body.
func (v *Verifier) checkBodyDigest(r *http.Request, header string, check func(string, []byte) error) error {
	vals := r.Header[header]
	if len(vals) == 0 {
		return fail(ReasonMissingComponent, "covered header %q is absent", strings.ToLower(header))
	}
	body, err := v.readBody(r)
	if err != nil {
		return err
	}
	if err := check(strings.Join(vals, ", "), body); err != nil {
		return failErr(ReasonDigestMismatch, err)
	}
	return nil
}

// Handler returns a handler that verifies each request and calls next with
// the Result in the request's context (see ResultFromContext). A request
// that fails verification is answered 401 Unauthorized (413 when its body
// is too large) with a short public text naming the Reason, and next is not
// called.
func (v *Verifier) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		res, err := v.Verify(r)
		if err != nil {
			reason := ReasonOf(err)
			v.log.DebugContext(r.Context(), "httpsig: rejected request",
				slog.String("reason", string(reason)),
				slog.String("method", r.Method),
				slog.String("path", r.URL.Path),
				slog.Any("error", err))
			status := http.StatusUnauthorized
			if reason == ReasonBodyTooLarge {
				status = http.StatusRequestEntityTooLarge
			} else {
				w.Header().Set("WWW-Authenticate", `Signature realm="activitypub",headers="(request-target) host date digest"`)
			}
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.Header().Set("X-Content-Type-Options", "nosniff")
			w.WriteHeader(status)
			_, _ = io.WriteString(w, "HTTP signature rejected: "+string(reason)+"\n")
			return
		}
		next.ServeHTTP(w, r.WithContext(NewContext(r.Context(), res)))
	})
}

type resultKey struct{}

// NewContext returns a copy of ctx carrying r.
func NewContext(ctx context.Context, r *Result) context.Context {
	return context.WithValue(ctx, resultKey{}, r)
}

// ResultFromContext returns the Result a Verifier.Handler stored in ctx.
func ResultFromContext(ctx context.Context) (*Result, bool) {
	r, ok := ctx.Value(resultKey{}).(*Result)
	return r, ok && r != nil
}
