package outbox_test

// Fault tests of the delivery: real keys, the real HTTPTransport (its
// private-address guard on) and real HTTP servers on 127.0.0.1, over
// memstore and SQLite. Every peer is a name (flaky.example, ...) that
// resolves to a public address of its own; the transport's dial hook maps
// that address to the loopback listener standing for the name, as
// ap.HTTPTransportOptions.DialContext documents.

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"code.superseriousbusiness.org/activity/streams/vocab"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slothpub/slothpub/actor"
	"github.com/slothpub/slothpub/ap"
	"github.com/slothpub/slothpub/deref"
	"github.com/slothpub/slothpub/outbox"
	"github.com/slothpub/slothpub/store"
	"github.com/slothpub/slothpub/store/memstore"
	"github.com/slothpub/slothpub/store/sqlitestore"
	"github.com/slothpub/slothpub/store/worker"
)

// testClock is the clock of the store, the worker and the outbox. It runs
// with real time, shifted by Advance, or, frozen, stands still but for
// Advance.
type testClock struct {
	mu     sync.Mutex
	frozen bool
	at     time.Time
	off    time.Duration
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.frozen {
		return c.at
	}
	return time.Now().Add(c.off)
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.at = c.at.Add(d)
	c.off += d
}

// peerNet is the network of the peers: it answers each name with a public
// address of its own (the transport's guard stays on) and dials that
// address at the name's loopback listener.
type peerNet struct {
	mu    sync.Mutex
	ips   map[string]netip.Addr
	names map[netip.Addr]string
	addrs map[string]string // name → 127.0.0.1:port
	dials map[string]int    // name → connections attempted
}

func newPeerNet() *peerNet {
	return &peerNet{ips: map[string]netip.Addr{}, names: map[netip.Addr]string{}, addrs: map[string]string{}, dials: map[string]int{}}
}

// set points name at the loopback address addr.
func (n *peerNet) set(name, addr string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if _, ok := n.ips[name]; !ok {
		ip := netip.AddrFrom4([4]byte{93, 184, 215, byte(len(n.ips) + 1)})
		n.ips[name], n.names[ip] = ip, name
	}
	n.addrs[name] = addr
}

func (n *peerNet) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if ip, ok := n.ips[host]; ok {
		return []netip.Addr{ip}, nil
	}
	return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
}

func (n *peerNet) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return nil, err
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return nil, err
	}
	n.mu.Lock()
	name := n.names[ip]
	to, ok := n.addrs[name]
	n.dials[name]++
	n.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("peerNet: nothing at %s", address)
	}
	var d net.Dialer
	return d.DialContext(ctx, network, to)
}

func (n *peerNet) dialsTo(name string) int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.dials[name]
}

// hit is one POST a peer received.
type hit struct {
	path   string
	body   []byte
	header http.Header
	at     time.Time
}

// peer is an HTTP server on 127.0.0.1 standing for a remote server. answer
// (nil: 202) answers its n-th POST (1-based, over all its paths).
type peer struct {
	name   string
	srv    *httptest.Server
	answer func(n int, w http.ResponseWriter, r *http.Request)

	mu   sync.Mutex
	hits []hit
}

func newPeer(t *testing.T, pn *peerNet, name string, answer func(n int, w http.ResponseWriter, r *http.Request)) *peer {
	p := &peer{name: name, answer: answer}
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		p.mu.Lock()
		p.hits = append(p.hits, hit{path: r.URL.Path, body: body, header: r.Header.Clone(), at: time.Now()})
		n := len(p.hits)
		p.mu.Unlock()
		if r.Method != http.MethodPost {
			w.WriteHeader(http.StatusMethodNotAllowed)
			return
		}
		if p.answer == nil {
			w.WriteHeader(http.StatusAccepted)
			return
		}
		p.answer(n, w, r)
	}))
	t.Cleanup(p.srv.Close)
	pn.set(name, p.srv.Listener.Addr().String())
	return p
}

func (p *peer) posts() []hit {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]hit(nil), p.hits...)
}

func (p *peer) count(path string) int {
	n := 0
	for _, h := range p.posts() {
		if path == "" || h.path == path {
			n++
		}
	}
	return n
}

func (p *peer) inbox(path string) string { return "http://" + p.name + path }

// status answers every POST with code.
func status(code int) func(int, http.ResponseWriter, *http.Request) {
	return func(_ int, w http.ResponseWriter, _ *http.Request) { w.WriteHeader(code) }
}

// failFirst answers the first n POSTs with code, then 202.
func failFirst(n, code int) func(int, http.ResponseWriter, *http.Request) {
	return func(i int, w http.ResponseWriter, _ *http.Request) {
		if i <= n {
			w.WriteHeader(code)
			return
		}
		w.WriteHeader(http.StatusAccepted)
	}
}

// lockedResolver serves remote actors from a map that tests may fill while
// the fan-out reads it.
type lockedResolver struct {
	mu        sync.Mutex
	actors    map[string]*deref.Actor
	pages     map[string]*deref.CollectionPage // of remote collections, by IRI
	pageReads int
}

func (r *lockedResolver) Actor(_ context.Context, iri *url.URL) (*deref.Actor, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if a, ok := r.actors[iri.String()]; ok {
		return a, nil
	}
	if _, ok := r.pages[iri.String()]; ok {
		return nil, fmt.Errorf("%s: %w", iri, deref.ErrNotActor)
	}
	return nil, store.ErrNotFound
}

// CollectionPage serves the pages set with collection: lockedResolver is
// an outbox.CollectionResolver.
func (r *lockedResolver) CollectionPage(_ context.Context, iri *url.URL) (*deref.CollectionPage, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.pageReads++
	p, ok := r.pages[iri.String()]
	if !ok || p == nil {
		return nil, fmt.Errorf("%s: cannot be read", iri)
	}
	return p, nil
}

// collection makes a remote collection of members, pageSize to a page;
// its first page is the collection itself.
func (r *lockedResolver) collection(t *testing.T, id string, pageSize int, members ...*url.URL) *url.URL {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.pages == nil {
		r.pages = map[string]*deref.CollectionPage{}
	}
	page := id
	for i := 0; i == 0 || i < len(members); i += pageSize {
		p := &deref.CollectionPage{Items: members[i:min(i+pageSize, len(members))]}
		r.pages[page] = p
		if i+pageSize < len(members) {
			page = fmt.Sprintf("%s?page=%d", id, i/pageSize+2)
			p.Next = iri(page)
		}
	}
	return iri(id)
}

type failure struct {
	d   outbox.Delivery
	err error
}

// dfix is a sender (alice on local.example) with a real transport, a
// worker and an outbox over one store.
type dfix struct {
	db     *store.DB
	clock  *testClock
	net    *peerNet
	actors *actor.Directory
	alice  *actor.Actor
	res    *lockedResolver
	w      *worker.Worker
	ob     *outbox.Outbox

	mu       sync.Mutex
	failures []failure
	backoffs []int
}

type dopts struct {
	sqlite      bool
	frozen      bool          // a clock that stands still but for Advance
	timeout     time.Duration // of the transport; default 5s
	concurrency int           // of the worker
	maxAttempts int           // of the worker; 0 means its default
	ob          outbox.Options
}

// storeKinds are the stores the tests that must hold on both run over.
var storeKinds = []struct {
	name   string
	sqlite bool
}{{"memstore", false}, {"sqlite", true}}

func newDFix(t *testing.T, o dopts) *dfix {
	t.Helper()
	ctx := context.Background()
	f := &dfix{clock: &testClock{frozen: o.frozen, at: time.Now().Truncate(time.Second)}, net: newPeerNet(),
		res: &lockedResolver{actors: map[string]*deref.Actor{}}}
	if o.sqlite {
		db, err := sqlitestore.Open(ctx, filepath.Join(t.TempDir(), "slothpub.db"), &sqlitestore.Options{Clock: f.clock.Now})
		require.NoError(t, err)
		f.db = db
	} else {
		f.db = store.Open(memstore.NewDriver(), &store.Options{Clock: f.clock.Now, Logger: slog.New(slog.DiscardHandler)})
	}
	t.Cleanup(func() { _ = f.db.Close() })
	f.actors = actor.NewDirectory(f.db, "local.example", nil)
	alice, err := f.actors.Create(ctx, "alice")
	require.NoError(t, err)
	f.alice = alice
	if o.timeout == 0 {
		o.timeout = 5 * time.Second
	}
	tr := ap.NewHTTPTransport(&ap.HTTPTransportOptions{Resolver: f.net, DialContext: f.net.DialContext, Timeout: o.timeout})
	f.w = worker.New(f.db, &worker.Options{PollInterval: 5 * time.Millisecond, Clock: f.clock.Now,
		Concurrency: o.concurrency, MaxAttempts: o.maxAttempts, Logger: slog.New(slog.DiscardHandler)})
	opts := o.ob
	opts.Worker, opts.Clock, opts.Logger = f.w, f.clock.Now, slog.New(slog.DiscardHandler)
	if opts.Backoff == nil {
		opts.Backoff = func(attempt int) time.Duration {
			f.mu.Lock()
			f.backoffs = append(f.backoffs, attempt)
			f.mu.Unlock()
			return time.Duration(attempt) * 10 * time.Millisecond
		}
	}
	opts.OnPermanentFailure = func(d outbox.Delivery, err error) {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.failures = append(f.failures, failure{d, err})
	}
	ob, err := outbox.New(f.db, f.actors, tr, f.res, &opts)
	require.NoError(t, err)
	f.ob = ob
	return f
}

// start runs the worker until the test ends. Call it after the peers are
// up, so that the worker stops before they do.
func (f *dfix) start(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = f.w.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
}

// refusing points name at a loopback port nothing listens on: every
// connection to it is refused.
func (f *dfix) refusing(t *testing.T, name string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	closed := ln.Addr().String()
	require.NoError(t, ln.Close())
	f.net.set(name, closed)
}

// remote adds a remote actor with its inbox (and shared inbox, or "").
func (f *dfix) remote(id, inbox, shared string) *url.URL {
	f.res.mu.Lock()
	defer f.res.mu.Unlock()
	f.res.actors[id] = &deref.Actor{IRI: id, Type: "Person", Inbox: inbox, SharedInbox: shared}
	return iri(id)
}

func (f *dfix) post(t *testing.T, a vocab.Type) string {
	t.Helper()
	id, err := f.ob.Post(context.Background(), f.alice, a)
	require.NoError(t, err)
	return id.String()
}

// settle waits until no fan-out or delivery is left to do.
func (f *dfix) settle(t *testing.T) {
	t.Helper()
	require.Eventually(t, func() bool {
		n, err := f.ob.Pending(context.Background())
		require.NoError(t, err)
		return n == 0
	}, 10*time.Second, 2*time.Millisecond)
}

func (f *dfix) status(t *testing.T, activity, inbox string) outbox.DeliveryStatus {
	t.Helper()
	s, err := f.ob.DeliveryStatus(context.Background(), activity, inbox)
	require.NoError(t, err)
	return s
}

// waitStatus waits until the delivery of activity to inbox is in state.
func (f *dfix) waitStatus(t *testing.T, activity, inbox string, state outbox.DeliveryState) outbox.DeliveryStatus {
	t.Helper()
	var s outbox.DeliveryStatus
	require.Eventually(t, func() bool {
		var err error
		s, err = f.ob.DeliveryStatus(context.Background(), activity, inbox)
		return err == nil && s.State == state
	}, 10*time.Second, time.Millisecond, "delivery of %s to %s never %s (last %+v)", activity, inbox, state, s)
	return s
}

func (f *dfix) permanentFailures() []failure {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]failure(nil), f.failures...)
}

func (f *dfix) backoffCalls() []int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]int(nil), f.backoffs...)
}

func (f *dfix) host(name string) outbox.HostStats { return f.ob.Hosts()[name] }

// note is a Create of a new note addressed to to.
func note(to ...*url.URL) vocab.Type { return createNote(to, nil, nil) }

// A peer whose port refuses connections: each attempt fails at the dial,
// is retried after Backoff(attempt), and after MaxAttempts the delivery is
// dead, reported once to OnPermanentFailure.
func TestDeliveryConnectionRefused(t *testing.T) {
	for _, sk := range storeKinds {
		t.Run(sk.name, func(t *testing.T) {
			f := newDFix(t, dopts{sqlite: sk.sqlite, ob: outbox.Options{MaxAttempts: 3}})
			f.refusing(t, "down.example")
			bob := f.remote("http://down.example/users/bob", "http://down.example/users/bob/inbox", "")
			f.start(t)

			id := f.post(t, note(bob))
			f.settle(t)

			s := f.status(t, id, "http://down.example/users/bob/inbox")
			assert.Equal(t, outbox.DeliveryDead, s.State)
			assert.Equal(t, 3, s.Attempts)
			assert.Contains(t, s.LastError, "connection refused")
			assert.False(t, s.Finished.IsZero())
			assert.Equal(t, 3, f.net.dialsTo("down.example"), "one connection attempt per delivery attempt")
			assert.Equal(t, []int{1, 2}, f.backoffCalls(), "a wait after attempts 1 and 2, none after the last")
			fails := f.permanentFailures()
			require.Len(t, fails, 1)
			assert.Equal(t, 3, fails[0].d.Attempts)
			assert.Equal(t, id, fails[0].d.Activity)
			assert.Equal(t, "http://down.example/users/bob/inbox", fails[0].d.Inbox.String())
			assert.Equal(t, "alice", fails[0].d.From)
			assert.ErrorIs(t, fails[0].err, syscall.ECONNREFUSED)
			assert.Equal(t, outbox.HostStats{Failed: 3}, f.host("down.example"))
		})
	}
}

// A peer that holds the request past the transport's Timeout: the attempt
// fails, is retried, and succeeds once the peer answers in time.
func TestDeliveryTimeout(t *testing.T) {
	f := newDFix(t, dopts{timeout: 150 * time.Millisecond, ob: outbox.Options{MaxAttempts: 5}})
	done := make(chan struct{})
	p := newPeer(t, f.net, "slow.example", func(n int, w http.ResponseWriter, r *http.Request) {
		if n <= 2 {
			select { // held until the client gives up
			case <-r.Context().Done():
			case <-done:
			}
			return
		}
		w.WriteHeader(http.StatusAccepted)
	})
	t.Cleanup(func() { close(done) }) // before the server closes: held requests end
	bob := f.remote("http://slow.example/users/bob", p.inbox("/users/bob/inbox"), "")
	f.start(t)

	id := f.post(t, note(bob))
	f.settle(t)

	assert.Equal(t, 3, p.count("/users/bob/inbox"))
	s := f.status(t, id, p.inbox("/users/bob/inbox"))
	assert.Equal(t, outbox.DeliverySent, s.State)
	assert.Equal(t, 3, s.Attempts)
	assert.Contains(t, s.LastError, "deadline exceeded", "the last failed attempt's error")
	assert.Equal(t, []int{1, 2}, f.backoffCalls())
	assert.Empty(t, f.permanentFailures())
	assert.Equal(t, outbox.HostStats{Sent: 1, Failed: 2}, f.host("slow.example"))
}

// 500, 500, then 202: sent after exactly three POSTs.
func TestDelivery500ThenSuccess(t *testing.T) {
	for _, sk := range storeKinds {
		t.Run(sk.name, func(t *testing.T) {
			f := newDFix(t, dopts{sqlite: sk.sqlite, ob: outbox.Options{MaxAttempts: 5}})
			p := newPeer(t, f.net, "flaky.example", failFirst(2, http.StatusInternalServerError))
			bob := f.remote("http://flaky.example/users/bob", p.inbox("/users/bob/inbox"), "")
			f.start(t)

			id := f.post(t, note(bob))
			f.settle(t)

			assert.Equal(t, 3, p.count(""))
			s := f.status(t, id, p.inbox("/users/bob/inbox"))
			assert.Equal(t, outbox.DeliverySent, s.State)
			assert.Equal(t, 3, s.Attempts)
			assert.Contains(t, s.LastError, "500")
			assert.Equal(t, []int{1, 2}, f.backoffCalls())
			assert.Empty(t, f.permanentFailures())
			assert.Equal(t, outbox.HostStats{Sent: 1, Failed: 2}, f.host("flaky.example"))
			for _, h := range p.posts() {
				assert.NotEmpty(t, h.header.Get("Signature"), "every attempt is signed")
				assert.Equal(t, ap.ContentType, h.header.Get("Content-Type"))
			}
		})
	}
}

// 410 Gone: failed for good after one POST, reported, and the inbox is
// marked gone: a later Post to the same actor makes no POST to it.
func TestDelivery410MarksGone(t *testing.T) {
	f := newDFix(t, dopts{ob: outbox.Options{MaxAttempts: 5}})
	gone := newPeer(t, f.net, "gone.example", status(http.StatusGone))
	ok := newPeer(t, f.net, "ok.example", nil)
	bob := f.remote("http://gone.example/users/bob", gone.inbox("/users/bob/inbox"), "")
	carol := f.remote("http://ok.example/users/carol", ok.inbox("/users/carol/inbox"), "")
	f.start(t)

	id := f.post(t, note(bob))
	f.settle(t)
	assert.Equal(t, 1, gone.count(""))
	s := f.status(t, id, gone.inbox("/users/bob/inbox"))
	assert.Equal(t, outbox.DeliveryFailed, s.State)
	assert.Equal(t, 1, s.Attempts)
	assert.Contains(t, s.LastError, "410")
	fails := f.permanentFailures()
	require.Len(t, fails, 1)
	assert.Equal(t, 1, fails[0].d.Attempts)
	var re *ap.RemoteError
	require.ErrorAs(t, fails[0].err, &re)
	assert.Equal(t, http.StatusGone, re.StatusCode)
	assert.Equal(t, outbox.HostStats{Refused: 1}, f.host("gone.example"))
	assert.Empty(t, f.backoffCalls())

	id2 := f.post(t, note(bob, carol))
	f.settle(t)
	assert.Equal(t, 1, ok.count("/users/carol/inbox"), "the fan-out ran")
	assert.Equal(t, 1, gone.count(""), "no POST to a gone inbox")
	_, err := f.ob.DeliveryStatus(context.Background(), id2, gone.inbox("/users/bob/inbox"))
	assert.ErrorIs(t, err, store.ErrNotFound, "no delivery queued for it")
	assert.Len(t, f.permanentFailures(), 1)
	marked, err := f.db.HasItem(context.Background(), store.GoneInboxesCollection, gone.inbox("/users/bob/inbox"))
	require.NoError(t, err)
	assert.True(t, marked, "recorded in the store, for every process")
}

// An inbox marked gone by another process (on the same store) is honoured
// by this one's next fan-out step: the memo's set of gone inboxes is read
// again when their number in the store changed.
func TestDeliveryGoneMarkedElsewhere(t *testing.T) {
	f := newDFix(t, dopts{frozen: true})
	peer := newPeer(t, f.net, "b.example", nil)
	inbox := peer.inbox("/users/bob/inbox")
	bob := f.remote("http://b.example/users/bob", inbox, "")
	carol := f.remote("http://b.example/users/carol", peer.inbox("/users/carol/inbox"), "")
	f.start(t)

	f.post(t, note(bob))
	f.settle(t)
	require.Equal(t, 1, peer.count(""))
	// What another process does on a 410 from the inbox.
	require.NoError(t, f.db.Update(context.Background(), func(tx *store.Tx) error {
		return tx.AddItem(context.Background(), store.GoneInboxesCollection, inbox)
	}))
	id := f.post(t, note(bob, carol))
	f.settle(t)
	assert.Equal(t, 1, peer.count("/users/bob/inbox"), "no POST to an inbox marked gone")
	assert.Equal(t, 1, peer.count("/users/carol/inbox"))
	_, err := f.ob.DeliveryStatus(context.Background(), id, inbox)
	assert.ErrorIs(t, err, store.ErrNotFound, "no delivery queued for it")
}

// A remote collection among the recipients (a group's members, another
// actor's followers) is read page by page and its members delivered to,
// up to MaxCollectionItems; a member that is itself a collection is not
// expanded, and a collection that cannot be read is skipped.
func TestDeliveryToRemoteCollection(t *testing.T) {
	f := newDFix(t, dopts{ob: outbox.Options{MaxCollectionItems: 4}})
	peer := newPeer(t, f.net, "b.example", nil)
	var members []*url.URL
	for _, name := range []string{"carol", "dave", "erin", "frank", "gina"} {
		members = append(members, f.remote("http://b.example/users/"+name, peer.inbox("/users/"+name+"/inbox"), ""))
	}
	inner := f.res.collection(t, "http://b.example/users/erin/followers", 10, f.remote("http://b.example/users/hal", peer.inbox("/users/hal/inbox"), ""))
	group := f.res.collection(t, "http://b.example/groups/g/members", 2, append(members[:2:2], inner, members[2], members[3], members[4])...)
	bob := f.remote("http://b.example/users/bob", peer.inbox("/users/bob/inbox"), "")
	f.res.mu.Lock()
	f.res.pages["http://b.example/groups/unreadable"] = nil // a collection, by its type, that cannot be read
	f.res.mu.Unlock()
	f.start(t)

	f.post(t, note(bob, iri("http://b.example/groups/unreadable"), group))
	f.settle(t)
	for _, name := range []string{"bob", "carol", "dave", "erin"} {
		assert.Equal(t, 1, peer.count("/users/"+name+"/inbox"), name)
	}
	assert.Zero(t, peer.count("/users/frank/inbox"), "beyond MaxCollectionItems (4, the inner collection counted)")
	assert.Zero(t, peer.count("/users/gina/inbox"), "beyond MaxCollectionItems")
	assert.Zero(t, peer.count("/users/hal/inbox"), "a collection in a collection is not expanded")
	f.res.mu.Lock()
	reads := f.res.pageReads
	f.res.mu.Unlock()
	assert.Equal(t, 3, reads, "the unreadable collection once, then the group's pages up to the bound")
}

// A remote collection whose pages link back to one already read (a loop
// by mistake or by malice) is read once through: each page once, each
// member delivered to once.
func TestDeliveryToCollectionWhosePagesLoop(t *testing.T) {
	f := newDFix(t, dopts{})
	peer := newPeer(t, f.net, "b.example", nil)
	var members []*url.URL
	for _, name := range []string{"carol", "dave", "erin", "frank", "gina", "hal"} {
		members = append(members, f.remote("http://b.example/users/"+name, peer.inbox("/users/"+name+"/inbox"), ""))
	}
	group := f.res.collection(t, "http://b.example/groups/g/members", 2, members...)
	f.res.mu.Lock()
	f.res.pages["http://b.example/groups/g/members?page=3"].Next = iri("http://b.example/groups/g/members?page=2")
	f.res.mu.Unlock()
	f.start(t)

	f.post(t, note(group))
	f.settle(t)
	for _, m := range members {
		assert.Equal(t, 1, peer.count(m.Path+"/inbox"), m.Path)
	}
	f.res.mu.Lock()
	reads := f.res.pageReads
	f.res.mu.Unlock()
	assert.Equal(t, 3, reads, "three pages, each once, though the last links back to the second")
}

// 429 and 503 with Retry-After (seconds or an HTTP date) are tried again
// when the peer asked, not after the backoff; other answers, and those
// without a usable Retry-After, after Backoff. The clock stands still, so
// the next attempt is exact and happens only when the clock is advanced.
func TestDeliveryRetryAfter(t *testing.T) {
	cases := []struct {
		name  string
		code  int
		after func(now time.Time) string
		wait  time.Duration // from the failed attempt to the next
	}{
		{"429 seconds", http.StatusTooManyRequests, func(time.Time) string { return "3600" }, time.Hour},
		{"429 HTTP date", http.StatusTooManyRequests, func(now time.Time) string { return now.Add(2 * time.Hour).UTC().Format(http.TimeFormat) }, 2 * time.Hour},
		{"503 seconds", http.StatusServiceUnavailable, func(time.Time) string { return "120" }, 2 * time.Minute},
		{"503 HTTP date", http.StatusServiceUnavailable, func(now time.Time) string { return now.Add(90 * time.Second).UTC().Format(http.TimeFormat) }, 90 * time.Second},
		{"429 capped at a day", http.StatusTooManyRequests, func(time.Time) string { return "259200" }, 24 * time.Hour},
		{"429 without Retry-After", http.StatusTooManyRequests, func(time.Time) string { return "" }, 10 * time.Millisecond},
		{"429 unreadable Retry-After", http.StatusTooManyRequests, func(time.Time) string { return "soon" }, 10 * time.Millisecond},
		{"500 ignores Retry-After", http.StatusInternalServerError, func(time.Time) string { return "3600" }, 10 * time.Millisecond},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newDFix(t, dopts{frozen: true, ob: outbox.Options{MaxAttempts: 5}})
			t0 := f.clock.Now()
			p := newPeer(t, f.net, "busy.example", func(n int, w http.ResponseWriter, _ *http.Request) {
				if n == 1 {
					if v := c.after(t0); v != "" {
						w.Header().Set("Retry-After", v)
					}
					w.WriteHeader(c.code)
					return
				}
				w.WriteHeader(http.StatusAccepted)
			})
			inbox := p.inbox("/users/bob/inbox")
			bob := f.remote("http://busy.example/users/bob", inbox, "")
			f.start(t)

			id := f.post(t, note(bob))
			s := f.waitStatus(t, id, inbox, outbox.DeliveryRetrying)
			assert.Equal(t, 1, s.Attempts)
			assert.Contains(t, s.LastError, fmt.Sprint(c.code))
			assert.True(t, s.NextAttempt.Equal(t0.Add(c.wait)), "next attempt %v, want %v", s.NextAttempt, t0.Add(c.wait))
			assert.Equal(t, 1, p.count(""), "nothing before the clock moves")

			f.clock.Advance(c.wait - time.Millisecond)
			claims := f.w.Stats().ClaimCalls
			require.Eventually(t, func() bool { return f.w.Stats().ClaimCalls >= claims+3 }, 5*time.Second, time.Millisecond)
			assert.Equal(t, 1, p.count(""), "not a moment early: several claims found nothing due")
			f.clock.Advance(time.Millisecond)
			f.settle(t)
			assert.Equal(t, 2, p.count(""))
			s = f.status(t, id, inbox)
			assert.Equal(t, outbox.DeliverySent, s.State)
			assert.Equal(t, 2, s.Attempts)
			assert.Equal(t, outbox.HostStats{Sent: 1, Failed: 1}, f.host("busy.example"))
			assert.Empty(t, f.permanentFailures())
		})
	}
}

// A peer that answers bytes that are not HTTP and hangs up: retried like a
// network error until MaxAttempts, then dead.
func TestDeliveryGarbageResponse(t *testing.T) {
	f := newDFix(t, dopts{ob: outbox.Options{MaxAttempts: 3}})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	var requests atomic.Int32
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(5 * time.Second))
				req, err := http.ReadRequest(bufio.NewReader(c))
				if err != nil {
					return
				}
				_, _ = io.Copy(io.Discard, req.Body) // all of it, so that closing sends no reset
				if req.Method == http.MethodPost {
					requests.Add(1)
				}
				_, _ = c.Write([]byte("\x00\x01 SLOTH NOT HTTP \xff\r\n\r\n"))
			}()
		}
	}()
	f.net.set("junk.example", ln.Addr().String())
	bob := f.remote("http://junk.example/users/bob", "http://junk.example/users/bob/inbox", "")
	f.start(t)

	id := f.post(t, note(bob))
	f.settle(t)

	assert.Equal(t, int32(3), requests.Load())
	s := f.status(t, id, "http://junk.example/users/bob/inbox")
	assert.Equal(t, outbox.DeliveryDead, s.State)
	assert.Equal(t, 3, s.Attempts)
	assert.Contains(t, s.LastError, "malformed HTTP")
	assert.Equal(t, []int{1, 2}, f.backoffCalls())
	fails := f.permanentFailures()
	require.Len(t, fails, 1)
	assert.Equal(t, 3, fails[0].d.Attempts)
	assert.Equal(t, outbox.HostStats{Failed: 3}, f.host("junk.example"))
}

// A host that fails BreakerThreshold times in a row gets no more POSTs
// until its cooldown ends; then one probe: when it fails, the breaker
// opens again for twice the cooldown; when it succeeds, everything waiting
// is delivered. Waiting for the breaker uses no attempt.
func TestDeliveryBreaker(t *testing.T) {
	const cooldown = 300 * time.Millisecond
	f := newDFix(t, dopts{ob: outbox.Options{MaxAttempts: 10, BreakerThreshold: 3, BreakerCooldown: cooldown}})
	p := newPeer(t, f.net, "flaky.example", failFirst(4, http.StatusServiceUnavailable))
	var followers []*url.URL
	for i := range 5 {
		followers = append(followers, f.remote(fmt.Sprintf("http://flaky.example/users/u%d", i), p.inbox(fmt.Sprintf("/users/u%d/inbox", i)), ""))
	}

	// The breaker as Hosts reports it, sampled.
	type sample struct {
		open  bool
		until time.Time
	}
	var (
		smu     sync.Mutex
		samples []sample // transitions only
	)
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		for {
			h := f.host("flaky.example")
			s := sample{open: h.BreakerOpen}
			if h.BreakerOpen && h.BreakerUntil.After(f.clock.Now()) {
				s.until = h.BreakerUntil
			}
			smu.Lock()
			if n := len(samples); n == 0 || samples[n-1] != s {
				samples = append(samples, s)
			}
			smu.Unlock()
			select {
			case <-stop:
				return
			case <-time.After(500 * time.Microsecond):
			}
		}
	}()
	f.start(t)

	first := f.post(t, note(followers[0]))
	require.Eventually(t, func() bool { return f.host("flaky.example").BreakerOpen }, 5*time.Second, time.Millisecond)
	assert.Equal(t, 3, p.count(""), "the breaker opens at the threshold")
	h := f.host("flaky.example")
	assert.Equal(t, int64(3), h.Failed)
	assert.True(t, h.BreakerUntil.After(p.posts()[2].at.Add(cooldown)), "open for the cooldown after the third failure")

	// While it is open, more deliveries to the host wait.
	second := f.post(t, note(followers...))
	f.settle(t)
	close(stop)
	<-sampled

	hits := p.posts()
	require.Len(t, hits, 3+1+6, "three failures, one failed probe, then six deliveries")
	assert.False(t, hits[3].at.Before(hits[2].at.Add(cooldown)), "the first probe waits for the cooldown")
	assert.False(t, hits[4].at.Before(hits[3].at.Add(2*cooldown)), "a failed probe doubles the cooldown")
	attempts := 0
	for i, fo := range followers {
		s := f.status(t, second, p.inbox(fmt.Sprintf("/users/u%d/inbox", i)))
		assert.Equal(t, outbox.DeliverySent, s.State, fo.String())
		attempts += s.Attempts
	}
	s := f.status(t, first, p.inbox("/users/u0/inbox"))
	assert.Equal(t, outbox.DeliverySent, s.State)
	attempts += s.Attempts
	assert.Equal(t, len(hits), attempts, "one attempt per POST: waiting for the breaker used none")
	assert.Empty(t, f.permanentFailures())
	assert.Equal(t, outbox.HostStats{Sent: 6, Failed: 4}, f.host("flaky.example"))

	smu.Lock()
	defer smu.Unlock()
	var opened []time.Time
	for _, s := range samples {
		if s.open && !s.until.IsZero() && (len(opened) == 0 || !opened[len(opened)-1].Equal(s.until)) {
			opened = append(opened, s.until)
		}
	}
	require.Len(t, opened, 2, "opened at the threshold, again after the failed probe: %v", samples)
	assert.GreaterOrEqual(t, opened[1].Sub(opened[0]), 2*cooldown)
	assert.Equal(t, sample{}, samples[0], "closed at first")
	assert.Equal(t, sample{}, samples[len(samples)-1], "closed at the end")
}

// A probe that ends before its POST (here, its activity was deleted) must
// not leave the breaker half open for good: the next delivery probes.
func TestDeliveryBreakerProbeWithoutPost(t *testing.T) {
	const cooldown = 100 * time.Millisecond
	f := newDFix(t, dopts{ob: outbox.Options{MaxAttempts: 3, BreakerThreshold: 3, BreakerCooldown: cooldown}})
	p := newPeer(t, f.net, "flaky.example", failFirst(3, http.StatusInternalServerError))
	bob := f.remote("http://flaky.example/users/bob", p.inbox("/users/bob/inbox"), "")
	f.start(t)
	inbox := p.inbox("/users/bob/inbox")

	dead := f.post(t, note(bob))
	f.waitStatus(t, dead, inbox, outbox.DeliveryDead)
	require.True(t, f.host("flaky.example").BreakerOpen)

	// The probe: its activity is gone by the time it runs.
	probe := f.post(t, note(bob))
	require.NoError(t, f.db.DeleteObject(context.Background(), probe))
	s := f.waitStatus(t, probe, inbox, outbox.DeliveryFailed)
	assert.Contains(t, s.LastError, "not found")

	next := f.post(t, note(bob))
	f.settle(t)
	assert.Equal(t, outbox.DeliverySent, f.status(t, next, inbox).State)
	assert.Equal(t, 4, p.count(""))
	assert.False(t, f.host("flaky.example").BreakerOpen)
}

// 4xx other than 408 and 429 is refused for good; 408 is retried. The
// transport knocks twice on 400 and 401 (the second time signed with the
// other signature scheme, since servers answer those to a scheme they do
// not verify): two POSTs, one attempt.
func TestDelivery4xx(t *testing.T) {
	cases := []struct {
		code  int
		posts int
	}{
		{http.StatusBadRequest, 2},
		{http.StatusUnauthorized, 2},
		{http.StatusForbidden, 1},
		{http.StatusNotFound, 1},
		{http.StatusMethodNotAllowed, 1},
		{http.StatusUnprocessableEntity, 1},
	}
	for _, c := range cases {
		t.Run(fmt.Sprint(c.code), func(t *testing.T) {
			f := newDFix(t, dopts{ob: outbox.Options{MaxAttempts: 5}})
			p := newPeer(t, f.net, "strict.example", status(c.code))
			inbox := p.inbox("/users/bob/inbox")
			bob := f.remote("http://strict.example/users/bob", inbox, "")
			f.start(t)

			id := f.post(t, note(bob))
			f.settle(t)
			hits := p.posts()
			require.Len(t, hits, c.posts)
			if c.posts == 2 {
				assert.Empty(t, hits[0].header.Get("Signature-Input"), "first knock: draft-cavage")
				assert.NotEmpty(t, hits[1].header.Get("Signature-Input"), "second knock: RFC 9421")
			}
			s := f.status(t, id, inbox)
			assert.Equal(t, outbox.DeliveryFailed, s.State)
			assert.Equal(t, 1, s.Attempts)
			assert.Contains(t, s.LastError, fmt.Sprint(c.code))
			fails := f.permanentFailures()
			require.Len(t, fails, 1)
			var re *ap.RemoteError
			require.ErrorAs(t, fails[0].err, &re)
			assert.Equal(t, c.code, re.StatusCode)
			assert.Equal(t, 1, fails[0].d.Attempts)
			assert.Empty(t, f.backoffCalls())
			assert.Equal(t, outbox.HostStats{Refused: 1}, f.host("strict.example"))
			// Only 410 marks an inbox gone: the next Post goes out again.
			f.post(t, note(bob))
			f.settle(t)
			assert.Len(t, p.posts(), 2*c.posts)
		})
	}
	t.Run("408", func(t *testing.T) {
		f := newDFix(t, dopts{ob: outbox.Options{MaxAttempts: 5}})
		p := newPeer(t, f.net, "strict.example", failFirst(2, http.StatusRequestTimeout))
		inbox := p.inbox("/users/bob/inbox")
		bob := f.remote("http://strict.example/users/bob", inbox, "")
		f.start(t)

		id := f.post(t, note(bob))
		f.settle(t)
		assert.Equal(t, 3, p.count(""))
		s := f.status(t, id, inbox)
		assert.Equal(t, outbox.DeliverySent, s.State)
		assert.Equal(t, 3, s.Attempts)
		assert.Contains(t, s.LastError, "408")
		assert.Equal(t, []int{1, 2}, f.backoffCalls())
		assert.Empty(t, f.permanentFailures())
		assert.Equal(t, outbox.HostStats{Sent: 1, Failed: 2}, f.host("strict.example"))
	})
}

// kindAndObject reads the type and the object's id of a delivered activity.
func kindAndObject(t *testing.T, body []byte) (string, string) {
	t.Helper()
	var a struct {
		Type   string          `json:"type"`
		Object json.RawMessage `json:"object"`
	}
	require.NoError(t, json.Unmarshal(body, &a))
	var id string
	if err := json.Unmarshal(a.Object, &id); err != nil {
		var o struct {
			ID string `json:"id"`
		}
		require.NoError(t, json.Unmarshal(a.Object, &o))
		id = o.ID
	}
	return a.Type, id
}

// The Create, Update and Delete of one note, posted back to back to a
// host that is slow to answer the first, arrive in that order; twenty
// notes at once, so that a race between them would show.
func TestDeliveryOrder(t *testing.T) {
	const notes = 20
	for _, sk := range storeKinds {
		t.Run(sk.name, func(t *testing.T) {
			f := newDFix(t, dopts{sqlite: sk.sqlite, ob: outbox.Options{MaxAttempts: 5}})
			var slow atomic.Bool
			p := newPeer(t, f.net, "slow.example", func(_ int, w http.ResponseWriter, _ *http.Request) {
				if slow.CompareAndSwap(false, true) {
					time.Sleep(100 * time.Millisecond)
				}
				w.WriteHeader(http.StatusAccepted)
			})
			inbox := p.inbox("/users/bob/inbox")
			bob := f.remote("http://slow.example/users/bob", inbox, "")
			f.start(t)

			now := time.Now()
			var ids []string
			for i := range notes {
				id := iri(fmt.Sprintf("%s/statuses/n%d", f.alice.IRI(), i))
				ids = append(ids, id.String())
				n1 := ap.NewNote(id, f.alice.IRI(), "first", now)
				ap.SetTo(n1, bob)
				f.post(t, ap.NewCreate(nil, f.alice.IRI(), n1))
				n2 := ap.NewNote(id, f.alice.IRI(), "edited", now)
				ap.SetTo(n2, bob)
				f.post(t, ap.NewUpdate(nil, f.alice.IRI(), n2))
				del := ap.NewDelete(nil, f.alice.IRI(), ap.NewTombstone(id, "Note", now))
				ap.SetTo(del, bob)
				f.post(t, del)
			}
			f.settle(t)

			seen := map[string][]string{}
			for _, h := range p.posts() {
				typ, obj := kindAndObject(t, h.body)
				seen[obj] = append(seen[obj], typ)
			}
			assert.Equal(t, 3*notes, p.count("/users/bob/inbox"))
			for _, id := range ids {
				assert.Equal(t, []string{"Create", "Update", "Delete"}, seen[id], id)
			}
		})
	}
}

// At most MaxPerHost deliveries to one host are in flight at once; the
// others wait without using attempts.
func TestDeliveryPerHostLimit(t *testing.T) {
	const recipients = 20
	f := newDFix(t, dopts{concurrency: 16, ob: outbox.Options{MaxPerHost: 2, MaxAttempts: 3}})
	var inFlight, most atomic.Int32
	var observed atomic.Int32 // Hosts().InFlight seen above the limit
	done := make(chan struct{})
	p := newPeer(t, f.net, "busy.example", func(_ int, w http.ResponseWriter, _ *http.Request) {
		n := inFlight.Add(1)
		for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
		}
		if f.host("busy.example").InFlight > 2 {
			observed.Add(1)
		}
		select {
		case <-time.After(50 * time.Millisecond):
		case <-done:
		}
		inFlight.Add(-1)
		w.WriteHeader(http.StatusAccepted)
	})
	t.Cleanup(func() { close(done) })
	var to []*url.URL
	for i := range recipients {
		to = append(to, f.remote(fmt.Sprintf("http://busy.example/users/u%d", i), p.inbox(fmt.Sprintf("/users/u%d/inbox", i)), ""))
	}
	f.start(t)

	id := f.post(t, note(to...))
	f.settle(t)

	assert.Equal(t, recipients, p.count(""))
	assert.Equal(t, int32(2), most.Load(), "two in flight at most, and two at some point")
	assert.Zero(t, observed.Load())
	page, next, err := f.ob.Deliveries(context.Background(), id, "", 100)
	require.NoError(t, err)
	assert.Empty(t, next)
	require.Len(t, page, recipients)
	for _, s := range page {
		assert.Equal(t, outbox.DeliverySent, s.State, s.Inbox)
		assert.Equal(t, 1, s.Attempts, "waiting for a slot uses no attempt")
	}
	assert.Equal(t, outbox.HostStats{Sent: recipients}, f.host("busy.example"))
}

// Ten followers sharing one inbox get one POST; the sender, a blocked
// actor and the actors of a blocked domain get nothing; bto and bcc
// recipients get the activity, which names them nowhere.
func TestDeliverySharedInboxAndExclusions(t *testing.T) {
	ctx := context.Background()
	f := newDFix(t, dopts{ob: outbox.Options{MaxAttempts: 3}})
	shared := newPeer(t, f.net, "shared.example", nil)
	other := newPeer(t, f.net, "other.example", nil)
	blockedDomain := newPeer(t, f.net, "blocked.example", nil)
	secret := newPeer(t, f.net, "secret.example", nil)
	followers := f.alice.Followers().String()
	for i := range 10 {
		a := fmt.Sprintf("http://shared.example/users/u%d", i)
		f.remote(a, shared.inbox(fmt.Sprintf("/users/u%d/inbox", i)), shared.inbox("/inbox"))
		require.NoError(t, f.db.AddItem(ctx, followers, a))
	}
	f.remote("http://other.example/users/ok", other.inbox("/users/ok/inbox"), "")
	f.remote("http://other.example/users/blocked", other.inbox("/users/blocked/inbox"), "")
	f.remote("http://blocked.example/users/x", blockedDomain.inbox("/users/x/inbox"), blockedDomain.inbox("/inbox"))
	hidden := f.remote("http://secret.example/users/bcc", secret.inbox("/users/bcc/inbox"), "")
	hidden2 := f.remote("http://secret.example/users/bto", secret.inbox("/users/bto/inbox"), "")
	for _, a := range []string{"http://other.example/users/ok", "http://other.example/users/blocked", "http://blocked.example/users/x", f.alice.IRI().String()} {
		require.NoError(t, f.db.AddItem(ctx, followers, a))
	}
	require.NoError(t, f.db.AddItem(ctx, store.BlocksCollection(f.alice.IRI().String()), "http://other.example/users/blocked"))
	require.NoError(t, f.db.AddItem(ctx, store.DomainBlocksCollection, "blocked.example"))
	f.start(t)

	create := createNote([]*url.URL{iri(ap.PublicIRI), f.alice.IRI()}, []*url.URL{f.alice.Followers()}, []*url.URL{hidden})
	ap.SetBto(create, hidden2)
	id := f.post(t, create)
	f.settle(t)

	assert.Equal(t, 1, shared.count("/inbox"), "one POST for ten followers")
	assert.Equal(t, 1, shared.count(""))
	assert.Equal(t, 1, other.count("/users/ok/inbox"))
	assert.Equal(t, 0, other.count("/users/blocked/inbox"), "a blocked actor gets nothing")
	assert.Equal(t, 0, blockedDomain.count(""), "a blocked domain gets nothing")
	assert.Zero(t, f.net.dialsTo("blocked.example"))
	assert.Equal(t, 1, secret.count("/users/bcc/inbox"))
	assert.Equal(t, 1, secret.count("/users/bto/inbox"))
	for _, p := range []*peer{shared, other, secret} {
		for _, h := range p.posts() {
			assert.NotEmpty(t, h.header.Get("Signature"), "signed")
			body := string(h.body)
			assert.NotContains(t, body, `"bcc"`)
			assert.NotContains(t, body, `"bto"`)
			assert.NotContains(t, body, "secret.example", "blind recipients are named nowhere")
		}
	}
	_, err := f.ob.DeliveryStatus(ctx, id, f.alice.Inbox().String())
	assert.ErrorIs(t, err, store.ErrNotFound, "nothing to the sender")
	page, _, err := f.ob.Deliveries(ctx, id, "", 100)
	require.NoError(t, err)
	var inboxes []string
	for _, s := range page {
		assert.Equal(t, outbox.DeliverySent, s.State, s.Inbox)
		inboxes = append(inboxes, s.Inbox)
	}
	assert.ElementsMatch(t, []string{shared.inbox("/inbox"), other.inbox("/users/ok/inbox"),
		secret.inbox("/users/bcc/inbox"), secret.inbox("/users/bto/inbox")}, inboxes)
	assert.Equal(t, outbox.HostStats{Sent: 1}, f.host("shared.example"))
	assert.Equal(t, outbox.HostStats{Sent: 2}, f.host("secret.example"))
	_, ok := f.ob.Hosts()["blocked.example"]
	assert.False(t, ok)
}

// A 410 from a shared inbox fails that delivery for good but marks
// nothing gone: the server's actors are not all gone because one
// delivery to their shared inbox was refused so. The next Post to them
// is delivered again.
func TestDelivery410FromSharedInboxMarksNothing(t *testing.T) {
	ctx := context.Background()
	f := newDFix(t, dopts{ob: outbox.Options{MaxAttempts: 5}})
	shared := newPeer(t, f.net, "shared.example", failFirst(1, http.StatusGone))
	bob := f.remote("http://shared.example/users/bob", shared.inbox("/users/bob/inbox"), shared.inbox("/inbox"))
	carol := f.remote("http://shared.example/users/carol", shared.inbox("/users/carol/inbox"), shared.inbox("/inbox"))
	f.start(t)

	id := f.post(t, note(bob))
	f.settle(t)
	assert.Equal(t, outbox.DeliveryFailed, f.status(t, id, shared.inbox("/inbox")).State)
	assert.Len(t, f.permanentFailures(), 1)

	id2 := f.post(t, note(bob, carol))
	f.settle(t)
	assert.Equal(t, 2, shared.count("/inbox"), "the shared inbox is still delivered to")
	assert.Equal(t, outbox.DeliverySent, f.status(t, id2, shared.inbox("/inbox")).State)
	marked, err := f.db.HasItem(ctx, store.GoneInboxesCollection, shared.inbox("/inbox"))
	require.NoError(t, err)
	assert.False(t, marked, "a shared inbox is not marked gone")
}

// A domain block covers the domain's subdomains, not a domain that only
// ends with the same letters.
func TestDeliveryDomainBlockCoversSubdomains(t *testing.T) {
	ctx := context.Background()
	f := newDFix(t, dopts{ob: outbox.Options{MaxAttempts: 3}})
	sub := newPeer(t, f.net, "sub.blocked.example", nil)
	deep := newPeer(t, f.net, "a.b.blocked.example", nil)
	near := newPeer(t, f.net, "notblocked.example", nil)
	ok := newPeer(t, f.net, "ok.example", nil)
	to := []*url.URL{
		f.remote("http://sub.blocked.example/users/x", sub.inbox("/users/x/inbox"), ""),
		f.remote("http://a.b.blocked.example/users/y", deep.inbox("/users/y/inbox"), ""),
		f.remote("http://notblocked.example/users/z", near.inbox("/users/z/inbox"), ""),
		f.remote("http://ok.example/users/w", ok.inbox("/users/w/inbox"), ""),
	}
	require.NoError(t, f.db.AddItem(ctx, store.DomainBlocksCollection, "blocked.example"))
	f.start(t)

	f.post(t, note(to...))
	f.settle(t)
	assert.Zero(t, f.net.dialsTo("sub.blocked.example"))
	assert.Zero(t, f.net.dialsTo("a.b.blocked.example"))
	assert.Equal(t, 1, near.count(""), "a domain that merely ends the same way is not blocked")
	assert.Equal(t, 1, ok.count(""))
}

// A worker that allows fewer attempts than the outbox lowers the outbox's
// limit: the delivery still ends dead, reported to OnPermanentFailure,
// after the worker's last attempt (it was discarded by the worker as
// failed, unreported, before).
func TestDeliveryWorkerMaxAttemptsBoundsTheOutbox(t *testing.T) {
	f := newDFix(t, dopts{maxAttempts: 2, ob: outbox.Options{MaxAttempts: 5}})
	down := newPeer(t, f.net, "down.example", status(http.StatusInternalServerError))
	bob := f.remote("http://down.example/users/bob", down.inbox("/users/bob/inbox"), "")
	f.start(t)

	id := f.post(t, note(bob))
	f.settle(t)
	assert.Equal(t, 2, down.count(""))
	s := f.status(t, id, down.inbox("/users/bob/inbox"))
	assert.Equal(t, outbox.DeliveryDead, s.State)
	assert.Equal(t, 2, s.Attempts)
	require.Len(t, f.permanentFailures(), 1)
	assert.Equal(t, 2, f.permanentFailures()[0].d.Attempts)
}

// An Update of a note goes where its Create went and to the followers of
// now; a Delete goes where either went, and to the inboxes an earlier
// version recorded in the object's ReachCollection: each inbox once per
// activity, although the audiences overlap.
func TestDeliveryReach(t *testing.T) {
	for _, sk := range storeKinds {
		t.Run(sk.name, func(t *testing.T) {
			ctx := context.Background()
			f := newDFix(t, dopts{sqlite: sk.sqlite, ob: outbox.Options{MaxAttempts: 3}})
			p := newPeer(t, f.net, "reach.example", status(http.StatusAccepted))
			var users []*url.URL
			for _, name := range []string{"a", "b", "c", "old"} {
				users = append(users, f.remote("http://reach.example/users/"+name, p.inbox("/users/"+name+"/inbox"), ""))
			}
			a, b, c := users[0], users[1], users[2]
			followers := f.alice.Followers().String()
			follow := func(u *url.URL, on bool) {
				t.Helper()
				if on {
					require.NoError(t, f.db.AddItem(ctx, followers, u.String()))
				} else {
					require.NoError(t, f.db.RemoveItem(ctx, followers, u.String()))
				}
			}
			f.start(t)

			id := iri(f.alice.IRI().String() + "/statuses/reach")
			now := time.Now()
			follow(a, true)
			follow(c, true)
			n := ap.NewNote(id, f.alice.IRI(), "first", now)
			ap.SetCc(n, f.alice.Followers())
			create := f.post(t, ap.NewCreate(nil, f.alice.IRI(), n))
			f.settle(t)
			// An inbox as the versions before ReachActivitiesCollection
			// recorded the reach.
			require.NoError(t, f.db.AddItem(ctx, store.ReachCollection(id.String()), p.inbox("/users/old/inbox")))

			follow(a, false)
			follow(b, true)
			n = ap.NewNote(id, f.alice.IRI(), "edited", now)
			ap.SetCc(n, f.alice.Followers())
			update := f.post(t, ap.NewUpdate(nil, f.alice.IRI(), n))
			f.settle(t)

			follow(b, false)
			del := ap.NewDelete(nil, f.alice.IRI(), ap.NewTombstone(id, "Note", now))
			ap.SetCc(del, f.alice.Followers())
			remove := f.post(t, del)
			f.settle(t)

			got := map[string][]string{} // activity type → inboxes, as POSTed
			for _, h := range p.posts() {
				typ, obj := kindAndObject(t, h.body)
				require.Equal(t, id.String(), obj)
				got[typ] = append(got[typ], h.path)
			}
			for typ := range got {
				slices.Sort(got[typ])
			}
			assert.Equal(t, []string{"/users/a/inbox", "/users/c/inbox"}, got["Create"])
			assert.Equal(t, []string{"/users/a/inbox", "/users/b/inbox", "/users/c/inbox", "/users/old/inbox"}, got["Update"],
				"the Create's reach (a, c, and old from the earlier record) and the followers of now (b, c)")
			assert.Equal(t, []string{"/users/a/inbox", "/users/b/inbox", "/users/c/inbox", "/users/old/inbox"}, got["Delete"],
				"everyone the Create or the Update reached")
			for act, want := range map[string]int{create: 2, update: 4, remove: 4} {
				page, next, err := f.ob.Deliveries(ctx, act, "", 100)
				require.NoError(t, err)
				assert.Empty(t, next)
				assert.Len(t, page, want, act)
			}
		})
	}
}

// Deliveries pages an activity's deliveries oldest first, each once, to
// the last page.
func TestDeliveriesPages(t *testing.T) {
	const recipients = 25
	f := newDFix(t, dopts{})
	p := newPeer(t, f.net, "many.example", status(http.StatusAccepted))
	var to []*url.URL
	for i := range recipients {
		to = append(to, f.remote(fmt.Sprintf("http://many.example/users/u%02d", i), p.inbox(fmt.Sprintf("/users/u%02d/inbox", i)), ""))
	}
	f.start(t)
	id := f.post(t, note(to...))
	f.settle(t)

	var seen []string
	cursor, pages := "", 0
	for {
		page, next, err := f.ob.Deliveries(context.Background(), id, cursor, 10)
		require.NoError(t, err)
		pages++
		for _, s := range page {
			assert.Equal(t, outbox.DeliverySent, s.State)
			seen = append(seen, s.Inbox)
		}
		if next == "" {
			break
		}
		require.Less(t, pages, 10, "Deliveries never ends")
		cursor = next
	}
	var want []string
	for i := range recipients {
		want = append(want, p.inbox(fmt.Sprintf("/users/u%02d/inbox", i)))
	}
	assert.Equal(t, want, seen, "every delivery once, in the order they were queued")
	assert.Equal(t, 3, pages)
}

// A delivery job as versions before this one queued it (activity and
// inbox in the payload) is still delivered; a delivery job whose unique
// key names no activity and inbox is discarded.
func TestDeliveryOfEarlierPayloads(t *testing.T) {
	ctx := context.Background()
	f := newDFix(t, dopts{ob: outbox.Options{MaxAttempts: 3}})
	p := newPeer(t, f.net, "old.example", status(http.StatusAccepted))
	bob := f.remote("http://old.example/users/bob", p.inbox("/users/bob/inbox"), "")
	f.start(t)
	id := f.post(t, note(bob))
	f.settle(t)
	require.Equal(t, 1, p.count("/users/bob/inbox"))

	legacy := fmt.Sprintf(`{"a":%q,"from":"alice","in":%q}`, id, p.inbox("/users/carol/inbox"))
	var bad int64
	require.NoError(t, f.db.Update(ctx, func(tx *store.Tx) error {
		if _, _, err := tx.Enqueue(ctx, outbox.DeliverKind, []byte(legacy), &store.EnqueueOptions{UniqueKey: "deliver:" + id + " " + p.inbox("/users/carol/inbox")}); err != nil {
			return err
		}
		var err error
		bad, _, err = tx.Enqueue(ctx, outbox.DeliverKind, []byte(`{"from":"alice"}`), &store.EnqueueOptions{UniqueKey: "not a delivery key"})
		return err
	}))
	f.w.Notify()
	f.settle(t)
	assert.Equal(t, 1, p.count("/users/carol/inbox"), "the earlier payload's delivery")
	assert.Equal(t, outbox.DeliverySent, f.status(t, id, p.inbox("/users/carol/inbox")).State)
	j, err := f.db.GetJob(ctx, bad)
	require.NoError(t, err)
	assert.Equal(t, store.JobDiscarded, j.State)
}

// A fan-out enqueues its deliveries at the pace they are made: it pauses
// while Options.MaxQueued deliveries are due, so the queue never holds
// much more than MaxQueued plus one step. Deliveries waiting for a later
// retry (a host that is down) do not count: they hold up no fan-out.
func TestFanoutBackPressure(t *testing.T) {
	for _, sk := range storeKinds {
		t.Run(sk.name, func(t *testing.T) {
			const (
				followers = 16
				maxQueued = 4
				page      = 4
			)
			f := newDFix(t, dopts{sqlite: sk.sqlite, concurrency: 4, ob: outbox.Options{MaxQueued: maxQueued, FanoutPage: page,
				Backoff: func(int) time.Duration { return time.Hour }}})
			ctx := context.Background()
			f.refusing(t, "down.example")
			// The followers' inboxes hold every POST until the fan-out has
			// paused, so that its deliveries pile up (due, unclaimed) and
			// only back-pressure stops it enqueueing all 16 at once.
			release := make(chan struct{})
			p := newPeer(t, f.net, "up.example", func(_ int, w http.ResponseWriter, _ *http.Request) {
				<-release
				w.WriteHeader(http.StatusAccepted)
			})
			var released sync.Once
			t.Cleanup(func() { released.Do(func() { close(release) }) })
			var down []*url.URL
			for i := range 2 * maxQueued {
				down = append(down, f.remote(fmt.Sprintf("http://down.example/users/d%d", i), fmt.Sprintf("http://down.example/users/d%d/inbox", i), ""))
			}
			require.NoError(t, f.db.Update(ctx, func(tx *store.Tx) error {
				for i := range followers {
					u := f.remote(fmt.Sprintf("http://up.example/users/u%d", i), p.inbox(fmt.Sprintf("/users/u%d/inbox", i)), "")
					if err := tx.AddItem(ctx, f.alice.Followers().String(), u.String()); err != nil {
						return err
					}
				}
				return nil
			}))
			f.start(t)

			// Twice MaxQueued deliveries to a host that refuses
			// connections: after their first attempt they wait an hour.
			first := f.post(t, note(down...))
			for _, d := range down {
				f.waitStatus(t, first, d.String()+"/inbox", outbox.DeliveryRetrying)
			}

			var most atomic.Int64
			stop := make(chan struct{})
			sampled := make(chan struct{})
			go func() {
				defer close(sampled)
				for {
					n, err := f.db.CountJobs(ctx, store.JobQuery{Kinds: []string{outbox.DeliverKind}, DueBy: f.clock.Now()})
					if err == nil && int64(n) > most.Load() {
						most.Store(int64(n))
					}
					select {
					case <-stop:
						return
					case <-time.After(time.Millisecond):
					}
				}
			}()
			snoozed := f.w.Stats().Snoozed
			second := f.post(t, note(f.alice.Followers()))
			require.Eventually(t, func() bool { return f.w.Stats().Snoozed > snoozed }, 10*time.Second, time.Millisecond,
				"the fan-out never paused")
			released.Do(func() { close(release) })
			require.Eventually(t, func() bool { return p.count("") == followers }, 20*time.Second, 5*time.Millisecond,
				"the followers' deliveries were held up (%d of %d made)", p.count(""), followers)
			close(stop)
			<-sampled
			assert.LessOrEqual(t, most.Load(), int64(maxQueued-1+page), "deliveries due at once")
			for i := range followers {
				assert.Equal(t, outbox.DeliverySent, f.waitStatus(t, second, p.inbox(fmt.Sprintf("/users/u%d/inbox", i)), outbox.DeliverySent).State)
			}
			s := f.status(t, first, down[0].String()+"/inbox")
			assert.Equal(t, outbox.DeliveryRetrying, s.State, "still waiting for its second attempt")
			assert.Equal(t, 1, s.Attempts)
		})
	}
}

// The end states of deliveries, read while their jobs are kept and after
// they are gone (pruned, or for a sent one forgotten at once with
// ForgetSent): failures keep their state, failed or dead, from the record
// written with the discard; a sent delivery reads sent while its job is
// kept, then pruned, or with ForgetSent sent and never kept at all.
func TestDeliveryStatusWithoutJobs(t *testing.T) {
	for _, sk := range storeKinds {
		for _, forget := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/ForgetSent=%v", sk.name, forget), func(t *testing.T) {
				ctx := context.Background()
				f := newDFix(t, dopts{sqlite: sk.sqlite, ob: outbox.Options{MaxAttempts: 2, ForgetSent: forget}})
				f.refusing(t, "down.example")
				ok := newPeer(t, f.net, "ok.example", status(http.StatusAccepted))
				gone := newPeer(t, f.net, "gone.example", status(http.StatusGone))
				refused := newPeer(t, f.net, "refuse.example", status(http.StatusForbidden))
				inboxes := map[string]string{
					"sent":    ok.inbox("/users/a/inbox"),
					"gone":    gone.inbox("/users/b/inbox"),
					"refused": refused.inbox("/users/c/inbox"),
					"dead":    "http://down.example/users/d/inbox",
				}
				var to []*url.URL
				for _, in := range inboxes {
					to = append(to, f.remote(in[:len(in)-len("/inbox")], in, ""))
				}
				f.start(t)
				id := f.post(t, note(to...))
				f.settle(t)

				want := map[string]outbox.DeliveryState{"sent": outbox.DeliverySent, "gone": outbox.DeliveryFailed,
					"refused": outbox.DeliveryFailed, "dead": outbox.DeliveryDead}
				for name, in := range inboxes {
					s := f.status(t, id, in)
					assert.Equal(t, want[name], s.State, name)
					if name == "sent" && forget {
						assert.Zero(t, s.Attempts, "a forgotten delivery has no record of its attempts")
					} else {
						assert.NotZero(t, s.Attempts, name)
						assert.False(t, s.Finished.IsZero(), name)
					}
				}
				kept, err := f.db.CountJobs(ctx, store.JobQuery{Kinds: []string{outbox.DeliverKind}})
				require.NoError(t, err)
				if forget {
					assert.Equal(t, 3, kept, "the failures' jobs only")
				} else {
					assert.Equal(t, 4, kept)
				}
				require.Equal(t, 1, ok.count(""), "one POST to the inbox that accepts")

				_, err = f.db.PruneJobs(ctx, 0)
				require.NoError(t, err)
				left, err := f.db.CountJobs(ctx, store.JobQuery{})
				require.NoError(t, err)
				require.Zero(t, left, "every job pruned")
				if !forget {
					want["sent"] = outbox.DeliveryPruned
				}
				page, next, err := f.ob.Deliveries(ctx, id, "", 10)
				require.NoError(t, err)
				assert.Empty(t, next)
				require.Len(t, page, len(inboxes))
				for name, in := range inboxes {
					assert.Equal(t, outbox.DeliveryStatus{Inbox: in, State: want[name]}, f.status(t, id, in), name)
					assert.Contains(t, page, outbox.DeliveryStatus{Inbox: in, State: want[name]}, name)
				}
			})
		}
	}
}
