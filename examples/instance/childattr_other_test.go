//go:build !linux

package main

import "syscall"

// childAttrs: no parent-death signal outside Linux; the tests stop their
// servers in their cleanups.
func childAttrs() *syscall.SysProcAttr { return nil }
