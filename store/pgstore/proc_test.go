package pgstore

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/slothpub/slothpub/store"
)

// These tests re-run the test binary as child processes. A child is told
// what to do by childEnv (read here, in a test file, only); it opens the
// parent's schema on the parent's server.
const (
	childEnv       = "PGSTORE_TEST_CHILD" // "worker" or "writer"
	childSchemaEnv = "PGSTORE_TEST_SCHEMA"
	childNameEnv   = "PGSTORE_TEST_NAME"
)

// child returns a command that runs test in a child process in the given
// role, on schema.
func child(t *testing.T, test, role, schema, name string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^"+test+"$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(),
		childEnv+"="+role, childSchemaEnv+"="+schema, childNameEnv+"="+name,
		dsnEnv+"="+testDSN(t))
	return cmd
}

// ---------------------------------------------------------------- two workers

const sharedJobs = 2000

// Two processes claim and complete 2,000 jobs on one database. Each
// completion is recorded in the unit that finishes the job: the job's id
// is added to the collection "done" (AddItem answers ErrExists for a
// second completion) and to the worker's own collection. Every job must be
// completed exactly once, at its first attempt, and both processes must
// have done part of the work.
func TestTwoProcessesShareJobs(t *testing.T) {
	if os.Getenv(childEnv) == "worker" {
		jobWorker(t)
		return
	}
	schema := newSchema(t)
	d := openSchema(t, schema)
	ctx := t.Context()
	if err := d.Update(ctx, func(tx store.DriverTx) error {
		now := time.Now()
		for i := range sharedJobs {
			j := &store.Job{Kind: "shared", Payload: []byte(strconv.Itoa(i)), State: store.JobAvailable, RunAt: now}
			if _, err := tx.InsertJob(ctx, j); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	names := []string{"a", "b"}
	cmds := make([]*exec.Cmd, len(names))
	outs := make([]*strings.Builder, len(names))
	for i, name := range names {
		cmds[i] = child(t, "TestTwoProcessesShareJobs", "worker", schema, name)
		outs[i] = new(strings.Builder)
		cmds[i].Stdout, cmds[i].Stderr = outs[i], outs[i]
		if err := cmds[i].Start(); err != nil {
			t.Fatal(err)
		}
	}
	for i, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			t.Errorf("worker %s: %v\n%s", names[i], err, outs[i])
		}
	}
	var done int
	per := map[string]int{}
	var completed, firstAttempt int
	if err := d.View(ctx, func(tx store.DriverTx) error {
		var err error
		if done, err = tx.CountItems(ctx, "done"); err != nil {
			return err
		}
		for _, name := range names {
			if per[name], err = tx.CountItems(ctx, "done/"+name); err != nil {
				return err
			}
		}
		if completed, err = tx.CountJobs(ctx, store.JobQuery{States: []store.JobState{store.JobCompleted}}); err != nil {
			return err
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := d.pool.QueryRow(ctx, `SELECT count(*) FROM jobs WHERE attempt = 1`).Scan(&firstAttempt); err != nil {
		t.Fatal(err)
	}
	t.Logf("worker a completed %d jobs, worker b %d", per["a"], per["b"])
	if done != sharedJobs || completed != sharedJobs || per["a"]+per["b"] != sharedJobs {
		t.Errorf("done %d, completed %d, a+b %d; want %d each", done, completed, per["a"]+per["b"], sharedJobs)
	}
	if firstAttempt != sharedJobs {
		t.Errorf("%d jobs completed at their first attempt, want all %d", firstAttempt, sharedJobs)
	}
	for _, name := range names {
		if per[name] == 0 {
			t.Errorf("worker %s did no job", name)
		}
	}
}

// jobWorker is a child of TestTwoProcessesShareJobs: it waits for the
// other worker, then claims jobs five at a time and finishes each in a unit
// of its own that records the completion, until none is left.
func jobWorker(t *testing.T) {
	name := os.Getenv(childNameEnv)
	d, err := Open(t.Context(), testDSN(t), &Options{Schema: os.Getenv(childSchemaEnv), Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	ctx := t.Context()
	// Start together, so that both take part however fast one starts.
	if err := d.Update(ctx, func(tx store.DriverTx) error {
		_, err := tx.AddItem(ctx, "ready", name)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(30 * time.Second); ; {
		var n int
		if err := d.View(ctx, func(tx store.DriverTx) error {
			n, err = tx.CountItems(ctx, "ready")
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if n == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the other worker never started")
		}
		time.Sleep(5 * time.Millisecond)
	}
	for {
		var jobs []*store.Job
		if err := d.Update(ctx, func(tx store.DriverTx) error {
			now := time.Now()
			jobs, err = tx.ClaimJobs(ctx, store.ClaimParams{Kinds: []string{"shared"}, Limit: 5, Now: now, LeaseUntil: now.Add(time.Minute)})
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if len(jobs) == 0 {
			return // every job is claimed (leases are long: none expires)
		}
		for _, j := range jobs {
			id := strconv.FormatInt(j.ID, 10)
			err := d.Update(ctx, func(tx store.DriverTx) error {
				if _, err := tx.AddItem(ctx, "done", id); err != nil {
					return fmt.Errorf("record job %s done: %w", id, err)
				}
				if _, err := tx.AddItem(ctx, "done/"+name, id); err != nil {
					return err
				}
				return tx.FinishJob(ctx, store.JobResult{ID: j.ID, Attempt: j.Attempt, State: store.JobCompleted, At: time.Now()})
			})
			if err != nil {
				t.Fatalf("worker %s: %v", name, err)
			}
		}
	}
}

// ---------------------------------------------------------------- crash

// A child process commits units of four writes (an object, a collection
// member, a value and a unique job, all named by the unit's number), with
// pauses between the writes, and is killed with SIGKILL in the middle of
// its work. Afterwards every unit it reported committed is there whole,
// and no unit is there in part.
func TestKilledProcessLeavesWholeUnits(t *testing.T) {
	if os.Getenv(childEnv) == "writer" {
		unitWriter(t)
		return
	}
	schema := newSchema(t)
	d := openSchema(t, schema)
	cmd := child(t, "TestKilledProcessLeavesWholeUnits", "writer", schema, "w")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	reported := map[int]bool{}
	sc := bufio.NewScanner(stdout)
	for sc.Scan() && len(reported) < 60 {
		if n, ok := strings.CutPrefix(sc.Text(), "committed "); ok {
			i, _ := strconv.Atoi(n)
			reported[i] = true
		}
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	go func() { // drain, so that Wait returns
		for sc.Scan() {
		}
	}()
	err = cmd.Wait()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("child ended with %v, want killed by SIGKILL\n%s", err, stderr.String())
	}
	if len(reported) < 60 {
		t.Fatalf("child reported %d units before it was killed, want 60\n%s", len(reported), stderr.String())
	}

	// The server ends the dead client's transaction when it notices the
	// closed connection; wait until no session of the child's is left.
	ctx := t.Context()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		var n int
		if err := d.pool.QueryRow(ctx,
			`SELECT count(*) FROM pg_stat_activity WHERE application_name = $1`, "pgstore-crash-"+schema).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the killed child's sessions never ended")
		}
	}

	parts := map[int]int{} // unit number -> how many of its four writes exist
	count := func(sql string) {
		rows, err := d.pool.Query(ctx, sql)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		for rows.Next() {
			var n int
			if err := rows.Scan(&n); err != nil {
				t.Fatal(err)
			}
			parts[n]++
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
	}
	count(`SELECT substring(iri from '[0-9]+$')::int FROM objects`) // https://c.example/o/N
	count(`SELECT substring(item from '[0-9]+$')::int FROM collection_items WHERE collection = 'units'`)
	count(`SELECT substring(key from '[0-9]+$')::int FROM protocol_values`) // v/N
	count(`SELECT substring(unique_key from '[0-9]+$')::int FROM jobs`)     // u/N
	for n := range reported {
		if parts[n] != 4 {
			t.Errorf("unit %d was reported committed but has %d of its 4 writes", n, parts[n])
		}
	}
	for n, p := range parts {
		if p != 4 {
			t.Errorf("unit %d is partly there: %d of its 4 writes", n, p)
		}
	}
	t.Logf("child reported %d units committed, %d are in the database", len(reported), len(parts))
}

// unitWriter is the child of TestKilledProcessLeavesWholeUnits: it commits
// units until it is killed, printing the number of each once Update has
// returned.
func unitWriter(t *testing.T) {
	schema := os.Getenv(childSchemaEnv)
	dsn := testDSN(t)
	// Name the sessions, so that the parent can wait for them to end.
	if strings.Contains(dsn, "?") {
		dsn += "&application_name=pgstore-crash-" + schema
	} else {
		dsn += "?application_name=pgstore-crash-" + schema
	}
	d, err := Open(context.Background(), dsn, &Options{Schema: schema, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for i := 1; ; i++ {
		err := d.Update(ctx, func(tx store.DriverTx) error {
			pause := func() { time.Sleep(time.Duration(i%3) * time.Millisecond) }
			if err := tx.InsertObject(ctx, &store.Object{
				IRI: fmt.Sprintf("https://c.example/o/%d", i), Type: "Note", Actor: "https://c.example/u", Data: []byte(`{}`),
			}); err != nil {
				return err
			}
			pause()
			if _, err := tx.AddItem(ctx, "units", fmt.Sprintf("https://c.example/o/%d", i)); err != nil {
				return err
			}
			pause()
			if err := tx.PutValue(ctx, fmt.Sprintf("v/%d", i), []byte("x"), time.Time{}); err != nil {
				return err
			}
			pause()
			_, err := tx.InsertJob(ctx, &store.Job{Kind: "crash", UniqueKey: fmt.Sprintf("u/%d", i), State: store.JobAvailable, RunAt: time.Now()})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		fmt.Printf("committed %d\n", i)
	}
}
