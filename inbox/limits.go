package inbox

import (
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/slothpub/slothpub/ap"
)

// DefaultFetchTimeout is the default of Options.FetchTimeout. A peer that
// is up answers a key fetch in well under a second; five seconds leave
// room for a slow one while bounding what a silent one costs: one
// request, one handler, five seconds, however the fetches nest.
const DefaultFetchTimeout = 5 * time.Second

// DefaultMaxInFlight is the default of Options.MaxInFlight. Each request
// in flight holds at most a body (MaxBodyBytes) and, while it waits on a
// remote, a goroutine and a connection: a few hundred are cheap, and
// beyond them the server is better off telling senders to come back.
const DefaultMaxInFlight = 256

// admission bounds the requests a Handler serves at once.
type admission struct {
	slots      chan struct{} // nil: no bound
	retryAfter string        // seconds, for the Retry-After of a 503
}

func newAdmission(n int, fetchTimeout time.Duration) *admission {
	a := &admission{}
	if n > 0 {
		a.slots = make(chan struct{}, n)
	}
	if fetchTimeout <= 0 {
		fetchTimeout = DefaultFetchTimeout
	}
	// A request holds its slot about as long as it may wait on remotes.
	a.retryAfter = strconv.Itoa(max(1, int(math.Ceil(fetchTimeout.Seconds()))))
	return a
}

// enter takes a slot without waiting; false means the Handler is full.
func (a *admission) enter() bool {
	if a.slots == nil {
		return true
	}
	select {
	case a.slots <- struct{}{}:
		return true
	default:
		return false
	}
}

// leave gives back the slot taken by a successful enter.
func (a *admission) leave() {
	if a.slots != nil {
		<-a.slots
	}
}

// refuse answers a request the Handler has no room for: 503 with
// Retry-After, and the connection closed, so that the body it did not
// read is not read either to reuse the connection.
func (a *admission) refuse(w http.ResponseWriter) {
	w.Header().Set("Retry-After", a.retryAfter)
	w.Header().Set("Connection", "close")
	ap.WriteError(w, ap.Errorf(http.StatusServiceUnavailable, "inbox busy, retry later", nil))
}
