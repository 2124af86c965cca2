package httpsig

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// RFC 9421 (HTTP Message Signatures) algorithm names.
const (
	AlgRSAv15SHA256    = "rsa-v1_5-sha256"
	AlgRSAPSSSHA512    = "rsa-pss-sha512"
	AlgECDSAP256SHA256 = "ecdsa-p256-sha256"
	AlgEd25519         = "ed25519"
)

func rfc9421Alg(name string) (sigAlg, bool) {
	switch name {
	case AlgRSAv15SHA256:
		return algRSAPKCS1SHA256, true
	case AlgRSAPSSSHA512:
		return algRSAPSSSHA512, true
	case AlgECDSAP256SHA256:
		return algECDSAP256SHA256, true
	case AlgEd25519:
		return algEd25519, true
	}
	return algNone, false
}

// rfc9421AlgsForKey returns the primitives to try for a signature without
// an alg parameter: the key type decides. For RSA, rsa-v1_5-sha256 (what
// Mastodon signs with) comes first and rsa-pss-sha512 second.
func rfc9421AlgsForKey(pub crypto.PublicKey) []sigAlg {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		return rfc9421RSA
	case ed25519.PublicKey:
		return onlyEd25519
	case *ecdsa.PublicKey:
		if k.Curve == elliptic.P256() {
			return onlyECDSAP256
		}
	}
	return nil
}

// message is what a signature base is computed over: a request, or a
// response (req nil, status set).
type message struct {
	req    *http.Request
	status int
	header http.Header
	scheme string // scheme of the request's target URI
}

func requestMessage(r *http.Request, scheme string) *message {
	m := newRequestMessage(r, scheme)
	return &m
}

// newRequestMessage is requestMessage returning a value, which a caller
// can keep on its stack.
func newRequestMessage(r *http.Request, scheme string) message {
	if scheme == "" {
		switch {
		case r.URL != nil && r.URL.Scheme != "":
			scheme = r.URL.Scheme
		case r.TLS != nil:
			scheme = "https"
		default:
			scheme = "http"
		}
	}
	return message{req: r, header: r.Header, scheme: strings.ToLower(scheme)}
}

// componentValue computes the value of one covered component.
func (m *message) componentValue(it sfItem) (string, error) {
	v, err := m.appendComponentValue(nil, it)
	return string(v), err
}

// appendComponentValue appends the value of one covered component to buf.
func (m *message) appendComponentValue(buf []byte, it sfItem) ([]byte, error) {
	name, ok := it.Value.(string)
	if !ok {
		return nil, errors.New("component identifier is not a string")
	}
	var (
		qname, key   string
		sf, bs, keyd bool
	)
	for _, p := range it.Params {
		switch p.Key {
		case "name":
			s, ok := p.Value.(string)
			if !ok || name != "@query-param" {
				return nil, fmt.Errorf("bad name parameter on %q", name)
			}
			qname = s
		case "sf", "bs":
			if b, ok := p.Value.(bool); !ok || !b || strings.HasPrefix(name, "@") {
				return nil, fmt.Errorf("bad %s parameter on %q", p.Key, name)
			}
			sf, bs = sf || p.Key == "sf", bs || p.Key == "bs"
		case "key":
			s, ok := p.Value.(string)
			if !ok || strings.HasPrefix(name, "@") {
				return nil, fmt.Errorf("bad key parameter on %q", name)
			}
			key, keyd = s, true
		default:
			// req (a request component in a response signature) and tr
			// (trailers): not supported, and unknown ones are errors.
			return nil, fmt.Errorf("component parameter %q is not supported", p.Key)
		}
	}
	if !strings.HasPrefix(name, "@") {
		if name == "" || strings.ContainsFunc(name, func(r rune) bool { return 'A' <= r && r <= 'Z' }) {
			return nil, fmt.Errorf("component name %q is not lower case", name)
		}
		if bs && (sf || keyd) {
			return nil, fmt.Errorf("%q: bs cannot be combined with sf or key", name)
		}
		if name == "host" && m.req != nil && len(it.Params) == 0 {
			if h := requestHost(m.req); h != "" {
				return append(buf, h...), nil
			}
		}
		vs := headerValues(m.header, name)
		if len(vs) == 0 {
			return nil, errMissingHeader(name)
		}
		switch {
		case bs:
			return appendBinaryWrapped(buf, vs), nil
		case keyd:
			return appendDictionaryMember(buf, name, vs, key)
		case sf:
			return appendStrictField(buf, name, vs)
		}
		return appendHeaderValues(buf, vs), nil
	}
	if name == "@status" {
		if m.req != nil || m.status == 0 {
			return nil, errors.New("@status on a request")
		}
		return strconv.AppendInt(buf, int64(m.status), 10), nil
	}
	r := m.req
	if r == nil {
		return nil, fmt.Errorf("%s on a response", name)
	}
	target := requestTarget(r)
	path, query, hasQuery := strings.Cut(target, "?")
	switch name {
	case "@method":
		return append(buf, requestMethod(r)...), nil
	case "@target-uri":
		buf = append(buf, m.scheme...)
		buf = append(buf, "://"...)
		buf = appendLower(buf, requestHost(r))
		return append(buf, target...), nil
	case "@authority":
		return append(buf, authority(m.scheme, requestHost(r))...), nil
	case "@scheme":
		return append(buf, m.scheme...), nil
	case "@request-target":
		return append(buf, target...), nil
	case "@path":
		if path == "" {
			path = "/"
		}
		return append(buf, path...), nil
	case "@query":
		buf = append(buf, '?')
		if hasQuery {
			buf = append(buf, query...)
		}
		return buf, nil
	case "@query-param":
		if qname == "" {
			return nil, errors.New("@query-param without name")
		}
		vals, err := url.ParseQuery(query)
		if err != nil {
			return nil, fmt.Errorf("@query-param: %w", err)
		}
		vs := vals[qname]
		if len(vs) != 1 {
			return nil, fmt.Errorf("@query-param %q occurs %d times", qname, len(vs))
		}
		return append(buf, queryEscape(vs[0])...), nil
	}
	return nil, fmt.Errorf("derived component %q is not supported", name)
}

// appendBinaryWrapped appends the values of a field as RFC 9421 section
// 2.1.3 wraps them (the bs parameter): each value, trimmed, as a Byte
// Sequence, in a List. net/http has already replaced obsolete line folding
// with spaces.
func appendBinaryWrapped(buf []byte, vs []string) []byte {
	for i, v := range vs {
		if i > 0 {
			buf = append(buf, ", "...)
		}
		buf = appendSFByteSequence(buf, []byte(strings.TrimSpace(v)))
	}
	return buf
}

// appendDictionaryMember appends the value of the member key of the
// Dictionary field name (the key parameter, RFC 9421 section 2.1.2),
// serialised strictly; a missing member is an error.
func appendDictionaryMember(buf []byte, name string, vs []string, key string) ([]byte, error) {
	ms, err := parseSFDictionary(string(appendHeaderValues(nil, vs)))
	if err != nil {
		return nil, fmt.Errorf("%q is not a Dictionary: %w", name, err)
	}
	for _, m := range ms {
		if m.Key == key {
			return appendSFMemberValue(buf, m)
		}
	}
	return nil, errMissingHeader(name + `;key="` + key + `"`)
}

// sfTypes are the structured fields whose type this package knows, for the
// sf parameter: RFC 9421's and RFC 9530's own fields, and Priority (RFC
// 9218), Cache-Status (RFC 9211) and Proxy-Status (RFC 9209).
var sfTypes = map[string]byte{
	"signature-input":     'd',
	"signature":           'd',
	"accept-signature":    'd',
	"content-digest":      'd',
	"repr-digest":         'd',
	"want-content-digest": 'd',
	"want-repr-digest":    'd',
	"priority":            'd',
	"cache-status":        'l',
	"proxy-status":        'l',
}

// appendStrictField appends the values of field name re-serialised as
// the structured field it is (the sf parameter, RFC 9421 section 2.1.1).
// A field this package does not know is read as a Dictionary, else a List,
// else an Item: the first that parses. Where a value parses as more than
// one, their serialisations agree, except that a Dictionary refuses
// duplicate keys where a List of tokens cannot contain "=".
func appendStrictField(buf []byte, name string, vs []string) ([]byte, error) {
	combined := string(appendHeaderValues(nil, vs))
	kind, known := sfTypes[name]
	if !known || kind == 'd' {
		ms, err := parseSFDictionary(combined)
		if err == nil {
			return appendSFDictionary(buf, ms)
		}
		if known {
			return nil, fmt.Errorf("%q is not a Dictionary: %w", name, err)
		}
	}
	ms, err := parseSFList(combined)
	if err == nil {
		return appendSFList(buf, ms)
	}
	if known {
		return nil, fmt.Errorf("%q is not a List: %w", name, err)
	}
	it, err := parseSFItem(combined)
	if err != nil {
		return nil, fmt.Errorf("%q is not a structured field: %w", name, err)
	}
	return appendSFItem(buf, it)
}

// authority lower-cases host and drops the scheme's default port.
func authority(scheme, host string) string {
	host = strings.ToLower(host)
	if h, ok := strings.CutSuffix(host, ":443"); ok && scheme == "https" {
		return h
	}
	if h, ok := strings.CutSuffix(host, ":80"); ok && scheme == "http" {
		return h
	}
	return host
}

func queryEscape(s string) string {
	return strings.ReplaceAll(url.QueryEscape(s), "+", "%20")
}

// signatureBase appends the RFC 9421 signature base for the covered
// components and parameters in in.
func signatureBase(buf []byte, m *message, in *sfInnerList) ([]byte, error) {
	var err error
	for i, it := range in.Items {
		start := len(buf)
		if buf, err = appendSFItem(buf, it); err != nil {
			return nil, err
		}
		id := buf[start:]
		for _, prev := range in.Items[:i] {
			var tmp [128]byte
			p, _ := appendSFItem(tmp[:0], prev)
			if string(p) == string(id) {
				return nil, fmt.Errorf("component %s covered twice", id)
			}
		}
		buf = append(buf, ": "...)
		if buf, err = m.appendComponentValue(buf, it); err != nil {
			return nil, err
		}
		buf = append(buf, '\n')
	}
	buf = append(buf, `"@signature-params": `...)
	return appendSFInnerList(buf, in)
}

// sigInput is one parsed signature from Signature-Input + Signature.
type sigInput struct {
	label      string
	inner      *sfInnerList
	sig        []byte
	keyID      string
	alg        string
	nonce, tag string
	created    int64
	expires    int64
	hasCreated bool
	hasExpires bool
	covered    components // the components the Verifier's rules ask about
}

// components is a set of the covered components that Verify's coverage
// rules ask about, by name, whatever their parameters.
type components uint16

const (
	compMethod components = 1 << iota
	compTargetURI
	compAuthority
	compRequestTarget
	compPath
	compQuery
	compDate
	compContentDigest
	compDigest
)

var componentNames = map[string]components{
	"@method":         compMethod,
	"@target-uri":     compTargetURI,
	"@authority":      compAuthority,
	"@request-target": compRequestTarget,
	"@path":           compPath,
	"@query":          compQuery,
	"date":            compDate,
	"content-digest":  compContentDigest,
	"digest":          compDigest,
}

// has reports whether all of c are in s.
func (s components) has(c components) bool { return s&c == c }

const maxSignatures = 8

// parseRFC9421 parses the Signature-Input and Signature headers of h.
func parseRFC9421(h http.Header) ([]*sigInput, error) {
	inputs, err := parseSFDictionary(strings.Join(h.Values("Signature-Input"), ", "))
	if err != nil {
		return nil, fmt.Errorf("Signature-Input: %w", err)
	}
	sigs, err := parseSFDictionary(strings.Join(h.Values("Signature"), ", "))
	if err != nil {
		return nil, fmt.Errorf("Signature: %w", err)
	}
	if len(inputs) > maxSignatures || len(sigs) > maxSignatures {
		return nil, errors.New("too many signatures")
	}
	var out []*sigInput
	for _, in := range inputs {
		if in.Inner == nil {
			return nil, fmt.Errorf("Signature-Input %q is not an inner list", in.Key)
		}
		s := &sigInput{label: in.Key, inner: in.Inner}
		for _, m := range sigs {
			if m.Key == in.Key {
				if m.Item == nil {
					return nil, fmt.Errorf("Signature %q is not an item", in.Key)
				}
				b, ok := m.Item.Value.([]byte)
				if !ok || len(b) == 0 {
					return nil, fmt.Errorf("Signature %q is not a byte sequence", in.Key)
				}
				s.sig = b
			}
		}
		if s.sig == nil {
			return nil, fmt.Errorf("no Signature for label %q", in.Key)
		}
		for _, it := range in.Inner.Items {
			name, ok := it.Value.(string)
			if !ok {
				return nil, fmt.Errorf("label %q: component is not a string", in.Key)
			}
			s.covered |= componentNames[name]
		}
		for _, p := range in.Inner.Params {
			var ok bool
			switch p.Key {
			case "created":
				s.created, ok = p.Value.(int64)
				s.hasCreated = true
			case "expires":
				s.expires, ok = p.Value.(int64)
				s.hasExpires = true
			case "keyid":
				s.keyID, ok = p.Value.(string)
			case "alg":
				s.alg, ok = p.Value.(string)
			case "nonce":
				s.nonce, ok = p.Value.(string)
			case "tag":
				s.tag, ok = p.Value.(string)
			default:
				ok = true // unknown parameters are signed but have no meaning to us
			}
			if !ok {
				return nil, fmt.Errorf("label %q: parameter %q has the wrong type", in.Key, p.Key)
			}
		}
		out = append(out, s)
	}
	if len(out) == 0 {
		return nil, errors.New("empty Signature-Input")
	}
	return out, nil
}

// checkContentDigest checks an RFC 9530 Content-Digest value against
// body: every sha-256/sha-512 member must match and one must be present.
func checkContentDigest(value string, body []byte) error {
	members, err := parseSFDictionary(value)
	if err != nil {
		return fmt.Errorf("Content-Digest: %w", err)
	}
	found := false
	for _, m := range members {
		alg := DigestAlgorithm(m.Key)
		if alg != DigestSHA256 && alg != DigestSHA512 {
			continue
		}
		if m.Item == nil {
			return errors.New("Content-Digest member is not an item")
		}
		b, ok := m.Item.Value.([]byte)
		if !ok {
			return errors.New("Content-Digest member is not a byte sequence")
		}
		var want [maxDigestSize]byte
		if subtle.ConstantTimeCompare(b, appendDigest(want[:0], alg, body)) != 1 {
			return fmt.Errorf("%s content digest does not match body", alg)
		}
		found = true
	}
	if !found {
		return errNoSupportedDigest
	}
	return nil
}

// ContentDigestHeader returns the RFC 9530 Content-Digest header value for
// body, e.g. "sha-256=:X48E9q...=:".
func ContentDigestHeader(alg DigestAlgorithm, body []byte) string {
	var buf [8 + 2 + 88]byte // "sha-512=", two colons and a base64 SHA-512
	return string(appendContentDigestHeader(buf[:0], alg, body, nil))
}

// appendContentDigestHeader appends the ContentDigestHeader value for body
// to buf, through memo if it is not nil.
func appendContentDigestHeader(buf []byte, alg DigestAlgorithm, body []byte, memo *digestMemo) []byte {
	var sum [maxDigestSize]byte
	buf = append(buf, alg...)
	buf = append(buf, '=')
	return appendSFByteSequence(buf, memo.appendDigest(sum[:0], alg, body))
}
