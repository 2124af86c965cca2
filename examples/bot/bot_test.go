package main

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slothpub/slothpub/actor"
	"github.com/slothpub/slothpub/ap"
	"github.com/slothpub/slothpub/ap/aptest"
	"github.com/slothpub/slothpub/inbox"
	"github.com/slothpub/slothpub/store"
)

// federation is bob on b.example and the bot, echo, on bot.example, whose
// inbox runs the bot's listener.
type federation struct {
	n        *aptest.Network
	b, bi    *aptest.Instance
	bob, me  *actor.Actor
	listener inbox.Listener
}

func newFederation(t *testing.T) *federation {
	n := aptest.NewNetwork(t, nil)
	f := &federation{n: n, b: n.Instance("b.example"), bi: n.Instance("bot.example")}
	f.bob, f.me = f.b.User("bob"), f.bi.User("echo")
	f.listener = answerMentions(f.me, f.bi.Outbox, f.bi.Resolver, slog.New(slog.DiscardHandler))
	f.bi.Inbox.On("Create", f.listener)
	return f
}

// post publishes, as from on in, the note id ("https://.../statuses/"+id)
// with visibility vis, mentioning (tag and link) each of mentions, and
// addressed to each of also besides; it returns the note's IRI and the
// Create's.
func post(t *testing.T, in *aptest.Instance, from *actor.Actor, id string, vis ap.Visibility, text string, mentions []*url.URL, also ...*url.URL) (note, create *url.URL) {
	t.Helper()
	note = from.IRI().JoinPath("statuses", id)
	var links []string
	for _, m := range mentions {
		links = append(links, ap.MentionHTML(ap.Mention{Href: m, Name: "@" + m.Path[strings.LastIndexByte(m.Path, '/')+1:] + "@" + m.Host}))
	}
	n := ap.NewNote(note, from.IRI(), "<p>"+strings.Join(append(links, text), " ")+"</p>", time.Now().UTC().Truncate(time.Second))
	require.True(t, ap.Address(n, vis, from.Followers(), append(mentions, also...)...))
	for _, m := range mentions {
		require.True(t, ap.AddMention(n, ap.Mention{Href: m}))
	}
	return note, in.Post(from, ap.NewCreate(nil, from.IRI(), n))
}

// reply returns the bot's reply to note as stored on in, or nil.
func (f *federation) reply(t *testing.T, in *aptest.Instance, note *url.URL) *ap.Doc {
	t.Helper()
	id, _ := replyIRIs(f.me, note)
	o, err := in.Store.GetObject(context.Background(), id.String())
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	require.NoError(t, err)
	d, err := ap.Decode(o.Data)
	require.NoError(t, err)
	return d
}

// botNotes counts the notes by the bot that in holds.
func (f *federation) botNotes(t *testing.T, in *aptest.Instance) int {
	t.Helper()
	p, err := in.Store.FindObjects(context.Background(), store.FindQuery{Actor: f.me.IRI().String(), Type: "Note"})
	require.NoError(t, err)
	return len(p.Objects)
}

// settle waits for the network and checks that no job failed for good.
func (f *federation) settle(t *testing.T) {
	t.Helper()
	f.n.Settle()
	for _, in := range []*aptest.Instance{f.b, f.bi} {
		dead, err := in.Store.Jobs(context.Background(), store.JobQuery{States: []store.JobState{store.JobDiscarded}})
		require.NoError(t, err)
		for _, j := range dead {
			t.Errorf("%s: job %s discarded: %s", in.Host, j.Kind, j.LastError)
		}
	}
}

func iris(us []*url.URL) []string {
	var out []string
	for _, u := range us {
		out = append(out, u.String())
	}
	return out
}

// bob mentions the bot in a public post: bob's server receives a public
// reply in the thread that mentions him by his handle.
func TestBotAnswersPublicMention(t *testing.T) {
	f := newFederation(t)
	note, _ := post(t, f.b, f.bob, "1", ap.VisibilityPublic, "hello <b>bot</b> &amp; friends", []*url.URL{f.me.IRI()})
	f.settle(t)

	r := f.reply(t, f.b, note)
	require.NotNil(t, r, "bob's server holds the reply")
	assert.Equal(t, "Note", r.Type())
	assert.Equal(t, note.String(), r.InReplyTo().String())
	assert.Equal(t, []string{f.me.IRI().String()}, iris(r.AttributedTo()))
	assert.Equal(t, []ap.Mention{{Href: f.bob.IRI(), Name: "@bob@b.example"}}, r.Mentions())
	assert.True(t, r.Mentioned(f.bob.IRI()))
	assert.Equal(t, []string{ap.PublicIRI}, iris(r.To()))
	assert.Equal(t, []string{f.me.Followers().String(), f.bob.IRI().String()}, iris(r.Cc()))
	assert.Equal(t, "Hello @bob, you said: hello bot & friends", ap.PlainText(r.Content()))
	assert.Contains(t, r.Content(), `href="https://b.example/users/bob"`)

	// It came in a Create by the bot, signed, accepted by bob's inbox.
	_, create := replyIRIs(f.me, note)
	c := f.b.Object(create.String())
	assert.Equal(t, "Create", c.Type)
	assert.Equal(t, f.me.IRI().String(), c.Actor)
	posts := 0
	for _, e := range f.n.Exchanges() {
		if e.Method == http.MethodPost && strings.HasPrefix(e.URL, "https://b.example/") {
			posts++
			assert.True(t, e.Signed)
			assert.Equal(t, http.StatusAccepted, e.Status)
		}
	}
	assert.Equal(t, 1, posts, "one delivery to b.example")
	assert.Equal(t, 1, f.botNotes(t, f.b))
}

// A followers-only or direct mention gets a reply to its author only.
func TestBotAnswersPrivatelyToPrivateMentions(t *testing.T) {
	f := newFederation(t)
	followers, _ := post(t, f.b, f.bob, "f", ap.VisibilityFollowers, "between us", []*url.URL{f.me.IRI()})
	direct, _ := post(t, f.b, f.bob, "d", ap.VisibilityDirect, "just you", []*url.URL{f.me.IRI()})
	unlisted, _ := post(t, f.b, f.bob, "u", ap.VisibilityUnlisted, "quietly", []*url.URL{f.me.IRI()})
	f.settle(t)

	for note, text := range map[*url.URL]string{followers: "between us", direct: "just you"} {
		r := f.reply(t, f.b, note)
		require.NotNil(t, r, note.String())
		assert.Equal(t, []string{f.bob.IRI().String()}, iris(r.To()), note.String())
		assert.Empty(t, r.Cc(), note.String())
		assert.False(t, r.IsPublicAddressed(), note.String())
		assert.Equal(t, note.String(), r.InReplyTo().String())
		assert.Equal(t, "Hello @bob, you said: "+text, ap.PlainText(r.Content()))
	}
	// An unlisted post gets an unlisted reply: Public in cc only.
	r := f.reply(t, f.b, unlisted)
	require.NotNil(t, r)
	assert.Equal(t, []string{f.me.Followers().String()}, iris(r.To()))
	assert.Equal(t, []string{ap.PublicIRI, f.bob.IRI().String()}, iris(r.Cc()))
	assert.Equal(t, 3, f.botNotes(t, f.b))
}

// Posts that reach the bot without mentioning it get no answer.
func TestBotIgnoresPostsWithoutMention(t *testing.T) {
	f := newFederation(t)
	carol := f.b.User("carol")
	// Addressed to the bot (so delivered to it), but no Mention tag.
	plain, _ := post(t, f.b, f.bob, "plain", ap.VisibilityPublic, "@echo hello", nil, f.me.IRI())
	// Mentions carol, addressed to the bot too.
	other, _ := post(t, f.b, f.bob, "other", ap.VisibilityPublic, "hi", []*url.URL{carol.IRI()}, f.me.IRI())
	f.settle(t)

	for _, note := range []*url.URL{plain, other} {
		assert.Equal(t, "Note", f.bi.Object(note.String()).Type, "the bot received %s", note)
		assert.Nil(t, f.reply(t, f.b, note), note.String())
		assert.Nil(t, f.reply(t, f.bi, note), note.String())
	}
	assert.Equal(t, 0, f.botNotes(t, f.b))
	assert.Equal(t, 0, f.botNotes(t, f.bi))
}

// The inbox delivers at least once: the same Create again, the same note
// in another Create, or the listener run twice, still make one reply.
func TestBotAnswersOnce(t *testing.T) {
	ctx := context.Background()
	f := newFederation(t)
	note, create := post(t, f.b, f.bob, "1", ap.VisibilityPublic, "once", []*url.URL{f.me.IRI()})
	f.settle(t)
	require.NotNil(t, f.reply(t, f.b, note))
	require.Equal(t, 1, f.botNotes(t, f.b))

	// The same Create, delivered again by bob's server.
	body := f.b.Object(create.String()).Data
	require.NoError(t, f.b.Transport.Post(ctx, f.me.Inbox(), body, f.bob.Signer()))
	// Another Create of the same note.
	again := strings.Replace(string(body), create.String(), create.String()+"-again", 1)
	require.NotEqual(t, string(body), again)
	require.NoError(t, f.b.Transport.Post(ctx, f.me.Inbox(), []byte(again), f.bob.Signer()))
	f.settle(t)
	assert.True(t, f.bi.Has(f.me.Inbox().String(), create.String()+"-again"), "the second Create was processed")

	// The listener run again on the first Create, as after a crash.
	d, err := ap.Decode(body)
	require.NoError(t, err)
	require.NoError(t, f.listener(ctx, &inbox.Activity{ID: d.ID(), Type: d.Type(), Actor: f.bob.IRI(), Doc: d, Raw: body}))
	f.settle(t)

	assert.Equal(t, 1, f.botNotes(t, f.b), "bob has one reply")
	assert.Equal(t, 1, f.botNotes(t, f.bi), "the bot wrote one reply")
}

// The bot never answers itself, even when its own note reaches its
// listener, nor accounts that say they are bots (Service), which would
// answer back.
func TestBotDoesNotAnswerItselfOrBots(t *testing.T) {
	ctx := context.Background()
	f := newFederation(t)
	own, create := post(t, f.bi, f.me, "self", ap.VisibilityPublic, "talking to myself", []*url.URL{f.me.IRI(), f.bob.IRI()})
	f.settle(t)
	assert.Equal(t, "Note", f.b.Object(own.String()).Type, "bob received the bot's note")
	body := f.bi.Object(create.String()).Data
	d, err := ap.Decode(body)
	require.NoError(t, err)
	require.True(t, d.EmbeddedObjects()[0].Mentioned(f.me.IRI()))
	require.NoError(t, f.listener(ctx, &inbox.Activity{ID: d.ID(), Type: d.Type(), Actor: f.me.IRI(), Doc: d, Raw: body}))
	f.settle(t)
	assert.Nil(t, f.reply(t, f.bi, own))
	assert.Equal(t, 1, f.botNotes(t, f.bi), "only the bot's own note")

	// robot on b.example is a Service: its actor document says so.
	robot := f.b.User("robot")
	doc := string(robot.Document())
	require.Contains(t, doc, `"type":"Person"`)
	mux, ok := f.b.Handler.(*http.ServeMux)
	require.True(t, ok, "aptest instances serve from a ServeMux")
	mux.HandleFunc("GET /users/robot", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/activity+json")
		_, _ = w.Write([]byte(strings.Replace(doc, `"type":"Person"`, `"type":"Service"`, 1)))
	})
	beep, _ := post(t, f.b, robot, "beep", ap.VisibilityPublic, "beep", []*url.URL{f.me.IRI()})
	f.settle(t)
	assert.Equal(t, "Note", f.bi.Object(beep.String()).Type, "the bot received robot's note")
	assert.Nil(t, f.reply(t, f.b, beep))
	assert.Nil(t, f.reply(t, f.bi, beep))

	// bob's note in the same thread is answered.
	note, _ := post(t, f.b, f.bob, "2", ap.VisibilityPublic, "and me?", []*url.URL{f.me.IRI()})
	f.settle(t)
	require.NotNil(t, f.reply(t, f.b, note))
	assert.Equal(t, 2, f.botNotes(t, f.b), "the bot's own note and its one reply")
}
