package httpsig

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Signature schemes. Result.Scheme holds one of them, and
// SignerOptions.Scheme or Signer.SignRequestScheme select one for outgoing
// requests.
const (
	SchemeCavage  = "draft-cavage-12"
	SchemeRFC9421 = "rfc9421"
)

// SignerOptions configures a Signer. The zero value (or nil) means the
// documented defaults.
type SignerOptions struct {
	// Clock returns the current time, for Date and created. nil: time.Now.
	Clock func() time.Time
	// Algorithm is the draft-cavage algorithm name: "rsa-sha256",
	// "rsa-sha512" or "hs2019". "": "rsa-sha256" for RSA keys (what
	// Mastodon expects), "hs2019" for Ed25519 keys.
	Algorithm string
	// Scheme is the scheme SignRequest uses: SchemeCavage or
	// SchemeRFC9421. "": SchemeCavage, which every fediverse server
	// accepts (SchemeRFC9421 for ECDSA keys, which cavage cannot carry).
	Scheme string
	// RFC9421Algorithm is the RFC 9421 algorithm: AlgRSAv15SHA256,
	// AlgRSAPSSSHA512, AlgECDSAP256SHA256 or AlgEd25519. "": by key type,
	// rsa-v1_5-sha256 for RSA (what Mastodon signs with and expects).
	RFC9421Algorithm string
	// Digest is the body digest algorithm for Digest and Content-Digest.
	// "": DigestSHA256.
	Digest DigestAlgorithm
	// Expiry, when positive, adds created and expires (= created+Expiry)
	// parameters to RFC 9421 signatures and to hs2019 draft-cavage
	// signatures, which then also cover "(created)" and "(expires)"
	// (draft-cavage-12 forbids them with rsa-* algorithms, which keep
	// covering only date).
	Expiry time.Duration
	// Label is the RFC 9421 signature label. "": "sig1".
	Label string
	// Tag, when set, is the tag parameter of every RFC 9421 signature: an
	// application-specific value with which a verifier picks the
	// signatures meant for it (RFC 9421 section 2.3; VerifierOptions.Tag).
	// It must be printable ASCII. draft-cavage has no tag.
	Tag string
	// Nonce, when true, adds a nonce parameter to every RFC 9421
	// signature: 16 bytes from crypto/rand, base64url, so that a verifier
	// that remembers nonces (VerifierOptions.Nonces) refuses a replay.
	// draft-cavage has no nonce.
	Nonce bool
}

// Signer signs outgoing requests with one key. It implements
// ap.RequestSigner and is safe for concurrent use.
//
// A Signer remembers the digest of the last body it signed, with a private
// copy of that body (if it is between 512 bytes and 16 KiB), and reuses the
// digest when asked to sign a body equal to it byte for byte: one activity
// delivered to many inboxes is digested once. Callers may change or reuse
// their body buffers freely.
type Signer struct {
	keyID    string
	key      crypto.Signer
	clock    func() time.Time
	scheme   string
	cavage   string // draft-cavage algorithm name
	prim     sigAlg // primitive used for draft-cavage; algNone if impossible
	rfcName  string // RFC 9421 algorithm name
	rfcPrim  sigAlg
	digest   DigestAlgorithm
	expiry   time.Duration
	label    string
	keyIsRSA bool
	// rfcParams are the RFC 9421 signature parameters after created and
	// expires: keyid, and alg unless it is rsa-v1_5-sha256 (without alg a
	// verifier guesses from the key type, and for RSA it guesses
	// rsa-v1_5-sha256, as Mastodon does, so only the others say it).
	rfcParams []sfParam
	// rfcTail is rfcParams serialised: after the covered components
	// (rfc9421Covered) and created (and expires), the end of the
	// Signature-Input value.
	rfcTail string
	tag     string
	nonce   bool
	memo    digestMemo
}

// NewSigner returns a Signer that signs as keyID (the key's IRI, e.g.
// "https://example.com/users/alice#main-key") with key, which must be an
// *rsa.PrivateKey, an ed25519.PrivateKey, an *ecdsa.PrivateKey on P-256
// (RFC 9421 only) or any crypto.Signer whose public key is one of those (an
// HSM, a KMS).
func NewSigner(keyID string, key crypto.Signer, opts *SignerOptions) (*Signer, error) {
	if opts == nil {
		opts = &SignerOptions{}
	}
	if keyID == "" || strings.ContainsFunc(keyID, func(r rune) bool { return r < 0x20 || r > 0x7e || r == '"' || r == '\\' }) {
		return nil, fmt.Errorf("httpsig: invalid key id %q", keyID)
	}
	if key == nil {
		return nil, errors.New("httpsig: nil key")
	}
	s := &Signer{
		keyID: keyID, key: key, clock: opts.Clock, scheme: opts.Scheme,
		cavage: opts.Algorithm, rfcName: opts.RFC9421Algorithm,
		digest: opts.Digest, expiry: opts.Expiry, label: opts.Label,
		tag: opts.Tag, nonce: opts.Nonce,
	}
	if s.clock == nil {
		s.clock = time.Now
	}
	if s.digest == "" {
		s.digest = DigestSHA256
	}
	if s.digest != DigestSHA256 && s.digest != DigestSHA512 {
		return nil, fmt.Errorf("httpsig: unsupported digest %q", s.digest)
	}
	if s.label == "" {
		s.label = "sig1"
	}
	if _, err := parseSFDictionary(s.label + "=1"); err != nil || strings.ContainsAny(s.label, ";=,") {
		return nil, fmt.Errorf("httpsig: invalid label %q", s.label)
	}
	defaultRFC := ""
	switch pub := key.Public().(type) {
	case *rsa.PublicKey:
		s.keyIsRSA = true
		switch s.cavage {
		case "", "rsa-sha256", "hs2019":
			s.prim = algRSAPKCS1SHA256
		case "rsa-sha512":
			s.prim = algRSAPKCS1SHA512
		}
		if s.cavage == "" {
			s.cavage = "rsa-sha256"
		}
		defaultRFC = AlgRSAv15SHA256
	case ed25519.PublicKey:
		if s.cavage == "" || s.cavage == "hs2019" {
			s.cavage, s.prim = "hs2019", algEd25519
		}
		defaultRFC = AlgEd25519
	case *ecdsa.PublicKey:
		if pub.Curve != elliptic.P256() {
			return nil, errors.New("httpsig: only P-256 ECDSA keys are supported")
		}
		if s.cavage != "" {
			return nil, errors.New("httpsig: draft-cavage cannot carry ECDSA signatures")
		}
		if s.scheme == "" {
			s.scheme = SchemeRFC9421
		}
		defaultRFC = AlgECDSAP256SHA256
	default:
		return nil, fmt.Errorf("httpsig: unsupported key type %T", pub)
	}
	if s.prim == algNone && s.cavage != "" {
		return nil, fmt.Errorf("httpsig: algorithm %q cannot be used with a %T key", opts.Algorithm, key.Public())
	}
	if s.rfcName == "" {
		s.rfcName = defaultRFC
	}
	a, ok := rfc9421Alg(s.rfcName)
	if !ok {
		return nil, fmt.Errorf("httpsig: unknown RFC 9421 algorithm %q", s.rfcName)
	}
	if !keyFits(a, key.Public()) {
		return nil, fmt.Errorf("httpsig: RFC 9421 algorithm %q cannot be used with a %T key", s.rfcName, key.Public())
	}
	s.rfcPrim = a
	s.rfcParams = []sfParam{{Key: "keyid", Value: s.keyID}}
	if s.rfcName != AlgRSAv15SHA256 {
		s.rfcParams = append(s.rfcParams, sfParam{Key: "alg", Value: s.rfcName})
	}
	tail, err := appendSFParams(nil, s.rfcParams)
	if err != nil {
		return nil, fmt.Errorf("httpsig: %w", err)
	}
	if s.tag != "" {
		// Not in rfcParams: an Accept-Signature request may ask for
		// another tag.
		if tail, err = appendSFParams(tail, []sfParam{{Key: "tag", Value: s.tag}}); err != nil {
			return nil, fmt.Errorf("httpsig: invalid tag %q", s.tag)
		}
	}
	s.rfcTail = string(tail)
	switch s.scheme {
	case "":
		s.scheme = SchemeCavage
	case SchemeCavage, SchemeRFC9421:
	default:
		return nil, fmt.Errorf("httpsig: unknown scheme %q", s.scheme)
	}
	return s, nil
}

func keyFits(a sigAlg, pub crypto.PublicKey) bool {
	return verifyAlg(a, pub, nil, nil) != errKeyMismatch
}

// KeyID returns the key id the Signer puts in its signatures.
func (s *Signer) KeyID() string { return s.keyID }

// SignRequest signs r in place with the Signer's scheme (by default
// draft-cavage-12, which every fediverse server accepts). See
// SignRequestScheme.
func (s *Signer) SignRequest(r *http.Request, body []byte) error {
	return s.SignRequestScheme(r, body, s.scheme)
}

// SignRequestScheme signs r in place with scheme, SchemeCavage or
// SchemeRFC9421; a transport that remembers which scheme each host accepts
// calls it directly. body must be the exact bytes that will be sent (nil
// for a GET).
//
// With SchemeCavage it sets Date (if absent), r.Host (if empty, from
// r.URL) and, when body is non-nil, Digest (SHA-256=<base64>); then the
// Signature header over "(request-target) host date digest" (POST) or
// "(request-target) host date" (GET).
//
// With SchemeRFC9421 it sets r.Host and, when body is non-nil,
// Content-Digest (sha-256=:<base64>:); then Signature-Input and Signature
// (label "sig1") over ("@method" "@target-uri" "content-digest") or
// ("@method" "@target-uri"), with created and keyid parameters, as
// Mastodon 4.5 does.
func (s *Signer) SignRequestScheme(r *http.Request, body []byte, scheme string) error {
	if err := prepareRequest(r); err != nil {
		return err
	}
	switch scheme {
	case SchemeCavage:
		return s.signCavage(r, body)
	case SchemeRFC9421:
		return s.signRFC9421(r, body)
	}
	return fmt.Errorf("httpsig: unknown scheme %q", scheme)
}

func (s *Signer) signCavage(r *http.Request, body []byte) error {
	if s.prim == algNone {
		return errors.New("httpsig: this key cannot sign draft-cavage signatures")
	}
	now := s.clock()
	// The header values (Date, Digest, Signature) are built one after the
	// other in hb and become one string, sliced per header, so that signing
	// costs two allocations for all of them.
	sb := signPool.Get().(*signBufs)
	defer signPool.Put(sb)
	hb := sb.hdr[:0]
	var vals headerValues3
	if d := r.Header["Date"]; len(d) == 0 || d[0] == "" {
		hb = appendHTTPDate(hb, now)
		vals.add("Date", len(hb))
	}
	dateEnd := len(hb)
	if _, ok := r.Header["Signature-Input"]; ok {
		delete(r.Header, "Signature-Input") // a stale RFC 9421 signature
	}
	p := &cavageParams{KeyID: s.keyID, Algorithm: s.cavage}
	if body != nil {
		hb = appendDigestHeader(hb, s.digest, body, &s.memo)
		vals.add("Digest", len(hb))
		p.Headers = postHeaders
	} else {
		p.Headers = getHeaders
	}
	if s.expiry > 0 && s.cavage == "hs2019" {
		p.HasCreated, p.Created = true, now.Unix()
		p.HasExpires, p.Expires = true, now.Add(s.expiry).Unix()
		p.Headers = append(append([]string(nil), p.Headers...), "(created)", "(expires)")
	}
	// The signing string takes Date and Digest from hb: r.Header gets
	// them only once the signature is made.
	var known signedValues
	if dateEnd > 0 {
		known.date = hb[:dateEnd]
	}
	if body != nil {
		known.digest = hb[dateEnd:]
	}
	msg, err := cavageSigningStringWith(sb.msg[:0], r, p, &known)
	if err != nil {
		return fmt.Errorf("httpsig: %w", err)
	}
	keepBuf(&sb.msg, msg)
	var sigBuf [512]byte // an RSA-4096 signature
	sig, err := appendSignature(sigBuf[:0], s.prim, s.key, msg)
	if err != nil {
		return fmt.Errorf("httpsig: signing: %w", err)
	}
	hb = appendCavageSignature(hb, p, sig)
	vals.add("Signature", len(hb))
	keepBuf(&sb.hdr, hb)
	vals.set(r.Header, hb)
	return nil
}

// appendHTTPDate appends t in the IMF-fixdate form of RFC 9110 section
// 5.6.7 (http.TimeFormat), five times faster than time.Time.AppendFormat.
func appendHTTPDate(buf []byte, t time.Time) []byte {
	t = t.UTC()
	year, month, day := t.Date()
	hour, minute, sec := t.Clock()
	if year < 0 || year > 9999 {
		return t.AppendFormat(buf, http.TimeFormat)
	}
	const days = "SunMonTueWedThuFriSat"
	const months = "JanFebMarAprMayJunJulAugSepOctNovDec"
	wd := int(t.Weekday())
	buf = append(buf, days[3*wd:3*wd+3]...)
	buf = append(buf, ", "...)
	buf = append2(buf, day)
	buf = append(buf, ' ')
	buf = append(buf, months[3*(month-1):3*month]...)
	buf = append(buf, ' ')
	buf = append2(append2(buf, year/100), year%100)
	buf = append(buf, ' ')
	buf = append2(buf, hour)
	buf = append(buf, ':')
	buf = append2(buf, minute)
	buf = append(buf, ':')
	buf = append2(buf, sec)
	return append(buf, " GMT"...)
}

// append2 appends n, 0 <= n < 100, as two digits.
func append2(buf []byte, n int) []byte {
	return append(buf, byte('0'+n/10), byte('0'+n%10))
}

// signBufs are the buffers one signature needs, pooled together: the
// signing string (or signature base) and the header values.
type signBufs struct{ msg, hdr []byte }

var signPool = sync.Pool{New: func() any {
	return &signBufs{msg: make([]byte, 0, 1024), hdr: make([]byte, 0, 1024)}
}}

// headerValues3 sets up to three headers whose values were appended one
// after the other to one buffer.
type headerValues3 struct {
	names [3]string
	ends  [3]int
	n     int
}

// add records that the value of name ends at end in the buffer.
func (v *headerValues3) add(name string, end int) {
	v.names[v.n], v.ends[v.n] = name, end
	v.n++
}

// set sets the recorded headers in h from one string copy of buf: two
// allocations, whatever their number. Each value slice has capacity one,
// so that a later Header.Add to one cannot overwrite another.
func (v *headerValues3) set(h http.Header, buf []byte) {
	str := string(buf[:v.ends[v.n-1]])
	strs := make([]string, v.n)
	start := 0
	for i := range v.n {
		strs[i] = str[start:v.ends[i]]
		start = v.ends[i]
		h[v.names[i]] = strs[i : i+1 : i+1]
	}
}

// The components Signer covers with RFC 9421, as Mastodon 4.5 does,
// serialised as the start of Signature-Input.
const (
	rfc9421Covered         = `("@method" "@target-uri")`
	rfc9421CoveredWithBody = `("@method" "@target-uri" "content-digest")`
)

func (s *Signer) signRFC9421(r *http.Request, body []byte) error {
	now := s.clock()
	// As in signCavage, the header values (Content-Digest, Signature-Input,
	// Signature) are built one after the other in hb. The signature base
	// ends with the serialised signature parameters, which are also the
	// Signature-Input value after its label, so they are serialised once.
	sb := signPool.Get().(*signBufs)
	defer signPool.Put(sb)
	hb := sb.hdr[:0]
	var vals headerValues3
	if body != nil {
		hb = appendContentDigestHeader(hb, s.digest, body, &s.memo)
		vals.add("Content-Digest", len(hb))
	}
	digestEnd := len(hb)
	hb = append(hb, s.label...)
	hb = append(hb, '=')
	paramsStart := len(hb)
	if body != nil {
		hb = append(hb, rfc9421CoveredWithBody...)
	} else {
		hb = append(hb, rfc9421Covered...)
	}
	hb = append(hb, ";created="...)
	hb = strconv.AppendInt(hb, now.Unix(), 10)
	if s.expiry > 0 {
		hb = append(hb, ";expires="...)
		hb = strconv.AppendInt(hb, now.Add(s.expiry).Unix(), 10)
	}
	if s.nonce {
		hb = append(hb, `;nonce="`...)
		hb = appendNonce(hb)
		hb = append(hb, '"')
	}
	hb = append(hb, s.rfcTail...)
	vals.add("Signature-Input", len(hb))

	m := newRequestMessage(r, "")
	base := append(sb.msg[:0], `"@method": `...)
	base = append(base, requestMethod(r)...)
	base = append(base, "\n\"@target-uri\": "...)
	base, err := m.appendComponentValue(base, sfItem{Value: "@target-uri"})
	if err != nil {
		return fmt.Errorf("httpsig: %w", err)
	}
	if body != nil {
		base = append(base, "\n\"content-digest\": "...)
		base = append(base, hb[:digestEnd]...)
	}
	base = append(base, "\n\"@signature-params\": "...)
	base = append(base, hb[paramsStart:]...)
	keepBuf(&sb.msg, base)
	var sigBuf [512]byte // an RSA-4096 signature
	sig, err := appendSignature(sigBuf[:0], s.rfcPrim, s.key, base)
	if err != nil {
		return fmt.Errorf("httpsig: signing: %w", err)
	}
	hb = append(hb, s.label...)
	hb = append(hb, '=')
	hb = appendSFByteSequence(hb, sig)
	vals.add("Signature", len(hb))
	keepBuf(&sb.hdr, hb)
	vals.set(r.Header, hb)
	dropCavageAuthorization(r)
	return nil
}

// appendNonce appends a fresh nonce: 16 random bytes, base64url without
// padding (22 characters, all valid in a structured-field string).
func appendNonce(buf []byte) []byte {
	var n [16]byte
	_, _ = rand.Read(n[:]) // never fails (crypto/rand, Go 1.24+)
	return base64.RawURLEncoding.AppendEncode(buf, n[:])
}

// prepareRequest makes sure r can be signed: it has a URL, a Header map
// and a Host (taken from the URL if empty).
func prepareRequest(r *http.Request) error {
	if r.URL == nil {
		return errors.New("httpsig: request has no URL")
	}
	if r.Header == nil {
		r.Header = make(http.Header)
	}
	if r.Host == "" {
		r.Host = r.URL.Host
	}
	if r.Host == "" {
		return errors.New("httpsig: request has no host")
	}
	return nil
}

// dropCavageAuthorization removes a stale draft-cavage signature carried
// in Authorization from a request just signed with RFC 9421.
func dropCavageAuthorization(r *http.Request) {
	if a := r.Header.Get("Authorization"); len(a) > 10 && strings.EqualFold(a[:10], "Signature ") {
		r.Header.Del("Authorization")
	}
}

var (
	postHeaders = []string{"(request-target)", "host", "date", "digest"}
	getHeaders  = []string{"(request-target)", "host", "date"}
)
