// Package pgtest gives the tests that need PostgreSQL the server they run
// against: its DSN, and schemas of their own that are dropped when the
// test ends. It is test support, imported by _test files only.
//
// Tests find the server through SLOTHPUB_PG_DSN (read here, for tests;
// the library never reads the environment) or, when it is unset, through
// DefaultDSN, the role and database .ci/run creates on the local server.
// A server that does not answer fails the test rather than skipping it: a
// skipped test would let a broken driver or a broken multi-process setup
// pass CI.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

const (
	// EnvDSN names the environment variable that holds the test server's
	// DSN.
	EnvDSN = "SLOTHPUB_PG_DSN"
	// DefaultDSN is the server .ci/run sets up: role slothpub, database
	// slothpub_test, on the local server.
	DefaultDSN = "postgres://slothpub:slothpub@127.0.0.1:5432/slothpub_test?sslmode=disable"
)

var (
	reachOnce sync.Once
	reachErr  error
)

// DSN returns the DSN of the test server, failing tb when the server does
// not answer (it is asked once per process).
func DSN(tb testing.TB) string {
	tb.Helper()
	dsn, from := os.Getenv(EnvDSN), EnvDSN
	if dsn == "" {
		dsn, from = DefaultDSN, "the default ("+EnvDSN+" is unset)"
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
		tb.Fatalf("these tests need a PostgreSQL server; %s via %s did not answer: %v\n"+
			"Run .ci/run once (it installs PostgreSQL, starts it, creates role slothpub and database "+
			"slothpub_test), or set %s to a server you can create schemas on.",
			Redact(dsn), from, reachErr, EnvDSN)
	}
	return dsn
}

// Schema returns the name of a new schema, prefix and random hex, that is
// dropped (with everything in it) when tb ends; it is created by whoever
// opens a store on it.
func Schema(tb testing.TB, prefix string) string {
	tb.Helper()
	dsn := DSN(tb)
	b := make([]byte, 8)
	rand.Read(b)
	schema := prefix + hex.EncodeToString(b)
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

// Redact returns dsn without its password, for messages.
func Redact(dsn string) string {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return "(unparsable DSN)"
	}
	return cfg.User + "@" + cfg.Host + "/" + cfg.Database
}
