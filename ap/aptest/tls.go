package aptest

import "crypto/tls"

// insecureTLS trusts the httptest servers' self-signed certificates. Only
// the loopback servers this package starts are ever dialled with it.
func insecureTLS() *tls.Config {
	return &tls.Config{InsecureSkipVerify: true} //nolint:gosec // test-only loopback servers
}
