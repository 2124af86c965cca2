package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
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

func TestParseFlags(t *testing.T) {
	c, err := parseFlags(nil, io.Discard)
	require.NoError(t, err)
	assert.Equal(t, config{addr: "127.0.0.1:8080", host: "127.0.0.1:8080", protocol: "https", data: "botdata", name: "bot"}, *c)

	c, err = parseFlags([]string{"--addr", ":9000", "--host", "bot.example", "--protocol", "http",
		"--data", "/tmp/x", "--name", "echo", "--allow-private"}, io.Discard)
	require.NoError(t, err)
	assert.Equal(t, config{addr: ":9000", host: "bot.example", protocol: "http", data: "/tmp/x", name: "echo", allowPrivate: true}, *c)

	for _, args := range [][]string{
		{"--protocol", "ftp"},
		{"--host", "bot.example/users"},
		{"extra"},
		{"--nope"},
	} {
		_, err := parseFlags(args, io.Discard)
		assert.Error(t, err, "%q", args)
	}
	var help bytes.Buffer
	_, err = parseFlags([]string{"-h"}, &help)
	require.ErrorIs(t, err, flag.ErrHelp)
	assert.Contains(t, help.String(), "-allow-private")
}

// logBuffer collects the bot's log, shown when a test fails.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// start runs the bot's main on args until the returned stop is called,
// and returns its address once it serves.
func start(t *testing.T, args ...string) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var log logBuffer
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- run(ctx, args, &log, ready) }()
	select {
	case <-ready:
	case err := <-done:
		cancel()
		t.Fatalf("bot did not start: %v\n%s", err, log.String())
	case <-time.After(30 * time.Second):
		cancel()
		t.Fatalf("bot did not start within 30s\n%s", log.String())
	}
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			assert.NoError(t, err, "run ends cleanly")
		case <-time.After(30 * time.Second):
			t.Errorf("bot did not stop within 30s")
		}
		if t.Failed() {
			t.Logf("bot log:\n%s", log.String())
		}
	}
	t.Cleanup(stop)
	return stop
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	return addr
}

func getJSON(t *testing.T, u string, into any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	require.NoError(t, err)
	req.Header.Set("Accept", "application/activity+json")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, u)
	require.NoError(t, json.NewDecoder(resp.Body).Decode(into), u)
}

// The bot's main serves its actor and WebFinger from the SQLite store in
// --data, keeps its key across restarts, and answers a mention from a
// server on another loopback port over real, signed HTTP.
func TestRunServesAndAnswers(t *testing.T) {
	addr, data := freeAddr(t), t.TempDir()
	args := []string{"--addr", addr, "--protocol", "http", "--data", data, "--name", "echo", "--allow-private"}
	stop := start(t, args...)
	me := "http://" + addr + "/users/echo"

	var doc struct {
		ID, Type, PreferredUsername, Inbox string
		PublicKey                          struct{ ID, Owner, PublicKeyPem string }
	}
	getJSON(t, me, &doc)
	assert.Equal(t, me, doc.ID)
	assert.Equal(t, "Person", doc.Type)
	assert.Equal(t, "echo", doc.PreferredUsername)
	assert.Equal(t, me+"/inbox", doc.Inbox)
	assert.Equal(t, me, doc.PublicKey.Owner)
	require.Contains(t, doc.PublicKey.PublicKeyPem, "BEGIN PUBLIC KEY")
	var jrd actor.JRD
	getJSON(t, "http://"+addr+"/.well-known/webfinger?resource=acct:echo@"+addr, &jrd)
	assert.Equal(t, "acct:echo@"+addr, jrd.Subject)
	assert.Contains(t, jrd.Links, actor.JRDLink{Rel: "self", Type: "application/activity+json", Href: me})

	// carol, on a server of slothpub's actor package whose inboxes record
	// what verifies.
	ctx := context.Background()
	var (
		mu       sync.Mutex
		received [][]byte
	)
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	host := strings.TrimPrefix(srv.URL, "http://")
	st := memstore.New()
	dir := actor.NewDirectory(st, host, &actor.Options{Scheme: "http"})
	carol, err := dir.Create(ctx, "carol")
	require.NoError(t, err)
	instance, err := dir.Instance(ctx)
	require.NoError(t, err)
	res := deref.New(st, ap.NewHTTPTransport(&ap.HTTPTransportOptions{AllowPrivate: true}), instance.Signer(),
		&deref.Options{LocalHost: host, WebFingerScheme: "http"})
	dir.Register(mux)
	record := httpsig.NewVerifier(res, nil).Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		received = append(received, body)
		mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
	}))
	mux.Handle("POST /inbox", record)
	mux.Handle("POST /users/{name}/inbox", record)

	bot, err := url.Parse(me)
	require.NoError(t, err)
	noteID := carol.IRI().JoinPath("statuses", "1")
	note := ap.NewNote(noteID, carol.IRI(), "<p>"+ap.MentionHTML(ap.Mention{Href: bot, Name: "@echo@" + addr})+" are you there?</p>", time.Now())
	ap.Address(note, ap.VisibilityPublic, carol.Followers())
	ap.AddMention(note, ap.Mention{Href: bot, Name: "@echo@" + addr})
	body, err := ap.Serialize(ap.NewCreate(carol.IRI().JoinPath("activities", "1"), carol.IRI(), note))
	require.NoError(t, err)
	req, err := http.NewRequest(http.MethodPost, doc.Inbox, bytes.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/activity+json")
	require.NoError(t, carol.Signer().SignRequest(req, body))
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusAccepted, resp.StatusCode)

	// The reply arrives, signed by the bot (the verifier let it through).
	var reply *ap.Doc
	require.Eventually(t, func() bool {
		mu.Lock()
		defer mu.Unlock()
		for _, b := range received {
			d, err := ap.Decode(b)
			if err != nil || d.Type() != "Create" {
				continue
			}
			if objs := d.EmbeddedObjects(); len(objs) == 1 {
				reply = objs[0]
				return true
			}
		}
		return false
	}, 30*time.Second, 20*time.Millisecond)
	assert.Equal(t, noteID.String(), reply.InReplyTo().String())
	assert.Equal(t, []ap.Mention{{Href: carol.IRI(), Name: "@carol@" + host}}, reply.Mentions())
	assert.Equal(t, "Hello @carol, you said: are you there?", ap.PlainText(reply.Content()))
	assert.True(t, reply.IsPublicAddressed())
	stop()

	// Started again on the same data, the bot is the same actor, with the
	// same key.
	start(t, args...)
	var again struct {
		ID        string
		PublicKey struct{ PublicKeyPem string }
	}
	getJSON(t, me, &again)
	assert.Equal(t, me, again.ID)
	assert.Equal(t, doc.PublicKey.PublicKeyPem, again.PublicKey.PublicKeyPem)
}

func TestRunRefusesBadSetups(t *testing.T) {
	ctx := context.Background()
	err := run(ctx, []string{"--protocol", "gopher"}, io.Discard, nil)
	require.Error(t, err)
	err = run(ctx, []string{"--addr", freeAddr(t), "--data", t.TempDir(), "--name", "Not A Name!"}, io.Discard, nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "Not A Name!")
	err = run(ctx, []string{"-h"}, io.Discard, nil)
	require.True(t, errors.Is(err, flag.ErrHelp))
}
