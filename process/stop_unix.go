//go:build unix

package process

import (
	"syscall"
	"time"
)

// stopSteps is websocketd's stop sequence: after stdin is closed, each
// signal is sent to the process group if the child has not exited within
// the wait before it.
var stopSteps = []struct {
	wait time.Duration
	sig  syscall.Signal
}{
	{100 * time.Millisecond, syscall.SIGINT},
	{250 * time.Millisecond, syscall.SIGTERM},
	{500 * time.Millisecond, syscall.SIGKILL},
}

// sysProcAttr puts the child in a process group of its own, so that it and
// everything it starts can be signalled together.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}

// signalGroup sends sig to the child's process group, unless the group
// was killed a last time.
func (p *Process) signalGroup(sig syscall.Signal) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.released {
		// ESRCH only means the group is already gone.
		_ = syscall.Kill(-p.pid, sig)
	}
}

// release kills the child's process group a last time, once the child
// has exited, and lets go of it, the guardian too: once the child is
// reaped, its pid, the group's id, may be given to another process, which
// a later signal to the group would reach.
func (p *Process) release() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.released {
		_ = syscall.Kill(-p.pid, syscall.SIGKILL)
		p.guardian.unregister(p.pid)
		p.released = true
	}
}
