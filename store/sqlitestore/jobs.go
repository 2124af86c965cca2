package sqlitestore

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/slothpub/slothpub/store"
)

// Jobs live in the jobs table (schema version 3). The index
// (state, kind, run_at, id) serves claims: for each state a claim takes
// and each kind it names, one range scan in claim order, cut at the limit.

const jobColumns = `id, kind, payload, unique_key, state, attempt, run_at, lease_until, last_error, created, finished`

func scanJob(sc interface{ Scan(...any) error }) (*store.Job, error) {
	j := &store.Job{}
	var (
		unique                               sql.NullString
		state                                string
		runAt, leaseUntil, created, finished int64
	)
	if err := sc.Scan(&j.ID, &j.Kind, &j.Payload, &unique, &state, &j.Attempt, &runAt, &leaseUntil,
		&j.LastError, &created, &finished); err != nil {
		return nil, err
	}
	j.Payload = nonNil(j.Payload)
	j.UniqueKey = unique.String
	j.State = store.JobState(state)
	j.RunAt, j.LeaseUntil = fromNanos(runAt), fromNanos(leaseUntil)
	j.Created, j.Finished = fromNanos(created), fromNanos(finished)
	return j, nil
}

func (t *dtx) scanJobs(ctx context.Context, what, query string, args ...any) ([]*store.Job, error) {
	rows, err := t.query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: %s: %w", what, err)
	}
	defer rows.Close()
	var out []*store.Job
	for rows.Next() {
		j, err := scanJob(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlitestore: %s: %w", what, t.fail(err))
		}
		out = append(out, j)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlitestore: %s: %w", what, t.fail(err))
	}
	return out, nil
}

// nullKey stores an empty unique key as NULL: no key, never a conflict.
func nullKey(k string) sql.NullString { return sql.NullString{String: k, Valid: k != ""} }

func (t *dtx) InsertJob(ctx context.Context, j *store.Job) (bool, error) {
	ctx, err := t.check(ctx, true)
	if err != nil {
		return false, err
	}
	created := toNanos(j.Created)
	if created == 0 {
		created = nowNanos()
	}
	id, inserted, err := insertedID(t.exec(ctx,
		`INSERT INTO jobs (kind, payload, unique_key, state, attempt, run_at, lease_until, last_error, created, finished)
		 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (unique_key) DO NOTHING`,
		j.Kind, nonNil(j.Payload), nullKey(j.UniqueKey), string(j.State), j.Attempt, toNanos(j.RunAt),
		toNanos(j.LeaseUntil), j.LastError, created, toNanos(j.Finished)))
	if err != nil {
		return false, fmt.Errorf("sqlitestore: insert job %q: %w", j.Kind, err)
	}
	if !inserted {
		return false, nil
	}
	j.ID, j.Created = id, fromNanos(created)
	return true, nil
}

// ClaimJobs updates, in one statement, the first p.Limit claimable jobs
// of p.Kinds. The candidates come from one bounded index range scan per
// (state, kind): available and retryable jobs due by p.Now, and running
// jobs whose lease ended (few: at most one per worker).
//
// A limit up to literalClaimLimit is written into the statement, not
// bound: SQLite plans a LIMIT from the value bound to it and prepares the
// statement again whenever that value changes (about 50 µs of CPU, more
// than the claim), and a worker's limits, its free slots, change from one
// claim to the next. So each such limit has its statement, prepared once
// on the connection.
func (t *dtx) ClaimJobs(ctx context.Context, p store.ClaimParams) ([]*store.Job, error) {
	ctx, err := t.check(ctx, true)
	if err != nil {
		return nil, err
	}
	kinds := slices.Clone(p.Kinds)
	slices.Sort(kinds)
	kinds = slices.Compact(kinds)
	now := toNanos(p.Now)
	var (
		branches []string
		args     = []any{toNanos(p.LeaseUntil)}
		limit    = "?"
	)
	if p.Limit <= literalClaimLimit {
		limit = strconv.Itoa(max(p.Limit, 0))
	}
	bind := func(a ...any) {
		args = append(args, a...)
		if limit == "?" {
			args = append(args, p.Limit)
		}
	}
	for _, kind := range kinds {
		for _, st := range []store.JobState{store.JobAvailable, store.JobRetryable} {
			branches = append(branches, `SELECT * FROM (SELECT id, run_at FROM jobs
				WHERE state = ? AND kind = ? AND run_at <= ? ORDER BY run_at, id LIMIT `+limit+`)`)
			bind(string(st), kind, now)
		}
		branches = append(branches, `SELECT * FROM (SELECT id, run_at FROM jobs
			WHERE state = ? AND kind = ? AND lease_until <= ? ORDER BY run_at, id LIMIT `+limit+`)`)
		bind(string(store.JobRunning), kind, now)
	}
	bind()
	js, err := t.scanJobs(ctx, "claim jobs",
		`UPDATE jobs SET state = 'running', attempt = attempt + 1, lease_until = ?
		 WHERE id IN (SELECT id FROM (`+strings.Join(branches, " UNION ALL ")+`) ORDER BY run_at, id LIMIT `+limit+`)
		 RETURNING `+jobColumns, args...)
	if err != nil {
		return nil, err
	}
	slices.SortFunc(js, func(a, b *store.Job) int {
		if c := a.RunAt.Compare(b.RunAt); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	return js, nil
}

// literalClaimLimit is the largest claim limit ClaimJobs writes into its
// statement: workers claim for their free slots, rarely more than 64.
const literalClaimLimit = 64

// running checks that job id is running with that attempt.
func (t *dtx) running(ctx context.Context, id int64, attempt int) error {
	var (
		state string
		at    int
	)
	err := t.scanRow(ctx, `SELECT state, attempt FROM jobs WHERE id = ?`, []any{id}, &state, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("sqlitestore: job %d: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("sqlitestore: job %d: %w", id, err)
	}
	if store.JobState(state) != store.JobRunning || at != attempt {
		return fmt.Errorf("sqlitestore: job %d attempt %d (now %s, attempt %d): %w", id, attempt, state, at, store.ErrLeaseLost)
	}
	return nil
}

func (t *dtx) FinishJob(ctx context.Context, r store.JobResult) error {
	ctx, err := t.check(ctx, true)
	if err != nil {
		return err
	}
	var (
		query string
		args  []any
	)
	at := toNanos(r.At)
	if at == 0 {
		at = nowNanos() // a finished job has a finish time: DeleteJobs reads it
	}
	switch {
	case r.State == store.JobCompleted && r.Forget:
		query, args = `DELETE FROM jobs WHERE id = ?`, []any{r.ID}
	case r.State == store.JobCompleted:
		query, args = `UPDATE jobs SET state = ?, finished = ? WHERE id = ?`, []any{string(r.State), at, r.ID}
	case r.State == store.JobRetryable:
		query, args = `UPDATE jobs SET state = ?, run_at = ?, last_error = ? WHERE id = ?`,
			[]any{string(r.State), toNanos(r.RunAt), r.Error, r.ID}
	case r.State == store.JobAvailable:
		query, args = `UPDATE jobs SET state = ?, run_at = ?, attempt = attempt - 1 WHERE id = ?`,
			[]any{string(r.State), toNanos(r.RunAt), r.ID}
	case r.State == store.JobDiscarded:
		query, args = `UPDATE jobs SET state = ?, last_error = ?, finished = ? WHERE id = ?`,
			[]any{string(r.State), r.Error, at, r.ID}
	default:
		return fmt.Errorf("sqlitestore: job %d: cannot finish as %q", r.ID, r.State)
	}
	// One statement when the attempt holds the job; else a read says why
	// it does not.
	n, err := affected(t.exec(ctx, query+` AND state = 'running' AND attempt = ?`, append(args, r.Attempt)...))
	if err != nil {
		return fmt.Errorf("sqlitestore: finish job %d: %w", r.ID, err)
	}
	if n == 0 {
		if err := t.running(ctx, r.ID, r.Attempt); err != nil {
			return err
		}
		return fmt.Errorf("sqlitestore: finish job %d: no row updated", r.ID)
	}
	return nil
}

func (t *dtx) ExtendLease(ctx context.Context, id int64, attempt int, until time.Time) error {
	ctx, err := t.check(ctx, true)
	if err != nil {
		return err
	}
	n, err := affected(t.exec(ctx, `UPDATE jobs SET lease_until = ? WHERE id = ? AND state = 'running' AND attempt = ?`,
		toNanos(until), id, attempt))
	if err != nil {
		return fmt.Errorf("sqlitestore: extend lease of job %d: %w", id, err)
	}
	if n == 0 {
		return fmt.Errorf("sqlitestore: job %d attempt %d: %w", id, attempt, store.ErrLeaseLost)
	}
	return nil
}

func (t *dtx) GetJob(ctx context.Context, id int64) (*store.Job, error) {
	ctx, err := t.check(ctx, false)
	if err != nil {
		return nil, err
	}
	j, err := scanJob(t.c.queryRow(ctx, `SELECT `+jobColumns+` FROM jobs WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("sqlitestore: job %d: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: get job %d: %w", id, t.fail(err))
	}
	return j, nil
}

// jobWhere returns the WHERE clause and arguments of q (AfterID included
// when after is set).
func jobWhere(q store.JobQuery, after bool) (string, []any) {
	var (
		conds []string
		args  []any
	)
	in := func(col string, vs []string) {
		conds = append(conds, col+" IN (?"+strings.Repeat(", ?", len(vs)-1)+")")
		for _, v := range vs {
			args = append(args, v)
		}
	}
	if len(q.Kinds) > 0 {
		in("kind", q.Kinds)
	}
	if len(q.States) > 0 {
		states := make([]string, len(q.States))
		for i, s := range q.States {
			states[i] = string(s)
		}
		in("state", states)
	}
	if q.UniqueKey != "" {
		conds = append(conds, "unique_key = ?")
		args = append(args, q.UniqueKey)
	}
	if !q.DueBy.IsZero() {
		conds = append(conds, "state IN ('available', 'retryable') AND run_at <= ?")
		args = append(args, toNanos(q.DueBy))
	}
	if after {
		conds = append(conds, "id > ?")
		args = append(args, q.AfterID)
	}
	if len(conds) == 0 {
		return "", nil
	}
	return " WHERE " + strings.Join(conds, " AND "), args
}

func (t *dtx) ListJobs(ctx context.Context, q store.JobQuery) ([]*store.Job, error) {
	ctx, err := t.check(ctx, false)
	if err != nil {
		return nil, err
	}
	where, args := jobWhere(q, true)
	return t.scanJobs(ctx, "list jobs", `SELECT `+jobColumns+` FROM jobs`+where+` ORDER BY id LIMIT ?`,
		append(args, q.Limit)...)
}

func (t *dtx) CountJobs(ctx context.Context, q store.JobQuery) (int, error) {
	ctx, err := t.check(ctx, false)
	if err != nil {
		return 0, err
	}
	where, args := jobWhere(q, false)
	var n int
	if err := t.scanRow(ctx, `SELECT count(*) FROM jobs`+where, args, &n); err != nil {
		return 0, fmt.Errorf("sqlitestore: count jobs: %w", err)
	}
	return n, nil
}

func (t *dtx) DeleteJobs(ctx context.Context, before time.Time, limit int) (int, error) {
	ctx, err := t.check(ctx, true)
	if err != nil {
		return 0, err
	}
	n, err := affected(t.exec(ctx,
		`DELETE FROM jobs WHERE id IN (SELECT id FROM jobs
		   WHERE finished != 0 AND finished < ? AND +state IN ('completed', 'discarded') -- + keeps the planner on jobs_finished
		   ORDER BY finished, id LIMIT ?)`,
		toNanos(before), limit))
	if err != nil {
		return 0, fmt.Errorf("sqlitestore: delete jobs: %w", err)
	}
	return int(n), nil
}
