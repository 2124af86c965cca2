package inbox_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"

	"code.superseriousbusiness.org/activity/streams"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slothpub/slothpub/actor"
	"github.com/slothpub/slothpub/ap"
	"github.com/slothpub/slothpub/ap/aptest"
	"github.com/slothpub/slothpub/inbox"
	"github.com/slothpub/slothpub/store"
)

// activity returns a JSON activity by who.
func (r *rig) activity(who *actor.Actor, typ, object string, extra string) (string, []byte) {
	r.seq++
	id := fmt.Sprintf("%s/activities/%d", who.IRI(), r.seq)
	return id, fmt.Appendf(nil, `{"@context":"https://www.w3.org/ns/activitystreams","id":%q,"type":%q,"actor":%q,"object":%s%s}`,
		id, typ, who.IRI(), object, extra)
}

// note is alice's note addressed to bob, as an embedded object.
func (r *rig) note(n int, content string) (string, string) {
	id := fmt.Sprintf("%s/statuses/%d", r.alice.IRI(), n)
	return id, fmt.Sprintf(`{"id":%q,"type":"Note","attributedTo":%q,"content":%q,"to":[%q]}`, id, r.alice.IRI(), content, r.bob.IRI())
}

func (r *rig) object(iri string) (string, string) {
	r.t.Helper()
	o, err := r.b.Store.GetObject(context.Background(), iri)
	require.NoError(r.t, err)
	return o.Type, string(o.Data)
}

func TestCreateUpdateDeleteOwnership(t *testing.T) {
	r := newRig(t)
	alice := reqOpts{signer: r.alice.Signer()}
	eve := reqOpts{signer: r.eve.Signer()}
	noteID, note := r.note(1, "first")

	_, create := r.activity(r.alice, "Create", note, `,"to":["`+r.bob.IRI().String()+`"]`)
	require.Equal(t, http.StatusAccepted, r.post(create, alice))
	typ, data := r.object(noteID)
	assert.Equal(t, "Note", typ)
	assert.Contains(t, data, "first")

	// eve may neither update nor delete alice's note.
	_, forged := r.note(1, "forged by eve")
	_, update := r.activity(r.eve, "Update", forged, "")
	assert.Equal(t, http.StatusForbidden, r.post(update, eve))
	_, del := r.activity(r.eve, "Delete", fmt.Sprintf("%q", noteID), "")
	assert.Equal(t, http.StatusForbidden, r.post(del, eve))
	_, data = r.object(noteID)
	assert.Contains(t, data, "first")

	// alice may.
	_, edited := r.note(1, "edited")
	_, update = r.activity(r.alice, "Update", edited, "")
	assert.Equal(t, http.StatusAccepted, r.post(update, alice))
	_, data = r.object(noteID)
	assert.Contains(t, data, "edited")

	_, del = r.activity(r.alice, "Delete", fmt.Sprintf("%q", noteID), "")
	assert.Equal(t, http.StatusAccepted, r.post(del, alice))
	typ, data = r.object(noteID)
	assert.Equal(t, "Tombstone", typ)
	assert.NotContains(t, data, "edited")

	// A deleted object stays deleted.
	_, update = r.activity(r.alice, "Update", edited, "")
	assert.Equal(t, http.StatusAccepted, r.post(update, alice))
	typ, _ = r.object(noteID)
	assert.Equal(t, "Tombstone", typ)
}

func TestUndoOnlyByItsActor(t *testing.T) {
	r := newRig(t)
	followID, follow := r.follow()
	require.Equal(t, http.StatusAccepted, r.post(follow, reqOpts{signer: r.alice.Signer()}))
	r.n.Settle()
	require.Equal(t, 1, r.followers())

	_, undo := r.activity(r.eve, "Undo", fmt.Sprintf("%q", followID), "")
	assert.Equal(t, http.StatusForbidden, r.post(undo, reqOpts{signer: r.eve.Signer()}))
	assert.Equal(t, 1, r.followers())

	_, undo = r.activity(r.alice, "Undo", fmt.Sprintf("%q", followID), "")
	assert.Equal(t, http.StatusAccepted, r.post(undo, reqOpts{signer: r.alice.Signer()}))
	assert.Zero(t, r.followers())
}

func TestRejectEndsFollowing(t *testing.T) {
	n := aptest.NewNetwork(t, nil)
	a, b := n.Instance("a.example"), n.Instance("b.example")
	alice, bob := a.User("alice"), b.User("bob")
	followID := a.Post(alice, ap.NewFollow(nil, alice.IRI(), bob.IRI()))
	n.Settle()
	require.True(t, a.Has(alice.Following().String(), bob.IRI().String()))

	follow, err := ap.Parse(context.Background(), b.Object(followID.String()).Data)
	require.NoError(t, err)
	reject := ap.NewReject(nil, bob.IRI(), follow)
	ap.SetTo(reject, alice.IRI())
	b.Post(bob, reject)
	n.Settle()
	assert.False(t, a.Has(alice.Following().String(), bob.IRI().String()))
}

func TestManualApprovalKeepsFollowsPending(t *testing.T) {
	n := aptest.NewNetwork(t, &aptest.Options{ManualApproval: true})
	a, b := n.Instance("a.example"), n.Instance("b.example")
	alice, bob := a.User("alice"), b.User("bob")
	followID := a.Post(alice, ap.NewFollow(nil, alice.IRI(), bob.IRI()))
	n.Settle()
	assert.False(t, b.Has(bob.Followers().String(), alice.IRI().String()))
	assert.True(t, b.Has(inbox.FollowRequests(bob), followID.String()))
	assert.False(t, a.Has(alice.Following().String(), bob.IRI().String()), "no Accept was sent")

	// bob approves: alice becomes a follower and is told so.
	ctx := context.Background()
	require.NoError(t, b.Inbox.AnswerFollowRequest(ctx, bob, followID.String(), true))
	n.Settle()
	assert.True(t, b.Has(bob.Followers().String(), alice.IRI().String()))
	assert.True(t, a.Has(alice.Following().String(), bob.IRI().String()))
	assert.False(t, b.Has(inbox.FollowRequests(bob), followID.String()))
	err := b.Inbox.AnswerFollowRequest(ctx, bob, followID.String(), true)
	assert.ErrorIs(t, err, store.ErrNotFound, "a request is answered once")

	// carol denies: nothing changes but the request is gone.
	carol := b.User("carol")
	toCarol := a.Post(alice, ap.NewFollow(nil, alice.IRI(), carol.IRI()))
	n.Settle()
	require.True(t, b.Has(inbox.FollowRequests(carol), toCarol.String()))
	require.NoError(t, b.Inbox.AnswerFollowRequest(ctx, carol, toCarol.String(), false))
	n.Settle()
	assert.False(t, b.Has(carol.Followers().String(), alice.IRI().String()))
	assert.False(t, a.Has(alice.Following().String(), carol.IRI().String()))
	assert.False(t, b.Has(inbox.FollowRequests(carol), toCarol.String()))
	answers := 0
	for _, e := range n.Exchanges() {
		if e.Method == http.MethodPost && e.Status == http.StatusAccepted && e.URL == "https://a.example/inbox" {
			answers++
		}
	}
	assert.Equal(t, 2, answers, "one Accept and one Reject reached alice's server")
}

// GoToSocial sends some Deletes without an id: they are processed, and a
// redelivery of the same body is recognised.
func TestAnonymousActivity(t *testing.T) {
	r := newRig(t)
	alice := reqOpts{signer: r.alice.Signer()}
	noteID, note := r.note(7, "soon gone")
	_, create := r.activity(r.alice, "Create", note, "")
	require.Equal(t, http.StatusAccepted, r.post(create, alice))

	del := fmt.Appendf(nil, `{"@context":"https://www.w3.org/ns/activitystreams","type":"Delete","actor":%q,"object":%q}`, r.alice.IRI(), noteID)
	assert.Equal(t, http.StatusAccepted, r.post(del, alice))
	typ, _ := r.object(noteID)
	assert.Equal(t, "Tombstone", typ)
	assert.Equal(t, http.StatusAccepted, r.post(del, alice))

	// Without an id there is no origin to check, but the signer must still
	// be the actor.
	assert.Equal(t, http.StatusForbidden, r.post(del, reqOpts{signer: r.eve.Signer()}))
}

// An actor that deletes itself is removed from every local followers and
// following collection, whether or not its document was cached.
func TestActorSelfDeleteEndsRelationships(t *testing.T) {
	n := aptest.NewNetwork(t, nil)
	a, b := n.Instance("a.example"), n.Instance("b.example")
	alice, bob, carol := a.User("alice"), b.User("bob"), b.User("carol")
	a.Post(alice, ap.NewFollow(nil, alice.IRI(), bob.IRI()))
	a.Post(alice, ap.NewFollow(nil, alice.IRI(), carol.IRI()))
	b.Post(bob, ap.NewFollow(nil, bob.IRI(), alice.IRI()))
	n.Settle()
	require.True(t, b.Has(bob.Followers().String(), alice.IRI().String()))
	require.True(t, b.Has(carol.Followers().String(), alice.IRI().String()))
	require.True(t, b.Has(bob.Following().String(), alice.IRI().String()))

	del := streams.NewActivityStreamsDelete()
	obj := streams.NewActivityStreamsObjectProperty()
	obj.AppendIRI(alice.IRI())
	del.SetActivityStreamsObject(obj)
	ap.SetTo(del, ap.PublicURL())
	ap.SetCc(del, alice.Followers())
	a.Post(alice, del)
	n.Settle()
	assert.False(t, b.Has(bob.Followers().String(), alice.IRI().String()))
	assert.False(t, b.Has(carol.Followers().String(), alice.IRI().String()))
	assert.False(t, b.Has(bob.Following().String(), alice.IRI().String()))
}

// A server without shared inboxes delivers one copy to each personal
// inbox: the activity is processed once, and every copy reaches its
// receiver's home timeline.
func TestCopiesToPersonalInboxesReachEachTimeline(t *testing.T) {
	r := newRig(t)
	dan := r.b.User("dan")
	_, note := r.note(3, "to both")
	id, create := r.activity(r.alice, "Create", note, "")
	for _, path := range []string{"/users/bob/inbox", "/users/dan/inbox"} {
		require.Equal(t, http.StatusAccepted, r.post(create, reqOpts{inbox: path, signer: r.alice.Signer()}))
	}
	assert.True(t, r.b.Has(r.bob.Inbox().String(), id))
	assert.True(t, r.b.Has(dan.Inbox().String(), id))
}

// What the inbox stores of a received object is the JSON received: the
// vocabulary's round trip lower-cases text that looks like an IRI ("CW:",
// "RE:") and drops properties it does not know.
func TestStoredObjectKeepsTextAsReceived(t *testing.T) {
	r := newRig(t)
	noteID := r.alice.IRI().String() + "/statuses/cw"
	note := fmt.Sprintf(`{"id":%q,"type":"Note","attributedTo":%q,"summary":"CW: spoilers","content":"<p>RE: https://x.example/1</p>","_misskey_content":"RE: kept","to":[%q]}`,
		noteID, r.alice.IRI(), r.bob.IRI())
	createID, create := r.activity(r.alice, "Create", note, "")
	require.Equal(t, http.StatusAccepted, r.post(create, reqOpts{signer: r.alice.Signer()}))
	_, data := r.object(noteID)
	assert.Contains(t, data, `"summary":"CW: spoilers"`)
	assert.Contains(t, data, `"content":"<p>RE: https://x.example/1</p>"`)
	assert.Contains(t, data, `"_misskey_content":"RE: kept"`)
	_, data = r.object(createID)
	assert.Contains(t, data, `"summary":"CW: spoilers"`, "the activity as received")

	// An Announce whose forged copy is replaced keeps the rest of its bytes.
	mallory := r.n.Instance("c.example").User("mallory")
	announceID := mallory.IRI().String() + "/announces/1"
	body := fmt.Appendf(nil, `{"@context":"https://www.w3.org/ns/activitystreams","id":%q,"type":"Announce","actor":%q,"summary":"CW: boosted",
		"to":["https://www.w3.org/ns/activitystreams#Public"],"object":{"id":%q,"type":"Note","content":"FORGED"}}`, announceID, mallory.IRI(), noteID)
	require.Equal(t, http.StatusAccepted, r.post(body, reqOpts{signer: mallory.Signer()}))
	_, data = r.object(announceID)
	assert.NotContains(t, data, "FORGED")
	assert.Contains(t, data, `"summary":"CW: boosted"`)
}

// A received reply is found through the thread index, by what it answers;
// an Update that moves it to another thread moves it in the index too.
func TestReceivedReplyIsInItsThread(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	parent := r.bob.IRI().String() + "/statuses/parent"
	replyID := r.alice.IRI().String() + "/statuses/reply"
	reply := fmt.Sprintf(`{"id":%q,"type":"Note","attributedTo":%q,"content":"re","inReplyTo":%q,"to":[%q]}`,
		replyID, r.alice.IRI(), parent, r.bob.IRI())
	_, create := r.activity(r.alice, "Create", reply, "")
	require.Equal(t, http.StatusAccepted, r.post(create, reqOpts{signer: r.alice.Signer()}))
	thread := func(of string) []string {
		var ids []string
		require.NoError(t, r.b.Store.View(ctx, func(tx *store.Tx) error {
			p, err := tx.FindObjects(ctx, store.FindQuery{InReplyTo: of})
			for _, o := range p.Objects {
				ids = append(ids, o.IRI)
			}
			return err
		}))
		return ids
	}
	assert.Equal(t, []string{replyID}, thread(parent))

	other := r.bob.IRI().String() + "/statuses/other"
	moved := fmt.Sprintf(`{"id":%q,"type":"Note","attributedTo":%q,"content":"re","inReplyTo":%q,"to":[%q]}`,
		replyID, r.alice.IRI(), other, r.bob.IRI())
	_, update := r.activity(r.alice, "Update", moved, "")
	require.Equal(t, http.StatusAccepted, r.post(update, reqOpts{signer: r.alice.Signer()}))
	assert.Empty(t, thread(parent))
	assert.Equal(t, []string{replyID}, thread(other))
}
