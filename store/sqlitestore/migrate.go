package sqlitestore

import (
	"context"
	"fmt"
)

// migrations are the schema changes in order: migrations[i] takes the
// database from user_version i to i+1. Append new ones; never edit one that
// has shipped.
var migrations = [][]string{
	// 1: the initial schema.
	{
		`CREATE TABLE objects (
			iri     TEXT PRIMARY KEY NOT NULL,
			type    TEXT NOT NULL,
			actor   TEXT NOT NULL,
			local   INTEGER NOT NULL,
			data    BLOB NOT NULL,
			created INTEGER NOT NULL, -- Unix nanoseconds
			updated INTEGER NOT NULL
		)`,
		`CREATE INDEX objects_by_actor ON objects (actor)`,
		`CREATE TABLE collection_items (
			seq        INTEGER PRIMARY KEY AUTOINCREMENT, -- insertion order; never reused
			collection TEXT NOT NULL,
			item       TEXT NOT NULL,
			UNIQUE (collection, item)
		)`,
		`CREATE INDEX collection_items_by_seq ON collection_items (collection, seq)`,
		`CREATE TABLE public_keys (
			id         TEXT PRIMARY KEY NOT NULL,
			owner      TEXT NOT NULL,
			public_pem TEXT NOT NULL,
			fetched    INTEGER NOT NULL -- Unix nanoseconds, 0 if unknown
		)`,
		`CREATE INDEX public_keys_by_owner ON public_keys (owner)`,
		`CREATE TABLE accounts (
			username        TEXT PRIMARY KEY NOT NULL, -- case-sensitive (BINARY collation)
			actor_iri       TEXT NOT NULL,
			private_key_pem BLOB NOT NULL,
			created         INTEGER NOT NULL
		)`,
	},
	// 2: store.Values, small protocol state with an expiry.
	{
		`CREATE TABLE protocol_values (
			key     TEXT PRIMARY KEY NOT NULL,
			value   BLOB NOT NULL,
			expires INTEGER NOT NULL -- Unix nanoseconds, 0 for never
		)`,
		`CREATE INDEX protocol_values_by_expiry ON protocol_values (expires) WHERE expires != 0`,
	},
}

// schemaVersion is the user_version of a fully migrated database.
var schemaVersion = len(migrations)

// migrate brings the schema to schemaVersion in one write transaction, so
// that two processes opening one new file do not both migrate it.
func (s *Store) migrate(ctx context.Context) error {
	tx, err := s.w.db.BeginTx(ctx, nil) // BEGIN IMMEDIATE: holds the write lock
	if err != nil {
		return fmt.Errorf("begin migration: %w", err)
	}
	defer tx.Rollback()
	var version int
	if err := tx.QueryRowContext(ctx, `PRAGMA user_version`).Scan(&version); err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	if version > schemaVersion {
		return fmt.Errorf("schema version %d is newer than this code's %d", version, schemaVersion)
	}
	if version == schemaVersion {
		return nil
	}
	for v := version; v < schemaVersion; v++ {
		for _, stmt := range migrations[v] {
			if _, err := tx.ExecContext(ctx, stmt); err != nil {
				return fmt.Errorf("migrate schema to version %d: %w", v+1, err)
			}
		}
	}
	// PRAGMA takes no parameters; schemaVersion is a constant of this code.
	if _, err := tx.ExecContext(ctx, fmt.Sprintf(`PRAGMA user_version = %d`, schemaVersion)); err != nil {
		return fmt.Errorf("write schema version: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit migration: %w", err)
	}
	s.log.InfoContext(ctx, "sqlitestore: migrated schema", "from", version, "to", schemaVersion)
	return nil
}
