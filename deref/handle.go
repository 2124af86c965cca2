package deref

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/slothpub/slothpub/ap"
	"github.com/slothpub/slothpub/internal/origin"
	"github.com/slothpub/slothpub/store"
)

// ErrNoHandle: the actor has no handle that WebFinger confirms (no
// preferredUsername, no WebFinger answer, or answers that do not lead
// back to the actor). It comes wrapped in an *ap.Error with status 502,
// and wraps the remote's 404 (store.ErrNotFound) when there was one.
var ErrNoHandle = errors.New("deref: actor has no confirmed handle")

// HandleKeyPrefix prefixes the actor IRI in the store.Values key under
// which Handle keeps a resolved handle, e.g.
// "deref-handle:https://social.example/users/alice".
const HandleKeyPrefix = "deref-handle:"

// Handle returns the handle of the actor at iri as "user@host", without
// "@" or "acct:" (show it as "@"+h; WebFinger takes it as it is). It is
// the reverse of WebFinger, and WebFinger(Handle(iri)) is iri again
// whenever Handle returns the canonical handle (every case but the
// fallback below).
//
// It follows Mastodon: the actor is fetched (Actor), and
// acct:preferredUsername@host is looked up by WebFinger at the actor's
// own host. When the answer's subject is that handle, its self link must
// be the actor. When the subject names another handle, usually on
// another domain (a split-domain setup: the actor at social.example.com,
// the handle alice@example.com), that handle is the canonical one only
// if the subject's own domain confirms it: WebFinger of the subject there
// must answer about that very subject with a self link to the actor.
// Otherwise (a WebFinger host claiming a handle it cannot back, or one
// on a domain that names another actor) the handle falls back to
// preferredUsername@host of the actor's own host, provided that host's
// answer linked the actor; else the error wraps ErrNoHandle. User names
// keep the case of the subject that confirmed them; hosts are lower case,
// without the scheme's default port.
//
// Handles of Options.LocalHost actors are read from the store (the actor
// document and its account) and never fetched. A resolved handle is kept
// in the store's values (HandleKeyPrefix) for Options.MaxAge, as the
// actor is; failures are not kept: a transient one (a timeout, a 5xx) is
// returned as it is, and the next call tries again.
func (r *Resolver) Handle(ctx context.Context, iri *url.URL) (string, error) {
	u, err := requestedIRI(iri)
	if err != nil {
		return "", err
	}
	if r.isLocal(u) {
		return r.localHandle(ctx, u)
	}
	key := HandleKeyPrefix + u.String()
	if h, ok := r.cachedHandle(ctx, key); ok {
		return h, nil
	}
	v, err := r.share(ctx, "handle\x00"+u.String(), func() (any, error) {
		if h, ok := r.cachedHandle(ctx, key); ok {
			return h, nil
		}
		h, err := r.resolveHandle(ctx, u)
		if err != nil {
			return nil, err
		}
		now := r.now()
		val := strconv.FormatInt(now.UnixNano(), 10) + " " + h
		if err := r.st.PutValue(ctx, key, []byte(val), now.Add(r.maxAge)); err != nil {
			r.log.WarnContext(ctx, "deref: caching handle", slog.String("actor", u.String()), slog.Any("err", err))
		}
		return h, nil
	})
	if err != nil {
		return "", err
	}
	return v.(string), nil
}

// cachedHandle returns the handle kept under key if it was resolved less
// than Options.MaxAge ago by the resolver's clock.
func (r *Resolver) cachedHandle(ctx context.Context, key string) (string, bool) {
	b, err := r.st.GetValue(ctx, key)
	if err != nil {
		if !errors.Is(err, store.ErrNotFound) {
			r.log.WarnContext(ctx, "deref: reading cached handle", slog.String("key", key), slog.Any("err", err))
		}
		return "", false
	}
	at, h, ok := strings.Cut(string(b), " ")
	ns, err := strconv.ParseInt(at, 10, 64)
	if !ok || err != nil || h == "" {
		return "", false
	}
	if r.now().Sub(time.Unix(0, ns)) >= r.maxAge {
		return "", false
	}
	return h, true
}

// noHandle is an ErrNoHandle error; cause, when not nil, stays in the
// chain.
func noHandle(cause error, format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	var err error
	if cause != nil {
		err = fmt.Errorf("%w: %s: %w", ErrNoHandle, msg, cause)
	} else {
		err = fmt.Errorf("%w: %s", ErrNoHandle, msg)
	}
	return ap.Errorf(http.StatusBadGateway, "actor has no confirmed handle", err)
}

// definitive reports whether a WebFinger failure is the remote's answer
// (nothing there, a document that does not do) rather than a failure to
// get one (timeout, 5xx) that may pass.
func definitive(err error) bool {
	if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrGone) ||
		errors.Is(err, ErrInvalidDocument) || errors.Is(err, ErrInvalidIRI) {
		return true
	}
	var re *ap.RemoteError
	return errors.As(err, &re) && re.Permanent()
}

// resolveHandle runs the WebFinger checks of Handle for a remote actor.
func (r *Resolver) resolveHandle(ctx context.Context, u *url.URL) (string, error) {
	a, err := r.Actor(ctx, u)
	if err != nil {
		return "", err
	}
	if a.PreferredUsername == "" {
		return "", noHandle(nil, "actor %s has no preferredUsername", a.IRI)
	}
	au, err := parseIRI(a.IRI)
	if err != nil {
		return "", rejectf("actor id %q: %v", a.IRI, err)
	}
	own := a.PreferredUsername + "@" + origin.Host(au.Scheme, au.Host)
	user, host, self, err := r.finger(ctx, own)
	if err != nil {
		if definitive(err) {
			return "", noHandle(err, "webfinger %s", own)
		}
		return "", err
	}
	linked := self != nil && self.String() == a.IRI
	ownUser, ownHost, _ := splitAcct(own)
	host = origin.Host(r.wfScheme, host)
	if strings.EqualFold(user, ownUser) && host == origin.Host(r.wfScheme, ownHost) {
		if !linked {
			return "", noHandle(nil, "webfinger %s links %v, not the actor %s", own, self, a.IRI)
		}
		return user + "@" + host, nil
	}
	// The subject names another handle: its own domain must confirm it
	// (answer about it, link the actor). WebFinger checks the subject of
	// that answer.
	subject := user + "@" + host
	confirmed, err := r.WebFinger(ctx, subject)
	switch {
	case err == nil && confirmed.String() == a.IRI:
		return subject, nil
	case err != nil && !definitive(err):
		return "", err
	}
	why := fmt.Sprintf("links %v", confirmed)
	if err != nil {
		why = err.Error()
	}
	if !linked {
		return "", noHandle(err, "webfinger %s names %s, which does not confirm it (%s), and links %v, not the actor %s",
			own, subject, why, self, a.IRI)
	}
	r.log.WarnContext(ctx, "deref: webfinger subject not confirmed by its domain, using the actor's own host",
		slog.String("actor", a.IRI), slog.String("subject", subject), slog.String("reason", why))
	return ownUser + "@" + ownHost, nil
}

// finger queries WebFinger for acct ("user@host") at host and returns the
// user and (lower-case) host of the answer's subject, whatever it names,
// and its first ActivityPub self link (nil when there is none).
func (r *Resolver) finger(ctx context.Context, acct string) (user, host string, self *url.URL, err error) {
	qu, qh, err := splitAcct(acct)
	if err != nil {
		return "", "", nil, rejectf("handle %q: %v", acct, err)
	}
	resource := "acct:" + qu + "@" + qh
	q := url.Values{"resource": {resource}}
	u := &url.URL{Scheme: r.wfScheme, Host: qh, Path: "/.well-known/webfinger", RawQuery: q.Encode()}
	resp, err := r.tr.Get(ctx, u, nil)
	if err != nil {
		return "", "", nil, remoteErr(u.String(), err)
	}
	if int64(len(resp.Body)) > r.maxBytes {
		return "", "", nil, rejectf("webfinger %s: answer larger than %d bytes", resource, r.maxBytes)
	}
	jrd, err := parseFields(resp.Body)
	if err != nil {
		return "", "", nil, rejectf("webfinger %s: %v", resource, err)
	}
	subject := jrd.str("subject")
	user, host, err = splitAcct(subject)
	if err != nil || !strings.HasPrefix(subject, "acct:") {
		return "", "", nil, rejectf("webfinger %s: bad subject %q", resource, subject)
	}
	for _, raw := range jrd.each("links") {
		l, err := parseFields(raw)
		if err != nil || l.str("rel") != "self" || !isActivityType(l.str("type")) {
			continue
		}
		if self, err = parseIRI(l.str("href")); err != nil {
			return "", "", nil, rejectf("webfinger %s: self link %q: %v", resource, l.str("href"), err)
		}
		break
	}
	return user, host, self, nil
}

// localHandle reads the handle of a local actor from its document and
// account.
func (r *Resolver) localHandle(ctx context.Context, u *url.URL) (string, error) {
	o, err := r.object(ctx, u, false)
	if err != nil {
		return "", err
	}
	a, err := r.parseActor(ctx, o.IRI, o.Data)
	if err != nil {
		return "", err
	}
	if a.PreferredUsername == "" {
		return "", fmt.Errorf("deref: local actor %s has no preferredUsername: %w", a.IRI, ErrNoHandle)
	}
	acct, err := r.st.GetAccount(ctx, a.PreferredUsername)
	if err != nil {
		return "", fmt.Errorf("deref: local account %s: %w: %w", a.PreferredUsername, ErrNoHandle, err)
	}
	if acct.ActorIRI != a.IRI {
		return "", fmt.Errorf("deref: local account %s is the actor %s, not %s: %w", acct.Username, acct.ActorIRI, a.IRI, ErrNoHandle)
	}
	return acct.Username + "@" + origin.Host(r.wfScheme, r.localHost), nil
}
