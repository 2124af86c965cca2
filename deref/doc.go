// Package deref fetches remote ActivityPub documents: objects, actors and
// their public keys, collections page by page ([Resolver.CollectionPage],
// pages followed on the collection's origin only), and resolves WebFinger
// handles to actor IRIs
// ([Resolver.WebFinger]) and actors to their handles ([Resolver.Handle],
// which follows a split domain only when the handle's own domain confirms
// it, as Mastodon does).
//
// A [Resolver] is the single place where slothpub reads the fediverse. Every
// fetch is a GET through an [ap.Transport], signed by the instance actor's
// [ap.RequestSigner] when one is configured (servers running "authorized
// fetch" refuse unsigned GETs). Fetched documents are cached in the
// [store.Store] with a freshness window, concurrent requests for one IRI share
// a single fetch, and every document is checked before it is trusted:
//
//   - its "id" must have the same origin (scheme, host and port) as the URL it
//     was finally fetched from, so a server can only speak for itself, even
//     across redirects;
//   - its "id" must equal the IRI asked for; when it differs but is
//     same-origin the document is fetched once more by its own id (as
//     Mastodon does), and the answer to that second fetch must match exactly;
//   - its size is capped, and anything malformed is an error, never a panic.
//
// Documents of the local host (Options.LocalHost) are read from the store
// only: the resolver never fetches its own server.
//
// Resolver implements [httpsig.KeyResolver]: a key id is resolved through the
// actor that claims it (a key embedded in the actor, GoToSocial's /main-key
// stub, or a standalone key document whose owner lists it), parsed keys are
// kept in memory and in the store, and a refresh request bypasses both caches
// so that key rotation is noticed.
//
// The package parses the few JSON fields it needs with tolerant decoders
// (string, object or array, as found in the wild) and does not depend on the
// ActivityStreams vocabulary.
package deref
