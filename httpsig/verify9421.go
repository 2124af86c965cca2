package httpsig

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// verifyRFC9421 verifies the RFC 9421 signatures of r: of the first
// MaxRFC9421Signatures candidates, the first that verifies wins; when none
// does, the first candidate's error is returned.
func (v *Verifier) verifyRFC9421(r *http.Request) (*Result, error) {
	sigs, err := parseRFC9421(r.Header)
	if err != nil {
		return nil, failErr(ReasonMalformed, err)
	}
	var firstErr error
	var st attempt
	tried := 0
	for _, s := range sigs {
		if v.label != "" && s.label != v.label || v.tag != "" && s.tag != v.tag {
			continue
		}
		if tried == MaxRFC9421Signatures {
			break
		}
		tried++
		res, err := v.verifyOne9421(r, s, &st)
		if err == nil {
			return res, nil
		}
		if firstErr == nil {
			firstErr = err
		}
	}
	if firstErr == nil {
		return nil, fail(ReasonNoSignature, "no signature with label %q and tag %q", v.label, v.tag)
	}
	return nil, firstErr
}

// attempt is what the signatures of one request share: the outcome of
// checking its Content-Digest (0) and Digest (1) against the body, and
// whether the key resolver was already asked for a fresh key.
type attempt struct {
	done      [2]bool
	err       [2]error
	refreshed bool
}

// checkBody checks the digest header against the body once per request.
func (a *attempt) checkBody(v *Verifier, r *http.Request, i int, header string, check func(string, []byte) error) error {
	if !a.done[i] {
		a.done[i], a.err[i] = true, v.checkBodyDigest(r, header, check)
	}
	return a.err[i]
}

func (v *Verifier) verifyOne9421(r *http.Request, s *sigInput, st *attempt) (*Result, error) {
	if s.keyID == "" {
		return nil, fail(ReasonMalformed, "signature %q has no keyid", s.label)
	}
	var fixed sigAlg
	if s.alg != "" {
		a, ok := rfc9421Alg(s.alg)
		if !ok {
			return nil, fail(ReasonUnsupportedAlgorithm, "algorithm %q", s.alg)
		}
		fixed = a
	}
	c := s.covered
	hasQuery := strings.Contains(requestTarget(r), "?")
	switch {
	case !c.has(compMethod):
		return nil, fail(ReasonMissingComponent, "signature %q does not cover @method", s.label)
	case !c.has(compTargetURI) && !(c.has(compAuthority) && (c.has(compRequestTarget) || c.has(compPath) && (c.has(compQuery) || !hasQuery))):
		return nil, fail(ReasonMissingComponent, "signature %q does not cover the target URI", s.label)
	case !s.hasCreated && !c.has(compDate):
		return nil, fail(ReasonMissingComponent, "signature %q has no created parameter and does not cover date", s.label)
	case requiresBody(r) && !c.has(compContentDigest) && !c.has(compDigest):
		return nil, fail(ReasonMissingComponent, "signature %q of a %s does not cover content-digest", s.label, r.Method)
	case v.reqNonc && s.nonce == "":
		return nil, fail(ReasonMissingComponent, "signature %q has no nonce", s.label)
	}

	now := v.clock()
	var created time.Time
	if c.has(compDate) {
		t, err := parseHTTPDate(r.Header.Get("Date"))
		if err != nil {
			return nil, fail(ReasonMalformed, "Date: %v", err)
		}
		if err := v.inWindow(now, t, "Date"); err != nil {
			return nil, err
		}
		created = t
	}
	if s.hasCreated {
		created = time.Unix(s.created, 0)
		if err := v.inWindow(now, created, "created"); err != nil {
			return nil, err
		}
	}
	if s.hasExpires && now.After(time.Unix(s.expires, 0).Add(v.window)) {
		return nil, fail(ReasonOutsideWindow, "signature expired at %d", s.expires)
	}

	if c.has(compContentDigest) {
		if err := st.checkBody(v, r, 0, "Content-Digest", checkContentDigest); err != nil {
			return nil, err
		}
	}
	if c.has(compDigest) {
		if err := st.checkBody(v, r, 1, "Digest", checkDigest); err != nil {
			return nil, err
		}
	}

	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	m := newRequestMessage(r, v.scheme)
	base, err := signatureBase((*bp)[:0], &m, s.inner)
	if err != nil {
		if _, ok := err.(errMissingHeader); ok {
			return nil, failErr(ReasonMissingComponent, err)
		}
		return nil, failErr(ReasonMalformed, err)
	}
	keepBuf(bp, base)

	key, err := v.verifyWithKey(r.Context(), s.keyID, &st.refreshed, func(k *PublicKey) error {
		algs := rfc9421AlgsForKey(k.Key)
		if fixed != algNone {
			algs = []sigAlg{fixed}
		}
		if len(algs) == 0 {
			return errKeyMismatch
		}
		var err error
		for _, a := range algs {
			if err = verifyAlg(a, k.Key, base, s.sig); err == nil {
				return nil
			}
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	res := &Result{
		KeyID: s.keyID, Owner: key.Owner, Algorithm: s.alg, Scheme: SchemeRFC9421, Key: key,
		Created: created, Label: s.label, Nonce: s.nonce, Tag: s.tag,
	}
	if s.hasExpires {
		res.Expires = time.Unix(s.expires, 0)
	}
	if v.nonces != nil && s.nonce != "" {
		// Checked only now, so that requests without a valid signature
		// cannot use up nonces. The nonce is kept until the signature
		// would fall out of the window anyway.
		until := created
		if s.hasExpires && res.Expires.After(until) {
			until = res.Expires
		}
		if err := v.nonces.CheckNonce(r.Context(), s.keyID, s.nonce, until.Add(v.window)); err != nil {
			if errors.Is(err, ErrReplayed) {
				return nil, failErr(ReasonReplayed, fmt.Errorf("signature %q: nonce %q: %w", s.label, s.nonce, err))
			}
			// Fail closed: without the check a replay would pass.
			return nil, failErr(ReasonReplayed, fmt.Errorf("nonce could not be checked: %w", err))
		}
	}
	return res, nil
}
