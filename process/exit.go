package process

import (
	"strconv"
	"syscall"
)

// ExitError tells how a child that did not exit with status 0 ended. Its
// text is what *exec.ExitError says: "exit status 3", "signal: killed".
type ExitError struct {
	// Code is the exit status, or -1 when a signal ended the child.
	Code int
	// Signal is the signal that ended the child when Code is -1.
	Signal syscall.Signal
	// CoreDumped reports whether the child left a core dump.
	CoreDumped bool
}

func (e *ExitError) Error() string {
	s := "exit status " + strconv.Itoa(e.Code)
	if e.Code < 0 {
		s = "signal: " + e.Signal.String()
	}
	if e.CoreDumped {
		s += " (core dumped)"
	}
	return s
}

// exitError returns how a child with wait status ws ended: nil for status
// 0, else an *ExitError.
func exitError(ws syscall.WaitStatus) error {
	switch {
	case ws.Signaled():
		return &ExitError{Code: -1, Signal: ws.Signal(), CoreDumped: ws.CoreDump()}
	case ws.ExitStatus() == 0:
		return nil
	}
	return &ExitError{Code: ws.ExitStatus(), CoreDumped: ws.CoreDump()}
}
