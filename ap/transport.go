package ap

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
)

// RequestSigner signs an outgoing request in place. body is the exact request
// body (nil for GET); a signer that covers a digest computes it from body.
// *httpsig.Signer implements it.
type RequestSigner interface {
	SignRequest(r *http.Request, body []byte) error
}

// Response is a fetched ActivityPub document.
type Response struct {
	URL        *url.URL    // final URL after redirects
	StatusCode int         // always 2xx when returned without error
	Header     http.Header // response headers
	Body       []byte      // capped body
}

// Transport carries ActivityPub requests to remote servers. Implementations
// must be safe for concurrent use. A Transport moves bytes; it does not parse
// documents, decide retries or check origins: that is the caller's job.
type Transport interface {
	// Get fetches iri with an ActivityStreams Accept header, signed by s
	// when s is non-nil. A non-2xx answer is returned as *RemoteError.
	Get(ctx context.Context, iri *url.URL, s RequestSigner) (*Response, error)
	// Post delivers body (an activity) to inbox, signed by s. A non-2xx
	// answer is returned as *RemoteError.
	Post(ctx context.Context, inbox *url.URL, body []byte, s RequestSigner) error
}

// RemoteError is a non-2xx answer from a remote server.
type RemoteError struct {
	Method     string
	URL        string
	StatusCode int
	Header     http.Header // e.g. Retry-After, Accept-Signature
}

func (e *RemoteError) Error() string {
	return fmt.Sprintf("%s %s: remote answered %d", e.Method, e.URL, e.StatusCode)
}

// Permanent reports whether retrying the same request is pointless: a 4xx
// other than 408 (timeout) and 429 (rate limited).
func (e *RemoteError) Permanent() bool {
	return e.StatusCode >= 400 && e.StatusCode < 500 &&
		e.StatusCode != http.StatusRequestTimeout && e.StatusCode != http.StatusTooManyRequests
}
