package httpsig

import (
	"context"
	"errors"
	"sync"
	"time"
)

// ErrReplayed is what a NonceChecker returns for a nonce it has seen.
var ErrReplayed = errors.New("httpsig: nonce already used")

// NonceChecker remembers the nonces of verified RFC 9421 signatures
// (VerifierOptions.Nonces). A deployment with several processes behind one
// name needs one shared by all of them (a database table with a unique
// key); NewNonceCache is for a single process.
type NonceChecker interface {
	// CheckNonce records that keyID signed with nonce, to be remembered
	// until until, and returns ErrReplayed if the pair is already
	// recorded and not yet forgotten. Other errors make Verify refuse the
	// request (ReasonReplayed): replay protection fails closed.
	CheckNonce(ctx context.Context, keyID, nonce string, until time.Time) error
}

// NonceCache is an in-memory NonceChecker for one process, bounded in size.
// It is safe for concurrent use.
type NonceCache struct {
	mu    sync.Mutex
	max   int
	clock func() time.Time
	seen  map[string]time.Time // keyID + "\x00" + nonce -> until
	order []string             // keys in insertion order (a FIFO)
	head  int                  // index of the oldest key in order
}

// DefaultNonceCacheSize is NewNonceCache's bound when given max <= 0.
const DefaultNonceCacheSize = 100_000

// NewNonceCache returns a NonceCache that remembers at most max nonces
// (DefaultNonceCacheSize if max <= 0): when full, it forgets the oldest
// first, expired or not, so that a flood of signed requests cannot grow it
// without bound. Size it above the number of nonce-carrying requests a
// window (VerifierOptions.Window) can bring. clock must tell the time the
// Verifier's clock tells (VerifierOptions.Clock); nil: time.Now.
func NewNonceCache(max int, clock func() time.Time) *NonceCache {
	if max <= 0 {
		max = DefaultNonceCacheSize
	}
	if clock == nil {
		clock = time.Now
	}
	return &NonceCache{max: max, clock: clock, seen: make(map[string]time.Time)}
}

// CheckNonce implements NonceChecker.
func (c *NonceCache) CheckNonce(_ context.Context, keyID, nonce string, until time.Time) error {
	key := keyID + "\x00" + nonce
	now := c.clock()
	c.mu.Lock()
	defer c.mu.Unlock()
	if t, ok := c.seen[key]; ok && now.Before(t) {
		return ErrReplayed
	}
	c.evict(now)
	if _, ok := c.seen[key]; !ok {
		c.order = append(c.order, key)
	}
	c.seen[key] = until
	return nil
}

// evict drops expired keys from the front of the FIFO, and the oldest
// keys while the cache is full. Keys that expire out of order stay until
// they reach the front, within the bound.
func (c *NonceCache) evict(now time.Time) {
	for c.head < len(c.order) {
		k := c.order[c.head]
		if t, ok := c.seen[k]; ok && now.Before(t) && len(c.seen) < c.max {
			break
		}
		delete(c.seen, k)
		c.order[c.head] = ""
		c.head++
	}
	if c.head > len(c.order)/2 && c.head > 64 {
		c.order = append(c.order[:0], c.order[c.head:]...)
		c.head = 0
	}
}

// Len returns how many nonces the cache remembers.
func (c *NonceCache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.seen)
}
