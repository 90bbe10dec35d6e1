//go:build !linux

package process

import "syscall"

// askPidFD does nothing: pidfds are Linux's.
func askPidFD(*syscall.SysProcAttr, *int) {}

// keepPidFD does nothing: the child is waited for through os/exec.
func (p *Process) keepPidFD() {}

// waitExit waits for the child to exit and reaps it.
func (p *Process) waitExit() error {
	return p.waitProcess()
}
