package store_test

import (
	"testing"

	"github.com/slothpub/slothpub/store"
)

// The names are stored data: changing one is a migration. They are pinned
// here, with the values the inbox, outbox and actor packages use today.
func TestModelNames(t *testing.T) {
	const a, o, r = "https://example.com/users/alice", "https://example.com/notes/1", "https://remote.example/users/bob"
	for _, c := range []struct{ got, want string }{
		{store.FollowersCollection(a), a + "/followers"},
		{store.FollowingCollection(a), a + "/following"},
		{store.LikedCollection(a), a + "/liked"},
		{store.InboxCollection(a), a + "/inbox"},
		{store.OutboxCollection(a), a + "/outbox"},
		{store.FeaturedCollection(a), a + "/featured"},
		{store.FollowRequestsCollection(a), a + "/follow_requests"},
		{store.LikesCollection(o), o + "/likes"},
		{store.SharesCollection(o), o + "/shares"},
		{store.RepliesCollection(o), o + "/replies"},
		{store.LocalFollowersCollection(r), "slothpub:local-followers:" + r},
		{store.FollowedByCollection(r), "slothpub:followed-by:" + r},
		{store.ProcessedCollection, "slothpub:inbox-processed"},
		{store.InboxProgressKey(o), "slothpub:inbox-progress:" + o},
		{store.ReachCollection(o), "slothpub:reach:" + o},
		{store.ReachActivitiesCollection(o), "slothpub:reach-activities:" + o},
		{store.PendingFollowKey(a, r), "slothpub:follow-pending:" + a + " " + r},
	} {
		if c.got != c.want {
			t.Errorf("name = %q, want %q", c.got, c.want)
		}
	}
}
