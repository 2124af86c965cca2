package ap

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// recordingSigner stands in for httpsig.Signer: it records what it was
// asked to sign and stamps the request with a header naming the URL and
// body it signed, which the test servers check.
type recordingSigner struct {
	mu    sync.Mutex
	calls []signCall
	err   error
}

type signCall struct {
	method, url string
	body        []byte
}

func (s *recordingSigner) SignRequest(r *http.Request, body []byte) error {
	if s.err != nil {
		return s.err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, signCall{r.Method, r.URL.String(), append([]byte(nil), body...)})
	r.Header.Set("X-Test-Signed", fmt.Sprintf("%s %s %d", r.Method, r.URL.String(), len(body)))
	return nil
}

func (s *recordingSigner) urls() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, c := range s.calls {
		out = append(out, c.url)
	}
	return out
}

// checkSigned fails the request unless it carries a signature made for
// its own URL.
func checkSigned(w http.ResponseWriter, r *http.Request, base string) bool {
	want := fmt.Sprintf("%s %s%s %d", r.Method, base, r.URL.RequestURI(), r.ContentLength)
	if r.ContentLength < 0 {
		want = fmt.Sprintf("%s %s%s 0", r.Method, base, r.URL.RequestURI())
	}
	if got := r.Header.Get("X-Test-Signed"); got != want {
		http.Error(w, "bad signature: got "+got+" want "+want, http.StatusUnauthorized)
		return false
	}
	return true
}

func loopbackTransport(o HTTPTransportOptions) *HTTPTransport {
	o.AllowPrivate = true
	return NewHTTPTransport(&o)
}

func TestHTTPTransportGet(t *testing.T) {
	var srvURL string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !checkSigned(w, r, srvURL) {
			return
		}
		assert.Equal(t, http.MethodGet, r.Method)
		assert.Equal(t, AcceptHeader, r.Header.Get("Accept"))
		assert.Equal(t, "test-agent/1", r.Header.Get("User-Agent"))
		assert.NotEmpty(t, r.Header.Get("Date"))
		w.Header().Set("Content-Type", "application/activity+json")
		_, _ = io.WriteString(w, `{"type":"Note"}`)
	}))
	defer srv.Close()
	srvURL = srv.URL

	tr := loopbackTransport(HTTPTransportOptions{UserAgent: "test-agent/1"})
	s := &recordingSigner{}
	resp, err := tr.Get(context.Background(), u(t, srv.URL+"/notes/1"), s)
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, `{"type":"Note"}`, string(resp.Body))
	assert.Equal(t, srv.URL+"/notes/1", resp.URL.String())
	assert.Equal(t, "application/activity+json", resp.Header.Get("Content-Type"))
	assert.Equal(t, []string{srv.URL + "/notes/1"}, s.urls())
	assert.Nil(t, s.calls[0].body, "GET is signed with a nil body")

	// Unsigned fetch works too.
	srv2 := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		assert.Empty(t, r.Header.Get("X-Test-Signed"))
		assert.Equal(t, DefaultUserAgent, r.Header.Get("User-Agent"))
		_, _ = io.WriteString(w, `{}`)
	}))
	defer srv2.Close()
	resp, err = loopbackTransport(HTTPTransportOptions{}).Get(context.Background(), u(t, srv2.URL), nil)
	require.NoError(t, err)
	assert.Equal(t, "{}", string(resp.Body))
}

func TestHTTPTransportRemoteError(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Header().Set("Retry-After", "120")
		if r.URL.Path == "/gone" {
			http.Error(w, strings.Repeat("x", 1<<20), http.StatusGone)
			return
		}
		if r.URL.Path == "/busy" {
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		http.NotFound(w, r)
	}))
	defer srv.Close()
	tr := loopbackTransport(HTTPTransportOptions{})
	ctx := context.Background()

	_, err := tr.Get(ctx, u(t, srv.URL+"/missing"), nil)
	var re *RemoteError
	require.ErrorAs(t, err, &re)
	assert.Equal(t, http.StatusNotFound, re.StatusCode)
	assert.Equal(t, http.MethodGet, re.Method)
	assert.Equal(t, srv.URL+"/missing", re.URL)
	assert.Equal(t, "120", re.Header.Get("Retry-After"))
	assert.True(t, re.Permanent())

	err = tr.Post(ctx, u(t, srv.URL+"/gone"), []byte(`{}`), nil)
	require.ErrorAs(t, err, &re)
	assert.Equal(t, http.StatusGone, re.StatusCode)

	err = tr.Post(ctx, u(t, srv.URL+"/busy"), []byte(`{}`), nil)
	require.ErrorAs(t, err, &re)
	assert.False(t, re.Permanent())
	assert.Equal(t, int32(3), hits.Load())
}

func TestHTTPTransportBodyCap(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/exact":
			_, _ = io.WriteString(w, strings.Repeat("a", 1024))
		case "/declared":
			w.Header().Set("Content-Length", "4096")
			_, _ = io.WriteString(w, strings.Repeat("a", 4096))
		case "/chunked":
			// No Content-Length: the cap must hold while reading.
			for range 8 {
				_, _ = io.WriteString(w, strings.Repeat("a", 512))
				w.(http.Flusher).Flush()
			}
		}
	}))
	defer srv.Close()
	tr := loopbackTransport(HTTPTransportOptions{MaxBodyBytes: 1024})
	ctx := context.Background()

	resp, err := tr.Get(ctx, u(t, srv.URL+"/exact"), nil)
	require.NoError(t, err)
	assert.Len(t, resp.Body, 1024)

	for _, p := range []string{"/declared", "/chunked"} {
		resp, err = tr.Get(ctx, u(t, srv.URL+p), nil)
		require.ErrorIs(t, err, ErrResponseTooLarge, p)
		assert.Nil(t, resp)
	}
}

func TestHTTPTransportTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow-body" {
			w.Header().Set("Content-Length", "100")
			_, _ = io.WriteString(w, "{")
			w.(http.Flusher).Flush()
		}
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	defer srv.Close()
	defer close(release)
	tr := loopbackTransport(HTTPTransportOptions{Timeout: 150 * time.Millisecond})

	for _, p := range []string{"/slow-headers", "/slow-body"} {
		start := time.Now()
		_, err := tr.Get(context.Background(), u(t, srv.URL+p), nil)
		require.Error(t, err, p)
		assert.ErrorIs(t, err, context.DeadlineExceeded, p)
		assert.Less(t, time.Since(start), 2*time.Second, p)
	}

	// The caller's context is honoured too.
	tr = loopbackTransport(HTTPTransportOptions{})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	err := tr.Post(ctx, u(t, srv.URL+"/slow-headers"), []byte("{}"), nil)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
}

func TestHTTPTransportRedirects(t *testing.T) {
	// Two origins: a → a/hop2 → b/final, every hop signed for itself.
	var aURL, bURL string
	b := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !checkSigned(w, r, bURL) {
			return
		}
		switch r.URL.Path {
		case "/final":
			_, _ = io.WriteString(w, `{"type":"Person"}`)
		case "/inbox":
			body, _ := io.ReadAll(r.Body)
			assert.Equal(t, `{"type":"Like"}`, string(body))
			w.WriteHeader(http.StatusAccepted)
		}
	}))
	defer b.Close()
	bURL = b.URL
	var hops atomic.Int32
	a := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hops.Add(1)
		if !checkSigned(w, r, aURL) {
			return
		}
		switch r.URL.Path {
		case "/start":
			http.Redirect(w, r, "/hop2", http.StatusFound)
		case "/hop2":
			http.Redirect(w, r, bURL+"/final", http.StatusMovedPermanently)
		case "/loop":
			http.Redirect(w, r, "/loop", http.StatusFound)
		case "/ftp":
			http.Redirect(w, r, "ftp://example.com/x", http.StatusFound)
		case "/inbox-moved":
			http.Redirect(w, r, bURL+"/inbox", http.StatusPermanentRedirect)
		case "/inbox-found":
			http.Redirect(w, r, bURL+"/inbox", http.StatusFound)
		}
	}))
	defer a.Close()
	aURL = a.URL
	ctx := context.Background()

	s := &recordingSigner{}
	tr := loopbackTransport(HTTPTransportOptions{})
	resp, err := tr.Get(ctx, u(t, a.URL+"/start"), s)
	require.NoError(t, err)
	assert.Equal(t, `{"type":"Person"}`, string(resp.Body))
	assert.Equal(t, b.URL+"/final", resp.URL.String())
	assert.Equal(t, []string{a.URL + "/start", a.URL + "/hop2", b.URL + "/final"}, s.urls())

	// The chain is capped.
	hops.Store(0)
	tr = loopbackTransport(HTTPTransportOptions{MaxRedirects: 3})
	_, err = tr.Get(ctx, u(t, a.URL+"/loop"), &recordingSigner{})
	require.ErrorIs(t, err, ErrTooManyRedirects)
	assert.Equal(t, int32(4), hops.Load(), "first request plus 3 redirects")

	tr = loopbackTransport(HTTPTransportOptions{MaxRedirects: -1})
	_, err = tr.Get(ctx, u(t, a.URL+"/start"), &recordingSigner{})
	require.ErrorIs(t, err, ErrTooManyRedirects)

	// Only http and https are followed.
	tr = loopbackTransport(HTTPTransportOptions{})
	_, err = tr.Get(ctx, u(t, a.URL+"/ftp"), &recordingSigner{})
	require.ErrorIs(t, err, ErrUnsupportedScheme)

	// POST follows 307/308 with the same body, re-signed for the new URL.
	s = &recordingSigner{}
	body := []byte(`{"type":"Like"}`)
	require.NoError(t, tr.Post(ctx, u(t, a.URL+"/inbox-moved"), body, s))
	require.Len(t, s.calls, 2)
	assert.Equal(t, b.URL+"/inbox", s.calls[1].url)
	assert.Equal(t, body, s.calls[1].body)

	// ... but not 302, which would turn it into a GET.
	err = tr.Post(ctx, u(t, a.URL+"/inbox-found"), body, &recordingSigner{})
	var re *RemoteError
	require.ErrorAs(t, err, &re)
	assert.Equal(t, http.StatusFound, re.StatusCode)
}

func TestHTTPTransportPostSignsExactBody(t *testing.T) {
	body := []byte(`{"@context":"https://www.w3.org/ns/activitystreams","type":"Follow","id":"https://a.example/f/1"}`)
	var srvURL string
	var got []byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !checkSigned(w, r, srvURL) {
			return
		}
		assert.Equal(t, ContentType, r.Header.Get("Content-Type"))
		got, _ = io.ReadAll(r.Body)
		w.WriteHeader(http.StatusAccepted)
	}))
	defer srv.Close()
	srvURL = srv.URL

	s := &recordingSigner{}
	err := loopbackTransport(HTTPTransportOptions{}).Post(context.Background(), u(t, srv.URL+"/inbox"), body, s)
	require.NoError(t, err)
	require.Len(t, s.calls, 1)
	assert.Equal(t, http.MethodPost, s.calls[0].method)
	assert.Equal(t, body, s.calls[0].body)
	assert.Equal(t, body, got)
}

func TestHTTPTransportSignerError(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { hits.Add(1) }))
	defer srv.Close()
	boom := errors.New("no key")
	err := loopbackTransport(HTTPTransportOptions{}).Post(context.Background(), u(t, srv.URL), []byte("{}"), &recordingSigner{err: boom})
	require.ErrorIs(t, err, boom)
	assert.Zero(t, hits.Load(), "nothing is sent unsigned")
}

func TestHTTPTransportPrivateAddressGuard(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { hits.Add(1) }))
	defer srv.Close()
	tr := NewHTTPTransport(&HTTPTransportOptions{DialTimeout: time.Second})
	ctx := context.Background()

	_, err := tr.Get(ctx, u(t, srv.URL+"/actor"), nil)
	require.ErrorIs(t, err, ErrForbiddenAddress)
	err = tr.Post(ctx, u(t, srv.URL+"/inbox"), []byte("{}"), nil)
	require.ErrorIs(t, err, ErrForbiddenAddress)
	// Names are checked after resolution.
	_, err = tr.Get(ctx, u(t, strings.Replace(srv.URL, "127.0.0.1", "localhost", 1)), nil)
	require.ErrorIs(t, err, ErrForbiddenAddress)
	assert.Zero(t, hits.Load())
}

func TestHTTPTransportScheme(t *testing.T) {
	tr := NewHTTPTransport(nil)
	for _, s := range []string{"ftp://example.com/x", "file:///etc/passwd", "gopher://x/"} {
		_, err := tr.Get(context.Background(), u(t, s), nil)
		require.ErrorIs(t, err, ErrUnsupportedScheme, s)
	}
	_, err := tr.Get(context.Background(), u(t, "https:///nohost"), nil)
	require.Error(t, err)
	_, err = tr.Get(context.Background(), nil, nil)
	require.Error(t, err)
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestHTTPTransportCustomRoundTripper(t *testing.T) {
	// An in-process network: no sockets at all.
	rt := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		rec := httptest.NewRecorder()
		rec.Header().Set("Content-Type", ContentType)
		_, _ = io.WriteString(rec, `{"host":"`+r.URL.Host+`"}`)
		return rec.Result(), nil
	})
	tr := NewHTTPTransport(&HTTPTransportOptions{RoundTripper: rt})
	resp, err := tr.Get(context.Background(), u(t, "https://remote.example/users/x"), nil)
	require.NoError(t, err)
	assert.Equal(t, `{"host":"remote.example"}`, string(resp.Body))
}
