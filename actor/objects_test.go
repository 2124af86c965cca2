package actor

import (
	"context"
	"fmt"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slothpub/slothpub/store"
)

func TestObjectHandlerServesOnlyPublicLocalObjects(t *testing.T) {
	ctx := context.Background()
	s := newTestServer(t, nil)
	alice, bob := s.create("alice"), s.create("bob")
	put := func(owner *Actor, path, typ, to string, local bool) string {
		iri := owner.IRI().String() + path
		data := fmt.Sprintf(`{"@context":"https://www.w3.org/ns/activitystreams","id":%q,"type":%q,"attributedTo":%q,"to":[%s],"bcc":["https://secret.example/users/x"],"content":"hi"}`,
			iri, typ, owner.IRI(), to)
		require.NoError(t, s.st.PutObject(ctx, &store.Object{IRI: iri, Type: typ, Actor: owner.IRI().String(), Local: local, Data: []byte(data)}))
		return iri
	}
	public := put(alice, "/statuses/1", "Note", `"https://www.w3.org/ns/activitystreams#Public"`, true)
	unlisted := put(alice, "/statuses/2", "Note", `"as:Public"`, true) // cc or to: both are public addressing
	followers := put(alice, "/statuses/3", "Note", fmt.Sprintf("%q", alice.Followers()), true)
	direct := put(alice, "/statuses/4", "Note", fmt.Sprintf("%q", bob.IRI()), true)
	bobs := put(bob, "/statuses/5", "Note", `"https://www.w3.org/ns/activitystreams#Public"`, true)
	remoteCopy := put(alice, "/statuses/6", "Note", `"https://www.w3.org/ns/activitystreams#Public"`, false)

	for _, iri := range []string{public, unlisted} {
		m := s.getJSON(iri)
		assert.Equal(t, iri, m["id"])
		assert.NotContains(t, m, "bcc", "blind recipients are never shown")
	}
	for name, target := range map[string]string{
		"followers only":           followers,
		"direct":                   direct,
		"another user's, by alice": alice.IRI().String() + "/statuses/5",
		"not local":                remoteCopy,
		"missing":                  alice.IRI().String() + "/statuses/404",
		"activity path, missing":   alice.IRI().String() + "/activities/1",
	} {
		resp, body := s.get(target, ContentTypeActivity)
		assert.Equal(t, http.StatusNotFound, resp.StatusCode, "%s: %s", name, body)
		assert.NotContains(t, string(body), "hi", name)
	}
	assert.Equal(t, bobs, s.getJSON(bobs)["id"])

	tomb := []byte(fmt.Sprintf(`{"id":%q,"type":"Tombstone"}`, public))
	require.NoError(t, s.st.PutObject(ctx, &store.Object{IRI: public, Type: "Tombstone", Actor: alice.IRI().String(), Local: true, Data: tomb}))
	resp, body := s.get(public, "")
	assert.Equal(t, http.StatusGone, resp.StatusCode)
	assert.JSONEq(t, string(tomb), string(body))
}

// The Create of a post that was deleted since still holds the post's text:
// it is gone with it.
func TestObjectHandlerCreateOfDeletedPostIsGone(t *testing.T) {
	ctx := context.Background()
	s := newTestServer(t, nil)
	alice := s.create("alice")
	note := alice.IRI().String() + "/statuses/1"
	create := alice.IRI().String() + "/activities/1"
	data := fmt.Sprintf(`{"id":%q,"type":"Create","actor":%q,"to":["https://www.w3.org/ns/activitystreams#Public"],"object":{"id":%q,"type":"Note","content":"secret text"}}`,
		create, alice.IRI(), note)
	require.NoError(t, s.st.PutObject(ctx, &store.Object{IRI: create, Type: "Create", Actor: alice.IRI().String(), Local: true, Data: []byte(data)}))
	require.NoError(t, s.st.PutObject(ctx, &store.Object{IRI: note, Type: "Note", Actor: alice.IRI().String(), Local: true, Data: []byte(`{}`)}))
	assert.Equal(t, create, s.getJSON(create)["id"], "served while the note lives")

	require.NoError(t, s.st.PutObject(ctx, &store.Object{IRI: note, Type: "Tombstone", Actor: alice.IRI().String(), Local: true, Data: []byte(`{"type":"Tombstone"}`)}))
	resp, body := s.get(create, ContentTypeActivity)
	assert.Equal(t, http.StatusGone, resp.StatusCode)
	assert.NotContains(t, string(body), "secret text")
}
