package netguard

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
)

// Resolver looks up the IP addresses of a host name. network is "ip",
// "ip4" or "ip6". *net.Resolver implements it.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// DialFunc connects to address, an IP literal with a port
// ("192.0.2.1:443", "[2001:db8::1]:443").
type DialFunc func(ctx context.Context, network, address string) (net.Conn, error)

// Dialer connects to host names without trusting DNS: it resolves the
// name itself, once, with Resolver, checks every address with Allow, and
// hands only the allowed ones, as IP literals, to Dial, one after the
// other until one connects. Since the name is not resolved again between
// the check and the connect, an answer that changes from a public to a
// private address (DNS rebinding) is caught when it is dialled, whatever
// the answer was a moment before. Its DialContext fits
// http.Transport.DialContext (with Proxy nil: a proxy would dial on the
// caller's behalf, past the check).
//
// The zero Dialer resolves with net.DefaultResolver, refuses what Allowed
// refuses, and dials with a net.Dialer whose Control is Control (so the
// socket address is checked once more). A Dialer is safe for concurrent
// use.
type Dialer struct {
	// Resolver answers the addresses of a name; nil: net.DefaultResolver.
	Resolver Resolver
	// Dial connects to one checked address. It must connect to exactly
	// the address it is given (no resolution, no proxy), or the check is
	// void. nil: a net.Dialer with Control.
	Dial DialFunc
	// Allow reports whether an address may be dialled; nil: Allowed.
	Allow func(netip.Addr) bool
}

var defaultDial = (&net.Dialer{Control: Control}).DialContext

// DialContext connects to address ("host:port") over network ("tcp",
// "tcp4" or "tcp6"; any other network is refused). The error wraps
// ErrForbidden when no address of host was allowed; when some were and
// could not be connected to, it carries those failures too.
func (d *Dialer) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	var ipNet string
	switch network {
	case "tcp":
		ipNet = "ip"
	case "tcp4":
		ipNet = "ip4"
	case "tcp6":
		ipNet = "ip6"
	default:
		return nil, fmt.Errorf("%w: network %q", ErrForbidden, network)
	}
	host, port, err := net.SplitHostPort(address)
	if err != nil {
		return nil, fmt.Errorf("netguard: dial %q: %w", address, err)
	}
	ips, err := d.lookup(ctx, ipNet, host)
	if err != nil {
		return nil, err
	}
	allow, dial := d.Allow, d.Dial
	if allow == nil {
		allow = Allowed
	}
	if dial == nil {
		dial = defaultDial
	}
	var errs []error
	for _, ip := range ips {
		if !allow(ip) {
			errs = append(errs, fmt.Errorf("%w: %s (%s)", ErrForbidden, ip, host))
			continue
		}
		c, err := dial(ctx, network, net.JoinHostPort(ip.Unmap().String(), port))
		if err == nil {
			return c, nil
		}
		errs = append(errs, err)
		if ctx.Err() != nil {
			break
		}
	}
	return nil, errors.Join(errs...)
}

// lookup returns the addresses of host: itself when it is an IP literal,
// else the resolver's answer.
func (d *Dialer) lookup(ctx context.Context, network, host string) ([]netip.Addr, error) {
	if host == "" {
		return nil, fmt.Errorf("%w: empty host", ErrForbidden)
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		return []netip.Addr{ip}, nil
	}
	var r Resolver = net.DefaultResolver
	if d.Resolver != nil {
		r = d.Resolver
	}
	ips, err := r.LookupNetIP(ctx, network, host)
	if err != nil {
		return nil, fmt.Errorf("netguard: resolve %s: %w", host, err)
	}
	if len(ips) == 0 {
		return nil, fmt.Errorf("netguard: resolve %s: no addresses", host)
	}
	return ips, nil
}
