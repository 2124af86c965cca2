package worker_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/slothpub/slothpub/store"
	"github.com/slothpub/slothpub/store/worker"
)

// BenchmarkWorkerThroughput measures the jobs per second one worker
// (Concurrency 8, no-op handler) runs while a producer keeps about 1000
// jobs queued, in units of 500 followed by Notify (the producer's units
// are included). Per job the store runs a share of a Claim unit and a
// Complete unit; claims/job is how many Claim units per job.
func BenchmarkWorkerThroughput(b *testing.B) {
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			const backlog, batch = 1000, 500
			ctx := context.Background()
			db := store.Open(be.driver(b), nil)
			defer db.Close()
			enqueue := func(n int) {
				err := db.Update(ctx, func(tx *store.Tx) error {
					for range n {
						if _, _, err := tx.Enqueue(ctx, "noop", nil, nil); err != nil {
							return err
						}
					}
					return nil
				})
				if err != nil {
					b.Fatal(err)
				}
			}
			total := int64(b.N)
			enqueued := min(total, backlog)
			enqueue(int(enqueued))

			w := worker.New(db, &worker.Options{Concurrency: 8, PollInterval: time.Minute, Logger: slog.New(slog.DiscardHandler)})
			w.Handle("noop", func(context.Context, *store.Job) error { return nil })
			runErr := make(chan error, 1)
			b.ResetTimer()
			t0 := time.Now()
			go func() { runErr <- w.Run(ctx) }()
			for {
				done := w.Stats().Completed
				if done >= total {
					break
				}
				if enqueued < total && enqueued-done < backlog-batch {
					n := min(batch, total-enqueued)
					enqueue(int(n))
					enqueued += n
					w.Notify()
					continue
				}
				time.Sleep(100 * time.Microsecond)
			}
			elapsed := time.Since(t0)
			b.StopTimer()
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "jobs/s")
			b.ReportMetric(float64(w.Stats().ClaimCalls)/float64(b.N), "claims/job")
			if err := w.Shutdown(ctx); err != nil {
				b.Fatal(err)
			}
			if err := <-runErr; err != nil {
				b.Fatal(err)
			}
		})
	}
}
