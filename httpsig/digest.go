package httpsig

import (
	"bytes"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"strings"
	"sync"
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

// digestMemo remembers the digest of the last body a Signer digested, so
// that an activity signed for many inboxes (a fan-out) is digested once.
// It keeps its own copy of the body and reuses the digest only for a body
// equal to it byte for byte, which costs a memory compare, a few percent
// of a SHA-256; the caller may reuse or change its buffer freely.
type digestMemo struct {
	mu   sync.Mutex
	alg  DigestAlgorithm
	body []byte // a copy; nil when empty
	sum  [maxDigestSize]byte
	n    int // length of sum
}

// Bodies the memo keeps: smaller ones cost little to digest again, larger
// ones would make every Signer keep a large buffer.
const (
	minMemoBody = 512
	maxMemoBody = 16 << 10
)

// appendDigest appends the alg digest of body to dst, as appendDigest
// does, from the memo when body is the one it last digested. A nil memo
// digests every body.
func (m *digestMemo) appendDigest(dst []byte, alg DigestAlgorithm, body []byte) []byte {
	if m == nil || len(body) < minMemoBody || len(body) > maxMemoBody {
		return appendDigest(dst, alg, body)
	}
	m.mu.Lock()
	if m.alg == alg && bytes.Equal(m.body, body) {
		dst = append(dst, m.sum[:m.n]...)
		m.mu.Unlock()
		return dst
	}
	m.mu.Unlock()
	start := len(dst)
	dst = appendDigest(dst, alg, body)
	m.mu.Lock()
	m.alg, m.body = alg, append(m.body[:0], body...)
	m.n = copy(m.sum[:], dst[start:])
	m.mu.Unlock()
	return dst
}

// DigestHeader returns the RFC 3230 Digest header value for body, in the
// upper-case form Mastodon sends: "SHA-256=<base64>".
func DigestHeader(alg DigestAlgorithm, body []byte) string {
	var buf [8 + 88]byte // "SHA-512=" and a base64 SHA-512
	return string(appendDigestHeader(buf[:0], alg, body, nil))
}

// appendDigestHeader appends the DigestHeader value for body to buf,
// through memo if it is not nil.
func appendDigestHeader(buf []byte, alg DigestAlgorithm, body []byte, memo *digestMemo) []byte {
	buf = appendUpper(buf, string(alg))
	buf = append(buf, '=')
	var sum [maxDigestSize]byte
	return base64.StdEncoding.AppendEncode(buf, memo.appendDigest(sum[:0], alg, body))
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
