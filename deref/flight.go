package deref

import (
	"context"

	"golang.org/x/sync/singleflight"

	"github.com/slothpub/slothpub/ap"
)

// maxFlightJoins bounds how often a caller joins a new flight after the
// leader of the one it waited for went away (see share).
const maxFlightJoins = 3

// leaderGone is what a flight returns when its work failed after the
// context of the caller that ran it (the leader) ended. It never leaves
// share: a caller whose own context is alive joins a fresh flight, one
// whose context ended gets the inner error.
type leaderGone struct{ err error }

func (e *leaderGone) Error() string { return e.err.Error() }

// share runs fn once for all concurrent callers with the same key
// (singleflight) under the context of the caller that started it, and
// returns its result.
//
// A caller whose own context ends, or whose fetch deadline
// (ap.WithFetchDeadline) passes, stops waiting at once and gets its
// context's error; the flight goes on for the others, in the goroutine
// singleflight started for it, until fn returns (fn's fetches end with
// the leader's context and fetch deadline). A flight's failure
// is retried (by joining a new flight, at most maxFlightJoins flights in
// all) only when the leader's own context ended while the caller's is
// alive: the leader gave up, not the remote. Every other failure, and in
// particular a timeout of the transport (whose error also matches
// context.DeadlineExceeded), is returned as it is, never retried: a remote
// that does not answer costs one request, not one per retry.
//
// Calls of share nest (a key flight runs an object flight); each level
// only ever sees the marker of its own flight, so retries do not multiply.
func (r *Resolver) share(ctx context.Context, key string, fn func() (any, error)) (any, error) {
	// The caller waits no longer than its fetch deadline either, even on
	// a flight led by a caller with a later one (or none).
	wait := ctx
	if d, ok := ap.FetchDeadline(ctx); ok {
		var cancel context.CancelFunc
		wait, cancel = context.WithDeadline(ctx, d)
		defer cancel()
	}
	for joins := 1; ; joins++ {
		ch := r.flights.DoChan(key, func() (any, error) {
			v, err := fn()
			if err != nil && ctx.Err() != nil {
				// The leader's ctx ended: the failure is the leader's,
				// not an answer for whoever else is waiting.
				return nil, &leaderGone{err: err}
			}
			return v, err
		})
		var res singleflight.Result
		select {
		case res = <-ch:
		case <-wait.Done():
			return nil, wait.Err()
		}
		if lg, ok := res.Err.(*leaderGone); ok {
			if ctx.Err() == nil && joins < maxFlightJoins {
				continue
			}
			return nil, lg.err
		}
		return res.Val, res.Err
	}
}
