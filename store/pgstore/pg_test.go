package pgstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// The tests run against a real PostgreSQL server. They find it through
// SLOTHPUB_PG_DSN (read here only, never by the package). When it is
// unset they try defaultDSN, the role and database .ci/run creates on the
// local server. Either way a server that does not answer FAILS the tests
// rather than skipping them: a skipped driver test would let a broken
// driver pass CI. Each test gets a schema of its own, dropped after it.
const (
	dsnEnv     = "SLOTHPUB_PG_DSN"
	defaultDSN = "postgres://slothpub:slothpub@127.0.0.1:5432/slothpub_test?sslmode=disable"
)

// quiet drops the driver's log lines (a migration per test).
var quiet = slog.New(slog.DiscardHandler)

var (
	reachOnce sync.Once
	reachErr  error
)

// testDSN returns the DSN of the test server, failing tb if it does not
// answer.
func testDSN(tb testing.TB) string {
	tb.Helper()
	dsn, from := os.Getenv(dsnEnv), dsnEnv
	if dsn == "" {
		dsn, from = defaultDSN, "the default ("+dsnEnv+" is unset)"
	}
	reachOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		c, err := pgx.Connect(ctx, dsn)
		if err == nil {
			err = c.Ping(ctx)
			c.Close(ctx)
		}
		reachErr = err
	})
	if reachErr != nil {
		tb.Fatalf("pgstore tests need a PostgreSQL server; %s via %s did not answer: %v\n"+
			"Run .ci/run once (it installs PostgreSQL, starts it, creates role slothpub and database "+
			"slothpub_test, and exports %s), or set %s to a server you can create schemas on.",
			redact(dsn), from, reachErr, dsnEnv, dsnEnv)
	}
	return dsn
}

// redact hides a password in a DSN for a failure message.
func redact(dsn string) string {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return "(unparsable DSN)"
	}
	return cfg.User + "@" + cfg.Host + "/" + cfg.Database
}

// newSchema returns the name of a new schema that is dropped when tb ends.
func newSchema(tb testing.TB) string {
	tb.Helper()
	dsn := testDSN(tb)
	b := make([]byte, 8)
	rand.Read(b)
	schema := "pgstoretest_" + hex.EncodeToString(b)
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c, err := pgx.Connect(ctx, dsn)
		if err != nil {
			tb.Errorf("drop schema %s: %v", schema, err)
			return
		}
		defer c.Close(ctx)
		if _, err := c.Exec(ctx, `DROP SCHEMA IF EXISTS `+pgx.Identifier{schema}.Sanitize()+` CASCADE`); err != nil {
			tb.Errorf("drop schema %s: %v", schema, err)
		}
	})
	return schema
}

// newDriver opens a driver on a new schema, closed when tb ends.
func newDriver(tb testing.TB) *Driver {
	tb.Helper()
	return openSchema(tb, newSchema(tb))
}

// openSchema opens a driver on schema, closed when tb ends (before the
// schema is dropped: cleanups run last first).
func openSchema(tb testing.TB, schema string) *Driver {
	tb.Helper()
	d, err := Open(context.Background(), testDSN(tb), &Options{Schema: schema, Logger: quiet})
	if err != nil {
		tb.Fatalf("Open: %v", err)
	}
	tb.Cleanup(func() { d.Close() })
	return d
}
