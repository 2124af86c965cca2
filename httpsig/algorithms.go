package httpsig

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"errors"
	"fmt"
	"math/big"
)

// sigAlg is a concrete signature primitive (key type + padding + hash).
type sigAlg int

const (
	algNone sigAlg = iota
	algRSAPKCS1SHA256
	algRSAPKCS1SHA512
	algRSAPSSSHA512
	algECDSAP256SHA256
	algEd25519
)

func (a sigAlg) String() string {
	switch a {
	case algRSAPKCS1SHA256:
		return "rsa-v1_5-sha256"
	case algRSAPKCS1SHA512:
		return "rsa-v1_5-sha512"
	case algRSAPSSSHA512:
		return "rsa-pss-sha512"
	case algECDSAP256SHA256:
		return "ecdsa-p256-sha256"
	case algEd25519:
		return "ed25519"
	}
	return "none"
}

var (
	errKeyMismatch = errors.New("key type does not fit the algorithm")
	errBadSig      = errors.New("signature does not verify")
)

// verifyAlg verifies sig over msg with pub using a. It returns
// errKeyMismatch when pub cannot be used with a, errBadSig when the
// signature is wrong.
func verifyAlg(a sigAlg, pub crypto.PublicKey, msg, sig []byte) error {
	switch a {
	case algRSAPKCS1SHA256, algRSAPKCS1SHA512, algRSAPSSSHA512:
		k, ok := pub.(*rsa.PublicKey)
		if !ok {
			return errKeyMismatch
		}
		var err error
		switch a {
		case algRSAPKCS1SHA256:
			h := sha256.Sum256(msg)
			err = rsa.VerifyPKCS1v15(k, crypto.SHA256, h[:], sig)
		case algRSAPKCS1SHA512:
			h := sha512.Sum512(msg)
			err = rsa.VerifyPKCS1v15(k, crypto.SHA512, h[:], sig)
		default:
			h := sha512.Sum512(msg)
			err = rsa.VerifyPSS(k, crypto.SHA512, h[:], sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthAuto})
		}
		if err != nil {
			return errBadSig
		}
		return nil
	case algECDSAP256SHA256:
		k, ok := pub.(*ecdsa.PublicKey)
		if !ok || k.Curve != elliptic.P256() {
			return errKeyMismatch
		}
		if len(sig) != 64 {
			return errBadSig
		}
		h := sha256.Sum256(msg)
		r := new(big.Int).SetBytes(sig[:32])
		s := new(big.Int).SetBytes(sig[32:])
		if !ecdsa.Verify(k, h[:], r, s) {
			return errBadSig
		}
		return nil
	case algEd25519:
		k, ok := pub.(ed25519.PublicKey)
		if !ok || len(k) != ed25519.PublicKeySize {
			return errKeyMismatch
		}
		if !ed25519.Verify(k, msg, sig) {
			return errBadSig
		}
		return nil
	}
	return errKeyMismatch
}

// signAlg signs msg with key using a.
func signAlg(a sigAlg, key crypto.Signer, msg []byte) ([]byte, error) {
	return appendSignature(nil, a, key, msg)
}

// appendSignature appends the signature of msg with key to dst. An Ed25519
// signature into a dst with room for it costs no allocation.
func appendSignature(dst []byte, a sigAlg, key crypto.Signer, msg []byte) ([]byte, error) {
	var sig []byte
	var err error
	switch a {
	case algRSAPKCS1SHA256:
		h := sha256.Sum256(msg)
		sig, err = key.Sign(rand.Reader, h[:], crypto.SHA256)
	case algRSAPKCS1SHA512:
		h := sha512.Sum512(msg)
		sig, err = key.Sign(rand.Reader, h[:], crypto.SHA512)
	case algRSAPSSSHA512:
		h := sha512.Sum512(msg)
		sig, err = key.Sign(rand.Reader, h[:], &rsa.PSSOptions{SaltLength: 64, Hash: crypto.SHA512})
	case algECDSAP256SHA256:
		h := sha256.Sum256(msg)
		var der []byte
		if der, err = key.Sign(rand.Reader, h[:], crypto.SHA256); err == nil {
			sig, err = ecdsaDERToRaw(der, 32)
		}
	case algEd25519:
		if k, ok := key.(ed25519.PrivateKey); ok {
			return append(dst, ed25519.Sign(k, msg)...), nil
		}
		sig, err = key.Sign(rand.Reader, msg, crypto.Hash(0))
	default:
		return nil, fmt.Errorf("httpsig: cannot sign with %v", a)
	}
	if err != nil {
		return nil, err
	}
	if dst == nil {
		return sig, nil
	}
	return append(dst, sig...), nil
}

// ecdsaDERToRaw converts an ASN.1 ECDSA signature to the fixed-width r||s
// form RFC 9421 section 3.3.4 prescribes.
func ecdsaDERToRaw(der []byte, size int) ([]byte, error) {
	r, s, err := parseECDSADER(der)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 2*size)
	r.FillBytes(out[:size])
	s.FillBytes(out[size:])
	return out, nil
}

// parseECDSADER parses SEQUENCE { INTEGER r, INTEGER s } as produced by
// crypto/ecdsa (short-form lengths suffice for P-256).
func parseECDSADER(der []byte) (*big.Int, *big.Int, error) {
	bad := errors.New("httpsig: malformed ECDSA signature")
	if len(der) < 8 || der[0] != 0x30 || int(der[1]) != len(der)-2 {
		return nil, nil, bad
	}
	rest := der[2:]
	readInt := func() (*big.Int, error) {
		if len(rest) < 2 || rest[0] != 0x02 || int(rest[1]) > len(rest)-2 {
			return nil, bad
		}
		n := int(rest[1])
		v := new(big.Int).SetBytes(rest[2 : 2+n])
		rest = rest[2+n:]
		return v, nil
	}
	r, err := readInt()
	if err != nil {
		return nil, nil, err
	}
	s, err := readInt()
	if err != nil {
		return nil, nil, err
	}
	return r, s, nil
}

// cavageAlgs maps a draft-cavage algorithm name and key to the primitives
// to try, in order.
//
// hs2019 lets the key decide. For RSA the fediverse (Mastodon, GoToSocial,
// Pleroma, Misskey) signs hs2019 with RSASSA-PKCS1-v1_5 over SHA-256, exactly
// as rsa-sha256, so that is tried first. go-fed/httpsig labels every
// signature hs2019, including its RSA-SHA512 ones (RSASSA-PKCS1-v1_5 over
// SHA-512), so that is tried second; draft-cavage-12 itself suggests
// RSASSA-PSS with SHA-512 for hs2019, so that is tried last. The fallbacks
// cost extra RSA verifications only when the first one fails. All three are
// sound signature schemes on the same key; accepting any of them does not
// let an attacker forge anything. An absent algorithm is treated as hs2019,
// as Mastodon does.
func cavageAlgs(name string, pub crypto.PublicKey) ([]sigAlg, error) {
	switch name {
	case "rsa-sha256":
		if _, ok := pub.(*rsa.PublicKey); ok {
			return onlyRSAPKCS1SHA256, nil
		}
	case "rsa-sha512":
		if _, ok := pub.(*rsa.PublicKey); ok {
			return onlyRSAPKCS1SHA512, nil
		}
	case "hs2019", "":
		switch pub.(type) {
		case *rsa.PublicKey:
			return hs2019RSA, nil
		case ed25519.PublicKey:
			return onlyEd25519, nil
		}
	case "ed25519":
		// Not in draft-cavage-12, but sent by go-fed/httpsig based servers.
		if _, ok := pub.(ed25519.PublicKey); ok {
			return onlyEd25519, nil
		}
	default:
		return nil, fmt.Errorf("algorithm %q is not supported", name)
	}
	return nil, fmt.Errorf("%w: %s with %T", errKeyMismatch, name, pub)
}

// Algorithm lists cavageAlgs and rfc9421AlgsForKey return; callers must
// not modify them.
var (
	hs2019RSA          = []sigAlg{algRSAPKCS1SHA256, algRSAPKCS1SHA512, algRSAPSSSHA512}
	rfc9421RSA         = []sigAlg{algRSAPKCS1SHA256, algRSAPSSSHA512}
	onlyRSAPKCS1SHA256 = []sigAlg{algRSAPKCS1SHA256}
	onlyRSAPKCS1SHA512 = []sigAlg{algRSAPKCS1SHA512}
	onlyRSAPSSSHA512   = []sigAlg{algRSAPSSSHA512}
	onlyECDSAP256      = []sigAlg{algECDSAP256SHA256}
	onlyEd25519        = []sigAlg{algEd25519}
)

// knownCavageAlgorithm reports whether name is one the Verifier accepts.
func knownCavageAlgorithm(name string) bool {
	switch name {
	case "", "rsa-sha256", "rsa-sha512", "hs2019", "ed25519":
		return true
	}
	return false
}
