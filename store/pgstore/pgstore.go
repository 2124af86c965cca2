package pgstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/slothpub/slothpub/store"
)

// Options configures Open. The zero value (or nil) is a good default.
type Options struct {
	// Schema is the PostgreSQL schema that holds the store's tables; Open
	// creates it if missing. Default "slothpub". Several stores can share
	// one database under different schemas. Open sets the connections'
	// search_path to it, overriding one given in the connection string.
	Schema string
	// MaxConns bounds the pool; 0 keeps pgxpool's default (the larger of
	// 4 and the number of CPUs) or the pool_max_conns of the connection
	// string.
	MaxConns int32
	// MaxAttempts is how many times Update runs a unit that fails with a
	// serialisation failure or a deadlock before it returns the error;
	// default 10.
	MaxAttempts int
	// Logger receives the driver's few log lines (migrations, retries);
	// default slog.Default().
	Logger *slog.Logger
}

// Driver is a store.Driver on PostgreSQL.
type Driver struct {
	pool        *pgxpool.Pool
	schema      string
	maxAttempts int
	log         *slog.Logger
}

var _ store.Driver = (*Driver)(nil)

// Open connects to the database of connString (a libpq URL or keyword
// string, as pgxpool.ParseConfig reads it), migrates the schema to the
// version this binary knows and returns the driver. Several processes may
// open one database at once: they migrate it once, one after the other. A
// schema of a newer version than this binary knows is an error.
func Open(ctx context.Context, connString string, opts *Options) (*Driver, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.Schema == "" {
		o.Schema = "slothpub"
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 10
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	cfg, err := pgxpool.ParseConfig(connString)
	if err != nil {
		return nil, fmt.Errorf("pgstore: %w", err)
	}
	if o.MaxConns > 0 {
		cfg.MaxConns = o.MaxConns
	}
	cfg.ConnConfig.RuntimeParams["search_path"] = pgx.Identifier{o.Schema}.Sanitize()
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("pgstore: %w", err)
	}
	d := &Driver{pool: pool, schema: o.Schema, maxAttempts: o.MaxAttempts, log: o.Logger}
	if err := d.migrate(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	return d, nil
}

// Pool returns the driver's connection pool, for an application that keeps
// tables of its own beside the store's. Writes to the store's tables through
// it bypass the store's rules.
func (d *Driver) Pool() *pgxpool.Pool { return d.pool }

// Close closes the pool. It waits for the units in progress, which hold a
// connection each, to finish; units begun after Close fail.
func (d *Driver) Close() error {
	d.pool.Close()
	return nil
}

// Update runs fn in a READ COMMITTED transaction, which is what a job queue
// on SKIP LOCKED needs (a REPEATABLE READ claimer would fail on every row
// another claimer updated since its snapshot). Each statement sees the
// rows committed before it began, plus the unit's own writes; a row the
// unit updates is locked until it ends, and an UPDATE ... WHERE re-checks
// its condition on the newest version of the row, so the guarded updates
// of jobs (state and attempt) are safe without a snapshot.
//
// When the transaction fails with a serialisation failure (40001) or a
// deadlock (40P01), Update rolls back and calls fn again, up to
// Options.MaxAttempts times, as store.Driver allows. Commit is synchronous
// under PostgreSQL's default synchronous_commit=on: when Update returns
// nil the unit is on disk (of the primary, and of synchronous standbys if
// the server has them).
func (d *Driver) Update(ctx context.Context, fn func(tx store.DriverTx) error) error {
	return d.run(ctx, pgx.TxOptions{IsoLevel: pgx.ReadCommitted}, fn)
}

// View runs fn in a REPEATABLE READ READ ONLY transaction: every read sees
// one snapshot, and writes fail (SQLSTATE 25006).
func (d *Driver) View(ctx context.Context, fn func(tx store.DriverTx) error) error {
	return d.run(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, fn)
}

func (d *Driver) run(ctx context.Context, opts pgx.TxOptions, fn func(tx store.DriverTx) error) error {
	for attempt := 1; ; attempt++ {
		err := d.once(ctx, opts, fn)
		if err == nil || !retryable(err) || attempt >= d.maxAttempts || ctx.Err() != nil {
			return err
		}
		d.log.DebugContext(ctx, "pgstore: retrying unit of work", "attempt", attempt, "err", err)
		// A short growing pause lets the transaction that won finish.
		t := time.NewTimer(time.Duration(attempt) * time.Millisecond)
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
	}
}

func (d *Driver) once(ctx context.Context, opts pgx.TxOptions, fn func(tx store.DriverTx) error) (err error) {
	ptx, err := d.pool.BeginTx(ctx, opts)
	if err != nil {
		return fmt.Errorf("pgstore: begin: %w", err)
	}
	done := false
	defer func() {
		if !done {
			// fn panicked: roll back, then let the panic go on. The
			// rollback must not depend on a context that may be ending.
			ptx.Rollback(context.WithoutCancel(ctx))
		}
	}()
	t := &tx{tx: ptx, schema: d.schema}
	if err := fn(t); err != nil {
		done = true
		if rerr := ptx.Rollback(context.WithoutCancel(ctx)); rerr != nil && !errors.Is(rerr, pgx.ErrTxClosed) {
			d.log.WarnContext(ctx, "pgstore: rollback", "err", rerr)
		}
		return err // unchanged, as the contract says
	}
	done = true
	if err := ptx.Commit(ctx); err != nil {
		return fmt.Errorf("pgstore: commit: %w", err)
	}
	return nil
}

// retryable reports whether err is a transaction failure that a new
// attempt may not meet: a serialisation failure or a deadlock, whether fn
// passed it up or the commit met it.
func retryable(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code == "40001" || pe.Code == "40P01"
	}
	return false
}
