package memstore_test

import (
	"context"
	"errors"
	"testing"

	"github.com/slothpub/slothpub/store"
	"github.com/slothpub/slothpub/store/memstore"
	"github.com/slothpub/slothpub/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(*testing.T) store.Store { return memstore.New() })
}

func BenchmarkCreateObject(b *testing.B) { storetest.BenchCreateObject(b, memstore.New()) }

func BenchmarkItemsPage(b *testing.B) { storetest.BenchItemsPage(b, memstore.New()) }

func TestCanceledContext(t *testing.T) {
	s := memstore.New()
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := s.CreateObject(ctx, &store.Object{IRI: "https://example.com/x"}); !errors.Is(err, context.Canceled) {
		t.Errorf("CreateObject(canceled) = %v, want context.Canceled", err)
	}
	if _, err := s.GetObject(t.Context(), "https://example.com/x"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a canceled CreateObject stored the object: %v", err)
	}
	if _, err := s.Items(ctx, "c", "", 10); !errors.Is(err, context.Canceled) {
		t.Errorf("Items(canceled) = %v, want context.Canceled", err)
	}
}

// What is not there is ErrNotFound, named in the message.
func TestNotFoundNamesWhat(t *testing.T) {
	s := memstore.New()
	_, err := s.GetValue(t.Context(), "a \"key\"")
	if !errors.Is(err, store.ErrNotFound) || err.Error() != `memstore: value "a \"key\"": `+store.ErrNotFound.Error() {
		t.Errorf("GetValue of a missing key: %v", err)
	}
	_, err = s.GetObject(t.Context(), "https://example.com/nothing")
	if !errors.Is(err, store.ErrNotFound) || err.Error() != `memstore: object "https://example.com/nothing": `+store.ErrNotFound.Error() {
		t.Errorf("GetObject of a missing object: %v", err)
	}
}
