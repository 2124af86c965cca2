//go:build unix

package main

// Crash and multi-process tests of the reference server: the binary runs
// as a real child process on loopback, is killed with SIGKILL or stopped
// with SIGTERM at the worst moments, started again on the same data, and
// what it accepted or queued is checked from outside (loopback peers that
// verify every signed POST) and in its store (opened by the test with the
// store packages, as another process would).
//
// PostgreSQL: the tests find the server through SLOTHPUB_PG_DSN, else the
// DSN .ci/run creates (store/pgstore's convention); a server that does not
// answer fails the tests. Each test runs in a schema of its own
// (--db-schema), dropped after it.

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	gofed "github.com/go-fed/httpsig"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slothpub/slothpub/actor"
	"github.com/slothpub/slothpub/ap"
	"github.com/slothpub/slothpub/inbox"
	"github.com/slothpub/slothpub/internal/pgtest"
	"github.com/slothpub/slothpub/outbox"
	"github.com/slothpub/slothpub/store"
	"github.com/slothpub/slothpub/store/pgstore"
	"github.com/slothpub/slothpub/store/sqlitestore"
)

// crashLease is the --lease of the servers under test: the jobs a killed
// process held are taken again this long after its last renewal (1m by
// default, which would make every test wait a minute).
const crashLease = "3s"

// ------------------------------------------------------------- the binary

var (
	binDir    string // made by TestMain, removed after the tests
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "slothpub-instance-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "temp dir:", err)
		os.Exit(1)
	}
	binDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// serverBinary builds the server once per test binary, into binDir.
func serverBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		binPath = filepath.Join(binDir, "instance")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	require.NoError(t, buildErr)
	return binPath
}

// ---------------------------------------------------------------- stores

var quietLog = slog.New(slog.DiscardHandler)

// backend is where a server keeps its state: the flags that say so, and
// how the test opens the same store.
type backend struct {
	name string
	args []string
	open func(t *testing.T) *store.DB
}

func sqliteBackend(t *testing.T) backend { return sqliteBackendSync(t, sqlitestore.SyncFull) }

// sqliteNormalBackend is sqliteBackend with --sqlite-sync normal: commits
// not fsynced, which a killed process must not lose either (only a
// machine's crash may).
func sqliteNormalBackend(t *testing.T) backend { return sqliteBackendSync(t, sqlitestore.SyncNormal) }

func sqliteBackendSync(t *testing.T, sync sqlitestore.Sync) backend {
	dir := t.TempDir()
	be := backend{
		name: "sqlite",
		args: []string{"--data", dir},
		open: func(t *testing.T) *store.DB {
			t.Helper()
			db, err := sqlitestore.Open(context.Background(), filepath.Join(dir, "slothpub.db"), &sqlitestore.Options{Logger: quietLog, Sync: sync})
			require.NoError(t, err)
			return db
		},
	}
	if sync != sqlitestore.SyncFull {
		be.name += "-sync-" + sync.String()
		be.args = append(be.args, "--sqlite-sync", sync.String())
	}
	return be
}

// pgBackend is a new schema on the test server, dropped when t ends
// (after the servers using it are stopped: cleanups run last first).
func pgBackend(t *testing.T) backend {
	dsn := pgtest.DSN(t)
	schema := pgtest.Schema(t, "instancetest_")
	return backend{
		name: "postgres",
		args: []string{"--db", dsn, "--db-schema", schema},
		open: func(t *testing.T) *store.DB {
			t.Helper()
			drv, err := pgstore.Open(context.Background(), dsn, &pgstore.Options{Schema: schema, Logger: quietLog})
			require.NoError(t, err)
			return store.Open(drv, &store.Options{Logger: quietLog})
		},
	}
}

// jobCounts counts the jobs of kind by state.
func jobCounts(t *testing.T, db *store.DB, kind string) map[store.JobState]int {
	t.Helper()
	out := map[store.JobState]int{}
	for _, s := range []store.JobState{store.JobAvailable, store.JobRunning, store.JobRetryable, store.JobCompleted, store.JobDiscarded} {
		n, err := db.CountJobs(context.Background(), store.JobQuery{Kinds: []string{kind}, States: []store.JobState{s}})
		require.NoError(t, err)
		out[s] = n
	}
	return out
}

func unfinished(c map[store.JobState]int) int {
	return c[store.JobAvailable] + c[store.JobRunning] + c[store.JobRetryable]
}

// allJobs lists every job of kind.
func allJobs(t *testing.T, db *store.DB, kind string) []*store.Job {
	t.Helper()
	var out []*store.Job
	for after := int64(0); ; {
		page, err := db.Jobs(context.Background(), store.JobQuery{Kinds: []string{kind}, AfterID: after, Limit: store.MaxPageLimit})
		require.NoError(t, err)
		out = append(out, page...)
		if len(page) < store.MaxPageLimit {
			return out
		}
		after = page[len(page)-1].ID
	}
}

// ------------------------------------------------------------ the process

// instance is the server binary run as a child process. Start it again
// with start (same flags, same data) after kill or term.
type instance struct {
	t       *testing.T
	name    string
	addr    string // listen address
	host    string // --host
	args    []string
	logPath string

	cmd    *exec.Cmd
	exited chan struct{}
	runs   int
}

// newInstance prepares a server on a free loopback port with the given
// store and extra flags; host "" means its own address.
func newInstance(t *testing.T, name string, be backend, host string, extra ...string) *instance {
	addr := freePort(t)
	if host == "" {
		host = addr
	}
	args := []string{"serve", "--addr", addr, "--host", host, "--protocol", "http", "--allow-private",
		"--user", "alice", "--lease", crashLease, "--log-level", "debug"}
	args = append(append(args, be.args...), extra...)
	in := &instance{t: t, name: name, addr: addr, host: host, args: args,
		logPath: filepath.Join(t.TempDir(), name+".log")}
	t.Cleanup(func() {
		if in.running() {
			_ = in.cmd.Process.Kill()
			<-in.exited
		}
		if t.Failed() {
			t.Logf("%s log (last lines):\n%s", name, tail(in.log(), 60))
		}
	})
	return in
}

// environ is the test's environment without SLOTHPUB_ variables, which
// the server would read as flags.
func environ() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "SLOTHPUB_") {
			env = append(env, kv)
		}
	}
	return env
}

// start runs the server and waits until it serves.
func (in *instance) start() {
	t := in.t
	t.Helper()
	require.False(t, in.running(), "%s is running", in.name)
	f, err := os.OpenFile(in.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	require.NoError(t, err)
	in.runs++
	fmt.Fprintf(f, "===== %s: start %d\n", in.name, in.runs)
	cmd := exec.Command(serverBinary(t), in.args...)
	cmd.Env = environ()
	cmd.SysProcAttr = childAttrs()
	cmd.Stdout, cmd.Stderr = f, f
	require.NoError(t, cmd.Start())
	f.Close() // the child has its own descriptor
	in.cmd, in.exited = cmd, make(chan struct{})
	go func() { _ = cmd.Wait(); close(in.exited) }()

	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := client.Get("http://" + in.addr + "/.well-known/nodeinfo")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case <-in.exited:
			t.Fatalf("%s exited at start (%v):\n%s", in.name, cmd.ProcessState, tail(in.log(), 40))
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not serve within 30s:\n%s", in.name, tail(in.log(), 40))
		}
	}
}

func (in *instance) running() bool {
	if in.cmd == nil {
		return false
	}
	select {
	case <-in.exited:
		return false
	default:
		return true
	}
}

// kill sends SIGKILL and waits for the process to be gone.
func (in *instance) kill() {
	in.t.Helper()
	require.NoError(in.t, in.cmd.Process.Kill())
	<-in.exited
	ws := in.cmd.ProcessState.Sys().(syscall.WaitStatus)
	require.True(in.t, ws.Signaled() && ws.Signal() == syscall.SIGKILL, "%s: %v", in.name, in.cmd.ProcessState)
}

// term sends SIGTERM and returns how long the process took to exit, and
// its exit code (-1 when a signal ended it).
func (in *instance) term(limit time.Duration) (time.Duration, int) {
	in.t.Helper()
	start := time.Now()
	require.NoError(in.t, in.cmd.Process.Signal(syscall.SIGTERM))
	select {
	case <-in.exited:
	case <-time.After(limit):
		in.t.Fatalf("%s still running %v after SIGTERM", in.name, limit)
	}
	return time.Since(start), in.cmd.ProcessState.ExitCode()
}

func (in *instance) log() string {
	b, _ := os.ReadFile(in.logPath)
	return string(b)
}

func (in *instance) alice() string { return "http://" + in.host + "/users/alice" }

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// waitFor polls cond until it holds, failing t after timeout with what
// cond last said.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, state := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v (%s)", what, timeout, state)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// ------------------------------------------------------------------ peers

var (
	keyPoolOnce sync.Once
	keyPool     []*rsa.PrivateKey
)

// peerKey returns one of four RSA keys made once: every actor of a peer
// host signs with its host's key (each under its own key id), which keeps
// hundreds of actors cheap.
func peerKey(t *testing.T, i int) *rsa.PrivateKey {
	keyPoolOnce.Do(func() {
		for range 4 {
			k, err := rsa.GenerateKey(rand.Reader, 2048)
			if err != nil {
				panic(err)
			}
			keyPool = append(keyPool, k)
		}
	})
	return keyPool[i%len(keyPool)]
}

// keyCache holds the public keys of the instance's actors that peers
// verify deliveries with, fetched once per key id.
type keyCache struct {
	mu   sync.Mutex
	keys map[string]*rsa.PublicKey
}

func (c *keyCache) get(keyID string) (*rsa.PublicKey, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if k := c.keys[keyID]; k != nil {
		return k, nil
	}
	pub, err := fetchKey(keyID)
	if err != nil {
		return nil, err
	}
	k, ok := pub.(*rsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("key %s is %T", keyID, pub)
	}
	if c.keys == nil {
		c.keys = map[string]*rsa.PublicKey{}
	}
	c.keys[keyID] = k
	return k, nil
}

type peerMode int32

const (
	peerUp   peerMode = iota // actors served, inbox POSTs verified and answered 202
	peerDown                 // every request answered 503 with Retry-After: 1; see holdAfter
	peerHang                 // inbox POSTs held until the sender gives up or the mode changes
)

// peerHost is a foreign server on a loopback port with actors
// /users/0 ... /users/{n-1}, each with its own inbox and no shared inbox.
type peerHost struct {
	t    *testing.T
	srv  *httptest.Server
	key  *rsa.PrivateKey
	keys *keyCache

	// In peerDown, POSTs after the first holdAfter (if > 0) are held
	// until the sender gives up, then answered 503.
	holdAfter int64

	mu      sync.Mutex
	mode    peerMode
	changed chan struct{} // closed when the mode changes
	made    map[string]int
	types   map[string]int
	badSig  []string

	quit     chan struct{} // closed when the test ends: held requests return
	posts    atomic.Int64  // inbox POSTs since the last setMode, whatever the answer
	answered atomic.Int64  // of them, answered 503 (in peerDown)
	held     atomic.Int64  // POSTs being held now
}

// maxPerHostName is how many requests the server's transport has in
// flight to one host (name and port) at once (ap.DefaultMaxPerHost).
const maxPerHostName = ap.DefaultMaxPerHost

// serverWorkers is the server's --workers default: at most that many
// deliveries are in flight at once, whatever the hosts.
const serverWorkers = 16

func newPeerHost(t *testing.T, keys *keyCache, i int) *peerHost {
	h := &peerHost{t: t, key: peerKey(t, i), keys: keys, changed: make(chan struct{}),
		made: map[string]int{}, types: map[string]int{}, quit: make(chan struct{})}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /users/{n}", h.serveActor)
	mux.HandleFunc("POST /users/{n}/inbox", h.serveInbox)
	h.srv = httptest.NewServer(mux)
	t.Cleanup(func() { close(h.quit); h.srv.Close() })
	return h
}

func (h *peerHost) actorIRI(n int) string { return fmt.Sprintf("%s/users/%d", h.srv.URL, n) }

func (h *peerHost) setMode(m peerMode) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.mode = m
	h.posts.Store(0)
	h.answered.Store(0)
	close(h.changed)
	h.changed = make(chan struct{})
}

func (h *peerHost) state() (peerMode, chan struct{}) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.mode, h.changed
}

func (h *peerHost) down(w http.ResponseWriter) {
	h.answered.Add(1)
	down(w)
}

func down(w http.ResponseWriter) {
	w.Header().Set("Retry-After", "1")
	http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
}

func (h *peerHost) serveActor(w http.ResponseWriter, r *http.Request) {
	if m, _ := h.state(); m == peerDown {
		down(w)
		return
	}
	id := h.srv.URL + r.URL.Path
	der, _ := x509.MarshalPKIXPublicKey(&h.key.PublicKey)
	w.Header().Set("Content-Type", "application/activity+json")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"@context":          []string{"https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"},
		"id":                id,
		"type":              "Person",
		"preferredUsername": "u" + r.PathValue("n"),
		"inbox":             id + "/inbox",
		"outbox":            id + "/outbox",
		"publicKey": map[string]string{"id": id + "#main-key", "owner": id,
			"publicKeyPem": string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))},
	})
}

func (h *peerHost) serveInbox(w http.ResponseWriter, r *http.Request) {
	// The body is read first: only then does net/http watch the
	// connection and end r.Context() when the sender hangs up.
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	n := h.posts.Add(1)
	mode, changed := h.state()
	switch {
	case mode == peerDown && (h.holdAfter == 0 || n <= h.holdAfter):
		h.down(w)
		return
	case mode == peerDown:
		h.held.Add(1)
		select { // until the sender gives up (or dies)
		case <-r.Context().Done():
		case <-h.quit:
		}
		h.held.Add(-1)
		h.down(w)
		return
	case mode == peerHang:
		h.held.Add(1)
		select {
		case <-r.Context().Done():
			h.held.Add(-1)
			return
		case <-h.quit:
			h.held.Add(-1)
			down(w)
			return
		case <-changed:
			h.held.Add(-1)
			if m, _ := h.state(); m != peerUp {
				down(w)
				return
			}
		}
	}
	if err == nil {
		err = h.verify(r, body)
	}
	var act struct{ ID, Type string }
	if err == nil {
		err = json.Unmarshal(body, &act)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if err != nil {
		h.badSig = append(h.badSig, err.Error())
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return
	}
	h.made[act.ID+" "+r.URL.Path]++
	h.types[act.Type]++
	w.WriteHeader(http.StatusAccepted)
}

// verify checks a delivery as a foreign server would: Digest, Date, and
// the draft-cavage signature with the sender's key.
func (h *peerHost) verify(r *http.Request, body []byte) error {
	sum := sha256.Sum256(body)
	if got, want := r.Header.Get("Digest"), "SHA-256="+base64.StdEncoding.EncodeToString(sum[:]); got != want {
		return fmt.Errorf("digest %q, want %q", got, want)
	}
	if date, err := http.ParseTime(r.Header.Get("Date")); err != nil || time.Since(date).Abs() > time.Minute {
		return fmt.Errorf("bad Date %q", r.Header.Get("Date"))
	}
	v, err := gofed.NewVerifier(r)
	if err != nil {
		return err
	}
	pub, err := h.keys.get(v.KeyId())
	if err != nil {
		return err
	}
	return v.Verify(pub, gofed.RSA_SHA256)
}

// madeOf returns how often each of the inbox paths got activity id.
func (h *peerHost) madeOf(id string, n int) []int {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]int, n)
	for i := range n {
		out[i] = h.made[fmt.Sprintf("%s /users/%d/inbox", id, i)]
	}
	return out
}

func (h *peerHost) typeCount(typ string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.types[typ]
}

func (h *peerHost) badSignatures() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.badSig...)
}

var peerClient = &http.Client{
	Timeout:   30 * time.Second,
	Transport: &http.Transport{MaxIdleConnsPerHost: 64, MaxConnsPerHost: 64},
}

// send POSTs body to target signed as actor n of h (draft-cavage, as
// Mastodon signs) and returns the status.
func (h *peerHost) send(target string, n int, body []byte) (int, error) {
	req, err := http.NewRequest(http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/activity+json")
	req.Header.Set("Date", time.Now().UTC().Format(http.TimeFormat))
	req.Header.Set("Host", req.URL.Host)
	s, _, err := gofed.NewSigner([]gofed.Algorithm{gofed.RSA_SHA256}, gofed.DigestSha256,
		[]string{gofed.RequestTarget, "host", "date", "digest"}, gofed.Signature, 0)
	if err != nil {
		return 0, err
	}
	if err := s.SignRequest(h.key, h.actorIRI(n)+"#main-key", req, body); err != nil {
		return 0, err
	}
	resp, err := peerClient.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

// parallel runs fn(0..n-1) on `workers` goroutines.
func parallel(n, workers int, fn func(i int)) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				fn(i)
			}
		})
	}
	wg.Wait()
}

// followAlice makes actors 0..perHost-1 of every host follow alice with
// signed Follows, sent round robin to the given server processes, and
// waits until alice lists them all and every Accept has arrived.
func followAlice(t *testing.T, servers []*instance, hosts []*peerHost, perHost int) {
	t.Helper()
	alice := servers[0].alice()
	total := len(hosts) * perHost
	var failed atomic.Int64
	var firstErr sync.Once
	parallel(total, 16, func(i int) {
		h, n := hosts[i%len(hosts)], i/len(hosts)
		in := servers[i%len(servers)]
		follow := fmt.Appendf(nil, `{"@context":"https://www.w3.org/ns/activitystreams","id":"%s/follows/1","type":"Follow","actor":%q,"object":%q}`,
			h.actorIRI(n), h.actorIRI(n), alice)
		status, err := h.send("http://"+in.addr+"/users/alice/inbox", n, follow)
		if err != nil || status != http.StatusAccepted {
			failed.Add(1)
			firstErr.Do(func() { t.Errorf("Follow of %s: %d %v", h.actorIRI(n), status, err) })
		}
	})
	require.Zero(t, failed.Load(), "Follows not accepted")
	waitFor(t, 30*time.Second, "followers and Accepts", func() (bool, string) {
		accepts := 0
		for _, h := range hosts {
			accepts += h.typeCount("Accept")
		}
		var coll struct {
			TotalItems int `json:"totalItems"`
		}
		req, _ := http.NewRequest(http.MethodGet, alice+"/followers", nil)
		req.Header.Set("Accept", "application/activity+json")
		resp, err := peerClient.Do(req)
		if err == nil {
			_ = json.NewDecoder(resp.Body).Decode(&coll)
			resp.Body.Close()
		}
		return accepts == total && coll.TotalItems == total,
			fmt.Sprintf("%d of %d Accepts, %d followers", accepts, total, coll.TotalItems)
	})
	for _, h := range hosts {
		require.Empty(t, h.badSignatures())
	}
}

// postNotes publishes n public notes as alice, the way the server does
// (its own wiring, newServer, over the same store), from the test
// process: the reference server has no endpoint or command through which
// a local user posts. The fan-outs are then the running server's (or the
// next start's) work. It returns the Create ids.
func postNotes(t *testing.T, be backend, host string, n int) []string {
	t.Helper()
	ctx := context.Background()
	db := be.open(t)
	defer db.Close()
	c := &config{host: host, protocol: "http", user: "alice", allowPrivate: true, data: be.name}
	srv, err := newServer(ctx, db, c, quietLog)
	require.NoError(t, err)
	alice, err := actor.NewDirectory(db, host, &actor.Options{Scheme: "http"}).Get(ctx, "alice")
	require.NoError(t, err)
	ids := make([]string, n)
	for i := range n {
		doc := fmt.Sprintf(`{"@context":"https://www.w3.org/ns/activitystreams","type":"Create","to":[%q],"cc":[%q],`+
			`"object":{"type":"Note","content":"note %d","to":[%q],"cc":[%q]}}`,
			ap.PublicIRI, alice.Followers().String(), i, ap.PublicIRI, alice.Followers().String())
		v, err := ap.Parse(ctx, []byte(doc))
		require.NoError(t, err)
		id, err := srv.outbox.Post(ctx, alice, v)
		require.NoError(t, err)
		ids[i] = id.String()
	}
	return ids
}

// tally counts, for every activity in ids and every follower inbox of
// hosts, how often it was delivered: lost (never), once, and the
// duplicate POSTs beyond the first.
func tally(hosts []*peerHost, perHost int, ids []string) (lost, once, dups int) {
	for _, id := range ids {
		for _, h := range hosts {
			for _, c := range h.madeOf(id, perHost) {
				switch {
				case c == 0:
					lost++
				case c == 1:
					once++
				default:
					once++
					dups += c - 1
				}
			}
		}
	}
	return lost, once, dups
}

// ------------------------------------------------------------------ tests

// Issue 8: an activity the server answered 202 for is never lost, even
// when the process is killed right after the 202, and it is applied once.
// 500 signed Create(Note)s from 10 remote actors on two hosts arrive 32 at
// a time; the server is SIGKILLed as soon as the last answer is in,
// started again on the same data, and every accepted note must be stored
// and in alice's inbox exactly once, every processing job completed.
func TestKillAfterBurstOf202s(t *testing.T) {
	for _, mk := range []func(*testing.T) backend{sqliteBackend, sqliteNormalBackend, pgBackend} {
		be := mk(t)
		t.Run(be.name, func(t *testing.T) { killAfterBurst(t, be) })
	}
}

func killAfterBurst(t *testing.T, be backend) {
	const notes, actorsPerHost = 500, 5
	in := newInstance(t, "instance", be, "")
	in.start()
	keys := &keyCache{}
	hosts := []*peerHost{newPeerHost(t, keys, 0), newPeerHost(t, keys, 1)}
	alice := in.alice()

	type note struct{ create, object string }
	sent := make([]note, notes)
	status := make([]int, notes)
	parallel(notes, 32, func(i int) {
		h, n := hosts[i%2], (i/2)%actorsPerHost
		a := h.actorIRI(n)
		sent[i] = note{fmt.Sprintf("%s/creates/%d", a, i), fmt.Sprintf("%s/notes/%d", a, i)}
		body := fmt.Appendf(nil, `{"@context":"https://www.w3.org/ns/activitystreams","id":%q,"type":"Create","actor":%q,"to":[%q],`+
			`"object":{"id":%q,"type":"Note","attributedTo":%q,"to":[%q],"content":"burst %d"}}`,
			sent[i].create, a, alice, sent[i].object, a, alice, i)
		code, err := h.send("http://"+in.addr+"/users/alice/inbox", n, body)
		if err != nil {
			t.Errorf("POST %d: %v", i, err)
		}
		status[i] = code
	})
	in.kill() // right after the last answer
	killedAt := time.Now()

	var accepted []note
	others := map[int]int{}
	for i, s := range status {
		if s == http.StatusAccepted {
			accepted = append(accepted, sent[i])
		} else {
			others[s]++
		}
	}
	db := be.open(t)
	defer db.Close()
	atKill := jobCounts(t, db, inbox.ProcessKind)
	t.Logf("%s: %d POSTs, %d answered 202, others %v; at the kill: %d processed, %d running, %d waiting",
		be.name, notes, len(accepted), others, atKill[store.JobCompleted], atKill[store.JobRunning],
		atKill[store.JobAvailable]+atKill[store.JobRetryable])
	require.Equal(t, notes, len(accepted), "every well-signed Create is accepted (others: %v)", others)
	require.Equal(t, len(accepted), unfinished(atKill)+atKill[store.JobCompleted]+atKill[store.JobDiscarded],
		"one processing job per accepted activity, committed before its 202")

	in.start()
	waitFor(t, 30*time.Second, "processing after the restart", func() (bool, string) {
		c := jobCounts(t, db, inbox.ProcessKind)
		return unfinished(c) == 0, fmt.Sprint(c)
	})
	t.Logf("%s: all processed %v after the kill", be.name, time.Since(killedAt).Round(10*time.Millisecond))

	ctx := context.Background()
	jobs := allJobs(t, db, inbox.ProcessKind)
	require.Len(t, jobs, len(accepted), "one processing job per accepted activity")
	reclaimed := 0
	for _, j := range jobs {
		assert.Equal(t, store.JobCompleted, j.State, "job %d: %s", j.ID, j.LastError)
		if j.Attempt > 1 {
			reclaimed++
		}
	}
	t.Logf("%s: %d jobs ran more than once (claimed before the kill, taken again after it)", be.name, reclaimed)

	inboxCount := map[string]int{}
	require.NoError(t, store.EachItem(ctx, db, store.InboxCollection(alice), func(id string) error {
		inboxCount[id]++
		return nil
	}))
	total, err := db.CountItems(ctx, store.InboxCollection(alice))
	require.NoError(t, err)
	assert.Equal(t, len(accepted), total, "alice's inbox holds the accepted activities, no more")
	assert.Len(t, inboxCount, len(accepted))
	missing, twice := 0, 0
	for _, n := range accepted {
		switch inboxCount[n.create] {
		case 0:
			missing++
		case 1:
		default:
			twice++
		}
		obj, err := db.GetObject(ctx, n.object)
		if assert.NoError(t, err, "note %s stored", n.object) {
			assert.Equal(t, "Note", obj.Type)
		}
	}
	processed, err := db.CountItems(ctx, store.ProcessedCollection)
	require.NoError(t, err)
	t.Logf("%s: applied %d of %d accepted (missing %d, twice %d); processed marks %d",
		be.name, len(accepted)-missing, len(accepted), missing, twice, processed)
	assert.Zero(t, missing, "accepted activities lost")
	assert.Zero(t, twice, "activities applied twice")
	assert.Equal(t, len(accepted), processed)
}

// Issue 9: alice has 300 remote followers on three hosts (no shared
// inbox), made by real signed Follows. The hosts go down (503,
// Retry-After: 1; after each host's first two answers, they hold the
// requests and answer 503 only when the sender gives up, as a proxy in
// front of a dead backend does); alice posts, and the server is SIGKILLed
// when deliveries have failed and as many as its transport allows are in
// flight, the rest queued. Started again with the hosts up, it makes every
// delivery at least once; duplicates are counted.
func TestKillDuringFanoutToDownFollowers(t *testing.T) {
	const perHost = 100
	be := sqliteBackend(t)
	in := newInstance(t, "instance", be, "")
	in.start()
	keys := &keyCache{}
	hosts := []*peerHost{newPeerHost(t, keys, 0), newPeerHost(t, keys, 1), newPeerHost(t, keys, 2)}
	followAlice(t, []*instance{in}, hosts, perHost)

	for _, h := range hosts {
		h.holdAfter = 2
		h.setMode(peerDown)
	}
	ids := postNotes(t, be, in.host, 1)
	var answered, held []int64
	waitFor(t, 20*time.Second, "deliveries failed and in flight", func() (bool, string) {
		answered, held = answered[:0], held[:0]
		var a, h int64
		for _, p := range hosts {
			answered, held = append(answered, p.answered.Load()), append(held, p.held.Load())
			a, h = a+answered[len(answered)-1], h+held[len(held)-1]
		}
		return a >= 2 && h == min(serverWorkers, int64(len(hosts))*maxPerHostName), fmt.Sprintf("answered 503 %v, held %v", answered, held)
	})
	in.kill()
	db := be.open(t)
	defer db.Close()
	fan, del := jobCounts(t, db, outbox.FanoutKind), jobCounts(t, db, outbox.DeliverKind)
	t.Logf("at the kill: per host, POSTs answered 503 %v and held %v; fan-out jobs %v; deliveries %v", answered, held, fan, del)
	assert.Equal(t, 3*perHost, unfinished(del), "the Create's deliveries, all queued (the Accepts' completed)")

	for _, h := range hosts {
		h.setMode(peerUp)
	}
	restarted := time.Now()
	in.start()
	waitFor(t, 40*time.Second, "every follower reached after the restart", func() (bool, string) {
		lost, once, _ := tally(hosts, perHost, ids)
		f, d := jobCounts(t, db, outbox.FanoutKind), jobCounts(t, db, outbox.DeliverKind)
		return lost == 0 && unfinished(f)+unfinished(d) == 0,
			fmt.Sprintf("%d reached, %d not; fan-outs %v; deliveries %v", once, lost, f, d)
	})
	lost, once, dups := tally(hosts, perHost, ids)
	d := jobCounts(t, db, outbox.DeliverKind)
	t.Logf("after the restart: %d of %d followers reached in %v, lost %d, duplicate POSTs %d; deliveries %v",
		once, len(hosts)*perHost, time.Since(restarted).Round(10*time.Millisecond), lost, dups, d)
	assert.Zero(t, lost)
	assert.Equal(t, 2*len(hosts)*perHost, d[store.JobCompleted], "one delivery job per follower inbox (and one per Accept), completed")
	assert.Zero(t, d[store.JobDiscarded])
	for _, h := range hosts {
		assert.Empty(t, h.badSignatures())
	}
}

// deliveredLine is the server's debug record of one delivery it made.
var deliveredLine = regexp.MustCompile(`msg="outbox: delivered" activity=(\S+) inbox=(\S+)`)

// delivered returns the deliveries a server process logged as made
// (activity and inbox), with how often.
func delivered(t *testing.T, in *instance) map[string]int {
	f, err := os.Open(in.logPath)
	require.NoError(t, err)
	defer f.Close()
	out := map[string]int{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if m := deliveredLine.FindStringSubmatch(sc.Text()); m != nil {
			out[m[1]+" "+m[2]]++
		}
	}
	require.NoError(t, sc.Err())
	return out
}

// Issue 9: two server processes on one PostgreSQL database share the
// deliveries: 200 followers (four hosts, no shared inbox, their Follows
// sent to both processes) and ten posts make 2,000 deliveries, each made
// exactly once, and both processes make part of them. Which process made
// a delivery is told by its log, which records every delivery it made
// ("outbox: delivered", with the activity and the inbox).
func TestTwoProcessesShareDeliveries(t *testing.T) {
	const perHost, posts = 50, 10
	be := pgBackend(t)
	a := newInstance(t, "a", be, "")
	a.start()
	b := newInstance(t, "b", be, a.host) // the same instance, another process
	b.start()
	keys := &keyCache{}
	var hosts []*peerHost
	for i := range 4 {
		hosts = append(hosts, newPeerHost(t, keys, i))
	}
	followAlice(t, []*instance{a, b}, hosts, perHost)
	followers := len(hosts) * perHost

	start := time.Now()
	ids := postNotes(t, be, a.host, posts)
	db := be.open(t)
	defer db.Close()
	want := followers * posts
	waitFor(t, 40*time.Second, "2,000 deliveries", func() (bool, string) {
		lost, once, _ := tally(hosts, perHost, ids)
		d := jobCounts(t, db, outbox.DeliverKind)
		f := jobCounts(t, db, outbox.FanoutKind)
		return lost == 0 && unfinished(d)+unfinished(f) == 0, fmt.Sprintf("%d made, %d not; deliveries %v", once, lost, d)
	})
	took := time.Since(start)

	lost, once, dups := tally(hosts, perHost, ids)
	require.Equal(t, want, once)
	assert.Zero(t, lost)
	assert.Zero(t, dups, "deliveries made twice")
	d := jobCounts(t, db, outbox.DeliverKind)
	assert.Equal(t, want+followers, d[store.JobCompleted], "the posts' deliveries and the Accepts, all completed")

	// Which process made which: every delivery received is in exactly one
	// process's log, once.
	byA, byB := delivered(t, a), delivered(t, b)
	shareA, shareB, both := 0, 0, 0
	for _, id := range ids {
		for _, h := range hosts {
			for n := range perHost {
				key := fmt.Sprintf("%s %s/inbox", id, h.actorIRI(n))
				ca, cb := byA[key], byB[key]
				shareA += ca
				shareB += cb
				if ca+cb != 1 {
					both++
				}
			}
		}
	}
	accA, accB := 0, 0 // the other deliveries: the Accepts of the Follows
	for k, c := range byA {
		if !containsID(ids, k) {
			accA += c
		}
	}
	for k, c := range byB {
		if !containsID(ids, k) {
			accB += c
		}
	}
	t.Logf("%d deliveries in %v (%.0f/s): process a made %d, b made %d; duplicates %d; Accepts a %d, b %d",
		want, took.Round(10*time.Millisecond), float64(want)/took.Seconds(), shareA, shareB, dups, accA, accB)
	assert.Equal(t, want, shareA+shareB, "every delivery is logged by the process that made it")
	assert.Zero(t, both, "deliveries logged by no process, or by both")
	assert.Positive(t, shareA, "process a made none")
	assert.Positive(t, shareB, "process b made none")
	assert.Equal(t, followers, accA+accB, "the Accepts, made once")
	for _, h := range hosts {
		assert.Empty(t, h.badSignatures())
	}
}

func containsID(ids []string, key string) bool {
	for _, id := range ids {
		if strings.HasPrefix(key, id+" ") {
			return true
		}
	}
	return false
}

// Issue 9: SIGTERM while deliveries are in flight (the followers' hosts
// hold every POST) and pending: the server exits 0 within --drain, the
// deliveries in flight are put back without using an attempt, and after
// a restart with the hosts answering every delivery is made, once.
func TestSIGTERMDrainsDeliveries(t *testing.T) {
	const perHost = 50
	const drain = 2 * time.Second
	be := sqliteBackend(t)
	in := newInstance(t, "instance", be, "", "--drain", drain.String())
	in.start()
	keys := &keyCache{}
	hosts := []*peerHost{newPeerHost(t, keys, 0), newPeerHost(t, keys, 1)}
	followAlice(t, []*instance{in}, hosts, perHost)

	for _, h := range hosts {
		h.setMode(peerHang)
	}
	ids := postNotes(t, be, in.host, 1)
	waitFor(t, 20*time.Second, "deliveries in flight on both hosts", func() (bool, string) {
		a, b := hosts[0].held.Load(), hosts[1].held.Load()
		return a+b >= maxPerHostName, fmt.Sprintf("held %d and %d", a, b)
	})
	inFlight := hosts[0].held.Load() + hosts[1].held.Load()
	took, code := in.term(drain + 10*time.Second)
	t.Logf("SIGTERM with %d deliveries in flight: exit %d after %v (--drain %v)",
		inFlight, code, took.Round(time.Millisecond), drain)
	assert.Equal(t, 0, code, "exit code")
	assert.Less(t, took, drain+time.Second, "exits within --drain (and a second)")
	assert.Contains(t, in.log(), "jobs still running at the end of the drain were put back")
	waitFor(t, 5*time.Second, "the hosts see the connections close", func() (bool, string) {
		a, b := hosts[0].held.Load(), hosts[1].held.Load()
		return a+b == 0, fmt.Sprintf("held %d and %d", a, b)
	})

	db := be.open(t)
	defer db.Close()
	d := jobCounts(t, db, outbox.DeliverKind)
	t.Logf("after the drain: deliveries %v", d)
	assert.Zero(t, d[store.JobRunning], "no job left claimed")
	assert.Equal(t, len(hosts)*perHost, unfinished(d), "every delivery still queued")
	for _, j := range allJobs(t, db, outbox.DeliverKind) {
		if strings.Contains(string(j.Payload), ids[0]) {
			assert.Zero(t, j.Attempt, "job %d: a delivery put back by the drain keeps its attempts", j.ID)
		}
	}

	for _, h := range hosts {
		h.setMode(peerUp)
	}
	in.start()
	waitFor(t, 20*time.Second, "every delivery after the restart", func() (bool, string) {
		lost, once, _ := tally(hosts, perHost, ids)
		d := jobCounts(t, db, outbox.DeliverKind)
		return lost == 0 && unfinished(d) == 0, fmt.Sprintf("%d made, %d not; deliveries %v", once, lost, d)
	})
	lost, once, dups := tally(hosts, perHost, ids)
	t.Logf("after the restart: %d made, %d lost, %d duplicates", once, lost, dups)
	assert.Equal(t, len(hosts)*perHost, once)
	assert.Zero(t, dups)
	_, code = in.term(drain + 10*time.Second)
	assert.Equal(t, 0, code, "an idle server exits 0 too")
}
