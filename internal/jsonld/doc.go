// Package jsonld holds the few raw-JSON helpers that packages which must not
// import the ActivityStreams vocabulary need: reading a property that may be
// a single value or an array, telling whether a document is addressed to the
// Public collection, and removing the hidden recipients (bto, bcc) before a
// document is shown to anyone.
//
// The helpers work on plain JSON and do no JSON-LD expansion: they accept
// the compacted forms real servers send (a bare IRI string, an object with
// an "id", or an array of either) and ignore everything else.
package jsonld
