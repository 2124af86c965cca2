package actor

import (
	"context"
	"encoding/xml"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/slothpub/slothpub/store"
)

// ContentTypeJRD is the media type of WebFinger answers.
const ContentTypeJRD = "application/jrd+json"

// maxResourceLen bounds the resource parameter of a WebFinger query.
const maxResourceLen = 1024

// JRD is a WebFinger answer (RFC 7033).
type JRD struct {
	Subject string    `json:"subject"`
	Aliases []string  `json:"aliases,omitempty"`
	Links   []JRDLink `json:"links"`
}

// JRDLink is one link of a JRD.
type JRDLink struct {
	Rel  string `json:"rel"`
	Type string `json:"type,omitempty"`
	Href string `json:"href,omitempty"`
}

// WebFingerHandler serves "GET /.well-known/webfinger".
//
// The resource may be acct:user@host (the host with its port if the
// directory has one, compared case-insensitively; "user@host" without the
// scheme is accepted too) or the actor's IRI. The answer's subject is
// always the canonical acct:user@host, so a peer that looks up the
// subject again gets the same answer; it links the actor document (rel
// self, type application/activity+json) and, for users, the profile page.
// acct:{hostname}@{host} names the instance actor. A missing or malformed
// resource is 400; an unknown user or another host's resource is 404.
// "rel" parameters filter the links (RFC 7033 section 4.3). Any origin may
// read the answer (CORS).
func (d *Directory) WebFingerHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Access-Control-Allow-Origin", "*")
		q := r.URL.Query()
		resource := strings.TrimSpace(q.Get("resource"))
		if resource == "" {
			writeError(w, http.StatusBadRequest, "missing resource parameter")
			return
		}
		if len(resource) > maxResourceLen {
			writeError(w, http.StatusBadRequest, "resource too long")
			return
		}
		a, err := d.lookupResource(r.Context(), resource)
		if err != nil {
			var re *resourceError
			switch {
			case errors.As(err, &re):
				writeError(w, re.status, re.msg)
			case errors.Is(err, store.ErrNotFound):
				writeError(w, http.StatusNotFound, "no such user")
			default:
				d.internalError(w, r, err)
			}
			return
		}
		jrd := d.jrd(a)
		if rels := q["rel"]; len(rels) > 0 {
			kept := jrd.Links[:0]
			for _, l := range jrd.Links {
				for _, rel := range rels {
					if l.Rel == rel {
						kept = append(kept, l)
						break
					}
				}
			}
			jrd.Links = kept
		}
		d.writeJSON(w, r, ContentTypeJRD, jrd)
	})
}

// jrd builds the WebFinger answer for a.
func (d *Directory) jrd(a *Actor) JRD {
	iri := a.iri.String()
	j := JRD{
		Subject: "acct:" + a.Username + "@" + d.host,
		Aliases: []string{iri},
		Links:   []JRDLink{{Rel: "self", Type: ContentTypeActivity, Href: iri}},
	}
	if !a.instance {
		j.Links = append(j.Links, JRDLink{Rel: "http://webfinger.net/rel/profile-page", Type: "text/html", Href: iri})
	}
	return j
}

// resourceError is a WebFinger lookup failure with its answer.
type resourceError struct {
	status int
	msg    string
}

func (e *resourceError) Error() string { return e.msg }

func badResource(msg string) error {
	return &resourceError{status: http.StatusBadRequest, msg: msg}
}

func foreignResource() error {
	return &resourceError{status: http.StatusNotFound, msg: "resource is not on this server"}
}

// lookupResource finds the local actor a WebFinger resource names.
func (d *Directory) lookupResource(ctx context.Context, resource string) (*Actor, error) {
	lower := strings.ToLower(resource)
	if strings.HasPrefix(lower, "http://") || strings.HasPrefix(lower, "https://") {
		u, err := url.Parse(resource)
		if err != nil || u.Host == "" {
			return nil, badResource("malformed resource IRI")
		}
		if !d.IsLocal(u) {
			return nil, foreignResource()
		}
		u.Fragment, u.RawFragment = "", ""
		if u.Path == "/actor" && u.RawQuery == "" {
			return d.Instance(ctx)
		}
		return d.ByIRI(ctx, u.String())
	}
	acct := resource
	if strings.HasPrefix(lower, "acct:") {
		acct = resource[len("acct:"):]
	}
	// A user part never holds ':', so a ':' before the '@' is another
	// scheme (mailto:, did:...).
	if c := strings.IndexByte(acct, ':'); c >= 0 && (c < strings.LastIndexByte(acct, '@') || !strings.Contains(acct, "@")) {
		return nil, badResource("unsupported resource: want acct:user@host or an actor IRI")
	}
	acct = strings.TrimPrefix(acct, "@")
	i := strings.LastIndexByte(acct, '@')
	if i <= 0 || i == len(acct)-1 {
		return nil, badResource("malformed acct resource: want acct:user@host")
	}
	user, err := url.PathUnescape(acct[:i])
	if err != nil {
		return nil, badResource("malformed acct resource: bad escape")
	}
	host := acct[i+1:]
	if strings.ContainsAny(host, "/?#@ ") {
		return nil, badResource("malformed acct resource: bad host")
	}
	if !d.sameHost(host) {
		return nil, foreignResource()
	}
	if strings.EqualFold(user, d.hostname) {
		return d.Instance(ctx)
	}
	return d.Get(ctx, user)
}

// HostMetaHandler serves "GET /.well-known/host-meta": an XRD document
// (RFC 6415) whose lrdd template points at WebFinger, for the peers that
// still discover WebFinger that way.
func (d *Directory) HostMetaHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var tmpl strings.Builder
		if err := xml.EscapeText(&tmpl, []byte(d.iri("/.well-known/webfinger").String()+"?resource={uri}")); err != nil {
			d.internalError(w, r, err)
			return
		}
		body := xml.Header +
			`<XRD xmlns="http://docs.oasis-open.org/ns/xri/xrd-1.0">` + "\n" +
			`  <Link rel="lrdd" type="application/jrd+json" template="` + tmpl.String() + `"/>` + "\n" +
			"</XRD>\n"
		w.Header().Set("Content-Type", "application/xrd+xml; charset=utf-8")
		w.Header().Set("Access-Control-Allow-Origin", "*")
		_, _ = w.Write([]byte(body))
	})
}
