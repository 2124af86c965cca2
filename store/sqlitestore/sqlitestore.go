package sqlitestore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/slothpub/slothpub/store"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

const (
	defaultBusyTimeout = 5 * time.Second
	defaultMaxReaders  = 4
	// memoryPath is SQLite's name for a private in-memory database, which
	// this package does not open (memstore is the store that need not
	// last).
	memoryPath = ":memory:"
)

// Options configure Open and OpenDriver. A nil *Options means all
// defaults.
type Options struct {
	// BusyTimeout is how long a connection waits for a lock held by
	// another process before failing. Zero means 5 seconds.
	BusyTimeout time.Duration
	// MaxReaders is the number of connections that serve reads
	// (Views) concurrently. Zero means 4.
	MaxReaders int
	// Logger receives the driver's messages (schema migrations, failed
	// commits) and, through Open, the store's job maintenance records.
	// Nil discards them.
	Logger *slog.Logger
	// Clock is the store's clock (job due times and leases, value expiry,
	// account creation), passed by Open to store.Open. Nil means
	// time.Now. OpenDriver ignores it: a driver takes the times it is
	// given.
	Clock func() time.Time
	// Sync is how long a commit waits for the disk. The zero value,
	// SyncFull, makes every unit that returned nil survive a power loss;
	// a value other than SyncNormal means SyncFull.
	Sync Sync
	// FileMode is the permission of a database file Open creates (further
	// limited by the process umask). SQLite gives its -wal and -shm side
	// files the mode of the database file. Zero means 0600: the database
	// holds private keys. An existing file keeps its mode.
	FileMode os.FileMode
}

// Sync is how much of a commit SQLite writes through to the disk before
// the unit returns (PRAGMA synchronous, in WAL mode). Either way a
// database is never corrupted by a crash, and a unit that returned nil
// survives the process being killed (SIGKILL, a panic, an OOM kill): its
// commit is in the operating system's cache. They differ on what an
// operating-system crash or a power loss keeps.
type Sync int

const (
	// SyncFull fsyncs the WAL at every commit (one fsync per group
	// commit): a unit that returned nil survives a power loss too. The
	// default: what the inbox answered 202 for is never lost.
	SyncFull Sync = iota
	// SyncNormal fsyncs the WAL only when it is checkpointed into the
	// database file: the commits since the last checkpoint (up to about
	// 1,000 pages, 4 MB, of them) may be lost when the machine crashes or
	// loses power, activities an inbox had accepted among them. It is
	// GoToSocial's default for SQLite; fsync is most of the CPU a commit
	// costs on many file systems (see BENCHMARKS.md).
	SyncNormal
)

// pragma is the value of PRAGMA synchronous for s: FULL for any Sync but
// SyncNormal.
func (s Sync) pragma() string {
	if s == SyncNormal {
		return "NORMAL"
	}
	return "FULL"
}

// String returns "full" or "normal".
func (s Sync) String() string {
	switch s {
	case SyncFull:
		return "full"
	case SyncNormal:
		return "normal"
	}
	return fmt.Sprintf("Sync(%d)", int(s))
}

// ParseSync returns the Sync named "full" or "normal" (any case), as
// Sync.String writes them.
func ParseSync(name string) (Sync, error) {
	switch strings.ToLower(name) {
	case "full":
		return SyncFull, nil
	case "normal":
		return SyncNormal, nil
	}
	return SyncFull, fmt.Errorf("sqlitestore: unknown sync mode %q (want full or normal)", name)
}

// MarshalText writes s as String does: a flag.TextVar or a configuration
// file takes a Sync by its name.
func (s Sync) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText sets s to the Sync named by text, as ParseSync reads it.
func (s *Sync) UnmarshalText(text []byte) error {
	v, err := ParseSync(string(text))
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// defaultFileMode is the mode of a database file Open creates.
const defaultFileMode os.FileMode = 0o600

// Open opens (creating if needed) the SQLite database file at path and
// returns the store over it: store.Open over the group-committing Driver
// that OpenDriver returns, with opts.Logger and opts.Clock. Closing the
// store closes the driver. It fails as OpenDriver does.
func Open(ctx context.Context, path string, opts *Options) (*store.DB, error) {
	d, err := OpenDriver(ctx, path, opts)
	if err != nil {
		return nil, err
	}
	o := driverOptions(opts)
	return store.Open(d, &store.Options{Logger: o.Logger, Clock: o.Clock}), nil
}

// createFile creates path, empty, with mode unless it exists, so that SQLite
// opens a file of that mode instead of creating one with its default 0644.
// An empty file is an empty database.
func createFile(path string, mode os.FileMode) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, mode)
	if errors.Is(err, os.ErrExist) {
		return nil
	}
	if err != nil {
		return err
	}
	return f.Close()
}

// dsn returns the modernc.org/sqlite data source name for path: a file: URI
// (so names with '?' or '#' work) carrying the per-connection pragmas.
func dsn(path string, busy time.Duration, sync Sync, writer bool) string {
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busy.Milliseconds()))
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "synchronous("+sync.pragma()+")")
	// Temporary files in memory: above all the sub-journal of the
	// SAVEPOINT each unit of a group commit runs in, which keeps the
	// first version of every page the unit changes. On disk, that was a
	// write(2) per page changed, as many as the WAL's own (a fan-out
	// step's units change hundreds); in memory it is truncated as each
	// unit ends.
	q.Add("_pragma", "temp_store(MEMORY)")
	if writer {
		q.Add("_pragma", "journal_mode(WAL)")
		// Take the write lock when a transaction begins, not on its first
		// write, so a transaction never fails half way with SQLITE_BUSY.
		q.Set("_txlock", "immediate")
	} else {
		q.Add("_pragma", "query_only(1)")
	}
	return "file:" + uriEscaper.Replace(path) + "?" + q.Encode()
}

// uriEscaper escapes the characters that end or alter the path of an SQLite
// file: URI.
var uriEscaper = strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23")

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

// nonNil makes a nil slice an empty one: the columns are NOT NULL.
func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// purgeEvery is how many PutValue calls pass between two purges of expired
// values.
const purgeEvery = 256

// expiryNanos stores an expiry as Unix nanoseconds; the zero time (never)
// is 0, a time before 1970 is 1 (already expired, not "never") and one
// beyond the year 2262 is the largest int64.
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
