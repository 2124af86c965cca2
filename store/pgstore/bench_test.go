package pgstore

import (
	"fmt"
	"math/rand/v2"
	"sync/atomic"
	"testing"
	"time"

	"github.com/slothpub/slothpub/store"
)

// The benchmarks run on a fresh schema of the test server (see pg_test.go);
// every op is a whole unit of work, committed (synchronous_commit as the
// server has it).

const benchObjects = 10000

// BenchmarkGetObject: a View reading one of 10,000 objects by IRI.
func BenchmarkGetObject(b *testing.B) {
	d := newDriver(b)
	ctx := b.Context()
	if err := d.Update(ctx, func(tx store.DriverTx) error {
		for i := range benchObjects {
			if err := tx.InsertObject(ctx, benchObject(i)); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	b.ReportAllocs()
	for b.Loop() {
		iri := benchObject(rng.IntN(benchObjects)).IRI
		if err := d.View(ctx, func(tx store.DriverTx) error {
			_, err := tx.GetObject(ctx, iri)
			return err
		}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkInsertObject: an Update inserting one new object.
func BenchmarkInsertObject(b *testing.B) {
	d := newDriver(b)
	ctx := b.Context()
	i := 0
	b.ReportAllocs()
	for b.Loop() {
		o := benchObject(i)
		i++
		if err := d.Update(ctx, func(tx store.DriverTx) error { return tx.InsertObject(ctx, o) }); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkItemsPage: a View reading a page of 20 members of a collection
// of 10,000 from a random cursor, newest first and oldest first.
func BenchmarkItemsPage(b *testing.B) {
	d := newDriver(b)
	ctx := b.Context()
	var first, last int64
	if err := d.Update(ctx, func(tx store.DriverTx) error {
		for i := range benchObjects {
			seq, err := tx.AddItem(ctx, "https://b.example/users/alice/followers", fmt.Sprintf("https://r%d.example/users/u%d", i%97, i))
			if err != nil {
				return err
			}
			if i == 0 {
				first = seq
			}
			last = seq
		}
		return nil
	}); err != nil {
		b.Fatal(err)
	}
	for _, asc := range []bool{false, true} {
		name := "Descending"
		if asc {
			name = "Ascending"
		}
		b.Run(name, func(b *testing.B) {
			rng := rand.New(rand.NewPCG(1, 2))
			b.ReportAllocs()
			for b.Loop() {
				r := store.Range{Limit: 20, Ascending: asc}
				cursor := first + rng.Int64N(last-first)
				if asc {
					r.After = cursor
				} else {
					r.Before = cursor
				}
				if err := d.View(ctx, func(tx store.DriverTx) error {
					_, err := tx.Items(ctx, "https://b.example/users/alice/followers", r)
					return err
				}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkUnitThreeWrites: one Update storing an object, adding it to a
// collection and enqueueing a job for it (the transactional outbox). The
// Parallel variant runs 8 goroutines per CPU on distinct collections.
func BenchmarkUnitThreeWrites(b *testing.B) {
	unit := func(d *Driver, b *testing.B, i int64, collection string) {
		ctx := b.Context()
		o := benchObject(int(i))
		if err := d.Update(ctx, func(tx store.DriverTx) error {
			if err := tx.InsertObject(ctx, o); err != nil {
				return err
			}
			if _, err := tx.AddItem(ctx, collection, o.IRI); err != nil {
				return err
			}
			_, err := tx.InsertJob(ctx, &store.Job{Kind: "outbox.deliver", Payload: []byte(o.IRI), State: store.JobAvailable, RunAt: time.Now()})
			return err
		}); err != nil {
			b.Fatal(err)
		}
	}
	b.Run("Serial", func(b *testing.B) {
		d := newDriver(b)
		var i int64
		b.ReportAllocs()
		for b.Loop() {
			unit(d, b, i, "https://b.example/users/alice/outbox")
			i++
		}
	})
	b.Run("Parallel", func(b *testing.B) {
		d := newDriver(b)
		var n, g atomic.Int64
		b.SetParallelism(8)
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			c := fmt.Sprintf("https://b.example/users/u%d/outbox", g.Add(1))
			for pb.Next() {
				unit(d, b, n.Add(1), c)
			}
		})
	})
}

// BenchmarkJobCycle: a job's life as three units: enqueue, claim, complete.
func BenchmarkJobCycle(b *testing.B) {
	d := newDriver(b)
	ctx := b.Context()
	kinds := []string{"outbox.deliver"}
	b.ReportAllocs()
	for b.Loop() {
		if err := d.Update(ctx, func(tx store.DriverTx) error {
			_, err := tx.InsertJob(ctx, &store.Job{Kind: kinds[0], Payload: []byte(`{}`), State: store.JobAvailable, RunAt: time.Now()})
			return err
		}); err != nil {
			b.Fatal(err)
		}
		var jobs []*store.Job
		if err := d.Update(ctx, func(tx store.DriverTx) error {
			now := time.Now()
			var err error
			jobs, err = tx.ClaimJobs(ctx, store.ClaimParams{Kinds: kinds, Limit: 1, Now: now, LeaseUntil: now.Add(time.Minute)})
			return err
		}); err != nil || len(jobs) != 1 {
			b.Fatalf("claim: %d jobs, %v", len(jobs), err)
		}
		if err := d.Update(ctx, func(tx store.DriverTx) error {
			return tx.FinishJob(ctx, store.JobResult{ID: jobs[0].ID, Attempt: jobs[0].Attempt, State: store.JobCompleted, At: time.Now()})
		}); err != nil {
			b.Fatal(err)
		}
	}
}

func benchObject(i int) *store.Object {
	iri := fmt.Sprintf("https://b.example/objects/%d", i)
	return &store.Object{
		IRI: iri, Type: "Note", Actor: fmt.Sprintf("https://b.example/users/u%d", i%100),
		Local: true,
		Data:  []byte(`{"@context":"https://www.w3.org/ns/activitystreams","id":"` + iri + `","type":"Note","content":"hello, world"}`),
	}
}
