package actor

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/slothpub/slothpub/store/memstore"
)

// Whatever the resource, WebFinger answers 200, 400 or 404, never panics,
// and a 200 is always about a local actor.
func FuzzWebFingerResource(f *testing.F) {
	for _, s := range []string{"acct:alice@social.example", "https://social.example/users/alice", "alice@SOCIAL.example:443",
		"acct:@", "acct:a@b@c", "http://[::1", "acct:%00@social.example", "urn:x:y", "acct:social.example@social.example"} {
		f.Add(s)
	}
	d := NewDirectory(memstore.New(), "social.example", &Options{Logger: quietLogger()})
	_, err := d.Create(context.Background(), "alice")
	require.NoError(f, err)
	h := d.WebFingerHandler()
	f.Fuzz(func(t *testing.T, resource string) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/.well-known/webfinger?resource="+url.QueryEscape(resource), nil))
		switch rec.Code {
		case http.StatusOK, http.StatusBadRequest, http.StatusNotFound:
		default:
			t.Fatalf("resource %q: status %d", resource, rec.Code)
		}
	})
}

// Whatever the Accept header, negotiation picks one of its answers.
func FuzzNegotiate(f *testing.F) {
	for _, s := range []string{"text/html;q=0.9,*/*;q=0.8", `application/ld+json; profile="x"`, ";;,,q=", "a/b;q=NaN"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, accept string) {
		r := httptest.NewRequest(http.MethodGet, "/users/alice", nil)
		r.Header.Set("Accept", accept)
		if n := negotiate(r, true); n < wantJSON || n > wantNothing {
			t.Fatalf("accept %q: %d", accept, n)
		}
	})
}

func BenchmarkActorHandler(b *testing.B) {
	d := NewDirectory(memstore.New(), "social.example", &Options{Logger: quietLogger()})
	_, err := d.Create(context.Background(), "alice")
	require.NoError(b, err)
	mux := http.NewServeMux()
	d.Register(mux)
	req := httptest.NewRequest(http.MethodGet, "/users/alice", nil)
	req.Header.Set("Accept", "application/activity+json, application/ld+json")
	b.ReportAllocs()
	for b.Loop() {
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatal(rec.Code)
		}
	}
}
