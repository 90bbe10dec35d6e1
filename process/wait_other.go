//go:build !linux

package process

import (
	"os/exec"
	"syscall"
)

// askPidFD does nothing: pidfds are Linux's.
func askPidFD(*syscall.SysProcAttr, *int) {}

// watchExit has p reaped once the child exits.
func (p *Process) watchExit() {
	go p.reap()
}

// waitExit waits for the child to exit, reaps it and returns how it
// exited.
func (p *Process) waitExit() error {
	state, err := p.proc.Wait()
	if err != nil {
		return err
	}
	if !state.Success() {
		return &exec.ExitError{ProcessState: state}
	}
	return nil
}
