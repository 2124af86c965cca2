package ap

import (
	"context"
	"errors"
	"testing"
)

// FuzzParse checks that no input makes Parse panic or answer with anything
// but a 4xx *Error, and that whatever parses survives a Serialize/Parse
// round trip with its type. Seeds: every document fixture plus the corpus
// in testdata/fuzz/FuzzParse.
func FuzzParse(f *testing.F) {
	addFixtureSeeds(f)
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := Parse(ctx, data)
		if err != nil {
			var apErr *Error
			if !errors.As(err, &apErr) {
				t.Fatalf("error is not *ap.Error: %v", err)
			}
			if s := StatusOf(err); s < 400 || s > 499 {
				t.Fatalf("status %d for %v", s, err)
			}
			return
		}
		out, err := Serialize(v)
		if err != nil {
			t.Fatalf("Serialize of a parsed document: %v", err)
		}
		again, err := Parse(ctx, out)
		if err != nil {
			t.Fatalf("re-Parse of %s: %v", out, err)
		}
		if Type(again) != Type(v) {
			t.Fatalf("type changed from %q to %q", Type(v), Type(again))
		}
	})
}
