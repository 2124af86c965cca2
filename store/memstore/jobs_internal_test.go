package memstore

import (
	"fmt"
	"testing"
	"time"

	"github.com/slothpub/slothpub/store"
	"github.com/slothpub/slothpub/store/storetest"
)

// clashing returns a driver whose unique index gives every key the same
// hash: every key but one is in its clash map.
func clashing(t *testing.T) store.Driver {
	d := NewDriver()
	d.unique.mask = 0
	t.Cleanup(func() { d.Close() })
	return d
}

// TestJobsWithClashingKeys runs the job suite with unique keys whose
// hashes all clash.
func TestJobsWithClashingKeys(t *testing.T) { storetest.RunJobs(t, clashing) }

// TestSharedUniqueKeys checks jobs whose unique keys share long prefixes
// (stored sharing their bytes) and payloads (the same string): each key
// finds its job and no other, holds back a second job, reads back whole,
// and is free again once its job is deleted; with the hashes apart and
// all clashing.
func TestSharedUniqueKeys(t *testing.T) {
	for name, open := range map[string]func(*testing.T) store.Driver{
		"hashed":   func(t *testing.T) store.Driver { d := NewDriver(); t.Cleanup(func() { d.Close() }); return d },
		"clashing": clashing,
	} {
		t.Run(name, func(t *testing.T) {
			ctx := t.Context()
			d := open(t)
			now := time.Now().Round(0)
			key := func(i int) string {
				return fmt.Sprintf("deliver:https://local.example/users/alice/statuses/%d https://h%d.example/users/u%d/inbox", i/50, i%7, i)
			}
			const n = 300
			ids := make([]int64, n)
			if err := d.Update(ctx, func(tx store.DriverTx) error {
				for i := range n {
					j := &store.Job{Kind: "k", Payload: []byte(`{"from":"alice"}`), UniqueKey: key(i), State: store.JobAvailable, RunAt: now}
					if i%10 == 0 {
						j.UniqueKey = "" // not unique
					}
					if ok, err := tx.InsertJob(ctx, j); err != nil || !ok {
						return fmt.Errorf("insert %d: %v, %v", i, ok, err)
					}
					ids[i] = j.ID
				}
				for i := range n {
					if i%10 == 0 {
						continue
					}
					if ok, err := tx.InsertJob(ctx, &store.Job{Kind: "k", UniqueKey: key(i), State: store.JobAvailable, RunAt: now}); err != nil || ok {
						return fmt.Errorf("second job with key %d inserted: %v, %v", i, ok, err)
					}
				}
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			lookup := func(k string) []*store.Job {
				t.Helper()
				var js []*store.Job
				if err := d.View(ctx, func(tx store.DriverTx) error {
					var err error
					js, err = tx.ListJobs(ctx, store.JobQuery{UniqueKey: k, Limit: 10})
					return err
				}); err != nil {
					t.Fatal(err)
				}
				return js
			}
			for i := range n {
				js := lookup(key(i))
				if i%10 == 0 {
					if len(js) != 0 {
						t.Errorf("key %d, of no job, finds %v", i, js)
					}
					continue
				}
				if len(js) != 1 || js[0].ID != ids[i] || js[0].UniqueKey != key(i) || string(js[0].Payload) != `{"from":"alice"}` {
					t.Errorf("key %d finds %+v, want job %d", i, js, ids[i])
				}
			}
			if js := lookup(key(1)[:len(key(1))-1]); len(js) != 0 {
				t.Errorf("a prefix of key 1 finds %v", js)
			}
			// Finish and delete the jobs: their keys are free again.
			if err := d.Update(ctx, func(tx store.DriverTx) error {
				for {
					js, err := tx.ClaimJobs(ctx, store.ClaimParams{Kinds: []string{"k"}, Limit: 100, Now: now, LeaseUntil: now.Add(time.Minute)})
					if err != nil || len(js) == 0 {
						return err
					}
					for _, j := range js {
						if err := tx.FinishJob(ctx, store.JobResult{ID: j.ID, Attempt: j.Attempt, State: store.JobCompleted, At: now}); err != nil {
							return err
						}
					}
				}
			}); err != nil {
				t.Fatal(err)
			}
			if err := d.Update(ctx, func(tx store.DriverTx) error {
				got, err := tx.DeleteJobs(ctx, now.Add(time.Second), n)
				if err == nil && got != n {
					err = fmt.Errorf("deleted %d jobs, want %d", got, n)
				}
				return err
			}); err != nil {
				t.Fatal(err)
			}
			for i := 1; i < n; i += 10 {
				if js := lookup(key(i)); len(js) != 0 {
					t.Errorf("key %d of a deleted job finds %v", i, js)
				}
			}
			if err := d.Update(ctx, func(tx store.DriverTx) error {
				ok, err := tx.InsertJob(ctx, &store.Job{Kind: "k", UniqueKey: key(1), State: store.JobAvailable, RunAt: now})
				if err == nil && !ok {
					err = fmt.Errorf("key 1 still held after its job was deleted")
				}
				return err
			}); err != nil {
				t.Fatal(err)
			}
			if js := lookup(key(1)); len(js) != 1 || js[0].ID != int64(n+1) {
				t.Errorf("key 1 finds %v, want the new job %d", js, n+1)
			}
		})
	}
}

// TestManyLocations: times in a location the driver knows read back in it;
// beyond maxLocations distinct ones the table grows no more and the times
// read back in UTC, the same instants.
func TestManyLocations(t *testing.T) {
	d := NewDriver()
	t.Cleanup(func() { d.Close() })
	base := time.Date(2026, 12, 3, 12, 0, 0, 5, time.UTC)
	for i := range 3 * maxLocations {
		in := base.Add(time.Duration(i) * time.Second).In(time.FixedZone(fmt.Sprintf("Z%d", i), i*60))
		got := d.time(d.stamp(in))
		if !got.Equal(in) {
			t.Fatalf("%v read back as %v", in, got)
		}
		if i < maxLocations-1 && got.Location() != in.Location() {
			t.Fatalf("location %d not kept: %v", i, got.Location())
		}
		if i >= maxLocations && got.Location() != time.UTC {
			t.Fatalf("location %d beyond the table: %v, want UTC", i, got.Location())
		}
	}
	if len(d.locs) != maxLocations {
		t.Fatalf("%d locations kept, want %d", len(d.locs), maxLocations)
	}
}
