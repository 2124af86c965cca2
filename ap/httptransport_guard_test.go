package ap

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// publicIP stands for a public server; tests never connect to it: their
// dial hook maps it to a loopback listener.
const publicIP = "93.184.215.14"

// countingListener is a loopback listener that counts the connections it
// accepts and closes them. It stands for a private service.
type countingListener struct {
	ln       net.Listener
	accepted atomic.Int32
}

func newCountingListener(t *testing.T) *countingListener {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	c := &countingListener{ln: ln}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			c.accepted.Add(1)
			_ = conn.Close()
		}
	}()
	t.Cleanup(func() { _ = ln.Close(); <-done })
	return c
}

func (c *countingListener) port() string {
	_, p, _ := net.SplitHostPort(c.ln.Addr().String())
	return p
}

// fakeDNS answers names from a table of answer sequences: the n-th lookup
// of a name gets its n-th answer (the last one once they run out).
type fakeDNS struct {
	mu      sync.Mutex
	answers map[string][][]netip.Addr
	lookups map[string]int
}

func newFakeDNS() *fakeDNS {
	return &fakeDNS{answers: map[string][][]netip.Addr{}, lookups: map[string]int{}}
}

func (d *fakeDNS) set(name string, answers ...string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, a := range answers {
		var ips []netip.Addr
		for _, s := range strings.Split(a, ",") {
			ips = append(ips, netip.MustParseAddr(s))
		}
		d.answers[name] = append(d.answers[name], ips)
	}
}

func (d *fakeDNS) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	seq := d.answers[host]
	if len(seq) == 0 {
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	n := d.lookups[host]
	d.lookups[host]++
	return seq[min(n, len(seq)-1)], nil
}

func (d *fakeDNS) count(host string) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.lookups[host]
}

// mappingDialer dials what it is given, like a real dialer, except that
// publicIP is mapped to the loopback server standing for it. It records
// every address it is asked to dial.
type mappingDialer struct {
	public string // host:port of the server standing for publicIP

	mu     sync.Mutex
	dialed []string
}

func (m *mappingDialer) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	m.mu.Lock()
	m.dialed = append(m.dialed, address)
	m.mu.Unlock()
	if host, _, _ := net.SplitHostPort(address); host == publicIP {
		address = m.public
	}
	var d net.Dialer
	return d.DialContext(ctx, network, address)
}

func (m *mappingDialer) addresses() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]string(nil), m.dialed...)
}

// publicServer is the loopback server standing for publicIP. It closes
// every connection after one answer, so each request dials anew.
func publicServer(t *testing.T, h http.HandlerFunc) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Connection", "close")
		h(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func okDocument(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", ContentType)
	_, _ = w.Write([]byte(`{"ok":true}`))
}

// A name that resolved to a public address for one request and to
// loopback for the next (DNS rebinding) is refused when it is dialled: the
// real transport, with a resolver hook and the guard on, makes no
// connection to the private service the name now points at.
func TestHTTPTransportDNSRebinding(t *testing.T) {
	private := newCountingListener(t)
	pub := publicServer(t, okDocument)
	dns := newFakeDNS()
	dns.set("rebind.example", publicIP, "127.0.0.1")
	dial := &mappingDialer{public: pub.Listener.Addr().String()}
	tr := NewHTTPTransport(&HTTPTransportOptions{Resolver: dns, DialContext: dial.DialContext})
	target := u(t, "http://rebind.example:"+private.port()+"/users/alice")
	ctx := context.Background()

	resp, err := tr.Get(ctx, target, nil)
	require.NoError(t, err, "the public answer is dialled")
	assert.Equal(t, `{"ok":true}`, string(resp.Body))

	_, err = tr.Get(ctx, target, nil)
	require.ErrorIs(t, err, ErrForbiddenAddress)
	assert.Equal(t, 2, dns.count("rebind.example"), "each new connection resolves the name anew")
	assert.Equal(t, []string{publicIP + ":" + private.port()}, dial.addresses(), "only the public address reaches the dialer")
	assert.Zero(t, private.accepted.Load(), "no connection to the private service")
}

// A public server that redirects to a private address (by IP literal or
// by a name that resolves to one) gets no connection made to it.
func TestHTTPTransportRedirectToPrivate(t *testing.T) {
	private := newCountingListener(t)
	pub := publicServer(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/literal":
			http.Redirect(w, r, "http://127.0.0.1:"+private.port()+"/admin", http.StatusFound)
		case "/name":
			http.Redirect(w, r, "http://internal.example:"+private.port()+"/admin", http.StatusFound)
		case "/mapped":
			http.Redirect(w, r, "http://[::ffff:127.0.0.1]:"+private.port()+"/admin", http.StatusPermanentRedirect)
		default:
			http.NotFound(w, r)
		}
	})
	dns := newFakeDNS()
	dns.set("public.example", publicIP)
	dns.set("internal.example", "127.0.0.1")
	dial := &mappingDialer{public: pub.Listener.Addr().String()}
	tr := NewHTTPTransport(&HTTPTransportOptions{Resolver: dns, DialContext: dial.DialContext})

	for _, path := range []string{"/literal", "/name", "/mapped"} {
		_, err := tr.Get(context.Background(), u(t, "http://public.example:"+private.port()+path), nil)
		require.ErrorIs(t, err, ErrForbiddenAddress, path)
	}
	for _, a := range dial.addresses() {
		assert.True(t, strings.HasPrefix(a, publicIP+":"), "dialled %s", a)
	}
	assert.Len(t, dial.addresses(), 3, "one dial per public hop")
	assert.Zero(t, private.accepted.Load(), "no connection to the private service")
}

// With AllowPrivate the resolver hook still decides where a name goes,
// and private answers are dialled.
func TestHTTPTransportResolverWithAllowPrivate(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(okDocument))
	t.Cleanup(srv.Close)
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	dns := newFakeDNS()
	dns.set("svc.internal", "127.0.0.1")
	tr := NewHTTPTransport(&HTTPTransportOptions{Resolver: dns, AllowPrivate: true})
	resp, err := tr.Get(context.Background(), u(t, "http://svc.internal:"+port+"/x"), nil)
	require.NoError(t, err)
	assert.Equal(t, `{"ok":true}`, string(resp.Body))
	assert.Equal(t, 1, dns.count("svc.internal"))
}

// A name whose answer mixes private and public addresses is dialled on
// its public ones only.
func TestHTTPTransportMixedAnswerDialsPublicOnly(t *testing.T) {
	private := newCountingListener(t)
	pub := publicServer(t, okDocument)
	dns := newFakeDNS()
	dns.set("mixed.example", "127.0.0.1,10.0.0.1,"+publicIP)
	dial := &mappingDialer{public: pub.Listener.Addr().String()}
	tr := NewHTTPTransport(&HTTPTransportOptions{Resolver: dns, DialContext: dial.DialContext})
	_, err := tr.Get(context.Background(), u(t, "http://mixed.example:"+private.port()+"/"), nil)
	require.NoError(t, err)
	assert.Equal(t, []string{publicIP + ":" + private.port()}, dial.addresses())
	assert.Zero(t, private.accepted.Load())
}

// concurrencyServer holds each request for hold and records the most
// requests it had in flight at once.
type concurrencyServer struct {
	srv       *httptest.Server
	cur, peak atomic.Int32
	total     atomic.Int32
}

func newConcurrencyServer(t *testing.T, hold time.Duration) *concurrencyServer {
	c := &concurrencyServer{}
	c.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.total.Add(1)
		n := c.cur.Add(1)
		defer c.cur.Add(-1)
		for {
			p := c.peak.Load()
			if n <= p || c.peak.CompareAndSwap(p, n) {
				break
			}
		}
		time.Sleep(hold)
		okDocument(w, r)
	}))
	t.Cleanup(c.srv.Close)
	return c
}

func TestHTTPTransportMaxPerHost(t *testing.T) {
	c := newConcurrencyServer(t, 50*time.Millisecond)
	const limit, n = 3, 12
	tr := loopbackTransport(HTTPTransportOptions{MaxPerHost: limit})
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() { _, errs[i] = tr.Get(context.Background(), u(t, c.srv.URL+"/x"), nil) })
	}
	wg.Wait()
	for _, err := range errs {
		require.NoError(t, err)
	}
	assert.Equal(t, int32(n), c.total.Load())
	assert.LessOrEqual(t, c.peak.Load(), int32(limit), "requests in flight at the server")
	assert.Equal(t, int32(limit), c.peak.Load(), "the cap is used, not undercut")

	l := tr.client.Transport.(*hostLimiter)
	l.mu.Lock()
	assert.Empty(t, l.hosts, "an idle host holds no memory")
	l.mu.Unlock()
}

// Two servers on one name (127.0.0.1, two ports) are two hosts: each gets
// its own MaxPerHost, as the outbox counts them.
func TestHTTPTransportMaxPerHostIsPerPort(t *testing.T) {
	a, b := newConcurrencyServer(t, 100*time.Millisecond), newConcurrencyServer(t, 100*time.Millisecond)
	tr := loopbackTransport(HTTPTransportOptions{MaxPerHost: 1})
	var wg sync.WaitGroup
	start := time.Now()
	for _, c := range []*concurrencyServer{a, b, a, b} {
		wg.Go(func() {
			_, err := tr.Get(context.Background(), u(t, c.srv.URL+"/x"), nil)
			assert.NoError(t, err)
		})
	}
	wg.Wait()
	assert.Equal(t, int32(1), a.peak.Load(), "one in flight to a at once")
	assert.Equal(t, int32(1), b.peak.Load(), "one in flight to b at once")
	// Two requests each, one at a time per host, both hosts at once:
	// about two holds, not the four of one slot shared by the name.
	assert.Less(t, time.Since(start), 350*time.Millisecond, "the two ports shared one slot")
	assert.Equal(t, "a.example:443", limiterKey(u(t, "https://A.example/x")))
	assert.Equal(t, "a.example:443", limiterKey(u(t, "https://a.example:443/x")))
	assert.Equal(t, "a.example:80", limiterKey(u(t, "http://a.example/x")))
	assert.Equal(t, "[::1]:8080", limiterKey(u(t, "http://[::1]:8080/x")))
}

// Waiting for a slot ends with the caller's context, and nothing is sent.
func TestHTTPTransportMaxPerHostWaitRespectsContext(t *testing.T) {
	release := make(chan struct{})
	var hits atomic.Int32
	arrived := make(chan struct{}, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if hits.Add(1) == 1 {
			arrived <- struct{}{}
			<-release
		}
		okDocument(w, r)
	}))
	t.Cleanup(srv.Close)
	tr := loopbackTransport(HTTPTransportOptions{MaxPerHost: 1})

	first := make(chan error, 1)
	go func() {
		_, err := tr.Get(context.Background(), u(t, srv.URL+"/slow"), nil)
		first <- err
	}()
	<-arrived
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := tr.Get(ctx, u(t, srv.URL+"/waiting"), nil)
	assert.True(t, errors.Is(err, context.DeadlineExceeded), "err = %v", err)
	assert.Less(t, time.Since(start), time.Second)
	assert.Equal(t, int32(1), hits.Load(), "the waiting request was not sent")

	close(release)
	require.NoError(t, <-first)
	_, err = tr.Get(context.Background(), u(t, srv.URL+"/after"), nil)
	require.NoError(t, err, "the slot came back")
}

func TestHTTPTransportMaxPerHostDefault(t *testing.T) {
	l, ok := NewHTTPTransport(nil).client.Transport.(*hostLimiter)
	require.True(t, ok)
	assert.Equal(t, DefaultMaxPerHost, l.max)
	_, ok = NewHTTPTransport(&HTTPTransportOptions{MaxPerHost: -1}).client.Transport.(*hostLimiter)
	assert.False(t, ok, "a negative MaxPerHost removes the cap")
}

// A fetch deadline in the context ends the transport's requests, not the
// context: the caller's other work goes on.
func TestHTTPTransportFetchDeadline(t *testing.T) {
	release := make(chan struct{})
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		<-release
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) })
	tr := loopbackTransport(HTTPTransportOptions{}) // Timeout left at 30s

	ctx := WithFetchDeadline(context.Background(), time.Now().Add(200*time.Millisecond))
	start := time.Now()
	_, err := tr.Get(ctx, u(t, srv.URL+"/x"), nil)
	assert.True(t, errors.Is(err, context.DeadlineExceeded), "err = %v", err)
	assert.Less(t, time.Since(start), time.Second)
	assert.NoError(t, ctx.Err(), "the context itself is not ended")

	// Once passed, it fails further requests at once, sending nothing.
	_, err = tr.Get(ctx, u(t, srv.URL+"/y"), nil)
	assert.True(t, errors.Is(err, context.DeadlineExceeded), "err = %v", err)
	assert.Equal(t, int32(1), hits.Load())

	// The earlier of two fetch deadlines holds.
	early := time.Now().Add(time.Second)
	ctx = WithFetchDeadline(WithFetchDeadline(context.Background(), early), early.Add(time.Hour))
	d, ok := FetchDeadline(ctx)
	assert.True(t, ok)
	assert.Equal(t, early, d)
	ctx = WithFetchDeadline(WithFetchDeadline(context.Background(), early.Add(time.Hour)), early)
	d, _ = FetchDeadline(ctx)
	assert.Equal(t, early, d)
}
