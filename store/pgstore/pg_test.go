package pgstore

import (
	"context"
	"log/slog"
	"testing"

	"github.com/slothpub/slothpub/internal/pgtest"
)

// The tests run against a real PostgreSQL server, which internal/pgtest
// finds (SLOTHPUB_PG_DSN, else the role and database .ci/run creates); a
// server that does not answer fails them rather than skipping them. Each
// test gets a schema of its own, dropped after it.
const dsnEnv = pgtest.EnvDSN

// quiet drops the driver's log lines (a migration per test).
var quiet = slog.New(slog.DiscardHandler)

// testDSN returns the DSN of the test server, failing tb if it does not
// answer.
func testDSN(tb testing.TB) string {
	tb.Helper()
	return pgtest.DSN(tb)
}

// newSchema returns the name of a new schema that is dropped when tb ends.
func newSchema(tb testing.TB) string {
	tb.Helper()
	return pgtest.Schema(tb, "pgstoretest_")
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
