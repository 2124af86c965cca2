package actor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"github.com/slothpub/slothpub/internal/jsonld"
	"github.com/slothpub/slothpub/store"
)

// ObjectHandler serves the local objects and activities of users by their
// ids, at "GET /users/{name}/statuses/{id}" and
// "GET /users/{name}/activities/{id}" (the ids outbox.Post gives them), so
// that other servers can dereference what they are sent by reference: the
// object of an Announce, the inReplyTo of a reply.
//
// Only public and unlisted documents (addressed to Public in to or cc) are
// served, with bto and bcc removed; anything else, or an id that is not
// the named user's, is 404, as if it did not exist. A deleted object is
// 410 Gone with its Tombstone.
func (d *Directory) ObjectHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a, ok := d.pathUser(w, r)
		if !ok {
			return
		}
		iri := *a.IRI()
		iri.Path = r.URL.Path
		iri.RawPath = ""
		obj, err := d.st.GetObject(r.Context(), iri.String())
		if errors.Is(err, store.ErrNotFound) {
			writeError(w, http.StatusNotFound, "no such object")
			return
		} else if err != nil {
			d.internalError(w, r, err)
			return
		}
		if !obj.Local || obj.Actor != a.IRI().String() {
			writeError(w, http.StatusNotFound, "no such object")
			return
		}
		if obj.Type == "Tombstone" {
			w.Header().Set("Content-Type", ContentTypeActivity)
			w.WriteHeader(http.StatusGone)
			_, _ = w.Write(obj.Data)
			return
		}
		if gone, err := d.carriesDeleted(r.Context(), obj.Data); err != nil {
			d.internalError(w, r, err)
			return
		} else if gone {
			// The Create (or Update) of a deleted post still holds its
			// text: it is gone with the post.
			w.Header().Set("Content-Type", ContentTypeActivity)
			w.WriteHeader(http.StatusGone)
			_, _ = fmt.Fprintf(w, `{"@context":"https://www.w3.org/ns/activitystreams","id":%q,"type":"Tombstone"}`, obj.IRI)
			return
		}
		public, err := jsonld.IsPublicDocument(obj.Data)
		if err != nil || !public {
			writeError(w, http.StatusNotFound, "no such object")
			return
		}
		doc, err := jsonld.StripHidden(obj.Data)
		if err != nil {
			d.internalError(w, r, err)
			return
		}
		d.writeJSON(w, r, ContentTypeActivity, []byte(doc))
	})
}

// carriesDeleted reports whether the activity doc embeds a local object
// that was deleted since (its record is a Tombstone).
func (d *Directory) carriesDeleted(ctx context.Context, doc []byte) (bool, error) {
	var a struct {
		Object json.RawMessage `json:"object"`
	}
	if json.Unmarshal(doc, &a) != nil || len(a.Object) == 0 || a.Object[0] != '{' {
		return false, nil // not an activity embedding an object
	}
	var o struct {
		ID string `json:"id"`
	}
	if json.Unmarshal(a.Object, &o) != nil || o.ID == "" {
		return false, nil
	}
	u, err := url.Parse(o.ID)
	if err != nil || !d.IsLocal(u) {
		return false, nil
	}
	obj, err := d.st.GetObject(ctx, o.ID)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	} else if err != nil {
		return false, err
	}
	return obj.Type == "Tombstone", nil
}
