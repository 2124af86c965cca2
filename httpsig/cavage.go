package httpsig

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// cavageParams is a parsed draft-cavage-12 Signature header.
type cavageParams struct {
	KeyID      string
	Algorithm  string // "" when absent
	Headers    []string
	Signature  []byte
	Created    int64
	Expires    int64
	HasCreated bool
	HasExpires bool
}

// parsedCavage is a cavageParams with storage for its Headers and
// Signature, so that parsing a typical header costs one allocation.
type parsedCavage struct {
	cavageParams
	headerBuf [8]string
	sigBuf    [4 + 512]byte // an RSA-4096 signature, and base64's slack
}

// maxSignatureHeader caps the header we are willing to parse; real ones are
// well under 1 KiB.
const maxSignatureHeader = 8 << 10

// parseCavageSignature parses the parameters of a draft-cavage-12 Signature
// header (without any "Signature " auth-scheme prefix).
//
// The draft says unknown parameters are ignored, and they are, but every
// parameter may appear once only (compared case-insensitively): with
// "keyId" given twice, two implementations could disagree on which key was
// meant, so duplicates are rejected. keyId and signature are required.
func parseCavageSignature(s string) (*cavageParams, error) {
	pc := &parsedCavage{}
	if err := pc.parse(s); err != nil {
		return nil, err
	}
	return &pc.cavageParams, nil
}

// cavagePool holds parsedCavage values for Verify, which needs one only
// while it runs.
var cavagePool = sync.Pool{New: func() any { return new(parsedCavage) }}

// parse is parseCavageSignature into pc, whose previous content, if any, is
// discarded.
func (pc *parsedCavage) parse(s string) error {
	if len(s) > maxSignatureHeader {
		return errors.New("signature header too long")
	}
	pc.cavageParams = cavageParams{}
	p := &pc.cavageParams
	var seen [6]bool // keyid, algorithm, headers, signature, created, expires
	var sawHeaders bool
	var unknown []string
	i := 0
	for {
		// Skip separators: OWS and commas.
		for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == ',') {
			i++
		}
		if i == len(s) {
			break
		}
		start := i
		for i < len(s) && isTokenChar(s[i]) {
			i++
		}
		name := s[start:i]
		if name == "" {
			return fmt.Errorf("unexpected %q at offset %d", s[i], i)
		}
		i = skipOWS(s, i)
		if i == len(s) || s[i] != '=' {
			return fmt.Errorf("parameter %q has no value", name)
		}
		i = skipOWS(s, i+1)
		var value string
		if i < len(s) && s[i] == '"' {
			var err error
			if value, i, err = cavageQuoted(s, i); err != nil {
				return fmt.Errorf("parameter %q: %w", name, err)
			}
		} else {
			start := i
			for i < len(s) && isTokenChar(s[i]) {
				i++
			}
			value = s[start:i]
			if value == "" {
				return fmt.Errorf("parameter %q has an empty value", name)
			}
		}
		i = skipOWS(s, i)
		if i < len(s) && s[i] != ',' {
			return fmt.Errorf("expected ',' after parameter %q", name)
		}

		idx := -1
		switch {
		case strings.EqualFold(name, "keyId"):
			idx, p.KeyID = 0, value
		case strings.EqualFold(name, "algorithm"):
			idx, p.Algorithm = 1, strings.ToLower(value)
		case strings.EqualFold(name, "headers"):
			idx, sawHeaders = 2, true
			hs, err := parseHeaderList(pc.headerBuf[:0], value)
			if err != nil {
				return err
			}
			p.Headers = hs
		case strings.EqualFold(name, "signature"):
			idx = 3
			n, ok := decodeBase64(pc.sigBuf[:], value)
			if ok {
				p.Signature = pc.sigBuf[:n]
			} else if sig, err := base64.StdEncoding.DecodeString(value); err == nil {
				p.Signature = sig // longer than sigBuf: an RSA key over 4096 bits
			} else {
				return errors.New("signature is not base64")
			}
		case strings.EqualFold(name, "created"):
			idx, p.HasCreated = 4, true
			n, err := strconv.ParseInt(value, 10, 64)
			if err != nil || n < 0 {
				return errors.New("created is not a unix timestamp")
			}
			p.Created = n
		case strings.EqualFold(name, "expires"):
			idx, p.HasExpires = 5, true
			n, err := strconv.ParseFloat(value, 64) // the draft allows a fraction
			if err != nil || n < 0 || n > 1<<62 {
				return errors.New("expires is not a unix timestamp")
			}
			p.Expires = int64(n)
		default:
			// Unknown parameters are ignored (draft-cavage-12 section 2.2)
			// but still may not repeat.
			for _, u := range unknown {
				if strings.EqualFold(u, name) {
					return fmt.Errorf("duplicate parameter %q", name)
				}
			}
			unknown = append(unknown, name)
			continue
		}
		if seen[idx] {
			return fmt.Errorf("duplicate parameter %q", name)
		}
		seen[idx] = true
	}
	if p.KeyID == "" {
		return errors.New("missing keyId")
	}
	if len(p.Signature) == 0 {
		return errors.New("missing signature")
	}
	if !sawHeaders {
		// draft-cavage-12 defaults to "(created)"; Mastodon and the
		// Appendix C vectors use "date". Either way the Verifier's coverage
		// rules reject such a signature for requests.
		p.Headers = append(pc.headerBuf[:0], "date")
	}
	return nil
}

func skipOWS(s string, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
		i++
	}
	return i
}

// cavageQuoted parses the quoted string that starts at s[i] and returns its
// value and the offset after the closing quote. A value without escapes,
// the usual case, is returned as a substring of s.
func cavageQuoted(s string, i int) (string, int, error) {
	i++ // opening quote
	start := i
	for ; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"':
			return s[start:i], i + 1, nil
		case c == '\\':
			return cavageQuotedEscaped(s, start)
		case c < 0x20 && c != '\t' || c == 0x7f:
			return "", 0, errors.New("control character in quoted value")
		}
	}
	return "", 0, errors.New("unterminated quoted value")
}

// cavageQuotedEscaped is cavageQuoted for values with backslash escapes;
// start is the offset after the opening quote.
func cavageQuotedEscaped(s string, start int) (string, int, error) {
	var b strings.Builder
	for i := start; i < len(s); i++ {
		c := s[i]
		if c == '\\' && i+1 < len(s) {
			i++
			c = s[i]
		} else if c == '"' {
			return b.String(), i + 1, nil
		}
		if c < 0x20 && c != '\t' || c == 0x7f {
			return "", 0, errors.New("control character in quoted value")
		}
		b.WriteByte(c)
	}
	return "", 0, errors.New("unterminated quoted value")
}

// parseHeaderList appends to hs the names in the headers parameter v:
// separated by white space, each a header field name (a token) or a
// pseudo-header such as "(request-target)", lower-cased, each at most once.
func parseHeaderList(hs []string, v string) ([]string, error) {
	for f := range strings.FieldsSeq(v) {
		name := strings.TrimSuffix(strings.TrimPrefix(f, "("), ")")
		if name == "" || len(name) != len(f) && len(name) != len(f)-2 || strings.ContainsFunc(name, func(r rune) bool { return r > 0x7f || !isTokenChar(byte(r)) }) {
			return nil, fmt.Errorf("headers lists %q, which is not a header name", f)
		}
		f = strings.ToLower(f)
		if slices.Contains(hs, f) {
			return nil, fmt.Errorf("headers lists %q twice", f)
		}
		hs = append(hs, f)
	}
	if len(hs) == 0 {
		return nil, errors.New("empty headers parameter")
	}
	return hs, nil
}

func isTokenChar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

// requestTarget returns the request target as sent on the wire: the
// server's RequestURI when it is in origin form, else the URL's.
func requestTarget(r *http.Request) string {
	if strings.HasPrefix(r.RequestURI, "/") {
		return r.RequestURI
	}
	if r.URL == nil {
		return "/"
	}
	return r.URL.RequestURI()
}

// requestMethod returns r's method; "" means GET, as in net/http.
func requestMethod(r *http.Request) string {
	if r.Method == "" {
		return http.MethodGet
	}
	return r.Method
}

// requestHost returns the authority the request was sent to.
func requestHost(r *http.Request) string {
	if r.Host != "" {
		return r.Host
	}
	if r.URL != nil && r.URL.Host != "" {
		return r.URL.Host
	}
	return r.Header.Get("Host")
}

// errMissingHeader marks a covered header that the request lacks.
type errMissingHeader string

func (e errMissingHeader) Error() string {
	return fmt.Sprintf("covered header %q is absent", string(e))
}

// cavageSigningString appends the draft-cavage-12 signing string for the
// covered headers to buf.
func cavageSigningString(buf []byte, r *http.Request, p *cavageParams) ([]byte, error) {
	return cavageSigningStringWith(buf, r, p, nil)
}

// signedValues are values of covered headers that a Signer has computed
// but not yet set on the request: non-nil ones are used instead of the
// request's headers.
type signedValues struct {
	date, digest []byte
	// pathOnly leaves the query out of (request-target), as older
	// Mastodon versions signed (see VerifierOptions.StrictRequestTarget).
	pathOnly bool
}

// cavageSigningStringWith is cavageSigningString with the values of Date
// and Digest taken from known where it has them.
func cavageSigningStringWith(buf []byte, r *http.Request, p *cavageParams, known *signedValues) ([]byte, error) {
	for n, h := range p.Headers {
		if n > 0 {
			buf = append(buf, '\n')
		}
		buf = append(buf, h...)
		buf = append(buf, ": "...)
		switch h {
		case "(request-target)":
			buf = appendLower(buf, requestMethod(r))
			buf = append(buf, ' ')
			target := requestTarget(r)
			if known != nil && known.pathOnly {
				target, _, _ = strings.Cut(target, "?")
			}
			buf = append(buf, target...)
		case "(created)":
			if !p.HasCreated {
				return nil, errMissingHeader(h)
			}
			buf = strconv.AppendInt(buf, p.Created, 10)
		case "(expires)":
			if !p.HasExpires {
				return nil, errMissingHeader(h)
			}
			buf = strconv.AppendInt(buf, p.Expires, 10)
		case "host":
			host := requestHost(r)
			if host == "" {
				return nil, errMissingHeader(h)
			}
			buf = append(buf, host...)
		case "date", "digest":
			if known != nil {
				v := known.date
				if h == "digest" {
					v = known.digest
				}
				if v != nil {
					buf = append(buf, v...)
					break
				}
			}
			fallthrough
		default:
			vs := headerValues(r.Header, h)
			if len(vs) == 0 {
				return nil, errMissingHeader(h)
			}
			buf = appendHeaderValues(buf, vs)
		}
	}
	return buf, nil
}

// headerValues returns the values of the header with the lower-case name
// name: h.Values(name), without the allocation of canonicalising name.
func headerValues(h http.Header, name string) []string {
	var buf [64]byte
	if len(name) > len(buf) {
		return h.Values(name)
	}
	upper := true
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !isTokenChar(c) {
			return h.Values(name) // not canonicalised; let net/http decide
		}
		if upper && 'a' <= c && c <= 'z' {
			c -= 'a' - 'A'
		} else if !upper && 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		buf[i] = c
		upper = c == '-'
	}
	return h[string(buf[:len(name)])]
}

// appendHeaderValues appends the values of one header field as both
// draft-cavage-12 and RFC 9421 (section 2.1) define them: each trimmed,
// joined by ", ".
func appendHeaderValues(buf []byte, vs []string) []byte {
	for i, v := range vs {
		if i > 0 {
			buf = append(buf, ", "...)
		}
		buf = append(buf, strings.TrimSpace(v)...)
	}
	return buf
}

func appendLower(buf []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		buf = append(buf, c)
	}
	return buf
}

// formatCavageSignature renders a Signature header value.
func formatCavageSignature(p *cavageParams) string {
	return string(appendCavageSignature(nil, p, p.Signature))
}

// appendCavageSignature appends a Signature header value to buf, for p
// with the signature sig (p.Signature is not read).
func appendCavageSignature(buf []byte, p *cavageParams, sig []byte) []byte {
	buf = append(buf, `keyId="`...)
	buf = append(buf, p.KeyID...)
	buf = append(buf, `",algorithm="`...)
	buf = append(buf, p.Algorithm...)
	buf = append(buf, '"')
	if p.HasCreated {
		buf = append(buf, ",created="...)
		buf = strconv.AppendInt(buf, p.Created, 10)
	}
	if p.HasExpires {
		buf = append(buf, ",expires="...)
		buf = strconv.AppendInt(buf, p.Expires, 10)
	}
	buf = append(buf, `,headers="`...)
	for i, h := range p.Headers {
		if i > 0 {
			buf = append(buf, ' ')
		}
		buf = append(buf, h...)
	}
	buf = append(buf, `",signature="`...)
	buf = base64.StdEncoding.AppendEncode(buf, sig)
	return append(buf, '"')
}
