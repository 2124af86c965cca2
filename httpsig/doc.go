// Package httpsig signs and verifies HTTP requests the way fediverse
// servers do: draft-cavage-http-signatures-12 (the Signature header
// Mastodon, GoToSocial, Pleroma and Misskey send), with the Digest header
// (RFC 3230) binding the body, and RFC 9421 HTTP Message Signatures
// (Signature-Input and Signature, which Mastodon 4.5 sends), with
// Content-Digest (RFC 9530) binding the body.
//
// A Signer signs outgoing requests with one actor key; it implements
// ap.RequestSigner, so an ap.Transport can use it directly (ExampleSigner
// runs this; Example shows a Verifier receiving such a request):
//
//	s, err := httpsig.NewSigner("https://example.com/users/alice#main-key", key, nil)
//	...
//	err = s.SignRequest(req, body) // Date, Host, Digest, Signature
//	err = s.SignRequestScheme(req, body, httpsig.SchemeRFC9421) // Content-Digest, Signature-Input, Signature
//
// A Verifier checks incoming requests. It finds keys through a KeyResolver
// (deref.Resolver implements it, caching parsed keys so no PEM is parsed per
// request), insists that the signature covers the request target, host,
// date and, for requests with a body, the digest, checks the date against
// a clock-skew window (DefaultWindow, one hour), and refreshes the key once
// when a signature fails, to follow key rotation. Failures are *Error
// values whose Reason says what went wrong; Verifier.Handler is middleware
// in the shape of net/http's CrossOriginProtection that answers 401 and
// puts the Result in the request context for the next handler.
//
// One request costs the Verifier a bounded amount of work, whatever it
// carries: of several RFC 9421 signatures only the first
// MaxRFC9421Signatures (2) are tried, the resolver is asked for a fresh key
// at most once per request, bodies are read up to MaxBodyBytes, and signature
// headers are capped in length. Choosing among the several keys of one actor
// (assertionMethod) is the KeyResolver's business: a keyId names one key.
//
// RFC 9421 signatures may carry a tag, with which a Verifier picks the
// signatures meant for it (SignerOptions.Tag, VerifierOptions.Tag), and a
// nonce, which a Verifier with a NonceChecker (NewNonceCache) remembers to
// refuse replays (SignerOptions.Nonce, VerifierOptions.Nonces). A Signer
// digests a body it signs again (one activity to many inboxes) once.
//
// Covered components may carry the RFC 9421 component parameters sf
// (strict structured-field serialisation), key (one Dictionary member) and
// bs (values wrapped as byte sequences); req and tr (response and trailer
// signatures) are refused with an error.
//
// RFC 9421 algorithms: rsa-v1_5-sha256, rsa-pss-sha512, ecdsa-p256-sha256
// and ed25519 (hmac-sha256 is not offered: fediverse keys are public
// keys). Keys come as PEM (ParsePublicKeyPEM) or as Multikey
// publicKeyMultibase values (ParseMultikey, FEP-521a).
//
// draft-cavage algorithms: rsa-sha256, rsa-sha512 and hs2019 (the key decides:
// RSA uses RSASSA-PKCS1-v1_5 with SHA-256 as the fediverse does, with
// PKCS1-v1_5/SHA-512 (what go-fed/httpsig sends as hs2019) and
// RSASSA-PSS/SHA-512 (the draft's suggestion) accepted as fallbacks; Ed25519
// uses Ed25519).
package httpsig
