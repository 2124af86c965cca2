package httpsig

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
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
	if len(s) > maxSignatureHeader {
		return nil, errors.New("signature header too long")
	}
	p := &cavageParams{}
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
			return nil, fmt.Errorf("unexpected %q at offset %d", s[i], i)
		}
		for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
			i++
		}
		if i == len(s) || s[i] != '=' {
			return nil, fmt.Errorf("parameter %q has no value", name)
		}
		i++
		for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
			i++
		}
		var value string
		if i < len(s) && s[i] == '"' {
			i++
			var b strings.Builder
			closed := false
			for i < len(s) {
				c := s[i]
				if c == '\\' && i+1 < len(s) {
					i++
					c = s[i]
				} else if c == '"' {
					closed = true
					i++
					break
				}
				if c < 0x20 && c != '\t' || c == 0x7f {
					return nil, fmt.Errorf("control character in parameter %q", name)
				}
				b.WriteByte(c)
				i++
			}
			if !closed {
				return nil, fmt.Errorf("unterminated quoted value for %q", name)
			}
			value = b.String()
		} else {
			start := i
			for i < len(s) && isTokenChar(s[i]) {
				i++
			}
			value = s[start:i]
			if value == "" {
				return nil, fmt.Errorf("parameter %q has an empty value", name)
			}
		}
		for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
			i++
		}
		if i < len(s) && s[i] != ',' {
			return nil, fmt.Errorf("expected ',' after parameter %q", name)
		}

		idx := -1
		switch strings.ToLower(name) {
		case "keyid":
			idx, p.KeyID = 0, value
		case "algorithm":
			idx, p.Algorithm = 1, strings.ToLower(value)
		case "headers":
			idx, sawHeaders = 2, true
			hs, err := parseHeaderList(value)
			if err != nil {
				return nil, err
			}
			p.Headers = hs
		case "signature":
			idx = 3
			sig, err := base64.StdEncoding.DecodeString(value)
			if err != nil {
				return nil, errors.New("signature is not base64")
			}
			p.Signature = sig
		case "created":
			idx, p.HasCreated = 4, true
			n, err := strconv.ParseInt(value, 10, 64)
			if err != nil || n < 0 {
				return nil, errors.New("created is not a unix timestamp")
			}
			p.Created = n
		case "expires":
			idx, p.HasExpires = 5, true
			n, err := strconv.ParseFloat(value, 64) // the draft allows a fraction
			if err != nil || n < 0 || n > 1<<62 {
				return nil, errors.New("expires is not a unix timestamp")
			}
			p.Expires = int64(n)
		default:
			// Unknown parameters are ignored (draft-cavage-12 section 2.2)
			// but still may not repeat.
			for _, u := range unknown {
				if strings.EqualFold(u, name) {
					return nil, fmt.Errorf("duplicate parameter %q", name)
				}
			}
			unknown = append(unknown, name)
			continue
		}
		if seen[idx] {
			return nil, fmt.Errorf("duplicate parameter %q", name)
		}
		seen[idx] = true
	}
	if p.KeyID == "" {
		return nil, errors.New("missing keyId")
	}
	if len(p.Signature) == 0 {
		return nil, errors.New("missing signature")
	}
	if !sawHeaders {
		// draft-cavage-12 defaults to "(created)"; Mastodon and the
		// Appendix C vectors use "date". Either way the Verifier's coverage
		// rules reject such a signature for requests.
		p.Headers = []string{"date"}
	}
	return p, nil
}

func parseHeaderList(v string) ([]string, error) {
	fields := strings.Fields(v)
	if len(fields) == 0 {
		return nil, errors.New("empty headers parameter")
	}
	out := make([]string, len(fields))
	for i, f := range fields {
		f = strings.ToLower(f)
		for _, prev := range out[:i] {
			if prev == f {
				return nil, fmt.Errorf("headers lists %q twice", f)
			}
		}
		out[i] = f
	}
	return out, nil
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
	for n, h := range p.Headers {
		if n > 0 {
			buf = append(buf, '\n')
		}
		buf = append(buf, h...)
		buf = append(buf, ": "...)
		switch h {
		case "(request-target)":
			buf = appendLower(buf, r.Method)
			buf = append(buf, ' ')
			buf = append(buf, requestTarget(r)...)
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
		default:
			vs := r.Header.Values(h)
			if len(vs) == 0 {
				return nil, errMissingHeader(h)
			}
			for i, v := range vs {
				if i > 0 {
					buf = append(buf, ", "...)
				}
				buf = append(buf, strings.TrimSpace(v)...)
			}
		}
	}
	return buf, nil
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
	var b strings.Builder
	b.WriteString(`keyId="`)
	b.WriteString(p.KeyID)
	b.WriteString(`",algorithm="`)
	b.WriteString(p.Algorithm)
	b.WriteByte('"')
	if p.HasCreated {
		b.WriteString(",created=")
		b.WriteString(strconv.FormatInt(p.Created, 10))
	}
	if p.HasExpires {
		b.WriteString(",expires=")
		b.WriteString(strconv.FormatInt(p.Expires, 10))
	}
	b.WriteString(`,headers="`)
	b.WriteString(strings.Join(p.Headers, " "))
	b.WriteString(`",signature="`)
	b.WriteString(base64.StdEncoding.EncodeToString(p.Signature))
	b.WriteByte('"')
	return b.String()
}
