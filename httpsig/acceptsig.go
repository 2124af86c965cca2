package httpsig

import (
	"errors"
	"fmt"
	"net/http"
	"time"
)

// DefaultAcceptExpiry is how long a signature made for an Accept-Signature
// request that asks for an expires parameter without a value stays valid,
// when SignerOptions.Expiry is not set: five minutes, the lifetime Mastodon
// gives its own signatures.
const DefaultAcceptExpiry = 5 * time.Minute

// maxAcceptComponents caps the components of one requested signature.
const maxAcceptComponents = 32

// SignatureRequest is one signature asked for by an Accept-Signature field
// (RFC 9421 section 5.1): one member of its Dictionary.
type SignatureRequest struct {
	// Label is the label the signature is to carry (the member's key).
	Label string
	// Components are the requested covered components in order, each
	// serialised as in a signature base: `"@method"`, `"content-digest"`,
	// `"@query-param";name="id"`.
	Components []string
	// KeyID, when not empty, is the key the signature is to be made with.
	KeyID string
	// Alg, when not empty, is the RFC 9421 algorithm to sign with.
	Alg string
	// Created is true when a created parameter is requested. The value of
	// the parameter, if any, is ignored: only the signer knows when it
	// signs.
	Created bool
	// Expires is true when an expires parameter is requested; ExpiresAt is
	// its requested value in Unix seconds, or 0 when the signer is to
	// choose.
	Expires   bool
	ExpiresAt int64
	// Nonce and Tag, when not empty, are to be included verbatim.
	Nonce string
	Tag   string
	// Unsupported lists requested parameters this package does not know;
	// a request with any cannot be fulfilled.
	Unsupported []string

	inner *sfInnerList
}

// ParseAcceptSignature parses an Accept-Signature field value (RFC 9421
// section 5.1): a Dictionary whose members are Inner Lists of component
// identifiers with the parameters keyid, alg, created, expires, nonce and
// tag. It fails on a value that is not such a Dictionary, on a member that
// is not an Inner List or whose components are not Strings, on parameters
// of the wrong type, and on more than 8 members or 32 components in one
// member. Parameters it does not know are listed in Unsupported.
func ParseAcceptSignature(value string) ([]SignatureRequest, error) {
	members, err := parseSFDictionary(value)
	if err != nil {
		return nil, fmt.Errorf("httpsig: Accept-Signature: %w", err)
	}
	if len(members) == 0 {
		return nil, errors.New("httpsig: Accept-Signature: empty")
	}
	if len(members) > maxSignatures {
		return nil, fmt.Errorf("httpsig: Accept-Signature: %d signatures requested, at most %d supported", len(members), maxSignatures)
	}
	out := make([]SignatureRequest, 0, len(members))
	for _, m := range members {
		if m.Inner == nil {
			return nil, fmt.Errorf("httpsig: Accept-Signature %q is not an inner list", m.Key)
		}
		if len(m.Inner.Items) > maxAcceptComponents {
			return nil, fmt.Errorf("httpsig: Accept-Signature %q: more than %d components", m.Key, maxAcceptComponents)
		}
		req := SignatureRequest{Label: m.Key, inner: m.Inner}
		for _, it := range m.Inner.Items {
			if _, ok := it.Value.(string); !ok {
				return nil, fmt.Errorf("httpsig: Accept-Signature %q: component is not a string", m.Key)
			}
			id, err := appendSFItem(nil, it)
			if err != nil {
				return nil, fmt.Errorf("httpsig: Accept-Signature %q: %w", m.Key, err)
			}
			req.Components = append(req.Components, string(id))
		}
		for _, p := range m.Inner.Params {
			ok := true
			switch p.Key {
			case "keyid":
				req.KeyID, ok = p.Value.(string)
			case "alg":
				req.Alg, ok = p.Value.(string)
			case "nonce":
				req.Nonce, ok = p.Value.(string)
			case "tag":
				req.Tag, ok = p.Value.(string)
			case "created":
				switch v := p.Value.(type) {
				case bool:
					req.Created = v
				case int64:
					req.Created = true
				default:
					ok = false
				}
			case "expires":
				switch v := p.Value.(type) {
				case bool:
					req.Expires = v
				case int64:
					req.Expires, req.ExpiresAt = true, v
				default:
					ok = false
				}
			default:
				req.Unsupported = append(req.Unsupported, p.Key)
			}
			if !ok {
				return nil, fmt.Errorf("httpsig: Accept-Signature %q: parameter %q has the wrong type", m.Key, p.Key)
			}
		}
		out = append(out, req)
	}
	return out, nil
}

// SignRequestAccepting signs r in place with RFC 9421 as a server asked in
// its Accept-Signature field, acceptSignature (RFC 9421 section 5.2). A
// transport calls it to retry a request the server refused with 401 or 400
// and an Accept-Signature field. body must be the exact bytes that will be
// sent (nil for a GET).
//
// Each requested signature is made under its requested label and covers
// the requested components in their order, followed by those that
// SignRequestScheme always covers and the request lacked ("@method",
// "@target-uri" and, with a body, "content-digest"): a server cannot ask
// for less than a verifier needs. Content-Digest (and Digest, Date when
// requested) are set from body. The parameters are created (always, from
// the Signer's clock), expires (when requested, or when
// SignerOptions.Expiry is set; a requested value is used as is, otherwise
// created plus SignerOptions.Expiry or DefaultAcceptExpiry), keyid (the
// Signer's), alg (the requested one, which the key must support; without a
// request, as SignRequestScheme does), nonce and tag (as requested).
//
// A requested signature cannot be fulfilled when it names a keyid other
// than the Signer's, an algorithm the key cannot make, a component the
// request cannot supply (a header it lacks, "@status", content-digest
// without a body), an expires already past, or a parameter this package
// does not know. Every signature that can be fulfilled is made; the
// others are left out (a server may offer alternatives, e.g. one per key
// type). If none can be fulfilled, r's signature headers are left as they
// were and the error says why for each.
func (s *Signer) SignRequestAccepting(r *http.Request, body []byte, acceptSignature string) error {
	reqs, err := ParseAcceptSignature(acceptSignature)
	if err != nil {
		return err
	}
	if err := prepareRequest(r); err != nil {
		return err
	}
	if body != nil {
		r.Header.Set("Content-Digest", string(appendContentDigestHeader(nil, s.digest, body, &s.memo)))
	}
	now := s.clock()
	var (
		inputs, sigs []byte
		errs         []error
	)
	for _, req := range reqs {
		input, sig, err := s.signAccepted(r, body, &req, now)
		if err != nil {
			errs = append(errs, fmt.Errorf("signature %q: %w", req.Label, err))
			continue
		}
		if len(inputs) > 0 {
			inputs = append(inputs, ", "...)
			sigs = append(sigs, ", "...)
		}
		inputs = append(inputs, input...)
		sigs = append(sigs, sig...)
	}
	if len(inputs) == 0 {
		return fmt.Errorf("httpsig: cannot sign as Accept-Signature asks: %w", errors.Join(errs...))
	}
	r.Header.Set("Signature-Input", string(inputs))
	r.Header.Set("Signature", string(sigs))
	dropCavageAuthorization(r)
	return nil
}

// signAccepted makes the signature req asks for and returns its
// Signature-Input and Signature dictionary members.
func (s *Signer) signAccepted(r *http.Request, body []byte, req *SignatureRequest, now time.Time) (input, sig []byte, err error) {
	if len(req.Unsupported) > 0 {
		return nil, nil, fmt.Errorf("unsupported parameters %q", req.Unsupported)
	}
	if req.KeyID != "" && req.KeyID != s.keyID {
		return nil, nil, fmt.Errorf("keyid %q is not this signer's key %q", req.KeyID, s.keyID)
	}
	prim, algName := s.rfcPrim, s.rfcName
	if req.Alg != "" {
		a, ok := rfc9421Alg(req.Alg)
		if !ok {
			return nil, nil, fmt.Errorf("unsupported algorithm %q", req.Alg)
		}
		if !keyFits(a, s.key.Public()) {
			return nil, nil, fmt.Errorf("algorithm %q cannot be used with a %T key", req.Alg, s.key.Public())
		}
		prim, algName = a, req.Alg
	}

	in := &sfInnerList{Items: make([]sfItem, 0, len(req.inner.Items)+3)}
	covered := map[string]bool{}
	for _, it := range req.inner.Items {
		name := it.Value.(string) // checked by ParseAcceptSignature
		if len(it.Params) == 0 {
			covered[name] = true
		}
		switch name {
		case "content-digest", "digest":
			if body == nil {
				return nil, nil, fmt.Errorf("%s requested for a request without a body", name)
			}
			if name == "digest" {
				r.Header.Set("Digest", string(appendDigestHeader(nil, s.digest, body, &s.memo)))
			}
		case "date":
			if r.Header.Get("Date") == "" {
				r.Header.Set("Date", string(appendHTTPDate(nil, now)))
			}
		}
		in.Items = append(in.Items, it)
	}
	for _, name := range []string{"@method", "@target-uri", "content-digest"} {
		if !covered[name] && (name != "content-digest" || body != nil) {
			in.Items = append(in.Items, sfItem{Value: name})
		}
	}

	in.Params = append(in.Params, sfParam{Key: "created", Value: now.Unix()})
	switch {
	case req.ExpiresAt != 0:
		if req.ExpiresAt <= now.Unix() {
			return nil, nil, fmt.Errorf("requested expires %d is not after now (%d)", req.ExpiresAt, now.Unix())
		}
		in.Params = append(in.Params, sfParam{Key: "expires", Value: req.ExpiresAt})
	case req.Expires || s.expiry > 0:
		d := s.expiry
		if d <= 0 {
			d = DefaultAcceptExpiry
		}
		in.Params = append(in.Params, sfParam{Key: "expires", Value: now.Add(d).Unix()})
	}
	in.Params = append(in.Params, sfParam{Key: "keyid", Value: s.keyID})
	if req.Alg != "" || algName != AlgRSAv15SHA256 {
		in.Params = append(in.Params, sfParam{Key: "alg", Value: algName})
	}
	switch {
	case req.Nonce != "":
		in.Params = append(in.Params, sfParam{Key: "nonce", Value: req.Nonce})
	case s.nonce:
		in.Params = append(in.Params, sfParam{Key: "nonce", Value: string(appendNonce(nil))})
	}
	switch {
	case req.Tag != "":
		in.Params = append(in.Params, sfParam{Key: "tag", Value: req.Tag})
	case s.tag != "":
		in.Params = append(in.Params, sfParam{Key: "tag", Value: s.tag})
	}

	base, err := signatureBase(make([]byte, 0, 512), requestMessage(r, ""), in)
	if err != nil {
		return nil, nil, err
	}
	raw, err := signAlg(prim, s.key, base)
	if err != nil {
		return nil, nil, fmt.Errorf("signing: %w", err)
	}
	if input, err = appendSFInnerList([]byte(req.Label+"="), in); err != nil {
		return nil, nil, err
	}
	sig, _ = appendSFBare([]byte(req.Label+"="), raw)
	return input, sig, nil
}
