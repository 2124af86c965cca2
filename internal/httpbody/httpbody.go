// Package httpbody reads HTTP bodies under a size cap, into one buffer of
// the announced size when the sender gave one: the inbox and the
// signature verifier both read request bodies this way.
package httpbody

import "io"

// MaxHint bounds the buffer Read allocates on the sender's word (the
// announced size) before the bytes arrive.
const MaxHint = 64 << 10

// Read reads r to its end, or until it has read more than max bytes (then
// it returns max+1 bytes: the caller tells a body over the cap by its
// length). announced is the size the sender gave (Content-Length), or
// negative: the first buffer is that size, up to MaxHint, plus the byte
// that sees the end without growing. An error other than io.EOF is
// returned with the bytes read before it.
func Read(r io.Reader, announced, max int64) ([]byte, error) {
	size := announced
	if size < 0 || size > MaxHint {
		size = 512
	}
	b := make([]byte, 0, min(size, max)+1)
	for {
		n, err := r.Read(b[len(b):min(int64(cap(b)), max+1)])
		b = b[:len(b)+n]
		if err == io.EOF {
			return b, nil
		} else if err != nil || int64(len(b)) > max {
			return b, err
		}
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)] // longer than announced: grow
		}
	}
}
