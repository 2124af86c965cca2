package aptest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"code.superseriousbusiness.org/activity/streams/vocab"

	"github.com/slothpub/slothpub/actor"
	"github.com/slothpub/slothpub/ap"
	"github.com/slothpub/slothpub/deref"
	"github.com/slothpub/slothpub/httpsig"
	"github.com/slothpub/slothpub/inbox"
	"github.com/slothpub/slothpub/outbox"
	"github.com/slothpub/slothpub/store"
	"github.com/slothpub/slothpub/store/memstore"
	"github.com/slothpub/slothpub/store/worker"
)

// Options configure a Network. A nil *Options means all defaults.
type Options struct {
	// Sockets serves every instance from an httptest server on loopback and
	// routes requests there over TCP, instead of calling handlers in process.
	Sockets bool
	// FirstScheme is the HTTP-signature scheme instances try first
	// (httpsig.SchemeCavage or httpsig.SchemeRFC9421); "" means the
	// transport's default.
	FirstScheme string
	// ManualApproval makes every instance keep follows pending.
	ManualApproval bool
	// Logger for every instance; nil discards logs.
	Logger *slog.Logger
	// SettleTimeout bounds Settle; default 10s.
	SettleTimeout time.Duration
	// Store returns the store of the instance at host; nil means a new
	// memstore for each. A test can open it over a wrapping driver to
	// watch what is written.
	Store func(host string) *store.DB
	// Worker tunes each instance's job worker; nil means a worker that
	// polls every 10ms and retries after 10ms, for quick tests.
	Worker *worker.Options
	// Outbox tunes each instance's outbox (Worker, LocalInbox and Logger
	// are set by the network); nil means retries after 10ms.
	Outbox *outbox.Options
}

// Network is a set of in-process instances that federate with each other.
type Network struct {
	t      testing.TB
	opts   Options
	ctx    context.Context // cancelled when the test ends: stops every outbox
	cancel context.CancelFunc

	mu        sync.Mutex
	instances map[string]*Instance
	exchanges []Exchange
}

// Exchange is one request between instances, as recorded by the network.
type Exchange struct {
	Method string
	URL    string
	// Signed is true when the request carried an HTTP signature
	// (Signature or Authorization: Signature header).
	Signed bool
	// Scheme is the signature scheme: httpsig.SchemeRFC9421 when the
	// request carried Signature-Input, else httpsig.SchemeCavage; "" when
	// unsigned.
	Scheme string
	Status int // the status answered; 0 when the request failed
}

// Exchanges returns every request made between instances so far.
func (n *Network) Exchanges() []Exchange {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]Exchange(nil), n.exchanges...)
}

func (n *Network) record(r *http.Request, resp *http.Response) {
	e := Exchange{Method: r.Method, URL: r.URL.String(),
		Signed: r.Header.Get("Signature") != "" || strings.HasPrefix(r.Header.Get("Authorization"), "Signature ")}
	switch {
	case r.Header.Get("Signature-Input") != "":
		e.Scheme = httpsig.SchemeRFC9421
	case e.Signed:
		e.Scheme = httpsig.SchemeCavage
	}
	if resp != nil {
		e.Status = resp.StatusCode
	}
	n.mu.Lock()
	n.exchanges = append(n.exchanges, e)
	n.mu.Unlock()
}

// NewNetwork returns an empty network whose instances stop when the test
// ends.
func NewNetwork(t testing.TB, opts *Options) *Network {
	t.Helper()
	n := &Network{t: t, instances: map[string]*Instance{}}
	if opts != nil {
		n.opts = *opts
	}
	if n.opts.Logger == nil {
		n.opts.Logger = slog.New(slog.DiscardHandler)
	}
	if n.opts.SettleTimeout <= 0 {
		n.opts.SettleTimeout = 10 * time.Second
	}
	n.ctx, n.cancel = context.WithCancel(context.Background())
	t.Cleanup(n.cancel)
	return n
}

// Instance is one complete server in a Network.
type Instance struct {
	Host     string
	Store    *store.DB
	Worker   *worker.Worker
	Actors   *actor.Directory
	Verifier *httpsig.Verifier
	Resolver *deref.Resolver
	Inbox    *inbox.Handler
	Outbox   *outbox.Outbox
	// Handler serves every endpoint of the instance.
	Handler   http.Handler
	Transport *ap.HTTPTransport

	n *Network
}

// Instance returns the instance for host, creating it on first use.
func (n *Network) Instance(host string) *Instance {
	n.t.Helper()
	n.mu.Lock()
	defer n.mu.Unlock()
	if in, ok := n.instances[host]; ok {
		return in
	}
	in, err := n.newInstance(host)
	if err != nil {
		n.t.Fatalf("aptest: instance %s: %v", host, err)
	}
	n.instances[host] = in
	return in
}

func (n *Network) newInstance(host string) (*Instance, error) {
	ctx := n.ctx
	st := memstore.New()
	if n.opts.Store != nil {
		st = n.opts.Store(host)
	}
	log := n.opts.Logger.With("instance", host)
	actors := actor.NewDirectory(st, host, &actor.Options{Scheme: "https", Logger: log})
	inst, err := actors.Instance(ctx)
	if err != nil {
		return nil, err
	}
	wopts := worker.Options{PollInterval: 10 * time.Millisecond, Backoff: func(int) time.Duration { return 10 * time.Millisecond }}
	if n.opts.Worker != nil {
		wopts = *n.opts.Worker
	}
	wopts.Logger = log
	w := worker.New(st, &wopts)
	// The instance's store remembers which signature scheme each peer
	// accepts, as a real server's would.
	tr := ap.NewHTTPTransport(&ap.HTTPTransportOptions{RoundTripper: n.roundTripper(), Logger: log, Values: st, FirstScheme: n.opts.FirstScheme})
	res := deref.New(st, tr, inst.Signer(), &deref.Options{Logger: log, LocalHost: host})
	ver := httpsig.NewVerifier(res, &httpsig.VerifierOptions{Logger: log, TargetScheme: "https"})
	mux := http.NewServeMux()
	oopts := outbox.Options{Backoff: func(int) time.Duration { return 10 * time.Millisecond }}
	if n.opts.Outbox != nil {
		oopts = *n.opts.Outbox
	}
	oopts.Worker, oopts.LocalInbox, oopts.Logger = w, mux, log
	ob, err := outbox.New(st, actors, tr, res, &oopts)
	if err != nil {
		return nil, err
	}
	ib, err := inbox.New(st, actors, ver, &inbox.Options{Worker: w, Sender: ob, Fetcher: res, ManualApproval: n.opts.ManualApproval, Logger: log})
	if err != nil {
		return nil, err
	}
	actors.Register(mux)
	mux.Handle("POST /users/{name}/inbox", ib)
	mux.Handle("POST /inbox", ib)

	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = w.Run(ctx)
	}()
	n.t.Cleanup(func() { n.cancel(); <-done }) // cleanups run last-in first-out

	return &Instance{Host: host, Store: st, Worker: w, Actors: actors, Verifier: ver, Resolver: res, Inbox: ib,
		Outbox: ob, Handler: mux, Transport: tr, n: n}, nil
}

// handlerFor returns the handler serving host, or nil.
func (n *Network) handlerFor(host string) http.Handler {
	n.mu.Lock()
	defer n.mu.Unlock()
	if in, ok := n.instances[host]; ok {
		return in.Handler
	}
	return nil
}

func (n *Network) roundTripper() http.RoundTripper {
	var next http.RoundTripper = roundTripFunc(func(r *http.Request) (*http.Response, error) {
		h := n.handlerFor(r.URL.Host)
		if h == nil {
			return nil, fmt.Errorf("aptest: no instance at %s", r.URL.Host)
		}
		return serveInProcess(h, r)
	})
	if n.opts.Sockets {
		next = n.socketTransport()
	}
	return roundTripFunc(func(r *http.Request) (*http.Response, error) {
		resp, err := next.RoundTrip(r)
		n.record(r, resp)
		return resp, err
	})
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// serveInProcess runs r through h as a server would receive it: the
// request is written to wire format and read back, so headers, Host and
// body are exactly what a socket would carry.
func serveInProcess(h http.Handler, r *http.Request) (*http.Response, error) {
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(r.Write(pw)) }()
	sr, err := http.ReadRequest(bufio.NewReader(pr))
	if err != nil {
		return nil, err
	}
	sr = sr.WithContext(r.Context())
	sr.RemoteAddr = "192.0.2.1:443"
	sr.URL.Scheme, sr.URL.Host = "", ""
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, sr)
	_, _ = io.Copy(io.Discard, sr.Body)
	resp := rec.Result()
	resp.Request = r
	return resp, nil
}

// socketTransport serves each instance from a loopback httptest server,
// dialled by host name.
func (n *Network) socketTransport() http.RoundTripper {
	var mu sync.Mutex
	servers := map[string]*httptest.Server{}
	addrFor := func(host string) (string, error) {
		mu.Lock()
		defer mu.Unlock()
		if s, ok := servers[host]; ok {
			return s.Listener.Addr().String(), nil
		}
		h := n.handlerFor(host)
		if h == nil {
			return "", fmt.Errorf("aptest: no instance at %s", host)
		}
		s := httptest.NewUnstartedServer(h)
		s.Config.ErrorLog = nil
		s.StartTLS()
		n.t.Cleanup(s.Close)
		servers[host] = s
		return s.Listener.Addr().String(), nil
	}
	tr := &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			host := strings.TrimSuffix(addr, ":443")
			target, err := addrFor(host)
			if err != nil {
				return nil, err
			}
			var d net.Dialer
			return d.DialContext(ctx, network, target)
		},
		TLSClientConfig:   insecureTLS(),
		ForceAttemptHTTP2: true,
	}
	n.t.Cleanup(tr.CloseIdleConnections)
	return tr
}

// unfinished are the job states of work still to do.
var unfinished = []store.JobState{store.JobAvailable, store.JobRunning, store.JobRetryable}

// Settle waits until no instance has work left (inbox processing,
// fan-outs, deliveries: any job not completed or discarded), failing the
// test after Options.SettleTimeout.
func (n *Network) Settle() {
	n.t.Helper()
	ctx, cancel := context.WithTimeout(n.ctx, n.opts.SettleTimeout)
	defer cancel()
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	for {
		n.mu.Lock()
		ins := make([]*Instance, 0, len(n.instances))
		for _, in := range n.instances {
			ins = append(ins, in)
		}
		n.mu.Unlock()
		busy := false
		for _, in := range ins {
			c, err := in.Store.CountJobs(ctx, store.JobQuery{States: unfinished})
			if err != nil {
				n.t.Fatalf("aptest: network did not settle: %v", err)
			}
			busy = busy || c > 0
		}
		if !busy {
			return
		}
		select {
		case <-ctx.Done():
			n.t.Fatalf("aptest: network did not settle within %v", n.opts.SettleTimeout)
		case <-tick.C:
		}
	}
}

// User returns the local actor name, creating it on first use.
func (in *Instance) User(name string) *actor.Actor {
	in.n.t.Helper()
	a, err := in.Actors.Get(in.n.ctx, name)
	if errors.Is(err, store.ErrNotFound) {
		a, err = in.Actors.Create(in.n.ctx, name)
	}
	if err != nil {
		in.n.t.Fatalf("aptest: user %s@%s: %v", name, in.Host, err)
	}
	return a
}

// Post publishes activity as from through the instance's outbox, failing
// the test on error, and returns the activity's id.
func (in *Instance) Post(from *actor.Actor, activity vocab.Type) *url.URL {
	in.n.t.Helper()
	id, err := in.Outbox.Post(in.n.ctx, from, activity)
	if err != nil {
		in.n.t.Fatalf("aptest: post as %s: %v", from.IRI(), err)
	}
	return id
}

// Object returns the stored document with that IRI, failing the test when
// there is none.
func (in *Instance) Object(iri string) *store.Object {
	in.n.t.Helper()
	o, err := in.Store.GetObject(in.n.ctx, iri)
	if err != nil {
		in.n.t.Fatalf("aptest: %s has no object %s: %v", in.Host, iri, err)
	}
	return o
}

// Has reports whether the collection holds item.
func (in *Instance) Has(collection, item string) bool {
	in.n.t.Helper()
	ok, err := in.Store.HasItem(in.n.ctx, collection, item)
	if err != nil {
		in.n.t.Fatalf("aptest: %s: %v", in.Host, err)
	}
	return ok
}
