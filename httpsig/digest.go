package httpsig

import (
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"strings"
)

// DigestAlgorithm names a body digest algorithm for the Digest (RFC 3230)
// and Content-Digest (RFC 9530) headers.
type DigestAlgorithm string

// The digest algorithms this package generates and checks.
const (
	DigestSHA256 DigestAlgorithm = "sha-256"
	DigestSHA512 DigestAlgorithm = "sha-512"
)

func digestSum(alg DigestAlgorithm, body []byte) []byte {
	switch alg {
	case DigestSHA256:
		s := sha256.Sum256(body)
		return s[:]
	case DigestSHA512:
		s := sha512.Sum512(body)
		return s[:]
	}
	return nil
}

// DigestHeader returns the RFC 3230 Digest header value for body, in the
// upper-case form Mastodon sends: "SHA-256=<base64>".
func DigestHeader(alg DigestAlgorithm, body []byte) string {
	return strings.ToUpper(string(alg)) + "=" + base64.StdEncoding.EncodeToString(digestSum(alg, body))
}

var errNoSupportedDigest = errors.New("no sha-256 or sha-512 digest present")

// checkDigest checks an RFC 3230 Digest header value ("SHA-256=b64,
// SHA-512=b64") against body. Algorithm names are case-insensitive (Mastodon
// documents "sha-256"). Every supported entry must match and at least one
// must be present; unknown algorithms are ignored, duplicates rejected.
func checkDigest(value string, body []byte) error {
	var seen256, seen512 bool
	for part := range strings.SplitSeq(value, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		name, b64, ok := strings.Cut(part, "=")
		if !ok {
			return errors.New("malformed Digest entry")
		}
		var alg DigestAlgorithm
		switch {
		case strings.EqualFold(name, "sha-256"):
			if seen256 {
				return errors.New("duplicate SHA-256 in Digest")
			}
			seen256, alg = true, DigestSHA256
		case strings.EqualFold(name, "sha-512"):
			if seen512 {
				return errors.New("duplicate SHA-512 in Digest")
			}
			seen512, alg = true, DigestSHA512
		default:
			continue
		}
		got, err := base64.StdEncoding.DecodeString(strings.TrimSpace(b64))
		if err != nil {
			return errors.New("Digest value is not base64")
		}
		if subtle.ConstantTimeCompare(got, digestSum(alg, body)) != 1 {
			return errors.New(string(alg) + " digest does not match body")
		}
	}
	if !seen256 && !seen512 {
		return errNoSupportedDigest
	}
	return nil
}
