package actor

import (
	"errors"
	"net/http"

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
