package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slothpub/slothpub/actor"
	"github.com/slothpub/slothpub/ap"
	"github.com/slothpub/slothpub/deref"
	"github.com/slothpub/slothpub/httpsig"
	"github.com/slothpub/slothpub/store/memstore"
)

// The greeter accepts a follow from a remote actor on another loopback
// port and greets it with a public Note; both arrive signed.
func TestGreeterAcceptsAndGreets(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx, addr, addr, "http", "greeter", true) }()
	t.Cleanup(func() { cancel(); <-done })

	// The remote: an actor served by slothpub's own actor package whose
	// inbox records what verifies.
	var (
		mu       sync.Mutex
		received []string
	)
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	host := strings.TrimPrefix(srv.URL, "http://")
	st := memstore.New()
	dir := actor.NewDirectory(st, host, &actor.Options{Scheme: "http"})
	remote, err := dir.Create(ctx, "remote")
	require.NoError(t, err)
	instance, err := dir.Instance(ctx)
	require.NoError(t, err)
	resolver := deref.New(st, ap.NewHTTPTransport(&ap.HTTPTransportOptions{AllowPrivate: true}), instance.Signer(), &deref.Options{LocalHost: host, WebFingerScheme: "http"})
	verifier := httpsig.NewVerifier(resolver, nil)
	dir.Register(mux)
	mux.Handle("POST /inbox", verifier.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		received = append(received, string(body))
		mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
	})))

	var greeter *url.URL
	require.Eventually(t, func() bool {
		greeter, err = resolver.WebFinger(ctx, "acct:greeter@"+addr)
		return err == nil
	}, 20*time.Second, 50*time.Millisecond)

	follow := fmt.Appendf(nil, `{"@context":"https://www.w3.org/ns/activitystreams","id":"%s/follows/1","type":"Follow","actor":%q,"object":%q}`,
		remote.IRI(), remote.IRI(), greeter)
	req, _ := http.NewRequest(http.MethodPost, greeter.String()+"/inbox", bytes.NewReader(follow))
	req.Header.Set("Content-Type", "application/activity+json")
	require.NoError(t, remote.Signer().SignRequest(req, follow))
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusAccepted, resp.StatusCode)

	var types []string
	require.Eventually(t, func() bool {
		mu.Lock()
		defer mu.Unlock()
		types = types[:0]
		for _, b := range received {
			var a struct{ Type, Actor string }
			if json.Unmarshal([]byte(b), &a) == nil && a.Actor == greeter.String() {
				types = append(types, a.Type)
			}
		}
		return len(types) == 2
	}, 20*time.Second, 20*time.Millisecond)
	assert.ElementsMatch(t, []string{"Accept", "Create"}, types)
	mu.Lock()
	defer mu.Unlock()
	assert.Contains(t, strings.Join(received, "\n"), "Thanks for following")
}
