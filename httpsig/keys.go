package httpsig

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
)

// PublicKey is a verified-owner public key as returned by a KeyResolver.
type PublicKey struct {
	ID    string           // key id as named in the signature's keyId
	Owner string           // IRI of the actor that owns the key
	Key   crypto.PublicKey // *rsa.PublicKey, ed25519.PublicKey or *ecdsa.PublicKey
}

// KeyResolver finds the public key named by a signature's keyId.
// deref.Resolver implements it. Implementations must be safe for concurrent
// use.
type KeyResolver interface {
	// ResolveKey returns the key with that id. When refresh is true the
	// caller has seen the cached key fail to verify: the implementation must
	// bypass its caches and fetch the key anew (key rotation).
	ResolveKey(ctx context.Context, keyID string, refresh bool) (*PublicKey, error)
}

// ParsePublicKeyPEM parses a PEM public key: PKIX ("PUBLIC KEY") holding
// RSA, Ed25519 or ECDSA, or PKCS#1 ("RSA PUBLIC KEY").
func ParsePublicKeyPEM(s string) (crypto.PublicKey, error) {
	block, _ := pem.Decode([]byte(s))
	if block == nil {
		return nil, errors.New("httpsig: no PEM block in public key")
	}
	switch block.Type {
	case "RSA PUBLIC KEY":
		return x509.ParsePKCS1PublicKey(block.Bytes)
	case "PUBLIC KEY":
		k, err := x509.ParsePKIXPublicKey(block.Bytes)
		if err != nil {
			return nil, err
		}
		switch k.(type) {
		case *rsa.PublicKey, ed25519.PublicKey, *ecdsa.PublicKey:
			return k, nil
		}
		return nil, fmt.Errorf("httpsig: unsupported public key type %T", k)
	}
	return nil, fmt.Errorf("httpsig: unexpected PEM block %q", block.Type)
}

// EncodePublicKeyPEM encodes a public key as PKIX PEM, the form actors
// publish in publicKeyPem.
func EncodePublicKeyPEM(k crypto.PublicKey) (string, error) {
	der, err := x509.MarshalPKIXPublicKey(k)
	if err != nil {
		return "", err
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})), nil
}

// ParsePrivateKeyPEM parses a PEM private key: PKCS#8 ("PRIVATE KEY"),
// PKCS#1 ("RSA PRIVATE KEY") or SEC 1 ("EC PRIVATE KEY").
func ParsePrivateKeyPEM(b []byte) (crypto.Signer, error) {
	block, _ := pem.Decode(b)
	if block == nil {
		return nil, errors.New("httpsig: no PEM block in private key")
	}
	var (
		k   any
		err error
	)
	switch block.Type {
	case "RSA PRIVATE KEY":
		k, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	case "EC PRIVATE KEY":
		k, err = x509.ParseECPrivateKey(block.Bytes)
	case "PRIVATE KEY":
		k, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	default:
		return nil, fmt.Errorf("httpsig: unexpected PEM block %q", block.Type)
	}
	if err != nil {
		return nil, err
	}
	s, ok := k.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("httpsig: unsupported private key type %T", k)
	}
	return s, nil
}

// EncodePrivateKeyPEM encodes a private key as PKCS#8 PEM.
func EncodePrivateKeyPEM(k crypto.Signer) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}
