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

// maxDigestSize is the size of the largest digest we compute (SHA-512).
const maxDigestSize = sha512.Size

// appendDigest appends the alg digest of body to dst. With a dst of
// capacity maxDigestSize on the caller's stack it does not allocate.
func appendDigest(dst []byte, alg DigestAlgorithm, body []byte) []byte {
	switch alg {
	case DigestSHA256:
		s := sha256.Sum256(body)
		return append(dst, s[:]...)
	case DigestSHA512:
		s := sha512.Sum512(body)
		return append(dst, s[:]...)
	}
	return dst
}

// DigestHeader returns the RFC 3230 Digest header value for body, in the
// upper-case form Mastodon sends: "SHA-256=<base64>".
func DigestHeader(alg DigestAlgorithm, body []byte) string {
	var buf [8 + 88]byte // "SHA-512=" and a base64 SHA-512
	var sum [maxDigestSize]byte
	b := appendUpper(buf[:0], string(alg))
	b = append(b, '=')
	b = base64.StdEncoding.AppendEncode(b, appendDigest(sum[:0], alg, body))
	return string(b)
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
		var got [maxDigestSize + 2]byte // base64 decoding needs slack
		var want [maxDigestSize]byte
		n, ok := decodeBase64(got[:], strings.TrimSpace(b64))
		if !ok {
			return errors.New("Digest value is not base64")
		}
		if subtle.ConstantTimeCompare(got[:n], appendDigest(want[:0], alg, body)) != 1 {
			return errors.New(string(alg) + " digest does not match body")
		}
	}
	if !seen256 && !seen512 {
		return errNoSupportedDigest
	}
	return nil
}

// decodeBase64 decodes standard padded base64 s into dst and reports the
// length; it fails when s is not base64 or when dst is shorter than
// base64.StdEncoding.DecodedLen(len(s)), which may exceed the decoded
// length by two.
func decodeBase64(dst []byte, s string) (int, bool) {
	if base64.StdEncoding.DecodedLen(len(s)) > len(dst) {
		return 0, false
	}
	n, err := base64.StdEncoding.Decode(dst, []byte(s))
	return n, err == nil
}

// appendUpper appends s in ASCII upper case.
func appendUpper(buf []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' {
			c -= 'a' - 'A'
		}
		buf = append(buf, c)
	}
	return buf
}
