package netguard_test

import (
	"context"
	"errors"
	"fmt"
	"net"

	"github.com/slothpub/slothpub/internal/netguard"
)

// A dialer with Control refuses loopback even though something listens
// there: the check runs on the resolved address being dialled.
func ExampleControl() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer ln.Close()

	d := &net.Dialer{Control: netguard.Control}
	_, err = d.DialContext(context.Background(), "tcp", ln.Addr().String())
	fmt.Println(errors.Is(err, netguard.ErrForbidden))

	// A plain dialer reaches it.
	c, err := (&net.Dialer{}).DialContext(context.Background(), "tcp", ln.Addr().String())
	if err == nil {
		c.Close()
	}
	fmt.Println(err)
	// Output:
	// true
	// <nil>
}
