package store

import (
	"errors"
	"testing"
)

func TestParseSeqCursor(t *testing.T) {
	for _, c := range []string{"0", "-1", "+1", "01", " 1", "1 ", "1.5", "1e3", "0x10",
		"9223372036854775808", "١٢", "abc"} {
		if _, err := ParseSeqCursor(c); !errors.Is(err, ErrNotFound) {
			t.Errorf("ParseSeqCursor(%q) = %v, want ErrNotFound", c, err)
		}
	}
	for c, want := range map[string]int64{"1": 1, "42": 42, "9223372036854775807": 1<<63 - 1, "": 1<<63 - 1} {
		if got, err := ParseSeqCursor(c); err != nil || got != want {
			t.Errorf("ParseSeqCursor(%q) = %d, %v; want %d", c, got, err, want)
		}
		if c != "" && FormatSeqCursor(want) != c {
			t.Errorf("FormatSeqCursor(%d) = %q, want %q", want, FormatSeqCursor(want), c)
		}
	}
}
