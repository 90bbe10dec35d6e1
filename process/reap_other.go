//go:build !linux

package process

import "syscall"

// watchExit has p reaped once the child exits.
func (p *Process) watchExit() {
	go func() { p.reap(p.waitExit(), false) }()
}

// waitExit waits for the child to exit, reaps it and returns how it
// exited.
func (p *Process) waitExit() error {
	state, err := p.proc.Wait()
	if err != nil {
		return err
	}
	return exitError(state.Sys().(syscall.WaitStatus))
}
