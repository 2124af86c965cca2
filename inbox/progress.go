package inbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/slothpub/slothpub/store"
)

// progress is how far the processing of one activity got: whether its
// default side effects are done, how many of its listeners finished (they
// run in order, so that is a prefix), and whether an attempt failed and let
// go of it, so that a retry may resume at once.
type progress struct {
	Effects   bool `json:"e,omitempty"`
	Listeners int  `json:"l,omitempty"`
	Released  bool `json:"r,omitempty"`
}

// progressKey names the value that keeps the progress of an unfinished
// activity. It is removed when the activity is marked processed.
func progressKey(id string) string { return "slothpub:inbox-progress:" + id }

// loadProgress returns the recorded progress of id and whether there was
// one.
func (h *Handler) loadProgress(ctx context.Context, id string) (progress, bool, error) {
	raw, err := h.st.GetValue(ctx, progressKey(id))
	if errors.Is(err, store.ErrNotFound) {
		return progress{}, false, nil
	} else if err != nil {
		return progress{}, false, fmt.Errorf("inbox: load progress: %w", err)
	}
	var p progress
	if err := json.Unmarshal(raw, &p); err != nil || p.Listeners < 0 {
		// A record we cannot read is treated as no progress: effects are
		// idempotent, so running them again is safe, skipping them is not.
		h.log.Warn("inbox: unreadable progress record, starting over", "id", id)
		return progress{}, false, nil
	}
	return p, true, nil
}

func (h *Handler) saveProgress(ctx context.Context, id string, p progress) error {
	raw, err := json.Marshal(p)
	if err != nil {
		return err
	}
	if err := h.st.PutValue(ctx, progressKey(id), raw, time.Time{}); err != nil {
		return fmt.Errorf("inbox: save progress: %w", err)
	}
	return nil
}

// keyedLock serialises work on one key (an activity id) within the
// process: two deliveries of one activity that arrive together are
// processed one after the other, so the second sees what the first did.
// Work on different keys never waits on each other. It holds an entry only
// while some request holds or waits for the key.
type keyedLock struct {
	mu   sync.Mutex
	keys map[string]*keyEntry
}

type keyEntry struct {
	sync.Mutex
	refs int
}

func (l *keyedLock) lock(key string) (unlock func()) {
	l.mu.Lock()
	if l.keys == nil {
		l.keys = map[string]*keyEntry{}
	}
	e := l.keys[key]
	if e == nil {
		e = &keyEntry{}
		l.keys[key] = e
	}
	e.refs++
	l.mu.Unlock()
	e.Lock()
	return func() {
		e.Unlock()
		l.mu.Lock()
		if e.refs--; e.refs == 0 {
			delete(l.keys, key)
		}
		l.mu.Unlock()
	}
}
