package deref_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slothpub/slothpub/ap"
	"github.com/slothpub/slothpub/deref"
	"github.com/slothpub/slothpub/store/memstore"
)

// silentServer accepts connections and requests and never answers them
// (until the test's cleanup); it counts the requests it saw.
type silentServer struct {
	srv     *httptest.Server
	n       atomic.Int64
	arrived chan struct{}
}

func newSilentServer(t testing.TB) *silentServer {
	s := &silentServer{arrived: make(chan struct{}, 64)}
	release := make(chan struct{})
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.n.Add(1)
		select {
		case s.arrived <- struct{}{}:
		default:
		}
		<-release
	}))
	t.Cleanup(s.srv.Close)               // runs second:
	t.Cleanup(func() { close(release) }) // the held handlers return first
	return s
}

// realResolver is a Resolver over the real HTTP transport (loopback
// allowed) whose whole-request timeout is timeout.
func realResolver(timeout time.Duration) *deref.Resolver {
	tr := ap.NewHTTPTransport(&ap.HTTPTransportOptions{AllowPrivate: true, Timeout: timeout})
	return deref.New(memstore.New(), tr, nil, nil)
}

// A key on a server that never answers costs one GET and one transport
// timeout: the timeout is not retried, neither by the key's flight nor by
// the object flight nested in it.
func TestResolveKeySilentServerOneGet(t *testing.T) {
	ss := newSilentServer(t)
	const timeout = 200 * time.Millisecond
	r := realResolver(timeout)

	start := time.Now()
	_, err := r.ResolveKey(context.Background(), ss.srv.URL+"/users/alice#main-key", false)
	elapsed := time.Since(start)
	require.Error(t, err)
	assert.True(t, errors.Is(err, context.DeadlineExceeded), "err = %v", err)
	assert.Equal(t, int64(1), ss.n.Load(), "GETs to the silent server")
	assert.Less(t, elapsed, timeout+time.Second, "ResolveKey took %v", elapsed)
}

func TestObjectSilentServerOneGet(t *testing.T) {
	ss := newSilentServer(t)
	r := realResolver(200 * time.Millisecond)
	_, err := r.Object(context.Background(), mustURL(t, ss.srv.URL+"/notes/1"))
	require.Error(t, err)
	assert.Equal(t, int64(1), ss.n.Load(), "GETs to the silent server")
}

// A caller waiting on another caller's flight leaves when its own
// deadline passes, without waiting for the flight.
func TestObjectFollowerLeavesAtItsDeadline(t *testing.T) {
	ss := newSilentServer(t)
	r := realResolver(5 * time.Second)
	u := mustURL(t, ss.srv.URL+"/notes/1")

	leaderCtx, cancelLeader := context.WithCancel(context.Background())
	defer cancelLeader()
	leaderDone := make(chan error, 1)
	go func() {
		_, err := r.Object(leaderCtx, u)
		leaderDone <- err
	}()
	<-ss.arrived // the leader's GET is in the server

	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := r.Object(ctx, u)
	elapsed := time.Since(start)
	assert.True(t, errors.Is(err, context.DeadlineExceeded), "err = %v", err)
	assert.Less(t, elapsed, time.Second, "the follower waited %v", elapsed)
	assert.Equal(t, int64(1), ss.n.Load(), "the follower shares the leader's GET")

	cancelLeader()
	assert.True(t, errors.Is(<-leaderDone, context.Canceled))
}

// The one legitimate retry: the leader gave up (its own context ended)
// while a follower still wants the document; the follower fetches it
// under its own context.
func TestObjectFollowerRetriesWhenLeaderGivesUp(t *testing.T) {
	var hits atomic.Int64
	arrived := make(chan struct{}, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if hits.Add(1) == 1 {
			arrived <- struct{}{}
			<-r.Context().Done() // the first GET is abandoned by its caller
			return
		}
		w.Header().Set("Content-Type", "application/activity+json")
		_, _ = w.Write([]byte(`{"id":"http://` + r.Host + `/notes/1","type":"Note","content":"hi"}`))
	}))
	t.Cleanup(srv.Close)
	r := realResolver(5 * time.Second)
	u := mustURL(t, srv.URL+"/notes/1")

	leaderCtx, cancelLeader := context.WithCancel(context.Background())
	leaderDone := make(chan error, 1)
	go func() {
		_, err := r.Object(leaderCtx, u)
		leaderDone <- err
	}()
	<-arrived
	followerDone := make(chan error, 1)
	go func() {
		_, err := r.Object(context.Background(), u)
		followerDone <- err
	}()
	time.Sleep(50 * time.Millisecond) // the follower joins the leader's flight
	cancelLeader()
	assert.True(t, errors.Is(<-leaderDone, context.Canceled))
	require.NoError(t, <-followerDone)
	assert.Equal(t, int64(2), hits.Load())
}

// A caller's fetch deadline (ap.WithFetchDeadline) bounds its wait on a
// flight led by a caller without one, and its own fetch, without a retry.
func TestFetchDeadlineBoundsKeyAndSharedWait(t *testing.T) {
	ss := newSilentServer(t)
	r := realResolver(30 * time.Second)
	keyID := ss.srv.URL + "/users/alice#main-key"

	leaderCtx, cancelLeader := context.WithCancel(context.Background())
	defer cancelLeader()
	go func() { _, _ = r.ResolveKey(leaderCtx, keyID, false) }()
	<-ss.arrived

	ctx := ap.WithFetchDeadline(context.Background(), time.Now().Add(150*time.Millisecond))
	start := time.Now()
	_, err := r.ResolveKey(ctx, keyID, false)
	assert.True(t, errors.Is(err, context.DeadlineExceeded), "err = %v", err)
	assert.Less(t, time.Since(start), time.Second)
	assert.Equal(t, int64(1), ss.n.Load())

	// Alone, under its own fetch deadline: one GET, no retry.
	cancelLeader()
	time.Sleep(50 * time.Millisecond)
	ctx = ap.WithFetchDeadline(context.Background(), time.Now().Add(150*time.Millisecond))
	start = time.Now()
	_, err = r.ResolveKey(ctx, keyID, false)
	assert.True(t, errors.Is(err, context.DeadlineExceeded), "err = %v", err)
	assert.Less(t, time.Since(start), time.Second)
	assert.Equal(t, int64(2), ss.n.Load())
}
