//go:build !linux

package process

import "os/exec"

// watchExit has p reaped once the child exits.
func (p *Process) watchExit() {
	go func() { p.reap(p.waitExit()) }()
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
