// Package outbox publishes activities of local actors and delivers them,
// durably.
//
// Outbox.Post (or PostTx, inside a unit of work of the caller's) gives an
// activity (and the object a Create carries) an id, and in one unit of
// work stores it with bto and bcc removed, appends it to the actor's
// outbox collection when it is a public or unlisted post or boost, and
// enqueues one fan-out job carrying its recipients. Post returns then:
// the delivery is durable, whatever happens to the process after.
//
// The fan-out job (FanoutKind, on the Worker of Options.Worker) expands
// the audience step by step, each step one unit of work that enqueues its
// deliveries and records how far it got:
//
//	to/cc/bto/bcc/audience and implicit recipients (the followee of a
//	Follow, the author of a liked object, ...) → the members of the remote
//	collections among them, page by page, up to Options.MaxCollectionItems
//	each (with a resolver that reads collections: CollectionResolver, as
//	*deref.Resolver is) → the sender's followers,
//	Options.FanoutPage at a time → for an Update or Delete of a local
//	object, every inbox its Create and its Updates reached (their
//	deliveries, store.ReachActivitiesCollection) → actors resolved to their
//	shared inbox, else their inbox (cached in the store, and in process
//	for a few minutes) → the sender,
//	blocked actors (store.BlocksCollection), blocked domains and their
//	subdomains (store.DomainBlocksCollection) and gone inboxes left out → one
//	delivery job per inbox, duplicates merged by unique key
//
// It pauses while Options.MaxQueued deliveries are due and wait for a
// worker, so that a huge audience is enqueued at the pace it is delivered. The body is stored
// once, as the activity, and read by the deliveries (through a small
// cache of recent bodies).
//
// A delivery job (DeliverKind) is a POST signed with the sending actor's
// key. 2xx completes it; a 4xx other than 408 and 429 fails it for good
// (410 Gone from an actor's own inbox also marks that inbox gone; from a
// shared inbox it fails that delivery only); anything else (5xx, timeouts,
// refused connections, 408, 429) is retried after Options.Backoff
// (Mastodon's schedule by default, about two days over
// DefaultMaxAttempts attempts), or when a 429 or 503 says Retry-After.
// In each process, at most Options.MaxPerHost deliveries to one host are
// in flight, and a per-host circuit breaker stops deliveries to a host
// that failed Options.BreakerThreshold times in a row until a probe after
// Options.BreakerCooldown succeeds; waiting for either uses no attempt.
// Deliveries about one object (its Create, Update, Delete) reach one inbox
// in the order they were posted.
//
// DeliveryStatus and Deliveries report where each delivery stands
// (pending, sent, retrying with its next attempt and last error, failed,
// dead), Hosts the counters and breaker of each host, and
// Options.OnPermanentFailure is called for each delivery given up. A
// finished delivery's job is kept for the worker's Options.Retention;
// after that its failure, recorded with its discard, still reads failed or
// dead, and a sent one reads pruned. With Options.ForgetSent the job of a
// sent delivery is deleted at once (the store does not grow by a job per
// delivery) and the delivery reads sent, without its attempts.
package outbox
