package main

import "syscall"

// childProcAttr makes the kernel stop a child when localenv dies, even by
// SIGKILL, so no emulator or operator outlives the stack it belonged to.
func childProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
}
