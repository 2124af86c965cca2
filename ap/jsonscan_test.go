package ap

import (
	"encoding/json"
	"strings"
	"testing"
)

// scanAgrees checks scanDocument on data against what Decode checked with
// before it: precheck, then encoding/json.Valid; and, for a document both
// accept, its members against lazyDoc's.
func scanAgrees(t *testing.T, data []byte) {
	t.Helper()
	var keys, values []string
	res := scanDocument(data, MaxDepth, func(k, v []byte) {
		keys, values = append(keys, string(k)), append(values, string(v))
	})
	want := precheck(data, MaxDepth) == nil && json.Valid(data)
	if (res == scanOK) != want {
		t.Fatalf("scanDocument %d, precheck+json.Valid %v, on %q", res, want, data)
	}
	if res == scanOK {
		var wkeys, wvalues []string
		if !eachMember(data, func(k, v []byte) {
			wkeys, wvalues = append(wkeys, string(k)), append(wvalues, string(v))
		}) {
			t.Fatalf("eachMember refused a valid object %q", data)
		}
		if strings.Join(keys, "\x00") != strings.Join(wkeys, "\x00") || strings.Join(values, "\x00") != strings.Join(wvalues, "\x00") {
			t.Fatalf("members %q %q, eachMember's %q %q", keys, values, wkeys, wvalues)
		}
	}
}

func TestScanDocument(t *testing.T) {
	deep := strings.Repeat("[", MaxDepth-1) + strings.Repeat("]", MaxDepth-1)
	for _, tc := range []struct {
		in   string
		want scanResult
	}{
		{`{}`, scanOK},
		{" \t\r\n{ } \n", scanOK},
		{`{"a":1,"b":[true,false,null,{"c":"d"}],"e":{"f":[]},"g":-0.5e+10}`, scanOK},
		{`{"a":"\u00e9\n\"\\\/\b\f\r\t"}`, scanOK},
		{"{\"a\":\"\xff\xfe\"}", scanOK}, // not UTF-8: accepted, as encoding/json does
		{`{"a":` + deep + `}`, scanOK},
		{`{"a":[` + deep + `]}`, scanTooDeep},
		{``, scanEmpty},
		{"  \n", scanEmpty},
		{`[]`, scanNotObject},
		{`"x"`, scanNotObject},
		{`{`, scanMalformed},
		{`{"a"}`, scanMalformed},
		{`{"a":}`, scanMalformed},
		{`{"a":1,}`, scanMalformed},
		{`{,"a":1}`, scanMalformed},
		{`{"a":[1,]}`, scanMalformed},
		{`{"a":01}`, scanMalformed},
		{`{"a":1.}`, scanMalformed},
		{`{"a":.5}`, scanMalformed},
		{`{"a":1e}`, scanMalformed},
		{`{"a":-}`, scanMalformed},
		{`{"a":+1}`, scanMalformed},
		{`{"a":tru}`, scanMalformed},
		{`{"a":truex}`, scanMalformed},
		{`{"a":"\x"}`, scanMalformed},
		{`{"a":"\u12g4"}`, scanMalformed},
		{`{"a":"\u12"}`, scanMalformed},
		{"{\"a\":\"\x01\"}", scanMalformed},
		{`{"a":"b}`, scanMalformed},
		{`{"a":1}{}`, scanMalformed},
		{`{"a":1} x`, scanMalformed},
		{`{"a":[}`, scanMalformed},
		{`{"a":{]}`, scanMalformed},
		{`{1:2}`, scanMalformed},
	} {
		if got := scanDocument([]byte(tc.in), MaxDepth, nil); got != tc.want {
			t.Errorf("scanDocument(%q) = %d, want %d", tc.in, got, tc.want)
		}
		scanAgrees(t, []byte(tc.in))
	}
}

// FuzzScanDocument checks that scanDocument accepts exactly the documents
// precheck and encoding/json.Valid accept, and finds the members eachMember
// finds. Seeds: every document fixture plus the corpus in
// testdata/fuzz/FuzzScanDocument.
func FuzzScanDocument(f *testing.F) {
	addFixtureSeeds(f)
	f.Fuzz(scanAgrees)
}
