// Package aptest runs whole federations inside a test binary.
//
// A Network holds any number of Instances, each a complete slothpub server
// (memstore, local actors with real RSA keys, signature verifier, resolver,
// inbox, outbox with running delivery workers) mounted on its own
// http.ServeMux. Their Transports route requests by host to the other
// instances' real handlers, so every hop is a real, signed HTTP request
// verified on arrival: in process by default, or over loopback sockets with
// Options.Sockets.
//
// In a test, alice on a.example follows bob on b.example (ExampleNetwork
// runs this):
//
//	n := aptest.NewNetwork(t, nil)
//	a, b := n.Instance("a.example"), n.Instance("b.example")
//	alice, bob := a.User("alice"), b.User("bob")
//	a.Post(alice, ap.NewFollow(nil, alice.IRI(), bob.IRI()))
//	n.Settle() // the Follow and bob's Accept are delivered and processed
//	b.Has(bob.Followers().String(), alice.IRI().String()) // true
package aptest
