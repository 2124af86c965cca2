package sqlitestore_test

import (
	"context"
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/slothpub/slothpub/store"
)

// BenchmarkUnits measures units of work of three writes (an object, a
// collection item, a value), from 1 and from 16 goroutines, on the
// group-committing Driver and, side by side, on the old Store, which
// commits (and fsyncs) each write on its own. It reports units/s and
// commits per unit (COMMITs counted by the Driver; for Store every write
// is one).
//
//	go test -run '^$' -bench '^BenchmarkUnits$' -benchtime 3s -count 3 ./store/sqlitestore/
func BenchmarkUnits(b *testing.B) {
	for _, g := range []int{1, 16} {
		b.Run(fmt.Sprintf("driver/goroutines=%d", g), func(b *testing.B) {
			d, _ := openDriver(b, nil)
			var n atomic.Int64
			before := d.Stats()
			start := time.Now()
			parallel(b, g, func(ctx context.Context) {
				tag := fmt.Sprint(n.Add(1))
				if err := d.Update(ctx, func(tx store.DriverTx) error { return unitOfThree(ctx, tx, tag) }); err != nil {
					b.Error(err)
				}
			})
			elapsed := time.Since(start)
			commits := d.Stats().Commits - before.Commits
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "units/s")
			b.ReportMetric(float64(commits)/float64(b.N), "commits/unit")
		})
		b.Run(fmt.Sprintf("oldstore/goroutines=%d", g), func(b *testing.B) {
			s := openFile(b, b.TempDir()+"/old.db")
			var n atomic.Int64
			start := time.Now()
			parallel(b, g, func(ctx context.Context) {
				tag := fmt.Sprint(n.Add(1))
				iri := "https://example.com/notes/" + tag
				err := s.CreateObject(ctx, &store.Object{IRI: iri, Type: "Note", Actor: "https://example.com/users/" + tag,
					Data: []byte(`{"type":"Note"}`)})
				if err == nil {
					err = s.AddItem(ctx, "https://example.com/outbox", iri)
				}
				if err == nil {
					err = s.PutValue(ctx, "tag:"+tag, []byte(tag), time.Time{})
				}
				if err != nil {
					b.Error(err)
				}
			})
			elapsed := time.Since(start)
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "units/s")
			b.ReportMetric(3, "commits/unit") // one autocommit per write
		})
	}
}

// parallel runs b.N calls of op from g goroutines (g == 1: the benchmark's
// own goroutine; otherwise b.RunParallel with b.SetParallelism so that
// GOMAXPROCS*p == g).
func parallel(b *testing.B, g int, op func(ctx context.Context)) {
	ctx := b.Context()
	b.ResetTimer()
	if g == 1 {
		for range b.N {
			op(ctx)
		}
		return
	}
	procs := runtime.GOMAXPROCS(0)
	if g%procs != 0 {
		b.Fatalf("%d goroutines is not a multiple of GOMAXPROCS %d", g, procs)
	}
	b.SetParallelism(g / procs)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			op(ctx)
		}
	})
}
