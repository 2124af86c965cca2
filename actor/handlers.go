package actor

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"

	"github.com/slothpub/slothpub/internal/jsonld"
	"github.com/slothpub/slothpub/store"
)

// Register mounts every handler of d on mux:
//
//	GET /users/{name}               ActorHandler
//	GET /users/{name}/followers     FollowersHandler
//	GET /users/{name}/following     FollowingHandler
//	GET /users/{name}/outbox        OutboxHandler
//	GET /users/{name}/featured      FeaturedHandler
//	GET /users/{name}/liked         LikedHandler
//	GET /users/{name}/statuses/{id} ObjectHandler
//	GET /users/{name}/activities/{id} ObjectHandler
//	GET /actor                      InstanceHandler
//	GET /actor/outbox               InstanceOutboxHandler
//	GET /.well-known/webfinger      WebFingerHandler
//	GET /.well-known/host-meta      HostMetaHandler
//	GET /.well-known/nodeinfo       NodeInfoDiscoveryHandler
//	GET /nodeinfo/2.0, /nodeinfo/2.1  NodeInfoHandler
//
// Inboxes (POST) belong to package inbox. Callers who enforce authorized
// fetch wrap the handlers they want protected themselves (see the package
// documentation): the actor documents must stay readable unsigned.
func (d *Directory) Register(mux *http.ServeMux) {
	mux.Handle("GET /users/{name}", d.ActorHandler())
	mux.Handle("GET /users/{name}/followers", d.FollowersHandler())
	mux.Handle("GET /users/{name}/following", d.FollowingHandler())
	mux.Handle("GET /users/{name}/outbox", d.OutboxHandler())
	mux.Handle("GET /users/{name}/featured", d.FeaturedHandler())
	mux.Handle("GET /users/{name}/liked", d.LikedHandler())
	mux.Handle("GET /users/{name}/statuses/{id}", d.ObjectHandler())
	mux.Handle("GET /users/{name}/activities/{id}", d.ObjectHandler())
	mux.Handle("GET /actor", d.InstanceHandler())
	mux.Handle("GET /actor/outbox", d.InstanceOutboxHandler())
	mux.Handle("GET /.well-known/webfinger", d.WebFingerHandler())
	mux.Handle("GET /.well-known/host-meta", d.HostMetaHandler())
	mux.Handle("GET /.well-known/nodeinfo", d.NodeInfoDiscoveryHandler())
	mux.Handle("GET /nodeinfo/2.0", d.NodeInfoHandler("2.0"))
	mux.Handle("GET /nodeinfo/2.1", d.NodeInfoHandler("2.1"))
}

// writeError answers with status and a plain-text message that is safe to
// show to anyone.
func writeError(w http.ResponseWriter, status int, msg string) {
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(msg + "\n"))
}

// internalError logs err and answers 500 without detail.
func (d *Directory) internalError(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, context.Canceled) {
		// The client went away; nobody reads the answer.
		d.log.DebugContext(r.Context(), "actor: request canceled", "path", r.URL.Path, "err", err)
	} else {
		d.log.ErrorContext(r.Context(), "actor: serving request", "path", r.URL.Path, "err", err)
	}
	writeError(w, http.StatusInternalServerError, "internal server error")
}

// writeJSON answers 200 with a JSON body of the given content type.
func (d *Directory) writeJSON(w http.ResponseWriter, r *http.Request, contentType string, v any) {
	b, ok := v.([]byte)
	if !ok {
		var err error
		if b, err = jsonld.Marshal(v); err != nil {
			d.internalError(w, r, err)
			return
		}
	}
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
}

// ActorHandler serves the actor documents of users at
// "GET /users/{name}".
//
// It negotiates on Accept: clients asking for application/activity+json,
// application/ld+json (any profile), application/json or */* get the
// document; when Options.HTML is set and the client prefers text/html over
// all of those it is served by Options.HTML instead. A client accepting
// none of these gets 406. Unknown users get 404 whatever the Accept.
//
// The handler needs no signature: actor documents carry the public keys
// that verify signatures, so they must be fetchable unsigned (a key id
// "{actor}#main-key" is fetched as the actor document; the fragment never
// reaches the server). Servers that enforce authorized fetch put
// httpsig's verifier in front of the other handlers only.
func (d *Directory) ActorHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Add("Vary", "Accept")
		if a, ok := d.pathUser(w, r); ok {
			d.serveActor(w, r, a)
		}
	})
}

// InstanceHandler serves the instance actor at "GET /actor", creating it
// on first use. Like ActorHandler it negotiates and needs no signature.
func (d *Directory) InstanceHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Add("Vary", "Accept")
		a, err := d.Instance(r.Context())
		if err != nil {
			d.internalError(w, r, err)
			return
		}
		d.serveActor(w, r, a)
	})
}

// serveActor answers with a's document in the negotiated form. The stored
// document is served (so stored edits show at once); a tombstoned actor
// is 410 Gone.
func (d *Directory) serveActor(w http.ResponseWriter, r *http.Request, a *Actor) {
	var ct string
	switch negotiate(r, d.html != nil) {
	case wantHTML:
		d.html.ServeHTTP(w, r)
		return
	case wantNothing:
		writeError(w, http.StatusNotAcceptable, "this resource is available as "+ContentTypeActivity)
		return
	case wantLD:
		ct = ContentTypeLD
	default:
		ct = ContentTypeActivity
	}
	doc := a.Document()
	obj, err := d.st.GetObject(r.Context(), a.iri.String())
	switch {
	case err == nil && obj.Type == "Tombstone":
		w.Header().Set("Content-Type", ct)
		w.WriteHeader(http.StatusGone)
		_, _ = w.Write(obj.Data)
		return
	case err == nil:
		doc = obj.Data
	case errors.Is(err, store.ErrNotFound):
	default:
		// The cached document is still right for everything that matters
		// (ids, inbox, key): serve it rather than fail a key fetch.
		d.log.WarnContext(r.Context(), "actor: reading stored actor document", "actor", a.iri.String(), "err", err)
	}
	d.writeJSON(w, r, ct, doc)
}

// FollowersHandler serves "GET /users/{name}/followers", the paged
// OrderedCollection of follower IRIs kept in store.Collections under the
// collection's IRI.
func (d *Directory) FollowersHandler() http.Handler {
	return d.userCollection((*Actor).Followers, false)
}

// FollowingHandler serves "GET /users/{name}/following", like
// FollowersHandler.
func (d *Directory) FollowingHandler() http.Handler {
	return d.userCollection((*Actor).Following, false)
}

// OutboxHandler serves "GET /users/{name}/outbox". The outbox collection
// holds activity IRIs (outbox.Post lists public and unlisted posts and
// boosts only); its pages embed each activity document from store.Objects,
// and only the public ones (Public in "to" or "cc", any spelling), with bto
// and bcc removed. Activities that are not public, missing, deleted or not
// local are left out, so a page may hold fewer items than the page size
// while still linking to the next; totalItems counts what the pages show.
func (d *Directory) OutboxHandler() http.Handler {
	return d.userCollection((*Actor).Outbox, true)
}

// FeaturedHandler serves "GET /users/{name}/featured", the pinned objects,
// embedded as Mastodon expects, under the same public-only rule as the
// outbox.
func (d *Directory) FeaturedHandler() http.Handler {
	return d.userCollection((*Actor).Featured, true)
}

// LikedHandler serves "GET /users/{name}/liked", the IRIs of the objects
// the actor liked.
func (d *Directory) LikedHandler() http.Handler {
	return d.userCollection((*Actor).Liked, false)
}

// InstanceOutboxHandler serves "GET /actor/outbox", the instance actor's
// outbox, like OutboxHandler.
func (d *Directory) InstanceOutboxHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a, err := d.Instance(r.Context())
		if err != nil {
			d.internalError(w, r, err)
			return
		}
		d.serveCollection(w, r, a.Outbox().String(), true)
	})
}

// pathUser returns the local user named by the request's {name}, or
// answers 404 (no such user) or 500 and reports false.
func (d *Directory) pathUser(w http.ResponseWriter, r *http.Request) (*Actor, bool) {
	a, err := d.Get(r.Context(), r.PathValue("name"))
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			writeError(w, http.StatusNotFound, "no such user")
		} else {
			d.internalError(w, r, err)
		}
		return nil, false
	}
	return a, true
}

func (d *Directory) userCollection(iri func(*Actor) *url.URL, embed bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if a, ok := d.pathUser(w, r); ok {
			d.serveCollection(w, r, iri(a).String(), embed)
		}
	})
}

const asContext = "https://www.w3.org/ns/activitystreams"

type orderedCollection struct {
	Context    string `json:"@context"`
	ID         string `json:"id"`
	Type       string `json:"type"`
	TotalItems int    `json:"totalItems"`
	First      string `json:"first"`
}

type orderedCollectionPage struct {
	Context string `json:"@context"`
	ID      string `json:"id"`
	Type    string `json:"type"`
	PartOf  string `json:"partOf"`
	// TotalItems is left out of the pages of a collection filtered on
	// read: counting it reads every item.
	TotalItems   *int   `json:"totalItems,omitempty"`
	OrderedItems []any  `json:"orderedItems"`
	Next         string `json:"next,omitempty"`
}

// maxCursorLen bounds the cursor a client may send.
const maxCursorLen = 512

// serveCollection answers for the collection stored under coll: without a
// page query the OrderedCollection, with ?page=true[&cursor=C][&limit=N]
// one OrderedCollectionPage. Cursors are the store's, base64url-encoded,
// so that a malformed one is recognised and answered with 400.
//
// With embed, the items are the public documents publicDocument returns
// and the others are left out; totalItems counts the same, so that it is
// the number of items over all the pages. That count reads every item, so
// it is given on the collection only, not on each page.
func (d *Directory) serveCollection(w http.ResponseWriter, r *http.Request, coll string, embed bool) {
	ctx := r.Context()
	q := r.URL.Query()
	page, hasPage := q["page"]
	rawCursor, hasCursor := q["cursor"]
	rawLimit, hasLimit := q["limit"]

	if !hasPage && !hasCursor {
		var total int
		var err error
		if embed {
			total, err = d.countPublic(ctx, coll)
		} else {
			total, err = d.st.CountItems(ctx, coll)
		}
		if err != nil {
			d.internalError(w, r, err)
			return
		}
		d.writeJSON(w, r, ContentTypeActivity, orderedCollection{
			Context: asContext, ID: coll, Type: "OrderedCollection",
			TotalItems: total, First: coll + "?page=true",
		})
		return
	}
	if hasPage && page[0] != "true" && page[0] != "1" {
		writeError(w, http.StatusBadRequest, "invalid page: want page=true")
		return
	}
	limit, limitParam := d.pageSize, ""
	if hasLimit {
		n, err := strconv.Atoi(rawLimit[0])
		if err != nil || n < 1 {
			writeError(w, http.StatusBadRequest, "invalid limit: want a positive integer")
			return
		}
		limit = min(n, d.pageSize)
		limitParam = "&limit=" + strconv.Itoa(limit)
	}
	var cursor, cursorParam string
	if hasCursor {
		c, err := decodeCursor(rawCursor[0])
		if err != nil {
			writeError(w, http.StatusBadRequest, "invalid cursor")
			return
		}
		cursor, cursorParam = c, "&cursor="+rawCursor[0]
	}
	p, err := d.st.Items(ctx, coll, cursor, limit)
	if err != nil {
		if cursor != "" && ctx.Err() == nil {
			// Stores do not share an error for a cursor they did not
			// issue; a cursor that decodes but fails is the client's.
			d.log.DebugContext(ctx, "actor: store rejected cursor", "collection", coll, "err", err)
			writeError(w, http.StatusBadRequest, "invalid cursor")
			return
		}
		d.internalError(w, r, err)
		return
	}
	items := make([]any, 0, len(p.Items))
	for _, it := range p.Items {
		if !embed {
			items = append(items, it)
			continue
		}
		doc, err := d.publicDocument(ctx, it)
		if err != nil {
			d.internalError(w, r, err)
			return
		}
		if doc != nil {
			items = append(items, doc)
		}
	}
	out := orderedCollectionPage{
		Context: asContext, ID: coll + "?page=true" + cursorParam + limitParam, Type: "OrderedCollectionPage",
		PartOf: coll, OrderedItems: items,
	}
	if !embed {
		total, err := d.st.CountItems(ctx, coll)
		if err != nil {
			d.internalError(w, r, err)
			return
		}
		out.TotalItems = &total
	}
	if p.Next != "" {
		out.Next = coll + "?page=true&cursor=" + encodeCursor(p.Next) + limitParam
	}
	d.writeJSON(w, r, ContentTypeActivity, out)
}

// maxCountedItems bounds the items read to count a collection filtered on
// read, so that an unsigned GET never reads without bound. A larger
// collection is counted by the store: the outbox, the one that grows, is
// kept public by its writer (outbox.Post lists only public and unlisted
// posts and boosts and takes them out again on Delete and Undo), so the
// two counts agree there.
const maxCountedItems = 200

// countPublic counts the items of coll that publicDocument shows; a
// collection of more than maxCountedItems items is counted by the store.
func (d *Directory) countPublic(ctx context.Context, coll string) (int, error) {
	all, err := d.st.CountItems(ctx, coll)
	if err != nil || all > maxCountedItems {
		return all, err
	}
	n := 0
	err = store.EachItem(ctx, d.st, coll, func(it string) error {
		doc, err := d.publicDocument(ctx, it)
		if doc != nil {
			n++
		}
		return err
	})
	return n, err
}

// publicDocument returns the stored document iri, bto/bcc removed, if it
// is local and public; nil (and no error) if it is not to be shown.
func (d *Directory) publicDocument(ctx context.Context, iri string) (json.RawMessage, error) {
	obj, err := d.st.GetObject(ctx, iri)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if !obj.Local || obj.Type == "Tombstone" {
		return nil, nil
	}
	public, err := jsonld.IsPublicDocument(obj.Data)
	if err != nil {
		d.log.WarnContext(ctx, "actor: unreadable outbox item", "iri", iri, "err", err)
		return nil, nil
	}
	if !public {
		return nil, nil
	}
	doc, err := jsonld.StripHidden(obj.Data)
	if err != nil {
		d.log.WarnContext(ctx, "actor: unreadable outbox item", "iri", iri, "err", err)
		return nil, nil
	}
	return doc, nil
}

func encodeCursor(c string) string { return base64.RawURLEncoding.EncodeToString([]byte(c)) }

func decodeCursor(s string) (string, error) {
	if s == "" || len(s) > maxCursorLen {
		return "", errors.New("actor: cursor length")
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return "", err
	}
	return string(b), nil
}
