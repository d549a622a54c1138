//go:build !linux

package main

import "syscall"

// childProcAttr: only Linux can tie a child's life to ours; elsewhere the
// signal handling in run and the process-group kill in down do the work.
func childProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{}
}
