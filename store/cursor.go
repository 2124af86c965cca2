package store

import (
	"fmt"
	"strconv"
)

// Sequence cursors, for drivers that number a collection's items with an
// increasing sequence (memstore and sqlitestore do): a Page.Next cursor is
// the decimal sequence number of the newest item not yet returned, and ""
// stands for "newer than everything".

// FormatSeqCursor returns the cursor for sequence number seq.
func FormatSeqCursor(seq int64) string { return strconv.FormatInt(seq, 10) }

// ParseSeqCursor returns the sequence number cursor stands for. Only what
// FormatSeqCursor makes of a positive number is accepted (no sign, no
// leading zeros, no spaces); anything else is an error wrapping
// ErrNotFound, as Collections.Items documents.
func ParseSeqCursor(cursor string) (int64, error) {
	if cursor == "" {
		return 1<<63 - 1, nil
	}
	n, err := strconv.ParseInt(cursor, 10, 64)
	if err != nil || n <= 0 || strconv.FormatInt(n, 10) != cursor {
		return 0, fmt.Errorf("store: malformed collection cursor %q: %w", cursor, ErrNotFound)
	}
	return n, nil
}
