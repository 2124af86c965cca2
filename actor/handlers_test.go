package actor

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slothpub/slothpub/httpsig"
	"github.com/slothpub/slothpub/store"
)

func TestActorDocument(t *testing.T) {
	s := newTestServer(t, nil)
	a := s.create("alice")
	doc := s.getJSON("/users/alice")

	base := s.srv.URL + "/users/alice"
	assert.Equal(t, base, doc["id"])
	assert.Equal(t, "Person", doc["type"])
	assert.Equal(t, "alice", doc["preferredUsername"])
	assert.Equal(t, "alice", doc["name"])
	for prop, suffix := range map[string]string{
		"inbox": "/inbox", "outbox": "/outbox", "followers": "/followers",
		"following": "/following", "featured": "/featured", "liked": "/liked", "url": "",
	} {
		assert.Equal(t, base+suffix, doc[prop], prop)
	}
	assert.Equal(t, false, doc["manuallyApprovesFollowers"])
	assert.Equal(t, false, doc["discoverable"])
	assert.NotEmpty(t, doc["published"])
	assert.Equal(t, map[string]any{"sharedInbox": s.srv.URL + "/inbox"}, doc["endpoints"])
	pk := doc["publicKey"].(map[string]any)
	assert.Equal(t, base+"#main-key", pk["id"])
	assert.Equal(t, base, pk["owner"])
	assert.Equal(t, a.PublicKeyPEM(), pk["publicKeyPem"])

	// The document declares its extension terms exactly as Mastodon does,
	// and has every top-level property a Mastodon actor has that peers
	// rely on.
	raw, err := os.ReadFile(fixture("actors", "mastodon-person.json"))
	require.NoError(t, err)
	var masto map[string]any
	require.NoError(t, json.Unmarshal(raw, &masto))
	mctx := masto["@context"].([]any)
	ours := doc["@context"].([]any)
	require.Len(t, ours, 3)
	assert.Equal(t, mctx[:2], ours[:2])
	mterms := mctx[2].(map[string]any)
	for term, def := range ours[2].(map[string]any) {
		assert.Equal(t, mterms[term], def, "term %s", term)
	}
	for _, prop := range []string{"id", "type", "preferredUsername", "name", "inbox", "outbox", "followers",
		"following", "featured", "url", "manuallyApprovesFollowers", "discoverable", "published", "endpoints", "publicKey"} {
		assert.Contains(t, masto, prop)
		assert.Contains(t, doc, prop)
	}
}

func TestActorContentNegotiation(t *testing.T) {
	html := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, "<h1>%s</h1>", r.PathValue("name"))
	})
	withHTML := newTestServer(t, func(o *Options) { o.HTML = html })
	withHTML.create("alice")
	plain := newTestServer(t, nil)
	plain.create("alice")

	const (
		ld      = `application/ld+json; profile="https://www.w3.org/ns/activitystreams"`
		browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
	)
	tests := []struct {
		accept    string
		withHTML  string // expected Content-Type prefix (or status) with Options.HTML
		withoutHT string // and without
	}{
		{"", ContentTypeActivity, ContentTypeActivity},
		{"application/activity+json", ContentTypeActivity, ContentTypeActivity},
		{ld, ContentTypeLD, ContentTypeLD}, // only ld+json acceptable: answered in kind
		{`application/ld+json`, ContentTypeLD, ContentTypeLD},
		{ld + ", application/activity+json", ContentTypeActivity, ContentTypeActivity},
		{"application/activity+json, application/ld+json", ContentTypeActivity, ContentTypeActivity}, // Mastodon
		{"application/json", ContentTypeActivity, ContentTypeActivity},
		{"*/*", ContentTypeActivity, ContentTypeActivity},
		{"application/*", ContentTypeActivity, ContentTypeActivity},
		{browser, "text/html", ContentTypeActivity},
		{"text/html", "text/html", "406"},
		{"text/html;q=0.5, application/activity+json;q=0.4", "text/html", ContentTypeActivity},
		{"application/activity+json, text/html", ContentTypeActivity, ContentTypeActivity}, // tie: JSON
		{"text/html, application/json;q=0.1", "text/html", ContentTypeActivity},
		{"image/png", "406", "406"},
		{"application/activity+json;q=0", "406", "406"},
		{"garbage", ContentTypeActivity, ContentTypeActivity},
	}
	check := func(s *testServer, accept, want string) {
		t.Helper()
		resp, body := s.get("/users/alice", accept)
		assert.Contains(t, resp.Header.Values("Vary"), "Accept", "Accept %q", accept)
		switch want {
		case "406":
			assert.Equal(t, http.StatusNotAcceptable, resp.StatusCode, "Accept %q", accept)
		case "text/html":
			require.Equal(t, http.StatusOK, resp.StatusCode, "Accept %q", accept)
			assert.Equal(t, "<h1>alice</h1>", string(body), "Accept %q", accept)
		default:
			require.Equal(t, http.StatusOK, resp.StatusCode, "Accept %q: %s", accept, body)
			assert.Equal(t, want, resp.Header.Get("Content-Type"), "Accept %q", accept)
			assert.True(t, json.Valid(body))
		}
	}
	for _, tt := range tests {
		check(withHTML, tt.accept, tt.withHTML)
		check(plain, tt.accept, tt.withoutHT)
	}

	resp, _ := plain.get("/users/alice", ld+", application/activity+json;q=0")
	assert.Equal(t, ContentTypeLD, resp.Header.Get("Content-Type"))
}

func TestActorNotFound(t *testing.T) {
	s := newTestServer(t, func(o *Options) {
		o.HTML = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { t.Error("HTML called for unknown user") })
	})
	for _, p := range []string{"/users/nobody", "/users/No.Body", "/users/%2e%2e", "/users/" + strings.Repeat("a", 31)} {
		for _, accept := range []string{ContentTypeActivity, "text/html"} {
			resp, body := s.get(p, accept)
			assert.Equal(t, http.StatusNotFound, resp.StatusCode, "%s %s", p, accept)
			assert.Equal(t, "no such user\n", string(body))
		}
	}
	resp, _ := s.get("/users/nobody/followers", "")
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)
	resp, _ = s.get("/users/nobody/outbox?page=true", "")
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)
}

func TestActorServesStoredEditsAndTombstone(t *testing.T) {
	ctx := context.Background()
	s := newTestServer(t, nil)
	a := s.create("alice")

	var doc map[string]any
	require.NoError(t, json.Unmarshal(a.Document(), &doc))
	doc["name"] = "Alice Liddell"
	edited, err := json.Marshal(doc)
	require.NoError(t, err)
	require.NoError(t, s.st.PutObject(ctx, &store.Object{IRI: a.IRI().String(), Type: "Person", Local: true, Data: edited}))
	assert.Equal(t, "Alice Liddell", s.getJSON("/users/alice")["name"])

	tomb := []byte(`{"id":"` + a.IRI().String() + `","type":"Tombstone"}`)
	require.NoError(t, s.st.PutObject(ctx, &store.Object{IRI: a.IRI().String(), Type: "Tombstone", Local: true, Data: tomb}))
	resp, body := s.get("/users/alice", "")
	assert.Equal(t, http.StatusGone, resp.StatusCode)
	assert.JSONEq(t, string(tomb), string(body))
}

// storeKeys resolves keys by fetching the key id's actor document over
// HTTP, unsigned, the way a peer does.
type fetchKeys struct {
	t *testing.T
	s *testServer
}

func (f fetchKeys) ResolveKey(ctx context.Context, keyID string, refresh bool) (*httpsig.PublicKey, error) {
	actorURL, _, _ := strings.Cut(keyID, "#")
	doc := f.s.getJSON(actorURL)
	pk := doc["publicKey"].(map[string]any)
	if pk["id"] != keyID {
		return nil, fmt.Errorf("key %s not in %s", keyID, actorURL)
	}
	k, err := httpsig.ParsePublicKeyPEM(pk["publicKeyPem"].(string))
	if err != nil {
		return nil, err
	}
	return &httpsig.PublicKey{ID: keyID, Owner: pk["owner"].(string), Key: k}, nil
}

func TestSignerVerifiesWithPublishedKey(t *testing.T) {
	s := newTestServer(t, nil)
	a := s.create("alice")
	inst, err := s.d.Instance(context.Background())
	require.NoError(t, err)
	v := httpsig.NewVerifier(fetchKeys{t, s}, nil)

	for _, who := range []*Actor{a, inst} {
		body := []byte(`{"type":"Follow"}`)
		req, err := http.NewRequest(http.MethodPost, "https://remote.example/users/bob/inbox", bytes.NewReader(body))
		require.NoError(t, err)
		require.NoError(t, who.Signer().SignRequest(req, body))
		res, err := v.Verify(req)
		require.NoError(t, err, who.Username)
		assert.Equal(t, who.IRI().String(), res.Owner)

		// The key the store holds verifies it too.
		k, err := s.st.GetKey(context.Background(), who.KeyID())
		require.NoError(t, err)
		assert.Equal(t, who.PublicKeyPEM(), k.PublicPEM)
	}
}

func TestInstanceActorDocument(t *testing.T) {
	s := newTestServer(t, nil)
	doc := s.getJSON("/actor")
	assert.Equal(t, s.srv.URL+"/actor", doc["id"])
	assert.Equal(t, "Application", doc["type"])
	assert.Equal(t, "127.0.0.1", doc["preferredUsername"])
	assert.Equal(t, true, doc["manuallyApprovesFollowers"])
	assert.Equal(t, s.srv.URL+"/actor/inbox", doc["inbox"])
	assert.Equal(t, s.srv.URL+"/actor/outbox", doc["outbox"])
	assert.NotContains(t, doc, "followers")
	pk := doc["publicKey"].(map[string]any)
	assert.Equal(t, s.srv.URL+"/actor#main-key", pk["id"])

	again := s.getJSON("/actor")
	assert.Equal(t, pk["publicKeyPem"], again["publicKey"].(map[string]any)["publicKeyPem"], "created once")

	out := s.getJSON("/actor/outbox")
	assert.Equal(t, "OrderedCollection", out["type"])
	assert.Equal(t, s.srv.URL+"/actor/outbox", out["id"])
}
