package storetest

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/slothpub/slothpub/store"
)

// RunJobs runs the job-queue suite: every job contract of store.DriverTx
// (InsertJob, ClaimJobs, FinishJob, ExtendLease, GetJob, ListJobs,
// CountJobs, DeleteJobs) and how jobs take part in units of work. The
// suite drives time through the now arguments (ClaimParams.Now,
// JobResult.At), never through the clock. newDriver is as for RunDriver.
func RunJobs(t *testing.T, newDriver func(t *testing.T) store.Driver) {
	t.Helper()
	runDriverGroups(t, newDriver, []driverGroup{
		{"Insert", []driverTest{
			{"SetsID", testJobInsert},
			{"GetMissing", testJobGetMissing},
			{"PayloadCopied", testJobPayloadCopied},
			{"Unique", testJobUnique},
			{"UniqueAgainstFinished", testJobUniqueFinished},
			{"UniqueSameUnit", testJobUniqueSameUnit},
			{"UniqueAfterDelete", testJobUniqueAfterDelete},
			{"RolledBack", testJobRolledBack},
		}},
		{"Claim", []driverTest{
			{"SetsLease", testClaimSetsLease},
			{"Order", testClaimOrder},
			{"OnlyDue", testClaimOnlyDue},
			{"Kinds", testClaimKinds},
			{"Limit", testClaimLimit},
			{"NotTwice", testClaimNotTwice},
			{"LeaseExpiry", testLeaseExpiry},
			{"RolledBack", testClaimRolledBack},
			{"Concurrent", testClaimConcurrent},
		}},
		{"Finish", []driverTest{
			{"Complete", testJobComplete},
			{"Forget", testJobForget},
			{"Retry", testJobRetry},
			{"Snooze", testJobSnooze},
			{"Discard", testJobDiscard},
			{"NotRunning", testFinishNotRunning},
			{"Missing", testFinishMissing},
			{"ExtendLease", testExtendLease},
		}},
		{"List", []driverTest{
			{"Filters", testListJobs},
			{"Paging", testListJobsPaging},
		}},
		{"Delete", []driverTest{
			{"Retention", testDeleteJobs},
			{"Limit", testDeleteJobsLimit},
		}},
	})
}

// newJob returns an available job due at runAt, as the portable type
// hands it to InsertJob.
func newJob(kind, unique string, runAt time.Time) *store.Job {
	return &store.Job{
		Kind: kind, Payload: fmt.Appendf(nil, `{"kind":%q}`, kind), UniqueKey: unique,
		State: store.JobAvailable, RunAt: runAt, Created: runAt,
	}
}

func insertJob(t *testing.T, d store.Driver, j *store.Job) bool {
	t.Helper()
	var ok bool
	update(t, d, func(tx store.DriverTx) error {
		var err error
		ok, err = tx.InsertJob(t.Context(), j)
		return err
	})
	return ok
}

func mustInsertJob(t *testing.T, d store.Driver, j *store.Job) *store.Job {
	t.Helper()
	if !insertJob(t, d, j) {
		t.Fatalf("InsertJob(%+v) = false, want inserted", j)
	}
	if j.ID <= 0 {
		t.Fatalf("InsertJob set ID %d, want > 0", j.ID)
	}
	return j
}

func getJob(t *testing.T, d store.Driver, id int64) *store.Job {
	t.Helper()
	var j *store.Job
	view(t, d, func(tx store.DriverTx) error {
		var err error
		j, err = tx.GetJob(t.Context(), id)
		return err
	})
	return j
}

func claim(t *testing.T, d store.Driver, kinds []string, limit int, now time.Time, lease time.Duration) []*store.Job {
	t.Helper()
	var js []*store.Job
	update(t, d, func(tx store.DriverTx) error {
		var err error
		js, err = tx.ClaimJobs(t.Context(), store.ClaimParams{Kinds: kinds, Limit: limit, Now: now, LeaseUntil: now.Add(lease)})
		return err
	})
	return js
}

func jobIDs(js []*store.Job) []int64 {
	ids := make([]int64, 0, len(js))
	for _, j := range js {
		ids = append(ids, j.ID)
	}
	return ids
}

func finish(t *testing.T, d store.Driver, r store.JobResult) error {
	t.Helper()
	return d.Update(t.Context(), func(tx store.DriverTx) error { return tx.FinishJob(t.Context(), r) })
}

func mustFinish(t *testing.T, d store.Driver, r store.JobResult) {
	t.Helper()
	if err := finish(t, d, r); err != nil {
		t.Fatalf("FinishJob(%+v): %v", r, err)
	}
}

func listJobs(t *testing.T, d store.Driver, q store.JobQuery) []int64 {
	t.Helper()
	var js []*store.Job
	view(t, d, func(tx store.DriverTx) error {
		var err error
		js, err = tx.ListJobs(t.Context(), q)
		return err
	})
	return jobIDs(js)
}

func countJobs(t *testing.T, d store.Driver, q store.JobQuery) int {
	t.Helper()
	var n int
	view(t, d, func(tx store.DriverTx) error {
		var err error
		n, err = tx.CountJobs(t.Context(), q)
		return err
	})
	return n
}

const lease = time.Minute

// ---------------------------------------------------------------- insert

func testJobInsert(t *testing.T, d store.Driver) {
	now := base()
	j := mustInsertJob(t, d, newJob("inbox.process", "", now))
	j2 := mustInsertJob(t, d, newJob("inbox.process", "", now))
	if j2.ID <= j.ID {
		t.Errorf("job IDs %d then %d, want increasing", j.ID, j2.ID)
	}
	g := getJob(t, d, j.ID)
	if g.ID != j.ID || g.Kind != "inbox.process" || string(g.Payload) != `{"kind":"inbox.process"}` ||
		g.State != store.JobAvailable || g.Attempt != 0 || !g.RunAt.Equal(now) || g.UniqueKey != "" {
		t.Errorf("GetJob = %+v", g)
	}
	if g.Created.IsZero() {
		t.Error("GetJob Created is zero")
	}
}

func testJobGetMissing(t *testing.T, d store.Driver) {
	err := d.View(t.Context(), func(tx store.DriverTx) error {
		_, err := tx.GetJob(t.Context(), 12345)
		return err
	})
	if !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetJob(missing) = %v, want ErrNotFound", err)
	}
}

func testJobPayloadCopied(t *testing.T, d store.Driver) {
	j := mustInsertJob(t, d, newJob("k", "", base()))
	j.Payload[0] = 'X'
	g := getJob(t, d, j.ID)
	if string(g.Payload) != `{"kind":"k"}` {
		t.Fatalf("the store kept the caller's Payload: %q", g.Payload)
	}
	g.Payload[0] = 'Y'
	if g := getJob(t, d, j.ID); string(g.Payload) != `{"kind":"k"}` {
		t.Errorf("GetJob handed out the store's own Payload: %q", g.Payload)
	}
	js := claim(t, d, []string{"k"}, 1, base(), lease)
	if len(js) != 1 || string(js[0].Payload) != `{"kind":"k"}` {
		t.Errorf("ClaimJobs payload = %v", js)
	}
}

func testJobUnique(t *testing.T, d store.Driver) {
	now := base()
	first := mustInsertJob(t, d, newJob("k", "follow:1", now))
	dup := newJob("other-kind", "follow:1", now.Add(time.Hour))
	if insertJob(t, d, dup) {
		t.Error("InsertJob with a unique key already held = true, want false")
	}
	if n := countJobs(t, d, store.JobQuery{}); n != 1 {
		t.Errorf("CountJobs = %d after a deduplicated insert, want 1", n)
	}
	if g := getJob(t, d, first.ID); g.Kind != "k" || !g.RunAt.Equal(now) {
		t.Errorf("a deduplicated insert changed the first job: %+v", g)
	}
	mustInsertJob(t, d, newJob("k", "follow:2", now))
	// Jobs without a unique key are never deduplicated.
	mustInsertJob(t, d, newJob("k", "", now))
	mustInsertJob(t, d, newJob("k", "", now))
	if n := countJobs(t, d, store.JobQuery{}); n != 4 {
		t.Errorf("CountJobs = %d, want 4", n)
	}
}

func testJobUniqueFinished(t *testing.T, d store.Driver) {
	now := base()
	for i, st := range []store.JobState{store.JobRunning, store.JobCompleted, store.JobDiscarded, store.JobRetryable} {
		key := fmt.Sprintf("u%d", i)
		j := mustInsertJob(t, d, newJob(key, key, now))
		if js := claim(t, d, []string{key}, 1, now, lease); len(js) != 1 {
			t.Fatalf("claim %s: %d jobs", key, len(js))
		}
		if st != store.JobRunning {
			mustFinish(t, d, store.JobResult{ID: j.ID, Attempt: 1, State: st, RunAt: now.Add(time.Hour), Error: "e", At: now})
		}
		if insertJob(t, d, newJob(key, key, now)) {
			t.Errorf("InsertJob with the unique key of a %s job = true, want false", st)
		}
	}
}

func testJobUniqueSameUnit(t *testing.T, d store.Driver) {
	var a, b bool
	now := base()
	update(t, d, func(tx store.DriverTx) error {
		var err error
		if a, err = tx.InsertJob(t.Context(), newJob("k", "same", now)); err != nil {
			return err
		}
		b, err = tx.InsertJob(t.Context(), newJob("k", "same", now))
		return err
	})
	if !a || b {
		t.Errorf("two inserts with one unique key in one unit = %v, %v; want true, false", a, b)
	}
	if n := countJobs(t, d, store.JobQuery{UniqueKey: "same"}); n != 1 {
		t.Errorf("CountJobs(UniqueKey) = %d, want 1", n)
	}
}

func testJobUniqueAfterDelete(t *testing.T, d store.Driver) {
	now := base()
	j := mustInsertJob(t, d, newJob("k", "once", now))
	claim(t, d, []string{"k"}, 1, now, lease)
	mustFinish(t, d, store.JobResult{ID: j.ID, Attempt: 1, State: store.JobCompleted, At: now})
	var n int
	update(t, d, func(tx store.DriverTx) error {
		var err error
		n, err = tx.DeleteJobs(t.Context(), now.Add(time.Second), 10)
		return err
	})
	if n != 1 {
		t.Fatalf("DeleteJobs = %d, want 1", n)
	}
	if !insertJob(t, d, newJob("k", "once", now)) {
		t.Error("InsertJob with the unique key of a deleted job = false, want true")
	}
}

func testJobRolledBack(t *testing.T, d store.Driver) {
	now := base()
	var id int64
	err := d.Update(t.Context(), func(tx store.DriverTx) error {
		j := newJob("k", "rb", now)
		if _, err := tx.InsertJob(t.Context(), j); err != nil {
			return err
		}
		id = j.ID
		if err := tx.InsertObject(t.Context(), dobj("https://example.com/n", "Note", "a", "")); err != nil {
			return err
		}
		return errBoom
	})
	if !errors.Is(err, errBoom) {
		t.Fatalf("Update = %v, want errBoom", err)
	}
	if n := countJobs(t, d, store.JobQuery{}); n != 0 {
		t.Errorf("CountJobs = %d after a rolled-back enqueue, want 0", n)
	}
	err = d.View(t.Context(), func(tx store.DriverTx) error { _, err := tx.GetJob(t.Context(), id); return err })
	if !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetJob(rolled back) = %v, want ErrNotFound", err)
	}
	if js := claim(t, d, []string{"k"}, 10, now.Add(time.Hour), lease); len(js) != 0 {
		t.Errorf("claimed %d rolled-back jobs", len(js))
	}
	if !insertJob(t, d, newJob("k", "rb", now)) {
		t.Error("the unique key of a rolled-back job is still held")
	}
}

// ---------------------------------------------------------------- claim

func testClaimSetsLease(t *testing.T, d store.Driver) {
	now := base()
	j := mustInsertJob(t, d, newJob("k", "", now))
	js := claim(t, d, []string{"k"}, 5, now, lease)
	if len(js) != 1 {
		t.Fatalf("ClaimJobs = %d jobs, want 1", len(js))
	}
	c := js[0]
	if c.ID != j.ID || c.State != store.JobRunning || c.Attempt != 1 || !c.LeaseUntil.Equal(now.Add(lease)) ||
		c.Kind != "k" || !c.RunAt.Equal(now) {
		t.Errorf("claimed job = %+v; want running, attempt 1, lease until %v", c, now.Add(lease))
	}
	g := getJob(t, d, j.ID)
	if g.State != store.JobRunning || g.Attempt != 1 || !g.LeaseUntil.Equal(now.Add(lease)) {
		t.Errorf("GetJob after claim = %+v", g)
	}
}

func testClaimOrder(t *testing.T, d store.Driver) {
	now := base()
	// Inserted out of RunAt order; three share one RunAt.
	offsets := []time.Duration{-2 * time.Minute, -5 * time.Minute, -time.Minute, -5 * time.Minute, -10 * time.Minute, -5 * time.Minute, 0}
	var jobs []*store.Job
	for _, off := range offsets {
		jobs = append(jobs, mustInsertJob(t, d, newJob("k", "", now.Add(off))))
	}
	want := slices.Clone(jobs)
	slices.SortStableFunc(want, func(a, b *store.Job) int {
		if c := a.RunAt.Compare(b.RunAt); c != 0 {
			return c
		}
		return int(a.ID - b.ID)
	})
	// Claimed three at a time, the jobs come oldest RunAt first, then by ID.
	var got []int64
	for range 4 {
		got = append(got, jobIDs(claim(t, d, []string{"k"}, 3, now, lease))...)
	}
	if w := jobIDs(want); !slices.Equal(got, w) {
		t.Errorf("claim order = %v, want %v (RunAt, then ID)", got, w)
	}
}

func testClaimOnlyDue(t *testing.T, d store.Driver) {
	now := base()
	due := mustInsertJob(t, d, newJob("k", "", now))
	later := mustInsertJob(t, d, newJob("k", "", now.Add(time.Hour)))
	// The due job's lease outlasts the test, so only the later one can come.
	if got := jobIDs(claim(t, d, []string{"k"}, 10, now, 24*time.Hour)); !slices.Equal(got, []int64{due.ID}) {
		t.Errorf("ClaimJobs(now) = %v, want only the due job %d", got, due.ID)
	}
	if got := jobIDs(claim(t, d, []string{"k"}, 10, now.Add(59*time.Minute), lease)); len(got) != 0 {
		t.Errorf("ClaimJobs before RunAt = %v, want none", got)
	}
	// RunAt == Now is due.
	if got := jobIDs(claim(t, d, []string{"k"}, 10, now.Add(time.Hour), lease)); !slices.Equal(got, []int64{later.ID}) {
		t.Errorf("ClaimJobs(RunAt) = %v, want %d", got, later.ID)
	}
}

func testClaimKinds(t *testing.T, d store.Driver) {
	now := base()
	a := mustInsertJob(t, d, newJob("a", "", now))
	b := mustInsertJob(t, d, newJob("b", "", now))
	c := mustInsertJob(t, d, newJob("c", "", now))
	if got := jobIDs(claim(t, d, []string{"b"}, 10, now, lease)); !slices.Equal(got, []int64{b.ID}) {
		t.Errorf("ClaimJobs(b) = %v, want [%d]", got, b.ID)
	}
	if got := jobIDs(claim(t, d, []string{"x"}, 10, now, lease)); len(got) != 0 {
		t.Errorf("ClaimJobs(unknown kind) = %v", got)
	}
	if got := jobIDs(claim(t, d, []string{"c", "a", "b"}, 10, now, lease)); !slices.Equal(got, []int64{a.ID, c.ID}) {
		t.Errorf("ClaimJobs(c, a, b) = %v, want [%d %d]", got, a.ID, c.ID)
	}
}

func testClaimLimit(t *testing.T, d store.Driver) {
	now := base()
	for range 10 {
		mustInsertJob(t, d, newJob("k", "", now))
	}
	seen := map[int64]bool{}
	for _, want := range []int{3, 3, 3, 1, 0} {
		js := claim(t, d, []string{"k"}, 3, now, lease)
		if len(js) != want {
			t.Errorf("ClaimJobs(limit 3) = %d jobs, want %d", len(js), want)
		}
		for _, j := range js {
			if seen[j.ID] {
				t.Errorf("job %d claimed twice", j.ID)
			}
			seen[j.ID] = true
		}
	}
	if n := countJobs(t, d, store.JobQuery{States: []store.JobState{store.JobRunning}}); n != 10 {
		t.Errorf("CountJobs(running) = %d, want 10", n)
	}
}

func testClaimNotTwice(t *testing.T, d store.Driver) {
	now := base()
	mustInsertJob(t, d, newJob("k", "", now))
	if js := claim(t, d, []string{"k"}, 1, now, lease); len(js) != 1 {
		t.Fatalf("first claim: %d jobs", len(js))
	}
	if js := claim(t, d, []string{"k"}, 1, now.Add(lease-time.Millisecond), lease); len(js) != 0 {
		t.Errorf("a job was claimed again while its lease held: %+v", js[0])
	}
}

func testLeaseExpiry(t *testing.T, d store.Driver) {
	now := base()
	j := mustInsertJob(t, d, newJob("k", "", now))
	claim(t, d, []string{"k"}, 1, now, lease)
	if js := claim(t, d, []string{"k"}, 1, now.Add(lease/2), lease); len(js) != 0 {
		t.Fatalf("claimed during the lease: %v", jobIDs(js))
	}
	// At the end of the lease the job is claimable again, attempt 2.
	at := now.Add(lease)
	js := claim(t, d, []string{"k"}, 1, at, lease)
	if len(js) != 1 || js[0].ID != j.ID || js[0].Attempt != 2 || !js[0].LeaseUntil.Equal(at.Add(lease)) {
		t.Fatalf("claim after the lease ended = %+v, want job %d attempt 2", js, j.ID)
	}
	// The first worker lost its lease: it can neither finish nor extend.
	err := finish(t, d, store.JobResult{ID: j.ID, Attempt: 1, State: store.JobCompleted, At: at})
	if !errors.Is(err, store.ErrLeaseLost) {
		t.Errorf("FinishJob(stale attempt) = %v, want ErrLeaseLost", err)
	}
	err = d.Update(t.Context(), func(tx store.DriverTx) error {
		return tx.ExtendLease(t.Context(), j.ID, 1, at.Add(time.Hour))
	})
	if !errors.Is(err, store.ErrLeaseLost) {
		t.Errorf("ExtendLease(stale attempt) = %v, want ErrLeaseLost", err)
	}
	if g := getJob(t, d, j.ID); g.State != store.JobRunning || g.Attempt != 2 || !g.LeaseUntil.Equal(at.Add(lease)) {
		t.Errorf("a stale worker changed the job: %+v", g)
	}
	mustFinish(t, d, store.JobResult{ID: j.ID, Attempt: 2, State: store.JobCompleted, At: at})
	if g := getJob(t, d, j.ID); g.State != store.JobCompleted {
		t.Errorf("state = %s, want completed", g.State)
	}
}

func testClaimRolledBack(t *testing.T, d store.Driver) {
	now := base()
	j := mustInsertJob(t, d, newJob("k", "", now))
	err := d.Update(t.Context(), func(tx store.DriverTx) error {
		js, err := tx.ClaimJobs(t.Context(), store.ClaimParams{Kinds: []string{"k"}, Limit: 1, Now: now, LeaseUntil: now.Add(lease)})
		if err != nil {
			return err
		}
		if len(js) != 1 {
			return failf("ClaimJobs inside the unit = %d jobs", len(js))
		}
		return errBoom
	})
	if !errors.Is(err, errBoom) {
		t.Fatalf("Update = %v, want errBoom", err)
	}
	if g := getJob(t, d, j.ID); g.State != store.JobAvailable || g.Attempt != 0 {
		t.Errorf("a rolled-back claim left the job %s attempt %d, want available attempt 0", g.State, g.Attempt)
	}
	if js := claim(t, d, []string{"k"}, 1, now, lease); len(js) != 1 || js[0].Attempt != 1 {
		t.Errorf("claim after a rolled-back claim = %+v, want the job at attempt 1", js)
	}
}

// testClaimConcurrent: 8 claimers take 500 jobs in batches; each job is
// claimed exactly once while the leases hold.
func testClaimConcurrent(t *testing.T, d store.Driver) {
	ctx := t.Context()
	now := base()
	const n, workers = 500, 8
	update(t, d, func(tx store.DriverTx) error {
		for i := range n {
			if _, err := tx.InsertJob(ctx, newJob("k", "", now.Add(-time.Duration(i%17)*time.Second))); err != nil {
				return err
			}
		}
		return nil
	})
	var mu sync.Mutex
	claimed := map[int64]int{}
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for range n {
				var js []*store.Job
				err := d.Update(ctx, func(tx store.DriverTx) error {
					var err error
					js, err = tx.ClaimJobs(ctx, store.ClaimParams{Kinds: []string{"k"}, Limit: 1 + w%4*3, Now: now, LeaseUntil: now.Add(time.Hour)})
					return err
				})
				if err != nil {
					t.Errorf("claimer %d: %v", w, err)
					return
				}
				if len(js) == 0 {
					return
				}
				mu.Lock()
				for _, j := range js {
					claimed[j.ID]++
					if j.Attempt != 1 || j.State != store.JobRunning {
						t.Errorf("claimed job %d: attempt %d, state %s", j.ID, j.Attempt, j.State)
					}
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(claimed) != n {
		t.Errorf("%d distinct jobs claimed, want %d", len(claimed), n)
	}
	for id, k := range claimed {
		if k != 1 {
			t.Errorf("job %d claimed %d times", id, k)
		}
	}
	if c := countJobs(t, d, store.JobQuery{States: []store.JobState{store.JobRunning}}); c != n {
		t.Errorf("CountJobs(running) = %d, want %d", c, n)
	}
}

// ---------------------------------------------------------------- finish

// claimOne inserts a job of kind k and claims it at now.
func claimOne(t *testing.T, d store.Driver, now time.Time) *store.Job {
	t.Helper()
	j := mustInsertJob(t, d, newJob("k", "", now))
	js := claim(t, d, []string{"k"}, 1, now, lease)
	if len(js) != 1 || js[0].ID != j.ID {
		t.Fatalf("claim = %v, want job %d", jobIDs(js), j.ID)
	}
	return js[0]
}

func testJobComplete(t *testing.T, d store.Driver) {
	now := base()
	j := claimOne(t, d, now)
	at := now.Add(10 * time.Second)
	mustFinish(t, d, store.JobResult{ID: j.ID, Attempt: j.Attempt, State: store.JobCompleted, At: at})
	g := getJob(t, d, j.ID)
	if g.State != store.JobCompleted || !g.Finished.Equal(at) || g.Attempt != 1 {
		t.Errorf("completed job = %+v; want completed, Finished %v", g, at)
	}
	if js := claim(t, d, []string{"k"}, 1, now.Add(24*time.Hour), lease); len(js) != 0 {
		t.Errorf("a completed job was claimed")
	}
	err := finish(t, d, store.JobResult{ID: j.ID, Attempt: j.Attempt, State: store.JobCompleted, At: at})
	if !errors.Is(err, store.ErrLeaseLost) {
		t.Errorf("FinishJob(completed job) = %v, want ErrLeaseLost", err)
	}
}

// testJobForget: a job completed with Forget is gone (no job, no count,
// its unique key free again); only its running attempt may forget it;
// and a unit that forgot it and rolled back leaves it running.
func testJobForget(t *testing.T, d store.Driver) {
	now := base()
	j := mustInsertJob(t, d, newJob("k", "forget:1", now))
	keep := mustInsertJob(t, d, newJob("k", "forget:2", now))
	if js := claim(t, d, []string{"k"}, 2, now, lease); len(js) != 2 {
		t.Fatalf("claimed %v", jobIDs(js))
	}
	forget := store.JobResult{ID: j.ID, Attempt: 1, State: store.JobCompleted, Forget: true, At: now}
	if err := finish(t, d, store.JobResult{ID: j.ID, Attempt: 2, State: store.JobCompleted, Forget: true, At: now}); !errors.Is(err, store.ErrLeaseLost) {
		t.Errorf("Forget with another attempt = %v, want ErrLeaseLost", err)
	}
	rolledBack := errors.New("rolled back")
	if err := d.Update(t.Context(), func(tx store.DriverTx) error {
		if err := tx.FinishJob(t.Context(), forget); err != nil {
			return err
		}
		return rolledBack
	}); !errors.Is(err, rolledBack) {
		t.Fatalf("Update = %v", err)
	}
	if g := getJob(t, d, j.ID); g.State != store.JobRunning || g.UniqueKey != "forget:1" {
		t.Fatalf("after a rolled-back Forget: %+v, want running", g)
	}
	mustFinish(t, d, forget)
	err := d.View(t.Context(), func(tx store.DriverTx) error {
		_, err := tx.GetJob(t.Context(), j.ID)
		return err
	})
	if !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetJob(forgotten) = %v, want ErrNotFound", err)
	}
	if got := listJobs(t, d, store.JobQuery{Limit: 10}); !slices.Equal(got, []int64{keep.ID}) {
		t.Errorf("ListJobs = %v, want only %d", got, keep.ID)
	}
	if n := countJobs(t, d, store.JobQuery{Kinds: []string{"k"}}); n != 1 {
		t.Errorf("CountJobs = %d, want 1", n)
	}
	if n := countJobs(t, d, store.JobQuery{States: []store.JobState{store.JobCompleted}}); n != 0 {
		t.Errorf("CountJobs(completed) = %d, want 0: a forgotten job is not kept completed", n)
	}
	if err := finish(t, d, forget); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Forget again = %v, want ErrNotFound", err)
	}
	if !insertJob(t, d, newJob("k", "forget:1", now)) {
		t.Error("InsertJob with the unique key of a forgotten job = false, want true")
	}
	if insertJob(t, d, newJob("k", "forget:2", now)) {
		t.Error("InsertJob with the unique key of a running job = true, want false")
	}
}

func testJobRetry(t *testing.T, d store.Driver) {
	now := base()
	j := claimOne(t, d, now)
	again := now.Add(30 * time.Second)
	mustFinish(t, d, store.JobResult{ID: j.ID, Attempt: 1, State: store.JobRetryable, RunAt: again, Error: "dial tcp: refused", At: now})
	g := getJob(t, d, j.ID)
	if g.State != store.JobRetryable || !g.RunAt.Equal(again) || g.LastError != "dial tcp: refused" || g.Attempt != 1 {
		t.Errorf("retryable job = %+v", g)
	}
	if n := countJobs(t, d, store.JobQuery{States: []store.JobState{store.JobRetryable}}); n != 1 {
		t.Errorf("CountJobs(retryable) = %d, want 1", n)
	}
	if js := claim(t, d, []string{"k"}, 1, again.Add(-time.Millisecond), lease); len(js) != 0 {
		t.Errorf("a retryable job was claimed before its RunAt")
	}
	js := claim(t, d, []string{"k"}, 1, again, lease)
	if len(js) != 1 || js[0].Attempt != 2 || js[0].State != store.JobRunning {
		t.Fatalf("claim of a due retryable job = %+v, want attempt 2", js)
	}
	if js[0].LastError != "dial tcp: refused" {
		t.Errorf("claimed job LastError = %q, want the last attempt's error", js[0].LastError)
	}
}

func testJobSnooze(t *testing.T, d store.Driver) {
	now := base()
	j := claimOne(t, d, now)
	until := now.Add(5 * time.Minute)
	mustFinish(t, d, store.JobResult{ID: j.ID, Attempt: 1, State: store.JobAvailable, RunAt: until, At: now})
	g := getJob(t, d, j.ID)
	if g.State != store.JobAvailable || g.Attempt != 0 || !g.RunAt.Equal(until) {
		t.Errorf("snoozed job = %+v; want available, attempt 0, RunAt %v", g, until)
	}
	if js := claim(t, d, []string{"k"}, 1, until.Add(-time.Second), lease); len(js) != 0 {
		t.Error("a snoozed job was claimed before its RunAt")
	}
	if js := claim(t, d, []string{"k"}, 1, until, lease); len(js) != 1 || js[0].Attempt != 1 {
		t.Errorf("claim after snooze = %+v, want attempt 1 (a snooze does not count)", js)
	}
}

func testJobDiscard(t *testing.T, d store.Driver) {
	now := base()
	j := claimOne(t, d, now)
	at := now.Add(time.Second)
	mustFinish(t, d, store.JobResult{ID: j.ID, Attempt: 1, State: store.JobDiscarded, Error: "410 Gone", At: at})
	g := getJob(t, d, j.ID)
	if g.State != store.JobDiscarded || g.LastError != "410 Gone" || !g.Finished.Equal(at) {
		t.Errorf("discarded job = %+v", g)
	}
	if js := claim(t, d, []string{"k"}, 1, now.Add(24*time.Hour), lease); len(js) != 0 {
		t.Error("a discarded job was claimed")
	}
}

func testFinishNotRunning(t *testing.T, d store.Driver) {
	now := base()
	j := mustInsertJob(t, d, newJob("k", "", now))
	for _, attempt := range []int{0, 1} {
		err := finish(t, d, store.JobResult{ID: j.ID, Attempt: attempt, State: store.JobCompleted, At: now})
		if !errors.Is(err, store.ErrLeaseLost) {
			t.Errorf("FinishJob(available job, attempt %d) = %v, want ErrLeaseLost", attempt, err)
		}
	}
	err := d.Update(t.Context(), func(tx store.DriverTx) error { return tx.ExtendLease(t.Context(), j.ID, 0, now.Add(time.Hour)) })
	if !errors.Is(err, store.ErrLeaseLost) {
		t.Errorf("ExtendLease(available job) = %v, want ErrLeaseLost", err)
	}
	if g := getJob(t, d, j.ID); g.State != store.JobAvailable {
		t.Errorf("state = %s, want available", g.State)
	}
}

func testFinishMissing(t *testing.T, d store.Driver) {
	err := finish(t, d, store.JobResult{ID: 987654, Attempt: 1, State: store.JobCompleted, At: base()})
	if !errors.Is(err, store.ErrNotFound) {
		t.Errorf("FinishJob(missing) = %v, want ErrNotFound", err)
	}
}

func testExtendLease(t *testing.T, d store.Driver) {
	now := base()
	j := claimOne(t, d, now)
	until := now.Add(10 * time.Minute)
	update(t, d, func(tx store.DriverTx) error { return tx.ExtendLease(t.Context(), j.ID, 1, until) })
	if g := getJob(t, d, j.ID); !g.LeaseUntil.Equal(until) || g.State != store.JobRunning || g.Attempt != 1 {
		t.Errorf("job after ExtendLease = %+v", g)
	}
	if js := claim(t, d, []string{"k"}, 1, now.Add(5*time.Minute), lease); len(js) != 0 {
		t.Error("a job was claimed inside its extended lease")
	}
	if js := claim(t, d, []string{"k"}, 1, until, lease); len(js) != 1 || js[0].Attempt != 2 {
		t.Errorf("claim after the extended lease = %+v, want attempt 2", js)
	}
}

// ---------------------------------------------------------------- list

func testListJobs(t *testing.T, d store.Driver) {
	now := base()
	// kind a: available, running, completed; kind b: available (unique),
	// retryable, discarded.
	a1 := mustInsertJob(t, d, newJob("a", "", now))
	a2 := mustInsertJob(t, d, newJob("a", "", now))
	a3 := mustInsertJob(t, d, newJob("a", "", now))
	b1 := mustInsertJob(t, d, newJob("b", "uk", now.Add(time.Hour)))
	b2 := mustInsertJob(t, d, newJob("b", "", now))
	b3 := mustInsertJob(t, d, newJob("b", "", now))
	claimed := jobIDs(claim(t, d, []string{"a", "b"}, 4, now, lease)) // a1 a2 a3 b2
	if !slices.Equal(claimed, []int64{a1.ID, a2.ID, a3.ID, b2.ID}) {
		t.Fatalf("claimed %v", claimed)
	}
	mustFinish(t, d, store.JobResult{ID: a1.ID, Attempt: 1, State: store.JobAvailable, RunAt: now, At: now})
	mustFinish(t, d, store.JobResult{ID: a3.ID, Attempt: 1, State: store.JobCompleted, At: now})
	mustFinish(t, d, store.JobResult{ID: b2.ID, Attempt: 1, State: store.JobRetryable, RunAt: now.Add(time.Hour), Error: "x", At: now})
	js := claim(t, d, []string{"b"}, 1, now, lease) // b3
	mustFinish(t, d, store.JobResult{ID: js[0].ID, Attempt: 1, State: store.JobDiscarded, Error: "y", At: now})

	S := func(s ...store.JobState) []store.JobState { return s }
	cases := []struct {
		q    store.JobQuery
		want []int64
	}{
		{store.JobQuery{}, []int64{a1.ID, a2.ID, a3.ID, b1.ID, b2.ID, b3.ID}},
		{store.JobQuery{Kinds: []string{"a"}}, []int64{a1.ID, a2.ID, a3.ID}},
		{store.JobQuery{Kinds: []string{"b", "a"}}, []int64{a1.ID, a2.ID, a3.ID, b1.ID, b2.ID, b3.ID}},
		{store.JobQuery{Kinds: []string{"zzz"}}, nil},
		{store.JobQuery{States: S(store.JobAvailable)}, []int64{a1.ID, b1.ID}},
		{store.JobQuery{States: S(store.JobRunning)}, []int64{a2.ID}},
		{store.JobQuery{States: S(store.JobCompleted, store.JobDiscarded)}, []int64{a3.ID, b3.ID}},
		{store.JobQuery{States: S(store.JobRetryable)}, []int64{b2.ID}},
		{store.JobQuery{Kinds: []string{"b"}, States: S(store.JobAvailable, store.JobRetryable)}, []int64{b1.ID, b2.ID}},
		{store.JobQuery{UniqueKey: "uk"}, []int64{b1.ID}},
		{store.JobQuery{UniqueKey: "uk", Kinds: []string{"a"}}, nil},
		{store.JobQuery{AfterID: a3.ID}, []int64{b1.ID, b2.ID, b3.ID}},
		{store.JobQuery{AfterID: a1.ID, Kinds: []string{"a"}}, []int64{a2.ID, a3.ID}},
		// Due: a1 (available now), then b1 (available in an hour) and b2
		// (retryable in an hour); never a2 (running), a3, b3 (finished).
		{store.JobQuery{DueBy: now}, []int64{a1.ID}},
		{store.JobQuery{DueBy: now.Add(-time.Nanosecond)}, nil},
		{store.JobQuery{DueBy: now.Add(time.Hour)}, []int64{a1.ID, b1.ID, b2.ID}},
		{store.JobQuery{DueBy: now.Add(48 * time.Hour), Kinds: []string{"b"}}, []int64{b1.ID, b2.ID}},
		{store.JobQuery{DueBy: now.Add(48 * time.Hour), States: S(store.JobRetryable, store.JobRunning)}, []int64{b2.ID}},
		{store.JobQuery{DueBy: now, Kinds: []string{"b"}}, nil},
		{store.JobQuery{DueBy: now.Add(time.Hour), UniqueKey: "uk"}, []int64{b1.ID}},
	}
	for _, c := range cases {
		q := c.q
		q.Limit = 100
		if got := listJobs(t, d, q); !slices.Equal(got, c.want) && (len(got) > 0 || len(c.want) > 0) {
			t.Errorf("ListJobs(%+v) = %v, want %v", c.q, got, c.want)
		}
		q.AfterID = 0
		all := len(c.want)
		if c.q.AfterID != 0 {
			all = -1 // CountJobs ignores AfterID
		}
		if n := countJobs(t, d, q); all >= 0 && n != all {
			t.Errorf("CountJobs(%+v) = %d, want %d", c.q, n, all)
		}
	}
	if n := countJobs(t, d, store.JobQuery{AfterID: a3.ID, Limit: 1}); n != 6 {
		t.Errorf("CountJobs(AfterID, Limit) = %d, want 6 (both ignored)", n)
	}
	var g []*store.Job
	view(t, d, func(tx store.DriverTx) error {
		var err error
		g, err = tx.ListJobs(t.Context(), store.JobQuery{States: S(store.JobRetryable), Limit: 10})
		return err
	})
	if len(g) != 1 || g[0].LastError != "x" || g[0].Kind != "b" || !g[0].RunAt.Equal(now.Add(time.Hour)) {
		t.Errorf("ListJobs returned %+v, want the full retryable job", g)
	}
}

func testListJobsPaging(t *testing.T, d store.Driver) {
	now := base()
	var want []int64
	update(t, d, func(tx store.DriverTx) error {
		want = nil
		for i := range 23 {
			kind := "a"
			if i%3 == 0 {
				kind = "b"
			}
			j := newJob(kind, "", now)
			if _, err := tx.InsertJob(t.Context(), j); err != nil {
				return err
			}
			if kind == "a" {
				want = append(want, j.ID)
			}
		}
		return nil
	})
	var got []int64
	after := int64(0)
	for page := 0; page < 20; page++ {
		ids := listJobs(t, d, store.JobQuery{Kinds: []string{"a"}, AfterID: after, Limit: 4})
		if len(ids) > 4 {
			t.Fatalf("ListJobs(Limit 4) = %d jobs", len(ids))
		}
		if len(ids) == 0 {
			break
		}
		got = append(got, ids...)
		after = ids[len(ids)-1]
	}
	if !slices.Equal(got, want) {
		t.Errorf("paging ListJobs = %v, want %v", got, want)
	}
}

// ---------------------------------------------------------------- delete

func deleteJobs(t *testing.T, d store.Driver, before time.Time, limit int) int {
	t.Helper()
	var n int
	update(t, d, func(tx store.DriverTx) error {
		var err error
		n, err = tx.DeleteJobs(t.Context(), before, limit)
		return err
	})
	return n
}

func testDeleteJobs(t *testing.T, d store.Driver) {
	now := base()
	t1, t2, t3 := now.Add(time.Minute), now.Add(2*time.Minute), now.Add(3*time.Minute)
	done := func(st store.JobState, at time.Time) int64 {
		j := claimOne(t, d, now)
		mustFinish(t, d, store.JobResult{ID: j.ID, Attempt: 1, State: st, RunAt: now.Add(time.Hour), Error: "e", At: at})
		return j.ID
	}
	c1 := done(store.JobCompleted, t1)
	d1 := done(store.JobDiscarded, t1)
	c2 := done(store.JobCompleted, t2)
	c3 := done(store.JobCompleted, t3)
	r := done(store.JobRetryable, t1)
	running := claimOne(t, d, now).ID
	avail := mustInsertJob(t, d, newJob("other", "", now)).ID

	if n := deleteJobs(t, d, t2, 100); n != 2 {
		t.Errorf("DeleteJobs(before t2) = %d, want 2 (finished before t2)", n)
	}
	left := listJobs(t, d, store.JobQuery{Limit: 100})
	want := []int64{c2, c3, r, running, avail}
	if !slices.Equal(left, want) {
		t.Errorf("jobs left = %v, want %v (deleted %d %d)", left, want, c1, d1)
	}
	if n := deleteJobs(t, d, t3.Add(time.Hour), 100); n != 2 {
		t.Errorf("DeleteJobs(later) = %d, want 2", n)
	}
	if left := listJobs(t, d, store.JobQuery{Limit: 100}); !slices.Equal(left, []int64{r, running, avail}) {
		t.Errorf("jobs left = %v; retention must keep unfinished jobs", left)
	}
}

func testDeleteJobsLimit(t *testing.T, d store.Driver) {
	now := base()
	for range 5 {
		j := claimOne(t, d, now)
		mustFinish(t, d, store.JobResult{ID: j.ID, Attempt: 1, State: store.JobCompleted, At: now})
	}
	for _, want := range []int{2, 2, 1, 0} {
		if n := deleteJobs(t, d, now.Add(time.Second), 2); n != want {
			t.Errorf("DeleteJobs(limit 2) = %d, want %d", n, want)
		}
	}
	if n := countJobs(t, d, store.JobQuery{}); n != 0 {
		t.Errorf("CountJobs = %d, want 0", n)
	}
}
