package outbox

import (
	"context"
	"sync"
	"time"

	"github.com/slothpub/slothpub/store"
)

// memo remembers in this process what the fan-out read from the store
// about its recipients: where an actor receives deliveries (the inbox
// cache, see inboxCacheKey) and which inboxes are gone
// (store.GoneInboxesCollection). A fan-out reads both for every recipient;
// with the memo, one post to 10,000 followers after another reads the
// store for none of them. The store stays the truth: an inbox is trusted
// for a while only (memoTTL), so that what another process wrote is seen
// soon, and bounded (maxMemo entries), forgetting arbitrary entries when
// full; the gone inboxes, few, are held whole, read again whenever their
// number in the store changed (an inbox is never taken out of the set, so
// a count that did not change is a set that did not).
type memo struct {
	mu        sync.Mutex
	inboxes   map[string]memoInbox // by actor IRI
	gone      map[string]struct{}  // the members of store.GoneInboxesCollection
	goneCount int                  // their number when read (gone nil: never read)
}

type memoInbox struct {
	inbox    string
	personal bool
	until    time.Time
}

const (
	// memoTTL is how long an actor's inbox read from the store is used
	// without reading it again (the store's entry lasts inboxCacheTTL).
	memoTTL = 10 * time.Minute
	// maxMemo bounds the inboxes of the memo: about 2.5 MiB.
	maxMemo = 16384
)

// inbox returns actor's inbox, if the memo knows it at now.
func (m *memo) inbox(actor string, now time.Time) (inbox string, personal, ok bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.inboxes[actor]
	if !ok || !now.Before(e.until) {
		return "", false, false
	}
	return e.inbox, e.personal, true
}

// putInbox remembers actor's inbox from now.
func (m *memo) putInbox(actor, inbox string, personal bool, now time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	putBounded(&m.inboxes, actor, memoInbox{inbox: inbox, personal: personal, until: now.Add(memoTTL)})
}

// goneSet returns the gone inboxes as tx sees them: the memo's set when
// the store holds as many as when it was read, else the set read again.
// The caller must not change it.
func (m *memo) goneSet(ctx context.Context, tx *store.Tx) (map[string]struct{}, error) {
	n, err := tx.CountItems(ctx, store.GoneInboxesCollection)
	if err != nil {
		return nil, err
	}
	m.mu.Lock()
	if m.gone != nil && m.goneCount == n {
		defer m.mu.Unlock()
		return m.gone, nil
	}
	m.mu.Unlock()
	set := make(map[string]struct{}, n)
	for cursor := ""; ; {
		page, err := tx.Page(ctx, store.GoneInboxesCollection, store.PageQuery{MaxID: cursor, Limit: store.MaxPageLimit})
		if err != nil {
			return nil, err
		}
		for _, it := range page.Items {
			set[it.Value] = struct{}{}
		}
		if len(page.Items) < store.MaxPageLimit {
			break
		}
		cursor = store.FormatSeqCursor(page.Items[len(page.Items)-1].Seq)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.gone, m.goneCount = set, n
	return set, nil
}

// putBounded sets *m[k] to v, making the map if there is none, and
// forgetting an arbitrary entry first (map iteration starts at a random
// place) when k is new and the map holds maxMemo entries.
func putBounded[V any](m *map[string]V, k string, v V) {
	if *m == nil {
		*m = map[string]V{}
	}
	if _, ok := (*m)[k]; !ok && len(*m) >= maxMemo {
		for old := range *m {
			delete(*m, old)
			break
		}
	}
	(*m)[k] = v
}
