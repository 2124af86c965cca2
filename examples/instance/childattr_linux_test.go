package main

import "syscall"

// childAttrs makes a server started by a test die with the test process,
// even when the test binary itself is killed (a -timeout, a SIGKILL).
func childAttrs() *syscall.SysProcAttr { return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} }
