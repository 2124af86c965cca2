// Package inbox receives ActivityPub activities: an http.Handler for the
// personal inbox ("POST /users/{name}/inbox") and the shared inbox
// ("POST /inbox").
//
// Every request goes through the same pipeline, cheapest check first:
//
//	requests in flight (503) → method → body cap (413) → content type (415)
//	→ HTTP signature (401; 503 when the key's server is slow or down)
//	→ parse (400) → signer owns the activity's actor, id shares its origin
//	(403) → embedded copies the actor cannot vouch for replaced by their ids
//	→ an Accept or Reject must answer a Follow we sent (403) → idempotent
//	store of the activity id → default side effects → typed listeners
//	→ 202 Accepted
//
// Options.MaxInFlight bounds the requests served at once, server-wide;
// beyond it a request is answered 503 with Retry-After before its body is
// read. Options.FetchTimeout is one deadline for everything a request
// fetches (the signer's key, objects given by reference): a silent remote
// costs one GET and at most that long, never a retry of a timeout.
//
// Bad input changes nothing in the store. An embedded object is kept only
// when it shares the actor's origin and its attributedTo does too; any
// other copy (an Announce of someone else's note, say) is replaced by a
// reference before the activity is stored or handed to listeners, and the
// object is fetched from its own origin.
//
// Processing is idempotent per activity id and resumes where it stopped:
// when an effect or a listener fails with an internal error the inbox
// answers 500 and records how far it got (effects done, listeners
// finished), so the sender's retry runs only what did not happen yet. An
// effect or listener that already succeeded never runs twice for one
// activity; deliveries of one activity that arrive together are processed
// one after the other.
//
// Default side effects cover the core of the social web: Follow (accepted
// automatically unless Options.ManualApproval, which keeps it pending until
// Handler.AnswerFollowRequest), Accept and Reject of a Follow we sent
// (matched by its id, or by the pair of actors of a pending Follow when the
// answer carries a fresh id or none), Undo of Follow, Like and Announce, Create and Update (stores the
// object; an embedded object of another origin is fetched from its origin
// instead), Like and Announce of local objects (recorded in their likes and
// shares collections) and Delete (the object becomes a Tombstone; an actor
// deleting itself is also removed from every local followers and following
// collection). Activities sent without an id (GoToSocial sends some
// Deletes so) are keyed by the digest of their body.
// Applications add behaviour with On (by type name) and OnType (typed).
package inbox
