// Package origin normalises the host of an origin, so that two spellings
// of one origin compare equal.
package origin

import (
	"net"
	"strings"
)

// Host is host (a URL's Host: a name or an address, with a port or not)
// as a key of its origin under scheme: in lower case, without the
// scheme's default port (443 for https, 80 for http), an IPv6 address kept
// in brackets. A host without a port is returned lower-cased without
// parsing: most are.
func Host(scheme, host string) string {
	host = strings.ToLower(host)
	if !hasPort(host) {
		return host
	}
	if h, port, err := net.SplitHostPort(host); err == nil {
		if (scheme == "https" && port == "443") || (scheme == "http" && port == "80") {
			if strings.Contains(h, ":") {
				return "[" + h + "]"
			}
			return h
		}
	}
	return host
}

// hasPort reports whether host may end in a port: it has a colon after
// its last closing bracket (an IPv6 address without a port has colons
// inside its brackets only).
func hasPort(host string) bool {
	i := strings.LastIndexByte(host, ':')
	return i >= 0 && i > strings.LastIndexByte(host, ']')
}
