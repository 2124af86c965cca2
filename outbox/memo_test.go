package outbox

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slothpub/slothpub/store"
	"github.com/slothpub/slothpub/store/memstore"
)

func TestMemo(t *testing.T) {
	var m memo
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	if _, _, ok := m.inbox("https://a.example/users/u", now); ok {
		t.Fatal("an empty memo knows an inbox")
	}
	m.putInbox("https://a.example/users/u", "https://a.example/inbox", false, now)
	if in, personal, ok := m.inbox("https://a.example/users/u", now.Add(memoTTL-time.Second)); !ok || in != "https://a.example/inbox" || personal {
		t.Fatalf("inbox = %q %v %v", in, personal, ok)
	}
	if _, _, ok := m.inbox("https://a.example/users/u", now.Add(memoTTL)); ok {
		t.Fatal("an inbox is trusted past memoTTL")
	}

	for i := range 2 * maxMemo {
		m.putInbox(fmt.Sprintf("https://h%d.example/users/u", i), "https://x.example/inbox", true, now)
	}
	if len(m.inboxes) != maxMemo {
		t.Fatalf("%d inboxes, want at most %d", len(m.inboxes), maxMemo)
	}
	last := fmt.Sprintf("https://h%d.example/users/u", 2*maxMemo-1)
	if _, _, ok := m.inbox(last, now); !ok {
		t.Fatal("the entry just put was forgotten")
	}
}

// The gone set is read from the store when its number of members there
// changed, and only then; across pages (more than store.MaxPageLimit).
func TestMemoGoneSet(t *testing.T) {
	ctx := context.Background()
	db := memstore.New()
	var m memo
	set := func() map[string]struct{} {
		t.Helper()
		var s map[string]struct{}
		require.NoError(t, db.View(ctx, func(tx *store.Tx) error {
			var err error
			s, err = m.goneSet(ctx, tx)
			return err
		}))
		return s
	}
	add := func(from, to int) {
		t.Helper()
		require.NoError(t, db.Update(ctx, func(tx *store.Tx) error {
			for i := from; i < to; i++ {
				if err := tx.AddItem(ctx, store.GoneInboxesCollection, fmt.Sprintf("https://h%d.example/inbox", i)); err != nil {
					return err
				}
			}
			return nil
		}))
	}
	require.Empty(t, set())
	add(0, store.MaxPageLimit+5)
	first := set()
	require.Len(t, first, store.MaxPageLimit+5)
	assert.Contains(t, first, "https://h0.example/inbox")
	assert.Contains(t, first, fmt.Sprintf("https://h%d.example/inbox", store.MaxPageLimit+4))
	first["sentinel"] = struct{}{} // the same map comes back while nothing changed
	assert.Contains(t, set(), "sentinel")
	add(store.MaxPageLimit+5, store.MaxPageLimit+6)
	again := set()
	assert.NotContains(t, again, "sentinel", "read again once the store's count changed")
	assert.Len(t, again, store.MaxPageLimit+6)
}
