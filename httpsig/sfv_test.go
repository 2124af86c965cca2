package httpsig

import (
	"bytes"
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
