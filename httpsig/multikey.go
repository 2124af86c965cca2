package httpsig

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"fmt"
	"math/big"
)

// Multicodec prefixes (unsigned varints) of the Multikey formats
// supported: ed25519-pub (0xed), ed25519-priv (0x1300) and rsa-pub (0x1205,
// DER PKCS#1).
var (
	mcEd25519Pub  = []byte{0xed, 0x01}
	mcEd25519Priv = []byte{0x80, 0x26}
	mcRSAPub      = []byte{0x85, 0x24}
)

// ParseMultikey parses a Multikey publicKeyMultibase value (FEP-521a,
// W3C Controlled Identifiers): multibase base58btc ("z...") over a
// multicodec-prefixed key. Ed25519 (0xed) and RSA (0x1205, PKCS#1 DER)
// public keys are supported.
func ParseMultikey(s string) (crypto.PublicKey, error) {
	raw, err := decodeMultibase(s)
	if err != nil {
		return nil, err
	}
	switch {
	case hasPrefix(raw, mcEd25519Pub):
		k := raw[len(mcEd25519Pub):]
		if len(k) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("httpsig: Ed25519 multikey has %d bytes", len(k))
		}
		return ed25519.PublicKey(append([]byte(nil), k...)), nil
	case hasPrefix(raw, mcRSAPub):
		return x509.ParsePKCS1PublicKey(raw[len(mcRSAPub):])
	}
	return nil, errors.New("httpsig: unsupported multikey type")
}

// EncodeMultikey encodes an Ed25519 or RSA public key as a Multikey
// publicKeyMultibase value.
func EncodeMultikey(k crypto.PublicKey) (string, error) {
	switch k := k.(type) {
	case ed25519.PublicKey:
		return "z" + base58Encode(append(append([]byte(nil), mcEd25519Pub...), k...)), nil
	case *rsa.PublicKey:
		return "z" + base58Encode(append(append([]byte(nil), mcRSAPub...), x509.MarshalPKCS1PublicKey(k)...)), nil
	}
	return "", fmt.Errorf("httpsig: cannot encode %T as a multikey", k)
}

// ParseMultikeyPrivate parses an Ed25519 secret key in Multikey form
// (secretKeyMultibase, multicodec 0x1300 followed by the 32-byte seed).
func ParseMultikeyPrivate(s string) (ed25519.PrivateKey, error) {
	raw, err := decodeMultibase(s)
	if err != nil {
		return nil, err
	}
	if !hasPrefix(raw, mcEd25519Priv) || len(raw) != len(mcEd25519Priv)+ed25519.SeedSize {
		return nil, errors.New("httpsig: not an Ed25519 secret multikey")
	}
	return ed25519.NewKeyFromSeed(raw[len(mcEd25519Priv):]), nil
}

func hasPrefix(b, p []byte) bool { return len(b) >= len(p) && string(b[:len(p)]) == string(p) }

func decodeMultibase(s string) ([]byte, error) {
	if len(s) < 2 || s[0] != 'z' {
		return nil, errors.New("httpsig: multikey is not base58btc multibase")
	}
	if len(s) > 4096 {
		return nil, errors.New("httpsig: multikey too long")
	}
	return base58Decode(s[1:])
}

const base58Alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"

func base58Decode(s string) ([]byte, error) {
	n := new(big.Int)
	radix := big.NewInt(58)
	zeros := 0
	for zeros < len(s) && s[zeros] == '1' {
		zeros++
	}
	for i := 0; i < len(s); i++ {
		d := -1
		for j := 0; j < len(base58Alphabet); j++ {
			if base58Alphabet[j] == s[i] {
				d = j
				break
			}
		}
		if d < 0 {
			return nil, fmt.Errorf("httpsig: invalid base58 character %q", s[i])
		}
		n.Mul(n, radix)
		n.Add(n, big.NewInt(int64(d)))
	}
	return append(make([]byte, zeros), n.Bytes()...), nil
}

func base58Encode(b []byte) string {
	zeros := 0
	for zeros < len(b) && b[zeros] == 0 {
		zeros++
	}
	n := new(big.Int).SetBytes(b)
	radix := big.NewInt(58)
	mod := new(big.Int)
	var out []byte
	for n.Sign() > 0 {
		n.DivMod(n, radix, mod)
		out = append(out, base58Alphabet[mod.Int64()])
	}
	for range zeros {
		out = append(out, '1')
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return string(out)
}
