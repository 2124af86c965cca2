package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"syscall"

	"modernc.org/sqlite"

	"github.com/slothpub/slothpub/store"
)

// Driver is a store.Driver backed by an SQLite database file, in WAL mode
// with synchronous=FULL (or NORMAL: Options.Sync). It is safe for
// concurrent use; Close it when done.
//
// Units of work (Update) are group-committed: one writer goroutine, which
// OpenDriver starts and Close stops, takes the units that concurrent Update
// calls queue and runs each inside its own SAVEPOINT of one BEGIN IMMEDIATE
// transaction, then COMMITs them together: one fsync for many units. A
// unit whose fn fails (or panics) is rolled back to its savepoint alone;
// the others commit. A batch takes at most 128 units and stays open for at
// most 10ms; it is committed as soon as no unit is waiting, so a lone
// unit is never delayed. fn runs on its caller's goroutine while the
// writer waits for it, so a panic unwinds the caller's stack. Units of one
// batch run one after the other, each seeing the writes of those before
// it, and commit or fail together with them (as if they had run one by
// one, and a crash had come before the last COMMIT). fn must not call
// Update itself: the writer waits for fn, so the inner unit would never
// start.
//
// View runs on a pool of read-only connections, each View in a read
// transaction: a consistent snapshot of the last commit, never waiting for
// the writer.
type Driver struct {
	path string
	log  *slog.Logger
	w    *writer
	wdb  *sql.DB // the writer's handle, one connection
	rdb  *sql.DB // the read connections

	readers chan *conn // idle read connections; MaxReaders of them

	viewMu    sync.RWMutex // held for reading by each View; Close takes it to wait for them
	closed    bool         // under viewMu
	closeOnce sync.Once
	closeErr  error

	units      atomic.Int64 // units committed
	rolledBack atomic.Int64 // units whose fn failed or panicked
	puts       atomic.Uint32
}

var _ store.Driver = (*Driver)(nil)

// Errors of OpenDriver, wrapped with the path and SQLite's own error.
var (
	// ErrNotDatabase: the file exists but is not an SQLite database.
	ErrNotDatabase = errors.New("sqlitestore: the file is not an SQLite database")
	// ErrNotWritable: the database, its directory or its -wal and -shm
	// side files cannot be created or written.
	ErrNotWritable = errors.New("sqlitestore: cannot create or write the database, its -wal or its -shm file (is the file and its directory writable?)")
)

var (
	errClosed   = errors.New("sqlitestore: driver closed")
	errReadOnly = errors.New("sqlitestore: write inside a View")
	errTxDone   = errors.New("sqlitestore: transaction used after its unit ended")
)

// SQLite's primary result codes this package tells apart.
const (
	sqliteBusy      = 5
	sqliteNoMem     = 7
	sqliteReadOnly  = 8
	sqliteInterrupt = 9
	sqliteIOErr     = 10
	sqliteCorrupt   = 11
	sqliteFull      = 13
	sqliteCantOpen  = 14
	sqliteNotADB    = 26
	sqlitePerm      = 3
)

// sqliteCode returns the primary result code of an SQLite error, or 0.
func sqliteCode(err error) int {
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code() & 0xff
	}
	return 0
}

// OpenDriver opens (creating if needed) the SQLite database file at path
// as a store.Driver and migrates its schema to the current version. It
// takes the options of Open (a nil *Options means the defaults); a file it
// creates has mode Options.FileMode (0600 by default). ":memory:" is not
// supported: use memstore.Driver for a database that need not last.
//
// It fails with an error wrapping ErrNewerSchema for a database written by
// a newer version of this package, ErrNotDatabase for a file that is not
// SQLite, and ErrNotWritable when the file or its -wal cannot be created
// (a read-only directory, for instance).
func OpenDriver(ctx context.Context, path string, opts *Options) (*Driver, error) {
	if path == "" {
		return nil, errors.New("sqlitestore: empty database path")
	}
	if path == memoryPath {
		return nil, errors.New("sqlitestore: OpenDriver needs a file; use memstore.Driver for an in-memory store")
	}
	o := driverOptions(opts)
	d := &Driver{path: path, log: o.Logger}
	if err := createFile(path, o.FileMode.Perm()); err != nil {
		if isPermission(err) {
			return nil, fmt.Errorf("sqlitestore: open %s: %w: %w", path, ErrNotWritable, err)
		}
		return nil, fmt.Errorf("sqlitestore: open %s: %w", path, err)
	}
	fail := func(err error) (*Driver, error) {
		if d.rdb != nil {
			d.rdb.Close()
		}
		if d.wdb != nil {
			d.wdb.Close()
		}
		return nil, d.openError(err)
	}

	wdb, err := sql.Open("sqlite", dsn(path, o.BusyTimeout, o.Sync, true))
	if err != nil {
		return fail(err)
	}
	wdb.SetMaxOpenConns(1)
	wdb.SetMaxIdleConns(1)
	wdb.SetConnMaxLifetime(0)
	wdb.SetConnMaxIdleTime(0)
	d.wdb = wdb
	if err := migrateDB(ctx, wdb, o.Logger); err != nil {
		return fail(err)
	}
	wc, err := wdb.Conn(ctx)
	if err != nil {
		return fail(err)
	}

	rdb, err := sql.Open("sqlite", dsn(path, o.BusyTimeout, o.Sync, false))
	if err != nil {
		wc.Close()
		return fail(err)
	}
	rdb.SetMaxOpenConns(o.MaxReaders)
	rdb.SetMaxIdleConns(o.MaxReaders)
	rdb.SetConnMaxLifetime(0)
	rdb.SetConnMaxIdleTime(0)
	d.rdb = rdb
	d.readers = make(chan *conn, o.MaxReaders)
	for range o.MaxReaders {
		rc, err := rdb.Conn(ctx)
		if err == nil {
			err = rc.PingContext(ctx)
		}
		if err != nil {
			if rc != nil {
				rc.Close()
			}
			d.closeReaders()
			wc.Close()
			return fail(err)
		}
		d.readers <- newConn(rc)
	}
	d.w = newWriter(d, newConn(wc))
	return d, nil
}

// driverOptions fills in the defaults of Options, for Open and OpenDriver.
func driverOptions(opts *Options) Options {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.BusyTimeout <= 0 {
		o.BusyTimeout = defaultBusyTimeout
	}
	if o.MaxReaders <= 0 {
		o.MaxReaders = defaultMaxReaders
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.FileMode == 0 {
		o.FileMode = defaultFileMode
	}
	return o
}

func isPermission(err error) bool {
	return errors.Is(err, os.ErrPermission) || errors.Is(err, syscall.EROFS)
}

// openError names what went wrong when opening the database.
func (d *Driver) openError(err error) error {
	switch sqliteCode(err) {
	case sqliteNotADB:
		return fmt.Errorf("sqlitestore: open %s: %w: %w", d.path, ErrNotDatabase, err)
	case sqliteReadOnly, sqliteCantOpen, sqlitePerm:
		return fmt.Errorf("sqlitestore: open %s: %w: %w", d.path, ErrNotWritable, err)
	}
	return fmt.Errorf("sqlitestore: open %s: %w", d.path, err)
}

func (d *Driver) closeReaders() error {
	var errs []error
	for {
		select {
		case rc := <-d.readers:
			errs = append(errs, rc.close())
		default:
			return errors.Join(errs...)
		}
	}
}

// Close waits for the units queued and the Views in progress, stops the
// writer goroutine and closes the database. Later calls fail with an
// error; Close itself may be called more than once.
func (d *Driver) Close() error {
	d.closeOnce.Do(func() {
		d.w.stop()
		d.viewMu.Lock()
		d.closed = true
		d.viewMu.Unlock()
		d.closeErr = errors.Join(d.w.c.close(), d.closeReaders(), d.rdb.Close(), d.wdb.Close())
	})
	return d.closeErr
}

// Stats are counters of a Driver since it was opened.
type Stats struct {
	Commits    int64 // COMMITs of batches of units (each one fsync, in WAL mode)
	Units      int64 // units of work committed
	RolledBack int64 // units whose fn failed or panicked
}

// Stats returns the driver's counters. Units/Commits is the mean number of
// units that shared one fsync.
func (d *Driver) Stats() Stats {
	return Stats{Commits: d.w.commits.Load(), Units: d.units.Load(), RolledBack: d.rolledBack.Load()}
}

// View runs fn in a read transaction on one of the read connections; see
// store.Driver.
func (d *Driver) View(ctx context.Context, fn func(tx store.DriverTx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	d.viewMu.RLock()
	defer d.viewMu.RUnlock()
	if d.closed {
		return errClosed
	}
	var rc *conn
	select {
	case rc = <-d.readers:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { d.readers <- rc }()
	bg := context.WithoutCancel(ctx)
	if _, err := rc.exec(bg, `BEGIN`); err != nil {
		return fmt.Errorf("sqlitestore: begin view: %w", err)
	}
	t := &dtx{d: d, c: rc}
	defer func() {
		t.ended.Store(true)
		// A read transaction holds no writes; ending it releases its
		// snapshot (an error only means SQLite ended it already).
		if _, err := rc.exec(bg, `ROLLBACK`); err != nil {
			d.log.DebugContext(ctx, "sqlitestore: end view", "error", err)
		}
	}()
	return fn(t)
}

// ---------------------------------------------------------------- connections

// conn is one connection and the statements prepared on it. It is used by
// one goroutine at a time (the writer's, or a View's).
type conn struct {
	c     *sql.Conn
	stmts map[string]*sql.Stmt
}

func newConn(c *sql.Conn) *conn { return &conn{c: c, stmts: make(map[string]*sql.Stmt)} }

func (c *conn) stmt(ctx context.Context, query string) (*sql.Stmt, error) {
	if st, ok := c.stmts[query]; ok {
		return st, nil
	}
	st, err := c.c.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	c.stmts[query] = st
	return st, nil
}

func (c *conn) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	st, err := c.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return st.ExecContext(ctx, args...)
}

func (c *conn) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	st, err := c.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(ctx, args...)
}

// queryRow is what conn.queryRow returns: a *sql.Row or the error of
// preparing the query.
type queryRow struct {
	row *sql.Row
	err error
}

// Scan copies the row's columns into dest, like (*sql.Row).Scan.
func (r queryRow) Scan(dest ...any) error {
	if r.err != nil {
		return r.err
	}
	return r.row.Scan(dest...)
}

func (c *conn) queryRow(ctx context.Context, query string, args ...any) queryRow {
	st, err := c.stmt(ctx, query)
	if err != nil {
		return queryRow{err: err}
	}
	return queryRow{row: st.QueryRowContext(ctx, args...)}
}

func (c *conn) close() error {
	errs := make([]error, 0, len(c.stmts)+1)
	for _, st := range c.stmts {
		errs = append(errs, st.Close())
	}
	c.stmts = nil
	return errors.Join(append(errs, c.c.Close())...)
}
