// Package actor manages the local actors of one host and serves what
// peers fetch to find and verify them: actor documents, WebFinger,
// host-meta, NodeInfo, and the followers, following and outbox
// collections.
//
// A Directory is created for one host over a store.Store (Example runs
// this and fetches what it serves):
//
//	d := actor.NewDirectory(st, "social.example", nil)
//	alice, err := d.Create(ctx, "alice")
//	d.Register(mux)
//
// Create generates the actor's RSA-2048 key pair (the only kind Mastodon
// accepts) and stores the account, the actor document and the public key.
// Get and ByIRI load actors and cache them, so a key is parsed once per
// process. Every actor has an httpsig.Signer that signs requests as it.
// The instance actor (type Application, at /actor) is the server's own
// identity; it signs the GETs that no user asked for and is created on
// first use.
//
// # URL layout
//
//	{scheme}://{host}/users/{name}              actor (Person)
//	{scheme}://{host}/users/{name}/inbox        inbox (served by package inbox)
//	{scheme}://{host}/users/{name}/outbox       outbox
//	{scheme}://{host}/users/{name}/followers    followers
//	{scheme}://{host}/users/{name}/following    following
//	{scheme}://{host}/users/{name}/featured     featured (pinned)
//	{scheme}://{host}/users/{name}/liked        liked
//	{scheme}://{host}/users/{name}#main-key     key id
//	{scheme}://{host}/inbox                     shared inbox
//	{scheme}://{host}/actor                     instance actor (Application)
//
// Usernames are 1-30 characters of [a-z0-9_], unique regardless of case:
// they are folded to lower case on the way in.
//
// # Collections
//
// Followers, following and outbox live in store.Collections under the
// collection's IRI (e.g. "https://social.example/users/alice/followers");
// the packages that change them (inbox, outbox) add and remove items
// there, and this package serves them as paged OrderedCollections. Outbox
// pages embed the activities themselves and show only public ones.
//
// # Authorized fetch
//
// The handlers here check no signatures. Actor documents must stay
// readable without one: they carry the keys that verify signatures, and a
// peer fetching a key cannot sign with a key it does not have yet. A
// server that enforces authorized fetch wraps the collection handlers
// (and its other GET endpoints) in httpsig's Verifier.Handler and leaves
// ActorHandler, InstanceHandler, WebFinger, host-meta and NodeInfo open.
//
// The package reads and writes JSON directly and does not depend on the
// ActivityStreams vocabulary.
package actor
