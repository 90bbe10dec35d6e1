package process

import (
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// askPidFD has the child's pidfd stored in *pidfd when it starts, or -1
// where the kernel has none.
func askPidFD(attr *syscall.SysProcAttr, pidfd *int) {
	*pidfd = -1
	attr.PidFD = pidfd
}

// waitExit waits for the child to exit, then reaps it. With a pidfd the
// waiting is done by the network poller: a thread blocked in waitid for
// each of thousands of sessions would cost thousands of threads.
func (p *Process) waitExit() error {
	if p.pidfd >= 0 {
		waitPidFD(p.pidfd)
	}
	return p.cmd.Wait()
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
