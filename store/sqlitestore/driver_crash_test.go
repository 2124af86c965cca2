package sqlitestore_test

import (
	"bufio"
	"context"
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/slothpub/slothpub/store"
	"github.com/slothpub/slothpub/store/sqlitestore"
)

// driverKillEnv names the database the child process of
// TestDriverSurvivesKill writes to. Only this test reads it.
const driverKillEnv = "SQLITESTORE_DRIVER_KILL_CHILD"

// TestDriverSurvivesKill runs group-committed units of three writes from
// a child process killed with SIGKILL, without Close. After reopening,
// every unit the child saw committed is there, and every unit there is
// whole: no partial unit is visible.
func TestDriverSurvivesKill(t *testing.T) {
	if path := os.Getenv(driverKillEnv); path != "" {
		driverKillChild(t, path)
		return
	}
	path := filepath.Join(t.TempDir(), "killed.db")
	cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestDriverSurvivesKill$")
	cmd.Env = append(os.Environ(), driverKillEnv+"="+path)
	out, err := cmd.StdoutPipe()
	must(t, err)
	cmd.Stderr = os.Stderr
	must(t, cmd.Start())
	const enough = 300
	acked := map[string]bool{}
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if tag, ok := strings.CutPrefix(sc.Text(), "acked "); ok {
			acked[tag] = true
			if len(acked) == enough {
				break
			}
		}
	}
	must(t, cmd.Process.Kill()) // SIGKILL, with units in flight
	_ = cmd.Wait()
	if len(acked) < enough {
		t.Fatalf("child acknowledged only %d units", len(acked))
	}

	// Read the three kinds of records straight from the file.
	d, err := sqlitestore.OpenDriver(t.Context(), path, nil) // recovers the WAL
	must(t, err)
	must(t, d.Close())
	db, err := sql.Open("sqlite", path)
	must(t, err)
	defer db.Close()
	tags := func(query string) map[string]bool {
		rows, err := db.QueryContext(t.Context(), query)
		must(t, err)
		defer rows.Close()
		m := map[string]bool{}
		for rows.Next() {
			var s string
			must(t, rows.Scan(&s))
			m[s] = true
		}
		must(t, rows.Err())
		return m
	}
	objects := tags(`SELECT substr(iri, length('https://example.com/notes/') + 1) FROM objects`)
	items := tags(`SELECT substr(item, length('https://example.com/notes/') + 1) FROM collection_items`)
	values := tags(`SELECT substr(key, length('tag:') + 1) FROM protocol_values`)
	records := len(objects) + len(items) + len(values)
	t.Logf("%d units acknowledged before the kill; %d records (%d units) on disk", len(acked), records, len(objects))
	if records%3 != 0 {
		t.Errorf("%d records on disk, not a multiple of 3: a partial unit", records)
	}
	for tag := range objects {
		if !items[tag] || !values[tag] {
			t.Errorf("unit %s is partial: object %v, item %v, value %v", tag, objects[tag], items[tag], values[tag])
		}
	}
	for tag := range acked {
		if !objects[tag] || !items[tag] || !values[tag] {
			t.Errorf("acknowledged unit %s lost after kill: object %v, item %v, value %v", tag, objects[tag], items[tag], values[tag])
		}
	}
	if len(items) != len(objects) || len(values) != len(objects) {
		t.Errorf("%d objects, %d items, %d values: want equal counts", len(objects), len(items), len(values))
	}
	// The member count, kept by a trigger in each unit, survived with them.
	var count int
	must(t, db.QueryRowContext(t.Context(),
		`SELECT n FROM collection_counts WHERE collection = 'https://example.com/outbox'`).Scan(&count))
	if count != len(items) {
		t.Errorf("collection_counts says %d members, the collection holds %d", count, len(items))
	}
}

// driverKillChild runs units from 8 goroutines until its parent kills it,
// printing "acked TAG" once a unit's Update returned nil.
func driverKillChild(t *testing.T, path string) {
	d, err := sqlitestore.OpenDriver(context.Background(), path, nil)
	must(t, err)
	var (
		mu sync.Mutex
		wg sync.WaitGroup
	)
	for g := range 8 {
		wg.Go(func() {
			for i := 0; i < 100000; i++ {
				tag := fmt.Sprintf("%d-%d", g, i)
				err := d.Update(context.Background(), func(tx store.DriverTx) error {
					return unitOfThree(context.Background(), tx, tag)
				})
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				fmt.Fprintln(os.Stdout, "acked", tag)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	t.Fatal("parent never killed the child")
}
