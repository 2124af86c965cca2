package store_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/slothpub/slothpub/store"
	"github.com/slothpub/slothpub/store/memstore"
)

// Update makes several writes one unit: a failing unit leaves nothing,
// neither its data nor the job it enqueued.
func ExampleDB_Update() {
	ctx := context.Background()
	db := store.Open(memstore.NewDriver(), nil)
	defer db.Close()

	const alice = "https://example.com/users/alice"
	followers := store.FollowersCollection(alice)
	accept := func(follower string, fail bool) error {
		return db.Update(ctx, func(tx *store.Tx) error {
			if err := tx.AddItem(ctx, followers, follower); err != nil {
				return err
			}
			if _, _, err := tx.Enqueue(ctx, "outbox.deliver", []byte(`{"type":"Accept"}`), nil); err != nil {
				return err
			}
			if fail {
				return errors.New("the Accept could not be stored")
			}
			return nil
		})
	}
	fmt.Println(accept("https://a.example/users/x", false))
	fmt.Println(accept("https://b.example/users/y", true))

	n, _ := db.CountItems(ctx, followers)
	jobs, _ := db.CountJobs(ctx, store.JobQuery{Kinds: []string{"outbox.deliver"}})
	fmt.Println(n, "follower,", jobs, "job")
	// Output:
	// <nil>
	// the Accept could not be stored
	// 1 follower, 1 job
}

// A worker claims jobs with a lease, runs them outside any unit and
// reports each outcome; a job that fails is retried with its error kept.
func ExampleDB_Claim() {
	ctx := context.Background()
	now := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
	db := store.Open(memstore.NewDriver(), &store.Options{Clock: func() time.Time { return now }})
	defer db.Close()

	db.Enqueue(ctx, "inbox.process", []byte(`{"id":"https://remote.example/activities/1"}`), nil)
	_, inserted, _ := db.Enqueue(ctx, "inbox.process", nil, &store.EnqueueOptions{UniqueKey: "only-once"})
	_, again, _ := db.Enqueue(ctx, "inbox.process", nil, &store.EnqueueOptions{UniqueKey: "only-once"})
	fmt.Println("unique:", inserted, again)

	jobs, _ := db.Claim(ctx, []string{"inbox.process"}, 10, time.Minute)
	for _, j := range jobs {
		if j.UniqueKey == "" {
			db.Retry(ctx, j, now.Add(time.Minute), errors.New("remote.example: 503"))
		} else {
			db.Complete(ctx, j)
		}
	}
	for _, j := range must(db.Jobs(ctx, store.JobQuery{})) {
		fmt.Printf("job %d: %s, attempt %d, last error %q\n", j.ID, j.State, j.Attempt, j.LastError)
	}

	now = now.Add(time.Minute) // the retry is due
	jobs, _ = db.Claim(ctx, []string{"inbox.process"}, 10, time.Minute)
	fmt.Println("claimed again:", len(jobs), "attempt", jobs[0].Attempt)
	// Output:
	// unique: true false
	// job 1: retryable, attempt 1, last error "remote.example: 503"
	// job 2: completed, attempt 1, last error ""
	// claimed again: 1 attempt 2
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
