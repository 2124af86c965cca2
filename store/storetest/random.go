package storetest

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/slothpub/slothpub/store"
)

// The randomised tests compare a driver with a reference model over a
// fixed pseudo-random sequence of operations, so a failure reproduces.

// refRange applies r to seqs (ascending) as a driver must.
func refRange(seqs []int64, r store.Range) []int64 {
	var out []int64
	for _, s := range seqs {
		if s > r.After && (r.Before == 0 || s < r.Before) {
			out = append(out, s)
		}
	}
	if !r.Ascending {
		slices.Reverse(out)
	}
	if len(out) > r.Limit {
		out = out[:r.Limit]
	}
	return out
}

// randomRange returns a Range whose bounds are near the numbers in seqs.
func randomRange(rng *rand.Rand, seqs []int64) store.Range {
	bound := func() int64 {
		if len(seqs) == 0 || rng.IntN(3) == 0 {
			return 0
		}
		return max(seqs[rng.IntN(len(seqs))]+int64(rng.IntN(3))-1, 0)
	}
	r := store.Range{Before: bound(), After: bound(), Limit: 1 + rng.IntN(8), Ascending: rng.IntN(2) == 0}
	if r.Before != 0 && r.After >= r.Before {
		r.After = 0
	}
	return r
}

func testItemsRandom(t *testing.T, d store.Driver) {
	ctx := t.Context()
	rng := rand.New(rand.NewPCG(8, 2026))
	seqOf := map[string]int64{} // the model: member -> seq
	sorted := func() []int64 {
		var s []int64
		for _, q := range seqOf {
			s = append(s, q)
		}
		slices.Sort(s)
		return s
	}
	valueOf := func(seq int64) string {
		for v, q := range seqOf {
			if q == seq {
				return v
			}
		}
		return ""
	}
	for op := range 160 {
		v := fmt.Sprintf("https://r%d.example/users/u%d", rng.IntN(3), rng.IntN(40))
		switch n := rng.IntN(20); {
		case n < 11:
			var seq int64
			err := d.Update(ctx, func(tx store.DriverTx) error {
				var err error
				seq, err = tx.AddItem(ctx, ucoll, v)
				return err
			})
			_, present := seqOf[v]
			switch {
			case present && !errors.Is(err, store.ErrExists):
				t.Fatalf("op %d: AddItem(present %s) = %v, want ErrExists", op, v, err)
			case !present && err != nil:
				t.Fatalf("op %d: AddItem(%s): %v", op, v, err)
			case !present:
				if s := sorted(); len(s) > 0 && seq <= s[len(s)-1] {
					t.Fatalf("op %d: AddItem seq %d not above %d", op, seq, s[len(s)-1])
				}
				seqOf[v] = seq
			}
		case n < 16:
			err := d.Update(ctx, func(tx store.DriverTx) error { return tx.RemoveItem(ctx, ucoll, v) })
			_, present := seqOf[v]
			switch {
			case present && err != nil:
				t.Fatalf("op %d: RemoveItem(%s): %v", op, v, err)
			case !present && !errors.Is(err, store.ErrNotFound):
				t.Fatalf("op %d: RemoveItem(absent %s) = %v, want ErrNotFound", op, v, err)
			}
			delete(seqOf, v)
		default:
			r := randomRange(rng, sorted())
			got := items(t, d, ucoll, r)
			var want []store.Item
			for _, s := range refRange(sorted(), r) {
				want = append(want, store.Item{Seq: s, Value: valueOf(s)})
			}
			if !slices.Equal(got, want) && (len(got) > 0 || len(want) > 0) {
				t.Fatalf("op %d: Items(%+v) = %v, want %v", op, r, got, want)
			}
			if c := countItems(t, d, ucoll); c != len(seqOf) {
				t.Fatalf("op %d: CountItems = %d, want %d", op, c, len(seqOf))
			}
			if _, present := seqOf[v]; hasItem(t, d, ucoll, v) != present {
				t.Fatalf("op %d: HasItem(%s) = %v, want %v", op, v, !present, present)
			}
		}
	}
}

func testFindRandom(t *testing.T, d store.Driver) {
	ctx := t.Context()
	rng := rand.New(rand.NewPCG(8, 2027))
	actors := []string{alice, bob, "https://remote.example/users/carol"}
	types := []string{"Note", "Article", "Create"}
	parents := []string{"", parent, "https://remote.example/notes/other"}
	model := map[string]*store.Object{}
	random := func(iri string) *store.Object {
		return dobj(iri, types[rng.IntN(3)], actors[rng.IntN(3)], parents[rng.IntN(3)])
	}
	update(t, d, func(tx store.DriverTx) error {
		clear(model)
		for i := range 60 {
			o := random(fmt.Sprintf("https://example.com/objects/%d", i))
			if err := tx.InsertObject(ctx, o); err != nil {
				return err
			}
			model[o.IRI] = o
		}
		return nil
	})
	// Replace some (fields change, Seq stays) and delete some.
	update(t, d, func(tx store.DriverTx) error {
		for i := range 60 {
			iri := fmt.Sprintf("https://example.com/objects/%d", i)
			switch rng.IntN(6) {
			case 0:
				o := random(iri)
				if err := tx.PutObject(ctx, o); err != nil {
					return err
				}
			case 1:
				if err := tx.DeleteObject(ctx, iri); err != nil {
					return err
				}
			}
		}
		return nil
	})
	// Rebuild the model from the committed state (PutObject above may run
	// more than once if the driver retries the unit).
	view(t, d, func(tx store.DriverTx) error {
		clear(model)
		for i := range 60 {
			iri := fmt.Sprintf("https://example.com/objects/%d", i)
			o, err := tx.GetObject(ctx, iri)
			if errors.Is(err, store.ErrNotFound) {
				continue
			}
			if err != nil {
				return err
			}
			model[iri] = o
		}
		return nil
	})
	if len(model) == 0 {
		t.Fatal("no object left to query")
	}
	for q := range 60 {
		var oq store.ObjectQuery
		for oq == (store.ObjectQuery{}) {
			if rng.IntN(2) == 0 {
				oq.Actor = actors[rng.IntN(3)]
			}
			if rng.IntN(2) == 0 {
				oq.Type = types[rng.IntN(3)]
			}
			if rng.IntN(2) == 0 {
				oq.InReplyTo = parents[1+rng.IntN(2)]
			}
		}
		var seqs []int64
		bySeq := map[int64]string{}
		for _, o := range model {
			if (oq.Actor == "" || o.Actor == oq.Actor) && (oq.Type == "" || o.Type == oq.Type) &&
				(oq.InReplyTo == "" || o.InReplyTo == oq.InReplyTo) {
				seqs = append(seqs, o.Seq)
				bySeq[o.Seq] = o.IRI
			}
		}
		slices.Sort(seqs)
		var all []int64
		for _, o := range model {
			all = append(all, o.Seq)
		}
		oq.Range = randomRange(rng, all)
		var want []string
		for _, s := range refRange(seqs, oq.Range) {
			want = append(want, bySeq[s])
		}
		if got := find(t, d, oq); !slices.Equal(got, want) && (len(got) > 0 || len(want) > 0) {
			t.Errorf("query %d: FindObjects(%+v) = %v, want %v", q, oq, got, want)
		}
	}
}
