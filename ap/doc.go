// Package ap is slothpub's ActivityPub core: reading and writing
// ActivityStreams documents, addressing, protocol errors and the HTTP
// transport.
//
// # Documents
//
// Parse turns bytes from the network into a vocab.Type from the
// code.superseriousbusiness.org/activity vocabulary. Before decoding it
// rejects oversized, non-object and deeply nested input cheaply; after
// decoding it smooths over the quirks real servers send (no @context,
// "as:Public", extension types such as QuoteRequest or ChatMessage).
// Serialize writes a vocab.Type back with a complete @context. Failures are
// *Error values carrying an HTTP status and a public message, so an inbox
// can answer with WriteError directly.
//
// # Properties and addressing
//
// ID, Type, Actors, Objects, EmbeddedObjects, AttributedTo, To, Cc, Bto,
// Bcc, Audience and Recipients read the common properties of any
// vocabulary type as IRIs, whether the document gave an IRI or an
// embedded object. IsPublicAddressed recognises every spelling of the
// Public collection, StripBlind removes bto and bcc before delivery and
// SameOrigin compares origins. Small interfaces (WithActor, WithTo, ...)
// describe the types that carry each property. NewFollow, NewAccept,
// NewCreate, NewNote and their siblings build the activities a server
// sends; SetTo and SetCc address them.
//
// # Transport
//
// Transport is the interface the rest of slothpub uses to reach other
// servers; HTTPTransport implements it over HTTP with timeouts, body and
// redirect caps, per-hop request signing and a dial-time guard against
// private addresses.
//
// With a signer that can choose its scheme (httpsig.Signer), HTTPTransport
// double-knocks: it signs with the scheme last seen to work for the host
// (draft-cavage-12 or RFC 9421), else HTTPTransportOptions.FirstScheme; on
// 401 or 400 it retries once, honouring the server's Accept-Signature when
// there is one and switching scheme otherwise, and remembers what worked in
// HTTPTransportOptions.Values (the store) for SchemeTTL.
package ap
