package netguard

import (
	"errors"
	"fmt"
	"net/netip"
	"syscall"
)

// ErrForbidden is wrapped by the error Control returns for an address that
// is not publicly routable.
var ErrForbidden = errors.New("netguard: address not allowed")

// blocked lists the special-purpose ranges (IANA IPv4 and IPv6
// special-purpose address registries) that must not be reached from a
// federating server. IPv6 outside 2000::/3 is refused separately.
var blocked = []netip.Prefix{
	// IPv4
	netip.MustParsePrefix("0.0.0.0/8"),       // "this network", unspecified
	netip.MustParsePrefix("10.0.0.0/8"),      // private (RFC 1918)
	netip.MustParsePrefix("100.64.0.0/10"),   // shared address space, CGNAT (RFC 6598)
	netip.MustParsePrefix("127.0.0.0/8"),     // loopback
	netip.MustParsePrefix("169.254.0.0/16"),  // link-local (cloud metadata lives here)
	netip.MustParsePrefix("172.16.0.0/12"),   // private (RFC 1918)
	netip.MustParsePrefix("192.0.0.0/24"),    // IETF protocol assignments
	netip.MustParsePrefix("192.0.2.0/24"),    // documentation, TEST-NET-1
	netip.MustParsePrefix("192.88.99.0/24"),  // 6to4 relay anycast (deprecated)
	netip.MustParsePrefix("192.168.0.0/16"),  // private (RFC 1918)
	netip.MustParsePrefix("198.18.0.0/15"),   // benchmarking (RFC 2544)
	netip.MustParsePrefix("198.51.100.0/24"), // documentation, TEST-NET-2
	netip.MustParsePrefix("203.0.113.0/24"),  // documentation, TEST-NET-3
	netip.MustParsePrefix("224.0.0.0/4"),     // multicast
	netip.MustParsePrefix("240.0.0.0/4"),     // reserved, incl. broadcast 255.255.255.255
	// IPv6 inside 2000::/3
	netip.MustParsePrefix("2001::/23"),     // IETF protocol assignments: Teredo, benchmarking (2001:2::/48), ORCHID
	netip.MustParsePrefix("2001:db8::/32"), // documentation
	netip.MustParsePrefix("3fff::/20"),     // documentation (RFC 9637)
}

var (
	globalUnicast6 = netip.MustParsePrefix("2000::/3")
	sixToFour      = netip.MustParsePrefix("2002::/16")      // embeds an IPv4 address in bits 16..47
	nat64          = netip.MustParsePrefix("64:ff9b::/96")   // well-known NAT64 prefix, IPv4 in the last 32 bits
	nat64Local     = netip.MustParsePrefix("64:ff9b:1::/48") // local-use NAT64 (RFC 8215)
)

// Allowed reports whether ip is a publicly routable unicast address that
// outbound requests may reach. It is false for the unspecified,
// loopback, private (RFC 1918), shared (100.64.0.0/10), link-local,
// multicast, broadcast, documentation, benchmarking and reserved ranges,
// for IPv6 unique-local (fc00::/7), site-local and any other IPv6 outside
// 2000::/3, for addresses with a zone, and for IPv4-mapped, 6to4 and NAT64
// addresses whose embedded IPv4 address is not allowed.
func Allowed(ip netip.Addr) bool {
	if !ip.IsValid() || ip.Zone() != "" {
		return false
	}
	if ip.Is4In6() {
		return Allowed(ip.Unmap())
	}
	if ip.Is6() {
		b := ip.As16()
		switch {
		case nat64.Contains(ip):
			return Allowed(netip.AddrFrom4([4]byte(b[12:16])))
		case nat64Local.Contains(ip):
			return false
		case sixToFour.Contains(ip):
			return Allowed(netip.AddrFrom4([4]byte(b[2:6])))
		case !globalUnicast6.Contains(ip):
			// Loopback ::1, unspecified ::, IPv4-compatible ::/96,
			// discard 100::/64, ULA fc00::/7, link-local fe80::/10,
			// site-local fec0::/10, multicast ff00::/8 all lie outside.
			return false
		}
	}
	for _, p := range blocked {
		if p.Contains(ip) {
			return false
		}
	}
	return true
}

// Control is a net.Dialer Control function that refuses to connect to an
// address Allowed rejects. It sees the resolved address actually being
// dialled, so it holds against DNS rebinding. The error wraps
// ErrForbidden.
func Control(network, address string, _ syscall.RawConn) error {
	switch network {
	case "tcp", "tcp4", "tcp6", "udp", "udp4", "udp6":
	default:
		return fmt.Errorf("%w: network %q", ErrForbidden, network)
	}
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("%w: unparsable address %q: %v", ErrForbidden, address, err)
	}
	if !Allowed(ap.Addr()) {
		return fmt.Errorf("%w: %s", ErrForbidden, ap.Addr())
	}
	return nil
}
