package ap

import (
	"errors"
	"fmt"
	"net/http"
)

// Error is a protocol error: an HTTP status and a message that is safe to
// show to a remote peer. The wrapped cause is for logs only and is never
// written to the wire.
type Error struct {
	Status int    // HTTP status code to answer with
	Public string // text safe to send to the remote
	Err    error  // internal cause, may be nil
}

// Errorf returns an *Error with the given status and public text wrapping
// cause (which may be nil).
func Errorf(status int, public string, cause error) *Error {
	return &Error{Status: status, Public: public, Err: cause}
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%d %s: %v", e.Status, e.Public, e.Err)
	}
	return fmt.Sprintf("%d %s", e.Status, e.Public)
}

func (e *Error) Unwrap() error { return e.Err }

// StatusOf returns the HTTP status carried by err: the Status of the first
// *Error in its chain, or 500 when there is none. StatusOf(nil) is 200.
func StatusOf(err error) int {
	if err == nil {
		return http.StatusOK
	}
	var e *Error
	if errors.As(err, &e) && e.Status != 0 {
		return e.Status
	}
	return http.StatusInternalServerError
}

// PublicText returns the text that may be sent to a remote for err: the
// Public text of the first *Error in its chain, or the generic status text.
func PublicText(err error) string {
	var e *Error
	if errors.As(err, &e) && e.Public != "" {
		return e.Public
	}
	return http.StatusText(StatusOf(err))
}

// WriteError answers an HTTP request with err's status and public text.
// Internal detail never reaches the remote.
func WriteError(w http.ResponseWriter, err error) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(StatusOf(err))
	_, _ = w.Write([]byte(PublicText(err) + "\n"))
}
