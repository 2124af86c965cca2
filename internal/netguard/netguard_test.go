package netguard

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"testing"
	"time"
)

func TestAllowed(t *testing.T) {
	tests := []struct {
		addr string
		want bool
	}{
		// Public unicast.
		{"1.1.1.1", true},
		{"8.8.8.8", true},
		{"93.184.215.14", true},
		{"100.63.255.255", true}, // just below CGNAT
		{"100.128.0.0", true},    // just above CGNAT
		{"172.15.255.255", true}, // just below 172.16/12
		{"172.32.0.0", true},     // just above 172.16/12
		{"2606:4700:4700::1111", true},
		{"2a01:4f8::1", true},
		{"::ffff:8.8.8.8", true},   // IPv4-mapped public
		{"2002:808:808::1", true},  // 6to4 of 8.8.8.8
		{"64:ff9b::808:808", true}, // NAT64 of 8.8.8.8

		// IPv4 special ranges.
		{"0.0.0.0", false},
		{"0.1.2.3", false},
		{"10.0.0.1", false},
		{"10.255.255.255", false},
		{"100.64.0.1", false},
		{"100.127.255.255", false},
		{"127.0.0.1", false},
		{"127.255.255.254", false},
		{"169.254.169.254", false}, // cloud metadata
		{"172.16.0.1", false},
		{"172.31.255.255", false},
		{"192.0.0.8", false},
		{"192.0.2.1", false},
		{"192.88.99.1", false},
		{"192.168.1.1", false},
		{"198.18.0.1", false},
		{"198.19.255.255", false},
		{"198.51.100.7", false},
		{"203.0.113.9", false},
		{"224.0.0.251", false},
		{"239.255.255.250", false},
		{"240.0.0.1", false},
		{"255.255.255.255", false},

		// IPv6 special ranges.
		{"::", false},
		{"::1", false},
		{"::127.0.0.1", false}, // IPv4-compatible (deprecated)
		{"100::1", false},      // discard-only
		{"fc00::1", false},
		{"fd12:3456:789a::1", false},
		{"fe80::1", false},
		{"fe80::1%eth0", false},
		{"fec0::1", false},
		{"ff02::1", false},
		{"2001:db8::1", false},
		{"2001::1", false},      // Teredo
		{"2001:2::1", false},    // benchmarking
		{"3fff::1", false},      // documentation (RFC 9637)
		{"64:ff9b:1::1", false}, // local-use NAT64

		// Embedded forms of forbidden IPv4 addresses.
		{"::ffff:127.0.0.1", false},
		{"::ffff:10.0.0.1", false},
		{"::ffff:169.254.169.254", false},
		{"2002:7f00:1::1", false},     // 6to4 of 127.0.0.1
		{"2002:c0a8:101::1", false},   // 6to4 of 192.168.1.1
		{"64:ff9b::7f00:1", false},    // NAT64 of 127.0.0.1
		{"64:ff9b::a9fe:a9fe", false}, // NAT64 of 169.254.169.254
	}
	for _, tt := range tests {
		t.Run(tt.addr, func(t *testing.T) {
			ip, err := netip.ParseAddr(tt.addr)
			if err != nil {
				t.Fatalf("bad test address %q: %v", tt.addr, err)
			}
			if got := Allowed(ip); got != tt.want {
				t.Errorf("Allowed(%s) = %v, want %v", tt.addr, got, tt.want)
			}
		})
	}
	if Allowed(netip.Addr{}) {
		t.Error("Allowed(zero Addr) = true, want false")
	}
}

func TestControl(t *testing.T) {
	tests := []struct {
		network, address string
		ok               bool
	}{
		{"tcp", "93.184.215.14:443", true},
		{"tcp6", "[2606:4700:4700::1111]:443", true},
		{"tcp4", "127.0.0.1:80", false},
		{"tcp", "[::1]:443", false},
		{"tcp", "[::ffff:127.0.0.1]:443", false},
		{"tcp", "10.1.2.3:8080", false},
		{"unix", "/tmp/sock", false},
		{"tcp", "not-an-address", false},
	}
	for _, tt := range tests {
		err := Control(tt.network, tt.address, nil)
		if tt.ok && err != nil {
			t.Errorf("Control(%q, %q) = %v, want nil", tt.network, tt.address, err)
		}
		if !tt.ok && !errors.Is(err, ErrForbidden) {
			t.Errorf("Control(%q, %q) = %v, want ErrForbidden", tt.network, tt.address, err)
		}
	}
}

// TestControlInDialer dials a real loopback listener through a guarded
// dialer: the connection must be refused by the guard, while the same
// dial without the guard succeeds.
func TestControlInDialer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()

	plain := &net.Dialer{}
	c, err := plain.DialContext(ctx, "tcp", ln.Addr().String())
	if err != nil {
		t.Fatalf("unguarded dial failed: %v", err)
	}
	c.Close()

	guarded := &net.Dialer{Control: Control}
	_, err = guarded.DialContext(ctx, "tcp", ln.Addr().String())
	if !errors.Is(err, ErrForbidden) {
		t.Fatalf("guarded dial error = %v, want ErrForbidden", err)
	}
	// A name that resolves to loopback is refused too: the check runs on
	// the resolved address.
	_, err = guarded.DialContext(ctx, "tcp", net.JoinHostPort("localhost", portOf(t, ln.Addr())))
	if !errors.Is(err, ErrForbidden) {
		t.Fatalf("guarded dial of localhost error = %v, want ErrForbidden", err)
	}
}

func portOf(t *testing.T, a net.Addr) string {
	t.Helper()
	_, p, err := net.SplitHostPort(a.String())
	if err != nil {
		t.Fatal(err)
	}
	return p
}
