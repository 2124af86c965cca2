package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slothpub/slothpub/actor"
	"github.com/slothpub/slothpub/store/sqlitestore"
)

// lineWriter collects what run logs and calls onLine for every line, in
// the goroutine that logs it.
type lineWriter struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	onLine func(line string)
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if w.onLine != nil {
		for line := range strings.SplitSeq(strings.TrimRight(string(p), "\n"), "\n") {
			w.onLine(line)
		}
	}
	return len(p), nil
}

func (w *lineWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// runOnce starts the server as main does, on a loopback port, and shuts it
// down as soon as it serves. onLine, if
// not nil, sees every log line while the server runs.
func runOnce(t *testing.T, data, protocol, host string, onLine func(string)) (string, error) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	out := &lineWriter{onLine: func(line string) {
		if onLine != nil {
			onLine(line)
		}
		if strings.Contains(line, "msg=serving") {
			cancel()
		}
	}}
	err := run(ctx, []string{"serve", "--addr", "127.0.0.1:0", "--host", host, "--protocol", protocol,
		"--data", data, "--user", "alice", "--log-level", "debug"}, func(string) string { return "" }, out)
	return out.String(), err
}

func TestHostAndProtocolCannotChange(t *testing.T) {
	data := t.TempDir()
	logs, err := runOnce(t, data, "http", "a.example", nil)
	require.NoError(t, err, logs)

	_, err = runOnce(t, data, "http", "b.example", nil)
	require.Error(t, err, "another host on the same data is refused")
	assert.Contains(t, err.Error(), "belongs to http://a.example, not http://b.example")
	assert.Contains(t, err.Error(), "--host a.example")

	_, err = runOnce(t, data, "https", "a.example", nil)
	require.Error(t, err, "another protocol on the same data is refused")
	assert.Contains(t, err.Error(), "belongs to http://a.example, not https://a.example")

	_, err = runOnce(t, data, "http", "a.example:8080", nil)
	require.Error(t, err, "another port is another host")

	logs, err = runOnce(t, data, "http", "a.example", nil)
	require.NoError(t, err, "the recorded host still starts: %s", logs)

	// Nothing was re-created under the refused hosts.
	st, err := sqlitestore.Open(t.Context(), filepath.Join(data, "slothpub.db"), nil)
	require.NoError(t, err)
	defer st.Close()
	acct, err := st.GetAccount(t.Context(), "alice")
	require.NoError(t, err)
	assert.Equal(t, "http://a.example/users/alice", acct.ActorIRI)
	for _, iri := range []string{"http://b.example/users/alice", "https://a.example/users/alice", "http://a.example:8080/users/alice"} {
		_, err := st.GetObject(t.Context(), iri)
		assert.Error(t, err, "%s must not exist", iri)
	}
}

// Data written before the host was recorded still has one: its instance
// actor's.
func TestHostOfOlderDataIsItsInstanceActors(t *testing.T) {
	data := t.TempDir()
	st, err := sqlitestore.Open(t.Context(), filepath.Join(data, "slothpub.db"), nil)
	require.NoError(t, err)
	d := actor.NewDirectory(st, "old.example", &actor.Options{Scheme: "https"})
	_, err = d.Instance(t.Context())
	require.NoError(t, err)
	_, err = d.Create(t.Context(), "alice")
	require.NoError(t, err)
	require.NoError(t, st.Close())

	_, err = runOnce(t, data, "https", "new.example", nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "belongs to https://old.example, not https://new.example")

	logs, err := runOnce(t, data, "https", "old.example", nil)
	require.NoError(t, err, logs)
	assert.Contains(t, logs, "recorded the instance's protocol and host")

	st, err = sqlitestore.Open(t.Context(), filepath.Join(data, "slothpub.db"), nil)
	require.NoError(t, err)
	defer st.Close()
	v, err := st.GetValue(t.Context(), originKey)
	require.NoError(t, err)
	assert.Equal(t, "https://old.example", string(v))
}

// The private keys live in the database: whatever modes the directory and
// files had, the running server's are owner-only.
func TestDataIsOwnerOnly(t *testing.T) {
	if !unixModes {
		t.Skip("file modes do not describe access here")
	}
	setUmask(t, 0)
	data := filepath.Join(t.TempDir(), "data")
	db := filepath.Join(data, "slothpub.db")

	modes := map[string]os.FileMode{}
	watch := func(line string) {
		if !strings.Contains(line, "msg=serving") {
			return
		}
		for _, name := range []string{data, db, db + "-wal", db + "-shm"} {
			if fi, err := os.Stat(name); err == nil {
				modes[filepath.Base(name)] = fi.Mode().Perm()
			}
		}
	}
	want := map[string]os.FileMode{"data": 0o700, "slothpub.db": 0o600, "slothpub.db-wal": 0o600, "slothpub.db-shm": 0o600}

	// A new data directory, under a umask that hides nothing.
	logs, err := runOnce(t, data, "http", "a.example", watch)
	require.NoError(t, err, logs)
	assert.Equal(t, want, modes, "new data")

	// Existing data left readable by others: by an earlier version, a
	// copy, or a directory made by hand.
	require.NoError(t, os.Chmod(data, 0o755))
	require.NoError(t, os.Chmod(db, 0o644))
	for _, side := range []string{db + "-wal", db + "-shm"} {
		require.NoError(t, os.WriteFile(side, nil, 0o644))
		require.NoError(t, os.Chmod(side, 0o644))
	}
	clear(modes)
	logs, err = runOnce(t, data, "http", "a.example", watch)
	require.NoError(t, err, logs)
	assert.Equal(t, want, modes, "existing data")
	fi, err := os.Stat(db)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
}

func TestDataThatCannotBeMadeOwnerOnlyIsRefused(t *testing.T) {
	if !unixModes {
		t.Skip("file modes do not describe access here")
	}
	// The data directory is a file.
	file := filepath.Join(t.TempDir(), "data")
	require.NoError(t, os.WriteFile(file, nil, 0o600))
	_, err := runOnce(t, file, "http", "a.example", nil)
	require.Error(t, err)

	// The database is a link to a file elsewhere, whose mode the server
	// does not own.
	data := t.TempDir()
	elsewhere := filepath.Join(t.TempDir(), "keys.db")
	require.NoError(t, os.WriteFile(elsewhere, nil, 0o644))
	require.NoError(t, os.Symlink(elsewhere, filepath.Join(data, "slothpub.db")))
	_, err = runOnce(t, data, "http", "a.example", nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "is not a regular file")
}
