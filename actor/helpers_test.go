package actor

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/slothpub/slothpub/store"
	"github.com/slothpub/slothpub/store/memstore"
)

// fixture is the path of a fixture of internal/testdata/fixtures from this package's directory.
func fixture(parts ...string) string {
	return "../internal/testdata/fixtures/" + strings.Join(parts, "/")
}

// testServer is a Directory served over real HTTP on loopback.
type testServer struct {
	t   *testing.T
	st  *store.DB
	d   *Directory
	srv *httptest.Server
}

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// newTestServer starts a server whose directory's host is the listener's
// 127.0.0.1:port, with the http scheme. mod may adjust the options.
func newTestServer(t *testing.T, mod func(*Options)) *testServer {
	t.Helper()
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	u, err := url.Parse(srv.URL)
	require.NoError(t, err)
	opts := &Options{Scheme: "http", Logger: quietLogger()}
	if mod != nil {
		mod(opts)
	}
	st := memstore.New()
	d := NewDirectory(st, u.Host, opts)
	d.Register(mux)
	return &testServer{t: t, st: st, d: d, srv: srv}
}

// get fetches a path or absolute URL (which must be on this server) with
// an optional Accept header, returning the response and its body.
func (s *testServer) get(target, accept string) (*http.Response, []byte) {
	s.t.Helper()
	if strings.HasPrefix(target, "/") {
		target = s.srv.URL + target
	}
	require.True(s.t, strings.HasPrefix(target, s.srv.URL), "%s is not on the test server", target)
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, target, nil)
	require.NoError(s.t, err)
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	resp, err := s.srv.Client().Do(req)
	require.NoError(s.t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(s.t, err)
	return resp, body
}

// getJSON fetches target, requires 200 and decodes the body.
func (s *testServer) getJSON(target string) map[string]any {
	s.t.Helper()
	resp, body := s.get(target, ContentTypeActivity)
	require.Equal(s.t, http.StatusOK, resp.StatusCode, "GET %s: %s", target, body)
	var m map[string]any
	require.NoError(s.t, json.Unmarshal(body, &m), "GET %s", target)
	return m
}

// create makes a local actor or fails the test.
func (s *testServer) create(name string) *Actor {
	s.t.Helper()
	a, err := s.d.Create(context.Background(), name)
	require.NoError(s.t, err)
	return a
}
