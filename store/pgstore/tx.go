package pgstore

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/slothpub/slothpub/store"
)

// tx is a unit of work: a pgx transaction on one pooled connection.
type tx struct {
	tx     pgx.Tx
	schema string
}

var _ store.DriverTx = (*tx)(nil)

// ---------------------------------------------------------------- time

// Times are stored as Unix nanoseconds; 0 stands for the zero time.
func toNanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromNanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

// now is the current time as the store keeps it (nanoseconds, UTC, no
// monotonic reading), so what a method sets equals what a read returns.
func now() time.Time { return fromNanos(time.Now().UnixNano()) }

// expiryNanos stores an expiry: the zero time (never) is 0, a time before
// 1970 is 1 (already expired, not "never") and one beyond the year 2262 is
// the largest int64.
func expiryNanos(t time.Time) int64 {
	switch {
	case t.IsZero():
		return 0
	case t.Unix() >= math.MaxInt64/int64(time.Second):
		return math.MaxInt64
	case t.Unix() < 0:
		return 1
	}
	return max(t.UnixNano(), 1)
}

// nonNil makes a nil slice an empty one: pgx sends nil as NULL and the
// columns are NOT NULL.
func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// ---------------------------------------------------------------- ranges

// args collects the parameters of a query built piece by piece.
type args []any

// add appends v and returns its placeholder.
func (a *args) add(v any) string {
	*a = append(*a, v)
	return "$" + strconv.Itoa(len(*a))
}

// rangeSQL is the tail of a query paged over col by r: its bounds (to
// follow a WHERE clause), order and limit.
func rangeSQL(col string, r store.Range, a *args) string {
	var b strings.Builder
	if r.Before != 0 {
		b.WriteString(" AND " + col + " < " + a.add(r.Before))
	}
	if r.After != 0 {
		b.WriteString(" AND " + col + " > " + a.add(r.After))
	}
	if r.Ascending {
		b.WriteString(" ORDER BY " + col + " ASC")
	} else {
		b.WriteString(" ORDER BY " + col + " DESC")
	}
	b.WriteString(" LIMIT " + a.add(r.Limit))
	return b.String()
}

// ---------------------------------------------------------------- objects

const objectColumns = `seq, iri, type, actor, in_reply_to, local, data, created, updated`

func scanObject(row pgx.Row) (*store.Object, error) {
	var o store.Object
	var created, updated int64
	if err := row.Scan(&o.Seq, &o.IRI, &o.Type, &o.Actor, &o.InReplyTo, &o.Local, &o.Data, &created, &updated); err != nil {
		return nil, err
	}
	o.Created, o.Updated = fromNanos(created), fromNanos(updated)
	return &o, nil
}

func (t *tx) GetObject(ctx context.Context, iri string) (*store.Object, error) {
	o, err := scanObject(t.tx.QueryRow(ctx, `SELECT `+objectColumns+` FROM objects WHERE iri = $1`, iri))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("pgstore: object %q: %w", iri, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("pgstore: get object %q: %w", iri, err)
	}
	return o, nil
}

func (t *tx) InsertObject(ctx context.Context, o *store.Object) error {
	at := now()
	var seq int64
	err := t.tx.QueryRow(ctx,
		`INSERT INTO objects (iri, type, actor, in_reply_to, local, data, created, updated)
		 VALUES ($1, $2, $3, $4, $5, $6, $7, $7)
		 ON CONFLICT (iri) DO NOTHING RETURNING seq`,
		o.IRI, o.Type, o.Actor, o.InReplyTo, o.Local, nonNil(o.Data), toNanos(at)).Scan(&seq)
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("pgstore: object %q: %w", o.IRI, store.ErrExists)
	}
	if err != nil {
		return fmt.Errorf("pgstore: insert object %q: %w", o.IRI, err)
	}
	o.Seq, o.Created, o.Updated = seq, at, at
	return nil
}

func (t *tx) PutObject(ctx context.Context, o *store.Object) error {
	at := now()
	var seq, created int64
	err := t.tx.QueryRow(ctx,
		`INSERT INTO objects (iri, type, actor, in_reply_to, local, data, created, updated)
		 VALUES ($1, $2, $3, $4, $5, $6, $7, $7)
		 ON CONFLICT (iri) DO UPDATE SET type = EXCLUDED.type, actor = EXCLUDED.actor,
		   in_reply_to = EXCLUDED.in_reply_to, local = EXCLUDED.local, data = EXCLUDED.data,
		   updated = EXCLUDED.updated
		 RETURNING seq, created`,
		o.IRI, o.Type, o.Actor, o.InReplyTo, o.Local, nonNil(o.Data), toNanos(at)).Scan(&seq, &created)
	if err != nil {
		return fmt.Errorf("pgstore: put object %q: %w", o.IRI, err)
	}
	o.Seq, o.Created, o.Updated = seq, fromNanos(created), at
	return nil
}

func (t *tx) DeleteObject(ctx context.Context, iri string) error {
	tag, err := t.tx.Exec(ctx, `DELETE FROM objects WHERE iri = $1`, iri)
	if err != nil {
		return fmt.Errorf("pgstore: delete object %q: %w", iri, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("pgstore: object %q: %w", iri, store.ErrNotFound)
	}
	return nil
}

// FindObjects filters on the indexed columns; each of objects_by_actor,
// objects_by_in_reply_to and objects_by_type leads with its field and ends
// with seq, so the planner reads one range of one index in Range's order.
func (t *tx) FindObjects(ctx context.Context, q store.ObjectQuery) ([]*store.Object, error) {
	var a args
	var where []string
	if q.Actor != "" {
		where = append(where, "actor = "+a.add(q.Actor))
	}
	if q.InReplyTo != "" {
		where = append(where, "in_reply_to = "+a.add(q.InReplyTo))
	}
	if q.Type != "" {
		where = append(where, "type = "+a.add(q.Type))
	}
	if len(where) == 0 {
		return nil, errors.New("pgstore: find objects: empty query")
	}
	sql := `SELECT ` + objectColumns + ` FROM objects WHERE ` + strings.Join(where, " AND ") + rangeSQL("seq", q.Range, &a)
	rows, err := t.tx.Query(ctx, sql, a...)
	if err != nil {
		return nil, fmt.Errorf("pgstore: find objects: %w", err)
	}
	defer rows.Close()
	var out []*store.Object
	for rows.Next() {
		o, err := scanObject(rows)
		if err != nil {
			return nil, fmt.Errorf("pgstore: find objects: %w", err)
		}
		out = append(out, o)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("pgstore: find objects: %w", err)
	}
	return out, nil
}

// ---------------------------------------------------------------- collections

// lockCollection takes a transaction-level advisory lock on one collection,
// held until the unit ends. Units that add to (or remove from) a collection
// take it before they draw a sequence number, so within a collection the
// numbers follow the order in which the units commit: a reader paging
// After the newest number it saw never misses a member committed later
// with a smaller number. Units writing one collection run one after the
// other; units writing two collections in opposite orders may deadlock,
// which PostgreSQL detects and Update retries. The two-key form keeps
// these locks apart from the migration lock; a hash collision only makes
// two collections wait for each other.
func (t *tx) lockCollection(ctx context.Context, collection string) error {
	_, err := t.tx.Exec(ctx, `SELECT pg_advisory_xact_lock(7411, hashtext($1))`, t.schema+" "+collection)
	return err
}

func (t *tx) AddItem(ctx context.Context, collection, item string) (int64, error) {
	if err := t.lockCollection(ctx, collection); err != nil {
		return 0, fmt.Errorf("pgstore: add to %q: %w", collection, err)
	}
	var seq int64
	err := t.tx.QueryRow(ctx,
		`WITH ins AS (
		   INSERT INTO collection_items (collection, item) VALUES ($1, $2)
		   ON CONFLICT (collection, item) DO NOTHING RETURNING seq
		 ), cnt AS (
		   INSERT INTO collection_counts (collection, n) SELECT $1, 1 FROM ins
		   ON CONFLICT (collection) DO UPDATE SET n = collection_counts.n + 1
		 )
		 SELECT seq FROM ins`, collection, item).Scan(&seq)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, fmt.Errorf("pgstore: item %q of %q: %w", item, collection, store.ErrExists)
	}
	if err != nil {
		return 0, fmt.Errorf("pgstore: add to %q: %w", collection, err)
	}
	return seq, nil
}

func (t *tx) RemoveItem(ctx context.Context, collection, item string) error {
	if err := t.lockCollection(ctx, collection); err != nil {
		return fmt.Errorf("pgstore: remove from %q: %w", collection, err)
	}
	var n int
	err := t.tx.QueryRow(ctx,
		`WITH del AS (
		   DELETE FROM collection_items WHERE collection = $1 AND item = $2 RETURNING 1
		 ), cnt AS (
		   UPDATE collection_counts SET n = n - 1 WHERE collection = $1 AND EXISTS (SELECT 1 FROM del)
		 )
		 SELECT count(*) FROM del`, collection, item).Scan(&n)
	if err != nil {
		return fmt.Errorf("pgstore: remove from %q: %w", collection, err)
	}
	if n == 0 {
		return fmt.Errorf("pgstore: item %q of %q: %w", item, collection, store.ErrNotFound)
	}
	return nil
}

func (t *tx) HasItem(ctx context.Context, collection, item string) (bool, error) {
	var ok bool
	err := t.tx.QueryRow(ctx,
		`SELECT EXISTS (SELECT 1 FROM collection_items WHERE collection = $1 AND item = $2)`,
		collection, item).Scan(&ok)
	if err != nil {
		return false, fmt.Errorf("pgstore: has item of %q: %w", collection, err)
	}
	return ok, nil
}

func (t *tx) CountItems(ctx context.Context, collection string) (int, error) {
	var n int
	err := t.tx.QueryRow(ctx, `SELECT n FROM collection_counts WHERE collection = $1`, collection).Scan(&n)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("pgstore: count %q: %w", collection, err)
	}
	return n, nil
}

func (t *tx) Items(ctx context.Context, collection string, r store.Range) ([]store.Item, error) {
	a := args{collection}
	rows, err := t.tx.Query(ctx,
		`SELECT seq, item FROM collection_items WHERE collection = $1`+rangeSQL("seq", r, &a), a...)
	if err != nil {
		return nil, fmt.Errorf("pgstore: items of %q: %w", collection, err)
	}
	items, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (store.Item, error) {
		var it store.Item
		err := row.Scan(&it.Seq, &it.Value)
		return it, err
	})
	if err != nil {
		return nil, fmt.Errorf("pgstore: items of %q: %w", collection, err)
	}
	return items, nil
}

// ---------------------------------------------------------------- keys

func (t *tx) GetKey(ctx context.Context, id string) (*store.Key, error) {
	var k store.Key
	var fetched int64
	err := t.tx.QueryRow(ctx, `SELECT id, owner, public_pem, fetched FROM public_keys WHERE id = $1`, id).
		Scan(&k.ID, &k.Owner, &k.PublicPEM, &fetched)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("pgstore: key %q: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("pgstore: get key %q: %w", id, err)
	}
	k.Fetched = fromNanos(fetched)
	return &k, nil
}

func (t *tx) PutKey(ctx context.Context, k *store.Key) error {
	_, err := t.tx.Exec(ctx,
		`INSERT INTO public_keys (id, owner, public_pem, fetched) VALUES ($1, $2, $3, $4)
		 ON CONFLICT (id) DO UPDATE SET owner = EXCLUDED.owner, public_pem = EXCLUDED.public_pem, fetched = EXCLUDED.fetched`,
		k.ID, k.Owner, k.PublicPEM, toNanos(k.Fetched))
	if err != nil {
		return fmt.Errorf("pgstore: put key %q: %w", k.ID, err)
	}
	return nil
}

func (t *tx) DeleteKey(ctx context.Context, id string) error {
	tag, err := t.tx.Exec(ctx, `DELETE FROM public_keys WHERE id = $1`, id)
	if err != nil {
		return fmt.Errorf("pgstore: delete key %q: %w", id, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("pgstore: key %q: %w", id, store.ErrNotFound)
	}
	return nil
}

// ---------------------------------------------------------------- accounts

// CreateAccount stores a, or returns store.ErrExists if the username is
// taken. A zero a.Created is stored (and set) as now.
func (t *tx) CreateAccount(ctx context.Context, a *store.Account) error {
	created := a.Created
	if created.IsZero() {
		created = now()
	}
	tag, err := t.tx.Exec(ctx,
		`INSERT INTO accounts (username, actor_iri, private_key_pem, created) VALUES ($1, $2, $3, $4)
		 ON CONFLICT (username) DO NOTHING`,
		a.Username, a.ActorIRI, nonNil(a.PrivateKeyPEM), toNanos(created))
	if err != nil {
		return fmt.Errorf("pgstore: create account %q: %w", a.Username, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("pgstore: account %q: %w", a.Username, store.ErrExists)
	}
	a.Created = created
	return nil
}

func (t *tx) GetAccount(ctx context.Context, username string) (*store.Account, error) {
	var a store.Account
	var created int64
	err := t.tx.QueryRow(ctx,
		`SELECT username, actor_iri, private_key_pem, created FROM accounts WHERE username = $1`, username).
		Scan(&a.Username, &a.ActorIRI, &a.PrivateKeyPEM, &created)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("pgstore: account %q: %w", username, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("pgstore: get account %q: %w", username, err)
	}
	a.Created = fromNanos(created)
	return &a, nil
}

func (t *tx) CountAccounts(ctx context.Context) (int, error) {
	var n int
	if err := t.tx.QueryRow(ctx, `SELECT count(*) FROM accounts`).Scan(&n); err != nil {
		return 0, fmt.Errorf("pgstore: count accounts: %w", err)
	}
	return n, nil
}

// ---------------------------------------------------------------- values

func (t *tx) GetValue(ctx context.Context, key string, at time.Time) ([]byte, error) {
	var v []byte
	err := t.tx.QueryRow(ctx,
		`SELECT value FROM protocol_values WHERE key = $1 AND (expires = 0 OR expires > $2)`,
		key, toNanos(at)).Scan(&v)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("pgstore: value %q: %w", key, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("pgstore: get value %q: %w", key, err)
	}
	return v, nil
}

// PutValue stores value and, in passing, purges a few expired values (at
// most 16, skipping any another unit holds, so it never waits).
func (t *tx) PutValue(ctx context.Context, key string, value []byte, expires time.Time) error {
	_, err := t.tx.Exec(ctx,
		`INSERT INTO protocol_values (key, value, expires) VALUES ($1, $2, $3)
		 ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, expires = EXCLUDED.expires`,
		key, nonNil(value), expiryNanos(expires))
	if err != nil {
		return fmt.Errorf("pgstore: put value %q: %w", key, err)
	}
	_, err = t.tx.Exec(ctx,
		`DELETE FROM protocol_values WHERE key IN (
		   SELECT key FROM protocol_values WHERE expires <> 0 AND expires <= $1 AND key <> $2
		   LIMIT 16 FOR UPDATE SKIP LOCKED)`,
		time.Now().UnixNano(), key)
	if err != nil {
		return fmt.Errorf("pgstore: purge expired values: %w", err)
	}
	return nil
}

func (t *tx) DeleteValue(ctx context.Context, key string, at time.Time) error {
	var expires int64
	err := t.tx.QueryRow(ctx, `DELETE FROM protocol_values WHERE key = $1 RETURNING expires`, key).Scan(&expires)
	if errors.Is(err, pgx.ErrNoRows) || err == nil && expires != 0 && expires <= toNanos(at) {
		return fmt.Errorf("pgstore: value %q: %w", key, store.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("pgstore: delete value %q: %w", key, err)
	}
	return nil
}

// ---------------------------------------------------------------- jobs

var jobColumns = jobColumnsOf("jobs")

// jobColumnsOf is the column list scanJob reads, of table t (qualified for
// the RETURNING of an UPDATE ... FROM).
func jobColumnsOf(t string) string {
	return strings.NewReplacer("T.", t+".").Replace(
		`T.id, T.kind, T.payload, coalesce(T.unique_key, ''), T.state, T.attempt, T.run_at, T.lease_until, T.last_error, T.created, T.finished`)
}

func scanJob(row pgx.Row) (*store.Job, error) {
	var j store.Job
	var state string
	var runAt, lease, created, finished int64
	if err := row.Scan(&j.ID, &j.Kind, &j.Payload, &j.UniqueKey, &state, &j.Attempt,
		&runAt, &lease, &j.LastError, &created, &finished); err != nil {
		return nil, err
	}
	j.State = store.JobState(state)
	j.RunAt, j.LeaseUntil = fromNanos(runAt), fromNanos(lease)
	j.Created, j.Finished = fromNanos(created), fromNanos(finished)
	return &j, nil
}

func collectJobs(rows pgx.Rows) ([]*store.Job, error) {
	defer rows.Close()
	var out []*store.Job
	for rows.Next() {
		j, err := scanJob(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, j)
	}
	return out, rows.Err()
}

// InsertJob stores j; a zero j.Created is stored (and set) as now. The
// UNIQUE constraint on unique_key (NULL for a job without one, and NULLs
// never conflict) makes the check and the insert one atomic statement.
func (t *tx) InsertJob(ctx context.Context, j *store.Job) (bool, error) {
	created := j.Created
	if created.IsZero() {
		created = now()
	}
	var unique *string
	if j.UniqueKey != "" {
		unique = &j.UniqueKey
	}
	state := j.State
	if state == "" {
		state = store.JobAvailable
	}
	var id int64
	err := t.tx.QueryRow(ctx,
		`INSERT INTO jobs (kind, payload, unique_key, state, attempt, run_at, lease_until, last_error, created, finished)
		 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
		 ON CONFLICT (unique_key) DO NOTHING RETURNING id`,
		j.Kind, nonNil(j.Payload), unique, string(state), j.Attempt, toNanos(j.RunAt),
		toNanos(j.LeaseUntil), j.LastError, toNanos(created), toNanos(j.Finished)).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("pgstore: insert job: %w", err)
	}
	j.ID, j.Created, j.State = id, created, state
	return true, nil
}

// ClaimJobs locks the jobs it takes with FOR UPDATE SKIP LOCKED, so
// concurrent claimers, in this process or others, pass over each other's
// rows instead of waiting for them, and updates them in the same
// statement. Under READ COMMITTED a row that another claimer updated and
// committed after this statement began is re-checked against the WHERE
// clause before it is taken, so a job whose lease was just renewed is not
// taken again. The scan follows jobs_to_claim in (run_at, id) order.
func (t *tx) ClaimJobs(ctx context.Context, p store.ClaimParams) ([]*store.Job, error) {
	rows, err := t.tx.Query(ctx,
		`WITH claim AS (
		   SELECT id FROM jobs
		   WHERE state IN ('available', 'retryable', 'running')
		     AND kind = ANY($1)
		     AND CASE WHEN state = 'running' THEN lease_until <= $2 ELSE run_at <= $2 END
		   ORDER BY run_at, id
		   LIMIT $3
		   FOR UPDATE SKIP LOCKED
		 )
		 UPDATE jobs SET state = 'running', attempt = jobs.attempt + 1, lease_until = $4
		 FROM claim WHERE jobs.id = claim.id
		 RETURNING `+jobColumns,
		p.Kinds, toNanos(p.Now), p.Limit, toNanos(p.LeaseUntil))
	if err != nil {
		return nil, fmt.Errorf("pgstore: claim jobs: %w", err)
	}
	jobs, err := collectJobs(rows)
	if err != nil {
		return nil, fmt.Errorf("pgstore: claim jobs: %w", err)
	}
	// RETURNING has no order; the contract's is oldest RunAt, then ID.
	slices.SortFunc(jobs, func(a, b *store.Job) int {
		if c := a.RunAt.Compare(b.RunAt); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	return jobs, nil
}

// FinishJob moves a running job of attempt r.Attempt to r.State in one
// guarded UPDATE; the row lock it takes orders it with a concurrent claim
// or finish of the same job, and the condition is re-checked on the newest
// row version, so of two workers only the lease holder's finish counts.
// The lease is cleared; LastError is kept unless the outcome brings one.
func (t *tx) FinishJob(ctx context.Context, r store.JobResult) error {
	if r.State == store.JobCompleted && r.Forget {
		tag, err := t.tx.Exec(ctx, `DELETE FROM jobs WHERE id = $1 AND state = 'running' AND attempt = $2`, r.ID, r.Attempt)
		if err != nil {
			return fmt.Errorf("pgstore: forget job %d: %w", r.ID, err)
		}
		if tag.RowsAffected() == 1 {
			return nil
		}
		return t.leaseLost(ctx, r.ID)
	}
	var runAt, finished any // nil keeps the column
	lastErr := any(nil)
	attemptDelta := 0
	switch r.State {
	case store.JobCompleted:
		finished = toNanos(r.At)
	case store.JobRetryable:
		runAt, lastErr = toNanos(r.RunAt), r.Error
	case store.JobAvailable:
		runAt, attemptDelta = toNanos(r.RunAt), -1
	case store.JobDiscarded:
		finished, lastErr = toNanos(r.At), r.Error
	default:
		return fmt.Errorf("pgstore: finish job %d: invalid state %q", r.ID, r.State)
	}
	tag, err := t.tx.Exec(ctx,
		`UPDATE jobs SET state = $3, attempt = attempt + $4,
		   run_at = coalesce($5::bigint, run_at), finished = coalesce($6::bigint, finished),
		   last_error = coalesce($7::text, last_error), lease_until = 0
		 WHERE id = $1 AND state = 'running' AND attempt = $2`,
		r.ID, r.Attempt, string(r.State), attemptDelta, runAt, finished, lastErr)
	if err != nil {
		return fmt.Errorf("pgstore: finish job %d: %w", r.ID, err)
	}
	if tag.RowsAffected() == 1 {
		return nil
	}
	return t.leaseLost(ctx, r.ID)
}

// leaseLost is the error of a guarded job update that matched no row.
func (t *tx) leaseLost(ctx context.Context, id int64) error {
	var exists bool
	if err := t.tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM jobs WHERE id = $1)`, id).Scan(&exists); err != nil {
		return fmt.Errorf("pgstore: job %d: %w", id, err)
	}
	if !exists {
		return fmt.Errorf("pgstore: job %d: %w", id, store.ErrNotFound)
	}
	return fmt.Errorf("pgstore: job %d: %w", id, store.ErrLeaseLost)
}

func (t *tx) ExtendLease(ctx context.Context, id int64, attempt int, until time.Time) error {
	tag, err := t.tx.Exec(ctx,
		`UPDATE jobs SET lease_until = $3 WHERE id = $1 AND state = 'running' AND attempt = $2`,
		id, attempt, toNanos(until))
	if err != nil {
		return fmt.Errorf("pgstore: extend lease of job %d: %w", id, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("pgstore: job %d: %w", id, store.ErrLeaseLost)
	}
	return nil
}

func (t *tx) GetJob(ctx context.Context, id int64) (*store.Job, error) {
	j, err := scanJob(t.tx.QueryRow(ctx, `SELECT `+jobColumns+` FROM jobs WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("pgstore: job %d: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("pgstore: get job %d: %w", id, err)
	}
	return j, nil
}

// jobWhere is the condition of a JobQuery (always true for an empty one).
func jobWhere(q store.JobQuery, a *args) string {
	where := []string{"true"}
	if len(q.Kinds) > 0 {
		where = append(where, "kind = ANY("+a.add(q.Kinds)+")")
	}
	if len(q.States) > 0 {
		states := make([]string, len(q.States))
		for i, s := range q.States {
			states[i] = string(s)
		}
		where = append(where, "state = ANY("+a.add(states)+")")
	}
	if q.UniqueKey != "" {
		where = append(where, "unique_key = "+a.add(q.UniqueKey))
	}
	if !q.DueBy.IsZero() {
		where = append(where, "state IN ('available', 'retryable') AND run_at <= "+a.add(toNanos(q.DueBy)))
	}
	return strings.Join(where, " AND ")
}

func (t *tx) ListJobs(ctx context.Context, q store.JobQuery) ([]*store.Job, error) {
	var a args
	where := jobWhere(q, &a)
	rows, err := t.tx.Query(ctx,
		`SELECT `+jobColumns+` FROM jobs WHERE `+where+` AND id > `+a.add(q.AfterID)+
			` ORDER BY id LIMIT `+a.add(q.Limit), a...)
	if err != nil {
		return nil, fmt.Errorf("pgstore: list jobs: %w", err)
	}
	jobs, err := collectJobs(rows)
	if err != nil {
		return nil, fmt.Errorf("pgstore: list jobs: %w", err)
	}
	return jobs, nil
}

func (t *tx) CountJobs(ctx context.Context, q store.JobQuery) (int, error) {
	var a args
	var n int
	if err := t.tx.QueryRow(ctx, `SELECT count(*) FROM jobs WHERE `+jobWhere(q, &a), a...).Scan(&n); err != nil {
		return 0, fmt.Errorf("pgstore: count jobs: %w", err)
	}
	return n, nil
}

// DeleteJobs removes finished jobs oldest first through jobs_finished,
// skipping rows another unit holds rather than waiting for them.
func (t *tx) DeleteJobs(ctx context.Context, before time.Time, limit int) (int, error) {
	tag, err := t.tx.Exec(ctx,
		`DELETE FROM jobs WHERE id IN (
		   SELECT id FROM jobs WHERE state IN ('completed', 'discarded') AND finished < $1
		   ORDER BY finished LIMIT $2 FOR UPDATE SKIP LOCKED)`,
		toNanos(before), limit)
	if err != nil {
		return 0, fmt.Errorf("pgstore: delete jobs: %w", err)
	}
	return int(tag.RowsAffected()), nil
}
