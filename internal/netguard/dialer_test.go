package netguard

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"testing"
)

type staticResolver map[string][]netip.Addr

func (r staticResolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	if ips, ok := r[host]; ok {
		return ips, nil
	}
	return nil, errors.New("no such host")
}

var errDialed = errors.New("test dial")

// recorder is a DialFunc that records the addresses it is given and
// connects to none of them.
type recorder struct{ got []string }

func (r *recorder) dial(_ context.Context, _, address string) (net.Conn, error) {
	r.got = append(r.got, address)
	return nil, errDialed
}

func TestDialerChecksEveryResolvedAddress(t *testing.T) {
	res := staticResolver{
		"private.example": {netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("::1"), netip.MustParseAddr("169.254.169.254")},
		"mixed.example":   {netip.MustParseAddr("10.1.2.3"), netip.MustParseAddr("::ffff:93.184.215.14"), netip.MustParseAddr("2606:4700::1")},
		"empty.example":   {},
	}
	tests := []struct {
		address   string
		network   string
		dialed    []string
		forbidden bool
	}{
		{"private.example:443", "tcp", nil, true},
		{"mixed.example:443", "tcp", []string{"93.184.215.14:443", "[2606:4700::1]:443"}, true},
		{"127.0.0.1:80", "tcp", nil, true},
		{"[::ffff:10.0.0.1]:80", "tcp", nil, true},
		{"[fe80::1%eth0]:80", "tcp", nil, true},
		{"93.184.215.14:80", "tcp4", []string{"93.184.215.14:80"}, false},
		{"private.example:443", "unix", nil, true},
		{":443", "tcp", nil, true},
		{"empty.example:443", "tcp", nil, false},
		{"unknown.example:443", "tcp", nil, false},
	}
	for _, tt := range tests {
		rec := &recorder{}
		d := &Dialer{Resolver: res, Dial: rec.dial}
		c, err := d.DialContext(context.Background(), tt.network, tt.address)
		if c != nil || err == nil {
			t.Fatalf("%s %s: connected", tt.network, tt.address)
		}
		if got := errors.Is(err, ErrForbidden); got != tt.forbidden {
			t.Errorf("%s %s: error %v, ErrForbidden %v, want %v", tt.network, tt.address, err, got, tt.forbidden)
		}
		if len(rec.got) != len(tt.dialed) {
			t.Errorf("%s %s: dialled %q, want %q", tt.network, tt.address, rec.got, tt.dialed)
			continue
		}
		for i := range rec.got {
			if rec.got[i] != tt.dialed[i] {
				t.Errorf("%s %s: dialled %q, want %q", tt.network, tt.address, rec.got, tt.dialed)
			}
		}
	}
}

func TestDialerAllowOverride(t *testing.T) {
	rec := &recorder{}
	d := &Dialer{
		Resolver: staticResolver{"svc.internal": {netip.MustParseAddr("10.0.0.7")}},
		Dial:     rec.dial,
		Allow:    func(netip.Addr) bool { return true },
	}
	_, err := d.DialContext(context.Background(), "tcp", "svc.internal:8080")
	if !errors.Is(err, errDialed) || errors.Is(err, ErrForbidden) {
		t.Fatalf("error %v, want the dial's own", err)
	}
	if len(rec.got) != 1 || rec.got[0] != "10.0.0.7:8080" {
		t.Fatalf("dialled %q", rec.got)
	}
}

// The zero Dialer resolves with the system resolver and still refuses a
// name that resolves to loopback.
func TestZeroDialerRefusesLocalhost(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var d Dialer
	_, err = d.DialContext(context.Background(), "tcp", net.JoinHostPort("localhost", portOf(t, ln.Addr())))
	if !errors.Is(err, ErrForbidden) {
		t.Fatalf("error %v, want ErrForbidden", err)
	}
}
