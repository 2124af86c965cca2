package deref

import (
	"context"
	"fmt"
	"net/url"

	"github.com/slothpub/slothpub/ap"
)

// ErrNotActor is what Actor returns, wrapped, for a document that is not
// an actor: a collection, say, which a caller may read with
// CollectionPage instead.
var ErrNotActor = fmt.Errorf("%w: not an actor", ErrInvalidDocument)

// CollectionPage is one page of a remote collection: the IRIs of its items
// (embedded items by their id) and the page after it, if any.
type CollectionPage struct {
	Items []*url.URL
	Next  *url.URL
}

// MaxCollectionPageItems bounds the items CollectionPage reads of one page.
const MaxCollectionPageItems = 1000

// CollectionPage reads the collection or collection page at iri, fetched
// (never from the cache: members change) with Object's checks. Of a
// Collection or OrderedCollection it returns the items it holds itself
// and, as Next, its first page (which Mastodon embeds: its items are
// returned then, and its next page as Next); of a CollectionPage or
// OrderedCollectionPage, its items and its next page. A page on another
// origin than iri's is not followed (Next is nil), nor is a page that is
// iri itself. Items beyond MaxCollectionPageItems are left out. A
// document of another type is refused with ErrInvalidDocument.
func (r *Resolver) CollectionPage(ctx context.Context, iri *url.URL) (*CollectionPage, error) {
	u, err := requestedIRI(iri)
	if err != nil {
		return nil, err
	}
	o, err := r.object(ctx, u, true)
	if err != nil {
		return nil, err
	}
	return parseCollectionPage(u, o.IRI, o.Data)
}

// parseCollectionPage reads data, the collection or page fetched at u
// (its id iri), as CollectionPage describes.
func parseCollectionPage(u *url.URL, iri string, data []byte) (*CollectionPage, error) {
	f, err := parseFields(data)
	if err != nil {
		return nil, rejectf("%s: %v", iri, err)
	}
	p := &CollectionPage{}
	switch kind := collectionKind(f.strs("type")); kind {
	case "collection":
		p.Items = items(f)
		first := f["first"]
		if len(first) > 0 && first[0] == '{' { // the first page, embedded
			pf, err := parseFields(first)
			if err != nil {
				return nil, rejectf("%s: first page: %v", iri, err)
			}
			p.Items = append(p.Items, items(pf)...)
			p.Next = nextPage(u, pf.iri("next"))
		} else {
			p.Next = nextPage(u, f.iri("first"))
		}
	case "page":
		p.Items = items(f)
		p.Next = nextPage(u, f.iri("next"))
	default:
		return nil, rejectf("%s: type %q is not a collection type", iri, f.strs("type"))
	}
	if len(p.Items) > MaxCollectionPageItems {
		p.Items = p.Items[:MaxCollectionPageItems]
	}
	return p, nil
}

// collectionKind is "collection" or "page" for the ActivityStreams
// collection types among types, else "".
func collectionKind(types []string) string {
	for _, t := range types {
		switch t {
		case "Collection", "OrderedCollection":
			return "collection"
		case "CollectionPage", "OrderedCollectionPage":
			return "page"
		}
	}
	return ""
}

// items reads the items (or orderedItems) of a collection or page, each
// an IRI or an object with an id; others are left out.
func items(f fields) []*url.URL {
	raws := f.each("orderedItems")
	if raws == nil {
		raws = f.each("items")
	}
	var out []*url.URL
	for _, raw := range raws {
		if len(out) == MaxCollectionPageItems {
			break
		}
		if u, err := parseIRI(rawIRI(raw, false)); err == nil {
			out = append(out, u)
		}
	}
	return out
}

// nextPage is the page next names after the page at cur, if it may be
// followed: an absolute IRI on cur's origin, not cur itself.
func nextPage(cur *url.URL, next string) *url.URL {
	if next == "" {
		return nil
	}
	u, err := parseIRI(next)
	if err != nil || !ap.SameOrigin(u, cur) {
		return nil
	}
	u = withoutFragment(u)
	same := *u
	same.Host = cur.Host // same origin: the host differs in case at most
	if same.String() == cur.String() {
		return nil
	}
	return u
}
