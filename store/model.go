package store

// The SDK's data model: the names under which it keeps its protocol state,
// in one place, so that the packages that write a record and those that
// read it agree and no package spells a key string. Collections named by
// an IRI of the actor or object (followers, following, liked, likes,
// shares, replies, inbox, outbox) are also served to peers; collections
// and values named "slothpub:..." are internal and never served.
//
// Every helper takes IRIs as strings, exactly as they appear in the
// documents (no normalisation); the results are stable: changing one is a
// data migration.

// PendingFollowKey names the value that records a Follow the local actor
// local sent to the actor remote and that was neither answered nor undone.
// Its value is the Follow's id. The inbox accepts an Accept or Reject only
// when it answers a Follow recorded here (or the stored Follow it names by
// id), so a remote cannot make a local actor follow it by sending an Accept
// of a Follow that never was.
func PendingFollowKey(local, remote string) string {
	return "slothpub:follow-pending:" + local + " " + remote
}

// FollowersCollection names the followers collection of actor: the actor
// IRIs that follow it, served at {actor}/followers.
func FollowersCollection(actor string) string { return actor + "/followers" }

// FollowingCollection names the following collection of actor: the actor
// IRIs it follows (once accepted), served at {actor}/following.
func FollowingCollection(actor string) string { return actor + "/following" }

// LikedCollection names the collection of object IRIs the local actor
// liked, served at {actor}/liked.
func LikedCollection(actor string) string { return actor + "/liked" }

// InboxCollection names the inbox of a local actor: the ids of the
// activities delivered to it, newest first; its home timeline.
func InboxCollection(actor string) string { return actor + "/inbox" }

// OutboxCollection names the outbox of a local actor: the ids of the
// activities it published.
func OutboxCollection(actor string) string { return actor + "/outbox" }

// FeaturedCollection names the pinned objects of actor ({actor}/featured).
func FeaturedCollection(actor string) string { return actor + "/featured" }

// FollowRequestsCollection names the incoming Follow activity ids waiting
// for the approval of the local actor (manual approval).
func FollowRequestsCollection(actor string) string { return actor + "/follow_requests" }

// LikesCollection names the actor IRIs that liked the local object.
func LikesCollection(object string) string { return object + "/likes" }

// SharesCollection names the actor IRIs that boosted (Announced) the
// local object.
func SharesCollection(object string) string { return object + "/shares" }

// RepliesCollection names the reply IRIs of the object, served at
// {object}/replies. (Replies are also found without it, by
// FindQuery{InReplyTo: object}.)
func RepliesCollection(object string) string { return object + "/replies" }

// LocalFollowersCollection names the internal collection of local actor
// IRIs that follow the remote actor remote: the reverse of the local
// following collections, used to fill home timelines from shared-inbox
// deliveries.
func LocalFollowersCollection(remote string) string { return "slothpub:local-followers:" + remote }

// FollowedByCollection names the internal collection of local actor IRIs
// that the remote actor remote follows: the reverse of the local followers
// collections, so that a deleted remote actor leaves all of them.
func FollowedByCollection(remote string) string { return "slothpub:followed-by:" + remote }

// ProcessedCollection names the internal collection of activity ids whose
// inbox processing finished (idempotency of deliveries).
const ProcessedCollection = "slothpub:inbox-processed"

// InboxProgressKey names the value that records how far the processing
// of the activity id got, so a retry resumes rather than repeats.
func InboxProgressKey(id string) string { return "slothpub:inbox-progress:" + id }

// ReachCollection names the internal collection of inboxes an object was
// delivered to, as versions before ReachActivitiesCollection recorded its
// reach (one item per delivery); it is still read, no longer written.
func ReachCollection(object string) string { return "slothpub:reach:" + object }

// ReachActivitiesCollection names the internal collection of the local
// activities about an object (its Create, its Updates): the inboxes of
// their DeliveriesCollection are its reach, where an Update or Delete of
// it goes. The reach is recorded once per activity, not once per inbox.
func ReachActivitiesCollection(object string) string { return "slothpub:reach-activities:" + object }

// BlocksCollection names the internal collection of the actors the local
// actor local blocks: nothing of local's is delivered to them.
func BlocksCollection(local string) string { return "slothpub:blocks:" + local }

// DomainBlocksCollection names the internal collection of host names the
// server blocks (lower case, with a port if not the default one): nothing
// is delivered to them.
const DomainBlocksCollection = "slothpub:domain-blocks"

// GoneInboxesCollection is the internal collection of the personal
// inboxes that answered 410 Gone to a delivery: no delivery is enqueued
// for them any more.
const GoneInboxesCollection = "slothpub:gone-inboxes"

// DeliveriesCollection names the internal collection of the inboxes a
// local activity was queued for, in the order their deliveries were
// enqueued: the index of its delivery status.
func DeliveriesCollection(activity string) string { return "slothpub:deliveries:" + activity }

// FailedDeliveriesCollection names the internal collection of the
// deliveries of a local activity that failed for good, each recorded with
// its job's discard as the kind of failure, a space and the inbox
// ("failed https://h.example/inbox", "dead …", "gone …"): what is known
// of them once their jobs are gone.
func FailedDeliveriesCollection(activity string) string {
	return "slothpub:deliveries-failed:" + activity
}
