package deref

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

// FuzzParseActor feeds arbitrary documents to the actor parser: it must
// return an actor or an error, never panic.
func FuzzParseActor(f *testing.F) {
	names, _ := filepath.Glob("../internal/testdata/fixtures/actors/*.json")
	for _, n := range names {
		if b, err := os.ReadFile(n); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(`{"type":"Person","publicKey":[1,"x",{"id":{}}],"assertionMethod":{"publicKeyMultibase":"z"}}`))
	r := New(nil, nil, nil, nil)
	f.Fuzz(func(t *testing.T, data []byte) {
		a, err := r.parseActor(context.Background(), "https://example.com/users/a", data)
		if err == nil && a.IRI != "https://example.com/users/a" {
			t.Fatalf("IRI %q", a.IRI)
		}
	})
}

// FuzzSplitAcct checks that an accepted handle never smuggles characters
// that would change the WebFinger query.
func FuzzSplitAcct(f *testing.F) {
	for _, s := range []string{"acct:a@b.example", "@a@b.example:8080", "a@b@c", "a@b/c", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		user, host, err := splitAcct(s)
		if err != nil {
			return
		}
		if user == "" || host == "" {
			t.Fatalf("empty part from %q", s)
		}
		for _, c := range user + host {
			switch c {
			case '@', '/', '?', '#', '%', '\\', ' ':
				t.Fatalf("%q accepted with %q", s, c)
			}
		}
	})
}
