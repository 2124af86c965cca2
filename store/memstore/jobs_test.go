package memstore_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/slothpub/slothpub/store"
	"github.com/slothpub/slothpub/store/memstore"
)

// TestJobReadsBack checks that the compact records of jobs give back every
// field of a job as it was stored, after each change of state: times equal
// in every field (location included, zero or far off), nil and empty
// payloads told apart.
func TestJobReadsBack(t *testing.T) {
	ctx := t.Context()
	d := memstore.NewDriver()
	defer d.Close()
	zone := time.FixedZone("UTC+5:30", 5*3600+1800)
	created := time.Date(2025, 3, 1, 12, 0, 0, 123456789, time.Local)
	runAt := time.Date(2025, 3, 1, 12, 0, 1, 5, time.UTC)
	update := func(fn func(tx store.DriverTx) error) {
		t.Helper()
		if err := d.Update(ctx, fn); err != nil {
			t.Fatal(err)
		}
	}
	check := func(want *store.Job) {
		t.Helper()
		var got *store.Job
		var list []*store.Job
		if err := d.View(ctx, func(tx store.DriverTx) error {
			var err error
			if got, err = tx.GetJob(ctx, want.ID); err != nil {
				return err
			}
			list, err = tx.ListJobs(ctx, store.JobQuery{AfterID: want.ID - 1, Limit: 1})
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("GetJob(%d) =\n%#v, want\n%#v", want.ID, got, want)
		}
		if len(list) != 1 || !reflect.DeepEqual(list[0], want) {
			t.Errorf("ListJobs from %d = %#v, want [%#v]", want.ID, list, want)
		}
	}

	j := &store.Job{Kind: "k", Payload: []byte(`{"a":1}`), UniqueKey: "u:1", State: store.JobAvailable,
		RunAt: runAt, Created: created, LeaseUntil: time.Date(9999, 12, 31, 23, 59, 59, 999999999, zone)}
	nilPayload := &store.Job{Kind: "k", State: store.JobAvailable, RunAt: runAt.Add(24 * time.Hour), Created: created}
	empty := &store.Job{Kind: "other", Payload: []byte{}, State: store.JobAvailable, RunAt: runAt.Add(time.Hour), Created: created.In(zone)}
	update(func(tx store.DriverTx) error {
		for _, j := range []*store.Job{j, nilPayload, empty} {
			if _, err := tx.InsertJob(ctx, j); err != nil {
				return err
			}
		}
		return nil
	})
	want := *j
	want.Payload = []byte(`{"a":1}`)
	check(&want)
	wantNil, wantEmpty := *nilPayload, *empty
	check(&wantNil)
	check(&wantEmpty)

	now := runAt.Add(time.Minute)
	lease := now.In(zone).Add(time.Minute)
	update(func(tx store.DriverTx) error {
		js, err := tx.ClaimJobs(ctx, store.ClaimParams{Kinds: []string{"k"}, Limit: 1, Now: now, LeaseUntil: lease})
		if err == nil && (len(js) != 1 || js[0].ID != j.ID) {
			t.Fatalf("claimed %v, want job %d", js, j.ID)
		}
		return err
	})
	want.State, want.Attempt, want.LeaseUntil = store.JobRunning, 1, lease
	check(&want)

	retry := now.Add(time.Hour).In(zone)
	update(func(tx store.DriverTx) error {
		return tx.FinishJob(ctx, store.JobResult{ID: j.ID, Attempt: 1, State: store.JobRetryable, RunAt: retry, Error: "503", At: now})
	})
	want.State, want.RunAt, want.LastError = store.JobRetryable, retry, "503"
	check(&want)

	update(func(tx store.DriverTx) error {
		_, err := tx.ClaimJobs(ctx, store.ClaimParams{Kinds: []string{"k"}, Limit: 1, Now: retry, LeaseUntil: retry.Add(time.Minute)})
		return err
	})
	finished := retry.Add(time.Second).In(time.Local)
	update(func(tx store.DriverTx) error {
		return tx.FinishJob(ctx, store.JobResult{ID: j.ID, Attempt: 2, State: store.JobDiscarded, Error: "gone", At: finished})
	})
	want.State, want.Attempt, want.LeaseUntil, want.LastError, want.Finished = store.JobDiscarded, 2, retry.Add(time.Minute), "gone", finished
	check(&want)

	// A unit that fails leaves the jobs as they were.
	failed := d.Update(ctx, func(tx store.DriverTx) error {
		if _, err := tx.DeleteJobs(ctx, finished.Add(time.Hour), 10); err != nil {
			return err
		}
		return store.ErrNotFound
	})
	if failed == nil {
		t.Fatal("the failing unit committed")
	}
	check(&want)
	check(&wantNil)
}
