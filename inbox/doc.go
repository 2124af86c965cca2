// Package inbox receives ActivityPub activities: an http.Handler for the
// personal inbox ("POST /users/{name}/inbox") and the shared inbox
// ("POST /inbox").
//
// Every request goes through the same pipeline, cheapest check first:
//
//	requests in flight (503) → method → body cap (413) → content type (415)
//	→ HTTP signature (401; 503 when the key's server is slow or down)
//	→ decode (400; 422 for a type the vocabulary lacks) → signer owns the activity's actor, id shares its origin
//	(403) → embedded copies the actor cannot vouch for replaced by their ids
//	→ ownership of what it creates, updates, deletes or undoes (403)
//	→ an Accept or Reject must answer a Follow we sent (403) → Options.Policy
//	→ one unit of work: the activity stored, its processing job enqueued
//	→ 202 Accepted
//
// Nothing before the 202 needs the network beyond the signer's key, and
// when the 202 is sent the activity is durable: the store has committed
// it with its job. The job runs on Options.Worker (store/worker), later
// and elsewhere if need be (another process sharing the store): it
// fetches the objects given by reference, applies the default side
// effects in one unit of work, then runs the listeners. A failure is
// retried by the worker with backoff; one that keeps failing ends dead,
// with its reason, in the job (store.DB.Jobs with ProcessKind and
// store.JobDiscarded lists them). An error with a 4xx status (an
// *ap.Error) ends the activity at once.
//
// Options.MaxInFlight bounds the requests served at once, server-wide;
// beyond it a request is answered 503 with Retry-After before its body is
// read. Options.FetchTimeout is one deadline for everything a request
// fetches (the signer's key) and, separately, for what one processing
// attempt fetches: a silent remote costs one GET and at most that long,
// never a retry of a timeout.
//
// Bad input changes nothing in the store. An embedded object is kept only
// when it shares the actor's origin and its attributedTo does too; any
// other copy (an Announce of someone else's note, say) is replaced by a
// reference before the activity is stored or handed to listeners, and the
// object is fetched from its own origin.
//
// Processing is idempotent per activity id: a redelivery of an activity
// accepted before enqueues nothing (one job per activity, by unique key,
// and a processed mark after it), and processing resumes where it
// stopped: the side effects commit together with a record that they did,
// and each listener's success is recorded before the next runs, so an
// attempt after a failure or a crash runs only what did not happen yet.
// A listener runs at least once per activity: more only when the process
// dies between its success and the record of it.
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
//
// Activities are read through the fast view, ap.Doc: the body is decoded
// once, lazily (a property is decoded when read), and the checks, the
// stored copy of an embedded object (cut from the bytes received) and the
// side effects never build the generated vocabulary value. A listener
// reads Activity.Doc with the ap readers (Content, Mentions, InReplyTo,
// ObjectRefs, ...); Activity.Vocab builds the generated value when it
// needs something rarer, and OnType builds it for every activity.
package inbox
