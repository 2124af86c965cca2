package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
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
	// 3: the store.Driver schema. Objects get a store-wide sequence number
	// (AUTOINCREMENT: never reused, so a page cursor stays valid after a
	// delete) and their thread parent, and every field FindObjects selects
	// by an index ordered by seq. Existing objects are numbered in rowid
	// order (their insertion order) and their in_reply_to is read from
	// their JSON (a string or an object's id). The table is rebuilt, since
	// SQLite cannot add a primary key to a table; the iri stays unique, so
	// the statements of Store (upserts on iri) work unchanged.
	// collection_items needs nothing: its AUTOINCREMENT seq is store-wide,
	// (collection, seq) pages both ways and UNIQUE (collection, item) is
	// the O(log n) membership test. jobs holds store.Job; a NULL
	// unique_key is no key (NULLs never conflict).
	{
		`CREATE TABLE objects_v3 (
			seq         INTEGER PRIMARY KEY AUTOINCREMENT,
			iri         TEXT NOT NULL UNIQUE,
			type        TEXT NOT NULL,
			actor       TEXT NOT NULL,
			in_reply_to TEXT NOT NULL DEFAULT '',
			local       INTEGER NOT NULL,
			data        BLOB NOT NULL,
			created     INTEGER NOT NULL, -- Unix nanoseconds
			updated     INTEGER NOT NULL
		)`,
		`INSERT INTO objects_v3 (seq, iri, type, actor, in_reply_to, local, data, created, updated)
		 SELECT rowid, iri, type, actor,
		   CASE WHEN json_valid(CAST(data AS TEXT)) THEN COALESCE(
		     CASE json_type(CAST(data AS TEXT), '$.inReplyTo')
		       WHEN 'text' THEN json_extract(CAST(data AS TEXT), '$.inReplyTo')
		       WHEN 'object' THEN CASE json_type(CAST(data AS TEXT), '$.inReplyTo.id')
		         WHEN 'text' THEN json_extract(CAST(data AS TEXT), '$.inReplyTo.id') END
		     END, '') ELSE '' END,
		   local, data, created, updated
		 FROM objects ORDER BY rowid`,
		`DROP TABLE objects`,
		`ALTER TABLE objects_v3 RENAME TO objects`,
		`CREATE INDEX objects_by_actor ON objects (actor, seq)`,
		`CREATE INDEX objects_by_in_reply_to ON objects (in_reply_to, seq)`,
		`CREATE INDEX objects_by_type ON objects (type, seq)`,
		`CREATE TABLE jobs (
			id          INTEGER PRIMARY KEY AUTOINCREMENT,
			kind        TEXT NOT NULL,
			payload     BLOB NOT NULL,
			unique_key  TEXT UNIQUE, -- NULL: not unique
			state       TEXT NOT NULL,
			attempt     INTEGER NOT NULL,
			run_at      INTEGER NOT NULL, -- Unix nanoseconds
			lease_until INTEGER NOT NULL, -- 0 if never claimed
			last_error  TEXT NOT NULL,
			created     INTEGER NOT NULL,
			finished    INTEGER NOT NULL -- 0 unless completed or discarded
		)`,
		`CREATE INDEX jobs_claim ON jobs (state, kind, run_at, id)`,
		`CREATE INDEX jobs_by_kind ON jobs (kind, id)`,
		// finished is set (non-zero) for completed and discarded jobs only.
		`CREATE INDEX jobs_finished ON jobs (finished, id) WHERE finished != 0`,
	},
	// 4: O(1) CountItems. collection_counts holds one row per non-empty
	// collection with its number of members, kept by triggers on
	// collection_items in the statement (so the transaction) that adds or
	// removes a member, whatever adds or removes it; a collection's row
	// goes when its last member does, so the table always equals
	// SELECT collection, count(*) FROM collection_items GROUP BY
	// collection. The migration fills it from the existing members.
	{
		`CREATE TABLE collection_counts (
			collection TEXT PRIMARY KEY NOT NULL,
			n          INTEGER NOT NULL CHECK (n > 0)
		) WITHOUT ROWID`,
		`INSERT INTO collection_counts (collection, n)
		 SELECT collection, count(*) FROM collection_items GROUP BY collection`,
		`CREATE TRIGGER collection_items_count_insert AFTER INSERT ON collection_items BEGIN
			INSERT INTO collection_counts (collection, n) VALUES (new.collection, 1)
			ON CONFLICT (collection) DO UPDATE SET n = n + 1;
		END`,
		`CREATE TRIGGER collection_items_count_delete AFTER DELETE ON collection_items BEGIN
			DELETE FROM collection_counts WHERE collection = old.collection AND n = 1;
			UPDATE collection_counts SET n = n - 1 WHERE collection = old.collection;
		END`,
		// Nothing moves a member to another collection, but should
		// anything do so, the counts follow.
		`CREATE TRIGGER collection_items_count_move AFTER UPDATE OF collection ON collection_items
		 WHEN old.collection IS NOT new.collection BEGIN
			DELETE FROM collection_counts WHERE collection = old.collection AND n = 1;
			UPDATE collection_counts SET n = n - 1 WHERE collection = old.collection;
			INSERT INTO collection_counts (collection, n) VALUES (new.collection, 1)
			ON CONFLICT (collection) DO UPDATE SET n = n + 1;
		END`,
	},
	// 5: the counts are kept by AddItem and RemoveItem, in the statements
	// after their insert or delete, not by triggers. A trigger made every
	// insert into collection_items a statement that needs a statement
	// journal: inside a unit of a group commit (a SAVEPOINT), each page it
	// touched was written to the sub-journal file, which cost more than
	// the insert itself (a fan-out adds an item per delivery).
	{
		`DROP TRIGGER collection_items_count_insert`,
		`DROP TRIGGER collection_items_count_delete`,
		`DROP TRIGGER collection_items_count_move`,
	},
}

// ErrNewerSchema is returned (wrapped) by Open and OpenDriver for a
// database whose schema version is newer than this code knows: an older
// binary must not write to a newer schema.
var ErrNewerSchema = errors.New("sqlitestore: the database schema is newer than this program knows")

// schemaVersion is the user_version of a fully migrated database.
var schemaVersion = len(migrations)

// migrateDB brings the schema of db, a writer handle (its DSN begins
// transactions IMMEDIATE), to schemaVersion in one write transaction, so
// that two processes opening one new file do not both migrate it, and logs
// to log.
func migrateDB(ctx context.Context, db *sql.DB, log *slog.Logger) error {
	tx, err := db.BeginTx(ctx, nil) // BEGIN IMMEDIATE: holds the write lock
	if err != nil {
		return fmt.Errorf("begin migration: %w", err)
	}
	defer tx.Rollback()
	var version int
	if err := tx.QueryRowContext(ctx, `PRAGMA user_version`).Scan(&version); err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	if version > schemaVersion {
		return fmt.Errorf("%w: schema version %d is newer than this code's %d", ErrNewerSchema, version, schemaVersion)
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
	log.InfoContext(ctx, "sqlitestore: migrated schema", "from", version, "to", schemaVersion)
	return nil
}
