package memstore

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/slothpub/slothpub/store"
)

// TestIndexRandom checks the index against a map over random additions
// and removals of a few hundred keys: the table stays small enough, and
// the keys many enough, for long runs of probing to form and be closed
// by removals.
func TestIndexRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var rows []string // row -> key; removed rows stay
	keyOf := func(r uint32) string { return rows[r] }
	var x index
	model := map[string]uint32{}
	for op := range 20000 {
		k := fmt.Sprintf("k%d", rng.IntN(300))
		if row, ok := model[k]; ok && rng.IntN(2) == 0 {
			got, ok := x.remove(k, keyOf)
			if !ok || got != row {
				t.Fatalf("op %d: remove(%s) = %d, %v; want %d", op, k, got, ok, row)
			}
			delete(model, k)
		} else if !ok {
			rows = append(rows, k)
			x.add(k, uint32(len(rows)-1), keyOf)
			model[k] = uint32(len(rows) - 1)
		}
		if op%97 == 0 {
			for i := range 300 {
				k := fmt.Sprintf("k%d", i)
				row, want := model[k]
				got, ok := x.find(k, keyOf)
				if ok != want || (ok && got != row) {
					t.Fatalf("op %d: find(%s) = %d, %v; want %d, %v", op, k, got, ok, row, want)
				}
			}
			if x.n != len(model) || 4*x.n > 3*len(x.slots) {
				t.Fatalf("op %d: %d rows in %d slots, want %d rows at most 3/4 full", op, x.n, len(x.slots), len(model))
			}
		}
	}
	if _, ok := x.remove("absent", keyOf); ok {
		t.Error("remove(absent) = true")
	}
}

// TestArena checks that strings put in an arena read back equal, share
// chunks (fewer allocations than strings) and stay valid after later puts.
func TestArena(t *testing.T) {
	var a arena
	var got, want []string
	for i := range 5000 {
		s := fmt.Sprintf("https://h%d.example/users/u%d", i%7, i)
		if i%1000 == 999 {
			s = strings.Repeat("long", ownString/4+i%3) // its own allocation
		}
		want = append(want, s)
		got = append(got, a.put(s))
	}
	if a.put("") != "" {
		t.Error(`put("") != ""`)
	}
	if !slices.Equal(got, want) {
		t.Fatal("strings put in the arena read back changed")
	}
	allocs := testing.AllocsPerRun(10, func() {
		var b arena
		for _, s := range want[:1000] {
			b.put(s)
		}
	})
	if allocs > 20 {
		t.Errorf("1000 puts of IRIs made %v allocations, want a few chunks", allocs)
	}
}

// TestCollectionRandomUnits checks a collection against a model over
// random units of work of several additions and removals, a third of which
// fail and are undone: removals are common enough that compaction happens
// in units that are then undone, so the undo of a removal finds its entry
// both still there and compacted away.
func TestCollectionRandomUnits(t *testing.T) {
	ctx := context.Background()
	d := NewDriver()
	const coll = "https://example.com/c"
	rng := rand.New(rand.NewPCG(3, 4))
	model := map[string]int64{}
	compactions := 0
	step := func(tx store.DriverTx, next map[string]int64) error {
		v := fmt.Sprintf("https://r%d.example/users/u%d", rng.IntN(3), rng.IntN(80))
		if _, ok := next[v]; ok && rng.IntN(5) < 3 {
			before := d.colls[coll].ndead
			if err := tx.RemoveItem(ctx, coll, v); err != nil {
				return err
			}
			delete(next, v)
			if c := d.colls[coll]; c != nil && before >= 32 && c.ndead == 0 {
				compactions++
			}
		} else if !ok {
			seq, err := tx.AddItem(ctx, coll, v)
			if err != nil {
				return err
			}
			next[v] = seq
		} else if _, err := tx.AddItem(ctx, coll, v); !errors.Is(err, store.ErrExists) {
			return fmt.Errorf("AddItem(present) = %v", err)
		}
		return nil
	}
	randomUnits(t, d, rng, &model, step, func(unit int) {
		var want []store.Item
		for v, s := range model {
			want = append(want, store.Item{Seq: s, Value: v})
		}
		slices.SortFunc(want, func(a, b store.Item) int { return int(a.Seq - b.Seq) })
		var got []store.Item
		var count int
		if err := d.View(ctx, func(tx store.DriverTx) error {
			var err error
			got, err = tx.Items(ctx, coll, store.Range{Limit: 1000, Ascending: true})
			if err != nil {
				return err
			}
			count, err = tx.CountItems(ctx, coll)
			for i := range 80 {
				v := fmt.Sprintf("https://r%d.example/users/u%d", i%3, i)
				_, want := model[v]
				if has, _ := tx.HasItem(ctx, coll, v); has != want {
					return fmt.Errorf("HasItem(%s) = %v, want %v", v, has, want)
				}
			}
			return err
		}); err != nil {
			t.Fatalf("unit %d: %v", unit, err)
		}
		if !slices.Equal(got, want) || count != len(want) {
			t.Fatalf("unit %d: Items = %v (count %d), want %v", unit, got, count, want)
		}
		if c := d.colls[coll]; c != nil && c.ndead > 32 && c.ndead > c.live() {
			t.Fatalf("unit %d: %d dead entries kept beside %d living", unit, c.ndead, c.live())
		}
	})
	if compactions < 10 {
		t.Errorf("%d removals compacted the collection, want many", compactions)
	}
	t.Logf("%d compactions", compactions)
}

// randomUnits runs 3,000 units of work of 1 to 12 steps on d, a third of
// them failing at their end so that the driver undoes them, and keeps
// model in step: a unit's steps change a copy of it, which becomes model
// when the unit commits. check runs after each unit.
func randomUnits[K comparable, V any](t *testing.T, d *Driver, rng *rand.Rand, model *map[K]V,
	step func(tx store.DriverTx, next map[K]V) error, check func(unit int)) {
	ctx := context.Background()
	errUndo := errors.New("undo")
	for unit := range 3000 {
		next := maps.Clone(*model)
		fail := rng.IntN(3) == 0
		err := d.Update(ctx, func(tx store.DriverTx) error {
			for range 1 + rng.IntN(12) {
				if err := step(tx, next); err != nil {
					return err
				}
			}
			if fail {
				return errUndo
			}
			return nil
		})
		if err != nil && !errors.Is(err, errUndo) {
			t.Fatalf("unit %d: %v", unit, err)
		}
		if !fail {
			*model = next
		}
		check(unit)
	}
}

// BenchmarkCollectionHeap reports the heap a collection of 100,000
// follower IRIs holds, per member (B/member), with their index.
func BenchmarkCollectionHeap(b *testing.B) {
	items := make([]string, 100000)
	for i := range items {
		items[i] = fmt.Sprintf("https://h%d.example/users/u%d", i%100, i)
	}
	heapPer(b, len(items), "B/member", func() any {
		c := &collection{}
		for i, v := range items {
			c.add(v, int64(i+1))
		}
		return c
	})
}

// heapPer reports the heap what build makes holds after a collection,
// per one of its n things, as the metric unit.
func heapPer(b *testing.B, n int, unit string, build func() any) {
	var per float64
	for range b.N {
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		kept := build()
		runtime.GC()
		runtime.ReadMemStats(&after)
		per = float64(after.HeapAlloc-before.HeapAlloc) / float64(n)
		runtime.KeepAlive(kept)
	}
	b.ReportMetric(per, unit)
}

// TestValuesRandomUnits checks the values against a model over random
// units of puts (new keys and replaced data, empty data included) and
// deletes, a third of them undone, with enough churn for the table to
// compact its arena and its free rows many times.
func TestValuesRandomUnits(t *testing.T) {
	ctx := context.Background()
	d := NewDriver()
	rng := rand.New(rand.NewPCG(5, 6))
	type val struct {
		data    string
		expires time.Time
	}
	model := map[string]val{}
	now := time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC)
	compactions, lastRows := 0, 0
	step := func(tx store.DriverTx, next map[string]val) error {
		k := fmt.Sprintf("slothpub:inbox-of:https://r%d.example/users/u%d", rng.IntN(3), rng.IntN(150))
		if old, ok := next[k]; ok && rng.IntN(2) == 0 {
			expired := !old.expires.IsZero() && !now.Before(old.expires)
			if err := tx.DeleteValue(ctx, k, now); err != nil && !(expired && errors.Is(err, store.ErrNotFound)) {
				return err
			}
			delete(next, k)
			return nil
		}
		v := val{data: strings.Repeat("personal ~/inbox ", rng.IntN(4))}
		if rng.IntN(4) == 0 {
			v.expires = now.Add(time.Duration(rng.IntN(3)-1) * time.Hour)
		}
		if err := tx.PutValue(ctx, k, []byte(v.data), v.expires); err != nil {
			return err
		}
		next[k] = v
		return nil
	}
	randomUnits(t, d, rng, &model, step, func(unit int) {
		if n := len(d.values.rows); n < lastRows {
			compactions++
		}
		lastRows = len(d.values.rows)
		if err := d.View(ctx, func(tx store.DriverTx) error {
			for i := range 450 {
				k := fmt.Sprintf("slothpub:inbox-of:https://r%d.example/users/u%d", i%3, i/3)
				want, ok := model[k]
				if ok && !want.expires.IsZero() && !now.Before(want.expires) {
					ok = false // expired
				}
				got, err := tx.GetValue(ctx, k, now)
				if ok != (err == nil) || (ok && string(got) != want.data) {
					return fmt.Errorf("GetValue(%s) = %q, %v; want %q, present %v", k, got, err, want.data, ok)
				}
			}
			return nil
		}); err != nil {
			t.Fatalf("unit %d: %v", unit, err)
		}
		if v := &d.values; v.garbage() > maxChunk && v.garbage() > v.held {
			t.Fatalf("unit %d: %d bytes of garbage kept beside %d living", unit, v.garbage(), v.held)
		}
	})
	if compactions < 3 {
		t.Errorf("the values compacted %d times, want several", compactions)
	}
	t.Logf("%d compactions", compactions)
}

// BenchmarkValuesHeap reports the heap 100,000 inbox-cache values hold,
// per value (B/value), with their index.
func BenchmarkValuesHeap(b *testing.B) {
	keys := make([]string, 100000)
	for i := range keys {
		keys[i] = fmt.Sprintf("slothpub:inbox-of:https://h%d.example/users/u%d", i%100, i)
	}
	expires := at(time.Now().Add(24 * time.Hour))
	heapPer(b, len(keys), "B/value", func() any {
		v := &valueTable{}
		for _, k := range keys {
			v.set(k, value{data: "personal ~/inbox", expires: expires})
		}
		return v
	})
}
