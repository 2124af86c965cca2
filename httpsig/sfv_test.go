package httpsig

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
)

// TestSFByteSequences: byte sequences decode from standard base64 (padding
// optional) and nothing else; CR and LF, which Go's base64 decoder would
// skip, are rejected.
func TestSFByteSequences(t *testing.T) {
	for in, want := range map[string][]byte{
		`a=:aGVsbG8=:`: []byte("hello"),
		`a=:aGVsbG8:`:  []byte("hello"),
		`a=::`:         {},
	} {
		d, err := parseSFDictionary(in)
		noErr(t, err)
		if got, ok := d[0].Item.Value.([]byte); !ok || !bytes.Equal(got, want) {
			t.Errorf("%s: %v, want %q", in, d[0].Item.Value, want)
		}
	}
	for _, in := range []string{
		"a=:aGVs\nbG8=:", "a=:aGVs\rbG8=:", "a=:aGVs bG8=:", "a=:aGVs*bG8=:",
		"a=:aGVsbG8=", "a=:aGV=sbG8:", "a=:-_8=:",
	} {
		if d, err := parseSFDictionary(in); err == nil {
			t.Errorf("%q accepted as %v", in, d[0].Item.Value)
		}
	}
}

// TestSFDuplicatesBeyondScan: duplicate keys and parameters are refused
// also past the first keySetScan, where keySet switches to a map.
func TestSFDuplicatesBeyondScan(t *testing.T) {
	keys := func(sep string, n int, dup int) string {
		var b strings.Builder
		for i := range n {
			if i > 0 {
				b.WriteString(sep)
			}
			fmt.Fprintf(&b, "k%d", i)
		}
		if dup >= 0 {
			fmt.Fprintf(&b, "%sk%d", sep, dup)
		}
		return b.String()
	}
	for _, n := range []int{3, keySetScan - 1, keySetScan, keySetScan + 1, 100} {
		if _, err := parseSFDictionary(keys(", ", n, -1)); err != nil {
			t.Fatalf("%d distinct keys: %v", n, err)
		}
		for _, dup := range []int{0, n / 2, n - 1} {
			if _, err := parseSFDictionary(keys(", ", n, dup)); err == nil {
				t.Errorf("%d keys, k%d twice: accepted", n, dup)
			}
			if _, err := parseSFDictionary("a=1;" + keys(";", n, dup)); err == nil {
				t.Errorf("%d parameters, k%d twice: accepted", n, dup)
			}
		}
	}
}

// BenchmarkParseSFDictionaryWorstCase parses a 16 KiB Dictionary of
// distinct keys, the most an attacker can put in Signature-Input: linear
// time (it was quadratic, about 10 ms, before keySet).
func BenchmarkParseSFDictionaryWorstCase(b *testing.B) {
	var sb strings.Builder
	for i := 0; sb.Len() < maxSFLength-10; i++ {
		if i > 0 {
			sb.WriteString(",")
		}
		fmt.Fprintf(&sb, "k%d", i)
	}
	s := sb.String()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := parseSFDictionary(s); err != nil {
			b.Fatal(err)
		}
	}
}
