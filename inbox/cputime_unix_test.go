//go:build unix

package inbox_test

import "syscall"

// cpuTime returns the CPU time (user and system) the process used so far,
// in nanoseconds.
func cpuTime() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
