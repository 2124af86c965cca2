package origin

import (
	"net"
	"strings"
	"testing"
)

func TestHost(t *testing.T) {
	for _, tc := range []struct{ scheme, host, want string }{
		{"https", "Example.COM", "example.com"},
		{"https", "example.com:443", "example.com"},
		{"http", "example.com:80", "example.com"},
		{"https", "example.com:80", "example.com:80"},
		{"http", "example.com:443", "example.com:443"},
		{"https", "example.com:8443", "example.com:8443"},
		{"https", "[::1]", "[::1]"},
		{"https", "[::1]:443", "[::1]"},
		{"https", "[::1]:8080", "[::1]:8080"},
		{"https", "[FE80::1]", "[fe80::1]"},
		{"https", "127.0.0.1:443", "127.0.0.1"},
		{"https", "127.0.0.1:3000", "127.0.0.1:3000"},
		{"https", "example.com:", "example.com:"},
		{"https", "", ""},
	} {
		if got := Host(tc.scheme, tc.host); got != tc.want {
			t.Errorf("Host(%q, %q) = %q, want %q", tc.scheme, tc.host, got, tc.want)
		}
	}
}

// FuzzHost checks the shortcut for hosts without a port against parsing
// every host.
func FuzzHost(f *testing.F) {
	for _, s := range []string{"example.com", "example.com:443", "[::1]", "[::1]:443", "a:b:c", "]:443", "[:443"} {
		f.Add("https", s)
		f.Add("http", s)
	}
	f.Fuzz(func(t *testing.T, scheme, host string) {
		want := strings.ToLower(host)
		if h, port, err := net.SplitHostPort(want); err == nil {
			if (scheme == "https" && port == "443") || (scheme == "http" && port == "80") {
				if strings.Contains(h, ":") {
					want = "[" + h + "]"
				} else {
					want = h
				}
			}
		}
		if got := Host(scheme, host); got != want {
			t.Fatalf("Host(%q, %q) = %q, want %q", scheme, host, got, want)
		}
	})
}
