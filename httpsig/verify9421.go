package httpsig

import (
	"net/http"
	"strings"
	"time"
)

// verifyRFC9421 verifies the RFC 9421 signatures of r: the first candidate
// that verifies wins; when none does, the first candidate's error is
// returned.
func (v *Verifier) verifyRFC9421(r *http.Request) (*Result, error) {
	sigs, err := parseRFC9421(r.Header)
	if err != nil {
		return nil, failErr(ReasonMalformed, err)
	}
	var firstErr error
	bodyChecked := map[string]error{}
	for _, s := range sigs {
		if v.label != "" && s.label != v.label {
			continue
		}
		res, err := v.verifyOne9421(r, s, bodyChecked)
		if err == nil {
			return res, nil
		}
		if firstErr == nil {
			firstErr = err
		}
	}
	if firstErr == nil {
		return nil, fail(ReasonNoSignature, "no signature labelled %q", v.label)
	}
	return nil, firstErr
}

func (v *Verifier) verifyOne9421(r *http.Request, s *sigInput, bodyChecked map[string]error) (*Result, error) {
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
	case !c["@method"]:
		return nil, fail(ReasonMissingComponent, "signature %q does not cover @method", s.label)
	case !c["@target-uri"] && !(c["@authority"] && (c["@request-target"] || c["@path"] && (c["@query"] || !hasQuery))):
		return nil, fail(ReasonMissingComponent, "signature %q does not cover the target URI", s.label)
	case !s.hasCreated && !c["date"]:
		return nil, fail(ReasonMissingComponent, "signature %q has no created parameter and does not cover date", s.label)
	case requiresBody(r) && !c["content-digest"] && !c["digest"]:
		return nil, fail(ReasonMissingComponent, "signature %q of a %s does not cover content-digest", s.label, r.Method)
	}

	now := v.clock()
	if s.hasCreated {
		if err := v.inWindow(now, time.Unix(s.created, 0), "created"); err != nil {
			return nil, err
		}
	}
	if c["date"] {
		t, err := parseHTTPDate(r.Header.Get("Date"))
		if err != nil {
			return nil, fail(ReasonMalformed, "Date: %v", err)
		}
		if err := v.inWindow(now, t, "Date"); err != nil {
			return nil, err
		}
	}
	if s.hasExpires && now.After(time.Unix(s.expires, 0).Add(v.window)) {
		return nil, fail(ReasonOutsideWindow, "signature expired at %d", s.expires)
	}

	for _, h := range []struct {
		comp, header string
		check        func(string, []byte) error
	}{{"content-digest", "Content-Digest", checkContentDigest}, {"digest", "Digest", checkDigest}} {
		if !c[h.comp] {
			continue
		}
		err, done := bodyChecked[h.comp]
		if !done {
			err = v.checkBodyDigest(r, h.header, h.check)
			bodyChecked[h.comp] = err
		}
		if err != nil {
			return nil, err
		}
	}

	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	base, err := signatureBase((*bp)[:0], requestMessage(r, v.scheme), s.inner)
	if err != nil {
		if _, ok := err.(errMissingHeader); ok {
			return nil, failErr(ReasonMissingComponent, err)
		}
		return nil, failErr(ReasonMalformed, err)
	}
	*bp = base[:0]

	key, err := v.verifyWithKey(r.Context(), s.keyID, func(k *PublicKey) error {
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
	return &Result{KeyID: s.keyID, Owner: key.Owner, Algorithm: s.alg, Scheme: SchemeRFC9421, Key: key}, nil
}
