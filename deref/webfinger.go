package deref

import (
	"context"
	"errors"
	"fmt"
	"mime"
	"net/url"
	"strings"

	"github.com/slothpub/slothpub/internal/origin"
)

// WebFinger resolves an account handle, "acct:user@host", "user@host" or
// "@user@host", to its actor IRI. It queries
// {scheme}://host/.well-known/webfinger?resource=acct:user@host (scheme from
// Options.WebFingerScheme) through the Transport, without a signature.
//
// The answer's subject must be acct:user@host for the same host (user
// compared case-insensitively; a redirect does not change which host must
// be named). The result is the href of the first "self" link whose type is
// application/activity+json or application/ld+json. The actor may live on
// another host (split-domain setups): the queried host vouches for it.
//
// Handles of Options.LocalHost are resolved from the store's accounts. A
// remote 404 yields an error wrapping store.ErrNotFound.
func (r *Resolver) WebFinger(ctx context.Context, acct string) (*url.URL, error) {
	user, host, err := splitAcct(acct)
	if err != nil {
		return nil, invalidIRI(acct, err)
	}
	if r.isLocalHost(r.wfScheme, host) {
		a, err := r.st.GetAccount(ctx, user)
		if err != nil {
			return nil, fmt.Errorf("deref: local account %s: %w", user, err)
		}
		u, err := parseIRI(a.ActorIRI)
		if err != nil {
			return nil, fmt.Errorf("deref: local account %s has actor IRI %q: %w", user, a.ActorIRI, err)
		}
		return u, nil
	}
	resource := "acct:" + user + "@" + host
	q := url.Values{"resource": {resource}}
	u := &url.URL{Scheme: r.wfScheme, Host: host, Path: "/.well-known/webfinger", RawQuery: q.Encode()}
	resp, err := r.tr.Get(ctx, u, nil)
	if err != nil {
		return nil, remoteErr(u.String(), err)
	}
	if int64(len(resp.Body)) > r.maxBytes {
		return nil, rejectf("webfinger %s: answer larger than %d bytes", resource, r.maxBytes)
	}
	jrd, err := parseFields(resp.Body)
	if err != nil {
		return nil, rejectf("webfinger %s: %v", resource, err)
	}
	subject := jrd.str("subject")
	su, sh, err := splitAcct(subject)
	if err != nil || !strings.HasPrefix(subject, "acct:") {
		return nil, rejectf("webfinger %s: bad subject %q", resource, subject)
	}
	if !strings.EqualFold(su, user) || origin.Host(r.wfScheme, sh) != origin.Host(r.wfScheme, host) {
		return nil, rejectf("webfinger %s: answer is about %s", resource, subject)
	}
	for _, raw := range jrd.each("links") {
		l, err := parseFields(raw)
		if err != nil || l.str("rel") != "self" || !isActivityType(l.str("type")) {
			continue
		}
		href := l.str("href")
		actor, err := parseIRI(href)
		if err != nil {
			return nil, rejectf("webfinger %s: self link %q: %v", resource, href, err)
		}
		return actor, nil
	}
	return nil, rejectf("webfinger %s: no ActivityPub self link", resource)
}

// isActivityType reports whether a media type denotes an ActivityStreams
// document.
func isActivityType(t string) bool {
	mt, _, err := mime.ParseMediaType(t)
	if err != nil {
		return false
	}
	return mt == "application/activity+json" || mt == "application/ld+json"
}

// splitAcct splits "acct:user@host", "user@host" or "@user@host" into its
// user and lower-cased host, rejecting anything that could escape the query.
func splitAcct(acct string) (user, host string, err error) {
	s := acct
	if after, ok := strings.CutPrefix(s, "acct:"); ok {
		s = after
	} else {
		s = strings.TrimPrefix(s, "@")
	}
	user, host, ok := strings.Cut(s, "@")
	if !ok || user == "" || host == "" {
		return "", "", errors.New("account handle is not user@host")
	}
	if len(user) > 256 || len(host) > 255 {
		return "", "", errors.New("account handle too long")
	}
	if strings.ContainsAny(user, "@/?#%\\") || strings.ContainsAny(host, "@/?#%\\[]") {
		return "", "", errors.New("account handle has forbidden characters")
	}
	for _, c := range acct {
		if c <= ' ' || c == 0x7f {
			return "", "", errors.New("account handle has spaces or control characters")
		}
	}
	hu, err := url.Parse("https://" + host)
	if err != nil || hu.Host != host || hu.Hostname() == "" {
		return "", "", errors.New("account handle has an invalid host")
	}
	return user, strings.ToLower(host), nil
}
