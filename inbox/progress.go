package inbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/slothpub/slothpub/store"
)

// progress is how far the processing of one activity got: whether its
// default side effects are done and how many of its listeners finished
// (they run in order, so that is a prefix).
type progress struct {
	Effects   bool `json:"e,omitempty"`
	Listeners int  `json:"l,omitempty"`
}

// progressKey names the value that keeps the progress of an unfinished
// activity. It is removed when the activity is marked processed.
func progressKey(id string) string { return "slothpub:inbox-progress:" + id }

// loadProgress returns the recorded progress of id and whether there was
// one.
func (h *Handler) loadProgress(ctx context.Context, st store.Store, id string) (progress, bool, error) {
	raw, err := st.GetValue(ctx, progressKey(id))
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

func (h *Handler) saveProgress(ctx context.Context, st store.Store, id string, p progress) error {
	raw, err := json.Marshal(p)
	if err != nil {
		return err
	}
	if err := st.PutValue(ctx, progressKey(id), raw, time.Time{}); err != nil {
		return fmt.Errorf("inbox: save progress: %w", err)
	}
	return nil
}
