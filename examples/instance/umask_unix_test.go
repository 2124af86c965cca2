//go:build unix

package main

import (
	"syscall"
	"testing"
)

const unixModes = true

// setUmask sets the process umask for the test and restores it after.
// The umask is process-wide: tests using it must not run in parallel.
func setUmask(t *testing.T, mask int) {
	old := syscall.Umask(mask)
	t.Cleanup(func() { syscall.Umask(old) })
}
