package deref

import (
	"context"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	"github.com/slothpub/slothpub/ap"
)

// FuzzParseActor feeds arbitrary documents to the actor parser: it must
// return an actor or an error, never panic.
func FuzzParseActor(f *testing.F) {
	names, _ := filepath.Glob("../internal/testdata/fixtures/actors/*.json")
	for _, n := range names {
		if b, err := os.ReadFile(n); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(`{"type":"Person","publicKey":[1,"x",{"id":{}}],"assertionMethod":{"publicKeyMultibase":"z"}}`))
	r := New(nil, nil, nil, nil)
	f.Fuzz(func(t *testing.T, data []byte) {
		a, err := r.parseActor(context.Background(), "https://example.com/users/a", data)
		if err == nil && a.IRI != "https://example.com/users/a" {
			t.Fatalf("IRI %q", a.IRI)
		}
	})
}

// FuzzSplitAcct checks that an accepted handle never smuggles characters
// that would change the WebFinger query.
func FuzzSplitAcct(f *testing.F) {
	for _, s := range []string{"acct:a@b.example", "@a@b.example:8080", "a@b@c", "a@b/c", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		user, host, err := splitAcct(s)
		if err != nil {
			return
		}
		if user == "" || host == "" {
			t.Fatalf("empty part from %q", s)
		}
		for _, c := range user + host {
			switch c {
			case '@', '/', '?', '#', '%', '\\', ' ':
				t.Fatalf("%q accepted with %q", s, c)
			}
		}
	})
}

// FuzzParseCollectionPage feeds arbitrary documents to the collection
// page parser: it returns a page or an error, never panics, never more
// than MaxCollectionPageItems items, and never a next page off the
// collection's origin or the page itself.
func FuzzParseCollectionPage(f *testing.F) {
	names, _ := filepath.Glob("../internal/testdata/fixtures/collections/*.json")
	for _, n := range names {
		if b, err := os.ReadFile(n); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(`{"type":"OrderedCollection","first":{"type":"OrderedCollectionPage","orderedItems":["https://example.com/users/b",{"id":"https://example.com/users/c"}],"next":"https://example.com/c?page=2"}}`))
	f.Add([]byte(`{"type":["Collection"],"items":"https://example.com/users/b","first":"https://example.com/c"}`))
	f.Add([]byte(`{"type":"CollectionPage","items":[1,null,{},"x"],"next":"https://other.example/c?page=2"}`))
	u, err := url.Parse("https://example.com/c")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := parseCollectionPage(u, u.String(), data)
		if err != nil {
			return
		}
		if len(p.Items) > MaxCollectionPageItems {
			t.Fatalf("%d items", len(p.Items))
		}
		for _, it := range p.Items {
			if it == nil || it.Scheme == "" {
				t.Fatalf("item %v is not an absolute IRI", it)
			}
		}
		if n := p.Next; n != nil {
			same := *n
			same.Host = u.Host
			if !ap.SameOrigin(n, u) || same.String() == u.String() || n.Fragment != "" {
				t.Fatalf("next page %v followed from %v", n, u)
			}
		}
	})
}
