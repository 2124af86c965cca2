// Package inbox receives ActivityPub activities: an http.Handler for the
// personal inbox ("POST /users/{name}/inbox") and the shared inbox
// ("POST /inbox").
//
// Every request goes through the same pipeline, cheapest check first:
//
//	method → body cap (413) → content type (415) → HTTP signature (401)
//	→ parse (400) → signer owns the activity's actor, embedded objects share
//	its origin (403) → idempotent store of the activity id → default side
//	effects → typed listeners → 202 Accepted
//
// Bad input changes nothing in the store. An activity whose processing
// fails with an internal error is forgotten again (its idempotency record
// removed) and answered with 500, so the sender's retry is processed anew.
//
// Default side effects cover the core of the social web: Follow (accepted
// automatically unless Options.ManualApproval, which keeps it pending until
// Handler.AnswerFollowRequest), Accept and Reject of our own
// Follow, Undo of Follow, Like and Announce, Create and Update (stores the
// object; an embedded object of another origin is fetched from its origin
// instead), Like and Announce of local objects (recorded in their likes and
// shares collections) and Delete (the object becomes a Tombstone; an actor
// deleting itself is also removed from every local followers and following
// collection). Activities sent without an id (GoToSocial sends some
// Deletes so) are keyed by the digest of their body.
// Applications add behaviour with On (by type name) and OnType (typed).
package inbox
