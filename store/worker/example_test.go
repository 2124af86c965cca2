package worker_test

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/slothpub/slothpub/store"
	"github.com/slothpub/slothpub/store/memstore"
	"github.com/slothpub/slothpub/store/worker"
)

// A follower is stored and its welcome job enqueued in one unit; the
// worker runs the job and records its effect and its completion in one
// unit too, then shuts down.
func Example() {
	ctx := context.Background()
	db := memstore.New()
	defer db.Close()

	const alice = "https://example.com/users/alice"
	w := worker.New(db, &worker.Options{Concurrency: 4, Logger: slog.New(slog.DiscardHandler)})
	welcomed := make(chan struct{})
	w.Handle("welcome", func(ctx context.Context, j *store.Job) error {
		defer close(welcomed)
		return worker.CompleteWith(ctx, db, j, func(tx *store.Tx) error {
			return tx.AddItem(ctx, "example:welcomed", string(j.Payload))
		})
	})
	runErr := make(chan error, 1)
	go func() { runErr <- w.Run(ctx) }()

	follower := "https://remote.example/users/bob"
	err := db.Update(ctx, func(tx *store.Tx) error {
		if err := tx.AddItem(ctx, store.FollowersCollection(alice), follower); err != nil {
			return err
		}
		_, _, err := tx.Enqueue(ctx, "welcome", []byte(follower), nil)
		return err
	})
	fmt.Println("enqueued:", err)
	w.Notify() // run it now, not at the next poll

	<-welcomed
	shutdownCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	fmt.Println("shutdown:", w.Shutdown(shutdownCtx))
	fmt.Println("run:", <-runErr)

	done, _ := db.HasItem(ctx, "example:welcomed", follower)
	jobs, _ := db.Jobs(ctx, store.JobQuery{Kinds: []string{"welcome"}})
	fmt.Println("welcomed:", done)
	fmt.Printf("job %d: %s, attempt %d\n", jobs[0].ID, jobs[0].State, jobs[0].Attempt)
	// Output:
	// enqueued: <nil>
	// shutdown: <nil>
	// run: <nil>
	// welcomed: true
	// job 1: completed, attempt 1
}
