package deref_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rsa"
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slothpub/slothpub/deref"
	"github.com/slothpub/slothpub/httpsig"
)

const fixtures = "../internal/testdata/fixtures"

// serveFixture serves a real actor document on rm, with its origin
// rewritten to rm's, and returns the actor's IRI on rm.
func serveFixture(t *testing.T, rm *remote, name string) string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(fixtures, "actors", name))
	require.NoError(t, err)
	var top struct {
		ID string `json:"id"`
	}
	require.NoError(t, json.Unmarshal(raw, &top))
	u, err := url.Parse(strings.ReplaceAll(top.ID, "{{DOMAIN}}", "placeholder.example"))
	require.NoError(t, err)
	orig := u.Scheme + "://" + u.Host
	if strings.Contains(top.ID, "{{DOMAIN}}") {
		orig = "https://{{DOMAIN}}"
	}
	body := string(raw)
	body = strings.ReplaceAll(body, orig, rm.origin())
	body = strings.ReplaceAll(body, strings.ReplaceAll(orig, "/", `\/`), strings.ReplaceAll(rm.origin(), "/", `\/`))
	id := strings.Replace(strings.ReplaceAll(top.ID, "{{DOMAIN}}", "placeholder.example"), u.Scheme+"://"+u.Host, rm.origin(), 1)
	iri, err := url.Parse(id)
	require.NoError(t, err)
	rm.set(iri.RequestURI(), body)
	return iri.String()
}

func TestActorFixtures(t *testing.T) {
	ctx := context.Background()
	names, err := filepath.Glob(filepath.Join(fixtures, "actors", "*.json"))
	require.NoError(t, err)
	require.NotEmpty(t, names)
	for _, path := range names {
		name := filepath.Base(path)
		t.Run(name, func(t *testing.T) {
			rm := newRemote(t)
			iri := serveFixture(t, rm, name)
			s := newSetup(t, nil)
			a, err := s.r.Actor(ctx, mustURL(t, iri))
			require.NoError(t, err)
			assert.Equal(t, iri, a.IRI)
			assert.NotEmpty(t, a.Type)
			raw, _ := os.ReadFile(path)
			if strings.Contains(string(raw), `"inbox"`) {
				assert.True(t, strings.HasPrefix(a.Inbox, "http"), "inbox %q", a.Inbox)
			}
			// The Mastodon template's PEM is corrupted (O/0 swapped in
			// the DER header), so it has no usable key.
			if strings.Contains(string(raw), "publicKeyPem") && name != "mastodon-application-instance-actor.json" {
				require.NotEmpty(t, a.Keys, "publicKey parsed")
				for _, k := range a.Keys {
					assert.Equal(t, iri, k.Owner)
					assert.True(t, strings.HasPrefix(k.ID, rm.origin()), k.ID)
					assert.NotNil(t, k.Key)
				}
			}
			assert.Equal(t, raw[0], a.Raw[0])
		})
	}
}

func TestActorFields(t *testing.T) {
	ctx := context.Background()
	rm := newRemote(t)
	iri := serveFixture(t, rm, "mastodon-person.json")
	s := newSetup(t, nil)
	a, err := s.r.Actor(ctx, mustURL(t, iri))
	require.NoError(t, err)
	assert.Equal(t, "Person", a.Type)
	assert.Equal(t, "mastodon", a.PreferredUsername)
	assert.Equal(t, "Mastodon", a.Name)
	assert.Equal(t, iri+"/inbox", a.Inbox)
	assert.Equal(t, iri+"/outbox", a.Outbox)
	assert.Equal(t, iri+"/followers", a.Followers)
	assert.Equal(t, iri+"/following", a.Following)
	assert.Equal(t, rm.iri("/inbox"), a.SharedInbox)
	require.Len(t, a.Keys, 1)
	assert.Equal(t, iri+"#main-key", a.Keys[0].ID)
	assert.IsType(t, &rsa.PublicKey{}, a.Keys[0].Key)
	assert.NotNil(t, a.Key(iri+"#main-key"))
	assert.Nil(t, a.Key(iri+"#other"))

	o, err := s.st.GetObject(ctx, iri)
	require.NoError(t, err)
	assert.Equal(t, "Person", o.Type)
	assert.Equal(t, iri, o.Actor, "an actor belongs to itself")
}

func TestActorMultikey(t *testing.T) {
	ctx := context.Background()
	rm := newRemote(t)
	iri := serveFixture(t, rm, "mitra-person-multikey.json")
	s := newSetup(t, nil)
	a, err := s.r.Actor(ctx, mustURL(t, iri))
	require.NoError(t, err)
	require.Len(t, a.Keys, 2, "publicKey plus the Ed25519 Multikey; the RSA Multikey repeats #main-key")
	main := a.Key(iri + "#main-key")
	require.NotNil(t, main)
	ed := a.Key(iri + "#ed25519-key")
	require.NotNil(t, ed)
	edKey, ok := ed.Key.(ed25519.PublicKey)
	require.True(t, ok, "%T", ed.Key)
	assert.Len(t, edKey, ed25519.PublicKeySize)
}

func TestActorTypeArrayAndOtherShapes(t *testing.T) {
	ctx := context.Background()
	rm := newRemote(t)
	key := rsaKeys()[0]
	rm.set("/users/v", `{"id":"{{ORIGIN}}/users/v","type":["Person","vcard:individual"],
		"inbox":{"id":"{{ORIGIN}}/users/v/inbox"},
		"publicKey":[{"id":"{{ORIGIN}}/users/v#main-key","owner":"{{ORIGIN}}/users/v","publicKeyPem":`+jsonString(publicPEM(t, key))+`},
		             {"id":"{{ORIGIN}}/users/v#evil","owner":"https://elsewhere.example/u","publicKeyPem":`+jsonString(publicPEM(t, key))+`},
		             {"id":"https://elsewhere.example/k","publicKeyPem":`+jsonString(publicPEM(t, key))+`},
		             {"id":"{{ORIGIN}}/users/v#bad","publicKeyPem":"not a pem"},
		             42, "{{ORIGIN}}/users/v#ref"]}`)
	s := newSetup(t, nil)
	a, err := s.r.Actor(ctx, rm.url("/users/v"))
	require.NoError(t, err)
	assert.Equal(t, "Person", a.Type)
	assert.Equal(t, rm.iri("/users/v/inbox"), a.Inbox)
	require.Len(t, a.Keys, 1, "foreign owner, foreign origin and bad PEM are skipped")
	assert.Equal(t, rm.iri("/users/v#main-key"), a.Keys[0].ID)
}

func TestActorRejectsNonActor(t *testing.T) {
	ctx := context.Background()
	rm := newRemote(t)
	rm.set("/notes/1", noteJSON)
	s := newSetup(t, nil)
	_, err := s.r.Actor(ctx, rm.url("/notes/1"))
	require.ErrorIs(t, err, deref.ErrInvalidDocument)
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func TestActorRSAMultikeyOnly(t *testing.T) {
	// Mitra publishes one RSA key both as publicKeyPem and as a Multikey;
	// an actor listing only the Multikey yields the same key.
	ctx := context.Background()
	raw, err := os.ReadFile(filepath.Join(fixtures, "actors", "mitra-person-multikey.json"))
	require.NoError(t, err)
	var doc struct {
		PublicKey struct {
			PublicKeyPem string `json:"publicKeyPem"`
		} `json:"publicKey"`
		AssertionMethod []struct {
			PublicKeyMultibase string `json:"publicKeyMultibase"`
		} `json:"assertionMethod"`
	}
	require.NoError(t, json.Unmarshal(raw, &doc))
	rm := newRemote(t)
	rm.set("/users/m", `{"id":"{{ORIGIN}}/users/m","type":"Person","inbox":"{{ORIGIN}}/users/m/inbox",
		"assertionMethod":[{"id":"{{ORIGIN}}/users/m#main-key","type":"Multikey","controller":"{{ORIGIN}}/users/m",
		"publicKeyMultibase":`+jsonString(doc.AssertionMethod[0].PublicKeyMultibase)+`},
		{"id":"{{ORIGIN}}/users/m#bad","type":"Multikey","controller":"{{ORIGIN}}/users/m","publicKeyMultibase":"z0OIl"},
		{"id":"{{ORIGIN}}/users/m#other","type":"Multikey","controller":"https://elsewhere.example/x",
		"publicKeyMultibase":`+jsonString(doc.AssertionMethod[1].PublicKeyMultibase)+`}]}`)
	s := newSetup(t, nil)
	a, err := s.r.Actor(ctx, rm.url("/users/m"))
	require.NoError(t, err)
	require.Len(t, a.Keys, 1, "bad multibase and foreign controller skipped")
	pemKey, err := httpsig.ParsePublicKeyPEM(doc.PublicKey.PublicKeyPem)
	require.NoError(t, err)
	rk, ok := a.Keys[0].Key.(*rsa.PublicKey)
	require.True(t, ok, "%T", a.Keys[0].Key)
	assert.True(t, rk.Equal(pemKey))

	k, err := s.r.ResolveKey(ctx, rm.iri("/users/m#main-key"), false)
	require.NoError(t, err)
	assert.True(t, rk.Equal(k.Key))
}
