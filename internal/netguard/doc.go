// Package netguard decides which IP addresses outbound federation traffic
// may reach, and enforces it at dial time.
//
// A remote server controls the URLs we fetch (actor ids, inboxes,
// attachments) and the DNS answers behind them, so a check before the
// request is not enough: the name may resolve to a public address when
// checked and to 127.0.0.1 when dialled (DNS rebinding). Control runs
// inside net.Dialer after resolution, on the exact address being
// connected to, and refuses loopback, private, link-local and other
// non-public ranges, including their IPv4-mapped, 6to4 and NAT64 forms.
// ExampleControl dials a loopback listener through such a dialer:
//
//	d := &net.Dialer{Control: netguard.Control}
//	_, err = d.DialContext(ctx, "tcp", "127.0.0.1:8080") // errors.Is(err, netguard.ErrForbidden)
//
// Dialer does the same one level up, for callers that resolve names
// themselves (a resolver hook, a test's fake DNS) or dial through a hook:
// it resolves once, checks each answer with Allowed and dials only the
// allowed addresses, by IP.
package netguard
