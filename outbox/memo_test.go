package outbox

import (
	"fmt"
	"testing"
	"time"
)

func TestMemo(t *testing.T) {
	var m memo
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	if _, _, ok := m.inbox("https://a.example/users/u", now); ok {
		t.Fatal("an empty memo knows an inbox")
	}
	m.putInbox("https://a.example/users/u", "https://a.example/inbox", false, now)
	if in, personal, ok := m.inbox("https://a.example/users/u", now.Add(memoTTL-time.Second)); !ok || in != "https://a.example/inbox" || personal {
		t.Fatalf("inbox = %q %v %v", in, personal, ok)
	}
	if _, _, ok := m.inbox("https://a.example/users/u", now.Add(memoTTL)); ok {
		t.Fatal("an inbox is trusted past memoTTL")
	}

	m.putGone("https://a.example/users/u/inbox", false, now)
	if gone, ok := m.isGone("https://a.example/users/u/inbox", now.Add(notGoneTTL-time.Second)); !ok || gone {
		t.Fatalf("not gone: %v %v", gone, ok)
	}
	if _, ok := m.isGone("https://a.example/users/u/inbox", now.Add(notGoneTTL)); ok {
		t.Fatal("an inbox is believed not gone past notGoneTTL: another process may have marked it")
	}
	m.putGone("https://a.example/users/u/inbox", true, now)
	if gone, ok := m.isGone("https://a.example/users/u/inbox", now.Add(365*24*time.Hour)); !ok || !gone {
		t.Fatalf("a gone inbox came back: %v %v", gone, ok)
	}

	for i := range 2 * maxMemo {
		m.putInbox(fmt.Sprintf("https://h%d.example/users/u", i), "https://x.example/inbox", true, now)
		m.putGone(fmt.Sprintf("https://h%d.example/inbox", i), false, now)
	}
	if len(m.inboxes) != maxMemo || len(m.gone) != maxMemo {
		t.Fatalf("%d inboxes and %d gone entries, want at most %d each", len(m.inboxes), len(m.gone), maxMemo)
	}
	last := fmt.Sprintf("https://h%d.example/users/u", 2*maxMemo-1)
	if _, _, ok := m.inbox(last, now); !ok {
		t.Fatal("the entry just put was forgotten")
	}
}
