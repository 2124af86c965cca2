package storetest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/slothpub/slothpub/store"
)

// The sizes of BenchDriver's stores.
const (
	// benchObjects is the number of objects GetObject reads among.
	benchObjects = 10000
	// benchItems is the size of the collection the Page benchmarks read.
	benchItems = 10000
	// benchPage is the page size of the Page benchmarks: Mastodon's
	// default limit for timelines.
	benchPage = 40
	// benchWriters is the number of goroutines of UnitThreeWritesParallel.
	benchWriters = 16
)

// BenchDriver runs one set of benchmarks on the store that open returns,
// so that drivers can be compared side by side in one run (each driver's
// package runs it as BenchmarkDriver). Every op goes through the portable
// type, as the SDK's packages use it, and each is a whole unit of work,
// committed. open is called once per sub-benchmark (and again for every
// round of RunParallel's ramp-up) and must return an empty store, closed
// when b ends. The sub-benchmarks:
//
//   - GetObject: DB.GetObject of one of 10,000 objects, by IRI, at random;
//     the store was filled in one unit and every object read once before
//     the timer (warm).
//   - CreateObject: DB.CreateObject of a new Note of about 600 bytes.
//   - PageOlder, PageNewer: DB.Page of 40 members (Mastodon's default
//     limit) of a 10,000-member collection, from a random cursor: max_id
//     (the next page down) and min_id (the page just above).
//   - UnitThreeWrites: one DB.Update storing a new Note, adding it to a
//     collection and putting a value (an object, a member, a value).
//   - UnitThreeWritesParallel: the same from 16 goroutines at once
//     (b.SetParallelism; each goroutine writes a collection of its own),
//     which a driver that group-commits turns into fewer commits.
//   - JobCycle: a job's life as three units: Enqueue, Claim, Complete.
//   - FanoutStep: what a fan-out step writes for one delivery, in units of
//     100 deliveries (an op is one delivery): a job enqueued with a unique
//     key and its inbox added to the activity's deliveries collection.
//
// When open calls ReportCommits for its b, each sub-benchmark also reports
// commits/op: the driver's commits (for SQLite, fsyncs of the WAL) per op.
func BenchDriver(b *testing.B, open func(b *testing.B) *store.DB) {
	b.Run("GetObject", func(b *testing.B) { benchGetObject(b, open) })
	b.Run("CreateObject", func(b *testing.B) { benchCreate(b, open) })
	b.Run("PageOlder", func(b *testing.B) { benchPages(b, open, false) })
	b.Run("PageNewer", func(b *testing.B) { benchPages(b, open, true) })
	b.Run("UnitThreeWrites", func(b *testing.B) { benchUnits(b, open, false) })
	b.Run("UnitThreeWritesParallel", func(b *testing.B) { benchUnits(b, open, true) })
	b.Run("JobCycle", func(b *testing.B) { benchJobCycle(b, open) })
	b.Run("FanoutStep", func(b *testing.B) { benchFanoutStep(b, open) })
}

// benchFanoutStep: see BenchDriver.
func benchFanoutStep(b *testing.B, open func(b *testing.B) *store.DB) {
	const step = 100
	ctx := b.Context()
	db := open(b)
	activity := "https://example.com/users/alice/statuses/1/activity"
	deliveries := store.DeliveriesCollection(activity)
	payload := []byte(`{"from":"alice"}`)
	report := timed(b)
	for i := 0; i < b.N; i += step {
		n := min(step, b.N-i)
		if err := db.Update(ctx, func(tx *store.Tx) error {
			for k := range n {
				inbox := fmt.Sprintf("https://h%d.example/users/u%d/inbox", (i+k)%100, i+k)
				if _, _, err := tx.Enqueue(ctx, "outbox.deliver", payload, &store.EnqueueOptions{UniqueKey: "deliver:" + activity + " " + inbox}); err != nil {
					return err
				}
				if err := tx.AddItem(ctx, deliveries, inbox); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			b.Fatal(err)
		}
	}
	report()
}

// commitCounters maps a *testing.B to the commit counter of the store its
// open returned (see ReportCommits).
var commitCounters sync.Map

// ReportCommits tells BenchDriver how to count the commits of the store
// that open is returning for b: commits returns the number the driver has
// made so far (sqlitestore.Driver.Stats().Commits, for instance). Call it
// from open; BenchDriver then reports the commits of each op as the metric
// commits/op.
func ReportCommits(b *testing.B, commits func() int64) {
	commitCounters.Store(b, commits)
	b.Cleanup(func() { commitCounters.Delete(b) })
}

// commitMeter returns a function that reports the commits since it was
// made, per op, or does nothing when open named no counter.
func commitMeter(b *testing.B) func() {
	c, ok := commitCounters.Load(b)
	if !ok {
		return func() {}
	}
	commits := c.(func() int64)
	before := commits()
	return func() {
		if b.N > 0 {
			b.ReportMetric(float64(commits()-before)/float64(b.N), "commits/op")
		}
	}
}

// benchNote is a Note of a typical size (about 600 bytes of JSON) by one
// of 100 actors.
func benchNote(i int) *store.Object {
	iri := fmt.Sprintf("https://example.com/bench/notes/%d", i)
	actor := fmt.Sprintf("https://example.com/users/u%d", i%100)
	return &store.Object{IRI: iri, Type: "Note", Actor: actor, Local: true, Data: noteJSON(nil, iri, actor)}
}

// noteJSON appends the JSON of a Note of about 600 bytes to buf.
func noteJSON(buf []byte, iri, actor string) []byte {
	return fmt.Appendf(buf, `{"@context":"https://www.w3.org/ns/activitystreams","id":%q,"type":"Note",`+
		`"attributedTo":%q,"to":["https://www.w3.org/ns/activitystreams#Public"],`+
		`"cc":["https://example.com/users/alice/followers"],"published":"2024-05-01T12:00:00Z",`+
		`"content":"<p>A benchmark note of a typical length, long enough to look like a real post on a `+
		`fediverse server, with a few words in it and a link or two.</p>"}`, iri, actor)
}

// fill runs fn for i in [0, n) in one unit of run (db.Update or db.View).
func fill(b *testing.B, run func(context.Context, func(*store.Tx) error) error, n int, fn func(tx *store.Tx, i int) error) {
	if err := run(b.Context(), func(tx *store.Tx) error {
		for i := range n {
			if err := fn(tx, i); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		b.Fatal(err)
	}
}

// timed starts the timed part of a sub-benchmark: it reports allocations,
// and the returned function reports commits/op (see commitMeter).
func timed(b *testing.B) func() {
	b.ReportAllocs()
	return commitMeter(b)
}

func benchGetObject(b *testing.B, open func(b *testing.B) *store.DB) {
	ctx := b.Context()
	db := open(b)
	iris := make([]string, benchObjects)
	fill(b, db.Update, benchObjects, func(tx *store.Tx, i int) error {
		o := benchNote(i)
		iris[i] = o.IRI
		return tx.CreateObject(ctx, o)
	})
	fill(b, db.View, benchObjects, func(tx *store.Tx, i int) error {
		_, err := tx.GetObject(ctx, iris[i])
		return err
	})
	rng := rand.New(rand.NewPCG(1, 2))
	report := timed(b)
	for b.Loop() {
		if _, err := db.GetObject(ctx, iris[rng.IntN(len(iris))]); err != nil {
			b.Fatal(err)
		}
	}
	report()
}

func benchCreate(b *testing.B, open func(b *testing.B) *store.DB) {
	ctx := b.Context()
	db := open(b)
	report := timed(b)
	i := 0
	for b.Loop() {
		if err := db.CreateObject(ctx, benchNote(i)); err != nil {
			b.Fatal(err)
		}
		i++
	}
	report()
}

func benchPages(b *testing.B, open func(b *testing.B) *store.DB, newer bool) {
	ctx := b.Context()
	db := open(b)
	const collection = "https://example.com/users/alice/followers"
	seqs := make([]int64, benchItems)
	fill(b, db.Update, benchItems, func(tx *store.Tx, i int) error {
		var err error
		seqs[i], err = tx.Add(ctx, collection, fmt.Sprintf("https://r%d.example/users/u%d", i%97, i))
		return err
	})
	rng := rand.New(rand.NewPCG(1, 2))
	report := timed(b)
	for b.Loop() {
		// A cursor with a whole page on its side.
		cursor := store.FormatSeqCursor(seqs[benchPage+rng.IntN(benchItems-2*benchPage)])
		q := store.PageQuery{MaxID: cursor, Limit: benchPage}
		if newer {
			q = store.PageQuery{MinID: cursor, Limit: benchPage}
		}
		p, err := db.Page(ctx, collection, q)
		if err != nil {
			b.Fatal(err)
		}
		if len(p.Items) != benchPage {
			b.Fatalf("page of %d items, want %d", len(p.Items), benchPage)
		}
	}
	report()
}

// benchUnit is the unit of three writes: a new Note, a member of
// collection, a value.
func benchUnit(b *testing.B, db *store.DB, i int, collection string, buf []byte) {
	ctx := b.Context()
	iri := fmt.Sprintf("https://example.com/bench/notes/%d", i)
	o := &store.Object{IRI: iri, Type: "Note", Actor: "https://example.com/users/alice", Local: true,
		Data: noteJSON(buf[:0], iri, "https://example.com/users/alice")}
	if err := db.Update(ctx, func(tx *store.Tx) error {
		if err := tx.CreateObject(ctx, o); err != nil {
			return err
		}
		if err := tx.AddItem(ctx, collection, iri); err != nil {
			return err
		}
		return tx.PutValue(ctx, "bench:"+iri, []byte(iri), time.Time{})
	}); err != nil {
		b.Error(err)
	}
}

func benchUnits(b *testing.B, open func(b *testing.B) *store.DB, parallel bool) {
	db := open(b)
	report := timed(b)
	if !parallel {
		buf := make([]byte, 0, 700)
		i := 0
		for b.Loop() {
			benchUnit(b, db, i, "https://example.com/users/alice/outbox", buf)
			i++
		}
		report()
		return
	}
	b.SetParallelism((benchWriters + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0))
	var n, g atomic.Int64
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		collection := fmt.Sprintf("https://example.com/users/u%d/outbox", g.Add(1))
		buf := make([]byte, 0, 700)
		for pb.Next() {
			benchUnit(b, db, int(n.Add(1)), collection, buf)
		}
	})
	b.StopTimer()
	report()
}

func benchJobCycle(b *testing.B, open func(b *testing.B) *store.DB) {
	ctx := b.Context()
	db := open(b)
	kinds := []string{"outbox.deliver"}
	report := timed(b)
	for b.Loop() {
		if _, _, err := db.Enqueue(ctx, kinds[0], []byte(`{"activity":"https://example.com/bench/notes/1"}`), nil); err != nil {
			b.Fatal(err)
		}
		jobs, err := db.Claim(ctx, kinds, 1, time.Minute)
		if err != nil || len(jobs) != 1 {
			b.Fatalf("Claim = %d jobs, %v; want 1", len(jobs), err)
		}
		if err := db.Complete(ctx, jobs[0]); err != nil {
			b.Fatal(err)
		}
	}
	report()
}
