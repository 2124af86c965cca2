package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"sync"
)

// pool is a *sql.DB whose queries are prepared once and reused: parsing
// SQL costs more than running most of the store's queries. The set of
// queries is fixed by this package, so the cache is bounded.
type pool struct {
	db    *sql.DB
	stmts sync.Map // query string → *sql.Stmt
}

func (p *pool) stmt(ctx context.Context, query string) (*sql.Stmt, error) {
	if st, ok := p.stmts.Load(query); ok {
		return st.(*sql.Stmt), nil
	}
	st, err := p.db.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	if prev, loaded := p.stmts.LoadOrStore(query, st); loaded {
		st.Close()
		return prev.(*sql.Stmt), nil
	}
	return st, nil
}

// ExecContext runs a statement that returns no rows.
func (p *pool) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	st, err := p.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return st.ExecContext(ctx, args...)
}

// QueryContext runs a query that returns rows.
func (p *pool) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	st, err := p.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(ctx, args...)
}

// queryRow is what QueryRowContext returns: a *sql.Row or the error of
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

// QueryRowContext runs a query that returns at most one row.
func (p *pool) QueryRowContext(ctx context.Context, query string, args ...any) queryRow {
	st, err := p.stmt(ctx, query)
	if err != nil {
		return queryRow{err: err}
	}
	return queryRow{row: st.QueryRowContext(ctx, args...)}
}

// Close closes the prepared statements and the database.
func (p *pool) Close() error {
	var errs []error
	p.stmts.Range(func(_, st any) bool {
		errs = append(errs, st.(*sql.Stmt).Close())
		return true
	})
	return errors.Join(append(errs, p.db.Close())...)
}
