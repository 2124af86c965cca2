package inbox_test

import (
	"bytes"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/slothpub/slothpub/actor"
	"github.com/slothpub/slothpub/ap"
	"github.com/slothpub/slothpub/ap/aptest"
	"github.com/slothpub/slothpub/httpsig"
	"github.com/slothpub/slothpub/inbox"
	"github.com/slothpub/slothpub/store"
	"github.com/slothpub/slothpub/store/memstore"
	"github.com/slothpub/slothpub/store/sqlitestore"
	"github.com/slothpub/slothpub/store/storetest"
)

// BenchmarkInboxCreate measures one signed Create(Note) POST through the
// inbox handler (signature verification with a cached key, parse, checks,
// idempotent store, side effects) into memstore. Requests are signed
// outside the timer.
func BenchmarkInboxCreate(b *testing.B) {
	r := newRig(b)
	const batch = 256
	sign := func(i int) *http.Request {
		id := fmt.Sprintf("%s/creates/%d", r.alice.IRI(), i)
		body := fmt.Appendf(nil, `{"@context":"https://www.w3.org/ns/activitystreams","id":%q,"type":"Create","actor":%q,
"to":["https://www.w3.org/ns/activitystreams#Public"],"cc":["%s/followers"],
"object":{"id":"%s/statuses/%d","type":"Note","attributedTo":%q,"content":"<p>benchmark note %d</p>",
"to":["https://www.w3.org/ns/activitystreams#Public"],"cc":["%s/followers"],"published":"2026-11-22T10:00:00Z"}}`,
			id, r.alice.IRI(), r.alice.IRI(), r.alice.IRI(), i, r.alice.IRI(), i, r.alice.IRI())
		req := httptest.NewRequest(http.MethodPost, "https://b.example/inbox", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/activity+json")
		if err := r.alice.Signer().SignRequest(req, body); err != nil {
			b.Fatal(err)
		}
		return req
	}
	// Warm the key cache.
	rec := httptest.NewRecorder()
	r.b.Handler.ServeHTTP(rec, sign(-1))
	if rec.Code != http.StatusAccepted {
		b.Fatalf("warm-up: %d %s", rec.Code, rec.Body)
	}
	b.ReportAllocs()
	b.ResetTimer()
	reqs := make([]*http.Request, 0, batch)
	for i := 0; i < b.N; i++ {
		if len(reqs) == 0 {
			b.StopTimer()
			for j := range batch {
				reqs = append(reqs, sign(i+j))
			}
			b.StartTimer()
		}
		req := reqs[0]
		reqs = reqs[1:]
		rec := httptest.NewRecorder()
		r.b.Handler.ServeHTTP(rec, req)
		if rec.Code != http.StatusAccepted {
			b.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
	}
}

// mastodonCreate is a real Create(Note) as Mastodon sent it (2,558 bytes);
// its status id, which recurs in every id, url and atomUri of the
// activity, is replaced to make each delivery a new activity of the same
// length.
const (
	mastodonCreateFixture = "../internal/testdata/fixtures/activities/mastodon-create-note-1.json"
	mastodonStatusID      = "107224289116410645"
)

// mastodonBench is a federation of the fixture's author,
// felix@mastodon.madrid (an RSA-2048 key, as on Mastodon), and b.example,
// where bob follows felix, so that the Create is filed in bob's timeline.
type mastodonBench struct {
	b     *aptest.Instance
	felix *actor.Actor
	bob   *actor.Actor
	body  []byte
}

func newMastodonBench(b *testing.B) *mastodonBench { return newMastodonBenchOn(b, nil) }

// newMastodonBenchOn is newMastodonBench with b.example's store given by
// st (nil: a memstore), every other instance on a memstore.
func newMastodonBenchOn(b *testing.B, st *store.DB) *mastodonBench {
	body, err := os.ReadFile(mastodonCreateFixture)
	if err != nil {
		b.Fatal(err)
	}
	if !bytes.Contains(body, []byte(`"actor": "https://mastodon.madrid/users/felix"`)) {
		b.Fatal("fixture changed: not felix@mastodon.madrid's Create")
	}
	var opts *aptest.Options
	if st != nil {
		opts = &aptest.Options{Store: func(host string) *store.DB {
			if host == "b.example" {
				return st
			}
			return memstore.New()
		}}
	}
	n := aptest.NewNetwork(b, opts)
	m, rb := n.Instance("mastodon.madrid"), n.Instance("b.example")
	mb := &mastodonBench{b: rb, felix: m.User("felix"), bob: rb.User("bob"), body: body}
	rb.Post(mb.bob, ap.NewFollow(nil, mb.bob.IRI(), mb.felix.IRI()))
	n.Settle()
	if !m.Has(mb.felix.Followers().String(), mb.bob.IRI().String()) {
		b.Fatal("bob does not follow felix")
	}
	return mb
}

// request returns delivery i of the fixture to b.example's shared inbox,
// signed by felix with draft-cavage-12 rsa-sha256 (Digest included), as
// Mastodon signs it.
func (mb *mastodonBench) request(b *testing.B, i int) (*http.Request, []byte) {
	req, body, err := mb.sign(i)
	if err != nil {
		b.Fatal(err)
	}
	return req, body
}

// sign is request for any goroutine: it returns the error instead of
// failing the benchmark.
func (mb *mastodonBench) sign(i int) (*http.Request, []byte, error) {
	body := bytes.ReplaceAll(mb.body, []byte(mastodonStatusID), fmt.Appendf(nil, "%018d", 300000000000000000+i))
	req := httptest.NewRequest(http.MethodPost, "https://b.example/inbox", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/activity+json")
	if err := mb.felix.Signer().SignRequestScheme(req, body, httpsig.SchemeCavage); err != nil {
		return nil, nil, err
	}
	if !strings.Contains(req.Header.Get("Signature"), `algorithm="rsa-sha256"`) {
		return nil, nil, fmt.Errorf("not an rsa-sha256 signature: %s", req.Header.Get("Signature"))
	}
	return req, body, nil
}

// floorInbox checks the draft-cavage rsa-sha256 signature and the Digest of
// a request with the standard library alone and decodes its body into a
// map: the work no inbox can skip.
func floorInbox(r *http.Request, body []byte, key *rsa.PublicKey) error {
	var headers, sig string
	for _, p := range strings.Split(r.Header.Get("Signature"), ",") {
		k, v, _ := strings.Cut(p, "=")
		switch k {
		case "headers":
			headers = strings.Trim(v, `"`)
		case "signature":
			sig = strings.Trim(v, `"`)
		}
	}
	var ss strings.Builder
	for i, h := range strings.Fields(headers) {
		if i > 0 {
			ss.WriteByte('\n')
		}
		switch h {
		case "(request-target)":
			ss.WriteString("(request-target): post " + r.URL.RequestURI())
		case "host":
			ss.WriteString("host: " + r.Host)
		default:
			ss.WriteString(h + ": " + r.Header.Get(h))
		}
	}
	raw, err := base64.StdEncoding.DecodeString(sig)
	if err != nil {
		return err
	}
	sum := sha256.Sum256([]byte(ss.String()))
	if err := rsa.VerifyPKCS1v15(key, crypto.SHA256, sum[:], raw); err != nil {
		return err
	}
	digest := sha256.Sum256(body)
	if r.Header.Get("Digest") != "SHA-256="+base64.StdEncoding.EncodeToString(digest[:]) {
		return errors.New("digest mismatch")
	}
	var v map[string]any
	return json.Unmarshal(body, &v)
}

// BenchmarkInboxSQLiteConcurrent measures the inbox under 16 concurrent
// senders (explicit goroutines) on a durable store: each delivery is the
// real Mastodon Create(Note) of BenchmarkInboxCompare with a new
// status id, signed by felix (RSA-2048, cavage rsa-sha256, Digest), POSTed
// through b.example's handler, where bob follows felix. Every delivery
// must be answered 202, which the inbox gives once the activity and its
// processing job are committed (one unit of work); b.example's worker
// processes them meanwhile, on the same cores: the note stored, the
// Create filed in bob's timeline, the processed mark, in a second unit.
// Two stores under b.example, in the same run:
//
//   - sqlite: store.Open over sqlitestore.OpenDriver (WAL,
//     synchronous=FULL, group commit), so every 202 is durable;
//   - memstore: the in-memory store, the ceiling (nothing durable).
//
// Requests are signed before the timer starts (0.85 ms each, on every
// core), so the figure is the receiving side's alone. It reports
// accepted/s (the b.N 202s over the wall clock of the burst), processed/s
// (b.N over the time until the last one is processed too), writes/op
// (committed data writes per delivery, both units, counted by
// storetest.Recorder) and, for SQLite, commits/op (the driver's group
// commits per delivery: fsyncs).
//
//	go test -run '^$' -bench 'BenchmarkInboxSQLiteConcurrent' -benchtime 3s -count 5 ./inbox
func BenchmarkInboxSQLiteConcurrent(b *testing.B) {
	const senders = 16
	type variant struct {
		name string
		open func(b *testing.B) (store.Driver, func() int64) // the driver, and its commits so far (nil: not counted)
	}
	variants := []variant{
		{name: "sqlite", open: func(b *testing.B) (store.Driver, func() int64) {
			d, err := sqlitestore.OpenDriver(b.Context(), filepath.Join(b.TempDir(), "driver.db"), nil)
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { d.Close() })
			return d, func() int64 { return d.Stats().Commits }
		}},
		{name: "memstore", open: func(b *testing.B) (store.Driver, func() int64) {
			return memstore.NewDriver(), nil
		}},
	}
	for _, v := range variants {
		// Set up once for all the rounds of the sub-benchmark (on the
		// parent, whose cleanups run after them): the store, the federation,
		// the follow, the key cache warmed by delivery 0.
		d, commits := v.open(b)
		rec := storetest.NewRecorder(d)
		st := store.Open(rec, nil)
		mb := newMastodonBenchOn(b, st)
		req, _ := mb.request(b, 0)
		w := httptest.NewRecorder()
		mb.b.Handler.ServeHTTP(w, req)
		if w.Code != http.StatusAccepted {
			b.Fatalf("%s: warm-up: %d %s", v.name, w.Code, w.Body)
		}
		mb.settle(b)
		if _, err := st.GetObject(b.Context(), "https://mastodon.madrid/users/felix/statuses/300000000000000000"); err != nil {
			b.Fatalf("%s: the note was not stored: %v", v.name, err)
		}
		if ok, err := st.HasItem(b.Context(), mb.bob.Inbox().String(),
			"https://mastodon.madrid/users/felix/statuses/300000000000000000/activity"); err != nil || !ok {
			b.Fatalf("%s: the Create is not in bob's timeline: %v %v", v.name, ok, err)
		}
		next := 1 // the next status counter: every delivery a new activity

		b.Run(v.name, func(b *testing.B) {
			reqs := make([]*http.Request, b.N)
			var wg sync.WaitGroup
			var signErr atomic.Value
			var k atomic.Int64
			for range runtime.GOMAXPROCS(0) {
				wg.Go(func() {
					for i := int(k.Add(1)) - 1; i < b.N; i = int(k.Add(1)) - 1 {
						r, _, err := mb.sign(next + i)
						if err != nil {
							signErr.Store(err)
							return
						}
						reqs[i] = r
					}
				})
			}
			wg.Wait()
			if err := signErr.Load(); err != nil {
				b.Fatal(err)
			}
			first := next
			next += b.N

			var c0 int64
			if commits != nil {
				c0 = commits()
			}
			w0 := rec.Count()
			var failed atomic.Bool
			k.Store(0)
			b.ResetTimer()
			start := time.Now()
			for range senders {
				wg.Go(func() {
					for i := int(k.Add(1)) - 1; i < b.N && !failed.Load(); i = int(k.Add(1)) - 1 {
						w := httptest.NewRecorder()
						mb.b.Handler.ServeHTTP(w, reqs[i])
						reqs[i] = nil
						if w.Code != http.StatusAccepted {
							failed.Store(true)
							b.Errorf("delivery %d: status %d: %s", first+i, w.Code, w.Body)
						}
					}
				})
			}
			wg.Wait()
			accepted := time.Since(start)
			mb.settle(b)
			processed := time.Since(start)
			b.StopTimer()
			last := fmt.Sprintf("https://mastodon.madrid/users/felix/statuses/%d/activity", 300000000000000000+first+b.N-1)
			if ok, err := st.HasItem(b.Context(), mb.bob.Inbox().String(), last); err != nil || !ok {
				b.Fatalf("%s: the last Create is not in bob's timeline after processing: %v %v", v.name, ok, err)
			}
			writes := float64(rec.Count()-w0) / float64(b.N)
			b.ReportMetric(float64(b.N)/accepted.Seconds(), "accepted/s")
			b.ReportMetric(float64(b.N)/processed.Seconds(), "processed/s")
			b.ReportMetric(writes, "writes/op")
			if commits != nil {
				b.ReportMetric(float64(commits()-c0)/float64(b.N), "commits/op")
			}
		})
	}
}

// settle waits until b.example has processed everything it accepted.
func (mb *mastodonBench) settle(b *testing.B) {
	b.Helper()
	for {
		n, err := mb.b.Store.CountJobs(b.Context(), store.JobQuery{Kinds: []string{inbox.ProcessKind},
			States: []store.JobState{store.JobAvailable, store.JobRunning, store.JobRetryable}})
		if err != nil {
			b.Fatal(err)
		}
		if n == 0 {
			return
		}
		time.Sleep(time.Millisecond)
	}
}
