package memstore_test

import (
	"errors"
	"testing"
	"time"

	"github.com/slothpub/slothpub/store"
	"github.com/slothpub/slothpub/store/memstore"
)

// TestValueExpiryExact checks the expiry of values to the nanosecond, in
// any location, and that an empty value reads back empty, not nil.
func TestValueExpiryExact(t *testing.T) {
	ctx := t.Context()
	d := memstore.NewDriver()
	defer d.Close()
	expires := time.Date(2025, 3, 1, 12, 0, 0, 500, time.FixedZone("UTC+2", 7200))
	get := func(key string, now time.Time) ([]byte, error) {
		var v []byte
		err := d.View(ctx, func(tx store.DriverTx) error {
			var err error
			v, err = tx.GetValue(ctx, key, now)
			return err
		})
		return v, err
	}
	if err := d.Update(ctx, func(tx store.DriverTx) error {
		if err := tx.PutValue(ctx, "v", []byte("x"), expires); err != nil {
			return err
		}
		return tx.PutValue(ctx, "empty", nil, time.Time{})
	}); err != nil {
		t.Fatal(err)
	}
	if v, err := get("v", expires.Add(-time.Nanosecond).UTC()); err != nil || string(v) != "x" {
		t.Errorf("GetValue 1 ns before expiry = %q, %v", v, err)
	}
	if _, err := get("v", expires.UTC()); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetValue at expiry = %v, want ErrNotFound", err)
	}
	if _, err := get("v", time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)); err != nil {
		t.Errorf("GetValue in year 1 = %v", err)
	}
	if v, err := get("empty", expires.AddDate(1000, 0, 0)); err != nil || v == nil || len(v) != 0 {
		t.Errorf("GetValue(empty, no expiry) = %#v, %v; want []byte{}", v, err)
	}
}
