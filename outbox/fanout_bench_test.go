//go:build unix

package outbox_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/slothpub/slothpub/actor"
	"github.com/slothpub/slothpub/ap"
	"github.com/slothpub/slothpub/deref"
	"github.com/slothpub/slothpub/httpsig"
	"github.com/slothpub/slothpub/outbox"
	"github.com/slothpub/slothpub/store"
	"github.com/slothpub/slothpub/store/memstore"
	"github.com/slothpub/slothpub/store/sqlitestore"
	"github.com/slothpub/slothpub/store/storetest"
	"github.com/slothpub/slothpub/store/worker"
)

// The fan-out benchmarks: one post of a local actor to many followers on
// many hosts, all on 127.0.0.1 (each host a listener of its own, so a
// distinct host:port), over real HTTP with RSA-2048 signatures, the jobs
// on a real worker over memstore or SQLite.

const (
	fanHosts     = 100   // loopback hosts the followers live on
	fanFollowers = 10000 // followers of the 10k benchmarks
	// fanConcurrency is the worker's concurrency: enough deliveries in
	// flight to keep both cores signing while others wait for their
	// answer.
	fanConcurrency = 32
	fanLocalHost   = "local.example"
)

// fanHostSet is the loopback hosts: each answers every POST 202 at once,
// after reading the body, and counts it. Every POST must carry a
// Signature.
type fanHostSet struct {
	servers  []*httptest.Server
	bases    []string // http://127.0.0.1:port
	received atomic.Int64
	unsigned atomic.Int64
	conns    atomic.Int64 // connections accepted, over all hosts
	target   atomic.Int64 // when received reaches it, done gets a value
	done     chan struct{}
}

func newFanHostSet(tb testing.TB, n int) *fanHostSet {
	h := &fanHostSet{done: make(chan struct{}, 1)}
	h.target.Store(-1)
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		if r.Method != http.MethodPost || r.Header.Get("Signature") == "" || r.Header.Get("Digest") == "" {
			h.unsigned.Add(1)
		}
		w.WriteHeader(http.StatusAccepted)
		if got := h.received.Add(1); got == h.target.Load() {
			select {
			case h.done <- struct{}{}:
			default:
			}
		}
	})
	for range n {
		s := httptest.NewUnstartedServer(handler)
		s.Config.ConnState = func(_ net.Conn, st http.ConnState) {
			if st == http.StateNew {
				h.conns.Add(1)
			}
		}
		s.Config.ErrorLog = nil
		s.Start()
		tb.Cleanup(s.Close)
		h.servers = append(h.servers, s)
		h.bases = append(h.bases, s.URL)
	}
	return h
}

// expect arms done for when n more POSTs than now have arrived, and
// returns a function that waits for them.
func (h *fanHostSet) expect(tb testing.TB, n int64) func() {
	want := h.received.Load() + n
	h.target.Store(want)
	select { // a stale signal
	case <-h.done:
	default:
	}
	return func() {
		tb.Helper()
		if h.received.Load() >= want {
			return
		}
		select {
		case <-h.done:
		case <-time.After(10 * time.Minute):
			tb.Fatalf("fan-out: %d of %d POSTs after 10 minutes", h.received.Load(), want)
		}
	}
}

// computedResolver resolves every remote actor from its IRI alone
// (inbox IRI+"/inbox", shared inbox the host's /inbox when shared), so
// that 100,000 followers need no documents in memory.
type computedResolver struct{ shared bool }

func (r computedResolver) Actor(_ context.Context, iri *url.URL) (*deref.Actor, error) {
	a := &deref.Actor{IRI: iri.String(), Type: "Person", Inbox: iri.String() + "/inbox"}
	if r.shared {
		a.SharedInbox = iri.Scheme + "://" + iri.Host + "/inbox"
	}
	return a, nil
}

// fanEnv is one sending instance (alice on local.example) over db, with
// its worker running, and the followers on hosts.
type fanEnv struct {
	db     *store.DB
	actors *actor.Directory
	alice  *actor.Actor
	hosts  *fanHostSet
	tr     *ap.HTTPTransport
	w      *worker.Worker
	ob     *outbox.Outbox
	// followers is how many followers alice has: follower(i) is the IRI
	// of each. The benchmark keeps no list of them, so that the heap it
	// measures holds them once, in the store, as a server's would.
	followers int
	null      *nullTransport // when the config named one
}

type fanConfig struct {
	// forgetSent sets outbox.Options.ForgetSent.
	forgetSent bool
	followers  int
	hosts      int
	shared     bool
	// documents stores each follower's actor document (the real
	// deref.Resolver reads them from the store, fetching nothing);
	// without it a computedResolver answers.
	documents bool
	// transport, if set, replaces HTTP to the hosts.
	transport *nullTransport
	// page is Options.FanoutPage (0: the default).
	page int
}

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

func openMem(testing.TB) *store.DB { return memstore.New() }

func openSQLite(tb testing.TB) *store.DB { return openSQLiteSync(tb, sqlitestore.SyncFull) }

// openSQLiteNormal is openSQLite with commits that are not fsynced
// (sqlitestore.SyncNormal), for comparison.
func openSQLiteNormal(tb testing.TB) *store.DB { return openSQLiteSync(tb, sqlitestore.SyncNormal) }

func openSQLiteSync(tb testing.TB, sync sqlitestore.Sync) *store.DB {
	d, err := sqlitestore.OpenDriver(context.Background(), filepath.Join(tb.TempDir(), "fanout.db"), &sqlitestore.Options{Sync: sync})
	require.NoError(tb, err)
	db := store.Open(d, nil)
	tb.Cleanup(func() { _ = db.Close() })
	commitCounters.Store(db, d)
	return db
}

// commitCounters maps a SQLite store of a benchmark to its driver, whose
// commits it reports.
var commitCounters sync.Map

// commits returns the COMMITs db has made so far, or -1 when it does not
// count them (memstore).
func commits(db *store.DB) int64 {
	if d, ok := commitCounters.Load(db); ok {
		return d.(*sqlitestore.Driver).Stats().Commits
	}
	return -1
}

// units returns the units of work db's SQLite driver committed, or -1.
func units(db *store.DB) int64 {
	if d, ok := commitCounters.Load(db); ok {
		return d.(*sqlitestore.Driver).Stats().Units
	}
	return -1
}

// followerIRI is the i-th follower, on host i % len(bases): consecutive
// followers are on different hosts, as on a real instance.
func followerIRI(bases []string, i int) string {
	return fmt.Sprintf("%s/users/u%06d", bases[i%len(bases)], i)
}

// follower is the IRI of alice's follower i.
func (e *fanEnv) follower(i int) string { return followerIRI(e.hosts.bases, i) }

func newFanEnv(tb testing.TB, db *store.DB, cfg fanConfig) *fanEnv {
	ctx := context.Background()
	e := &fanEnv{db: db, hosts: newFanHostSet(tb, cfg.hosts)}
	e.actors = actor.NewDirectory(db, fanLocalHost, &actor.Options{Logger: discardLogger()})
	var err error
	e.alice, err = e.actors.Create(ctx, "alice")
	require.NoError(tb, err)
	instance, err := e.actors.Instance(ctx)
	require.NoError(tb, err)
	e.followers = cfg.followers
	// The followers, a store unit per 1,000 (as many writes per unit as
	// an import would make), each with its actor document when asked.
	coll := e.alice.Followers().String()
	for start := 0; start < e.followers; start += 1000 {
		require.NoError(tb, db.Update(ctx, func(tx *store.Tx) error {
			for i := start; i < min(start+1000, e.followers); i++ {
				f := e.follower(i)
				if cfg.documents {
					if err := tx.CreateObject(ctx, &store.Object{IRI: f, Type: "Person", Actor: f, Data: actorDocument(f, cfg.shared)}); err != nil {
						return err
					}
				}
				if err := tx.AddItem(ctx, coll, f); err != nil {
					return err
				}
			}
			return nil
		}))
	}
	e.tr = ap.NewHTTPTransport(&ap.HTTPTransportOptions{AllowPrivate: true, Logger: discardLogger()})
	var res outbox.ActorResolver = computedResolver{shared: cfg.shared}
	if cfg.documents {
		res = deref.New(db, e.tr, instance.Signer(), &deref.Options{LocalHost: fanLocalHost})
	}
	var tr ap.Transport = e.tr
	if cfg.transport != nil {
		e.null, tr = cfg.transport, cfg.transport
	}
	e.w = worker.New(db, &worker.Options{Concurrency: fanConcurrency, Logger: discardLogger()})
	e.ob, err = outbox.New(db, e.actors, tr, res, &outbox.Options{Worker: e.w, Logger: discardLogger(), FanoutPage: cfg.page, ForgetSent: cfg.forgetSent})
	require.NoError(tb, err)
	runCtx, cancel := context.WithCancel(ctx)
	ran := make(chan struct{})
	go func() { defer close(ran); _ = e.w.Run(runCtx) }()
	tb.Cleanup(func() {
		sctx, scancel := context.WithTimeout(ctx, 10*time.Second)
		defer scancel()
		_ = e.w.Shutdown(sctx)
		cancel()
		<-ran
	})
	return e
}

// actorDocument is a follower's actor document as a Mastodon would serve
// it (without the key, which the fan-out does not read).
func actorDocument(iri string, shared bool) []byte {
	u, _ := url.Parse(iri)
	base := u.Scheme + "://" + u.Host
	doc := fmt.Sprintf(`{"@context":["https://www.w3.org/ns/activitystreams","https://w3id.org/security/v1"],`+
		`"id":%q,"type":"Person","preferredUsername":%q,"inbox":%q,"outbox":%q,"followers":%q,"following":%q`,
		iri, u.Path[strings.LastIndexByte(u.Path, '/')+1:], iri+"/inbox", iri+"/outbox", iri+"/followers", iri+"/following")
	if shared {
		doc += fmt.Sprintf(`,"endpoints":{"sharedInbox":%q}`, base+"/inbox")
	}
	return []byte(doc + "}")
}

// note posts a public Create(Note) by alice to her followers and returns
// its id.
func (e *fanEnv) note(tb testing.TB, i int) *url.URL {
	tb.Helper()
	n := ap.NewNote(nil, e.alice.IRI(), fmt.Sprintf("<p>Fan-out benchmark note %d: one post, many followers, every delivery signed.</p>", i), time.Now())
	ap.SetTo(n, ap.PublicURL())
	ap.SetCc(n, e.alice.Followers())
	id, err := e.ob.Post(context.Background(), e.alice, n)
	require.NoError(tb, err)
	return id
}

// settle waits until no fan-out or delivery is pending.
func (e *fanEnv) settle(tb testing.TB) {
	tb.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		n, err := e.ob.Pending(context.Background())
		require.NoError(tb, err)
		if n == 0 {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("%d jobs still pending", n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// floorRequests builds the requests of one fan-out as HTTPTransport
// builds them before signing (method, URL, User-Agent, Date,
// Content-Type, Accept), one per inbox.
func floorRequests(tb testing.TB, inboxes []string, body []byte) []*http.Request {
	reqs := make([]*http.Request, len(inboxes))
	date := time.Now().UTC().Format(http.TimeFormat)
	for i, in := range inboxes {
		r, err := http.NewRequest(http.MethodPost, in, nil)
		require.NoError(tb, err)
		r.Header.Set("User-Agent", ap.DefaultUserAgent)
		r.Header.Set("Date", date)
		r.Header.Set("Content-Type", ap.ContentType)
		r.Header.Set("Accept", ap.AcceptHeader)
		reqs[i] = r
	}
	return reqs
}

// signFloor signs every request with s as HTTPTransport signs a POST to
// a host it knows nothing about (SignRequestScheme, draft-cavage-12, the
// same body each time, so the Signer's digest memo works as in a
// fan-out), on GOMAXPROCS goroutines, and returns the wall time.
func signFloor(tb testing.TB, s *httpsig.Signer, reqs []*http.Request, body []byte) time.Duration {
	var next atomic.Int64
	var wg sync.WaitGroup
	var failed atomic.Value
	start := time.Now()
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= len(reqs) {
					return
				}
				if err := s.SignRequestScheme(reqs[i], body, httpsig.SchemeCavage); err != nil {
					failed.Store(err)
					return
				}
			}
		})
	}
	wg.Wait()
	took := time.Since(start)
	if err, _ := failed.Load().(error); err != nil {
		tb.Fatal(err)
	}
	return took
}

// cpuTime is the CPU time (user and system) the process has used: the
// sender, the receiving hosts and everything else in it.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// inboxes returns the inbox every follower is delivered to (one per
// follower without shared inboxes).
func (e *fanEnv) inboxes() []string {
	out := make([]string, e.followers)
	for i := range out {
		out[i] = e.follower(i) + "/inbox"
	}
	return out
}

var fanStores = []struct {
	name string
	open func(testing.TB) *store.DB
}{
	{"memstore", openMem},
	{"sqlite", openSQLite},
	{"sqlite-sync-normal", openSQLiteNormal},
}

// fanModes are the outbox settings the fan-out benchmarks run with, the
// suffix of their names: the defaults, and ForgetSent.
var fanModes = []struct {
	suffix     string
	forgetSent bool
}{{"", false}, {"-forget-sent", true}}

// BenchmarkFanout10kNoSharedInbox: one op is one Post of a public
// Create(Note) by alice to her 10,000 followers, spread over 100 loopback
// hosts without shared inboxes, until all 10,000 signed POSTs (RSA-2048,
// draft-cavage, Digest) have been received. The followers' actor
// documents are in the store, and a warm-up post before the timer
// resolved them into the outbox's inbox cache, so an op is fan-out,
// signing and POSTing, not fetching.
//
// After each op, with the timer stopped, the floor: the same 10,000
// signatures (same signer, same body, same code path as HTTPTransport's,
// on all cores). ratio is floor time / fan-out time, that is signed
// POSTs/s over floor signatures/s (target ≥ 0.85). Per delivery, during
// the ops: claims/delivery, the worker's Claim units; on SQLite,
// units/delivery (units of work committed) and commits/delivery.
func BenchmarkFanout10kNoSharedInbox(b *testing.B) {
	for _, s := range fanStores {
		for _, m := range fanModes {
			b.Run(s.name+m.suffix, func(b *testing.B) { benchFanout10k(b, s.open(b), m.forgetSent) })
		}
	}
}

func benchFanout10k(b *testing.B, db *store.DB, forgetSent bool) {
	e := newFanEnv(b, db, fanConfig{followers: fanFollowers, hosts: fanHosts, documents: true, forgetSent: forgetSent})
	inboxes := e.inboxes()
	wait := e.hosts.expect(b, fanFollowers)
	e.note(b, -1) // warm-up: resolves the followers, opens connections
	wait()
	e.settle(b)
	var fan, floor, fanCPU, floorCPU time.Duration
	var ncommits, nunits, nclaims int64
	b.ResetTimer()
	for i := range b.N {
		wait := e.hosts.expect(b, fanFollowers)
		c0, u0, cl0 := commits(e.db), units(e.db), e.w.Stats().ClaimCalls
		cpu0 := cpuTime()
		start := time.Now()
		id := e.note(b, i)
		wait()
		fan += time.Since(start)
		fanCPU += cpuTime() - cpu0
		ncommits += commits(e.db) - c0
		nunits += units(e.db) - u0
		nclaims += e.w.Stats().ClaimCalls - cl0
		b.StopTimer()
		e.settle(b)
		obj, err := e.db.GetObject(context.Background(), id.String())
		require.NoError(b, err)
		reqs := floorRequests(b, inboxes, obj.Data)
		cpu0 = cpuTime()
		floor += signFloor(b, e.alice.Signer(), reqs, obj.Data)
		floorCPU += cpuTime() - cpu0
		b.StartTimer()
	}
	b.StopTimer()
	require.Equal(b, int64(b.N+1)*fanFollowers, e.hosts.received.Load(), "POSTs received")
	require.Zero(b, e.hosts.unsigned.Load(), "unsigned POSTs")
	n := float64(b.N)
	b.ReportMetric(n/fan.Seconds(), "posts/s")
	b.ReportMetric(n*fanFollowers/fan.Seconds(), "POSTs/s")
	b.ReportMetric(n*fanFollowers/floor.Seconds(), "floor-sigs/s")
	b.ReportMetric(floor.Seconds()/fan.Seconds(), "ratio")
	b.ReportMetric(floorCPU.Seconds()/fanCPU.Seconds(), "cpu-ratio")
	b.ReportMetric(fanCPU.Seconds()/fan.Seconds(), "fan-cores")
	b.ReportMetric(floorCPU.Seconds()/floor.Seconds(), "floor-cores")
	b.ReportMetric(float64(e.hosts.conns.Load())/float64(b.N+1), "conns/op")
	b.ReportMetric(float64(nclaims)/(n*fanFollowers), "claims/delivery")
	if commits(e.db) >= 0 {
		b.ReportMetric(float64(ncommits)/(n*fanFollowers), "commits/delivery")
		b.ReportMetric(float64(nunits)/(n*fanFollowers), "units/delivery")
	}
}

// BenchmarkFanoutSharedInbox: the same 10,000 followers on 100 hosts,
// each host with a shared inbox: one op is one Post delivered, which must
// be exactly 100 POSTs, one per host.
func BenchmarkFanoutSharedInbox(b *testing.B) {
	for _, s := range fanStores {
		b.Run(s.name, func(b *testing.B) {
			e := newFanEnv(b, s.open(b), fanConfig{followers: fanFollowers, hosts: fanHosts, shared: true, documents: true})
			wait := e.hosts.expect(b, fanHosts)
			e.note(b, -1)
			wait()
			e.settle(b)
			require.Equal(b, int64(fanHosts), e.hosts.received.Load(), "POSTs of the warm-up post")
			var fan time.Duration
			b.ResetTimer()
			for i := range b.N {
				before := e.hosts.received.Load()
				wait := e.hosts.expect(b, fanHosts)
				start := time.Now()
				e.note(b, i)
				wait()
				fan += time.Since(start)
				b.StopTimer()
				e.settle(b) // every delivery done: no POST may follow
				if got := e.hosts.received.Load() - before; got != fanHosts {
					b.Fatalf("one post to 10,000 followers on %d shared inboxes made %d POSTs", fanHosts, got)
				}
				b.StartTimer()
			}
			b.StopTimer()
			b.ReportMetric(float64(b.N)/fan.Seconds(), "posts/s")
			b.ReportMetric(float64(fanHosts), "POSTs/post")
		})
	}
}

// nullTransport accepts every POST at once, unsigned and unsent: the
// deliveries then cost only the outbox's, the worker's and the store's
// work.
type nullTransport struct {
	posts  atomic.Int64
	target atomic.Int64
	done   chan struct{}
}

func newNullTransport() *nullTransport {
	t := &nullTransport{done: make(chan struct{}, 1)}
	t.target.Store(-1)
	return t
}

// expect arms done for when n more POSTs than now have been made.
func (t *nullTransport) expect(n int64) {
	t.target.Store(t.posts.Load() + n)
	select {
	case <-t.done:
	default:
	}
}

func (t *nullTransport) Get(context.Context, *url.URL, ap.RequestSigner) (*ap.Response, error) {
	return nil, fmt.Errorf("nullTransport: no GET")
}

func (t *nullTransport) Post(context.Context, *url.URL, []byte, ap.RequestSigner) error {
	if t.posts.Add(1) == t.target.Load() {
		t.done <- struct{}{}
	}
	return nil
}

// BenchmarkFanoutMachinery is BenchmarkFanout10kNoSharedInbox without
// the signatures and the network: the transport accepts each POST at
// once, unsigned. One op is one Post to the 10,000 followers until every
// delivery job is finished; us/delivery is what the fan-out, the worker
// and the store spend per delivery, which the signature (about 850 µs of
// RSA-2048 on one core) must dwarf for the 10k benchmark to reach its
// floor.
func BenchmarkFanoutMachinery(b *testing.B) {
	for _, s := range fanStores {
		b.Run(s.name, func(b *testing.B) {
			e := newFanEnv(b, s.open(b), fanConfig{followers: fanFollowers, hosts: fanHosts, documents: true, transport: newNullTransport()})
			e.note(b, -1)
			e.settle(b)
			var fan, cpu time.Duration
			b.ResetTimer()
			for i := range b.N {
				e.null.expect(fanFollowers)
				cpu0 := cpuTime()
				start := time.Now()
				e.note(b, i)
				<-e.null.done
				fan += time.Since(start)
				cpu += cpuTime() - cpu0
				b.StopTimer()
				e.settle(b)
				b.StartTimer()
			}
			b.StopTimer()
			if got := e.null.posts.Load(); got != int64(b.N+1)*fanFollowers {
				b.Fatalf("%d deliveries, want %d", got, (b.N+1)*fanFollowers)
			}
			b.ReportMetric(float64(fan.Microseconds())/float64(b.N*fanFollowers), "us/delivery")
			b.ReportMetric(float64(cpu.Microseconds())/float64(b.N*fanFollowers), "cpu-us/delivery")
		})
	}
}

// heapSampler samples the heap every few milliseconds while it runs:
// the bytes of heap objects (live and not yet swept, what
// MemStats.HeapAlloc reports) and, after each GC, the live heap.
type heapSampler struct {
	stop      chan struct{}
	done      chan struct{}
	peak      uint64 // heap objects bytes
	peakLive  uint64 // /gc/heap/live:bytes
	samples   int
	intervals time.Duration
}

func startHeapSampler(every time.Duration) *heapSampler {
	h := &heapSampler{stop: make(chan struct{}), done: make(chan struct{}), intervals: every}
	samples := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}, {Name: "/gc/heap/live:bytes"}}
	go func() {
		defer close(h.done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			metrics.Read(samples)
			h.peak = max(h.peak, samples[0].Value.Uint64())
			h.peakLive = max(h.peakLive, samples[1].Value.Uint64())
			h.samples++
			select {
			case <-h.stop:
				return
			case <-t.C:
			}
		}
	}()
	return h
}

func (h *heapSampler) finish() { close(h.stop); <-h.done }

func heapNow() (objects, live uint64) {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}, {Name: "/gc/heap/live:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64(), s[1].Value.Uint64()
}

const mib = 1 << 20

// BenchmarkPost100kFollowers: alice has 100,000 followers on 100
// loopback hosts, without shared inboxes, inserted by store units (not by
// Follow activities). One op is one Post of a public Create(Note) to
// them, then its whole fan-out, 100,000 signed POSTs, until all are
// received. Reported: Post-ms, the time Post took to return (target < 50
// ms), and the peak heap during the fan-out (the bytes of heap objects,
// sampled every 2 ms: peak-heap-MiB, target < 64 MiB), with the heap
// right before the Post after a GC (base-heap-MiB), the heap after the
// fan-out finished and a GC (final-heap-MiB: for memstore, what the store
// now holds: 100,000 finished delivery jobs, their records and the
// inboxes learnt), the peak of the live heap after each GC, and Post0-ms,
// a Post without followers for comparison. The followers are resolved by
// a resolver that answers from the IRI alone (no documents in memory),
// during the op: the inbox cache is cold.
func BenchmarkPost100kFollowers(b *testing.B) {
	const followers = 100000
	for _, s := range fanStores {
		for _, m := range fanModes {
			b.Run(s.name+m.suffix, func(b *testing.B) { benchPost100k(b, s.open(b), m.forgetSent) })
		}
	}
}

func benchPost100k(b *testing.B, db *store.DB, forgetSent bool) {
	const followers = 100000
	e := newFanEnv(b, db, fanConfig{followers: followers, hosts: fanHosts, forgetSent: forgetSent})
	// Warm-up of Post's path, with an audience of none: the
	// second of these is Post without followers to expand.
	var post0 time.Duration
	for range 2 {
		n := ap.NewNote(nil, e.alice.IRI(), "<p>warm-up</p>", time.Now())
		ap.SetTo(n, ap.PublicURL())
		start := time.Now()
		_, err := e.ob.Post(context.Background(), e.alice, n)
		post0 = time.Since(start)
		require.NoError(b, err)
		e.settle(b)
	}
	var post time.Duration
	var peak, peakLive, base, final uint64
	var sum time.Duration
	b.ResetTimer()
	for i := range b.N {
		b.StopTimer()
		runtime.GC()
		objects, _ := heapNow()
		base = max(base, objects)
		wait := e.hosts.expect(b, followers)
		hs := startHeapSampler(2 * time.Millisecond)
		b.StartTimer()
		start := time.Now()
		e.note(b, i)
		took := time.Since(start)
		wait()
		sum += time.Since(start)
		b.StopTimer()
		hs.finish()
		post = max(post, took)
		peak, peakLive = max(peak, hs.peak), max(peakLive, hs.peakLive)
		e.settle(b)
		runtime.GC()
		objects, _ = heapNow()
		final = max(final, objects)
		b.StartTimer()
	}
	b.StopTimer()
	require.Zero(b, e.hosts.unsigned.Load(), "unsigned POSTs")
	b.ReportMetric(float64(post.Microseconds())/1000, "Post-ms")
	b.ReportMetric(float64(post0.Microseconds())/1000, "Post0-ms")
	b.ReportMetric(float64(final)/mib, "final-heap-MiB")
	b.ReportMetric(float64(peak)/mib, "peak-heap-MiB")
	b.ReportMetric(float64(peakLive)/mib, "peak-live-MiB")
	b.ReportMetric(float64(base)/mib, "base-heap-MiB")
	b.ReportMetric(float64(b.N)*followers/sum.Seconds(), "POSTs/s")
}

// TestPostCostIndependentOfFollowers checks, with the worker stopped, that
// Post writes the same things whether alice has 3 followers or 20,000:
// the activity, the note, the outbox entry and one fan-out job whose
// payload does not grow with the audience. The followers are read by the
// fan-out job, page by page, after Post returned.
func TestPostCostIndependentOfFollowers(t *testing.T) {
	writesOf := func(followers int) (writes []string, payload int) {
		ctx := context.Background()
		rec := storetest.NewRecorder(memstore.NewDriver())
		db := store.Open(rec, nil)
		actors := actor.NewDirectory(db, fanLocalHost, &actor.Options{Logger: discardLogger()})
		alice, err := actors.Create(ctx, "alice")
		require.NoError(t, err)
		require.NoError(t, db.Update(ctx, func(tx *store.Tx) error {
			for i := range followers {
				if err := tx.AddItem(ctx, alice.Followers().String(), fmt.Sprintf("https://h%d.example/users/u%d", i%100, i)); err != nil {
					return err
				}
			}
			return nil
		}))
		w := worker.New(db, &worker.Options{Logger: discardLogger()}) // never run
		ob, err := outbox.New(db, actors, ap.NewHTTPTransport(nil), computedResolver{}, &outbox.Options{Worker: w, Logger: discardLogger()})
		require.NoError(t, err)
		before := rec.Count()
		n := ap.NewNote(nil, alice.IRI(), "<p>hello</p>", time.Now())
		ap.SetTo(n, ap.PublicURL())
		ap.SetCc(n, alice.Followers())
		_, err = ob.Post(ctx, alice, n)
		require.NoError(t, err)
		for _, w := range rec.Since(before) {
			op, _, _ := strings.Cut(w, " ")
			writes = append(writes, op)
		}
		sort.Strings(writes)
		jobs, err := db.Jobs(ctx, store.JobQuery{Kinds: []string{outbox.FanoutKind}})
		require.NoError(t, err)
		require.Len(t, jobs, 1)
		return writes, len(jobs[0].Payload)
	}
	few, fewPayload := writesOf(3)
	many, manyPayload := writesOf(20000)
	require.Equal(t, few, many, "Post's writes")
	require.Equal(t, fewPayload, manyPayload, "fan-out payload bytes")
	require.LessOrEqual(t, len(many), 8, "Post's writes: %v", many)
}
