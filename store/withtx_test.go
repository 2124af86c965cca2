package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/slothpub/slothpub/store"
	"github.com/slothpub/slothpub/store/memstore"
)

// A component that holds only the DB (as an actor.Directory holds its
// Store) joins the unit its caller bound to the context: its writes commit
// or roll back with the unit, and it does not deadlock on the memstore
// driver's write lock, which a unit of its own would wait for forever.
func TestWithTxJoinsTheUnit(t *testing.T) {
	db := store.Open(memstore.NewDriver(), nil)
	defer db.Close()
	var component store.Store = db // what a component is given
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()

	err := db.Update(ctx, func(tx *store.Tx) error {
		ctx := store.WithTx(ctx, tx)
		if err := tx.AddItem(ctx, "c", "a"); err != nil {
			return err
		}
		if err := component.AddItem(ctx, "c", "b"); err != nil {
			return err
		}
		// Reads through the DB see the unit's own uncommitted writes.
		if ok, err := component.HasItem(ctx, "c", "a"); err != nil || !ok {
			t.Errorf("HasItem through the DB inside the unit = %v, %v; want true", ok, err)
		}
		return errors.New("roll back")
	})
	if err == nil || ctx.Err() != nil {
		t.Fatalf("Update = %v (ctx %v); want the unit's own error", err, ctx.Err())
	}
	if n, err := db.CountItems(ctx, "c"); err != nil || n != 0 {
		t.Fatalf("after the failed unit: %d items, %v; want 0: the component's write must roll back with it", n, err)
	}

	if err := db.Update(ctx, func(tx *store.Tx) error {
		return component.AddItem(store.WithTx(ctx, tx), "c", "b")
	}); err != nil {
		t.Fatal(err)
	}
	if ok, err := db.HasItem(ctx, "c", "b"); err != nil || !ok {
		t.Fatalf("after the committed unit: HasItem = %v, %v; want true", ok, err)
	}

	// A context bound to a read-only unit refuses nested writes.
	err = db.View(ctx, func(tx *store.Tx) error {
		return component.AddItem(store.WithTx(ctx, tx), "c", "x")
	})
	if !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("write through a View-bound context = %v; want ErrInvalid", err)
	}
	// A context bound to another DB's unit is not this DB's unit.
	other := store.Open(memstore.NewDriver(), nil)
	defer other.Close()
	if err := other.Update(ctx, func(tx *store.Tx) error {
		return db.AddItem(store.WithTx(ctx, tx), "d", "y")
	}); err != nil {
		t.Fatal(err)
	}
	if ok, _ := db.HasItem(ctx, "d", "y"); !ok {
		t.Fatal("a write to db under a context bound to another DB's unit was lost")
	}
}
