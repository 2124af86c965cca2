package httpsig

import (
	"errors"
	"fmt"
)

// Reason classifies why a signature was rejected. Callers answer every
// failure with 401 Unauthorized (413 for ReasonBodyTooLarge) and log the
// Reason; the reasons are stable strings, suitable as metric labels.
type Reason string

// The reasons a Verifier rejects a request.
const (
	// ReasonNoSignature: the request carries no Signature, Signature-Input
	// or "Authorization: Signature" header.
	ReasonNoSignature Reason = "no_signature"
	// ReasonMalformed: a signature header that cannot be parsed, or is
	// ambiguous (duplicated headers or parameters).
	ReasonMalformed Reason = "malformed"
	// ReasonUnsupportedAlgorithm: the algorithm is unknown or not allowed
	// for the key type.
	ReasonUnsupportedAlgorithm Reason = "unsupported_algorithm"
	// ReasonKeyUnavailable: the KeyResolver could not produce the key.
	ReasonKeyUnavailable Reason = "key_unavailable"
	// ReasonDigestMismatch: the Digest or Content-Digest header does not
	// match the body, or names no supported algorithm.
	ReasonDigestMismatch Reason = "digest_mismatch"
	// ReasonOutsideWindow: Date/created lies outside the allowed window or
	// the signature has expired.
	ReasonOutsideWindow Reason = "outside_window"
	// ReasonBadSignature: the signature does not verify with the key, even
	// after asking the resolver for a fresh copy.
	ReasonBadSignature Reason = "bad_signature"
	// ReasonMissingComponent: a component the Verifier requires is not
	// covered by the signature, or a covered header is absent.
	ReasonMissingComponent Reason = "missing_component"
	// ReasonBodyTooLarge: the body exceeds VerifierOptions.MaxBodyBytes, so
	// its digest could not be checked.
	ReasonBodyTooLarge Reason = "body_too_large"
	// ReasonReplayed: the signature's nonce was seen before, or the
	// NonceChecker failed (VerifierOptions.Nonces).
	ReasonReplayed Reason = "replayed"
)

// Error is the error every verification failure returns. Reason says what
// failed; Err carries detail for logs and must not be sent to the remote.
type Error struct {
	Reason Reason
	Err    error
}

func (e *Error) Error() string {
	if e.Err == nil {
		return "httpsig: " + string(e.Reason)
	}
	return "httpsig: " + string(e.Reason) + ": " + e.Err.Error()
}

func (e *Error) Unwrap() error { return e.Err }

// ReasonOf returns the Reason of the first *Error in err's chain, or "" when
// there is none.
func ReasonOf(err error) Reason {
	var e *Error
	if errors.As(err, &e) {
		return e.Reason
	}
	return ""
}

func fail(r Reason, format string, args ...any) *Error {
	return &Error{Reason: r, Err: fmt.Errorf(format, args...)}
}

func failErr(r Reason, err error) *Error {
	return &Error{Reason: r, Err: err}
}
