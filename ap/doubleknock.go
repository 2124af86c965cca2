package ap

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/slothpub/slothpub/httpsig"
	"github.com/slothpub/slothpub/store"
)

// SchemeSigner is a RequestSigner that can sign with a chosen HTTP
// signature scheme, httpsig.SchemeCavage or httpsig.SchemeRFC9421.
// *httpsig.Signer implements it. HTTPTransport double-knocks with a
// SchemeSigner: see HTTPTransport.
type SchemeSigner interface {
	RequestSigner
	SignRequestScheme(r *http.Request, body []byte, scheme string) error
}

// AcceptSigner can sign a request as a server asked in an Accept-Signature
// field (RFC 9421 section 5). *httpsig.Signer implements it. HTTPTransport
// uses it to answer a 401 or 400 that carries Accept-Signature.
type AcceptSigner interface {
	SignRequestAccepting(r *http.Request, body []byte, acceptSignature string) error
}

// Defaults of the double-knock options.
const (
	// DefaultFirstScheme is the default HTTPTransportOptions.FirstScheme:
	// draft-cavage-12. Every fediverse server verifies it, while RFC 9421
	// is verified only by a few (Mastodon from 4.5 on, not earlier), so
	// signing cavage first costs no second request with almost every host.
	DefaultFirstScheme = httpsig.SchemeCavage
	// DefaultSchemeTTL is the default HTTPTransportOptions.SchemeTTL:
	// seven days. Servers change the schemes they accept only on upgrades,
	// so a week-old memory is almost always right, and when it is wrong the
	// next request costs one extra knock and corrects it; meanwhile a host
	// that left RFC 9421-only mode is found within a week. Re-learning a
	// host costs at most one failed request per host per week.
	DefaultSchemeTTL = 7 * 24 * time.Hour
	// SchemeKeyPrefix prefixes the host in the store.Values key under which
	// HTTPTransport remembers a host's scheme: "httpsig-scheme:example.com".
	SchemeKeyPrefix = "httpsig-scheme:"
)

const (
	// defaultMemoryHosts bounds the built-in scheme memory.
	defaultMemoryHosts = 4096
	// maxRememberedAccept caps an Accept-Signature value kept in memory.
	maxRememberedAccept = 1024
)

// knock is how one attempt is signed.
type knock struct {
	scheme string // httpsig.SchemeCavage or SchemeRFC9421; "" when unknown
	accept string // Accept-Signature value honoured (scheme is RFC 9421)
}

// value is how a knock is remembered: the scheme name, or for an honoured
// Accept-Signature "rfc9421\n" followed by the field value.
func (k knock) value() string {
	if k.accept != "" {
		return httpsig.SchemeRFC9421 + "\n" + k.accept
	}
	return k.scheme
}

func parseKnock(v string) (knock, bool) {
	scheme, accept, _ := strings.Cut(v, "\n")
	switch scheme {
	case httpsig.SchemeCavage:
		return knock{scheme: scheme}, accept == ""
	case httpsig.SchemeRFC9421:
		return knock{scheme: scheme, accept: accept}, true
	}
	return knock{}, false
}

// other returns the scheme that is not scheme.
func other(scheme string) string {
	if scheme == httpsig.SchemeCavage {
		return httpsig.SchemeRFC9421
	}
	return httpsig.SchemeCavage
}

// hostKey is the memory key of a URL's host: lower case, with the port.
func hostKey(u *url.URL) string { return SchemeKeyPrefix + strings.ToLower(u.Host) }

// firstKnock decides how to sign the first attempt to u: as remembered
// for its host, else with the configured first scheme. loaded is what was
// remembered ("" if nothing).
func (t *HTTPTransport) firstKnock(ctx context.Context, u *url.URL, s RequestSigner) (k knock, loaded string) {
	if _, ok := s.(SchemeSigner); !ok {
		return knock{}, "" // a plain signer signs its own way
	}
	v, err := t.values.GetValue(ctx, hostKey(u))
	switch {
	case err == nil:
		if k, ok := parseKnock(string(v)); ok {
			return k, string(v)
		}
		t.log.DebugContext(ctx, "ignoring unreadable remembered signature scheme", "host", u.Host)
	case !errors.Is(err, store.ErrNotFound):
		t.log.WarnContext(ctx, "reading remembered signature scheme", "host", u.Host, "error", err)
	}
	return knock{scheme: t.firstScheme}, ""
}

// retryKnock decides how to sign the one retry after resp refused the
// attempt signed as prev (with 401 or 400), or reports that there is
// nothing else to try.
func (t *HTTPTransport) retryKnock(prev knock, resp *http.Response, s RequestSigner) (knock, bool) {
	if as := resp.Header.Get("Accept-Signature"); as != "" && as != prev.accept {
		if _, ok := s.(AcceptSigner); ok {
			return knock{scheme: httpsig.SchemeRFC9421, accept: as}, true
		}
	}
	if _, ok := s.(SchemeSigner); !ok {
		return knock{}, false
	}
	if prev.scheme == "" {
		return knock{scheme: t.firstScheme}, true
	}
	return knock{scheme: other(prev.scheme)}, true
}

// sign signs req as k says, falling back when the signer cannot: from an
// Accept-Signature it cannot honour to the other scheme than the failed
// attempt's (fallback), from a scheme it cannot sign with to its own
// SignRequest. It returns how req was actually signed.
func (t *HTTPTransport) sign(req *http.Request, body []byte, s RequestSigner, k knock, fallback string) (knock, error) {
	ctx := req.Context()
	if k.accept != "" {
		err := errors.New("signer cannot honour Accept-Signature")
		if as, ok := s.(AcceptSigner); ok {
			if err = as.SignRequestAccepting(req, body, k.accept); err == nil {
				return k, nil
			}
		}
		t.log.DebugContext(ctx, "cannot sign as Accept-Signature asks", "host", req.URL.Host, "error", err)
		k = knock{scheme: fallback}
		if k.scheme == "" {
			k.scheme = httpsig.SchemeRFC9421
		}
	}
	if ss, ok := s.(SchemeSigner); ok && k.scheme != "" {
		err := ss.SignRequestScheme(req, body, k.scheme)
		if err == nil {
			return k, nil
		}
		t.log.DebugContext(ctx, "cannot sign with scheme", "scheme", k.scheme, "error", err)
	}
	if err := s.SignRequest(req, body); err != nil {
		return knock{}, err
	}
	// The signer chose; tell which scheme from what it wrote.
	if req.Header.Get("Signature-Input") != "" {
		return knock{scheme: httpsig.SchemeRFC9421}, nil
	}
	if req.Header.Get("Signature") != "" || req.Header.Get("Authorization") != "" {
		return knock{scheme: httpsig.SchemeCavage}, nil
	}
	return knock{}, nil
}

// remember records that host accepted k, unless that is what was
// remembered already (loaded): the memory is written when it changes, not
// on every request.
func (t *HTTPTransport) remember(ctx context.Context, u *url.URL, k knock, loaded string) {
	if k.scheme == "" {
		return
	}
	if k.accept != "" && !rememberable(k.accept) {
		k.accept = ""
	}
	v := k.value()
	if v == loaded {
		return
	}
	if err := t.values.PutValue(ctx, hostKey(u), []byte(v), time.Now().Add(t.schemeTTL)); err != nil {
		t.log.WarnContext(ctx, "remembering signature scheme", "host", u.Host, "error", err)
		return
	}
	t.log.DebugContext(ctx, "remembered signature scheme", "host", u.Host, "scheme", k.scheme, "accept-signature", k.accept)
}

// rememberable reports whether an Accept-Signature value may be reused for
// later requests: not when it asks for a nonce (single use by nature), nor
// when it is implausibly long.
func rememberable(accept string) bool {
	if len(accept) > maxRememberedAccept {
		return false
	}
	reqs, err := httpsig.ParseAcceptSignature(accept)
	if err != nil {
		return false
	}
	for _, r := range reqs {
		if r.Nonce != "" {
			return false
		}
	}
	return true
}

// hostMemory is the built-in store.Values of an HTTPTransport: a map
// bounded to max entries. When full, expired entries are dropped, and if
// none has expired an arbitrary one is.
type hostMemory struct {
	mu  sync.Mutex
	max int
	m   map[string]memEntry
}

type memEntry struct {
	v       []byte
	expires time.Time
}

var _ store.Values = (*hostMemory)(nil)

func newHostMemory(max int) *hostMemory {
	return &hostMemory{max: max, m: make(map[string]memEntry)}
}

func (h *hostMemory) GetValue(ctx context.Context, key string) ([]byte, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	e, ok := h.m[key]
	if !ok || !e.expires.IsZero() && !time.Now().Before(e.expires) {
		return nil, store.ErrNotFound
	}
	return append([]byte(nil), e.v...), nil
}

func (h *hostMemory) PutValue(ctx context.Context, key string, value []byte, expires time.Time) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.m[key]; !ok && len(h.m) >= h.max {
		now := time.Now()
		for k, e := range h.m {
			if !e.expires.IsZero() && !now.Before(e.expires) {
				delete(h.m, k)
			}
		}
		for k := range h.m {
			if len(h.m) < h.max {
				break
			}
			delete(h.m, k)
		}
	}
	h.m[key] = memEntry{v: append([]byte(nil), value...), expires: expires}
	return nil
}

func (h *hostMemory) DeleteValue(ctx context.Context, key string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.m[key]; !ok {
		return store.ErrNotFound
	}
	delete(h.m, key)
	return nil
}
