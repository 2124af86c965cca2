// Package outbox publishes activities of local actors and delivers them.
//
// Outbox.Post gives an activity (and the object a Create carries) an id,
// stores it, appends it to the actor's outbox collection, works out who
// receives it and queues one delivery per target inbox:
//
//	to/cc/bto/bcc/audience → the actor's followers expanded →
//	actors dereferenced to their inbox or shared inbox → duplicates merged →
//	bto/bcc removed from what is sent
//
// Outbox.Run runs bounded delivery workers until its context ends. Each
// delivery is a POST signed with the sending actor's key; 2xx is success,
// a 4xx other than 408 and 429 is a permanent failure, and anything else
// (5xx, timeouts, connection errors) is retried with exponential backoff
// and jitter up to Options.MaxAttempts.
//
// The queue is in memory and bounded: deliveries still queued when the
// process stops are lost. A durable queue is planned.
package outbox
