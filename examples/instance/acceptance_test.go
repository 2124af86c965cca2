package main

// An acceptance test as a new user would run it: the reference server is
// built and started as a separate process with the README's flags, and
// everything is checked from outside over loopback HTTP with an independent
// HTTP-signature implementation (github.com/go-fed/httpsig).

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	gofed "github.com/go-fed/httpsig"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// remote is a minimal foreign ActivityPub actor served from its own
// loopback port, signing and verifying with go-fed/httpsig.
type remote struct {
	t   *testing.T
	srv *httptest.Server
	key *rsa.PrivateKey

	mu       sync.Mutex
	received [][]byte // bodies POSTed to its inbox, signature verified
	errs     []error
}

func newRemote(t *testing.T) *remote {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	r := &remote{t: t, key: key}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /actor", func(w http.ResponseWriter, req *http.Request) {
		der, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
		pemText := string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
		w.Header().Set("Content-Type", "application/activity+json")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"@context":          []string{"https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"},
			"id":                r.iri(),
			"type":              "Person",
			"preferredUsername": "remote",
			"inbox":             r.srv.URL + "/inbox",
			"outbox":            r.srv.URL + "/outbox",
			"publicKey":         map[string]string{"id": r.keyID(), "owner": r.iri(), "publicKeyPem": pemText},
		})
	})
	mux.HandleFunc("POST /inbox", func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		err := verifyIncoming(req, body)
		r.mu.Lock()
		defer r.mu.Unlock()
		if err != nil {
			r.errs = append(r.errs, err)
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		r.received = append(r.received, body)
		w.WriteHeader(http.StatusAccepted)
	})
	r.srv = httptest.NewServer(mux)
	t.Cleanup(r.srv.Close)
	return r
}

func (r *remote) iri() string   { return r.srv.URL + "/actor" }
func (r *remote) keyID() string { return r.iri() + "#main-key" }

// verifyIncoming checks a POST the way a foreign server would: the Digest
// against the body, the Date, and the signature with the key fetched from
// the keyId's actor document.
func verifyIncoming(req *http.Request, body []byte) error {
	sum := sha256.Sum256(body)
	if got, want := req.Header.Get("Digest"), "SHA-256="+base64.StdEncoding.EncodeToString(sum[:]); got != want {
		return fmt.Errorf("digest %q, want %q", got, want)
	}
	date, err := http.ParseTime(req.Header.Get("Date"))
	if err != nil || time.Since(date).Abs() > time.Minute {
		return fmt.Errorf("bad Date %q", req.Header.Get("Date"))
	}
	v, err := gofed.NewVerifier(req)
	if err != nil {
		return err
	}
	if !strings.Contains(req.Header.Get("Signature"), `headers="(request-target) host date digest"`) {
		return fmt.Errorf("signature covers the wrong headers: %s", req.Header.Get("Signature"))
	}
	pub, err := fetchKey(v.KeyId())
	if err != nil {
		return err
	}
	return v.Verify(pub, gofed.RSA_SHA256)
}

// fetchKey fetches an actor document and returns its RSA public key.
func fetchKey(keyID string) (crypto.PublicKey, error) {
	req, _ := http.NewRequest(http.MethodGet, strings.SplitN(keyID, "#", 2)[0], nil)
	req.Header.Set("Accept", "application/activity+json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var doc struct {
		PublicKey struct {
			ID           string `json:"id"`
			PublicKeyPem string `json:"publicKeyPem"`
		} `json:"publicKey"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
		return nil, err
	}
	if doc.PublicKey.ID != keyID {
		return nil, fmt.Errorf("key id %q, want %q", doc.PublicKey.ID, keyID)
	}
	block, _ := pem.Decode([]byte(doc.PublicKey.PublicKeyPem))
	if block == nil {
		return nil, fmt.Errorf("no PEM in %s", keyID)
	}
	return x509.ParsePKIXPublicKey(block.Bytes)
}

// sign signs req (and body, for POST) as the remote actor with go-fed.
func (r *remote) sign(req *http.Request, body []byte) {
	r.t.Helper()
	headers := []string{gofed.RequestTarget, "host", "date"}
	if body != nil {
		headers = append(headers, "digest")
	}
	req.Header.Set("Date", time.Now().UTC().Format(http.TimeFormat))
	req.Header.Set("Host", req.URL.Host) // go-fed signs header values only; net/http sends req.Host
	s, _, err := gofed.NewSigner([]gofed.Algorithm{gofed.RSA_SHA256}, gofed.DigestSha256, headers, gofed.Signature, 0)
	require.NoError(r.t, err)
	require.NoError(r.t, s.SignRequest(r.key, r.keyID(), req, body))
}

func freePort(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	return ln.Addr().String()
}

func startServer(t *testing.T) string {
	bin := filepath.Join(t.TempDir(), "instance")
	build := exec.Command("go", "build", "-o", bin, ".")
	out, err := build.CombinedOutput()
	require.NoError(t, err, "go build: %s", out)

	addr := freePort(t)
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, "serve", "--addr", addr, "--host", addr, "--protocol", "http",
		"--data", t.TempDir(), "--user", "alice", "--allow-private")
	cmd.SysProcAttr = childAttrs()
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		cancel()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("server log:\n%s", logs.String())
		}
	})
	require.Eventually(t, func() bool {
		resp, err := http.Get("http://" + addr + "/.well-known/nodeinfo")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, 30*time.Second, 50*time.Millisecond, "server did not start")
	return addr
}

func getJSON(t *testing.T, req *http.Request, into any) *http.Response {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, "GET %s: %s", req.URL, body)
	require.NoError(t, json.Unmarshal(body, into), "GET %s: %s", req.URL, body)
	return resp
}

func TestReferenceServerAcceptance(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the server binary")
	}
	addr := startServer(t)
	base := "http://" + addr
	rem := newRemote(t)

	// WebFinger: the subject round-trips and self points at the actor.
	var jrd struct {
		Subject string `json:"subject"`
		Links   []struct{ Rel, Type, Href string }
	}
	req, _ := http.NewRequest(http.MethodGet, base+"/.well-known/webfinger?resource=acct:alice@"+addr, nil)
	resp := getJSON(t, req, &jrd)
	assert.Contains(t, resp.Header.Get("Content-Type"), "application/jrd+json")
	assert.Equal(t, "acct:alice@"+addr, jrd.Subject)
	var self string
	for _, l := range jrd.Links {
		if l.Rel == "self" && l.Type == "application/activity+json" {
			self = l.Href
		}
	}
	require.Equal(t, base+"/users/alice", self)

	// The actor, fetched with a signed GET, in both AS2 media types.
	for _, accept := range []string{"application/activity+json", `application/ld+json; profile="https://www.w3.org/ns/activitystreams"`} {
		var actor struct {
			ID, Type, PreferredUsername, Inbox, Outbox, Followers, Following, Featured string
			Endpoints                                                                  struct{ SharedInbox string }
			PublicKey                                                                  struct{ ID, Owner, PublicKeyPem string }
		}
		req, _ = http.NewRequest(http.MethodGet, self, nil)
		req.Header.Set("Accept", accept)
		rem.sign(req, nil)
		resp = getJSON(t, req, &actor)
		assert.Contains(t, resp.Header.Get("Content-Type"), "application/")
		assert.Equal(t, self, actor.ID)
		assert.Equal(t, "Person", actor.Type)
		assert.Equal(t, "alice", actor.PreferredUsername)
		assert.Equal(t, self+"/inbox", actor.Inbox)
		assert.Equal(t, base+"/inbox", actor.Endpoints.SharedInbox)
		for _, v := range []string{actor.Outbox, actor.Followers, actor.Following, actor.Featured} {
			assert.True(t, strings.HasPrefix(v, self+"/"), v)
		}
		assert.Equal(t, self+"#main-key", actor.PublicKey.ID)
		assert.Equal(t, self, actor.PublicKey.Owner)
		assert.Contains(t, actor.PublicKey.PublicKeyPem, "BEGIN PUBLIC KEY")
	}

	// NodeInfo: discovery, then the 2.1 document.
	var wk struct{ Links []struct{ Rel, Href string } }
	req, _ = http.NewRequest(http.MethodGet, base+"/.well-known/nodeinfo", nil)
	getJSON(t, req, &wk)
	var ni21 string
	for _, l := range wk.Links {
		if l.Rel == "http://nodeinfo.diaspora.software/ns/schema/2.1" {
			ni21 = l.Href
		}
	}
	require.NotEmpty(t, ni21)
	var ni struct {
		Version   string
		Protocols []string
		Usage     struct{ Users struct{ Total int } }
	}
	req, _ = http.NewRequest(http.MethodGet, ni21, nil)
	getJSON(t, req, &ni)
	assert.Equal(t, "2.1", ni.Version)
	assert.Contains(t, ni.Protocols, "activitypub")
	assert.Equal(t, 1, ni.Usage.Users.Total)

	// A Follow signed by the remote actor gets an Accept, signed by alice's
	// key, delivered to the remote actor's inbox.
	followID := rem.iri() + "/follows/1"
	follow := fmt.Appendf(nil, `{"@context":"https://www.w3.org/ns/activitystreams","id":%q,"type":"Follow","actor":%q,"object":%q}`,
		followID, rem.iri(), self)
	req, _ = http.NewRequest(http.MethodPost, self+"/inbox", bytes.NewReader(follow))
	req.Header.Set("Content-Type", "application/activity+json")
	rem.sign(req, follow)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusAccepted, resp.StatusCode)

	require.Eventually(t, func() bool {
		rem.mu.Lock()
		defer rem.mu.Unlock()
		return len(rem.received) > 0 || len(rem.errs) > 0
	}, 20*time.Second, 20*time.Millisecond, "no Accept arrived")
	rem.mu.Lock()
	defer rem.mu.Unlock()
	require.Empty(t, rem.errs, "deliveries that failed verification")
	var accept struct {
		Type, Actor string
		Object      json.RawMessage
	}
	require.NoError(t, json.Unmarshal(rem.received[0], &accept))
	assert.Equal(t, "Accept", accept.Type)
	assert.Equal(t, self, accept.Actor)
	assert.Contains(t, string(accept.Object), followID)

	// And alice's followers collection now lists the remote actor.
	var coll struct {
		TotalItems int    `json:"totalItems"`
		First      string `json:"first"`
	}
	req, _ = http.NewRequest(http.MethodGet, self+"/followers", nil)
	req.Header.Set("Accept", "application/activity+json")
	getJSON(t, req, &coll)
	assert.Equal(t, 1, coll.TotalItems)
}
