package httpsig

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestComponentParameters reproduces the examples of RFC 9421 sections
// 2.1.1 (sf), 2.1.2 (key) and 2.1.3 (bs), taken from the RFC text (they
// are not in the fixtures), and the errors the RFC requires.
func TestComponentParameters(t *testing.T) {
	base := func(t *testing.T, h http.Header, input string) (string, error) {
		t.Helper()
		r, err := http.NewRequest(http.MethodGet, "https://example.com/", nil)
		noErr(t, err)
		r.Header = h
		ms, err := parseSFDictionary("sig=" + input)
		noErr(t, err)
		b, err := signatureBase(nil, requestMessage(r, ""), ms[0].Inner)
		s, _, _ := strings.Cut(string(b), "\n\"@signature-params\"")
		return s, err
	}
	header := func(kv ...string) http.Header {
		h := http.Header{}
		for i := 0; i+1 < len(kv); i += 2 {
			h.Add(kv[i], kv[i+1])
		}
		return h
	}
	for _, tc := range []struct {
		name, input string
		h           http.Header
		want        string
	}{
		{"2.1.1 plain", `("example-dict")`, header("Example-Dict", "a=1,    b=2;x=1;y=2,   c=(a   b   c)"),
			`"example-dict": a=1,    b=2;x=1;y=2,   c=(a   b   c)`},
		{"2.1.1 sf", `("example-dict";sf)`, header("Example-Dict", "a=1,    b=2;x=1;y=2,   c=(a   b   c)"),
			`"example-dict";sf: a=1, b=2;x=1;y=2, c=(a b c)`},
		{"2.1.2 key", `("example-dict";key="a" "example-dict";key="d" "example-dict";key="b" "example-dict";key="c")`,
			header("Example-Dict", "a=1, b=2;x=1;y=2, c=(a   b    c), d"),
			"\"example-dict\";key=\"a\": 1\n\"example-dict\";key=\"d\": ?1\n\"example-dict\";key=\"b\": 2;x=1;y=2\n\"example-dict\";key=\"c\": (a b c)"},
		{"2.1.3 plain", `("example-header")`, header("Example-Header", "value, with, lots", "Example-Header", "of, commas"),
			`"example-header": value, with, lots, of, commas`},
		{"2.1.3 bs, two values", `("example-header";bs)`, header("Example-Header", "value, with, lots", "Example-Header", "of, commas"),
			`"example-header";bs: :dmFsdWUsIHdpdGgsIGxvdHM=:, :b2YsIGNvbW1hcw==:`},
		{"2.1.3 bs, one value", `("example-header";bs)`, header("Example-Header", "value, with, lots, of, commas"),
			`"example-header";bs: :dmFsdWUsIHdpdGgsIGxvdHMsIG9mLCBjb21tYXM=:`},
		{"sf on a known list", `("cache-status";sf)`, header("Cache-Status", `ExampleCache;hit,   OtherCache; fwd=uri-miss`),
			`"cache-status";sf: ExampleCache;hit, OtherCache;fwd=uri-miss`},
		{"sf on an unknown item", `("x-count";sf)`, header("X-Count", "  42;unit=\"s\" "),
			`"x-count";sf: 42;unit="s"`},
		{"sf combines values", `("priority";sf)`, header("Priority", "u=1", "Priority", "i"),
			`"priority";sf: u=1, i`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := base(t, tc.h, tc.input)
			noErr(t, err)
			if got != tc.want {
				t.Errorf("base\n%s\nwant\n%s", got, tc.want)
			}
		})
	}
	for _, tc := range []struct {
		name, input string
		h           http.Header
		want        string
	}{
		{"missing key", `("example-dict";key="z")`, header("Example-Dict", "a=1"), `absent`},
		{"key on a non-dictionary", `("example-dict";key="a")`, header("Example-Dict", "(a b"), "not a Dictionary"},
		{"sf on a broken known field", `("content-digest";sf)`, header("Content-Digest", "sha-256=:abc"), "not a Dictionary"},
		{"bs with sf", `("example-dict";bs;sf)`, header("Example-Dict", "a=1"), "cannot be combined"},
		{"sf=?0", `("example-dict";sf=?0)`, header("Example-Dict", "a=1"), "bad sf"},
		{"sf on a derived component", `("@method";sf)`, header(), "bad sf"},
		{"tr", `("example-dict";tr)`, header("Example-Dict", "a=1"), "not supported"},
		{"req", `("@method";req)`, header(), "not supported"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := base(t, tc.h, tc.input)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

// TestComponentParametersVerify signs over sf, key and bs components (as a
// verifier's Accept-Signature may ask) and verifies: whitespace changes
// that sf and key normalise away keep the signature valid, value changes
// do not, and bs tells two values apart from one.
func TestComponentParametersVerify(t *testing.T) {
	key := testEd25519Key(t)
	now := time.Unix(1_700_000_000, 0)
	s, err := NewSigner(aliceKeyID, key, &SignerOptions{Clock: fixedClock(now)})
	noErr(t, err)
	v := NewVerifier(newResolver(pubKey(aliceKeyID, key)), &VerifierOptions{Clock: fixedClock(now), TargetScheme: "https"})
	r, err := http.NewRequest(http.MethodGet, "https://b.example/users/bob", nil)
	noErr(t, err)
	r.Header.Set("Example-Dict", "a=1,   b=(x  y)")
	r.Header.Add("Example-Header", "one, two")
	r.Header.Add("Example-Header", "three")
	noErr(t, s.SignRequestAccepting(r, nil, `sig1=("@method" "@target-uri" "example-dict";sf "example-dict";key="b" "example-header";bs);keyid="`+aliceKeyID+`"`))
	_, err = v.Verify(incoming(t, r))
	noErr(t, err)

	respaced := incoming(t, r)
	respaced.Header.Set("Example-Dict", "a=1, b=(x y)")
	_, err = v.Verify(respaced)
	noErr(t, err)

	changed := incoming(t, r)
	changed.Header.Set("Example-Dict", "a=2, b=(x y)")
	_, err = v.Verify(changed)
	wantReason(t, err, ReasonBadSignature)

	merged := incoming(t, r)
	merged.Header["Example-Header"] = []string{"one, two, three"}
	_, err = v.Verify(merged)
	wantReason(t, err, ReasonBadSignature)
}
