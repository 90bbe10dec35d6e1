package process

import (
	"os"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
)

// askPidFD has the child's pidfd stored in *pidfd when it starts, or -1
// where the kernel has none.
func askPidFD(attr *syscall.SysProcAttr, pidfd *int) {
	*pidfd = -1
	attr.PidFD = pidfd
}

// keepPidFD leaves the waiting and the reaping to p's own pidfd. os/exec
// keeps a duplicate of it for os.Process.Wait, one descriptor more for
// every session; releasing the os.Process closes it.
func (p *Process) keepPidFD() {
	if p.pidfd >= 0 {
		p.proc.Release()
	}
}

// waitExit waits for the child to exit, then reaps it. With a pidfd the
// waiting is done by the network poller: a thread blocked in waitid for
// each of thousands of sessions would cost thousands of threads.
func (p *Process) waitExit() error {
	if p.pidfd < 0 {
		return p.waitProcess()
	}
	waitPidFD(p.pidfd)
	var ws unix.WaitStatus
	for {
		_, err := unix.Wait4(p.pid, &ws, 0, nil)
		if err != unix.EINTR {
			break
		}
	}
	return exitError(syscall.WaitStatus(ws))
}

// waitPidFD waits until the process of pidfd has exited, leaving it to be
// reaped, and closes pidfd. On any error it returns at once: the reaping
// then waits the ordinary way.
func waitPidFD(pidfd int) {
	if err := unix.SetNonblock(pidfd, true); err != nil {
		unix.Close(pidfd)
		return
	}
	f := os.NewFile(uintptr(pidfd), "pidfd")
	defer f.Close()
	rc, err := f.SyscallConn()
	if err != nil {
		return
	}
	rc.Read(func(fd uintptr) bool {
		var info unix.Siginfo
		err := unix.Waitid(unix.P_PIDFD, int(fd), &info, unix.WEXITED|unix.WNOHANG|unix.WNOWAIT, nil)
		// Signo stays 0 while the process runs.
		return err != nil || info.Signo != 0
	})
}

// exitError is how a child reaped through its pidfd ended: nil for status
// 0, else an error worded as *exec.ExitError words it ("exit status 3",
// "signal: killed").
func exitError(ws syscall.WaitStatus) error {
	var s string
	switch {
	case ws.Exited() && ws.ExitStatus() == 0:
		return nil
	case ws.Exited():
		s = "exit status " + strconv.Itoa(ws.ExitStatus())
	case ws.Signaled():
		s = "signal: " + ws.Signal().String()
	default:
		s = "wait status " + strconv.Itoa(int(ws))
	}
	if ws.CoreDump() {
		s += " (core dumped)"
	}
	return exitStatusError(s)
}

// exitStatusError says how a child ended.
type exitStatusError string

func (e exitStatusError) Error() string { return string(e) }
