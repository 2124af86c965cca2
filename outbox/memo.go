package outbox

import (
	"sync"
	"time"
)

// memo remembers in this process what the fan-out read from the store
// about its recipients: where an actor receives deliveries (the inbox
// cache, see inboxCacheKey) and whether an inbox is gone (goneKey). A
// fan-out reads both for every recipient; with the memo, one post to
// 10,000 followers after another reads the store for none of them. The
// store stays the truth: an entry is trusted for a while only (memoTTL,
// notGoneTTL), so that what another process wrote is seen soon, and the
// memo is bounded (maxMemo entries each), forgetting arbitrary entries when
// full.
type memo struct {
	mu      sync.Mutex
	inboxes map[string]memoInbox // by actor IRI
	gone    map[string]memoGone  // by inbox
}

type memoInbox struct {
	inbox    string
	personal bool
	until    time.Time
}

type memoGone struct {
	gone  bool
	until time.Time // for an inbox not gone; a gone inbox stays gone
}

const (
	// memoTTL is how long an actor's inbox read from the store is used
	// without reading it again (the store's entry lasts inboxCacheTTL).
	memoTTL = 10 * time.Minute
	// notGoneTTL is how long an inbox found not gone is believed to be:
	// another process may have marked it since.
	notGoneTTL = time.Minute
	// maxMemo bounds the entries of each of the memo's maps: about 3 MiB
	// of inboxes.
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

// isGone reports whether inbox is gone, if the memo knows at now.
func (m *memo) isGone(inbox string, now time.Time) (gone, ok bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.gone[inbox]
	if !ok || !e.gone && !now.Before(e.until) {
		return false, false
	}
	return e.gone, true
}

// putGone remembers whether inbox is gone, from now.
func (m *memo) putGone(inbox string, gone bool, now time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	putBounded(&m.gone, inbox, memoGone{gone: gone, until: now.Add(notGoneTTL)})
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
