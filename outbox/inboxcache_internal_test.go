package outbox

import "testing"

// The inbox cache writes an inbox short when it extends the actor's IRI
// or shares its origin, and reads back what it wrote, and the values of
// the versions before (the inbox whole, with or without its kind).
func TestInboxCacheValues(t *testing.T) {
	const actor = "https://social.example/users/alice"
	for _, c := range []struct {
		t     target
		value string
	}{
		{target{actor: actor, inbox: actor + "/inbox", personal: true}, "personal ~/inbox"},
		{target{actor: actor, inbox: "https://social.example/inbox"}, "shared /inbox"},
		{target{actor: actor, inbox: "https://social.example:8443/inbox"}, "shared https://social.example:8443/inbox"},
		{target{actor: actor, inbox: "https://other.example/inbox"}, "shared https://other.example/inbox"},
		{target{actor: actor, inbox: actor + "x/inbox", personal: true}, "personal /users/alicex/inbox"},
		{target{actor: "https://social.example", inbox: "https://social.example/inbox"}, "shared ~/inbox"},
		{target{actor: "urn:x:1", inbox: "https://social.example/inbox", personal: true}, "personal https://social.example/inbox"},
	} {
		v := cachedInbox(c.t)
		if string(v) != c.value {
			t.Errorf("cachedInbox(%+v) = %q, want %q", c.t, v, c.value)
		}
		if in, personal := fromCache(c.t.actor, v); in != c.t.inbox || personal != c.t.personal {
			t.Errorf("fromCache(%q) = %q, %v; want %q, %v", v, in, personal, c.t.inbox, c.t.personal)
		}
	}
	for v, want := range map[string]target{
		"https://h.example/inbox":                       {inbox: "https://h.example/inbox"},
		"shared https://h.example/inbox":                {inbox: "https://h.example/inbox"},
		"personal https://social.example/users/a/inbox": {inbox: "https://social.example/users/a/inbox", personal: true},
	} {
		if in, personal := fromCache(actor, []byte(v)); in != want.inbox || personal != want.personal {
			t.Errorf("fromCache(%q), an earlier version's value = %q, %v; want %q, %v", v, in, personal, want.inbox, want.personal)
		}
	}
}
