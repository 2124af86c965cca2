package outbox

import (
	"fmt"
	"testing"
)

// The body cache keeps at most bodyCacheEntries bodies and bodyCacheBytes
// bytes, evicting the oldest, and never keeps a body above bodyCacheMax.
func TestBodyCacheBounds(t *testing.T) {
	var c bodyCache
	for i := range bodyCacheEntries + 5 {
		c.put(fmt.Sprint(i), []byte(fmt.Sprint("body ", i)))
	}
	if len(c.m) != bodyCacheEntries || len(c.order) != bodyCacheEntries {
		t.Fatalf("%d entries (%d in order), want %d", len(c.m), len(c.order), bodyCacheEntries)
	}
	if _, ok := c.get("0"); ok {
		t.Error("the oldest body is still cached")
	}
	last := fmt.Sprint(bodyCacheEntries + 4)
	if b, ok := c.get(last); !ok || string(b) != "body "+last {
		t.Errorf("newest body = %q, %v", b, ok)
	}

	c = bodyCache{}
	c.put("big", make([]byte, bodyCacheMax+1))
	if _, ok := c.get("big"); ok {
		t.Error("a body above bodyCacheMax was cached")
	}
	for i := range 20 {
		c.put(fmt.Sprint(i), make([]byte, bodyCacheMax))
	}
	if c.bytes > bodyCacheBytes || len(c.m) != bodyCacheBytes/bodyCacheMax {
		t.Errorf("%d bytes in %d entries, want at most %d bytes (%d entries)", c.bytes, len(c.m), bodyCacheBytes, bodyCacheBytes/bodyCacheMax)
	}
}
