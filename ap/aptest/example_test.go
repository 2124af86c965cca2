package aptest_test

import (
	"fmt"
	"testing"

	"github.com/slothpub/slothpub/ap"
	"github.com/slothpub/slothpub/ap/aptest"
)

// Alice on a.example follows bob on b.example. The Follow is a signed POST
// to b.example's shared inbox, and bob's Accept a signed POST back to
// a.example's (each side first fetches the other's key with a signed GET);
// Settle waits until both have been delivered and processed.
func ExampleNetwork() {
	t := newExampleT() // in a test: the test's t
	defer t.finish()

	n := aptest.NewNetwork(t, nil)
	a, b := n.Instance("a.example"), n.Instance("b.example")
	alice, bob := a.User("alice"), b.User("bob")
	a.Post(alice, ap.NewFollow(nil, alice.IRI(), bob.IRI()))
	n.Settle()

	fmt.Println("alice follows bob:", b.Has(bob.Followers().String(), alice.IRI().String()))
	fmt.Println("bob accepted:", a.Has(alice.Following().String(), bob.IRI().String()))
	// Each inbox that accepted a delivery, the Follow's then the
	// Accept's: an exchange is recorded when its answer comes back, so
	// the Accept (sent by b.example's worker once the Follow is stored)
	// may be recorded first, and a delivery retried after a transient
	// failure on a loaded machine is there twice.
	accepted := map[string]aptest.Exchange{}
	for _, e := range n.Exchanges() {
		if e.Method == "POST" && e.Status == 202 {
			accepted[e.URL] = e
		}
	}
	for _, inbox := range []string{"https://b.example/inbox", "https://a.example/inbox"} {
		if e, ok := accepted[inbox]; ok {
			fmt.Println(e.Method, e.URL, e.Signed, e.Status)
		}
	}
	// Output:
	// alice follows bob: true
	// bob accepted: true
	// POST https://b.example/inbox true 202
	// POST https://a.example/inbox true 202
}

// exampleT is the part of testing.TB a Network uses (Helper, Cleanup,
// Fatalf), so that the example runs outside a test function.
type exampleT struct {
	testing.TB // nil: any other method panics
	cleanups   []func()
}

func newExampleT() *exampleT { return &exampleT{} }

func (t *exampleT) Helper()          {}
func (t *exampleT) Cleanup(f func()) { t.cleanups = append(t.cleanups, f) }
func (t *exampleT) Fatalf(format string, args ...any) {
	panic(fmt.Sprintf(format, args...))
}

// finish runs the cleanups, newest first, as a test's end would.
func (t *exampleT) finish() {
	for i := len(t.cleanups) - 1; i >= 0; i-- {
		t.cleanups[i]()
	}
}
