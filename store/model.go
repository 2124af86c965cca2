package store

// The names under which the SDK keeps its protocol state, in one place so
// that the packages that write a record and those that read it agree.

// PendingFollowKey names the value that records a Follow the local actor
// local sent to the actor remote and that was neither answered nor undone.
// Its value is the Follow's id. The inbox accepts an Accept or Reject only
// when it answers a Follow recorded here (or the stored Follow it names by
// id), so a remote cannot make a local actor follow it by sending an Accept
// of a Follow that never was.
func PendingFollowKey(local, remote string) string {
	return "slothpub:follow-pending:" + local + " " + remote
}
