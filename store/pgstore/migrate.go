package pgstore

import (
	"context"
	"embed"
	"fmt"
	"hash/fnv"
	"io/fs"
	"path"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
)

// migrationFiles are the schema changes in order: migrations/NNNN_name.sql
// takes the schema from version NNNN-1 to NNNN. Append new files; never
// edit one that has shipped. Each file runs in the one transaction that
// migrates, so a failed migration leaves the schema as it was (PostgreSQL's
// DDL is transactional).
//
//go:embed migrations/*.sql
var migrationFiles embed.FS

type migration struct {
	version int
	name    string
	sql     string
}

// loadMigrations reads the embedded migrations and checks they are
// numbered 1, 2, ... without a gap.
func loadMigrations() ([]migration, error) {
	entries, err := fs.ReadDir(migrationFiles, "migrations")
	if err != nil {
		return nil, err
	}
	var ms []migration
	for _, e := range entries { // ReadDir sorts by name
		num, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v != len(ms)+1 {
			return nil, fmt.Errorf("pgstore: migration file %s out of sequence (want number %04d)", e.Name(), len(ms)+1)
		}
		b, err := migrationFiles.ReadFile(path.Join("migrations", e.Name()))
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{version: v, name: e.Name(), sql: string(b)})
	}
	return ms, nil
}

// lockKey is the advisory lock the migration of one schema holds: processes
// that open the same schema together migrate it once, one after the other.
func lockKey(schema string) int64 {
	h := fnv.New64a()
	h.Write([]byte("slothpub/pgstore migrate " + schema))
	return int64(h.Sum64())
}

// migrate brings the schema to the newest version this binary knows, in
// one transaction holding a transaction-level advisory lock (released at
// commit or rollback, also when the process dies). A schema at a newer
// version than the binary knows is an error: this binary would not know
// what the newer tables mean.
func (d *Driver) migrate(ctx context.Context) error {
	ms, err := loadMigrations()
	if err != nil {
		return err
	}
	want := len(ms)
	tx, err := d.pool.BeginTx(ctx, pgx.TxOptions{})
	if err != nil {
		return fmt.Errorf("pgstore: begin migration: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, lockKey(d.schema)); err != nil {
		return fmt.Errorf("pgstore: take migration lock: %w", err)
	}
	schema := pgx.Identifier{d.schema}.Sanitize()
	if _, err := tx.Exec(ctx, `CREATE SCHEMA IF NOT EXISTS `+schema); err != nil {
		return fmt.Errorf("pgstore: create schema %s: %w", schema, err)
	}
	if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS `+schema+`.slothpub_migrations (
		version    integer PRIMARY KEY,
		name       text NOT NULL,
		applied_at timestamptz NOT NULL DEFAULT now()
	)`); err != nil {
		return fmt.Errorf("pgstore: create migrations table: %w", err)
	}
	var have int
	if err := tx.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM `+schema+`.slothpub_migrations`).Scan(&have); err != nil {
		return fmt.Errorf("pgstore: read schema version: %w", err)
	}
	if have > want {
		return fmt.Errorf("pgstore: schema %s is at version %d, newer than this binary's %d: run a newer binary", schema, have, want)
	}
	if have == want {
		return nil
	}
	// The migrations name tables without a schema: run them with the
	// store's schema first on the search path, for this transaction only.
	if _, err := tx.Exec(ctx, `SELECT set_config('search_path', $1, true)`, schema); err != nil {
		return fmt.Errorf("pgstore: set search_path: %w", err)
	}
	for _, m := range ms[have:] {
		if _, err := tx.Exec(ctx, m.sql); err != nil {
			return fmt.Errorf("pgstore: migrate schema %s to version %d (%s): %w", schema, m.version, m.name, err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO slothpub_migrations (version, name) VALUES ($1, $2)`, m.version, m.name); err != nil {
			return fmt.Errorf("pgstore: record migration %d: %w", m.version, err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("pgstore: commit migration: %w", err)
	}
	d.log.InfoContext(ctx, "pgstore: migrated schema", "schema", d.schema, "from", have, "to", want)
	return nil
}
