package httpsig

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"errors"
	"fmt"
	"net/http"
	"strings"
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
}

// Signer signs outgoing requests with one key. It implements
// ap.RequestSigner and is safe for concurrent use.
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
	if r.Header.Get("Date") == "" {
		var date [len(http.TimeFormat)]byte
		r.Header["Date"] = []string{string(now.UTC().AppendFormat(date[:0], http.TimeFormat))}
	}
	delete(r.Header, "Signature-Input")
	p := &cavageParams{KeyID: s.keyID, Algorithm: s.cavage}
	if body != nil {
		r.Header["Digest"] = []string{DigestHeader(s.digest, body)}
		p.Headers = postHeaders
	} else {
		p.Headers = getHeaders
	}
	if s.expiry > 0 && s.cavage == "hs2019" {
		p.HasCreated, p.Created = true, now.Unix()
		p.HasExpires, p.Expires = true, now.Add(s.expiry).Unix()
		p.Headers = append(append([]string(nil), p.Headers...), "(created)", "(expires)")
	}
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	msg, err := cavageSigningString((*bp)[:0], r, p)
	if err != nil {
		return fmt.Errorf("httpsig: %w", err)
	}
	keepBuf(bp, msg)
	sig, err := signAlg(s.prim, s.key, msg)
	if err != nil {
		return fmt.Errorf("httpsig: signing: %w", err)
	}
	p.Signature = sig
	out := appendCavageSignature(msg[:0], p)
	keepBuf(bp, out)
	r.Header["Signature"] = []string{string(out)}
	return nil
}

// The components Signer covers with RFC 9421, as Mastodon 4.5 does.
var (
	rfc9421Components         = []sfItem{{Value: "@method"}, {Value: "@target-uri"}}
	rfc9421ComponentsWithBody = []sfItem{{Value: "@method"}, {Value: "@target-uri"}, {Value: "content-digest"}}
)

func (s *Signer) signRFC9421(r *http.Request, body []byte) error {
	now := s.clock()
	in := sfInnerList{Items: rfc9421Components}
	if body != nil {
		r.Header["Content-Digest"] = []string{ContentDigestHeader(s.digest, body)}
		in.Items = rfc9421ComponentsWithBody
	}
	var params [4]sfParam
	in.Params = append(params[:0], sfParam{Key: "created", Value: now.Unix()})
	if s.expiry > 0 {
		in.Params = append(in.Params, sfParam{Key: "expires", Value: now.Add(s.expiry).Unix()})
	}
	in.Params = append(in.Params, s.rfcParams...)
	return s.signRFC9421Components(r, &in)
}

// signRFC9421Components signs r over the components and parameters in in
// and sets Signature-Input and Signature.
func (s *Signer) signRFC9421Components(r *http.Request, in *sfInnerList) error {
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	m := newRequestMessage(r, "")
	base, err := signatureBase((*bp)[:0], &m, in)
	if err != nil {
		return fmt.Errorf("httpsig: %w", err)
	}
	keepBuf(bp, base)
	sig, err := signAlg(s.rfcPrim, s.key, base)
	if err != nil {
		return fmt.Errorf("httpsig: signing: %w", err)
	}
	b := append(base[:0], s.label...)
	b = append(b, '=')
	if b, err = appendSFInnerList(b, in); err != nil {
		return fmt.Errorf("httpsig: %w", err)
	}
	r.Header["Signature-Input"] = []string{string(b)}
	b = append(b[:0], s.label...)
	b = append(b, '=')
	b, _ = appendSFBare(b, sig)
	keepBuf(bp, b)
	r.Header["Signature"] = []string{string(b)}
	if a := r.Header.Get("Authorization"); len(a) > 10 && strings.EqualFold(a[:10], "Signature ") {
		r.Header.Del("Authorization") // a stale draft-cavage signature
	}
	return nil
}

var (
	postHeaders = []string{"(request-target)", "host", "date", "digest"}
	getHeaders  = []string{"(request-target)", "host", "date"}
)
