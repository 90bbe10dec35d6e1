//go:build windows

package process

import (
	"os"
	"syscall"
	"time"
)

// stopSteps is the stop sequence on Windows, which has no signals to send:
// after stdin is closed the child gets 100 ms to exit before it is killed.
var stopSteps = []struct {
	wait time.Duration
	sig  os.Signal
}{
	{100 * time.Millisecond, os.Kill},
}

func sysProcAttr() *syscall.SysProcAttr { return nil }

func (p *Process) signalGroup(sig os.Signal) {
	_ = p.proc.Signal(sig)
}

// release does nothing: Windows processes have no group to kill.
func (p *Process) release() {}
